/*
 * wire_send: a test tool that sends envelopes to a running agent, good ones
 * and every kind of bad one, so the integration tests can check that the
 * agent rejects and counts each by reason. Not installed; loopback only.
 *
 *   wire_send -k KEYRING -c CLUSTER -t 127.0.0.1:PORT -n NODE [-r ID] [-o MS] ACTION=COUNT...
 *
 * Datagrams are sealed for the target's address (a first contact), or for
 * node ID with -r; -o shifts the sender's clock by MS milliseconds (negative:
 * behind), so that stamps can be made stale or from the future.
 *
 * ACTION is valid, replay (resend the last valid datagram), tamper (flip a
 * payload byte: the tag fails), badsig (flip a byte and re-tag it: only the
 * signature fails), junk (random bytes after a plausible header),
 * truncated, oversized, wrong-cluster, unknown-key, bad-magic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "keyring.h"
#include "util.h"
#include "wire.h"

#define MAX_SENDS 100000

static int sock = -1;
static struct sockaddr_in dest;
static struct wire_addr dest_addr;
static uint64_t dest_id;
static int64_t clock_offset_ms;

static uint64_t
wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 + clock_offset_ms);
}

/* Seals one datagram for the target (its id with -r, else its address). */
static void
seal(struct wire_sender *s, const char *payload, size_t len, uint8_t *out, size_t *n)
{
	if (wire_encode(s, 1, payload, len, dest_id, &dest_addr, wall_ms(), out, 2048, n) != 0) {
		fprintf(stderr, "wire_send: cannot seal\n");
		exit(1);
	}
}

static void
send_dgram(const uint8_t *buf, size_t len)
{
	if (sendto(sock, buf, len, 0, (struct sockaddr *)&dest, sizeof(dest)) < 0) {
		fprintf(stderr, "wire_send: sendto: %s\n", strerror(errno));
		exit(1);
	}
	/* Pace a little so the receiver's socket buffer never overflows. */
	usleep(200);
}

/* Recomputes the trailing tag the way the receiver checks it (docs/protocol.md):
 * over the binding (the target's id, or its address) and the datagram. */
static void
retag(uint8_t *buf, size_t len, const struct keyring_key *k)
{
	crypto_generichash_state st;
	uint8_t bind[19];
	size_t blen;

	memset(bind, 0, sizeof(bind));
	if (dest_id != 0) {
		for (int i = 0; i < 8; i++)
			bind[i] = (uint8_t)(dest_id >> (56 - 8 * i));
		blen = 8;
	} else {
		bind[0] = 4;
		memcpy(bind + 1, dest_addr.ip, 4);
		bind[17] = (uint8_t)(dest_addr.port >> 8);
		bind[18] = (uint8_t)dest_addr.port;
		blen = 19;
	}
	crypto_generichash_init(&st, k->tag_key, sizeof(k->tag_key), WIRE_TAG_LEN);
	crypto_generichash_update(&st, bind, blen);
	crypto_generichash_update(&st, buf, len - WIRE_TAG_LEN);
	crypto_generichash_final(&st, buf + len - WIRE_TAG_LEN, WIRE_TAG_LEN);
}

static struct keyring *
load_ring(const char *path)
{
	struct keyring *kr;
	char err[512];

	if (keyring_load(path, &kr, err, sizeof(err)) != 0) {
		fprintf(stderr, "wire_send: %s\n", err);
		exit(1);
	}
	return kr;
}

static struct keyring *
fresh_ring(void)
{
	struct keyring *kr;
	char text[1024], err[256];

	if (keyring_generate(text, sizeof(text), "now") != 0 ||
	    keyring_parse(text, strlen(text), "fresh", &kr, err, sizeof(err)) != 0) {
		fprintf(stderr, "wire_send: cannot make a fresh keyring\n");
		exit(1);
	}
	sodium_memzero(text, sizeof(text));
	return kr;
}

