#include "io/alert.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "io/log.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static gs_alert_metrics g_metrics;
static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void count(uint64_t *field, uint64_t by) {
    pthread_mutex_lock(&g_lock);
    *field += by;
    pthread_mutex_unlock(&g_lock);
}

void gs_alert_metrics_get(gs_alert_metrics *out) {
    pthread_mutex_lock(&g_lock);
    *out = g_metrics;
    pthread_mutex_unlock(&g_lock);
}

int gs_alert_metrics_format(char *buf, size_t size) {
    gs_alert_metrics m;
    gs_alert_metrics_get(&m);
    int n = snprintf(buf, size,
                     "# HELP gpuscale_budget_alerts_total Budget alerts emitted (thresholds, block, scaleToMin).\n"
                     "# TYPE gpuscale_budget_alerts_total counter\n"
                     "gpuscale_budget_alerts_total %llu\n"
                     "# HELP gpuscale_budget_webhook_delivered_total Budget alert webhooks answered with 2xx.\n"
                     "# TYPE gpuscale_budget_webhook_delivered_total counter\n"
                     "gpuscale_budget_webhook_delivered_total %llu\n"
                     "# HELP gpuscale_budget_webhook_failed_total Budget alert webhooks given up after retries.\n"
                     "# TYPE gpuscale_budget_webhook_failed_total counter\n"
                     "gpuscale_budget_webhook_failed_total %llu\n"
                     "# HELP gpuscale_budget_webhook_attempts_total HTTP attempts, retries included.\n"
                     "# TYPE gpuscale_budget_webhook_attempts_total counter\n"
                     "gpuscale_budget_webhook_attempts_total %llu\n",
                     (unsigned long long)m.alerts, (unsigned long long)m.webhook_ok,
                     (unsigned long long)m.webhook_failed, (unsigned long long)m.webhook_attempts);
    return n < 0 ? 0 : n;
}

static void iso_time(gs_ms t, char *buf, size_t size) {
    time_t s = (time_t)(t / 1000);
    struct tm tm;
    if (!gmtime_r(&s, &tm)) {
        snprintf(buf, size, "?");
        return;
    }
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int gs_alert_json(const gs_alert *a, char **out, gs_error *err) {
    char ps[32], at[32], spent[32], limit[32];
    iso_time(a->period_start, ps, sizeof ps);
    iso_time(a->at, at, sizeof at);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:s, s:s, s:s}",
                          "type", "gpuscale.dev/budget-alert", "budget", a->budget, "project",
                          a->project, "window", a->window, "action", a->action, "thresholdPct",
                          (int)a->pct, "spentMicroUsd", (json_int_t)a->spent, "limitMicroUsd",
                          (json_int_t)a->limit, "spent", gs_fmt_usd(a->spent, spent, sizeof spent),
                          "limit", gs_fmt_usd(a->limit, limit, sizeof limit), "periodStart", ps,
                          "at", at, "message", a->message);
    if (!o) return gs_error_set(err, GS_EINVAL, "alert: cannot encode (invalid UTF-8 in a name?)");
    *out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return *out ? 0 : gs_error_set(err, GS_ENOMEM, "alert: out of memory");
}

static size_t discard(char *p, size_t sz, size_t n, void *ud) {
    (void)p;
    (void)ud;
    return sz * n;
}

int gs_alert_webhook_post(const char *url, const char *body, const gs_webhook_opts *o,
                          gs_error *err) {
    if (!url || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
        return gs_error_set(err, GS_EINVAL, "webhook: '%s' is not an http(s) URL", url ? url : "");
    gs_webhook_opts d = {0, 500, 5000};
    if (o) d = *o;
    if (d.retries < 0) d.retries = 0;
    if (d.backoff <= 0) d.backoff = 500;
    if (d.timeout <= 0) d.timeout = 5000;
    pthread_once(&g_curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (!c) return gs_error_set(err, GS_ENOMEM, "webhook: cannot start libcurl");
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    char curlerr[CURL_ERROR_SIZE];
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)d.timeout);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "gpuscale/" GS_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
    int rc = GS_EIO;
    long status = 0;
    gs_ms wait = d.backoff;
    for (int32_t attempt = 0; attempt <= d.retries; attempt++) {
        if (attempt > 0) {
            struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            wait = wait * 2 > 30000 ? 30000 : wait * 2;
        }
        curlerr[0] = '\0';
        count(&g_metrics.webhook_attempts, 1);
        CURLcode cr = curl_easy_perform(c);
        if (cr != CURLE_OK) {
            rc = gs_error_set(err, GS_EIO, "webhook %s: %s (attempt %d of %d)", url,
                              curlerr[0] ? curlerr : curl_easy_strerror(cr), (int)attempt + 1,
                              (int)d.retries + 1);
            if (cr == CURLE_UNSUPPORTED_PROTOCOL || cr == CURLE_URL_MALFORMAT) break;
            continue;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            rc = 0;
            break;
        }
        rc = gs_error_set(err, GS_EPEER, "webhook %s answered HTTP %ld (attempt %d of %d)", url, status,
                          (int)attempt + 1, (int)d.retries + 1);
        if (status != 429 && status < 500) break; /* the receiver refuses it: retrying won't help */
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    count(rc == 0 ? &g_metrics.webhook_ok : &g_metrics.webhook_failed, 1);
    return rc;
}

int gs_alert_emit(const gs_alert *a, const char *url, const gs_webhook_opts *o, gs_error *err) {
    char spent[32], limit[32];
    gs_log(a->pct >= 100 ? GS_LOG_WARN : GS_LOG_INFO, "budget alert",
           "budget=%s project=%s window=%s action=%s pct=%d spent=%s limit=%s", a->budget, a->project,
           a->window, a->action, (int)a->pct, gs_fmt_usd(a->spent, spent, sizeof spent),
           gs_fmt_usd(a->limit, limit, sizeof limit));
    count(&g_metrics.alerts, 1);
    if (!url || !url[0]) return 0;
    char *body;
    int rc = gs_alert_json(a, &body, err);
    if (rc) return rc;
    rc = gs_alert_webhook_post(url, body, o, err);
    free(body);
    if (rc) gs_log(GS_LOG_ERROR, "budget alert webhook failed", "budget=%s error=\"%s\"", a->budget,
                   err ? err->msg : "");
    return rc;
}
