/*
 * http: the agent's side of the HTTP helper. The agent does not link libcurl
 * (with OpenSSL and its two dozen libraries it was most of the agent's
 * resident memory); every request runs in `mitosis-http` (http_helper.c), a
 * process this file starts on the first request, feeds with frames
 * (include/httpframe.h) over a pipe, and lets go when nothing has been pending
 * for a while, so that its memory goes back. docs/architecture.md, "HTTP
 * helper", has the design.
 *
 * The helper: `$MITOSIS_HTTP_HELPER` when set, else `mitosis-http` in the
 * directory of the running executable (/proc/self/exe). It is stopped by
 * closing its stdin after `$MITOSIS_HTTP_IDLE_MS` (default 10 s) without a
 * pending request, and respawned by the next request.
 *
 * Helper states (http_enter_state logs every transition):
 *   DOWN      no process and no handles
 *   UP        running; requests are written to it as they come
 *   STOPPING  its stdin is closed; new requests wait for it to exit
 *   EXITED    it has exited; its handles are closing; then DOWN, and a
 *             respawn at once when requests are waiting
 * When it dies with requests in flight, they end with -EIO and a message
 * naming the helper and its exit status or signal; when it cannot be started,
 * the requests waiting for it end the same way. The next request tries again.
 *
 * Our own deadline per request (its timeout plus HTTP_GRACE_MS) backs up
 * curl's, so that a wedged helper cannot hold a request forever. Handles are
 * unreferenced while nothing is pending, so that a CLI loop ends when its work
 * is done; http_close() references them again and waits for the helper to
 * exit (killing it after HTTP_STOP_GRACE_MS).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <spawn.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <strings.h>
#include <unistd.h>

#include "container.h"
#include "http.h"
#include "httpframe.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

_Static_assert(HTTP_MAX_BODY == HTTPFRAME_MAX_BODY, "a body must fit in a response frame");
_Static_assert(HTTP_ERR_LEN > HTTPFRAME_MAX_ERRMSG, "a framed errmsg must fit in a response");

#define HTTP_HELPER_NAME	"mitosis-http"
#define HTTP_DEFAULT_TIMEOUT_MS 30000
#define HTTP_IDLE_MS		10000
#define HTTP_GRACE_MS		5000
#define HTTP_STOP_GRACE_MS	3000
#define HTTP_READ_SIZE		(16U * 1024)

enum http_state {
	HTTP_DOWN,
	HTTP_UP,
	HTTP_STOPPING,
	HTTP_EXITED,
};

struct http_req {
	struct http *h;
	uint32_t id;
	bool sent;	/* written to the running helper */
	bool doomed;	/* the helper could not start: ends with h->start_msg */
	uint8_t *frame; /* encoded request, until it is written */
	size_t frame_len;
	http_done_fn *cb;
	void *arg;
	char *url; /* for the observer; NULL when there is none */
	uint64_t t0;
	uint64_t deadline;	     /* uv_now() by which the helper must have answered */
	TAILQ_ENTRY(http_req) entry; /* in h->reqs, oldest first */
};

struct http_write {
	uv_write_t w;
	uint8_t *buf;
	size_t len;
};

struct http {
	uv_loop_t *loop;
	char *helper; /* path of mitosis-http; NULL when it cannot be found */
	enum http_state state;
	uv_process_t proc;
	uv_pipe_t in;		 /* the helper's stdin: we write frames */
	uv_pipe_t out;		 /* the helper's stdout: we read answers */
	unsigned helper_handles; /* of proc, in, out: still open */
	bool exited;		 /* exit_cb has run */
	bool out_done;		 /* EOF or error on out, or we stopped reading */
	bool stop_killed;	 /* we killed it: it did not exit when told */
	int64_t exit_status;
	int term_signal;
	char why[HTTP_ERR_LEN]; /* set when we ended the helper for a reason */
	char start_msg[HTTP_ERR_LEN];
	uv_timer_t timer; /* deadlines, idle stop, kill after stop */
	uint64_t idle_ms;
	uint64_t last_busy; /* uv_now() when the last request ended */
	uint64_t kill_at;   /* STOPPING: SIGKILL from this time on */
	struct httpframe_reader rd;
	TAILQ_HEAD(, http_req) reqs;
	unsigned npending;
	uint32_t next_id;
	uint64_t started;
	bool closing;
	bool timer_closed;
	void (*closed)(void *);
	void *closed_arg;
	http_observe_fn *observe; /* sees every request that ends, but cancelled ones */
	void *observe_arg;
	uint8_t *rbuf; /* HTTP_READ_SIZE bytes while the helper's answers are read, else NULL */
};

