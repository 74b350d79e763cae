/*
 * http_curl: libcurl's multi-socket interface on a libuv loop (curl's
 * docs/examples/multi-uv.c, without its globals or unchecked calls). This is
 * the engine of the HTTP helper, mitosis-http (http_helper.c); the agent
 * itself never links libcurl and reaches it through agent/http.c.
 *
 * Requests and responses use http.h's struct http_request and struct
 * http_response. Request headers may hold a bearer token: they are never
 * logged, and are wiped when the request is freed.
 */
#ifndef HTTP_CURL_H
#define HTTP_CURL_H

#include <stdint.h>

#include <uv.h>

#include "http.h"

struct http_curl;
struct http_curl_req;

/* Called once per request, on completion, failure or cancellation. The
 * request and response are freed when the callback returns. */
typedef void http_curl_done_fn(struct http_curl_req *req, const struct http_response *resp,
			       void *arg);

/* New engine on `loop`. NULL when curl cannot be set up. curl_global_init()
 * must have run. */
struct http_curl *http_curl_new(uv_loop_t *loop);

/*
 * Starts a request (its strings are copied). Returns 0 (the callback runs
 * later, exactly once) or a negative errno (the callback never runs). *out,
 * when not NULL, receives a handle for http_curl_cancel() that is valid until
 * the callback runs.
 */
int http_curl_start(struct http_curl *h, const struct http_request *rq, http_curl_done_fn *cb,
		    void *arg, struct http_curl_req **out);

/* Cancels a pending request: its callback runs now with err -ECANCELED. */
void http_curl_cancel(struct http_curl_req *req);

/*
 * Cancels every request (callbacks run with -ECANCELED), closes every handle;
 * `closed` runs once all are closed and the engine is freed. Accepts NULL.
 */
void http_curl_close(struct http_curl *h, void (*closed)(void *arg), void *arg);

#endif
