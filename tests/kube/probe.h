/* Header-only helpers shared by the controller's end-to-end test and bench/bench_controller:
 * a free loopback port, one value read off a running `gpuscale run`'s /metrics, and a child process
 * started with its output appended to a log; a real redis-server, a child stopped with a grace
 * period, and the Events of a list matched by reason, kind and name. */
#ifndef GS_TEST_KUBE_PROBE_H
#define GS_TEST_KUBE_PROBE_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int probe_free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

static size_t probe_sink(char *p, size_t s, size_t n, void *ud) {
    char *buf = ud;
    size_t have = strlen(buf), add = s * n;
    if (have + add >= 65536) add = 65535 - have;
    memcpy(buf + have, p, add);
    buf[have + add] = '\0';
    return s * n;
}

/* Value of the metric line "name value" (first match) at 127.0.0.1:port/metrics, or -1. */
static double probe_metric(int port, const char *name, long timeout_s) {
    static char buf[65536];
    buf[0] = '\0';
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, probe_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)buf); /* (void *): gcc -O3 inlining trips curl's typecheck */
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK) return -1;
    size_t nl = strlen(name);
    for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, nl) == 0 && p[nl] == ' ') return atof(p + nl + 1);
    return -1;
}

/* Starts argv (argv[0] a path) with stdout and stderr appended to log; the child's pid. */
static inline pid_t probe_spawn(const char *const argv[], const char *log) {
    pid_t p = fork();
    if (p == 0) {
        char *args[40];
        int n = 0;
        for (; argv[n] && n < 39; n++) args[n] = strdup(argv[n]);
        args[n] = NULL;
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(args[0], args);
        _exit(127);
    }
    return p;
}

/* Waits up to secs for cond (checked every 200 ms); on a timeout prints the last lines of the
 * controller logs (a shell glob under dir) and fails the test. */
#define PROBE_WAIT_UNTIL(cond, secs, what, dir, logs)                                       \
    do {                                                                                    \
        int ok_ = 0;                                                                        \
        for (int t_ = 0; t_ < (secs) * 5; t_++) {                                           \
            if (cond) { ok_ = 1; break; }                                                   \
            usleep(200000);                                                                 \
        }                                                                                   \
        if (!ok_) {                                                                         \
            char cmd_[700];                                                                 \
            snprintf(cmd_, sizeof cmd_, "cd '%s' && tail -n 40 %s >&2", (dir), (logs));     \
            if (system(cmd_)) {}                                                            \
            fail_msg("timed out after %d s waiting for: %s", (secs), what);                 \
        }                                                                                   \
    } while (0)

/* The unprivileged test user "gpuscale" gets exactly deploy/'s roles (the ServiceAccount's
 * there): the ClusterRoles gpuscale and gpuscale-kube-fake, the leader-election Role in
 * gpuscale-system and the mig-parted Role in gpu-operator. YAML documents, each ending in
 * "---". */
#define PROBE_TEST_USER_RBAC                                                                                           \
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: gpuscale-test-user}\n"      \
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gpuscale}\n"                              \
    "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: gpuscale}]\n---\n"                             \
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: gpuscale-test-user-fake}\n" \
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gpuscale-kube-fake}\n"                    \
    "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: gpuscale}]\n---\n"                             \
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"                                                   \
    "metadata: {name: gpuscale-test-user, namespace: gpuscale-system}\n"                                              \
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: gpuscale-leader-election}\n"                     \
    "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: gpuscale}]\n---\n"                             \
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"                                                   \
    "metadata: {name: gpuscale-test-user, namespace: gpu-operator}\n"                                                 \
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: gpuscale-mig-config}\n"                          \
    "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: gpuscale}]\n---\n"

/* A real redis-server on a free loopback port (no persistence), its log in dir/redis.log;
 * returns its pid once it answers (or after 5 s), the port in *port. */
static inline pid_t probe_redis_start(const char *dir, int *port) {
    *port = probe_free_port();
    char ps[16], log[400];
    snprintf(ps, sizeof ps, "%d", *port);
    snprintf(log, sizeof log, "%s/redis.log", dir);
    const char *argv[] = {"/usr/bin/redis-server", "--port", ps, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          NULL};
    pid_t pid = probe_spawn(argv, log);
    for (int i = 0; i < 50; i++) {
        redisContext *r = redisConnect("127.0.0.1", *port);
        int ok = r && !r->err;
        if (r) redisFree(r);
        if (ok) break;
        usleep(100000);
    }
    return pid;
}

/* Stops child *p: signal sig, up to 10 s for it to exit, then SIGKILL; *p = -1 after. Returns
 * its exit status (128 + signal if a signal ended it, 137 when it had to be killed), -1 when
 * there was no child. */
static inline int probe_stop_pid(pid_t *p, int sig) {
    if (*p <= 0) return -1;
    kill(*p, sig);
    int st = 0;
    for (int i = 0; i < 100; i++) {
        if (waitpid(*p, &st, WNOHANG) == *p) {
            *p = -1;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(100000);
    }
    kill(*p, SIGKILL);
    waitpid(*p, &st, 0);
    *p = -1;
    return 137;
}

/* Events of an EventList (a GET of .../events) with this reason, on an object of this kind
 * (NULL: any) and name (NULL: any); the last one's message goes to msg (may be NULL). */
static inline int probe_count_events(const json_t *evs, const char *kind, const char *reason, const char *name, char *msg,
                                     size_t n) {
    int found = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(evs, "items"), i, ev) {
        const json_t *io = json_object_get(ev, "involvedObject");
        const char *r = json_string_value(json_object_get(ev, "reason"));
        const char *k = json_string_value(json_object_get(io, "kind"));
        const char *on = json_string_value(json_object_get(io, "name"));
        if (!r || !on || strcmp(r, reason) != 0 || (name && strcmp(on, name) != 0)) continue;
        if (kind && (!k || strcmp(k, kind) != 0)) continue;
        found++;
        if (msg) snprintf(msg, n, "%s", json_string_value(json_object_get(ev, "message")));
    }
    return found;
}

#endif
