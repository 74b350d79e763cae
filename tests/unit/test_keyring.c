/*
 * Unit tests for common/keyring.c: derivation known answers (checked against
 * an independent implementation: Python's hashlib BLAKE2b and the
 * cryptography package's Ed25519), the file format, every parse error with
 * its exact message, generate -> parse, and load through secfile.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "keyring.h"

/* Secrets 00..1f, 20..3f, 40..5f, 60..7f and the ids derived from them. */
#define SECRET0 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SECRET1 "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define SECRET2 "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="
#define SECRET3 "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8="
#define ID0	0x1c9ed76aU
#define ID1	0x40396eafU
#define ID2	0x203b5a1fU
#define ID3	0xd69ee02aU

static void
kr_setup(void)
{
	ASSERT(sodium_init() >= 0);
}

/* Parses text that must fail and returns the message in err. */
static void
kr_parse_fail(const char *text, char *err, size_t errsize)
{
	struct keyring *kr = (struct keyring *)1;

	memset(err, 0, errsize);
	ASSERT_EQ(keyring_parse(text, strlen(text), "t.keys", &kr, err, errsize), -EINVAL);
	ASSERT_NULL(kr);
	/* No message may carry key material. */
	ASSERT(strstr(err, "AAECAwQF") == NULL);
	ASSERT(strstr(err, "ICEiIyQl") == NULL);
	ASSERT(strstr(err, "QEFCQ0RF") == NULL);
}

/* Appends the key line of a freshly generated key, with the given role. */
static size_t
kr_append_fresh(char *text, size_t size, size_t off, const char *role)
{
	char buf[512];
	const char *rest;
	int n;

	ASSERT_OK(keyring_generate(buf, sizeof(buf), "now"));
	rest = strstr(buf, "\nprimary ");
	ASSERT_NOT_NULL(rest);
	n = snprintf(text + off, size - off, "%s %s", role, rest + strlen("\nprimary "));
	ASSERT(n > 0 && (size_t)n < size - off);
	sodium_memzero(buf, sizeof(buf));
	return off + (size_t)n;
}

TEST(keyring_derivation_known_answers)
{
	static const uint8_t pk0[8] = { 0x10, 0xcc, 0xbf, 0x2d, 0x81, 0x06, 0x01, 0xbf };
	static const uint8_t tag0[8] = { 0xe8, 0xef, 0x1b, 0x97, 0x31, 0x0f, 0x73, 0x66 };
	const char *text = "primary 1c9ed76a " SECRET0 "\n"
			   "accept 40396eaf " SECRET1 "\n"
			   "accept 203b5a1f " SECRET2 "\n"
			   "accept d69ee02a " SECRET3 "\n";
	struct keyring *kr = NULL;
	char err[256] = "";

	kr_setup();
	ASSERT_OK(keyring_parse(text, strlen(text), "t.keys", &kr, err, sizeof(err)));
	ASSERT_EQ(kr->nkeys, 4);
	ASSERT_U64_EQ(kr->keys[0].id, ID0);
	ASSERT_U64_EQ(kr->keys[1].id, ID1);
	ASSERT_U64_EQ(kr->keys[2].id, ID2);
	ASSERT_U64_EQ(kr->keys[3].id, ID3);
	ASSERT_MEM_EQ(kr->keys[0].sign_pk, pk0, sizeof(pk0));
	ASSERT_MEM_EQ(kr->keys[0].tag_key, tag0, sizeof(tag0));
	/* The Ed25519 secret key is seed || public key. */
	ASSERT_MEM_EQ(kr->keys[0].sign_sk + 32, kr->keys[0].sign_pk, 32);
	keyring_free(kr);
}

TEST(keyring_parse_format)
{
	const char *text = "# cluster keyring\n"
			   "\n"
			   "   \t\n"
			   "accept\t40396EAF   " SECRET1 "  # the old key\r\n"
			   "  primary 1c9ed76a " SECRET0 "\r\n"
			   "# end";
	const struct keyring_key *k;
	struct keyring *kr = NULL;
	char err[256] = "";

	kr_setup();
	ASSERT_OK(keyring_parse(text, strlen(text), "t.keys", &kr, err, sizeof(err)));
	ASSERT_EQ(kr->nkeys, 2);
	ASSERT_EQ(kr->primary, 1);
	ASSERT_FALSE(kr->keys[0].primary);
	ASSERT_TRUE(kr->keys[1].primary);
	k = keyring_primary(kr);
	ASSERT_NOT_NULL(k);
	ASSERT_U64_EQ(k->id, ID0);
	ASSERT(keyring_find(kr, ID1) == &kr->keys[0]);
	ASSERT(keyring_find(kr, ID0) == &kr->keys[1]);
	ASSERT_NULL(keyring_find(kr, ID2));
	ASSERT_NULL(keyring_find(NULL, ID0));
	ASSERT_NULL(keyring_primary(NULL));
	keyring_free(kr);
	keyring_free(NULL);
}

