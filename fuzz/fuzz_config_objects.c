/* libFuzzer harness for gs_config_load_objects (the custom resources `gpuscale run` reads):
 * arbitrary bytes -> JSON (jansson, at most 1 MiB) -> each element of a top-level array is an
 * object named "Obj/<i>" (a lone object is one) -> the loader, which must either load (then be
 * freed) or fail with a message naming an object, never crash, hang or leak. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/config/config.h"
#include "fuzz_catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    json_error_t je;
    json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!root) return 0;
    size_t n = json_is_array(root) ? json_array_size(root) : 1;
    if (n > 64) n = 64;
    gs_config_obj objs[64];
    char names[64][32];
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "Obj/%zu", i);
        objs[i].name = names[i];
        objs[i].obj = json_is_array(root) ? json_array_get(root, i) : root;
    }
    gs_config c;
    gs_error e;
    memset(&e, 0, sizeof e);
    int rc = gs_config_load_objects(&c, objs, (int)n, fuzz_catalog("fuzz_config_objects"), &e);
    if (rc == 0) {
        gs_config_free(&c);
    } else {
        /* a failed load hands nothing out and always says what and about which object */
        if (c.pools || c.scalers || c.budgets || c.envs || !e.msg[0]) abort();
        if (rc != GS_ENOMEM && (strncmp(e.file, "Obj/", 4) != 0 || e.line != 0)) abort();
    }
    json_decref(root);
    return 0;
}
