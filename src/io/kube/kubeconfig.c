#include "io/kube/kubeconfig.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/fs.h"
#include "io/kube/yamljson.h"

void gs_kube_config_free(gs_kube_config *c) {
    free(c->ca_pem);
    free(c->cert_pem);
    free(c->key_pem);
    c->ca_pem = c->cert_pem = c->key_pem = NULL;
}

static const json_t *find_named(const json_t *list, const char *name, const char *inner) {
    size_t i;
    const json_t *e;
    if (!json_is_array(list)) return NULL;
    json_array_foreach(list, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && strcmp(n, name) == 0) return json_object_get(e, inner);
    }
    return NULL;
}

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static int copy_str(char *dst, size_t cap, const char *src, const char *file, const char *what,
                    gs_error *err) {
    size_t n = strlen(src);
    if (n >= cap) return gs_error_set(err, GS_ETOOBIG, "%s: %s is longer than %zu bytes", file, what, cap - 1);
    memcpy(dst, src, n + 1);
    return 0;
}

static int copy_path(char *dst, size_t cap, const char *dir, const char *p, const char *file,
                     const char *what, gs_error *err) {
    char buf[GS_KUBE_PATH_MAX * 2];
    if (p[0] != '/' && dir && dir[0]) {
        snprintf(buf, sizeof buf, "%s/%s", dir, p);
        p = buf;
    }
    return copy_str(dst, cap, p, file, what, err);
}

/* base64 (standard alphabet, padding optional, whitespace skipped) -> malloc'd NUL-terminated. */
static char *b64dec(const char *in, size_t *outlen) {
    size_t n = strlen(in);
    char *out = malloc(n / 4 * 3 + 4);
    if (!out) return NULL;
    unsigned v = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        int d;
        if (ch >= 'A' && ch <= 'Z') d = ch - 'A';
        else if (ch >= 'a' && ch <= 'z') d = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9') d = ch - '0' + 52;
        else if (ch == '+') d = 62;
        else if (ch == '/') d = 63;
        else if (ch == '=' || ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t') continue;
        else { free(out); return NULL; }
        v = (v << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((v >> bits) & 0xffu);
        }
    }
    out[o] = '\0';
    if (outlen) *outlen = o;
    return out;
}

static int data_field(const json_t *o, const char *key, char **dst, const char *file, gs_error *err) {
    const char *v = str(o, key);
    if (!v) return 0;
    *dst = b64dec(v, NULL);
    if (!*dst) return gs_error_set(err, GS_EPARSE, "%s: %s is not valid base64", file, key);
    return 0;
}

