#include "sim/heap.h"

#include <stdlib.h>

#include "model/err.h"

void gs_heap_init(gs_heap *h) {
    h->v = NULL;
    h->n = h->cap = 0;
    h->seq = 0;
}

void gs_heap_free(gs_heap *h) {
    free(h->v);
    gs_heap_init(h);
}

static int before(const gs_event *x, const gs_event *y) {
    return x->at < y->at || (x->at == y->at && x->seq < y->seq);
}

int gs_heap_push(gs_heap *h, gs_ms at, int32_t type, int32_t a, int32_t b, uint32_t gen) {
    if (h->n == h->cap) {
        int32_t nc = h->cap ? h->cap * 2 : 256;
        gs_event *nv = realloc(h->v, (size_t)nc * sizeof *nv);
        if (!nv) return GS_ENOMEM;
        h->v = nv;
        h->cap = nc;
    }
    gs_event e = {at, h->seq++, type, a, b, gen};
    int32_t i = h->n++;
    while (i > 0) {
        int32_t p = (i - 1) / 2;
        if (!before(&e, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = e;
    return 0;
}

int gs_heap_pop(gs_heap *h, gs_event *out) {
    if (h->n == 0) return -1;
    *out = h->v[0];
    gs_event last = h->v[--h->n];
    int32_t i = 0, n = h->n;
    for (;;) {
        int32_t l = 2 * i + 1;
        if (l >= n) break;
        int32_t c = l;
        if (l + 1 < n && before(&h->v[l + 1], &h->v[l])) c = l + 1;
        if (!before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (n) h->v[i] = last;
    return 0;
}
