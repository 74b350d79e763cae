/*
 * wire: sealing and checking the signed datagram envelope (include/wire.h,
 * docs/protocol.md).
 *
 * A sender signs [0, 44+L) with Ed25519 and then tags [0, 108+L) with a keyed
 * BLAKE2b. libsodium's crypto_generichash has a 16-byte minimum output, so the
 * tag is the first WIRE_TAG_LEN bytes of a 16-byte keyed BLAKE2b (BLAKE2b
 * mixes the output length into its parameter block, so this is not the same
 * function as an 8-byte BLAKE2b; docs/protocol.md says which one we use).
 *
 * The receiver runs its checks cheapest first and commits to the replay
 * window only once the signature holds. Replay comes before the budget: a
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

#define WIRE_OFF_MAGIC 0
#define WIRE_OFF_VERSION 4
#define WIRE_OFF_TYPE 5
#define WIRE_OFF_LEN 6
#define WIRE_OFF_CLUSTER 8
#define WIRE_OFF_KEY 16
#define WIRE_OFF_NODE 20
#define WIRE_OFF_INCARNATION 28
#define WIRE_OFF_SEQ 36
#define WIRE_TAG_FULL 16 /* crypto_generichash_BYTES_MIN */
#define WIRE_CLUSTER_PREFIX "mitosis cluster "

_Static_assert(WIRE_HEADER_LEN == WIRE_OFF_SEQ + 8, "header layout");
_Static_assert(WIRE_SIG_LEN == crypto_sign_BYTES, "signature size");
_Static_assert(WIRE_TAG_FULL == crypto_generichash_BYTES_MIN, "tag hash size");
_Static_assert(WIRE_TAG_LEN <= WIRE_TAG_FULL, "tag is a truncation");
_Static_assert(WIRE_MAX_PAYLOAD <= UINT16_MAX, "length field is 16 bits");
_Static_assert(WIRE_REPLAY_WINDOW == REPLAY_WINDOW, "one window size");

