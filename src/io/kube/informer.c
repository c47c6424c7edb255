#include "io/kube/informer.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/kube/kube_internal.h"
#include "io/log.h"

typedef enum { ST_NEED_LIST, ST_NEED_WATCH, ST_WATCHING, ST_BACKOFF } inf_state;

struct gs_informer {
    gs_kube *k;
    char path[512];
    char selector[512];
    gs_informer_trim trim;
    gs_informer_cb cb;
    void *ud;
    json_t *store;
    char rv[64];
    bool synced;
    inf_state state;
    inf_state after_backoff;
    int64_t backoff_until;
    long backoff_ms;
    unsigned seed;
    /* watch transfer */
    CURL *easy;
    struct curl_slist *hdrs;
    char *line;
    size_t line_n, line_cap;
    bool overflow;
    bool gone;          /* a 410 arrived on the stream */
    bool got_event;     /* the current watch delivered something (resets backoff) */
    gs_informer_stats st;
};

static CURLM *g_multi; /* one multi handle for the process's informers */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

gs_informer *gs_informer_new(gs_kube *k, const char *path, const char *selector, gs_informer_trim trim,
                             gs_informer_cb cb, void *ud) {
    gs_informer *inf = calloc(1, sizeof *inf);
    if (!inf) return NULL;
    inf->k = k;
    snprintf(inf->path, sizeof inf->path, "%s", path);
    if (selector) snprintf(inf->selector, sizeof inf->selector, "%s", selector);
    inf->trim = trim;
    inf->cb = cb;
    inf->ud = ud;
    inf->store = json_object();
    inf->state = ST_NEED_LIST;
    inf->backoff_ms = 250;
    inf->seed = (unsigned)now_ms() ^ (unsigned)(uintptr_t)inf;
    return inf;
}

static void stop_watch(gs_informer *inf, CURLM *m) {
    if (!inf->easy) return;
    if (m) curl_multi_remove_handle(m, inf->easy);
    curl_easy_cleanup(inf->easy);
    curl_slist_free_all(inf->hdrs);
    inf->easy = NULL;
    inf->hdrs = NULL;
}

void gs_informer_free(gs_informer *inf) {
    if (!inf) return;
    stop_watch(inf, g_multi);
    json_decref(inf->store);
    free(inf->line);
    free(inf);
}

bool gs_informer_synced(const gs_informer *inf) { return inf->synced; }
const json_t *gs_informer_store(const gs_informer *inf) { return inf->store; }
const char *gs_informer_path(const gs_informer *inf) { return inf->path; }
const char *gs_informer_rv(const gs_informer *inf) { return inf->rv; }
gs_informer_stats gs_informer_get_stats(const gs_informer *inf) { return inf->st; }

const json_t *gs_informer_get(const gs_informer *inf, const char *ns, const char *name) {
    char key[600];
    if (ns && ns[0]) snprintf(key, sizeof key, "%s/%s", ns, name);
    else snprintf(key, sizeof key, "%s", name);
    return json_object_get(inf->store, key);
}

static int obj_key(const json_t *obj, char *key, size_t size) {
    const json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    if (!name) return GS_EPARSE;
    if (ns && ns[0]) snprintf(key, size, "%s/%s", ns, name);
    else snprintf(key, size, "%s", name);
    return 0;
}

static void prepare(gs_informer *inf, json_t *obj) {
    json_t *md = json_object_get(obj, "metadata");
    json_object_del(md, "managedFields");
    if (inf->trim) inf->trim(obj);
}

static void backoff(gs_informer *inf, inf_state then, const char *why) {
    long b = inf->backoff_ms;
    long jitter = b / 5;
    long d = b - jitter + (jitter > 0 ? (long)((unsigned long)rand_r(&inf->seed) % (unsigned long)(2 * jitter + 1)) : 0);
    inf->backoff_until = now_ms() + d;
    inf->state = ST_BACKOFF;
    inf->after_backoff = then;
    inf->backoff_ms = b * 2 > 30000 ? 30000 : b * 2;
    inf->st.errors++;
    gs_log(GS_LOG_WARN, "watch backoff", "path=%s delay_ms=%ld reason=\"%s\"", inf->path, d, why);
}

