/*
 * httpd: the pure half of the agent's small HTTP server (agent/metrics.c):
 * a request parser that accepts only what a scraper or a health check sends,
 * a small GET (or HEAD) without a body, and says which status to answer
 * anything else with; and the framing of the one response per connection.
 *
 * Bounds (RFC 9112 leaves them to the server): the request head is at most
 * HTTPD_HEAD_MAX bytes, the target at most HTTPD_TARGET_MAX, at most
 * HTTPD_HEADERS_MAX header lines. Lines may end in CRLF or a bare LF (RFC
 * 9112 2.2). Header values are not interpreted, except that a request that
 * announces a body (Content-Length other than 0, Transfer-Encoding) is
 * refused: nothing served here takes one.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPD_HEAD_MAX	  2048 /* request line and headers, the empty line included */
#define HTTPD_TARGET_MAX  256  /* request target, query included */
#define HTTPD_HEADERS_MAX 32

struct httpd_req {
	int status;			 /* 200 when the request is served, else what to answer */
	bool head;			 /* HEAD: the response carries no body */
	char path[HTTPD_TARGET_MAX + 1]; /* the target's path, without its query */
	const char *why;		 /* static: why it was refused, for a trace; "" when not */
};

/*
 * Parses the request head in buf[0, len) (not NUL-terminated; may hold more
 * bytes after the head, which are ignored). Returns 0 with req->status 200
 * and req->path set; -EAGAIN when the head is incomplete and may still
 * arrive (len < HTTPD_HEAD_MAX); -EPROTO when it is refused, with
 * req->status set: 400 (malformed, or a body announced), 405 (a method
 * other than GET and HEAD), 414 (target too long), 431 (head over
 * HTTPD_HEAD_MAX or too many headers), 505 (not HTTP/1.0 or 1.1).
 */
int httpd_parse(const char *buf, size_t len, struct httpd_req *req);

/* The reason phrase of a status this server answers with ("Not Found"). */
const char *httpd_reason(int status);

/*
 * A whole response: status line, Content-Type, Content-Length (of the body
 * even for HEAD, which then has none), Cache-Control: no-store, Connection:
 * close, and for 405 an Allow header. Returns a new buffer of *out_len bytes
 * (the caller frees it), or NULL on ENOMEM.
 */
char *httpd_response(int status, const char *content_type, const char *body, size_t body_len,
		     bool head, size_t *out_len);

#endif
