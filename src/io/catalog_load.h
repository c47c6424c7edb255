/* Loads the instance catalog from data/ files (instance-types.csv, spot-discounts.csv). */
#ifndef GS_IO_CATALOG_LOAD_H
#define GS_IO_CATALOG_LOAD_H

#include "model/catalog.h"

/* dir NULL = gs_fs_data_dir(). Loads both files into c (initialised by the caller). */
int gs_catalog_load(gs_catalog *c, const char *dir, gs_error *err);
int gs_catalog_load_files(gs_catalog *c, const char *types_csv, const char *discounts_csv,
                          gs_error *err);

#endif
