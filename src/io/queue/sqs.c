/* AWS SQS source: GetQueueAttributes over the AWS JSON 1.0 protocol (POST /,
 * X-Amz-Target: AmazonSQS.GetQueueAttributes), signed with our SigV4 signer (sigv4.h).
 * Metadata (KEDA "aws-sqs-queue" names): queueURL or queueURLFromEnv, awsRegion (else taken from the URL's host
 * sqs.<region>.amazonaws.com), awsEndpoint (another base URL, e.g. a local endpoint),
 * scaleOnInFlight (default true: + ApproximateNumberOfMessagesNotVisible), scaleOnDelayed
 * (default false: + ApproximateNumberOfMessagesDelayed). Credentials: awsAccessKeyID,
 * awsSecretAccessKey, awsSessionToken via ...FromEnv / ...File, else the environment's
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/queue/parse.h"
#include "io/queue/qhttp.h"
#include "io/queue/queue.h"
#include "io/queue/sigv4.h"

typedef struct ssrc {
    char queue_url[GS_VALUE_LEN];
    char endpoint[GS_VALUE_LEN];     /* scheme://host[:port] */
    char hostport[GS_VALUE_LEN];     /* Host header */
    char region[64];
    bool in_flight, delayed;
    char akid[256];
    char secret[GS_QUEUE_SECRET_MAX];
    char token[GS_QUEUE_SECRET_MAX];
    gs_qhttp_tls tls;
    char ca[GS_VALUE_LEN];
    gs_qhttp http;
} ssrc;

static void s_free(ssrc *s) {
    if (!s) return;
    gs_qhttp_free(&s->http);
    memset(s->secret, 0, sizeof s->secret);
    memset(s->token, 0, sizeof s->token);
    free(s);
}

static int cred(const gs_trigger *t, const char *param, const char *env, char *out, size_t cap,
                bool required, gs_error *err) {
    bool found = false;
    int rc = gs_queue_secret(t, param, out, cap, &found, err);
    if (rc) return rc;
    if (found) return 0;
    const char *v = getenv(env);
    if (v && strlen(v) < cap) {
        memcpy(out, v, strlen(v) + 1);
        return 0;
    }
    if (required)
        return gs_error_set(err, GS_ENOENT,
                            "trigger %s: no %s: set %sFromEnv/%sFile or the environment variable %s",
                            t->name, param, param, param, env);
    out[0] = '\0';
    return 0;
}

/* scheme://host[:port] of url into base, host[:port] into hostport, host into host. */
static int url_base(const char *url, char *base, size_t bcap, char *hostport, size_t hcap,
                    char *host_only, size_t ocap) {
    CURLU *u = curl_url();
    if (!u) return GS_ENOMEM;
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = GS_EINVAL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        (!strcmp(scheme, "http") || !strcmp(scheme, "https"))) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        if (port) {
            snprintf(base, bcap, "%s://%s:%s", scheme, host, port);
            snprintf(hostport, hcap, "%s:%s", host, port);
        } else {
            snprintf(base, bcap, "%s://%s", scheme, host);
            snprintf(hostport, hcap, "%s", host);
        }
        snprintf(host_only, ocap, "%s", host);
        rc = 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static int s_open(gs_queue *q, gs_error *err) {
    const gs_trigger *t = &q->trig;
    ssrc *s = calloc(1, sizeof *s);
    if (!s) return gs_error_set(err, GS_ENOMEM, "out of memory");
    int rc;
    char host[GS_VALUE_LEN], b2[GS_VALUE_LEN], h2[GS_VALUE_LEN];
    const char *qurl = gs_queue_meta(t, "queueURL");
    const char *qenv = gs_queue_meta(t, "queueURLFromEnv");
    if (!qurl && qenv && !(qurl = getenv(qenv))) {
        rc = gs_error_set(err, GS_ENOENT, "trigger %s: queueURLFromEnv: environment variable %s is not set", t->name, qenv);
        goto fail;
    }
    if (gs_queue_meta(t, "awsRoleArn")) {
        rc = gs_error_set(err, GS_EUNSUPPORTED,
                          "trigger %s: awsRoleArn (STS AssumeRole) is not supported; give access keys through awsAccessKeyIDFromEnv/awsSecretAccessKeyFromEnv or the AWS_* environment", t->name);
        goto fail;
    }
    if (!qurl || url_base(qurl, s->endpoint, sizeof s->endpoint, s->hostport, sizeof s->hostport,
                          host, sizeof host)) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: aws-sqs-queue needs queueURL (https://sqs.<region>.amazonaws.com/<account>/<queue>)", t->name);
        goto fail;
    }
    snprintf(s->queue_url, sizeof s->queue_url, "%s", qurl);
    const char *ep = gs_queue_meta(t, "awsEndpoint");
    if (ep && url_base(ep, s->endpoint, sizeof s->endpoint, s->hostport, sizeof s->hostport, h2,
                       sizeof h2)) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: awsEndpoint \"%s\" is not an http(s) URL", t->name, ep);
        goto fail;
    }
    (void)b2;
    const char *reg = gs_queue_meta(t, "awsRegion");
    if (reg) snprintf(s->region, sizeof s->region, "%s", reg);
    else if (!strncmp(host, "sqs.", 4) && strstr(host + 4, ".amazonaws.com")) {
        size_t l = (size_t)(strstr(host + 4, ".amazonaws.com") - (host + 4));
        snprintf(s->region, sizeof s->region, "%.*s", (int)l, host + 4);
    }
    if (!s->region[0] || strchr(s->region, '/') || strchr(s->region, '.')) {
        rc = gs_error_set(err, GS_EINVAL, "trigger %s: set awsRegion (cannot tell it from the queueURL)", t->name);
        goto fail;
    }
    if ((rc = gs_queue_meta_bool(t, "scaleOnInFlight", true, &s->in_flight, err))) goto fail;
    if ((rc = gs_queue_meta_bool(t, "scaleOnDelayed", false, &s->delayed, err))) goto fail;
    if ((rc = gs_queue_meta_bool(t, "unsafeSsl", false, &s->tls.insecure, err))) goto fail;
    const char *ca = gs_queue_meta(t, "caFile");
    if (ca) {
        snprintf(s->ca, sizeof s->ca, "%s", ca);
        s->tls.ca_file = s->ca;
    }
    if ((rc = cred(t, "awsAccessKeyID", "AWS_ACCESS_KEY_ID", s->akid, sizeof s->akid, true, err))) goto fail;
    if ((rc = cred(t, "awsSecretAccessKey", "AWS_SECRET_ACCESS_KEY", s->secret, sizeof s->secret, true, err))) goto fail;
    if ((rc = cred(t, "awsSessionToken", "AWS_SESSION_TOKEN", s->token, sizeof s->token, false, err))) goto fail;
    q->impl = s;
    return 0;
