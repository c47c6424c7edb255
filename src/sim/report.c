#include "sim/report.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "policy/budget.h"

static const gs_sim_result *find(const gs_report *r, gs_policy p) {
    for (int32_t i = 0; i < r->nres; i++)
        if (r->res[i].pol == p) return &r->res[i];
    return NULL;
}

static double usd(gs_usd_u v) { return (double)v / 1e6; }

static void fmt_ms(gs_ms v, char *buf, size_t n);

/* A simulated time of an environment event as "+1.5h", or "-" when it did not happen. */
static void fmt_at(gs_ms v, char *buf, size_t n) {
    if (v == GS_SIM_NOT) {
        snprintf(buf, n, "-");
        return;
    }
    if (n < 2) return;
    buf[0] = '+';
    fmt_ms(v < 0 ? 0 : v, buf + 1, n - 1);
}

static void fmt_ms(gs_ms v, char *buf, size_t n) {
    if (v < 1000) snprintf(buf, n, "%lldms", (long long)v);
    else if (v < 120000) snprintf(buf, n, "%.1fs", (double)v / 1000.0);
    else if (v < 7200000) snprintf(buf, n, "%.1fm", (double)v / 60000.0);
    else if (v < 172800000) snprintf(buf, n, "%.1fh", (double)v / 3600000.0);
    else snprintf(buf, n, "%.1fd", (double)v / 86400000.0);
}

static double ratio(const gs_sim_result *a, const gs_sim_result *o) {
    return o && o->cost > 0 ? (double)a->cost / (double)o->cost : 0;
}

static double per_k(const gs_sim_result *a) {
    return a->served > 0 ? usd(a->cost) * 1000.0 / (double)a->served : 0;
}

int gs_report_targets(const gs_report *r, FILE *f) {
    const gs_sim_result *g = find(r, GS_POL_GPUSCALE), *o = find(r, GS_POL_ORACLE),
                        *st = find(r, GS_POL_STATIC), *kk = find(r, GS_POL_KK);
    int missed = 0;
    if (!g) return 0;
    if (o) {
        double x = ratio(g, o);
        bool ok = x <= 1.3;
        missed += !ok;
        fprintf(f, "  [%s] gpuscale costs %.2fx oracle (target <= 1.30x)\n", ok ? "met " : "MISS", x);
    }
    if (st && st->cost > 0) {
        double s = 1.0 - (double)g->cost / (double)st->cost;
        bool ok = s >= 0.5;
        missed += !ok;
        fprintf(f, "  [%s] gpuscale is %.0f%% cheaper than static-peak (target >= 50%%)\n", ok ? "met " : "MISS", s * 100);
    }
    if (kk && kk->cost > 0) {
        double s = 1.0 - (double)g->cost / (double)kk->cost;
        bool ok = s >= 0.25;
        missed += !ok;
        fprintf(f, "  [%s] gpuscale is %.0f%% cheaper than karpenter-keda (target >= 25%%)\n", ok ? "met " : "MISS", s * 100);
    }
    for (int32_t k = 0; k < g->nwl; k++) {
        const gs_sim_wlres *w = &g->wl[k];
        bool ok = w->p99 <= w->slo;
        missed += !ok;
        char a[32], b[32];
        fmt_ms(w->p99, a, sizeof a);
        fmt_ms(w->slo, b, sizeof b);
        const char *name = k < r->sc->nwl ? r->sc->wl[k].name : "jobs";
        fprintf(f, "  [%s] gpuscale p99 queue wait of %s is %s (SLO %s)\n", ok ? "met " : "MISS", name, a, b);
    }
    return missed;
}

