/*
 * swim_inject: a member that lies. A test tool holding the cluster keyring (so
 * its datagrams pass the envelope) and a node key of its own (so its own
 * claims are validly signed), which sends a running agent the attacks of
 * docs/protocol.md's threat model, so the integration tests (attacks.sh) can
 * check that each one is refused. Not installed; loopback only.
 *
 *   swim_inject -k KEYRING -c CLUSTER -t 127.0.0.1:PORT -n ID [-r TO_ID] ACTION ARGS...
 *
 * -n is the node id the envelope claims (any: the cluster key lets a member
 * claim any); -r seals for that receiver id (else for the target's address).
 * ACTION:
 *   replay-pushpull B_ID   a push-pull request sealed as node -n for node
 *                          B_ID (a capture of -n -> B_ID), sent to the
 *                          target, which is not B_ID; then listens 2 s
 *   accuse ID STATE INC    ID is STATE (suspect, dead) at INC ("max": 2^64-1)
 *   left ID INC            a LEFT claim of ID, signed with our key
 *   alive ID INC HOST:PORT an ALIVE claim of ID at another address, signed
 *                          with our key
 *   load ID VERSION CPU    a load sample of ID (CPU in per mille), our key
 *   stamp OFFSET_MS|max    an empty GOSSIP whose stamp is our clock + OFFSET
 *                          (the envelope claims node -n)
 *   fake-members COUNT     COUNT invented members, each with a key of its
 *                          own and a valid self-signature, at addresses
 *                          where nothing listens (127.0.99.x:9)
 *   amplify COUNT          COUNT push-pull requests from our socket, each
 *                          with another envelope id; then listens 2 s
 *   who COUNT              COUNT "who are you" requests, rotating ids
 * Listening actions print "replies N bytes M sent S": datagrams and bytes
 * received back, and bytes sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "keyring.h"
#include "nodekey.h"
#include "swim.h"
#include "swim_codec.h"
#include "util.h"
#include "wire.h"

#define INJECT_MAX 100000

static int sock = -1;
static struct sockaddr_in dest;
static struct wire_addr dest_addr;
static uint64_t dest_id, cluster;
static struct wire_sender sender;
static struct nodekey key;
static uint64_t bytes_sent;

static uint64_t
wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void
die(const char *msg)
{
	fprintf(stderr, "swim_inject: %s\n", msg);
	exit(2);
}

/* Seals payload[0, len) as message `type` for `to_id` (0: the target's
 * address) and sends it to the target. */
static void
send_sealed(uint8_t type, const uint8_t *payload, size_t len, uint64_t to_id)
{
	uint8_t dgram[WIRE_MAX_DATAGRAM];
	size_t n = 0;

	if (wire_encode(&sender, type, payload, len, to_id, &dest_addr, wall_ms(), dgram,
			sizeof(dgram), &n) != 0)
		die("cannot seal");
	if (sendto(sock, dgram, n, 0, (struct sockaddr *)&dest, sizeof(dest)) < 0)
		die("sendto failed");
	bytes_sent += n;
	usleep(300); /* pace: the receiver's socket buffer must not overflow */
}

/* Signs a MEMBER, LOAD or APP record with `k`. */
static void
sign_rec(struct swim_record *r, const struct nodekey *k)
{
	uint8_t msg[SWIM_SIGNED_MAX];

	nodekey_sign(k, msg, swim_codec_signed(cluster, r, k->pk, msg), r->sig);
}

/* One GOSSIP carrying `n` records. */
static void
send_records(const struct swim_record *r, size_t n)
{
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
	uint8_t buf[WIRE_MAX_PAYLOAD];
	struct swim_writer w;

	if (swim_codec_begin(&w, buf, sizeof(buf), &h) != 0)
		die("codec");
	for (size_t i = 0; i < n; i++)
		if (swim_codec_add(&w, &r[i]) != 0)
			die("record does not fit");
	send_sealed(SWIM_MSG_GOSSIP, buf, swim_codec_end(&w), dest_id);
}

static uint64_t
parse_u64(const char *s)
{
	return strcmp(s, "max") == 0 ? UINT64_MAX : strtoull(s, NULL, 10);
}

static void
parse_addr(const char *s, struct swim_addr *a)
{
	char host[64];
	uint16_t port;

	memset(a, 0, sizeof(*a));
	if (util_parse_hostport(s, 0, host, sizeof(host), &port) != 0 ||
	    inet_pton(AF_INET, host, a->ip) != 1)
		die("bad HOST:PORT");
	a->family = 4;
	a->port = port;
}

