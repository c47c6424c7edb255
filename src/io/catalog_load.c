#include "io/catalog_load.h"

#include <stdio.h>
#include <stdlib.h>

#include "io/fs.h"

#define CATALOG_MAX (4u << 20)

int gs_catalog_load_files(gs_catalog *c, const char *types_csv, const char *discounts_csv,
                          gs_error *err) {
    char *buf;
    size_t len;
    int rc = gs_fs_read(types_csv, CATALOG_MAX, &buf, &len, err);
    if (rc) return rc;
    rc = gs_catalog_parse_csv(c, buf, len, types_csv, err);
    free(buf);
    if (rc || !discounts_csv) return rc;
    rc = gs_fs_read(discounts_csv, CATALOG_MAX, &buf, &len, err);
    if (rc) return rc;
    rc = gs_catalog_parse_discounts(c, buf, len, discounts_csv, err);
    free(buf);
    return rc;
}

int gs_catalog_load(gs_catalog *c, const char *dir, gs_error *err) {
    if (!dir) dir = gs_fs_data_dir();
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/instance-types.csv", dir);
    snprintf(b, sizeof b, "%s/spot-discounts.csv", dir);
    return gs_catalog_load_files(c, a, b, err);
}
