/*
 * keyring: parses, loads and generates the cluster keyring, and derives from
 * each 32-byte secret its Ed25519 key pair, its tag key and its key id (see
 * include/keyring.h and docs/protocol.md, "Keys").
 *
 * The parser works on (text, len) without copying lines, so no line length
 * limit applies and no secret is left behind in a scratch line buffer; the one
 * scratch buffer that receives decoded secret bytes is wiped on every path.
 * Messages quote only what cannot be a secret: role words made of lower-case
 * letters, ids (public) and counts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keyring.h"
#include "secfile.h"

#define KEYRING_KDF_CONTEXT "mitosis_"
#define KEYRING_SUBKEY_SIGN 1
#define KEYRING_SUBKEY_TAG  2
#define KEYRING_FILE_MAX    4096
/* The longest base64 token we decode to measure a wrong length exactly. */
#define KEYRING_B64_MAX 1024

/* One line of the file, split into at most four whitespace-separated fields
 * (the fourth only tells us there is trailing text). */
struct keyring_line {
	const char *field[4];
	size_t flen[4];
	size_t nfields;
};

/* Parser state shared by the per-line helpers. */
struct keyring_ctx {
	struct keyring *kr;
	const char *source;
	size_t lineno;
	size_t key_line[KEYRING_MAX_KEYS]; /* line of each key, for messages */
	size_t primary_line;		   /* 0: no primary yet */
	char *err;
	size_t errsize;
};

