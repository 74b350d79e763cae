/*
 * control: the Unix socket the `mitosis members` and `mitosis status`
 * commands talk to, after OpenSMTPD's control.c: one uv_pipe_t listening,
 * one small struct per client holding its pipe, a timer and the request
 * read so far.
 *
 * A client's life: accepted (or closed at once past CONTROL_MAX_CLIENTS),
 * its SO_PEERCRED uid checked, one request line read, the handler's reply
 * written, closed. A timer started at accept drops it after
 * CONTROL_TIMEOUT_MS whatever it is doing, so a silent client or one that
 * never reads its reply cannot pin memory. Each client is freed in the last
 * of its two close callbacks, and the server once it and every client have
 * closed.
 *
 * The socket file is created under umask 0177, so it is never visible with
 * a wider mode, and chmod'ed to 0600 after bind to be sure. The client half
 * (control_query) is plain blocking code for the CLI.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "container.h"
#include "control.h"
#include "log.h"
#include "xmalloc.h"

#define CONTROL_BACKLOG 32

struct control_client {
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_write_t wr;
	struct control *c;
	LIST_ENTRY(control_client) entry;
	char *reply;
	unsigned long uid;
	unsigned open_handles;
	bool answered, closing, denied;
	size_t len;
	char buf[CONTROL_REQUEST_MAX];
};

struct control {
	uv_pipe_t srv;
	uv_loop_t *loop;
	char *path;
	dev_t dev;
	ino_t ino;
	bool have_file, srv_open, closing;
	control_handler_fn *fn;
	void *arg;
	LIST_HEAD(, control_client) clients;
	unsigned nclients; /* clients not yet closing */
};

static void
control_maybe_free(struct control *c)
{
	if (!c->closing || c->srv_open || !LIST_EMPTY(&c->clients))
		return;
	free(c->path);
	free(c);
}

static void
control_client_on_close(uv_handle_t *h)
{
	struct control_client *cl = h->data;
	struct control *c = cl->c;

	if (--cl->open_handles > 0)
		return;
	LIST_REMOVE(cl, entry);
	free(cl->reply);
	free(cl);
	control_maybe_free(c);
}

/*
 * Reads and drops whatever the client sent past its request. Closing a Unix
 * socket with unread bytes makes the kernel reset the connection, and the
 * client would lose the reply (say, "request too long") still in its queue.
 */
static void
control_client_drain(struct control_client *cl)
{
	char scratch[512];
	uv_os_fd_t fd;
	int rounds = 64;

	if (uv_fileno((uv_handle_t *)&cl->pipe, &fd) != 0)
		return;
	while (rounds-- > 0 && recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
		;
}

static void
control_client_close(struct control_client *cl)
{
	if (cl->closing)
		return;
	cl->closing = true;
	cl->c->nclients--;
	if (cl->answered)
		control_client_drain(cl);
	uv_close((uv_handle_t *)&cl->pipe, control_client_on_close);
	uv_close((uv_handle_t *)&cl->timer, control_client_on_close);
}

static void
control_on_written(uv_write_t *wr, int status)
{
	struct control_client *cl = container_of(wr, struct control_client, wr);

	if (status < 0 && status != UV_ECANCELED)
		log_trace(TRACE_CONTROL, "control: uid %lu: write: %s", cl->uid,
			  uv_strerror(status));
	control_client_close(cl);
}

/* Sends the reply (taken over) followed by a newline when it lacks one. */
static void
control_send(struct control_client *cl, char *reply)
{
	static char nl[] = "\n";
	uv_buf_t bufs[2];
	size_t len = strlen(reply);
	int r;

	cl->answered = true;
	cl->reply = reply;
	uv_read_stop((uv_stream_t *)&cl->pipe);
	bufs[0] = uv_buf_init(reply, (unsigned)len);
	bufs[1] = uv_buf_init(nl, 1);
	r = uv_write(&cl->wr, (uv_stream_t *)&cl->pipe, bufs,
		     len > 0 && reply[len - 1] == '\n' ? 1 : 2, control_on_written);
	if (r != 0)
		control_client_close(cl);
}

/* {"error":"msg"}, escaped by cJSON. */
static char *
control_error_json(const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;

	if (o != NULL && cJSON_AddStringToObject(o, "error", msg) != NULL)
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		fatalx("out of memory");
	return s;
}

static void
control_send_error(struct control_client *cl, const char *msg)
{
	log_trace(TRACE_CONTROL, "control: uid %lu: error reply: %s", cl->uid, msg);
	control_send(cl, control_error_json(msg));
}

static bool
control_printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	}
	return true;
}

