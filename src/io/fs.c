#include "io/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int gs_fs_read(const char *path, size_t max, char **out, size_t *len, gs_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return gs_error_setpos(err, GS_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) { fclose(f); return gs_error_set(err, GS_ENOMEM, "out of memory"); }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max + 1) break;
            size_t ncap = cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) { free(buf); fclose(f); return gs_error_set(err, GS_ENOMEM, "out of memory"); }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        if (r == 0) break;
        n += r;
        if (n > max) break;
    }
    int ferr = ferror(f);
    fclose(f);
    if (ferr) { free(buf); return gs_error_setpos(err, GS_EIO, path, 0, 0, "read error"); }
    if (n > max) {
        free(buf);
        return gs_error_setpos(err, GS_ETOOBIG, path, 0, 0, "file larger than %zu bytes", max);
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return 0;
}

#ifndef GS_DATA_DIR
#define GS_DATA_DIR "/usr/share/gpuscale"
#endif

const char *gs_fs_data_dir(void) {
    const char *e = getenv("GPUSCALE_DATA");
    if (e && *e) return e;
    struct stat st;
    if (stat(GS_DATA_DIR, &st) == 0 && S_ISDIR(st.st_mode)) return GS_DATA_DIR;
    return "/usr/share/gpuscale";
}
