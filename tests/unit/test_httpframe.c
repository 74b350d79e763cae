/*
 * Unit tests for common/httpframe.c: request, cancel and response frames
 * survive a round trip field for field; every rule of include/httpframe.h is
 * enforced by the encoder and, on hand-tampered bytes, by the decoder, each
 * with its own error name; every cut of a valid frame is refused; the stream
 * reader reassembles frames split at any byte and refuses length prefixes out
 * of bounds.
 */
#include <errno.h>

#include "harness.h"
#include "httpframe.h"

#define TOKEN "Authorization: Bearer dop_v1_0123456789abcdef"

/* Offsets inside a whole frame (length prefix included). */
#define OFF_VERSION 4
#define OFF_TYPE    5
#define OFF_ID	    6
#define OFF_FIELDS  10

static const char *const test_headers[] = { TOKEN, "Accept: application/json",
					    "Content-Type: application/json", NULL };

static void
sample_request(struct httpframe_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->id = 42;
	rq->timeout_ms = 5000;
	rq->method = "POST";
	rq->url = "https://api.example.com/v2/droplets?tag_name=web&page=1";
	rq->source_address = "10.0.0.5";
	rq->headers = test_headers;
	rq->body = "{\"name\":\"web-1\"}";
	rq->body_len = strlen(rq->body);
}

/* Encodes rq, which must succeed, and checks the length prefix. */
static uint8_t *
encode_ok(const struct httpframe_request *rq, size_t *len)
{
	uint8_t *buf = NULL;

	ASSERT_EQ(httpframe_encode_request(rq, &buf, len), HTTPFRAME_OK);
	ASSERT_NOT_NULL(buf);
	ASSERT_EQ(((size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3]),
		  *len - HTTPFRAME_LEN_SIZE);
	return buf;
}

static enum httpframe_err
encode_err(const struct httpframe_request *rq)
{
	uint8_t *buf = (uint8_t *)1;
	size_t len = 99;
	enum httpframe_err e = httpframe_encode_request(rq, &buf, &len);

	if (e == HTTPFRAME_OK)
		httpframe_buf_free(buf, len);
	else
		ASSERT(buf == NULL && len == 0);
	return e;
}

/* Decodes the payload of a whole frame as a request; the result only. */
static enum httpframe_err
decode_req_err(const uint8_t *frame, size_t len)
{
	struct httpframe_request *rq = (struct httpframe_request *)1;
	enum httpframe_err e;

	e = httpframe_decode_request(frame + HTTPFRAME_LEN_SIZE, len - HTTPFRAME_LEN_SIZE, &rq);
	if (e == HTTPFRAME_OK)
		httpframe_request_free(rq);
	else
		ASSERT_NULL(rq);
	return e;
}

TEST(httpframe_request_round_trip)
{
	struct httpframe_request in, *out = NULL;
	enum httpframe_type type;
	uint32_t id = 0;
	uint8_t *buf;
	size_t len;

	sample_request(&in);
	buf = encode_ok(&in, &len);
	ASSERT_EQ(httpframe_peek(buf + 4, len - 4, &type, &id), HTTPFRAME_OK);
	ASSERT_EQ(type, HTTPFRAME_REQUEST);
	ASSERT_EQ(id, 42);
	ASSERT_EQ(httpframe_decode_request(buf + 4, len - 4, &out), HTTPFRAME_OK);
	ASSERT_EQ(out->id, 42);
	ASSERT_EQ(out->timeout_ms, 5000);
	ASSERT_STR_EQ(out->method, "POST");
	ASSERT_STR_EQ(out->url, in.url);
	ASSERT_STR_EQ(out->source_address, "10.0.0.5");
	ASSERT_STR_EQ(out->headers[0], TOKEN);
	ASSERT_STR_EQ(out->headers[1], "Accept: application/json");
	ASSERT_STR_EQ(out->headers[2], "Content-Type: application/json");
	ASSERT_NULL(out->headers[3]);
	ASSERT_EQ(out->body_len, in.body_len);
	ASSERT_MEM_EQ(out->body, in.body, in.body_len);
	ASSERT_EQ(out->body[out->body_len], '\0');
	httpframe_request_free(out);
	httpframe_buf_free(buf, len);
}

