/*
 * libFuzzer harness for wire_receive() (common/wire.c).
 *
 * Each input is checked three ways by a fresh receiver, so that the fuzzer
 * reaches past the tag, which it could never guess:
 *   1. as it is;
 *   2. "forced": header fields that precede the tag made right (magic,
 *      version, type, length, cluster, key id), the stamp moved to the
 *      receiver's clock (its counter bits kept), and the tag recomputed for
 *      the receiver (by id, or by address when the flag says so), signature
 *      (if any) left as found: only bad-signature, replay or accept are
 *      possible;
 *   3. "resealed": the same, signed and tagged properly: accept unless the
 *      stamp was accepted already, and a second copy is a replay.
 * After each call the verdict and the message are checked against the
 * envelope's invariants; any violation aborts. The keyring comes from a fixed
 * test secret (the same as the unit tests' SECRET0), so the seed corpus in
 * tests/fuzz/corpus/wire/ holds datagrams that verify.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keyring.h"
#include "wire.h"

#define FUZZ_KEYRING "primary 1c9ed76a AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
#define FUZZ_CLUSTER UINT64_C(0x3f71fa3219b9ff99) /* wire_cluster_id("test") */
#define FUZZ_SELF    UINT64_C(43)		  /* the receiving node */
#define FUZZ_WALL    UINT64_C(1700000000000)	  /* the receiver's clock, ms */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_src[6] = { 10, 0, 0, 1, 0x1e, 0xd2 };
/* The address the receiver is reached at, and its binding bytes. */
static const struct wire_addr fuzz_addr = { 4, { 10, 0, 0, 7 }, 7950 };
static const uint8_t fuzz_addr_bind[WIRE_ADDR_LEN] = { 4, 10, 0, 0, 7, [17] = 0x1f, [18] = 0x0e };

