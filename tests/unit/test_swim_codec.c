/*
 * Unit tests for common/swim_codec.c: the byte layout of docs/membership.md
 * pinned by golden bytes and by known-answer signatures computed without
 * libsodium (tests/tools/kat.py: hashlib and RFC 8032's Python Ed25519),
 * round trips of every message type and record kind, and every rejection
 * path by its reason (truncated at every length, bad counts, trailing bytes,
 * bad version/type/flags/id/family/port/name/load/kind/app), plus the
 * writer's limits.
 */
#include <errno.h>

#include <sodium.h>

#include "harness.h"
#include "swim_codec.h"
#include "wire.h"

#define CLUSTER_TEST UINT64_C(0x3f71fa3219b9ff99) /* wire_cluster_id("test") */

static struct swim_record
member_v4(uint64_t id, enum swim_state st, const char *name)
{
	struct swim_record r;

	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_MEMBER;
	r.id = id;
	r.incarnation = 0x0102030405060708ULL;
	r.state = st;
	r.addr.family = 4;
	r.addr.ip[0] = 10;
	r.addr.ip[3] = 7;
	r.addr.port = 7946;
	strcpy(r.name, name);
	memset(r.sig, 0x5a, sizeof(r.sig));
	return r;
}

static struct swim_record
accuse(uint64_t id, enum swim_state st, uint64_t from)
{
	struct swim_record r;

	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_ACCUSE;
	r.id = id;
	r.incarnation = 0x0102030405060708ULL;
	r.state = st;
	r.from = from;
	memset(r.sig, 0x3c, sizeof(r.sig));
	return r;
}

static struct swim_record
load(uint64_t id, struct swim_load l)
{
	struct swim_record r;

	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_LOAD;
	r.id = id;
	r.load = l;
	memset(r.sig, 0xa5, sizeof(r.sig));
	return r;
}

static struct swim_record
app(uint8_t kind, uint64_t subject, uint64_t version, uint64_t origin, const char *data)
{
	struct swim_record r;

	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_APP;
	r.id = subject;
	r.app.kind = kind;
	r.app.subject = subject;
	r.app.version = version;
	r.app.origin = origin;
	r.app.len = (uint8_t)strlen(data);
	memcpy(r.app.data, data, r.app.len);
	return r;
}

static size_t
build(uint8_t *buf, size_t cap, const struct swim_msg *h, const struct swim_record *recs, size_t n)
{
	struct swim_writer w;

	ASSERT_OK(swim_codec_begin(&w, buf, cap, h));
	for (size_t i = 0; i < n; i++)
		ASSERT_OK(swim_codec_add(&w, &recs[i]));
	return swim_codec_end(&w);
}

static void
assert_rec_eq(const struct swim_record *a, const struct swim_record *b)
{
	ASSERT_EQ(a->kind, b->kind);
	ASSERT_U64_EQ(a->id, b->id);
	if (a->kind == SWIM_REC_MEMBER || a->kind == SWIM_REC_ACCUSE ||
	    a->kind == SWIM_REC_DIGEST) {
		ASSERT_U64_EQ(a->incarnation, b->incarnation);
		ASSERT_EQ(a->state, b->state);
	}
	ASSERT_U64_EQ(a->from, b->from);
	if (a->kind == SWIM_REC_MEMBER) {
		ASSERT_EQ(a->addr.family, b->addr.family);
		ASSERT_EQ(a->addr.port, b->addr.port);
		ASSERT_MEM_EQ(a->addr.ip, b->addr.ip, a->addr.family == 4 ? 4 : 16);
		ASSERT_STR_EQ(a->name, b->name);
		ASSERT_EQ(a->has_key, b->has_key);
		if (a->has_key)
			ASSERT_MEM_EQ(a->key, b->key, SWIM_KEY_LEN);
	}
	ASSERT_EQ(a->load.version, b->load.version);
	if (a->kind == SWIM_REC_LOAD) {
		ASSERT_EQ(a->load.cpu_permille, b->load.cpu_permille);
		ASSERT_EQ(a->load.load1_permille, b->load.load1_permille);
		ASSERT_EQ(a->load.mem_permille, b->load.mem_permille);
		ASSERT_EQ(a->load.has_custom, b->load.has_custom);
		ASSERT_EQ(a->load.custom_milli, b->load.custom_milli);
	}
	if (a->kind == SWIM_REC_APP) {
		ASSERT_EQ(a->app.kind, b->app.kind);
		ASSERT_U64_EQ(a->app.subject, b->app.subject);
		ASSERT_U64_EQ(a->app.version, b->app.version);
		ASSERT_U64_EQ(a->app.origin, b->app.origin);
		ASSERT_EQ(a->app.len, b->app.len);
		ASSERT_MEM_EQ(a->app.data, b->app.data, a->app.len);
	}
	if (a->kind == SWIM_REC_MEMBER || a->kind == SWIM_REC_LOAD || a->kind == SWIM_REC_APP)
		ASSERT_MEM_EQ(a->sig, b->sig, SWIM_SIG_LEN);
}

