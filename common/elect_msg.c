/*
 * elect_msg: encoding, decoding and signing of the election's messages
 * (include/elect_msg.h has the header layout; docs/election.md the bodies).
 * Decoding is one walk that checks as it reads, so what it accepts is what
 * the encoder writes, and the encoder refuses what decoding would.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "elect_codec.h"
#include "elect_msg.h"
#include "wire.h"

#define ELECT_DOMAIN_LEN 16

_Static_assert(sizeof(ELECT_MSG_DOMAIN) - 1 == ELECT_DOMAIN_LEN, "the domain is 16 bytes");
_Static_assert(ELECT_MSG_MAX <= WIRE_MAX_PAYLOAD, "an election message fits one envelope");
_Static_assert(ELECT_MSG_HEADER + 33 + ELECT_TAIL_MAX * (9 + 1 + 16 * ELECT_VOTERS_MAX) +
			       ELECT_SIG_LEN <=
		       ELECT_MSG_MAX,
	       "a full APPEND fits one datagram");

static const char *const elect_msg_err_names[ELECT_MSG_ERR_COUNT] = {
	[ELECT_MSG_OK] = "ok",
	[ELECT_MSG_TRUNCATED] = "truncated",
	[ELECT_MSG_TRAILING] = "trailing",
	[ELECT_MSG_BAD_VERSION] = "bad-version",
	[ELECT_MSG_BAD_TYPE] = "bad-type",
	[ELECT_MSG_BAD_FLAGS] = "bad-flags",
	[ELECT_MSG_BAD_ID] = "bad-id",
	[ELECT_MSG_BAD_VOTERS] = "bad-voters",
	[ELECT_MSG_BAD_ENTRY] = "bad-entry",
	[ELECT_MSG_BAD_INDEX] = "bad-index",
	[ELECT_MSG_BAD_PROOF] = "bad-proof",
};

static const char *const elect_msg_type_names[ELECT_MSG_TYPE_MAX + 1] = {
	[ELECT_MSG_PREVOTE] = "prevote",	   [ELECT_MSG_VOTE] = "vote",
	[ELECT_MSG_VOTE_RESP] = "vote-resp",	   [ELECT_MSG_APPEND] = "append",
	[ELECT_MSG_APPEND_RESP] = "append-resp",   [ELECT_MSG_SNAPSHOT] = "snapshot",
	[ELECT_MSG_TIMEOUT_NOW] = "timeout-now",   [ELECT_MSG_ANNOUNCE] = "announce",
	[ELECT_MSG_BOOT_OFFER] = "boot-offer",	   [ELECT_MSG_BOOT_ACCEPT] = "boot-accept",
	[ELECT_MSG_BOOT_RELEASE] = "boot-release", [ELECT_MSG_BOOT_CONFIG] = "boot-config",
};

/* The flags each type may carry. */
static const uint8_t elect_msg_flags_ok[ELECT_MSG_TYPE_MAX + 1] = {
	[ELECT_MSG_PREVOTE] = ELECT_F_TRANSFER,
	[ELECT_MSG_VOTE] = ELECT_F_TRANSFER,
	[ELECT_MSG_VOTE_RESP] = ELECT_F_GRANT | ELECT_F_PRE,
	[ELECT_MSG_APPEND_RESP] = ELECT_F_SUCCESS,
};

const char *
elect_msg_err_name(enum elect_msg_err e)
{
	if ((unsigned)e >= ELECT_MSG_ERR_COUNT)
		return "unknown";
	return elect_msg_err_names[e];
}

const char *
elect_msg_type_name(unsigned type)
{
	if (type == 0 || type > ELECT_MSG_TYPE_MAX)
		return "unknown";
	return elect_msg_type_names[type];
}

