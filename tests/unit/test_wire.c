/*
 * Unit tests for common/wire.c: known-answer datagrams, unsigned and signed
 * (computed with an independent implementation: Python's hashlib BLAKE2b and
 * a pure-Python RFC 8032 Ed25519), round trips, one crafted datagram per
 * verdict, replay filters, the destination binding and clock bound through the envelope, budgets,
 * key rotation, and the rule that a bad signature never moves a replay window. Most tests use
 * signed datagrams (w_seal), which run every check.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "log.h"
#include "replay.h"
#include "wire.h"

#define SECRET0	     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SECRET1	     "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define SECRET2	     "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="
#define ID0	     0x1c9ed76aU
#define ID1	     0x40396eafU
#define CLUSTER_TEST UINT64_C(0x3f71fa3219b9ff99)

#define W_SELF UINT64_C(43)
#define W_T0   UINT64_C(1700000000000) /* the wall clock of these tests, ms */

static const uint8_t SRC[6] = { 127, 0, 0, 1, 0x1e, 0xd2 };
/* The address node W_SELF is reached at: 10.0.0.7:7950. */
static const struct wire_addr W_ADDR = { 4, { 10, 0, 0, 7 }, 7950 };

static const struct {
	const char *id;
	const char *secret;
} w_keys[] = { { "1c9ed76a", SECRET0 }, { "40396eaf", SECRET1 }, { "203b5a1f", SECRET2 } };

/* A keyring with key `primary` and, when accept >= 0, key `accept`. */
static struct keyring *
w_ring(int primary, int accept)
{
	char text[256], err[256] = "";
	struct keyring *kr = NULL;

	ASSERT(sodium_init() >= 0);
	snprintf(text, sizeof(text), "primary %s %s\n", w_keys[primary].id, w_keys[primary].secret);
	if (accept >= 0)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "accept %s %s\n",
			 w_keys[accept].id, w_keys[accept].secret);
	ASSERT_OK(keyring_parse(text, strlen(text), "test", &kr, err, sizeof(err)));
	return kr;
}

/* Receiver node `self` (reached at W_ADDR) with the given budget (0: default). */
static struct wire_receiver *
w_receiver_as(const struct keyring *kr, uint64_t self, uint32_t per_sec, uint32_t burst)
{
	struct wire_receiver_limits l;
	struct wire_receiver *r;

	wire_receiver_limits_default(&l);
	if (per_sec != 0) {
		l.budget_per_sec = per_sec;
		l.budget_burst = burst;
	}
	r = wire_receiver_new(CLUSTER_TEST, self, kr, &l);
	ASSERT_NOT_NULL(r);
	ASSERT_OK(wire_receiver_add_address(r, &W_ADDR));
	return r;
}

static struct wire_receiver *
w_receiver(const struct keyring *kr, uint32_t per_sec, uint32_t burst)
{
	return w_receiver_as(kr, W_SELF, per_sec, burst);
}

/* Seals a signed datagram for W_SELF at W_T0 with an 8-byte payload; returns its length. */
static size_t
w_seal(struct wire_sender *s, uint8_t *out)
{
	uint8_t payload[8];
	size_t len = 0;

	s->sign = true;
	memcpy(payload, &s->last_stamp, sizeof(payload));
	ASSERT_OK(wire_encode(s, 2, payload, sizeof(payload), W_SELF, NULL, W_T0, out,
			      WIRE_MAX_DATAGRAM, &len));
	ASSERT_EQ(len, WIRE_SIGNED_OVERHEAD + sizeof(payload));
	return len;
}

/* Recomputes the tag of a datagram for W_SELF of len bytes, as a key holder could. */
static void
w_retag(uint8_t *buf, size_t len, const struct keyring_key *k)
{
	crypto_generichash_state st;
	uint8_t bind[8];

	for (int i = 0; i < 8; i++)
		bind[i] = (uint8_t)(W_SELF >> (56 - 8 * i));
	ASSERT_OK(crypto_generichash_init(&st, k->tag_key, sizeof(k->tag_key), WIRE_TAG_LEN));
	crypto_generichash_update(&st, bind, sizeof(bind));
	crypto_generichash_update(&st, buf, len - WIRE_TAG_LEN);
	crypto_generichash_final(&st, buf + len - WIRE_TAG_LEN, WIRE_TAG_LEN);
}

static void
w_put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static enum wire_verdict
w_recv(struct wire_receiver *r, const uint8_t *buf, size_t len, struct wire_msg *msg)
{
	return wire_receive(r, buf, len, SRC, sizeof(SRC), 1000, W_T0, msg);
}