static void
unhex(const char *hex, uint8_t *out, size_t want)
{
	size_t len = 0;

	ASSERT_OK(sodium_hex2bin(out, want, hex, strlen(hex), NULL, &len, NULL));
	ASSERT_EQ(len, want);
}

/*
 * Known answers from tests/tools/kat.py: node key seed 00 01 .. 1f, cluster
 * "test", member 7 at incarnation 0x0102030405060708, 10.0.0.7:7946, "w1";
 * its load (version 1700000000, cpu 300, load1 100, mem 50, custom -0.005);
 * its claim "leader" (kind 1, subject 0, version 5); and its DEAD accusation
 * by node 0x99 (signed with the same key here). The bytes each signature
 * covers, the signatures (pure Ed25519 is deterministic), and the GOSSIP
 * payload carrying all four.
 */
TEST(swim_codec_known_answer_signed_records)
{
	static const char signed_hex[4][300] = {
		"6d69746f736973206d656d62657200003f71fa3219b9ff990000000000000007010203040506"
		"070800040a0000070000000000000000000000001f0a02773103a107bff3ce10be1d70dd18e7"
		"4bc09967e4d6309ba50d5f1ddc8664125531b8",
		"6d69746f736973206c6f6164000000003f71fa3219b9ff990000000000000007016553f10001"
		"2c00640032fffffffffffffffb",
		"6d69746f7369732061707000000000003f71fa3219b9ff990100000000000000000000000000"
		"0000050000000000000007066c6561646572",
		"6d69746f7369732061636375736500003f71fa3219b9ff990000000000000007010203040506"
		"0708020000000000000099",
	};
	static const char sig_hex[4][129] = {
		"6dc0c109b98f3eb57e76d625644dd6efc835e977f086b306af2f504063cb700f4ce2c5fa2421"
		"1a634c3122f9d02b609c3d825205cce8b7921ecfdec64fd0a00c",
		"3d4167ae7a857ad255b70ccdff24d54c87979669d438e1fede454184ad51a369996ba9232fce"
		"81f612598e2f63b54d063c4e5947092ee47152d663dd932bbe08",
		"068e6ff9f08ec7a7deaac12e68a9f4765635fd736e6df62e80ecd45f18d5a044b0888fa819a7"
		"ee9610e52775bd77736cd211c58dc1b5ca4c31fc181ac75a1f0f",
		"7116e80049415aa18cb934cfad6584b3ed3f23bbded3bd14c850cc24ffe03eebf065cd4e4cab"
		"5ec5a39b24692e0a3def439661ce8b9b026ef7da501d78266a0d",
	};
	static const size_t signed_len[4] = { 95, 51, 56, 49 };
	static const char payload_hex[] =
		"02041100000000000000070102030405060708040a0000071f0a02773103a107bff3ce10be1d"
		"70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b86dc0c109b98f3eb57e76d625644dd6"
		"efc835e977f086b306af2f504063cb700f4ce2c5fa24211a634c3122f9d02b609c3d825205cc"
		"e8b7921ecfdec64fd0a00c0a0000000000000007010203040506070800000000000000997116"
		"e80049415aa18cb934cfad6584b3ed3f23bbded3bd14c850cc24ffe03eebf065cd4e4cab5ec5"
		"a39b24692e0a3def439661ce8b9b026ef7da501d78266a0d0b00000000000000076553f10001"
		"2c00640032fffffffffffffffb3d4167ae7a857ad255b70ccdff24d54c87979669d438e1fede"
		"454184ad51a369996ba9232fce81f612598e2f63b54d063c4e5947092ee47152d663dd932bbe"
		"080401000000000000000000000000000000050000000000000007066c6561646572068e6ff9"
		"f08ec7a7deaac12e68a9f4765635fd736e6df62e80ecd45f18d5a044b0888fa819a7ee9610e5"
		"2775bd77736cd211c58dc1b5ca4c31fc181ac75a1f0f";
	uint8_t seed[32], pk[32], sk[64], want[SWIM_SIGNED_MAX], got[SWIM_SIGNED_MAX], sig[64];
	uint8_t expect_sig[64], payload[402], buf[512];
	struct swim_record r[4];
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };

	ASSERT(sodium_init() >= 0);
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	crypto_sign_seed_keypair(pk, sk, seed);
	r[0] = member_v4(7, SWIM_ALIVE, "w1");
	r[0].has_key = true;
	memcpy(r[0].key, pk, sizeof(pk));
	r[1] = accuse(7, SWIM_DEAD, 0x99);
	r[2] = load(7, (struct swim_load){ 1700000000, 300, 100, 50, true, -5 });
	r[3] = app(1, 0, 5, 7, "leader");
	static const int rec_of[4] = { 0, 2, 3, 1 }; /* member, load, app, accuse */

	for (int i = 0; i < 4; i++) {
		struct swim_record *s = &r[rec_of[i]];

		unhex(signed_hex[i], want, signed_len[i]);
		ASSERT_EQ(swim_codec_signed(CLUSTER_TEST, s, pk, got), signed_len[i]);
		ASSERT_MEM_EQ(got, want, signed_len[i]);
		crypto_sign_detached(sig, NULL, got, signed_len[i], sk);
		unhex(sig_hex[i], expect_sig, sizeof(expect_sig));
		ASSERT_MEM_EQ(sig, expect_sig, sizeof(sig));
		memcpy(s->sig, sig, sizeof(sig));
	}
	unhex(payload_hex, payload, 402);
	ASSERT_EQ(build(buf, sizeof(buf), &h, r, 4), 402);
	ASSERT_MEM_EQ(buf, payload, 402);
	ASSERT_EQ(swim_codec_record_len(&r[0]), 123);
	ASSERT_EQ(swim_codec_record_len(&r[1]), SWIM_ACCUSE_LEN);
	ASSERT_EQ(swim_codec_record_len(&r[2]), SWIM_LOAD_LEN + 8);
	ASSERT_EQ(swim_codec_record_len(&r[3]), 97);
}