static int do_list(gs_informer *inf, gs_error *err) {
    json_t *fresh = json_object();
    char cont[2048] = "";
    char rv[64] = "";
    for (;;) {
        char p[4096], sel[1024], ce[2048];
        int n = snprintf(p, sizeof p, "%s?limit=500", inf->path);
        if (inf->selector[0])
            n += snprintf(p + n, sizeof p - (size_t)n, "&labelSelector=%s",
                          gs_kube_qescape(inf->selector, sel, sizeof sel));
        if (cont[0]) snprintf(p + n, sizeof p - (size_t)n, "&continue=%s", gs_kube_qescape(cont, ce, sizeof ce));
        json_t *list = NULL;
        int rc = gs_kube_get(inf->k, p, &list, err);
        if (rc) {
            json_decref(fresh);
            return rc;
        }
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(list, "items"), i, it) {
            char key[600];
            if (obj_key(it, key, sizeof key)) continue;
            prepare(inf, it);
            json_object_set(fresh, key, it);
        }
        const json_t *md = json_object_get(list, "metadata");
        const char *r = json_string_value(json_object_get(md, "resourceVersion"));
        const char *c = json_string_value(json_object_get(md, "continue"));
        if (r) snprintf(rv, sizeof rv, "%s", r);
        snprintf(cont, sizeof cont, "%s", c ? c : "");
        json_decref(list);
        if (!cont[0]) break;
    }
    /* Diff against the cache so callbacks see what changed while we were not watching. */
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(inf->store, tmp, key, v) {
        if (!json_object_get(fresh, key)) {
            json_incref(v);
            json_object_del(inf->store, key);
            if (inf->cb) inf->cb(inf->ud, inf, GS_WATCH_DELETED, v);
            json_decref(v);
        }
    }
    json_object_foreach(fresh, key, v) {
        json_t *old = json_object_get(inf->store, key);
        gs_watch_type t = old ? GS_WATCH_MODIFIED : GS_WATCH_ADDED;
        bool same = old && json_equal(old, v);
        json_object_set(inf->store, key, v);
        if (!same && inf->cb) inf->cb(inf->ud, inf, t, v);
    }
    json_decref(fresh);
    snprintf(inf->rv, sizeof inf->rv, "%s", rv);
    inf->synced = true;
    inf->st.lists++;
    return 0;
}

int gs_informer_feed_line(gs_informer *inf, const char *line, size_t len, gs_error *err) {
    json_error_t je;
    json_t *ev = json_loadb(line, len, 0, &je);
    if (!ev) return gs_error_set(err, GS_EPARSE, "%s: watch line is not JSON: %s", inf->path, je.text);
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    int rc = 0;
    if (!type || !json_is_object(obj)) {
        rc = gs_error_set(err, GS_EPARSE, "%s: watch event without type or object", inf->path);
    } else if (strcmp(type, "ERROR") == 0) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        const char *msg = json_string_value(json_object_get(obj, "message"));
        if (code == 410) {
            inf->st.gone++;
            rc = gs_error_set(err, GS_ECONFLICT, "%s: 410 Gone: %s", inf->path, msg ? msg : "");
        } else {
            rc = gs_error_set(err, GS_EPEER, "%s: watch error %lld: %s", inf->path, (long long)code,
                              msg ? msg : "");
        }
    } else {
        const char *rv0 = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        char rvbuf[64] = "";
        if (rv0) snprintf(rvbuf, sizeof rvbuf, "%s", rv0); /* the trim may replace metadata */
        const char *rv = rv0 ? rvbuf : NULL;
        if (strcmp(type, "BOOKMARK") == 0) {
            inf->st.bookmarks++;
        } else {
            char key[600];
            if (obj_key(obj, key, sizeof key)) {
                rc = gs_error_set(err, GS_EPARSE, "%s: watch object without metadata.name", inf->path);
            } else if (strcmp(type, "DELETED") == 0) {
                json_t *old = json_object_get(inf->store, key);
                if (old) {
                    json_incref(old);
                    json_object_del(inf->store, key);
                    prepare(inf, obj);
                    if (inf->cb) inf->cb(inf->ud, inf, GS_WATCH_DELETED, obj);
                    json_decref(old);
                }
            } else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
                prepare(inf, obj);
                bool existed = json_object_get(inf->store, key) != NULL;
                json_object_set(inf->store, key, obj);
                if (inf->cb) inf->cb(inf->ud, inf, existed ? GS_WATCH_MODIFIED : GS_WATCH_ADDED, obj);
            } else {
                rc = gs_error_set(err, GS_EPARSE, "%s: unknown watch event type %s", inf->path, type);
            }
            inf->st.events++;
        }
        if (rc == 0 && rv) snprintf(inf->rv, sizeof inf->rv, "%s", rv);
    }
    json_decref(ev);
    return rc;
}

static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *ud) {
    gs_informer *inf = ud;
    size_t n = size * nmemb;
    for (size_t i = 0; i < n; i++) {
        char c = ptr[i];
        if (c == '\n') {
            if (inf->line_n > 0) {
                gs_error e;
                gs_error_clear(&e);
                int rc = gs_informer_feed_line(inf, inf->line, inf->line_n, &e);
                inf->line_n = 0;
                if (rc == GS_ECONFLICT) {
                    inf->gone = true;
                    return 0; /* abort the transfer: relist */
                }
                if (rc) gs_log(GS_LOG_WARN, "watch event ignored", "path=%s err=\"%s\"", inf->path, e.msg);
                else inf->got_event = true;
            }
            continue;
        }
        if (inf->line_n + 1 >= inf->line_cap) {
            if (inf->line_cap >= GS_KUBE_MAX_WATCH_LINE) {
                inf->overflow = true;
                return 0;
            }
            size_t nc = inf->line_cap ? inf->line_cap * 2 : 65536;
            char *np = realloc(inf->line, nc);
            if (!np) return 0;
            inf->line = np;
            inf->line_cap = nc;
        }
        inf->line[inf->line_n++] = c;
    }
    return n;
}

