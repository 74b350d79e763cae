/*
 * policy: the scaling policy of the elected leader, as a pure core
 * (docs/policy.md). One call, policy_decide(), takes what the leader knows
 * (the cluster's droplets from the cloud inventory joined with their gossiped
 * member records and loads, the clocks) and returns ONE decision: hold,
 * clone N, retire these victims, or transfer leadership first. The decision
 * carries its reason and every input it used, so the history can show why.
 *
 * The rules, in short (each is tested in tests/unit/test_policy*.c):
 *   - target tracking on cpu, load1 per CPU, memory and the custom metric:
 *     desired = ceil(sum of clamped samples / target), HPA's tolerance band,
 *     the largest desired of several metrics wins;
 *   - a scale-out needs the desired size above the current one for
 *     scale_out_window, a scale-in below it for scale_in_window; separate
 *     cooldowns; nodes in warm-up and droplets being created count as
 *     capacity but not in the load;
 *   - min_nodes, max_nodes, max_step and max_hourly_cost cut every decision;
 *   - scale-in victims are never the leader, never protected, never below
 *     min_nodes, and are chosen with DigitalOcean's per-second billing and
 *     its minimum charge in mind.
 *
 * Time: `now_ms` is any monotonic clock in milliseconds (the one gossip uses
 * for member_since_ms); `unix_s` is the wall clock, only compared with the
 * droplets' created_at. Nothing here does I/O, allocates per node or logs
 * secrets; the state kept between calls is small and bounded.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy_window.h"
#include "swim.h"

struct doapi_droplet;
typedef struct cJSON cJSON;

enum policy_metric {
	POLICY_METRIC_CPU = 0,	  /* cpu_permille, 0..1000 */
	POLICY_METRIC_LOAD1 = 1,  /* load1_permille: load1 per CPU x 1000 */
	POLICY_METRIC_MEMORY = 2, /* mem_permille, 0..1000 */
	POLICY_METRIC_CUSTOM = 3, /* custom_milli: the custom metric x 1000 */
	POLICY_METRIC_COUNT = 4,
};
#define POLICY_METRIC_BIT(m) (1U << (m))

#define POLICY_STEP_MAX	       50	       /* largest max_step: victims per decision */
#define POLICY_CUSTOM_MAX      1000000000000LL /* custom target/max bound, milli (10^9 units) */
#define POLICY_TEXT_MAX	       192	       /* reason text, NUL included */
#define POLICY_MIN_CHARGE_S    60	       /* DigitalOcean's minimum: 60 s ... */
#define POLICY_MIN_CHARGE_UUSD 10000	       /* ... or $0.01, whichever is longer */

/*
 * The policy's settings. Money is in micro-dollars (1e-6 $), metric values
 * in the units gossiped in struct swim_load (permille, milli-units).
 * policy_config_default() fills the defaults docs/policy.md gives with
 * their reasons; policy_config_validate() checks a filled one.
 */
struct policy_config {
	unsigned metrics;		     /* POLICY_METRIC_BIT()s in use */
	int64_t target[POLICY_METRIC_COUNT]; /* target value per node */
	int64_t max[POLICY_METRIC_COUNT];    /* one node's report is clamped to [0, max];
					      * 0 = 2 x target (load1, custom) */
	uint32_t tolerance_permille;	     /* no change within target +- this */
	uint64_t interval_ms;		     /* how often the shell calls policy_decide */
	uint64_t scale_out_window_ms;	     /* above the band this long before a scale-out */
	uint64_t scale_in_window_ms;	     /* below the band this long before a scale-in */
	uint64_t scale_out_cooldown_ms;	     /* after a scale-out, before the next one */
	uint64_t scale_in_cooldown_ms;	     /* after any scaling, before a scale-in */
	uint64_t warmup_ms;		     /* droplets younger than this: capacity, no load */
	uint32_t min_nodes, max_nodes, max_step;
	uint64_t max_hourly_cost_uusd; /* 0 = no cost limit */
	uint64_t retire_delay_ms;      /* dns_ttl + drain_timeout: how long a retire takes */
	bool billing_hold;	       /* keep a victim until its minimum charge is used */
	bool dry_run;		       /* decide and record, never act */
};

/* Droplet status from the inventory (DigitalOcean's enum). */
enum policy_status {
	POLICY_ST_NEW = 0, /* being created or booting */
	POLICY_ST_ACTIVE = 1,
	POLICY_ST_OFF = 2,
	POLICY_ST_ARCHIVE = 3,
};

