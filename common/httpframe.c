/*
 * httpframe: encode, decode and validate the agent <-> mitosis-http frames
 * (include/httpframe.h has the layout). Decoding reads through a cursor that
 * refuses to run past the end; each field is checked by the same validator
 * the encoder uses. Decoded structures are one allocation: the structure,
 * then the header pointers, then the NUL-terminated strings.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "httpframe.h"

struct httpframe_cursor {
	const uint8_t *p;
	size_t n;
};

/* A field located inside a payload. */
struct httpframe_slice {
	const uint8_t *p;
	size_t len;
};

/* Growing output, sized up front by the encoders. */
struct httpframe_out {
	uint8_t *p;
	size_t len;
};

static const char *const httpframe_names[HTTPFRAME_ERR_COUNT] = {
	[HTTPFRAME_OK] = "ok",
	[HTTPFRAME_TRUNCATED] = "truncated",
	[HTTPFRAME_OVERSIZED] = "oversized",
	[HTTPFRAME_BAD_VERSION] = "bad-version",
	[HTTPFRAME_BAD_TYPE] = "bad-type",
	[HTTPFRAME_BAD_ID] = "bad-id",
	[HTTPFRAME_BAD_METHOD] = "bad-method",
	[HTTPFRAME_BAD_URL] = "bad-url",
	[HTTPFRAME_BAD_SOURCE] = "bad-source",
	[HTTPFRAME_BAD_HEADER] = "bad-header",
	[HTTPFRAME_BAD_BODY] = "bad-body",
	[HTTPFRAME_BAD_ERRNO] = "bad-errno",
	[HTTPFRAME_BAD_STATUS] = "bad-status",
	[HTTPFRAME_BAD_ERRMSG] = "bad-errmsg",
	[HTTPFRAME_BAD_HEADERS] = "bad-headers",
	[HTTPFRAME_TRAILING] = "trailing-bytes",
	[HTTPFRAME_NO_MEMORY] = "no-memory",
};

const char *
httpframe_err_name(enum httpframe_err e)
{
	if ((unsigned)e >= HTTPFRAME_ERR_COUNT)
		return "unknown";
	return httpframe_names[e];
}

/* --- validators, shared by encoders and decoders ----------------------- */

static bool
httpframe_method_ok(const uint8_t *p, size_t len)
{
	if (len == 0 || len > HTTPFRAME_MAX_METHOD)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] < 'A' || p[i] > 'Z')
			return false;
	return true;
}

/* Visible ASCII only: no space, no control byte, nothing that could end a
 * request line or smuggle a header. */
