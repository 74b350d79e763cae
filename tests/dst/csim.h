/*
 * csim: the whole decision path in the deterministic simulator (docs/dst.md,
 * "The cloud"). Every node runs the real election core on esim's network,
 * clocks, disks and membership oracle; the node that leads also runs the real
 * policy and actuation cores exactly as the agent's shell will
 * (docs/policy.md, "How the shell drives it"), against a model of
 * DigitalOcean: one inventory of droplets with tags, statuses, boot times,
 * delete delays, tag-listing lag, lost answers, 429s, vanished creates, lost
 * deletes, registrars, and per-second billing with the minimum charge.
 * Created droplets boot into new members; deleted ones leave. A demand curve
 * is divided over the nodes in rotation, which report it as their load.
 *
 * Droplet i is esim node i (droplet id = node id = ESIM_ID_BASE + i): the
 * first `nodes` are the founding droplets, the rest of the pool is handed out
 * by creates, in order, and an id never comes back.
 *
 * Files: csim_cloud.c (the cloud), csim.c (the shell, the load, the glue to
 * esim), csim_check.c (the invariants), csim_camp.c (plans, campaign, figures),
 * csim_main.c (`dst cloud ...`).
 */
#ifndef CSIM_H
#define CSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "actuate.h"
#include "esim.h"
#include "history.h"
#include "policy.h"

#define CSIM_POOL  48U			/* droplets (and nodes) one run can ever have */
#define CSIM_T0	   UINT64_C(1000000000) /* esim's real time origin, us */
#define CSIM_UNIX0 UINT64_C(1800000000) /* unix seconds at CSIM_T0 */
#define CSIM_S	   UINT64_C(1000000)
#define CSIM_MS	   UINT64_C(1000)
#define CSIM_TAG   "mitosis-dst" /* the cluster tag */

enum csim_ev {
	CS_EV_SHELL = ESIM_EV_USER, /* node's shell timer; gen must match */
	CS_EV_APPLY,		    /* a call reaches the cloud or its target; data: call */
	CS_EV_REPLY,		    /* a call's outcome reaches its caller; data: call */
	CS_EV_DROPLET,		    /* a droplet's own timer; gen: its generation; data: what */
	CS_EV_LOAD,		    /* every node's load sample moves */
	CS_EV_LEAVE,   /* node leaves the gossip gracefully (asked to); gen: its life */
	CS_EV_CRASH,   /* a plan's trap fires: the node crashes now */
	CS_EV_RESTART, /* ... and its agent starts again; gen: with its state */
	CS_EV_GOSSIP,  /* node's draining flag has spread: every core learns it */
};

/* What a droplet timer does (CS_EV_DROPLET's data). */
enum csim_dev {
	CS_DEV_ACTIVE = 1, /* the boot ends: active (or vanished) */
	CS_DEV_AGENT,	   /* its agent starts */
	CS_DEV_GONE,	   /* the delete ends: 404 */
	CS_DEV_CYCLED,	   /* a power cycle ends */
};

enum csim_status { CS_NONE = 0, CS_NEW, CS_ACTIVE, CS_OFF, CS_GONE };

/* How a droplet's boot ends (drawn at the create). */
enum csim_boot { CS_BOOT_OK = 0, CS_BOOT_VANISH, CS_BOOT_STUCK, CS_BOOT_AGENT };

struct csim_drop {
	enum csim_status status;
	enum csim_boot boot;
	bool deleting;	 /* a delete is in effect: gone at gone_us */
	bool protect;	 /* carries mitosis-protect */
	bool registered; /* in the registrars (DNS / LB), the truth */
	bool draining;	 /* its agent gossips draining (told by MARK_DRAINING) */
	bool retired;	 /* asked to leave and left: its agent is not restarted */
	uint32_t gen;	 /* bumped by every droplet timer that must void older ones */
	uint64_t op_id, term;
	int32_t creator; /* node index of the leader that created it; -1: founding */
	uint64_t created_us, listed_us, gone_us;
	uint64_t created_unix;
	uint64_t price_uusd;		   /* hourly */
	uint64_t bill_from_us, bill_to_us; /* bill_to 0: still billed */
	uint64_t down_since_us;		   /* its agent is not serving since (0: it is) */
	uint64_t dup_mark;		   /* checker: ready-leader time when its op doubled */
	bool dereg_late;		   /* checker: its deregistration broke the bound */
	struct swim_load load;		   /* what its agent gossips */
	uint64_t load_ewma;		   /* permille x 1000 */
};

/* The shell's own calls, beside actuate's verbs. */
enum csim_sverb {
	CS_SV_NONE = 0,
	CS_SV_LIST,    /* GET /v2/droplets?tag_name=CLUSTER (the inventory) */
	CS_SV_REG_GET, /* every registrar: the registered set */
	CS_SV_REG_ADD, /* mutating: register one node (the registrars' reconcile) */
	CS_SV_REG_DEL, /* mutating: deregister one */
};

