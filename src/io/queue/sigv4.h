/* AWS Signature Version 4 (AWS4-HMAC-SHA256), header mode, written from AWS's description and
 * checked against AWS's published test vectors (tests/data/sigv4, tests/test_sigv4.c).
 * No clock: the caller passes the X-Amz-Date ("YYYYMMDDTHHMMSSZ"). No I/O; OpenSSL for
 * SHA-256 and HMAC. Non-S3 rules: the path is URI-encoded once more as sent (double
 * encoding) and, when asked, normalised (RFC 3986 dot segments, empty segments dropped). */
#ifndef GS_IO_QUEUE_SIGV4_H
#define GS_IO_QUEUE_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/err.h"

#define GS_SIGV4_MAX_HEADERS 64
#define GS_SIGV4_CREQ_MAX 16384   /* canonical request; larger requests fail with GS_ETOOBIG */

typedef struct gs_sigv4_header {
    const char *name;
    const char *value;
} gs_sigv4_header;

/* The request as it will be sent (borrowed; Host must be among the headers). */
typedef struct gs_sigv4_request {
    const char *method;             /* "GET", "POST" */
    const char *target;             /* raw path[?query] as on the request line */
    const gs_sigv4_header *headers;
    int32_t nheaders;
    const void *body;
    size_t body_len;
} gs_sigv4_request;

typedef struct gs_sigv4_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;      /* NULL or "" = none */
} gs_sigv4_creds;

typedef struct gs_sigv4_params {
    const char *region;
    const char *service;
    const char *amz_date;           /* "20150830T123600Z" */
    bool normalize_path;            /* true for every service but S3 */
    bool add_content_sha256;        /* add and sign x-amz-content-sha256 (S3 style) */
    bool omit_session_token;        /* send the token but leave it unsigned */
} gs_sigv4_params;

/* Everything the signer computed. Headers to add to the request: X-Amz-Date: amz_date,
 * Authorization: authorization, and when they apply X-Amz-Security-Token (the token) and
 * x-amz-content-sha256: payload_hash. A header already present in the request (e.g.
 * X-Amz-Date) is used as is and not added twice. */
typedef struct gs_sigv4_result {
    char amz_date[17];
    char payload_hash[65];
    char signature[65];
    char signed_headers[2048];
    char string_to_sign[320];
    char authorization[2304];
    char canonical_request[GS_SIGV4_CREQ_MAX];
    bool add_date;                  /* the request has no X-Amz-Date yet */
    bool add_token;                 /* the request has no X-Amz-Security-Token yet */
} gs_sigv4_result;

/* Signs. Returns 0, GS_EINVAL (bad date, missing pieces), GS_ETOOBIG or GS_EIO (OpenSSL). */
int gs_sigv4_sign(const gs_sigv4_request *req, const gs_sigv4_creds *creds,
                  const gs_sigv4_params *p, gs_sigv4_result *out, gs_error *err);

/* Lower-case hex SHA-256 of data into hex[65]. */
int gs_sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

/* Formats a UNIX time (seconds, UTC) as "YYYYMMDDTHHMMSSZ" into buf[17]. */
void gs_sigv4_amz_date(int64_t unix_seconds, char buf[17]);

/* Constant-time comparison of two NUL-terminated strings (for verifiers). */
bool gs_sigv4_equal(const char *a, const char *b);

#endif
