/* gpuscale plan: reads pools (--config) and a cluster snapshot (--state), runs the packer once
 * and prints the plan: where each pending pod goes, the node claims to launch with their
 * instance-type candidates and per-GPU layouts, repartitions of idle GPUs, pods that cannot be
 * placed and why, and the $/hour before and after. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/catalog_load.h"
#include "io/config/config.h"
#include "io/state.h"
#include "model/gpu.h"
#include "policy/pack.h"


#define MAX_CONFIGS 64

static void help(void) {
    printf("usage: gpuscale plan --config FILE... --state FILE [--json] [--data DIR] [--max-candidates N]\n\n"
           "Plans pending pods onto GPU partitions and nodes at the lowest $/hour: for each pending pod\n"
           "of the snapshot, a free MIG instance or room on an existing node, an idle GPU of an existing\n"
           "node repartitioned (MIG layout, or switched to its pool's time-slicing or fractional mode),\n"
           "or a new node claim (pools tried by weight, then price; instance types by\n"
           "price per used GPU, spot and on-demand). Prints placements, claims with their instance-type\n"
           "candidates and per-GPU MIG layout / time-slicing replicas, repartitions, pods that cannot be\n"
           "placed with the reason, and the $/hour before and after. Nothing is applied.\n"
           "Fractional (milli-GPU) pods go to the existing node and GPU chosen by gpuscale's FGD policy\n"
           "(fragmentation-aware, with a one-step lookahead) against the snapshot's fractional pod\n"
           "shapes (docs/packing.md).\n\n"
           "options:\n"
           "  --config FILE        GPUPool configuration (YAML; repeatable, or several files after it)\n"
           "  --state FILE         cluster snapshot, JSON or YAML (format: docs/packing.md)\n"
           "  --json               print the plan as JSON\n"
           "  --data DIR           instance catalog directory (default: bundled data/)\n"
           "  --max-candidates N   instance types per claim (default 60, like Karpenter)\n"
           "  -h, --help           this help\n\n"

           "exit status: 0 plan printed (even with unschedulable pods), 1 bad input, 2 usage error\n");
}

static const char *mode_name(gs_gpu_mode m) {
    switch (m) {
    case GS_GPUMODE_WHOLE: return "whole";
    case GS_GPUMODE_MIG: return "mig";
    case GS_GPUMODE_TIMESLICED: return "timeSlicing";
    case GS_GPUMODE_FRACTIONAL: return "fractional";
    }
    return "?";
}

static void layout_str(const gs_gpu_model *m, const gs_partition *parts, int n, char *buf, size_t size) {
    size_t l = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && l + 1 < size; i++) {
        int w = snprintf(buf + l, size - l, "%s%s@%d%s", i ? " " : "", m ? m->profiles[parts[i].profile].name : "?",
                         parts[i].start, parts[i].used ? "*" : "");
        if (w < 0) break;
        l += (size_t)w;
    }
    if (n == 0) snprintf(buf, size, "(empty)");
}

static void gpu_str(const gs_gpu_model *m, const gs_gpu_state *g, char *buf, size_t size) {
    char lay[200];
    switch (g->mode) {
    case GS_GPUMODE_WHOLE: snprintf(buf, size, "whole%s", g->whole_used ? "*" : ""); break;
    case GS_GPUMODE_MIG:
        layout_str(m, g->parts, g->nparts, lay, sizeof lay);
        snprintf(buf, size, "[%s]", lay);
        break;
    case GS_GPUMODE_TIMESLICED: snprintf(buf, size, "ts %d/%d", g->ts_used, g->ts_replicas); break;
    case GS_GPUMODE_FRACTIONAL: snprintf(buf, size, "milli %d/1000", g->milli_used); break;
    }
}

static void req_str(const gs_pod_spec *s, char *buf, size_t size) {
    switch (s->gpu.form) {
    case GS_GPU_NONE: snprintf(buf, size, "cpu only"); break;
    case GS_GPU_WHOLE: snprintf(buf, size, "gpu x%d", s->gpu.count); break;
    case GS_GPU_MIG: snprintf(buf, size, "mig-%s", s->gpu.mig_profile); break;
    case GS_GPU_SHARED: snprintf(buf, size, "gpu.shared x%d", s->gpu.count); break;
    case GS_GPU_FRACTION: snprintf(buf, size, "gpu-milli %d", s->gpu.milli); break;
    }
}

static json_t *gpu_json(const gs_gpu_model *m, const gs_gpu_state *g) {
    json_t *o = json_object();
    json_object_set_new(o, "mode", json_string(mode_name(g->mode)));
    switch (g->mode) {
    case GS_GPUMODE_WHOLE: json_object_set_new(o, "used", json_boolean(g->whole_used)); break;
    case GS_GPUMODE_MIG: {
        json_t *a = json_array();
        for (int i = 0; i < g->nparts; i++) {
            json_t *p = json_object();
            json_object_set_new(p, "profile", json_string(m ? m->profiles[g->parts[i].profile].name : "?"));
            json_object_set_new(p, "start", json_integer(g->parts[i].start));
            json_object_set_new(p, "used", json_boolean(g->parts[i].used));
            json_array_append_new(a, p);
        }
        json_object_set_new(o, "partitions", a);
        break;
    }
    case GS_GPUMODE_TIMESLICED:
        json_object_set_new(o, "replicas", json_integer(g->ts_replicas));
        json_object_set_new(o, "used", json_integer(g->ts_used));
        break;
    case GS_GPUMODE_FRACTIONAL: json_object_set_new(o, "milli", json_integer(g->milli_used)); break;
    }
    return o;
}

static json_t *layout_json(const gs_gpu_model *m, const gs_mig_layout *l) {
    json_t *a = json_array();
    for (int i = 0; i < l->n; i++) {
        json_t *p = json_object();
        json_object_set_new(p, "profile", json_string(m ? m->profiles[l->parts[i].profile].name : "?"));
        json_object_set_new(p, "start", json_integer(l->parts[i].start));
        json_object_set_new(p, "used", json_boolean(l->parts[i].used));
        json_array_append_new(a, p);
    }
    return a;
}

static const char *usd(gs_usd_u v, char *buf, size_t n) { return gs_fmt_usd(v, buf, n); }

static void print_json(const gs_state *st, const gs_pool *pools, const gs_catalog *cat, const gs_plan *pl) {
    const gs_snapshot *s = &st->snap;
    char b[64];
    json_t *root = json_object();
    json_object_set_new(root, "usdPerHourBefore", json_string(usd(pl->usd_before, b, sizeof b)));
    json_object_set_new(root, "usdPerHourAfter", json_string(usd(pl->usd_after, b, sizeof b)));
    json_t *pa = json_array();
    for (int32_t i = 0; i < pl->nplace; i++) {
        const gs_placement *x = &pl->place[i];
        const gs_pod *pd = &s->pods[x->pod];
        json_t *o = json_object();
        json_object_set_new(o, "pod", json_string(pd->name));
        json_object_set_new(o, "namespace", json_string(pd->ns));
        char r[64];
        req_str(&pd->spec, r, sizeof r);
        json_object_set_new(o, "request", json_string(r));
        json_object_set_new(o, "placement", json_string(x->kind == GS_PLACE_EXISTING ? "existing"
                                                        : x->kind == GS_PLACE_CLAIM   ? "claim"
                                                                                      : "unschedulable"));
        if (x->kind == GS_PLACE_EXISTING) json_object_set_new(o, "node", json_string(s->nodes[x->target].name));
        if (x->kind == GS_PLACE_CLAIM) json_object_set_new(o, "claim", json_integer(x->target));
        if (x->gpu >= 0) {
            json_object_set_new(o, "gpu", json_integer(x->gpu));
            json_object_set_new(o, "gpus", json_integer(x->ngpus));
        }
        if (x->part >= 0) {
            const gs_gpu_state *g = x->kind == GS_PLACE_CLAIM ? &pl->claims[x->target].gpus[x->gpu] : NULL;
            const gs_gpu_model *m = NULL;
            if (x->kind == GS_PLACE_CLAIM) m = gs_gpu_get(pl->claims[x->target].gpu_model);
            else m = gs_gpu_get(cat->types[s->nodes[x->target].itype].gpu_model);
            gs_partition pt = {0, 0, false};
            if (g) pt = g->parts[x->part];
            else {
                /* existing node: the layout after the plan (repartition or unchanged) */
                const gs_gpu_state *ng = &s->nodes[x->target].gpus[x->gpu];
                bool found = false;
                for (int32_t r2 = 0; r2 < pl->nreparts && !found; r2++)
                    if (pl->reparts[r2].node == x->target && pl->reparts[r2].gpu == x->gpu) {
                        pt = pl->reparts[r2].after.parts[x->part];
                        found = true;
                    }
                if (!found) pt = ng->parts[x->part];
            }
            json_t *po = json_object();
            json_object_set_new(po, "index", json_integer(x->part));
            json_object_set_new(po, "profile", json_string(m ? m->profiles[pt.profile].name : "?"));
            json_object_set_new(po, "start", json_integer(pt.start));
            json_object_set_new(o, "partition", po);
        }
        json_array_append_new(pa, o);
    }
    json_object_set_new(root, "placements", pa);
    json_t *ca = json_array();
    for (int32_t i = 0; i < pl->nclaims; i++) {
        const gs_claim *c = &pl->claims[i];
        const gs_gpu_model *m = gs_gpu_get(c->gpu_model);
        json_t *o = json_object();
        json_object_set_new(o, "index", json_integer(i));
        json_object_set_new(o, "pool", json_string(pools[c->pool].name));
        json_object_set_new(o, "instanceType", json_string(cat->types[c->itype].name));
        json_object_set_new(o, "capacityType", json_string(gs_capacity_name(c->capacity)));
        json_object_set_new(o, "usdPerHour", json_string(usd(c->price, b, sizeof b)));
        if (c->zone[0]) json_object_set_new(o, "zone", json_string(c->zone));
        json_object_set_new(o, "project", json_string(c->project));
        json_object_set_new(o, "pods", json_integer(c->pods));
        json_t *g = json_array();
        for (int k = 0; k < c->ngpus_used; k++) json_array_append_new(g, gpu_json(m, &c->gpus[k]));
        json_object_set_new(o, "gpus", g);
        json_t *cd = json_array();
        for (int32_t k = 0; k < c->ncand; k++) {
            const gs_pack_cand *x = &pl->cands[c->cand_off + k];
            json_t *co = json_object();
            json_object_set_new(co, "instanceType", json_string(cat->types[x->itype].name));
            json_object_set_new(co, "capacityType", json_string(gs_capacity_name(x->capacity)));
            json_object_set_new(co, "usdPerHour", json_string(usd(x->price, b, sizeof b)));
            json_array_append_new(cd, co);
        }
        json_object_set_new(o, "candidates", cd);
        json_array_append_new(ca, o);
    }
    json_object_set_new(root, "claims", ca);
    json_t *ra = json_array();
    for (int32_t i = 0; i < pl->nreparts; i++) {
        const gs_repartition *r = &pl->reparts[i];
        const gs_gpu_model *m = gs_gpu_get(cat->types[s->nodes[r->node].itype].gpu_model);
        json_t *o = json_object();
        json_object_set_new(o, "node", json_string(s->nodes[r->node].name));
        json_object_set_new(o, "gpu", json_integer(r->gpu));
        json_object_set_new(o, "modeBefore", json_string(mode_name(r->mode_before)));
        json_object_set_new(o, "modeAfter", json_string(mode_name(r->mode_after)));
        if (r->mode_after == GS_GPUMODE_MIG) {
            json_object_set_new(o, "before", layout_json(m, &r->before));
            json_object_set_new(o, "after", layout_json(m, &r->after));
        } else if (r->mode_after == GS_GPUMODE_TIMESLICED) {
            json_object_set_new(o, "replicas", json_integer(r->ts_replicas));
        }
        json_array_append_new(ra, o);
    }
    json_object_set_new(root, "repartitions", ra);
    json_t *ua = json_array();
    for (int32_t i = 0; i < pl->nunsched; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "pod", json_string(s->pods[pl->unsched[i].pod].name));
        json_object_set_new(o, "namespace", json_string(s->pods[pl->unsched[i].pod].ns));
        json_object_set_new(o, "reason", json_string(pl->unsched[i].reason));
        json_array_append_new(ua, o);
    }
    json_object_set_new(root, "unschedulable", ua);
    char *out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (out) printf("%s\n", out);
    free(out);
    json_decref(root);
}

