/* bench_queue: per queue source, on loopback against real peers this program starts itself
 *   1. read latency: p50/p99 over 1,000 reads of one source (gs_queue_read);
 *   2. publish -> scale-from-zero: a watch (src/io/queue/watch.h) runs in its own thread on an
 *      idle queue, polling every 100 ms while the workload is at zero; the main thread
 *      publishes one message at a random moment and measures the time until the scaler's
 *      decision asks for a replica; p50/p99 over 100 trials. Target: p99 < 1 s.
 * Sources: redis (LLEN), rabbitmq over AMQP (passive declare) and over the management API,
 * prometheus (scraping an in-process exporter every 100 ms), and SQS against a local
 * SigV4-checking endpoint (not AWS: there is none here). A source whose server binary is
 * missing is skipped with a message. GS_BENCH_TRIALS / GS_BENCH_READS override the counts. */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/peers.c" /* the test harness that starts real peers */
#include "io/log.h"
#include "io/queue/queue.h"
#include "io/queue/sigv4.h"
#include "io/queue/watch.h"

static int n_reads = 1000, n_trials = 100;
static const char *only; /* GS_BENCH_ONLY: redis|rabbitmq|prometheus|sqs */

static bool want(const char *name) { return !only || !strcmp(only, name); }

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms) {
    if (ms <= 0) return;
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(long)(ms / 1000) * 1000) * 1e6)};
    nanosleep(&ts, NULL);
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* nearest-rank percentile */
static double pct(double *v, int n, int p) {
    qsort(v, (size_t)n, sizeof v[0], cmpd);
    int k = (p * n + 99) / 100 - 1;
    if (k < 0) k = 0;
    return v[k];
}

static void meta(gs_trigger *t, const char *k, const char *v) {
    snprintf(t->meta[t->nmeta].key, sizeof t->meta[0].key, "%s", k);
    snprintf(t->meta[t->nmeta].value, sizeof t->meta[0].value, "%s", v);
    t->nmeta++;
}

/* ---- the measurement, common to every source ---- */

typedef struct src {
    const char *label;
    gs_trigger trig;
    void (*publish)(void *ud);   /* one message onto the queue */
    void (*drain)(void *ud);     /* back to empty */
    void *ud;
} src;

typedef struct watcher {
    gs_watch w;
    pthread_t th;
    atomic_int stop, armed, saw_zero;
    _Atomic double detected;
} watcher;

static void *watch_loop(void *arg) {
    watcher *x = arg;
    gs_scale_input in;
    memset(&in, 0, sizeof in);
    while (!atomic_load(&x->stop)) {
        in.now = gs_queue_now_ms();
        gs_scale_decision d;
        if (gs_watch_step(&x->w, &in, &d, NULL) == 0) {
            if (d.desired > 0 && atomic_load(&x->armed)) {
                atomic_store(&x->detected, now_ms());
                atomic_store(&x->armed, 0);
            }
            if (d.desired == 0 && x->w.last[0].ok) atomic_store(&x->saw_zero, 1);
        }
        sleep_ms((double)gs_watch_interval(&x->w, 0));
    }
    return NULL;
}

