#include "cli/costgov.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/tzperiod.h"

static int add_rate(gs_costgov_rate *rates, int32_t max, int32_t *n, const char *project, gs_usd_u v) {
    for (int32_t i = 0; i < *n; i++)
        if (strcmp(rates[i].project, project) == 0) {
            rates[i].per_hour += v;
            return 0;
        }
    if (*n >= max) return GS_ETOOBIG;
    snprintf(rates[*n].project, sizeof rates[*n].project, "%s", project);
    rates[*n].per_hour = v;
    (*n)++;
    return 0;
}

int gs_costgov_meter(const gs_snapshot *s, const gs_catalog *cat, const gs_config *cfg, gs_ms t0,
                     gs_ms t1, gs_ledger *l, gs_costgov_tracker *tr, gs_costgov_rate *rates,
                     int32_t max, int32_t *nrates, gs_error *err) {
    if (nrates) *nrates = 0;
    gs_meter_node *m = malloc(sizeof *m);
    int32_t cap = 64, n = 0;
    gs_spend *rows = malloc((size_t)cap * sizeof *rows);
    /* pods grouped by node (counting sort): start[i]..start[i+1] in byNode */
    int32_t *start = calloc((size_t)s->nnodes + 2, sizeof *start);
    int32_t *by_node = malloc(((size_t)s->npods + 1) * sizeof *by_node);
    int rc = 0;
    if (!m || !rows || !start || !by_node) {
        rc = gs_error_set(err, GS_ENOMEM, "meter: out of memory");
        goto out;
    }
    for (int32_t i = 0; i < s->npods; i++)
        if (s->pods[i].node >= 0 && s->pods[i].node < s->nnodes) start[s->pods[i].node + 2]++;
    for (int32_t i = 0; i < s->nnodes; i++) start[i + 2] += start[i + 1];
    for (int32_t i = 0; i < s->npods; i++)
        if (s->pods[i].node >= 0 && s->pods[i].node < s->nnodes) by_node[start[s->pods[i].node + 1]++] = i;
    for (int32_t i = 0; i < s->nnodes && !rc; i++) {
        const gs_node *nd = &s->nodes[i];
        if (nd->created_at >= t1) continue;
        gs_ms from = t0 > nd->created_at ? t0 : nd->created_at;
        if ((rc = gs_meter_node_split_idx(s, cat, i, by_node + start[i], start[i + 1] - start[i], from, t1, m,
                                          err)))
            break;
        for (int32_t k = 0; k < m->nparts; k++) {
            const gs_meter_part *p = &m->parts[k];
            if (rates && strcmp(p->project, GS_METER_IDLE) != 0 && p->weight > 0) {
                gs_usd_u r;
                if (gs_muldiv64(m->price_per_hour, p->weight, m->denom, &r) ||
                    add_rate(rates, max, nrates, p->project, r)) {
                    rc = gs_error_set(err, GS_ETOOBIG, "meter: too many projects (max %d)", (int)max);
                    break;
                }
            }
            if (p->usd == 0) continue;
            if (n == cap) {
                gs_spend *q = realloc(rows, (size_t)cap * 2 * sizeof *rows);
                if (!q) {
                    rc = gs_error_set(err, GS_ENOMEM, "meter: out of memory");
                    break;
                }
                rows = q;
                cap *= 2;
            }
            gs_spend *r = &rows[n++];
            memset(r, 0, sizeof *r);
            snprintf(r->project, sizeof r->project, "%s", p->project);
            snprintf(r->workload, sizeof r->workload, "%s", p->workload);
            if (cfg && nd->pool >= 0 && nd->pool < cfg->npools)
                snprintf(r->pool, sizeof r->pool, "%s", cfg->pools[nd->pool].name);
            snprintf(r->node, sizeof r->node, "%s", nd->name);
            snprintf(r->itype, sizeof r->itype, "%s", cat->types[nd->itype].name);
            r->capacity = nd->capacity;
            r->start = from;
            r->end = t1;
            r->usd = p->usd;
        }
    }
    if (!rc && n > 0) rc = gs_ledger_append(l, rows, n, NULL, err);
    if (!rc && tr) gs_costgov_tracker_add(tr, rows, n);
out:
    free(m);
    free(rows);
    free(start);
    free(by_node);
    return rc;
}

int gs_costgov_budget_states(gs_ledger *l, const gs_budget *budgets, int32_t n, gs_ms now,
                             const gs_costgov_rate *rates, int32_t nrates,
                             gs_budget_state *states, gs_error *err) {
    for (int32_t i = 0; i < n; i++) {
        gs_budget_state *st = &states[i];
        memset(st, 0, sizeof *st);
        st->budget = &budgets[i];
        int rc = gs_tz_periods(budgets[i].timezone, now, &st->periods, err);
        if (rc) return rc;
        for (int w = 0; w < GS_WIN__N; w++)
            if ((rc = gs_ledger_sum(l, budgets[i].project, st->periods.start[w], now, &st->spent[w], err)))
                return rc;
        if (rates) {
            for (int32_t k = 0; k < nrates; k++)
                if (strcmp(rates[k].project, budgets[i].project) == 0) st->rate_per_hour = rates[k].per_hour;
        } else if ((rc = gs_ledger_rate(l, budgets[i].project, now, &st->rate_per_hour, err))) {
            return rc;
        }
    }
    return 0;
}

