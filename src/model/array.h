/* Growable arrays: one helper for every module that appends to a malloc'd array with an
 * int32_t capacity. */
#ifndef GS_ARRAY_H
#define GS_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/* Makes room for `need` elements of `elem` bytes in *arr (capacity *cap), doubling from 16.
 * New slots are zeroed. Returns 0, or GS_ENOMEM (also when the capacity would pass
 * INT32_MAX) leaving *arr and *cap unchanged. */
int gs_array_grow(void **arr, int32_t *cap, size_t elem, int32_t need);

#define GS_ARRAY_GROW(arr, cap, need) gs_array_grow((void **)&(arr), &(cap), sizeof *(arr), (need))

#endif
