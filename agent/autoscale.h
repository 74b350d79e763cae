/*
 * autoscale: the scaling policy's shell (docs/policy.md, "How the shell
 * drives it"). It plugs into the leader's hooks (agent/leader.h) and, while
 * this node leads and its lease holds, runs the pure cores once every
 * policy_interval: the node table from the last inventory listing joined
 * with the SWIM members, policy_decide(), actuate_apply(), and carries out
 * actuate's actions through the API client (create, list by op tag, get,
 * delete, power cycle), the leader's registrars (leader_rotate) and the
 * gossip (the DRAIN claim). Every result is queued and handed back to the
 * core on the next loop turn, never inside the call that executes it.
 *
 * The DRAIN claim (docs/policy.md, "Draining and leaving"): the leader
 * gossips, signed, one claim per victim (kind GOSSIP_CLAIM_DRAIN, subject
 * the node, data: format 1, the leader's term, flags DRAINING and LEAVE).
 * Every node takes it only from the leader it knows for that term; the
 * victim shows `draining` in `mitosis members` and, once LEAVE is set,
 * leaves the gossip gracefully (opts.leave). A node with `protect = yes`
 * gossips its own PROTECT claim.
 *
 * The policy runs only with an API client, clone_image and clone_size: it
 * cannot see the inventory or clone without them. Everything runs on the
 * loop; nothing here blocks. Time: uv_now() (the clock gossip's
 * member_since_ms uses); the lease is converted from the election's.
 */
#ifndef AUTOSCALE_H
#define AUTOSCALE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "swim.h"

struct autoscale;
struct cfg;
struct cloud;
struct election;
struct gossip;
struct histlog;
struct hooks;
struct leader;
struct meta_identity;
struct prom_scaling;
typedef struct cJSON cJSON;

struct autoscale_opts {
	const struct cfg *cfg;		  /* borrowed: the policy keys, cluster_tag, clone_* */
	const struct meta_identity *self; /* borrowed */
	struct cloud *cloud;		  /* borrowed; NULL: the policy stays off */
	struct leader *leader;		  /* borrowed: hooks, the gate, leader_rotate */
	struct election *election;	  /* borrowed: the lease, transfer, who leads */
	struct gossip *gossip;		  /* borrowed: members, claims */
	struct histlog *histlog;	  /* optional (NULL = no history kept) */
	struct hooks *hooks;		  /* optional (NULL = no event or lifecycle hook) */
	/* This node was asked to leave (it is a scale-in victim): called once,
	 * from the loop, never from inside a gossip update. */
	void (*leave)(void *arg);
	void *arg;
};

/*
 * Starts the shell: checks the policy keys (cfg_policy), registers the
 * DRAIN and PROTECT claim kinds, gossips this node's protect flag, and
 * installs itself as the leader's hooks. 0 and *out, or a negative errno
 * after logging why (-EINVAL: a policy key the cores refuse).
 */
int autoscale_open(uv_loop_t *loop, const struct autoscale_opts *o, struct autoscale **out);

/* A DRAIN or PROTECT claim arrived (gossip_hooks.claim; may run mid-update:
 * it only records). 0 to take it, -EINVAL to refuse it. */
int autoscale_on_claim(struct autoscale *a, const struct swim_claim *c);

/* True while node `id` is marked draining by the leader's claim. */
bool autoscale_draining(const struct autoscale *a, uint64_t id);

/* `mitosis policy`: the effective policy, as text or a JSON object (malloc'd;
 * the caller frees). Accepts a NULL autoscale (policy off: it says why). */
char *autoscale_policy(const struct autoscale *a, const struct cfg *cfg, bool json);

/* `mitosis policy --dry-run` / `--act`: decide only, or act again. Turning
 * dry run on drops the running operations (a later term adopts what they
 * left, by op tag). */
void autoscale_set_dry_run(struct autoscale *a, bool on);

/* The scaling metrics for /metrics (common/prom.h); false when no policy runs
 * here (a is NULL or the agent has no clone_image, clone_size or API client). */
bool autoscale_metrics(const struct autoscale *a, struct prom_scaling *out);

/* `mitosis status`: the policy's live view (policy_format_status and the
 * operations running) on the leader, one line elsewhere. malloc'd text or a
 * JSON object the caller owns. */
char *autoscale_status_text(const struct autoscale *a);
cJSON *autoscale_status_json(const struct autoscale *a);

/* Stops the timer; calls in flight end through the client and the
 * registrars (closed next by their owner), then it is freed. Call before
 * leader_close. Accepts NULL. */
void autoscale_close(struct autoscale *a);

#endif
