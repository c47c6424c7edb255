/* watch: the demand loop of one QueueScaler — its queue sources plus the pure scaler.
 * The fast path lives here: while the workload sits at zero (or at its idle replicas) the
 * sources are polled every idle_poll (default 100 ms: one LLEN / one HTTP GET on loopback
 * costs well under a millisecond), so a message arriving on an idle queue leads to a
 * scale-from-zero decision in about idle_poll plus one read; once replicas run, the scaler's
 * pollingInterval applies. The caller owns the clock and the sleeping (gs_watch_interval). */
#ifndef GS_IO_QUEUE_WATCH_H
#define GS_IO_QUEUE_WATCH_H

#include "io/queue/queue.h"
#include "policy/scale.h"

#define GS_WATCH_IDLE_POLL_DEFAULT 100 /* ms */

typedef struct gs_watch {
    const gs_scaler *sc;             /* borrowed; must outlive the watch */
    gs_queue q[GS_MAX_TRIGGERS];
    int32_t nq;
    gs_scale_state st;
    gs_scale_reading last[GS_MAX_TRIGGERS];
    gs_ms idle_poll;
} gs_watch;

/* Opens one source per trigger (no network yet). idle_poll <= 0: the default, capped at the
 * scaler's polling interval. */
int gs_watch_open(gs_watch *w, const gs_scaler *sc, const gs_queue_opts *o, gs_ms idle_poll,
                  gs_error *err);
/* Reads every source once (a failed read is a failed reading for the scaler, already logged)
 * and takes one scaler step with the replica counts in `in` (its readings field is ignored). */
int gs_watch_step(gs_watch *w, const gs_scale_input *in, gs_scale_decision *d, gs_error *err);
/* Milliseconds until the next step for a workload with `current` replicas. */
gs_ms gs_watch_interval(const gs_watch *w, int32_t current);
void gs_watch_close(gs_watch *w);

#endif
