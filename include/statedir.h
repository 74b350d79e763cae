/*
 * statedir: the agent's durable state directory (`state_dir`, default
 * /var/lib/mitosis): the node key today, the election's term and vote and the
 * scaling history later. One flat directory of small named files, each
 * written atomically (a temporary file, fsync, rename, fsync of the
 * directory), so a crash leaves the old content or the new, never half.
 *
 * The directory belongs to one droplet. Its id is recorded in the file
 * `droplet_id`; when the droplet id of this boot differs (a clone booted from
 * a snapshot of a running node), statedir_open() removes every file in it
 * before anything is read: a clone keeps nothing of its parent (no key, no
 * vote, no history), whatever module wrote it. Modules that store state here
 * need no reset code of their own.
 *
 * The directory must be owned by the agent's user and closed to group and
 * others (0700, created so when missing; one level, like the control
 * socket's). Files are created 0600 and read back only when they still are.
 * Names are 1..64 characters of [a-z0-9._-], not starting with '.' (so the
 * temporary files, ".NAME.tmp", never collide with a name). Errors are
 * "PATH: reason" in err, never a byte of a file.
 */
#ifndef STATEDIR_H
#define STATEDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATEDIR_DEFAULT    "/var/lib/mitosis"
#define STATEDIR_NAME_MAX   64
#define STATEDIR_FILE_MAX   65536 /* the largest file statedir_read() takes */
#define STATEDIR_DROPLET_ID "droplet_id"

struct statedir;

/*
 * Opens (creating it 0700 when missing) the state directory at `path` for
 * droplet `droplet_id` (> 0). When the recorded droplet id is missing or
 * differs, every file in the directory is removed and the new id recorded;
 * *reset (may be NULL) then says so and *old_id (may be NULL) holds the id
 * that was recorded (0 when none). Returns 0 and a new handle (caller frees),
 * or -errno with err filled: -EPERM for a bad owner or mode, -ENOTDIR, ...
 */
int statedir_open(const char *path, uint64_t droplet_id, struct statedir **out, bool *reset,
		  uint64_t *old_id, char *err, size_t errsize);

/*
 * Reads file `name` into buf (at most size bytes; -EFBIG when larger).
 * Returns 0 and *len, -ENOENT when there is no such file, -EPERM when it is
 * not a regular 0600 file of ours, -EINVAL for a bad name, or another -errno;
 * err filled on every error but -ENOENT.
 */
int statedir_read(const struct statedir *sd, const char *name, void *buf, size_t size, size_t *len,
		  char *err, size_t errsize);

/*
 * Replaces file `name` with data[0, len) atomically (mode 0600). Returns 0,
 * or -errno with err filled (-ENOSPC on a full disk: the old content stays).
 */
int statedir_write(const struct statedir *sd, const char *name, const void *data, size_t len,
		   char *err, size_t errsize);

/* Removes every file in the directory (not the directory). 0 or -errno. */
int statedir_wipe(struct statedir *sd, char *err, size_t errsize);

/* The directory's path (borrowed) and the droplet id it belongs to. */
const char *statedir_path(const struct statedir *sd);
uint64_t statedir_droplet_id(const struct statedir *sd);

/* True when `name` is a valid file name here. */
bool statedir_name_ok(const char *name);

/* Closes the directory. Accepts NULL. */
void statedir_free(struct statedir *sd);

#endif