static void print_table(const gs_state *st, const gs_pool *pools, const gs_catalog *cat, const gs_plan *pl) {
    const gs_snapshot *s = &st->snap;
    char b1[64], b2[64], b3[64];
    printf("$/hour before: %s   after: %s   (+%s for %d new node%s)\n", usd(pl->usd_before, b1, sizeof b1),
           usd(pl->usd_after, b2, sizeof b2), usd(pl->usd_after - pl->usd_before, b3, sizeof b3), pl->nclaims,
           pl->nclaims == 1 ? "" : "s");
    printf("pending pods: %d   on existing nodes: %d   on new nodes: %d   unschedulable: %d\n\n", pl->nplace,
           pl->placed_existing, pl->placed_claims, pl->nunsched);
    printf("%-40s %-18s %s\n", "POD", "REQUEST", "PLACEMENT");
    for (int32_t i = 0; i < pl->nplace; i++) {
        const gs_placement *x = &pl->place[i];
        const gs_pod *pd = &s->pods[x->pod];
        char name[320], r[64], where[300] = "";
        snprintf(name, sizeof name, "%s/%s", pd->ns, pd->name);
        req_str(&pd->spec, r, sizeof r);
        if (x->kind == GS_PLACE_NONE) {
            const char *why = "";
            for (int32_t k = 0; k < pl->nunsched; k++)
                if (pl->unsched[k].pod == x->pod) why = pl->unsched[k].reason;
            snprintf(where, sizeof where, "UNSCHEDULABLE: %s", why);
        } else {
            size_t l = (size_t)snprintf(where, sizeof where, "%s %s", x->kind == GS_PLACE_EXISTING ? "node" : "claim",
                                        x->kind == GS_PLACE_EXISTING ? s->nodes[x->target].name : "");
            if (x->kind == GS_PLACE_CLAIM) l += (size_t)snprintf(where + l, sizeof where - l, "#%d", x->target);
            if (x->gpu >= 0 && l < sizeof where) {
                if (x->ngpus > 1) l += (size_t)snprintf(where + l, sizeof where - l, " gpus %d-%d", x->gpu, x->gpu + x->ngpus - 1);
                else l += (size_t)snprintf(where + l, sizeof where - l, " gpu %d", x->gpu);
            }
            if (x->part >= 0 && l < sizeof where) snprintf(where + l, sizeof where - l, " partition %d", x->part);
        }
        printf("%-40s %-18s %s\n", name, r, where);
    }
    if (pl->nclaims) {
        printf("\n%-4s %-14s %-10s %-22s %12s %5s  %s\n", "NEW", "POOL", "CAPACITY", "INSTANCE TYPE", "$/HOUR", "PODS",
               "GPUS (MIG layout: profile@start, * = used)");
        for (int32_t i = 0; i < pl->nclaims; i++) {
            const gs_claim *c = &pl->claims[i];
            const gs_gpu_model *m = gs_gpu_get(c->gpu_model);
            char gl[1024] = "";
            size_t l = 0;
            for (int k = 0; k < c->ngpus_used && l + 1 < sizeof gl; k++) {
                char g[256];
                gpu_str(m, &c->gpus[k], g, sizeof g);
                int w = snprintf(gl + l, sizeof gl - l, "%s%d:%s", k ? " " : "", k, g);
                if (w < 0) break;
                l += (size_t)w;
            }
            printf("#%-3d %-14s %-10s %-22s %12s %5d  %s\n", i, pools[c->pool].name, gs_capacity_name(c->capacity),
                   cat->types[c->itype].name, usd(c->price, b1, sizeof b1), c->pods, gl);
            if (c->zone[0]) printf("     zone %s\n", c->zone);
            printf("     candidates (%d):", c->ncand);
            for (int32_t k = 0; k < c->ncand && k < 6; k++) {
                const gs_pack_cand *x = &pl->cands[c->cand_off + k];
                printf(" %s/%s %s", cat->types[x->itype].name, gs_capacity_name(x->capacity), usd(x->price, b1, sizeof b1));
            }
            printf("%s\n", c->ncand > 6 ? " ..." : "");
        }
    }
    if (pl->nreparts) {
        printf("\n%-30s %4s  %s\n", "REPARTITION NODE", "GPU", "LAYOUT BEFORE -> AFTER");
        for (int32_t i = 0; i < pl->nreparts; i++) {
            const gs_repartition *r = &pl->reparts[i];
            const gs_gpu_model *m = gs_gpu_get(cat->types[s->nodes[r->node].itype].gpu_model);
            char bl[256], al[256];
            if (r->mode_after != GS_GPUMODE_MIG) {
                if (r->mode_after == GS_GPUMODE_TIMESLICED)
                    printf("%-30s %4d  %s -> timeSlicing x%d\n", s->nodes[r->node].name, r->gpu,
                           mode_name(r->mode_before), r->ts_replicas);
                else
                    printf("%-30s %4d  %s -> %s\n", s->nodes[r->node].name, r->gpu, mode_name(r->mode_before),
                           mode_name(r->mode_after));
                continue;
            }
            layout_str(m, r->before.parts, r->before.n, bl, sizeof bl);
            layout_str(m, r->after.parts, r->after.n, al, sizeof al);
            printf("%-30s %4d  [%s] -> [%s]\n", s->nodes[r->node].name, r->gpu, bl, al);
        }
    }
}