fail:
    s_free(s);
    return rc;
}

static int s_read(gs_queue *q, int64_t *milli, gs_error *err) {
    ssrc *s = q->impl;
    char body[GS_VALUE_LEN * 2 + 256];
    /* The queue URL goes into a JSON string: refuse characters that would need escaping. */
    for (const char *p = s->queue_url; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
            return gs_error_set(err, GS_EINVAL, "sqs: queueURL holds a character that needs escaping");
    int bl = snprintf(body, sizeof body,
                      "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"ApproximateNumberOfMessages\","
                      "\"ApproximateNumberOfMessagesNotVisible\",\"ApproximateNumberOfMessagesDelayed\"]}",
                      s->queue_url);
    if (bl < 0 || (size_t)bl >= sizeof body) return gs_error_set(err, GS_ETOOBIG, "sqs: request too large");
    char date[17];
    gs_sigv4_amz_date((int64_t)time(NULL), date);
    gs_sigv4_header hs[] = {
        {"Host", s->hostport},
        {"Content-Type", "application/x-amz-json-1.0"},
        {"X-Amz-Target", "AmazonSQS.GetQueueAttributes"},
    };
    gs_sigv4_request req = {"POST", "/", hs, 3, body, (size_t)bl};
    gs_sigv4_creds cr = {s->akid, s->secret, s->token[0] ? s->token : NULL};
    gs_sigv4_params p = {s->region, "sqs", date, true, false, false};
    gs_sigv4_result *sig = malloc(sizeof *sig);
    if (!sig) return gs_error_set(err, GS_ENOMEM, "out of memory");
    int rc = gs_sigv4_sign(&req, &cr, &p, sig, err);
    if (rc) {
        free(sig);
        return rc;
    }
    char h_host[GS_VALUE_LEN + 8], h_date[32], h_auth[2400];
    char *h_tok = NULL;
    snprintf(h_host, sizeof h_host, "Host: %s", s->hostport);
    snprintf(h_date, sizeof h_date, "X-Amz-Date: %s", sig->amz_date);
    snprintf(h_auth, sizeof h_auth, "Authorization: %s", sig->authorization);
    if (s->token[0]) {
        size_t tl = strlen(s->token) + 32;
        h_tok = malloc(tl);
        if (!h_tok) {
            free(sig);
            return gs_error_set(err, GS_ENOMEM, "out of memory");
        }
        snprintf(h_tok, tl, "X-Amz-Security-Token: %s", s->token);
    }
    const char *hdrs[] = {h_host, "Content-Type: application/x-amz-json-1.0",
                          "X-Amz-Target: AmazonSQS.GetQueueAttributes", h_date, h_auth,
                          "Expect:", h_tok, NULL};
    char url[GS_VALUE_LEN + 2];
    snprintf(url, sizeof url, "%s/", s->endpoint);
    gs_qhttp_req r = {0};
    r.method = "POST";
    r.url = url;
    r.headers = hdrs;
    r.body = body;
    r.body_len = (size_t)bl;
    r.connect_timeout = q->opts.connect_timeout;
    r.timeout = q->opts.read_timeout;
    r.tls = &s->tls;
    r.what = "sqs";
    rc = gs_qhttp_do(&s->http, &r, err);
    memset(h_auth, 0, sizeof h_auth);
    if (h_tok) {
        memset(h_tok, 0, strlen(h_tok));
        free(h_tok);
    }
    free(sig);
    if (rc) return rc;
    rc = gs_qparse_sqs(s->http.body, s->http.len, s->in_flight, s->delayed, milli, err);
    if (!rc && s->http.status != 200)
        return gs_error_set(err, GS_EPEER, "sqs: HTTP %ld from %s", s->http.status, s->endpoint);
    if (rc == GS_EPARSE && (s->http.status == 401 || s->http.status == 403))
        return gs_error_set(err, GS_EAUTH, "sqs: %s refused the request (HTTP %ld)", s->endpoint,
                            s->http.status);
    if (rc == GS_EPARSE && s->http.status != 200)
        return gs_error_set(err, GS_EPEER, "sqs: HTTP %ld from %s", s->http.status, s->endpoint);
    return rc;
}

static void s_disconnect(gs_queue *q) {
    ssrc *s = q->impl;
    if (s) gs_qhttp_reset(&s->http);
}

static void s_close(gs_queue *q) {
    s_free(q->impl);
    q->impl = NULL;
}

const gs_queue_ops gs_queue_sqs_ops = {"sqs", s_open, s_read, s_disconnect, s_close};
