/*
 * actuate: the leader's operations on the cloud and the registrars, as
 * explicit state machines (docs/policy.md, "Operations"). Pure: time is
 * passed in, actions go out through a queue, replies come back in; no I/O.
 *
 * Four kinds of operation, one droplet each:
 *   clone   create (with a unique op tag and the term's tag) -> wait until
 *           the droplet is active and its agent joined -> register;
 *   retire  mark draining -> deregister -> wait dns_ttl + drain_timeout ->
 *           lifecycle hook (may ask for more time, bounded) -> ask the node
 *           to leave the gossip -> delete -> wait until GET says 404;
 *   dead    deregister at once -> wait replace_after -> look the droplet up:
 *           gone: done; off: delete; active but silent: power-cycle once,
 *           wait, then delete (a protected node is never deleted);
 *   discard delete a duplicate of a clone -> wait until gone.
 * A replacement for a removed node is not cloned here: the policy sees the
 * size below the desired one and clones (POLICY_R_RESTORE), so there is one
 * place that clones and a replacement is never doubled.
 *
 * The leader's term and lease gate everything: actuate_set_lease() names
 * them; once the lease has expired (now >= lease_until) or the term changes,
 * every operation is dropped at once and nothing more leaves the queue, and
 * the next term begins with a reconcile: the first actuate_on_nodes() adopts
 * what older terms left half done (by op tag and by the gossiped draining
 * flag) instead of repeating it. Every action carries the term and the op id.
 *
 * How the shell drives it (the whole contract):
 *   - actuate_set_lease() whenever the election says who leads until when;
 *   - actuate_on_nodes() with the node table each time the inventory is
 *     listed (and at least once per term before anything else);
 *   - actuate_on_member() from gossip's member events (for speed);
 *   - actuate_fill_input() before policy_decide(), actuate_apply() after;
 *   - actuate_on_result() with each action's outcome;
 *   - actuate_tick() at the deadline it returns;
 *   - after any of these, drain actuate_next_action() and carry each action
 *     out, and actuate_next_event() into the history and hooks.
 * Never call actuate_* from inside the execution of an action synchronously
 * with a result: queue the result and hand it in on the next loop turn.
 */
#ifndef ACTUATE_H
#define ACTUATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doapi.h"
#include "policy.h"
#include "swim.h"

#define ACTUATE_NAME_LEN 80 /* a clone's droplet name, NUL included */
#define ACTUATE_TEXT_LEN 160
#define ACTUATE_TERM_TAG 32  /* "mitosis-term-<decimal>" */
#define ACTUATE_EVENTS	 256 /* events kept until read; older ones are dropped */
#define ACTUATE_VOTERS	 16  /* voter ids kept (the election has at most 7, twice) */

struct actuate_config {
	char cluster[64];	     /* clone names: <cluster>-<unix time>-<4 hex of op id> */
	uint64_t active_timeout_ms;  /* a clone not active and joined by then is deleted */
	uint64_t drain_ms;	     /* dns_ttl + drain_timeout */
	bool hook;		     /* a lifecycle hook runs before a victim leaves */
	uint64_t hook_timeout_ms;    /* one run of the hook; then it counts as "continue" */
	uint64_t hook_max_ms;	     /* all the extra time the hook may ask for */
	uint64_t leave_timeout_ms;   /* wait for the victim to leave the gossip */
	uint64_t replace_after_ms;   /* a dead node's droplet is looked up after this */
	uint64_t powercycle_wait_ms; /* after a power cycle, wait this for it to return */
	uint64_t gone_timeout_ms;    /* after a delete, poll until 404 this long, then again */
	uint32_t max_tries;	     /* tries of one step that failed for a reason that may pass */
	uint32_t max_ops;	     /* operations at once */
	bool dry_run;		     /* start nothing; say what would be done */
};

enum actuate_kind {
	ACTUATE_CLONE = 0,
	ACTUATE_RETIRE = 1,
	ACTUATE_DEAD = 2,
	ACTUATE_DISCARD = 3,
};