TEST(wire_known_answer)
{
	/* Cluster "test", key 1c9ed76a, node 42, stamp 1700000000000 << 12,
	 * type 3, payload "hello": unsigned for node 43 (51 bytes), signed
	 * for node 43 (115), and unsigned for 10.0.0.7:7950 (a first contact).
	 * From tests/tools/kat.py (hashlib BLAKE2b, RFC 8032 Ed25519). */
	static const char *const hex[3] = {
		"6d69030300053f71fa321c9ed76a000000000000002a0018bcfe5680000068656c6c6f3b3ff58e4fc0"
		"44cb6b4d38005337c518",
		"6d69038300053f71fa321c9ed76a000000000000002a0018bcfe5680000068656c6c6f9da666674b7e"
		"effd8262f85e172ae0fc907fb04458f5e269d79016c9661a9ed598660f9bc1d4f99db35953e0d2f9cf"
		"35313e6ddddb0dcb147cb8bff0f684120362b605e2b8016e331e1908f945dab379",
		"6d69034300053f71fa321c9ed76a000000000000002a0018bcfe5680000068656c6c6f9c42b75afc93"
		"7e238f003267d4a21653",
	};
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	struct wire_sender s;
	struct wire_msg msg;
	uint8_t out[256], expect[128];
	size_t len = 0, binlen = 0;

	ASSERT_U64_EQ(wire_cluster_id("test"), CLUSTER_TEST);
	ASSERT_U64_EQ(wire_cluster_id("prod"), UINT64_C(0xeeb5b899780acd0f));
	for (int i = 0; i < 3; i++) {
		ASSERT_OK(sodium_hex2bin(expect, sizeof(expect), hex[i], strlen(hex[i]), NULL,
					 &binlen, NULL));
		ASSERT_EQ(binlen, i == 1 ? 115 : 51);
		wire_sender_init(&s, kr, CLUSTER_TEST, 42);
		ASSERT(!s.sign);
		s.sign = i == 1;
		ASSERT_OK(wire_encode(&s, 3, "hello", 5, i == 2 ? 0 : W_SELF,
				      i == 2 ? &W_ADDR : NULL, W_T0, out, sizeof(out), &len));
		ASSERT_EQ(len, binlen);
		ASSERT_MEM_EQ(out, expect, binlen);
		ASSERT_U64_EQ(s.last_stamp, W_T0 << WIRE_STAMP_SHIFT);
		if (i > 0)
			continue; /* one stamp: the receiver takes the first only */
		ASSERT_EQ(w_recv(r, out, len, &msg), WIRE_ACCEPT);
		ASSERT(!msg.bound_addr);
	}
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_round_trip_sizes)
{
	static const size_t sizes[] = { 0, 1, 200, WIRE_MAX_PAYLOAD - 1, WIRE_MAX_PAYLOAD };
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	uint8_t payload[WIRE_MAX_PAYLOAD + 1], out[WIRE_MAX_DATAGRAM + 16];
	struct wire_sender s;
	uint64_t seq = 0;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	wire_sender_init(&s, kr, CLUSTER_TEST, 0xfedcba9876543210ULL);
	for (int sign = 0; sign < 2; sign++) {
		s.sign = sign;
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct wire_msg msg;
			size_t len = 0;

			memset(&msg, 0xaa, sizeof(msg));
			ASSERT_OK(wire_encode(&s, (uint8_t)(10 + i), payload, sizes[i], W_SELF,
					      NULL, W_T0, out, sizeof(out), &len));
			ASSERT_EQ(len, (sign ? WIRE_SIGNED_OVERHEAD : WIRE_OVERHEAD) + sizes[i]);
			ASSERT(len <= WIRE_MAX_DATAGRAM);
			ASSERT_EQ(w_recv(r, out, len, &msg), WIRE_ACCEPT);
			ASSERT_EQ(msg.type, 10 + i);
			ASSERT_EQ(msg.sig, sign);
			ASSERT_U64_EQ(msg.key_id, ID0);
			ASSERT_U64_EQ(msg.cluster_id, CLUSTER_TEST >> 32);
			ASSERT_U64_EQ(msg.node_id, 0xfedcba9876543210ULL);
			ASSERT_U64_EQ(msg.stamp, (W_T0 << WIRE_STAMP_SHIFT) + seq++);
			ASSERT(msg.payload == out + WIRE_HEADER_LEN);
			ASSERT_EQ(msg.payload_len, sizes[i]);
			ASSERT_MEM_EQ(msg.payload, payload, sizes[i]);
		}
	}
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_ACCEPT), 10);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_encode_errors)
{
	struct keyring *kr = w_ring(0, -1);
	uint8_t payload[WIRE_MAX_PAYLOAD + 1] = { 0 }, out[WIRE_MAX_DATAGRAM + 16];
	struct wire_sender s;
	size_t len = 12345;

	wire_sender_init(&s, kr, CLUSTER_TEST, 1);
	ASSERT_EQ(wire_encode(&s, 1, payload, WIRE_MAX_PAYLOAD + 1, W_SELF, NULL, W_T0, out,
			      sizeof(out), &len),
		  -EMSGSIZE);
	ASSERT_EQ(wire_encode(&s, 1, payload, 10, W_SELF, NULL, W_T0, out, WIRE_OVERHEAD + 9, &len),
		  -ENOBUFS);
	ASSERT_EQ(wire_encode(&s, 1, payload, 0, W_SELF, NULL, W_T0, out, WIRE_OVERHEAD - 1, &len),
		  -ENOBUFS);
	ASSERT_EQ(wire_encode(&s, 0, payload, 0, W_SELF, NULL, W_T0, out, sizeof(out), &len),
		  -EINVAL);
	ASSERT_EQ(wire_encode(&s, WIRE_SIGNED | 1, payload, 0, W_SELF, NULL, W_T0, out, sizeof(out),
			      &len),
		  -EINVAL);
	s.sign = true;
	ASSERT_EQ(wire_encode(&s, 1, payload, 10, W_SELF, NULL, W_T0, out, WIRE_SIGNED_OVERHEAD + 9,
			      &len),
		  -ENOBUFS);
	ASSERT_EQ(len, 12345);
	ASSERT_U64_EQ(s.last_stamp, 0); /* failures use no stamp */
	ASSERT_EQ(wire_encode(&s, 1, payload, 10, 0, NULL, W_T0, out, sizeof(out), &len), -EINVAL);
	ASSERT_EQ(wire_encode(&s, 64, payload, 10, W_SELF, NULL, W_T0, out, sizeof(out), &len),
		  -EINVAL);
	ASSERT_OK(wire_encode(&s, 1, payload, 10, W_SELF, NULL, W_T0, out,
			      WIRE_SIGNED_OVERHEAD + 10, &len));
	ASSERT_EQ(len, WIRE_SIGNED_OVERHEAD + 10);
	s.sign = false;
	ASSERT_OK(
		wire_encode(&s, 1, payload, 10, W_SELF, NULL, W_T0, out, WIRE_OVERHEAD + 10, &len));
	ASSERT_EQ(len, WIRE_OVERHEAD + 10);
	/* A clock that goes back does not make stamps go back. */
	ASSERT_OK(
		wire_encode(&s, 1, payload, 10, W_SELF, NULL, W_T0 - 5000, out, sizeof(out), &len));
	ASSERT_U64_EQ(s.last_stamp, (W_T0 << WIRE_STAMP_SHIFT) + 2);
	keyring_free(kr);
}

