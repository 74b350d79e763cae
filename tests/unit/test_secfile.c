/*
 * Unit tests for common/secfile.c: the file types, owners and modes that are
 * refused, each with its exact message, and what is accepted. Ownership tests
 * need root (to chown a file away); run as another user they return early.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "secfile.h"

#define SECRET "s3cr3t-t0ken-value"

/* Writes content to DIR/name with the given mode; the path goes into path. */
static void
make_file(char *path, size_t size, const char *name, const char *content, mode_t mode)
{
	int fd;

	snprintf(path, size, "%s/%s", harness_tmpdir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, content, strlen(content)), (long long)strlen(content));
	ASSERT_OK(close(fd));
	ASSERT_OK(chmod(path, mode));
}

TEST(secfile_mode_0600_accepted)
{
	char path[512], buf[64], err[1024] = "junk";
	size_t len = 0;

	make_file(path, sizeof(path), "token", SECRET "\n", 0600);
	ASSERT_OK(secfile_read(path, buf, sizeof(buf), &len, err, sizeof(err)));
	ASSERT_EQ(len, strlen(SECRET) + 1);
	ASSERT_STR_EQ(buf, SECRET "\n");
	ASSERT_STR_EQ(err, "");
	ASSERT_OK(secfile_check(path, err, sizeof(err)));
}

TEST(secfile_mode_0400_accepted)
{
	char path[512], buf[64], err[1024];
	size_t len = 0;

	make_file(path, sizeof(path), "token", SECRET, 0400);
	ASSERT_OK(secfile_read(path, buf, sizeof(buf), &len, err, sizeof(err)));
	ASSERT_EQ(len, strlen(SECRET));
	ASSERT_STR_EQ(buf, SECRET);
}

/* Checks a refused mode: -EPERM, the exact message, and no secret in it or in buf. */
static void
expect_mode_refused(mode_t mode, const char *modetext)
{
	char path[512], buf[64], err[1024], want[1200];
	size_t len = 99;

	make_file(path, sizeof(path), "key", SECRET, mode);
	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ(secfile_read(path, buf, sizeof(buf), &len, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want),
		 "%s: mode %s lets group or others read or change it; fix: chmod 600 %s", path,
		 modetext, path);
	ASSERT_STR_EQ(err, want);
	ASSERT(strstr(err, SECRET) == NULL);
	ASSERT(memmem(buf, sizeof(buf), SECRET, strlen(SECRET)) == NULL);
	ASSERT_EQ(len, 99);
	ASSERT_EQ(secfile_check(path, err, sizeof(err)), -EPERM);
	ASSERT_STR_EQ(err, want);
}

TEST(secfile_mode_0640_refused)
{
	expect_mode_refused(0640, "0640");
}

TEST(secfile_mode_0604_refused)
{
	expect_mode_refused(0604, "0604");
}

TEST(secfile_mode_0644_refused)
{
	expect_mode_refused(0644, "0644");
}

TEST(secfile_mode_0620_refused)
{
	/* Group write is as bad as group read: the key could be replaced. */
	expect_mode_refused(0620, "0620");
}

TEST(secfile_owner_with_name_refused)
{
	char path[512], buf[64], err[1024], want[1200];
	size_t len;

	if (geteuid() != 0) {
		fprintf(stderr, "    skipped: needs root to chown\n");
		return;
	}
	make_file(path, sizeof(path), "key", SECRET, 0600);
	ASSERT_OK(chown(path, 65534, (gid_t)-1));
	ASSERT_EQ(secfile_read(path, buf, sizeof(buf), &len, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want),
		 "%s: owned by nobody (uid 65534), not by the user running mitosis (root); "
		 "fix: chown root %s",
		 path, path);
	ASSERT_STR_EQ(err, want);
	ASSERT_EQ(secfile_check(path, err, sizeof(err)), -EPERM);
	ASSERT_STR_EQ(err, want);
}