/* The states of every kind (docs/policy.md draws each machine). */
enum actuate_state {
	ACTUATE_S_CREATE = 0,	   /* clone: CREATE sent */
	ACTUATE_S_VERIFY,	   /* clone: the create's outcome is unknown; list the op tag */
	ACTUATE_S_BOOT,		   /* clone: wait until active and joined */
	ACTUATE_S_REGISTER,	   /* clone, dead (came back): REGISTER sent */
	ACTUATE_S_MARK,		   /* retire: MARK_DRAINING sent */
	ACTUATE_S_DEREGISTER,	   /* retire, dead: DEREGISTER sent */
	ACTUATE_S_DRAIN,	   /* retire: wait dns_ttl + drain_timeout */
	ACTUATE_S_HOOK,		   /* retire: HOOK sent */
	ACTUATE_S_HOOK_WAIT,	   /* retire: the hook asked for more time */
	ACTUATE_S_LEAVE,	   /* retire: ASK_LEAVE sent; wait until it has left */
	ACTUATE_S_DEAD_WAIT,	   /* dead: wait replace_after, or its return */
	ACTUATE_S_LOOKUP,	   /* dead: GET sent */
	ACTUATE_S_POWERCYCLE,	   /* dead: POWER_CYCLE sent */
	ACTUATE_S_POWERCYCLE_WAIT, /* dead: wait for it to come back */
	ACTUATE_S_DELETE,	   /* DELETE sent */
	ACTUATE_S_GONE_WAIT,	   /* deleted: wait, then GET until 404 */
	ACTUATE_S_PARKED,	   /* dead and protected: out of rotation, never deleted;
				    * ends when it comes back or its droplet is gone */
	ACTUATE_S_DONE,
	ACTUATE_S_FAILED,
	ACTUATE_S_COUNT,
};

/* What the shell must do. Actions marked mutating change the cloud, the
 * registrars or the cluster; the others only read. */
enum actuate_verb {
	ACTUATE_CREATE = 0,	   /* mutating. POST /v2/droplets: name, tags = cluster tag +
				    * op_tag + term_tag (+ clone_tags), image, size, user-data */
	ACTUATE_LIST_OP = 1,	   /* GET /v2/droplets?tag_name=op_tag: result.found */
	ACTUATE_GET = 2,	   /* GET /v2/droplets/droplet: result.found[0] or NOT_FOUND */
	ACTUATE_DELETE = 3,	   /* mutating. DELETE /v2/droplets/droplet (404 counts as OK) */
	ACTUATE_POWER_CYCLE = 4,   /* mutating. POST .../actions {"type":"power_cycle"} */
	ACTUATE_REGISTER = 5,	   /* mutating. every registrar: add the node */
	ACTUATE_DEREGISTER = 6,	   /* mutating. every registrar: remove the node */
	ACTUATE_MARK_DRAINING = 7, /* mutating. tell the node, and the gossip, it is draining */
	ACTUATE_HOOK = 8,	   /* mutating. run the lifecycle hook for the node */
	ACTUATE_ASK_LEAVE = 9,	   /* mutating. ask the node to leave the gossip gracefully */
	ACTUATE_VERB_COUNT,
};

struct actuate_action {
	enum actuate_verb verb;
	uint64_t req;	/* quote it in actuate_on_result() */
	uint64_t term;	/* the leader's term when it was issued */
	uint64_t op_id; /* 48 bits; op_tag is "mitosis-op-" + its 12 hex */
	char op_tag[DOAPI_OP_TAG_LEN];
	char term_tag[ACTUATE_TERM_TAG]; /* CREATE: "mitosis-term-<term>" */
	char name[ACTUATE_NAME_LEN];	 /* CREATE: the droplet's name */
	uint64_t droplet;		 /* every verb but CREATE and LIST_OP */
	bool mutating;
};

enum actuate_status {
	ACTUATE_OK = 0,	       /* done: 2xx; a DELETE's 404; the hook said continue */
	ACTUATE_NOT_FOUND = 1, /* 404 (GET: the droplet is gone) */
	ACTUATE_FAILED = 2,    /* refused for good (4xx but 429): trying again won't help */
	ACTUATE_UNKNOWN = 3,   /* no answer, 5xx, timeout: it may or may not have happened */
	ACTUATE_MORE_TIME = 4, /* HOOK: the hook asks for more_ms more */
	/* REGISTER, DEREGISTER: not started, and only for now (the node's
	 * addresses not gossiped yet, a change of it running): asked again soon
	 * (ACTUATE_SOON_MS), a bounded number of times before it counts as a
	 * failed try */
	ACTUATE_NOT_YET = 5,
};

/* The outcome of one action. Everything is borrowed for the call. */
struct actuate_result {
	uint64_t req;
	enum actuate_status status;
	uint64_t droplet;		 /* CREATE: the new droplet's id */
	const struct policy_node *found; /* LIST_OP: the droplets with the tag; GET: one */
	size_t nfound;
	uint64_t more_ms;  /* MORE_TIME */
	const char *error; /* printable text for the history, or NULL */
};

