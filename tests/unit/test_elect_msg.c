/*
 * Unit tests for common/elect_msg.c: every message type round-trips, every
 * decode fault is named, and signatures bind every byte, the sender's key
 * and the election's domain.
 */
#include <errno.h>

#include <sodium.h>

#include "elect_msg.h"
#include "harness.h"

static void
keys(uint8_t pk[32], uint8_t sk[64], uint8_t seed_byte)
{
	uint8_t seed[32];

	ASSERT_EQ(sodium_init() >= 0, 1);
	memset(seed, seed_byte, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
}

static struct elect_msg
base(uint8_t type)
{
	struct elect_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.from = 11;
	m.from_sid = 0x1111222233334444ULL;
	m.to = type == ELECT_MSG_ANNOUNCE ? 0 : 22;
	m.term = 7;
	return m;
}

static struct elect_voters
voters3(void)
{
	struct elect_voters v = { 3, { { 11, 101 }, { 22, 202 }, { 33, 303 } } };

	return v;
}

/* Encodes m, decodes it back, and checks the header and the signature. */
static struct elect_msg
roundtrip(const struct elect_msg *m, uint8_t *buf, size_t *len)
{
	uint8_t pk[32], sk[64];
	struct elect_msg d;

	keys(pk, sk, 1);
	ASSERT_OK(elect_msg_encode(m, sk, buf, ELECT_MSG_MAX, len));
	ASSERT_EQ(elect_msg_decode(buf, *len, &d), ELECT_MSG_OK);
	ASSERT_EQ(d.type, m->type);
	ASSERT_EQ(d.flags, m->flags);
	ASSERT_EQ(d.reason, m->reason);
	ASSERT_U64_EQ(d.from, m->from);
	ASSERT_U64_EQ(d.from_sid, m->from_sid);
	ASSERT_U64_EQ(d.to, m->to);
	ASSERT_U64_EQ(d.term, m->term);
	ASSERT_TRUE(elect_msg_verify(&d, pk));
	return d;
}

TEST(elect_msg_vote_roundtrip)
{
	struct elect_msg m = base(ELECT_MSG_VOTE), d, tn = base(ELECT_MSG_TIMEOUT_NOW);
	uint8_t buf[ELECT_MSG_MAX], proof[ELECT_MSG_MAX], pk[32], sk[64];
	size_t len, plen;

	keys(pk, sk, 1);
	ASSERT_OK(elect_msg_encode(&tn, sk, proof, sizeof(proof), &plen));
	ASSERT_EQ(plen, ELECT_PROOF_LEN);
	m.last_index = 9;
	m.last_term = 6;
	m.flags = ELECT_F_TRANSFER;
	m.proof = proof;
	m.proof_len = plen;
	d = roundtrip(&m, buf, &len);
	ASSERT_U64_EQ(d.last_index, 9);
	ASSERT_U64_EQ(d.last_term, 6);
	ASSERT_EQ(d.proof_len, ELECT_PROOF_LEN);
	ASSERT_MEM_EQ(d.proof, proof, plen);
	ASSERT_EQ(len, ELECT_MSG_HEADER + 16 + 2 + ELECT_PROOF_LEN + ELECT_SIG_LEN);
	/* Without the proof: 116 bytes, the size docs/election.md gives. */
	m.flags = 0;
	d = roundtrip(&m, buf, &len);
	ASSERT_EQ(len, 116);
	ASSERT_NULL(d.proof);
}

TEST(elect_msg_resp_and_append_roundtrip)
{
	struct elect_msg m = base(ELECT_MSG_VOTE_RESP), d;
	uint8_t buf[ELECT_MSG_MAX];
	size_t len;

	m.flags = ELECT_F_PRE;
	m.reason = ELECT_DENY_LEASE;
	m.req_term = 8;
	d = roundtrip(&m, buf, &len);
	ASSERT_U64_EQ(d.req_term, 8);
	ASSERT_EQ(len, 108);

	m = base(ELECT_MSG_APPEND);
	m.round = 44;
	m.prev_index = 3;
	m.prev_term = 2;
	m.commit = 3;
	m.nentries = 2;
	m.entries[0].term = 7;
	m.entries[0].type = ELECT_ENTRY_NOOP;
	m.entries[1].term = 7;
	m.entries[1].type = ELECT_ENTRY_CONFIG;
	m.entries[1].voters = voters3();
	d = roundtrip(&m, buf, &len);
	ASSERT_U64_EQ(d.round, 44);
	ASSERT_EQ(d.nentries, 2);
	ASSERT_EQ(d.entries[1].voters.n, 3);
	ASSERT_U64_EQ(d.entries[1].voters.v[2].sid, 303);
	/* A heartbeat (no entries) is 133 bytes. */
	m.nentries = 0;
	(void)roundtrip(&m, buf, &len);
	ASSERT_EQ(len, 133);

	m = base(ELECT_MSG_APPEND_RESP);
	m.flags = ELECT_F_SUCCESS;
	m.round = 44;
	m.match = 5;
	d = roundtrip(&m, buf, &len);
	ASSERT_U64_EQ(d.match, 5);
	ASSERT_EQ(len, 116);
}

TEST(elect_msg_snapshot_announce_boot_roundtrip)
{
	struct elect_msg m = base(ELECT_MSG_SNAPSHOT), d;
	uint8_t buf[ELECT_MSG_MAX];
	size_t len;

	m.round = 1;
	m.snap_index = 1ULL << 40;
	m.snap_term = 3;
	m.voters = voters3();
	d = roundtrip(&m, buf, &len);
	ASSERT_U64_EQ(d.snap_index, 1ULL << 40);
	ASSERT_TRUE(elect_voters_equal(&d.voters, &m.voters));

	m = base(ELECT_MSG_ANNOUNCE);
	m.lease_left_ms = 2500;
	m.voters = voters3();
	d = roundtrip(&m, buf, &len);
	ASSERT_U64_EQ(d.lease_left_ms, 2500);

	m = base(ELECT_MSG_BOOT_OFFER);
	m.gen = 3;
	m.voters = voters3();
	m.voters.v[1].sid = 0; /* an offer names members before they accept */
	d = roundtrip(&m, buf, &len);
	ASSERT_EQ(d.gen, 3);
	ASSERT_U64_EQ(d.voters.v[1].sid, 0);

	m = base(ELECT_MSG_BOOT_ACCEPT);
	m.gen = 3;
	m.reason = ELECT_ANSWER_TAKEN;
	m.proposer = 5;
	m.proposer_sid = 55;
	d = roundtrip(&m, buf, &len);
	ASSERT_U64_EQ(d.proposer_sid, 55);

	m = base(ELECT_MSG_BOOT_CONFIG);
	m.gen = 3;
	m.proposer = 5;
	m.proposer_sid = 55;
	m.voters = voters3();
	d = roundtrip(&m, buf, &len);
	ASSERT_U64_EQ(d.proposer, 5);

	m = base(ELECT_MSG_BOOT_RELEASE);
	m.gen = 9;
	d = roundtrip(&m, buf, &len);
	ASSERT_EQ(d.gen, 9);
}

/* Encodes a valid APPEND with one CONFIG entry into buf (unsigned bytes
 * are enough for decode tests). */
static size_t
sample(uint8_t *buf)
{
	struct elect_msg m = base(ELECT_MSG_APPEND);
	uint8_t pk[32], sk[64];
	size_t len;

	keys(pk, sk, 1);
	m.nentries = 1;
	m.entries[0].term = 7;
	m.entries[0].type = ELECT_ENTRY_CONFIG;
	m.entries[0].voters = voters3();
	ASSERT_OK(elect_msg_encode(&m, sk, buf, ELECT_MSG_MAX, &len));
	return len;
}

TEST(elect_msg_decode_faults)
{
	uint8_t buf[ELECT_MSG_MAX + 8], b[ELECT_MSG_MAX + 8];
	size_t len = sample(buf);
	struct elect_msg d;

	for (size_t n = 0; n < len; n++)
		ASSERT_NE(elect_msg_decode(buf, n, &d), ELECT_MSG_OK);
	ASSERT_EQ(elect_msg_decode(buf, 50, &d), ELECT_MSG_TRUNCATED);
	/* Body bytes missing: the signature is assumed last, the body is short. */
	ASSERT_EQ(elect_msg_decode(buf, len - 1, &d), ELECT_MSG_TRUNCATED);
	memcpy(b, buf, len);
	b[len] = 0;
	ASSERT_EQ(elect_msg_decode(b, len + 1, &d), ELECT_MSG_TRAILING);
#define MUT(off, val, want)                                                                        \
	do {                                                                                       \
		memcpy(b, buf, len);                                                               \
		b[off] = (val);                                                                    \
		ASSERT_EQ(elect_msg_decode(b, len, &d), want);                                     \
	} while (0)
	MUT(0, 2, ELECT_MSG_BAD_VERSION);
	MUT(1, 0, ELECT_MSG_BAD_TYPE);
	MUT(1, 13, ELECT_MSG_BAD_TYPE);
	MUT(2, 1, ELECT_MSG_BAD_FLAGS); /* APPEND takes no flag */
	MUT(3, 1, ELECT_MSG_BAD_FLAGS); /* nor a reason */
	memcpy(b, buf, len);
	memset(b + 4, 0, 8); /* sender 0 */
	ASSERT_EQ(elect_msg_decode(b, len, &d), ELECT_MSG_BAD_ID);
	memcpy(b, buf, len);
	memset(b + 20, 0, 8); /* receiver 0 outside ANNOUNCE */
	ASSERT_EQ(elect_msg_decode(b, len, &d), ELECT_MSG_BAD_ID);
	MUT(12 + 7, 0, ELECT_MSG_OK); /* a state id byte: fine while not all 0 */
	/* body: round 36, prev 44, prev_term 52, commit 60, count 68, entry 69 */
	MUT(68, 9, ELECT_MSG_BAD_ENTRY);
	MUT(69 + 8, 3, ELECT_MSG_BAD_ENTRY);		/* entry type */
	MUT(69 + 9, 0, ELECT_MSG_BAD_ENTRY);		/* voter count 0 */
	MUT(69 + 9, 8, ELECT_MSG_BAD_ENTRY);		/* over ELECT_VOTERS_MAX */
	MUT(69 + 10 + 16 + 7, 11, ELECT_MSG_BAD_ENTRY); /* voter 2 has voter 1's id */
#undef MUT
	memcpy(b, buf, len);
	memset(b + 44, 0xff, 8); /* prev_index near 2^64: prev + n would wrap */
	ASSERT_EQ(elect_msg_decode(b, len, &d), ELECT_MSG_BAD_INDEX);
	memcpy(b, buf, len);
	memset(b + 28, 0, 8); /* the term: 2^62 (ELECT_TERM_MAX) is the last taken */
	b[28] = 0x40;
	ASSERT_EQ(elect_msg_decode(b, len, &d), ELECT_MSG_OK);
	b[35] = 1;
	ASSERT_EQ(elect_msg_decode(b, len, &d), ELECT_MSG_BAD_INDEX);
	memset(b + 28, 0xff, 8);
	ASSERT_EQ(elect_msg_decode(b, len, &d), ELECT_MSG_BAD_INDEX);
}

TEST(elect_msg_decode_announce_and_proof_faults)
{
	struct elect_msg m = base(ELECT_MSG_ANNOUNCE), d;
	uint8_t buf[ELECT_MSG_MAX], pk[32], sk[64], junk[ELECT_PROOF_LEN + 1];
	size_t len;

	keys(pk, sk, 1);
	m.voters = voters3();
	ASSERT_OK(elect_msg_encode(&m, sk, buf, sizeof(buf), &len));
	buf[27] = 1; /* an ANNOUNCE names nobody */
	ASSERT_EQ(elect_msg_decode(buf, len, &d), ELECT_MSG_BAD_ID);
	/* A transfer proof must be a TIMEOUT_NOW's size. */
	m = base(ELECT_MSG_VOTE);
	m.flags = ELECT_F_TRANSFER;
	memset(junk, 1, sizeof(junk));
	m.proof = junk;
	m.proof_len = ELECT_PROOF_LEN + 1;
	ASSERT_EQ(elect_msg_encode(&m, sk, buf, sizeof(buf), &len), -EINVAL);
	m.proof_len = ELECT_PROOF_LEN;
	ASSERT_OK(elect_msg_encode(&m, sk, buf, sizeof(buf), &len));
	buf[ELECT_MSG_HEADER + 17] = ELECT_PROOF_LEN - 1;
	ASSERT_EQ(elect_msg_decode(buf, len - 1, &d), ELECT_MSG_BAD_PROOF);
}

TEST(elect_msg_encode_refuses_what_decode_refuses)
{
	struct elect_msg m = base(ELECT_MSG_APPEND);
	uint8_t buf[ELECT_MSG_MAX], pk[32], sk[64];
	size_t len;

	keys(pk, sk, 1);
	m.flags = ELECT_F_GRANT;
	ASSERT_EQ(elect_msg_encode(&m, sk, buf, sizeof(buf), &len), -EINVAL);
	m = base(ELECT_MSG_VOTE);
	m.from_sid = 0;
	ASSERT_EQ(elect_msg_encode(&m, sk, buf, sizeof(buf), &len), -EINVAL);
	m = base(ELECT_MSG_VOTE);
	ASSERT_EQ(elect_msg_encode(&m, sk, buf, 100, &len), -EMSGSIZE);
	m = base(ELECT_MSG_APPEND);
	m.nentries = ELECT_TAIL_MAX + 1;
	ASSERT_EQ(elect_msg_encode(&m, sk, buf, sizeof(buf), &len), -EINVAL);
	/* The largest APPEND fits a datagram. */
	m.nentries = ELECT_TAIL_MAX;
	for (uint32_t i = 0; i < ELECT_TAIL_MAX; i++) {
		m.entries[i].term = 1;
		m.entries[i].type = ELECT_ENTRY_CONFIG;
		m.entries[i].voters.n = ELECT_VOTERS_MAX;
		for (uint32_t k = 0; k < ELECT_VOTERS_MAX; k++)
			m.entries[i].voters.v[k] = (struct elect_voter){ k + 1, k + 1 };
	}
	ASSERT_OK(elect_msg_encode(&m, sk, buf, sizeof(buf), &len));
	ASSERT_LE(len, ELECT_MSG_MAX);
}

TEST(elect_msg_signature_binds_bytes_key_and_domain)
{
	struct elect_msg m = base(ELECT_MSG_VOTE), d;
	uint8_t buf[ELECT_MSG_MAX], pk[32], sk[64], pk2[32], sk2[64], sig[64];
	size_t len;

	keys(pk, sk, 1);
	keys(pk2, sk2, 2);
	ASSERT_OK(elect_msg_encode(&m, sk, buf, sizeof(buf), &len));
	ASSERT_EQ(elect_msg_decode(buf, len, &d), ELECT_MSG_OK);
	ASSERT_TRUE(elect_msg_verify(&d, pk));
	ASSERT_FALSE(elect_msg_verify(&d, pk2));
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x01;
		if (elect_msg_decode(buf, len, &d) == ELECT_MSG_OK)
			ASSERT_FALSE(elect_msg_verify(&d, pk));
		buf[i] ^= 0x01;
	}
	/* A signature over the same bytes without the domain does not verify. */
	crypto_sign_detached(sig, NULL, buf, len - ELECT_SIG_LEN, sk);
	memcpy(buf + len - ELECT_SIG_LEN, sig, ELECT_SIG_LEN);
	ASSERT_EQ(elect_msg_decode(buf, len, &d), ELECT_MSG_OK);
	ASSERT_FALSE(elect_msg_verify(&d, pk));
}

TEST(elect_msg_names)
{
	ASSERT_STR_EQ(elect_msg_err_name(ELECT_MSG_BAD_PROOF), "bad-proof");
	ASSERT_STR_EQ(elect_msg_err_name(ELECT_MSG_ERR_COUNT), "unknown");
	ASSERT_STR_EQ(elect_msg_type_name(ELECT_MSG_TIMEOUT_NOW), "timeout-now");
	ASSERT_STR_EQ(elect_msg_type_name(0), "unknown");
	ASSERT_STR_EQ(elect_msg_type_name(13), "unknown");
}
