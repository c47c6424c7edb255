/* List+watch informers with a local cache, driven together by one libcurl multi handle.
 *
 * Each informer lists its collection (paginated, limit=500), then watches from the list's
 * resourceVersion with allowWatchBookmarks; a closed watch resumes from the last
 * resourceVersion seen; `410 Gone` (as HTTP status or as a watch ERROR event) relists; any
 * other failure backs off exponentially (250 ms doubling to 30 s, +-20 % jitter). A watch line
 * longer than GS_KUBE_MAX_WATCH_LINE aborts the watch and relists. Objects are stored by
 * "namespace/name" (or "name") with metadata.managedFields dropped, plus an optional trim. */
#ifndef GS_IO_KUBE_INFORMER_H
#define GS_IO_KUBE_INFORMER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/kube/kube.h"

typedef struct gs_informer gs_informer;

typedef enum { GS_WATCH_ADDED, GS_WATCH_MODIFIED, GS_WATCH_DELETED } gs_watch_type;

/* Called for every change to the cache (also for each object of a (re)list: ADDED, MODIFIED
 * or DELETED by difference with the cache). obj is borrowed. */
typedef void (*gs_informer_cb)(void *ud, gs_informer *inf, gs_watch_type t, const json_t *obj);
/* Optional: reduces an object before it is stored (memory); edits obj in place. */
typedef void (*gs_informer_trim)(json_t *obj);

/* path: the collection, e.g. "/api/v1/pods" or "/apis/gpuscale.dev/v1alpha1/gpupools".
 * selector: labelSelector (NULL = all). The informer keeps k (borrowed; outlives it). */
gs_informer *gs_informer_new(gs_kube *k, const char *path, const char *selector, gs_informer_trim trim,
                             gs_informer_cb cb, void *ud);
void gs_informer_free(gs_informer *inf);

/* Typed cache (memory: a pod decoded into a small record is a few hundred bytes where its
 * JSON tree is tens of kilobytes). With a codec the informer keeps, for each object, what
 * decode returns instead of the JSON: gs_informer_store and gs_informer_get return NULL; use
 * gs_informer_rec and gs_informer_next. A relist decodes page by page, so it never holds the
 * collection's JSON at once. */
typedef struct gs_informer_codec {
    /* obj (managedFields dropped) -> a malloc'd record; NULL skips the object (logged) */
    void *(*decode)(void *ud, const json_t *obj);
    bool (*equal)(const void *a, const void *b);   /* unchanged by a relist? */
    void (*release)(void *rec);
    void *ud;
} gs_informer_codec;
/* Called for every change to a typed cache; rec is the new record (ADDED, MODIFIED) or the
 * removed one (DELETED), valid during the call. */
typedef void (*gs_informer_rec_cb)(void *ud, gs_informer *inf, gs_watch_type t, const char *key, const void *rec);
gs_informer *gs_informer_new_typed(gs_kube *k, const char *path, const char *selector,
                                   const gs_informer_codec *codec, gs_informer_rec_cb cb, void *ud);
const void *gs_informer_rec(const gs_informer *inf, const char *ns, const char *name);
/* Iterates a typed cache: start with *pos = 0; returns false after the last record. The
 * cache must not change during an iteration (no poll in between). */
bool gs_informer_next(const gs_informer *inf, size_t *pos, const char **key, const void **rec);
/* Objects cached (either mode). */
size_t gs_informer_count(const gs_informer *inf);

/* Drives every informer: (re)lists those that need it (blocking), then waits up to timeout_ms
 * for watch data and applies it. Returns 0, or a negative gs_err only for local failures
 * (the network's are retried with backoff). */
int gs_informers_poll(gs_informer **infs, int n, int timeout_ms, gs_error *err);

/* Releases the shared multi handle once every informer is freed (end of process / tests). */
void gs_informers_shutdown(void);

bool gs_informer_synced(const gs_informer *inf);       /* first list done */
const json_t *gs_informer_store(const gs_informer *inf); /* object: key -> object (borrowed) */
const json_t *gs_informer_get(const gs_informer *inf, const char *ns, const char *name);
const char *gs_informer_path(const gs_informer *inf);
const char *gs_informer_rv(const gs_informer *inf);    /* last resourceVersion seen */

typedef struct gs_informer_stats {
    int64_t lists, watches, events, bookmarks, gone, errors;
} gs_informer_stats;
gs_informer_stats gs_informer_get_stats(const gs_informer *inf);

/* Exposed for tests: feeds one watch line as if read from the stream. Returns 0, GS_EPARSE for
 * a malformed line, GS_ECONFLICT for a 410 Gone ERROR event (relist needed), GS_EPEER for
 * another ERROR event. */
int gs_informer_feed_line(gs_informer *inf, const char *line, size_t len, gs_error *err);

#endif
