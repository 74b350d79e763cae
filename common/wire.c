/*
 * wire: sealing and checking the datagram envelope (include/wire.h,
 * docs/protocol.md).
 *
 * A sender optionally signs [0, 30+L) with Ed25519, then tags the receiver's
 * binding (its node id, or the address sent to) followed by everything
 * before the tag with a 16-byte keyed BLAKE2b, which is what authenticates
 * the datagram, and for whom.
 *
 * The receiver runs its checks cheapest first and commits to the replay
 * filter only once every check holds. Replay comes before the budget: a
 * replayed datagram is refused by a table lookup, so it must not spend the
 * budget of the address it claims (an attacker replaying captured traffic
 * from a spoofed address would otherwise starve the genuine sender).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "budget.h"
#include "log.h"
#include "replay.h"
#include "wire.h"

#define WIRE_OFF_MAGIC	    0
#define WIRE_OFF_VERSION    2
#define WIRE_OFF_TYPE	    3
#define WIRE_OFF_LEN	    4
#define WIRE_OFF_CLUSTER    6
#define WIRE_OFF_KEY	    10
#define WIRE_OFF_NODE	    14
#define WIRE_OFF_STAMP	    22
#define WIRE_CLUSTER_PREFIX "mitosis cluster "
#define WIRE_BIND_ID_LEN    8

_Static_assert(WIRE_HEADER_LEN == WIRE_OFF_STAMP + 8, "header layout");
_Static_assert(WIRE_SIG_LEN == crypto_sign_BYTES, "signature size");
_Static_assert(WIRE_TAG_LEN >= crypto_generichash_BYTES_MIN, "tag hash size");
_Static_assert(WIRE_MAX_PAYLOAD <= UINT16_MAX, "length field is 16 bits");

struct wire_receiver {
	uint64_t cluster_id;
	uint64_t self_id;
	uint8_t self_addr[WIRE_SELF_ADDRS][WIRE_ADDR_LEN];
	uint32_t nself_addr;
	const struct keyring *kr;
	struct wire_receiver_limits limits;
	struct replay *replay;
	struct budget *budget;
	uint64_t counts[WIRE_VERDICT_COUNT];
};

static const char *const wire_verdict_names[WIRE_VERDICT_COUNT] = {
	[WIRE_ACCEPT] = "accept",
	[WIRE_DROP_TRUNCATED] = "truncated",
	[WIRE_DROP_OVERSIZED] = "oversized",
	[WIRE_DROP_MALFORMED] = "malformed",
	[WIRE_DROP_WRONG_CLUSTER] = "wrong-cluster",
	[WIRE_DROP_UNKNOWN_KEY] = "unknown-key",
	[WIRE_DROP_BAD_TAG] = "bad-tag",
	[WIRE_DROP_OVER_BUDGET] = "over-budget",
	[WIRE_DROP_REPLAY] = "replay",
	[WIRE_DROP_BAD_SIGNATURE] = "bad-signature",
	[WIRE_DROP_STALE] = "stale",
	[WIRE_DROP_FUTURE] = "future",
};

const char *
wire_verdict_name(enum wire_verdict v)
{
	if ((unsigned)v < WIRE_VERDICT_COUNT)
		return wire_verdict_names[v];
	return "unknown";
}

static void
wire_put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
wire_get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

uint64_t
wire_cluster_id(const char *cluster_name)
{
	crypto_generichash_state st;
	uint8_t h[crypto_generichash_BYTES];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)WIRE_CLUSTER_PREFIX,
				  strlen(WIRE_CLUSTER_PREFIX));
	crypto_generichash_update(&st, (const uint8_t *)cluster_name, strlen(cluster_name));
	crypto_generichash_final(&st, h, sizeof(h));
	return wire_get_be(h, 8);
}

/* The binding bytes of an address: family, 16 address bytes, port. */
static void
wire_addr_bytes(const struct wire_addr *a, uint8_t out[WIRE_ADDR_LEN])
{
	memset(out, 0, WIRE_ADDR_LEN);
	out[0] = a->family;
	memcpy(out + 1, a->ip, a->family == 4 ? 4 : 16);
	out[17] = (uint8_t)(a->port >> 8);
	out[18] = (uint8_t)a->port;
}

/* The tag of bind[0, blen) || buf[0, len) under tag_key: a 16-byte keyed
 * BLAKE2b. The binding is hashed, never sent. */
