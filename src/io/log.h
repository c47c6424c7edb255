/* Logs: one line per event to stderr: `ts=... level=info msg="..." key=value ...`. */
#ifndef GS_IO_LOG_H
#define GS_IO_LOG_H

typedef enum { GS_LOG_DEBUG, GS_LOG_INFO, GS_LOG_WARN, GS_LOG_ERROR } gs_log_level;

void gs_log_set_level(gs_log_level l);
/* fields: preformatted "key=value key2=value2" (may be NULL). */
void gs_log(gs_log_level l, const char *msg, const char *fmt_fields, ...)
    __attribute__((format(printf, 3, 4)));

#define gs_log_info(msg, ...) gs_log(GS_LOG_INFO, msg, __VA_ARGS__)
#define gs_log_warn(msg, ...) gs_log(GS_LOG_WARN, msg, __VA_ARGS__)
#define gs_log_error(msg, ...) gs_log(GS_LOG_ERROR, msg, __VA_ARGS__)

#endif
