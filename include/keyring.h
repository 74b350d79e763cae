/*
 * keyring: the cluster's signing keys. Every node of a cluster holds the same
 * keyring file; it signs with the primary key and accepts datagrams signed by
 * any key in the ring, so keys rotate without downtime (add the new key as
 * `accept` everywhere, make it `primary` everywhere, then drop the old one).
 *
 * Each key is a 32-byte random secret. From it (libsodium crypto_kdf, context
 * "mitosis_") come: subkey 1 = the Ed25519 seed of the signing key pair, and
 * subkey 2 = the 32-byte key of the cheap BLAKE2b pre-check tag. The key id is
 * the first 4 bytes (big-endian) of BLAKE2b-256 of the Ed25519 public key.
 *
 * File format (docs/protocol.md), one key a line, '#' comments:
 *     primary 8f3a12c4 <base64 of the 32-byte secret>
 *     accept  1b2c3d4e <base64 of the 32-byte secret>
 * The id written on a line must match the id derived from its secret, so a
 * truncated or mistyped key is caught. Exactly one primary; at most
 * KEYRING_MAX_KEYS keys; no id twice.
 *
 * Secrets live only in struct keyring, whose keyring_free() wipes them with
 * sodium_memzero(). Nothing here prints a secret.
 */
#ifndef KEYRING_H
#define KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYRING_SECRET_LEN  32
#define KEYRING_MAX_KEYS    8
#define KEYRING_SIGN_PK_LEN 32
#define KEYRING_SIGN_SK_LEN 64
#define KEYRING_TAG_KEY_LEN 32

struct keyring_key {
	uint32_t id;
	bool primary;
	uint8_t sign_pk[KEYRING_SIGN_PK_LEN];
	uint8_t sign_sk[KEYRING_SIGN_SK_LEN];
	uint8_t tag_key[KEYRING_TAG_KEY_LEN];
};

struct keyring {
	struct keyring_key keys[KEYRING_MAX_KEYS];
	size_t nkeys;
	size_t primary; /* index into keys */
};

/*
 * Parses keyring text. `source` names the file in messages, which read
 * "SOURCE:LINE: message" and never contain secret bytes. Returns 0 and a new
 * keyring (caller frees), -EINVAL with err filled, or -ENOMEM.
 * sodium_init() must have succeeded before.
 */
int keyring_parse(const char *text, size_t len, const char *source, struct keyring **out, char *err,
		  size_t errsize);

/* secfile_read() (owner and mode checks) then keyring_parse(); wipes the
 * buffer it read into. */
int keyring_load(const char *path, struct keyring **out, char *err, size_t errsize);

/*
 * Writes the text of a new keyring with one fresh primary key into buf,
 * NUL-terminated, with a comment line giving its id and `created` (an
 * ISO-8601 time the caller formats). Returns 0, or -ENOSPC when buf is too
 * small (512 bytes suffice). The caller wipes buf.
 */
int keyring_generate(char *buf, size_t size, const char *created);

/* The key with this id, or NULL. */
const struct keyring_key *keyring_find(const struct keyring *kr, uint32_t id);
const struct keyring_key *keyring_primary(const struct keyring *kr);

/* Wipes and frees. Accepts NULL. */
void keyring_free(struct keyring *kr);

#endif
