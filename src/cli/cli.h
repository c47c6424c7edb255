/* gpuscale subcommands. Each gs_cmd_X takes argv starting at the command name and returns the
 * process exit status: 0 ok, 1 failure (bad input, unmet condition), 2 usage error. */
#ifndef GS_CLI_H
#define GS_CLI_H

#include <stdio.h>

#define GS_EXIT_OK 0
#define GS_EXIT_FAIL 1
#define GS_EXIT_USAGE 2

typedef struct gs_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} gs_command;

int gs_cmd_simulate(int argc, char **argv);
int gs_cmd_run(int argc, char **argv);
int gs_cmd_plan(int argc, char **argv);
int gs_cmd_cost(int argc, char **argv);
int gs_cmd_budget(int argc, char **argv);
int gs_cmd_validate(int argc, char **argv);
int gs_cmd_mig(int argc, char **argv);
int gs_cmd_version(int argc, char **argv);

const gs_command *gs_commands(int *n);

/* Helpers shared by the commands (cli/common.c). */
/* Prints "gpuscale CMD: MSG\n" to stderr and returns GS_EXIT_USAGE. */
int gs_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For commands whose capability has not landed: says so plainly and returns GS_EXIT_FAIL. */
int gs_cli_not_landed(const char *cmd, const char *what);
/* True if argv[1..] contains -h or --help before any "--". */
int gs_cli_wants_help(int argc, char **argv);

#endif
