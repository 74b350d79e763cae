/*
 * libFuzzer harness for the election: the message and state decoders
 * (common/elect_msg.c, common/elect_state.c) and the state machine behind
 * them (common/elect*.c).
 *
 * Byte 0 picks the mode:
 *   0: the rest is a message: decode it; whatever decodes must encode back
 *      to the same bytes (signature aside) and decode again.
 *   1: the rest is a state file: whatever decodes must encode back to the
 *      same bytes.
 *   else: a script for a core that is voter 0 of {0, 1, 2} (nodes 3 and 4
 *      are members that are not voters). Each step starts with a byte:
 *        low 2 bits 0: a message signed by peer (b >> 2) % 5: then type,
 *                      flags, reason, term offset, body length L, L bytes
 *                      (the body as the core would read it);
 *        1: tick, after (next byte) x 37 ms;
 *        2: membership: member (next byte) % 5 gets status (byte >> 3) % 4;
 *        3: operator: transfer, step-down, force-recover or announce.
 *      Peers sign real signatures, so the core goes past the checks.
 * After every step: whatever the core persisted decodes, its term never
 * went back, whatever it sent decodes, and its next deadline is ahead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "elect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_BASE	 UINT64_C(900)
#define FZ_PEERS 5

struct fz {
	uint8_t pk[FZ_PEERS][32], sk[FZ_PEERS][64];
	uint64_t rs;
	uint64_t term; /* last persisted */
	uint8_t disk[ELECT_STATE_MAX];
	size_t disk_len;
};

static struct fz fz;

/* Whatever the core emits must decode, for the receiver it names. */
static void
fz_check(uint64_t to, const uint8_t *msg, size_t len)
{
	struct elect_msg m;

	if (len > ELECT_MSG_MAX || elect_msg_decode(msg, len, &m) != ELECT_MSG_OK || m.to != to)
		abort(); /* we sent what we refuse */
}

static void
fz_send(void *arg, uint64_t to, const uint8_t *msg, size_t len)
{
	if (to == 0)
		abort(); /* only an ANNOUNCE names nobody, and it is not sent */
	fz_check(to, msg, len);
}

static int
fz_persist(void *arg, const uint8_t *state, size_t len)
{
	struct elect_hard h;

	if (elect_state_decode(state, len, &h) != ELECT_STATE_OK)
		abort(); /* we wrote what we cannot read */
	if (h.term < fz.term)
		abort(); /* the term went back on disk */
	fz.term = h.term;
	memcpy(fz.disk, state, len);
	fz.disk_len = len;
	return 0;
}

static int
fz_pubkey(void *arg, uint64_t id, uint8_t pk[ELECT_PK_LEN])
{
	if (id < FZ_BASE || id >= FZ_BASE + FZ_PEERS)
		return -2;
	memcpy(pk, fz.pk[id - FZ_BASE], ELECT_PK_LEN);
	return 0;
}

static uint32_t
fz_random(void *arg)
{
	fz.rs ^= fz.rs << 13;
	fz.rs ^= fz.rs >> 7;
	fz.rs ^= fz.rs << 17;
	return (uint32_t)fz.rs;
}

static const struct elect_ops fz_ops = { fz_send, fz_persist, fz_pubkey, fz_random, NULL, NULL };

static void
fz_keys(void)
{
	static int done;
	uint8_t seed[32];

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < FZ_PEERS; i++) {
		memset(seed, i + 1, sizeof(seed));
		crypto_sign_seed_keypair(fz.pk[i], fz.sk[i], seed);
	}
	done = 1;
}

static void
fz_message(const uint8_t *data, size_t size)
{
	uint8_t sk[64], pk[32], seed[32] = { 0 }, out[ELECT_MSG_MAX];
	struct elect_msg m, m2;
	size_t len;

	if (elect_msg_decode(data, size, &m) != ELECT_MSG_OK)
		return;
	crypto_sign_seed_keypair(pk, sk, seed);
	if (elect_msg_encode(&m, sk, out, sizeof(out), &len) != 0 || len != size ||
	    memcmp(out, data, size - ELECT_SIG_LEN) != 0)
		abort();
	if (elect_msg_decode(out, len, &m2) != ELECT_MSG_OK || !elect_msg_verify(&m2, pk))
		abort();
}

static void
fz_state(const uint8_t *data, size_t size)
{
	uint8_t out[ELECT_STATE_MAX];
	struct elect_hard h;
	size_t len;

	if (elect_state_decode(data, size, &h) != ELECT_STATE_OK)
		return;
	if (elect_state_encode(&h, out, sizeof(out), &len) != 0 || len != size ||
	    memcmp(out, data, size) != 0)
		abort();
}

