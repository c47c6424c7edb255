/* gs_err: negative error codes with one table for their names and messages (libuv style),
 * and gs_error: a message plus, for input errors, the file:line:col it is about. */
#ifndef GS_ERR_H
#define GS_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define GS_ERRNO_MAP(X)                                            \
    X(EINVAL, "invalid argument")                                  \
    X(ENOMEM, "out of memory")                                     \
    X(EOVERFLOW, "value out of range")                             \
    X(EPARSE, "malformed input")                                   \
    X(ENOENT, "not found")                                         \
    X(EEXIST, "already exists")                                    \
    X(EIO, "input/output error")                                   \
    X(ETOOBIG, "input larger than the allowed maximum")            \
    X(EUNSUPPORTED, "not supported")                               \
    X(EINFEASIBLE, "no feasible placement")                        \
    X(ETIMEOUT, "timed out")                                       \
    X(EPEER, "peer error")                                         \
    X(EAUTH, "authentication refused")                             \
    X(ECONFLICT, "conflict")                                       \
    X(EBUDGET, "budget exceeded")

typedef enum {
    GS_OK = 0,
#define GS_ERR_ENUM(name, msg) GS_##name,
    GS__ERR_FIRST = -1000,
    GS_ERRNO_MAP(GS_ERR_ENUM)
#undef GS_ERR_ENUM
    GS__ERR_LAST
} gs_err;

#define GS_ERROR_MSG_MAX 512
#define GS_ERROR_FILE_MAX 256

/* An error report. line/col are 1-based; 0 means "not about a position in a file". */
typedef struct gs_error {
    int code;
    int line;
    int col;
    char file[GS_ERROR_FILE_MAX];
    char msg[GS_ERROR_MSG_MAX];
} gs_error;

const char *gs_err_name(int code); /* "GS_EINVAL"; static storage */
const char *gs_err_str(int code);  /* "invalid argument"; static storage */

void gs_error_clear(gs_error *e);

/* Fills e (if non-NULL) and returns code, so callers can write `return gs_error_set(...)`.
 * file may be NULL. */
int gs_error_set(gs_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int gs_error_setpos(gs_error *e, int code, const char *file, int line, int col,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* gs_error_setpos with a va_list, for callers' own printf-like error helpers. */
int gs_error_vsetpos(gs_error *e, int code, const char *file, int line, int col, const char *fmt,
                     va_list ap) __attribute__((format(printf, 6, 0)));

/* Formats "file:line:col: msg" (or just msg when there is no position) into buf. */
const char *gs_error_format(const gs_error *e, char *buf, size_t size);

#endif
