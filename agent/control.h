/*
 * control: the agent's Unix control socket, both ends (docs/load.md).
 *
 * Protocol: a client connects, sends one request line ("members",
 * "members json", "status", "status json"; at most CONTROL_REQUEST_MAX
 * bytes, ended by '\n' or by closing its sending side), reads the reply to
 * EOF, and that is all: one request per connection. An error reply is a JSON
 * object {"error":"..."} on one line, whatever the request.
 *
 * Only the agent's user and root may ask: the socket is mode 0600 inside a
 * 0700 directory, and the server checks SO_PEERCRED besides.
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <uv.h>

#define CONTROL_DEFAULT_PATH "/run/mitosis/mitosis.sock"
#define CONTROL_REQUEST_MAX  256		 /* bytes of a request line, newline included */
#define CONTROL_TIMEOUT_MS   5000		 /* a client's whole exchange, on either side */
#define CONTROL_MAX_CLIENTS  16			 /* connections served at once; more are closed */
#define CONTROL_REPLY_MAX    (16U * 1024 * 1024) /* largest reply a client accepts */

struct control;

/* Answers one request (a NUL-terminated line without its newline, printable
 * ASCII). Returns a malloc'd reply that the server frees, or NULL for an
 * unknown request or a failure, which the client gets as an error reply. */
typedef char *control_handler_fn(const char *request, void *arg);

/*
 * Listens on `path`, mode 0600; creates its parent directory with mode 0700
 * if it is missing (one level only). A socket file left by a dead agent is
 * removed, but only once a connect() to it has failed with ECONNREFUSED.
 * Returns 0 and *out, or: -EADDRINUSE when an agent answers on `path`,
 * -EEXIST when `path` exists and is not a socket, -ENAMETOOLONG, or the
 * error of mkdir/bind/chmod/listen. A failure is logged here, with its
 * reason in words; nothing is left open once the loop has run its close
 * callbacks, and no file of ours is left at `path`.
 */
int control_open(uv_loop_t *loop, const char *path, control_handler_fn *fn, void *arg,
		 struct control **out);

/* Drops every client, stops listening, removes the socket file (if it is
 * still ours), and frees the server in the last close callback. Accepts NULL. */
void control_close(struct control *c);

/*
 * Client side, blocking, for the CLI: sends `request` and reads the whole
 * reply into *reply (NUL-terminated, caller frees), all within timeout_ms.
 * Returns 0, or -errno: -ENOENT or -ECONNREFUSED when nothing listens at
 * `path`, -EACCES when we may not connect, -ETIMEDOUT (also when the
 * listener's queue stayed full), -EFBIG (reply over CONTROL_REPLY_MAX),
 * -ENAMETOOLONG, -EINVAL (request too long).
 */
int control_query(const char *path, const char *request, int timeout_ms, char **reply);

#endif
