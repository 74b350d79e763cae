/*
 * bench_wire: how fast the envelope seals and checks datagrams, and how much
 * cheaper junk is to refuse than a signature is to verify. Prints one
 * "name value" line per figure (datagrams or verifications per second), each
 * measured over about one second of CLOCK_MONOTONIC time:
 *   wire_encode_per_sec             seal a 200-byte payload (tag only, the default)
 *   wire_verify_per_sec             accept a valid datagram (fresh seq each)
 *   wire_encode_signed_per_sec      the same with an Ed25519 signature
 *   wire_verify_signed_per_sec
 *   wire_junk_reject_per_sec        refuse random bytes behind a right header
 *                                   (tag check only, no Ed25519)
 *   wire_forged_tag_reject_per_sec  refuse a valid datagram with one tag bit off
 *   ed25519_verify_per_sec          crypto_sign_verify_detached alone (the floor)
 *   swim_record_sign_per_sec        sign a membership MEMBER record (its signed
 *                                   bytes, then Ed25519), as a node does per
 *                                   refutation, load sample or claim
 *   swim_record_verify_per_sec      decode one signed MEMBER record, rebuild
 *                                   its signed bytes, verify: a receiver's
 *                                   cost per new record (docs/membership.md)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "keyring.h"
#include "swim_codec.h"
#include "wire.h"

#define BENCH_SECONDS	 1.0
#define BENCH_BATCH	 1024
#define BENCH_PAYLOAD	 200
#define BENCH_MAX_ROUNDS 100000 /* bounds every loop even on a stopped clock */
#define BENCH_DGRAM_MAX	 (WIRE_SIGNED_OVERHEAD + BENCH_PAYLOAD)

static uint8_t bench_dgrams[BENCH_BATCH][BENCH_DGRAM_MAX];
static size_t bench_len; /* bytes of each datagram in the batch */
static const uint8_t bench_src[6] = { 127, 0, 0, 1, 0x1e, 0xd2 };
/* A fixed wall clock: the sender borrows ahead of it past 4096 datagrams a
 * millisecond, which the receiver's clock bound allows for 30 s. */
#define BENCH_WALL_MS UINT64_C(1700000000000)
#define BENCH_TO      UINT64_C(2) /* the receiving node */

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_seal_batch(struct wire_sender *s)
{
	uint8_t payload[BENCH_PAYLOAD];
	size_t len;

	memset(payload, 'p', sizeof(payload));
	for (int i = 0; i < BENCH_BATCH; i++)
		if (wire_encode(s, 1, payload, sizeof(payload), BENCH_TO, NULL, BENCH_WALL_MS,
				bench_dgrams[i], BENCH_DGRAM_MAX, &len) != 0)
			abort();
	bench_len = len;
}

static double
bench_encode(struct wire_sender *s)
{
	double start = bench_now(), t = 0;
	uint64_t n = 0;

	for (int round = 0; round < BENCH_MAX_ROUNDS && t < BENCH_SECONDS; round++) {
		bench_seal_batch(s);
		n += BENCH_BATCH;
		t = bench_now() - start;
	}
	return (double)n / t;
}

/* Times wire_receive over the current batch; every verdict must be `want`. */
static double
bench_receive_batch(struct wire_receiver *r, enum wire_verdict want)
{
	double start = bench_now();

	for (int i = 0; i < BENCH_BATCH; i++)
		if (wire_receive(r, bench_dgrams[i], bench_len, bench_src, sizeof(bench_src), 0,
				 BENCH_WALL_MS + 10000, NULL) != want)
			abort();
	return bench_now() - start;
}

static double
bench_verify(struct wire_sender *s, struct wire_receiver *r)
{
	double t = 0;
	uint64_t n = 0;

	/* Sealing is not timed: only the receiver's work counts. */
	for (int round = 0; round < BENCH_MAX_ROUNDS && t < BENCH_SECONDS; round++) {
		bench_seal_batch(s);
		t += bench_receive_batch(r, WIRE_ACCEPT);
		n += BENCH_BATCH;
	}
	return (double)n / t;
}

/* Refusals never touch the replay window, so one batch can be sent again. */
static double
bench_reject(struct wire_receiver *r)
{
	double t = 0;
	uint64_t n = 0;

	for (int round = 0; round < BENCH_MAX_ROUNDS && t < BENCH_SECONDS; round++) {
		t += bench_receive_batch(r, WIRE_DROP_BAD_TAG);
		n += BENCH_BATCH;
	}
	return (double)n / t;
}

/* Random bytes behind a header that passes every check before the tag. */
static void
bench_make_junk(struct wire_sender *s)
{
	bench_seal_batch(s);
	for (int i = 0; i < BENCH_BATCH; i++)
		randombytes_buf(bench_dgrams[i] + 14, bench_len - 14);
}

static void
bench_make_forged(struct wire_sender *s)
{
	bench_seal_batch(s);
	for (int i = 0; i < BENCH_BATCH; i++)
		bench_dgrams[i][bench_len - 1] ^= 1;
}