static void http_schedule(struct http *h);
static void http_spawn(struct http *h);

static const char *
http_strstate(enum http_state s)
{
	switch (s) {
	case HTTP_DOWN:
		return "down";
	case HTTP_UP:
		return "up";
	case HTTP_STOPPING:
		return "stopping";
	case HTTP_EXITED:
		return "exited";
	}
	return "?";
}

static void
http_enter_state(struct http *h, enum http_state s)
{
	log_trace(TRACE_HTTP, "http: helper %s -> %s", http_strstate(h->state), http_strstate(s));
	h->state = s;
}

/* $MITOSIS_HTTP_HELPER, or mitosis-http beside /proc/self/exe. */
static char *
http_find_helper(void)
{
	const char *env = getenv("MITOSIS_HTTP_HELPER");
	char exe[PATH_MAX], *slash;
	ssize_t n;
	size_t len;

	if (env != NULL && env[0] != '\0')
		return xstrdup(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		log_warn("http: cannot find %s: /proc/self/exe", HTTP_HELPER_NAME);
		return NULL;
	}
	exe[n] = '\0';
	len = strlen(exe);
	/* The binary was replaced while running (an upgrade): same directory. */
	if (len > 10 && strcmp(exe + len - 10, " (deleted)") == 0)
		exe[len - 10] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return NULL;
	*slash = '\0';
	return xasprintf("%s/%s", exe, HTTP_HELPER_NAME);
}

static uint64_t
http_idle_ms(void)
{
	const char *env = getenv("MITOSIS_HTTP_IDLE_MS");
	uint64_t v;

	if (env == NULL || env[0] == '\0')
		return HTTP_IDLE_MS;
	if (util_parse_u64(env, 0, 86400000, &v) != 0) {
		log_warnx("http: MITOSIS_HTTP_IDLE_MS=\"%s\" is not 0..86400000; using %u", env,
			  HTTP_IDLE_MS);
		return HTTP_IDLE_MS;
	}
	return v;
}

struct http *
http_new(uv_loop_t *loop)
{
	struct http *h = xcalloc(1, sizeof(*h));

	TAILQ_INIT(&h->reqs);

	h->loop = loop;
	h->helper = http_find_helper();
	h->idle_ms = http_idle_ms();
	h->next_id = 1;
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	uv_unref((uv_handle_t *)&h->timer);
	return h;
}

/* Handles keep the loop alive only while something is pending or closing. */
static void
http_update_refs(struct http *h)
{
	uv_handle_t *handles[] = { (uv_handle_t *)&h->timer, (uv_handle_t *)&h->proc,
				   (uv_handle_t *)&h->in, (uv_handle_t *)&h->out };
	bool keep = h->npending > 0 || h->closing;

	for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
		if (i > 0 && h->state == HTTP_DOWN)
			break;
		if (uv_is_closing(handles[i]))
			continue;
		if (keep)
			uv_ref(handles[i]);
		else
			uv_unref(handles[i]);
	}
}

static void
http_on_written(uv_write_t *w, int status)
{
	struct http_write *hw = container_of(w, struct http_write, w);

	/* EPIPE and the like: the helper died; its exit reports it. */
	if (status < 0 && status != UV_ECANCELED)
		log_debug("http: write to %s: %s", HTTP_HELPER_NAME, uv_strerror(status));
	httpframe_buf_free(hw->buf, hw->len);
	free(hw);
}

