/*
 * nodekey: this node's Ed25519 key (include/nodekey.h). The file holds the
 * 32-byte seed (RFC 8032's private key); the 64-byte libsodium secret key and
 * the public key are derived from it on load, so a file cannot carry a public
 * key that does not match its secret.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "nodekey.h"
#include "statedir.h"

#define NODEKEY_TEXT_MAX 1024
#define NODEKEY_B64_LEN	 44 /* 32 bytes, standard base64 with padding */

_Static_assert(NODEKEY_PK_LEN == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(NODEKEY_SK_LEN == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(NODEKEY_SIG_LEN == crypto_sign_BYTES, "signature size");

void
nodekey_from_seed(const uint8_t seed[32], struct nodekey *out)
{
	crypto_sign_seed_keypair(out->pk, out->sk, seed);
}

/* The `seed` line: exactly "seed" + blanks + 44 base64 characters. */
static int
nodekey_parse_seed(const char *p, size_t n, uint8_t seed[32])
{
	size_t binlen = 0;

	if (n < 5 || memcmp(p, "seed", 4) != 0 || (p[4] != ' ' && p[4] != '\t'))
		return -EINVAL;
	p += 5;
	n -= 5;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	if (n != NODEKEY_B64_LEN ||
	    sodium_base642bin(seed, 32, p, n, NULL, &binlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    binlen != 32)
		return -EINVAL;
	return 0;
}

int
nodekey_parse(const char *text, size_t len, struct nodekey *out)
{
	const char *p = text, *end = text + len;
	uint8_t seed[32];
	int seeds = 0, rc = 0;

	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);

		if (n > 0 && p[0] != '#') {
			if (seeds++ > 0 || nodekey_parse_seed(p, n, seed) != 0)
				rc = -EINVAL;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (rc == 0 && seeds != 1)
		rc = -EINVAL;
	if (rc == 0)
		nodekey_from_seed(seed, out);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* Makes a key and writes its file; the text holding the seed is wiped. */
static int
nodekey_create(const struct statedir *sd, struct nodekey *k, char *err, size_t errsize)
{
	char text[NODEKEY_TEXT_MAX], b64[NODEKEY_B64_LEN + 1], hex[2 * NODEKEY_PK_LEN + 1];
	uint8_t seed[32];
	int n, rc;

	randombytes_buf(seed, sizeof(seed));
	nodekey_from_seed(seed, k);
	sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2hex(hex, sizeof(hex), k->pk, sizeof(k->pk));
	n = snprintf(text, sizeof(text),
		     "# mitosis node key of droplet %" PRIu64 ", public key %s\nseed %s\n",
		     statedir_droplet_id(sd), hex, b64);
	rc = statedir_write(sd, NODEKEY_FILE, text, (size_t)n, err, errsize);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

int
nodekey_load_or_create(const struct statedir *sd, struct nodekey **out, bool *created, char *err,
		       size_t errsize)
{
	char text[NODEKEY_TEXT_MAX];
	struct nodekey *k;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((k = sodium_malloc(sizeof(*k))) == NULL)
		return -ENOMEM;
	rc = statedir_read(sd, NODEKEY_FILE, text, sizeof(text), &len, err, errsize);
	if (created != NULL)
		*created = rc == -ENOENT;
	if (rc == -ENOENT)
		rc = nodekey_create(sd, k, err, errsize);
	else if (rc == 0 && nodekey_parse(text, len, k) != 0) {
		snprintf(err, errsize,
			 "%s/%s: not a node key (expected one 'seed BASE64' line); "
			 "remove the file to make a new key",
			 statedir_path(sd), NODEKEY_FILE);
		rc = -EINVAL;
	}
	sodium_memzero(text, sizeof(text));
	if (rc != 0) {
		nodekey_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

void
nodekey_sign(const struct nodekey *k, const uint8_t *msg, size_t len, uint8_t sig[NODEKEY_SIG_LEN])
{
	crypto_sign_detached(sig, NULL, msg, len, k->sk);
}

int
nodekey_verify(const uint8_t pk[NODEKEY_PK_LEN], const uint8_t *msg, size_t len,
	       const uint8_t sig[NODEKEY_SIG_LEN])
{
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -EBADMSG;
}

void
nodekey_fingerprint(const uint8_t pk[NODEKEY_PK_LEN], char out[NODEKEY_FPR_LEN + 1])
{
	uint8_t h[crypto_generichash_BYTES];

	crypto_generichash(h, sizeof(h), pk, NODEKEY_PK_LEN, NULL, 0);
	sodium_bin2hex(out, NODEKEY_FPR_LEN + 1, h, NODEKEY_FPR_LEN / 2);
}

void
nodekey_free(struct nodekey *k)
{
	if (k == NULL)
		return;
	sodium_free(k); /* wipes before it frees */
}
