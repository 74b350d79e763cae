/*
 * swim_codec: encoding and decoding of the membership payloads
 * (include/swim_codec.h, docs/membership.md). A reader cursor carries the
 * bounds; every get checks them first, and validation is the same code as
 * decoding, so what is accepted is exactly what the walk after it returns.
 */
#include <errno.h>
#include <string.h>

#include "swim_codec.h"

#define SWIM_PERMILLE_MAX 1000
#define SWIM_KIND_MASK	  7U
#define SWIM_F3		  (1U << 3)
#define SWIM_F4		  (1U << 4)
/* MEMBER: bit 3 LEFT (else ALIVE), bit 4 a key follows. */
#define SWIM_MEMBER_LEFT SWIM_F3
#define SWIM_MEMBER_KEY	 SWIM_F4
/* ACCUSE: bit 3 DEAD (else SUSPECT). LOAD: bit 3 the custom metric follows. */
#define SWIM_ACCUSE_DEAD SWIM_F3
#define SWIM_LOAD_CUSTOM SWIM_F3
/* DIGEST: bits 3-4 the state. */
#define SWIM_DIGEST_STATE_SHIFT 3
#define SWIM_CTX_LEN		16

static const char *const swim_codec_err_names[SWIM_CODEC_ERR_COUNT] = {
	[SWIM_CODEC_OK] = "ok",
	[SWIM_CODEC_TRUNCATED] = "truncated",
	[SWIM_CODEC_TRAILING] = "trailing",
	[SWIM_CODEC_BAD_TYPE] = "bad-type",
	[SWIM_CODEC_BAD_VERSION] = "bad-version",
	[SWIM_CODEC_BAD_FLAGS] = "bad-flags",
	[SWIM_CODEC_BAD_ID] = "bad-id",
	[SWIM_CODEC_BAD_FAMILY] = "bad-family",
	[SWIM_CODEC_BAD_PORT] = "bad-port",
	[SWIM_CODEC_BAD_NAME] = "bad-name",
	[SWIM_CODEC_BAD_LOAD] = "bad-load",
	[SWIM_CODEC_BAD_KIND] = "bad-kind",
	[SWIM_CODEC_BAD_APP] = "bad-app",
};

struct swim_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
	enum swim_codec_err err; /* first fault; later gets return 0 */
};

const char *
swim_codec_err_name(enum swim_codec_err e)
{
	if ((unsigned)e >= SWIM_CODEC_ERR_COUNT)
		return "unknown";
	return swim_codec_err_names[e];
}

static uint64_t
swim_get(struct swim_reader *r, size_t n)
{
	uint64_t v = 0;

	if (r->err != SWIM_CODEC_OK)
		return 0;
	if (r->len - r->off < n) {
		r->err = SWIM_CODEC_TRUNCATED;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v = v << 8 | r->p[r->off + i];
	r->off += n;
	return v;
}

static void
swim_get_bytes(struct swim_reader *r, void *dst, size_t n)
{
	if (r->err != SWIM_CODEC_OK)
		return;
	if (r->len - r->off < n) {
		r->err = SWIM_CODEC_TRUNCATED;
		return;
	}
	memcpy(dst, r->p + r->off, n);
	r->off += n;
}

static void
swim_fail(struct swim_reader *r, enum swim_codec_err e)
{
	if (r->err == SWIM_CODEC_OK)
		r->err = e;
}

static uint64_t
swim_get_id(struct swim_reader *r)
{
	uint64_t id = swim_get(r, 8);

	if (id == 0)
		swim_fail(r, SWIM_CODEC_BAD_ID);
	return id;
}

static void
swim_get_addr(struct swim_reader *r, struct swim_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)swim_get(r, 1);
	if (r->err == SWIM_CODEC_OK && a->family != 4 && a->family != 6) {
		swim_fail(r, SWIM_CODEC_BAD_FAMILY);
		return;
	}
	swim_get_bytes(r, a->ip, a->family == 4 ? 4 : 16);
	a->port = (uint16_t)swim_get(r, 2);
	if (r->err == SWIM_CODEC_OK && a->port == 0)
		swim_fail(r, SWIM_CODEC_BAD_PORT);
}