TEST(httpframe_request_defaults_and_empty_body)
{
	struct httpframe_request in, *out = NULL;
	uint8_t *buf;
	size_t len;

	memset(&in, 0, sizeof(in));
	in.id = 7;
	in.url = "http://127.0.0.1:8169/metadata/v1.json";
	buf = encode_ok(&in, &len);
	ASSERT_EQ(httpframe_decode_request(buf + 4, len - 4, &out), HTTPFRAME_OK);
	ASSERT_STR_EQ(out->method, "GET");
	ASSERT_NULL(out->source_address);
	ASSERT_NULL(out->body); /* no body */
	ASSERT_EQ(out->body_len, 0);
	ASSERT_NULL(out->headers[0]);
	ASSERT_EQ(out->timeout_ms, 0);
	httpframe_request_free(out);
	httpframe_buf_free(buf, len);

	/* An empty body is a body: "POST" with Content-Length: 0. */
	in.method = "POST";
	in.body = "";
	buf = encode_ok(&in, &len);
	ASSERT_EQ(httpframe_decode_request(buf + 4, len - 4, &out), HTTPFRAME_OK);
	ASSERT_NOT_NULL(out->body);
	ASSERT_EQ(out->body_len, 0);
	httpframe_request_free(out);
	httpframe_buf_free(buf, len);
}

TEST(httpframe_request_encoder_rules)
{
	struct httpframe_request rq;
	const char *crlf[] = { "X-A: 1\r\nX-Injected: 2", NULL };
	const char *nocolon[] = { "Authorization Bearer x", NULL };
	const char *spacename[] = { "Bad Name: x", NULL };
	const char *emptyname[] = { ": x", NULL };
	const char *tab[] = { "X-Tab: a\tb", NULL };
	const char *many[HTTPFRAME_MAX_HEADERS + 2];
	char url[HTTPFRAME_MAX_URL + 2];

	sample_request(&rq);
	rq.id = 0;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_ID);
	sample_request(&rq);
	rq.method = "get";
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_METHOD);
	rq.method = "";
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_METHOD);
	rq.method = "ABCDEFGHIJKLMNOPQ"; /* 17 */
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_METHOD);
	rq.method = "ABCDEFGHIJKLMNOP"; /* 16 */
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_OK);

	sample_request(&rq);
	rq.url = NULL;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_URL);
	rq.url = "";
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_URL);
	rq.url = "http://x/a b";
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_URL);
	rq.url = "http://x/\r\nHost: evil";
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_URL);
	rq.url = "http://x/\xc3\xa9";
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_URL);
	memset(url, 'a', sizeof(url));
	url[sizeof(url) - 1] = '\0'; /* MAX + 1 characters */
	rq.url = url;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_URL);
	url[sizeof(url) - 2] = '\0'; /* exactly MAX */
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_OK);

	sample_request(&rq);
	rq.source_address = "";
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_SOURCE);
	rq.source_address = "10.0.0.5 ";
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_SOURCE);
	rq.source_address = "if!eth1";
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_OK);

	sample_request(&rq);
	rq.headers = crlf;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_HEADER);
	rq.headers = nocolon;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_HEADER);
	rq.headers = spacename;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_HEADER);
	rq.headers = emptyname;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_HEADER);
	rq.headers = tab;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_OK);
	for (size_t i = 0; i < HTTPFRAME_MAX_HEADERS + 1; i++)
		many[i] = "X-N: 1";
	many[HTTPFRAME_MAX_HEADERS + 1] = NULL;
	rq.headers = many;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_HEADER);
	many[HTTPFRAME_MAX_HEADERS] = NULL;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_OK);

	sample_request(&rq);
	rq.body = NULL; /* a length without a body */
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_BODY);
}

