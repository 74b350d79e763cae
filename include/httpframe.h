/*
 * httpframe: the frames that `mitosis` and its HTTP helper `mitosis-http`
 * exchange over the helper's stdin and stdout (docs/architecture.md, "HTTP
 * helper"). The agent writes request and cancel frames; the helper answers
 * every request with exactly one response frame. Pure code: no I/O.
 *
 * Every integer is big-endian. A frame is a length prefix and a payload:
 *
 *   len  field
 *     4  payload length L, HTTPFRAME_HEAD_LEN <= L <= HTTPFRAME_MAX_FRAME
 *     1  version (HTTPFRAME_VERSION)
 *     1  type: 1 request, 2 cancel, 3 response
 *     4  request id, chosen by the agent, never 0
 *
 * then, for a request:            for a response:
 *     4  timeout in ms (0 = 30 s)     4  err: 0 or -errno (-4095..-1), two's complement
 *  1+m   method (1..16 of A-Z)        2  HTTP status (0..999; 0 when err != 0)
 *  2+u   url (1..8192 of 0x21..0x7e)  1+e errmsg (0..255 of 0x20..0x7e; empty when err == 0)
 *  1+s   source address (0 = any)     4+h raw response header block (no NUL byte)
 *     1  header count (0..128)        4+b body (any bytes, b <= HTTPFRAME_MAX_BODY)
 *  2+h   each header "Name: value"
 *     1  body present (0 or 1)      a cancel has no more fields.
 *  4+b   body
 *
 * ("1+m" is a one-byte length and m bytes.) Decoders check every length
 * against what is left and every field against the rules above, and refuse
 * trailing bytes; encoders apply the same rules, so that a frame one side
 * builds is always one the other side takes. Request headers may hold a
 * bearer token: every buffer that held a request frame is wiped before it
 * is freed (httpframe_buf_free, httpframe_request_free).
 */
#ifndef HTTPFRAME_H
#define HTTPFRAME_H

#include <stddef.h>
#include <stdint.h>

#define HTTPFRAME_VERSION     1
#define HTTPFRAME_LEN_SIZE    4
#define HTTPFRAME_HEAD_LEN    6
#define HTTPFRAME_MAX_BODY    (4U * 1024 * 1024)
#define HTTPFRAME_MAX_METHOD  16
#define HTTPFRAME_MAX_URL     8192
#define HTTPFRAME_MAX_SOURCE  255
#define HTTPFRAME_MAX_HEADERS 128
#define HTTPFRAME_MAX_HEADER  8192
/* Sum of a request's headers, and the size of a response's header block. */
#define HTTPFRAME_MAX_HEADER_BYTES (64U * 1024)
#define HTTPFRAME_MAX_ERRMSG	   255
#define HTTPFRAME_MAX_FRAME	   (HTTPFRAME_MAX_BODY + 128U * 1024)
/* A whole cancel frame, length prefix included. */
#define HTTPFRAME_CANCEL_SIZE (HTTPFRAME_LEN_SIZE + HTTPFRAME_HEAD_LEN)

enum httpframe_type {
	HTTPFRAME_REQUEST = 1,
	HTTPFRAME_CANCEL = 2,
	HTTPFRAME_RESPONSE = 3,
};

enum httpframe_err {
	HTTPFRAME_OK = 0,
	HTTPFRAME_TRUNCATED,   /* a field runs past the end, or L < HTTPFRAME_HEAD_LEN */
	HTTPFRAME_OVERSIZED,   /* length prefix above HTTPFRAME_MAX_FRAME */
	HTTPFRAME_BAD_VERSION, /* version is not HTTPFRAME_VERSION */
	HTTPFRAME_BAD_TYPE,    /* unknown type, or not the type asked for */
	HTTPFRAME_BAD_ID,      /* id 0 */
	HTTPFRAME_BAD_METHOD,
	HTTPFRAME_BAD_URL,
	HTTPFRAME_BAD_SOURCE,
	HTTPFRAME_BAD_HEADER, /* a request header: shape, bytes, count or size */
	HTTPFRAME_BAD_BODY,   /* body flag not 0/1, or body too large */
	HTTPFRAME_BAD_ERRNO,
	HTTPFRAME_BAD_STATUS,
	HTTPFRAME_BAD_ERRMSG,
	HTTPFRAME_BAD_HEADERS, /* a response's header block */
	HTTPFRAME_TRAILING,    /* bytes after the last field */
	HTTPFRAME_NO_MEMORY,
	HTTPFRAME_ERR_COUNT,
};

