/*
 * Unit tests for common/httpd.c: the requests a scraper sends are served,
 * everything else gets its status (400, 405, 414, 431, 505), an incomplete
 * head waits for more bytes, and responses are framed with their length.
 */
#include <errno.h>

#include "harness.h"
#include "httpd.h"

static int
parse(const char *s, struct httpd_req *req)
{
	return httpd_parse(s, strlen(s), req);
}

/* Expects the head to be refused with `status`. */
static void
refused(const char *s, int status)
{
	struct httpd_req req;

	if (parse(s, &req) != -EPROTO || req.status != status)
		harness_fail(__FILE__, __LINE__, "%s: status %d (%s), wanted %d", s, req.status,
			     req.why, status);
	ASSERT(req.why[0] != '\0');
}

TEST(httpd_prometheus_scrape_is_served)
{
	struct httpd_req req;
	const char *scrape =
		"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9950\r\n"
		"User-Agent: Prometheus/2.42.0\r\n"
		"Accept: application/openmetrics-text;version=1.0.0,text/plain;"
		"version=0.0.4;q=0.5,*/*;q=0.1\r\n"
		"Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";

	ASSERT_OK(parse(scrape, &req));
	ASSERT_EQ(req.status, 200);
	ASSERT_STR_EQ(req.path, "/metrics");
	ASSERT_FALSE(req.head);
}

TEST(httpd_bare_lf_head_query_and_trailing_bytes)
{
	struct httpd_req req;

	ASSERT_OK(parse("HEAD /health?x=1 HTTP/1.0\n\n", &req));
	ASSERT_TRUE(req.head);
	ASSERT_STR_EQ(req.path, "/health");
	/* Bytes after the head (a pipelined request) are not looked at. */
	ASSERT_OK(parse("GET / HTTP/1.1\r\n\r\nGARBAGE \x01\x02", &req));
	ASSERT_STR_EQ(req.path, "/");
	ASSERT_OK(parse("GET /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &req));
}

TEST(httpd_incomplete_head_waits)
{
	struct httpd_req req;
	const char *full = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

	/* Every prefix but the whole is "more to come". */
	for (size_t n = 0; n < strlen(full); n++)
		ASSERT_EQ(httpd_parse(full, n, &req), -EAGAIN);
	ASSERT_OK(httpd_parse(full, strlen(full), &req));
}

TEST(httpd_refusals)
{
	refused("POST /metrics HTTP/1.1\r\n\r\n", 405);
	refused("BREW /pot HTTP/1.1\r\n\r\n", 405);
	refused("GET /metrics HTTP/2.0\r\n\r\n", 505);
	refused("GET /metrics HTTP/1.1 x\r\n\r\n", 400);
	refused("GET /metrics\r\n\r\n", 400);
	refused("GET  /metrics HTTP/1.1\r\n\r\n", 400);
	refused("G(T /metrics HTTP/1.1\r\n\r\n", 400);
	refused("GET metrics HTTP/1.1\r\n\r\n", 400);
	refused("GET http://x/metrics HTTP/1.1\r\n\r\n", 400);
	refused("GET /met\x7frics HTTP/1.1\r\n\r\n", 400);
	refused("GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", 400);
	refused("GET /metrics HTTP/1.1\r\n: x\r\n\r\n", 400);
	refused("GET /metrics HTTP/1.1\r\nHo st: x\r\n\r\n", 400);
	refused("GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400);
	refused("GET /metrics HTTP/1.1\r\nHost: a\x01b\r\n\r\n", 400);
	refused("GET /metrics HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);
	refused("GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 400);
	refused("GET /metrics HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n", 400);
	refused("HTTP/1.1 200 OK\r\n\r\n", 400);
}

TEST(httpd_nul_byte_refused)
{
	struct httpd_req req;
	const char s[] = "GET /met\0rics HTTP/1.1\r\n\r\n";

	ASSERT_EQ(httpd_parse(s, sizeof(s) - 1, &req), -EPROTO);
	ASSERT_EQ(req.status, 400);
}

TEST(httpd_size_limits)
{
	struct httpd_req req;
	char buf[HTTPD_HEAD_MAX * 2];
	size_t n;

	/* A target of HTTPD_TARGET_MAX is served, one byte more is 414. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\n\r\n", HTTPD_TARGET_MAX - 1,
			     0);
	ASSERT_OK(httpd_parse(buf, n, &req));
	n = (size_t)snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\n\r\n", HTTPD_TARGET_MAX, 0);
	ASSERT_EQ(httpd_parse(buf, n, &req), -EPROTO);
	ASSERT_EQ(req.status, 414);
	/* A head that has not ended within HTTPD_HEAD_MAX bytes is 431, not "more to come". */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: %0*d", HTTPD_HEAD_MAX, 0);
	ASSERT_EQ(httpd_parse(buf, HTTPD_HEAD_MAX - 1, &req), -EAGAIN);
	ASSERT_EQ(httpd_parse(buf, n, &req), -EPROTO);
	ASSERT_EQ(req.status, 431);
	/* HTTPD_HEADERS_MAX header lines are served, one more is 431. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTPD_HEADERS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: y\r\n", i);
	ASSERT_OK(httpd_parse(buf, n + (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n"), &req));
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-last: y\r\n\r\n");
	ASSERT_EQ(httpd_parse(buf, n, &req), -EPROTO);
	ASSERT_EQ(req.status, 431);
}

TEST(httpd_response_framing)
{
	size_t n;
	char *r = httpd_response(200, "text/plain; version=0.0.4", "a 1\n", 4, false, &n);

	ASSERT_NOT_NULL(r);
	ASSERT_STR_EQ(r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
			 "Content-Length: 4\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
			 "a 1\n");
	ASSERT_EQ(n, strlen(r));
	free(r);
	/* HEAD: the length of the body it would have, and no body. */
	r = httpd_response(405, "text/plain", "no\n", 3, true, &n);
	ASSERT_STR_EQ(r, "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\n"
			 "Content-Length: 3\r\nCache-Control: no-store\r\nAllow: GET, HEAD\r\n"
			 "Connection: close\r\n\r\n");
	free(r);
	ASSERT_STR_EQ(httpd_reason(503), "Service Unavailable");
}
