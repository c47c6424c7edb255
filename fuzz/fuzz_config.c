/* libFuzzer harness for the config loader: arbitrary bytes -> gs_config_load_string with a
 * small fixed catalog (rows copied from data/instance-types.csv), which must either load
 * (then be freed) or fail with a positioned message, never crash, hang or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/config/config.h"
#include "fuzz_catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gs_config c;
    gs_error e;
    memset(&e, 0, sizeof e);
    int rc = gs_config_load_string(&c, (const char *)data, size, "fuzz.yaml", fuzz_catalog("fuzz_config"), &e);
    if (rc == 0) {
        gs_config_free(&c);
    } else {
        /* a failed load hands nothing out and always says what and where */
        if (c.pools || c.scalers || c.budgets || c.envs || !e.msg[0]) abort();
        if (rc != GS_ENOMEM && (e.line < 1 || e.col < 1 || !e.file[0])) abort();
    }
    return 0;
}