struct httpframe_request {
	uint32_t id;
	uint32_t timeout_ms; /* whole request; 0 = the helper's default, 30 s */
	const char *method;  /* encode: NULL = "GET"; decode: never NULL */
	const char *url;
	const char *source_address; /* NULL = any */
	const char *const *headers; /* NULL-terminated "Name: value" list; NULL = none */
	const char *body;	    /* NULL = no body, which is not an empty body */
	size_t body_len;
};

struct httpframe_response {
	uint32_t id;
	int err;	     /* 0, or -errno */
	unsigned status;     /* HTTP status when err == 0 */
	const char *errmsg;  /* encode: NULL = ""; decode: never NULL */
	const char *headers; /* encode: NULL = none; decode: never NULL */
	size_t headers_len;
	const char *body; /* encode: NULL = none; decode: never NULL */
	size_t body_len;
};

/* Assembles payloads out of a byte stream (a pipe). */
struct httpframe_reader {
	uint8_t len[HTTPFRAME_LEN_SIZE];
	size_t len_have;
	uint8_t *buf;
	size_t need;
	size_t have;
	enum httpframe_err err;
};

/* "truncated", "bad-url", ...: stable names for logs and error messages. */
const char *httpframe_err_name(enum httpframe_err e);

/*
 * Encoders: a whole frame, length prefix included, in a new buffer *out of
 * *outlen bytes (caller frees with httpframe_buf_free). Return HTTPFRAME_OK,
 * the name of the first field that breaks the rules, or HTTPFRAME_NO_MEMORY;
 * *out is NULL unless HTTPFRAME_OK.
 */
enum httpframe_err httpframe_encode_request(const struct httpframe_request *rq, uint8_t **out,
					    size_t *outlen);
enum httpframe_err httpframe_encode_response(const struct httpframe_response *rs, uint8_t **out,
					     size_t *outlen);
/* A cancel frame into out. HTTPFRAME_OK or HTTPFRAME_BAD_ID. */
enum httpframe_err httpframe_encode_cancel(uint32_t id, uint8_t out[HTTPFRAME_CANCEL_SIZE]);

/*
 * Decoders take a payload (the L bytes after the length prefix, as the
 * reader hands them out). httpframe_peek checks the version and the id and
 * tells the type. The others also check that the type is theirs, and
 * return a new structure (one allocation; its strings are NUL-terminated
 * and live inside it) that the caller frees with the matching _free.
 */
enum httpframe_err httpframe_peek(const uint8_t *p, size_t n, enum httpframe_type *type,
				  uint32_t *id);
enum httpframe_err httpframe_decode_request(const uint8_t *p, size_t n,
					    struct httpframe_request **out);
enum httpframe_err httpframe_decode_cancel(const uint8_t *p, size_t n, uint32_t *id);
enum httpframe_err httpframe_decode_response(const uint8_t *p, size_t n,
					     struct httpframe_response **out);

/* Wipe (headers, url, body) and free. Accept NULL. */
void httpframe_request_free(struct httpframe_request *rq);
void httpframe_response_free(struct httpframe_response *rs);
/* Wipes len bytes of buf and frees it. Accepts NULL. */
void httpframe_buf_free(uint8_t *buf, size_t len);

void httpframe_reader_init(struct httpframe_reader *r);
/*
 * Consumes bytes from p[0..n) until a payload is complete or the bytes run
 * out; *used says how many were taken. When a payload is complete, *frame
 * receives it (caller frees with httpframe_buf_free) and *frame_len its
 * length; otherwise *frame is NULL. Returns HTTPFRAME_OK, or
 * HTTPFRAME_OVERSIZED / HTTPFRAME_TRUNCATED for a length prefix out of
 * bounds, or HTTPFRAME_NO_MEMORY; an error sticks (the stream has lost its
 * framing) and every later call returns it.
 */
enum httpframe_err httpframe_reader_feed(struct httpframe_reader *r, const uint8_t *p, size_t n,
					 size_t *used, uint8_t **frame, size_t *frame_len);
/* Wipes and frees a partial payload; the reader is then as after _init. */
void httpframe_reader_reset(struct httpframe_reader *r);

#endif
