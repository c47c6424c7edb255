/* A thin Kubernetes API client (libcurl + jansson): requests with the kubeconfig's identity,
 * typed helpers for the dozen endpoints gpuscale uses (merge patch / server-side apply with
 * conflict retry, the /scale subresource, the Eviction API chosen by discovery, Events).
 * Watches and the informer cache are in informer.h. Not thread-safe: one gs_kube per thread. */
#ifndef GS_IO_KUBE_KUBE_H
#define GS_IO_KUBE_KUBE_H

#include <jansson.h>
#include <stdint.h>

#include "io/kube/kubeconfig.h"
#include "model/err.h"

#define GS_KUBE_MAX_BODY (256u << 20)   /* largest response body accepted */
#define GS_KUBE_MAX_WATCH_LINE (8u << 20) /* largest single watch event */
#define GS_KUBE_FIELD_MANAGER "gpuscale"

typedef struct gs_kube gs_kube;

/* Copies cfg (the caller keeps and frees its own). timeout_ms bounds each plain request. */
int gs_kube_new(const gs_kube_config *cfg, long timeout_ms, gs_kube **out, gs_error *err);
void gs_kube_free(gs_kube *k);
const gs_kube_config *gs_kube_cfg(const gs_kube *k);

/* One request. path starts with "/" (query included). body NULL = none; ctype NULL =
 * application/json. Returns 0 when the server answered (any status: see *status), GS_EIO when
 * it could not be reached, GS_ETOOBIG for a body over GS_KUBE_MAX_BODY. *resp (may be NULL)
 * receives the parsed JSON body or NULL (caller owns). */
int gs_kube_do(gs_kube *k, const char *method, const char *path, const char *ctype,
               const json_t *body, long *status, json_t **resp, gs_error *err);

/* Status -> gs_err: 2xx 0, 404 GS_ENOENT, 409 GS_ECONFLICT (also 422 AlreadyExists is not),
 * 401/403 GS_EAUTH, 429 GS_EBUDGET (eviction blocked by a PodDisruptionBudget), else GS_EPEER.
 * The API server's Status message goes into err. */
int gs_kube_status_err(long status, const json_t *resp, const char *method, const char *path, gs_error *err);

/* Helpers: return 0 on 2xx or the mapped error; *out (may be NULL) gets the object. */
int gs_kube_get(gs_kube *k, const char *path, json_t **out, gs_error *err);
int gs_kube_create(gs_kube *k, const char *path, const json_t *obj, json_t **out, gs_error *err);
int gs_kube_delete(gs_kube *k, const char *path, gs_error *err);
/* JSON merge patch (RFC 7386); a 409 (patch carrying metadata.resourceVersion) is retried up
 * to 5 times with backoff, re-sent as given. */
int gs_kube_merge_patch(gs_kube *k, const char *path, const json_t *patch, json_t **out, gs_error *err);
/* Server-side apply as field manager "gpuscale" (force=true takes over conflicting fields);
 * 409 retried. subresource may be NULL or "status". */
int gs_kube_apply(gs_kube *k, const char *path, const json_t *obj, json_t **out, gs_error *err);
/* Create, or when it exists, server-side apply. */
int gs_kube_create_or_apply(gs_kube *k, const char *coll_path, const char *name, const json_t *obj,
                            gs_error *err);

/* /scale subresource of apps/v1 deployments|statefulsets (kind is the plural resource). */
int gs_kube_scale_get(gs_kube *k, const char *resource, const char *ns, const char *name,
                      int32_t *spec, int32_t *status, gs_error *err);
int gs_kube_scale_set(gs_kube *k, const char *resource, const char *ns, const char *name,
                      int32_t replicas, gs_error *err);

/* Eviction group version found by discovery ("policy/v1" or "policy/v1beta1"), cached; NULL
 * when the server offers neither. */
const char *gs_kube_eviction_version(gs_kube *k, gs_error *err);
/* Evicts a pod through the Eviction API. GS_EBUDGET when a PodDisruptionBudget refuses (429):
 * the caller waits and tries later, never forces. GS_ENOENT if the pod is gone. */
int gs_kube_evict(gs_kube *k, const char *ns, const char *pod, gs_error *err);

/* Records a core/v1 Event about an object (kind, apiVersion, ns, name, uid may be ""). type is
 * "Normal" or "Warning". */
int gs_kube_event(gs_kube *k, const char *api_version, const char *kind, const char *ns,
                  const char *name, const char *uid, const char *type, const char *reason,
                  const char *message, gs_error *err);

/* Percent-encodes s for a query value into buf. */
const char *gs_kube_qescape(const char *s, char *buf, size_t size);

#endif
