/*
 * libFuzzer harness for the membership state machine (common/swim.c) and its
 * codec (common/swim_codec.c).
 *
 * A fresh node with five members is built for each input. The input is a
 * script of steps, each:
 *   byte 0: message type (any value; 1..7 are the real ones)
 *   byte 1: sender: low 3 bits pick one of 8 ids (members, strangers,
 *           ourselves, 0); bit 3: advance the clock by (byte 1 >> 4) x 97 ms
 *           and tick before delivering; bit 7 with type 0xff: leave
 *   byte 2: payload length L (then L bytes, cut short at the end of input)
 * so one input can walk the node through several messages and timers.
 *
 * Signatures: the harness plugs a verify op that takes a signature whose
 * first byte is 0x5a and refuses any other, so the fuzzer reaches both the
 * paths past a valid signature and the refusals (the Ed25519 arithmetic is
 * libsodium's, not ours to fuzz).
 *
 * After every step the invariants are checked, and any violation aborts:
 * self is index 0 and ALIVE (LEFT after a leave), ids are unique and found
 * by swim_find, states are in range, the count is bounded by what the input
 * could have introduced, the next deadline lies in the future, and every
 * datagram the node sent is within max_payload and decodes cleanly (the
 * encoder never emits what the decoder refuses).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swim.h"
#include "swim_codec.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SELF    1000
#define FUZZ_MEMBERS 5

struct fuzz_ctx {
	uint64_t rs;
	size_t sent;
	size_t max_payload;
};

static uint32_t
fuzz_random(void *arg)
{
	struct fuzz_ctx *c = arg;

	c->rs ^= c->rs << 13;
	c->rs ^= c->rs >> 7;
	c->rs ^= c->rs << 17;
	return (uint32_t)c->rs;
}

static void
fuzz_send(void *arg, uint64_t to_id, const struct swim_addr *to, uint8_t type, const uint8_t *p,
	  size_t len)
{
	struct fuzz_ctx *c = arg;
	struct swim_msg m;
	enum swim_codec_err e;

	c->sent++;
	if (len > c->max_payload || (to->family != 4 && to->family != 6) || to->port == 0) {
		fprintf(stderr, "fuzz_swim: bad datagram out: %zu bytes\n", len);
		abort();
	}
	if ((e = swim_codec_decode(type, p, len, &m)) != SWIM_CODEC_OK) {
		fprintf(stderr, "fuzz_swim: we sent what we refuse: %s\n", swim_codec_err_name(e));
		abort();
	}
}

static void
fuzz_event(void *arg, const struct swim_member *m, enum swim_state old, bool is_new)
{
	if (m == NULL || m->id == 0 || (unsigned)m->state > SWIM_LEFT || (unsigned)old > SWIM_LEFT)
		abort();
}

static void
fuzz_sign(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	memset(sig, 0x5a, 64);
}

static int
fuzz_verify(void *arg, const uint8_t key[32], const uint8_t *msg, size_t len, const uint8_t sig[64])
{
	return sig[0] == 0x5a ? 0 : -1;
}

static int
fuzz_claim(void *arg, const struct swim_claim *c)
{
	return c->len % 2 == 0 ? 0 : -1; /* the application takes some */
}

static const uint64_t fuzz_ids[8] = { 1, 2, 3, 4, 5, 77, FUZZ_SELF, 0 };

static struct swim_addr
fuzz_addr(uint64_t id)
{
	struct swim_addr a;

	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.ip[0] = 10;
	a.ip[3] = (uint8_t)id;
	a.port = (uint16_t)(7000 + id);
	return a;
}

/* Five members, primed (as if each had answered a ping). */
static void
fuzz_populate(struct swim *s, uint64_t now)
{
	struct swim_record r;

	for (uint64_t id = 1; id <= FUZZ_MEMBERS; id++) {
		memset(&r, 0, sizeof(r));
		r.kind = SWIM_REC_MEMBER;
		r.id = id;
		r.incarnation = 10;
		r.state = SWIM_ALIVE;
		r.addr = fuzz_addr(id);
		snprintf(r.name, sizeof(r.name), "m%llu", (unsigned long long)id);
		r.has_key = true;
		memset(r.key, (int)id, sizeof(r.key));
		memset(r.sig, 0x5a, sizeof(r.sig));
		if (swim_prime(s, &r, now) != 0)
			abort();
	}
	if (swim_claim_register(s, 1, 4, true) != 0 || swim_claim_register(s, 2, 2, false) != 0)
		abort();
}

static void
fuzz_check(const struct swim *s, size_t bound, bool left, uint64_t now, uint64_t next)
{
	size_t n = swim_count(s);
	const struct swim_member *m;

	if (next <= now || n == 0 || n > bound)
		abort();
	m = swim_member_at(s, 0);
	if (m != swim_self(s) || m->id != FUZZ_SELF || m->state != (left ? SWIM_LEFT : SWIM_ALIVE))
		abort();
	for (size_t i = 0; i < n; i++) {
		m = swim_member_at(s, i);
		if (m->id == 0 || (unsigned)m->state > SWIM_LEFT || swim_find(s, m->id) != m ||
		    memchr(m->name, '\0', SWIM_NAME_MAX) == NULL)
			abort();
	}
	if (swim_member_at(s, n) != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx c = { 0x9e3779b97f4a7c15ULL, 0, 0 };
	struct swim_ops ops = { .send = fuzz_send,
				.event = fuzz_event,
				.random = fuzz_random,
				.sign = fuzz_sign,
				.verify = fuzz_verify,
				.claim = fuzz_claim };
	static const uint8_t key[32] = { 9 };
	struct swim_config cfg;
	struct swim_addr self = fuzz_addr(200), from;
	struct swim *s;
	uint64_t now = 1000000, next, id;
	size_t off = 0, len, bound = 1 + FUZZ_MEMBERS;
	bool left = false;

	swim_config_default(&cfg);
	c.max_payload = cfg.max_payload;
	if ((s = swim_new(&cfg, &ops, &c, FUZZ_SELF, 500, &self, "fuzz", key, now)) == NULL)
		abort();
	fuzz_populate(s, now);
	while (size - off >= 3) {
		uint8_t type = data[off], who = data[off + 1];

		len = data[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		id = fuzz_ids[who & 7];
		from = fuzz_addr(id == 0 ? 9 : id);
		if (who & 8)
			(void)swim_tick(s, now += (uint64_t)(who >> 4) * 97);
		if (type == 0xff && (who & 0x80)) {
			swim_leave(s, now);
			left = true;
		} else {
			swim_on_message(s, id, &from, type, data + off, len, now);
		}
		/* each record may introduce one member (after its ping) */
		bound += len / SWIM_RECORD_MIN_LEN;
		off += len;
		next = swim_tick(s, now);
		fuzz_check(s, bound, left, now, next);
	}
	/* let every timer run out: suspicions expire, the dead are reaped */
	for (int i = 0; i < 200; i++) {
		now += 997;
		next = swim_tick(s, now);
		fuzz_check(s, bound, left, now, next);
	}
	swim_free(s);
	return 0;
}
