/* scale: queue readings -> replicas for one workload (a QueueScaler). Pure: no clock, no I/O;
 * the caller passes the time and keeps the per-workload state.
 *
 * KEDA semantics (REFERENCES.md, "KEDA semantics"):
 *   - AverageValue (default): desired = ceil(metric / target).
 *     Value: desired = ceil(base x metric / target), base = ready replicas (what produced the
 *     metric; HPA uses the ready pod count too), or 1 when none is ready.
 *   - Active iff some trigger's metric > its activation threshold (strictly greater).
 *   - From zero (current == 0) and active: max(minReplicas, 1, formula).
 *   - Inactive: once now > lastActive + cooldownPeriod (or the workload was never active),
 *     and minReplicas == 0 or idleReplicas is set, go to idleReplicas (or 0). Inside the
 *     cooldown, the HPA part keeps >= max(minReplicas, 1).
 *   - Several triggers: the max of their desired replica counts.
 *   - Fallback: a trigger that failed fallback_failures times in a row contributes
 *     fallback_replicas; with no active trigger, desired = fallback_replicas. A failed read
 *     below that threshold (or without fallback) and nothing active: hold the current count.
 *   - Stabilization (HPA behavior): every raw recommendation is kept with its time; the
 *     result is current clamped to [min of recommendations newer than now - stabilize_up,
 *     max of those newer than now - stabilize_down] (the current one always included).
 *     Applies to the HPA domain (current > 0 and staying > 0), not to KEDA's 0 <-> N steps.
 *
 * Beyond KEDA:
 *   - Capacity-aware: `current` counts every replica that exists, including the `pending`
 *     ones waiting for a booting node, so a replica is never created twice while its node
 *     boots (decision.create = desired - current when positive); Value targets multiply by
 *     the ready replicas only, so the waiting queue does not compound while nodes boot.
 *   - Idle-aware scale-in: with a pod list, removals are picked in this order: pending (no
 *     node yet), not ready, reported idle, unknown; a pod reported busy is never picked. If
 *     not enough pods can go, the decision keeps the busy ones (decision.kept_busy) and
 *     desired is raised to what can actually be removed.
 */
#ifndef GS_POLICY_SCALE_H
#define GS_POLICY_SCALE_H

#include <stdbool.h>
#include <stdint.h>

#include "model/err.h"
#include "model/objects.h"
#include "model/qty.h"

/* Distinct recommendation levels kept per stabilization window. Past it, adjacent levels
 * are merged conservatively (a scale-down or scale-up is delayed, never hastened). */
#define GS_SCALE_HIST 64

typedef struct gs_scale_rec {
    gs_ms at;
    int32_t replicas;
} gs_scale_rec;

/* Monotonic queue of recommendations (exact sliding-window min or max). */
typedef struct gs_scale_window {
    gs_scale_rec r[GS_SCALE_HIST];
    int32_t n;
} gs_scale_window;

/* Per-workload state, kept by the caller between steps. Initialise with gs_scale_init. */
typedef struct gs_scale_state {
    gs_ms last_active;                       /* last time a trigger was active; -1 = never */
    int32_t failures[GS_MAX_TRIGGERS];       /* consecutive failed reads, per trigger */
    gs_scale_window up;                      /* min-window (for stabilize_up) */
    gs_scale_window down;                    /* max-window (for stabilize_down) */
    gs_ms last_step;                         /* time of the last step; -1 = none */
} gs_scale_state;

/* One trigger's reading for this step. */
typedef struct gs_scale_reading {
    bool ok;                 /* false: the read failed (peer down, garbage, auth...) */
    int64_t value_milli;     /* metric x 1000 (ignored when !ok); negative counts as 0 */
} gs_scale_reading;

typedef enum {
    GS_POD_UNKNOWN = 0,      /* the workload reports nothing */
    GS_POD_IDLE,             /* reported idle (annotation gpuscale.dev/idle=true) */
    GS_POD_BUSY              /* reported mid-request */
} gs_pod_activity;

/* One existing replica, for picking scale-in victims. */
typedef struct gs_scale_pod {
    bool pending;            /* not yet on a node (waiting for one that boots) */
    bool ready;
    gs_pod_activity activity;
    gs_ms started;           /* creation time; younger pods go first among equals */
} gs_scale_pod;

typedef struct gs_scale_input {
    gs_ms now;
    const gs_scale_reading *readings;  /* one per trigger of the scaler (ntriggers) */
    int32_t current;         /* replicas that exist (ready + starting + pending) */
    int32_t ready;           /* of which ready */
    int32_t pending;         /* of which waiting for a node */
    const gs_scale_pod *pods;          /* optional (NULL/0): the `current` pods */
    int32_t npods;
    int32_t *remove;         /* caller's buffer for the indices of pods to remove */
    int32_t remove_cap;
} gs_scale_input;

typedef enum {
    GS_SCALE_STEADY,         /* active, HPA domain */
    GS_SCALE_FROM_ZERO,      /* active from 0 replicas */
    GS_SCALE_COOLDOWN,       /* inactive, inside the cooldown period */
    GS_SCALE_TO_IDLE,        /* inactive past the cooldown: 0 or idleReplicas */
    GS_SCALE_INACTIVE_MIN,   /* inactive with minReplicas > 0 and no idleReplicas */
    GS_SCALE_FALLBACK,       /* fallback replicas applied */
    GS_SCALE_HOLD_ERROR      /* a read failed, nothing active, no fallback: no change */
} gs_scale_reason;
const char *gs_scale_reason_name(gs_scale_reason r);

typedef struct gs_scale_decision {
    int32_t desired;         /* replicas after this step */
    int32_t raw;             /* before stabilization and busy-pod protection */
    int32_t create;          /* desired - current when > 0 (pending replicas already count) */
    int32_t nremove;         /* pods picked for removal: input.remove[0..nremove) */
    int32_t kept_busy;       /* removals not done because only busy pods were left */
    int32_t trigger;         /* index of the trigger that set the max; -1 none */
    bool active;
    bool fallback;           /* some trigger is past its failure threshold */
    gs_scale_reason reason;
} gs_scale_decision;

void gs_scale_init(gs_scale_state *st);

/* Fills the numbers of a scaler with gpuscale's defaults (objects.h): polling 1 s, cooldown
 * 300 s, min 0, max 100, no idle, no fallback, stabilize up 0 / down 300 s; no triggers.
 * gs_scale_defaults_keda: the same with KEDA's polling interval (30 s). Names untouched. */
void gs_scale_defaults(gs_scaler *sc);
void gs_scale_defaults_keda(gs_scaler *sc);

/* Checks a scaler's numbers (min <= max, idle < min, targets > 0, fallback
 * replicas <= max, durations >= 0, 1..GS_MAX_TRIGGERS triggers).
 * Returns 0 or GS_EINVAL with a message in err (optional). */
int gs_scale_check(const gs_scaler *sc, gs_error *err);

/* One evaluation. Updates st; fills out. Returns 0, or GS_EINVAL (bad scaler or input:
 * nothing in st is changed). The remove buffer must hold at least current - desired entries
 * to get them all; fewer are reported in nremove and the rest counted as kept. */
int gs_scale_step(const gs_scaler *sc, gs_scale_state *st, const gs_scale_input *in,
                  gs_scale_decision *out, gs_error *err);

/* Desired replicas of one trigger for one metric value (the formula only). */
int32_t gs_scale_formula(const gs_trigger *t, int64_t value_milli, int32_t ready,
                         int32_t max_replicas);

#endif
