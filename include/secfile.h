/*
 * secfile: reading secret files (the cluster keyring, the API token) the way
 * ssh reads a private key: refused when it is not a regular file, when it is
 * not owned by the effective user, or when group or others may read or write
 * it. The message says how to fix it ("chmod 600 FILE", "chown USER FILE").
 */
#ifndef SECFILE_H
#define SECFILE_H

#include <stddef.h>

/*
 * Reads at most bufsize-1 bytes of `path` into buf and NUL-terminates it.
 * Returns 0, or a negative errno with a one-line message in err (which names
 * the path and never includes file contents): -EPERM for bad ownership or
 * mode, -EFBIG when the file does not fit, -ENOENT etc. from open(2).
 * The caller owns buf and must sodium_memzero() it after use.
 */
int secfile_read(const char *path, char *buf, size_t bufsize, size_t *len, char *err,
		 size_t errsize);

/* Only the ownership and mode checks of secfile_read (for `agent -n`). */
int secfile_check(const char *path, char *err, size_t errsize);

#endif
