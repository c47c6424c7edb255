#include "cli/cli.h"

int gs_cmd_validate(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        printf("usage: gpuscale validate\n\nNot available yet: the config loader is being built (issue #2).\n");
        return GS_EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-') return gs_cli_usage_error("validate", "unknown option '%s'", argv[i]);
    return gs_cli_not_landed("validate", "the config loader is being built (issue #2)");
}
