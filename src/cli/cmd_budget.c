#include "cli/cli.h"

int gs_cmd_budget(int argc, char **argv) {
    if (gs_cli_wants_help(argc, argv)) {
        printf("usage: gpuscale budget\n\nNot available yet: budgets land with issue #6.\n");
        return GS_EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-') return gs_cli_usage_error("budget", "unknown option '%s'", argv[i]);
    return gs_cli_not_landed("budget", "budgets land with issue #6");
}
