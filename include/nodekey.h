/*
 * nodekey: this node's own Ed25519 key pair, made at first boot and kept in
 * the state directory (file `node.key`, mode 0600), and the sign and verify
 * calls every signed structure of the cluster uses: member records, load
 * samples, application claims, and (issue 11) votes and lease grants.
 *
 * Unlike the cluster keyring, which every node shares, a node key is one
 * node's alone: a signature by it proves that this node said it. Peers learn
 * the public key from the node's own member record and pin it per node id
 * (docs/protocol.md, "Node keys").
 *
 * File format, one line each, '#' comment lines allowed:
 *     # mitosis node key of droplet 1234, public key 3f8a...(64 hex)
 *     seed <base64 of the 32-byte Ed25519 seed>
 * The secret lives only in struct nodekey, whose nodekey_free() wipes it;
 * nothing here prints it.
 */
#ifndef NODEKEY_H
#define NODEKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODEKEY_PK_LEN	32
#define NODEKEY_SK_LEN	64
#define NODEKEY_SIG_LEN 64
#define NODEKEY_FILE	"node.key"
#define NODEKEY_FPR_LEN 16 /* hex digits of a fingerprint */

struct statedir;

struct nodekey {
	uint8_t pk[NODEKEY_PK_LEN];
	uint8_t sk[NODEKEY_SK_LEN];
};

/*
 * Loads node.key from `sd`, or makes a new key pair and writes it when the
 * file does not exist (*created says which; may be NULL). A file that exists
 * but does not parse is an error, never silently replaced. Returns 0 and a
 * new key (caller frees), or -errno with err filled ("PATH/node.key: ...").
 * sodium_init() must have succeeded before.
 */
int nodekey_load_or_create(const struct statedir *sd, struct nodekey **out, bool *created,
			   char *err, size_t errsize);

/* Parses the text of a node.key file (for tests and the fuzzer). 0 or -EINVAL. */
int nodekey_parse(const char *text, size_t len, struct nodekey *out);

/* A key pair from a 32-byte seed (tests, simulators). */
void nodekey_from_seed(const uint8_t seed[32], struct nodekey *out);

/* Ed25519 (RFC 8032, pure) signature of msg[0, len). */
void nodekey_sign(const struct nodekey *k, const uint8_t *msg, size_t len,
		  uint8_t sig[NODEKEY_SIG_LEN]);
/* 0 when sig is pk's signature of msg[0, len), else -EBADMSG. */
int nodekey_verify(const uint8_t pk[NODEKEY_PK_LEN], const uint8_t *msg, size_t len,
		   const uint8_t sig[NODEKEY_SIG_LEN]);

/* The first 8 bytes of BLAKE2b-256(pk) in hex: how logs and status name a key. */
void nodekey_fingerprint(const uint8_t pk[NODEKEY_PK_LEN], char out[NODEKEY_FPR_LEN + 1]);

/* Wipes and frees. Accepts NULL. */
void nodekey_free(struct nodekey *k);

#endif