enum actuate_event_kind {
	ACTUATE_EV_CLONE_READY = 0,   /* a clone is registered (hook: scale_out) */
	ACTUATE_EV_CLONE_FAILED = 1,  /* a clone failed; its droplet, if any, is deleted */
	ACTUATE_EV_RETIRED = 2,	      /* a victim's droplet is gone (hook: scale_in) */
	ACTUATE_EV_RETIRE_FAILED = 3, /* could not take it out of rotation: it stays */
	ACTUATE_EV_NODE_DEAD = 4,     /* a dead node taken out of rotation (hook: node_dead) */
	ACTUATE_EV_NODE_BACK = 5,     /* a dead node came back and is registered again */
	ACTUATE_EV_NODE_REMOVED = 6,  /* a dead node's droplet is gone (hook: node_replaced) */
	ACTUATE_EV_ADOPTED = 7,	      /* an older term's operation taken over */
	ACTUATE_EV_DUPLICATE = 8,     /* a second droplet of one clone, deleted */
	ACTUATE_EV_LEAK = 9,	      /* a delete never confirmed: the droplet may still bill */
	ACTUATE_EV_DRY_RUN = 10,      /* what would have been done */
	ACTUATE_EV_ABANDONED = 11,    /* operations dropped when the lease was lost */
	ACTUATE_EV_COUNT,
};

struct actuate_event {
	enum actuate_event_kind kind;
	uint64_t term;
	uint64_t op_id;
	uint64_t droplet;
	enum actuate_kind op_kind;
	uint64_t at; /* now_ms */
	char text[ACTUATE_TEXT_LEN];
};

/* One operation, as status shows it. Read only: change it through the API. */
struct actuate_op {
	enum actuate_kind kind;
	enum actuate_state state;
	uint64_t op_id;
	uint64_t term;
	uint64_t droplet; /* 0 while a create has no answer */
	char op_tag[DOAPI_OP_TAG_LEN];
	char name[ACTUATE_NAME_LEN];
	uint64_t price_uusd;	/* its hourly price, for the cost while it is deleted */
	uint64_t started;	/* now_ms it began (for an adopted clone: its creation) */
	uint64_t since;		/* now_ms it entered its state */
	uint64_t due;		/* when the state's wait or retry ends; 0 = none */
	uint64_t req;		/* the action awaited; 0 = none */
	uint32_t tries;		/* of the current step */
	uint32_t soon;		/* NOT_YET answers of the current step */
	uint32_t creates;	/* create requests sent */
	uint32_t deletes;	/* delete requests sent */
	uint64_t first_delete;	/* now_ms of the first delete */
	uint64_t hook_extra_ms; /* time granted to the hook so far */
	bool cycled;		/* dead: power-cycled already */
	bool protect;		/* dead: never delete */
	bool back;		/* dead: its member came back while deregistering */
	bool adopted;
	char why[ACTUATE_TEXT_LEN]; /* how it ended */
};

struct actuate_stats {
	uint64_t actions, mutating;	   /* actions handed to the shell */
	uint64_t started[4], done, failed; /* operations, by kind for started */
	uint64_t adopted, duplicates, leaks;
	uint64_t dropped;	/* operations dropped by a lost lease or a new term */
	uint64_t withheld;	/* actions not handed out: lease gone (must stay 0 in
				 * a correct shell, which drains the queue at once) */
	uint64_t stale_results; /* results for an action no one awaits */
	uint64_t events_lost;	/* events dropped: the queue was full */
};

struct actuate;

/* Fills the defaults (docs/policy.md gives each one's reason); cluster "". */
void actuate_config_default(struct actuate_config *c);
/* Checks a config. 0, or -EINVAL with err naming the key. */
int actuate_config_validate(const struct actuate_config *c, char *err, size_t errsize);

/*
 * New, with no lease. `random` gives uniform 32-bit numbers (op ids; the
 * DST passes a seeded one); it is called with `arg`. NULL on ENOMEM or an
 * invalid config.
 */
struct actuate *actuate_new(const struct actuate_config *cfg, uint32_t (*random)(void *arg),
			    void *arg);
/* Frees it. Accepts NULL. */
void actuate_free(struct actuate *a);
const struct actuate_config *actuate_config(const struct actuate *a);

