/*
 * metrics: the agent's HTTP server for Prometheus and health checks (GET
 * /metrics, GET /health on metrics_listen), on the agent's own loop. It is
 * written here rather than taken from a library: it serves two fixed paths
 * to scrapers, and the parser (common/httpd.c, fuzzed) refuses anything but
 * a small GET or HEAD.
 *
 * Bounds, so that no client can hold the agent's memory or its loop: at most
 * METRICS_MAX_CLIENTS connections at once (more are accepted and closed at
 * once, which keeps the listen queue short), a request head of at most
 * HTTPD_HEAD_MAX bytes, and METRICS_TIMEOUT_MS for the whole exchange from
 * accept to close, whatever the client does (a slow sender, a reader that
 * never reads). One request per connection: the answer says Connection:
 * close, and the socket is shut down once it is written.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>

#include <uv.h>

#define METRICS_MAX_CLIENTS 32
#define METRICS_TIMEOUT_MS  5000

struct metrics;

/*
 * Answers GET `path` (without its query): returns a malloc'd body the server
 * frees, with *status and *content_type (static) set; NULL for a path it
 * does not serve (the client gets 404). Called on the loop, once per request.
 */
typedef char *metrics_handler_fn(const char *path, int *status, const char **content_type,
				 void *arg);

/*
 * Listens on host:port (an IPv4 or IPv6 literal) with SO_REUSEADDR. Returns
 * 0 and *out, or a negative errno (the bind or listen error, logged here with
 * the address) with nothing left open once the loop has run its close
 * callbacks.
 */
int metrics_open(uv_loop_t *loop, const char *host, uint16_t port, metrics_handler_fn *fn,
		 void *arg, struct metrics **out);

/* Drops every client, stops listening, logs how many connections there were
 * (accepted, over the limit, timed out, refused), and frees the server in the
 * last close callback. Accepts NULL. */
void metrics_close(struct metrics *m);

#endif