TEST(wire_unsigned_checks)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 1, 1);
	uint8_t good[WIRE_MAX_DATAGRAM], buf[WIRE_MAX_DATAGRAM];
	struct wire_sender s;
	struct wire_msg msg;
	size_t glen = 0;

	wire_sender_init(&s, kr, CLUSTER_TEST, 42);
	ASSERT_OK(wire_encode(&s, 1, "12345678", 8, W_SELF, NULL, W_T0, good, sizeof(good), &glen));
	ASSERT_EQ(glen, WIRE_OVERHEAD + 8);
	/* Any flipped bit past the cluster and key fields fails the tag. */
	for (size_t i = 14; i < glen; i++) {
		memcpy(buf, good, glen);
		buf[i] ^= 0x04;
		ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_BAD_TAG);
	}
	/* Claiming a signature that is not there: the lengths no longer add up. */
	memcpy(buf, good, glen);
	buf[3] |= WIRE_SIGNED;
	ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_TRUNCATED);
	/* Unsigned datagrams spend no budget (1 a second here). */
	for (int i = 0; i < 5; i++) {
		ASSERT_OK(wire_encode(&s, 1, "12345678", 8, W_SELF, NULL, W_T0, buf, sizeof(buf),
				      &glen));
		ASSERT_EQ(w_recv(r, buf, glen, &msg), WIRE_ACCEPT);
		ASSERT(!msg.sig);
	}
	ASSERT_EQ(w_recv(r, good, WIRE_OVERHEAD + 8, NULL), WIRE_ACCEPT);
	ASSERT_EQ(w_recv(r, good, WIRE_OVERHEAD + 8, NULL), WIRE_DROP_REPLAY);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_DROP_OVER_BUDGET), 0);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_encode_in_place)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	uint8_t out[WIRE_OVERHEAD + 32];
	struct wire_sender s;
	struct wire_msg msg;
	size_t len = 0;

	memcpy(out + WIRE_HEADER_LEN, "payload written where it belongs", 32);
	wire_sender_init(&s, kr, CLUSTER_TEST, 5);
	ASSERT_OK(wire_encode(&s, 1, out + WIRE_HEADER_LEN, 32, W_SELF, NULL, W_T0, out,
			      sizeof(out), &len));
	ASSERT_EQ(w_recv(r, out, len, &msg), WIRE_ACCEPT);
	ASSERT_MEM_EQ(msg.payload, "payload written where it belongs", 32);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_verdict_names)
{
	ASSERT_STR_EQ(wire_verdict_name(WIRE_ACCEPT), "accept");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_DROP_TRUNCATED), "truncated");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_DROP_OVERSIZED), "oversized");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_DROP_MALFORMED), "malformed");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_DROP_WRONG_CLUSTER), "wrong-cluster");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_DROP_UNKNOWN_KEY), "unknown-key");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_DROP_BAD_TAG), "bad-tag");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_DROP_OVER_BUDGET), "over-budget");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_DROP_REPLAY), "replay");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_DROP_BAD_SIGNATURE), "bad-signature");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_DROP_STALE), "stale");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_DROP_FUTURE), "future");
	ASSERT_STR_EQ(wire_verdict_name(WIRE_VERDICT_COUNT), "unknown");
	ASSERT_STR_EQ(wire_verdict_name((enum wire_verdict) - 1), "unknown");
}

/* Asserts every counter: want[v] datagrams with verdict v. */
static void
w_assert_counts(const struct wire_receiver *r, const uint64_t want[WIRE_VERDICT_COUNT])
{
	for (int v = 0; v < WIRE_VERDICT_COUNT; v++) {
		if (wire_receiver_count(r, (enum wire_verdict)v) != want[v])
			harness_fail(
				__FILE__, __LINE__, "count of %s: %llu, want %llu",
				wire_verdict_name((enum wire_verdict)v),
				(unsigned long long)wire_receiver_count(r, (enum wire_verdict)v),
				(unsigned long long)want[v]);
	}
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_VERDICT_COUNT), 0);
}

