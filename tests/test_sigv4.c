/* The SigV4 signer against AWS's published test vectors (tests/data/sigv4, a copy of
 * /work/shared/data/aws_sigv4_testsuite with its LICENSE/NOTICE and README): every case of
 * the aws-c-auth suite in header mode (canonical request, string to sign, signature, and the
 * Authorization header of the signed request) and every case of the classic suite
 * (canonical request, string to sign, Authorization). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/queue/sigv4.h"
#include "testutil.h"

#define DATA GS_TEST_DATA "/sigv4"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    size_t r = fread(b, 1, (size_t)n, f);
    fclose(f);
    b[r] = '\0';
    if (len) *len = r;
    return b;
}

/* A parsed request.txt: request line, headers with folded lines joined, body. */
typedef struct preq {
    char *buf;
    char method[16];
    char *target;
    gs_sigv4_header h[GS_SIGV4_MAX_HEADERS];
    char *hv[GS_SIGV4_MAX_HEADERS]; /* malloc'd values (joined continuations) */
    int32_t nh;
    const char *body;
    size_t body_len;
} preq;

static void parse_req(const char *text, size_t len, preq *r) {
    memset(r, 0, sizeof *r);
    r->buf = malloc(len + 1);
    assert_non_null(r->buf);
    memcpy(r->buf, text, len);
    r->buf[len] = '\0';
    char *end = r->buf + len;
    char *nl = strchr(r->buf, '\n');
    char *line_end = nl ? nl : end;
    *line_end = '\0';
    char *sp = strchr(r->buf, ' ');
    assert_non_null(sp);
    *sp = '\0';
    snprintf(r->method, sizeof r->method, "%s", r->buf);
    r->target = sp + 1;
    char *http = strstr(r->target, " HTTP/1.1");
    char *last = NULL;
    while (http) { last = http; http = strstr(http + 1, " HTTP/1.1"); }
    assert_non_null(last);
    *last = '\0';
    char *p = nl ? nl + 1 : end;
    while (p < end) {
        char *e = strchr(p, '\n');
        if (!e) e = end;
        if (e == p) { p = e + 1; break; } /* empty line: body follows */
        *e = '\0';
        if ((*p == ' ' || *p == '\t') && r->nh > 0) {
            char *prev = r->hv[r->nh - 1];
            size_t pl = strlen(prev), al = strlen(p);
            char *nv = realloc(prev, pl + 1 + al + 1);
            assert_non_null(nv);
            nv[pl] = '\n';
            memcpy(nv + pl + 1, p, al + 1);
            r->hv[r->nh - 1] = nv;
            r->h[r->nh - 1].value = nv;
        } else {
            char *c = strchr(p, ':');
            assert_non_null(c);
            *c = '\0';
            assert_true(r->nh < GS_SIGV4_MAX_HEADERS);
            r->h[r->nh].name = p;
            r->hv[r->nh] = strdup(c + 1);
            r->h[r->nh].value = r->hv[r->nh];
            r->nh++;
        }
        p = e + 1;
    }
    if (p < end) {
        r->body = p;
        r->body_len = (size_t)(end - p);
    }
}

static void free_req(preq *r) {
    for (int32_t i = 0; i < r->nh; i++) free(r->hv[i]);
    free(r->buf);
}

static int check_main_case(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/context.json", dir);
    json_error_t je;
    json_t *ctx = json_load_file(path, 0, &je);
    if (!ctx) return 0; /* not a case folder */
    snprintf(path, sizeof path, "%s/request.txt", dir);
    size_t len;
    char *text = slurp(path, &len);
    assert_non_null(text);
    preq r;
    parse_req(text, len, &r);
    free(text);

    json_t *cr = json_object_get(ctx, "credentials");
    gs_sigv4_creds c = {json_string_value(json_object_get(cr, "access_key_id")),
                        json_string_value(json_object_get(cr, "secret_access_key")),
                        json_string_value(json_object_get(cr, "token"))};
    gs_sigv4_params p = {0};
    p.region = json_string_value(json_object_get(ctx, "region"));
    p.service = json_string_value(json_object_get(ctx, "service"));
    p.amz_date = "20150830T123600Z";
    assert_string_equal(json_string_value(json_object_get(ctx, "timestamp")),
                        "2015-08-30T12:36:00Z");
    p.normalize_path = json_is_true(json_object_get(ctx, "normalize"));
    p.add_content_sha256 = json_is_true(json_object_get(ctx, "sign_body"));
    p.omit_session_token = json_is_true(json_object_get(ctx, "omit_session_token"));
    gs_sigv4_request req = {r.method, r.target, r.h, r.nh, r.body, r.body_len};
    gs_sigv4_result *out = malloc(sizeof *out);
    assert_non_null(out);
    gs_error e;
    gs_error_clear(&e);
    int rc = gs_sigv4_sign(&req, &c, &p, out, &e);
    if (rc) fail_msg("%s: %s", dir, e.msg);

    snprintf(path, sizeof path, "%s/header-canonical-request.txt", dir);
    char *want = slurp(path, NULL);
    if (strcmp(want, out->canonical_request))
        fail_msg("%s: canonical request\n--- want\n%s\n--- got\n%s", dir, want, out->canonical_request);
    free(want);
    snprintf(path, sizeof path, "%s/header-string-to-sign.txt", dir);
    want = slurp(path, NULL);
    assert_string_equal(want, out->string_to_sign);
    free(want);
    snprintf(path, sizeof path, "%s/header-signature.txt", dir);
    want = slurp(path, NULL);
    assert_string_equal(want, out->signature);
    free(want);
    /* the signed request carries exactly our Authorization header */
    snprintf(path, sizeof path, "%s/header-signed-request.txt", dir);
    want = slurp(path, NULL);
    char line[2400];
    snprintf(line, sizeof line, "\nAuthorization:%s\n", out->authorization);
    if (!strstr(want, line)) fail_msg("%s: Authorization %s not in signed request", dir, out->authorization);
    free(want);
    free(out);
    free_req(&r);
    json_decref(ctx);
    return 1;
}

