/*
 * cmd_keygen: `mitosis keygen -o FILE [-f]` writes a new cluster keyring with
 * one primary key, mode 0600. It refuses to replace an existing file unless
 * -f is given, and then replaces it atomically (write a temporary file in the
 * same directory, fsync, rename), so a crash never leaves a half-written key.
 * The secret never goes to stdout or a log: only its key id does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd.h"
#include "cmd_keygen.h"
#include "keyring.h"
#include "xmalloc.h"

#define KEYGEN_BUF 1024

static int cmd_keygen_main(int argc, char **argv);
static void cmd_keygen_help(FILE *out);

const struct cmd_entry cmd_keygen_entry = {
	"keygen",	 cmd_keygen_main, "keygen -o FILE [-f]", "write a new cluster signing key",
	cmd_keygen_help,
};

static void
cmd_keygen_help(FILE *out)
{
	fprintf(out,
		"Options:\n"
		"  -o FILE   where to write the keyring (created with mode 0600)\n"
		"  -f        replace FILE if it exists\n"
		"\nEvery node of a cluster needs the same keyring. To rotate, append the new key\n"
		"to every node's keyring as 'accept', then make it 'primary' everywhere, then\n"
		"remove the old key (docs/protocol.md).\n");
}

static int
keygen_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return fsync(fd) == 0 ? 0 : -errno;
}

/* Creates path exclusively, or (force) replaces it through a rename. */
static int
keygen_write(const char *path, const char *buf, size_t len, bool force)
{
	char *tmp = NULL;
	int fd, r;

	if (!force) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		r = keygen_write_all(fd, buf, len);
		close(fd);
		if (r != 0)
			unlink(path);
		return r;
	}
	tmp = xasprintf("%s.tmpXXXXXX", path);
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	r = keygen_write_all(fd, buf, len);
	close(fd);
	if (r == 0 && rename(tmp, path) != 0)
		r = -errno;
	if (r != 0)
		unlink(tmp);
	free(tmp);
	return r;
}

static int
cmd_keygen_main(int argc, char **argv)
{
	const char *out = NULL;
	struct keyring *kr = NULL;
	char buf[KEYGEN_BUF], created[32], err[256];
	bool force = false;
	time_t now = time(NULL);
	struct tm tm;
	int c, r;

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, ":o:fh")) != -1) {
		if (c == 'o') {
			out = optarg;
		} else if (c == 'f') {
			force = true;
		} else if (c == 'h') {
			cmd_usage(stdout, &cmd_keygen_entry);
			cmd_keygen_help(stdout);
			return 0;
		} else {
			return cmd_bad_option(&cmd_keygen_entry, c, argv, NULL);
		}
	}
	if (out == NULL || optind != argc) {
		cmd_usage(stderr, &cmd_keygen_entry);
		return EXIT_USAGE;
	}
	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	r = keyring_generate(buf, sizeof(buf), created);
	/* Parse it back: proves the text is a valid keyring and yields its id. */
	if (r == 0)
		r = keyring_parse(buf, strlen(buf), "new key", &kr, err, sizeof(err));
	if (r == 0)
		r = keygen_write(out, buf, strlen(buf), force);
	sodium_memzero(buf, sizeof(buf));
	if (r == -EEXIST) {
		fprintf(stderr, "mitosis keygen: %s exists; use -f to replace it\n", out);
	} else if (r != 0) {
		fprintf(stderr, "mitosis keygen: %s: %s\n", out, strerror(-r));
	} else {
		printf("wrote cluster key %08x to %s (mode 0600)\n", keyring_primary(kr)->id, out);
	}
	keyring_free(kr);
	return r == 0 ? 0 : 1;
}