TEST(secfile_owner_without_name_refused)
{
	char path[512], buf[64], err[1024], want[1200];
	size_t len;

	if (geteuid() != 0) {
		fprintf(stderr, "    skipped: needs root to chown\n");
		return;
	}
	/* A uid with no passwd entry is shown as a number. */
	make_file(path, sizeof(path), "key", SECRET, 0600);
	ASSERT_OK(chown(path, 54321, (gid_t)-1));
	ASSERT_EQ(secfile_read(path, buf, sizeof(buf), &len, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want),
		 "%s: owned by uid 54321, not by the user running mitosis (root); "
		 "fix: chown root %s",
		 path, path);
	ASSERT_STR_EQ(err, want);
}

TEST(secfile_symlink_refused)
{
	char path[512], link[512], buf[64], err[1024], want[1200];
	size_t len;

	make_file(path, sizeof(path), "key", SECRET, 0600);
	snprintf(link, sizeof(link), "%s/link", harness_tmpdir());
	ASSERT_OK(symlink(path, link));
	ASSERT_EQ(secfile_read(link, buf, sizeof(buf), &len, err, sizeof(err)), -ELOOP);
	snprintf(want, sizeof(want),
		 "%s: is a symbolic link; refused (give the path of the file itself)", link);
	ASSERT_STR_EQ(err, want);
	ASSERT_EQ(secfile_check(link, err, sizeof(err)), -ELOOP);
	ASSERT_STR_EQ(err, want);
}

TEST(secfile_directory_refused)
{
	char buf[64], err[1024], want[1200];
	const char *dir = harness_tmpdir();
	size_t len;

	ASSERT_EQ(secfile_read(dir, buf, sizeof(buf), &len, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: is a directory, not a regular file", dir);
	ASSERT_STR_EQ(err, want);
	ASSERT_EQ(secfile_check(dir, err, sizeof(err)), -EISDIR);
	ASSERT_STR_EQ(err, want);
}

TEST(secfile_fifo_refused_without_blocking)
{
	char path[512], buf[64], err[1024], want[1200];
	size_t len;

	/* With no writer, a blocking open would hang here until the harness timeout. */
	snprintf(path, sizeof(path), "%s/fifo", harness_tmpdir());
	ASSERT_OK(mkfifo(path, 0600));
	ASSERT_EQ(secfile_read(path, buf, sizeof(buf), &len, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: is a FIFO, not a regular file", path);
	ASSERT_STR_EQ(err, want);
}

TEST(secfile_missing_file)
{
	char path[512], buf[64], err[1024], want[1200];
	size_t len;

	snprintf(path, sizeof(path), "%s/nope", harness_tmpdir());
	ASSERT_EQ(secfile_read(path, buf, sizeof(buf), &len, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	ASSERT_STR_EQ(err, want);
	ASSERT_EQ(secfile_check(path, err, sizeof(err)), -ENOENT);
	ASSERT_STR_EQ(err, want);
}

TEST(secfile_exact_fit_and_too_big)
{
	char path[512], buf[8], err[1024], want[1200];
	size_t len = 0;

	make_file(path, sizeof(path), "fits", "1234567", 0600);
	ASSERT_OK(secfile_read(path, buf, sizeof(buf), &len, err, sizeof(err)));
	ASSERT_EQ(len, 7);
	ASSERT_STR_EQ(buf, "1234567");

	make_file(path, sizeof(path), "big", "12345678", 0600);
	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ(secfile_read(path, buf, sizeof(buf), &len, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 7 bytes; is this the right file?", path);
	ASSERT_STR_EQ(err, want);
	/* Nothing of a refused file stays in the caller's buffer. */
	for (size_t i = 0; i < sizeof(buf); i++)
		ASSERT_EQ(buf[i], 0);
}

TEST(secfile_empty_file_and_no_err_buffer)
{
	char path[512], buf[8] = "xxxxxxx";
	size_t len = 5;

	make_file(path, sizeof(path), "empty", "", 0600);
	ASSERT_OK(secfile_read(path, buf, sizeof(buf), &len, NULL, 0));
	ASSERT_EQ(len, 0);
	ASSERT_STR_EQ(buf, "");
	ASSERT_OK(chmod(path, 0644));
	ASSERT_EQ(secfile_read(path, buf, sizeof(buf), &len, NULL, 0), -EPERM);
	ASSERT_EQ(secfile_read(path, buf, 0, &len, NULL, 0), -EINVAL);
}
