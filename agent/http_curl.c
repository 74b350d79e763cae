/*
 * http_curl: libcurl's multi-socket interface driven by a libuv loop, the
 * engine of mitosis-http.
 *
 * curl tells us which sockets to watch (http_curl_on_socket) and when to call
 * it back (http_curl_on_curl_timer); we map those onto one uv_poll_t per
 * socket and one uv_timer_t, and after every curl_multi_socket_action() we
 * collect finished transfers (http_curl_collect). Handles follow libuv's
 * two-phase rule: uv_close() first, free in the close callback;
 * http_curl_close() frees the engine once the last handle has closed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <sodium.h>

#include "container.h"
#include "http_curl.h"
#include "httpframe.h"
#include "xmalloc.h"

_Static_assert(HTTP_MAX_BODY == HTTPFRAME_MAX_BODY, "a body must fit in a response frame");

#define HTTP_CURL_MAX_HEADERS HTTPFRAME_MAX_HEADER_BYTES

struct http_curl_buf {
	char *data;
	size_t len;
	size_t cap;
};

struct http_curl_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct http_curl *h;
	LIST_ENTRY(http_curl_sock) entry;
};

struct http_curl_req {
	struct http_curl *h;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body_copy;
	size_t body_copy_len;
	struct http_curl_buf body;
	struct http_curl_buf headers;
	bool too_big;
	http_curl_done_fn *cb;
	void *arg;
	uint64_t t0;
	char errbuf[CURL_ERROR_SIZE];
	LIST_ENTRY(http_curl_req) entry;
};

struct http_curl {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	LIST_HEAD(, http_curl_req) reqs;
	LIST_HEAD(, http_curl_sock) socks;
	unsigned open_handles;
	bool closing;
	void (*closed)(void *);
	void *closed_arg;
};

static void http_curl_collect(struct http_curl *h);

/* Appends to a bounded buffer; false when the bound would be passed. */
static bool
http_curl_buf_append(struct http_curl_buf *b, const char *p, size_t n, size_t limit)
{
	if (b->len + n > limit)
		return false;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 1024 : b->cap;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

static size_t
http_curl_on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_curl_req *req = arg;

	if (!http_curl_buf_append(&req->body, p, size * nmemb, HTTP_MAX_BODY)) {
		req->too_big = true;
		return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
	}
	return size * nmemb;
}

static size_t
http_curl_on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_curl_req *req = arg;
	size_t n = size * nmemb;

	/* A new status line starts a new header block (redirects, 100-continue). */
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
		req->headers.len = 0;
	if (!http_curl_buf_append(&req->headers, p, n, HTTP_CURL_MAX_HEADERS))
		return 0;
	return n;
}

static void
http_curl_on_handle_closed(uv_handle_t *handle)
{
	struct http_curl *h = handle->data;

	if (handle->type == UV_POLL)
		free(container_of((uv_poll_t *)(void *)handle, struct http_curl_sock, poll));
	h->open_handles--;
	if (h->closing && h->open_handles == 0) {
		void (*closed)(void *) = h->closed;
		void *arg = h->closed_arg;

		free(h);
		if (closed != NULL)
			closed(arg);
	}
}

static void
http_curl_sock_close(struct http_curl *h, struct http_curl_sock *hs)
{
	LIST_REMOVE(hs, entry);
	/* Stop now, close later: curl may reuse the fd number before the close
	 * callback runs, and a stopped watcher no longer claims it. */
	uv_poll_stop(&hs->poll);
	uv_close((uv_handle_t *)&hs->poll, http_curl_on_handle_closed);
}

static void
http_curl_on_poll(uv_poll_t *poll, int status, int events)
{
	struct http_curl_sock *hs = container_of(poll, struct http_curl_sock, poll);
	struct http_curl *h = hs->h;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	/* hs may be closed inside this call; only h is used afterwards. */
	curl_multi_socket_action(h->multi, hs->fd, flags, &running);
	http_curl_collect(h);
}

static int
http_curl_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_curl *h = userp;
	struct http_curl_sock *hs = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			/* During curl_multi_cleanup the multi handle is going away. */
			if (!h->closing)
				curl_multi_assign(h->multi, fd, NULL);
			http_curl_sock_close(h, hs);
		}
		return 0;
	}
	if (hs == NULL) {
		hs = xcalloc(1, sizeof(*hs));
		if (uv_poll_init_socket(h->loop, &hs->poll, fd) != 0) {
			free(hs);
			return -1;
		}
		hs->poll.data = h;
		hs->fd = fd;
		hs->h = h;
		LIST_INSERT_HEAD(&h->socks, hs, entry);
		h->open_handles++;
		curl_multi_assign(h->multi, fd, hs);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	return uv_poll_start(&hs->poll, events, http_curl_on_poll) == 0 ? 0 : -1;
}

static void
http_curl_on_timer(uv_timer_t *timer)
{
	struct http_curl *h = container_of(timer, struct http_curl, timer);
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_curl_collect(h);
}

static int
http_curl_on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_curl *h = userp;

	if (h->closing)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, http_curl_on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

struct http_curl *
http_curl_new(uv_loop_t *loop)
{
	struct http_curl *h = xcalloc(1, sizeof(*h));

	LIST_INIT(&h->reqs);
	LIST_INIT(&h->socks);
	h->loop = loop;
	h->multi = curl_multi_init();
	if (h->multi == NULL) {
		free(h);
		return NULL;
	}
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	h->open_handles = 1;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_curl_on_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_curl_on_curl_timer);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

