/*
 * metrics: the HTTP endpoints (metrics.h), in the shape of control.c: one
 * uv_tcp_t listening, one small struct per client holding its socket, a
 * timer armed at accept, the request head read so far and the answer.
 *
 * A client's life: accepted (or closed at once past METRICS_MAX_CLIENTS),
 * its head read until httpd_parse() has a verdict, the answer written, its
 * sending side shut down, then whatever it still sends is read and dropped
 * until it closes (closing with unread bytes would reset the connection and
 * could lose the answer). The timer ends all of this after METRICS_TIMEOUT_MS.
 * A client is freed in the last of its two close callbacks, the server once it
 * and every client have closed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "container.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define METRICS_BACKLOG 64

struct metrics_client {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	uv_shutdown_t sd;
	struct metrics *m;
	LIST_ENTRY(metrics_client) entry;
	char *answer;
	unsigned open_handles;
	bool answered, closing;
	size_t len;
	char buf[HTTPD_HEAD_MAX];
};

struct metrics {
	uv_tcp_t srv;
	uv_loop_t *loop;
	bool srv_open, closing;
	metrics_handler_fn *fn;
	void *arg;
	LIST_HEAD(, metrics_client) clients;
	unsigned nclients; /* clients not yet closing */
	uint64_t accepted, over_limit, timed_out, refused;
};

static void
metrics_maybe_free(struct metrics *m)
{
	if (!m->closing || m->srv_open || !LIST_EMPTY(&m->clients))
		return;
	free(m);
}

static void
metrics_client_on_close(uv_handle_t *h)
{
	struct metrics_client *cl = h->data;
	struct metrics *m = cl->m;

	if (--cl->open_handles > 0)
		return;
	LIST_REMOVE(cl, entry);
	free(cl->answer);
	free(cl);
	metrics_maybe_free(m);
}

static void
metrics_client_close(struct metrics_client *cl)
{
	if (cl->closing)
		return;
	cl->closing = true;
	cl->m->nclients--;
	uv_close((uv_handle_t *)&cl->tcp, metrics_client_on_close);
	uv_close((uv_handle_t *)&cl->timer, metrics_client_on_close);
}

/* After the answer: whatever the client still sends is dropped until it closes. */
static void
metrics_on_alloc_drain(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct metrics_client *cl = h->data;

	*buf = uv_buf_init(cl->buf, sizeof(cl->buf));
}

static void
metrics_on_drain(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	if (nread < 0)
		metrics_client_close(st->data);
}

static void
metrics_on_shutdown(uv_shutdown_t *sd, int status)
{
	struct metrics_client *cl = container_of(sd, struct metrics_client, sd);

	if (status != 0 || cl->closing)
		metrics_client_close(cl);
}

static void
metrics_on_written(uv_write_t *wr, int status)
{
	struct metrics_client *cl = container_of(wr, struct metrics_client, wr);

	if (status != 0 || cl->closing) {
		metrics_client_close(cl);
		return;
	}
	if (uv_shutdown(&cl->sd, (uv_stream_t *)&cl->tcp, metrics_on_shutdown) != 0 ||
	    uv_read_start((uv_stream_t *)&cl->tcp, metrics_on_alloc_drain, metrics_on_drain) != 0)
		metrics_client_close(cl);
}

/* Sends the whole answer: status, headers and (unless HEAD) the body. */
static void
metrics_answer(struct metrics_client *cl, int status, const char *type, const char *body, bool head)
{
	uv_buf_t b;
	size_t n = 0;

	cl->answered = true;
	uv_read_stop((uv_stream_t *)&cl->tcp);
	cl->answer = httpd_response(status, type, body, strlen(body), head, &n);
	if (cl->answer == NULL)
		fatalx("out of memory");
	b = uv_buf_init(cl->answer, (unsigned)n);
	if (uv_write(&cl->wr, (uv_stream_t *)&cl->tcp, &b, 1, metrics_on_written) != 0)
		metrics_client_close(cl);
}

/* A parsed request: the handler's body, or 404. */
static void
metrics_serve(struct metrics_client *cl, const struct httpd_req *req)
{
	const char *type = "text/plain; charset=utf-8";
	int status = 200;
	char *body = cl->m->fn(req->path, &status, &type, cl->m->arg);

	log_trace(TRACE_CONTROL, "metrics: %s %s", req->head ? "HEAD" : "GET", req->path);
	if (body == NULL) {
		metrics_answer(cl, 404, "text/plain; charset=utf-8", "not found\n", req->head);
		return;
	}
	metrics_answer(cl, status, type, body, req->head);
	free(body);
}

static void
metrics_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct metrics_client *cl = h->data;

	*buf = uv_buf_init(cl->buf + cl->len, (unsigned)(sizeof(cl->buf) - cl->len));
}

