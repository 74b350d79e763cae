/*
 * Unit tests for common/swim_codec.c: the byte layout of docs/membership.md
 * pinned by golden bytes, round trips of every message type, and every
 * rejection path by its reason (truncated at every length, bad counts,
 * trailing bytes, bad version/type/flags/id/family/port/name/load), plus the
 * writer's limits.
 */
#include <errno.h>

#include "harness.h"
#include "swim_codec.h"
#include "wire.h"

static struct swim_record
rec_v4(uint64_t id, enum swim_state st, const char *name)
{
	struct swim_record r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.incarnation = 0x0102030405060708ULL;
	r.state = st;
	r.from = (st == SWIM_SUSPECT || st == SWIM_DEAD) ? 0x99 : 0;
	r.addr.family = 4;
	r.addr.ip[0] = 10;
	r.addr.ip[3] = 7;
	r.addr.port = 7946;
	strcpy(r.name, name);
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
	ASSERT_U64_EQ(a->id, b->id);
	ASSERT_U64_EQ(a->incarnation, b->incarnation);
	ASSERT_EQ(a->state, b->state);
	ASSERT_U64_EQ(a->from, b->from);
	ASSERT_EQ(a->addr.family, b->addr.family);
	ASSERT_EQ(a->addr.port, b->addr.port);
	ASSERT_MEM_EQ(a->addr.ip, b->addr.ip, a->addr.family == 4 ? 4 : 16);
	ASSERT_STR_EQ(a->name, b->name);
	ASSERT_EQ(a->load.version, b->load.version);
	ASSERT_EQ(a->load.cpu_permille, b->load.cpu_permille);
	ASSERT_EQ(a->load.load1_permille, b->load.load1_permille);
	ASSERT_EQ(a->load.mem_permille, b->load.mem_permille);
	ASSERT_EQ(a->load.has_custom, b->load.has_custom);
	ASSERT_EQ(a->load.custom_milli, b->load.custom_milli);
}

TEST(swim_codec_golden_ping)
{
	static const uint8_t want[] = {
		0x01,					     /* version */
		0x00, 0x00, 0x01, 0x02,			     /* seq 258 */
		0,    0,    0,	  0,	0, 0,	 0,    42,   /* target 42 */
		0x01,					     /* one record */
		0,    0,    0,	  0,	0, 0,	 0,    7,    /* id 7 */
		1,    2,    3,	  4,	5, 6,	 7,    8,    /* incarnation */
		0x01,					     /* SUSPECT, no load */
		0,    0,    0,	  0,	0, 0,	 0,    0x99, /* from */
		4,    10,   0,	  0,	7, 0x1f, 0x0a,	     /* 10.0.0.7:7946 */
		2,    'w',  '1',			     /* name */
	};
	struct swim_msg h = { .type = SWIM_MSG_PING, .seq = 258, .target = 42 };
	struct swim_record r = rec_v4(7, SWIM_SUSPECT, "w1");
	uint8_t buf[256];
	size_t len = build(buf, sizeof(buf), &h, &r, 1);

	ASSERT_EQ(len, sizeof(want));
	ASSERT_MEM_EQ(buf, want, sizeof(want));
	ASSERT_EQ(swim_codec_record_len(&r), sizeof(want) - 14);
}

TEST(swim_codec_golden_load_and_v6)
{
	static const uint8_t want[] = {
		0x01, 0x00, 0x01,			     /* STATE, no flags, one record */
		0,    0,    0,	  0,	0,    0,    0,	  9, /* id */
		1,    2,    3,	  4,	5,    6,    7,	  8, /* incarnation */
		0x0c,					     /* ALIVE | load | custom */
		6,    0x20, 0x01, 0x0d, 0xb8, 0,    0,	  0,	0,    0,
		0,    0,    0,	  0,	0,    0,    1,	  0x1f, 0x0a, 0, /* empty name */
		0,    0,    0,	  5,					 /* load version 5 */
		0x03, 0xe8, 0x00, 0x10, 0x01, 0xf4,		/* cpu 1000, load1 16, mem 500 */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0x18, /* custom -1000 */
	};
	struct swim_msg h = { .type = SWIM_MSG_STATE };
	struct swim_record r = rec_v4(9, SWIM_ALIVE, "");
	uint8_t buf[256];

	r.addr.family = 6;
	memset(r.addr.ip, 0, 16);
	r.addr.ip[0] = 0x20;
	r.addr.ip[1] = 0x01;
	r.addr.ip[2] = 0x0d;
	r.addr.ip[3] = 0xb8;
	r.addr.ip[15] = 1;
	r.load = (struct swim_load){ 5, 1000, 16, 500, true, -1000 };
	ASSERT_EQ(build(buf, sizeof(buf), &h, &r, 1), sizeof(want));
	ASSERT_MEM_EQ(buf, want, sizeof(want));
}