static void run(src *s) {
    gs_queue q;
    gs_error e;
    if (gs_queue_open(&q, &s->trig, NULL, &e)) {
        printf("%-22s skipped: %s\n", s->label, e.msg);
        return;
    }
    s->drain(s->ud);
    double *lat = calloc((size_t)(n_reads > n_trials ? n_reads : n_trials), sizeof(double));
    int fails = 0;
    int64_t v;
    (void)gs_queue_read(&q, &v, &e); /* connect */
    for (int i = 0; i < n_reads; i++) {
        double t0 = now_ms();
        if (gs_queue_read(&q, &v, &e)) fails++;
        lat[i] = now_ms() - t0;
    }
    double r50 = pct(lat, n_reads, 50), r99 = pct(lat, n_reads, 99);
    gs_queue_close(&q);

    gs_scaler sc;
    memset(&sc, 0, sizeof sc);
    gs_scale_defaults(&sc);
    snprintf(sc.name, sizeof sc.name, "bench");
    sc.polling_interval = GS_SEC(30);
    sc.cooldown_period = 0;
    sc.ntriggers = 1;
    sc.triggers[0] = s->trig;
    watcher *x = calloc(1, sizeof *x);
    if (gs_watch_open(&x->w, &sc, NULL, 100, &e)) {
        printf("%-22s skipped: %s\n", s->label, e.msg);
        free(lat);
        free(x);
        return;
    }
    pthread_create(&x->th, NULL, watch_loop, x);
    int done = 0, lost = 0;
    unsigned seed = 12345;
    for (int t = -1; t < n_trials; t++) { /* t = -1: warm-up (peer's first scrape etc.), not counted */
        s->drain(s->ud);
        atomic_store(&x->saw_zero, 0);
        double w0 = now_ms();
        while (!atomic_load(&x->saw_zero) && now_ms() - w0 < 15000) sleep_ms(10);
        atomic_store(&x->detected, 0.0);
        atomic_store(&x->armed, 1);
        sleep_ms((double)(rand_r(&seed) % 100)); /* a random phase against the poll */
        double t0 = now_ms();
        s->publish(s->ud);
        while (atomic_load(&x->armed) && now_ms() - t0 < 15000) sleep_ms(1);
        if (atomic_load(&x->armed)) {
            atomic_store(&x->armed, 0);
            if (t >= 0) lost++;
            continue;
        }
        if (t < 0) continue;
        lat[done++] = atomic_load(&x->detected) - t0;
        if (getenv("GS_BENCH_VERBOSE")) printf("  trial %d: %.1f ms\n", t, lat[done - 1]);
    }
    atomic_store(&x->stop, 1);
    pthread_join(x->th, NULL);
    gs_watch_close(&x->w);
    free(x);
    s->drain(s->ud);
    if (done > 0) {
        double p50 = pct(lat, done, 50), p99 = pct(lat, done, 99);
        printf("%-22s read p50 %7.3f ms  p99 %7.3f ms  (%d reads, %d failed) | publish->replica p50 %7.1f ms  p99 %7.1f ms  (%d trials%s%d lost)  %s\n",
               s->label, r50, r99, n_reads, fails, p50, p99, done, ", ", lost,
               p99 < 1000.0 ? "p99 < 1 s: yes" : "p99 < 1 s: NO");
    } else {
        printf("%-22s read p50 %7.3f ms  p99 %7.3f ms  (%d reads, %d failed) | no detection in %d trials\n",
               s->label, r50, r99, n_reads, fails, n_trials);
    }
    free(lat);
}

/* ---- redis ---- */

static void redis_do(void *ud, const char *cmd) {
    redisContext *c = ud;
    redisReply *r = redisCommand(c, cmd);
    if (r) freeReplyObject(r);
}
static void redis_pub(void *ud) { redis_do(ud, "RPUSH bench:q job"); }
static void redis_drain(void *ud) { redis_do(ud, "DEL bench:q"); }

/* ---- rabbitmq ---- */

typedef struct rmq_ud {
    amqp_connection_state_t c;
} rmq_ud;

static void rmq_pub(void *ud) {
    rmq_ud *r = ud;
    amqp_bytes_t body = amqp_cstring_bytes("job");
    amqp_basic_publish(r->c, 1, amqp_cstring_bytes(""), amqp_cstring_bytes("bench"), 0, 0, NULL, body);
}

static void rmq_drain(void *ud) {
    rmq_ud *r = ud;
    amqp_queue_purge(r->c, 1, amqp_cstring_bytes("bench"));
}

/* ---- prometheus ---- */

static atomic_int gauge;
static int serve_gauge(void *ud, const gs_httpd_req *r, char **reply) {
    (void)ud;
    (void)r;
    char buf[128];
    snprintf(buf, sizeof buf, "# TYPE bench_queue_depth gauge\nbench_queue_depth %d\n", atomic_load(&gauge));
    *reply = strdup(buf);
    return 200;
}
static void gauge_pub(void *ud) {
    (void)ud;
    atomic_fetch_add(&gauge, 1);
}
static void gauge_drain(void *ud) {
    (void)ud;
    atomic_store(&gauge, 0);
}

/* ---- sqs (local endpoint checking SigV4) ---- */