TEST(swim_codec_golden_ping)
{
	static const uint8_t want[] = {
		0x02,				       /* version */
		0x00, 0x00, 0x01, 0x02,		       /* seq 258 */
		0,    0,    0,	  0,	0, 0, 0, 42,   /* target 42 */
		0x01,				       /* one record */
		0x0a,				       /* ACCUSE | DEAD */
		0,    0,    0,	  0,	0, 0, 0, 7,    /* id 7 */
		1,    2,    3,	  4,	5, 6, 7, 8,    /* incarnation */
		0,    0,    0,	  0,	0, 0, 0, 0x99, /* accuser, then its signature */
	};
	struct swim_msg h = { .type = SWIM_MSG_PING, .seq = 258, .target = 42 };
	struct swim_record r = accuse(7, SWIM_DEAD, 0x99);
	uint8_t buf[256], sig[64];
	size_t len = build(buf, sizeof(buf), &h, &r, 1);

	memset(sig, 0x3c, sizeof(sig));
	ASSERT_EQ(len, sizeof(want) + 64);
	ASSERT_MEM_EQ(buf, want, sizeof(want));
	ASSERT_MEM_EQ(buf + sizeof(want), sig, 64);
	ASSERT_EQ(swim_codec_record_len(&r), sizeof(want) + 64 - 14);
}

