/* Test harness helpers that start REAL peers on loopback ports they pick: redis-server,
 * rabbitmq-server (management plugin, own node name, own epmd, temp dirs), prometheus, and
 * in-process libmicrohttpd / raw TCP servers (exporters, a SigV4-checking endpoint, garbage
 * answerers). Every process is started in its own session and stopped by its id. */
#ifndef GS_TESTS_PEERS_H
#define GS_TESTS_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct gs_peer {
    pid_t pid;           /* the server (session leader) */
    pid_t epmd;          /* rabbitmq: our own epmd */
    int port;            /* redis: port; rabbitmq: AMQP; prometheus: web */
    int port2;           /* rabbitmq: management HTTP */
    int port3;           /* rabbitmq: epmd */
    int port4;           /* rabbitmq: distribution */
    char dir[256];       /* temp dir (removed by stop) */
    char name[64];
} gs_peer;

/* Is an executable on PATH (or an absolute path) there? */
bool gs_peer_have(const char *bin);
int gs_peer_free_port(void);
/* Polls until something accepts on 127.0.0.1:port; false after timeout_ms. */
bool gs_peer_wait_port(int port, int timeout_ms);
/* Starts argv in a new session with extra environment entries ("K=V", NULL-terminated),
 * stdout+stderr to logfile. Returns the pid or -1. */
pid_t gs_peer_spawn(const char *const argv[], char *const env[], const char *logfile);
/* SIGTERM to the process group, up to wait_ms, then SIGKILL; reaps. */
void gs_peer_kill(pid_t pid, int wait_ms);
void gs_peer_pause(const gs_peer *p);   /* SIGSTOP */
void gs_peer_resume(const gs_peer *p);  /* SIGCONT */

/* redis-server on port (0 = pick one), optional requirepass. */
int gs_redis_start(gs_peer *p, int port, const char *requirepass);
void gs_redis_stop(gs_peer *p);

/* rabbitmq-server with the management plugin (statistics every stats_ms), guest allowed from
 * loopback, plus a user "gs" with password "gs-secret". Waits until the management API and
 * AMQP answer (up to 60 s). */
int gs_rabbit_start(gs_peer *p, int stats_ms);
void gs_rabbit_stop(gs_peer *p);
/* Kills the broker (SIGKILL, data kept) / starts it again on the same ports and data. */
void gs_rabbit_kill(gs_peer *p);
int gs_rabbit_restart(gs_peer *p);
/* Runs rabbitmqctl against the node; returns its exit status. */
int gs_rabbit_ctl(const gs_peer *p, const char *args);

/* prometheus scraping http://127.0.0.1:exporter_port/metrics every scrape_interval
 * ("100ms"); port 0 = pick. */
int gs_prom_start(gs_peer *p, int port, int exporter_port, const char *scrape_interval);
void gs_prom_stop(gs_peer *p);

/* ---- in-process HTTP server (libmicrohttpd) ---- */
typedef struct gs_httpd gs_httpd;
typedef struct gs_httpd_req {
    const char *method;
    const char *url;
    const char *body;
    size_t len;
    void *conn;          /* struct MHD_Connection * */
} gs_httpd_req;
/* Returns the HTTP status; *reply (malloc'd, may be NULL for empty) is sent back. */
typedef int (*gs_httpd_fn)(void *ud, const gs_httpd_req *r, char **reply);
gs_httpd *gs_httpd_start(gs_httpd_fn fn, void *ud, int *port);
/* The same over HTTPS with a PEM certificate and key (strings that must outlive the server). */
gs_httpd *gs_httpd_start_tls(gs_httpd_fn fn, void *ud, int *port, const char *cert_pem,
                             const char *key_pem);
void gs_httpd_stop(gs_httpd *h);
/* A request header (case-insensitive) or NULL. */
const char *gs_httpd_header(const gs_httpd_req *r, const char *name);
/* Calls fn for every request header. */
void gs_httpd_headers(const gs_httpd_req *r, void (*fn)(void *ud, const char *k, const char *v),
                      void *ud);

/* ---- raw TCP server answering every connection with fixed bytes, then closing ---- */
typedef struct gs_rawd gs_rawd;
gs_rawd *gs_rawd_start(const char *answer, int *port);
void gs_rawd_stop(gs_rawd *r);

/* Captures what the process writes to stderr (the log) between begin and end; end returns
 * it (malloc'd) and restores stderr. */
void gs_capture_begin(void);
char *gs_capture_end(void);

/* rm -rf of a directory made by the harness (must be under /tmp/gs-). */
void gs_peer_rmdir(const char *dir);

#endif
