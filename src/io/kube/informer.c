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
    json_t *store;          /* JSON mode: key -> object */
    gs_informer_codec codec; /* typed mode when codec.decode is set */
    gs_informer_rec_cb rcb;
    struct rmap *recs;      /* typed mode: key -> record */
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

/* ---- typed mode: an open-addressing map key -> record ---- */

typedef struct rslot {
    char *key;   /* NULL: empty; TOMB: deleted */
    void *rec;
    uint64_t hash;
} rslot;
typedef struct rmap {
    rslot *s;
    size_t cap, used, live; /* used counts tombstones too */
} rmap;
static char tomb_mark;
#define TOMB (&tomb_mark)

static uint64_t khash(const char *k) {
    uint64_t h = 14695981039346656037ULL;
    for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ULL;
    return h;
}

static rslot *rmap_find(const rmap *m, const char *key, uint64_t h) {
    if (!m || !m->cap) return NULL;
    for (size_t i = (size_t)h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        rslot *x = &m->s[i];
        if (!x->key) return NULL;
        if (x->key != TOMB && x->hash == h && strcmp(x->key, key) == 0) return x;
    }
}

static int rmap_grow(rmap *m) {
    size_t ncap = m->cap ? m->cap : 64;
    while ((m->live + 1) * 2 > ncap) ncap *= 2;
    if (ncap == m->cap && (m->used + 1) * 4 <= m->cap * 3) return 0;
    rslot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return GS_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        rslot *x = &m->s[i];
        if (!x->key || x->key == TOMB) continue;
        size_t j = (size_t)x->hash & (ncap - 1);
        while (ns[j].key) j = (j + 1) & (ncap - 1);
        ns[j] = *x;
    }
    free(m->s);
    m->s = ns;
    m->cap = ncap;
    m->used = m->live;
    return 0;
}

/* Puts rec under key; *old gets the replaced record (or NULL). */
static int rmap_put(rmap *m, const char *key, void *rec, void **old) {
    uint64_t h = khash(key);
    *old = NULL;
    rslot *x = rmap_find(m, key, h);
    if (x) {
        *old = x->rec;
        x->rec = rec;
        return 0;
    }
    if ((m->used + 1) * 4 > m->cap * 3 && rmap_grow(m)) return GS_ENOMEM;
    char *k = strdup(key);
    if (!k) return GS_ENOMEM;
    size_t j = (size_t)h & (m->cap - 1);
    while (m->s[j].key && m->s[j].key != TOMB) j = (j + 1) & (m->cap - 1);
    if (!m->s[j].key) m->used++;
    m->s[j] = (rslot){k, rec, h};
    m->live++;
    return 0;
}

/* Removes key; returns its record (NULL if absent). */
static void *rmap_del(rmap *m, const char *key) {
    rslot *x = rmap_find(m, key, khash(key));
    if (!x) return NULL;
    void *rec = x->rec;
    free(x->key);
    x->key = TOMB;
    x->rec = NULL;
    m->live--;
    return rec;
}

static void rmap_free(rmap *m, void (*release)(void *)) {
    if (!m) return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].key && m->s[i].key != TOMB) {
            if (release) release(m->s[i].rec);
            free(m->s[i].key);
        }
    free(m->s);
    free(m);
}

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

gs_informer *gs_informer_new_typed(gs_kube *k, const char *path, const char *selector,
                                   const gs_informer_codec *codec, gs_informer_rec_cb cb, void *ud) {
    if (!codec || !codec->decode || !codec->equal || !codec->release) return NULL;
    gs_informer *inf = gs_informer_new(k, path, selector, NULL, NULL, ud);
    if (!inf) return NULL;
    inf->codec = *codec;
    inf->rcb = cb;
    inf->recs = calloc(1, sizeof *inf->recs);
    if (!inf->recs) {
        gs_informer_free(inf);
        return NULL;
    }
    return inf;
}

void gs_informer_free(gs_informer *inf) {
    if (!inf) return;
    stop_watch(inf, g_multi);
    json_decref(inf->store);
    rmap_free(inf->recs, inf->codec.release);
    free(inf->line);
    free(inf);
}

bool gs_informer_synced(const gs_informer *inf) { return inf->synced; }
const json_t *gs_informer_store(const gs_informer *inf) { return inf->codec.decode ? NULL : inf->store; }

size_t gs_informer_count(const gs_informer *inf) {
    return inf->codec.decode ? inf->recs->live : json_object_size(inf->store);
}

static void make_key(const char *ns, const char *name, char *key, size_t size) {
    if (ns && ns[0]) snprintf(key, size, "%s/%s", ns, name);
    else snprintf(key, size, "%s", name);
}

const void *gs_informer_rec(const gs_informer *inf, const char *ns, const char *name) {
    if (!inf->codec.decode) return NULL;
    char key[600];
    make_key(ns, name, key, sizeof key);
    rslot *x = rmap_find(inf->recs, key, khash(key));
    return x ? x->rec : NULL;
}

bool gs_informer_next(const gs_informer *inf, size_t *pos, const char **key, const void **rec) {
    if (!inf->codec.decode) return false;
    const rmap *m = inf->recs;
    for (; *pos < m->cap; (*pos)++) {
        const rslot *x = &m->s[*pos];
        if (!x->key || x->key == TOMB) continue;
        if (key) *key = x->key;
        if (rec) *rec = x->rec;
        (*pos)++;
        return true;
    }
    return false;
}
const char *gs_informer_path(const gs_informer *inf) { return inf->path; }
const char *gs_informer_rv(const gs_informer *inf) { return inf->rv; }
gs_informer_stats gs_informer_get_stats(const gs_informer *inf) { return inf->st; }