static atomic_int sqs_visible;
typedef struct collect {
    gs_sigv4_header h[16];
    char k[16][128], v[16][512];
    int n;
} collect;
static void keep_hdr(void *ud, const char *k, const char *v) {
    collect *c = ud;
    if (c->n == 16 || (strcasecmp(k, "host") && strcasecmp(k, "content-type") &&
                       strcasecmp(k, "x-amz-date") && strcasecmp(k, "x-amz-target")))
        return;
    snprintf(c->k[c->n], 128, "%s", k);
    snprintf(c->v[c->n], 512, "%s", v);
    c->h[c->n].name = c->k[c->n];
    c->h[c->n].value = c->v[c->n];
    c->n++;
}
static int serve_sqs(void *ud, const gs_httpd_req *r, char **reply) {
    (void)ud;
    const char *auth = gs_httpd_header(r, "Authorization");
    const char *date = gs_httpd_header(r, "X-Amz-Date");
    const char *sig = auth ? strstr(auth, "Signature=") : NULL;
    collect c;
    memset(&c, 0, sizeof c);
    gs_httpd_headers(r, keep_hdr, &c);
    gs_sigv4_request req = {r->method, r->url, c.h, c.n, r->body, r->len};
    gs_sigv4_creds cr = {"AKIDBENCH", "bench-secret", NULL};
    gs_sigv4_params p = {"eu-west-1", "sqs", date ? date : "", true, false, false};
    static __thread gs_sigv4_result out;
    if (!sig || !date || gs_sigv4_sign(&req, &cr, &p, &out, NULL) || !gs_sigv4_equal(out.signature, sig + 10)) {
        *reply = strdup("{\"__type\":\"com.amazon.coral.service#InvalidSignatureException\",\"message\":\"bad signature\"}");
        return 403;
    }
    char buf[256];
    snprintf(buf, sizeof buf,
             "{\"Attributes\":{\"ApproximateNumberOfMessages\":\"%d\",\"ApproximateNumberOfMessagesNotVisible\":\"0\",\"ApproximateNumberOfMessagesDelayed\":\"0\"}}",
             atomic_load(&sqs_visible));
    *reply = strdup(buf);
    return 200;
}
static void sqs_pub(void *ud) {
    (void)ud;
    atomic_fetch_add(&sqs_visible, 1);
}
static void sqs_drain(void *ud) {
    (void)ud;
    atomic_store(&sqs_visible, 0);
}

