#include "sim/scenario.h"

#include "io/config/config.h"
#include "policy/pack.h"
#include "io/tzperiod.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCENARIO_MAX_BYTES (1u << 20)

void gs_scenario_defaults(gs_scenario *s) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "scenario");
    s->seed = 1;
    s->duration = GS_HOUR(24);
    s->warmup = GS_MIN(30);
    s->sample_every = GS_SEC(60);
    /* REFERENCES.md (Karpenter): CPU nodes register ~40-80 s after launch and nvidia.com/gpu
     * appears ~90 s after a g4dn/g5 node is up; bigger GPU types take longer (assumption:
     * twice the device-plugin delay and a longer image/driver start for p4d/p5). */
    static const gs_boot_dist B[] = {
        {"g4dn", GS_SEC(130), GS_SEC(170)}, {"g5", GS_SEC(130), GS_SEC(170)},
        {"g6", GS_SEC(130), GS_SEC(170)},   {"g6e", GS_SEC(130), GS_SEC(170)},
        {"gr6", GS_SEC(130), GS_SEC(170)},  {"p3", GS_SEC(220), GS_SEC(340)},
        {"p4d", GS_SEC(220), GS_SEC(340)},  {"p4de", GS_SEC(220), GS_SEC(340)},
        {"p5", GS_SEC(220), GS_SEC(340)},   {"p5e", GS_SEC(220), GS_SEC(340)},
        {"p5en", GS_SEC(220), GS_SEC(340)}, {"", GS_SEC(40), GS_SEC(80)},
    };
    s->nboot = (int32_t)(sizeof B / sizeof B[0]);
    memcpy(s->boot, B, sizeof B);
    s->spot_per_node_hour = 0.0;
    s->spot_notice = GS_MIN(2);
    s->mig_reconfigure = GS_SEC(60);
    s->bill_min = GS_SEC(60);
    s->hpa_util_target = 0.7;
    s->zones = 3;
    s->spot_reclaim_fraction = 0.5;
    s->spot_max_pct = 50;
    s->spot_price_slack_pct = 20;
    s->repack_headroom = 2;
    s->jobs_pool = 0;
    s->switch_modes = true;
    for (int32_t k = 0; k < GS_SIM_MAX_POOLS; k++) s->initial_itype[k] = -1;
}

const gs_boot_dist *gs_scenario_boot(const gs_scenario *s, const char *family) {
    const gs_boot_dist *def = NULL;
    for (int32_t i = 0; i < s->nboot; i++) {
        if (strcmp(s->boot[i].family, family) == 0) return &s->boot[i];
        if (!s->boot[i].family[0]) def = &s->boot[i];
    }
    return def ? def : &s->boot[0];
}

typedef struct ctx {
    const char *file;
    gs_error *err;
    const gs_config *cfg; /* the "config" YAML (GPUPools, QueueScalers), NULL if none */
} ctx;

static int fail(ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(ctx *c, const char *path, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gs_error_setpos(c->err, GS_EPARSE, c->file, 0, 0, "%s: %s", path, msg);
}

static int check_keys(ctx *c, json_t *obj, const char *path, const char *const *allowed) {
    if (!json_is_object(obj)) return fail(c, path, "must be an object");
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        bool ok = false;
        for (int i = 0; allowed[i]; i++) ok |= strcmp(allowed[i], k) == 0;
        if (!ok) {
            char p[300];
            snprintf(p, sizeof p, "%s.%s", path, k);
            return fail(c, p, "unknown field");
        }
    }
    return 0;
}

static int get_num(ctx *c, json_t *o, const char *key, const char *path, double lo, double hi,
                   double *out) {
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    char p[300];
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!json_is_number(v)) return fail(c, p, "must be a number");
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi)) {
        char r[100];
        snprintf(r, sizeof r, "%g..%g", lo, hi);
        return fail(c, p, "must be in %s", r);
    }
    *out = d;
    return 0;
}

static int get_int(ctx *c, json_t *o, const char *key, const char *path, int64_t lo, int64_t hi,
                   int64_t *out) {
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    char p[300];
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!json_is_integer(v)) return fail(c, p, "must be an integer");
    json_int_t d = json_integer_value(v);
    if (d < lo || d > hi) {
        char r[100];
        snprintf(r, sizeof r, "%lld..%lld", (long long)lo, (long long)hi);
        return fail(c, p, "must be in %s", r);
    }
    *out = (int64_t)d;
    return 0;
}

static int get_str(ctx *c, json_t *o, const char *key, const char *path, char *out, size_t cap) {
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    char p[300];
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!json_is_string(v)) return fail(c, p, "must be a string");
    if (json_string_length(v) >= cap) return fail(c, p, "is too long");
    snprintf(out, cap, "%s", json_string_value(v));
    return 0;
}

static int get_dur(ctx *c, json_t *o, const char *key, const char *path, gs_ms *out) {
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    char p[300];
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!json_is_string(v)) return fail(c, p, "must be a duration string like \"30s\"");
    const char *why = NULL;
    if (gs_parse_duration(json_string_value(v), out, &why)) return fail(c, p, "bad duration: %s", why);
    return 0;
}

static int get_qty_mem(ctx *c, json_t *o, const char *key, const char *path, gs_mib *out) {
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    char p[300];
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!json_is_string(v)) return fail(c, p, "must be a quantity string like \"8Gi\"");
    const char *why = NULL;
    if (gs_parse_mem(json_string_value(v), out, &why)) return fail(c, p, "bad memory quantity: %s", why);
    return 0;
}

static int get_qty_cpu(ctx *c, json_t *o, const char *key, const char *path, gs_mcpu *out) {
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    char p[300];
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!json_is_string(v)) return fail(c, p, "must be a quantity string like \"2\" or \"500m\"");
    const char *why = NULL;
    if (gs_parse_cpu(json_string_value(v), out, &why)) return fail(c, p, "bad CPU quantity: %s", why);
    return 0;
}

static void resolve(char *out, size_t cap, const char *dir, const char *rel) {
    char tmp[2 * GS_SIM_PATH + 2];
    if (rel[0] == '/' || !dir || !dir[0]) snprintf(tmp, sizeof tmp, "%s", rel);
    else snprintf(tmp, sizeof tmp, "%s/%s", dir, rel);
    size_t n = strlen(tmp);
    if (n >= cap) n = cap - 1;
    memcpy(out, tmp, n);
    out[n] = 0;
}

static int get_usd(ctx *c, json_t *o, const char *key, const char *path, gs_usd_u *out) {
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    char p[300];
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!json_is_string(v)) return fail(c, p, "must be an amount of US dollars as a string like \"120.50\"");
    const char *why = NULL;
    if (gs_parse_usd(json_string_value(v), out, &why)) return fail(c, p, "bad amount: %s", why);
    return 0;
}