static void
swim_get_name(struct swim_reader *r, char *name)
{
	size_t n = (size_t)swim_get(r, 1);

	name[0] = '\0';
	if (r->err != SWIM_CODEC_OK)
		return;
	if (n >= SWIM_NAME_MAX) {
		swim_fail(r, SWIM_CODEC_BAD_NAME);
		return;
	}
	swim_get_bytes(r, name, n);
	if (r->err != SWIM_CODEC_OK) {
		name[0] = '\0';
		return;
	}
	name[n] = '\0';
	if (memchr(name, '\0', n) != NULL)
		swim_fail(r, SWIM_CODEC_BAD_NAME);
}

/* MEMBER: id, incarnation, address, name, [key], signature. */
static void
swim_get_member(struct swim_reader *r, unsigned flags, struct swim_record *rec)
{
	if (flags & ~(SWIM_MEMBER_LEFT | SWIM_MEMBER_KEY))
		swim_fail(r, SWIM_CODEC_BAD_FLAGS);
	rec->state = (flags & SWIM_MEMBER_LEFT) ? SWIM_LEFT : SWIM_ALIVE;
	rec->has_key = (flags & SWIM_MEMBER_KEY) != 0;
	rec->id = swim_get_id(r);
	rec->incarnation = swim_get(r, 8);
	swim_get_addr(r, &rec->addr);
	swim_get_name(r, rec->name);
	if (rec->has_key)
		swim_get_bytes(r, rec->key, SWIM_KEY_LEN);
	swim_get_bytes(r, rec->sig, SWIM_SIG_LEN);
}

/* ACCUSE: id, incarnation, accuser, the accuser's signature. */
static void
swim_get_accuse(struct swim_reader *r, unsigned flags, struct swim_record *rec)
{
	if (flags & ~SWIM_ACCUSE_DEAD)
		swim_fail(r, SWIM_CODEC_BAD_FLAGS);
	rec->state = (flags & SWIM_ACCUSE_DEAD) ? SWIM_DEAD : SWIM_SUSPECT;
	rec->id = swim_get_id(r);
	rec->incarnation = swim_get(r, 8);
	rec->from = swim_get_id(r);
	swim_get_bytes(r, rec->sig, SWIM_SIG_LEN);
}

/* LOAD: id, version, cpu, load1, mem, [custom], signature. */
static void
swim_get_load(struct swim_reader *r, unsigned flags, struct swim_record *rec)
{
	struct swim_load *l = &rec->load;

	if (flags & ~SWIM_LOAD_CUSTOM)
		swim_fail(r, SWIM_CODEC_BAD_FLAGS);
	rec->id = swim_get_id(r);
	l->version = (uint32_t)swim_get(r, 4);
	l->cpu_permille = (uint16_t)swim_get(r, 2);
	l->load1_permille = (uint16_t)swim_get(r, 2);
	l->mem_permille = (uint16_t)swim_get(r, 2);
	if (flags & SWIM_LOAD_CUSTOM) {
		l->has_custom = true;
		l->custom_milli = (int64_t)swim_get(r, 8);
	}
	swim_get_bytes(r, rec->sig, SWIM_SIG_LEN);
	if (r->err == SWIM_CODEC_OK && (l->version == 0 || l->cpu_permille > SWIM_PERMILLE_MAX ||
					l->mem_permille > SWIM_PERMILLE_MAX))
		swim_fail(r, SWIM_CODEC_BAD_LOAD);
}

/* APP: kind, subject, version, originator, length, data, signature. */
static void
swim_get_app(struct swim_reader *r, unsigned flags, struct swim_record *rec)
{
	struct swim_claim *c = &rec->app;

	if (flags != 0)
		swim_fail(r, SWIM_CODEC_BAD_FLAGS);
	c->kind = (uint8_t)swim_get(r, 1);
	c->subject = rec->id = swim_get(r, 8);
	c->version = swim_get(r, 8);
	c->origin = swim_get_id(r);
	c->len = (uint8_t)swim_get(r, 1);
	if (r->err == SWIM_CODEC_OK && (c->kind == 0 || c->version == 0 || c->len > SWIM_APP_MAX))
		swim_fail(r, SWIM_CODEC_BAD_APP);
	swim_get_bytes(r, c->data, r->err == SWIM_CODEC_OK ? c->len : 0);
	swim_get_bytes(r, rec->sig, SWIM_SIG_LEN);
}