/* The outcome of a call as the API client hands it over. */
enum csim_fault {
	CS_F_NONE = 0,
	CS_F_429,	    /* refused before acting (retry-after) */
	CS_F_500,	    /* failed before acting */
	CS_F_500_AFTER,	    /* acted, then answered 500 */
	CS_F_TIMEOUT,	    /* never reached the endpoint: no answer within the timeout */
	CS_F_TIMEOUT_AFTER, /* acted, the answer was lost */
	CS_F_UNREACHABLE,   /* a node-to-node call to a node that is down or cut off */
	CS_F_FAULT_COUNT,
};

/* One call: issued by a node's shell, applied by the cloud, answered. */
struct csim_call {
	uint32_t node, life;   /* the caller and its life (a reply to an older one is dropped) */
	enum csim_sverb sverb; /* CS_SV_NONE: act is actuate's */
	struct actuate_action act; /* actuate's action, or verb/droplet/term of a shell call */
	uint64_t issue_us, timeout_us;
	enum csim_fault fault;
	bool applied;
	bool silent; /* a hook that never answers: no reply at all */
	enum actuate_status status;
	uint64_t droplet;
	uint64_t more_ms;
	const char *error;
	uint32_t nfound;
	struct policy_node found[CSIM_POOL];
	uint8_t regs[CSIM_POOL]; /* CS_SV_REG_GET: 1 when registered */
};

/* A node's shell: what the agent keeps in memory (lost at a crash). */
struct csim_shell {
	bool up;
	uint32_t life;
	struct policy *pol;
	struct actuate *act;
	struct history *hist;
	uint64_t rng;
	uint64_t term;			   /* the term actuate was last told; 0: not leading */
	uint64_t seq;			   /* history records of this term */
	struct policy_node inv[CSIM_POOL]; /* the last inventory listing (inventory half) */
	uint32_t ninv;
	bool have_inv, list_out, reg_out;
	uint64_t next_list, next_round; /* our clock, ms */
	int handoff; /* 0, or the operator's/policy's hand-over waiting: 1 transfer, 2 step down */
	uint64_t handoff_to;	      /* transfer target (0: the best voter) */
	uint32_t inflight;	      /* mutating calls not answered yet */
	uint64_t since_ms[CSIM_POOL]; /* when the oracle's verdict about j last changed */
	uint32_t gen;		      /* shell timer */
	bool armed;
	uint64_t at_us;
	struct evq_item *held; /* events that came while paused */
	uint32_t nheld, capheld;
};

/* The cloud's and the policy's settings for one run. Durations marked
 * "scaled" are DigitalOcean's or the defaults' x scale_pm / 1000. */
struct csim_params {
	uint64_t seed;
	uint32_t nodes, voters, expect; /* founding droplets, elect voters, bootstrap_expect */
	uint32_t scale_pm;		/* time scale, permille */
	struct policy_config pc;	/* scaled */
	struct actuate_config ac;	/* scaled */
	uint64_t list_ms;	  /* the leader lists the inventory this often (scaled 30 s) */
	uint64_t call_timeout_ms; /* every API call (the shell's margin too) */
	uint64_t boot_lo_ms, boot_hi_ms; /* scaled 30..60 s */
	uint64_t del_lo_ms, del_hi_ms;	 /* scaled 5..75 s */
	uint64_t tag_lag_ms;		 /* 0..10 s, NOT scaled (the core's verify wait is not) */
	uint64_t cycle_ms;		 /* a power cycle, scaled 15 s */
	uint64_t api_lo_us, api_hi_us;	 /* server time of a call */
	uint32_t api_fault_ppm;		 /* share of API calls that fail (changes with the plan) */
	uint32_t vanish_ppm, stuck_ppm, agent_fail_ppm, delete_lost_ppm;
	uint64_t price_uusd;   /* hourly price of every droplet (scaled up by 1/scale) */
	uint64_t tau_ms;       /* load EWMA time constant (scaled 30 s) */
	uint64_t load_ms;      /* load sample period */
	uint32_t protect_mask; /* founding droplets carrying mitosis-protect */
	bool hook;	       /* a lifecycle hook answers (OK, more time, fails, silent) */
	bool trace;
};

enum csim_inv {
	CS_INV_ELECT = 0, /* the election's own invariants (esim_check.c) */
	CS_INV_MAX_NODES, /* droplets not being deleted <= max_nodes */
	CS_INV_MAX_COST,  /* every billed droplet's price <= max_hourly_cost */
	CS_INV_DOUBLE,	  /* one op id, two droplets alive past the discard bound */
	CS_INV_LEAK,	  /* once quiet: a droplet neither a live member nor being deleted */
	CS_INV_DEREG,	  /* a dead node still registered past its bound */
	CS_INV_MINORITY,  /* a mutating call without a valid lease, or applied late */
	CS_INV_MARGIN,	  /* a mutating call started with less lease than its timeout */
	CS_INV_ROTATION,  /* a delete of a droplet still registered, or protected */
	CS_INV_HISTORY,	  /* a record that does not round-trip, or out of order */
	CS_INV_LIVENESS,  /* after the heal: no leader, or inventory != desired size */
	CS_INV_COUNT,
};