static void test_main_suite(void **s) {
    (void)s;
    DIR *d = opendir(DATA);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", DATA, de->d_name);
        n += check_main_case(dir);
    }
    closedir(d);
    assert_int_equal(n, 38);
}

static int check_classic_case(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.req", dir, name);
    size_t len;
    char *text = slurp(path, &len);
    if (!text) return 0;
    preq r;
    parse_req(text, len, &r);
    free(text);
    snprintf(path, sizeof path, "%s/%s.creq", dir, name);
    char *creq = slurp(path, NULL);
    assert_non_null(creq);
    char token[1024] = "";
    const char *t = strstr(creq, "\nx-amz-security-token:");
    bool token_in_req = false;
    for (int32_t i = 0; i < r.nh; i++)
        if (!strcasecmp(r.h[i].name, "x-amz-security-token")) token_in_req = true;
    if (t && !token_in_req) {
        t += strlen("\nx-amz-security-token:");
        size_t l = strcspn(t, "\n");
        memcpy(token, t, l);
        token[l] = '\0';
    }
    gs_sigv4_creds c = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token};
    gs_sigv4_params p = {"us-east-1", "service", "20150830T123600Z", true, false, false};
    gs_sigv4_request req = {r.method, r.target, r.h, r.nh, r.body, r.body_len};
    gs_sigv4_result *out = malloc(sizeof *out);
    assert_non_null(out);
    gs_error e;
    if (gs_sigv4_sign(&req, &c, &p, out, &e)) fail_msg("%s: %s", dir, e.msg);
    if (strcmp(creq, out->canonical_request))
        fail_msg("%s: canonical request\n--- want\n%s\n--- got\n%s", dir, creq, out->canonical_request);
    snprintf(path, sizeof path, "%s/%s.sts", dir, name);
    char *want = slurp(path, NULL);
    assert_string_equal(want, out->string_to_sign);
    free(want);
    snprintf(path, sizeof path, "%s/%s.authz", dir, name);
    want = slurp(path, NULL);
    assert_string_equal(want, out->authorization);
    free(want);
    free(creq);
    free(out);
    free_req(&r);
    return 1;
}

static int walk_classic(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        struct stat sst;
        if (stat(sub, &sst) || !S_ISDIR(sst.st_mode)) continue;
        int k = check_classic_case(sub, de->d_name);
        n += k ? k : walk_classic(sub);
    }
    closedir(d);
    return n;
}

static void test_classic_suite(void **s) {
    (void)s;
    assert_int_equal(walk_classic(DATA "/classic_aws4_testsuite"), 34);
}

static void test_bad_input(void **s) {
    (void)s;
    gs_sigv4_header h[] = {{"Host", "example.amazonaws.com"}};
    gs_sigv4_request req = {"GET", "/", h, 1, NULL, 0};
    gs_sigv4_creds c = {"AKIDEXAMPLE", "secret", NULL};
    gs_sigv4_params p = {"us-east-1", "sqs", "2015-08-30T12:36", true, false, false};
    gs_sigv4_result *out = malloc(sizeof *out);
    assert_non_null(out);
    gs_error e;
    assert_int_equal(gs_sigv4_sign(&req, &c, &p, out, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "X-Amz-Date"));
    p.amz_date = "20150830T123600Z";
    req.nheaders = 0;
    assert_int_equal(gs_sigv4_sign(&req, &c, &p, out, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "Host"));
    req.nheaders = 1;
    assert_int_equal(gs_sigv4_sign(&req, &c, &p, out, &e), 0);
    /* a different secret gives a different signature; the key id is not in the signature */
    char sig1[65];
    memcpy(sig1, out->signature, 65);
    c.secret_access_key = "secreT";
    assert_int_equal(gs_sigv4_sign(&req, &c, &p, out, &e), 0);
    assert_false(gs_sigv4_equal(sig1, out->signature));
    assert_true(gs_sigv4_equal(sig1, sig1));
    char date[17];
    gs_sigv4_amz_date(1440938160, date);
    assert_string_equal(date, "20150830T123600Z");
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_main_suite),
        cmocka_unit_test(test_classic_suite),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