/* A Budget (the same fields as the YAML object, docs/config.md): name, project, limits
 * {perHour, perDay, perMonth}, enforce, onExceeded, alerts {thresholds}. */
static int parse_budget(ctx *c, json_t *o, const char *path, gs_budget *b) {
    static const char *const K[] = {"name", "project", "limits", "enforce", "onExceeded", "alerts", "timezone", NULL};
    int rc = check_keys(c, o, path, K);
    if (rc) return rc;
    memset(b, 0, sizeof *b);
    snprintf(b->timezone, sizeof b->timezone, "UTC");
    if ((rc = get_str(c, o, "name", path, b->name, sizeof b->name))) return rc;
    if ((rc = get_str(c, o, "project", path, b->project, sizeof b->project))) return rc;
    if (!b->name[0] || !b->project[0]) return fail(c, path, "needs a name and a project");
    if ((rc = get_str(c, o, "timezone", path, b->timezone, sizeof b->timezone))) return rc;
    if (!b->timezone[0]) snprintf(b->timezone, sizeof b->timezone, "UTC");
    gs_error tze;
    if (gs_tz_check(b->timezone, &tze)) {
        char tp[300];
        snprintf(tp, sizeof tp, "%s.timezone", path);
        return fail(c, tp, "'%s' is not a timezone of the tz database", b->timezone);
    }
    json_t *lim = json_object_get(o, "limits");
    char lp[300];
    snprintf(lp, sizeof lp, "%s.limits", path);
    static const char *const LK[] = {"perHour", "perDay", "perMonth", NULL};
    if (!lim) return fail(c, lp, "is required (perHour, perDay and/or perMonth)");
    if ((rc = check_keys(c, lim, lp, LK))) return rc;
    if ((rc = get_usd(c, lim, "perHour", lp, &b->per_hour))) return rc;
    if ((rc = get_usd(c, lim, "perDay", lp, &b->per_day))) return rc;
    if ((rc = get_usd(c, lim, "perMonth", lp, &b->per_month))) return rc;
    if (!b->per_hour && !b->per_day && !b->per_month) return fail(c, lp, "sets no limit above $0");
    char e[16] = "hard", x[16] = "block";
    if ((rc = get_str(c, o, "enforce", path, e, sizeof e))) return rc;
    if ((rc = get_str(c, o, "onExceeded", path, x, sizeof x))) return rc;
    if (strcmp(e, "hard") == 0) b->enforce = GS_ENFORCE_HARD;
    else if (strcmp(e, "soft") == 0) b->enforce = GS_ENFORCE_SOFT;
    else return fail(c, path, "enforce '%s' is unknown (hard, soft)", e);
    if (strcmp(x, "block") == 0) b->on_exceeded = GS_ON_EXCEEDED_BLOCK;
    else if (strcmp(x, "scaleToMin") == 0) b->on_exceeded = GS_ON_EXCEEDED_SCALE_TO_MIN;
    else if (strcmp(x, "alert") == 0) b->on_exceeded = GS_ON_EXCEEDED_ALERT;
    else return fail(c, path, "onExceeded '%s' is unknown (block, scaleToMin, alert)", x);
    json_t *al = json_object_get(o, "alerts");
    if (al) {
        char ap[300];
        snprintf(ap, sizeof ap, "%s.alerts", path);
        static const char *const AK[] = {"thresholds", NULL};
        if ((rc = check_keys(c, al, ap, AK))) return rc;
        json_t *th = json_object_get(al, "thresholds");
        if (th && (!json_is_array(th) || json_array_size(th) > GS_MAX_ALERTS))
            return fail(c, ap, "thresholds must be an array of at most 8 percentages");
        size_t i;
        json_t *v;
        json_array_foreach(th, i, v) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000)
                return fail(c, ap, "thresholds must be integers 1..1000");
            b->alert_pct[b->nalerts++] = (int32_t)json_integer_value(v);
        }
    }
    return 0;
}

static int add_req(ctx *c, gs_pool *p, gs_req_key key, json_t *arr, const char *path) {
    if (!arr) return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > GS_MAX_VALUES)
        return fail(c, path, "must be a non-empty array of strings");
    gs_requirement *r = &p->reqs[p->nreqs++];
    r->key = key;
    r->op = GS_OP_IN;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v) || json_string_length(v) >= GS_NAME_LEN)
            return fail(c, path, "must contain short strings");
        snprintf(r->values[r->nvalues++], GS_NAME_LEN, "%s", json_string_value(v));
    }
    return 0;
}

