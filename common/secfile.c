/*
 * secfile: opens a secret file once and checks the open descriptor, never the
 * path a second time, so the file cannot be swapped between the check and the
 * read. A symbolic link as the last component is refused by O_NOFOLLOW;
 * O_NONBLOCK keeps a FIFO planted at the path from hanging the agent before
 * fstat() can say it is not a regular file. Messages name the path and the fix,
 * and never contain a byte of the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "secfile.h"

/* Room for an escaped path in a message; longer paths are cut with "...". */
#define SECFILE_PATH_MAX 512

static void secfile_err(char *err, size_t errsize, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Writes "PATH: message" into err; the path is escaped, as it may hold any byte. */
static void
secfile_err(char *err, size_t errsize, const char *path, const char *fmt, ...)
{
	char epath[SECFILE_PATH_MAX], msg[SECFILE_PATH_MAX + 256];
	va_list ap;

	if (err == NULL || errsize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_escape(epath, sizeof(epath), path, strlen(path));
	snprintf(err, errsize, "%s: %s", epath, msg);
}

/* The user name of uid, or its number when it has none (or NSS is absent). */
static void
secfile_user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
		snprintf(buf, size, "%s", res->pw_name);
	else
		snprintf(buf, size, "%lu", (unsigned long)uid);
}

/* How the owner reads in a message: "uid 1000", or "nobody (uid 65534)". */
static void
secfile_owner_text(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
		snprintf(buf, size, "%s (uid %lu)", res->pw_name, (unsigned long)uid);
	else
		snprintf(buf, size, "uid %lu", (unsigned long)uid);
}

static const char *
secfile_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a regular file";
}

/* Type, owner and mode checks on an open descriptor. */
static int
secfile_check_fd(int fd, const char *path, char *err, size_t errsize)
{
	char owner[128], me[128], epath[SECFILE_PATH_MAX];
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int rc = -errno;

		secfile_err(err, errsize, path, "cannot stat: %s", strerror(-rc));
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		secfile_err(err, errsize, path, "is %s, not a regular file",
			    secfile_kind(st.st_mode));
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	log_escape(epath, sizeof(epath), path, strlen(path));
	if (st.st_uid != geteuid()) {
		secfile_owner_text(st.st_uid, owner, sizeof(owner));
		secfile_user_name(geteuid(), me, sizeof(me));
		secfile_err(err, errsize, path,
			    "owned by %s, not by the user running mitosis (%s); fix: chown %s %s",
			    owner, me, me, epath);
		return -EPERM;
	}
	if ((st.st_mode & 077) != 0) {
		secfile_err(err, errsize, path,
			    "mode %04o lets group or others read or change it; fix: chmod 600 %s",
			    (unsigned)(st.st_mode & 07777), epath);
		return -EPERM;
	}
	return 0;
}

/* Opens path for the checks; returns the descriptor or a negative errno. */
static int
secfile_open(const char *path, char *err, size_t errsize)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	int rc;

	if (fd >= 0)
		return fd;
	rc = -errno;
	if (rc == -ELOOP)
		secfile_err(err, errsize, path,
			    "is a symbolic link; refused (give the path of the file itself)");
	else
		secfile_err(err, errsize, path, "cannot open: %s", strerror(-rc));
	return rc;
}

int
secfile_check(const char *path, char *err, size_t errsize)
{
	int fd, rc;

	if (err != NULL && errsize > 0)
		err[0] = '\0';
	fd = secfile_open(path, err, errsize);
	if (fd < 0)
		return fd;
	rc = secfile_check_fd(fd, path, err, errsize);
	close(fd);
	return rc;
}

/* Reads until EOF into buf[0..cap); -EFBIG when more than cap bytes remain. */
static int
secfile_read_fd(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	char probe;
	ssize_t r;

	for (;;) {
		/* Once buf is full, read one byte more to tell "exactly fits" from "too big". */
		if (n < cap)
			r = read(fd, buf + n, cap - n);
		else
			r = read(fd, &probe, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		if (n == cap) {
			sodium_memzero(&probe, sizeof(probe));
			return -EFBIG;
		}
		n += (size_t)r;
	}
	*len = n;
	return 0;
}

int
secfile_read(const char *path, char *buf, size_t bufsize, size_t *len, char *err, size_t errsize)
{
	size_t n = 0;
	int fd, rc;

	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (buf == NULL || bufsize == 0) {
		secfile_err(err, errsize, path, "no buffer to read into");
		return -EINVAL;
	}
	fd = secfile_open(path, err, errsize);
	if (fd < 0)
		return fd;
	rc = secfile_check_fd(fd, path, err, errsize);
	if (rc < 0)
		goto out;
	rc = secfile_read_fd(fd, buf, bufsize - 1, &n);
	if (rc == -EFBIG)
		secfile_err(err, errsize, path, "larger than %zu bytes; is this the right file?",
			    bufsize - 1);
	else if (rc < 0)
		secfile_err(err, errsize, path, "cannot read: %s", strerror(-rc));
out:
	close(fd);
	if (rc < 0) {
		/* Leave no partial secret behind for a caller that only frees on success. */
		sodium_memzero(buf, bufsize);
		return rc;
	}
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return 0;
}
