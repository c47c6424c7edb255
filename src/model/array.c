#include "model/array.h"

#include <stdlib.h>
#include <string.h>

#include "model/err.h"

int gs_array_grow(void **arr, int32_t *cap, size_t elem, int32_t need) {
    if (need <= *cap) return 0;
    int32_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > INT32_MAX / 2) return GS_ENOMEM;
        ncap *= 2;
    }
    if ((size_t)ncap > SIZE_MAX / elem) return GS_ENOMEM;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return GS_ENOMEM;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return 0;
}