/* Counts what comes back for `ms` milliseconds. */
static void
listen_replies(int ms)
{
	uint64_t end = wall_ms() + (uint64_t)ms, n = 0, bytes = 0;
	uint8_t buf[2048];
	struct pollfd p = { sock, POLLIN, 0 };

	while (wall_ms() < end) {
		if (poll(&p, 1, (int)(end - wall_ms())) <= 0)
			continue;
		ssize_t got = recv(sock, buf, sizeof(buf), 0);

		if (got > 0) {
			n++;
			bytes += (uint64_t)got;
		}
	}
	printf("replies %llu bytes %llu sent %llu\n", (unsigned long long)n,
	       (unsigned long long)bytes, (unsigned long long)bytes_sent);
}

/* A push-pull request: DIGEST asking for an answer, empty (we hold nothing). */
static void
send_pushpull(uint64_t to_id)
{
	struct swim_msg h = {
		.type = SWIM_MSG_DIGEST, .flags = SWIM_DIGEST_ANSWER, .lo = 1, .hi = UINT64_MAX
	};
	uint8_t buf[64];
	struct swim_writer w;

	if (swim_codec_begin(&w, buf, sizeof(buf), &h) != 0)
		die("codec");
	send_sealed(SWIM_MSG_DIGEST, buf, swim_codec_end(&w), to_id);
}

static void
act_accuse(char **argv)
{
	struct swim_record r;

	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_ACCUSE;
	r.id = parse_u64(argv[0]);
	r.state = strcmp(argv[1], "dead") == 0 ? SWIM_DEAD : SWIM_SUSPECT;
	r.incarnation = parse_u64(argv[2]);
	r.from = sender.node_id;
	send_records(&r, 1);
}

/* A MEMBER claim about someone else, signed with our key (a forgery). */
static void
act_claim(uint64_t id, enum swim_state st, uint64_t inc, const char *at)
{
	struct swim_record r;

	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_MEMBER;
	r.id = id;
	r.state = st;
	r.incarnation = inc;
	if (at != NULL)
		parse_addr(at, &r.addr);
	else
		parse_addr("127.0.99.1:9", &r.addr);
	snprintf(r.name, sizeof(r.name), "liar");
	sign_rec(&r, &key);
	send_records(&r, 1);
	/* The same with our key in it: another key for a pinned id. */
	r.has_key = true;
	memcpy(r.key, key.pk, sizeof(r.key));
	send_records(&r, 1);
}

static void
act_load(char **argv)
{
	struct swim_record r;

	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_LOAD;
	r.id = parse_u64(argv[0]);
	r.load.version = (uint32_t)parse_u64(argv[1]);
	r.load.cpu_permille = (uint16_t)parse_u64(argv[2]);
	sign_rec(&r, &key);
	send_records(&r, 1);
}

static void
act_stamp(const char *off)
{
	uint8_t payload[2] = { SWIM_CODEC_VERSION, 0 }; /* an empty GOSSIP */
	uint64_t t = wall_ms();

	if (strcmp(off, "max") == 0)
		sender.last_stamp = UINT64_MAX - 1;
	else
		t = (uint64_t)((int64_t)t + strtoll(off, NULL, 10));
	/* wire_encode takes max(last + 1, t << 12). */
	{
		uint8_t dgram[WIRE_MAX_DATAGRAM];
		size_t n = 0;

		if (wire_encode(&sender, SWIM_MSG_GOSSIP, payload, sizeof(payload), dest_id,
				&dest_addr, t, dgram, sizeof(dgram), &n) != 0)
			die("cannot seal");
		if (sendto(sock, dgram, n, 0, (struct sockaddr *)&dest, sizeof(dest)) < 0)
			die("sendto failed");
	}
}

/* COUNT invented members, 8 to a datagram, each signed by its own fresh key. */
static void
act_fake_members(uint64_t count)
{
	struct swim_record r[8];
	struct nodekey k;
	uint8_t seed[32];
	uint64_t id = 900000000, done = 0;

	while (done < count) {
		size_t n = 0;

		for (; n < 8 && done < count; n++, done++, id++) {
			memset(&r[n], 0, sizeof(r[n]));
			randombytes_buf(seed, sizeof(seed));
			nodekey_from_seed(seed, &k);
			r[n].kind = SWIM_REC_MEMBER;
			r[n].id = id;
			r[n].incarnation = wall_ms();
			r[n].state = SWIM_ALIVE;
			r[n].addr.family = 4;
			r[n].addr.ip[0] = 127;
			r[n].addr.ip[2] = 99;
			r[n].addr.ip[3] = (uint8_t)(1 + id % 250);
			r[n].addr.port = 9;
			snprintf(r[n].name, sizeof(r[n].name), "fake-%llu", (unsigned long long)id);
			r[n].has_key = true;
			memcpy(r[n].key, k.pk, sizeof(k.pk));
			sign_rec(&r[n], &k);
		}
		send_records(r, n);
	}
	sodium_memzero(&k, sizeof(k));
}