void
elect__put(struct elect__w *w, uint64_t v, size_t n)
{
	if (w->over || w->size - w->off < n) {
		w->over = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		w->p[w->off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	w->off += n;
}

void
elect__put_bytes(struct elect__w *w, const void *src, size_t n)
{
	if (w->over || w->size - w->off < n) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->off, src, n);
	w->off += n;
}

void
elect__put_voters(struct elect__w *w, const struct elect_voters *v)
{
	elect__put(w, v->n, 1);
	for (uint32_t i = 0; i < v->n && i < ELECT_VOTERS_MAX; i++) {
		elect__put(w, v->v[i].id, 8);
		elect__put(w, v->v[i].sid, 8);
	}
}

void
elect__put_entry(struct elect__w *w, const struct elect_entry *e)
{
	elect__put(w, e->term, 8);
	elect__put(w, e->type, 1);
	if (e->type == ELECT_ENTRY_CONFIG)
		elect__put_voters(w, &e->voters);
}

uint64_t
elect__get(struct elect__r *r, size_t n)
{
	uint64_t v = 0;

	if (r->short_ || r->len - r->off < n) {
		r->short_ = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v = v << 8 | r->p[r->off + i];
	r->off += n;
	return v;
}

const uint8_t *
elect__get_ref(struct elect__r *r, size_t n)
{
	const uint8_t *p = r->p + r->off;

	if (r->short_ || r->len - r->off < n) {
		r->short_ = true;
		return NULL;
	}
	r->off += n;
	return p;
}

bool
elect__get_voters(struct elect__r *r, struct elect_voters *v, bool allow_zero_sid)
{
	uint64_t n = elect__get(r, 1);

	memset(v, 0, sizeof(*v));
	if (n == 0 || n > ELECT_VOTERS_MAX)
		return r->short_; /* a short read is the caller's to report */
	v->n = (uint32_t)n;
	for (uint32_t i = 0; i < v->n; i++) {
		v->v[i].id = elect__get(r, 8);
		v->v[i].sid = elect__get(r, 8);
	}
	return r->short_ || elect_voters_valid(v, allow_zero_sid);
}

bool
elect__get_entry(struct elect__r *r, struct elect_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->term = elect__get(r, 8);
	e->type = (uint8_t)elect__get(r, 1);
	if (e->type == ELECT_ENTRY_CONFIG)
		return elect__get_voters(r, &e->voters, false);
	return r->short_ || e->type == ELECT_ENTRY_NOOP;
}

/* The body of m after the header, by type. Encoding and decoding both walk
 * the same field list through these two functions. */
static void
elect_msg_put_body(struct elect__w *w, const struct elect_msg *m)
{
	switch (m->type) {
	case ELECT_MSG_PREVOTE:
	case ELECT_MSG_VOTE:
		elect__put(w, m->last_index, 8);
		elect__put(w, m->last_term, 8);
		if (m->flags & ELECT_F_TRANSFER) {
			elect__put(w, m->proof_len, 2);
			elect__put_bytes(w, m->proof, m->proof_len);
		}
		break;
	case ELECT_MSG_VOTE_RESP:
		elect__put(w, m->req_term, 8);
		break;
	case ELECT_MSG_APPEND:
		elect__put(w, m->round, 8);
		elect__put(w, m->prev_index, 8);
		elect__put(w, m->prev_term, 8);
		elect__put(w, m->commit, 8);
		elect__put(w, m->nentries, 1);
		for (uint32_t i = 0; i < m->nentries; i++)
			elect__put_entry(w, &m->entries[i]);
		break;
	case ELECT_MSG_APPEND_RESP:
		elect__put(w, m->round, 8);
		elect__put(w, m->match, 8);
		break;
	case ELECT_MSG_SNAPSHOT:
		elect__put(w, m->round, 8);
		elect__put(w, m->snap_index, 8);
		elect__put(w, m->snap_term, 8);
		elect__put_voters(w, &m->voters);
		break;
	case ELECT_MSG_ANNOUNCE:
		elect__put(w, m->lease_left_ms, 8);
		elect__put_voters(w, &m->voters);
		break;
	case ELECT_MSG_BOOT_OFFER:
		elect__put(w, m->gen, 4);
		elect__put_voters(w, &m->voters);
		break;
	case ELECT_MSG_BOOT_CONFIG:
		elect__put(w, m->gen, 4);
		elect__put(w, m->proposer, 8);
		elect__put(w, m->proposer_sid, 8);
		elect__put_voters(w, &m->voters);
		break;
	case ELECT_MSG_BOOT_ACCEPT:
		elect__put(w, m->gen, 4);
		elect__put(w, m->proposer, 8);
		elect__put(w, m->proposer_sid, 8);
		break;
	case ELECT_MSG_BOOT_RELEASE:
		elect__put(w, m->gen, 4);
		break;
	default: /* TIMEOUT_NOW: no body */
		break;
	}
}

static enum elect_msg_err
elect_msg_get_append(struct elect__r *r, struct elect_msg *m)
{
	uint64_t n;

	m->round = elect__get(r, 8);
	m->prev_index = elect__get(r, 8);
	m->prev_term = elect__get(r, 8);
	m->commit = elect__get(r, 8);
	n = elect__get(r, 1);
	if (n > ELECT_TAIL_MAX)
		return ELECT_MSG_BAD_ENTRY;
	if (m->prev_index > ELECT_INDEX_MAX)
		return ELECT_MSG_BAD_INDEX;
	m->nentries = (uint32_t)n;
	for (uint32_t i = 0; i < m->nentries; i++)
		if (!elect__get_entry(r, &m->entries[i]))
			return ELECT_MSG_BAD_ENTRY;
	return ELECT_MSG_OK;
}

static enum elect_msg_err
elect_msg_get_body(struct elect__r *r, struct elect_msg *m)
{
	switch (m->type) {
	case ELECT_MSG_PREVOTE:
	case ELECT_MSG_VOTE:
		m->last_index = elect__get(r, 8);
		m->last_term = elect__get(r, 8);
		if (m->flags & ELECT_F_TRANSFER) {
			m->proof_len = (size_t)elect__get(r, 2);
			if (!r->short_ && m->proof_len != ELECT_PROOF_LEN)
				return ELECT_MSG_BAD_PROOF;
			m->proof = elect__get_ref(r, m->proof_len);
		}
		return ELECT_MSG_OK;
	case ELECT_MSG_VOTE_RESP:
		m->req_term = elect__get(r, 8);
		return ELECT_MSG_OK;
	case ELECT_MSG_APPEND:
		return elect_msg_get_append(r, m);
	case ELECT_MSG_APPEND_RESP:
		m->round = elect__get(r, 8);
		m->match = elect__get(r, 8);
		return ELECT_MSG_OK;
	case ELECT_MSG_SNAPSHOT:
		m->round = elect__get(r, 8);
		m->snap_index = elect__get(r, 8);
		m->snap_term = elect__get(r, 8);
		if (m->snap_index > ELECT_INDEX_MAX)
			return ELECT_MSG_BAD_INDEX;
		return elect__get_voters(r, &m->voters, false) ? ELECT_MSG_OK
							       : ELECT_MSG_BAD_VOTERS;
	case ELECT_MSG_ANNOUNCE:
		m->lease_left_ms = elect__get(r, 8);
		return elect__get_voters(r, &m->voters, false) ? ELECT_MSG_OK
							       : ELECT_MSG_BAD_VOTERS;
	case ELECT_MSG_BOOT_OFFER:
		m->gen = (uint32_t)elect__get(r, 4);
		return elect__get_voters(r, &m->voters, true) ? ELECT_MSG_OK : ELECT_MSG_BAD_VOTERS;
	case ELECT_MSG_BOOT_CONFIG:
		m->gen = (uint32_t)elect__get(r, 4);
		m->proposer = elect__get(r, 8);
		m->proposer_sid = elect__get(r, 8);
		return elect__get_voters(r, &m->voters, false) ? ELECT_MSG_OK
							       : ELECT_MSG_BAD_VOTERS;
	case ELECT_MSG_BOOT_ACCEPT:
		m->gen = (uint32_t)elect__get(r, 4);
		m->proposer = elect__get(r, 8);
		m->proposer_sid = elect__get(r, 8);
		return ELECT_MSG_OK;
	case ELECT_MSG_BOOT_RELEASE:
		m->gen = (uint32_t)elect__get(r, 4);
		return ELECT_MSG_OK;
	default:
		return ELECT_MSG_OK;
	}
}

/* The header checks decode makes, shared with encode so that it refuses to
 * write what decode would refuse. */
static enum elect_msg_err
elect_msg_check_header(const struct elect_msg *m)
{
	if (m->type == 0 || m->type > ELECT_MSG_TYPE_MAX)
		return ELECT_MSG_BAD_TYPE;
	if (m->flags & ~elect_msg_flags_ok[m->type])
		return ELECT_MSG_BAD_FLAGS;
	if (m->type == ELECT_MSG_VOTE_RESP && (m->flags & ELECT_F_GRANT) && m->reason != 0)
		return ELECT_MSG_BAD_FLAGS;
	if (m->reason > (m->type == ELECT_MSG_BOOT_ACCEPT ? ELECT_ANSWER_LOST
			 : m->type == ELECT_MSG_VOTE_RESP ? ELECT_DENY_MAX
							  : 0))
		return ELECT_MSG_BAD_FLAGS;
	if (m->from == 0 || m->from_sid == 0)
		return ELECT_MSG_BAD_ID;
	if ((m->type == ELECT_MSG_ANNOUNCE) != (m->to == 0))
		return ELECT_MSG_BAD_ID;
	if (m->term > ELECT_TERM_MAX)
		return ELECT_MSG_BAD_INDEX;
	return ELECT_MSG_OK;
}

/* Signs or verifies DOMAIN || bytes: copies them into one buffer, since
 * libsodium signs a contiguous message. */
static size_t
elect_msg_domain(uint8_t *buf, const uint8_t *bytes, size_t len)
{
	memcpy(buf, ELECT_MSG_DOMAIN, ELECT_DOMAIN_LEN);
	memcpy(buf + ELECT_DOMAIN_LEN, bytes, len);
	return ELECT_DOMAIN_LEN + len;
}

int
elect_msg_encode(const struct elect_msg *m, const uint8_t sk[ELECT_SK_LEN], uint8_t *out,
		 size_t size, size_t *len)
{
	struct elect__w w = { out, size, 0, false };
	uint8_t tbs[ELECT_DOMAIN_LEN + ELECT_MSG_MAX];
	size_t n;

	if (elect_msg_check_header(m) != ELECT_MSG_OK || m->nentries > ELECT_TAIL_MAX)
		return -EINVAL;
	if ((m->flags & ELECT_F_TRANSFER) && m->type <= ELECT_MSG_VOTE &&
	    (m->proof == NULL || m->proof_len != ELECT_PROOF_LEN))
		return -EINVAL;
	if (size > ELECT_MSG_MAX)
		w.size = ELECT_MSG_MAX;
	elect__put(&w, ELECT_MSG_VERSION, 1);
	elect__put(&w, m->type, 1);
	elect__put(&w, m->flags, 1);
	elect__put(&w, m->reason, 1);
	elect__put(&w, m->from, 8);
	elect__put(&w, m->from_sid, 8);
	elect__put(&w, m->to, 8);
	elect__put(&w, m->term, 8);
	elect_msg_put_body(&w, m);
	if (w.over || w.size - w.off < ELECT_SIG_LEN)
		return -EMSGSIZE;
	n = elect_msg_domain(tbs, out, w.off);
	crypto_sign_detached(out + w.off, NULL, tbs, n, sk);
	*len = w.off + ELECT_SIG_LEN;
	return 0;
}

enum elect_msg_err
elect_msg_decode(const uint8_t *buf, size_t len, struct elect_msg *m)
{
	struct elect__r r = { buf, 0, 0, false };
	enum elect_msg_err e;

	memset(m, 0, sizeof(*m));
	if (len < ELECT_MSG_HEADER + ELECT_SIG_LEN)
		return ELECT_MSG_TRUNCATED;
	if (len > ELECT_MSG_MAX)
		return ELECT_MSG_TRAILING;
	r.len = len - ELECT_SIG_LEN;
	if (elect__get(&r, 1) != ELECT_MSG_VERSION)
		return ELECT_MSG_BAD_VERSION;
	m->type = (uint8_t)elect__get(&r, 1);
	m->flags = (uint8_t)elect__get(&r, 1);
	m->reason = (uint8_t)elect__get(&r, 1);
	m->from = elect__get(&r, 8);
	m->from_sid = elect__get(&r, 8);
	m->to = elect__get(&r, 8);
	m->term = elect__get(&r, 8);
	if ((e = elect_msg_check_header(m)) != ELECT_MSG_OK)
		return e;
	e = elect_msg_get_body(&r, m);
	if (r.short_)
		return ELECT_MSG_TRUNCATED;
	if (e != ELECT_MSG_OK)
		return e;
	if (r.off != r.len)
		return ELECT_MSG_TRAILING;
	m->raw = buf;
	m->raw_len = r.len;
	m->sig = buf + r.len;
	return ELECT_MSG_OK;
}

bool
elect_msg_verify(const struct elect_msg *m, const uint8_t pk[ELECT_PK_LEN])
{
	uint8_t tbs[ELECT_DOMAIN_LEN + ELECT_MSG_MAX];
	size_t n;

	if (m->raw == NULL || m->raw_len > ELECT_MSG_MAX)
		return false;
	n = elect_msg_domain(tbs, m->raw, m->raw_len);
	return crypto_sign_verify_detached(m->sig, tbs, n, pk) == 0;
}
