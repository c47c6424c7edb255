#include <string.h>

#include "cli/cli.h"

int gs_cmd_version(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        printf("usage: gpuscale version\n\nPrints gpuscale's version.\n");
        return GS_EXIT_OK;
    }
    if (argc > 1) return gs_cli_usage_error("version", "unexpected argument '%s'", argv[1]);
    printf("gpuscale %s\n", GS_VERSION);
    return GS_EXIT_OK;
}