/* The request is buf[0, len): hands it to the handler, sends the answer. */
static void
control_dispatch(struct control_client *cl, size_t len)
{
	char req[CONTROL_REQUEST_MAX], msg[CONTROL_REQUEST_MAX + 32];
	char *reply;

	if (cl->denied) {
		control_send_error(cl, "permission denied");
		return;
	}
	if (len > 0 && cl->buf[len - 1] == '\r')
		len--;
	if (len == 0 || !control_printable(cl->buf, len)) {
		control_send_error(cl, len == 0 ? "empty request" : "malformed request");
		return;
	}
	memcpy(req, cl->buf, len);
	req[len] = '\0';
	log_trace(TRACE_CONTROL, "control: uid %lu: request \"%s\"", cl->uid, req);
	reply = cl->c->fn(req, cl->c->arg);
	if (reply == NULL) {
		snprintf(msg, sizeof(msg), "cannot answer \"%s\"", req);
		control_send_error(cl, msg);
		return;
	}
	control_send(cl, reply);
}

static void
control_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct control_client *cl = h->data;

	*buf = uv_buf_init(cl->buf + cl->len, (unsigned)(sizeof(cl->buf) - cl->len));
}

static void
control_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct control_client *cl = st->data;
	char *nl;

	if (nread < 0) {
		/* A request may end with EOF instead of a newline (shutdown(SHUT_WR)). */
		if (nread == UV_EOF && cl->len > 0)
			control_dispatch(cl, cl->len);
		else
			control_client_close(cl);
		return;
	}
	cl->len += (size_t)nread;
	nl = memchr(cl->buf, '\n', cl->len);
	if (nl != NULL)
		control_dispatch(cl, (size_t)(nl - cl->buf));
	else if (cl->len == sizeof(cl->buf))
		control_send_error(cl, "request too long");
}

static void
control_on_timeout(uv_timer_t *t)
{
	struct control_client *cl = container_of(t, struct control_client, timer);

	log_trace(TRACE_CONTROL, "control: uid %lu: dropped after %d ms (%s)", cl->uid,
		  CONTROL_TIMEOUT_MS, cl->answered ? "reply not read" : "no request");
	control_client_close(cl);
}

/* The connecting process's uid, from the kernel. */
static int
control_peer_uid(struct control_client *cl, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&cl->pipe, &fd) != 0)
		return -EBADF;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return -errno;
	*uid = cred.uid;
	return 0;
}

static struct control_client *
control_client_new(struct control *c)
{
	struct control_client *cl = xcalloc(1, sizeof(*cl));

	cl->c = c;
	uv_pipe_init(c->loop, &cl->pipe, 0);
	uv_timer_init(c->loop, &cl->timer);
	cl->pipe.data = cl->timer.data = cl;
	cl->open_handles = 2;
	LIST_INSERT_HEAD(&c->clients, cl, entry);
	c->nclients++;
	return cl;
}

static void
control_on_connection(uv_stream_t *srv, int status)
{
	struct control *c = container_of((uv_pipe_t *)(void *)srv, struct control, srv);
	struct control_client *cl;
	uid_t uid = (uid_t)-1;

	if (status < 0) {
		log_warnx("control %s: accept: %s", c->path, uv_strerror(status));
		return;
	}
	cl = control_client_new(c);
	/* Accepted even when over the limit: libuv stops listening until we do. */
	if (uv_accept(srv, (uv_stream_t *)&cl->pipe) != 0) {
		control_client_close(cl);
		return;
	}
	if (c->nclients > CONTROL_MAX_CLIENTS) {
		log_trace(TRACE_CONTROL, "control: %u clients already; closing a new one",
			  CONTROL_MAX_CLIENTS);
		control_client_close(cl);
		return;
	}
	uv_timer_start(&cl->timer, control_on_timeout, CONTROL_TIMEOUT_MS, 0);
	/* A refused client still gets its request read, then the refusal: a reply
	 * sent before it has written would meet a reset instead of being read. */
	if (control_peer_uid(cl, &uid) != 0 || (uid != 0 && uid != geteuid())) {
		cl->denied = true;
		log_warnx("control %s: refused a client with uid %ld", c->path, (long)(int)uid);
	}
	cl->uid = (unsigned long)uid;
	uv_read_start((uv_stream_t *)&cl->pipe, control_on_alloc, control_on_read);
}

/* Creates the socket's directory (mode 0700) and its missing ancestors. */
static int
control_make_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int r = 0;

	if (slash == NULL || slash == path)
		return 0;
	dir = xstrdup(path);
	dir[slash - path] = '\0';
	/* Missing ancestors are made 0755 like mkdir -p; the socket's own
	 * directory is 0700, so only the owner can even reach the socket. */
	for (char *p = dir + 1; *p != '\0' && r == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			r = -errno;
		*p = '/';
	}
	if (r == 0 && mkdir(dir, 0700) != 0 && errno != EEXIST)
		r = -errno;
	free(dir);
	return r;
}

static int
control_sockaddr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

/*
 * Makes room for our socket: 0 when `path` is free (or held by a dead
 * agent's socket, now removed), -EADDRINUSE when someone answers there.
 */
