/* The simulator's event queue: a binary min-heap on (time, sequence), so events at the same
 * virtual millisecond pop in the order they were pushed (deterministic). */
#ifndef GS_SIM_HEAP_H
#define GS_SIM_HEAP_H

#include <stdint.h>

#include "model/qty.h"

typedef struct gs_event {
    gs_ms at;
    uint64_t seq;
    int32_t type;
    int32_t a;   /* event-specific: pod, node, workload ... */
    int32_t b;
    uint32_t gen; /* generation of the object when scheduled; stale events are ignored */
} gs_event;

typedef struct gs_heap {
    gs_event *v; /* owned */
    int32_t n, cap;
    uint64_t seq;
} gs_heap;

void gs_heap_init(gs_heap *h);
void gs_heap_free(gs_heap *h);
/* Returns 0 or GS_ENOMEM. */
int gs_heap_push(gs_heap *h, gs_ms at, int32_t type, int32_t a, int32_t b, uint32_t gen);
/* Pops the earliest event into *out; returns 0, or -1 when empty. */
int gs_heap_pop(gs_heap *h, gs_event *out);
static inline const gs_event *gs_heap_peek(const gs_heap *h) { return h->n ? &h->v[0] : 0; }

#endif