void gs_report_text(const gs_report *r, FILE *f) {
    const gs_sim_result *o = find(r, GS_POL_ORACLE);
    fprintf(f, "\nscenario %s: %s\n", r->sc->name, r->sc->description);
    fprintf(f, "  %lld requests", (long long)r->in->nreq);
    if (r->in->njobs) fprintf(f, ", %lld GPU pods (%lld CPU-only pods not simulated)", (long long)r->in->njobs, (long long)r->in->cpu_only_jobs);
    char d[32];
    fmt_ms(r->sc->duration, d, sizeof d);
    fprintf(f, " over %s, seed %llu", d, (unsigned long long)r->sc->seed);
    if (r->in->bad_rows) fprintf(f, "; %lld bad trace rows skipped (first: %s)", (long long)r->in->bad_rows, r->in->msgs[0]);
    fprintf(f, "\n\n");
    fprintf(f, "%-19s %11s %9s %9s %9s %8s %8s %8s %9s %8s %6s %7s\n", "policy", "total $",
            "$/1k req", "GPU-h buy", "GPU-h use", "p50 wait", "p95 wait", "p99 wait", "SLO viol",
            "launched", "peak", "x oracle");
    for (int32_t i = 0; i < r->nres; i++) {
        const gs_sim_result *x = &r->res[i];
        char a[32], b[32], c[32];
        fmt_ms(x->p50, a, sizeof a);
        fmt_ms(x->p95, b, sizeof b);
        fmt_ms(x->p99, c, sizeof c);
        char launched[16] = "-", peak[16] = "-";
        if (x->pol != GS_POL_ORACLE) {
            snprintf(launched, sizeof launched, "%d", x->nodes_launched);
            snprintf(peak, sizeof peak, "%d", x->peak_nodes);
        }
        fprintf(f, "%-19s %11.2f %9.4f %9.1f %9.1f %8s %8s %8s %9lld %8s %6s %6.2fx\n",
                gs_policy_name(x->pol), usd(x->cost), per_k(x), x->gpu_h_bought, x->gpu_h_busy,
                a, b, c, (long long)x->slo_viol, launched, peak, ratio(x, o));
    }
    fprintf(f, "\nper workload (p99 queue wait / SLO, SLO violations, dropped):\n");
    for (int32_t i = 0; i < r->nres; i++) {
        const gs_sim_result *x = &r->res[i];
        fprintf(f, "  %-19s", gs_policy_name(x->pol));
        for (int32_t k = 0; k < x->nwl; k++) {
            char a[32], b[32];
            fmt_ms(x->wl[k].p99, a, sizeof a);
            fmt_ms(x->wl[k].slo, b, sizeof b);
            fprintf(f, "  %s %s/%s %lld viol %lld drop", k < r->sc->nwl ? r->sc->wl[k].name : "jobs", a, b,
                    (long long)x->wl[k].slo_viol, (long long)x->wl[k].dropped);
        }
        if (x->spot_interruptions) fprintf(f, "  spot-int %lld", (long long)x->spot_interruptions);
        if (x->mode_switches) fprintf(f, "  gpus-switched %lld", (long long)x->mode_switches);
        fprintf(f, "\n");
    }
    fprintf(f, "\nwhere the GPU-hours bought went (sampled every %llds; MIG instances by compute share):\n",
            (long long)(r->sc->sample_every / 1000));
    fprintf(f, "  %-19s %9s %9s %9s %9s %9s %9s\n", "policy", "booting", "MIG reconf", "starting", "idle rep.",
            "busy", "unheld");
    for (int32_t i = 0; i < r->nres; i++) {
        const gs_sim_result *x = &r->res[i];
        if (x->pol == GS_POL_ORACLE) continue;
        fprintf(f, "  %-19s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f\n", gs_policy_name(x->pol), x->gh_boot,
                x->gh_reconf, x->gh_start, x->gh_idle, x->gh_busy, x->gh_free);
    }
    fprintf(f, "\nspend per project (each node's bill to its pool's project):\n");
    for (int32_t i = 0; i < r->nres; i++) {
        const gs_sim_result *x = &r->res[i];
        if (x->pol == GS_POL_ORACLE) continue;
        fprintf(f, "  %-19s", gs_policy_name(x->pol));
        for (int32_t k = 0; k < x->nproj; k++) {
            char a[32];
            fprintf(f, "  %s %s", x->proj[k][0] ? x->proj[k] : "(none)", gs_fmt_usd(x->proj_cost[k], a, sizeof a));
        }
        if (r->sc->nbudgets)
            fprintf(f, "  | launch requests refused by budget %lld, scaleToMin %lld", (long long)x->blocked_launches,
                    (long long)x->budget_scale_to_min);
        fprintf(f, "\n");
    }
    if (r->sc->nbudgets) {
        fprintf(f, "budgets (enforced by gpuscale only; periods in each budget's timezone, t = 0 at startsAt):\n");
        for (int32_t b = 0; b < r->sc->nbudgets; b++) {
            const gs_budget *bu = &r->sc->budgets[b];
            char h[32], dd[32], m[32];
            fprintf(f, "  %s: project %s, %s, onExceeded %s, per hour %s, per day %s, per month %s, timezone %s\n", bu->name,
                    bu->project, bu->enforce == GS_ENFORCE_HARD ? "hard" : "soft",
                    gs_budget_action_name(bu->on_exceeded == GS_ON_EXCEEDED_BLOCK ? GS_BACT_BLOCK
                                          : bu->on_exceeded == GS_ON_EXCEEDED_SCALE_TO_MIN ? GS_BACT_SCALE_TO_MIN
                                                                                        : GS_BACT_ALERT),
                    bu->per_hour ? gs_fmt_usd(bu->per_hour, h, sizeof h) : "-",
                    bu->per_day ? gs_fmt_usd(bu->per_day, dd, sizeof dd) : "-",
                    bu->per_month ? gs_fmt_usd(bu->per_month, m, sizeof m) : "-", bu->timezone);
            for (int32_t i = 0; i < r->nres; i++) {
                const gs_sim_result *x = &r->res[i];
                if (x->pol == GS_POL_ORACLE) continue;
                fprintf(f, "    %-19s most spent in one", gs_policy_name(x->pol));
                for (int win = 0; win < GS_WIN__N; win++) {
                    gs_usd_u lim = win == GS_WIN_HOUR ? bu->per_hour : win == GS_WIN_DAY ? bu->per_day : bu->per_month;
                    if (!lim) continue;
                    fprintf(f, " %s: %s (%s)", gs_window_name((gs_window)win), gs_fmt_usd(x->budget_max[b][win], h, sizeof h),
                            x->budget_max[b][win] <= lim ? "within" : "OVER");
                }
                fprintf(f, "\n");
            }
        }
    }
    if (r->sc->nenvs) {
        fprintf(f, "\nenvironments (cost: the bills of the nodes launched for it; times since start):\n");
        for (int32_t e = 0; e < r->sc->nenvs; e++) {
            const gs_sim_env *se = &r->sc->envs[e];
            char st[32], ttl[32];
            fmt_at(se->start, st, sizeof st);
            fmt_ms(se->obj.ttl, ttl, sizeof ttl);
            fprintf(f, "  %s: project %s, pool %s, start %s, ttl %s, deleteWhen %s, %d x %s for ", se->obj.name,
                    se->obj.project, se->obj.pool, st, se->obj.ttl ? ttl : "-",
                    se->obj.delete_when == GS_DELETE_SUCCEEDED ? "succeeded"
                    : se->obj.delete_when == GS_DELETE_FINISHED ? "finished" : "never",
                    se->obj.workloads[0].replicas, se->mig_profile[0] ? se->mig_profile : "whole GPU");
            fmt_ms(se->obj.workloads[0].run_for, ttl, sizeof ttl);
            fprintf(f, "%s\n", ttl);
            for (int32_t i = 0; i < r->nres; i++) {
                const gs_sim_result *x = &r->res[i];
                if (e >= x->nenvs) continue;
                const gs_sim_envres *v = &x->env[e];
                char c[32], g[32], dl[32], u[32];
                fmt_at(v->created_at, c, sizeof c);
                fmt_at(v->workloads_gone_at, g, sizeof g);
                fmt_at(v->deleted_at, dl, sizeof dl);
                fprintf(f, "    %-19s created %s, pods deleted %s, deleted %s, why %s, pods succeeded %d deleted %d, nodes %d, cost %s\n",
                        gs_policy_name(x->pol), c, g, dl,
                        v->reason == GS_ENV_REASON_NONE ? (v->created_at == GS_SIM_NOT ? "not created" : "still active")
                                                        : gs_env_reason_name(v->reason),
                        v->pods_succeeded, v->pods_deleted, v->nodes, gs_fmt_usd(v->cost, u, sizeof u));
            }
        }
    }
    fprintf(f, "\ntargets (issue 4):\n");
    gs_report_targets(r, f);
}

