/* Budget alerts: a log line, metric counters the controller's /metrics reads
 * (gs_alert_metrics_get), and a webhook: HTTP POST of a JSON document with retries
 * (exponential backoff; retried on connection errors, timeouts, 429 and 5xx; not on other
 * 4xx). The JSON shape is in docs/cost.md. */
#ifndef GS_IO_ALERT_H
#define GS_IO_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "model/err.h"
#include "model/objects.h"
#include "model/qty.h"

typedef struct gs_alert {
    char budget[GS_NAME_LEN];
    char project[GS_NAME_LEN];
    char window[16];           /* "hour", "day", "month" */
    char action[16];           /* "alert", "block", "scaleToMin", "softCrossing" */
    int32_t pct;               /* threshold crossed (alert) or spend percent */
    gs_usd_u spent, limit;
    gs_ms period_start;
    gs_ms at;
    char message[256];
} gs_alert;

typedef struct gs_alert_metrics {
    uint64_t alerts;           /* alerts emitted (log line written) */
    uint64_t webhook_ok;       /* webhooks delivered (2xx) */
    uint64_t webhook_failed;   /* webhooks given up on */
    uint64_t webhook_attempts; /* HTTP attempts, retries included */
} gs_alert_metrics;

/* Counters since process start (thread-safe snapshot). */
void gs_alert_metrics_get(gs_alert_metrics *out);

/* The counters in the Prometheus text exposition format (gpuscale_budget_alerts_total,
 * gpuscale_budget_webhook_{delivered,failed,attempts}_total with HELP/TYPE lines) into buf;
 * returns the length written (truncated output is NUL-terminated; check < size). */
int gs_alert_metrics_format(char *buf, size_t size);

/* The alert as JSON; *out malloc'd, caller frees. */
int gs_alert_json(const gs_alert *a, char **out, gs_error *err);

typedef struct gs_webhook_opts {
    int32_t retries;           /* extra attempts after the first (budget.webhook_retries) */
    gs_ms backoff;             /* first wait; doubles per retry, capped at 30 s (default 500ms) */
    gs_ms timeout;             /* per attempt (default 5 s) */
} gs_webhook_opts;

/* POSTs body (application/json) to url (http or https only). Returns 0 on a 2xx; GS_EPEER
 * (last status) / GS_EIO (transport) / GS_EINVAL (bad URL) after the attempts are spent. */
int gs_alert_webhook_post(const char *url, const char *body, const gs_webhook_opts *o,
                          gs_error *err);

/* Logs the alert, counts it, and POSTs it to url if non-empty. The webhook's failure is
 * returned (and logged) but the log line and metric are always done. */
int gs_alert_emit(const gs_alert *a, const char *url, const gs_webhook_opts *o, gs_error *err);

#endif