TEST(wire_every_verdict_counted)
{
	struct keyring *kr = w_ring(0, -1), *other = w_ring(1, -1);
	struct wire_receiver *r = w_receiver(kr, 1, 1);
	uint8_t good[WIRE_MAX_DATAGRAM + 1], buf[WIRE_MAX_DATAGRAM + 1];
	uint64_t want[WIRE_VERDICT_COUNT] = { 0 };
	struct wire_sender s, s_other, s_wrong;
	size_t glen, len;

	wire_sender_init(&s, kr, CLUSTER_TEST, 42);
	wire_sender_init(&s_other, other, CLUSTER_TEST, 43);
	wire_sender_init(&s_wrong, kr, wire_cluster_id("prod"), 44);
	glen = w_seal(&s, good);

	ASSERT_EQ(w_recv(r, good, glen - 1, NULL), WIRE_DROP_TRUNCATED);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(w_recv(r, buf, WIRE_MAX_DATAGRAM + 1, NULL), WIRE_DROP_OVERSIZED);
	memcpy(buf, good, glen);
	buf[0] = 'M';
	ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_MALFORMED);
	len = w_seal(&s_wrong, buf);
	ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_DROP_WRONG_CLUSTER);
	len = w_seal(&s_other, buf);
	ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_DROP_UNKNOWN_KEY);
	memcpy(buf, good, glen);
	buf[WIRE_HEADER_LEN] ^= 1;
	ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_BAD_TAG);
	w_retag(buf, glen, keyring_primary(kr));
	ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_BAD_SIGNATURE);
	ASSERT_EQ(w_recv(r, good, glen, NULL), WIRE_DROP_OVER_BUDGET);
	ASSERT_EQ(wire_receive(r, good, glen, SRC, 4, 1000, W_T0 + WIRE_MAX_SKEW_MS + 1, NULL),
		  WIRE_DROP_STALE);
	ASSERT_EQ(wire_receive(r, good, glen, SRC, 4, 1000, W_T0 - WIRE_MAX_SKEW_MS - 1, NULL),
		  WIRE_DROP_FUTURE);
	ASSERT_EQ(wire_receive(r, good, glen, SRC, 4, 1000, W_T0, NULL), WIRE_ACCEPT);
	ASSERT_EQ(wire_receive(r, good, glen, SRC, 4, 1000, W_T0, NULL), WIRE_DROP_REPLAY);
	for (int v = 0; v < WIRE_VERDICT_COUNT; v++)
		want[v] = 1;
	w_assert_counts(r, want);
	wire_receiver_free(r);
	keyring_free(kr);
	keyring_free(other);
}

TEST(wire_truncated_lengths)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	static const size_t cuts[] = { 0, 1, 4, 5, 43, 44, 100, WIRE_OVERHEAD - 1 };
	uint8_t good[WIRE_MAX_DATAGRAM];
	struct wire_sender s;
	size_t glen;

	wire_sender_init(&s, kr, CLUSTER_TEST, 42);
	glen = w_seal(&s, good);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		ASSERT_EQ(w_recv(r, good, cuts[i], NULL), WIRE_DROP_TRUNCATED);
	/* Long enough for an envelope, but the length field says 8 payload bytes. */
	for (size_t cut = WIRE_OVERHEAD; cut < glen; cut++)
		ASSERT_EQ(w_recv(r, good, cut, NULL), WIRE_DROP_TRUNCATED);
	ASSERT_EQ(wire_receive(r, NULL, 0, SRC, sizeof(SRC), 0, W_T0, NULL), WIRE_DROP_TRUNCATED);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_DROP_TRUNCATED),
		      sizeof(cuts) / sizeof(cuts[0]) + (glen - WIRE_OVERHEAD) + 1);
	ASSERT_EQ(w_recv(r, good, glen, NULL), WIRE_ACCEPT);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_oversized_malformed)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	uint8_t good[WIRE_MAX_DATAGRAM], buf[2 * WIRE_MAX_DATAGRAM];
	struct wire_sender s;
	size_t glen;

	wire_sender_init(&s, kr, CLUSTER_TEST, 42);
	glen = w_seal(&s, good);
	/* A genuine datagram followed by junk up to past the limit: size first. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, good, glen);
	ASSERT_EQ(w_recv(r, buf, WIRE_MAX_DATAGRAM + 1, NULL), WIRE_DROP_OVERSIZED);
	ASSERT_EQ(w_recv(r, buf, sizeof(buf), NULL), WIRE_DROP_OVERSIZED);
	/* Trailing bytes after the tag. */
	ASSERT_EQ(w_recv(r, buf, glen + 1, NULL), WIRE_DROP_MALFORMED);
	ASSERT_EQ(w_recv(r, buf, WIRE_MAX_DATAGRAM, NULL), WIRE_DROP_MALFORMED);
	/* Bad magic, each byte. */
	for (int i = 0; i < 2; i++) {
		memcpy(buf, good, glen);
		buf[i] ^= 0x20;
		ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_MALFORMED);
	}
	/* Versions 0, 1 (the old "mito" envelope), 2 (before node keys) and
	 * 255; type 0. */
	memcpy(buf, good, glen);
	buf[2] = 2;
	ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_MALFORMED);
	buf[2] = 0;
	ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_MALFORMED);
	buf[2] = 1;
	ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_MALFORMED);
	buf[2] = 255;
	ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_MALFORMED);
	memcpy(buf, good, glen);
	buf[3] = WIRE_SIGNED;
	ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_MALFORMED);
	/* A short datagram with bad magic is truncated (size comes first). */
	ASSERT_EQ(w_recv(r, buf, 10, NULL), WIRE_DROP_TRUNCATED);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_DROP_OVERSIZED), 2);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_DROP_MALFORMED), 9);
	ASSERT_EQ(w_recv(r, good, glen, NULL), WIRE_ACCEPT);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_wrong_cluster_unknown_key)
{
	struct keyring *kr = w_ring(0, -1), *other = w_ring(1, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	uint8_t buf[WIRE_MAX_DATAGRAM];
	struct wire_sender s;
	size_t len;

	wire_sender_init(&s, kr, CLUSTER_TEST + (UINT64_C(1) << 32), 42);
	len = w_seal(&s, buf);
	ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_DROP_WRONG_CLUSTER);
	/* The cluster id is covered by the tag and the signature, too. */
	w_put_be(buf + 6, CLUSTER_TEST >> 32, 4);
	ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_DROP_BAD_TAG);
	wire_sender_init(&s, other, CLUSTER_TEST, 42);
	len = w_seal(&s, buf);
	ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_DROP_UNKNOWN_KEY);
	/* Claiming our key id does not help without our tag key. */
	w_put_be(buf + 10, ID0, 4);
	ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_DROP_BAD_TAG);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_DROP_WRONG_CLUSTER), 1);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_DROP_UNKNOWN_KEY), 1);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_DROP_BAD_TAG), 2);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_ACCEPT), 0);
	wire_receiver_free(r);
	keyring_free(kr);
	keyring_free(other);
}

