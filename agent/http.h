/*
 * http: asynchronous HTTP on the agent's libuv loop. One struct http per
 * agent (or CLI verb); each call is a struct http_req with a done callback.
 * Nothing here blocks.
 *
 * The requests run in the helper process mitosis-http (libcurl's
 * multi-socket interface, agent/http_curl.c), which http.c starts on the
 * first request, feeds through a pipe (include/httpframe.h) and stops after
 * an idle time, so that libcurl and its TLS libraries are never resident in
 * the agent (docs/architecture.md, "HTTP helper"). A helper that dies or
 * cannot start fails the requests it held with -EIO and a message naming it.
 *
 * Used by the metadata fetch and the DigitalOcean client, so it carries
 * methods, request bodies, extra headers and response headers. Request
 * headers may hold a bearer token: they are never logged, they reach the
 * helper only through its pipe, and curl's error text (which never includes
 * headers) is the only error detail kept.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define HTTP_MAX_BODY (4U * 1024 * 1024)
#define HTTP_ERR_LEN  256

struct http;
struct http_req;

struct http_response {
	int err; /* 0, or -ETIMEDOUT, -ECONNREFUSED, -EFBIG, -ECANCELED, -EIO... */
	char errmsg[HTTP_ERR_LEN]; /* curl's or the helper's explanation when err != 0 */
	long status;		   /* HTTP status when err == 0 */
	char *body;		   /* NUL-terminated; owned by the request, valid in the callback */
	size_t body_len;
	char *headers; /* raw response header block, NUL-terminated */
	uint64_t elapsed_ms;
};

/* Called once per request, on completion, failure or cancellation. The
 * request and response are freed when the callback returns. */
typedef void http_done_fn(struct http_req *req, const struct http_response *resp, void *arg);

struct http_request {
	const char *method; /* "GET" (default when NULL), "POST", "PUT", "DELETE" */
	const char *url;
	const char *body; /* NULL for none; copied */
	size_t body_len;
	const char *const *headers; /* NULL-terminated "Name: value" list; copied */
	uint64_t timeout_ms;	    /* whole request; 0 = 30 s */
	const char *source_address; /* bind the local end to this address; NULL = any */
};

/* New client on `loop`; no process is started until the first request.
 * Never NULL (out of memory is fatal). */
struct http *http_new(uv_loop_t *loop);

/*
 * Starts a request. Returns 0 (the callback will run later, exactly once) or
 * a negative errno (the callback never runs). *out, when not NULL, receives a
 * handle usable with http_cancel() until the callback runs.
 */
int http_start(struct http *h, const struct http_request *rq, http_done_fn *cb, void *arg,
	       struct http_req **out);

/* Cancels a pending request: its callback runs now with err -ECANCELED. */
void http_cancel(struct http_req *req);

/* Value of a response header (case-insensitive name) copied into buf, or NULL. */
const char *http_response_header(const struct http_response *resp, const char *name, char *buf,
				 size_t size);

/*
 * First phase of shutdown: cancels every request (callbacks run with
 * -ECANCELED), closes the helper's stdin and waits for it to exit (killing it
 * after a few seconds), then closes every handle; `closed` runs once all are
 * closed and the client is freed. Accepts NULL (then `closed` is not called).
 */
void http_close(struct http *h, void (*closed)(void *arg), void *arg);

/*
 * The helper's own words on its versions (`mitosis-http --version`: its
 * libcurl with the TLS library, its libuv), one line each, for `mitosis
 * version`. Blocks until the helper exits: for the CLI, never on the agent's
 * loop. 0, or a negative errno with the reason in buf (a helper missing or
 * failing names its path).
 */
int http_version(char *buf, size_t size);

/*
 * Called for every request of h as it ends (answered, failed or timed out;
 * not cancelled), before the request's own callback, with the URL it went
 * to: the agent counts its requests by endpoint for its metrics. The
 * response is borrowed for the call. Set it before the first request; NULL
 * removes it.
 */
typedef void http_observe_fn(const char *url, const struct http_response *resp, void *arg);
void http_set_observer(struct http *h, http_observe_fn *fn, void *arg);

/* Requests started so far (for the request-count figures). */
uint64_t http_requests_started(const struct http *h);

#endif