TEST(swim_codec_roundtrip_every_type)
{
	struct swim_record recs[4] = {
		rec_v4(1, SWIM_ALIVE, "alpha"),
		rec_v4(2, SWIM_SUSPECT, "b"),
		rec_v4(3, SWIM_DEAD, ""),
		rec_v4(4, SWIM_LEFT,
		       "a-name-of-63-characters-......................................x"),
	};
	struct swim_msg h, m;
	struct swim_record got;
	uint8_t buf[WIRE_MAX_PAYLOAD];
	size_t len, off;

	ASSERT_EQ(strlen(recs[3].name), 63);
	recs[1].load = (struct swim_load){ 77, 10, 20, 30, false, 0 };
	recs[2].load = (struct swim_load){ UINT32_MAX, 0, 65535, 1000, true, INT64_MIN };
	for (uint8_t t = SWIM_MSG_PING; t <= SWIM_MSG_GOSSIP; t++) {
		memset(&h, 0, sizeof(h));
		h.type = t;
		h.seq = 0xdeadbeef;
		h.target = 0x1122334455667788ULL;
		h.target_addr = recs[0].addr;
		h.flags = t == SWIM_MSG_STATE ? SWIM_STATE_ANSWER : 0;
		len = build(buf, sizeof(buf), &h, recs, 4);
		ASSERT_EQ(swim_codec_decode(t, buf, len, &m), SWIM_CODEC_OK);
		ASSERT_EQ(m.type, t);
		ASSERT_EQ(m.count, 4);
		if (t != SWIM_MSG_STATE && t != SWIM_MSG_GOSSIP) {
			ASSERT_EQ(m.seq, 0xdeadbeef);
			ASSERT_U64_EQ(m.target, 0x1122334455667788ULL);
		}
		if (t == SWIM_MSG_PING_REQ)
			ASSERT_EQ(m.target_addr.port, 7946);
		ASSERT_EQ(m.flags, t == SWIM_MSG_STATE ? SWIM_STATE_ANSWER : 0);
		off = 0;
		for (int i = 0; i < 4; i++) {
			ASSERT_EQ(swim_codec_record(m.rec, m.rec_len, &off, &got), SWIM_CODEC_OK);
			assert_rec_eq(&got, &recs[i]);
		}
		ASSERT_EQ(off, m.rec_len);
	}
}

TEST(swim_codec_truncated_at_every_length)
{
	struct swim_record recs[2] = { rec_v4(1, SWIM_SUSPECT, "node-1"),
				       rec_v4(2, SWIM_ALIVE, "node-2") };
	struct swim_msg h = { .type = SWIM_MSG_PING_REQ, .seq = 1, .target = 5 };
	struct swim_msg m;
	uint8_t buf[512];
	size_t len;

	recs[1].load = (struct swim_load){ 3, 1, 2, 3, true, 4 };
	h.target_addr = recs[0].addr;
	len = build(buf, sizeof(buf), &h, recs, 2);
	for (size_t n = 0; n < len; n++)
		ASSERT_EQ(swim_codec_decode(SWIM_MSG_PING_REQ, buf, n, &m), SWIM_CODEC_TRUNCATED);
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_PING_REQ, buf, len, &m), SWIM_CODEC_OK);
	buf[len] = 0;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_PING_REQ, buf, len + 1, &m), SWIM_CODEC_TRAILING);
}

TEST(swim_codec_bad_counts)
{
	struct swim_record recs[2] = { rec_v4(1, SWIM_ALIVE, "x"), rec_v4(2, SWIM_ALIVE, "y") };
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
	uint8_t buf[] = { 1, 0 };
	struct swim_msg m;

	ASSERT_EQ(swim_codec_decode(0, buf, 2, &m), SWIM_CODEC_BAD_TYPE);
	ASSERT_EQ(swim_codec_decode(7, buf, 2, &m), SWIM_CODEC_BAD_TYPE);
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, 2, &m), SWIM_CODEC_OK);
	buf[0] = 2;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, 2, &m), SWIM_CODEC_BAD_VERSION);
	buf[0] = 0;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, 2, &m), SWIM_CODEC_BAD_VERSION);
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, 0, &m), SWIM_CODEC_TRUNCATED);
}

/* Builds a one-record GOSSIP, lets `mutate` corrupt it, returns the verdict. */
static enum swim_codec_err
mutated(const struct swim_record *r, size_t at, uint8_t value)
{
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
	struct swim_msg m;
	uint8_t buf[256];
	size_t len = build(buf, sizeof(buf), &h, r, 1);

	ASSERT_LT(at, len);
	buf[at] = value;
	return swim_codec_decode(SWIM_MSG_GOSSIP, buf, len, &m);
}