TEST(wire_tamper_every_byte)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	uint8_t good[WIRE_MAX_DATAGRAM], buf[WIRE_MAX_DATAGRAM];
	const struct keyring_key *k = keyring_primary(kr);
	struct wire_sender s;
	size_t glen;

	wire_sender_init(&s, kr, CLUSTER_TEST, 42);
	glen = w_seal(&s, good);
	/* Past the fields checked before the tag, any flipped bit fails the
	 * tag; with the tag recomputed, it fails the signature instead (or,
	 * in the stamp's high bytes, the clock bound, which comes first). */
	for (size_t i = 14; i < glen; i++) {
		enum wire_verdict v;

		memcpy(buf, good, glen);
		buf[i] ^= 0x80;
		ASSERT_EQ(w_recv(r, buf, glen, NULL), WIRE_DROP_BAD_TAG);
		if (i >= glen - WIRE_TAG_LEN)
			continue;
		w_retag(buf, glen, k);
		v = w_recv(r, buf, glen, NULL);
		if (i >= 22 && i < 27)
			ASSERT(v == WIRE_DROP_FUTURE || v == WIRE_DROP_STALE);
		else
			ASSERT_EQ(v, WIRE_DROP_BAD_SIGNATURE);
	}
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_DROP_BAD_SIGNATURE),
		      glen - 14 - WIRE_TAG_LEN - 5);
	ASSERT_EQ(w_recv(r, good, glen, NULL), WIRE_ACCEPT);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_replay_and_reorder)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	static uint8_t d[20][WIRE_MAX_DATAGRAM];
	size_t len[20];
	struct wire_sender s;

	wire_sender_init(&s, kr, CLUSTER_TEST, 42);
	for (int i = 1; i < 20; i++)
		len[i] = w_seal(&s, d[i]);
	ASSERT_EQ(w_recv(r, d[1], len[1], NULL), WIRE_ACCEPT);
	ASSERT_EQ(w_recv(r, d[1], len[1], NULL), WIRE_DROP_REPLAY);
	/* 10 before 5 before 3: reordered, each taken once. */
	ASSERT_EQ(w_recv(r, d[10], len[10], NULL), WIRE_ACCEPT);
	ASSERT_EQ(w_recv(r, d[5], len[5], NULL), WIRE_ACCEPT);
	ASSERT_EQ(w_recv(r, d[3], len[3], NULL), WIRE_ACCEPT);
	ASSERT_EQ(w_recv(r, d[5], len[5], NULL), WIRE_DROP_REPLAY);
	ASSERT_EQ(w_recv(r, d[10], len[10], NULL), WIRE_DROP_REPLAY);
	/* 19 down to 15: the filter now holds 8 stamps, the lowest d[3]... */
	for (int i = 19; i >= 15; i--)
		ASSERT_EQ(w_recv(r, d[i], len[i], NULL), WIRE_ACCEPT);
	/* ...so d[2], below it, is old; d[4] above it is still taken once. */
	ASSERT_EQ(w_recv(r, d[2], len[2], NULL), WIRE_DROP_REPLAY);
	ASSERT_EQ(w_recv(r, d[4], len[4], NULL), WIRE_ACCEPT);
	ASSERT_EQ(w_recv(r, d[4], len[4], NULL), WIRE_DROP_REPLAY);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_ACCEPT), 10);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_DROP_REPLAY), 5);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_restart_moves_on)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	uint8_t a[2][WIRE_MAX_DATAGRAM], b[WIRE_MAX_DATAGRAM];
	size_t alen[2], blen = 0;
	struct wire_sender s, s2;
	struct wire_msg msg;

	wire_sender_init(&s, kr, CLUSTER_TEST, 42);
	for (int i = 0; i < 2; i++)
		alen[i] = w_seal(&s, a[i]);
	ASSERT_EQ(w_recv(r, a[0], alen[0], NULL), WIRE_ACCEPT);
	/* The node restarts a second later: its stamps start from its clock,
	 * above every stamp of its previous life, with no state on disk. */
	wire_sender_init(&s2, kr, CLUSTER_TEST, 42);
	ASSERT_OK(wire_encode(&s2, 2, "x", 1, W_SELF, NULL, W_T0 + 1000, b, sizeof(b), &blen));
	ASSERT_EQ(wire_receive(r, b, blen, SRC, sizeof(SRC), 1000, W_T0 + 1000, &msg), WIRE_ACCEPT);
	ASSERT_U64_EQ(msg.stamp, (W_T0 + 1000) << WIRE_STAMP_SHIFT);
	ASSERT_EQ(wire_receive(r, b, blen, SRC, sizeof(SRC), 1000, W_T0 + 1000, NULL),
		  WIRE_DROP_REPLAY);
	/* A datagram of the old life that never arrived is still taken once
	 * while it is within the clock bound (the filter is not full)... */
	ASSERT_EQ(wire_receive(r, a[1], alen[1], SRC, sizeof(SRC), 1000, W_T0 + 1000, NULL),
		  WIRE_ACCEPT);
	/* ...and refused as stale past it, whatever the filter holds. */
	ASSERT_EQ(wire_receive(r, a[0], alen[0], SRC, sizeof(SRC), 1000,
			       W_T0 + WIRE_MAX_SKEW_MS + 1, NULL),
		  WIRE_DROP_STALE);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_destination_binding)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r43 = w_receiver(kr, 0, 0), *r44 = w_receiver_as(kr, 44, 0, 0);
	static const struct wire_addr other = { 4, { 10, 0, 0, 8 }, 7950 };
	uint8_t buf[WIRE_MAX_DATAGRAM];
	struct wire_sender s;
	struct wire_msg msg;
	size_t len = 0;

	ASSERT_OK(wire_receiver_add_address(r44, &other));
	ASSERT_EQ(wire_receiver_add_address(r44, &other), -EEXIST);
	wire_sender_init(&s, kr, CLUSTER_TEST, 42);
	/* Sealed for node 43: valid there only, whoever else receives it. */
	len = w_seal(&s, buf);
	ASSERT_EQ(w_recv(r44, buf, len, NULL), WIRE_DROP_BAD_TAG);
	ASSERT_EQ(w_recv(r43, buf, len, &msg), WIRE_ACCEPT);
	ASSERT(!msg.bound_addr);
	/* A first contact, sealed for the address 10.0.0.8:7950: node 44 is
	 * reached there (as well as at W_ADDR); node 43 is not. */
	ASSERT_OK(wire_encode(&s, 5, "join", 4, 0, &other, W_T0, buf, sizeof(buf), &len));
	ASSERT_EQ(w_recv(r43, buf, len, NULL), WIRE_DROP_BAD_TAG);
	ASSERT_EQ(w_recv(r44, buf, len, &msg), WIRE_ACCEPT);
	ASSERT(msg.bound_addr);
	/* Flipping the flag does not turn one binding into the other. */
	buf[3] ^= WIRE_BIND_ADDR;
	ASSERT_EQ(w_recv(r43, buf, len, NULL), WIRE_DROP_BAD_TAG);
	ASSERT_EQ(w_recv(r44, buf, len, NULL), WIRE_DROP_BAD_TAG);
	for (int i = 0; i < WIRE_SELF_ADDRS - 2; i++) {
		struct wire_addr a = other;

		a.port = (uint16_t)(100 + i);
		ASSERT_OK(wire_receiver_add_address(r44, &a));
	}
	ASSERT_EQ(wire_receiver_add_address(r44, &W_ADDR), -EEXIST);
	wire_receiver_free(r43);
	wire_receiver_free(r44);
	keyring_free(kr);
}