TEST(swim_codec_golden_digest_and_v6)
{
	static const uint8_t want[] = {
		0x02, 0x01,					/* version, ANSWER */
		0,    0,    0,	  0,	0,    0,    0,	  1,	/* lo */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* hi */
		0x01,						/* one entry */
		0x15,						/* DIGEST | DEAD << 3 */
		0,    0,    0,	  0,	0,    0,    0,	  9,	/* id */
		1,    2,    3,	  4,	5,    6,    7,	  8,	/* incarnation */
		0,    0,    0,	  5,				/* load version */
	};
	struct swim_msg h = { .type = SWIM_MSG_DIGEST,
			      .flags = SWIM_DIGEST_ANSWER,
			      .lo = 1,
			      .hi = UINT64_MAX },
			m;
	struct swim_record r, v6 = member_v4(9, SWIM_LEFT, ""), got;
	uint8_t buf[256];
	size_t off = 0;

	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_DIGEST;
	r.id = 9;
	r.incarnation = 0x0102030405060708ULL;
	r.state = SWIM_DEAD;
	r.load.version = 5;
	ASSERT_EQ(build(buf, sizeof(buf), &h, &r, 1), sizeof(want));
	ASSERT_MEM_EQ(buf, want, sizeof(want));
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_DIGEST, buf, sizeof(want), &m), SWIM_CODEC_OK);
	ASSERT_U64_EQ(m.lo, 1);
	ASSERT_U64_EQ(m.hi, UINT64_MAX);
	/* A digest only in DIGEST messages, and only digests there. */
	h.type = SWIM_MSG_GOSSIP;
	build(buf, sizeof(buf), &h, &r, 1);
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, 2 + SWIM_DIGEST_LEN, &m),
		  SWIM_CODEC_BAD_KIND);
	v6.addr.family = 6;
	memset(v6.addr.ip, 0, 16);
	v6.addr.ip[0] = 0x20;
	v6.addr.ip[15] = 1;
	ASSERT_EQ(build(buf, sizeof(buf), &h, &v6, 1), 2 + SWIM_MEMBER_LEN4 + 12);
	ASSERT_EQ(buf[2], SWIM_REC_MEMBER | 0x08); /* LEFT, no key */
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, 2 + SWIM_MEMBER_LEN4 + 12, &m),
		  SWIM_CODEC_OK);
	ASSERT_EQ(swim_codec_record(m.rec, m.rec_len, &off, &got), SWIM_CODEC_OK);
	assert_rec_eq(&got, &v6);
}

