#include <stdarg.h>
#include <string.h>

#include "cli/cli.h"

int gs_cli_usage_error(const char *cmd, const char *fmt, ...) {
    fprintf(stderr, "gpuscale %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'gpuscale %s --help')\n", cmd);
    return GS_EXIT_USAGE;
}

int gs_cli_not_landed(const char *cmd, const char *what) {
    fprintf(stderr, "gpuscale %s: not available yet: %s\n", cmd, what);
    return GS_EXIT_FAIL;
}

int gs_cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    }
    return 0;
}