int gs_report_json(const gs_report *r, const char *path, gs_error *err) {
    json_t *root = json_object();
    json_object_set_new(root, "scenario", json_string(r->sc->name));
    json_object_set_new(root, "seed", json_integer((json_int_t)r->sc->seed));
    json_object_set_new(root, "durationMs", json_integer(r->sc->duration));
    json_object_set_new(root, "requests", json_integer(r->in->nreq));
    json_object_set_new(root, "jobs", json_integer(r->in->njobs));
    json_object_set_new(root, "badRowsSkipped", json_integer(r->in->bad_rows));
    json_t *msgs = json_array();
    for (int32_t i = 0; i < r->in->nmsgs; i++) json_array_append_new(msgs, json_string(r->in->msgs[i]));
    json_object_set_new(root, "badRows", msgs);
    const gs_sim_result *o = find(r, GS_POL_ORACLE);
    json_t *pols = json_array();
    for (int32_t i = 0; i < r->nres; i++) {
        const gs_sim_result *x = &r->res[i];
        json_t *p = json_object();
        json_object_set_new(p, "policy", json_string(gs_policy_name(x->pol)));
        json_object_set_new(p, "costMicroUsd", json_integer(x->cost));
        json_object_set_new(p, "costUsd", json_real(usd(x->cost)));
        json_object_set_new(p, "usdPer1000Requests", json_real(per_k(x)));
        json_object_set_new(p, "gpuHoursBought", json_real(x->gpu_h_bought));
        json_object_set_new(p, "gpuHoursBusy", json_real(x->gpu_h_busy));
        if (x->pol != GS_POL_ORACLE) {
            /* where the bought GPU-hours went (sampled; sim.h) */
            json_t *gh = json_object();
            json_object_set_new(gh, "booting", json_real(x->gh_boot));
            json_object_set_new(gh, "migReconfiguration", json_real(x->gh_reconf));
            json_object_set_new(gh, "replicasStarting", json_real(x->gh_start));
            json_object_set_new(gh, "idleReplicas", json_real(x->gh_idle));
            json_object_set_new(gh, "busy", json_real(x->gh_busy));
            json_object_set_new(gh, "notHeld", json_real(x->gh_free));
            json_object_set_new(p, "gpuHoursBreakdown", gh);
            json_object_set_new(p, "repacks", json_integer(x->repacks));
        }
        json_object_set_new(p, "requests", json_integer(x->requests));
        json_object_set_new(p, "served", json_integer(x->served));
        json_object_set_new(p, "dropped", json_integer(x->dropped));
        json_object_set_new(p, "requeued", json_integer(x->requeued));
        json_object_set_new(p, "queueWaitP50Ms", json_integer(x->p50));
        json_object_set_new(p, "queueWaitP95Ms", json_integer(x->p95));
        json_object_set_new(p, "queueWaitP99Ms", json_integer(x->p99));
        json_object_set_new(p, "queueWaitMaxMs", json_integer(x->max_wait));
        json_object_set_new(p, "sloViolations", json_integer(x->slo_viol));
        json_object_set_new(p, "nodesLaunched", json_integer(x->nodes_launched));
        json_object_set_new(p, "peakNodes", json_integer(x->peak_nodes));
        json_object_set_new(p, "spotInterruptions", json_integer(x->spot_interruptions));
        json_object_set_new(p, "migReconfigurations", json_integer(x->mig_reconfigs));
        json_object_set_new(p, "modeSwitches", json_integer(x->mode_switches));
        json_object_set_new(p, "launchesBlockedByBudget", json_integer(x->blocked_launches));
        json_object_set_new(p, "budgetScaleToMin", json_integer(x->budget_scale_to_min));
        json_t *pj = json_object();
        for (int32_t k = 0; k < x->nproj; k++)
            json_object_set_new(pj, x->proj[k], json_integer((json_int_t)x->proj_cost[k]));
        json_object_set_new(p, "costMicroUsdByProject", pj);
        json_t *bm = json_array();
        for (int32_t b = 0; b < r->sc->nbudgets; b++)
            json_array_append_new(bm, json_pack("{s:s, s:I, s:I, s:I}", "budget", r->sc->budgets[b].name,
                                                "maxHourMicroUsd", (json_int_t)x->budget_max[b][GS_WIN_HOUR],
                                                "maxDayMicroUsd", (json_int_t)x->budget_max[b][GS_WIN_DAY],
                                                "maxMonthMicroUsd", (json_int_t)x->budget_max[b][GS_WIN_MONTH]));
        json_object_set_new(p, "budgetMaxSpent", bm);
        json_t *ev = json_array();
        for (int32_t e = 0; e < x->nenvs && e < r->sc->nenvs; e++) {
            const gs_sim_envres *v = &x->env[e];
            json_t *o3 = json_object();
            json_object_set_new(o3, "name", json_string(r->sc->envs[e].obj.name));
            json_object_set_new(o3, "project", json_string(r->sc->envs[e].obj.project));
            json_object_set_new(o3, "createdAtMs", v->created_at == GS_SIM_NOT ? json_null() : json_integer(v->created_at));
            json_object_set_new(o3, "podsDeletedAtMs", v->workloads_gone_at == GS_SIM_NOT ? json_null() : json_integer(v->workloads_gone_at));
            json_object_set_new(o3, "deletedAtMs", v->deleted_at == GS_SIM_NOT ? json_null() : json_integer(v->deleted_at));
            json_object_set_new(o3, "reason", v->reason == GS_ENV_REASON_NONE ? json_null() : json_string(gs_env_reason_name(v->reason)));
            json_object_set_new(o3, "podsSucceeded", json_integer(v->pods_succeeded));
            json_object_set_new(o3, "podsDeleted", json_integer(v->pods_deleted));
            json_object_set_new(o3, "nodesLaunched", json_integer(v->nodes));
            json_object_set_new(o3, "costMicroUsd", json_integer((json_int_t)v->cost));
            json_array_append_new(ev, o3);
        }
        json_object_set_new(p, "environments", ev);
        json_object_set_new(p, "ratioToOracle", json_real(ratio(x, o)));
        json_object_set_new(p, "events", json_integer(x->events));
        json_object_set_new(p, "wallSeconds", json_real(x->wall_s));
        json_t *wls = json_array();
        for (int32_t k = 0; k < x->nwl; k++) {
            const gs_sim_wlres *w = &x->wl[k];
            json_t *o2 = json_object();
            json_object_set_new(o2, "name", json_string(k < r->sc->nwl ? r->sc->wl[k].name : "jobs"));
            json_object_set_new(o2, "requests", json_integer(w->requests));
            json_object_set_new(o2, "served", json_integer(w->served));
            json_object_set_new(o2, "dropped", json_integer(w->dropped));
            json_object_set_new(o2, "sloMs", json_integer(w->slo));
            json_object_set_new(o2, "sloViolations", json_integer(w->slo_viol));
            json_object_set_new(o2, "queueWaitP50Ms", json_integer(w->p50));
            json_object_set_new(o2, "queueWaitP95Ms", json_integer(w->p95));
            json_object_set_new(o2, "queueWaitP99Ms", json_integer(w->p99));
            json_array_append_new(wls, o2);
        }
        json_object_set_new(p, "workloads", wls);
        json_t *ser = json_object();
        const char *names[4] = {"queue", "replicas", "nodes", "usdPerHour"};
        const float *arrs[4] = {x->series.queue, x->series.replicas, x->series.nodes, x->series.usd_h};
        json_object_set_new(ser, "stepMs", json_integer(x->series.step));
        for (int k = 0; k < 4; k++) {
            json_t *a = json_array();
            for (int32_t i2 = 0; i2 < x->series.n; i2++) json_array_append_new(a, json_real((double)arrs[k][i2]));
            json_object_set_new(ser, names[k], a);
        }
        json_object_set_new(p, "series", ser);
        json_array_append_new(pols, p);
    }
    json_object_set_new(root, "policies", pols);
    int rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_REAL_PRECISION(8));
    json_decref(root);
    if (rc) return gs_error_set(err, GS_EIO, "%s: cannot write: %s", path, strerror(errno));
    return 0;
}