static int parse_pool(ctx *c, json_t *o, const char *path, gs_pool *p, const gs_catalog *cat, int32_t *initial,
                      int32_t *initial_itype) {
    static const char *const K[] = {"name", "instanceFamilies", "instanceTypes", "capacityTypes",
                                    "sharing", "migProfiles", "limitNodes", "timeSlicingReplicas",
                                    "initialNodes", NULL};
    int rc = check_keys(c, o, path, K);
    if (rc) return rc;
    memset(p, 0, sizeof *p);
    p->disruption_budget_pct = 10;
    if ((rc = get_str(c, o, "name", path, p->name, sizeof p->name))) return rc;
    if (!p->name[0]) return fail(c, path, "needs a name");
    char sp[300];
    snprintf(sp, sizeof sp, "%s.instanceFamilies", path);
    if ((rc = add_req(c, p, GS_KEY_FAMILY, json_object_get(o, "instanceFamilies"), sp))) return rc;
    snprintf(sp, sizeof sp, "%s.instanceTypes", path);
    if ((rc = add_req(c, p, GS_KEY_INSTANCE_TYPE, json_object_get(o, "instanceTypes"), sp))) return rc;
    snprintf(sp, sizeof sp, "%s.capacityTypes", path);
    json_t *ct = json_object_get(o, "capacityTypes");
    if ((rc = add_req(c, p, GS_KEY_CAPACITY_TYPE, ct, sp))) return rc;
    if (ct)
        for (int32_t i = 0; i < p->reqs[p->nreqs - 1].nvalues; i++)
            if (gs_capacity_parse(p->reqs[p->nreqs - 1].values[i]) < 0)
                return fail(c, sp, "unknown capacity type '%s' (spot, on-demand)", p->reqs[p->nreqs - 1].values[i]);
    char share[32] = "mig";
    if ((rc = get_str(c, o, "sharing", path, share, sizeof share))) return rc;
    if (strcmp(share, "mig") == 0) p->sharing = GS_SHARE_MIG;
    else if (strcmp(share, "exclusive") == 0) p->sharing = GS_SHARE_EXCLUSIVE;
    else if (strcmp(share, "timeslicing") == 0) p->sharing = GS_SHARE_TIMESLICING;
    else if (strcmp(share, "fractional") == 0) p->sharing = GS_SHARE_FRACTIONAL;
    else {
        snprintf(sp, sizeof sp, "%s.sharing", path);
        return fail(c, sp, "'%s' is not one of mig, exclusive, timeslicing, fractional", share);
    }
    int64_t tsr = 4;
    if ((rc = get_int(c, o, "timeSlicingReplicas", path, 2, 48, &tsr))) return rc;
    if (json_object_get(o, "timeSlicingReplicas") && p->sharing != GS_SHARE_TIMESLICING) {
        snprintf(sp, sizeof sp, "%s.timeSlicingReplicas", path);
        return fail(c, sp, "is only for sharing: timeslicing");
    }
    if (p->sharing == GS_SHARE_TIMESLICING) p->ts_replicas = (int32_t)tsr;
    json_t *mp = json_object_get(o, "migProfiles");
    if (mp) {
        snprintf(sp, sizeof sp, "%s.migProfiles", path);
        if (!json_is_array(mp) || json_array_size(mp) > GS_MIG_MAX_ALLOWED)
            return fail(c, sp, "must be an array of profile names");
        size_t i;
        json_t *v;
        json_array_foreach(mp, i, v) {
            if (!json_is_string(v) || json_string_length(v) >= 24) return fail(c, sp, "bad profile name");
            snprintf(p->mig_profiles[p->n_mig_profiles++], 24, "%s", json_string_value(v));
        }
    }
    int64_t ln = 0;
    if ((rc = get_int(c, o, "limitNodes", path, 0, 100000, &ln))) return rc;
    p->limit_nodes = (int32_t)ln;
    bool any = false;
    for (int32_t t = 0; t < cat->n && !any; t++)
        for (int k = 0; k < GS_CAP__N; k++)
            any |= cat->types[t].gpus > 0 && gs_pool_allows(p, &cat->types[t], (gs_capacity)k, NULL);
    if (!any) return fail(c, path, "admits no GPU instance type of the catalog");
    int64_t init = 0;
    if ((rc = get_int(c, o, "initialNodes", path, 0, 64, &init))) return rc;
    *initial = (int32_t)init;
    *initial_itype = -1;
    for (int32_t t = 0; t < cat->n; t++) {
        const gs_itype *it = &cat->types[t];
        if (it->gpus <= 0 || !gs_pool_allows(p, it, GS_CAP_ON_DEMAND, NULL)) continue;
        if (*initial_itype < 0 || it->od_price < cat->types[*initial_itype].od_price) *initial_itype = t;
    }
    if (init > 0 && *initial_itype < 0) {
        snprintf(sp, sizeof sp, "%s.initialNodes", path);
        return fail(c, sp, "the pool admits no on-demand GPU instance type to start them as");
    }
    return 0;
}

/* The pod resources workloads and environment Jobs share: migProfile (H100-80GB profile
 * name, "" = a whole GPU), gpuMemory, cpu, memory. */
static int parse_need(ctx *c, json_t *o, const char *path, char *mig, size_t migcap, gs_rc_need *need) {
    int rc;
    if ((rc = get_str(c, o, "migProfile", path, mig, migcap))) return rc;
    need->mem_mib = 0;
    if ((rc = get_qty_mem(c, o, "gpuMemory", path, &need->mem_mib))) return rc;
    need->cpu = 1000;
    need->mem = 4096;
    if ((rc = get_qty_cpu(c, o, "cpu", path, &need->cpu))) return rc;
    if ((rc = get_qty_mem(c, o, "memory", path, &need->mem))) return rc;
    int64_t milli = 0;
    if ((rc = get_int(c, o, "gpuMilli", path, 1, 999, &milli))) return rc;
    need->milli = (int32_t)milli;
    if (mig[0]) {
        const gs_gpu_model *ref = gs_gpu_get(gs_gpu_find("h100-80gb"));
        int pi = ref ? gs_mig_profile_find(ref, mig) : -1;
        if (pi < 0) {
            char sp[300];
            snprintf(sp, sizeof sp, "%s.migProfile", path);
            return fail(c, sp, "'%s' is not an H100-80GB MIG profile (see `gpuscale mig h100`)", mig);
        }
        need->compute = ref->profiles[pi].compute;
        if (need->mem_mib == 0) need->mem_mib = ref->profiles[pi].mem_mib;
        if (need->mem_mib > ref->profiles[pi].mem_mib) {
            char sp[300];
            snprintf(sp, sizeof sp, "%s.gpuMemory", path);
            return fail(c, sp, "does not fit the memory of %s", mig);
        }
    } else {
        need->compute = 7;
    }
    return 0;
}

static int parse_wl_traffic(ctx *c, json_t *o, const char *path, gs_sim_workload *w, gs_scenario *s) {
    int rc;
    char sp[300];
    json_t *tr = json_object_get(o, "traffic");
    snprintf(sp, sizeof sp, "%s.traffic", path);
    if (!tr) return fail(c, sp, "is required");
    static const char *const TK[] = {"kind", "sizesFrom", "trace", "peakPerSecond", "troughPerSecond",
                                     "peakHour", "burstsPerDay", "burstFactor", "burstLength",
                                     "speedup", NULL};
    if ((rc = check_keys(c, tr, sp, TK))) return rc;
    char kind[32] = "synthetic";
    if ((rc = get_str(c, tr, "kind", sp, kind, sizeof kind))) return rc;
    char rel[GS_SIM_PATH] = "";
    if (strcmp(kind, "synthetic") == 0) {
        w->traffic = GS_TRAFFIC_SYNTH;
        if ((rc = get_str(c, tr, "sizesFrom", sp, rel, sizeof rel))) return rc;
        if (!rel[0]) return fail(c, sp, "needs sizesFrom (an Azure LLM trace CSV)");
        gs_synth_params *q = &w->synth;
        q->peak_rps = 1;
        q->trough_rps = 0.1;
        q->peak_hour = 14;
        q->burst_factor = 1;
        q->burst_len = GS_MIN(10);
        if ((rc = get_num(c, tr, "peakPerSecond", sp, 0.0001, 100000, &q->peak_rps))) return rc;
        if ((rc = get_num(c, tr, "troughPerSecond", sp, 0, 100000, &q->trough_rps))) return rc;
        if ((rc = get_num(c, tr, "peakHour", sp, 0, 24, &q->peak_hour))) return rc;
        if ((rc = get_num(c, tr, "burstsPerDay", sp, 0, 1000, &q->bursts_per_day))) return rc;
        if ((rc = get_num(c, tr, "burstFactor", sp, 1, 100, &q->burst_factor))) return rc;
        if ((rc = get_dur(c, tr, "burstLength", sp, &q->burst_len))) return rc;
        if (q->trough_rps > q->peak_rps) return fail(c, sp, "troughPerSecond is above peakPerSecond");
    } else if (strcmp(kind, "trace") == 0) {
        w->traffic = GS_TRAFFIC_TRACE;
        if ((rc = get_str(c, tr, "trace", sp, rel, sizeof rel))) return rc;
        if (!rel[0]) return fail(c, sp, "needs trace (an Azure LLM trace CSV)");
        w->trace_speedup = 1;
        if ((rc = get_num(c, tr, "speedup", sp, 1, 1000, &w->trace_speedup))) return rc;
    } else {
        return fail(c, sp, "kind '%s' is unknown (synthetic, trace)", kind);
    }
    resolve(w->sizes_path, sizeof w->sizes_path, s->dir, rel);
    return 0;
}

