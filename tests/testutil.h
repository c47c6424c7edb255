/* Shared test helpers. Tests are cmocka programs; include this after cmocka's headers. */
#ifndef GS_TESTUTIL_H
#define GS_TESTUTIL_H

#include <stddef.h>

#include "model/catalog.h"

/* Loads the bundled catalog (data/) into c; fails the test on error. */
void gs_test_catalog(gs_catalog *c);
/* Reads tests/data/<rel> (NUL-terminated, caller frees). */
char *gs_test_read(const char *rel, size_t *len);
/* Runs a shell command, captures stdout+stderr into a malloc'd string; returns exit status. */
int gs_test_sh(const char *cmd, char **out);

#endif