int gs_costgov_alerts(gs_ledger *l, const gs_budget_state *states, const gs_budget_action *acts,
                      int32_t nacts, gs_ms now, gs_error *err) {
    int sent = 0;
    for (int32_t i = 0; i < nacts; i++) {
        const gs_budget_action *a = &acts[i];
        const gs_budget *b = states[a->budget].budget;
        char key[GS_NAME_LEN + 16];
        snprintf(key, sizeof key, "%s", b->name);
        /* enforcement actions are deduplicated apart from the thresholds */
        int32_t pct = a->kind == GS_BACT_ALERT ? a->pct : -1 - (int32_t)a->kind;
        int once = gs_ledger_alert_once(l, key, gs_window_name(a->window), a->period_start, pct, now, err);
        if (once < 0) return once;
        if (once == 0) continue;
        gs_alert al;
        memset(&al, 0, sizeof al);
        snprintf(al.budget, sizeof al.budget, "%s", b->name);
        snprintf(al.project, sizeof al.project, "%s", b->project);
        snprintf(al.window, sizeof al.window, "%s", gs_window_name(a->window));
        snprintf(al.action, sizeof al.action, "%s", gs_budget_action_name(a->kind));
        al.pct = a->pct;
        al.spent = states[a->budget].spent[a->window];
        al.limit = a->window == GS_WIN_HOUR ? b->per_hour : a->window == GS_WIN_DAY ? b->per_day : b->per_month;
        al.period_start = a->period_start;
        al.at = now;
        snprintf(al.message, sizeof al.message, "%s", a->msg);
        gs_webhook_opts o = {b->webhook_retries, 500, 5000};
        gs_error werr;
        (void)gs_alert_emit(&al, b->webhook_url, &o, &werr);
        sent++;
    }
    return sent;
}

/* ---- tracker ---- */

static int window_from_ledger(gs_ledger *l, gs_budget_state *st, int w, gs_ms now, gs_error *err) {
    return gs_ledger_sum(l, st->budget->project, st->periods.start[w], now, &st->spent[w], err);
}

int gs_costgov_tracker_init(gs_costgov_tracker *tr, gs_ledger *l, const gs_budget *budgets,
                            int32_t n, gs_ms now, gs_error *err) {
    memset(tr, 0, sizeof *tr);
    tr->states = calloc((size_t)(n > 0 ? n : 1), sizeof *tr->states);
    if (!tr->states) return gs_error_set(err, GS_ENOMEM, "budget tracker: out of memory");
    tr->budgets = budgets;
    tr->n = n;
    int rc = gs_costgov_budget_states(l, budgets, n, now, NULL, 0, tr->states, err);
    if (rc) gs_costgov_tracker_free(tr);
    return rc;
}

void gs_costgov_tracker_free(gs_costgov_tracker *tr) {
    free(tr->states);
    memset(tr, 0, sizeof *tr);
}

void gs_costgov_tracker_add(gs_costgov_tracker *tr, const gs_spend *rows, int32_t n) {
    for (int32_t i = 0; i < tr->n; i++) {
        gs_budget_state *st = &tr->states[i];
        for (int32_t k = 0; k < n; k++) {
            const gs_spend *r = &rows[k];
            if (strcmp(r->project, st->budget->project) != 0) continue;
            for (int w = 0; w < GS_WIN__N; w++) {
                gs_ms a = r->start > st->periods.start[w] ? r->start : st->periods.start[w];
                gs_ms b = r->end < st->periods.end[w] ? r->end : st->periods.end[w];
                gs_usd_u part = 0;
                if (r->end == r->start) {
                    if (r->start >= st->periods.start[w] && r->start < st->periods.end[w]) part = r->usd;
                } else if (b > a && gs_muldiv64(r->usd, b - a, r->end - r->start, &part)) {
                    part = 0;
                }
                st->spent[w] += part;
            }
        }
    }
}

int gs_costgov_tracker_advance(gs_costgov_tracker *tr, gs_ledger *l, gs_ms now,
                               const gs_costgov_rate *rates, int32_t nrates, gs_error *err) {
    for (int32_t i = 0; i < tr->n; i++) {
        gs_budget_state *st = &tr->states[i];
        bool rolled = false;
        for (int w = 0; w < GS_WIN__N; w++)
            if (now >= st->periods.end[w] || now < st->periods.start[w]) rolled = true;
        if (rolled) {
            gs_periods p;
            int rc = gs_tz_periods(st->budget->timezone, now, &p, err);
            if (rc) return rc;
            for (int w = 0; w < GS_WIN__N; w++) {
                if (p.start[w] == st->periods.start[w] && p.end[w] == st->periods.end[w]) continue;
                st->periods.start[w] = p.start[w];
                st->periods.end[w] = p.end[w];
                if ((rc = window_from_ledger(l, st, w, now, err))) return rc;
            }
        }
        if (rates) {
            st->rate_per_hour = 0;
            for (int32_t k = 0; k < nrates; k++)
                if (strcmp(rates[k].project, st->budget->project) == 0) st->rate_per_hour = rates[k].per_hour;
        }
    }
    return 0;
}