/* DIGEST: id, incarnation, load version; the state in the flags. */
static void
swim_get_digest(struct swim_reader *r, unsigned flags, struct swim_record *rec)
{
	if (flags & ~(3U << SWIM_DIGEST_STATE_SHIFT))
		swim_fail(r, SWIM_CODEC_BAD_FLAGS);
	rec->state = (enum swim_state)(flags >> SWIM_DIGEST_STATE_SHIFT);
	rec->id = swim_get_id(r);
	rec->incarnation = swim_get(r, 8);
	rec->load.version = (uint32_t)swim_get(r, 4);
}

enum swim_codec_err
swim_codec_record(const uint8_t *p, size_t len, size_t *off, struct swim_record *rec)
{
	struct swim_reader r = { p, len, *off, SWIM_CODEC_OK };
	unsigned k;

	memset(rec, 0, sizeof(*rec));
	if (*off > len)
		return SWIM_CODEC_TRUNCATED;
	k = (unsigned)swim_get(&r, 1);
	rec->kind = (uint8_t)(k & SWIM_KIND_MASK);
	switch (rec->kind) {
	case SWIM_REC_MEMBER:
		swim_get_member(&r, k & ~SWIM_KIND_MASK, rec);
		break;
	case SWIM_REC_ACCUSE:
		swim_get_accuse(&r, k & ~SWIM_KIND_MASK, rec);
		break;
	case SWIM_REC_LOAD:
		swim_get_load(&r, k & ~SWIM_KIND_MASK, rec);
		break;
	case SWIM_REC_APP:
		swim_get_app(&r, k & ~SWIM_KIND_MASK, rec);
		break;
	case SWIM_REC_DIGEST:
		swim_get_digest(&r, k & ~SWIM_KIND_MASK, rec);
		break;
	default:
		swim_fail(&r, SWIM_CODEC_BAD_KIND);
		break;
	}
	if (r.err == SWIM_CODEC_OK)
		*off = r.off;
	return r.err;
}

static void
swim_decode_header(struct swim_reader *r, uint8_t type, struct swim_msg *msg)
{
	switch (type) {
	case SWIM_MSG_PING:
	case SWIM_MSG_ACK:
	case SWIM_MSG_NACK:
	case SWIM_MSG_PING_REQ:
		msg->seq = (uint32_t)swim_get(r, 4);
		msg->target = swim_get_id(r);
		if (type == SWIM_MSG_PING_REQ)
			swim_get_addr(r, &msg->target_addr);
		break;
	case SWIM_MSG_STATE:
		msg->flags = (uint8_t)swim_get(r, 1);
		if (r->err == SWIM_CODEC_OK && (msg->flags & ~SWIM_STATE_FLAGS) != 0)
			swim_fail(r, SWIM_CODEC_BAD_FLAGS);
		break;
	case SWIM_MSG_DIGEST:
		msg->flags = (uint8_t)swim_get(r, 1);
		msg->lo = swim_get(r, 8);
		msg->hi = swim_get(r, 8);
		if (r->err == SWIM_CODEC_OK &&
		    ((msg->flags & ~SWIM_DIGEST_FLAGS) != 0 || msg->lo > msg->hi))
			swim_fail(r, SWIM_CODEC_BAD_FLAGS);
		break;
	default: /* SWIM_MSG_GOSSIP: no header fields */
		break;
	}
}

