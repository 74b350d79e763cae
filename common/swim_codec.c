/*
 * swim_codec: encoding and decoding of the membership payloads
 * (include/swim_codec.h, docs/membership.md). A reader cursor carries the
 * bounds; every get checks them first, and validation is the same code as
 * decoding, so what is accepted is exactly what the walk after it returns.
 */
#include <errno.h>
#include <string.h>

#include "swim_codec.h"

#define SWIM_PERMILLE_MAX   1000
#define SWIM_REC_STATE_MASK 3U
#define SWIM_REC_KNOWN	    (SWIM_REC_STATE_MASK | SWIM_REC_LOAD | SWIM_REC_CUSTOM | SWIM_REC_LOADONLY)

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

static void
swim_get_load(struct swim_reader *r, struct swim_load *l, unsigned flags)
{
	memset(l, 0, sizeof(*l));
	if ((flags & SWIM_REC_LOAD) == 0)
		return;
	l->version = (uint32_t)swim_get(r, 4);
	l->cpu_permille = (uint16_t)swim_get(r, 2);
	l->load1_permille = (uint16_t)swim_get(r, 2);
	l->mem_permille = (uint16_t)swim_get(r, 2);
	if (flags & SWIM_REC_CUSTOM) {
		l->has_custom = true;
		l->custom_milli = (int64_t)swim_get(r, 8);
	}
	if (r->err == SWIM_CODEC_OK && (l->version == 0 || l->cpu_permille > SWIM_PERMILLE_MAX ||
					l->mem_permille > SWIM_PERMILLE_MAX))
		swim_fail(r, SWIM_CODEC_BAD_LOAD);
}

enum swim_codec_err
swim_codec_record(const uint8_t *p, size_t len, size_t *off, struct swim_record *rec)
{
	struct swim_reader r = { p, len, *off, SWIM_CODEC_OK };
	unsigned flags;

	memset(rec, 0, sizeof(*rec));
	if (*off > len)
		return SWIM_CODEC_TRUNCATED;
	rec->id = swim_get_id(&r);
	rec->incarnation = swim_get(&r, 8);
	flags = (unsigned)swim_get(&r, 1);
	if (r.err == SWIM_CODEC_OK &&
	    ((flags & ~SWIM_REC_KNOWN) != 0 ||
	     ((flags & SWIM_REC_CUSTOM) && !(flags & SWIM_REC_LOAD)) ||
	     ((flags & SWIM_REC_LOADONLY) &&
	      ((flags & SWIM_REC_STATE_MASK) != SWIM_ALIVE || !(flags & SWIM_REC_LOAD)))))
		swim_fail(&r, SWIM_CODEC_BAD_FLAGS);
	rec->state = (enum swim_state)(flags & SWIM_REC_STATE_MASK);
	rec->load_only = (flags & SWIM_REC_LOADONLY) != 0;
	if (!rec->load_only) {
		if (rec->state == SWIM_SUSPECT || rec->state == SWIM_DEAD)
			rec->from = swim_get_id(&r);
		swim_get_addr(&r, &rec->addr);
		swim_get_name(&r, rec->name);
	}
	swim_get_load(&r, &rec->load, flags);
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
	if (type < SWIM_MSG_PING || type > SWIM_MSG_GOSSIP)
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

static bool
swim_record_ok(const struct swim_record *rec)
{
	const struct swim_load *l = &rec->load;
	bool accused = rec->state == SWIM_SUSPECT || rec->state == SWIM_DEAD;

	if (rec->id == 0 || (unsigned)rec->state > SWIM_LEFT || (accused && rec->from == 0))
		return false;
	if (rec->load_only && (rec->state != SWIM_ALIVE || l->version == 0))
		return false;
	if (!rec->load_only &&
	    (!swim_addr_ok(&rec->addr) || strnlen(rec->name, SWIM_NAME_MAX) >= SWIM_NAME_MAX))
		return false;
	return l->version == 0 ||
	       (l->cpu_permille <= SWIM_PERMILLE_MAX && l->mem_permille <= SWIM_PERMILLE_MAX);
}

size_t
swim_codec_record_len(const struct swim_record *rec)
{
	size_t n;

	if (rec->load_only)
		return SWIM_LOADONLY_LEN + (rec->load.has_custom ? 8 : 0);
	n = 8 + 8 + 1 + swim_addr_len(&rec->addr) + 1 + strnlen(rec->name, SWIM_NAME_MAX);
	if (rec->state == SWIM_SUSPECT || rec->state == SWIM_DEAD)
		n += 8;
	if (rec->load.version != 0)
		n += 10 + (rec->load.has_custom ? 8 : 0);
	return n;
}

int
swim_codec_begin(struct swim_writer *w, uint8_t *buf, size_t cap, const struct swim_msg *hdr)
{
	size_t need = 2, off = 0;
	uint8_t t = hdr->type;

	if (t < SWIM_MSG_PING || t > SWIM_MSG_GOSSIP)
		return -EINVAL;
	if (t == SWIM_MSG_STATE && (hdr->flags & ~SWIM_STATE_FLAGS) != 0)
		return -EINVAL;
	if (t != SWIM_MSG_STATE && t != SWIM_MSG_GOSSIP && hdr->target == 0)
		return -EINVAL;
	if (t == SWIM_MSG_PING_REQ && !swim_addr_ok(&hdr->target_addr))
		return -EINVAL;
	if (t == SWIM_MSG_STATE)
		need += 1;
	else if (t != SWIM_MSG_GOSSIP)
		need += 12 + (t == SWIM_MSG_PING_REQ ? swim_addr_len(&hdr->target_addr) : 0);
	if (cap < need)
		return -EMSGSIZE;
	buf[off++] = SWIM_CODEC_VERSION;
	if (t == SWIM_MSG_STATE) {
		buf[off++] = hdr->flags;
	} else if (t != SWIM_MSG_GOSSIP) {
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
	size_t off = w->len, nlen;
	unsigned flags;

	if (!swim_record_ok(rec))
		return -EINVAL;
	if (w->count == UINT8_MAX || w->cap - w->len < swim_codec_record_len(rec))
		return -EMSGSIZE;
	flags = (unsigned)rec->state | (rec->load_only ? SWIM_REC_LOADONLY : 0);
	if (rec->load.version != 0)
		flags |= SWIM_REC_LOAD | (rec->load.has_custom ? SWIM_REC_CUSTOM : 0);
	swim_put(w->buf, &off, rec->id, 8);
	swim_put(w->buf, &off, rec->incarnation, 8);
	w->buf[off++] = (uint8_t)flags;
	if (!rec->load_only) {
		if (rec->state == SWIM_SUSPECT || rec->state == SWIM_DEAD)
			swim_put(w->buf, &off, rec->from, 8);
		swim_put_addr(w->buf, &off, &rec->addr);
		nlen = strnlen(rec->name, SWIM_NAME_MAX);
		w->buf[off++] = (uint8_t)nlen;
		memcpy(w->buf + off, rec->name, nlen);
		off += nlen;
	}
	if (rec->load.version != 0) {
		swim_put(w->buf, &off, rec->load.version, 4);
		swim_put(w->buf, &off, rec->load.cpu_permille, 2);
		swim_put(w->buf, &off, rec->load.load1_permille, 2);
		swim_put(w->buf, &off, rec->load.mem_permille, 2);
		if (rec->load.has_custom)
			swim_put(w->buf, &off, (uint64_t)rec->load.custom_milli, 8);
	}
	w->len = off;
	w->buf[w->count_off] = ++w->count;
	return 0;
}

size_t
swim_codec_end(const struct swim_writer *w)
{
	return w->len;
}