/* A signed message from peer p with the header given and a raw body. */
static void
fz_deliver(struct elect *e, const uint8_t *s, size_t n, uint64_t now)
{
	uint8_t buf[16 + ELECT_MSG_MAX], sig[64];
	uint32_t p = (s[0] >> 2) % FZ_PEERS, body = n > 5 ? s[5] : 0;
	size_t len = ELECT_MSG_HEADER;
	uint64_t term = elect_term(e) + (n > 4 ? s[4] % 5 : 2) - 2;

	if (body > n - 6)
		body = n > 6 ? (uint32_t)(n - 6) : 0;
	memcpy(buf, ELECT_MSG_DOMAIN, 16);
	buf[16] = ELECT_MSG_VERSION;
	buf[17] = n > 1 ? s[1] % 14 : 1;
	buf[18] = n > 2 ? s[2] % 4 : 0;
	buf[19] = n > 3 ? s[3] % 10 : 0;
	for (int i = 0; i < 8; i++) {
		buf[20 + i] = (uint8_t)((FZ_BASE + p) >> (56 - 8 * i));
		buf[28 + i] = (uint8_t)((uint64_t)(1000 + p) >> (56 - 8 * i));
		buf[36 + i] = (uint8_t)(FZ_BASE >> (56 - 8 * i));
		buf[44 + i] = (uint8_t)(term >> (56 - 8 * i));
	}
	if (buf[17] == ELECT_MSG_ANNOUNCE)
		memset(buf + 36, 0, 8);
	memcpy(buf + 16 + len, s + 6, body);
	len += body;
	crypto_sign_detached(sig, NULL, buf, 16 + len, fz.sk[p]);
	memcpy(buf + 16 + len, sig, 64);
	(void)elect_receive(e, buf + 16, len + 64, now);
}

/* Voter 0 of {0,1,2} (state ids 1000 + i), term 1, from a fresh disk. */
static struct elect *
fz_core(uint64_t now)
{
	struct elect_config cfg;
	struct elect_voters v = {
		3, { { FZ_BASE, 1000 }, { FZ_BASE + 1, 1001 }, { FZ_BASE + 2, 1002 } }
	};
	struct elect_hard h;

	elect_config_default(&cfg);
	elect_state_init(&h, 1000);
	h.term = 1;
	elect_log_install(&h.log, 1, 0, &v);
	fz.term = 0;
	fz.rs = 0x9e3779b97f4a7c15ULL;
	return elect_new(&cfg, &fz_ops, NULL, FZ_BASE, fz.sk[0], &h, 0, now);
}

static void
fz_operator(struct elect *e, uint8_t op, uint64_t now)
{
	uint8_t buf[ELECT_MSG_MAX];
	size_t len;

	switch (op % 4) {
	case 0:
		(void)elect_transfer(e, op & 4 ? 0 : FZ_BASE + 1, now);
		break;
	case 1:
		(void)elect_step_down(e, now);
		break;
	case 2:
		(void)elect_force_recover(e, now);
		break;
	default:
		if (elect_announce_build(e, now, buf, sizeof(buf), &len) == 0)
			fz_check(0, buf, len);
		break;
	}
}

static void
fz_script(const uint8_t *data, size_t size)
{
	uint64_t now = 1000000, next;
	struct elect *e = fz_core(now);
	size_t off = 0;

	if (e == NULL)
		abort();
	while (off < size) {
		uint8_t b = data[off], k = b & 3;
		size_t n = size - off;

		if (k == 0) {
			size_t body = n > 5 ? data[off + 5] : 0, step = 6 + body;

			fz_deliver(e, data + off, n < step ? n : step, now);
			off += n < step ? n : step;
		} else if (k == 1) {
			now += (uint64_t)(n > 1 ? data[off + 1] : 1) * 37;
			off += 2;
		} else if (k == 2) {
			uint8_t x = n > 1 ? data[off + 1] : 0;

			(void)elect_member(e, FZ_BASE + x % FZ_PEERS, (x >> 3) % 4, now, now);
			off += 2;
		} else {
			fz_operator(e, b >> 2, now);
			off += 1;
		}
		next = elect_tick(e, now);
		if (next <= now)
			abort();
		if (elect_leading(e, now, NULL, NULL) && elect_role(e) != ELECT_LEADER)
			abort();
	}
	elect_free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_keys();
	if (size == 0)
		return 0;
	if (data[0] == 0)
		fz_message(data + 1, size - 1);
	else if (data[0] == 1)
		fz_state(data + 1, size - 1);
	else
		fz_script(data + 1, size - 1);
	return 0;
}