TEST(wire_forged_future_stamp_does_not_lock_out)
{
	/* A key holder seals datagrams in node 42's name with stamps far
	 * ahead: past the clock bound they are refused, so they cannot
	 * make the receiver drop 42's genuine datagrams; within it, 42
	 * passes them once its clock gets there. */
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	uint8_t buf[WIRE_MAX_DATAGRAM];
	struct wire_sender liar, honest;
	size_t len = 0;

	wire_sender_init(&liar, kr, CLUSTER_TEST, 42);
	wire_sender_init(&honest, kr, CLUSTER_TEST, 42);
	liar.last_stamp = UINT64_MAX - 10;
	ASSERT_OK(wire_encode(&liar, 1, "x", 1, W_SELF, NULL, W_T0, buf, sizeof(buf), &len));
	ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_DROP_FUTURE);
	liar.last_stamp = 0;
	for (int i = 0; i < REPLAY_RECENT; i++) {
		ASSERT_OK(wire_encode(&liar, 1, "x", 1, W_SELF, NULL, W_T0 + WIRE_MAX_SKEW_MS, buf,
				      sizeof(buf), &len));
		ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_ACCEPT);
	}
	/* The honest node is locked out for less than WIRE_MAX_SKEW_MS... */
	ASSERT_OK(wire_encode(&honest, 1, "y", 1, W_SELF, NULL, W_T0, buf, sizeof(buf), &len));
	ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_DROP_REPLAY);
	/* ...and passes once its clock is past the forged stamps. */
	ASSERT_OK(wire_encode(&honest, 1, "y", 1, W_SELF, NULL, W_T0 + WIRE_MAX_SKEW_MS + 10, buf,
			      sizeof(buf), &len));
	ASSERT_EQ(wire_receive(r, buf, len, SRC, sizeof(SRC), 1000, W_T0 + WIRE_MAX_SKEW_MS + 10,
			       NULL),
		  WIRE_ACCEPT);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_bad_signature_does_not_advance_window)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	uint8_t genuine[WIRE_MAX_DATAGRAM], forged[WIRE_MAX_DATAGRAM];
	const struct keyring_key *k = keyring_primary(kr);
	struct wire_sender s;
	size_t glen;

	wire_sender_init(&s, kr, CLUSTER_TEST, 42);
	glen = w_seal(&s, genuine);
	/* A copy moved to a much higher stamp, with a valid tag but the old
	 * signature. */
	memcpy(forged, genuine, glen);
	w_put_be(forged + 22, (W_T0 + 1000) << WIRE_STAMP_SHIFT, 8);
	w_retag(forged, glen, k);
	ASSERT_EQ(w_recv(r, forged, glen, NULL), WIRE_DROP_BAD_SIGNATURE);
	/* Same stamp as the genuine one, sent first. */
	memcpy(forged, genuine, glen);
	forged[WIRE_HEADER_LEN] ^= 1;
	w_retag(forged, glen, k);
	ASSERT_EQ(w_recv(r, forged, glen, NULL), WIRE_DROP_BAD_SIGNATURE);
	ASSERT_EQ(w_recv(r, genuine, glen, NULL), WIRE_ACCEPT);
	ASSERT_EQ(w_recv(r, forged, glen, NULL), WIRE_DROP_REPLAY);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_budget_and_refill)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 2, 3);
	static uint8_t d[8][WIRE_MAX_DATAGRAM];
	uint8_t junk[WIRE_MAX_DATAGRAM];
	static const uint8_t other[6] = { 127, 0, 0, 2, 0x1e, 0xd2 };
	size_t len[8];
	struct wire_sender s;

	wire_sender_init(&s, kr, CLUSTER_TEST, 42);
	for (int i = 0; i < 8; i++)
		len[i] = w_seal(&s, d[i]);
	/* Datagrams failing the tag cost nothing from the budget. */
	memcpy(junk, d[7], len[7]);
	junk[len[7] - 1] ^= 1;
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(wire_receive(r, junk, len[7], SRC, sizeof(SRC), 0, W_T0, NULL),
			  WIRE_DROP_BAD_TAG);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(wire_receive(r, d[i], len[i], SRC, sizeof(SRC), 0, W_T0, NULL),
			  WIRE_ACCEPT);
	/* Neither do replays, which a table lookup refuses. */
	ASSERT_EQ(wire_receive(r, d[0], len[0], SRC, sizeof(SRC), 0, W_T0, NULL), WIRE_DROP_REPLAY);
	ASSERT_EQ(wire_receive(r, d[3], len[3], SRC, sizeof(SRC), 0, W_T0, NULL),
		  WIRE_DROP_OVER_BUDGET);
	ASSERT_EQ(wire_receive(r, d[3], len[3], SRC, sizeof(SRC), 499, W_T0, NULL),
		  WIRE_DROP_OVER_BUDGET);
	/* Another address has its own bucket. */
	ASSERT_EQ(wire_receive(r, d[4], len[4], other, sizeof(other), 499, W_T0, NULL),
		  WIRE_ACCEPT);
	/* 2 a second: one more after 500 ms; the refused datagram was not
	 * marked as seen, so it is accepted now. */
	ASSERT_EQ(wire_receive(r, d[3], len[3], SRC, sizeof(SRC), 500, W_T0, NULL), WIRE_ACCEPT);
	ASSERT_EQ(wire_receive(r, d[5], len[5], SRC, sizeof(SRC), 500, W_T0, NULL),
		  WIRE_DROP_OVER_BUDGET);
	ASSERT_EQ(wire_receive(r, d[5], len[5], SRC, sizeof(SRC), 10000, W_T0, NULL), WIRE_ACCEPT);
	ASSERT_EQ(wire_receive(r, d[6], len[6], SRC, sizeof(SRC), 10000, W_T0, NULL), WIRE_ACCEPT);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_DROP_OVER_BUDGET), 3);
	ASSERT_U64_EQ(wire_receiver_count(r, WIRE_ACCEPT), 7);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_key_rotation)
{
	/* Step 1 of a rotation: the new key (1) is primary at the receiver,
	 * the old key (0) still accepted, while the sender still signs with 0. */
	struct keyring *old_only = w_ring(0, -1), *old_new = w_ring(0, 1), *new_old = w_ring(1, 0);
	struct keyring *new_only = w_ring(1, -1);
	struct wire_receiver *r_new_old = w_receiver(new_old, 0, 0);
	struct wire_receiver *r_old_new = w_receiver(old_new, 0, 0);
	struct wire_receiver *r_old_only = w_receiver(old_only, 0, 0);
	uint8_t buf[WIRE_MAX_DATAGRAM];
	struct wire_sender s;
	struct wire_msg msg;
	size_t len;

	wire_sender_init(&s, old_only, CLUSTER_TEST, 42);
	len = w_seal(&s, buf);
	ASSERT_EQ(w_recv(r_new_old, buf, len, &msg), WIRE_ACCEPT);
	ASSERT_U64_EQ(msg.key_id, ID0);
	/* And the other way: a sender that already signs with the new key,
	 * a receiver that still has the old one as primary. */
	wire_sender_init(&s, new_old, CLUSTER_TEST, 43);
	len = w_seal(&s, buf);
	ASSERT_EQ(w_recv(r_old_new, buf, len, &msg), WIRE_ACCEPT);
	ASSERT_U64_EQ(msg.key_id, ID1);
	/* A node that never learnt the new key refuses it... */
	ASSERT_EQ(w_recv(r_old_only, buf, len, NULL), WIRE_DROP_UNKNOWN_KEY);
	/* ...until its keyring is reloaded; replay state survives the swap. */
	wire_receiver_set_keyring(r_old_only, new_only);
	ASSERT_EQ(w_recv(r_old_only, buf, len, NULL), WIRE_ACCEPT);
	wire_receiver_set_keyring(r_old_only, old_new);
	ASSERT_EQ(w_recv(r_old_only, buf, len, NULL), WIRE_DROP_REPLAY);
	/* The old key dropped at last: its datagrams are unknown. */
	wire_receiver_set_keyring(r_new_old, new_only);
	wire_sender_init(&s, old_only, CLUSTER_TEST, 42);
	s.last_stamp = 2 + (W_T0 << WIRE_STAMP_SHIFT);
	len = w_seal(&s, buf);
	ASSERT_EQ(w_recv(r_new_old, buf, len, NULL), WIRE_DROP_UNKNOWN_KEY);
	wire_receiver_free(r_new_old);
	wire_receiver_free(r_old_new);
	wire_receiver_free(r_old_only);
	keyring_free(old_only);
	keyring_free(old_new);
	keyring_free(new_old);
	keyring_free(new_only);
}

