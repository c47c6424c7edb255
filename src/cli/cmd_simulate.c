#include "cli/cli.h"

int gs_cmd_simulate(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        printf("usage: gpuscale simulate\n\nNot available yet: the simulator lands with issue #4.\n");
        return GS_EXIT_OK;
    }
    return gs_cli_not_landed("simulate", "the simulator lands with issue #4");
}
