/* Reading whole files with a ceiling, and locating bundled data. */
#ifndef GS_IO_FS_H
#define GS_IO_FS_H

#include <stddef.h>

#include "model/err.h"

/* Reads all of path into a NUL-terminated malloc'd buffer (caller frees *out). Files larger
 * than max bytes fail with GS_ETOOBIG; errors name the path. */
int gs_fs_read(const char *path, size_t max, char **out, size_t *len, gs_error *err);

/* Directory of bundled data (data/): $GPUSCALE_DATA if set, else the source tree's data/
 * compiled in, else /usr/share/gpuscale. Static storage. */
const char *gs_fs_data_dir(void);

#endif