static int
http_curl_errno(CURLcode rc, bool too_big)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_WRITE_ERROR:
		return too_big ? -EFBIG : -EIO;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Request headers may carry the API token: wiped before curl frees them. */
static void
http_curl_req_free(struct http_curl_req *req)
{
	curl_easy_cleanup(req->easy);
	for (struct curl_slist *n = req->hdrs; n != NULL; n = n->next)
		sodium_memzero(n->data, strlen(n->data));
	curl_slist_free_all(req->hdrs);
	if (req->body_copy != NULL)
		sodium_memzero(req->body_copy, req->body_copy_len);
	free(req->body_copy);
	free(req->body.data);
	free(req->headers.data);
	free(req);
}

/* Ends a request: detaches it from curl and the list, runs the callback, frees. */
static void
http_curl_finish(struct http_curl_req *req, int err, const char *errmsg)
{
	struct http_curl *h = req->h;
	struct http_response resp;

	memset(&resp, 0, sizeof(resp));
	resp.err = err;
	if (err == 0)
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	else
		snprintf(resp.errmsg, sizeof(resp.errmsg), "%s", errmsg);
	resp.body = req->body.data != NULL ? req->body.data : (char *)(uintptr_t) "";
	resp.body_len = req->body.len;
	resp.headers = req->headers.data != NULL ? req->headers.data : (char *)(uintptr_t) "";
	resp.elapsed_ms = uv_now(h->loop) - req->t0;
	curl_multi_remove_handle(h->multi, req->easy);
	LIST_REMOVE(req, entry);
	req->cb(req, &resp, req->arg);
	http_curl_req_free(req);
}

static void
http_curl_collect(struct http_curl *h)
{
	CURLMsg *msg;
	int left;

	/* A callback may close the engine (h stays allocated until its handles
	 * have closed, but the multi handle is gone). */
	while (!h->closing && (msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct http_curl_req *req = NULL;
		CURLcode rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		if (req == NULL)
			continue;
		http_curl_finish(req, http_curl_errno(rc, req->too_big),
				 req->too_big		  ? "response body larger than the limit"
				 : req->errbuf[0] != '\0' ? req->errbuf
							  : curl_easy_strerror(rc));
	}
}

/* Applies the request's options to its easy handle. 0 or -EINVAL. */
static int
http_curl_setup(struct http_curl_req *req, const struct http_request *rq)
{
	CURL *e = req->easy;
	uint64_t timeout = rq->timeout_ms != 0 ? rq->timeout_ms : 30000;
	CURLcode rc = CURLE_OK;

	for (const char *const *hp = rq->headers; hp != NULL && *hp != NULL; hp++) {
		struct curl_slist *n = curl_slist_append(req->hdrs, *hp);

		if (n == NULL)
			return -ENOMEM;
		req->hdrs = n;
	}
	rc |= curl_easy_setopt(e, CURLOPT_URL, rq->url);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
	rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "mitosis/" MITOSIS_VERSION);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_curl_on_body);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_curl_on_header);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)req);
	rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
	rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->hdrs);
	if (rq->method != NULL && strcmp(rq->method, "GET") != 0)
		rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
	if (rq->body != NULL) {
		req->body_copy = xmalloc(rq->body_len + 1);
		memcpy(req->body_copy, rq->body, rq->body_len);
		req->body_copy[rq->body_len] = '\0';
		req->body_copy_len = rq->body_len;
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body_copy);
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	}
	if (rq->source_address != NULL)
		rc |= curl_easy_setopt(e, CURLOPT_INTERFACE, rq->source_address);
	return rc == CURLE_OK ? 0 : -EINVAL;
}

int
http_curl_start(struct http_curl *h, const struct http_request *rq, http_curl_done_fn *cb,
		void *arg, struct http_curl_req **out)
{
	struct http_curl_req *req;
	int err;

	if (h->closing)
		return -ECANCELED;
	if (rq->url == NULL || cb == NULL)
		return -EINVAL;
	req = xcalloc(1, sizeof(*req));
	req->h = h;
	req->cb = cb;
	req->arg = arg;
	req->t0 = uv_now(h->loop);
	req->easy = curl_easy_init();
	if (req->easy == NULL) {
		free(req);
		return -ENOMEM;
	}
	err = http_curl_setup(req, rq);
	if (err == 0 && curl_multi_add_handle(h->multi, req->easy) != CURLM_OK)
		err = -EIO;
	if (err != 0) {
		http_curl_req_free(req);
		return err;
	}
	LIST_INSERT_HEAD(&h->reqs, req, entry);
	if (out != NULL)
		*out = req;
	return 0;
}

void
http_curl_cancel(struct http_curl_req *req)
{
	http_curl_finish(req, -ECANCELED, "cancelled");
}

void
http_curl_close(struct http_curl *h, void (*closed)(void *arg), void *arg)
{
	if (h == NULL || h->closing)
		return;
	h->closing = true;
	while (!LIST_EMPTY(&h->reqs))
		http_curl_cancel(LIST_FIRST(&h->reqs));
	h->closed = closed;
	h->closed_arg = arg;
	/* Cleanup closes cached connections; curl may report their removal. */
	curl_multi_cleanup(h->multi);
	h->multi = NULL;
	while (!LIST_EMPTY(&h->socks))
		http_curl_sock_close(h, LIST_FIRST(&h->socks));
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, http_curl_on_handle_closed);
}