static int
control_clear_stale(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r, e;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if ((r = control_sockaddr(path, &sa)) != 0)
		return r;
	/* Non-blocking: a live agent with a full queue answers EAGAIN, not a hang. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN)
		return -EADDRINUSE;
	if (e != ECONNREFUSED)
		return -e;
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	log_info("control %s: removed the socket of an agent that is no longer running", path);
	return 0;
}

static void
control_on_srv_close(uv_handle_t *h)
{
	struct control *c = h->data;

	c->srv_open = false;
	control_maybe_free(c);
}

/* Binds under umask 0177, then makes sure of 0600 and notes which file is ours. */
static int
control_bind(struct control *c)
{
	struct stat st;
	mode_t old = umask(0177);
	int r = uv_pipe_bind(&c->srv, c->path);

	umask(old);
	if (r != 0)
		return r;
	if (lstat(c->path, &st) != 0)
		return -errno;
	c->have_file = true;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (chmod(c->path, 0600) != 0)
		return -errno;
	return uv_listen((uv_stream_t *)&c->srv, CONTROL_BACKLOG, control_on_connection);
}

static int
control_open_failed(const char *path, int r)
{
	if (r == -EADDRINUSE)
		log_error("control %s: another agent is running (it answers on this socket)", path);
	else if (r == -EEXIST)
		log_error("control %s: exists and is not a socket; remove it or set control_socket",
			  path);
	else
		log_error("control %s: %s", path, strerror(-r));
	return r;
}

int
control_open(uv_loop_t *loop, const char *path, control_handler_fn *fn, void *arg,
	     struct control **out)
{
	struct sockaddr_un sa;
	struct control *c;
	int r;

	if ((r = control_sockaddr(path, &sa)) != 0)
		return control_open_failed(path, r);
	if ((r = control_make_dir(path)) != 0 || (r = control_clear_stale(path)) != 0)
		return control_open_failed(path, r);
	c = xcalloc(1, sizeof(*c));
	LIST_INIT(&c->clients);
	c->loop = loop;
	c->path = xstrdup(path);
	c->fn = fn;
	c->arg = arg;
	uv_pipe_init(loop, &c->srv, 0);
	c->srv.data = c;
	c->srv_open = true;
	r = control_bind(c);
	if (r != 0) {
		control_close(c);
		return control_open_failed(path, r);
	}
	*out = c;
	return 0;
}

void
control_close(struct control *c)
{
	struct control_client *cl;
	struct stat st;

	if (c == NULL || c->closing)
		return;
	c->closing = true;
	LIST_FOREACH(cl, &c->clients, entry)
		control_client_close(cl);
	/* Remove the file only if it is still the one we bound. */
	if (c->have_file && lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	uv_close((uv_handle_t *)&c->srv, control_on_srv_close);
}

static uint64_t
control_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline. 0, -ETIMEDOUT or -errno. */
static int
control_wait(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		uint64_t now = control_now_ms();
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Connects; a full listen queue is waited on up to the deadline (SO_SNDTIMEO
 * bounds a blocking connect() on a Unix socket). */
static int
control_connect(const char *path, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000 };
	struct sockaddr_un sa;
	int fd, r;

	if ((r = control_sockaddr(path, &sa)) != 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while ((r = connect(fd, (struct sockaddr *)&sa, sizeof(sa))) != 0 && errno == EINTR)
		;
	if (r != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int
control_send_request(int fd, const char *request, uint64_t deadline)
{
	char line[CONTROL_REQUEST_MAX + 1];
	size_t len = (size_t)snprintf(line, sizeof(line), "%s\n", request), off = 0;

	if (len >= CONTROL_REQUEST_MAX)
		return -EINVAL;
	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((r = control_wait(fd, POLLOUT, deadline)) != 0)
				return r;
			continue;
		}
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

/* Reads to EOF into a growing buffer. */
static int
control_read_reply(int fd, uint64_t deadline, char **reply)
{
	size_t len = 0, cap = 4096;
	char *buf = xmalloc(cap);
	int r = 0;

	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			if (cap > CONTROL_REPLY_MAX) {
				r = -EFBIG;
				break;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		if ((r = control_wait(fd, POLLIN, deadline)) != 0)
			break;
		n = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		len += (size_t)n;
	}
	if (r != 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*reply = buf;
	return 0;
}

int
control_query(const char *path, const char *request, int timeout_ms, char **reply)
{
	uint64_t deadline = control_now_ms() + (uint64_t)timeout_ms;
	int fd = control_connect(path, timeout_ms), r;

	/* A blocking connect() that waited SO_SNDTIMEO on a full queue: EAGAIN. */
	if (fd < 0)
		return fd == -EAGAIN || fd == -EINPROGRESS ? -ETIMEDOUT : fd;
	r = control_send_request(fd, request, deadline);
	/* The agent may have answered and closed before reading all of it. */
	if (r == 0 || r == -EPIPE || r == -ECONNRESET) {
		int rr = control_read_reply(fd, deadline, reply);

		if (rr == 0 && r != 0 && (*reply)[0] == '\0')
			free(*reply);
		else
			r = rr;
	}
	close(fd);
	return r;
}