/* Writes a frame to the helper's stdin; takes buf (wiped once written). */
static void
http_write(struct http *h, uint8_t *buf, size_t len)
{
	struct http_write *hw = xcalloc(1, sizeof(*hw));
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int r;

	hw->buf = buf;
	hw->len = len;
	r = uv_write(&hw->w, (uv_stream_t *)&h->in, &b, 1, http_on_written);
	if (r != 0) {
		log_debug("http: write to %s: %s", HTTP_HELPER_NAME, uv_strerror(r));
		httpframe_buf_free(buf, len);
		free(hw);
	}
}

static void
http_send(struct http *h, struct http_req *req)
{
	http_write(h, req->frame, req->frame_len);
	req->frame = NULL;
	req->sent = true;
}

static void
http_send_cancel(struct http *h, uint32_t id)
{
	uint8_t *buf = xmalloc(HTTPFRAME_CANCEL_SIZE);

	if (httpframe_encode_cancel(id, buf) != HTTPFRAME_OK) {
		free(buf);
		return;
	}
	http_write(h, buf, HTTPFRAME_CANCEL_SIZE);
}

static void
http_unlink(struct http *h, struct http_req *req)
{
	TAILQ_REMOVE(&h->reqs, req, entry);
	h->npending--;
}

/*
 * Ends a request: unlinks it, tells the helper when we give up on a request
 * it is running, runs the callback, frees. `fr` is the helper's answer, or
 * NULL for an error of our own (err, errmsg).
 */
static void
http_finish(struct http_req *req, const struct httpframe_response *fr, int err, const char *errmsg)
{
	struct http *h = req->h;
	struct http_response resp;

	http_unlink(h, req);
	if (fr == NULL && req->sent && h->state == HTTP_UP && !h->closing)
		http_send_cancel(h, req->id);
	memset(&resp, 0, sizeof(resp));
	if (fr != NULL) {
		resp.err = fr->err;
		resp.status = fr->err == 0 ? (long)fr->status : 0;
		snprintf(resp.errmsg, sizeof(resp.errmsg), "%s", fr->errmsg);
		resp.body = (char *)(uintptr_t)fr->body;
		resp.body_len = fr->body_len;
		resp.headers = (char *)(uintptr_t)fr->headers;
	} else {
		resp.err = err;
		snprintf(resp.errmsg, sizeof(resp.errmsg), "%s", errmsg);
		resp.body = resp.headers = (char *)(uintptr_t) "";
	}
	resp.elapsed_ms = uv_now(h->loop) - req->t0;
	h->last_busy = uv_now(h->loop);
	log_trace(TRACE_HTTP, "http: request %u done: err=%d status=%ld bytes=%zu in %llums",
		  req->id, resp.err, resp.status, resp.body_len,
		  (unsigned long long)resp.elapsed_ms);
	if (h->observe != NULL && req->url != NULL && resp.err != -ECANCELED)
		h->observe(req->url, &resp, h->observe_arg);
	req->cb(req, &resp, req->arg);
	httpframe_buf_free(req->frame, req->frame_len);
	free(req->url);
	free(req);
}

#define HTTP_FAIL_ALL	 (-1)
#define HTTP_FAIL_DOOMED 0
#define HTTP_FAIL_SENT	 1

/* Ends every request of a kind (HTTP_FAIL_*) with err and errmsg. A callback
 * may start or cancel requests, so the list is walked from the top each time. */
static void
http_fail(struct http *h, int which, int err, const char *errmsg)
{
	for (;;) {
		struct http_req *req = TAILQ_FIRST(&h->reqs);

		while (req != NULL && !(which < 0 || (which == 1 ? req->sent : req->doomed)))
			req = TAILQ_NEXT(req, entry);
		if (req == NULL)
			return;
		http_finish(req, NULL, err, errmsg);
	}
}