/* Offsets inside a GOSSIP holding one record (2 header bytes first). */
#define OFF_ID_LAST (2 + 7)
#define OFF_FLAGS   (2 + 16)

TEST(swim_codec_bad_record_fields)
{
	struct swim_record a = rec_v4(1, SWIM_ALIVE, "ab");
	struct swim_record s = rec_v4(1, SWIM_SUSPECT, "ab");
	struct swim_record l = rec_v4(1, SWIM_ALIVE, "ab");

	l.load = (struct swim_load){ 1, 2, 3, 4, false, 0 };
	ASSERT_EQ(mutated(&a, OFF_ID_LAST, 0), SWIM_CODEC_BAD_ID);
	ASSERT_EQ(mutated(&a, OFF_FLAGS, 0x10), SWIM_CODEC_BAD_FLAGS);
	ASSERT_EQ(mutated(&a, OFF_FLAGS, 0x80), SWIM_CODEC_BAD_FLAGS);
	ASSERT_EQ(mutated(&a, OFF_FLAGS, SWIM_REC_CUSTOM), SWIM_CODEC_BAD_FLAGS);
	/* suspect: the accuser's last byte at 2 + 17 + 7 */
	ASSERT_EQ(mutated(&s, 2 + 17 + 7, 0), SWIM_CODEC_BAD_ID);
	/* address: family at 2 + 17, port at 2 + 17 + 5 */
	ASSERT_EQ(mutated(&a, 2 + 17, 5), SWIM_CODEC_BAD_FAMILY);
	ASSERT_EQ(mutated(&a, 2 + 17, 0), SWIM_CODEC_BAD_FAMILY);
	{
		struct swim_record z = a;

		z.addr.port = 256; /* low byte 0, then zero the high byte */
		ASSERT_EQ(mutated(&z, 2 + 17 + 5, 0), SWIM_CODEC_BAD_PORT);
	}
	/* name: length at 2 + 24, bytes after */
	ASSERT_EQ(mutated(&a, 2 + 24, SWIM_NAME_MAX), SWIM_CODEC_BAD_NAME);
	ASSERT_EQ(mutated(&a, 2 + 24, 255), SWIM_CODEC_BAD_NAME);
	ASSERT_EQ(mutated(&a, 2 + 25, 0), SWIM_CODEC_BAD_NAME);
	/* load: version at 2 + 27, cpu at 2 + 31, mem at 2 + 35 */
	ASSERT_EQ(mutated(&l, 2 + 30, 0), SWIM_CODEC_BAD_LOAD);
	ASSERT_EQ(mutated(&l, 2 + 31, 0x04), SWIM_CODEC_BAD_LOAD); /* cpu 1024+ */
	ASSERT_EQ(mutated(&l, 2 + 35, 0x04), SWIM_CODEC_BAD_LOAD); /* mem 1024+ */
	ASSERT_EQ(mutated(&l, 2 + 33, 0xff), SWIM_CODEC_OK);	   /* load1 may exceed 1000 */
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
	buf[1] = SWIM_STATE_WHO | SWIM_STATE_ANSWER;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_STATE, buf, len, &m), SWIM_CODEC_OK);
	ASSERT_EQ(m.flags, SWIM_STATE_WHO | SWIM_STATE_ANSWER);
	buf[1] = 0x04;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_STATE, buf, len, &m), SWIM_CODEC_BAD_FLAGS);
	h.type = SWIM_MSG_PING_REQ;
	h.target_addr.family = 4;
	h.target_addr.port = 1;
	len = build(buf, sizeof(buf), &h, NULL, 0);
	buf[13] = 7;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_PING_REQ, buf, len, &m), SWIM_CODEC_BAD_FAMILY);
}

TEST(swim_codec_writer_limits)
{
	struct swim_writer w;
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
	struct swim_record r = rec_v4(1, SWIM_ALIVE, "");
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
	h.type = SWIM_MSG_PING_REQ;
	h.target = 3;
	ASSERT_EQ(swim_codec_begin(&w, buf, sizeof(buf), &h), -EINVAL); /* no address */
	h.type = SWIM_MSG_GOSSIP;
	ASSERT_OK(swim_codec_begin(&w, buf, 2 + SWIM_RECORD_MIN_LEN, &h));
	ASSERT_EQ(swim_codec_record_len(&r), SWIM_RECORD_MIN_LEN);
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
	r.state = SWIM_DEAD; /* no accuser */
	ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
	r.state = SWIM_ALIVE;
	r.load.version = 1;
	r.load.cpu_permille = 1001;
	ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
	r.load.version = 0;
	r.addr.port = 0;
	ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
	r.addr.port = 1;
	for (int i = 0; i < 255; i++)
		ASSERT_OK(swim_codec_add(&w, &r));
	ASSERT_EQ(swim_codec_add(&w, &r), -EMSGSIZE); /* the count is one byte */
	ASSERT_EQ(buf[1], 255);
}

