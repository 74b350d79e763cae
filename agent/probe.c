/*
 * probe: one load-balancer-style health check (agent/probe.h) on the loop.
 *
 * A probe owns a TCP handle and a timer (the response timeout); both are
 * closed when it ends, and it is freed in the last close callback. The
 * callback runs exactly once, from probe_end(), before the handles close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "log.h"
#include "probe.h"
#include "xmalloc.h"

#define PROBE_HEAD 64 /* bytes of the reply read: the status line is enough */

struct probe {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t creq;
	uv_write_t wreq;
	struct doapi_health_check hc;
	char ip[DOAPI_IPV4_LEN];
	char req[400];
	char head[PROBE_HEAD];
	size_t nhead;
	const char *fail; /* a connect that could not start: reported from the timer */
	unsigned open;	  /* handles not yet closed */
	bool done;
	probe_done_fn *cb;
	void *arg;
};

static void
probe_on_closed(uv_handle_t *h)
{
	struct probe *p = h->data;

	if (--p->open == 0)
		free(p);
}

/* Reports once, then closes both handles. */
static void
probe_end(struct probe *p, bool pass, const char *why)
{
	if (p->done)
		return;
	p->done = true;
	uv_timer_stop(&p->timer);
	log_trace(TRACE_CLOUD, "probe %s %s:%u: %s (%s)", p->hc.protocol, p->ip, p->hc.port,
		  pass ? "pass" : "fail", why);
	p->cb(pass, why, p->arg);
	uv_close((uv_handle_t *)&p->tcp, probe_on_closed);
	uv_close((uv_handle_t *)&p->timer, probe_on_closed);
}

static void
probe_on_timeout(uv_timer_t *t)
{
	struct probe *p = container_of(t, struct probe, timer);
	char why[64];

	snprintf(why, sizeof(why), "no answer within %u s", p->hc.timeout_s);
	probe_end(p, false, p->fail != NULL ? p->fail : why);
}

static void
probe_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct probe *p = h->data;

	(void)hint;
	*buf = uv_buf_init(p->head + p->nhead, (unsigned)(sizeof(p->head) - 1 - p->nhead));
}

/* The status line decides; the rest of the reply is not read. */
static void
probe_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct probe *p = s->data;
	char why[PROBE_HEAD + 16];
	size_t line;

	(void)buf;
	if (n > 0)
		p->nhead += (size_t)n;
	if (n >= 0 && p->nhead < 12 && p->nhead < sizeof(p->head) - 1)
		return;
	p->head[p->nhead] = '\0';
	line = strcspn(p->head, "\r\n");
	snprintf(why, sizeof(why), "%.*s", (int)line, p->nhead > 0 ? p->head : "no reply");
	probe_end(p, doapi_health_reply_ok(p->head, p->nhead), why);
}

static void
probe_on_write(uv_write_t *w, int status)
{
	struct probe *p = w->data;

	if (status != 0)
		probe_end(p, false, uv_strerror(status));
}

static void
probe_on_connect(uv_connect_t *req, int status)
{
	struct probe *p = req->data;
	uv_buf_t b;
	int err;

	if (status != 0) {
		probe_end(p, false, status == UV_ECANCELED ? "cancelled" : uv_strerror(status));
		return;
	}
	if (strcmp(p->hc.protocol, "http") != 0) {
		probe_end(p, true,
			  strcmp(p->hc.protocol, "tcp") == 0
				  ? "tcp connect ok"
				  : "tcp connect ok (https: the TLS handshake is not checked)");
		return;
	}
	snprintf(p->req, sizeof(p->req),
		 "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: mitosis-health\r\n"
		 "Connection: close\r\n\r\n",
		 p->hc.path, p->ip);
	b = uv_buf_init(p->req, (unsigned)strlen(p->req));
	p->wreq.data = p;
	if ((err = uv_write(&p->wreq, (uv_stream_t *)&p->tcp, &b, 1, probe_on_write)) != 0 ||
	    (err = uv_read_start((uv_stream_t *)&p->tcp, probe_alloc, probe_on_read)) != 0)
		probe_end(p, false, uv_strerror(err));
}

int
probe_start(uv_loop_t *loop, const char *ip, const struct doapi_health_check *hc, probe_done_fn *cb,
	    void *arg, struct probe **out)
{
	struct sockaddr_in sa;
	struct probe *p;
	int err;

	if (ip == NULL || strlen(ip) >= DOAPI_IPV4_LEN ||
	    uv_ip4_addr(ip, (int)hc->port, &sa) != 0 || cb == NULL)
		return -EINVAL;
	p = xcalloc(1, sizeof(*p));
	p->hc = *hc;
	snprintf(p->ip, sizeof(p->ip), "%s", ip);
	p->cb = cb;
	p->arg = arg;
	uv_tcp_init(loop, &p->tcp);
	uv_timer_init(loop, &p->timer);
	p->tcp.data = p->timer.data = p->creq.data = p;
	p->open = 2;
	err = uv_tcp_connect(&p->creq, &p->tcp, (const struct sockaddr *)&sa, probe_on_connect);
	if (err != 0)
		p->fail = uv_strerror(err); /* said from the timer: cb never runs in here */
	uv_timer_start(&p->timer, probe_on_timeout, err != 0 ? 0 : (uint64_t)hc->timeout_s * 1000,
		       0);
	if (out != NULL)
		*out = p;
	return 0;
}

void
probe_cancel(struct probe *p)
{
	if (p != NULL)
		probe_end(p, false, "cancelled");
}
