/*
 * Unit tests for common/elect_state.c: the durable state round-trips, and
 * every way a file can be wrong is refused with its own reason.
 */
#include <errno.h>

#include <sodium.h>

#include "elect_state.h"
#include "harness.h"

static struct elect_hard
full(void)
{
	struct elect_hard h;
	struct elect_voters v = { 3, { { 1, 11 }, { 2, 22 }, { 3, 33 } } };

	elect_state_init(&h, 0xabcdef0123456789ULL);
	h.term = 9;
	h.vote_id = 2;
	h.vote_sid = 22;
	h.flags = ELECT_HARD_CLUSTER;
	elect_log_install(&h.log, 4, 8, &v);
	h.log.n = 2;
	h.log.e[0].term = 9;
	h.log.e[0].type = ELECT_ENTRY_NOOP;
	h.log.e[1].term = 9;
	h.log.e[1].type = ELECT_ENTRY_CONFIG;
	h.log.e[1].voters = v;
	h.log.e[1].voters.v[2].sid = 34;
	h.boot.phase = ELECT_BOOT_DONE;
	h.boot.own_gen = 2;
	h.boot.gen = 2;
	h.boot.proposer = 1;
	h.boot.proposer_sid = 11;
	h.boot.members = v;
	return h;
}

/* Rewrites the checksum after a deliberate change to the fields. */
static void
resum(uint8_t *buf, size_t len)
{
	crypto_generichash(buf + len - 16, 16, buf, len - 16, NULL, 0);
}

TEST(elect_state_roundtrip)
{
	struct elect_hard h = full(), d;
	uint8_t buf[ELECT_STATE_MAX], buf2[ELECT_STATE_MAX];
	size_t len, len2;

	ASSERT_OK(elect_state_encode(&h, buf, sizeof(buf), &len));
	ASSERT_EQ(elect_state_decode(buf, len, &d), ELECT_STATE_OK);
	ASSERT_OK(elect_state_encode(&d, buf2, sizeof(buf2), &len2));
	ASSERT_EQ(len, len2);
	ASSERT_MEM_EQ(buf, buf2, len);
	ASSERT_U64_EQ(d.sid, h.sid);
	ASSERT_U64_EQ(d.term, 9);
	ASSERT_U64_EQ(d.vote_sid, 22);
	ASSERT_EQ(d.log.n, 2);
	ASSERT_U64_EQ(d.log.e[1].voters.v[2].sid, 34);
	ASSERT_EQ(d.boot.phase, ELECT_BOOT_DONE);
	ASSERT_U64_EQ(d.boot.proposer_sid, 11);
	/* A fresh state: no voters, no vote. */
	elect_state_init(&h, 5);
	ASSERT_OK(elect_state_encode(&h, buf, sizeof(buf), &len));
	ASSERT_EQ(elect_state_decode(buf, len, &d), ELECT_STATE_OK);
	ASSERT_EQ(d.log.snap_voters.n, 0);
	ASSERT_EQ(len, 56 + 1 + 1 + 24 + 1 + 16);
}

TEST(elect_state_refuses_damage)
{
	struct elect_hard h = full(), d;
	uint8_t buf[ELECT_STATE_MAX + 8], b[ELECT_STATE_MAX + 8];
	size_t len;

	ASSERT_OK(elect_state_encode(&h, buf, sizeof(buf), &len));
	for (size_t n = 0; n < len; n++)
		ASSERT_NE(elect_state_decode(buf, n, &d), ELECT_STATE_OK);
	ASSERT_EQ(elect_state_decode(buf, 40, &d), ELECT_STATE_TRUNCATED);
	/* Any flipped bit is caught by the checksum, and named so. */
	for (size_t i = 4; i < len; i++) {
		memcpy(b, buf, len);
		b[i] ^= 0x10;
		ASSERT_EQ(elect_state_decode(b, len, &d), ELECT_STATE_BAD_CHECKSUM);
	}
	memcpy(b, buf, len);
	b[0] = 'x';
	ASSERT_EQ(elect_state_decode(b, len, &d), ELECT_STATE_BAD_MAGIC);
	ASSERT_U64_EQ(d.sid, 0); /* zeroed on a fault */
	/* Bytes before the checksum that no field reads. */
	memcpy(b, buf, len - 16);
	b[len - 16] = 0;
	resum(b, len + 1);
	ASSERT_EQ(elect_state_decode(b, len + 1, &d), ELECT_STATE_TRAILING);
	/* A cut inside the fields, with a checksum that matches what is left. */
	memcpy(b, buf, 70);
	resum(b, 86);
	ASSERT_EQ(elect_state_decode(b, 86, &d), ELECT_STATE_TRUNCATED);
}