static struct keyring *
fuzz_keyring(void)
{
	static struct keyring *kr;
	char err[256];

	if (kr != NULL)
		return kr;
	if (sodium_init() < 0)
		abort();
	if (keyring_parse(FUZZ_KEYRING, strlen(FUZZ_KEYRING), "fuzz", &kr, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_wire: %s\n", err);
		abort();
	}
	if (wire_cluster_id("test") != FUZZ_CLUSTER)
		abort();
	return kr;
}

static uint64_t
fuzz_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Aborts unless verdict v and msg are consistent with buf[0, len). */
static void
fuzz_check(enum wire_verdict v, const struct wire_msg *m, const uint8_t *buf, size_t len)
{
	size_t overhead;

	if ((unsigned)v >= WIRE_VERDICT_COUNT)
		abort();
	if (len > WIRE_MAX_DATAGRAM && v != WIRE_DROP_OVERSIZED)
		abort();
	if (len < WIRE_OVERHEAD && len <= WIRE_MAX_DATAGRAM && v != WIRE_DROP_TRUNCATED)
		abort();
	if (v != WIRE_ACCEPT)
		return;
	if (m->sig != ((buf[3] & WIRE_SIGNED) != 0))
		abort();
	overhead = m->sig ? WIRE_SIGNED_OVERHEAD : WIRE_OVERHEAD;
	if (m->payload_len != len - overhead || m->payload != buf + WIRE_HEADER_LEN ||
	    m->payload + m->payload_len + overhead - WIRE_HEADER_LEN != buf + len)
		abort();
	if (m->cluster_id != FUZZ_CLUSTER >> 32 || keyring_find(fuzz_keyring(), m->key_id) == NULL)
		abort();
	if (m->type == 0 || m->type != (buf[3] & WIRE_TYPE_MAX) ||
	    m->node_id != fuzz_be(buf + 14, 8) || m->stamp != fuzz_be(buf + 22, 8) ||
	    m->bound_addr != ((buf[3] & WIRE_BIND_ADDR) != 0))
		abort();
	/* Taken only within the clock bound. */
	if (m->stamp == 0 || (m->stamp >> WIRE_STAMP_SHIFT) > FUZZ_WALL + WIRE_MAX_SKEW_MS ||
	    (m->stamp >> WIRE_STAMP_SHIFT) < FUZZ_WALL - WIRE_MAX_SKEW_MS)
		abort();
}

/* Fixes the fields checked before the tag (keeping the signed bit when the
 * size allows a signature) and the stamp's clock part; resigns when asked;
 * retags for the receiver (its id, or its address when the bit says so). */
static void
fuzz_fix(uint8_t *buf, size_t len, bool resign)
{
	const struct keyring_key *k = keyring_primary(fuzz_keyring());
	bool sig = (buf[3] & WIRE_SIGNED) != 0 && len >= WIRE_SIGNED_OVERHEAD;
	size_t l = len - (sig ? WIRE_SIGNED_OVERHEAD : WIRE_OVERHEAD);
	crypto_generichash_state st;
	uint8_t id[8];
	uint64_t stamp;

	memcpy(buf, WIRE_MAGIC, 2);
	buf[2] = WIRE_VERSION;
	buf[3] = (uint8_t)((buf[3] & (WIRE_TYPE_MAX | WIRE_BIND_ADDR)) | (sig ? WIRE_SIGNED : 0));
	if ((buf[3] & WIRE_TYPE_MAX) == 0)
		buf[3] |= 1;
	buf[4] = (uint8_t)(l >> 8);
	buf[5] = (uint8_t)l;
	for (int i = 0; i < 4; i++)
		buf[6 + i] = (uint8_t)(FUZZ_CLUSTER >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		buf[10 + i] = (uint8_t)(k->id >> (24 - 8 * i));
	stamp = FUZZ_WALL << WIRE_STAMP_SHIFT | (fuzz_be(buf + 22, 8) & 0xfff);
	for (int i = 0; i < 8; i++)
		buf[22 + i] = (uint8_t)(stamp >> (56 - 8 * i));
	if (resign && sig)
		crypto_sign_detached(buf + WIRE_HEADER_LEN + l, NULL, buf, WIRE_HEADER_LEN + l,
				     k->sign_sk);
	for (int i = 0; i < 8; i++)
		id[i] = (uint8_t)(FUZZ_SELF >> (56 - 8 * i));
	crypto_generichash_init(&st, k->tag_key, sizeof(k->tag_key), WIRE_TAG_LEN);
	if (buf[3] & WIRE_BIND_ADDR)
		crypto_generichash_update(&st, fuzz_addr_bind, sizeof(fuzz_addr_bind));
	else
		crypto_generichash_update(&st, id, sizeof(id));
	crypto_generichash_update(&st, buf, len - WIRE_TAG_LEN);
	crypto_generichash_final(&st, buf + len - WIRE_TAG_LEN, WIRE_TAG_LEN);
}

static enum wire_verdict
fuzz_feed(struct wire_receiver *r, const uint8_t *data, size_t size, int fix, unsigned *calls)
{
	uint8_t *buf = malloc(size > 0 ? size : 1); /* exact size: ASan sees overreads */
	struct wire_msg msg;
	enum wire_verdict v;

	if (buf == NULL)
		abort();
	if (size > 0)
		memcpy(buf, data, size);
	if (fix > 0)
		fuzz_fix(buf, size, fix == 2);
	memset(&msg, 0, sizeof(msg));
	v = wire_receive(r, buf, size, fuzz_src, sizeof(fuzz_src), 1000, FUZZ_WALL, &msg);
	fuzz_check(v, &msg, buf, size);
	(*calls)++;
	free(buf);
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_receiver_limits lim = {
		.max_senders = 4, .budget_per_sec = 100, .budget_burst = 100, .budget_sources = 4
	};
	const struct keyring *kr = fuzz_keyring();
	struct wire_receiver *r = wire_receiver_new(FUZZ_CLUSTER, FUZZ_SELF, kr, &lim);
	enum wire_verdict v1, v2, v3;
	unsigned calls = 0;
	uint64_t total = 0;

	if (r == NULL || wire_receiver_add_address(r, &fuzz_addr) != 0)
		abort();
	v1 = fuzz_feed(r, data, size, 0, &calls);
	if (size >= WIRE_OVERHEAD && size <= WIRE_MAX_DATAGRAM) {
		/* The stamp fuzz_fix makes: 0 only if the clock were 0. */
		uint64_t seq = 1;

		v2 = fuzz_feed(r, data, size, 1, &calls);
		if (v2 != WIRE_ACCEPT && v2 != WIRE_DROP_REPLAY && v2 != WIRE_DROP_BAD_SIGNATURE)
			abort();
		v3 = fuzz_feed(r, data, size, 2, &calls);
		if (v3 != WIRE_ACCEPT && v3 != WIRE_DROP_REPLAY)
			abort();
		if (seq == 0 && v3 != WIRE_DROP_REPLAY)
			abort();
		if (seq != 0 && v1 != WIRE_ACCEPT && v2 != WIRE_ACCEPT && v3 != WIRE_ACCEPT)
			abort();
		if (fuzz_feed(r, data, size, 2, &calls) != WIRE_DROP_REPLAY)
			abort();
	}
	for (int v = 0; v < WIRE_VERDICT_COUNT; v++)
		total += wire_receiver_count(r, (enum wire_verdict)v);
	if (total != calls)
		abort();
	wire_receiver_free(r);
	return 0;
}
