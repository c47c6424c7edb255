#include "cli/cli.h"

int gs_cmd_plan(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        printf("usage: gpuscale plan\n\nNot available yet: the packer lands with issue #3.\n");
        return GS_EXIT_OK;
    }
    return gs_cli_not_landed("plan", "the packer lands with issue #3");
}