TEST(httpframe_request_size_bounds)
{
	struct httpframe_request rq, *out = NULL;
	char *big = malloc(HTTPFRAME_MAX_BODY + 1), *hdr = malloc(HTTPFRAME_MAX_HEADER + 2);
	const char *hdrs[HTTPFRAME_MAX_HEADERS + 1];
	uint8_t *buf;
	size_t len;

	ASSERT_NOT_NULL(big);
	ASSERT_NOT_NULL(hdr);
	memset(big, 0, HTTPFRAME_MAX_BODY + 1);
	sample_request(&rq);
	rq.body = big;
	rq.body_len = HTTPFRAME_MAX_BODY;
	buf = encode_ok(&rq, &len);
	ASSERT_LE(len - 4, HTTPFRAME_MAX_FRAME);
	ASSERT_EQ(httpframe_decode_request(buf + 4, len - 4, &out), HTTPFRAME_OK);
	ASSERT_EQ(out->body_len, HTTPFRAME_MAX_BODY);
	httpframe_request_free(out);
	httpframe_buf_free(buf, len);
	rq.body_len = HTTPFRAME_MAX_BODY + 1;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_BODY);

	/* One header of the largest size, then eight of them: over the sum. */
	memset(hdr, 'v', HTTPFRAME_MAX_HEADER + 1);
	memcpy(hdr, "X-Big: ", 7);
	hdr[HTTPFRAME_MAX_HEADER] = '\0';
	sample_request(&rq);
	hdrs[0] = hdr;
	hdrs[1] = NULL;
	rq.headers = hdrs;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_OK);
	hdr[HTTPFRAME_MAX_HEADER] = 'v';
	hdr[HTTPFRAME_MAX_HEADER + 1] = '\0';
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_HEADER);
	hdr[HTTPFRAME_MAX_HEADER] = '\0';
	for (size_t i = 0; i < 8; i++)
		hdrs[i] = hdr;
	hdrs[8] = NULL;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_OK); /* exactly 64 KiB */
	hdrs[8] = "X-One: more";
	hdrs[9] = NULL;
	ASSERT_EQ(encode_err(&rq), HTTPFRAME_BAD_HEADER);
	free(hdr);
	free(big);
}

TEST(httpframe_request_every_cut_refused)
{
	struct httpframe_request rq;
	uint8_t *buf;
	size_t len;

	sample_request(&rq);
	buf = encode_ok(&rq, &len);
	for (size_t cut = HTTPFRAME_LEN_SIZE; cut < len; cut++)
		ASSERT_EQ(decode_req_err(buf, cut), HTTPFRAME_TRUNCATED);
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_OK);
	httpframe_buf_free(buf, len);
}

TEST(httpframe_request_decoder_rules)
{
	struct httpframe_request rq;
	const char *one[] = { "X-A: b", NULL };
	uint8_t *buf, *longer;
	size_t len, m, u, s, h;

	memset(&rq, 0, sizeof(rq));
	rq.id = 9;
	rq.method = "PUT";
	rq.url = "http://h/p";
	rq.headers = one;
	rq.body = "xy";
	rq.body_len = 2;
	buf = encode_ok(&rq, &len);
	/* Offsets of the fields in this frame. */
	m = OFF_FIELDS + 4;	    /* method length */
	u = m + 1 + 3;		    /* url length (2 bytes) */
	s = u + 2 + strlen(rq.url); /* source length */
	h = s + 1;		    /* header count */

	buf[OFF_VERSION] = 2;
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_BAD_VERSION);
	buf[OFF_VERSION] = HTTPFRAME_VERSION;
	buf[OFF_TYPE] = 9;
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_BAD_TYPE);
	buf[OFF_TYPE] = HTTPFRAME_RESPONSE;
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_BAD_TYPE);
	buf[OFF_TYPE] = HTTPFRAME_REQUEST;
	buf[OFF_ID + 3] = 0;
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_BAD_ID);
	buf[OFF_ID + 3] = 9;
	buf[m + 1] = 'p';
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_BAD_METHOD);
	buf[m + 1] = 'P';
	buf[u + 2 + 4] = ' ';
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_BAD_URL);
	buf[u + 2 + 4] = ':';
	buf[h + 1 + 2 + 4] = '\n'; /* "X-A:\nb" */
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_BAD_HEADER);
	buf[h + 1 + 2 + 4] = ' ';
	buf[h] = HTTPFRAME_MAX_HEADERS + 1;
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_BAD_HEADER);
	buf[h] = 1;
	/* Body flag 2, then flag 0 with a length. */
	buf[h + 1 + 2 + strlen(one[0])] = 2;
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_BAD_BODY);
	buf[h + 1 + 2 + strlen(one[0])] = 0;
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_BAD_BODY);
	buf[h + 1 + 2 + strlen(one[0])] = 1;
	ASSERT_EQ(decode_req_err(buf, len), HTTPFRAME_OK);

	/* One byte more than the fields: trailing. */
	longer = malloc(len + 1);
	ASSERT_NOT_NULL(longer);
	memcpy(longer, buf, len);
	longer[len] = 0;
	ASSERT_EQ(decode_req_err(longer, len + 1), HTTPFRAME_TRAILING);
	free(longer);
	httpframe_buf_free(buf, len);
}

static struct httpframe_response *
response_round_trip(const struct httpframe_response *in)
{
	struct httpframe_response *out = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	ASSERT_EQ(httpframe_encode_response(in, &buf, &len), HTTPFRAME_OK);
	ASSERT_EQ(httpframe_decode_response(buf + 4, len - 4, &out), HTTPFRAME_OK);
	httpframe_buf_free(buf, len);
	return out;
}