TEST(wire_replay_table_eviction)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver_limits l;
	struct wire_receiver *r;
	uint8_t first[WIRE_MAX_DATAGRAM], buf[WIRE_MAX_DATAGRAM];
	struct wire_sender s;
	size_t flen, len;

	wire_receiver_limits_default(&l);
	l.max_senders = 2;
	r = wire_receiver_new(CLUSTER_TEST, W_SELF, kr, &l);
	ASSERT_NOT_NULL(r);
	wire_sender_init(&s, kr, CLUSTER_TEST, 1);
	flen = w_seal(&s, first);
	ASSERT_EQ(w_recv(r, first, flen, NULL), WIRE_ACCEPT);
	ASSERT_EQ(w_recv(r, first, flen, NULL), WIRE_DROP_REPLAY);
	for (uint64_t node = 2; node <= 3; node++) {
		wire_sender_init(&s, kr, CLUSTER_TEST, node);
		len = w_seal(&s, buf);
		ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_ACCEPT);
	}
	/* Node 1 was the least recently updated and has been forgotten: the
	 * consequence documented in replay.h. */
	ASSERT_EQ(w_recv(r, first, flen, NULL), WIRE_ACCEPT);
	ASSERT_EQ(w_recv(r, first, flen, NULL), WIRE_DROP_REPLAY);
	wire_receiver_free(r);
	keyring_free(kr);
}