static void
http_on_helper_handle_closed(uv_handle_t *handle)
{
	struct http_req *req;
	struct http *h = handle->data;

	if (--h->helper_handles > 0)
		return;
	http_enter_state(h, HTTP_DOWN);
	httpframe_reader_reset(&h->rd);
	if (h->closing) {
		http_schedule(h);
		return;
	}
	/* Requests that came while it was stopping get a new helper. */
	TAILQ_FOREACH(req, &h->reqs, entry) {
		if (!req->sent && !req->doomed) {
			http_spawn(h);
			break;
		}
	}
	http_update_refs(h);
	http_schedule(h);
}

static void
http_close_helper_handles(struct http *h)
{
	uv_handle_t *handles[] = { (uv_handle_t *)&h->in, (uv_handle_t *)&h->out,
				   (uv_handle_t *)&h->proc };

	for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++)
		if (!uv_is_closing(handles[i]))
			uv_close(handles[i], http_on_helper_handle_closed);
}

/* The helper has both exited and closed its stdout: report, then close up. */
static void
http_helper_ended(struct http *h)
{
	struct http_req *req;
	char msg[HTTP_ERR_LEN];
	unsigned lost = 0;

	if (!h->exited || !h->out_done || (h->state != HTTP_UP && h->state != HTTP_STOPPING))
		return;
	TAILQ_FOREACH(req, &h->reqs, entry)
		lost += req->sent;
	if (h->why[0] != '\0')
		snprintf(msg, sizeof(msg), "%s", h->why);
	else if (h->term_signal != 0)
		snprintf(msg, sizeof(msg), "%s (%s) killed by signal %d (%s)", HTTP_HELPER_NAME,
			 h->helper, h->term_signal, strsignal(h->term_signal));
	else
		snprintf(msg, sizeof(msg), "%s (%s) exited with status %lld", HTTP_HELPER_NAME,
			 h->helper, (long long)h->exit_status);
	if (lost > 0)
		log_warnx("http: %s; %u request(s) in flight failed", msg, lost);
	else if (h->stop_killed)
		log_debug("http: %s", msg); /* the kill was logged */
	else if (h->term_signal != 0 || h->exit_status != 0)
		log_warnx("http: %s", msg);
	else if (h->closing)
		log_debug("http: %s on close", msg);
	else
		log_debug("http: %s after %llu ms idle", msg, (unsigned long long)h->idle_ms);
	http_enter_state(h, HTTP_EXITED);
	http_close_helper_handles(h);
	http_fail(h, HTTP_FAIL_SENT, -EIO, msg);
}

static void
http_on_exit(uv_process_t *proc, int64_t exit_status, int term_signal)
{
	struct http *h = container_of(proc, struct http, proc);

	h->exited = true;
	h->exit_status = exit_status;
	h->term_signal = term_signal;
	http_helper_ended(h);
}

/* Stops reading the helper's answers; its read buffer goes too (16 kB that
 * an agent whose helper is stopped when idle should not keep). */
static void
http_read_done(struct http *h)
{
	uv_read_stop((uv_stream_t *)&h->out);
	h->out_done = true;
	free(h->rbuf);
	h->rbuf = NULL;
}

/* Ends a helper that broke the protocol; its exit fails what it held. */
static void
http_helper_abort(struct http *h, const char *what)
{
	snprintf(h->why, sizeof(h->why), "%s (%s) sent a bad answer (%s); killed it",
		 HTTP_HELPER_NAME, h->helper, what);
	http_read_done(h);
	uv_process_kill(&h->proc, SIGKILL);
	http_helper_ended(h);
}

static struct http_req *
http_find(struct http *h, uint32_t id)
{
	struct http_req *req;

	TAILQ_FOREACH(req, &h->reqs, entry)
		if (req->id == id && req->sent)
			return req;
	return NULL;
}

static void
http_on_frame(struct http *h, const uint8_t *p, size_t n)
{
	struct httpframe_response *fr;
	enum httpframe_err e;
	struct http_req *req;

	if ((e = httpframe_decode_response(p, n, &fr)) != HTTPFRAME_OK) {
		http_helper_abort(h, httpframe_err_name(e));
		return;
	}
	/* Not found: we gave up on it (cancel, deadline) before the answer came. */
	if ((req = http_find(h, fr->id)) != NULL)
		http_finish(req, fr, 0, NULL);
	httpframe_response_free(fr);
}

