/* Shared between kube.c and informer.c; not part of the public interface. */
#ifndef GS_IO_KUBE_INTERNAL_H
#define GS_IO_KUBE_INTERNAL_H

#include <curl/curl.h>

#include "io/kube/kube.h"

/* Sets URL (server + path), TLS and the Authorization header on e. *hdrs receives the header
 * list (caller frees after the transfer). extra_header may be NULL. */
int gs_kube_setup_easy(gs_kube *k, CURL *e, const char *path, const char *extra_header,
                       struct curl_slist **hdrs, gs_error *err);

#endif
