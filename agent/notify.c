/*
 * notify: sd_notify(3) in a few lines (notify.h). The socket is opened once,
 * SOCK_DGRAM | SOCK_CLOEXEC, and each message is one sendto(): systemd reads
 * the sender's credentials from the datagram, so NotifyAccess=main accepts
 * it only from the agent's own pid, which is why the watchdog pid is checked
 * and the variables are taken out of the environment of the children.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "util.h"
#include "xmalloc.h"

struct notify {
	uv_timer_t watchdog;
	int fd; /* -1: no socket, every send is a no-op */
	struct sockaddr_un addr;
	socklen_t addrlen;
	uint64_t watchdog_ms;
	int last_err; /* the last failure logged, so that a burst is logged once */
};

/* $NOTIFY_SOCKET as an address: "/path" or "@abstract". 0 or -EINVAL. */
static int
notify_addr(const char *s, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(s);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((s[0] != '/' && s[0] != '@') || n < 2 || n >= sizeof(sa->sun_path))
		return -EINVAL;
	memcpy(sa->sun_path, s, n);
	if (s[0] == '@')
		sa->sun_path[0] = '\0'; /* the abstract namespace: no NUL at the end */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (s[0] == '/' ? 1 : 0));
	return 0;
}

/*
 * The watchdog period from $WATCHDOG_USEC, when $WATCHDOG_PID is absent or
 * ours (systemd sets it; a variable inherited from a parent is not ours).
 */
static uint64_t
notify_watchdog_env(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	uint64_t us = 0, p = 0;

	if (usec == NULL || util_parse_u64(usec, 1, UINT64_MAX, &us) != 0)
		return 0;
	if (pid != NULL && (util_parse_u64(pid, 1, UINT64_MAX, &p) != 0 || p != (uint64_t)getpid()))
		return 0;
	return us / 1000 > 0 ? us / 1000 : 1;
}

static void
notify_on_watchdog(uv_timer_t *t)
{
	notify_send(t->data, "WATCHDOG=1");
}

int
notify_open(uv_loop_t *loop, struct notify **out)
{
	struct notify *n = xcalloc(1, sizeof(*n));
	const char *path = getenv("NOTIFY_SOCKET");
	int r = 0;

	n->fd = -1;
	uv_timer_init(loop, &n->watchdog);
	uv_unref((uv_handle_t *)&n->watchdog); /* it never keeps the loop alive */
	n->watchdog.data = n;
	*out = n;
	if (path == NULL)
		goto out;
	if (notify_addr(path, &n->addr, &n->addrlen) != 0) {
		log_warnx("systemd: NOTIFY_SOCKET is not a socket address; not notifying");
		r = -EINVAL;
		goto out;
	}
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0) {
		r = -errno;
		log_warn("systemd: notification socket");
		goto out;
	}
	n->watchdog_ms = notify_watchdog_env();
	if (n->watchdog_ms > 0) {
		uv_timer_start(&n->watchdog, notify_on_watchdog, n->watchdog_ms / 2,
			       n->watchdog_ms / 2 > 0 ? n->watchdog_ms / 2 : 1);
		log_info("systemd: watchdog every %" PRIu64 " ms", n->watchdog_ms / 2);
	}
out:
	/* Children (mitosis-http, hooks) are not the service: they must not notify. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return r;
}

int
notify_send(struct notify *n, const char *msg)
{
	ssize_t r;
	int e;

	if (n == NULL || n->fd < 0)
		return 0;
	do
		r = sendto(n->fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&n->addr,
			   n->addrlen);
	while (r < 0 && errno == EINTR);
	if (r >= 0) {
		n->last_err = 0;
		return 0;
	}
	e = errno;
	if (e != n->last_err)
		log_warnx("systemd: cannot notify: %s", strerror(e));
	n->last_err = e;
	return -e;
}

uint64_t
notify_watchdog_ms(const struct notify *n)
{
	return n != NULL ? n->watchdog_ms : 0;
}

static void
notify_on_close(uv_handle_t *h)
{
	free(h->data);
}

void
notify_close(struct notify *n)
{
	if (n == NULL)
		return;
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	uv_close((uv_handle_t *)&n->watchdog, notify_on_close);
}