/* Flags of a node. The shell sets the first group from the inventory and the
 * member table; actuate_fill_input() sets the second from the operations. */
#define POLICY_NODE_LISTED	(1U << 0)  /* in the inventory under the cluster tag */
#define POLICY_NODE_MEMBER	(1U << 1)  /* a member record exists (member_state is valid) */
#define POLICY_NODE_LOAD_VALID	(1U << 2)  /* its load sample is signed by it and valid */
#define POLICY_NODE_PROTECT_TAG (1U << 3)  /* the droplet carries the mitosis-protect tag */
#define POLICY_NODE_PROTECT_CFG (1U << 4)  /* the node gossips protect = yes */
#define POLICY_NODE_DRAINING	(1U << 5)  /* the node gossips that it is draining */
#define POLICY_NODE_LEADER	(1U << 6)  /* the node is the leader (this node) */
#define POLICY_NODE_HAS_IPV4	(1U << 7)  /* the inventory lists an IPv4 for it */
#define POLICY_NODE_RETIRING	(1U << 8)  /* in a scale-in operation */
#define POLICY_NODE_DEAD_OP	(1U << 9)  /* in a dead-node operation, not yet deleted */
#define POLICY_NODE_DELETING	(1U << 10) /* delete sent, not gone: billed, not capacity */
#define POLICY_NODE_CLONING	(1U << 11) /* in a clone operation that has not finished */

#define POLICY_NODE_PROTECTED (POLICY_NODE_PROTECT_TAG | POLICY_NODE_PROTECT_CFG)

/*
 * One droplet of the cluster, as the leader sees it: the inventory's view
 * (status, age, price, tags) joined with the member table's (state, load).
 * Filled by policy_node_from_droplet() and policy_node_set_member(), then
 * annotated by actuate_fill_input(). Plain data: copy it freely.
 */
struct policy_node {
	uint64_t id;		  /* droplet id = node id */
	uint64_t op_id;		  /* 48-bit id from its mitosis-op- tag; 0 = none */
	uint64_t created_s;	  /* unix seconds of created_at; 0 = unknown (mature) */
	uint64_t price_uusd;	  /* hourly price of its size; 0 = unknown */
	uint64_t member_since_ms; /* now_ms clock: when member_state began */
	struct swim_load load;	  /* the member's newest load sample */
	enum policy_status status;
	enum swim_state member_state; /* valid with POLICY_NODE_MEMBER */
	unsigned flags;
};

/* What one decision sees. Everything is borrowed for the call only. */
struct policy_input {
	const struct policy_node *nodes; /* every droplet listed under the cluster tag */
	size_t n;
	uint64_t now_ms;
	uint64_t unix_s;
	uint64_t clone_price_uusd; /* hourly price of one clone (clone_size); 0 = unknown */
	/* From actuate_fill_input(): */
	uint32_t creating;	     /* clones in flight that the inventory does not list yet */
	uint64_t unlisted_cost_uusd; /* deleted droplets not listed any more but not yet gone */
	bool clone_failed;	     /* a clone operation failed ... */
	uint64_t clone_failed_ms;    /* ... at this time: clones back off one cooldown */
};

enum policy_action {
	POLICY_HOLD = 0,      /* nothing to do (holds says why) */
	POLICY_SCALE_OUT = 1, /* clone `count` droplets */
	POLICY_SCALE_IN = 2,  /* retire victims[0..count) gently */
	POLICY_TRANSFER = 3,  /* the leader must go: transfer leadership first */
};

enum policy_reason {
	POLICY_R_NONE = 0,
	POLICY_R_METRIC = 1,  /* target tracking */
	POLICY_R_MIN = 2,     /* fewer than min_nodes */
	POLICY_R_MAX = 3,     /* more than max_nodes */
	POLICY_R_COST = 4,    /* above max_hourly_cost */
	POLICY_R_RESTORE = 5, /* back to the desired size after a node was removed */
};

/* Limits that cut a decision (policy_decision.limits) and limits reached for
 * the first time in an episode (limit_events: fire limit_reached once). */
#define POLICY_LIMIT_MAX_NODES (1U << 0)
#define POLICY_LIMIT_COST      (1U << 1)
#define POLICY_LIMIT_STEP      (1U << 2)
#define POLICY_LIMIT_MIN_NODES (1U << 3)
#define POLICY_LIMIT_VICTIMS   (1U << 4) /* fewer eligible victims than wanted */