TEST(swim_codec_roundtrip_every_type)
{
	struct swim_record recs[6] = {
		member_v4(1, SWIM_ALIVE, "alpha"),
		accuse(2, SWIM_SUSPECT, 5),
		accuse(3, SWIM_DEAD, 6),
		member_v4(4, SWIM_LEFT,
			  "a-name-of-63-characters-......................................x"),
		load(5, (struct swim_load){ UINT32_MAX, 0, 65535, 1000, true, INT64_MIN }),
		app(200, 0, UINT64_MAX, 9, ""),
	};
	struct swim_msg h, m;
	struct swim_record got;
	uint8_t buf[WIRE_MAX_PAYLOAD];
	size_t len, off;

	ASSERT_EQ(strlen(recs[3].name), 63);
	recs[0].has_key = true;
	memset(recs[0].key, 0x11, sizeof(recs[0].key));
	for (uint8_t t = SWIM_MSG_PING; t <= SWIM_MSG_GOSSIP; t++) {
		memset(&h, 0, sizeof(h));
		h.type = t;
		h.seq = 0xdeadbeef;
		h.target = 0x1122334455667788ULL;
		h.target_addr = recs[0].addr;
		h.flags = t == SWIM_MSG_STATE ? SWIM_STATE_WHO : 0;
		len = build(buf, sizeof(buf), &h, recs, 6);
		ASSERT_EQ(swim_codec_decode(t, buf, len, &m), SWIM_CODEC_OK);
		ASSERT_EQ(m.type, t);
		ASSERT_EQ(m.count, 6);
		if (t != SWIM_MSG_STATE && t != SWIM_MSG_GOSSIP) {
			ASSERT_EQ(m.seq, 0xdeadbeef);
			ASSERT_U64_EQ(m.target, 0x1122334455667788ULL);
		}
		if (t == SWIM_MSG_PING_REQ)
			ASSERT_EQ(m.target_addr.port, 7946);
		ASSERT_EQ(m.flags, t == SWIM_MSG_STATE ? SWIM_STATE_WHO : 0);
		off = 0;
		for (int i = 0; i < 6; i++) {
			ASSERT_EQ(swim_codec_record(m.rec, m.rec_len, &off, &got), SWIM_CODEC_OK);
			assert_rec_eq(&got, &recs[i]);
		}
		ASSERT_EQ(off, m.rec_len);
	}
}

TEST(swim_codec_truncated_at_every_length)
{
	struct swim_record recs[3] = { accuse(1, SWIM_SUSPECT, 4), member_v4(2, SWIM_ALIVE, "n-2"),
				       load(2, (struct swim_load){ 3, 1, 2, 3, true, 4 }) };
	struct swim_msg h = { .type = SWIM_MSG_PING_REQ, .seq = 1, .target = 5 };
	struct swim_msg m;
	uint8_t buf[512];
	size_t len;

	recs[1].has_key = true;
	h.target_addr = recs[1].addr;
	len = build(buf, sizeof(buf), &h, recs, 3);
	for (size_t n = 0; n < len; n++)
		ASSERT_EQ(swim_codec_decode(SWIM_MSG_PING_REQ, buf, n, &m), SWIM_CODEC_TRUNCATED);
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_PING_REQ, buf, len, &m), SWIM_CODEC_OK);
	buf[len] = 0;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_PING_REQ, buf, len + 1, &m), SWIM_CODEC_TRAILING);
}

TEST(swim_codec_bad_counts)
{
	struct swim_record recs[2] = { accuse(1, SWIM_DEAD, 3), accuse(2, SWIM_DEAD, 3) };
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
	struct swim_msg m;
	uint8_t buf[256];
	size_t len = build(buf, sizeof(buf), &h, recs, 2);

	ASSERT_EQ(buf[1], 2);
	buf[1] = 3; /* claims one more than present */
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, len, &m), SWIM_CODEC_TRUNCATED);
	buf[1] = 255;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, len, &m), SWIM_CODEC_TRUNCATED);
	buf[1] = 1; /* one fewer: the second record is trailing junk */
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, len, &m), SWIM_CODEC_TRAILING);
	buf[1] = 0;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, len, &m), SWIM_CODEC_TRAILING);
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, 2, &m), SWIM_CODEC_OK);
	ASSERT_EQ(m.count, 0);
}

TEST(swim_codec_bad_version_and_type)
{
	uint8_t buf[] = { 2, 0 };
	struct swim_msg m;

	ASSERT_EQ(swim_codec_decode(0, buf, 2, &m), SWIM_CODEC_BAD_TYPE);
	ASSERT_EQ(swim_codec_decode(8, buf, 2, &m), SWIM_CODEC_BAD_TYPE);
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, 2, &m), SWIM_CODEC_OK);
	buf[0] = 1; /* the layout before node keys */
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, 2, &m), SWIM_CODEC_BAD_VERSION);
	buf[0] = 0;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, 2, &m), SWIM_CODEC_BAD_VERSION);
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, 0, &m), SWIM_CODEC_TRUNCATED);
}

