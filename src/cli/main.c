/* gpuscale: a queue-driven, cost-governed GPU autoscaler for Kubernetes. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const gs_command COMMANDS[] = {
    {"simulate", "replay a trace through gpuscale and baseline policies; report $ and latency", gs_cmd_simulate},
    {"run", "run the controller against a Kubernetes cluster", gs_cmd_run},
    {"plan", "plan pending pods onto GPU partitions and nodes for a cluster snapshot", gs_cmd_plan},
    {"cost", "report spend from the ledger by project, pool, instance type or day", gs_cmd_cost},
    {"budget", "show each budget's spend, limit and forecast", gs_cmd_budget},
    {"validate", "check configuration files (GPUPool, QueueScaler, Budget, Environment)", gs_cmd_validate},
    {"mig", "show a GPU model's MIG profiles, placements and valid layouts", gs_cmd_mig},
    {"version", "print the version", gs_cmd_version},
};

const gs_command *gs_commands(int *n) {
    *n = (int)(sizeof COMMANDS / sizeof COMMANDS[0]);
    return COMMANDS;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: gpuscale [--help] [--version] <command> [args]\n\n"
            "gpuscale scales GPU inference on queue depth, provisions the cheapest fitting\n"
            "nodes just in time, packs MIG / time-sliced / fractional GPUs, and enforces budgets.\n\n"
            "commands:\n");
    int n;
    const gs_command *c = gs_commands(&n);
    for (int i = 0; i < n; i++) fprintf(f, "  %-9s %s\n", c[i].name, c[i].summary);
    fprintf(f, "\n'gpuscale <command> --help' describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return GS_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return GS_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) return gs_cmd_version(1, argv + 1);
    if (cmd[0] == '-') {
        fprintf(stderr, "gpuscale: unknown option '%s' (see 'gpuscale --help')\n", cmd);
        return GS_EXIT_USAGE;
    }
    int n;
    const gs_command *c = gs_commands(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].name, cmd) == 0) return c[i].run(argc - 1, argv + 1);
    fprintf(stderr, "gpuscale: unknown command '%s' (see 'gpuscale --help')\n", cmd);
    return GS_EXIT_USAGE;
}
