/*
 * wire_send: a test tool that sends envelopes to a running agent, good ones
 * and every kind of bad one, so the integration tests can check that the
 * agent rejects and counts each by reason. Not installed; loopback only.
 *
 *   wire_send -k KEYRING -c CLUSTER -t 127.0.0.1:PORT -n NODE [-i INC] ACTION=COUNT...
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
#include <unistd.h>

#include <sodium.h>

#include "keyring.h"
#include "util.h"
#include "wire.h"

#define MAX_SENDS 100000

static int sock = -1;
static struct sockaddr_in dest;

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

/* Recomputes the trailing tag the way the receiver checks it (docs/protocol.md). */
static void
retag(uint8_t *buf, size_t len, const struct keyring_key *k)
{
	crypto_generichash(buf + len - WIRE_TAG_LEN, WIRE_TAG_LEN, buf, len - WIRE_TAG_LEN,
			   k->tag_key, sizeof(k->tag_key));
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
	uint64_t node = 0, inc = 1;
	struct keyring *kr, *other;
	struct wire_sender s, s_other_cluster, s_other_key;
	uint8_t dgram[2048], last[WIRE_MAX_DATAGRAM];
	const char payload[] = "wire_send test payload";
	size_t n, lastlen = 0;
	char host[64];
	uint16_t port;
	int c;

	while ((c = getopt(argc, argv, "k:c:t:n:i:")) != -1) {
		if (c == 'k')
			keyfile = optarg;
		else if (c == 'c')
			cluster = optarg;
		else if (c == 't')
			target = optarg;
		else if (c == 'n')
			node = strtoull(optarg, NULL, 10);
		else if (c == 'i')
			inc = strtoull(optarg, NULL, 10);
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
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	kr = load_ring(keyfile);
	other = fresh_ring();
	wire_sender_init(&s, kr, wire_cluster_id(cluster), node, inc);
	wire_sender_init(&s_other_cluster, kr, wire_cluster_id("another-cluster"), node, inc);
	wire_sender_init(&s_other_key, other, wire_cluster_id(cluster), node, inc);
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
				wire_encode(&s_other_cluster, 1, payload, sizeof(payload), dgram,
					    sizeof(dgram), &n);
			else if (strcmp(action, "unknown-key") == 0)
				wire_encode(&s_other_key, 1, payload, sizeof(payload), dgram,
					    sizeof(dgram), &n);
			else {
				s.sign = strcmp(action, "plain") != 0;
				wire_encode(&s, 1, payload, sizeof(payload), dgram, sizeof(dgram),
					    &n);
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
