/* watch: see watch.h. */
#include "io/queue/watch.h"

#include <string.h>

int gs_watch_open(gs_watch *w, const gs_scaler *sc, const gs_queue_opts *o, gs_ms idle_poll,
                  gs_error *err) {
    memset(w, 0, sizeof *w);
    int rc = gs_scale_check(sc, err);
    if (rc) return rc;
    w->sc = sc;
    gs_scale_init(&w->st);
    w->idle_poll = idle_poll > 0 ? idle_poll : GS_WATCH_IDLE_POLL_DEFAULT;
    if (sc->polling_interval > 0 && w->idle_poll > sc->polling_interval)
        w->idle_poll = sc->polling_interval;
    for (int32_t i = 0; i < sc->ntriggers; i++) {
        rc = gs_queue_open(&w->q[i], &sc->triggers[i], o, err);
        if (rc) {
            gs_watch_close(w);
            return rc;
        }
        w->nq++;
    }
    return 0;
}

int gs_watch_step(gs_watch *w, const gs_scale_input *in, gs_scale_decision *d, gs_error *err) {
    for (int32_t i = 0; i < w->nq; i++) {
        int64_t v = 0;
        w->last[i].ok = gs_queue_read(&w->q[i], &v, NULL) == 0;
        w->last[i].value_milli = w->last[i].ok ? v : 0;
    }
    gs_scale_input x = *in;
    x.readings = w->last;
    return gs_scale_step(w->sc, &w->st, &x, d, err);
}

gs_ms gs_watch_interval(const gs_watch *w, int32_t current) {
    int32_t idle = w->sc->idle_replicas >= 0 ? w->sc->idle_replicas : 0;
    if (current <= idle) return w->idle_poll;
    return w->sc->polling_interval > 0 ? w->sc->polling_interval : w->idle_poll;
}

void gs_watch_close(gs_watch *w) {
    for (int32_t i = 0; i < w->nq; i++) gs_queue_close(&w->q[i]);
    w->nq = 0;
}
