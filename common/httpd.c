/*
 * httpd: request parsing and response framing for the agent's metrics and
 * health endpoints (include/httpd.h). The parser walks the head line by line
 * and refuses at the first thing it does not expect: it serves scrapers,
 * not browsers, so it needs no leniency beyond bare LF line ends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"

/* RFC 9110 5.6.2: tchar. */
static bool
httpd_is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
httpd_refuse(struct httpd_req *req, int status, const char *why)
{
	req->status = status;
	req->why = why;
	return -EPROTO;
}

/* The end of the line starting at s (its '\n'), or NULL when not in buf yet. */
static const char *
httpd_eol(const char *s, const char *end)
{
	return memchr(s, '\n', (size_t)(end - s));
}

/* The length of line [s, nl) without a CR before the LF. */
static size_t
httpd_line_len(const char *s, const char *nl)
{
	size_t n = (size_t)(nl - s);

	return n > 0 && s[n - 1] == '\r' ? n - 1 : n;
}

/* "GET /metrics HTTP/1.1". */
static int
httpd_request_line(const char *s, size_t n, struct httpd_req *req)
{
	const char *sp1 = memchr(s, ' ', n), *sp2, *target, *q;
	size_t mlen, tlen, vlen;

	if (sp1 == NULL || (sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s))) == NULL)
		return httpd_refuse(req, 400, "request line is not METHOD TARGET VERSION");
	mlen = (size_t)(sp1 - s);
	target = sp1 + 1;
	tlen = (size_t)(sp2 - target);
	vlen = n - (size_t)(sp2 + 1 - s);
	for (size_t i = 0; i < mlen; i++)
		if (!httpd_is_tchar((unsigned char)s[i]))
			return httpd_refuse(req, 400, "bad method");
	if (mlen == 0 || tlen == 0 || memchr(sp2 + 1, ' ', vlen) != NULL)
		return httpd_refuse(req, 400, "request line is not METHOD TARGET VERSION");
	if (vlen != 8 || memcmp(sp2 + 1, "HTTP/", 5) != 0 || sp2[7] != '.')
		return httpd_refuse(req, 400, "bad version");
	if (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.0", 8) != 0)
		return httpd_refuse(req, 505, "not HTTP/1.0 or HTTP/1.1");
	if (tlen > HTTPD_TARGET_MAX)
		return httpd_refuse(req, 414, "target too long");
	if (target[0] != '/')
		return httpd_refuse(req, 400, "target is not an absolute path");
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7f)
			return httpd_refuse(req, 400, "bad byte in target");
	q = memchr(target, '?', tlen);
	memcpy(req->path, target, q != NULL ? (size_t)(q - target) : tlen);
	req->path[q != NULL ? (size_t)(q - target) : tlen] = '\0';
	req->head = mlen == 4 && memcmp(s, "HEAD", 4) == 0;
	if (!req->head && !(mlen == 3 && memcmp(s, "GET", 3) == 0))
		return httpd_refuse(req, 405, "method is not GET or HEAD");
	return 0;
}

/* "Name: value"; a body announced is refused. */
static int
httpd_header(const char *s, size_t n, struct httpd_req *req)
{
	const char *colon = memchr(s, ':', n), *v;
	size_t klen, vlen;

	if (n > 0 && (s[0] == ' ' || s[0] == '\t'))
		return httpd_refuse(req, 400, "folded header line");
	if (colon == NULL || colon == s)
		return httpd_refuse(req, 400, "header line without a name");
	klen = (size_t)(colon - s);
	for (size_t i = 0; i < klen; i++)
		if (!httpd_is_tchar((unsigned char)s[i]))
			return httpd_refuse(req, 400, "bad header name");
	v = colon + 1;
	vlen = n - klen - 1;
	for (size_t i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return httpd_refuse(req, 400, "control byte in a header value");
	}
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (klen == 17 && strncasecmp(s, "transfer-encoding", 17) == 0)
		return httpd_refuse(req, 400, "a request body is not accepted");
	if (klen == 14 && strncasecmp(s, "content-length", 14) == 0 && !(vlen == 1 && v[0] == '0'))
		return httpd_refuse(req, 400, "a request body is not accepted");
	return 0;
}

int
httpd_parse(const char *buf, size_t len, struct httpd_req *req)
{
	const char *s = buf, *end = buf + (len < HTTPD_HEAD_MAX ? len : HTTPD_HEAD_MAX), *nl;
	unsigned lines = 0;
	int r;

	memset(req, 0, sizeof(*req));
	req->why = "";
	while ((nl = httpd_eol(s, end)) != NULL) {
		size_t n = httpd_line_len(s, nl);

		if (memchr(s, '\0', n) != NULL || memchr(s, '\r', n) != NULL)
			return httpd_refuse(req, 400, "NUL or CR inside a line");
		if (lines == 0)
			r = httpd_request_line(s, n, req);
		else if (n == 0)
			break;
		else if (lines > HTTPD_HEADERS_MAX)
			return httpd_refuse(req, 431, "too many header lines");
		else
			r = httpd_header(s, n, req);
		if (r != 0)
			return r;
		lines++;
		s = nl + 1;
	}
	if (nl == NULL)
		return len >= HTTPD_HEAD_MAX ? httpd_refuse(req, 431, "request head too large")
					     : -EAGAIN;
	req->status = 200;
	return 0;
}

const char *
httpd_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

char *
httpd_response(int status, const char *content_type, const char *body, size_t body_len, bool head,
	       size_t *out_len)
{
	char top[384];
	int n = snprintf(top, sizeof(top),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
			 status, httpd_reason(status), content_type, body_len,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");
	size_t total;
	char *out;

	if (n < 0 || (size_t)n >= sizeof(top))
		return NULL;
	total = (size_t)n + (head ? 0 : body_len);
	out = malloc(total + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, top, (size_t)n);
	if (!head && body_len > 0)
		memcpy(out + n, body, body_len);
	out[total] = '\0';
	*out_len = total;
	return out;
}