_Static_assert(KEYRING_SECRET_LEN == crypto_kdf_KEYBYTES, "secret is a kdf key");
_Static_assert(KEYRING_SIGN_PK_LEN == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(KEYRING_SIGN_SK_LEN == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(KEYRING_TAG_KEY_LEN == crypto_generichash_KEYBYTES, "tag key size");

static int keyring_fail(struct keyring_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
keyring_fail(struct keyring_ctx *c, const char *fmt, ...)
{
	va_list ap;
	char msg[200];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err != NULL && c->errsize > 0) {
		if (c->lineno > 0)
			snprintf(c->err, c->errsize, "%s:%zu: %s", c->source, c->lineno, msg);
		else
			snprintf(c->err, c->errsize, "%s: %s", c->source, msg);
	}
	return -EINVAL;
}

/*
 * Fills the derived half of `k` from `secret`: crypto_kdf subkey 1 is the
 * Ed25519 seed, subkey 2 the tag key, and the id is the first four bytes of
 * BLAKE2b-256 of the public key. Returns 0, or -EINVAL if libsodium fails.
 */
static int
keyring_derive(const uint8_t secret[KEYRING_SECRET_LEN], struct keyring_key *k)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	uint8_t h[crypto_generichash_BYTES];
	int rc = -EINVAL;

	if (crypto_kdf_derive_from_key(seed, sizeof(seed), KEYRING_SUBKEY_SIGN, KEYRING_KDF_CONTEXT,
				       secret) != 0)
		goto out;
	if (crypto_sign_seed_keypair(k->sign_pk, k->sign_sk, seed) != 0)
		goto out;
	if (crypto_kdf_derive_from_key(k->tag_key, sizeof(k->tag_key), KEYRING_SUBKEY_TAG,
				       KEYRING_KDF_CONTEXT, secret) != 0)
		goto out;
	if (crypto_generichash(h, sizeof(h), k->sign_pk, sizeof(k->sign_pk), NULL, 0) != 0)
		goto out;
	k->id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	rc = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

static bool
keyring_is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Splits [p, end) into fields; a field starting with '#' ends the line. */
static void
keyring_split(const char *p, const char *end, struct keyring_line *l)
{
	l->nfields = 0;
	while (p < end && l->nfields < 4) {
		const char *start;

		while (p < end && keyring_is_space(*p))
			p++;
		if (p == end || *p == '#')
			break;
		start = p;
		while (p < end && !keyring_is_space(*p))
			p++;
		l->field[l->nfields] = start;
		l->flen[l->nfields] = (size_t)(p - start);
		l->nfields++;
	}
}

/* Exactly eight hex digits (either case). */
static bool
keyring_parse_id(const char *s, size_t len, uint32_t *out)
{
	uint32_t v = 0;

	if (len != 8)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

/* Reports an unknown role, quoting it only when it cannot be key material. */
static int
keyring_bad_role(struct keyring_ctx *c, const char *s, size_t len)
{
	bool quotable = len > 0 && len <= 16;

	for (size_t i = 0; quotable && i < len; i++)
		quotable = s[i] >= 'a' && s[i] <= 'z';
	if (quotable)
		return keyring_fail(c, "unknown role '%.*s' (expected primary or accept)", (int)len,
				    s);
	return keyring_fail(c, "unknown role (expected primary or accept)");
}

/* Decodes the base64 secret of a line into secret[]. Returns 0 or -EINVAL. */
static int
keyring_decode_secret(struct keyring_ctx *c, const char *b64, size_t len,
		      uint8_t secret[KEYRING_SECRET_LEN])
{
	uint8_t tmp[KEYRING_B64_MAX / 4 * 3];
	size_t binlen = 0;
	int rc;

	if (len > KEYRING_B64_MAX)
		return keyring_fail(c, "secret is %zu characters long, expected %zu", len,
				    (size_t)sodium_base64_ENCODED_LEN(
					    KEYRING_SECRET_LEN, sodium_base64_VARIANT_ORIGINAL) -
					    1);
	rc = sodium_base642bin(tmp, sizeof(tmp), b64, len, NULL, &binlen, NULL,
			       sodium_base64_VARIANT_ORIGINAL);
	if (rc != 0)
		rc = keyring_fail(c, "secret is not valid base64");
	else if (binlen != KEYRING_SECRET_LEN)
		rc = keyring_fail(c, "secret is %zu bytes, expected %d", binlen,
				  KEYRING_SECRET_LEN);
	else
		memcpy(secret, tmp, KEYRING_SECRET_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}

/* Checks a new key against those already parsed: duplicates, primaries. */
static int
keyring_check_unique(struct keyring_ctx *c, const struct keyring_key *k)
{
	const struct keyring *kr = c->kr;

	for (size_t i = 0; i < kr->nkeys; i++)
		if (kr->keys[i].id == k->id)
			return keyring_fail(c, "duplicate key id %08x (first on line %zu)", k->id,
					    c->key_line[i]);
	if (k->primary && c->primary_line != 0)
		return keyring_fail(c, "more than one primary key (first on line %zu)",
				    c->primary_line);
	return 0;
}

/* Parses one split, non-empty line into the next key of the ring. */
static int
keyring_parse_key(struct keyring_ctx *c, const struct keyring_line *l)
{
	uint8_t secret[KEYRING_SECRET_LEN];
	struct keyring_key k;
	uint32_t id;
	int rc;

	memset(&k, 0, sizeof(k));
	if (l->flen[0] == 7 && memcmp(l->field[0], "primary", 7) == 0)
		k.primary = true;
	else if (!(l->flen[0] == 6 && memcmp(l->field[0], "accept", 6) == 0))
		return keyring_bad_role(c, l->field[0], l->flen[0]);
	if (l->nfields < 3)
		return keyring_fail(c, "missing fields (expected: primary|accept ID SECRET)");
	if (l->nfields > 3)
		return keyring_fail(c, "unexpected text after the secret");
	if (!keyring_parse_id(l->field[1], l->flen[1], &id))
		return keyring_fail(c, "key id must be 8 hex digits");
	if (c->kr->nkeys == KEYRING_MAX_KEYS)
		return keyring_fail(c, "too many keys (at most %d)", KEYRING_MAX_KEYS);
	rc = keyring_decode_secret(c, l->field[2], l->flen[2], secret);
	if (rc == 0 && keyring_derive(secret, &k) != 0)
		rc = keyring_fail(c, "cannot derive keys");
	sodium_memzero(secret, sizeof(secret));
	if (rc == 0 && k.id != id)
		rc = keyring_fail(c, "key id %08x does not match its secret (derived %08x)", id,
				  k.id);
	if (rc == 0)
		rc = keyring_check_unique(c, &k);
	if (rc == 0) {
		if (k.primary) {
			c->kr->primary = c->kr->nkeys;
			c->primary_line = c->lineno;
		}
		c->key_line[c->kr->nkeys] = c->lineno;
		c->kr->keys[c->kr->nkeys++] = k;
	}
	sodium_memzero(&k, sizeof(k));
	return rc;
}

int
keyring_parse(const char *text, size_t len, const char *source, struct keyring **out, char *err,
	      size_t errsize)
{
	struct keyring_ctx c = { .source = source != NULL ? source : "keyring",
				 .err = err,
				 .errsize = errsize };
	const char *p = text, *end = text != NULL ? text + len : NULL;
	int rc = 0;

	*out = NULL;
	if (text == NULL)
		p = end = "";
	if ((c.kr = calloc(1, sizeof(*c.kr))) == NULL)
		return -ENOMEM;
	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		struct keyring_line l;

		c.lineno++;
		keyring_split(p, eol, &l);
		if (l.nfields > 0)
			rc = keyring_parse_key(&c, &l);
		p = nl != NULL ? nl + 1 : end;
	}
	if (rc != 0)
		goto out;
	c.lineno = 0;
	if (c.kr->nkeys == 0)
		rc = keyring_fail(&c, "no keys (empty keyring)");
	else if (c.primary_line == 0)
		rc = keyring_fail(&c, "no primary key");
out:
	if (rc != 0)
		keyring_free(c.kr);
	else
		*out = c.kr;
	return rc;
}

int
keyring_load(const char *path, struct keyring **out, char *err, size_t errsize)
{
	char buf[KEYRING_FILE_MAX];
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = secfile_read(path, buf, sizeof(buf), &len, err, errsize);
	if (rc == 0)
		rc = keyring_parse(buf, len, path, out, err, errsize);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* A caller-formatted timestamp must not break out of its comment line. */
static bool
keyring_created_ok(const char *created)
{
	for (const char *p = created; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int
keyring_generate(char *buf, size_t size, const char *created)
{
	uint8_t secret[KEYRING_SECRET_LEN];
	char b64[sodium_base64_ENCODED_LEN(KEYRING_SECRET_LEN, sodium_base64_VARIANT_ORIGINAL)];
	struct keyring_key k;
	int n, rc = -EINVAL;

	if (created == NULL || !keyring_created_ok(created))
		return -EINVAL;
	randombytes_buf(secret, sizeof(secret));
	if (keyring_derive(secret, &k) != 0)
		goto out;
	sodium_bin2base64(b64, sizeof(b64), secret, sizeof(secret), sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(buf, size, "# mitosis cluster keyring, key %08x created %s\nprimary %08x %s\n",
		     k.id, created, k.id, b64);
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			sodium_memzero(buf, size);
		rc = -ENOSPC;
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(&k, sizeof(k));
	return rc;
}

const struct keyring_key *
keyring_find(const struct keyring *kr, uint32_t id)
{
	if (kr == NULL)
		return NULL;
	for (size_t i = 0; i < kr->nkeys; i++)
		if (kr->keys[i].id == id)
			return &kr->keys[i];
	return NULL;
}

const struct keyring_key *
keyring_primary(const struct keyring *kr)
{
	if (kr == NULL || kr->nkeys == 0)
		return NULL;
	return &kr->keys[kr->primary];
}

void
keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	sodium_memzero(kr, sizeof(*kr));
	free(kr);
}
