/* scale: see scale.h for the rules. */
#include "policy/scale.h"

#include <string.h>

const char *gs_scale_reason_name(gs_scale_reason r) {
    switch (r) {
    case GS_SCALE_STEADY: return "steady";
    case GS_SCALE_FROM_ZERO: return "from-zero";
    case GS_SCALE_COOLDOWN: return "cooldown";
    case GS_SCALE_TO_IDLE: return "to-idle";
    case GS_SCALE_INACTIVE_MIN: return "inactive-min";
    case GS_SCALE_FALLBACK: return "fallback";
    case GS_SCALE_HOLD_ERROR: return "hold-error";
    }
    return "?";
}

void gs_scale_init(gs_scale_state *st) {
    memset(st, 0, sizeof *st);
    st->last_active = -1;
    st->last_step = -1;
}

void gs_scale_defaults(gs_scaler *sc) {
    sc->polling_interval = GS_SEC(1);
    sc->cooldown_period = GS_SEC(300);
    sc->min_replicas = 0;
    sc->max_replicas = 100;
    sc->idle_replicas = -1;
    sc->fallback_failures = 0;
    sc->fallback_replicas = 0;
    sc->stabilize_up = 0;
    sc->stabilize_down = GS_SEC(300);
}

void gs_scale_defaults_keda(gs_scaler *sc) {
    gs_scale_defaults(sc);
    sc->polling_interval = GS_SEC(30);
}

int gs_scale_check(const gs_scaler *sc, gs_error *err) {
    if (sc->ntriggers < 1 || sc->ntriggers > GS_MAX_TRIGGERS)
        return gs_error_set(err, GS_EINVAL, "scaler %s: needs 1..%d triggers, has %d", sc->name,
                            GS_MAX_TRIGGERS, (int)sc->ntriggers);
    if (sc->min_replicas < 0 || sc->max_replicas < 1 || sc->min_replicas > sc->max_replicas)
        return gs_error_set(err, GS_EINVAL,
                            "scaler %s: need 0 <= minReplicaCount (%d) <= maxReplicaCount (%d), max >= 1",
                            sc->name, (int)sc->min_replicas, (int)sc->max_replicas);
    /* KEDA: idleReplicaCount < minReplicaCount, also when min is the default 0 (io/config
     * refuses the same). */
    if (sc->idle_replicas < -1 ||
        (sc->idle_replicas >= 0 && sc->idle_replicas >= sc->min_replicas))
        return gs_error_set(err, GS_EINVAL,
                            "scaler %s: idleReplicaCount (%d) must be less than minReplicaCount (%d)",
                            sc->name, (int)sc->idle_replicas, (int)sc->min_replicas);
    if (sc->fallback_failures < 0 || sc->fallback_replicas < 0 ||
        (sc->fallback_failures > 0 && sc->fallback_replicas > sc->max_replicas))
        return gs_error_set(err, GS_EINVAL,
                            "scaler %s: fallback failureThreshold (%d) and replicas (%d) must be >= 0, replicas <= max",
                            sc->name, (int)sc->fallback_failures, (int)sc->fallback_replicas);
    if (sc->cooldown_period < 0 || sc->stabilize_up < 0 || sc->stabilize_down < 0 ||
        sc->polling_interval < 0)
        return gs_error_set(err, GS_EINVAL, "scaler %s: negative duration", sc->name);
    for (int32_t i = 0; i < sc->ntriggers; i++) {
        const gs_trigger *t = &sc->triggers[i];
        if (t->target_milli <= 0)
            return gs_error_set(err, GS_EINVAL, "scaler %s: trigger %d (%s): target must be > 0",
                                sc->name, (int)i, t->name);
        if (t->activation_milli < 0)
            return gs_error_set(err, GS_EINVAL,
                                "scaler %s: trigger %d (%s): activation threshold must be >= 0",
                                sc->name, (int)i, t->name);
    }
    return 0;
}

static int32_t cap_i32(int64_t v, int32_t hi) {
    if (v < 0) return 0;
    if (v > hi) return hi;
    return (int32_t)v;
}

/* ceil(a * b / c) for a, b >= 0, c > 0, saturating at INT64_MAX. */
static int64_t ceil_muldiv(int64_t a, int64_t b, int64_t c) {
    __extension__ typedef __int128 i128;
    i128 p = (i128)a * b;
    i128 q = (p + c - 1) / c;
    if (q > INT64_MAX) return INT64_MAX;
    return (int64_t)q;
}