static void
http_on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct http *h = handle->data;

	/* When malloc fails, libuv reads UV_ENOBUFS and the helper ends. */
	if (h->rbuf == NULL)
		h->rbuf = malloc(HTTP_READ_SIZE);
	*buf = uv_buf_init((char *)h->rbuf, h->rbuf != NULL ? HTTP_READ_SIZE : 0);
}

static void
http_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct http *h = stream->data;
	size_t off = 0, used, flen;
	enum httpframe_err e;
	uint8_t *frame;

	if (nread < 0) {
		if (nread != UV_EOF)
			log_debug("http: read from %s: %s", HTTP_HELPER_NAME,
				  uv_strerror((int)nread));
		http_read_done(h);
		http_helper_ended(h);
		return;
	}
	while (off < (size_t)nread && !h->out_done) {
		e = httpframe_reader_feed(&h->rd, h->rbuf + off, (size_t)nread - off, &used, &frame,
					  &flen);
		off += used;
		if (e != HTTPFRAME_OK) {
			http_helper_abort(h, httpframe_err_name(e));
			break;
		}
		if (frame != NULL) {
			http_on_frame(h, frame, flen);
			httpframe_buf_free(frame, flen);
		}
	}
	http_update_refs(h);
	http_schedule(h);
}

/* Starts the helper and writes every request waiting for it; when it cannot
 * start, they are doomed and end on the next timer tick. */
static void
http_spawn(struct http *h)
{
	struct http_req *req;
	uv_process_options_t o;
	uv_stdio_container_t stdio[3];
	char *args[2];
	int r;

	if (h->helper == NULL) {
		snprintf(h->start_msg, sizeof(h->start_msg),
			 "cannot start %s: its path is unknown (/proc/self/exe unreadable)",
			 HTTP_HELPER_NAME);
		goto doom;
	}
	memset(&o, 0, sizeof(o));
	args[0] = h->helper;
	args[1] = NULL;
	uv_pipe_init(h->loop, &h->in, 0);
	uv_pipe_init(h->loop, &h->out, 0);
	h->in.data = h->out.data = h;
	stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	stdio[0].data.stream = (uv_stream_t *)&h->in;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&h->out;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = STDERR_FILENO;
	o.file = h->helper;
	o.args = args;
	o.exit_cb = http_on_exit;
	o.stdio = stdio;
	o.stdio_count = 3;
	h->helper_handles = 3;
	h->exited = h->out_done = false;
	h->exit_status = 0;
	h->term_signal = 0;
	h->why[0] = '\0';
	h->stop_killed = false;
	httpframe_reader_init(&h->rd);
	r = uv_spawn(h->loop, &h->proc, &o);
	h->proc.data = h; /* initialised by uv_spawn, even when it fails */
	if (r == 0)
		r = uv_read_start((uv_stream_t *)&h->out, http_on_alloc, http_on_read);
	if (r != 0) {
		snprintf(h->start_msg, sizeof(h->start_msg), "cannot start %s (%s): %s",
			 HTTP_HELPER_NAME, h->helper, uv_strerror(r));
		log_warnx("http: %s", h->start_msg);
		if (uv_is_active((uv_handle_t *)&h->proc))
			uv_process_kill(&h->proc, SIGKILL);
		http_enter_state(h, HTTP_EXITED);
		http_close_helper_handles(h);
		goto doom;
	}
	log_debug("http: started %s (%s), pid %d", HTTP_HELPER_NAME, h->helper, h->proc.pid);
	http_enter_state(h, HTTP_UP);
	TAILQ_FOREACH(req, &h->reqs, entry)
		if (!req->sent && !req->doomed)
			http_send(h, req);
	return;
doom:
	TAILQ_FOREACH(req, &h->reqs, entry)
		if (!req->sent)
			req->doomed = true;
}