static enum httpframe_err
response_encode_err(const struct httpframe_response *rs)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum httpframe_err e = httpframe_encode_response(rs, &buf, &len);

	if (e == HTTPFRAME_OK)
		httpframe_buf_free(buf, len);
	else
		ASSERT_NULL(buf);
	return e;
}

TEST(httpframe_response_round_trip)
{
	static const char body[] = "{\"droplets\":[]}\0binary\xff";
	const char *hdrs = "HTTP/1.1 200 OK\r\nRateLimit-Remaining: 4999\r\n\r\n";
	struct httpframe_response in = { .id = 3,
					 .status = 200,
					 .headers = hdrs,
					 .headers_len = strlen(hdrs),
					 .body = body,
					 .body_len = sizeof(body) - 1 };
	struct httpframe_response *out = response_round_trip(&in);

	ASSERT_EQ(out->id, 3);
	ASSERT_EQ(out->err, 0);
	ASSERT_EQ(out->status, 200);
	ASSERT_STR_EQ(out->errmsg, "");
	ASSERT_STR_EQ(out->headers, hdrs);
	ASSERT_EQ(out->headers_len, strlen(hdrs));
	ASSERT_EQ(out->body_len, sizeof(body) - 1);
	ASSERT_MEM_EQ(out->body, body, sizeof(body) - 1);
	ASSERT_EQ(out->body[out->body_len], '\0');
	httpframe_response_free(out);

	/* An error: negative errno, message, no status, nothing else. */
	memset(&in, 0, sizeof(in));
	in.id = UINT32_MAX;
	in.err = -ETIMEDOUT;
	in.errmsg = "Operation timed out after 5001 milliseconds with 0 bytes received";
	out = response_round_trip(&in);
	ASSERT_EQ(out->id, UINT32_MAX);
	ASSERT_EQ(out->err, -ETIMEDOUT);
	ASSERT_EQ(out->status, 0);
	ASSERT_STR_EQ(out->errmsg, in.errmsg);
	ASSERT_STR_EQ(out->headers, "");
	ASSERT_EQ(out->body_len, 0);
	ASSERT_STR_EQ(out->body, "");
	httpframe_response_free(out);

	in.err = -4095;
	out = response_round_trip(&in);
	ASSERT_EQ(out->err, -4095);
	httpframe_response_free(out);
}

TEST(httpframe_response_encoder_rules)
{
	struct httpframe_response rs = { .id = 1, .status = 200 };
	char msg[HTTPFRAME_MAX_ERRMSG + 2];

	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_OK);
	rs.id = 0;
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_BAD_ID);
	rs.id = 1;
	rs.err = 5;
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_BAD_ERRNO);
	rs.err = -4096;
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_BAD_ERRNO);
	rs.err = -EIO; /* status must be 0 with an error */
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_BAD_STATUS);
	rs.status = 0;
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_OK);
	rs.err = 0;
	rs.status = 1000;
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_BAD_STATUS);
	rs.status = 204;
	rs.errmsg = "no error, yet a message";
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_BAD_ERRMSG);
	rs.err = -EIO;
	rs.status = 0;
	rs.errmsg = "bad \x01 byte";
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_BAD_ERRMSG);
	memset(msg, 'm', sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	rs.errmsg = msg;
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_BAD_ERRMSG);
	msg[sizeof(msg) - 2] = '\0';
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_OK);
	rs.errmsg = NULL;
	rs.headers = "A: b\0c";
	rs.headers_len = 6;
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_BAD_HEADERS);
	rs.headers = NULL;
	rs.headers_len = 0;
	rs.body_len = 1; /* no body pointer */
	ASSERT_EQ(response_encode_err(&rs), HTTPFRAME_BAD_BODY);
}