static int parse_wl_service(ctx *c, json_t *o, const char *path, gs_sim_workload *w) {
    int rc;
    char sp[300];
    w->sat_slices = w->need.compute;
    w->base_ms = 100;
    json_t *st = json_object_get(o, "serviceTime");
    if (st) {
        static const char *const SK[] = {"baseMs", "msPerInputToken", "msPerOutputToken",
                                         "saturationComputeSlices", NULL};
        snprintf(sp, sizeof sp, "%s.serviceTime", path);
        if ((rc = check_keys(c, st, sp, SK))) return rc;
        if ((rc = get_num(c, st, "baseMs", sp, 0, 3600000, &w->base_ms))) return rc;
        if ((rc = get_num(c, st, "msPerInputToken", sp, 0, 10000, &w->ms_per_in))) return rc;
        if ((rc = get_num(c, st, "msPerOutputToken", sp, 0, 10000, &w->ms_per_out))) return rc;
        int64_t sat = w->sat_slices;
        if ((rc = get_int(c, st, "saturationComputeSlices", sp, 1, 7, &sat))) return rc;
        w->sat_slices = (int32_t)sat;
    }
    w->cold_start = GS_SEC(30);
    if ((rc = get_dur(c, o, "coldStart", path, &w->cold_start))) return rc;
    w->slo_wait = GS_SEC(60);
    json_t *slo = json_object_get(o, "slo");
    if (slo) {
        static const char *const LK[] = {"queueWait", NULL};
        snprintf(sp, sizeof sp, "%s.slo", path);
        if ((rc = check_keys(c, slo, sp, LK))) return rc;
        if ((rc = get_dur(c, slo, "queueWait", sp, &w->slo_wait))) return rc;
    }
    return 0;
}

static int parse_wl_from_scaler(ctx *c, json_t *o, const char *path, gs_sim_workload *w, gs_scenario *s,
                                const char *name);

static int parse_wl(ctx *c, json_t *o, const char *path, gs_sim_workload *w, gs_scenario *s) {
    static const char *const K[] = {"name", "project", "pool", "migProfile", "gpuMemory", "cpu",
                                    "memory", "serviceTime", "coldStart", "slo", "scaler",
                                    "traffic", "gpuMilli", NULL};
    int rc = check_keys(c, o, path, K);
    if (rc) return rc;
    memset(w, 0, sizeof *w);
    json_t *scref = json_object_get(o, "scaler");
    if (json_is_string(scref)) return parse_wl_from_scaler(c, o, path, w, s, json_string_value(scref));
    if ((rc = get_str(c, o, "name", path, w->name, sizeof w->name))) return rc;
    if (!w->name[0]) return fail(c, path, "needs a name");
    memcpy(w->project, w->name, sizeof w->project);
    if ((rc = get_str(c, o, "project", path, w->project, sizeof w->project))) return rc;
    char pool[GS_NAME_LEN] = "";
    if ((rc = get_str(c, o, "pool", path, pool, sizeof pool))) return rc;
    w->pool = pool[0] ? -1 : 0;
    for (int32_t i = 0; i < s->npools; i++)
        if (strcmp(s->pools[i].name, pool) == 0) w->pool = i;
    if (w->pool < 0) return fail(c, path, "names an unknown pool '%s'", pool);
    if ((rc = parse_need(c, o, path, w->mig_profile, sizeof w->mig_profile, &w->need))) return rc;
    if ((rc = parse_wl_service(c, o, path, w))) return rc;
    char sp[300];
    w->target_milli = 1000;
    w->min_replicas = 0;
    w->max_replicas = 100;
    w->polling = GS_SEC(1);
    w->cooldown = GS_SEC(300);
    w->stabilize_down = GS_SEC(300);
    json_t *sc = json_object_get(o, "scaler");
    if (sc) {
        static const char *const CK[] = {"target", "activation", "minReplicas", "maxReplicas",
                                         "pollingInterval", "cooldownPeriod", "stabilizeDown", NULL};
        snprintf(sp, sizeof sp, "%s.scaler", path);
        if ((rc = check_keys(c, sc, sp, CK))) return rc;
        double t = 1, a = 0;
        if ((rc = get_num(c, sc, "target", sp, 0.001, 1e6, &t))) return rc;
        if ((rc = get_num(c, sc, "activation", sp, 0, 1e6, &a))) return rc;
        w->target_milli = (int64_t)llround(t * 1000);
        w->activation_milli = (int64_t)llround(a * 1000);
        int64_t mn = 0, mx = 100;
        if ((rc = get_int(c, sc, "minReplicas", sp, 0, 10000, &mn))) return rc;
        if ((rc = get_int(c, sc, "maxReplicas", sp, 1, 10000, &mx))) return rc;
        if (mn > mx) return fail(c, sp, "minReplicas is above maxReplicas");
        w->min_replicas = (int32_t)mn;
        w->max_replicas = (int32_t)mx;
        if ((rc = get_dur(c, sc, "pollingInterval", sp, &w->polling))) return rc;
        if ((rc = get_dur(c, sc, "cooldownPeriod", sp, &w->cooldown))) return rc;
        if ((rc = get_dur(c, sc, "stabilizeDown", sp, &w->stabilize_down))) return rc;
        if (w->polling < 100) return fail(c, sp, "pollingInterval must be at least 100ms");
    }
    return parse_wl_traffic(c, o, path, w, s);
}

/* A workload whose pool, project, resources and scaler numbers come from a QueueScaler of the
 * scenario's "config" YAML ("scaler": "<name>"); the scenario adds what only a simulation
 * needs (serviceTime, coldStart, slo, traffic, gpuMemory). The first trigger's target and
 * activation apply to the simulated queue. */