/* ---------------------------------------------------------------- HTML */

static const char *const COLORS[GS_POL__N] = {"#9e9e9e", "#e67e22", "#2980b9", "#27ae60", "#8e44ad"};

static void esc(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static double nice_max(double v) {
    if (v <= 0) return 1;
    double p = pow(10, floor(log10(v)));
    double m = v / p;
    double n = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
    return n * p;
}

static void chart(FILE *f, const gs_report *r, int which, const char *title, const char *unit) {
    const double W = 900, H = 240, L = 60, R = 20, T = 30, B = 36;
    double ymax = 0;
    int32_t n = 0;
    gs_ms step = 60000;
    for (int32_t i = 0; i < r->nres; i++) {
        const gs_sim_series *s = &r->res[i].series;
        const float *v = which == 0 ? s->queue : which == 1 ? s->replicas : which == 2 ? s->nodes : s->usd_h;
        if (which == 0 && r->res[i].pol == GS_POL_ORACLE) continue;
        for (int32_t k = 0; k < s->n; k++)
            if ((double)v[k] > ymax) ymax = (double)v[k];
        if (s->n > n) n = s->n;
        step = s->step;
    }
    ymax = nice_max(ymax * 1.05);
    double hours = (double)n * (double)step / 3600000.0;
    fprintf(f, "<figure><svg viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" role=\"img\" aria-label=\"", W, H);
    esc(f, title);
    fprintf(f, "\">\n<text x=\"%.0f\" y=\"18\" class=\"t\">", L);
    esc(f, title);
    fprintf(f, "</text>\n");
    for (int k = 0; k <= 4; k++) {
        double y = T + (H - T - B) * (1 - k / 4.0);
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" class=\"g\"/>", L, y, W - R, y);
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" class=\"a\" text-anchor=\"end\">%g</text>\n", L - 6, y + 4, ymax * k / 4.0);
    }
    int xt = hours > 48 ? 24 : hours > 12 ? 3 : 1;
    if (hours <= 0) hours = 1;
    for (int hh = 0; hh <= (int)hours; hh += xt) {
        double x = L + (W - L - R) * hh / hours;
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" class=\"a\" text-anchor=\"middle\">%dh</text>", x, H - B + 16, hh);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"a\" text-anchor=\"end\">", W - R, H - 4);
    esc(f, unit);
    fprintf(f, "</text>\n");
    for (int32_t i = 0; i < r->nres; i++) {
        const gs_sim_result *x = &r->res[i];
        if (which == 0 && x->pol == GS_POL_ORACLE) continue;
        const gs_sim_series *s = &x->series;
        const float *v = which == 0 ? s->queue : which == 1 ? s->replicas : which == 2 ? s->nodes : s->usd_h;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" points=\"", COLORS[x->pol]);
        int32_t stride = s->n > 1500 ? s->n / 1500 + 1 : 1;
        for (int32_t k = 0; k < s->n; k += stride) {
            double px = L + (W - L - R) * ((double)k / (double)(n > 1 ? n : 1));
            double py = T + (H - T - B) * (1 - (double)v[k] / ymax);
            fprintf(f, "%.1f,%.1f ", px, py);
        }
        fprintf(f, "\"><title>%s</title></polyline>\n", gs_policy_name(x->pol));
    }
    double lx = L + 10;
    for (int32_t i = 0; i < r->nres; i++) {
        if (which == 0 && r->res[i].pol == GS_POL_ORACLE) continue;
        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\" class=\"a\">%s</text>",
                lx + 250, T - 2.0 - 10 + 0.0, COLORS[r->res[i].pol], lx + 264, T - 2.0, gs_policy_name(r->res[i].pol));
        lx += 130;
    }
    fprintf(f, "</svg></figure>\n");
}

