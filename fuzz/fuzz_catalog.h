/* The fuzz harnesses' small fixed catalog (rows copied from data/instance-types.csv, spot
 * discounts for four families), parsed once per process. who names the harness in the
 * message if it does not parse. */
#ifndef GS_FUZZ_CATALOG_H
#define GS_FUZZ_CATALOG_H

#include <stdio.h>
#include <stdlib.h>

#include "model/catalog.h"

static const char CATALOG_CSV[] =
    "instance_type,family,vcpu,memory_mib,gpu_count,gpu_model,gpu_memory_mib,on_demand_usd_per_hour,"
    "allocatable_cpu_milli,allocatable_memory_mib,max_pods\n"
    "g4dn.xlarge,g4dn,4,16384,1,t4,16384,0.526000,3920,14481,29\n"
    "g5.xlarge,g5,4,16384,1,a10g,22888,1.006000,3920,14162,58\n"
    "g5.48xlarge,g5,192,786432,8,a10g,22888,16.288000,191450,723299,345\n"
    "g6.xlarge,g6,4,16384,1,l4,22888,0.804800,3920,14162,58\n"
    "g6.12xlarge,g6,48,196608,4,l4,22888,4.601600,47810,178933,234\n"
    "g6e.xlarge,g6e,4,32768,1,l40s,45776,1.861000,3920,29317,58\n"
    "p4d.24xlarge,p4d,96,1179648,8,a100,40960,21.957642,95690,1082712,737\n"
    "p4de.24xlarge,p4de,96,1179648,8,a100,81920,27.447050,95690,1082712,737\n"
    "p5.48xlarge,p5,192,2097152,8,h100,81920,55.040000,191450,1938410,100\n";
static const char DISCOUNTS_CSV[] = "family,spot_discount_percent\ng4dn,65\ng5,60\ng6,55\np5,50\n";

static gs_catalog *fuzz_catalog(const char *who) {
    static gs_catalog cat;
    static int ready;
    if (!ready) {
        gs_error e;
        gs_catalog_init(&cat);
        if (gs_catalog_parse_csv(&cat, CATALOG_CSV, sizeof CATALOG_CSV - 1, "fuzz-catalog", &e) ||
            gs_catalog_parse_discounts(&cat, DISCOUNTS_CSV, sizeof DISCOUNTS_CSV - 1, "fuzz-discounts", &e)) {
            fprintf(stderr, "%s: catalog: %s\n", who, e.msg);
            abort();
        }
        ready = 1;
    }
    return &cat;
}

#endif
