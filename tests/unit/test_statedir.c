/*
 * Unit tests for common/statedir.c and common/nodekey.c: the directory is
 * created 0700 and refused when others may use it, files round-trip and are
 * replaced atomically, a different droplet id wipes everything, and the node
 * key is made once, kept across opens, refused when corrupt, and signs.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "nodekey.h"
#include "statedir.h"

static const char *
sd_path(char *buf, size_t size, const char *leaf)
{
	snprintf(buf, size, "%s/%s", harness_tmpdir(), leaf);
	return buf;
}

TEST(statedir_creates_private_directory)
{
	char path[512], err[256] = "", buf[64];
	struct statedir *sd = NULL;
	struct stat st;
	bool reset = false;
	uint64_t old = 99;
	size_t len = 0;

	sd_path(path, sizeof(path), "state");
	ASSERT_OK(statedir_open(path, 42, &sd, &reset, &old, err, sizeof(err)));
	ASSERT(reset);
	ASSERT_U64_EQ(old, 0);
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_mode & 0777, 0700);
	ASSERT_OK(statedir_read(sd, STATEDIR_DROPLET_ID, buf, sizeof(buf), &len, err, sizeof(err)));
	ASSERT_EQ(len, 3);
	ASSERT_MEM_EQ(buf, "42\n", 3);
	ASSERT_U64_EQ(statedir_droplet_id(sd), 42);
	statedir_free(sd);
	/* The same droplet again: nothing is reset. */
	ASSERT_OK(statedir_open(path, 42, &sd, &reset, &old, err, sizeof(err)));
	ASSERT(!reset);
	ASSERT_U64_EQ(old, 42);
	statedir_free(sd);
	statedir_free(NULL);
}

TEST(statedir_refuses_open_modes_and_non_directories)
{
	char path[512], err[256] = "";
	struct statedir *sd = NULL;
	int fd;

	sd_path(path, sizeof(path), "open");
	ASSERT_OK(mkdir(path, 0755));
	ASSERT_EQ(statedir_open(path, 1, &sd, NULL, NULL, err, sizeof(err)), -EPERM);
	ASSERT_STR_CONTAINS(err, "chmod 700");
	ASSERT_NULL(sd);
	sd_path(path, sizeof(path), "file");
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ASSERT(fd >= 0);
	close(fd);
	ASSERT_EQ(statedir_open(path, 1, &sd, NULL, NULL, err, sizeof(err)), -ENOTDIR);
	ASSERT_STR_CONTAINS(err, "not a directory");
	ASSERT_EQ(statedir_open(path, 0, &sd, NULL, NULL, err, sizeof(err)), -EINVAL);
}