static void
wire_tag(uint8_t tag[WIRE_TAG_LEN], const uint8_t *bind, size_t blen, const uint8_t *buf,
	 size_t len, const uint8_t key[KEYRING_TAG_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, KEYRING_TAG_KEY_LEN, WIRE_TAG_LEN);
	crypto_generichash_update(&st, bind, blen);
	crypto_generichash_update(&st, buf, len);
	crypto_generichash_final(&st, tag, WIRE_TAG_LEN);
}

/* The wire's 32-bit cluster field of a 64-bit cluster id. */
static uint32_t
wire_cluster_field(uint64_t cluster_id)
{
	return (uint32_t)(cluster_id >> 32);
}

void
wire_sender_init(struct wire_sender *s, const struct keyring *kr, uint64_t cluster_id,
		 uint64_t node_id)
{
	s->kr = kr;
	s->cluster_id = cluster_id;
	s->node_id = node_id;
	s->last_stamp = 0;
	s->sign = false;
}

/* The next stamp: the clock, or one past the last when the clock is behind
 * it (more than 4096 datagrams in a millisecond, or a clock set back). */
static uint64_t
wire_next_stamp(struct wire_sender *s, uint64_t wall_ms)
{
	uint64_t t = wall_ms << WIRE_STAMP_SHIFT;

	s->last_stamp = t > s->last_stamp ? t : s->last_stamp + 1;
	return s->last_stamp;
}

int
wire_encode(struct wire_sender *s, uint8_t type, const void *payload, size_t len, uint64_t to_id,
	    const struct wire_addr *to_addr, uint64_t wall_ms, uint8_t *out, size_t outsize,
	    size_t *outlen)
{
	const struct keyring_key *k = keyring_primary(s->kr);
	size_t body = WIRE_HEADER_LEN + len, total, blen;
	uint8_t bind[WIRE_ADDR_LEN];

	if (len > WIRE_MAX_PAYLOAD)
		return -EMSGSIZE;
	total = (s->sign ? WIRE_SIGNED_OVERHEAD : WIRE_OVERHEAD) + len;
	if (outsize < total)
		return -ENOBUFS;
	if (k == NULL || type == 0 || type > WIRE_TYPE_MAX || (to_id == 0 && to_addr == NULL))
		return -EINVAL;
	if (to_id != 0) {
		wire_put_be(bind, to_id, WIRE_BIND_ID_LEN);
		blen = WIRE_BIND_ID_LEN;
	} else {
		wire_addr_bytes(to_addr, bind);
		blen = WIRE_ADDR_LEN;
	}
	/* The payload may already sit at out + WIRE_HEADER_LEN (sealing in place). */
	if (len > 0)
		memmove(out + WIRE_HEADER_LEN, payload, len);
	memcpy(out + WIRE_OFF_MAGIC, WIRE_MAGIC, 2);
	out[WIRE_OFF_VERSION] = WIRE_VERSION;
	out[WIRE_OFF_TYPE] =
		(uint8_t)(type | (s->sign ? WIRE_SIGNED : 0) | (to_id == 0 ? WIRE_BIND_ADDR : 0));
	wire_put_be(out + WIRE_OFF_LEN, len, 2);
	wire_put_be(out + WIRE_OFF_CLUSTER, wire_cluster_field(s->cluster_id), 4);
	wire_put_be(out + WIRE_OFF_KEY, k->id, 4);
	wire_put_be(out + WIRE_OFF_NODE, s->node_id, 8);
	wire_put_be(out + WIRE_OFF_STAMP, wire_next_stamp(s, wall_ms), 8);
	if (s->sign) {
		crypto_sign_detached(out + body, NULL, out, body, k->sign_sk);
		body += WIRE_SIG_LEN;
	}
	wire_tag(out + body, bind, blen, out, body, k->tag_key);
	*outlen = total;
	return 0;
}

void
wire_receiver_limits_default(struct wire_receiver_limits *l)
{
	l->max_senders = 65536;
	l->budget_per_sec = 2000;
	l->budget_burst = 4000;
	l->budget_sources = 4096;
}