TEST(httpframe_response_decoder_rules)
{
	struct httpframe_response rs = { .id = 1, .err = -EIO, .errmsg = "boom" };
	struct httpframe_response *out = (struct httpframe_response *)1;
	struct httpframe_request *rq = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, p;

	ASSERT_EQ(httpframe_encode_response(&rs, &buf, &len), HTTPFRAME_OK);
	p = HTTPFRAME_LEN_SIZE;
	/* err +5 */
	memcpy(buf + OFF_FIELDS, "\x00\x00\x00\x05", 4);
	ASSERT_EQ(httpframe_decode_response(buf + p, len - p, &out), HTTPFRAME_BAD_ERRNO);
	ASSERT_NULL(out);
	/* err 0 but a message */
	memcpy(buf + OFF_FIELDS, "\x00\x00\x00\x00", 4);
	ASSERT_EQ(httpframe_decode_response(buf + p, len - p, &out), HTTPFRAME_BAD_ERRMSG);
	/* err -5 with a status */
	memcpy(buf + OFF_FIELDS, "\xff\xff\xff\xfb\x00\xc8", 6);
	ASSERT_EQ(httpframe_decode_response(buf + p, len - p, &out), HTTPFRAME_BAD_STATUS);
	memcpy(buf + OFF_FIELDS + 4, "\x00\x00", 2);
	buf[OFF_FIELDS + 7] = '\n';
	ASSERT_EQ(httpframe_decode_response(buf + p, len - p, &out), HTTPFRAME_BAD_ERRMSG);
	buf[OFF_FIELDS + 7] = 'b';
	ASSERT_EQ(httpframe_decode_response(buf + p, len - p, &out), HTTPFRAME_OK);
	ASSERT_EQ(out->err, -5);
	httpframe_response_free(out);
	/* A response is not a request, nor a cancel. */
	ASSERT_EQ(httpframe_decode_request(buf + p, len - p, &rq), HTTPFRAME_BAD_TYPE);
	for (size_t cut = 0; cut < len - p; cut++) {
		ASSERT_EQ(httpframe_decode_response(buf + p, cut, &out), HTTPFRAME_TRUNCATED);
		ASSERT_NULL(out);
	}
	httpframe_buf_free(buf, len);
}

TEST(httpframe_cancel)
{
	uint8_t buf[HTTPFRAME_CANCEL_SIZE], longer[HTTPFRAME_CANCEL_SIZE + 1];
	enum httpframe_type type;
	uint32_t id = 0;

	ASSERT_EQ(httpframe_encode_cancel(0, buf), HTTPFRAME_BAD_ID);
	ASSERT_EQ(httpframe_encode_cancel(0x01020304, buf), HTTPFRAME_OK);
	ASSERT_MEM_EQ(buf, "\x00\x00\x00\x06\x01\x02\x01\x02\x03\x04", HTTPFRAME_CANCEL_SIZE);
	ASSERT_EQ(httpframe_peek(buf + 4, 6, &type, &id), HTTPFRAME_OK);
	ASSERT_EQ(type, HTTPFRAME_CANCEL);
	id = 0;
	ASSERT_EQ(httpframe_decode_cancel(buf + 4, 6, &id), HTTPFRAME_OK);
	ASSERT_EQ(id, 0x01020304);
	ASSERT_EQ(httpframe_decode_cancel(buf + 4, 5, &id), HTTPFRAME_TRUNCATED);
	memcpy(longer, buf, sizeof(buf));
	longer[sizeof(buf)] = 0;
	ASSERT_EQ(httpframe_decode_cancel(longer + 4, 7, &id), HTTPFRAME_TRAILING);
}

TEST(httpframe_reader_reassembles_split_stream)
{
	struct httpframe_reader rd;
	struct httpframe_request rq;
	struct httpframe_response rs = { .id = 5, .status = 404 };
	uint8_t *a, *b, cancel[HTTPFRAME_CANCEL_SIZE], *stream, *frame;
	size_t alen, blen, total, got = 0, used, flen;
	uint32_t ids[3] = { 0 };

	sample_request(&rq);
	a = encode_ok(&rq, &alen);
	ASSERT_EQ(httpframe_encode_response(&rs, &b, &blen), HTTPFRAME_OK);
	ASSERT_EQ(httpframe_encode_cancel(77, cancel), HTTPFRAME_OK);
	total = alen + blen + sizeof(cancel);
	stream = malloc(total);
	ASSERT_NOT_NULL(stream);
	memcpy(stream, a, alen);
	memcpy(stream + alen, b, blen);
	memcpy(stream + alen + blen, cancel, sizeof(cancel));

	/* Chunk sizes 1, 2, 3 and the whole stream at once. */
	for (size_t chunk = 1; chunk <= total; chunk = chunk < 3 ? chunk + 1 : total) {
		httpframe_reader_init(&rd);
		got = 0;
		for (size_t off = 0; off < total;) {
			size_t n = total - off < chunk ? total - off : chunk, done = 0;

			while (done < n) {
				enum httpframe_type type;

				ASSERT_EQ(httpframe_reader_feed(&rd, stream + off + done, n - done,
								&used, &frame, &flen),
					  HTTPFRAME_OK);
				done += used;
				if (frame == NULL)
					continue;
				ASSERT_LT(got, 3);
				ASSERT_EQ(httpframe_peek(frame, flen, &type, &ids[got]),
					  HTTPFRAME_OK);
				got++;
				httpframe_buf_free(frame, flen);
			}
			off += n;
		}
		ASSERT_EQ(got, 3);
		ASSERT_EQ(ids[0], 42);
		ASSERT_EQ(ids[1], 5);
		ASSERT_EQ(ids[2], 77);
		ASSERT_NULL(rd.buf);
		if (chunk == total)
			break;
	}
	/* A partial frame is freed by reset. */
	httpframe_reader_init(&rd);
	ASSERT_EQ(httpframe_reader_feed(&rd, stream, alen - 1, &used, &frame, &flen), HTTPFRAME_OK);
	ASSERT_EQ(used, alen - 1);
	ASSERT_NULL(frame);
	httpframe_reader_reset(&rd);
	ASSERT_NULL(rd.buf);
	free(stream);
	httpframe_buf_free(a, alen);
	httpframe_buf_free(b, blen);
}