const json_t *gs_informer_get(const gs_informer *inf, const char *ns, const char *name) {
    if (inf->codec.decode) return NULL;
    char key[600];
    make_key(ns, name, key, sizeof key);
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

/* One page (limit=500) of the collection, continuing from cont when it is not empty. */
static int get_page(const gs_informer *inf, const char *cont, json_t **list, gs_error *err) {
    char p[4096], sel[1024], ce[2048];
    int n = snprintf(p, sizeof p, "%s?limit=500", inf->path);
    if (inf->selector[0])
        n += snprintf(p + n, sizeof p - (size_t)n, "&labelSelector=%s", gs_kube_qescape(inf->selector, sel, sizeof sel));
    if (cont[0]) snprintf(p + n, sizeof p - (size_t)n, "&continue=%s", gs_kube_qescape(cont, ce, sizeof ce));
    return gs_kube_get(inf->k, p, list, err);
}

/* Typed mode's relist: records decoded page by page, then diffed against the cache. */
static int do_list_typed(gs_informer *inf, gs_error *err) {
    rmap *fresh = calloc(1, sizeof *fresh);
    if (!fresh) return GS_ENOMEM;
    char cont[2048] = "";
    char rv[64] = "";
    int rc = 0;
    for (;;) {
        json_t *list = NULL;
        rc = get_page(inf, cont, &list, err);
        if (rc) break;
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(list, "items"), i, it) {
            char key[600];
            if (obj_key(it, key, sizeof key)) continue;
            prepare(inf, it);
            void *rec = inf->codec.decode(inf->codec.ud, it), *old = NULL;
            if (!rec) {
                gs_log(GS_LOG_WARN, "object not cached", "path=%s key=%s", inf->path, key);
                continue;
            }
            if (rmap_put(fresh, key, rec, &old)) {
                inf->codec.release(rec);
                rc = gs_error_set(err, GS_ENOMEM, "%s: out of memory", inf->path);
                break;
            }
            if (old) inf->codec.release(old);
        }
        const json_t *md = json_object_get(list, "metadata");
        const char *r = json_string_value(json_object_get(md, "resourceVersion"));
        const char *c = json_string_value(json_object_get(md, "continue"));
        if (r) snprintf(rv, sizeof rv, "%s", r);
        snprintf(cont, sizeof cont, "%s", c ? c : "");
        json_decref(list);
        if (rc || !cont[0]) break;
    }
    if (rc) {
        rmap_free(fresh, inf->codec.release);
        return rc;
    }
    rmap *st = inf->recs;
    for (size_t i = 0; i < st->cap; i++) {
        rslot *x = &st->s[i];
        if (!x->key || x->key == TOMB || rmap_find(fresh, x->key, x->hash)) continue;
        if (inf->rcb) inf->rcb(inf->ud, inf, GS_WATCH_DELETED, x->key, x->rec);
        inf->codec.release(rmap_del(st, x->key));
    }
    for (size_t i = 0; i < fresh->cap; i++) {
        rslot *x = &fresh->s[i];
        if (!x->key || x->key == TOMB) continue;
        rslot *o = rmap_find(st, x->key, x->hash);
        if (o && inf->codec.equal(o->rec, x->rec)) {
            inf->codec.release(x->rec);
            continue;
        }
        void *old = NULL;
        if (rmap_put(st, x->key, x->rec, &old)) { /* out of memory: drop it, the next relist retries */
            inf->codec.release(x->rec);
            continue;
        }
        if (inf->rcb) inf->rcb(inf->ud, inf, old ? GS_WATCH_MODIFIED : GS_WATCH_ADDED, x->key, x->rec);
        if (old) inf->codec.release(old);
    }
    rmap_free(fresh, NULL); /* its records moved to the cache or were released */
    snprintf(inf->rv, sizeof inf->rv, "%s", rv);
    inf->synced = true;
    inf->st.lists++;
    return 0;
}

static int do_list(gs_informer *inf, gs_error *err) {
    if (inf->codec.decode) return do_list_typed(inf, err);
    json_t *fresh = json_object();
    char cont[2048] = "";
    char rv[64] = "";
    for (;;) {
        json_t *list = NULL;
        int rc = get_page(inf, cont, &list, err);
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
            } else if (inf->codec.decode && strcmp(type, "DELETED") == 0) {
                rslot *x = rmap_find(inf->recs, key, khash(key));
                if (x) {
                    if (inf->rcb) inf->rcb(inf->ud, inf, GS_WATCH_DELETED, key, x->rec);
                    inf->codec.release(rmap_del(inf->recs, key));
                }
            } else if (inf->codec.decode && (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0)) {
                prepare(inf, obj);
                void *rec = inf->codec.decode(inf->codec.ud, obj), *old = NULL;
                if (!rec) {
                    rc = gs_error_set(err, GS_EPARSE, "%s: %s could not be cached", inf->path, key);
                } else if (rmap_put(inf->recs, key, rec, &old)) {
                    inf->codec.release(rec);
                    rc = gs_error_set(err, GS_ENOMEM, "%s: out of memory", inf->path);
                } else {
                    if (inf->rcb) inf->rcb(inf->ud, inf, old ? GS_WATCH_MODIFIED : GS_WATCH_ADDED, key, rec);
                    if (old) inf->codec.release(old);
                }
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