/* Builds a one-record GOSSIP, corrupts byte `at`, returns the verdict. */
static enum swim_codec_err
mutated(const struct swim_record *r, size_t at, uint8_t value)
{
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
	struct swim_msg m;
	uint8_t buf[512];
	size_t len = build(buf, sizeof(buf), &h, r, 1);

	ASSERT_LT(at, len);
	buf[at] = value;
	return swim_codec_decode(SWIM_MSG_GOSSIP, buf, len, &m);
}

/* Offsets inside a GOSSIP holding one record: 2 header bytes, then the kind
 * byte, then the id. */
#define OFF_KIND    2
#define OFF_ID_LAST (3 + 7)

TEST(swim_codec_bad_record_fields)
{
	struct swim_record a = member_v4(1, SWIM_ALIVE, "ab");
	struct swim_record s = accuse(1, SWIM_SUSPECT, 2);
	struct swim_record l = load(1, (struct swim_load){ 1, 2, 3, 4, false, 0 });
	struct swim_record c = app(3, 1, 1, 2, "x");

	ASSERT_EQ(mutated(&a, OFF_ID_LAST, 0), SWIM_CODEC_BAD_ID);
	ASSERT_EQ(mutated(&a, OFF_KIND, 0x21), SWIM_CODEC_BAD_FLAGS);
	ASSERT_EQ(mutated(&a, OFF_KIND, 0), SWIM_CODEC_BAD_KIND);
	ASSERT_EQ(mutated(&a, OFF_KIND, 6), SWIM_CODEC_BAD_KIND);
	ASSERT_EQ(mutated(&s, OFF_KIND, 0x12), SWIM_CODEC_BAD_FLAGS);
	ASSERT_EQ(mutated(&l, OFF_KIND, 0x13), SWIM_CODEC_BAD_FLAGS);
	ASSERT_EQ(mutated(&c, OFF_KIND, 0x0c), SWIM_CODEC_BAD_FLAGS);
	/* accuse: the accuser's last byte at 3 + 16 + 7 */
	ASSERT_EQ(mutated(&s, 3 + 16 + 7, 0), SWIM_CODEC_BAD_ID);
	/* member address: family at 3 + 16, port at 3 + 16 + 5 */
	ASSERT_EQ(mutated(&a, 3 + 16, 5), SWIM_CODEC_BAD_FAMILY);
	ASSERT_EQ(mutated(&a, 3 + 16, 0), SWIM_CODEC_BAD_FAMILY);
	{
		struct swim_record z = a;

		z.addr.port = 256; /* low byte 0, then zero the high byte */
		ASSERT_EQ(mutated(&z, 3 + 16 + 5, 0), SWIM_CODEC_BAD_PORT);
	}
	/* name: length at 3 + 23, bytes after */
	ASSERT_EQ(mutated(&a, 3 + 23, SWIM_NAME_MAX), SWIM_CODEC_BAD_NAME);
	ASSERT_EQ(mutated(&a, 3 + 23, 255), SWIM_CODEC_BAD_NAME);
	ASSERT_EQ(mutated(&a, 3 + 24, 0), SWIM_CODEC_BAD_NAME);
	/* load: version at 3 + 8, cpu at 3 + 12, mem at 3 + 16 */
	ASSERT_EQ(mutated(&l, 3 + 11, 0), SWIM_CODEC_BAD_LOAD);
	ASSERT_EQ(mutated(&l, 3 + 12, 0x04), SWIM_CODEC_BAD_LOAD); /* cpu 1024+ */
	ASSERT_EQ(mutated(&l, 3 + 16, 0x04), SWIM_CODEC_BAD_LOAD); /* mem 1024+ */
	ASSERT_EQ(mutated(&l, 3 + 14, 0xff), SWIM_CODEC_OK);	   /* load1 may exceed 1000 */
	/* app: kind at 3, version's last byte at 3 + 16, origin's at 3 + 24,
	 * length at 3 + 25 */
	ASSERT_EQ(mutated(&c, 3, 0), SWIM_CODEC_BAD_APP);
	ASSERT_EQ(mutated(&c, 3 + 16, 0), SWIM_CODEC_BAD_APP);
	ASSERT_EQ(mutated(&c, 3 + 24, 0), SWIM_CODEC_BAD_ID);
	ASSERT_EQ(mutated(&c, 3 + 25, SWIM_APP_MAX + 1), SWIM_CODEC_BAD_APP);
	ASSERT_EQ(mutated(&c, 3 + 25, 2), SWIM_CODEC_TRUNCATED);
}

