/* gpuscale mig <gpu-model>: a GPU model's MIG profiles, their placements, and the valid
 * maximal layouts (what a user planning a mig-parted config wants). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/gpu.h"
#include "policy/mig.h"

static void help(void) {
    printf("usage: gpuscale mig [--mig-parted] [--list] <gpu-model>\n\n"
           "Prints the MIG profiles of a GPU model (NVML profile id, compute and memory slices,\n"
           "instances per GPU, allowed placements as {starts}:size in memory slices, memory and\n"
           "SMs) and every maximal layout: a set of instances to which no further instance fits.\n\n"
           "options:\n"
           "  --mig-parted  print the maximal layouts as a mig-parted config (version: v1)\n"
           "  --list        list the known GPU models\n"
           "  -h, --help    this help\n\n"
           "models: a100-40gb a100-80gb h100-80gb h100-94gb-nvl h200-141gb a30-24gb (MIG);\n"
           "        t4 a10g l4 l40s v100 (no MIG)\n");
}

static void placements(const gs_mig_profile *p, int slices, char *buf, size_t size) {
    size_t n = 0;
    n += (size_t)snprintf(buf + n, size - n, "{");
    int first = 1;
    for (int s = 0; s < slices; s++)
        if (p->starts & (1u << s)) {
            n += (size_t)snprintf(buf + n, size - n, "%s%d", first ? "" : ",", s);
            first = 0;
        }
    snprintf(buf + n, size - n, "}:%d", p->size);
}

static void layout_name(const gs_gpu_model *m, const gs_mig_counts *c, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    for (int p = m->nprofiles - 1; p >= 0; p--)
        if (c->c[p]) {
            int w = snprintf(buf + n, size - n, "%s%dx%s", n ? " + " : "", c->c[p], m->profiles[p].name);
            if (w > 0 && (size_t)w < size - n) n += (size_t)w;
        }
    if (!n) snprintf(buf, size, "(empty)");
}

int gs_cmd_mig(int argc, char **argv) {
    int parted = 0, list = 0;
    const char *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { help(); return GS_EXIT_OK; }
        else if (!strcmp(argv[i], "--mig-parted")) parted = 1;
        else if (!strcmp(argv[i], "--list")) list = 1;
        else if (argv[i][0] == '-') return gs_cli_usage_error("mig", "unknown option '%s'", argv[i]);
        else if (model) return gs_cli_usage_error("mig", "one GPU model expected, got '%s' too", argv[i]);
        else model = argv[i];
    }
    if (list) {
        int n;
        const gs_gpu_model *ms = gs_gpu_models(&n);
        for (int i = 0; i < n; i++)
            printf("%-14s %-24s %6d MiB  %s\n", ms[i].name, ms[i].product, ms[i].mem_mib,
                   gs_gpu_has_mig(&ms[i]) ? "MIG" : "no MIG");
        return GS_EXIT_OK;
    }
    if (!model) return gs_cli_usage_error("mig", "a GPU model is required, e.g. 'gpuscale mig h100-80gb'");
    int idx = gs_gpu_find(model);
    if (idx < 0) {
        fprintf(stderr, "gpuscale mig: unknown GPU model '%s' (see 'gpuscale mig --list')\n", model);
        return GS_EXIT_FAIL;
    }
    const gs_gpu_model *m = gs_gpu_get(idx);
    if (!gs_gpu_has_mig(m)) {
        fprintf(stderr, "gpuscale mig: %s does not support MIG (use time-slicing or whole GPUs)\n", m->name);
        return GS_EXIT_FAIL;
    }
    gs_mig_counts maxl[256];
    int nmax = gs_mig_maximal_counts(m, maxl, 256);
    if (nmax > 256) nmax = 256;
    if (parted) {
        printf("version: v1\nmig-configs:\n  all-disabled:\n    - devices: all\n      mig-enabled: false\n");
        for (int i = 0; i < nmax; i++) {
            char name[256];
            size_t n = 0;
            for (int p = m->nprofiles - 1; p >= 0; p--)
                if (maxl[i].c[p]) n += (size_t)snprintf(name + n, sizeof name - n, "%s%dx%s", n ? "-" : "", maxl[i].c[p], m->profiles[p].name);
            for (size_t k = 0; k < n; k++) if (name[k] == '+') name[k] = '_';
            printf("  %s:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n", name);
            for (int p = m->nprofiles - 1; p >= 0; p--)
                if (maxl[i].c[p]) printf("        \"%s\": %d\n", m->profiles[p].name, maxl[i].c[p]);
        }
        return GS_EXIT_OK;
    }
    printf("%s (%s): %d memory slices, %d compute slices, %d MiB%s\n\n", m->name, m->product,
           m->mem_slices, m->compute_slices, m->mem_mib,
           m->mem_measured ? "" : " (profile memory estimated; read from NVML at run time)");
    printf("%-4s %-14s %-7s %-6s %-5s %-19s %-9s %s\n", "ID", "PROFILE", "COMPUTE", "MEMORY", "MAX",
           "PLACEMENTS", "MEM MiB", "SMs");
    for (int p = 0; p < m->nprofiles; p++) {
        const gs_mig_profile *pr = &m->profiles[p];
        char pl[64];
        placements(pr, m->mem_slices, pl, sizeof pl);
        printf("%-4d %-14s %-7d %-6d %-5d %-19s %-9d %d\n", pr->id, pr->name, pr->compute, pr->size,
               pr->max_count, pl, pr->mem_mib, pr->sms);
    }
    int total = gs_mig_enumerate(m, NULL, 0);
    printf("\n%d maximal layouts (no further instance fits); %d valid placements in all:\n", nmax, total);
    for (int i = 0; i < nmax; i++) {
        char name[256];
        layout_name(m, &maxl[i], name, sizeof name);
        gs_mig_layout l;
        gs_mig_fit(m, NULL, 0, &maxl[i], &l);
        char where[128];
        size_t n = 0;
        where[0] = '\0';
        for (int k = 0; k < l.n; k++)
            n += (size_t)snprintf(where + n, sizeof where - n, "%s%s@%d", k ? " " : "",
                                  m->profiles[l.parts[k].profile].name, l.parts[k].start);
        printf("  %-44s compute %d/%d memory %d/%d   e.g. %s\n", name,
               gs_mig_counts_compute(m, &maxl[i]), m->compute_slices,
               gs_mig_counts_memory(m, &maxl[i]), m->mem_slices, where);
    }
    return GS_EXIT_OK;
}
