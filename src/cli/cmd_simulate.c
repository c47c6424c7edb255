#include "cli/cli.h"

int gs_cmd_simulate(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        printf("usage: gpuscale simulate\n\nNot available yet: the simulator lands with issue #4.\n");
        return GS_EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-') return gs_cli_usage_error("simulate", "unknown option '%s'", argv[i]);
    return gs_cli_not_landed("simulate", "the simulator lands with issue #4");
}