TEST(keyring_parse_no_final_newline_and_max_keys)
{
	char text[2048], err[256] = "";
	struct keyring *kr = NULL;
	size_t off = 0;

	kr_setup();
	/* Eight keys is the limit and is fine. */
	for (int i = 0; i < KEYRING_MAX_KEYS; i++)
		off = kr_append_fresh(text, sizeof(text), off, i == 0 ? "primary" : "accept");
	text[off - 1] = '\0'; /* no final newline */
	ASSERT_OK(keyring_parse(text, strlen(text), "t.keys", &kr, err, sizeof(err)));
	ASSERT_EQ(kr->nkeys, KEYRING_MAX_KEYS);
	ASSERT_EQ(kr->primary, 0);
	keyring_free(kr);
}

TEST(keyring_error_unknown_role)
{
	char err[256];

	kr_setup();
	kr_parse_fail("primary 1c9ed76a " SECRET0 "\nprimry 40396eaf " SECRET1 "\n", err,
		      sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:2: unknown role 'primry' (expected primary or accept)");
	/* A line that starts with the secret: the word is not quoted. */
	kr_parse_fail(SECRET0 "\n", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: unknown role (expected primary or accept)");
	kr_parse_fail("Primary 1c9ed76a " SECRET0 "\n", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: unknown role (expected primary or accept)");
}

TEST(keyring_error_missing_and_extra_fields)
{
	char err[256];

	kr_setup();
	kr_parse_fail("primary 1c9ed76a\n", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: missing fields (expected: primary|accept ID SECRET)");
	kr_parse_fail("\n\naccept\n", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:3: missing fields (expected: primary|accept ID SECRET)");
	kr_parse_fail("primary 1c9ed76a " SECRET0 " extra\n", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: unexpected text after the secret");
}

TEST(keyring_error_bad_id)
{
	char err[256];

	kr_setup();
	kr_parse_fail("primary 1c9ed76 " SECRET0 "\n", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: key id must be 8 hex digits");
	kr_parse_fail("primary 1c9ed76g " SECRET0 "\n", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: key id must be 8 hex digits");
	kr_parse_fail("primary 0x1c9ed76a " SECRET0 "\n", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: key id must be 8 hex digits");
}

TEST(keyring_error_bad_base64)
{
	char err[256];

	kr_setup();
	kr_parse_fail("primary 1c9ed76a AAECAwQF!gcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", err,
		      sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: secret is not valid base64");
	/* URL-safe alphabet and missing padding are not the original variant. */
	kr_parse_fail("primary 1c9ed76a AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", err,
		      sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: secret is not valid base64");
	kr_parse_fail("primary 1c9ed76a ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj_=\n", err,
		      sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: secret is not valid base64");
}

TEST(keyring_error_secret_length)
{
	char err[256], text[1200];

	kr_setup();
	kr_parse_fail("primary 1c9ed76a AAECAwQFBgcICQoLDA0ODw==\n", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: secret is 16 bytes, expected 32");
	kr_parse_fail("primary 1c9ed76a " SECRET0 "AAAA\n", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: secret is not valid base64");
	kr_parse_fail("primary 1c9ed76a AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj\n", err,
		      sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: secret is 36 bytes, expected 32");
	memcpy(text, "primary 1c9ed76a ", 17);
	memset(text + 17, 'A', 1100);
	strcpy(text + 1117, "\n");
	kr_parse_fail(text, err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:1: secret is 1100 characters long, expected 44");
}

TEST(keyring_error_id_mismatch)
{
	char err[256];

	kr_setup();
	kr_parse_fail("primary 1234abcd " SECRET0 "\n", err, sizeof(err));
	ASSERT_STR_EQ(err,
		      "t.keys:1: key id 1234abcd does not match its secret (derived 1c9ed76a)");
	/* A secret swapped with another key's line. */
	kr_parse_fail("primary 1c9ed76a " SECRET0 "\naccept 40396eaf " SECRET2 "\n", err,
		      sizeof(err));
	ASSERT_STR_EQ(err,
		      "t.keys:2: key id 40396eaf does not match its secret (derived 203b5a1f)");
}

TEST(keyring_error_duplicate_id)
{
	char err[256];

	kr_setup();
	kr_parse_fail("primary 1c9ed76a " SECRET0 "\n# again\naccept 1c9ed76a " SECRET0 "\n", err,
		      sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:3: duplicate key id 1c9ed76a (first on line 1)");
}

TEST(keyring_error_primaries)
{
	char err[256];

	kr_setup();
	kr_parse_fail("accept 1c9ed76a " SECRET0 "\naccept 40396eaf " SECRET1 "\n", err,
		      sizeof(err));
	ASSERT_STR_EQ(err, "t.keys: no primary key");
	kr_parse_fail("primary 1c9ed76a " SECRET0 "\naccept 40396eaf " SECRET1
		      "\nprimary 203b5a1f " SECRET2 "\n",
		      err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:3: more than one primary key (first on line 1)");
}

TEST(keyring_error_too_many_keys)
{
	char text[4096], err[256];
	size_t off = 0;

	kr_setup();
	for (int i = 0; i <= KEYRING_MAX_KEYS; i++)
		off = kr_append_fresh(text, sizeof(text), off, i == 0 ? "primary" : "accept");
	kr_parse_fail(text, err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys:9: too many keys (at most 8)");
}

TEST(keyring_error_empty)
{
	struct keyring *kr = NULL;
	char err[256];

	kr_setup();
	kr_parse_fail("", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys: no keys (empty keyring)");
	kr_parse_fail("# nothing here\n\n  \n", err, sizeof(err));
	ASSERT_STR_EQ(err, "t.keys: no keys (empty keyring)");
	ASSERT_EQ(keyring_parse(NULL, 0, NULL, &kr, err, sizeof(err)), -EINVAL);
	ASSERT_STR_EQ(err, "keyring: no keys (empty keyring)");
	/* A tiny err buffer is cut, not overrun; NULL err is allowed. */
	ASSERT_EQ(keyring_parse("", 0, "t.keys", &kr, err, 5), -EINVAL);
	ASSERT_STR_EQ(err, "t.ke");
	ASSERT_EQ(keyring_parse("", 0, "t.keys", &kr, NULL, 0), -EINVAL);
}

TEST(keyring_error_nul_byte)
{
	static const char text[] =
		"primary 1c9ed76a AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\0=\n";
	struct keyring *kr = NULL;
	char err[256];

	kr_setup();
	ASSERT_EQ(keyring_parse(text, sizeof(text) - 1, "t.keys", &kr, err, sizeof(err)), -EINVAL);
	ASSERT_STR_EQ(err, "t.keys:1: secret is not valid base64");
}

TEST(keyring_generate_round_trip)
{
	char buf[512], buf2[512], err[256] = "", idhex[9], expect[128];
	struct keyring *kr = NULL;
	const char *nl;

	kr_setup();
	ASSERT_OK(keyring_generate(buf, sizeof(buf), "2026-11-21T20:57:15Z"));
	ASSERT_OK(keyring_parse(buf, strlen(buf), "gen", &kr, err, sizeof(err)));
	ASSERT_EQ(kr->nkeys, 1);
	ASSERT_TRUE(kr->keys[0].primary);
	snprintf(idhex, sizeof(idhex), "%08x", kr->keys[0].id);
	snprintf(expect, sizeof(expect),
		 "# mitosis cluster keyring, key %s created 2026-11-21T20:57:15Z\n"
		 "primary %s ",
		 idhex, idhex);
	ASSERT_EQ(strncmp(buf, expect, strlen(expect)), 0);
	nl = strchr(buf + strlen(expect), '\n');
	ASSERT_NOT_NULL(nl);
	ASSERT_EQ(nl - (buf + strlen(expect)), 44);
	ASSERT_EQ(nl[1], '\0');
	keyring_free(kr);
	/* Fresh randomness every time. */
	ASSERT_OK(keyring_generate(buf2, sizeof(buf2), "2026-11-21T20:57:15Z"));
	ASSERT(strcmp(buf, buf2) != 0);
}

TEST(keyring_generate_errors)
{
	char buf[512];
	size_t need;

	kr_setup();
	ASSERT_OK(keyring_generate(buf, sizeof(buf), "x"));
	need = strlen(buf) + 1;
	ASSERT_OK(keyring_generate(buf, need, "x"));
	ASSERT_EQ(keyring_generate(buf, need - 1, "x"), -ENOSPC);
	/* Nothing half-written is left behind. */
	for (size_t i = 0; i < need - 1; i++)
		ASSERT_EQ(buf[i], 0);
	ASSERT_EQ(keyring_generate(buf, sizeof(buf), "x\nprimary"), -EINVAL);
}

static void
kr_write(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ASSERT_OK(fchmod(fd, mode));
	close(fd);
}

TEST(keyring_load_file)
{
	char path[512], err[512] = "", expect[600];
	struct keyring *kr = NULL;

	kr_setup();
	snprintf(path, sizeof(path), "%s/cluster.keys", harness_tmpdir());
	kr_write(path, "primary 1c9ed76a " SECRET0 "\naccept 40396eaf " SECRET1 "\n", 0600);
	ASSERT_OK(keyring_load(path, &kr, err, sizeof(err)));
	ASSERT_EQ(kr->nkeys, 2);
	ASSERT_U64_EQ(keyring_primary(kr)->id, ID0);
	keyring_free(kr);

	kr_write(path, "primary 1c9ed76a " SECRET1 "\n", 0600);
	ASSERT_EQ(keyring_load(path, &kr, err, sizeof(err)), -EINVAL);
	ASSERT_NULL(kr);
	snprintf(expect, sizeof(expect),
		 "%s:1: key id 1c9ed76a does not match its secret (derived 40396eaf)", path);
	ASSERT_STR_EQ(err, expect);

	kr_write(path, "primary 1c9ed76a " SECRET0 "\n", 0644);
	ASSERT_EQ(keyring_load(path, &kr, err, sizeof(err)), -EPERM);
	ASSERT_NULL(kr);
	ASSERT(strstr(err, SECRET0) == NULL);
	snprintf(path, sizeof(path), "%s/missing.keys", harness_tmpdir());
	ASSERT_EQ(keyring_load(path, &kr, err, sizeof(err)), -ENOENT);
	ASSERT_NULL(kr);
}