TEST(swim_codec_max_record_len)
{
	struct swim_record r = rec_v4(1, SWIM_DEAD, "");

	memset(r.name, 'n', SWIM_NAME_MAX - 1);
	r.name[SWIM_NAME_MAX - 1] = '\0';
	r.addr.family = 6;
	r.load = (struct swim_load){ 1, 0, 0, 0, true, 0 };
	ASSERT_EQ(swim_codec_record_len(&r), SWIM_RECORD_MAX_LEN);
}

TEST(swim_codec_err_names)
{
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_OK), "ok");
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_TRUNCATED), "truncated");
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_BAD_FAMILY), "bad-family");
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_BAD_LOAD), "bad-load");
	ASSERT_STR_EQ(swim_codec_err_name(SWIM_CODEC_ERR_COUNT), "unknown");
}

/* A load sample alone: id, incarnation, flags and the load; 27 bytes, or 35
 * with the custom metric; pinned by golden bytes. */
TEST(swim_codec_load_only_record)
{
	static const uint8_t golden[] = {
		0x06, 0x01, 0x01,				/* GOSSIP, version, one record */
		0,    0,    0,	  0,	0,    0,    0,	  0x2a, /* id 42 */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* incarnation */
		0x14,						/* ALIVE | load | load only */
		0,    0,    0,	  9,				/* load version 9 */
		0x01, 0x2c, 0x00, 0x64, 0x00, 0x32,		/* cpu 300, load1 100, mem 50 */
	};
	struct swim_record r = rec_v4(42, SWIM_ALIVE, "ignored-name"), got;
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP }, m;
	uint8_t buf[256];
	size_t len, off = 0;

	r.load_only = true;
	r.load = (struct swim_load){
		.version = 9, .cpu_permille = 300, .load1_permille = 100, .mem_permille = 50
	};
	ASSERT_EQ(swim_codec_record_len(&r), SWIM_LOADONLY_LEN);
	len = build(buf, sizeof(buf), &h, &r, 1);
	ASSERT_EQ(len, sizeof(golden) - 1); /* the type byte above is the envelope's */
	ASSERT_MEM_EQ(buf, golden + 1, len);
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, len, &m), SWIM_CODEC_OK);
	ASSERT_EQ(swim_codec_record(m.rec, m.rec_len, &off, &got), SWIM_CODEC_OK);
	ASSERT_TRUE(got.load_only);
	ASSERT_U64_EQ(got.id, 42);
	ASSERT_EQ(got.state, SWIM_ALIVE);
	ASSERT_EQ(got.addr.family, 0);
	ASSERT_STR_EQ(got.name, "");
	ASSERT_EQ(got.load.version, 9);
	ASSERT_EQ(got.load.cpu_permille, 300);
	ASSERT_EQ(got.load.mem_permille, 50);
	/* With the custom metric: 8 more bytes. */
	r.load.has_custom = true;
	r.load.custom_milli = -5;
	ASSERT_EQ(swim_codec_record_len(&r), SWIM_LOADONLY_LEN + 8);
	len = build(buf, sizeof(buf), &h, &r, 1);
	off = 0;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, len, &m), SWIM_CODEC_OK);
	ASSERT_EQ(swim_codec_record(m.rec, m.rec_len, &off, &got), SWIM_CODEC_OK);
	ASSERT_EQ(got.load.custom_milli, -5);
	/* Refused: load-only without a load, or claiming a state. */
	memcpy(buf, golden + 1, sizeof(golden) - 1);
	buf[18] = 0x10;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, sizeof(golden) - 1 - 10, &m),
		  SWIM_CODEC_BAD_FLAGS);
	buf[18] = 0x15;
	ASSERT_EQ(swim_codec_decode(SWIM_MSG_GOSSIP, buf, sizeof(golden) - 1, &m),
		  SWIM_CODEC_BAD_FLAGS);
	/* The writer refuses what the reader would. */
	r.state = SWIM_SUSPECT;
	{
		struct swim_writer w;

		ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
		ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
		r.state = SWIM_ALIVE;
		r.load.version = 0;
		ASSERT_EQ(swim_codec_add(&w, &r), -EINVAL);
	}
}