TEST(swim_codec_bad_header_fields)
{
	struct swim_msg h = { .type = SWIM_MSG_ACK, .seq = 1, .target = 9 };
	struct swim_msg m;
	uint8_t buf[64];
	size_t len = build(buf, sizeof(buf), &h, NULL, 0);

	buf[12] = 0; /* target 9 -> 0 */
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_ACK, buf, len, &m), SWIM_CODEC_BAD_ID);
	h.type = SWIM_MSG_STATE;
	len = build(buf, sizeof(buf), &h, NULL, 0);
	buf[1] = SWIM_STATE_WHO;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_STATE, buf, len, &m), SWIM_CODEC_OK);
	ASSERT_EQ(m.flags, SWIM_STATE_WHO);
	buf[1] = 0x01; /* the old ANSWER bit: push-pull is DIGEST now */
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_STATE, buf, len, &m), SWIM_CODEC_BAD_FLAGS);
	h.type = SWIM_MSG_PING_REQ;
	h.target_addr.family = 4;
	h.target_addr.port = 1;
	len = build(buf, sizeof(buf), &h, NULL, 0);
	buf[13] = 7;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_PING_REQ, buf, len, &m), SWIM_CODEC_BAD_FAMILY);
	/* A digest range upside down, or an unknown digest flag. */
	memset(&h, 0, sizeof(h));
	h.type = SWIM_MSG_DIGEST;
	h.lo = 5;
	h.hi = 9;
	len = build(buf, sizeof(buf), &h, NULL, 0);
	ASSERT_EQ(len, 19);
	buf[17] = 0; /* hi 9 -> 0 */
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_DIGEST, buf, len, &m), SWIM_CODEC_BAD_FLAGS);
	buf[17] = 9;
	buf[1] = 0x02;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_DIGEST, buf, len, &m), SWIM_CODEC_BAD_FLAGS);
}

TEST(swim_codec_writer_limits)
{
	struct swim_writer w;
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
	struct swim_record r = accuse(1, SWIM_DEAD, 2);
	uint8_t buf[WIRE_MAX_PAYLOAD * 8];
	size_t before;

	ASSERT_EQ(swim_codec_begin(&w, buf, 1, &h), -EMSGSIZE);
	h.type = 0;
	ASSERT_EQ(swim_codec_begin(&w, buf, sizeof(buf), &h), -EINVAL);
	h.type = SWIM_MSG_PING; /* target 0 */
	ASSERT_EQ(swim_codec_begin(&w, buf, sizeof(buf), &h), -EINVAL);
	h.type = SWIM_MSG_STATE;
	h.flags = 0x80;
	ASSERT_EQ(swim_codec_begin(&w, buf, sizeof(buf), &h), -EINVAL);
	h.type = SWIM_MSG_DIGEST;
	h.flags = 0;
	h.lo = 2;
	h.hi = 1;
	ASSERT_EQ(swim_codec_begin(&w, buf, sizeof(buf), &h), -EINVAL);
	h.type = SWIM_MSG_PING_REQ;
	h.target = 3;
	ASSERT_EQ(swim_codec_begin(&w, buf, sizeof(buf), &h), -EINVAL); /* no address */
	h.type = SWIM_MSG_GOSSIP;
	ASSERT_OK(swim_codec_begin(&w, buf, 2 + SWIM_ACCUSE_LEN, &h));
	ASSERT_OK(swim_codec_add(&w, &r));
	before = swim_codec_end(&w);
	ASSERT_EQ(swim_codec_add(&w, &r), -EMSGSIZE);
	ASSERT_EQ(swim_codec_end(&w), before);
	ASSERT_EQ(buf[1], 1);
	/* invalid records are refused, not encoded */
	ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
	r.id = 0;
	ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
	r.id = 1;
	r.from = 0; /* no accuser */
	ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
	r.from = 2;
	r.state = SWIM_ALIVE; /* an accusation of being alive */
	ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
	r = load(1, (struct swim_load){ 1, 1001, 0, 0, false, 0 });
	ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
	r = member_v4(1, SWIM_SUSPECT, "x"); /* a member claims ALIVE or LEFT */
	ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
	r = member_v4(1, SWIM_ALIVE, "x");
	r.addr.port = 0;
	ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
	r = app(0, 1, 1, 1, "");
	ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
	/* the count is one byte: 255 digests fit the buffer, not 256 */
	h.type = SWIM_MSG_DIGEST;
	h.lo = 1;
	h.hi = UINT64_MAX;
	ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_DIGEST;
	r.id = 1;
	for (int i = 0; i < 255; i++)
		ASSERT_OK(swim_codec_add(&w, &r));
	ASSERT_EQ(swim_codec_add(&w, &r), -EMSGSIZE);
	ASSERT_EQ(buf[18], 255);
}