/* Closes the helper's stdin: it cancels what it runs and exits. */
static void
http_stop_helper(struct http *h)
{
	log_debug("http: stopping %s (%s)", HTTP_HELPER_NAME, h->closing ? "closing" : "idle");
	http_enter_state(h, HTTP_STOPPING);
	h->kill_at = uv_now(h->loop) + HTTP_STOP_GRACE_MS;
	uv_close((uv_handle_t *)&h->in, http_on_helper_handle_closed);
}

static void
http_on_timer_closed(uv_handle_t *handle)
{
	struct http *h = handle->data;
	void (*closed)(void *) = h->closed;
	void *arg = h->closed_arg;

	free(h->helper);
	free(h->rbuf);
	free(h);
	if (closed != NULL)
		closed(arg);
}

static void
http_on_timer(uv_timer_t *timer)
{
	struct http *h = timer->data;
	uint64_t now = uv_now(h->loop);
	char msg[HTTP_ERR_LEN];

	http_fail(h, HTTP_FAIL_DOOMED, -EIO, h->start_msg);
	for (;;) {
		struct http_req *req = TAILQ_FIRST(&h->reqs);

		while (req != NULL && req->deadline > now)
			req = TAILQ_NEXT(req, entry);
		if (req == NULL)
			break;
		snprintf(msg, sizeof(msg), "no answer from %s within %llu ms", HTTP_HELPER_NAME,
			 (unsigned long long)(req->deadline - req->t0));
		http_finish(req, NULL, -ETIMEDOUT, msg);
	}
	if (h->state == HTTP_UP && h->npending == 0 && !h->closing &&
	    now - h->last_busy >= h->idle_ms)
		http_stop_helper(h);
	if (h->state == HTTP_STOPPING && !h->exited && now >= h->kill_at) {
		log_warnx("http: %s (pid %d) did not exit after its stdin closed; killing it",
			  HTTP_HELPER_NAME, h->proc.pid);
		uv_process_kill(&h->proc, SIGKILL);
		h->stop_killed = true;
		h->kill_at = UINT64_MAX;
	}
	http_update_refs(h);
	http_schedule(h);
}

/* Arms the timer for the next deadline, idle stop or kill; frees the client
 * once it is closing and the helper is gone. */
static void
http_schedule(struct http *h)
{
	struct http_req *req;
	uint64_t now = uv_now(h->loop), next = UINT64_MAX;

	if (h->timer_closed)
		return;
	if (h->closing && h->state == HTTP_DOWN) {
		h->timer_closed = true;
		uv_close((uv_handle_t *)&h->timer, http_on_timer_closed);
		return;
	}
	TAILQ_FOREACH(req, &h->reqs, entry) {
		uint64_t t = req->doomed ? now : req->deadline;

		if (t < next)
			next = t;
	}
	if (h->state == HTTP_UP && h->npending == 0 && !h->closing &&
	    h->last_busy + h->idle_ms < next)
		next = h->last_busy + h->idle_ms;
	if (h->state == HTTP_STOPPING && !h->exited && h->kill_at < next)
		next = h->kill_at;
	if (next == UINT64_MAX)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, http_on_timer, next > now ? next - now : 0, 0);
}

/* The request's error when its frame cannot be built. */
static int
http_refused(const struct http_request *rq, enum httpframe_err e)
{
	log_debug("http: request refused: %s", httpframe_err_name(e));
	if (e == HTTPFRAME_NO_MEMORY)
		return -ENOMEM;
	if (e == HTTPFRAME_BAD_BODY && rq->body_len > HTTP_MAX_BODY)
		return -EFBIG;
	return -EINVAL;
}

int
http_start(struct http *h, const struct http_request *rq, http_done_fn *cb, void *arg,
	   struct http_req **out)
{
	struct httpframe_request fr;
	struct http_req *req;
	enum httpframe_err e;
	uint64_t timeout;