TEST(httpframe_reader_refuses_bad_lengths)
{
	struct httpframe_reader rd;
	uint8_t *frame = (uint8_t *)1;
	size_t used = 0, flen;
	const uint8_t tiny[] = { 0x00, 0x00, 0x00, 0x05, 1, 1, 0, 0, 0 };
	const uint8_t zero[] = { 0, 0, 0, 0 };
	uint32_t max = HTTPFRAME_MAX_FRAME + 1;
	uint8_t over[4] = { (uint8_t)(max >> 24), (uint8_t)(max >> 16), (uint8_t)(max >> 8),
			    (uint8_t)max };

	httpframe_reader_init(&rd);
	ASSERT_EQ(httpframe_reader_feed(&rd, over, 4, &used, &frame, &flen), HTTPFRAME_OVERSIZED);
	ASSERT_NULL(frame);
	ASSERT_NULL(rd.buf);
	/* Sticky: the stream has lost its framing. */
	ASSERT_EQ(httpframe_reader_feed(&rd, tiny, sizeof(tiny), &used, &frame, &flen),
		  HTTPFRAME_OVERSIZED);
	ASSERT_EQ(used, 0);
	httpframe_reader_init(&rd);
	ASSERT_EQ(httpframe_reader_feed(&rd, tiny, sizeof(tiny), &used, &frame, &flen),
		  HTTPFRAME_TRUNCATED);
	httpframe_reader_init(&rd);
	ASSERT_EQ(httpframe_reader_feed(&rd, zero, sizeof(zero), &used, &frame, &flen),
		  HTTPFRAME_TRUNCATED);
	/* The largest allowed length is taken (and waits for its bytes). */
	max = HTTPFRAME_MAX_FRAME;
	over[0] = (uint8_t)(max >> 24);
	over[1] = (uint8_t)(max >> 16);
	over[2] = (uint8_t)(max >> 8);
	over[3] = (uint8_t)max;
	httpframe_reader_init(&rd);
	ASSERT_EQ(httpframe_reader_feed(&rd, over, 4, &used, &frame, &flen), HTTPFRAME_OK);
	ASSERT_EQ(used, 4);
	ASSERT_NULL(frame);
	httpframe_reader_reset(&rd);
	/* Oversized payloads are refused by the decoders too. */
	ASSERT_EQ(httpframe_peek(tiny, HTTPFRAME_MAX_FRAME + 1, NULL, NULL), HTTPFRAME_OVERSIZED);
}

TEST(httpframe_error_names)
{
	for (int e = 0; e < HTTPFRAME_ERR_COUNT; e++) {
		ASSERT_NOT_NULL(httpframe_err_name((enum httpframe_err)e));
		ASSERT(strcmp(httpframe_err_name((enum httpframe_err)e), "unknown") != 0);
		for (int f = 0; f < e; f++)
			ASSERT(strcmp(httpframe_err_name((enum httpframe_err)e),
				      httpframe_err_name((enum httpframe_err)f)) != 0);
	}
	ASSERT_STR_EQ(httpframe_err_name(HTTPFRAME_BAD_URL), "bad-url");
	ASSERT_STR_EQ(httpframe_err_name(HTTPFRAME_ERR_COUNT), "unknown");
}