int gs_cmd_plan(int argc, char **argv) {
    const char *configs[MAX_CONFIGS];
    int nconfigs = 0;
    const char *state = NULL, *data = NULL;
    int json = 0;
    long maxc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { help(); return GS_EXIT_OK; }
        if (!strcmp(a, "--json")) { json = 1; continue; }
        if (!strcmp(a, "--config") || !strcmp(a, "--state") || !strcmp(a, "--data") || !strcmp(a, "--max-candidates")) {
            if (i + 1 >= argc) return gs_cli_usage_error("plan", "%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--config")) {
                if (nconfigs == MAX_CONFIGS) return gs_cli_usage_error("plan", "at most %d --config files", MAX_CONFIGS);
                configs[nconfigs++] = v;
                /* further non-option arguments are more config files */
                while (i + 1 < argc && argv[i + 1][0] != '-' && nconfigs < MAX_CONFIGS) configs[nconfigs++] = argv[++i];
            } else if (!strcmp(a, "--state")) {
                if (state) return gs_cli_usage_error("plan", "--state given twice");
                state = v;
            } else if (!strcmp(a, "--data")) {
                data = v;
            } else {
                char *end = NULL;
                maxc = strtol(v, &end, 10);
                if (!end || *end || maxc < 1 || maxc > 10000)
                    return gs_cli_usage_error("plan", "--max-candidates must be 1..10000, got '%s'", v);
            }
            continue;
        }
        if (a[0] == '-') return gs_cli_usage_error("plan", "unknown option '%s'", a);
        return gs_cli_usage_error("plan", "unexpected argument '%s'", a);
    }
    if (!state) return gs_cli_usage_error("plan", "--state FILE is required");
    if (nconfigs == 0) return gs_cli_usage_error("plan", "--config FILE is required (the GPUPools to plan with)");

    gs_catalog cat;
    gs_catalog_init(&cat);
    gs_error e;
    gs_error_clear(&e);
    char eb[1024];
    int rc = GS_EXIT_FAIL;
    gs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    gs_state st;
    gs_state_init(&st);
    gs_plan plan;
    gs_plan_init(&plan);

    if (gs_catalog_load(&cat, data, &e)) {
        fprintf(stderr, "gpuscale plan: %s\n", gs_error_format(&e, eb, sizeof eb));
        goto out;
    }
    if (gs_config_load_files(&cfg, configs, nconfigs, &cat, &e)) {
        fprintf(stderr, "gpuscale plan: %s\n", gs_error_format(&e, eb, sizeof eb));
        goto out;
    }
    if (cfg.npools == 0) {
        fprintf(stderr, "gpuscale plan: %s: no GPUPool defined\n", configs[0]);
        goto out;
    }
    if (gs_state_load(state, &cat, cfg.pools, cfg.npools, &st, &e)) {
        fprintf(stderr, "gpuscale plan: %s\n", gs_error_format(&e, eb, sizeof eb));
        goto out;
    }
    const gs_pool *pools = cfg.pools;
    int32_t npools = cfg.npools;
    gs_pack_input in = {.snap = &st.snap, .pools = pools, .npools = npools, .catalog = &cat,
                        .max_candidates = (int32_t)maxc, .switch_modes = true};
    if (gs_pack_plan(&in, &plan, &e)) {
        fprintf(stderr, "gpuscale plan: %s\n", gs_error_format(&e, eb, sizeof eb));
        goto out;
    }
    if (json) print_json(&st, pools, &cat, &plan);
    else print_table(&st, pools, &cat, &plan);
    rc = GS_EXIT_OK;
out:
    gs_plan_free(&plan);
    gs_state_free(&st);
    gs_config_free(&cfg);
    gs_catalog_free(&cat);
    return rc;
}