int32_t gs_scale_formula(const gs_trigger *t, int64_t value_milli, int32_t ready,
                         int32_t max_replicas) {
    if (value_milli < 0) value_milli = 0;
    if (t->target_milli <= 0) return max_replicas;
    int64_t base = 1;
    if (t->metric_type == GS_METRIC_VALUE && ready > 0) base = ready;
    int64_t d = t->metric_type == GS_METRIC_VALUE ? ceil_muldiv(base, value_milli, t->target_milli)
                                                  : ceil_muldiv(1, value_milli, t->target_milli);
    return cap_i32(d, max_replicas > 0 ? max_replicas : INT32_MAX);
}

/* ---- stabilization windows (monotonic queues) ---- */

/* Drop entries not newer than cutoff (HPA keeps those with timestamp after the cutoff). */
static void win_expire(gs_scale_window *w, gs_ms cutoff) {
    int32_t k = 0;
    while (k < w->n && w->r[k].at <= cutoff) k++;
    if (k > 0) {
        memmove(w->r, w->r + k, (size_t)(w->n - k) * sizeof w->r[0]);
        w->n -= k;
    }
}

/* is_max: a max-queue (values strictly decreasing front to back); else a min-queue. */
static void win_push(gs_scale_window *w, gs_ms at, int32_t v, bool is_max) {
    while (w->n > 0 && (is_max ? w->r[w->n - 1].replicas <= v : w->r[w->n - 1].replicas >= v))
        w->n--;
    if (w->n == GS_SCALE_HIST) {
        /* Merge the two oldest: keep the front's (more extreme) value until the second's time:
         * the extreme lasts a little longer, so a change is delayed, never hastened. */
        w->r[1].replicas = w->r[0].replicas;
        memmove(w->r, w->r + 1, (size_t)(w->n - 1) * sizeof w->r[0]);
        w->n--;
    }
    w->r[w->n].at = at;
    w->r[w->n].replicas = v;
    w->n++;
}

static int32_t stabilize(const gs_scaler *sc, gs_scale_state *st, gs_ms now, int32_t current,
                         int32_t rec) {
    win_expire(&st->up, now - sc->stabilize_up);
    win_expire(&st->down, now - sc->stabilize_down);
    int32_t up = rec, down = rec;
    if (st->up.n > 0 && st->up.r[0].replicas < up) up = st->up.r[0].replicas;
    if (st->down.n > 0 && st->down.r[0].replicas > down) down = st->down.r[0].replicas;
    win_push(&st->up, now, rec, false);
    win_push(&st->down, now, rec, true);
    int32_t r = current;
    if (r < up) r = up;
    if (r > down) r = down;
    return r;
}

static void win_clear(gs_scale_state *st) {
    st->up.n = 0;
    st->down.n = 0;
}

/* ---- scale-in victims ---- */

static int pod_class(const gs_scale_pod *p) {
    if (p->activity == GS_POD_BUSY && !p->pending) return -1;
    if (p->pending) return 0;
    if (!p->ready) return 1;
    if (p->activity == GS_POD_IDLE) return 2;
    return 3;
}

/* Total order: class ascending, then younger first, then higher index first. */
static bool pod_before(const gs_scale_pod *pods, int32_t a, int32_t b) {
    int ca = pod_class(&pods[a]), cb = pod_class(&pods[b]);
    if (ca != cb) return ca < cb;
    if (pods[a].started != pods[b].started) return pods[a].started > pods[b].started;
    return a > b;
}

static void pick_victims(const gs_scale_input *in, int32_t need, gs_scale_decision *out) {
    int32_t prev = -1;
    out->nremove = 0;
    while (out->nremove < need && out->nremove < in->remove_cap) {
        int32_t best = -1;
        for (int32_t i = 0; i < in->npods; i++) {
            if (pod_class(&in->pods[i]) < 0) continue;
            if (prev >= 0 && !pod_before(in->pods, prev, i)) continue;
            if (best < 0 || pod_before(in->pods, i, best)) best = i;
        }
        if (best < 0) break;
        in->remove[out->nremove++] = best;
        prev = best;
    }
    out->kept_busy = need - out->nremove;
}

/* ---- the step ---- */