static int start_watch(gs_informer *inf, CURLM *m, gs_error *err) {
    char p[4096], sel[1024];
    int n = snprintf(p, sizeof p, "%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%d",
                     inf->path, inf->rv, 240 + (int)(rand_r(&inf->seed) % 120));
    if (inf->selector[0])
        snprintf(p + n, sizeof p - (size_t)n, "&labelSelector=%s", gs_kube_qescape(inf->selector, sel, sizeof sel));
    inf->easy = curl_easy_init();
    if (!inf->easy) return GS_ENOMEM;
    int rc = gs_kube_setup_easy(inf->k, inf->easy, p, NULL, &inf->hdrs, err);
    if (rc) {
        stop_watch(inf, NULL);
        return rc;
    }
    curl_easy_setopt(inf->easy, CURLOPT_WRITEFUNCTION, watch_write);
    curl_easy_setopt(inf->easy, CURLOPT_WRITEDATA, inf);
    curl_easy_setopt(inf->easy, CURLOPT_PRIVATE, inf);
    /* A dead connection must not hang a watch forever: no bytes for 90 s ends it (bookmarks
     * arrive about every minute). */
    curl_easy_setopt(inf->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(inf->easy, CURLOPT_LOW_SPEED_TIME, 90L);
    curl_easy_setopt(inf->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    inf->line_n = 0;
    inf->overflow = inf->gone = inf->got_event = false;
    curl_multi_add_handle(m, inf->easy);
    inf->state = ST_WATCHING;
    inf->st.watches++;
    return 0;
}

static void watch_done(gs_informer *inf, CURLM *m, CURLcode cc) {
    long status = 0;
    curl_easy_getinfo(inf->easy, CURLINFO_RESPONSE_CODE, &status);
    bool gone = inf->gone || status == 410, overflow = inf->overflow, got = inf->got_event;
    stop_watch(inf, m);
    if (gone) {
        inf->st.gone += status == 410 ? 1 : 0;
        gs_log(GS_LOG_INFO, "watch expired, relisting", "path=%s rv=%s", inf->path, inf->rv);
        inf->state = ST_NEED_LIST;
        return;
    }
    if (overflow) {
        backoff(inf, ST_NEED_LIST, "watch line over the maximum");
        return;
    }
    if ((cc == CURLE_OK || cc == CURLE_OPERATION_TIMEDOUT) && status == 200) {
        /* the server closed the watch (timeoutSeconds), or a quiet one went 90 s without a
         * byte (dead connection or nothing to say): resume from the last resourceVersion; a
         * server that is really gone fails the reconnect and gets the backoff */
        if (got) inf->backoff_ms = 250;
        inf->state = ST_NEED_WATCH;
        return;
    }
    char why[160];
    if (cc != CURLE_OK) snprintf(why, sizeof why, "%s", curl_easy_strerror(cc));
    else snprintf(why, sizeof why, "HTTP %ld", status);
    backoff(inf, ST_NEED_WATCH, why);
}


int gs_informers_poll(gs_informer **infs, int n, int timeout_ms, gs_error *err) {
    if (!g_multi) g_multi = curl_multi_init();
    if (!g_multi) return GS_ENOMEM;
    int64_t t = now_ms();
    int64_t wait = timeout_ms;
    for (int i = 0; i < n; i++) {
        gs_informer *inf = infs[i];
        if (inf->state == ST_BACKOFF) {
            if (t < inf->backoff_until) {
                if (inf->backoff_until - t < wait) wait = inf->backoff_until - t;
                continue;
            }
            inf->state = inf->after_backoff;
        }
        if (inf->state == ST_NEED_LIST) {
            gs_error e;
            gs_error_clear(&e);
            if (do_list(inf, &e) != 0) {
                backoff(inf, ST_NEED_LIST, e.msg);
                continue;
            }
            inf->backoff_ms = 250;
            inf->state = ST_NEED_WATCH;
        }
        if (inf->state == ST_NEED_WATCH) {
            int rc = start_watch(inf, g_multi, err);
            if (rc) return rc;
        }
    }
    if (wait < 0) wait = 0;
    int running = 0;
    curl_multi_perform(g_multi, &running);
    curl_multi_poll(g_multi, NULL, 0, (int)wait, NULL);
    curl_multi_perform(g_multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(g_multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        gs_informer *inf = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&inf);
        if (inf) watch_done(inf, g_multi, msg->data.result);
    }
    return 0;
}

void gs_informers_shutdown(void) {
    if (g_multi) curl_multi_cleanup(g_multi);
    g_multi = NULL;
}