int main(void) {
    if (getenv("GS_BENCH_TRIALS")) n_trials = atoi(getenv("GS_BENCH_TRIALS"));
    if (getenv("GS_BENCH_READS")) n_reads = atoi(getenv("GS_BENCH_READS"));
    only = getenv("GS_BENCH_ONLY");
    if (n_trials < 1) n_trials = 1;
    if (n_reads < 1) n_reads = 1;
    gs_log_set_level(GS_LOG_ERROR);
    printf("bench_queue: loopback, %d reads per source, %d publish->replica trials per source, idle poll 100 ms\n",
           n_reads, n_trials);
    char buf[128];

    /* redis */
    gs_peer redis;
    memset(&redis, 0, sizeof redis);
    if (!want("redis")) {
    } else if (gs_redis_start(&redis, 0, NULL) == 0) {
        redisContext *c = redisConnect("127.0.0.1", redis.port);
        src s = {"redis LLEN", {0}, redis_pub, redis_drain, c};
        s.trig.type = GS_TRIG_REDIS_LIST;
        s.trig.target_milli = 1000;
        snprintf(buf, sizeof buf, "127.0.0.1:%d", redis.port);
        meta(&s.trig, "address", buf);
        meta(&s.trig, "listName", "bench:q");
        run(&s);
        redisFree(c);
        gs_redis_stop(&redis);
        gs_peer_rmdir(redis.dir);
    } else {
        printf("%-22s skipped: redis-server is not installed or did not start\n", "redis LLEN");
    }

    /* rabbitmq */
    gs_peer rmq;
    memset(&rmq, 0, sizeof rmq);
    if (!want("rabbitmq")) {
    } else if (gs_peer_have("/usr/lib/rabbitmq/bin/rabbitmq-server") && gs_rabbit_start(&rmq, 100) == 0) {
        rmq_ud r;
        r.c = amqp_new_connection();
        amqp_socket_t *sock = amqp_tcp_socket_new(r.c);
        amqp_socket_open(sock, "127.0.0.1", rmq.port);
        amqp_login(r.c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest");
        amqp_channel_open(r.c, 1);
        amqp_queue_declare(r.c, 1, amqp_cstring_bytes("bench"), 0, 0, 0, 0, amqp_empty_table);
        setenv("GS_BENCH_RMQ_PW", "gs-secret", 1);
        src s = {"rabbitmq AMQP", {0}, rmq_pub, rmq_drain, &r};
        s.trig.type = GS_TRIG_RABBITMQ;
        s.trig.target_milli = 1000;
        snprintf(buf, sizeof buf, "amqp://127.0.0.1:%d/", rmq.port);
        meta(&s.trig, "host", buf);
        meta(&s.trig, "queueName", "bench");
        meta(&s.trig, "username", "gs");
        meta(&s.trig, "passwordFromEnv", "GS_BENCH_RMQ_PW");
        run(&s);
        src m = {"rabbitmq mgmt API", {0}, rmq_pub, rmq_drain, &r};
        m.trig = s.trig;
        snprintf(buf, sizeof buf, "http://127.0.0.1:%d/", rmq.port2);
        snprintf(m.trig.meta[0].value, sizeof m.trig.meta[0].value, "%s", buf);
        run(&m);
        amqp_channel_close(r.c, 1, AMQP_REPLY_SUCCESS);
        amqp_connection_close(r.c, AMQP_REPLY_SUCCESS);
        amqp_destroy_connection(r.c);
        gs_rabbit_stop(&rmq);
        printf("  (rabbitmq: collect_statistics_interval 100 ms (default 5 s); the mgmt source reads queue totals, refreshed at that interval)\n");
    } else {
        printf("%-22s skipped: rabbitmq-server is not installed or did not start\n", "rabbitmq");
    }

    /* prometheus */
    int eport = 0;
    gs_httpd *exp = gs_httpd_start(serve_gauge, NULL, &eport);
    gs_peer prom;
    memset(&prom, 0, sizeof prom);
    if (!want("prometheus")) {
    } else if (exp && gs_prom_start(&prom, 0, eport, "100ms") == 0) {
        sleep_ms(500);
        src s = {"prometheus query", {0}, gauge_pub, gauge_drain, NULL};
        s.trig.type = GS_TRIG_PROMETHEUS;
        s.trig.target_milli = 1000;
        snprintf(buf, sizeof buf, "http://127.0.0.1:%d", prom.port);
        meta(&s.trig, "serverAddress", buf);
        meta(&s.trig, "query", "sum(bench_queue_depth)");
        run(&s);
        gs_prom_stop(&prom);
        gs_peer_rmdir(prom.dir);
        printf("  (prometheus: scrape interval 100 ms; detection includes the scrape)\n");
    } else {
        printf("%-22s skipped: prometheus is not installed or did not start\n", "prometheus");
    }
    gs_httpd_stop(exp);

    /* sqs */
    int sport = 0;
    gs_httpd *sq = gs_httpd_start(serve_sqs, NULL, &sport);
    if (sq && want("sqs")) {
        setenv("GS_BENCH_AKID", "AKIDBENCH", 1);
        setenv("GS_BENCH_SECRET", "bench-secret", 1);
        src s = {"sqs (local SigV4 ep)", {0}, sqs_pub, sqs_drain, NULL};
        s.trig.type = GS_TRIG_SQS;
        s.trig.target_milli = 1000;
        meta(&s.trig, "queueURL", "https://sqs.eu-west-1.amazonaws.com/123456789012/bench");
        snprintf(buf, sizeof buf, "http://127.0.0.1:%d", sport);
        meta(&s.trig, "awsEndpoint", buf);
        meta(&s.trig, "awsAccessKeyIDFromEnv", "GS_BENCH_AKID");
        meta(&s.trig, "awsSecretAccessKeyFromEnv", "GS_BENCH_SECRET");
        run(&s);
        gs_httpd_stop(sq);
    }
    return 0;
}
