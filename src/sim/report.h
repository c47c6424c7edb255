/* Report writers for a simulation: a table on stdout, JSON, and a self-contained HTML page
 * with inline SVG charts over time (queue depth, replicas, nodes, $/hour per policy). */
#ifndef GS_SIM_REPORT_H
#define GS_SIM_REPORT_H

#include <stdio.h>

#include "sim/scenario.h"
#include "sim/sim.h"

typedef struct gs_report {
    const gs_scenario *sc;
    const gs_sim_input *in;
    const gs_sim_result *res; /* one per policy run, in run order */
    int32_t nres;
} gs_report;

/* The targets of issue 4 on a scenario, evaluated from the results (NULL-safe when a policy
 * was not run). Writes one line per target into f. Returns the number of missed targets. */
int gs_report_targets(const gs_report *r, FILE *f);
void gs_report_text(const gs_report *r, FILE *f);
int gs_report_json(const gs_report *r, const char *path, gs_error *err);
int gs_report_html(const gs_report *r, const char *path, gs_error *err);

#endif