int
main(int argc, char **argv)
{
	const char *keyfile = NULL, *cluster = NULL, *target = NULL;
	uint64_t node = 0;
	struct keyring *kr, *other;
	struct wire_sender s, s_other_cluster, s_other_key;
	uint8_t dgram[2048], last[WIRE_MAX_DATAGRAM];
	const char payload[] = "wire_send test payload";
	size_t n, lastlen = 0;
	char host[64];
	uint16_t port;
	int c;

	while ((c = getopt(argc, argv, "k:c:t:n:r:o:")) != -1) {
		if (c == 'k')
			keyfile = optarg;
		else if (c == 'c')
			cluster = optarg;
		else if (c == 't')
			target = optarg;
		else if (c == 'n')
			node = strtoull(optarg, NULL, 10);
		else if (c == 'r')
			dest_id = strtoull(optarg, NULL, 10);
		else if (c == 'o')
			clock_offset_ms = strtoll(optarg, NULL, 10);
		else
			return 2;
	}
	if (keyfile == NULL || cluster == NULL || target == NULL || node == 0 || sodium_init() < 0)
		return 2;
	if (util_parse_hostport(target, 0, host, sizeof(host), &port) != 0 ||
	    strncmp(host, "127.", 4) != 0) {
		fprintf(stderr, "wire_send: target must be 127.x.x.x:PORT\n");
		return 2;
	}
	memset(&dest, 0, sizeof(dest));
	dest.sin_family = AF_INET;
	dest.sin_port = htons(port);
	inet_pton(AF_INET, host, &dest.sin_addr);
	dest_addr.family = 4;
	memcpy(dest_addr.ip, &dest.sin_addr, 4);
	dest_addr.port = port;
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	kr = load_ring(keyfile);
	other = fresh_ring();
	wire_sender_init(&s, kr, wire_cluster_id(cluster), node);
	wire_sender_init(&s_other_cluster, kr, wire_cluster_id("another-cluster"), node);
	wire_sender_init(&s_other_key, other, wire_cluster_id(cluster), node);
	/* Signed, so that "badsig" has a signature to break; "plain" sends
	 * valid datagrams without one (the agents' default). */
	s.sign = s_other_cluster.sign = s_other_key.sign = true;

	for (int i = optind; i < argc; i++) {
		char action[32];
		int count;

		if (sscanf(argv[i], "%31[a-z-]=%d", action, &count) != 2 || count < 0 ||
		    count > MAX_SENDS) {
			fprintf(stderr, "wire_send: bad action '%s'\n", argv[i]);
			return 2;
		}
		for (int k = 0; k < count; k++) {
			if (strcmp(action, "replay") == 0) {
				if (lastlen == 0)
					return 2;
				send_dgram(last, lastlen);
				continue;
			}
			if (strcmp(action, "wrong-cluster") == 0)
				seal(&s_other_cluster, payload, sizeof(payload), dgram, &n);
			else if (strcmp(action, "unknown-key") == 0)
				seal(&s_other_key, payload, sizeof(payload), dgram, &n);
			else {
				s.sign = strcmp(action, "plain") != 0;
				seal(&s, payload, sizeof(payload), dgram, &n);
				s.sign = true;
			}
			if (strcmp(action, "valid") == 0 || strcmp(action, "plain") == 0) {
				memcpy(last, dgram, n);
				lastlen = n;
			} else if (strcmp(action, "tamper") == 0) {
				dgram[WIRE_HEADER_LEN] ^= 0x01;
			} else if (strcmp(action, "badsig") == 0) {
				dgram[WIRE_HEADER_LEN] ^= 0x01;
				retag(dgram, n, keyring_primary(kr));
			} else if (strcmp(action, "junk") == 0) {
				randombytes_buf(dgram + WIRE_HEADER_LEN, n - WIRE_HEADER_LEN);
			} else if (strcmp(action, "truncated") == 0) {
				n = WIRE_OVERHEAD - 1 - (size_t)(k % 20);
			} else if (strcmp(action, "oversized") == 0) {
				n = WIRE_MAX_DATAGRAM + 1 + (size_t)k % 100;
			} else if (strcmp(action, "bad-magic") == 0) {
				dgram[0] ^= 0xff;
			} else if (strcmp(action, "wrong-cluster") != 0 &&
				   strcmp(action, "unknown-key") != 0) {
				fprintf(stderr, "wire_send: unknown action '%s'\n", action);
				return 2;
			}
			send_dgram(dgram, n);
		}
		printf("sent %s %d\n", action, count);
	}
	keyring_free(kr);
	keyring_free(other);
	close(sock);
	return 0;
}