enum swim_codec_err
swim_codec_decode(uint8_t type, const uint8_t *p, size_t len, struct swim_msg *msg)
{
	struct swim_reader r = { p, len, 0, SWIM_CODEC_OK };
	struct swim_record rec;
	size_t off;

	memset(msg, 0, sizeof(*msg));
	msg->type = type;
	if (type < SWIM_MSG_PING || type > SWIM_MSG_DIGEST)
		return SWIM_CODEC_BAD_TYPE;
	if (swim_get(&r, 1) != SWIM_CODEC_VERSION)
		swim_fail(&r, SWIM_CODEC_BAD_VERSION);
	swim_decode_header(&r, type, msg);
	msg->count = (uint8_t)swim_get(&r, 1);
	if (r.err != SWIM_CODEC_OK)
		return r.err;
	msg->rec = p + r.off;
	msg->rec_len = len - r.off;
	off = 0;
	for (unsigned i = 0; i < msg->count; i++) {
		enum swim_codec_err e = swim_codec_record(msg->rec, msg->rec_len, &off, &rec);

		if (e != SWIM_CODEC_OK)
			return e;
		/* Digests ride in DIGEST messages, and nothing else does. */
		if ((rec.kind == SWIM_REC_DIGEST) != (type == SWIM_MSG_DIGEST))
			return SWIM_CODEC_BAD_KIND;
	}
	return off == msg->rec_len ? SWIM_CODEC_OK : SWIM_CODEC_TRAILING;
}

