/* The instance catalog: instance types with their hardware, what the kubelet can allocate,
 * the on-demand price, and a modelled spot price (on-demand x (1 - family discount)).
 * Parsed from CSV text (data/instance-types.csv, data/spot-discounts.csv); reading the files
 * is io/'s job (gs_catalog_load in io/catalog_load.h). */
#ifndef GS_CATALOG_H
#define GS_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/err.h"
#include "model/qty.h"

#define GS_ITYPE_NAME 40
#define GS_FAMILY_NAME 24

typedef enum { GS_CAP_ON_DEMAND = 0, GS_CAP_SPOT = 1, GS_CAP__N = 2 } gs_capacity;
#define GS_CAPMASK_OD (1u << GS_CAP_ON_DEMAND)
#define GS_CAPMASK_SPOT (1u << GS_CAP_SPOT)
const char *gs_capacity_name(gs_capacity c); /* "on-demand", "spot" */
int gs_capacity_parse(const char *s);        /* -1 if unknown */

typedef struct gs_itype {
    char name[GS_ITYPE_NAME];      /* "p5.48xlarge" */
    char family[GS_FAMILY_NAME];   /* "p5" */
    int32_t vcpu;
    gs_mib mem_mib;
    gs_mcpu alloc_cpu;             /* allocatable milli-CPU */
    gs_mib alloc_mem;              /* allocatable MiB */
    int32_t max_pods;
    int32_t gpus;                  /* GPU count */
    int32_t gpu_model;             /* index into gs_gpu_models(), -1 when gpus == 0 */
    gs_mib gpu_mem_mib;            /* per GPU, as the catalog reports it */
    gs_usd_u od_price;             /* on-demand micro-dollars per hour; 0 = not offered */
    int32_t spot_discount_pct;     /* 0..95; spot price = od x (100 - pct) / 100 */
} gs_itype;

typedef struct gs_catalog {
    gs_itype *types; /* owned; sorted by name */
    int32_t n;
    int32_t cap;
} gs_catalog;

void gs_catalog_init(gs_catalog *c);
void gs_catalog_free(gs_catalog *c);
/* Parses instance-types.csv text. `file` names it in errors ("file:line:col: ..."). Appends to c;
 * on error c is left as before the call. */
int gs_catalog_parse_csv(gs_catalog *c, const char *text, size_t len, const char *file,
                         gs_error *err);
/* Parses spot-discounts.csv text (family,spot_discount_percent) and applies it to every type
 * of the named families. Unknown families are errors (a typo would otherwise be silent). */
int gs_catalog_parse_discounts(gs_catalog *c, const char *text, size_t len, const char *file,
                               gs_error *err);
/* Sets one family's discount (user override). GS_ENOENT if no type has that family. */
int gs_catalog_set_discount(gs_catalog *c, const char *family, int32_t pct);
/* Adds one type (copied); GS_EEXIST on a duplicate name. */
int gs_catalog_add(gs_catalog *c, const gs_itype *t, gs_error *err);
int gs_catalog_find(const gs_catalog *c, const char *name); /* index or -1 */
/* Price per hour for a capacity type; 0 if that capacity is not offered. */
gs_usd_u gs_itype_price(const gs_itype *t, gs_capacity cap);

/* Simple CSV reader shared by the catalog, traces and benchmarks: splits one line (no
 * quotes with embedded commas needed by our data, but quoted fields are accepted) into at
 * most max fields, in place. Returns the field count. Strips a trailing '\r'. */
int gs_csv_split(char *line, char **fields, int max);

#endif