TEST(elect_state_refuses_bad_fields)
{
	struct elect_hard h = full(), d;
	uint8_t buf[ELECT_STATE_MAX], b[ELECT_STATE_MAX];
	size_t len;

	ASSERT_OK(elect_state_encode(&h, buf, sizeof(buf), &len));
#define FIELD(off, val, want)                                                                      \
	do {                                                                                       \
		memcpy(b, buf, len);                                                               \
		b[off] = (val);                                                                    \
		resum(b, len);                                                                     \
		ASSERT_EQ(elect_state_decode(b, len, &d), want);                                   \
	} while (0)
	FIELD(4, 2, ELECT_STATE_BAD_VERSION);
	FIELD(5, 4, ELECT_STATE_BAD_BOOT);
	memcpy(b, buf, len);
	memset(b + 8, 0, 8);
	resum(b, len);
	ASSERT_EQ(elect_state_decode(b, len, &d), ELECT_STATE_BAD_SID);
	memcpy(b, buf, len);
	memset(b + 32, 0, 8); /* a vote for a node without its state id */
	resum(b, len);
	ASSERT_EQ(elect_state_decode(b, len, &d), ELECT_STATE_BAD_VOTE);
	memcpy(b, buf, len);
	memset(b + 16, 0xff, 8); /* a term over ELECT_TERM_MAX */
	resum(b, len);
	ASSERT_EQ(elect_state_decode(b, len, &d), ELECT_STATE_BAD_TERM);
	FIELD(56, 8, ELECT_STATE_BAD_VOTERS);		      /* 8 voters */
	FIELD(56 + 1 + 16 + 7, 1, ELECT_STATE_BAD_VOTERS);    /* voter 2 has voter 1's id */
	FIELD(56 + 1 + 48, 9, ELECT_STATE_BAD_ENTRY);	      /* 9 tail entries */
	FIELD(56 + 1 + 48 + 1 + 8, 7, ELECT_STATE_BAD_ENTRY); /* entry type 7 */
#undef FIELD
	/* A vote in term 0 means a broken writer. */
	h = full();
	h.term = 0;
	ASSERT_OK(elect_state_encode(&h, buf, sizeof(buf), &len));
	ASSERT_EQ(elect_state_decode(buf, len, &d), ELECT_STATE_BAD_VOTE);
}

TEST(elect_state_encode_refuses_invalid)
{
	struct elect_hard h = full();
	uint8_t buf[ELECT_STATE_MAX];
	size_t len;

	h.sid = 0;
	ASSERT_EQ(elect_state_encode(&h, buf, sizeof(buf), &len), -EINVAL);
	h = full();
	h.vote_sid = 0;
	ASSERT_EQ(elect_state_encode(&h, buf, sizeof(buf), &len), -EINVAL);
	h = full();
	h.term = ELECT_TERM_MAX + 1;
	ASSERT_EQ(elect_state_encode(&h, buf, sizeof(buf), &len), -EINVAL);
	h = full();
	h.log.snap_voters.n = 0;
	ASSERT_EQ(elect_state_encode(&h, buf, sizeof(buf), &len), -EINVAL);
	h = full();
	ASSERT_EQ(elect_state_encode(&h, buf, 100, &len), -EMSGSIZE);
	ASSERT_STR_CONTAINS(elect_state_err_text(ELECT_STATE_BAD_CHECKSUM), "corrupt");
	ASSERT_STR_EQ(elect_state_err_text(ELECT_STATE_ERR_COUNT), "unknown error");
}