static double
bench_ed25519(const struct keyring_key *k)
{
	uint8_t msg[WIRE_HEADER_LEN + BENCH_PAYLOAD], sig[crypto_sign_BYTES];
	double start = bench_now(), t = 0;
	uint64_t n = 0;

	randombytes_buf(msg, sizeof(msg));
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), k->sign_sk);
	for (int round = 0; round < BENCH_MAX_ROUNDS && t < BENCH_SECONDS; round++) {
		for (int i = 0; i < 256; i++)
			if (crypto_sign_verify_detached(sig, msg, sizeof(msg), k->sign_pk) != 0)
				abort();
		n += 256;
		t = bench_now() - start;
	}
	return (double)n / t;
}

/* A signed MEMBER record as the core sends it, in buf; returns its length. */
static size_t
bench_member(const struct keyring_key *k, uint64_t cluster, uint8_t *buf, size_t cap)
{
	struct swim_record r = { .kind = SWIM_REC_MEMBER,
				 .id = 1001,
				 .incarnation = BENCH_WALL_MS,
				 .state = SWIM_ALIVE,
				 .has_key = true };
	uint8_t msg[SWIM_SIGNED_MAX];
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
	struct swim_writer w;
	size_t len;

	r.addr.family = 4;
	memcpy(r.addr.ip, bench_src, 4);
	r.addr.port = 7950;
	snprintf(r.name, sizeof(r.name), "bench-node-1001");
	memcpy(r.key, k->sign_pk, SWIM_KEY_LEN);
	len = swim_codec_signed(cluster, &r, r.key, msg);
	crypto_sign_detached(r.sig, NULL, msg, len, k->sign_sk);
	if (swim_codec_begin(&w, buf, cap, &h) != 0 || swim_codec_add(&w, &r) != 0)
		abort();
	return swim_codec_end(&w);
}

static double
bench_record_sign(const struct keyring_key *k, uint64_t cluster)
{
	uint8_t buf[512];
	double start = bench_now(), t = 0;
	uint64_t n = 0;

	for (int round = 0; round < BENCH_MAX_ROUNDS && t < BENCH_SECONDS; round++) {
		for (int i = 0; i < 64; i++)
			(void)bench_member(k, cluster, buf, sizeof(buf));
		n += 64;
		t = bench_now() - start;
	}
	return (double)n / t;
}

static double
bench_record_verify(const struct keyring_key *k, uint64_t cluster)
{
	uint8_t buf[512], msg[SWIM_SIGNED_MAX];
	size_t len = bench_member(k, cluster, buf, sizeof(buf)), off, mlen;
	struct swim_msg m;
	struct swim_record r;
	double start = bench_now(), t = 0;
	uint64_t n = 0;

	for (int round = 0; round < BENCH_MAX_ROUNDS && t < BENCH_SECONDS; round++) {
		for (int i = 0; i < 64; i++) {
			if (swim_codec_decode(SWIM_MSG_GOSSIP, buf, len, &m) != SWIM_CODEC_OK)
				abort();
			off = 0;
			if (swim_codec_record(m.rec, m.rec_len, &off, &r) != SWIM_CODEC_OK)
				abort();
			mlen = swim_codec_signed(cluster, &r, r.key, msg);
			if (crypto_sign_verify_detached(r.sig, msg, mlen, r.key) != 0)
				abort();
		}
		n += 64;
		t = bench_now() - start;
	}
	return (double)n / t;
}

int
main(void)
{
	struct wire_receiver_limits lim;
	struct wire_receiver *r;
	struct keyring *kr = NULL;
	struct wire_sender s;
	char text[512], err[256];
	uint64_t cluster;

	if (sodium_init() < 0 || keyring_generate(text, sizeof(text), "bench") != 0 ||
	    keyring_parse(text, strlen(text), "bench", &kr, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_wire: cannot set up a keyring\n");
		return 1;
	}
	sodium_memzero(text, sizeof(text));
	cluster = wire_cluster_id("bench");
	wire_receiver_limits_default(&lim);
	lim.budget_per_sec = UINT32_MAX; /* measure the checks, not the budget */
	lim.budget_burst = UINT32_MAX;
	if ((r = wire_receiver_new(cluster, BENCH_TO, kr, &lim)) == NULL)
		return 1;
	wire_sender_init(&s, kr, cluster, 1);
	printf("wire_encode_per_sec %.0f\n", bench_encode(&s));
	printf("wire_verify_per_sec %.0f\n", bench_verify(&s, r));
	s.sign = true;
	printf("wire_encode_signed_per_sec %.0f\n", bench_encode(&s));
	printf("wire_verify_signed_per_sec %.0f\n", bench_verify(&s, r));
	s.sign = false;
	bench_make_junk(&s);
	printf("wire_junk_reject_per_sec %.0f\n", bench_reject(r));
	bench_make_forged(&s);
	printf("wire_forged_tag_reject_per_sec %.0f\n", bench_reject(r));
	printf("ed25519_verify_per_sec %.0f\n", bench_ed25519(keyring_primary(kr)));
	printf("swim_record_sign_per_sec %.0f\n", bench_record_sign(keyring_primary(kr), cluster));
	printf("swim_record_verify_per_sec %.0f\n",
	       bench_record_verify(keyring_primary(kr), cluster));
	wire_receiver_free(r);
	keyring_free(kr);
	return 0;
}