TEST(wire_receiver_defaults)
{
	struct wire_receiver_limits l;
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r;

	memset(&l, 0xff, sizeof(l));
	wire_receiver_limits_default(&l);
	ASSERT_EQ(l.max_senders, 65536);
	ASSERT_EQ(l.budget_per_sec, 2000);
	ASSERT_EQ(l.budget_burst, 4000);
	ASSERT_EQ(l.budget_sources, 4096);
	r = wire_receiver_new(CLUSTER_TEST, W_SELF, kr, NULL);
	ASSERT_NOT_NULL(r);
	ASSERT_NULL(wire_receiver_new(CLUSTER_TEST, 0, kr, NULL));
	wire_receiver_free(r);
	/* Zero fields mean "default". */
	memset(&l, 0, sizeof(l));
	r = wire_receiver_new(CLUSTER_TEST, W_SELF, kr, &l);
	ASSERT_NOT_NULL(r);
	wire_receiver_free(r);
	wire_receiver_free(NULL);
	keyring_free(kr);
}

TEST(wire_trace_drops)
{
	struct keyring *kr = w_ring(0, -1);
	struct wire_receiver *r = w_receiver(kr, 0, 0);
	uint8_t buf[WIRE_MAX_DATAGRAM];
	char path[512], text[4096];
	struct wire_sender s;
	size_t len;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/trace.log", harness_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT(fd >= 0);
	ASSERT(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	log_init("test", LOG_LEVEL_INFO, TRACE_WIRE);
	wire_sender_init(&s, kr, CLUSTER_TEST, 4242);
	len = w_seal(&s, buf);
	ASSERT_EQ(w_recv(r, buf, 3, NULL), WIRE_DROP_TRUNCATED);
	buf[len - 1] ^= 1;
	ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_DROP_BAD_TAG);
	buf[len - 1] ^= 1;
	ASSERT_EQ(w_recv(r, buf, len, NULL), WIRE_ACCEPT);
	n = pread(fd, text, sizeof(text) - 1, 0);
	ASSERT(n > 0);
	text[n] = '\0';
	ASSERT_STR_CONTAINS(text, "wire: drop truncated: 3 bytes\n");
	ASSERT_STR_CONTAINS(text, "wire: drop bad-tag: 118 bytes from node 4242\n");
	ASSERT(strstr(text, "accept") == NULL);
	close(fd);
	wire_receiver_free(r);
	keyring_free(kr);
}
