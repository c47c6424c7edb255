#include "cli/cli.h"

int gs_cmd_run(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        printf("usage: gpuscale run\n\nNot available yet: the controller lands with issue #7.\n");
        return GS_EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-') return gs_cli_usage_error("run", "unknown option '%s'", argv[i]);
    return gs_cli_not_landed("run", "the controller lands with issue #7");
}