static int parse_wl_from_scaler(ctx *c, json_t *o, const char *path, gs_sim_workload *w, gs_scenario *s,
                                const char *name) {
    static const char *const K[] = {"name", "gpuMemory", "serviceTime", "coldStart", "slo", "scaler",
                                    "traffic", NULL};
    char sp[300];
    snprintf(sp, sizeof sp, "%s.scaler", path);
    if (!c->cfg) return fail(c, sp, "names QueueScaler '%s' but the scenario has no \"config\"", name);
    const gs_scaler *q = NULL;
    for (int32_t i = 0; i < c->cfg->nscalers; i++)
        if (strcmp(c->cfg->scalers[i].name, name) == 0) q = &c->cfg->scalers[i];
    if (!q) return fail(c, sp, "no QueueScaler '%s' in the config", name);
    int rc = check_keys(c, o, path, K);
    if (rc) return rc;
    if (q->pod_from_target) return fail(c, sp, "QueueScaler '%s' has no spec.template (its pod shape is read from the cluster)", name);
    snprintf(w->name, sizeof w->name, "%s", name);
    if ((rc = get_str(c, o, "name", path, w->name, sizeof w->name))) return rc;
    snprintf(w->project, sizeof w->project, "%s", q->project[0] ? q->project : q->ns[0] ? q->ns : name);
    w->pool = q->pool[0] ? -1 : 0;
    for (int32_t i = 0; i < s->npools; i++)
        if (strcmp(s->pools[i].name, q->pool) == 0) w->pool = i;
    if (w->pool < 0) return fail(c, sp, "QueueScaler '%s' names pool '%s', not in the config", name, q->pool);
    /* the simulated pods carry no tolerations: the scaler's template must tolerate the pool's
     * taints (then the simulation drops them) */
    const gs_pool *cp = NULL;
    for (int32_t i = 0; i < c->cfg->npools; i++)
        if (strcmp(c->cfg->pools[i].name, s->pools[w->pool].name) == 0) cp = &c->cfg->pools[i];
    if (cp && !gs_pack_tolerates(&q->pod, cp))
        return fail(c, sp, "QueueScaler '%s' does not tolerate the taints of pool '%s'", name, cp->name);
    /* resources: cpu, memory and the GPU request of its template */
    gs_rc_need *n = &w->need;
    memset(n, 0, sizeof *n);
    n->cpu = q->pod.cpu > 0 ? q->pod.cpu : 1000;
    n->mem = q->pod.mem > 0 ? q->pod.mem : 4096;
    const gs_gpu_req *g = &q->pod.gpu;
    const gs_gpu_model *ref = gs_gpu_get(gs_gpu_find("h100-80gb"));
    if (g->form == GS_GPU_MIG) {
        int pi = ref ? gs_mig_profile_find(ref, g->mig_profile) : -1;
        if (pi < 0) return fail(c, sp, "QueueScaler '%s' asks for %s: the simulator models H100-80GB MIG profiles only", name, g->mig_profile);
        snprintf(w->mig_profile, sizeof w->mig_profile, "%s", g->mig_profile);
        n->compute = ref->profiles[pi].compute;
        n->mem_mib = ref->profiles[pi].mem_mib;
    } else if (g->form == GS_GPU_WHOLE && g->count > 1) {
        return fail(c, sp, "QueueScaler '%s' asks for %d whole GPUs per replica; the simulator serves a request on one slot", name, g->count);
    } else if (g->form == GS_GPU_NONE) {
        return fail(c, sp, "QueueScaler '%s' asks for no GPU", name);
    } else {
        n->compute = 7;
        if (g->form == GS_GPU_FRACTION) n->milli = g->milli;
    }
    gs_mib gm = 0;
    if ((rc = get_qty_mem(c, o, "gpuMemory", path, &gm))) return rc;
    if (gm > 0) n->mem_mib = gm;
    if (g->form == GS_GPU_MIG && n->mem_mib > ref->profiles[gs_mig_profile_find(ref, g->mig_profile)].mem_mib) {
        snprintf(sp, sizeof sp, "%s.gpuMemory", path);
        return fail(c, sp, "does not fit the memory of %s", g->mig_profile);
    }
    if ((rc = parse_wl_service(c, o, path, w))) return rc;
    const gs_trigger *t = &q->triggers[0];
    w->target_milli = t->target_milli > 0 ? t->target_milli : 1000;
    w->activation_milli = t->activation_milli;
    w->min_replicas = q->min_replicas;
    w->max_replicas = q->max_replicas;
    w->polling = q->polling_interval >= 100 ? q->polling_interval : GS_SEC(1);
    w->cooldown = q->cooldown_period;
    w->stabilize_down = q->stabilize_down;
    return parse_wl_traffic(c, o, path, w, s);
}

static int parse_env(ctx *c, json_t *o, const char *path, gs_sim_env *e, gs_scenario *s) {
    static const char *const K[] = {"name", "project", "pool", "start", "ttl", "deleteWhen", "job", NULL};
    int rc = check_keys(c, o, path, K);
    if (rc) return rc;
    memset(e, 0, sizeof *e);
    gs_environment *x = &e->obj;
    if ((rc = get_str(c, o, "name", path, x->name, sizeof x->name))) return rc;
    if (!x->name[0]) return fail(c, path, "needs a name");
    memcpy(x->project, x->name, sizeof x->project);
    if ((rc = get_str(c, o, "project", path, x->project, sizeof x->project))) return rc;
    if ((rc = get_str(c, o, "pool", path, x->pool, sizeof x->pool))) return rc;
    e->pool = x->pool[0] ? -1 : 0;
    for (int32_t i = 0; i < s->npools; i++)
        if (strcmp(s->pools[i].name, x->pool) == 0) e->pool = i;
    char sp[300];
    snprintf(sp, sizeof sp, "%s.pool", path);
    if (e->pool < 0) return fail(c, sp, "names an unknown pool '%s'", x->pool);
    snprintf(x->pool, sizeof x->pool, "%s", s->pools[e->pool].name);
    if ((rc = get_dur(c, o, "start", path, &e->start))) return rc;
    snprintf(sp, sizeof sp, "%s.start", path);
    if (e->start < 0 || e->start >= s->duration) return fail(c, sp, "must be in 0..duration");
    if ((rc = get_dur(c, o, "ttl", path, &x->ttl))) return rc;
    snprintf(sp, sizeof sp, "%s.ttl", path);
    if (x->ttl < 0) return fail(c, sp, "must not be negative (0 or absent: none)");
    char dw[32] = "succeeded";
    if ((rc = get_str(c, o, "deleteWhen", path, dw, sizeof dw))) return rc;
    snprintf(sp, sizeof sp, "%s.deleteWhen", path);
    if (strcmp(dw, "succeeded") == 0) x->delete_when = GS_DELETE_SUCCEEDED;
    else if (strcmp(dw, "finished") == 0) x->delete_when = GS_DELETE_FINISHED;
    else if (strcmp(dw, "never") == 0) x->delete_when = GS_DELETE_NEVER;
    else return fail(c, sp, "'%s' is not one of succeeded, finished, never", dw);
    if (x->delete_when == GS_DELETE_NEVER && x->ttl == 0)
        return fail(c, path, "is never deleted: give a ttl or deleteWhen succeeded|finished");
    json_t *j = json_object_get(o, "job");
    snprintf(sp, sizeof sp, "%s.job", path);
    if (!j) return fail(c, sp, "is required");
    static const char *const JK[] = {"replicas", "migProfile", "gpuMemory", "cpu", "memory", "runFor", "gpuMilli", NULL};
    if ((rc = check_keys(c, j, sp, JK))) return rc;
    gs_env_workload *ew = &x->workloads[0];
    snprintf(ew->name, sizeof ew->name, "%s", x->name);
    int64_t rep = 1;
    if ((rc = get_int(c, j, "replicas", sp, 1, 1000, &rep))) return rc;
    ew->replicas = (int32_t)rep;
    if ((rc = parse_need(c, j, sp, e->mig_profile, sizeof e->mig_profile, &e->need))) return rc;
    if ((rc = get_dur(c, j, "runFor", sp, &ew->run_for))) return rc;
    if (ew->run_for <= 0) {
        char rp[320];
        snprintf(rp, sizeof rp, "%s.runFor", sp);
        return fail(c, rp, "is required and must be positive");
    }
    x->nworkloads = 1;
    x->is_job = true;
    snprintf(x->ns, sizeof x->ns, "default");
    return 0;
}