int gs_kubeconfig_parse(const char *text, size_t len, const char *file, const char *dir,
                        const char *context, gs_kube_config *out, gs_error *err) {
    memset(out, 0, sizeof *out);
    if (!file) file = "kubeconfig";
    json_t *docs = NULL;
    int rc = gs_yaml_to_json(text, len, file, &docs, err);
    if (rc) return rc;
    const json_t *root = json_array_get(docs, 0);
    if (!json_is_object(root)) {
        int r_ = gs_error_set(err, GS_EPARSE, "%s: not a kubeconfig (expected a mapping)", file);
        json_decref(docs);
        return r_;
    }
    const char *ctxname = context ? context : str(root, "current-context");
    if (!ctxname || !ctxname[0]) {
        int r_ = gs_error_set(err, GS_EINVAL, "%s: no current-context set and no --context given", file);
        json_decref(docs);
        return r_;
    }
    const json_t *ctx = find_named(json_object_get(root, "contexts"), ctxname, "context");
    if (!json_is_object(ctx)) {
        int r_ = gs_error_set(err, GS_ENOENT, "%s: context \"%s\" not found", file, ctxname);
        json_decref(docs);
        return r_;
    }
    const char *cl = str(ctx, "cluster"), *us = str(ctx, "user"), *ns = str(ctx, "namespace");
    const json_t *cluster = cl ? find_named(json_object_get(root, "clusters"), cl, "cluster") : NULL;
    if (!json_is_object(cluster)) {
        int r_ = gs_error_set(err, GS_ENOENT, "%s: cluster \"%s\" of context \"%s\" not found", file,
                            cl ? cl : "", ctxname);
        json_decref(docs);
        return r_;
    }
    const json_t *user = us ? find_named(json_object_get(root, "users"), us, "user") : NULL;
    if (us && !user) {
        int r_ = gs_error_set(err, GS_ENOENT, "%s: user \"%s\" of context \"%s\" not found", file, us, ctxname);
        json_decref(docs);
        return r_;
    }
    const char *server = str(cluster, "server");
    if (!server || strncmp(server, "https://", 8) != 0) {
        int r_ = gs_error_set(err, GS_EINVAL, "%s: cluster \"%s\": server must be an https:// URL (got \"%s\")",
                            file, cl, server ? server : "");
        json_decref(docs);
        return r_;
    }
    rc = copy_str(out->server, sizeof out->server, server, file, "server", err);
    if (!rc) {
        size_t n = strlen(out->server);
        while (n > 0 && out->server[n - 1] == '/') out->server[--n] = '\0';
        rc = copy_str(out->ns, sizeof out->ns, ns && ns[0] ? ns : "default", file, "namespace", err);
    }
    if (!rc) rc = copy_str(out->context, sizeof out->context, ctxname, file, "context", err);
    const json_t *ins = json_object_get(cluster, "insecure-skip-tls-verify");
    out->insecure = json_is_true(ins) || (json_is_string(ins) && strcmp(json_string_value(ins), "true") == 0);
    if (!rc) rc = data_field(cluster, "certificate-authority-data", &out->ca_pem, file, err);
    if (!rc && !out->ca_pem && str(cluster, "certificate-authority"))
        rc = copy_path(out->ca_file, sizeof out->ca_file, dir, str(cluster, "certificate-authority"), file,
                       "certificate-authority", err);
    if (user && !rc) {
        if (str(user, "token")) rc = copy_str(out->token, sizeof out->token, str(user, "token"), file, "token", err);
        else if (str(user, "tokenFile"))
            rc = copy_path(out->token_file, sizeof out->token_file, dir, str(user, "tokenFile"), file, "tokenFile", err);
        if (!rc) rc = data_field(user, "client-certificate-data", &out->cert_pem, file, err);
        if (!rc) rc = data_field(user, "client-key-data", &out->key_pem, file, err);
        if (!rc && !out->cert_pem && str(user, "client-certificate"))
            rc = copy_path(out->cert_file, sizeof out->cert_file, dir, str(user, "client-certificate"), file,
                           "client-certificate", err);
        if (!rc && !out->key_pem && str(user, "client-key"))
            rc = copy_path(out->key_file, sizeof out->key_file, dir, str(user, "client-key"), file, "client-key", err);
        if (!rc && (json_object_get(user, "exec") || json_object_get(user, "auth-provider")))
            rc = gs_error_set(err, GS_EUNSUPPORTED,
                              "%s: user \"%s\": exec and auth-provider credentials are not supported; use a token, "
                              "tokenFile or client certificate", file, us);
        bool has_cert = out->cert_pem || out->cert_file[0], has_key = out->key_pem || out->key_file[0];
        if (!rc && has_cert != has_key)
            rc = gs_error_set(err, GS_EINVAL, "%s: user \"%s\": a client certificate needs its key and vice versa",
                              file, us);
    }
    json_decref(docs);
    if (rc) gs_kube_config_free(out);
    return rc;
}

int gs_kubeconfig_load(const char *path, const char *context, gs_kube_config *out, gs_error *err) {
    size_t len = 0;
    char *text = NULL;
    int rc = gs_fs_read(path, GS_YAML_MAX_BYTES, &text, &len, err);
    if (rc) return rc;
    char dir[GS_KUBE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    rc = gs_kubeconfig_parse(text, len, path, dir, context, out, err);
    free(text);
    return rc;
}

int gs_kube_incluster(const char *host, const char *port, const char *sa_dir, gs_kube_config *out,
                      gs_error *err) {
    memset(out, 0, sizeof *out);
    if (!host || !host[0] || !port || !port[0])
        return gs_error_set(err, GS_EINVAL,
                            "not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset (use --kubeconfig)");
    if (strchr(host, ':')) snprintf(out->server, sizeof out->server, "https://[%s]:%s", host, port);
    else snprintf(out->server, sizeof out->server, "https://%s:%s", host, port);
    snprintf(out->token_file, sizeof out->token_file, "%s/token", sa_dir);
    snprintf(out->ca_file, sizeof out->ca_file, "%s/ca.crt", sa_dir);
    char p[GS_KUBE_PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/namespace", sa_dir);
    char *ns = NULL;
    size_t n = 0;
    if (gs_fs_read(p, 256, &ns, &n, NULL) == 0) {
        while (n > 0 && (ns[n - 1] == '\n' || ns[n - 1] == ' ')) ns[--n] = '\0';
        snprintf(out->ns, sizeof out->ns, "%s", ns);
        free(ns);
    } else {
        snprintf(out->ns, sizeof out->ns, "default");
    }
    FILE *f = fopen(out->token_file, "r");
    if (!f) return gs_error_set(err, GS_ENOENT, "in-cluster: cannot read %s", out->token_file);
    fclose(f);
    return 0;
}
