/*
 * hooks: the operator's event hooks (docs/policy.md, "Event hooks"), as
 * Serf's event handlers and AWS's notifications: `on_event` runs a script
 * (no shell) as `SCRIPT EVENT` with MITOSIS_EVENT and the node's fields in
 * its environment (common/hookmsg.c lists them); `webhook_url` gets the same
 * as a JSON POST through the HTTP helper. Events: scale_out, scale_in,
 * node_dead, node_replaced, leader_changed, limit_reached, and the lifecycle
 * hook scale_in_pending.
 *
 * Nothing here blocks the loop: scripts run one at a time from a queue, each
 * killed (its whole process group) after hook_timeout, its stdout and
 * stderr logged line by line, escaped, at most HOOKS_LOG_LINES a run;
 * webhook posts go one at a time from their own queue, each retried after a
 * 5xx, a 429 or a failure with a doubling backoff (1 s to 60 s), at most
 * HOOKS_WEBHOOK_ATTEMPTS times. Each queue holds HOOKS_QUEUE_MAX events;
 * past that a new one is dropped and logged. The webhook URL may carry a
 * secret: only its scheme://host is ever logged.
 */
#ifndef HOOKS_H
#define HOOKS_H

#include <stdint.h>

#include <uv.h>

#define HOOKS_QUEUE_MAX	       64
#define HOOKS_WEBHOOK_ATTEMPTS 6    /* 1 + 5 retries: about a minute of backoff */
#define HOOKS_LOG_LINES	       20   /* output lines logged per script run */
#define HOOKS_OUTPUT_MAX       4096 /* stdout kept for a lifecycle answer */

struct cfg;
struct gossip;
struct hooks;

/* Hooks for cfg's on_event, webhook_url and hook_timeout (cfg borrowed for
 * the hooks' life). With neither set every call is a no-op (and a lifecycle
 * hook answers "go on"). 0 and *out, or a negative errno. */
int hooks_open(uv_loop_t *loop, const struct cfg *cfg, struct hooks **out);

/* Optional: the members, for the node's name and address in the
 * environment and JSON (borrowed; must outlive the hooks or be unset with
 * NULL). Without it those fields are empty. */
void hooks_set_gossip(struct hooks *h, const struct gossip *g);
/* The leader's term, reported with every event from now on. */
void hooks_set_term(struct hooks *h, uint64_t term);

/* Queues `event` about node_id (0: none) with `detail` (may be NULL) for the
 * script and the webhook. Strings are copied. Never calls back. */
void hooks_fire(struct hooks *h, const char *event, uint64_t node_id, const char *detail);

/*
 * The lifecycle hook before victim node_id is removed (event
 * scale_in_pending). The script decides when on_event is set (the webhook
 * is then only told), else the webhook: exit status 0 or a 2xx answer goes
 * on (status 0), unless its stdout or body holds a line "more DURATION"
 * (status 1, more_ms); a failure, a timeout, or every webhook attempt failed
 * gives a negative errno. cb is called exactly once, always from a later
 * loop turn (also with neither hook set: status 0), or with -ECANCELED from
 * hooks_close. Returns 0, or -ENOBUFS (queue full: cb never called).
 */
int hooks_lifecycle(struct hooks *h, uint64_t node_id,
		    void (*cb)(int status, uint64_t more_ms, void *arg), void *arg);

/* Kills a running script, cancels the webhook, calls pending lifecycle
 * callbacks with -ECANCELED, and frees everything once its handles are
 * closed. Accepts NULL. */
void hooks_close(struct hooks *h);

#endif