/* Smallest GPU memory among the GPU instance types pool p admits (0: none). */
static gs_mib pool_min_gpu_mem(const gs_pool *p, const gs_catalog *cat) {
    gs_mib best = 0;
    for (int32_t t = 0; t < cat->n; t++) {
        const gs_gpu_model *m = gs_gpu_get(cat->types[t].gpu_model);
        if (!m || cat->types[t].gpus <= 0) continue;
        bool ok = false;
        for (int k = 0; k < GS_CAP__N; k++) ok |= gs_pool_allows(p, &cat->types[t], (gs_capacity)k, NULL);
        if (ok && (best == 0 || m->mem_mib < best)) best = m->mem_mib;
    }
    return best;
}

/* Time-slicing has no memory isolation: every replica a GPU advertises must fit its memory
 * (replicas x gpuMemory); a fractional share holds gpuMilli of the GPU's memory. */
static int check_sharing(ctx *c, const gs_scenario *s, const gs_catalog *cat, const char *path,
                         int32_t pool, const gs_rc_need *need) {
    const gs_pool *p = &s->pools[pool];
    gs_mib gm = pool_min_gpu_mem(p, cat);
    char sp[300];
    snprintf(sp, sizeof sp, "%s.gpuMemory", path);
    if (p->sharing == GS_SHARE_TIMESLICING && (int64_t)need->mem_mib * p->ts_replicas > gm)
        return fail(c, sp, "%lld MiB x %d time-sliced replicas does not fit the %lld MiB of the smallest GPU of pool %s (time-slicing has no memory isolation)",
                    (long long)need->mem_mib, p->ts_replicas, (long long)gm, p->name);
    if (p->sharing == GS_SHARE_FRACTIONAL) {
        int32_t milli = need->milli > 0 ? need->milli : (need->compute * 1000 + 6) / 7;
        if (milli > 999) milli = 999;
        if ((int64_t)need->mem_mib * 1000 > (int64_t)gm * milli)
            return fail(c, sp, "%lld MiB does not fit %d milli-GPU of the %lld MiB of the smallest GPU of pool %s",
                        (long long)need->mem_mib, milli, (long long)gm, p->name);
    }
    if (p->sharing != GS_SHARE_FRACTIONAL && need->milli > 0) {
        snprintf(sp, sizeof sp, "%s.gpuMilli", path);
        return fail(c, sp, "is only for a pool with sharing: fractional");
    }
    return 0;
}