static void
swim_put(uint8_t *p, size_t *off, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[*off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	*off += n;
}

static size_t
swim_addr_len(const struct swim_addr *a)
{
	return a->family == 4 ? 7 : 19;
}

static bool
swim_addr_ok(const struct swim_addr *a)
{
	return (a->family == 4 || a->family == 6) && a->port != 0;
}

static void
swim_put_addr(uint8_t *p, size_t *off, const struct swim_addr *a)
{
	size_t n = a->family == 4 ? 4 : 16;

	p[(*off)++] = a->family;
	memcpy(p + *off, a->ip, n);
	*off += n;
	swim_put(p, off, a->port, 2);
}

static void
swim_put_bytes(uint8_t *p, size_t *off, const void *src, size_t n)
{
	memcpy(p + *off, src, n);
	*off += n;
}

static bool
swim_load_ok(const struct swim_load *l)
{
	return l->version != 0 && l->cpu_permille <= SWIM_PERMILLE_MAX &&
	       l->mem_permille <= SWIM_PERMILLE_MAX;
}

static bool
swim_record_ok(const struct swim_record *rec)
{
	switch (rec->kind) {
	case SWIM_REC_MEMBER:
		return rec->id != 0 && (rec->state == SWIM_ALIVE || rec->state == SWIM_LEFT) &&
		       swim_addr_ok(&rec->addr) &&
		       strnlen(rec->name, SWIM_NAME_MAX) < SWIM_NAME_MAX;
	case SWIM_REC_ACCUSE:
		return rec->id != 0 && rec->from != 0 &&
		       (rec->state == SWIM_SUSPECT || rec->state == SWIM_DEAD);
	case SWIM_REC_LOAD:
		return rec->id != 0 && swim_load_ok(&rec->load);
	case SWIM_REC_APP:
		return rec->app.kind != 0 && rec->app.version != 0 && rec->app.origin != 0 &&
		       rec->app.len <= SWIM_APP_MAX;
	case SWIM_REC_DIGEST:
		return rec->id != 0 && (unsigned)rec->state <= SWIM_LEFT;
	default:
		return false;
	}
}

size_t
swim_codec_record_len(const struct swim_record *rec)
{
	switch (rec->kind) {
	case SWIM_REC_MEMBER:
		return SWIM_MEMBER_LEN4 + swim_addr_len(&rec->addr) - 7 +
		       strnlen(rec->name, SWIM_NAME_MAX) + (rec->has_key ? SWIM_KEY_LEN : 0);
	case SWIM_REC_ACCUSE:
		return SWIM_ACCUSE_LEN;
	case SWIM_REC_LOAD:
		return SWIM_LOAD_LEN + (rec->load.has_custom ? 8 : 0);
	case SWIM_REC_APP:
		return 27 + rec->app.len + SWIM_SIG_LEN;
	default:
		return SWIM_DIGEST_LEN;
	}
}

/* The record's kind byte: its kind and flags. */
static uint8_t
swim_kind_byte(const struct swim_record *rec)
{
	unsigned k = rec->kind;

	if (rec->kind == SWIM_REC_MEMBER)
		k |= (rec->state == SWIM_LEFT ? SWIM_MEMBER_LEFT : 0) |
		     (rec->has_key ? SWIM_MEMBER_KEY : 0);
	else if (rec->kind == SWIM_REC_ACCUSE)
		k |= rec->state == SWIM_DEAD ? SWIM_ACCUSE_DEAD : 0;
	else if (rec->kind == SWIM_REC_LOAD)
		k |= rec->load.has_custom ? SWIM_LOAD_CUSTOM : 0;
	else if (rec->kind == SWIM_REC_DIGEST)
		k |= (unsigned)rec->state << SWIM_DIGEST_STATE_SHIFT;
	return (uint8_t)k;
}

/* The load fields, in the order of the LOAD record (also what is signed). */
static void
swim_put_load(uint8_t *p, size_t *off, const struct swim_load *l, bool custom_always)
{
	swim_put(p, off, l->version, 4);
	swim_put(p, off, l->cpu_permille, 2);
	swim_put(p, off, l->load1_permille, 2);
	swim_put(p, off, l->mem_permille, 2);
	if (l->has_custom || custom_always)
		swim_put(p, off, l->has_custom ? (uint64_t)l->custom_milli : 0, 8);
}

/* Everything after the kind byte and before the signature. */
static void
swim_put_body(uint8_t *p, size_t *off, const struct swim_record *rec)
{
	size_t nlen;

	switch (rec->kind) {
	case SWIM_REC_MEMBER:
		swim_put(p, off, rec->id, 8);
		swim_put(p, off, rec->incarnation, 8);
		swim_put_addr(p, off, &rec->addr);
		nlen = strnlen(rec->name, SWIM_NAME_MAX);
		p[(*off)++] = (uint8_t)nlen;
		swim_put_bytes(p, off, rec->name, nlen);
		if (rec->has_key)
			swim_put_bytes(p, off, rec->key, SWIM_KEY_LEN);
		break;
	case SWIM_REC_ACCUSE:
	case SWIM_REC_DIGEST:
		swim_put(p, off, rec->id, 8);
		swim_put(p, off, rec->incarnation, 8);
		if (rec->kind == SWIM_REC_ACCUSE)
			swim_put(p, off, rec->from, 8);
		else
			swim_put(p, off, rec->load.version, 4);
		break;
	case SWIM_REC_LOAD:
		swim_put(p, off, rec->id, 8);
		swim_put_load(p, off, &rec->load, false);
		break;
	default: /* SWIM_REC_APP */
		p[(*off)++] = rec->app.kind;
		swim_put(p, off, rec->app.subject, 8);
		swim_put(p, off, rec->app.version, 8);
		swim_put(p, off, rec->app.origin, 8);
		p[(*off)++] = rec->app.len;
		swim_put_bytes(p, off, rec->app.data, rec->app.len);
		break;
	}
}

size_t
swim_codec_signed(uint64_t cluster_id, const struct swim_record *rec,
		  const uint8_t key[SWIM_KEY_LEN], uint8_t *out)
{
	static const char ctx_member[SWIM_CTX_LEN] = "mitosis member";
	static const char ctx_load[SWIM_CTX_LEN] = "mitosis load";
	static const char ctx_app[SWIM_CTX_LEN] = "mitosis app";
	static const char ctx_accuse[SWIM_CTX_LEN] = "mitosis accuse";
	uint8_t addr[19];
	size_t off = 0, nlen;

	switch (rec->kind) {
	case SWIM_REC_MEMBER:
		swim_put_bytes(out, &off, ctx_member, SWIM_CTX_LEN);
		swim_put(out, &off, cluster_id, 8);
		swim_put(out, &off, rec->id, 8);
		swim_put(out, &off, rec->incarnation, 8);
		out[off++] = (uint8_t)rec->state;
		/* The address in one width, so both families sign alike. */
		memset(addr, 0, sizeof(addr));
		addr[0] = rec->addr.family;
		memcpy(addr + 1, rec->addr.ip, rec->addr.family == 4 ? 4 : 16);
		addr[17] = (uint8_t)(rec->addr.port >> 8);
		addr[18] = (uint8_t)rec->addr.port;
		swim_put_bytes(out, &off, addr, sizeof(addr));
		nlen = strnlen(rec->name, SWIM_NAME_MAX);
		out[off++] = (uint8_t)nlen;
		swim_put_bytes(out, &off, rec->name, nlen);
		swim_put_bytes(out, &off, key, SWIM_KEY_LEN);
		return off;
	case SWIM_REC_LOAD:
		swim_put_bytes(out, &off, ctx_load, SWIM_CTX_LEN);
		swim_put(out, &off, cluster_id, 8);
		swim_put(out, &off, rec->id, 8);
		out[off++] = rec->load.has_custom ? 1 : 0;
		swim_put_load(out, &off, &rec->load, true);
		return off;
	case SWIM_REC_ACCUSE:
		swim_put_bytes(out, &off, ctx_accuse, SWIM_CTX_LEN);
		swim_put(out, &off, cluster_id, 8);
		swim_put(out, &off, rec->id, 8);
		swim_put(out, &off, rec->incarnation, 8);
		out[off++] = (uint8_t)rec->state;
		swim_put(out, &off, rec->from, 8);
		return off;
	case SWIM_REC_APP:
		swim_put_bytes(out, &off, ctx_app, SWIM_CTX_LEN);
		swim_put(out, &off, cluster_id, 8);
		swim_put_body(out, &off, rec);
		return off;
	default:
		return 0;
	}
}

int
swim_codec_begin(struct swim_writer *w, uint8_t *buf, size_t cap, const struct swim_msg *hdr)
{
	size_t need = 2, off = 0;
	uint8_t t = hdr->type;

	if (t < SWIM_MSG_PING || t > SWIM_MSG_DIGEST)
		return -EINVAL;
	if (t == SWIM_MSG_STATE && (hdr->flags & ~SWIM_STATE_FLAGS) != 0)
		return -EINVAL;
	if (t == SWIM_MSG_DIGEST && ((hdr->flags & ~SWIM_DIGEST_FLAGS) != 0 || hdr->lo > hdr->hi))
		return -EINVAL;
	if (t <= SWIM_MSG_NACK && hdr->target == 0)
		return -EINVAL;
	if (t == SWIM_MSG_PING_REQ && !swim_addr_ok(&hdr->target_addr))
		return -EINVAL;
	if (t == SWIM_MSG_STATE)
		need += 1;
	else if (t == SWIM_MSG_DIGEST)
		need += 17;
	else if (t != SWIM_MSG_GOSSIP)
		need += 12 + (t == SWIM_MSG_PING_REQ ? swim_addr_len(&hdr->target_addr) : 0);
	if (cap < need)
		return -EMSGSIZE;
	buf[off++] = SWIM_CODEC_VERSION;
	if (t == SWIM_MSG_STATE || t == SWIM_MSG_DIGEST)
		buf[off++] = hdr->flags;
	if (t == SWIM_MSG_DIGEST) {
		swim_put(buf, &off, hdr->lo, 8);
		swim_put(buf, &off, hdr->hi, 8);
	} else if (t != SWIM_MSG_STATE && t != SWIM_MSG_GOSSIP) {
		swim_put(buf, &off, hdr->seq, 4);
		swim_put(buf, &off, hdr->target, 8);
		if (t == SWIM_MSG_PING_REQ)
			swim_put_addr(buf, &off, &hdr->target_addr);
	}
	w->buf = buf;
	w->cap = cap;
	w->count_off = off;
	w->count = 0;
	buf[off++] = 0;
	w->len = off;
	return 0;
}

int
swim_codec_add(struct swim_writer *w, const struct swim_record *rec)
{
	size_t off = w->len;

	if (!swim_record_ok(rec))
		return -EINVAL;
	if (w->count == UINT8_MAX || w->cap - w->len < swim_codec_record_len(rec))
		return -EMSGSIZE;
	w->buf[off++] = swim_kind_byte(rec);
	swim_put_body(w->buf, &off, rec);
	if (rec->kind != SWIM_REC_DIGEST)
		swim_put_bytes(w->buf, &off, rec->sig, SWIM_SIG_LEN);
	w->len = off;
	w->buf[w->count_off] = ++w->count;
	return 0;
}

size_t
swim_codec_end(const struct swim_writer *w)
{
	return w->len;
}