int gs_scale_step(const gs_scaler *sc, gs_scale_state *st, const gs_scale_input *in,
                  gs_scale_decision *out, gs_error *err) {
    int rc = gs_scale_check(sc, err);
    if (rc) return rc;
    if (!in->readings || in->current < 0 || in->ready < 0 || in->pending < 0 ||
        in->ready + in->pending > in->current || in->npods < 0 ||
        (in->npods > 0 && (!in->pods || (in->remove_cap > 0 && !in->remove))) ||
        in->remove_cap < 0)
        return gs_error_set(err, GS_EINVAL,
                            "scaler %s: bad input (current %d, ready %d, pending %d, pods %d)",
                            sc->name, (int)in->current, (int)in->ready, (int)in->pending,
                            (int)in->npods);
    if (st->last_step >= 0 && in->now < st->last_step)
        return gs_error_set(err, GS_EINVAL, "scaler %s: time went backwards (%lld < %lld)",
                            sc->name, (long long)in->now, (long long)st->last_step);

    memset(out, 0, sizeof *out);
    out->trigger = -1;
    st->last_step = in->now;

    const gs_ms now = in->now;
    const int32_t cur = in->current;
    const int32_t maxr = sc->max_replicas;
    const int32_t hpa_min = sc->min_replicas > 1 ? sc->min_replicas : 1;

    bool active = false, any_fail = false, fb_due = false;
    int32_t formula = 0;
    for (int32_t i = 0; i < sc->ntriggers; i++) {
        const gs_trigger *t = &sc->triggers[i];
        const gs_scale_reading *r = &in->readings[i];
        if (!r->ok) {
            any_fail = true;
            if (st->failures[i] < INT32_MAX) st->failures[i]++;
            if (sc->fallback_failures > 0 && st->failures[i] >= sc->fallback_failures)
                fb_due = true;
            continue;
        }
        st->failures[i] = 0;
        if (r->value_milli > t->activation_milli) active = true;
        int32_t d = gs_scale_formula(t, r->value_milli, in->ready, maxr);
        if (out->trigger < 0 || d > formula) {
            out->trigger = i;
            formula = d;
        }
    }
    out->active = active;
    out->fallback = fb_due;

    int32_t desired;
    if (active) {
        st->last_active = now;
        int32_t rec = formula;
        if (fb_due && sc->fallback_replicas > rec) {
            rec = sc->fallback_replicas;
            out->trigger = -1;
        }
        if (cur == 0) {
            /* KEDA's 0 -> N step: no HPA stabilization. */
            desired = rec > hpa_min ? rec : hpa_min;
            if (desired > maxr) desired = maxr;
            out->raw = desired;
            win_clear(st);
            win_push(&st->up, now, desired, false);
            win_push(&st->down, now, desired, true);
            out->reason = GS_SCALE_FROM_ZERO;
        } else {
            out->raw = rec;
            desired = stabilize(sc, st, now, cur, rec);
            out->reason = fb_due && rec == sc->fallback_replicas ? GS_SCALE_FALLBACK
                                                                 : GS_SCALE_STEADY;
        }
        if (desired < hpa_min) desired = hpa_min;
        if (desired > maxr) desired = maxr;
    } else if (any_fail) {
        if (fb_due) {
            desired = sc->fallback_replicas > maxr ? maxr : sc->fallback_replicas;
            out->reason = GS_SCALE_FALLBACK;
        } else {
            desired = cur;
            out->reason = GS_SCALE_HOLD_ERROR;
        }
        out->raw = desired;
    } else if (sc->min_replicas > 0 && sc->idle_replicas < 0) {
        /* The HPA keeps [min, max]; KEDA does not scale to zero. */
        out->raw = formula;
        desired = stabilize(sc, st, now, cur, formula);
        if (desired < sc->min_replicas) desired = sc->min_replicas;
        if (desired > maxr) desired = maxr;
        out->reason = GS_SCALE_INACTIVE_MIN;
    } else {
        const int32_t floor = sc->idle_replicas >= 0 ? sc->idle_replicas : 0;
        bool cooled = st->last_active < 0 || now > st->last_active + sc->cooldown_period;
        if (cooled || cur <= floor) {
            desired = floor;
            out->raw = floor;
            out->reason = GS_SCALE_TO_IDLE;
            win_clear(st);
        } else {
            out->raw = formula;
            desired = stabilize(sc, st, now, cur, formula);
            if (desired < hpa_min) desired = hpa_min;
            if (desired > maxr) desired = maxr;
            out->reason = GS_SCALE_COOLDOWN;
        }
    }

    /* Scale-in: pick who goes, never a busy pod. */
    if (desired < cur && in->npods > 0) {
        pick_victims(in, cur - desired, out);
        desired = cur - out->nremove;
    }
    out->desired = desired;
    out->create = desired > cur ? desired - cur : 0;
    return 0;
}
