/*
 * statedir: the durable state directory (include/statedir.h).
 *
 * Everything goes through one descriptor of the directory, opened with
 * O_DIRECTORY | O_NOFOLLOW and checked with fstat: openat, renameat and
 * unlinkat work relative to it, so swapping the path for a symbolic link
 * after the check changes nothing. A write is the classic atomic replace:
 * ".NAME.tmp" is written and fsync'ed, renamed over NAME, and the directory
 * is fsync'ed so the rename itself survives a crash.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "statedir.h"

struct statedir {
	int fd; /* the directory */
	char *path;
	uint64_t droplet_id;
};

static void statedir_err(char *err, size_t errsize, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "PATH: message", the path escaped (it may hold any byte). */
static void
statedir_err(char *err, size_t errsize, const char *path, const char *fmt, ...)
{
	char epath[300], msg[300];
	va_list ap;

	if (err == NULL || errsize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_escape(epath, sizeof(epath), path, strlen(path));
	snprintf(err, errsize, "%s: %s", epath, msg);
}

bool
statedir_name_ok(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n > STATEDIR_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* The directory must be ours and closed to everybody else. */
static int
statedir_check_dir(int fd, const char *path, char *err, size_t errsize)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		statedir_err(err, errsize, path, "%s", strerror(errno));
		return -errno;
	}
	if (st.st_uid != geteuid()) {
		statedir_err(err, errsize, path, "owned by uid %lu, not by the agent's (uid %lu)",
			     (unsigned long)st.st_uid, (unsigned long)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & 077) != 0) {
		statedir_err(err, errsize, path,
			     "group or others may use it (mode %03o); fix with: chmod 700 %s",
			     (unsigned)(st.st_mode & 0777), path);
		return -EPERM;
	}
	return 0;
}

/* Opens (creating it 0700 when missing) and checks the directory. */
static int
statedir_open_dir(const char *path, char *err, size_t errsize)
{
	int fd;

	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		statedir_err(err, errsize, path, "cannot create: %s", strerror(errno));
		return -errno;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		statedir_err(err, errsize, path, "%s",
			     e == ENOTDIR || e == ELOOP ? "not a directory" : strerror(e));
		return e == ELOOP ? -ENOTDIR : -e;
	}
	return fd;
}

int
statedir_read(const struct statedir *sd, const char *name, void *buf, size_t size, size_t *len,
	      char *err, size_t errsize)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, rc = 0;

	if (!statedir_name_ok(name)) {
		statedir_err(err, errsize, sd->path, "bad file name");
		return -EINVAL;
	}
	fd = openat(sd->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc != -ENOENT)
			statedir_err(err, errsize, sd->path, "%s: %s", name, strerror(-rc));
		return rc == -ELOOP ? -EPERM : rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		statedir_err(err, errsize, sd->path,
			     "%s: not a regular file of mode 0600 owned by "
			     "the agent's user",
			     name);
		rc = -EPERM;
		goto out;
	}
	while (got < size && (n = read(fd, (char *)buf + got, size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			statedir_err(err, errsize, sd->path, "%s: %s", name, strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	if (got == size && (size_t)st.st_size > size) {
		statedir_err(err, errsize, sd->path, "%s: larger than %zu bytes", name, size);
		rc = -EFBIG;
		goto out;
	}
	*len = got;
out:
	close(fd);
	return rc;
}

/* Writes all of data to fd. 0 or -errno. */
static int
statedir_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
statedir_write(const struct statedir *sd, const char *name, const void *data, size_t len, char *err,
	       size_t errsize)
{
	char tmp[STATEDIR_NAME_MAX + 8];
	int fd, rc;

	if (!statedir_name_ok(name)) {
		statedir_err(err, errsize, sd->path, "bad file name");
		return -EINVAL;
	}
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	(void)unlinkat(sd->fd, tmp, 0); /* left by a crash */
	fd = openat(sd->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		statedir_err(err, errsize, sd->path, "%s: %s", tmp, strerror(errno));
		return rc;
	}
	rc = statedir_write_all(fd, data, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(sd->fd, tmp, sd->fd, name) != 0)
		rc = -errno;
	if (rc == 0 && fsync(sd->fd) != 0)
		rc = -errno;
	if (rc != 0) {
		statedir_err(err, errsize, sd->path, "cannot write %s: %s", name, strerror(-rc));
		(void)unlinkat(sd->fd, tmp, 0);
	}
	return rc;
}

int
statedir_wipe(struct statedir *sd, char *err, size_t errsize)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	/* fdopendir takes the descriptor it is given: hand it a copy. */
	if ((fd = dup(sd->fd)) < 0 || (d = fdopendir(fd)) == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		statedir_err(err, errsize, sd->path, "cannot list: %s", strerror(-rc));
		return rc;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(sd->fd, de->d_name, 0) != 0 && errno != ENOENT && rc == 0) {
			rc = -errno;
			statedir_err(err, errsize, sd->path, "cannot remove an entry: %s",
				     strerror(errno));
		}
	}
	closedir(d);
	if (rc == 0 && fsync(sd->fd) != 0)
		rc = -errno;
	return rc;
}

/* The recorded droplet id: 0 when there is none or it does not parse. */
static uint64_t
statedir_recorded_id(const struct statedir *sd)
{
	char buf[32], *end;
	size_t len = 0;
	unsigned long long v;

	if (statedir_read(sd, STATEDIR_DROPLET_ID, buf, sizeof(buf) - 1, &len, NULL, 0) != 0)
		return 0;
	buf[len] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0'))
		return 0;
	return v;
}

int
statedir_open(const char *path, uint64_t droplet_id, struct statedir **out, bool *reset,
	      uint64_t *old_id, char *err, size_t errsize)
{
	struct statedir *sd;
	char line[32];
	uint64_t recorded;
	int fd, rc;

	*out = NULL;
	if (path == NULL || path[0] == '\0' || droplet_id == 0)
		return -EINVAL;
	if ((fd = statedir_open_dir(path, err, errsize)) < 0)
		return fd;
	if ((rc = statedir_check_dir(fd, path, err, errsize)) != 0) {
		close(fd);
		return rc;
	}
	sd = calloc(1, sizeof(*sd));
	if (sd == NULL || (sd->path = strdup(path)) == NULL) {
		free(sd);
		close(fd);
		return -ENOMEM;
	}
	sd->fd = fd;
	sd->droplet_id = droplet_id;
	recorded = statedir_recorded_id(sd);
	if (old_id != NULL)
		*old_id = recorded;
	if (reset != NULL)
		*reset = recorded != droplet_id;
	if (recorded != droplet_id) {
		/* Another droplet's state, or none that we can trust: keep nothing. */
		snprintf(line, sizeof(line), "%" PRIu64 "\n", droplet_id);
		rc = statedir_wipe(sd, err, errsize);
		if (rc == 0)
			rc = statedir_write(sd, STATEDIR_DROPLET_ID, line, strlen(line), err,
					    errsize);
		if (rc != 0) {
			statedir_free(sd);
			return rc;
		}
	}
	*out = sd;
	return 0;
}

const char *
statedir_path(const struct statedir *sd)
{
	return sd->path;
}

uint64_t
statedir_droplet_id(const struct statedir *sd)
{
	return sd->droplet_id;
}

void
statedir_free(struct statedir *sd)
{
	if (sd == NULL)
		return;
	close(sd->fd);
	free(sd->path);
	free(sd);
}