/*
 * The election's word: this node leads in `term` until `lease_until`
 * (now_ms clock). A new term drops every operation (an older term's work
 * is found again by the reconcile) and requires actuate_on_nodes() before
 * anything starts. term 0 means "not leader": the same as a lease gone.
 */
void actuate_set_lease(struct actuate *a, uint64_t term, uint64_t lease_until, uint64_t now);
/*
 * The election's voters (the committed and the newest set, as this leader
 * holds them; at most ACTUATE_VOTERS ids, the rest ignored). A retirement
 * never asks a voter to leave nor deletes it: it waits at the end of its
 * drain until the election removed the victim (a draining voter is removed
 * as soon as that keeps a live majority: elect_member_draining). Call it
 * whenever the voter set changes and on taking office.
 */
void actuate_set_voters(struct actuate *a, const uint64_t *ids, size_t n);

/* True while this node holds a valid lease at `now`. */
bool actuate_leading(const struct actuate *a, uint64_t now);
/* True once this term's reconcile (its first actuate_on_nodes) ran. */
bool actuate_ready(const struct actuate *a, uint64_t now);

/*
 * The node table (policy_node_from_droplet + policy_node_set_member), each
 * time the inventory is listed. Feeds the operations (a clone that joined,
 * a victim that left), and starts what nobody runs yet: a dead-node
 * operation for a dead, left-without-draining, off or never-joined droplet;
 * the rest of a half-done scale-in for a node that gossips draining; the
 * boot of an older term's clone found by its op tag (adopted); a discard
 * for a second droplet of one op. The first call of a term is its
 * reconcile. Returns 0, -EPERM when not leading, -ENOMEM.
 */
int actuate_on_nodes(struct actuate *a, const struct policy_node *nodes, size_t n, uint64_t now);

/*
 * A member event from gossip: `id` entered `st`. DEAD or LEFT of a listed
 * node that is not being retired starts its dead-node operation at once (it
 * is deregistered within this call's actions); ALIVE moves a booting clone
 * to registration and brings a dead one back.
 */
void actuate_on_member(struct actuate *a, uint64_t id, enum swim_state st, uint64_t now);

/*
 * Annotates the node table for the policy (RETIRING, DEAD_OP, DELETING,
 * CLONING) and fills in->creating, in->unlisted_cost_uusd and
 * in->clone_failed(_ms). Call it with in->clone_price_uusd set.
 */
void actuate_fill_input(const struct actuate *a, struct policy_node *nodes, size_t n,
			struct policy_input *in);

/*
 * Carries out a decision: SCALE_OUT starts `count` clone operations,
 * SCALE_IN a retire operation per victim. HOLD and TRANSFER start nothing
 * (the shell asks the election to transfer). A dry-run decision, or a dry
 * run config, queues one DRY_RUN event instead. Returns 0, -EPERM (not
 * leading), -EAGAIN (this term's reconcile has not run), -ENOSPC (max_ops).
 */
int actuate_apply(struct actuate *a, const struct policy_decision *d, uint64_t unix_s,
		  uint64_t now);

/* The outcome of the action numbered r->req. 0, or -ENOENT when no
 * operation awaits it (dropped, or a duplicate result): ignored. */
int actuate_on_result(struct actuate *a, const struct actuate_result *r, uint64_t now);

/* Runs every wait that ended by `now`; returns the next deadline (absolute
 * now_ms), or UINT64_MAX when nothing waits. */
uint64_t actuate_tick(struct actuate *a, uint64_t now);

/*
 * The next action to carry out, oldest first; false when none. Nothing
 * leaves once the lease has expired at `now` (the operations are dropped).
 */
bool actuate_next_action(struct actuate *a, uint64_t now, struct actuate_action *out);
/* The next event for the history and the hooks, oldest first. */
bool actuate_next_event(struct actuate *a, struct actuate_event *out);

/* True when the node must stay out of rotation whatever the registrar
 * reconcile finds: it is being retired, or is dead and not back. */
bool actuate_out_of_rotation(const struct actuate *a, uint64_t id);

/* Operations running now, for status; index < actuate_op_count(). */
size_t actuate_op_count(const struct actuate *a);
const struct actuate_op *actuate_op_at(const struct actuate *a, size_t i);
void actuate_stats(const struct actuate *a, struct actuate_stats *out);

const char *actuate_kind_name(enum actuate_kind k);
const char *actuate_state_name(enum actuate_state s);
const char *actuate_verb_name(enum actuate_verb v);
const char *actuate_event_name(enum actuate_event_kind k);

#endif