static void
metrics_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct metrics_client *cl = st->data;
	struct httpd_req req;
	char text[64];
	int r;

	if (nread < 0) {
		metrics_client_close(cl); /* gone before a whole request */
		return;
	}
	cl->len += (size_t)nread;
	r = httpd_parse(cl->buf, cl->len, &req);
	if (r == -EAGAIN)
		return;
	if (r == 0) {
		metrics_serve(cl, &req);
		return;
	}
	cl->m->refused++;
	log_trace(TRACE_CONTROL, "metrics: refused a request: %d %s", req.status, req.why);
	snprintf(text, sizeof(text), "%d %s\n", req.status, httpd_reason(req.status));
	metrics_answer(cl, req.status, "text/plain; charset=utf-8", text, false);
}

static void
metrics_on_timeout(uv_timer_t *t)
{
	struct metrics_client *cl = container_of(t, struct metrics_client, timer);

	if (!cl->answered)
		cl->m->timed_out++;
	log_trace(TRACE_CONTROL, "metrics: dropped a client after %d ms (%s)", METRICS_TIMEOUT_MS,
		  cl->answered ? "answer not taken" : "no whole request");
	metrics_client_close(cl);
}

static struct metrics_client *
metrics_client_new(struct metrics *m)
{
	struct metrics_client *cl = xcalloc(1, sizeof(*cl));

	cl->m = m;
	uv_tcp_init(m->loop, &cl->tcp);
	uv_timer_init(m->loop, &cl->timer);
	cl->tcp.data = cl->timer.data = cl;
	cl->open_handles = 2;
	LIST_INSERT_HEAD(&m->clients, cl, entry);
	m->nclients++;
	return cl;
}

static void
metrics_on_connection(uv_stream_t *srv, int status)
{
	struct metrics *m = container_of((uv_tcp_t *)(void *)srv, struct metrics, srv);
	struct metrics_client *cl;

	if (status < 0) {
		log_warnx("metrics: accept: %s", uv_strerror(status));
		return;
	}
	cl = metrics_client_new(m);
	/* Accepted even over the limit, then closed: the queue drains and the
	 * client learns at once, instead of waiting in the backlog. */
	if (uv_accept(srv, (uv_stream_t *)&cl->tcp) != 0) {
		metrics_client_close(cl);
		return;
	}
	m->accepted++;
	if (m->nclients > METRICS_MAX_CLIENTS) {
		m->over_limit++;
		metrics_client_close(cl);
		return;
	}
	uv_tcp_nodelay(&cl->tcp, 1);
	uv_timer_start(&cl->timer, metrics_on_timeout, METRICS_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&cl->tcp, metrics_on_alloc, metrics_on_read) != 0)
		metrics_client_close(cl);
}

static void
metrics_on_srv_close(uv_handle_t *h)
{
	struct metrics *m = h->data;

	m->srv_open = false;
	metrics_maybe_free(m);
}

static int
metrics_bind(struct metrics *m, const char *host, uint16_t port)
{
	struct sockaddr_storage sa;
	int r;

	if (strchr(host, ':') != NULL)
		r = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa);
	else
		r = uv_ip4_addr(host, port, (struct sockaddr_in *)&sa);
	if (r == 0)
		r = uv_tcp_bind(&m->srv, (const struct sockaddr *)&sa, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&m->srv, METRICS_BACKLOG, metrics_on_connection);
	return r;
}

int
metrics_open(uv_loop_t *loop, const char *host, uint16_t port, metrics_handler_fn *fn, void *arg,
	     struct metrics **out)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	int r;

	LIST_INIT(&m->clients);
	m->loop = loop;
	m->fn = fn;
	m->arg = arg;
	uv_tcp_init(loop, &m->srv);
	m->srv.data = m;
	m->srv_open = true;
	r = metrics_bind(m, host, port);
	if (r != 0) {
		log_error("metrics: cannot listen on %s%s%s:%u: %s", strchr(host, ':') ? "[" : "",
			  host, strchr(host, ':') ? "]" : "", port, uv_strerror(r));
		metrics_close(m);
		return r;
	}
	log_info("metrics: serving /metrics and /health on http://%s%s%s:%u",
		 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port);
	*out = m;
	return 0;
}

void
metrics_close(struct metrics *m)
{
	struct metrics_client *cl;

	if (m == NULL || m->closing)
		return;
	m->closing = true;
	if (m->accepted > 0)
		log_info("metrics: %" PRIu64 " connections, %" PRIu64 " over the limit, %" PRIu64
			 " timed out, %" PRIu64 " requests refused",
			 m->accepted, m->over_limit, m->timed_out, m->refused);
	LIST_FOREACH(cl, &m->clients, entry)
		metrics_client_close(cl);
	uv_close((uv_handle_t *)&m->srv, metrics_on_srv_close);
}
