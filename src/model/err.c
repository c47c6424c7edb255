#include "model/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *gs_err_name(int code) {
    switch (code) {
    case GS_OK: return "GS_OK";
#define GS_ERR_NAME(name, msg) case GS_##name: return "GS_" #name;
        GS_ERRNO_MAP(GS_ERR_NAME)
#undef GS_ERR_NAME
    default: return "GS_EUNKNOWN";
    }
}

const char *gs_err_str(int code) {
    switch (code) {
    case GS_OK: return "success";
#define GS_ERR_STR(name, msg) case GS_##name: return msg;
        GS_ERRNO_MAP(GS_ERR_STR)
#undef GS_ERR_STR
    default: return "unknown error";
    }
}

void gs_error_clear(gs_error *e) {
    if (e) memset(e, 0, sizeof *e);
}

__attribute__((format(printf, 6, 0)))
static void vset(gs_error *e, int code, const char *file, int line, int col, const char *fmt,
                 va_list ap) {
    e->code = code;
    e->line = line;
    e->col = col;
    if (file) snprintf(e->file, sizeof e->file, "%s", file);
    else e->file[0] = '\0';
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

int gs_error_set(gs_error *e, int code, const char *fmt, ...) {
    if (!e) return code;
    va_list ap;
    va_start(ap, fmt);
    vset(e, code, NULL, 0, 0, fmt, ap);
    va_end(ap);
    return code;
}

int gs_error_setpos(gs_error *e, int code, const char *file, int line, int col, const char *fmt,
                    ...) {
    if (!e) return code;
    va_list ap;
    va_start(ap, fmt);
    vset(e, code, file, line, col, fmt, ap);
    va_end(ap);
    return code;
}

int gs_error_vsetpos(gs_error *e, int code, const char *file, int line, int col, const char *fmt,
                     va_list ap) {
    if (!e) return code;
    vset(e, code, file, line, col, fmt, ap);
    return code;
}

const char *gs_error_format(const gs_error *e, char *buf, size_t size) {
    if (e->file[0] && e->line > 0)
        snprintf(buf, size, "%s:%d:%d: %s", e->file, e->line, e->col, e->msg);
    else if (e->file[0])
        snprintf(buf, size, "%s: %s", e->file, e->msg);
    else
        snprintf(buf, size, "%s", e->msg);
    return buf;
}