/* What holds a decision back (policy_decision.holds), for `mitosis status`. */
#define POLICY_HOLD_NO_DATA	 (1U << 0) /* no valid load sample of a mature node */
#define POLICY_HOLD_WINDOW_OUT	 (1U << 1) /* above the band, not yet for the window */
#define POLICY_HOLD_WINDOW_IN	 (1U << 2) /* below the band, not yet for the window */
#define POLICY_HOLD_COOLDOWN_OUT (1U << 3)
#define POLICY_HOLD_COOLDOWN_IN	 (1U << 4)
#define POLICY_HOLD_WARMUP	 (1U << 5)  /* some capacity is warming up */
#define POLICY_HOLD_LIMIT	 (1U << 6)  /* a limit cut the decision (see limits) */
#define POLICY_HOLD_BILLING	 (1U << 7)  /* victims inside their minimum charge */
#define POLICY_HOLD_NO_VICTIM	 (1U << 8)  /* every node is protected, the leader, busy */
#define POLICY_HOLD_BACKOFF	 (1U << 9)  /* a clone failed: clones wait a cooldown */
#define POLICY_HOLD_PRICE	 (1U << 10) /* max_hourly_cost set, clone price unknown */
#define POLICY_HOLD_DEAD	 (1U << 11) /* dead nodes wait for replace_after */

/* One metric as this decision saw it. */
struct policy_metric_view {
	bool used;    /* configured */
	bool valid;   /* at least one mature node reported it */
	int64_t mean; /* mean of the clamped samples of `loaded` nodes */
	int64_t target;
	int64_t max;	  /* the clamp */
	uint32_t loaded;  /* nodes averaged */
	uint32_t missing; /* mature capacity with no valid sample of it */
	uint32_t desired; /* this round's recommendation (0 when !valid) */
};

/*
 * ONE decision and every input it used. `text` is the line the history and
 * the log show: "clone 2: cpu 87.0% > target 60.0% for 60s",
 * "would retire 1: ...", "hold: cooldown 42s left".
 */
struct policy_decision {
	enum policy_action action;
	enum policy_reason reason;
	bool dry_run;	/* computed only: the shell must not act */
	uint32_t count; /* clones, or victims */
	uint64_t victims[POLICY_STEP_MAX];
	int metric; /* the metric behind a METRIC reason, -1 none */
	unsigned limits, limit_events, holds;
	uint64_t now_ms;
	/* Inputs: counts of the cluster's droplets. */
	uint32_t capacity;     /* new + active, neither dead, retiring nor deleting */
	uint32_t total;	       /* every listed droplet not being deleted, + creating */
	uint32_t creating;     /* in flight, not listed yet (part of capacity and total) */
	uint32_t warming;      /* capacity younger than warmup or still new */
	uint32_t dead_pending; /* dead, off or silent, not deleted yet */
	uint32_t retiring;     /* draining or in a scale-in */
	uint32_t deleting;     /* delete sent, still billed */
	uint32_t eligible;     /* possible victims this round */
	uint64_t cost_uusd;    /* hourly price of everything billed now */
	uint64_t clone_price_uusd;
	/* The sizes. */
	uint32_t desired_before, desired; /* the size to keep, before and after */
	uint32_t wanted;		  /* the size asked for, before the limits */
	uint32_t rec;			  /* this round's recommendation, all metrics */
	uint32_t rec_out, rec_in;	  /* over the windows; 0 = not ready */
	uint64_t out_for_ms, in_for_ms;	  /* how long the recommendation has been above/below */
	uint64_t cooldown_out_left_ms, cooldown_in_left_ms, backoff_left_ms;
	uint64_t billing_left_ms; /* until the first held victim's minimum is used */
	struct policy_metric_view metrics[POLICY_METRIC_COUNT];
	char text[POLICY_TEXT_MAX];
};

struct policy;

/* Fills the defaults (docs/policy.md, "Configuration", with the reasons). */
void policy_config_default(struct policy_config *c);

/*
 * Checks every field and the relations between them. Returns 0, or -EINVAL
 * with `err` naming the key and the rule ("max_nodes (2) is below min_nodes
 * (3)"). err may be NULL.
 */
int policy_config_validate(const struct policy_config *c, char *err, size_t errsize);