TEST(statedir_write_read_replace)
{
	char path[512], err[256] = "", buf[16];
	struct statedir *sd = NULL;
	struct stat st;
	size_t len = 0;

	sd_path(path, sizeof(path), "rw");
	ASSERT_OK(statedir_open(path, 7, &sd, NULL, NULL, err, sizeof(err)));
	ASSERT_EQ(statedir_read(sd, "term", buf, sizeof(buf), &len, err, sizeof(err)), -ENOENT);
	ASSERT_OK(statedir_write(sd, "term", "first", 5, err, sizeof(err)));
	ASSERT_OK(statedir_write(sd, "term", "2nd", 3, err, sizeof(err)));
	ASSERT_OK(statedir_read(sd, "term", buf, sizeof(buf), &len, err, sizeof(err)));
	ASSERT_EQ(len, 3);
	ASSERT_MEM_EQ(buf, "2nd", 3);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/term");
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_mode & 0777, 0600);
	/* Too big for the caller's buffer, bad names, and a file others may read. */
	ASSERT_OK(statedir_write(sd, "big", "0123456789abcdefXYZ", 19, err, sizeof(err)));
	ASSERT_EQ(statedir_read(sd, "big", buf, sizeof(buf), &len, err, sizeof(err)), -EFBIG);
	ASSERT_EQ(statedir_write(sd, "../x", "a", 1, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(statedir_write(sd, ".hidden", "a", 1, err, sizeof(err)), -EINVAL);
	ASSERT(!statedir_name_ok("Upper"));
	ASSERT(statedir_name_ok("elect.state-1_x"));
	ASSERT_OK(chmod(path, 0644));
	ASSERT_EQ(statedir_read(sd, "term", buf, sizeof(buf), &len, err, sizeof(err)), -EPERM);
	ASSERT_STR_CONTAINS(err, "0600");
	statedir_free(sd);
}

TEST(statedir_other_droplet_keeps_nothing)
{
	char path[512], err[256] = "", buf[16];
	struct statedir *sd = NULL;
	bool reset = false;
	uint64_t old = 0;
	size_t len = 0;

	sd_path(path, sizeof(path), "clone");
	ASSERT_OK(statedir_open(path, 100, &sd, NULL, NULL, err, sizeof(err)));
	ASSERT_OK(statedir_write(sd, "history", "h", 1, err, sizeof(err)));
	ASSERT_OK(statedir_write(sd, "vote", "v", 1, err, sizeof(err)));
	statedir_free(sd);
	/* A clone of the snapshot boots as droplet 200. */
	ASSERT_OK(statedir_open(path, 200, &sd, &reset, &old, err, sizeof(err)));
	ASSERT(reset);
	ASSERT_U64_EQ(old, 100);
	ASSERT_EQ(statedir_read(sd, "history", buf, sizeof(buf), &len, err, sizeof(err)), -ENOENT);
	ASSERT_EQ(statedir_read(sd, "vote", buf, sizeof(buf), &len, err, sizeof(err)), -ENOENT);
	ASSERT_OK(statedir_read(sd, STATEDIR_DROPLET_ID, buf, sizeof(buf), &len, err, sizeof(err)));
	ASSERT_MEM_EQ(buf, "200\n", 4);
	statedir_free(sd);
}

TEST(nodekey_made_once_kept_and_signs)
{
	char path[512], err[256] = "";
	struct statedir *sd = NULL;
	struct nodekey *k1 = NULL, *k2 = NULL;
	uint8_t sig[NODEKEY_SIG_LEN], pk1[NODEKEY_PK_LEN];
	char fpr[NODEKEY_FPR_LEN + 1];
	bool created = false;

	ASSERT(sodium_init() >= 0);
	sd_path(path, sizeof(path), "key");
	ASSERT_OK(statedir_open(path, 5, &sd, NULL, NULL, err, sizeof(err)));
	ASSERT_OK(nodekey_load_or_create(sd, &k1, &created, err, sizeof(err)));
	ASSERT(created);
	memcpy(pk1, k1->pk, sizeof(pk1));
	ASSERT_OK(nodekey_load_or_create(sd, &k2, &created, err, sizeof(err)));
	ASSERT(!created);
	ASSERT_MEM_EQ(k2->pk, pk1, sizeof(pk1));
	nodekey_sign(k2, (const uint8_t *)"vote", 4, sig);
	ASSERT_OK(nodekey_verify(pk1, (const uint8_t *)"vote", 4, sig));
	ASSERT_EQ(nodekey_verify(pk1, (const uint8_t *)"votE", 4, sig), -EBADMSG);
	nodekey_fingerprint(pk1, fpr);
	ASSERT_EQ(strlen(fpr), NODEKEY_FPR_LEN);
	nodekey_free(k1);
	nodekey_free(k2);
	statedir_free(sd);
	/* A clone: another droplet id, another key. */
	ASSERT_OK(statedir_open(path, 6, &sd, NULL, NULL, err, sizeof(err)));
	ASSERT_OK(nodekey_load_or_create(sd, &k1, &created, err, sizeof(err)));
	ASSERT(created);
	ASSERT(memcmp(k1->pk, pk1, sizeof(pk1)) != 0);
	nodekey_free(k1);
	nodekey_free(NULL);
	statedir_free(sd);
}

TEST(nodekey_corrupt_file_is_refused_not_replaced)
{
	char path[512], err[256] = "";
	struct statedir *sd = NULL;
	struct nodekey *k = NULL, parsed;
	static const char good[] = "# comment\nseed AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
	uint8_t seed[32], pk[NODEKEY_PK_LEN], sk[NODEKEY_SK_LEN];

	ASSERT(sodium_init() >= 0);
	ASSERT_OK(nodekey_parse(good, strlen(good), &parsed));
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	crypto_sign_seed_keypair(pk, sk, seed);
	ASSERT_MEM_EQ(parsed.pk, pk, sizeof(pk));
	ASSERT_EQ(nodekey_parse("seed AAAA\n", 10, &parsed), -EINVAL);
	ASSERT_EQ(nodekey_parse(good, 10, &parsed), -EINVAL);
	ASSERT_EQ(nodekey_parse("", 0, &parsed), -EINVAL);
	sd_path(path, sizeof(path), "bad");
	ASSERT_OK(statedir_open(path, 5, &sd, NULL, NULL, err, sizeof(err)));
	ASSERT_OK(statedir_write(sd, NODEKEY_FILE, "garbage\n", 8, err, sizeof(err)));
	ASSERT_EQ(nodekey_load_or_create(sd, &k, NULL, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "node.key: not a node key");
	ASSERT_NULL(k);
	statedir_free(sd);
}