int gs_scenario_parse(gs_scenario *s, const char *text, size_t len, const char *file,
                      const char *dir, const gs_catalog *cat, gs_error *err) {
    gs_scenario_defaults(s);
    snprintf(s->dir, sizeof s->dir, "%s", dir ? dir : "");
    ctx c = {file, err, NULL};
    gs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    bool have_cfg = false;
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return gs_error_setpos(err, GS_EPARSE, file, je.line, je.column, "%s", je.text);
    int rc = 0;
    static const char *const K[] = {"name", "description", "seed", "duration", "warmup", "sampleEvery",
                                    "cloud", "pools", "workloads", "jobs", "clusterAutoscaler",
                                    "budgets", "environments", "startsAt", "gpuscale", "config", NULL};
    if ((rc = check_keys(&c, root, "$", K))) goto out;
    if ((rc = get_str(&c, root, "name", "$", s->name, sizeof s->name))) goto out;
    if ((rc = get_str(&c, root, "description", "$", s->description, sizeof s->description))) goto out;
    int64_t seed = 1;
    if ((rc = get_int(&c, root, "seed", "$", 0, INT64_MAX, &seed))) goto out;
    s->seed = (uint64_t)seed;
    if ((rc = get_dur(&c, root, "duration", "$", &s->duration))) goto out;
    if (s->duration <= 0 || s->duration > GS_HOUR(24 * 400)) {
        rc = fail(&c, "$.duration", "must be between 1ms and 400d");
        goto out;
    }
    {
        char at[64] = "";
        if ((rc = get_str(&c, root, "startsAt", "$", at, sizeof at))) goto out;
        gs_error te;
        if (at[0] && (gs_tz_parse_time("UTC", at, &s->starts_at, &te) || !strchr(at, 'T'))) {
            rc = fail(&c, "$.startsAt", "'%s' is not a UTC time like 2026-03-28T00:00:00Z", at);
            goto out;
        }
    }
    if ((rc = get_dur(&c, root, "warmup", "$", &s->warmup))) goto out;
    if (s->warmup < 0 || s->warmup > GS_HOUR(24) || s->warmup % GS_MIN(1) != 0) {
        rc = fail(&c, "$.warmup", "must be whole minutes between 0 and 24h");
        goto out;
    }
    if ((rc = get_dur(&c, root, "sampleEvery", "$", &s->sample_every))) goto out;
    if (s->sample_every < GS_SEC(1)) {
        rc = fail(&c, "$.sampleEvery", "must be at least 1s");
        goto out;
    }
    json_t *cl = json_object_get(root, "cloud");
    if (cl) {
        static const char *const CK[] = {"spotInterruptionsPerNodeHour", "spotNotice",
                                         "migReconfigure", "billingMinimum", "bootTime",
                                         "zones", "spotReclaimFraction", NULL};
        if ((rc = check_keys(&c, cl, "$.cloud", CK))) goto out;
        int64_t zn = s->zones;
        if ((rc = get_int(&c, cl, "zones", "$.cloud", 1, 16, &zn))) goto out;
        s->zones = (int32_t)zn;
        if ((rc = get_num(&c, cl, "spotReclaimFraction", "$.cloud", 0.01, 1, &s->spot_reclaim_fraction))) goto out;
        if ((rc = get_num(&c, cl, "spotInterruptionsPerNodeHour", "$.cloud", 0, 100, &s->spot_per_node_hour))) goto out;
        if ((rc = get_dur(&c, cl, "spotNotice", "$.cloud", &s->spot_notice))) goto out;
        if ((rc = get_dur(&c, cl, "migReconfigure", "$.cloud", &s->mig_reconfigure))) goto out;
        if ((rc = get_dur(&c, cl, "billingMinimum", "$.cloud", &s->bill_min))) goto out;
        json_t *bt = json_object_get(cl, "bootTime");
        if (bt) {
            if (!json_is_object(bt)) { rc = fail(&c, "$.cloud.bootTime", "must be an object of family: {min, max}"); goto out; }
            const char *fam;
            json_t *v;
            json_object_foreach(bt, fam, v) {
                char sp[300];
                snprintf(sp, sizeof sp, "$.cloud.bootTime.%s", fam);
                static const char *const BK[] = {"min", "max", NULL};
                if ((rc = check_keys(&c, v, sp, BK))) goto out;
                gs_boot_dist d = {"", GS_SEC(60), GS_SEC(60)};
                snprintf(d.family, sizeof d.family, "%s", strcmp(fam, "default") == 0 ? "" : fam);
                if ((rc = get_dur(&c, v, "min", sp, &d.min))) goto out;
                if ((rc = get_dur(&c, v, "max", sp, &d.max))) goto out;
                if (d.max < d.min) { rc = fail(&c, sp, "max is below min"); goto out; }
                int32_t i = 0;
                while (i < s->nboot && strcmp(s->boot[i].family, d.family) != 0) i++;
                if (i == s->nboot) {
                    if (s->nboot == GS_SIM_MAX_BOOT) { rc = fail(&c, sp, "too many families"); goto out; }
                    s->nboot++;
                }
                s->boot[i] = d;
            }
        }
    }
    json_t *gp = json_object_get(root, "gpuscale");
    if (gp) {
        static const char *const GK[] = {"spotMaxPercent", "spotPriceSlackPercent", "repackHeadroom",
                                         "switchModes", NULL};
        if ((rc = check_keys(&c, gp, "$.gpuscale", GK))) goto out;
        int64_t a = s->spot_max_pct, b = s->spot_price_slack_pct;
        if ((rc = get_int(&c, gp, "spotMaxPercent", "$.gpuscale", 0, 100, &a))) goto out;
        if ((rc = get_int(&c, gp, "spotPriceSlackPercent", "$.gpuscale", 0, 1000, &b))) goto out;
        s->spot_max_pct = (int32_t)a;
        s->spot_price_slack_pct = (int32_t)b;
        int64_t h = s->repack_headroom;
        if ((rc = get_int(&c, gp, "repackHeadroom", "$.gpuscale", -1, 64, &h))) goto out;
        s->repack_headroom = (int32_t)h;
        json_t *sm = json_object_get(gp, "switchModes");
        if (sm && !json_is_boolean(sm)) {
            rc = fail(&c, "$.gpuscale.switchModes", "must be true or false");
            goto out;
        }
        if (sm) s->switch_modes = json_is_true(sm);
    }
    json_t *ca = json_object_get(root, "clusterAutoscaler");
    if (ca) {
        static const char *const AK[] = {"hpaGpuUtilizationTarget", NULL};
        if ((rc = check_keys(&c, ca, "$.clusterAutoscaler", AK))) goto out;
        if ((rc = get_num(&c, ca, "hpaGpuUtilizationTarget", "$.clusterAutoscaler", 0.05, 1.0, &s->hpa_util_target))) goto out;
    }
    json_t *pools = json_object_get(root, "pools");
    json_t *cfgv = json_object_get(root, "config");
    size_t i;
    json_t *v;
    if (cfgv) {
        /* GPUPools and QueueScalers from YAML (src/io/config), the files `gpuscale run` reads */
        if (pools) { rc = fail(&c, "$.pools", "give either pools or config (whose GPUPools are the pools)"); goto out; }
        char paths[4][GS_SIM_PATH];
        const char *pp[4];
        int np = 0;
        if (json_is_string(cfgv)) {
            resolve(paths[0], sizeof paths[0], s->dir, json_string_value(cfgv));
            pp[np] = paths[np];
            np++;
        } else if (json_is_array(cfgv) && json_array_size(cfgv) >= 1 && json_array_size(cfgv) <= 4) {
            json_array_foreach(cfgv, i, v) {
                if (!json_is_string(v)) { rc = fail(&c, "$.config", "must be a file name or an array of 1..4 file names"); goto out; }
                resolve(paths[np], sizeof paths[np], s->dir, json_string_value(v));
                pp[np] = paths[np];
                np++;
            }
        } else {
            rc = fail(&c, "$.config", "must be a file name or an array of 1..4 file names");
            goto out;
        }
        gs_error ce;
        memset(&ce, 0, sizeof ce);
        if (gs_config_load_files(&cfg, pp, np, cat, &ce)) {
            if (ce.file[0] && ce.line > 0) rc = fail(&c, "$.config", "%s:%d:%d: %s", ce.file, ce.line, ce.col, ce.msg);
            else if (ce.file[0]) rc = fail(&c, "$.config", "%s: %s", ce.file, ce.msg);
            else rc = fail(&c, "$.config", "%s", ce.msg);
            goto out;
        }
        have_cfg = true;
        c.cfg = &cfg;
        if (cfg.npools < 1 || cfg.npools > GS_SIM_MAX_POOLS) {
            rc = fail(&c, "$.config", "has %d GPUPools; a scenario takes 1..4", (int)cfg.npools);
            goto out;
        }
        for (int32_t k = 0; k < cfg.npools; k++) {
            s->pools[s->npools] = cfg.pools[k];
            s->pools[s->npools].ntaints = 0; /* checked against each scaler's tolerations */
            s->npools++;
        }
    } else {
        if (!json_is_array(pools) || json_array_size(pools) == 0 || json_array_size(pools) > GS_SIM_MAX_POOLS) {
            rc = fail(&c, "$.pools", "must be an array of 1..4 pools");
            goto out;
        }
        json_array_foreach(pools, i, v) {
            char sp[64];
            snprintf(sp, sizeof sp, "$.pools[%zu]", i);
            if ((rc = parse_pool(&c, v, sp, &s->pools[s->npools], cat, &s->initial_nodes[s->npools],
                                 &s->initial_itype[s->npools])))
                goto out;
            s->npools++;
        }
    }
    json_t *wls = json_object_get(root, "workloads");
    json_t *jobs = json_object_get(root, "jobs");
    if (wls) {
        if (!json_is_array(wls) || json_array_size(wls) > GS_SIM_MAX_WL) {
            rc = fail(&c, "$.workloads", "must be an array of at most 8 workloads");
            goto out;
        }
        json_array_foreach(wls, i, v) {
            char sp[64];
            snprintf(sp, sizeof sp, "$.workloads[%zu]", i);
            if ((rc = parse_wl(&c, v, sp, &s->wl[s->nwl], s))) goto out;
            s->nwl++;
        }
    }
    if (jobs) {
        static const char *const JK[] = {"trace", "pool", "limit", NULL};
        if ((rc = check_keys(&c, jobs, "$.jobs", JK))) goto out;
        char rel[GS_SIM_PATH] = "", pool[GS_NAME_LEN] = "";
        if ((rc = get_str(&c, jobs, "trace", "$.jobs", rel, sizeof rel))) goto out;
        if ((rc = get_str(&c, jobs, "pool", "$.jobs", pool, sizeof pool))) goto out;
        if ((rc = get_int(&c, jobs, "limit", "$.jobs", 0, GS_TRACE_MAX_ROWS, &s->jobs_limit))) goto out;
        if (!rel[0]) { rc = fail(&c, "$.jobs.trace", "is required (an openb pod list)"); goto out; }
        resolve(s->jobs_path, sizeof s->jobs_path, s->dir, rel);
        s->jobs_pool = pool[0] ? -1 : 0;
        for (int32_t k = 0; k < s->npools; k++)
            if (strcmp(s->pools[k].name, pool) == 0) s->jobs_pool = k;
        if (s->jobs_pool < 0) { rc = fail(&c, "$.jobs.pool", "names an unknown pool '%s'", pool); goto out; }
    }
    json_t *buds = json_object_get(root, "budgets");
    if (buds) {
        if (!json_is_array(buds) || json_array_size(buds) > GS_SIM_MAX_BUDGETS) {
            rc = fail(&c, "$.budgets", "must be an array of at most 8 budgets");
            goto out;
        }
        json_array_foreach(buds, i, v) {
            char sp[64];
            snprintf(sp, sizeof sp, "$.budgets[%zu]", i);
            if ((rc = parse_budget(&c, v, sp, &s->budgets[s->nbudgets]))) goto out;
            for (int32_t k = 0; k < s->nbudgets; k++)
                if (strcmp(s->budgets[k].project, s->budgets[s->nbudgets].project) == 0) {
                    rc = fail(&c, sp, "project '%s' already has a budget", s->budgets[k].project);
                    goto out;
                }
            s->nbudgets++;
        }
    }
    json_t *envs = json_object_get(root, "environments");
    if (envs) {
        if (!json_is_array(envs) || json_array_size(envs) > GS_SIM_MAX_ENVS) {
            rc = fail(&c, "$.environments", "must be an array of at most 16 environments");
            goto out;
        }
        json_array_foreach(envs, i, v) {
            char sp[64];
            snprintf(sp, sizeof sp, "$.environments[%zu]", i);
            if ((rc = parse_env(&c, v, sp, &s->envs[s->nenvs], s))) goto out;
            for (int32_t k = 0; k < s->nenvs; k++)
                if (strcmp(s->envs[k].obj.name, s->envs[s->nenvs].obj.name) == 0) {
                    rc = fail(&c, sp, "environment '%s' is defined twice", s->envs[k].obj.name);
                    goto out;
                }
            s->nenvs++;
        }
    }
    for (int32_t k = 0; k < s->nwl; k++) {
        char sp[64];
        snprintf(sp, sizeof sp, "$.workloads[%d]", (int)k);
        if ((rc = check_sharing(&c, s, cat, sp, s->wl[k].pool, &s->wl[k].need))) goto out;
    }
    for (int32_t k = 0; k < s->nenvs; k++) {
        char sp[64];
        snprintf(sp, sizeof sp, "$.environments[%d].pool", (int)k);
        gs_share_mode em = s->pools[s->envs[k].pool].sharing;
        if (em == GS_SHARE_TIMESLICING || em == GS_SHARE_FRACTIONAL) {
            rc = fail(&c, sp, "environments run in a mig or exclusive pool, not '%s'", s->pools[s->envs[k].pool].name);
            goto out;
        }
        snprintf(sp, sizeof sp, "$.environments[%d].job", (int)k);
        if ((rc = check_sharing(&c, s, cat, sp, s->envs[k].pool, &s->envs[k].need))) goto out;
    }
    /* a scenario without traffic is valid: `--trace FILE` supplies it */
    {
        gs_error pe;
        if ((rc = gs_scenario_resolve_periods(s, &pe))) {
            rc = fail(&c, "$.budgets", "%s", pe.msg);
            goto out;
        }
    }
out:
    if (have_cfg) gs_config_free(&cfg);
    json_decref(root);
    return rc;
}

