#include "io/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static gs_log_level g_level = GS_LOG_INFO;

void gs_log_set_level(gs_log_level l) {
    g_level = l;
}

void gs_log(gs_log_level l, const char *msg, const char *fmt_fields, ...) {
    if (l < g_level) return;
    static const char *names[] = {"debug", "info", "warn", "error"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char tbuf[32];
    strftime(tbuf, sizeof tbuf, "%Y-%m-%dT%H:%M:%S", &tm);
    char fields[1024] = "";
    if (fmt_fields) {
        va_list ap;
        va_start(ap, fmt_fields);
        vsnprintf(fields, sizeof fields, fmt_fields, ap);
        va_end(ap);
    }
    fprintf(stderr, "ts=%s.%03ldZ level=%s msg=\"%s\"%s%s\n", tbuf, ts.tv_nsec / 1000000L,
            names[l], msg, fields[0] ? " " : "", fields);
}
