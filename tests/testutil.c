#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "io/catalog_load.h"
#include "io/fs.h"

void gs_test_catalog(gs_catalog *c) {
    gs_catalog_init(c);
    gs_error e;
    int rc = gs_catalog_load(c, GS_SOURCE_DIR "/data", &e);
    if (rc) {
        char buf[1024];
        fail_msg("catalog: %s", gs_error_format(&e, buf, sizeof buf));
    }
}

char *gs_test_read(const char *rel, size_t *len) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", GS_TEST_DATA, rel);
    char *buf = NULL;
    gs_error e;
    if (gs_fs_read(path, 64u << 20, &buf, len, &e)) fail_msg("cannot read %s: %s", path, e.msg);
    return buf;
}

int gs_test_sh(const char *cmd, char **out) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (n + 1 >= cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
    }
    if (buf) buf[n] = '\0';
    int st = pclose(p);
    if (out) *out = buf;
    else free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
