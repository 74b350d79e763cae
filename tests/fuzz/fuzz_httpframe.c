/*
 * libFuzzer harness for common/httpframe.c. The input is a byte stream as it
 * would come down the pipe between mitosis and mitosis-http. It is fed to the
 * frame reader in chunks (sizes taken from the input itself), and every frame
 * that comes out is decoded by the decoder its type names. Whatever decodes
 * must encode back to exactly the same bytes (the format has one encoding per
 * value) and keep the documented bounds; whatever does not must fail with a
 * named error and no output. The whole input is also handed to each decoder
 * as one payload. Never crash, leak or read outside the input.
 * Seeds: tests/fuzz/corpus/httpframe/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Re-encodes a decoded payload and checks it is the same frame. */
static void
check_same(const uint8_t *payload, size_t n, uint8_t *enc, size_t enclen)
{
	if (enc == NULL || enclen != n + HTTPFRAME_LEN_SIZE ||
	    memcmp(enc + HTTPFRAME_LEN_SIZE, payload, n) != 0)
		abort();
	httpframe_buf_free(enc, enclen);
}

static void
check_request(const uint8_t *p, size_t n)
{
	struct httpframe_request *rq = NULL;
	enum httpframe_err e = httpframe_decode_request(p, n, &rq);
	uint8_t *enc = NULL;
	size_t enclen = 0, count = 0;

	if ((e == HTTPFRAME_OK) != (rq != NULL) || (unsigned)e >= HTTPFRAME_ERR_COUNT)
		abort();
	if (rq == NULL)
		return;
	if (rq->id == 0 || rq->method == NULL || rq->url == NULL || rq->headers == NULL ||
	    rq->body_len > HTTPFRAME_MAX_BODY || (rq->body == NULL && rq->body_len != 0))
		abort();
	while (rq->headers[count] != NULL)
		count++;
	if (count > HTTPFRAME_MAX_HEADERS)
		abort();
	if (httpframe_encode_request(rq, &enc, &enclen) != HTTPFRAME_OK)
		abort();
	check_same(p, n, enc, enclen);
	httpframe_request_free(rq);
}

static void
check_response(const uint8_t *p, size_t n)
{
	struct httpframe_response *rs = NULL;
	enum httpframe_err e = httpframe_decode_response(p, n, &rs);
	uint8_t *enc = NULL;
	size_t enclen = 0;

	if ((e == HTTPFRAME_OK) != (rs != NULL) || (unsigned)e >= HTTPFRAME_ERR_COUNT)
		abort();
	if (rs == NULL)
		return;
	if (rs->id == 0 || rs->err > 0 || rs->err < -4095 || rs->status > 999 ||
	    (rs->err != 0 && rs->status != 0) || strlen(rs->errmsg) > HTTPFRAME_MAX_ERRMSG ||
	    strlen(rs->headers) != rs->headers_len || rs->body[rs->body_len] != '\0')
		abort();
	if (httpframe_encode_response(rs, &enc, &enclen) != HTTPFRAME_OK)
		abort();
	check_same(p, n, enc, enclen);
	httpframe_response_free(rs);
}

static void
check_cancel(const uint8_t *p, size_t n)
{
	uint8_t enc[HTTPFRAME_CANCEL_SIZE];
	uint32_t id = 0;

	if (httpframe_decode_cancel(p, n, &id) != HTTPFRAME_OK)
		return;
	if (httpframe_encode_cancel(id, enc) != HTTPFRAME_OK || n != HTTPFRAME_HEAD_LEN ||
	    memcmp(enc + HTTPFRAME_LEN_SIZE, p, n) != 0)
		abort();
}

static void
check_payload(const uint8_t *p, size_t n)
{
	enum httpframe_type type;
	uint32_t id;

	check_request(p, n);
	check_response(p, n);
	check_cancel(p, n);
	if (httpframe_peek(p, n, &type, &id) == HTTPFRAME_OK &&
	    (type < HTTPFRAME_REQUEST || type > HTTPFRAME_RESPONSE || id == 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpframe_reader rd;
	size_t off = 0, chunk, used, flen;
	uint8_t *frame;

	check_payload(data, size);
	if (size == 0)
		return 0;
	/* The first byte picks the chunk size: 1..256 bytes per read. */
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	httpframe_reader_init(&rd);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		enum httpframe_err e;

		e = httpframe_reader_feed(&rd, data + off, n, &used, &frame, &flen);
		if (e != HTTPFRAME_OK) {
			if (frame != NULL || (e != HTTPFRAME_OVERSIZED &&
					      e != HTTPFRAME_TRUNCATED && e != HTTPFRAME_NO_MEMORY))
				abort();
			break;
		}
		if (used == 0 || used > n)
			abort();
		off += used;
		if (frame != NULL) {
			if (flen < HTTPFRAME_HEAD_LEN || flen > HTTPFRAME_MAX_FRAME)
				abort();
			check_payload(frame, flen);
			httpframe_buf_free(frame, flen);
		}
	}
	httpframe_reader_reset(&rd);
	return 0;
}
