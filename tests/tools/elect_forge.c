/*
 * elect_forge: a test tool that sends one crafted election message (docs/
 * election.md, "Messages") to a running agent, sealed in a valid envelope of
 * the cluster, so the integration tests can check that forged votes are
 * refused and counted by reason. Not installed; loopback only.
 *
 *   elect_forge -k KEYRING -c CLUSTER -t IP:PORT -r TO -f FROM -s SID
 *               (-K NODE_KEY_FILE | -R) -T TYPE -e TERM [-q REQ_TERM] [-g] [-p] [-n COUNT]
 *
 * TYPE is prevote, vote, vote-resp or append-resp. The message claims to come
 * from node FROM with state id SID (hex) in term TERM and is signed with the
 * node key in NODE_KEY_FILE (a node.key from a state_dir), or with a random
 * key (-R: a forgery). -g sets GRANT (vote-resp) or SUCCESS (append-resp),
 * -p sets PRE (vote-resp answering a pre-vote), -q the term a vote-resp
 * answers. COUNT copies (default 1), 50 ms apart, each in its own envelope.
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

#include "elect_msg.h"
#include "keyring.h"
#include "nodekey.h"
#include "util.h"
#include "wire.h"

struct forge {
	const char *keyring, *cluster, *target, *keyfile;
	uint64_t to, from, sid, term, req_term;
	bool random_key, grant, pre;
	unsigned count;
	uint8_t type;
};

static void
usage(void)
{
	fprintf(stderr, "usage: elect_forge -k KEYRING -c CLUSTER -t IP:PORT -r TO -f FROM -s SID "
			"(-K NODE_KEY | -R) -T prevote|vote|vote-resp|append-resp -e TERM "
			"[-q REQ_TERM] [-g] [-p] [-n COUNT]\n");
	exit(2);
}

static uint64_t
num(const char *s, int base)
{
	char *end;
	unsigned long long v = strtoull(s, &end, base);

	if (*s == '\0' || *end != '\0')
		usage();
	return (uint64_t)v;
}

static uint8_t
type_of(const char *s)
{
	static const struct {
		const char *name;
		uint8_t type;
	} t[] = { { "prevote", ELECT_MSG_PREVOTE },
		  { "vote", ELECT_MSG_VOTE },
		  { "vote-resp", ELECT_MSG_VOTE_RESP },
		  { "append-resp", ELECT_MSG_APPEND_RESP } };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0)
			return t[i].type;
	usage();
	return 0;
}

static void
parse(int argc, char **argv, struct forge *f)
{
	int c;

	memset(f, 0, sizeof(*f));
	f->count = 1;
	while ((c = getopt(argc, argv, "k:c:t:r:f:s:K:RT:e:q:gpn:")) != -1) {
		switch (c) {
		case 'k':
			f->keyring = optarg;
			break;
		case 'c':
			f->cluster = optarg;
			break;
		case 't':
			f->target = optarg;
			break;
		case 'r':
			f->to = num(optarg, 10);
			break;
		case 'f':
			f->from = num(optarg, 10);
			break;
		case 's':
			f->sid = num(optarg, 16);
			break;
		case 'K':
			f->keyfile = optarg;
			break;
		case 'R':
			f->random_key = true;
			break;
		case 'T':
			f->type = type_of(optarg);
			break;
		case 'e':
			f->term = num(optarg, 10);
			break;
		case 'q':
			f->req_term = num(optarg, 10);
			break;
		case 'g':
			f->grant = true;
			break;
		case 'p':
			f->pre = true;
			break;
		case 'n':
			f->count = (unsigned)num(optarg, 10);
			break;
		default:
			usage();
		}
	}
	if (!f->keyring || !f->cluster || !f->target || !f->to || !f->from || !f->sid || !f->type ||
	    (!f->keyfile && !f->random_key) || f->count == 0 || f->count > 100)
		usage();
}

/* The signing key: the node's own (from its node.key) or a random one. */
static void
signing_key(const struct forge *f, struct nodekey *k)
{
	char text[1024];
	size_t n;
	FILE *fp;

	if (f->random_key) {
		crypto_sign_keypair(k->pk, k->sk);
		return;
	}
	if ((fp = fopen(f->keyfile, "r")) == NULL) {
		perror(f->keyfile);
		exit(1);
	}
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	if (nodekey_parse(text, n, k) != 0) {
		fprintf(stderr, "elect_forge: %s: not a node key\n", f->keyfile);
		exit(1);
	}
}

static size_t
build(const struct forge *f, const struct nodekey *k, uint8_t *out, size_t size)
{
	struct elect_msg m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = f->type;
	m.from = f->from;
	m.from_sid = f->sid;
	m.to = f->to;
	m.term = f->term;
	if (f->type == ELECT_MSG_VOTE_RESP) {
		m.flags = (f->grant ? ELECT_F_GRANT : 0) | (f->pre ? ELECT_F_PRE : 0);
		m.req_term = f->req_term ? f->req_term : f->term;
	} else if (f->type == ELECT_MSG_APPEND_RESP) {
		m.flags = f->grant ? ELECT_F_SUCCESS : 0;
	} else {
		m.last_index = UINT32_MAX; /* an up-to-date log, so only the checks refuse it */
		m.last_term = f->term;
	}
	if (elect_msg_encode(&m, k->sk, out, size, &len) != 0) {
		fprintf(stderr, "elect_forge: cannot encode the message\n");
		exit(1);
	}
	return len;
}

static uint64_t
wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

int
main(int argc, char **argv)
{
	struct forge f;
	struct keyring *kr = NULL;
	struct wire_sender s;
	struct sockaddr_in dest;
	struct nodekey k;
	uint8_t msg[ELECT_MSG_MAX], dgram[2048];
	char err[512], host[64];
	uint16_t port;
	size_t len, n;
	int sock;

	parse(argc, argv, &f);
	if (sodium_init() < 0 || keyring_load(f.keyring, &kr, err, sizeof(err)) != 0) {
		fprintf(stderr, "elect_forge: %s\n", err);
		return 1;
	}
	if (util_parse_hostport(f.target, 7950, host, sizeof(host), &port) != 0)
		usage();
	memset(&dest, 0, sizeof(dest));
	dest.sin_family = AF_INET;
	dest.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &dest.sin_addr) != 1)
		usage();
	signing_key(&f, &k);
	len = build(&f, &k, msg, sizeof(msg));
	wire_sender_init(&s, kr, wire_cluster_id(f.cluster), f.from);
	/* A few ms ahead of the real node's stamps, so its replay window takes ours. */
	s.last_stamp = (wall_ms() + 5) << WIRE_STAMP_SHIFT;
	if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
		perror("socket");
		return 1;
	}
	for (unsigned i = 0; i < f.count; i++) {
		if (wire_encode(&s, ELECT_WIRE_TYPE, msg, len, f.to, NULL, wall_ms() + 5, dgram,
				sizeof(dgram), &n) != 0 ||
		    sendto(sock, dgram, n, 0, (struct sockaddr *)&dest, sizeof(dest)) < 0) {
			perror("elect_forge: send");
			return 1;
		}
		if (i + 1 < f.count)
			usleep(50000);
	}
	close(sock);
	sodium_memzero(&k, sizeof(k));
	keyring_free(kr);
	return 0;
}