TEST(swim_codec_max_record_len)
{
	struct swim_record r = app(1, 1, 1, 1, "");
	struct swim_record m = member_v4(1, SWIM_LEFT, "");

	r.app.len = SWIM_APP_MAX;
	ASSERT_EQ(swim_codec_record_len(&r), SWIM_RECORD_MAX_LEN);
	memset(m.name, 'n', SWIM_NAME_MAX - 1);
	m.name[SWIM_NAME_MAX - 1] = '\0';
	m.addr.family = 6;
	m.has_key = true;
	ASSERT_EQ(swim_codec_record_len(&m), 1 + 8 + 8 + 19 + 1 + 63 + 32 + 64);
	ASSERT_LT(swim_codec_record_len(&m), SWIM_RECORD_MAX_LEN);
}

TEST(swim_codec_err_names)
{
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_OK), "ok");
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_TRUNCATED), "truncated");
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_BAD_FAMILY), "bad-family");
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_BAD_LOAD), "bad-load");
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_BAD_KIND), "bad-kind");
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_BAD_APP), "bad-app");
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_ERR_COUNT), "unknown");
}

/* A signature covers what the record says and nothing else can be swapped
 * in: another cluster, another key, another field. */
TEST(swim_codec_signed_bytes_bind_every_field)
{
	struct swim_record a = member_v4(7, SWIM_ALIVE, "w1"), b;
	uint8_t k1[32], k2[32], x[SWIM_SIGNED_MAX], y[SWIM_SIGNED_MAX];
	size_t n;

	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	n = swim_codec_signed(CLUSTER_TEST, &a, k1, x);
	ASSERT_EQ(swim_codec_signed(CLUSTER_TEST + 1, &a, k1, y), n);
	ASSERT(memcmp(x, y, n) != 0);
	ASSERT_EQ(swim_codec_signed(CLUSTER_TEST, &a, k2, y), n);
	ASSERT(memcmp(x, y, n) != 0);
	b = a;
	b.state = SWIM_LEFT;
	swim_codec_signed(CLUSTER_TEST, &b, k1, y);
	ASSERT(memcmp(x, y, n) != 0);
	b = a;
	b.addr.port++;
	swim_codec_signed(CLUSTER_TEST, &b, k1, y);
	ASSERT(memcmp(x, y, n) != 0);
	/* The key carried in the record does not change what is signed. */
	b = a;
	b.has_key = true;
	ASSERT_EQ(swim_codec_signed(CLUSTER_TEST, &b, k1, y), n);
	ASSERT_MEM_EQ(x, y, n);
}