struct wire_receiver *
wire_receiver_new(uint64_t cluster_id, uint64_t self_id, const struct keyring *kr,
		  const struct wire_receiver_limits *limits)
{
	struct wire_receiver_limits def;
	struct wire_receiver *r;

	wire_receiver_limits_default(&def);
	if (self_id == 0 || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->cluster_id = cluster_id;
	r->self_id = self_id;
	r->kr = kr;
	r->limits = limits != NULL ? *limits : def;
	/* A zero limit means "the default", never "nothing allowed". */
	if (r->limits.max_senders == 0)
		r->limits.max_senders = def.max_senders;
	if (r->limits.budget_per_sec == 0)
		r->limits.budget_per_sec = def.budget_per_sec;
	if (r->limits.budget_burst == 0)
		r->limits.budget_burst = def.budget_burst;
	if (r->limits.budget_sources == 0)
		r->limits.budget_sources = def.budget_sources;
	r->replay = replay_new(r->limits.max_senders);
	r->budget = budget_new(r->limits.budget_sources, r->limits.budget_per_sec,
			       r->limits.budget_burst);
	if (r->replay == NULL || r->budget == NULL) {
		wire_receiver_free(r);
		return NULL;
	}
	return r;
}

void
wire_receiver_free(struct wire_receiver *r)
{
	if (r == NULL)
		return;
	replay_free(r->replay);
	budget_free(r->budget);
	free(r);
}

void
wire_receiver_set_keyring(struct wire_receiver *r, const struct keyring *kr)
{
	r->kr = kr;
}

int
wire_receiver_add_address(struct wire_receiver *r, const struct wire_addr *a)
{
	uint8_t b[WIRE_ADDR_LEN];

	wire_addr_bytes(a, b);
	for (uint32_t i = 0; i < r->nself_addr; i++)
		if (memcmp(r->self_addr[i], b, sizeof(b)) == 0)
			return -EEXIST;
	if (r->nself_addr == WIRE_SELF_ADDRS)
		return -ENOSPC;
	memcpy(r->self_addr[r->nself_addr++], b, sizeof(b));
	return 0;
}

uint64_t
wire_receiver_count(const struct wire_receiver *r, enum wire_verdict v)
{
	if ((unsigned)v >= WIRE_VERDICT_COUNT)
		return 0;
	return r->counts[v];
}

/* Counts and traces one verdict; `header` says whether buf holds a whole
 * header to take the sender's node id from. */
static enum wire_verdict
wire_count(struct wire_receiver *r, enum wire_verdict v, const uint8_t *buf, size_t len,
	   bool header)
{
	r->counts[v]++;
	if (v == WIRE_ACCEPT || !log_trace_enabled(TRACE_WIRE))
		return v;
	if (!header)
		log_trace(TRACE_WIRE, "wire: drop %s: %zu bytes", wire_verdict_name(v), len);
	else
		log_trace(TRACE_WIRE, "wire: drop %s: %zu bytes from node %llu",
			  wire_verdict_name(v), len,
			  (unsigned long long)wire_get_be(buf + WIRE_OFF_NODE, 8));
	return v;
}

/*
 * The checks that need no key: size, magic and version, length field.
 * Returns WIRE_ACCEPT when the envelope is well formed, with *payload_len
 * and *sig (a signature follows the payload) set.
 */
static enum wire_verdict
wire_check_shape(const uint8_t *buf, size_t len, size_t *payload_len, bool *sig)
{
	size_t l, overhead;

	if (len > WIRE_MAX_DATAGRAM)
		return WIRE_DROP_OVERSIZED;
	if (buf == NULL || len < WIRE_OVERHEAD)
		return WIRE_DROP_TRUNCATED;
	if (memcmp(buf + WIRE_OFF_MAGIC, WIRE_MAGIC, 2) != 0 ||
	    buf[WIRE_OFF_VERSION] != WIRE_VERSION || (buf[WIRE_OFF_TYPE] & WIRE_TYPE_MAX) == 0)
		return WIRE_DROP_MALFORMED;
	*sig = (buf[WIRE_OFF_TYPE] & WIRE_SIGNED) != 0;
	overhead = *sig ? WIRE_SIGNED_OVERHEAD : WIRE_OVERHEAD;
	l = (size_t)wire_get_be(buf + WIRE_OFF_LEN, 2);
	if (overhead + l > len)
		return WIRE_DROP_TRUNCATED;
	if (overhead + l != len)
		return WIRE_DROP_MALFORMED;
	*payload_len = l;
	return WIRE_ACCEPT;
}

static void
wire_fill_msg(struct wire_msg *msg, const uint8_t *buf, size_t l, bool sig, uint32_t key_id)
{
	msg->type = buf[WIRE_OFF_TYPE] & WIRE_TYPE_MAX;
	msg->sig = sig;
	msg->bound_addr = (buf[WIRE_OFF_TYPE] & WIRE_BIND_ADDR) != 0;
	msg->key_id = key_id;
	msg->cluster_id = (uint32_t)wire_get_be(buf + WIRE_OFF_CLUSTER, 4);
	msg->node_id = wire_get_be(buf + WIRE_OFF_NODE, 8);
	msg->stamp = wire_get_be(buf + WIRE_OFF_STAMP, 8);
	msg->payload = buf + WIRE_HEADER_LEN;
	msg->payload_len = l;
}

/*
 * The tag, for us: under our node id, or (address-bound) under any of our
 * addresses. True when it matches.
 */
static bool
wire_tag_ok(const struct wire_receiver *r, const uint8_t *buf, size_t len,
	    const struct keyring_key *k)
{
	uint8_t tag[WIRE_TAG_LEN], bind[WIRE_BIND_ID_LEN];

	if (buf[WIRE_OFF_TYPE] & WIRE_BIND_ADDR) {
		for (uint32_t i = 0; i < r->nself_addr; i++) {
			wire_tag(tag, r->self_addr[i], WIRE_ADDR_LEN, buf, len - WIRE_TAG_LEN,
				 k->tag_key);
			if (sodium_memcmp(tag, buf + len - WIRE_TAG_LEN, WIRE_TAG_LEN) == 0)
				return true;
		}
		return false;
	}
	wire_put_be(bind, r->self_id, WIRE_BIND_ID_LEN);
	wire_tag(tag, bind, sizeof(bind), buf, len - WIRE_TAG_LEN, k->tag_key);
	return sodium_memcmp(tag, buf + len - WIRE_TAG_LEN, WIRE_TAG_LEN) == 0;
}

/* The stamp within WIRE_MAX_SKEW_MS of our clock, either way. */
static enum wire_verdict
wire_check_clock(uint64_t stamp, uint64_t wall_ms)
{
	uint64_t ms = stamp >> WIRE_STAMP_SHIFT;

	if (ms > wall_ms && ms - wall_ms > WIRE_MAX_SKEW_MS)
		return WIRE_DROP_FUTURE;
	if (ms < wall_ms && wall_ms - ms > WIRE_MAX_SKEW_MS)
		return WIRE_DROP_STALE;
	return WIRE_ACCEPT;
}

enum wire_verdict
wire_receive(struct wire_receiver *r, const uint8_t *buf, size_t len, const void *src,
	     size_t srclen, uint64_t now_ms, uint64_t wall_ms, struct wire_msg *msg)
{
	const struct keyring_key *k;
	uint64_t node, stamp;
	size_t l = 0, body;
	enum wire_verdict v;
	bool sig = false;

	if ((v = wire_check_shape(buf, len, &l, &sig)) != WIRE_ACCEPT)
		return wire_count(r, v, buf, len, buf != NULL && len >= WIRE_HEADER_LEN);
	body = WIRE_HEADER_LEN + l;
	if (wire_get_be(buf + WIRE_OFF_CLUSTER, 4) != wire_cluster_field(r->cluster_id))
		return wire_count(r, WIRE_DROP_WRONG_CLUSTER, buf, len, true);
	k = keyring_find(r->kr, (uint32_t)wire_get_be(buf + WIRE_OFF_KEY, 4));
	if (k == NULL)
		return wire_count(r, WIRE_DROP_UNKNOWN_KEY, buf, len, true);
	if (!wire_tag_ok(r, buf, len, k))
		return wire_count(r, WIRE_DROP_BAD_TAG, buf, len, true);
	node = wire_get_be(buf + WIRE_OFF_NODE, 8);
	stamp = wire_get_be(buf + WIRE_OFF_STAMP, 8);
	if ((v = wire_check_clock(stamp, wall_ms)) != WIRE_ACCEPT)
		return wire_count(r, v, buf, len, true);
	if (!replay_check(r->replay, node, stamp))
		return wire_count(r, WIRE_DROP_REPLAY, buf, len, true);
	if (sig && budget_take(r->budget, src, srclen, now_ms) != 0)
		return wire_count(r, WIRE_DROP_OVER_BUDGET, buf, len, true);
	if (sig && crypto_sign_verify_detached(buf + body, buf, body, k->sign_pk) != 0)
		return wire_count(r, WIRE_DROP_BAD_SIGNATURE, buf, len, true);
	replay_commit(r->replay, node, stamp);
	if (msg != NULL)
		wire_fill_msg(msg, buf, l, sig, k->id);
	return wire_count(r, WIRE_ACCEPT, buf, len, true);
}
