/*
 * hookmsg: what an event hook is given and what it answers (docs/policy.md,
 * "Event hooks"), as pure functions for agent/hooks.c: the environment of
 * the `on_event` script, the JSON body of the `webhook_url` POST, the reading
 * of a lifecycle hook's answer ("more 30s"), the retry backoff, and the part
 * of a webhook URL that may be logged (scheme://host: the path and query may
 * hold a secret).
 *
 * Every text that reaches an environment variable or the JSON came from a
 * peer's gossip or the cloud: bytes outside printable ASCII become '?', so a
 * script never sees a control character from another node.
 */
#ifndef HOOKMSG_H
#define HOOKMSG_H

#include <stddef.h>
#include <stdint.h>

#define HOOKMSG_MORE_MAX_MS (3600ULL * 1000) /* the most time one answer may ask for */
#define HOOKMSG_TEXT_MAX    256		     /* bytes of one field kept (the rest is cut) */
#define HOOKMSG_VARS	    9		     /* MITOSIS_ variables set */

/* One event; every string may be NULL (then empty). Borrowed. */
struct hookmsg_event {
	const char *event; /* "scale_out", "leader_changed", "lifecycle", ... */
	uint64_t node_id;  /* the node it is about; 0: none */
	const char *node_name;
	const char *node_address;
	const char *detail;  /* free text: the history record's reason, ... */
	const char *cluster; /* cfg->cluster */
	uint64_t self_id;    /* the node that runs the hook (the leader) */
	uint64_t term;	     /* the leader's term; 0: not known */
	uint64_t time_ms;    /* unix ms */
};

/*
 * The environment of the script: MITOSIS_EVENT, MITOSIS_NODE_ID,
 * MITOSIS_NODE_NAME, MITOSIS_NODE_ADDRESS, MITOSIS_DETAIL, MITOSIS_CLUSTER,
 * MITOSIS_SELF_ID, MITOSIS_TERM, MITOSIS_TIME (unix ms), then every entry of
 * `base` (the agent's environ; may be NULL) that does not start with
 * "MITOSIS_" (so a stale one never leaks through). *out is a NULL-terminated
 * malloc'ed array the caller frees with hookmsg_env_free. 0 or -ENOMEM.
 */
int hookmsg_env(const struct hookmsg_event *ev, char *const *base, char ***out);
void hookmsg_env_free(char **env);

/* The webhook's JSON body (one line), malloc'ed; NULL on ENOMEM:
 * {"event":..,"node_id":..,"node_name":..,"node_address":..,"detail":..,
 *  "cluster":..,"from":..,"term":..,"time":"2026-..Z","time_ms":..}. */
char *hookmsg_json(const struct hookmsg_event *ev);

/*
 * A lifecycle hook's answer: the script's stdout or the webhook's body
 * (len bytes, need not be NUL-terminated). A line "more DURATION" (leading
 * and trailing blanks ignored; DURATION as in the config: "30s", "2m") asks
 * for more time: returns 1 and *more_ms (capped at HOOKMSG_MORE_MAX_MS).
 * Anything else, empty included, returns 0 (go on). A "more" line whose
 * duration does not read returns -EINVAL.
 */
int hookmsg_answer(const char *text, size_t len, uint64_t *more_ms);

/* "scheme://host[:port]" of url into out (always terminated): what may be
 * logged of a URL whose path, query or user part may carry a secret. */
void hookmsg_origin(const char *url, char *out, size_t size);

/* The wait before retry number `attempt` (1, 2, ...): 1 s doubling to a cap
 * of 60 s, minus up to a quarter of random jitter (`rnd` uniform 32 bits). */
uint64_t hookmsg_backoff_ms(unsigned attempt, uint32_t rnd);

#endif
