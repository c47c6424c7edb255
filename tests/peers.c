/* Real peers for tests and benchmarks (see peers.h). */
#include "peers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

bool gs_peer_have(const char *bin) {
    if (bin[0] == '/') return access(bin, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin:/usr/sbin:/sbin";
    char buf[1024];
    const char *p = path;
    while (*p) {
        size_t l = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)l, p, bin);
        if (access(buf, X_OK) == 0) return true;
        p += l;
        if (*p == ':') p++;
    }
    return false;
}

int gs_peer_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t l = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &l)) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

bool gs_peer_wait_port(int port, int timeout_ms) {
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok) return true;
        msleep(50);
    }
    return false;
}

/* Process groups started and not yet stopped: killed if this process is terminated or
 * exits without stopping them (a test that fails half-way, a benchmark under `timeout`). */
#define MAX_LIVE 32
static volatile pid_t live[MAX_LIVE];

static void kill_live(void) {
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] > 0) kill(-live[i], SIGKILL);
}

static void on_fatal(int sig) {
    kill_live();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void track(pid_t pid, bool add) {
    static bool installed = false;
    if (!installed) {
        installed = true;
        atexit(kill_live);
        signal(SIGTERM, on_fatal);
        signal(SIGINT, on_fatal);
        signal(SIGHUP, on_fatal);
    }
    for (int i = 0; i < MAX_LIVE; i++) {
        if (add && live[i] == 0) {
            live[i] = pid;
            return;
        }
        if (!add && live[i] == pid) {
            live[i] = 0;
            return;
        }
    }
}

pid_t gs_peer_spawn(const char *const argv[], char *const env[], const char *logfile) {
    /* Orphans of our peers (beam.smp under the rabbitmq script, epmd...) come back to us so
     * that gs_peer_kill can reap them instead of leaving zombies behind. */
    prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setsid();
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the test, even on SIGKILL */
        int fd = open(logfile ? logfile : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
        for (int i = 0; env && env[i]; i++) putenv(env[i]);
        /* sanitizers of the test must not leak into peers */
        unsetenv("ASAN_OPTIONS");
        unsetenv("UBSAN_OPTIONS");
        unsetenv("LD_PRELOAD");
        execvp(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    if (pid > 0) track(pid, true);
    return pid;
}

static void reap_orphans(int wait_ms);

void gs_peer_kill(pid_t pid, int wait_ms) {
    if (pid <= 0) return;
    track(pid, false);
    kill(-pid, SIGCONT);
    kill(-pid, SIGTERM);
    for (int waited = 0; waited < wait_ms; waited += 20) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            kill(-pid, SIGKILL); /* stragglers of the group */
            reap_orphans(0);
            return;
        }
        msleep(20);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Reaps orphans handed to us as subreaper (their group was killed already). */
static void reap_orphans(int wait_ms) {
    for (int waited = 0; waited <= wait_ms; waited += 20) {
        pid_t r;
        while ((r = waitpid(-1, NULL, WNOHANG)) > 0) {
        }
        if (r < 0) return; /* no children left */
        msleep(20);
    }
}

void gs_peer_pause(const gs_peer *p) {
    kill(-p->pid, SIGSTOP);
    msleep(100); /* let every thread of the peer actually stop */
}
void gs_peer_resume(const gs_peer *p) { kill(-p->pid, SIGCONT); }

void gs_peer_rmdir(const char *dir) {
    if (strncmp(dir, "/tmp/gs-", 8) != 0 || strstr(dir, "..")) return;
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", dir, (char *)0);
        _exit(127);
    }
    if (pid > 0) waitpid(pid, NULL, 0);
}

static int mkdir_tmp(gs_peer *p, const char *tag) {
    snprintf(p->dir, sizeof p->dir, "/tmp/gs-%s-XXXXXX", tag);
    return mkdtemp(p->dir) ? 0 : -1;
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    fclose(f);
    return 0;
}

/* ---- redis ---- */

int gs_redis_start(gs_peer *p, int port, const char *requirepass) {
    if (!gs_peer_have("redis-server")) return -1;
    if (!p->dir[0] && mkdir_tmp(p, "redis")) return -1;
    p->port = port > 0 ? port : gs_peer_free_port();
    char ports[16], log[300];
    snprintf(ports, sizeof ports, "%d", p->port);
    snprintf(log, sizeof log, "%s/redis.log", p->dir);
    const char *argv[20];
    int a = 0;
    argv[a++] = "redis-server";
    argv[a++] = "--port";
    argv[a++] = ports;
    argv[a++] = "--bind";
    argv[a++] = "127.0.0.1";
    argv[a++] = "--save";
    argv[a++] = "";
    argv[a++] = "--appendonly";
    argv[a++] = "no";
    argv[a++] = "--dir";
    argv[a++] = p->dir;
    argv[a++] = "--daemonize";
    argv[a++] = "no";
    if (requirepass) {
        argv[a++] = "--requirepass";
        argv[a++] = requirepass;
    }
    argv[a] = NULL;
    p->pid = gs_peer_spawn(argv, NULL, log);
    if (p->pid < 0 || !gs_peer_wait_port(p->port, 10000)) {
        gs_redis_stop(p);
        return -1;
    }
    return 0;
}

void gs_redis_stop(gs_peer *p) {
    gs_peer_kill(p->pid, 3000);
    p->pid = 0;
}

/* ---- rabbitmq ---- */

/* RabbitMQ's rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)). */
static void rabbit_hash(const char *password, char *out, size_t cap) {
    unsigned char buf[4 + SHA256_DIGEST_LENGTH];
    memcpy(buf, "gsS4", 4);
    unsigned char in[256];
    size_t pl = strlen(password);
    memcpy(in, buf, 4);
    memcpy(in + 4, password, pl);
    SHA256(in, 4 + pl, buf + 4);
    unsigned char b64[128];
    int n = EVP_EncodeBlock(b64, buf, (int)sizeof buf);
    snprintf(out, cap, "%.*s", n, (const char *)b64);
}

static char **rabbit_env(const gs_peer *p, char *store, size_t cap) {
    static char *env[16];
    char *w = store;
    size_t left = cap;
    int n = 0;
#define ADD(...)                                           \
    do {                                                   \
        int l_ = snprintf(w, left, __VA_ARGS__);           \
        env[n++] = w;                                      \
        w += l_ + 1;                                       \
        left -= (size_t)l_ + 1;                            \
    } while (0)
    ADD("HOME=%s", p->dir);
    ADD("RABBITMQ_NODENAME=%s@localhost", p->name);
    ADD("RABBITMQ_NODE_IP_ADDRESS=127.0.0.1");
    ADD("RABBITMQ_NODE_PORT=%d", p->port);
    ADD("RABBITMQ_DIST_PORT=%d", p->port4);
    ADD("ERL_EPMD_PORT=%d", p->port3);
    ADD("RABBITMQ_MNESIA_BASE=%s/mnesia", p->dir);
    ADD("RABBITMQ_LOG_BASE=%s/log", p->dir);
    ADD("RABBITMQ_CONFIG_FILE=%s/rabbitmq.conf", p->dir);
    ADD("RABBITMQ_ENABLED_PLUGINS_FILE=%s/enabled_plugins", p->dir);
    ADD("RABBITMQ_PID_FILE=%s/rabbit.pid", p->dir);
    ADD("ERL_CRASH_DUMP=%s/erl_crash.dump", p->dir);
    ADD("RABBITMQ_ADVANCED_CONFIG_FILE=%s/advanced.config", p->dir);
#undef ADD
    env[n] = NULL;
    return env;
}

int gs_rabbit_start(gs_peer *p, int stats_ms) {
    const char *srv = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    if (!gs_peer_have(srv) || !gs_peer_have("epmd")) return -1;
    if (mkdir_tmp(p, "rabbit")) return -1;
    snprintf(p->name, sizeof p->name, "gs%d_%ld", (int)getpid(), (long)time(NULL) % 100000);
    p->port = gs_peer_free_port();
    p->port2 = gs_peer_free_port();
    p->port3 = gs_peer_free_port();
    p->port4 = gs_peer_free_port();
    char path[400], text[4096], hg[128], hs[128];
    snprintf(path, sizeof path, "%s/enabled_plugins", p->dir);
    write_file(path, "[rabbitmq_management].\n");
    snprintf(path, sizeof path, "%s/advanced.config", p->dir);
    write_file(path, "[].\n");
    rabbit_hash("guest", hg, sizeof hg);
    rabbit_hash("gs-secret", hs, sizeof hs);
    snprintf(text, sizeof text,
             "{\"users\":[{\"name\":\"guest\",\"password_hash\":\"%s\",\"hashing_algorithm\":\"rabbit_password_hashing_sha256\",\"tags\":\"administrator\"},"
             "{\"name\":\"gs\",\"password_hash\":\"%s\",\"hashing_algorithm\":\"rabbit_password_hashing_sha256\",\"tags\":\"monitoring\"}],"
             "\"vhosts\":[{\"name\":\"/\"},{\"name\":\"gs/vh\"}],"
             "\"permissions\":[{\"user\":\"guest\",\"vhost\":\"/\",\"configure\":\".*\",\"write\":\".*\",\"read\":\".*\"},"
             "{\"user\":\"guest\",\"vhost\":\"gs/vh\",\"configure\":\".*\",\"write\":\".*\",\"read\":\".*\"},"
             "{\"user\":\"gs\",\"vhost\":\"/\",\"configure\":\".*\",\"write\":\".*\",\"read\":\".*\"},"
             "{\"user\":\"gs\",\"vhost\":\"gs/vh\",\"configure\":\".*\",\"write\":\".*\",\"read\":\".*\"}]}",
             hg, hs);
    snprintf(path, sizeof path, "%s/defs.json", p->dir);
    write_file(path, text);
    snprintf(text, sizeof text,
             "listeners.tcp.default = 127.0.0.1:%d\n"
             "management.tcp.port = %d\n"
             "management.tcp.ip = 127.0.0.1\n"
             "collect_statistics_interval = %d\n"
             "loopback_users = none\n"
             "management.sample_retention_policies.global.minute = 1\n"
             "management.sample_retention_policies.basic.minute = 1\n"
             "management.sample_retention_policies.detailed.10 = 1\n"
             "load_definitions = %s/defs.json\n"
             "log.console = false\n",
             p->port, p->port2, stats_ms, p->dir);
    snprintf(path, sizeof path, "%s/rabbitmq.conf", p->dir);
    write_file(path, text);

    return gs_rabbit_restart(p);
}

int gs_rabbit_restart(gs_peer *p) {
    const char *srv = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    char envstore[4096], ports[16], log[400];
    char **env = rabbit_env(p, envstore, sizeof envstore);
    snprintf(ports, sizeof ports, "%d", p->port3);
    snprintf(log, sizeof log, "%s/epmd.log", p->dir);
    const char *eargv[] = {"epmd", "-port", ports, NULL};
    p->epmd = gs_peer_spawn(eargv, NULL, log);
    gs_peer_wait_port(p->port3, 5000);
    snprintf(log, sizeof log, "%s/rabbit.log", p->dir);
    const char *argv[] = {srv, NULL};
    p->pid = gs_peer_spawn(argv, env, log);
    if (p->pid < 0 || !gs_peer_wait_port(p->port2, 60000) || !gs_peer_wait_port(p->port, 10000)) {
        fprintf(stderr, "peers: rabbitmq did not start; see %s\n", log);
        gs_rabbit_stop(p);
        return -1;
    }
    return 0;
}

int gs_rabbit_ctl(const gs_peer *p, const char *args) {
    char cmd[4096];
    char envstore[4096];
    char **env = rabbit_env(p, envstore, sizeof envstore);
    char prefix[2048] = "";
    size_t off = 0;
    for (int i = 0; env[i]; i++)
        off += (size_t)snprintf(prefix + off, sizeof prefix - off, "%s ", env[i]);
    if (strlen(prefix) + strlen(args) + 200 > sizeof cmd) return -1;
    snprintf(cmd, sizeof cmd, "env %.2047s /usr/lib/rabbitmq/bin/rabbitmqctl -n %.63s@localhost %.1500s >/dev/null 2>&1",
             prefix, p->name, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void gs_rabbit_kill(gs_peer *p) {
    gs_peer_kill(p->pid, 0);
    gs_peer_kill(p->epmd, 1000);
    reap_orphans(300);
    p->pid = p->epmd = 0;
}

void gs_rabbit_stop(gs_peer *p) {
    gs_peer_kill(p->pid, 200); /* a test broker needs no graceful shutdown */
    gs_peer_kill(p->epmd, 1000);
    reap_orphans(300);
    p->pid = p->epmd = 0;
    if (p->dir[0]) gs_peer_rmdir(p->dir);
    p->dir[0] = '\0';
}

/* ---- prometheus ---- */

int gs_prom_start(gs_peer *p, int port, int exporter_port, const char *scrape_interval) {
    if (!gs_peer_have("prometheus")) return -1;
    if (!p->dir[0] && mkdir_tmp(p, "prom")) return -1;
    p->port = port > 0 ? port : gs_peer_free_port();
    char path[400], text[1024];
    snprintf(text, sizeof text,
             "global:\n  scrape_interval: %s\n  evaluation_interval: 10s\n"
             "scrape_configs:\n  - job_name: gs\n    scrape_interval: %s\n    scrape_timeout: %s\n"
             "    static_configs:\n      - targets: ['127.0.0.1:%d']\n",
             scrape_interval, scrape_interval, scrape_interval, exporter_port);
    snprintf(path, sizeof path, "%s/prometheus.yml", p->dir);
    write_file(path, text);
    char cfg[420], data[420], listen[64], log[420];
    snprintf(cfg, sizeof cfg, "--config.file=%s/prometheus.yml", p->dir);
    snprintf(data, sizeof data, "--storage.tsdb.path=%s/data", p->dir);
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", p->port);
    snprintf(log, sizeof log, "%s/prometheus.log", p->dir);
    const char *argv[] = {"prometheus", cfg, data, listen, "--log.level=warn", NULL};
    p->pid = gs_peer_spawn(argv, NULL, log);
    if (p->pid < 0 || !gs_peer_wait_port(p->port, 20000)) {
        gs_prom_stop(p);
        return -1;
    }
    return 0;
}

void gs_prom_stop(gs_peer *p) {
    gs_peer_kill(p->pid, 3000);
    p->pid = 0;
}

/* ---- microhttpd ---- */

struct gs_httpd {
    struct MHD_Daemon *d;
    gs_httpd_fn fn;
    void *ud;
};

typedef struct upload {
    char *buf;
    size_t len;
} upload;

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls) {
    (void)version;
    gs_httpd *h = cls;
    upload *u = *con_cls;
    if (!u) {
        u = calloc(1, sizeof *u);
        if (!u) return MHD_NO;
        *con_cls = u;
        return MHD_YES;
    }
    if (*data_size) {
        char *nb = realloc(u->buf, u->len + *data_size + 1);
        if (!nb) return MHD_NO;
        u->buf = nb;
        memcpy(u->buf + u->len, data, *data_size);
        u->len += *data_size;
        u->buf[u->len] = '\0';
        *data_size = 0;
        return MHD_YES;
    }
    gs_httpd_req r = {method, url, u->buf ? u->buf : "", u->len, c};
    char *reply = NULL;
    int status = h->fn(h->ud, &r, &reply);
    size_t rl = reply ? strlen(reply) : 0;
    static char empty[1];
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(rl, reply ? reply : empty, MHD_RESPMEM_MUST_COPY);
    free(reply);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)c;
    (void)toe;
    upload *u = *con_cls;
    if (u) {
        free(u->buf);
        free(u);
        *con_cls = NULL;
    }
}

gs_httpd *gs_httpd_start(gs_httpd_fn fn, void *ud, int *port) {
    return gs_httpd_start_tls(fn, ud, port, NULL, NULL);
}

gs_httpd *gs_httpd_start_tls(gs_httpd_fn fn, void *ud, int *port, const char *cert_pem,
                             const char *key_pem) {
    gs_httpd *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->fn = fn;
    h->ud = ud;
    uint16_t want = (uint16_t)(*port > 0 ? *port : 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(want);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (cert_pem && key_pem)
        h->d = MHD_start_daemon(flags | MHD_USE_TLS, want, NULL, NULL, on_req, h,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
                                MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
                                MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
                                key_pem, MHD_OPTION_END);
    else
        h->d = MHD_start_daemon(flags, want, NULL, NULL, on_req, h, MHD_OPTION_SOCK_ADDR,
                                (struct sockaddr *)&a, MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
                                MHD_OPTION_END);
    if (!h->d) {
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? di->port : 0;
    return h;
}

void gs_httpd_stop(gs_httpd *h) {
    if (!h) return;
    MHD_stop_daemon(h->d);
    free(h);
}

const char *gs_httpd_header(const gs_httpd_req *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

typedef struct hcb {
    void (*fn)(void *, const char *, const char *);
    void *ud;
} hcb;

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *k,
                                   const char *v) {
    (void)kind;
    hcb *c = cls;
    c->fn(c->ud, k, v ? v : "");
    return MHD_YES;
}

void gs_httpd_headers(const gs_httpd_req *r, void (*fn)(void *, const char *, const char *),
                      void *ud) {
    hcb c = {fn, ud};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, each_header, &c);
}

/* ---- raw TCP answerer ---- */

struct gs_rawd {
    int fd;
    pthread_t th;
    char answer[512];
    volatile int stop;
};

static void *raw_loop(void *arg) {
    gs_rawd *r = arg;
    while (!r->stop) {
        int c = accept(r->fd, NULL, NULL);
        if (c < 0) {
            if (r->stop) break;
            continue;
        }
        char buf[256];
        struct timeval tv = {0, 200000};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = recv(c, buf, sizeof buf, 0);
        (void)n;
        ssize_t w = send(c, r->answer, strlen(r->answer), MSG_NOSIGNAL);
        (void)w;
        close(c);
    }
    return NULL;
}

gs_rawd *gs_rawd_start(const char *answer, int *port) {
    gs_rawd *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    snprintf(r->answer, sizeof r->answer, "%s", answer);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t l = sizeof a;
    if (bind(r->fd, (struct sockaddr *)&a, sizeof a) || listen(r->fd, 16) ||
        getsockname(r->fd, (struct sockaddr *)&a, &l)) {
        close(r->fd);
        free(r);
        return NULL;
    }
    *port = ntohs(a.sin_port);
    pthread_create(&r->th, NULL, raw_loop, r);
    return r;
}

void gs_rawd_stop(gs_rawd *r) {
    if (!r) return;
    r->stop = 1;
    shutdown(r->fd, SHUT_RDWR);
    close(r->fd);
    pthread_join(r->th, NULL);
    free(r);
}

/* ---- stderr capture ---- */

static int cap_saved = -1;
static FILE *cap_file;

void gs_capture_begin(void) {
    fflush(stderr);
    cap_file = tmpfile();
    if (!cap_file) return;
    cap_saved = dup(2);
    dup2(fileno(cap_file), 2);
}

char *gs_capture_end(void) {
    fflush(stderr);
    if (cap_saved < 0 || !cap_file) return strdup("");
    dup2(cap_saved, 2);
    close(cap_saved);
    cap_saved = -1;
    fseek(cap_file, 0, SEEK_END);
    long n = ftell(cap_file);
    if (n < 0) n = 0;
    char *buf = malloc((size_t)n + 1);
    if (buf) {
        rewind(cap_file);
        size_t r = fread(buf, 1, (size_t)n, cap_file);
        buf[r] = '\0';
    }
    fclose(cap_file);
    cap_file = NULL;
    return buf;
}
