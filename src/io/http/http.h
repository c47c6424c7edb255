/* The controller's HTTP endpoints (libmicrohttpd, its own thread): /healthz (process alive),
 * /readyz (caches synced; 503 before), /metrics (Prometheus text the controller publishes). */
#ifndef GS_IO_HTTP_H
#define GS_IO_HTTP_H

#include <stdbool.h>

#include "model/err.h"

typedef struct gs_http gs_http;

/* Listens on addr:port ("127.0.0.1", 0 = any free port; see gs_http_port). */
int gs_http_start(const char *addr, int port, gs_http **out, gs_error *err);
void gs_http_stop(gs_http *h);
int gs_http_port(const gs_http *h);
void gs_http_set_ready(gs_http *h, bool ready);
/* Replaces the /metrics body (copied). */
void gs_http_set_metrics(gs_http *h, const char *text);

#endif
