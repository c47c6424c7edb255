/* gpuscale validate FILE...: loads the files as one configuration (references may cross
 * files) and reports either a summary per file or the first problem as file:line:col. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "io/catalog_load.h"
#include "io/config/config.h"

static void help(void) {
    printf("usage: gpuscale validate [--catalog DIR] FILE...\n\n"
           "Checks gpuscale configuration files (GPUPool, QueueScaler, Budget, Environment;\n"
           "apiVersion %s, several '---' documents per file). The files are read\n"
           "together as one configuration, so a QueueScaler may name a GPUPool of another file.\n\n"
           "Valid: prints one line per file with the objects it defines, exit 0.\n"
           "Invalid: prints 'file:line:col: message' for the first problem to stderr, exit 1.\n"
           "Usage errors exit 2. Fields are documented in docs/config.md.\n\n"
           "options:\n"
           "  --catalog DIR  directory with instance-types.csv and spot-discounts.csv\n"
           "                 (default: $GPUSCALE_DATA or the bundled data/)\n"
           "  -h, --help     this help\n",
           GS_CONFIG_API_VERSION);
}

int gs_cmd_validate(int argc, char **argv) {
    const char *catdir = NULL;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!files) return GS_EXIT_FAIL;
    int nf = 0;
    bool opts = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts && (!strcmp(a, "-h") || !strcmp(a, "--help"))) { help(); free(files); return GS_EXIT_OK; }
        if (opts && !strcmp(a, "--")) { opts = false; continue; }
        if (opts && !strcmp(a, "--catalog")) {
            if (i + 1 >= argc) { free(files); return gs_cli_usage_error("validate", "--catalog needs a directory"); }
            catdir = argv[++i];
            continue;
        }
        if (opts && a[0] == '-' && a[1]) { free(files); return gs_cli_usage_error("validate", "unknown option '%s'", a); }
        files[nf++] = a;
    }
    if (nf == 0) { free(files); return gs_cli_usage_error("validate", "at least one FILE is required"); }
    for (int f = 0; f < nf; f++) {
        struct stat st;
        if (stat(files[f], &st) == 0 && S_ISDIR(st.st_mode)) {
            fprintf(stderr, "%s: is a directory (give the YAML files, e.g. %s/*.yaml)\n", files[f], files[f]);
            free(files);
            return GS_EXIT_FAIL;
        }
    }
    gs_catalog cat;
    gs_catalog_init(&cat);
    gs_error err;
    gs_error_clear(&err);
    char buf[GS_ERROR_MSG_MAX + GS_ERROR_FILE_MAX + 64];
    if (gs_catalog_load(&cat, catdir, &err)) {
        fprintf(stderr, "gpuscale validate: catalog: %s\n", gs_error_format(&err, buf, sizeof buf));
        gs_catalog_free(&cat);
        free(files);
        return GS_EXIT_FAIL;
    }
    gs_config cfg;
    int rc = gs_config_load_files(&cfg, files, nf, &cat, &err);
    if (rc) {
        fprintf(stderr, "%s\n", gs_error_format(&err, buf, sizeof buf));
        gs_catalog_free(&cat);
        free(files);
        return GS_EXIT_FAIL;
    }
    for (int f = 0; f < nf; f++) {
        int np = 0, ns = 0, nb = 0, ne = 0;
        for (int32_t i = 0; i < cfg.npools; i++) np += cfg.pools[i].file == f;
        for (int32_t i = 0; i < cfg.nscalers; i++) ns += cfg.scalers[i].file == f;
        for (int32_t i = 0; i < cfg.nbudgets; i++) nb += cfg.budgets[i].file == f;
        for (int32_t i = 0; i < cfg.nenvs; i++) ne += cfg.envs[i].file == f;
        printf("%s: ok: %d GPUPool%s, %d QueueScaler%s, %d Budget%s, %d Environment%s\n", files[f], np,
               np == 1 ? "" : "s", ns, ns == 1 ? "" : "s", nb, nb == 1 ? "" : "s", ne, ne == 1 ? "" : "s");
    }
    gs_config_free(&cfg);
    gs_catalog_free(&cat);
    free(files);
    return GS_EXIT_OK;
}