/* The clamp of metric m: max[m], or 2 x target when that is 0. */
int64_t policy_config_clamp(const struct policy_config *c, enum policy_metric m);

/* New policy state with a copy of `cfg`. NULL on ENOMEM or an invalid cfg. */
struct policy *policy_new(const struct policy_config *cfg);
/* Frees it. Accepts NULL. */
void policy_free(struct policy *p);

/* Replaces the config (a reload). The windows and cooldowns carry on.
 * 0, or -EINVAL (cfg invalid; the old one stays). */
int policy_set_config(struct policy *p, const struct policy_config *cfg);
const struct policy_config *policy_config(const struct policy *p);

/*
 * Forgets the windows, cooldowns and desired size: the shell calls it when
 * this node takes office (a new term), so a new leader waits a full window
 * before it scales on its own evidence. A gap of more than 5 intervals
 * between two decisions has the same effect.
 */
void policy_reset(struct policy *p);

/*
 * Decides. Reads `in` (borrowed), updates the windows, the cooldowns and the
 * desired size as if the decision were carried out (dry run: the cooldowns
 * only), and writes the decision to *out. Returns 0, -EINVAL (NULL
 * arguments, a node with id 0) or -ENOMEM (the victim scratch could not
 * grow: *out is then a HOLD saying so). Never acts: the shell hands a
 * SCALE_OUT or SCALE_IN to actuate_apply().
 */
int policy_decide(struct policy *p, const struct policy_input *in, struct policy_decision *out);

/* The last decision (all zero before the first): `mitosis status`. */
const struct policy_decision *policy_last(const struct policy *p);

/*
 * `mitosis status`'s policy lines into buf (always NUL-terminated):
 * metric values and targets, the desired size, and what holds it back.
 * Returns the length it wanted, as snprintf.
 */
int policy_format_status(const struct policy_decision *d, char *buf, size_t size);

/* The same view as a JSON object for `mitosis status --json`: every count,
 * each metric, the holds and limits by name. NULL on ENOMEM; the caller
 * frees it with cJSON_Delete. */
cJSON *policy_status_json(const struct policy_decision *d);

const char *policy_metric_name(enum policy_metric m);
const char *policy_action_name(enum policy_action a);
const char *policy_reason_name(enum policy_reason r);
/* "max_nodes" etc. for one POLICY_LIMIT_ bit; "?" otherwise. */
const char *policy_limit_name(unsigned bit);

/* Writes v of metric m as people read it ("87.0%", "1.25", "153.5"). */
void policy_metric_format(enum policy_metric m, int64_t v, char *buf, size_t size);

/* The minimum DigitalOcean bills a droplet of this hourly price: the longer of
 * 60 s and the time $0.01 takes (67 min for a $6/month droplet). In ms. */
uint64_t policy_min_charge_ms(uint64_t price_uusd);

/*
 * Fills the inventory half of a node from a listed droplet: id, status,
 * created_at, the op id of its mitosis-op- tag, the mitosis-protect tag,
 * LISTED (when it carries `cluster_tag`) and HAS_IPV4; price as given.
 * Zeroes the member half. Returns 0, or -EINVAL when the status is unknown
 * (the node is then filled as ARCHIVE: billed, never capacity) or
 * created_at is unreadable (then 0: mature).
 */
int policy_node_from_droplet(struct policy_node *n, const struct doapi_droplet *d,
			     const char *cluster_tag, uint64_t price_uusd);

/* Fills the member half: state, since, load; MEMBER, and LOAD_VALID when
 * `load_valid` (the sample's signature checked, issue 10). */
void policy_node_set_member(struct policy_node *n, const struct swim_member *m, bool load_valid);

/* Parses DigitalOcean's created_at ("2026-11-21T22:08:30Z", fraction
 * allowed) into unix seconds. 0 or -EINVAL. */
int policy_parse_time(const char *s, uint64_t *unix_s);

/* The op id of a "mitosis-op-<12 hex>" tag, or 0 when `tag` is not one. */
uint64_t policy_op_id(const char *tag);

/* Parses "new", "active", "off", "archive". 0 or -EINVAL. */
int policy_parse_status(const char *s, enum policy_status *st);

/* Internal to common/policy*.c: writes d->text ("clone 2: ...", "hold: ...");
 * err is policy_decide's result. */
void policy__text(struct policy_decision *d, const struct policy_config *cfg, int err);

#endif
