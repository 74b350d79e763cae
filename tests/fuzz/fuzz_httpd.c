/*
 * libFuzzer harness for common/httpd.c: any bytes as a request head, as a
 * client would send them to the metrics server. The parser must give one of
 * its documented answers, keep the path within its bound and printable, say
 * why it refused, and answer the same for the head fed whole or cut short by
 * one byte (a shorter prefix can only be "more to come" or the same refusal);
 * a served request's response must frame. Never crash or read outside the input.
 * Seeds: tests/fuzz/corpus/httpd/.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_verdict(int r, const struct httpd_req *req, size_t size)
{
	static const int statuses[] = { 400, 405, 414, 431, 505 };
	bool known = false;

	if (r == 0) {
		if (req->status != 200 || req->path[0] != '/' ||
		    strlen(req->path) > HTTPD_TARGET_MAX)
			abort();
		for (const char *p = req->path; *p != '\0'; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
				abort();
		return;
	}
	if (r == -EAGAIN) {
		if (size >= HTTPD_HEAD_MAX)
			abort();
		return;
	}
	if (r != -EPROTO || req->why == NULL || req->why[0] == '\0')
		abort();
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		known = known || statuses[i] == req->status;
	if (!known)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpd_req req, shorter;
	int r = httpd_parse((const char *)data, size, &req), rs;
	size_t n = 0;
	char *resp;

	check_verdict(r, &req, size);
	if (size > 0) {
		rs = httpd_parse((const char *)data, size - 1, &shorter);
		check_verdict(rs, &shorter, size - 1);
		/* Refused on a prefix: refused the same with more bytes. */
		if (rs == -EPROTO && (r != -EPROTO || req.status != shorter.status))
			abort();
	}
	if (r == 0) {
		resp = httpd_response(200, "text/plain", (const char *)data, size, req.head, &n);
		if (resp == NULL || (!req.head && n < size) ||
		    memcmp(resp, "HTTP/1.1 200 OK\r\n", 17) != 0)
			abort();
		free(resp);
	}
	return 0;
}