struct wire_receiver {
	uint64_t cluster_id;
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

/* The tag of buf[0, len) under tag_key: a truncated 16-byte keyed BLAKE2b. */
static void
wire_tag(uint8_t tag[WIRE_TAG_LEN], const uint8_t *buf, size_t len,
	 const uint8_t key[KEYRING_TAG_KEY_LEN])
{
	uint8_t full[WIRE_TAG_FULL];

	crypto_generichash(full, sizeof(full), buf, len, key, KEYRING_TAG_KEY_LEN);
	memcpy(tag, full, WIRE_TAG_LEN);
}

void
wire_sender_init(struct wire_sender *s, const struct keyring *kr, uint64_t cluster_id,
		 uint64_t node_id, uint64_t incarnation)
{
	s->kr = kr;
	s->cluster_id = cluster_id;
	s->node_id = node_id;
	s->incarnation = incarnation;
	s->next_seq = 1;
}

int
wire_encode(struct wire_sender *s, uint8_t type, const void *payload, size_t len, uint8_t *out,
	    size_t outsize, size_t *outlen)
{
	const struct keyring_key *k = keyring_primary(s->kr);
	size_t signed_len = WIRE_HEADER_LEN + len;

	if (len > WIRE_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (outsize < WIRE_OVERHEAD + len)
		return -ENOBUFS;
	if (k == NULL)
		return -EINVAL;
	/* The payload may already sit at out + WIRE_HEADER_LEN (sealing in place). */
	if (len > 0)
		memmove(out + WIRE_HEADER_LEN, payload, len);
	memcpy(out + WIRE_OFF_MAGIC, WIRE_MAGIC, 4);
	out[WIRE_OFF_VERSION] = WIRE_VERSION;
	out[WIRE_OFF_TYPE] = type;
	wire_put_be(out + WIRE_OFF_LEN, len, 2);
	wire_put_be(out + WIRE_OFF_CLUSTER, s->cluster_id, 8);
	wire_put_be(out + WIRE_OFF_KEY, k->id, 4);
	wire_put_be(out + WIRE_OFF_NODE, s->node_id, 8);
	wire_put_be(out + WIRE_OFF_INCARNATION, s->incarnation, 8);
	wire_put_be(out + WIRE_OFF_SEQ, s->next_seq++, 8);
	crypto_sign_detached(out + signed_len, NULL, out, signed_len, k->sign_sk);
	wire_tag(out + signed_len + WIRE_SIG_LEN, out, signed_len + WIRE_SIG_LEN, k->tag_key);
	*outlen = WIRE_OVERHEAD + len;
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
wire_receiver_new(uint64_t cluster_id, const struct keyring *kr,
		  const struct wire_receiver_limits *limits)
{
	struct wire_receiver_limits def;
	struct wire_receiver *r;

	wire_receiver_limits_default(&def);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->cluster_id = cluster_id;
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
 * Returns WIRE_ACCEPT when the envelope is well formed and *payload_len set.
 */
static enum wire_verdict
wire_check_shape(const uint8_t *buf, size_t len, size_t *payload_len)
{
	size_t l;

	if (len > WIRE_MAX_DATAGRAM)
		return WIRE_DROP_OVERSIZED;
	if (buf == NULL || len < WIRE_OVERHEAD)
		return WIRE_DROP_TRUNCATED;
	if (memcmp(buf + WIRE_OFF_MAGIC, WIRE_MAGIC, 4) != 0 || buf[WIRE_OFF_VERSION] != WIRE_VERSION)
		return WIRE_DROP_MALFORMED;
	l = (size_t)wire_get_be(buf + WIRE_OFF_LEN, 2);
	if (WIRE_OVERHEAD + l > len)
		return WIRE_DROP_TRUNCATED;
	if (WIRE_OVERHEAD + l != len)
		return WIRE_DROP_MALFORMED;
	*payload_len = l;
	return WIRE_ACCEPT;
}

static void
wire_fill_msg(struct wire_msg *msg, const uint8_t *buf, size_t l, uint32_t key_id)
{
	msg->type = buf[WIRE_OFF_TYPE];
	msg->key_id = key_id;
	msg->cluster_id = wire_get_be(buf + WIRE_OFF_CLUSTER, 8);
	msg->node_id = wire_get_be(buf + WIRE_OFF_NODE, 8);
	msg->incarnation = wire_get_be(buf + WIRE_OFF_INCARNATION, 8);
	msg->seq = wire_get_be(buf + WIRE_OFF_SEQ, 8);
	msg->payload = buf + WIRE_HEADER_LEN;
	msg->payload_len = l;
}

enum wire_verdict
wire_receive(struct wire_receiver *r, const uint8_t *buf, size_t len, const void *src,
	     size_t srclen, uint64_t now_ms, struct wire_msg *msg)
{
	const struct keyring_key *k;
	uint8_t tag[WIRE_TAG_LEN];
	uint64_t node, inc, seq;
	size_t l = 0, signed_len;
	enum wire_verdict v;

	if ((v = wire_check_shape(buf, len, &l)) != WIRE_ACCEPT)
		return wire_count(r, v, buf, len, buf != NULL && len >= WIRE_HEADER_LEN);
	signed_len = WIRE_HEADER_LEN + l;
	if (wire_get_be(buf + WIRE_OFF_CLUSTER, 8) != r->cluster_id)
		return wire_count(r, WIRE_DROP_WRONG_CLUSTER, buf, len, true);
	k = keyring_find(r->kr, (uint32_t)wire_get_be(buf + WIRE_OFF_KEY, 4));
	if (k == NULL)
		return wire_count(r, WIRE_DROP_UNKNOWN_KEY, buf, len, true);
	wire_tag(tag, buf, signed_len + WIRE_SIG_LEN, k->tag_key);
	if (sodium_memcmp(tag, buf + signed_len + WIRE_SIG_LEN, WIRE_TAG_LEN) != 0)
		return wire_count(r, WIRE_DROP_BAD_TAG, buf, len, true);
	node = wire_get_be(buf + WIRE_OFF_NODE, 8);
	inc = wire_get_be(buf + WIRE_OFF_INCARNATION, 8);
	seq = wire_get_be(buf + WIRE_OFF_SEQ, 8);
	if (!replay_check(r->replay, node, inc, seq))
		return wire_count(r, WIRE_DROP_REPLAY, buf, len, true);
	if (budget_take(r->budget, src, srclen, now_ms) != 0)
		return wire_count(r, WIRE_DROP_OVER_BUDGET, buf, len, true);
	if (crypto_sign_verify_detached(buf + signed_len, buf, signed_len, k->sign_pk) != 0)
		return wire_count(r, WIRE_DROP_BAD_SIGNATURE, buf, len, true);
	replay_commit(r->replay, node, inc, seq);
	if (msg != NULL)
		wire_fill_msg(msg, buf, l, k->id);
	return wire_count(r, WIRE_ACCEPT, buf, len, true);
}