/* COUNT requests, each from another claimed id, all from our socket. */
static void
act_rotate(uint64_t count, bool who)
{
	static const uint8_t who_payload[3] = { SWIM_CODEC_VERSION, SWIM_STATE_WHO, 0 };

	for (uint64_t i = 0; i < count; i++) {
		sender.node_id = 800000000 + i;
		if (who)
			send_sealed(SWIM_MSG_STATE, who_payload, sizeof(who_payload), dest_id);
		else
			send_pushpull(dest_id);
	}
	listen_replies(2000);
}

static int
run(int argc, char **argv)
{
	const char *a = argv[0];

	if (strcmp(a, "replay-pushpull") == 0 && argc >= 2) {
		send_pushpull(parse_u64(argv[1])); /* sealed for B, sent to the target */
		listen_replies(2000);
	} else if (strcmp(a, "accuse") == 0 && argc >= 4) {
		act_accuse(argv + 1);
	} else if (strcmp(a, "left") == 0 && argc >= 3) {
		act_claim(parse_u64(argv[1]), SWIM_LEFT, parse_u64(argv[2]), NULL);
	} else if (strcmp(a, "alive") == 0 && argc >= 4) {
		act_claim(parse_u64(argv[1]), SWIM_ALIVE, parse_u64(argv[2]), argv[3]);
	} else if (strcmp(a, "load") == 0 && argc >= 4) {
		act_load(argv + 1);
	} else if (strcmp(a, "stamp") == 0 && argc >= 2) {
		act_stamp(argv[1]);
	} else if (strcmp(a, "fake-members") == 0 && argc >= 2) {
		act_fake_members(parse_u64(argv[1]) > INJECT_MAX ? INJECT_MAX : parse_u64(argv[1]));
	} else if ((strcmp(a, "amplify") == 0 || strcmp(a, "who") == 0) && argc >= 2) {
		act_rotate(parse_u64(argv[1]) > INJECT_MAX ? INJECT_MAX : parse_u64(argv[1]),
			   strcmp(a, "who") == 0);
	} else {
		die("unknown action or missing arguments (see the comment atop swim_inject.c)");
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *keyfile = NULL, *name = NULL, *target = NULL;
	struct keyring *kr;
	uint64_t node = 0;
	char err[512], host[64];
	uint8_t seed[32];
	uint16_t port;
	int c;

	while ((c = getopt(argc, argv, "k:c:t:n:r:")) != -1) {
		if (c == 'k')
			keyfile = optarg;
		else if (c == 'c')
			name = optarg;
		else if (c == 't')
			target = optarg;
		else if (c == 'n')
			node = strtoull(optarg, NULL, 10);
		else if (c == 'r')
			dest_id = strtoull(optarg, NULL, 10);
		else
			return 2;
	}
	if (keyfile == NULL || name == NULL || target == NULL || node == 0 || optind >= argc ||
	    sodium_init() < 0)
		die("usage: swim_inject -k KEYRING -c CLUSTER -t 127.0.0.1:PORT -n ID [-r TO] "
		    "ACTION");
	if (util_parse_hostport(target, 0, host, sizeof(host), &port) != 0 ||
	    strncmp(host, "127.", 4) != 0)
		die("target must be 127.x.x.x:PORT");
	if (keyring_load(keyfile, &kr, err, sizeof(err)) != 0)
		die(err);
	memset(&dest, 0, sizeof(dest));
	dest.sin_family = AF_INET;
	dest.sin_port = htons(port);
	inet_pton(AF_INET, host, &dest.sin_addr);
	dest_addr.family = 4;
	memcpy(dest_addr.ip, &dest.sin_addr, 4);
	dest_addr.port = port;
	if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		die("socket");
	cluster = wire_cluster_id(name);
	wire_sender_init(&sender, kr, cluster, node);
	randombytes_buf(seed, sizeof(seed));
	nodekey_from_seed(seed, &key);
	sodium_memzero(seed, sizeof(seed));
	c = run(argc - optind, argv + optind);
	keyring_free(kr);
	sodium_memzero(&key, sizeof(key));
	close(sock);
	return c;
}