	if (h->closing)
		return -ECANCELED;
	if (rq->url == NULL || cb == NULL)
		return -EINVAL;
	timeout = rq->timeout_ms != 0 ? rq->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	if (timeout > UINT32_MAX)
		timeout = UINT32_MAX;
	memset(&fr, 0, sizeof(fr));
	fr.id = h->next_id;
	fr.timeout_ms = (uint32_t)timeout;
	fr.method = rq->method;
	fr.url = rq->url;
	fr.source_address = rq->source_address;
	fr.headers = rq->headers;
	fr.body = rq->body;
	fr.body_len = rq->body_len;
	req = xcalloc(1, sizeof(*req));
	if ((e = httpframe_encode_request(&fr, &req->frame, &req->frame_len)) != HTTPFRAME_OK) {
		free(req);
		return http_refused(rq, e);
	}
	h->next_id = h->next_id == UINT32_MAX ? 1 : h->next_id + 1;
	req->h = h;
	req->id = fr.id;
	req->cb = cb;
	req->arg = arg;
	req->url = h->observe != NULL ? xstrdup(rq->url) : NULL;
	req->t0 = uv_now(h->loop);
	req->deadline = req->t0 + timeout + HTTP_GRACE_MS;
	TAILQ_INSERT_TAIL(&h->reqs, req, entry);
	h->npending++;
	h->started++;
	if (h->state == HTTP_UP)
		http_send(h, req);
	else if (h->state == HTTP_DOWN)
		http_spawn(h);
	if (out != NULL)
		*out = req;
	http_update_refs(h);
	http_schedule(h);
	return 0;
}

void
http_cancel(struct http_req *req)
{
	struct http *h = req->h;

	http_finish(req, NULL, -ECANCELED, "cancelled");
	http_update_refs(h);
	http_schedule(h);
}

const char *
http_response_header(const struct http_response *resp, const char *name, char *buf, size_t size)
{
	size_t nlen = strlen(name);
	const char *p = resp->headers;

	while (p != NULL && *p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t linelen = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (linelen > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1, *end = p + linelen;
			size_t n;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
				end--;
			n = (size_t)(end - v) < size - 1 ? (size_t)(end - v) : size - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		p = eol != NULL ? eol + 1 : NULL;
	}
	return NULL;
}

void
http_close(struct http *h, void (*closed)(void *arg), void *arg)
{
	if (h == NULL || h->closing)
		return;
	h->closing = true;
	h->closed = closed;
	h->closed_arg = arg;
	http_fail(h, HTTP_FAIL_ALL, -ECANCELED, "cancelled");
	if (h->state == HTTP_UP)
		http_stop_helper(h);
	http_update_refs(h);
	http_schedule(h);
}

void
http_set_observer(struct http *h, http_observe_fn *fn, void *arg)
{
	h->observe = fn;
	h->observe_arg = arg;
}

uint64_t
http_requests_started(const struct http *h)
{
	return h->started;
}

/* Reads fd to EOF into buf (NUL-terminated, cut at size - 1; a final newline dropped). */
static void
http_read_all(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < size &&
	       ((r = read(fd, buf + n, size - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
}

int
http_version(char *buf, size_t size)
{
	char *path = http_find_helper(), *argv[3];
	posix_spawn_file_actions_t fa;
	int fds[2], status, r;
	pid_t pid;

	if (path == NULL) {
		snprintf(buf, size, "cannot find %s", HTTP_HELPER_NAME);
		return -ENOENT;
	}
	if (pipe(fds) != 0) {
		r = -errno;
		snprintf(buf, size, "pipe: %s", strerror(-r));
		free(path);
		return r;
	}
	argv[0] = path;
	argv[1] = (char *)(uintptr_t) "--version";
	argv[2] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	r = -posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (r == 0) {
		http_read_all(fds[0], buf, size);
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			r = -EIO;
	}
	close(fds[0]);
	if (r != 0)
		snprintf(buf, size, "cannot run %s --version: %s", path,
			 r == -EIO ? "it failed" : strerror(-r));
	free(path);
	return r;
}