int gs_scenario_load(gs_scenario *s, const char *path, const gs_catalog *cat, gs_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return gs_error_set(err, GS_ENOENT, "%s: %s", path, strerror(errno));
    char *buf = malloc(SCENARIO_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return gs_error_set(err, GS_ENOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, SCENARIO_MAX_BYTES + 1, f);
    fclose(f);
    if (n > SCENARIO_MAX_BYTES) {
        free(buf);
        return gs_error_set(err, GS_ETOOBIG, "%s: larger than 1 MiB", path);
    }
    char dir[GS_SIM_PATH];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    int rc = gs_scenario_parse(s, buf, n, path, dir, cat, err);
    free(buf);
    return rc;
}

int gs_scenario_resolve_periods(gs_scenario *s, gs_error *err) {
    for (int32_t b = 0; b < s->nbudgets; b++) {
        gs_sim_tzcal *z = &s->tzcal[b];
        memset(z, 0, sizeof *z);
        const char *tz = s->budgets[b].timezone;
        if (!tz[0] || strcmp(tz, "UTC") == 0) continue;
        gs_ms t = s->starts_at, last = s->starts_at + s->duration + GS_HOUR(48);
        gs_periods p;
        int rc;
        while ((rc = gs_tz_periods(tz, t, &p, err)) == 0) {
            if (z->ndays == 0) z->day[z->ndays++] = p.start[GS_WIN_DAY];
            if (z->nmonths == 0) z->month[z->nmonths++] = p.start[GS_WIN_MONTH];
            if (z->ndays > GS_SIM_TZ_DAYS || z->nmonths > GS_SIM_TZ_MONTHS)
                return gs_error_set(err, GS_EINVAL, "budget %s: a timezone budget covers at most %d days",
                                    s->budgets[b].name, GS_SIM_TZ_DAYS - 3);
            z->day[z->ndays++] = p.end[GS_WIN_DAY];
            if (z->month[z->nmonths - 1] != p.end[GS_WIN_MONTH]) z->month[z->nmonths++] = p.end[GS_WIN_MONTH];
            if (p.end[GS_WIN_DAY] > last) break;
            t = p.end[GS_WIN_DAY];
        }
        if (rc) return rc;
    }
    return 0;
}
