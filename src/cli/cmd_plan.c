#include "cli/cli.h"

int gs_cmd_plan(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        printf("usage: gpuscale plan\n\nNot available yet: the packer lands with issue #3.\n");
        return GS_EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-') return gs_cli_usage_error("plan", "unknown option '%s'", argv[i]);
    return gs_cli_not_landed("plan", "the packer lands with issue #3");
}