static bool
httpframe_visible_ok(const uint8_t *p, size_t len, size_t min, size_t max)
{
	if (len < min || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return false;
	return true;
}

/* RFC 9110 token characters, for header names. */
static bool
httpframe_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* "Name: value": a token, a colon, then no CR, LF, NUL or other control
 * byte except tab (RFC 9110 field-value). */
static bool
httpframe_header_ok(const uint8_t *p, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > HTTPFRAME_MAX_HEADER)
		return false;
	while (i < len && httpframe_tchar(p[i]))
		i++;
	if (i == 0 || i == len || p[i] != ':')
		return false;
	for (i++; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return false;
	return true;
}

static bool
httpframe_errmsg_ok(const uint8_t *p, size_t len, int err)
{
	if (len > HTTPFRAME_MAX_ERRMSG || (err == 0 && len != 0))
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

static bool
httpframe_status_ok(unsigned status, int err)
{
	return status <= 999 && (err == 0 || status == 0);
}

/* --- encoding ---------------------------------------------------------- */

static void
httpframe_put_u8(struct httpframe_out *o, uint8_t v)
{
	o->p[o->len++] = v;
}

static void
httpframe_put_u16(struct httpframe_out *o, uint16_t v)
{
	o->p[o->len++] = (uint8_t)(v >> 8);
	o->p[o->len++] = (uint8_t)v;
}

static void
httpframe_put_u32(struct httpframe_out *o, uint32_t v)
{
	for (int shift = 24; shift >= 0; shift -= 8)
		o->p[o->len++] = (uint8_t)(v >> shift);
}

static void
httpframe_put_bytes(struct httpframe_out *o, const void *p, size_t len)
{
	if (len != 0)
		memcpy(o->p + o->len, p, len);
	o->len += len;
}

/* Allocates a frame of `total` bytes and writes the length prefix and head. */
static enum httpframe_err
httpframe_begin(struct httpframe_out *o, size_t total, enum httpframe_type type, uint32_t id)
{
	o->p = malloc(total);
	o->len = 0;
	if (o->p == NULL)
		return HTTPFRAME_NO_MEMORY;
	httpframe_put_u32(o, (uint32_t)(total - HTTPFRAME_LEN_SIZE));
	httpframe_put_u8(o, HTTPFRAME_VERSION);
	httpframe_put_u8(o, (uint8_t)type);
	httpframe_put_u32(o, id);
	return HTTPFRAME_OK;
}

/* Checks a request's headers; adds their encoded size to *size. */
static enum httpframe_err
httpframe_check_headers(const char *const *headers, size_t *size)
{
	size_t count = 0, sum = 0;

	for (const char *const *hp = headers; hp != NULL && *hp != NULL; hp++) {
		size_t len = strlen(*hp);

		if (++count > HTTPFRAME_MAX_HEADERS ||
		    !httpframe_header_ok((const uint8_t *)*hp, len))
			return HTTPFRAME_BAD_HEADER;
		sum += len;
		if (sum > HTTPFRAME_MAX_HEADER_BYTES)
			return HTTPFRAME_BAD_HEADER;
		*size += 2 + len;
	}
	*size += 1;
	return HTTPFRAME_OK;
}

/* Checks every field of a request and returns its frame size in *size. */
static enum httpframe_err
httpframe_check_request(const struct httpframe_request *rq, const char *method, size_t *size)
{
	size_t mlen = strlen(method), ulen, slen;

	if (rq->id == 0)
		return HTTPFRAME_BAD_ID;
	if (!httpframe_method_ok((const uint8_t *)method, mlen))
		return HTTPFRAME_BAD_METHOD;
	ulen = rq->url != NULL ? strlen(rq->url) : 0;
	if (!httpframe_visible_ok((const uint8_t *)rq->url, ulen, 1, HTTPFRAME_MAX_URL))
		return HTTPFRAME_BAD_URL;
	slen = rq->source_address != NULL ? strlen(rq->source_address) : 0;
	if (rq->source_address != NULL && !httpframe_visible_ok((const uint8_t *)rq->source_address,
								slen, 1, HTTPFRAME_MAX_SOURCE))
		return HTTPFRAME_BAD_SOURCE;
	if (rq->body_len > HTTPFRAME_MAX_BODY || (rq->body == NULL && rq->body_len != 0))
		return HTTPFRAME_BAD_BODY;
	*size = HTTPFRAME_LEN_SIZE + HTTPFRAME_HEAD_LEN + 4 + 1 + mlen + 2 + ulen + 1 + slen + 1 +
		4 + rq->body_len;
	return httpframe_check_headers(rq->headers, size);
}

enum httpframe_err
httpframe_encode_request(const struct httpframe_request *rq, uint8_t **out, size_t *outlen)
{
	const char *method = rq->method != NULL ? rq->method : "GET";
	struct httpframe_out o;
	enum httpframe_err e;
	size_t size = 0, count = 0;

	*out = NULL;
	*outlen = 0;
	if ((e = httpframe_check_request(rq, method, &size)) != HTTPFRAME_OK)
		return e;
	if ((e = httpframe_begin(&o, size, HTTPFRAME_REQUEST, rq->id)) != HTTPFRAME_OK)
		return e;
	httpframe_put_u32(&o, rq->timeout_ms);
	httpframe_put_u8(&o, (uint8_t)strlen(method));
	httpframe_put_bytes(&o, method, strlen(method));
	httpframe_put_u16(&o, (uint16_t)strlen(rq->url));
	httpframe_put_bytes(&o, rq->url, strlen(rq->url));
	if (rq->source_address != NULL) {
		httpframe_put_u8(&o, (uint8_t)strlen(rq->source_address));
		httpframe_put_bytes(&o, rq->source_address, strlen(rq->source_address));
	} else {
		httpframe_put_u8(&o, 0);
	}
	for (const char *const *hp = rq->headers; hp != NULL && *hp != NULL; hp++)
		count++;
	httpframe_put_u8(&o, (uint8_t)count);
	for (size_t i = 0; i < count; i++) {
		httpframe_put_u16(&o, (uint16_t)strlen(rq->headers[i]));
		httpframe_put_bytes(&o, rq->headers[i], strlen(rq->headers[i]));
	}
	httpframe_put_u8(&o, rq->body != NULL ? 1 : 0);
	httpframe_put_u32(&o, (uint32_t)rq->body_len);
	httpframe_put_bytes(&o, rq->body, rq->body_len);
	*out = o.p;
	*outlen = o.len;
	return HTTPFRAME_OK;
}

enum httpframe_err
httpframe_encode_response(const struct httpframe_response *rs, uint8_t **out, size_t *outlen)
{
	const char *errmsg = rs->errmsg != NULL ? rs->errmsg : "";
	size_t elen = strlen(errmsg), size;
	struct httpframe_out o;
	enum httpframe_err e;

	*out = NULL;
	*outlen = 0;
	if (rs->id == 0)
		return HTTPFRAME_BAD_ID;
	if (rs->err > 0 || rs->err < -4095)
		return HTTPFRAME_BAD_ERRNO;
	if (!httpframe_status_ok(rs->status, rs->err))
		return HTTPFRAME_BAD_STATUS;
	if (!httpframe_errmsg_ok((const uint8_t *)errmsg, elen, rs->err))
		return HTTPFRAME_BAD_ERRMSG;
	if (rs->headers_len > HTTPFRAME_MAX_HEADER_BYTES ||
	    (rs->headers == NULL && rs->headers_len != 0) ||
	    (rs->headers_len != 0 && memchr(rs->headers, '\0', rs->headers_len) != NULL))
		return HTTPFRAME_BAD_HEADERS;
	if (rs->body_len > HTTPFRAME_MAX_BODY || (rs->body == NULL && rs->body_len != 0))
		return HTTPFRAME_BAD_BODY;
	size = HTTPFRAME_LEN_SIZE + HTTPFRAME_HEAD_LEN + 4 + 2 + 1 + elen + 4 + rs->headers_len +
	       4 + rs->body_len;
	if ((e = httpframe_begin(&o, size, HTTPFRAME_RESPONSE, rs->id)) != HTTPFRAME_OK)
		return e;
	httpframe_put_u32(&o, (uint32_t)rs->err);
	httpframe_put_u16(&o, (uint16_t)rs->status);
	httpframe_put_u8(&o, (uint8_t)elen);
	httpframe_put_bytes(&o, errmsg, elen);
	httpframe_put_u32(&o, (uint32_t)rs->headers_len);
	httpframe_put_bytes(&o, rs->headers, rs->headers_len);
	httpframe_put_u32(&o, (uint32_t)rs->body_len);
	httpframe_put_bytes(&o, rs->body, rs->body_len);
	*out = o.p;
	*outlen = o.len;
	return HTTPFRAME_OK;
}

enum httpframe_err
httpframe_encode_cancel(uint32_t id, uint8_t out[HTTPFRAME_CANCEL_SIZE])
{
	struct httpframe_out o = { .p = out, .len = 0 };

	if (id == 0)
		return HTTPFRAME_BAD_ID;
	httpframe_put_u32(&o, HTTPFRAME_HEAD_LEN);
	httpframe_put_u8(&o, HTTPFRAME_VERSION);
	httpframe_put_u8(&o, HTTPFRAME_CANCEL);
	httpframe_put_u32(&o, id);
	return HTTPFRAME_OK;
}

/* --- decoding ---------------------------------------------------------- */

static bool
httpframe_get_u8(struct httpframe_cursor *c, uint8_t *v)
{
	if (c->n < 1)
		return false;
	*v = c->p[0];
	c->p++;
	c->n--;
	return true;
}

static bool
httpframe_get_u16(struct httpframe_cursor *c, uint16_t *v)
{
	if (c->n < 2)
		return false;
	*v = (uint16_t)(c->p[0] << 8 | c->p[1]);
	c->p += 2;
	c->n -= 2;
	return true;
}

static bool
httpframe_get_u32(struct httpframe_cursor *c, uint32_t *v)
{
	if (c->n < 4)
		return false;
	*v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 |
	     (uint32_t)c->p[3];
	c->p += 4;
	c->n -= 4;
	return true;
}

static bool
httpframe_get_slice(struct httpframe_cursor *c, size_t len, struct httpframe_slice *s)
{
	if (c->n < len)
		return false;
	s->p = c->p;
	s->len = len;
	c->p += len;
	c->n -= len;
	return true;
}

/* Fields with a 1-, 2- or 4-byte length prefix. */
static bool
httpframe_get_field(struct httpframe_cursor *c, int width, struct httpframe_slice *s)
{
	uint8_t l8;
	uint16_t l16;
	uint32_t l32;

	if (width == 1)
		return httpframe_get_u8(c, &l8) && httpframe_get_slice(c, l8, s);
	if (width == 2)
		return httpframe_get_u16(c, &l16) && httpframe_get_slice(c, l16, s);
	return httpframe_get_u32(c, &l32) && httpframe_get_slice(c, l32, s);
}

enum httpframe_err
httpframe_peek(const uint8_t *p, size_t n, enum httpframe_type *type, uint32_t *id)
{
	struct httpframe_cursor c = { .p = p, .n = n };
	uint8_t version, t;

	if (n > HTTPFRAME_MAX_FRAME)
		return HTTPFRAME_OVERSIZED;
	if (!httpframe_get_u8(&c, &version) || !httpframe_get_u8(&c, &t) ||
	    !httpframe_get_u32(&c, id))
		return HTTPFRAME_TRUNCATED;
	if (version != HTTPFRAME_VERSION)
		return HTTPFRAME_BAD_VERSION;
	if (t < HTTPFRAME_REQUEST || t > HTTPFRAME_RESPONSE)
		return HTTPFRAME_BAD_TYPE;
	if (*id == 0)
		return HTTPFRAME_BAD_ID;
	*type = (enum httpframe_type)t;
	return HTTPFRAME_OK;
}

/* Checks the head for type `want` and leaves the cursor after it. */
static enum httpframe_err
httpframe_head(struct httpframe_cursor *c, enum httpframe_type want, uint32_t *id)
{
	enum httpframe_type type;
	enum httpframe_err e = httpframe_peek(c->p, c->n, &type, id);

	if (e != HTTPFRAME_OK)
		return e;
	if (type != want)
		return HTTPFRAME_BAD_TYPE;
	c->p += HTTPFRAME_HEAD_LEN;
	c->n -= HTTPFRAME_HEAD_LEN;
	return HTTPFRAME_OK;
}

/* Copies a slice into the arena as a NUL-terminated string. */
static char *
httpframe_arena_str(char **arena, const struct httpframe_slice *s)
{
	char *dst = *arena;

	if (s->len != 0)
		memcpy(dst, s->p, s->len);
	dst[s->len] = '\0';
	*arena += s->len + 1;
	return dst;
}

/* A request's fields as slices of the payload, before they are copied. */
struct httpframe_request_view {
	uint32_t id, timeout_ms;
	struct httpframe_slice method, url, source, body;
	struct httpframe_slice headers[HTTPFRAME_MAX_HEADERS];
	uint8_t nheaders, has_body;
};

static enum httpframe_err
httpframe_parse_headers(struct httpframe_cursor *c, struct httpframe_request_view *v)
{
	size_t sum = 0;

	if (!httpframe_get_u8(c, &v->nheaders))
		return HTTPFRAME_TRUNCATED;
	if (v->nheaders > HTTPFRAME_MAX_HEADERS)
		return HTTPFRAME_BAD_HEADER;
	for (size_t i = 0; i < v->nheaders; i++) {
		struct httpframe_slice *h = &v->headers[i];

		if (!httpframe_get_field(c, 2, h))
			return HTTPFRAME_TRUNCATED;
		sum += h->len;
		if (!httpframe_header_ok(h->p, h->len) || sum > HTTPFRAME_MAX_HEADER_BYTES)
			return HTTPFRAME_BAD_HEADER;
	}
	return HTTPFRAME_OK;
}

static enum httpframe_err
httpframe_parse_request(struct httpframe_cursor *c, struct httpframe_request_view *v)
{
	enum httpframe_err e;

	if ((e = httpframe_head(c, HTTPFRAME_REQUEST, &v->id)) != HTTPFRAME_OK)
		return e;
	if (!httpframe_get_u32(c, &v->timeout_ms) || !httpframe_get_field(c, 1, &v->method))
		return HTTPFRAME_TRUNCATED;
	if (!httpframe_method_ok(v->method.p, v->method.len))
		return HTTPFRAME_BAD_METHOD;
	if (!httpframe_get_field(c, 2, &v->url))
		return HTTPFRAME_TRUNCATED;
	if (!httpframe_visible_ok(v->url.p, v->url.len, 1, HTTPFRAME_MAX_URL))
		return HTTPFRAME_BAD_URL;
	if (!httpframe_get_field(c, 1, &v->source))
		return HTTPFRAME_TRUNCATED;
	if (!httpframe_visible_ok(v->source.p, v->source.len, 0, HTTPFRAME_MAX_SOURCE))
		return HTTPFRAME_BAD_SOURCE;
	if ((e = httpframe_parse_headers(c, v)) != HTTPFRAME_OK)
		return e;
	if (!httpframe_get_u8(c, &v->has_body))
		return HTTPFRAME_TRUNCATED;
	if (v->has_body > 1)
		return HTTPFRAME_BAD_BODY;
	if (!httpframe_get_field(c, 4, &v->body))
		return HTTPFRAME_TRUNCATED;
	if (v->body.len > HTTPFRAME_MAX_BODY || (!v->has_body && v->body.len != 0))
		return HTTPFRAME_BAD_BODY;
	return c->n == 0 ? HTTPFRAME_OK : HTTPFRAME_TRAILING;
}

enum httpframe_err
httpframe_decode_request(const uint8_t *p, size_t n, struct httpframe_request **out)
{
	struct httpframe_cursor c = { .p = p, .n = n };
	struct httpframe_request_view v;
	struct httpframe_request *rq;
	const char **hdrs;
	char *arena;
	size_t size;
	enum httpframe_err e;

	*out = NULL;
	memset(&v, 0, sizeof(v));
	if ((e = httpframe_parse_request(&c, &v)) != HTTPFRAME_OK)
		return e;
	size = sizeof(*rq) + ((size_t)v.nheaders + 1) * sizeof(char *) + v.method.len + 1 +
	       v.url.len + 1 + v.source.len + 1 + v.body.len + 1;
	for (size_t i = 0; i < v.nheaders; i++)
		size += v.headers[i].len + 1;
	if ((rq = calloc(1, size)) == NULL)
		return HTTPFRAME_NO_MEMORY;
	hdrs = (const char **)(void *)(rq + 1);
	arena = (char *)(hdrs + v.nheaders + 1);
	rq->id = v.id;
	rq->timeout_ms = v.timeout_ms;
	rq->method = httpframe_arena_str(&arena, &v.method);
	rq->url = httpframe_arena_str(&arena, &v.url);
	rq->source_address = httpframe_arena_str(&arena, &v.source);
	if (v.source.len == 0)
		rq->source_address = NULL;
	for (size_t i = 0; i < v.nheaders; i++)
		hdrs[i] = httpframe_arena_str(&arena, &v.headers[i]);
	hdrs[v.nheaders] = NULL;
	rq->headers = hdrs;
	rq->body = httpframe_arena_str(&arena, &v.body);
	rq->body_len = v.body.len;
	if (!v.has_body)
		rq->body = NULL;
	*out = rq;
	return HTTPFRAME_OK;
}

enum httpframe_err
httpframe_decode_cancel(const uint8_t *p, size_t n, uint32_t *id)
{
	struct httpframe_cursor c = { .p = p, .n = n };
	enum httpframe_err e;

	if ((e = httpframe_head(&c, HTTPFRAME_CANCEL, id)) != HTTPFRAME_OK)
		return e;
	return c.n == 0 ? HTTPFRAME_OK : HTTPFRAME_TRAILING;
}

struct httpframe_response_view {
	uint32_t id, err;
	uint16_t status;
	struct httpframe_slice errmsg, headers, body;
};

static enum httpframe_err
httpframe_parse_response(struct httpframe_cursor *c, struct httpframe_response_view *v)
{
	enum httpframe_err e;
	int err;

	if ((e = httpframe_head(c, HTTPFRAME_RESPONSE, &v->id)) != HTTPFRAME_OK)
		return e;
	if (!httpframe_get_u32(c, &v->err) || !httpframe_get_u16(c, &v->status))
		return HTTPFRAME_TRUNCATED;
	/* Two's complement: 0 or -1..-4095, i.e. 0xfffff001..0xffffffff. */
	if (v->err != 0 && v->err < 0xfffff001U)
		return HTTPFRAME_BAD_ERRNO;
	err = v->err == 0 ? 0 : -(int)(~v->err + 1U);
	if (!httpframe_status_ok(v->status, err))
		return HTTPFRAME_BAD_STATUS;
	if (!httpframe_get_field(c, 1, &v->errmsg))
		return HTTPFRAME_TRUNCATED;
	if (!httpframe_errmsg_ok(v->errmsg.p, v->errmsg.len, err))
		return HTTPFRAME_BAD_ERRMSG;
	if (!httpframe_get_field(c, 4, &v->headers))
		return HTTPFRAME_TRUNCATED;
	if (v->headers.len > HTTPFRAME_MAX_HEADER_BYTES ||
	    (v->headers.len != 0 && memchr(v->headers.p, '\0', v->headers.len) != NULL))
		return HTTPFRAME_BAD_HEADERS;
	if (!httpframe_get_field(c, 4, &v->body))
		return HTTPFRAME_TRUNCATED;
	if (v->body.len > HTTPFRAME_MAX_BODY)
		return HTTPFRAME_BAD_BODY;
	return c->n == 0 ? HTTPFRAME_OK : HTTPFRAME_TRAILING;
}

enum httpframe_err
httpframe_decode_response(const uint8_t *p, size_t n, struct httpframe_response **out)
{
	struct httpframe_cursor c = { .p = p, .n = n };
	struct httpframe_response_view v;
	struct httpframe_response *rs;
	enum httpframe_err e;
	char *arena;

	*out = NULL;
	memset(&v, 0, sizeof(v));
	if ((e = httpframe_parse_response(&c, &v)) != HTTPFRAME_OK)
		return e;
	rs = calloc(1, sizeof(*rs) + v.errmsg.len + 1 + v.headers.len + 1 + v.body.len + 1);
	if (rs == NULL)
		return HTTPFRAME_NO_MEMORY;
	arena = (char *)(rs + 1);
	rs->id = v.id;
	rs->err = v.err == 0 ? 0 : -(int)(~v.err + 1U);
	rs->status = v.status;
	rs->errmsg = httpframe_arena_str(&arena, &v.errmsg);
	rs->headers = httpframe_arena_str(&arena, &v.headers);
	rs->headers_len = v.headers.len;
	rs->body = httpframe_arena_str(&arena, &v.body);
	rs->body_len = v.body.len;
	*out = rs;
	return HTTPFRAME_OK;
}

static void
httpframe_wipe_str(const char *s, size_t len)
{
	if (s != NULL)
		sodium_memzero((void *)(uintptr_t)s, len);
}

void
httpframe_request_free(struct httpframe_request *rq)
{
	if (rq == NULL)
		return;
	for (const char *const *hp = rq->headers; hp != NULL && *hp != NULL; hp++)
		httpframe_wipe_str(*hp, strlen(*hp));
	httpframe_wipe_str(rq->url, strlen(rq->url));
	httpframe_wipe_str(rq->body, rq->body_len);
	free(rq);
}

void
httpframe_response_free(struct httpframe_response *rs)
{
	free(rs);
}

void
httpframe_buf_free(uint8_t *buf, size_t len)
{
	if (buf == NULL)
		return;
	sodium_memzero(buf, len);
	free(buf);
}

/* --- stream reader ----------------------------------------------------- */

void
httpframe_reader_init(struct httpframe_reader *r)
{
	memset(r, 0, sizeof(*r));
}

void
httpframe_reader_reset(struct httpframe_reader *r)
{
	httpframe_buf_free(r->buf, r->need);
	httpframe_reader_init(r);
}

/* Takes length-prefix bytes; allocates the payload once the prefix is whole. */
static size_t
httpframe_reader_len(struct httpframe_reader *r, const uint8_t *p, size_t n)
{
	size_t take = HTTPFRAME_LEN_SIZE - r->len_have;
	uint32_t len;

	if (take > n)
		take = n;
	if (take != 0)
		memcpy(r->len + r->len_have, p, take);
	r->len_have += take;
	if (r->len_have < HTTPFRAME_LEN_SIZE)
		return take;
	len = (uint32_t)r->len[0] << 24 | (uint32_t)r->len[1] << 16 | (uint32_t)r->len[2] << 8 |
	      (uint32_t)r->len[3];
	if (len > HTTPFRAME_MAX_FRAME)
		r->err = HTTPFRAME_OVERSIZED;
	else if (len < HTTPFRAME_HEAD_LEN)
		r->err = HTTPFRAME_TRUNCATED;
	else if ((r->buf = malloc(len)) == NULL)
		r->err = HTTPFRAME_NO_MEMORY;
	r->need = len;
	r->have = 0;
	return take;
}

enum httpframe_err
httpframe_reader_feed(struct httpframe_reader *r, const uint8_t *p, size_t n, size_t *used,
		      uint8_t **frame, size_t *frame_len)
{
	size_t take;

	*used = 0;
	*frame = NULL;
	*frame_len = 0;
	if (r->err != HTTPFRAME_OK)
		return r->err;
	if (r->len_have < HTTPFRAME_LEN_SIZE) {
		*used = httpframe_reader_len(r, p, n);
		if (r->err != HTTPFRAME_OK || r->len_have < HTTPFRAME_LEN_SIZE)
			return r->err;
	}
	take = r->need - r->have;
	if (take > n - *used)
		take = n - *used;
	if (take != 0)
		memcpy(r->buf + r->have, p + *used, take);
	r->have += take;
	*used += take;
	if (r->have == r->need) {
		*frame = r->buf;
		*frame_len = r->need;
		r->buf = NULL;
		r->len_have = 0;
		r->need = r->have = 0;
	}
	return HTTPFRAME_OK;
}