int gs_report_html(const gs_report *r, const char *path, gs_error *err) {
    FILE *f = fopen(path, "w");
    if (!f) return gs_error_set(err, GS_EIO, "%s: cannot write: %s", path, strerror(errno));
    const gs_sim_result *o = find(r, GS_POL_ORACLE);
    fprintf(f, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>gpuscale simulate: ");
    esc(f, r->sc->name);
    fprintf(f, "</title>\n<style>\nbody{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:980px;color:#222;padding:0 12px}\n"
               "h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px}\n"
               "table{border-collapse:collapse;width:100%%;font-variant-numeric:tabular-nums}th,td{padding:5px 7px;border-bottom:1px solid #e3e3e3;text-align:right}\n"
               "th:first-child,td:first-child{text-align:left}th{background:#f6f7f9;font-weight:600}\n"
               "tr.best td{background:#eefaf1}.sw{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}\n"
               "svg .g{stroke:#eee}svg .a{font-size:11px;fill:#666}svg .t{font-size:13px;font-weight:600;fill:#333}\n"
               "figure{margin:8px 0 18px}.note{color:#555;font-size:13px}.met{color:#1e8449}.miss{color:#c0392b;font-weight:600}\n"
               "</style></head><body>\n");
    fprintf(f, "<h1>gpuscale simulate — ");
    esc(f, r->sc->name);
    fprintf(f, "</h1>\n<p class=\"note\">");
    esc(f, r->sc->description);
    char d[32];
    fmt_ms(r->sc->duration, d, sizeof d);
    fprintf(f, "<br>%lld requests", (long long)r->in->nreq);
    if (r->in->njobs) fprintf(f, ", %lld GPU pods", (long long)r->in->njobs);
    fprintf(f, " over %s, seed %llu. Same trace, same cloud prices and boot times for every policy.", d, (unsigned long long)r->sc->seed);
    if (r->in->bad_rows) fprintf(f, " %lld bad trace rows skipped.", (long long)r->in->bad_rows);
    fprintf(f, "</p>\n<h2>Cost and latency per policy</h2>\n<table><tr><th>policy</th><th>total $</th><th>$ / 1k req</th><th>GPU-h bought</th><th>GPU-h busy</th>"
               "<th>p50 wait</th><th>p95 wait</th><th>p99 wait</th><th>SLO violations</th><th>nodes launched</th><th>peak nodes</th><th>× oracle</th></tr>\n");
    for (int32_t i = 0; i < r->nres; i++) {
        const gs_sim_result *x = &r->res[i];
        char a[32], b[32], c[32];
        fmt_ms(x->p50, a, sizeof a);
        fmt_ms(x->p95, b, sizeof b);
        fmt_ms(x->p99, c, sizeof c);
        fprintf(f, "<tr%s><td><span class=\"sw\" style=\"background:%s\"></span>%s</td><td>%.2f</td><td>%.4f</td><td>%.1f</td><td>%.1f</td><td>%s</td><td>%s</td><td>%s</td><td>%lld</td>",
                x->pol == GS_POL_GPUSCALE ? " class=\"best\"" : "", COLORS[x->pol], gs_policy_name(x->pol), usd(x->cost), per_k(x),
                x->gpu_h_bought, x->gpu_h_busy, a, b, c, (long long)x->slo_viol);
        if (x->pol == GS_POL_ORACLE) fprintf(f, "<td>—</td><td>—</td>");
        else fprintf(f, "<td>%d</td><td>%d</td>", x->nodes_launched, x->peak_nodes);
        fprintf(f, "<td>%.2f×</td></tr>\n", ratio(x, o));
    }
    fprintf(f, "</table>\n<h2>Where the GPU-hours bought went</h2>\n<p>Sampled every %llds; a MIG instance counts its compute slices / 7.</p>\n"
               "<table><tr><th>policy</th><th>booting</th><th>MIG reconfiguration</th><th>replicas starting</th>"
               "<th>idle replicas</th><th>busy</th><th>not held by a pod</th></tr>\n",
            (long long)(r->sc->sample_every / 1000));
    for (int32_t i = 0; i < r->nres; i++) {
        const gs_sim_result *x = &r->res[i];
        if (x->pol == GS_POL_ORACLE) continue;
        fprintf(f, "<tr><td><span class=\"sw\" style=\"background:%s\"></span>%s</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td></tr>\n",
                COLORS[x->pol], gs_policy_name(x->pol), x->gh_boot, x->gh_reconf, x->gh_start, x->gh_idle, x->gh_busy, x->gh_free);
    }
    fprintf(f, "</table>\n<h2>Targets</h2>\n<pre>");
    /* reuse the text writer through a memory stream */
    char *buf = NULL;
    size_t blen = 0;
    FILE *m = open_memstream(&buf, &blen);
    if (m) {
        gs_report_targets(r, m);
        fclose(m);
        esc(f, buf ? buf : "");
        free(buf);
    }
    fprintf(f, "</pre>\n<h2>Over time</h2>\n");
    chart(f, r, 0, "Queue depth (requests waiting)", "hours since start");
    chart(f, r, 1, "Ready replicas (oracle: requests in service)", "hours since start");
    chart(f, r, 2, "Nodes running", "hours since start");
    chart(f, r, 3, "Spend rate ($ per hour)", "hours since start");
    fprintf(f, "<h2>Per workload</h2>\n<table><tr><th>policy</th><th>workload</th><th>requests</th><th>served</th><th>dropped</th><th>p50</th><th>p95</th><th>p99</th><th>SLO</th><th>violations</th></tr>\n");
    for (int32_t i = 0; i < r->nres; i++) {
        const gs_sim_result *x = &r->res[i];
        for (int32_t k = 0; k < x->nwl; k++) {
            const gs_sim_wlres *w = &x->wl[k];
            char a[32], b[32], c[32], s[32];
            fmt_ms(w->p50, a, sizeof a);
            fmt_ms(w->p95, b, sizeof b);
            fmt_ms(w->p99, c, sizeof c);
            fmt_ms(w->slo, s, sizeof s);
            fprintf(f, "<tr><td>%s</td><td>", gs_policy_name(x->pol));
            esc(f, k < r->sc->nwl ? r->sc->wl[k].name : "jobs");
            fprintf(f, "</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%lld</td></tr>\n",
                    (long long)w->requests, (long long)w->served, (long long)w->dropped, a, b, c, s, (long long)w->slo_viol);
        }
    }
    fprintf(f, "</table>\n");
    if (r->sc->nenvs) {
        fprintf(f, "<h2>Environments</h2>\n<table><tr><th>policy</th><th>environment</th><th>created</th><th>pods deleted</th><th>deleted</th><th>why</th><th>nodes</th><th>cost $</th></tr>\n");
        for (int32_t i = 0; i < r->nres; i++) {
            const gs_sim_result *x = &r->res[i];
            for (int32_t e = 0; e < x->nenvs && e < r->sc->nenvs; e++) {
                const gs_sim_envres *v = &x->env[e];
                char c[32], g[32], dl[32];
                fmt_at(v->created_at, c, sizeof c);
                fmt_at(v->workloads_gone_at, g, sizeof g);
                fmt_at(v->deleted_at, dl, sizeof dl);
                fprintf(f, "<tr><td>%s</td><td>", gs_policy_name(x->pol));
                esc(f, r->sc->envs[e].obj.name);
                fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%.2f</td></tr>\n", c, g, dl,
                        v->reason == GS_ENV_REASON_NONE ? "-" : gs_env_reason_name(v->reason), v->nodes, usd(v->cost));
            }
        }
        fprintf(f, "</table>\n");
    }
    fprintf(f, "<p class=\"note\">Policies: static-peak (whole-GPU nodes sized for the peak, always on); cluster-autoscaler "
               "(HPA on GPU utilization, one node group type, scale-down after 10 min unneeded); karpenter-keda (KEDA 30 s polling, "
               "300 s cooldown, HPA defaults; Karpenter cheapest-type just-in-time launch, consolidateAfter 0, whole GPUs); gpuscale "
               "(policy/reconcile: 1 s queue-driven scaler, MIG packing, instant consolidation); oracle (perfect foresight, zero boot, "
               "exactly the needed partitions billed per second: a lower bound). World model and every default: docs/simulate.md. "
               "Request sizes: Azure LLM inference trace 2023 (CC-BY 4.0; Patel et al., Splitwise, ISCA 2024).</p>\n</body></html>\n");
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) return gs_error_set(err, GS_EIO, "%s: write failed", path);
    return 0;
}
