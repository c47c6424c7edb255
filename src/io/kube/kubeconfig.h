/* Where the API server is and who we are: from a kubeconfig file (current context or a named
 * one) or from the in-cluster service account. */
#ifndef GS_IO_KUBE_KUBECONFIG_H
#define GS_IO_KUBE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "model/err.h"

#define GS_KUBE_PATH_MAX 1024
#define GS_KUBE_TOKEN_MAX 8192
#define GS_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

typedef struct gs_kube_config {
    char server[512];             /* "https://127.0.0.1:6443" (no trailing slash) */
    char ns[64];                  /* context namespace, "default" when unset */
    char context[256];            /* context used ("" in-cluster) */
    /* TLS: CA as PEM data (owned) or a file; client cert/key likewise. */
    char *ca_pem;
    char ca_file[GS_KUBE_PATH_MAX];
    char *cert_pem, *key_pem;
    char cert_file[GS_KUBE_PATH_MAX], key_file[GS_KUBE_PATH_MAX];
    bool insecure;                /* insecure-skip-tls-verify: only when the kubeconfig says so */
    /* Bearer token: literal, or a file re-read whenever it changes (rotation). */
    char token[GS_KUBE_TOKEN_MAX];
    char token_file[GS_KUBE_PATH_MAX];
} gs_kube_config;

void gs_kube_config_free(gs_kube_config *c); /* frees the PEM buffers; c may be reused */

/* Parses kubeconfig text. context NULL = current-context. dir resolves relative file paths
 * (the kubeconfig's directory). Errors name the file and, for syntax errors, line:col. */
int gs_kubeconfig_parse(const char *text, size_t len, const char *file, const char *dir,
                        const char *context, gs_kube_config *out, gs_error *err);
/* Reads and parses a kubeconfig file. */
int gs_kubeconfig_load(const char *path, const char *context, gs_kube_config *out, gs_error *err);
/* In-cluster: host/port from the two environment values given (KUBERNETES_SERVICE_HOST/PORT,
 * read by the caller), token file, CA and namespace from sa_dir (GS_KUBE_SA_DIR normally). */
int gs_kube_incluster(const char *host, const char *port, const char *sa_dir, gs_kube_config *out,
                      gs_error *err);

#endif
