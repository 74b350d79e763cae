/*
 * notify: systemd's service notification protocol (sd_notify(3)), for a
 * Type=notify unit: READY=1 once the agent is of use, STATUS= lines for
 * `systemctl status`, WATCHDOG=1 from the event loop at half of WatchdogSec,
 * STOPPING=1 when it leaves, RELOADING=1 around a SIGHUP.
 *
 * The protocol is one datagram of "KEY=VALUE" lines to the AF_UNIX socket
 * that $NOTIFY_SOCKET names (a path, or '@' then an abstract name), so it is
 * written here in a few lines instead of linking libsystemd (which would map
 * libsystemd, liblz4, libzstd, liblzma, libgcrypt and libcap into the agent
 * for this alone; docs/operations.md). Outside systemd (no $NOTIFY_SOCKET)
 * every call is a no-op.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stdint.h>

#include <uv.h>

struct notify;

/*
 * Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID and removes them
 * from the environment, so that the HTTP helper and the hooks the agent
 * starts neither notify in its name nor inherit its watchdog. With a
 * watchdog meant for this process, starts a timer on `loop` that sends
 * WATCHDOG=1 every half period: if the loop stalls, systemd kills the agent.
 * Returns 0 and *out (an object that does nothing when there is no socket),
 * or -EINVAL with the reason logged when $NOTIFY_SOCKET is not a usable
 * address (the agent then runs without notifying). Never fails otherwise.
 */
int notify_open(uv_loop_t *loop, struct notify **out);

/*
 * Sends one datagram of newline-separated KEY=VALUE lines ("READY=1\n
 * STATUS=3 members"), non-blocking. 0, or a negative errno (logged once per
 * kind of failure; the agent never stops for it). A NULL n is a no-op.
 */
int notify_send(struct notify *n, const char *msg);

/* The watchdog period in ms, 0 when there is none (for the logs and tests). */
uint64_t notify_watchdog_ms(const struct notify *n);

/* Stops the timer and closes the socket; freed in the close callback. Accepts NULL. */
void notify_close(struct notify *n);

#endif