/* Figures of one run (summed over a campaign). */
struct csim_figs {
	uint64_t calls, mutating, faults;
	uint64_t clones, creates, deletes, discards, adopted, abandoned, leaks_ev, dup_ops;
	uint64_t vanished, lost_deletes;
	uint64_t cost_uusd, min_cost_uusd; /* micro-dollars, billed vs the ideal */
	uint64_t peak_nodes, peak_incl_deleting;
	uint64_t decisions_out, decisions_in;
	/* latencies, ms of real time (one entry each) */
	uint64_t *overload_ms, *dereg_ms;
	size_t noverload, ndereg, capoverload, capdereg;
};

struct csim {
	struct csim_params p;
	struct esim *sim;
	struct csim_drop drop[CSIM_POOL];
	struct csim_shell sh[CSIM_POOL];
	uint32_t ndrops; /* slots handed out */
	uint64_t rng;	 /* the cloud's draws */
	uint64_t demand; /* total cpu permille the clients ask for */
	uint64_t load_gen;
	/* checker */
	uint64_t newest_led_term; /* the highest term any node has led in */
	uint64_t inv[CS_INV_COUNT];
	bool over_nodes, over_cost; /* latched: break once per excursion */
	uint64_t ready_us;	    /* real time some leader was ready, summed */
	uint64_t ready_at;	    /* when ready_us was last advanced */
	bool any_ready;
	int32_t ready_node; /* the ready leader, -1 */
	uint64_t ready_term;
	uint64_t ready_since; /* since when that leader has been ready */
	bool quiet;	      /* the faults are over: API faults off */
	bool quorum_lost;     /* at the end: a majority of the voters is gone by faults */
	/* overload tracking: the episode's start, 0 = none */
	uint64_t overload_since;
	uint64_t bill_accum_us; /* for the ideal cost: last time it was added */
	bool trap_create;	/* a plan's trap: crash the next node that sends a create ... */
	uint64_t trap_back_us;	/* ... and start it again this much later */
	bool trap_state;	/* ... with its state */
	struct csim_figs f;
};

/* csim.c */
void csim_params_default(struct csim_params *p, uint32_t scale_pm);
struct csim *csim_new(const struct csim_params *p, const struct esim_params *ep);
void csim_free(struct csim *cs);
/* Starts the founding droplets' agents (node i at its plan time). */
void csim_found(struct csim *cs, uint32_t i);
void csim_set_demand(struct csim *cs, uint64_t demand);
/* The operator's (or the policy's) hand-over on node i: transfer to `to`
 * (0: the best voter) or step down, once its mutating calls are answered. */
void csim_handoff(struct csim *cs, uint32_t i, bool step_down, uint64_t to);
/* The node whose actuation core is ready (leads, reconciled), or -1. */
int csim_ready_leader(const struct csim *cs);
/* The nodes the demand needs at the target + tolerance, within the limits. */
uint64_t csim_ideal(const struct csim *cs, uint64_t tolerance_pm);
bool csim_node_up(const struct csim *cs, uint32_t i);
void csim_trace(const struct csim *cs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t csim_unix_s(const struct csim *cs);

/* csim_cloud.c */
uint64_t csim_scaled(const struct csim *cs, uint64_t ms);
/* A call leaves node i's shell now. */
void csim_call_issue(struct csim *cs, uint32_t i, struct csim_call *c);
void csim_cloud_apply(struct csim *cs, struct csim_call *c);
void csim_cloud_event(struct csim *cs, uint32_t d, enum csim_dev what);
/* The founding droplets, created long ago. */
void csim_cloud_found(struct csim *cs);
/* Fault actions of the plan. */
void csim_power_off(struct csim *cs, uint32_t d);
/* Droplet d's agent gossips its draining flag (it spreads in a second). */
void csim_gossip_draining(struct csim *cs, uint32_t d);
/* Ends the billing of every droplet at now (end of a run). */
void csim_bill_close(struct csim *cs);
uint64_t csim_drop_cost(const struct csim *cs, uint32_t d);
/* policy_node (inventory half) of droplet d as the API shows it. */
void csim_cloud_node(const struct csim *cs, uint32_t d, struct policy_node *n);
bool csim_drop_exists(const struct csim_drop *d);

/* csim_check.c */
void csim_break(struct csim *cs, enum csim_inv inv, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void csim_check_leading(struct csim *cs, uint32_t i, uint64_t term);
void csim_check_issue(struct csim *cs, const struct csim_call *c);
void csim_check_apply(struct csim *cs, const struct csim_call *c);
void csim_check_step(struct csim *cs);
/* Once quiet: leaks and convergence. */
void csim_check_end(struct csim *cs, uint64_t need);
void csim_check_history(struct csim *cs, struct csim_shell *sh, const struct history_record *r);
const char *csim_inv_name(enum csim_inv inv);
void csim_figs_add(struct csim_figs *f, uint64_t **v, size_t *n, size_t *cap, uint64_t x);

#endif
