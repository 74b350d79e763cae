/*
 * esim: N instances of the real election core (common/elect*.c) in one
 * process, in virtual time, on a simulated network, each with its own
 * drifting clock and its own "disk" (docs/dst.md, "Election").
 *
 * Real time is the simulator's (microseconds); node i's clock is
 * offset_i + rate_i x real time, rate_i within [1 - drift, 1 + drift], and it
 * starts from a new random offset at every restart (a reboot). The cores see
 * only their own clock. The network delivers each signed message after a
 * uniform latency unless it is lost (a global rate) or its link is cut
 * (a matrix of one-way cuts: partitions are cuts between groups). Membership
 * comes from an oracle, not from SWIM: observer i holds member j alive when j
 * runs (not crashed, not paused) and the link is open both ways, learned
 * after a detection delay with jitter. A node's disk is the last bytes its
 * core persisted; a restart decodes them (or starts without them).
 *
 * The checker (esim_check.c) watches every event: at most one node believes
 * it holds a lease at any real instant, a node cut off from a majority of the
 * voter set never becomes leader and stops believing within L, at most one
 * leader per term, terms never go back on a disk, no (node, state id) votes
 * for two candidates in one term, and every leader won with a majority of
 * grants its voter set names.
 */
#ifndef ESIM_H
#define ESIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elect.h"
#include "evq.h"

#define ESIM_ID_BASE  UINT64_C(5000000000)
#define ESIM_MAX      128U
#define ESIM_BREAKS   16U /* break descriptions kept per run */
#define ESIM_ENVELOPE 52U /* WIRE_OVERHEAD: each message rides in an unsigned envelope */

enum esim_ev {
	ESIM_EV_DELIVER = 1, /* data: struct esim_dgram */
	ESIM_EV_TICK = 2,    /* gen must match the node's */
	ESIM_EV_MEMBER = 3,  /* node = observer, gen = subject: re-read the oracle */
	ESIM_EV_USER = 16,   /* and above: the hooks' own events (csim) */
};

/* What happened to a node, for esim_hooks.life. */
enum esim_life {
	ESIM_LIFE_START = 0, /* its core was made (a start or restart) */
	ESIM_LIFE_STOP,	     /* crashed, left, or about to be restarted */
	ESIM_LIFE_PAUSE,
	ESIM_LIFE_RESUME, /* after its overdue tick and its held deliveries */
};

/*
 * What a simulator built on top of this one (csim: the policy and the cloud)
 * plugs in. Every hook may be NULL; none may call back into esim_run_until.
 */
struct esim_hooks {
	void *ctx;
	/* After every call into node i's core (a tick, a delivery, a member
	 * event, its start): the shell looks at what the core now believes. */
	void (*after_core)(void *ctx, uint32_t i);
	/* The oracle told observer obs that subj is in st (after the core). */
	void (*member)(void *ctx, uint32_t obs, uint32_t subj, enum elect_member_status st);
	void (*life)(void *ctx, uint32_t i, enum esim_life what);
	/* An event of kind >= ESIM_EV_USER is due; drop: one is freed unrun. */
	void (*event)(void *ctx, const struct evq_item *it);
	void (*drop)(void *ctx, const struct evq_item *it);
	/* ops->admissible of node i's core (NULL: every node may vote). */
	enum elect_admit (*admissible)(void *ctx, uint32_t i, uint64_t id);
	/* After every event and the election's checks: the hooks' own checks. */
	void (*step)(void *ctx);
};

enum esim_status {
	ESIM_OFF = 0,
	ESIM_UP,
	ESIM_PAUSED,
};

struct esim_params {
	uint64_t seed;
	uint32_t nodes;
	uint32_t lat_min_us, lat_max_us;
	uint32_t loss_ppm;
	uint64_t detect_ms, detect_jitter_ms; /* membership oracle */
	struct elect_config cfg;
	bool trace;
	bool check;	     /* run the invariants at every step */
	bool unborn_unknown; /* the oracle says nothing of a node never started */
	struct esim_hooks hooks;
};

struct esim_dgram {
	uint32_t src, dst;
	uint32_t len;
	uint8_t data[];
};

struct esim_vote {
	uint64_t term, sid, cand;
};

struct esim_node {
	struct esim *sim;
	uint32_t index;
	uint64_t id;
	struct elect *core;
	uint8_t pk[32], sk[64];
	enum esim_status status;
	/* clock: local_us = anchor_local + (real - anchor_real) x (1e6 + rate) / 1e6 */
	uint64_t anchor_real_us, anchor_local_us;
	int32_t rate_ppm;
	/* disk */
	uint8_t disk[ELECT_STATE_MAX];
	size_t disk_len;
	bool disk_full;
	uint64_t disk_sid, disk_term; /* last persisted, for the checker */
	/* timer */
	uint32_t tick_gen;
	bool tick_armed;
	uint64_t tick_at_us;
	/* a paused node's deliveries, in order */
	struct esim_dgram **held;
	size_t nheld, capheld;
	uint64_t rng;
	uint8_t *view; /* [nodes]: the membership status this node was told */
	/* checker */
	struct esim_vote *votes;
	size_t nvotes, capvotes;
	uint64_t cut_since_us; /* 0: reaches a majority of the voter set */
	uint64_t reach_hash;   /* the set it reaches, to restart cut_since on a change */
	uint64_t resumed_us;   /* last start or resume */
	uint64_t campaign_us;  /* became candidate (for the term it may win) */
	uint64_t seen_last;    /* its last log index when the checker last looked */
	uint64_t bytes_out, msgs_out;
	bool announce;	   /* the core asked for its announcement to be gossiped */
	bool started;	   /* started once: later starts without state pass STATE_LOST */
	bool wiped;	   /* esim_wipe: the next start looks like a brand-new node */
	bool no_bootstrap; /* a clone: bootstrap_expect 0 (it joins a cluster) */
	bool left;	   /* stopped by esim_leave: the oracle says LEFT */
};

struct esim_grant {
	uint64_t term, from, sid, to;
};

struct esim_counters {
	uint64_t sent, delivered, bytes, drop_loss, drop_cut, drop_down;
	uint64_t msgs_by_type[ELECT_MSG_TYPE_MAX + 1], bytes_by_type[ELECT_MSG_TYPE_MAX + 1];
	uint64_t events, ticks, persists, persist_full;
	uint64_t leaders, max_concurrent_leases;
};

struct esim {
	struct esim_params p;
	struct evq q;
	uint64_t now_us;
	uint64_t net_rng;
	struct esim_node *nodes;
	uint8_t *cut; /* [src * nodes + dst]: 1 when the one-way link is cut */
	struct esim_counters c;
	/* checker */
	uint64_t *term_leader; /* leader id by term (grown on demand) */
	size_t nterm_leader;
	struct esim_grant *grants;
	size_t ngrants, capgrants;
	struct elect_voters ref; /* the voter set: newest committed among the cores */
	uint64_t ref_index;
	bool topology_dirty; /* recompute who is cut off before the next check */
	char breaks[ESIM_BREAKS][160];
	uint32_t nbreaks, nbreaks_total;
	uint64_t first_break_us;
	int error; /* first -ENOMEM, latched */
};

void esim_params_default(struct esim_params *p);
struct esim *esim_new(const struct esim_params *p);
void esim_free(struct esim *sim);

/* Starts (or restarts: crashes first) node i. with_state: from its disk, if
 * it decodes; else a fresh state (the disk is wiped). */
void esim_start(struct esim *sim, uint32_t i, bool with_state);
void esim_crash(struct esim *sim, uint32_t i);
/* A graceful leave: the node stops and the others learn LEFT, not DEAD. */
void esim_leave(struct esim *sim, uint32_t i);
void esim_pause(struct esim *sim, uint32_t i);
void esim_resume(struct esim *sim, uint32_t i);
/* Groups per node (NULL heals every cut). */
void esim_partition(struct esim *sim, const uint32_t *groups);
void esim_cut(struct esim *sim, uint32_t src, uint32_t dst, bool cut);
void esim_set_loss(struct esim *sim, uint32_t ppm);
void esim_set_rate(struct esim *sim, uint32_t i, int32_t rate_ppm);
void esim_corrupt_disk(struct esim *sim, uint32_t i);
/* Wipes the whole state dir: the next start is indistinguishable from a new
 * node (the residual bootstrap risk; not in the random campaign). */
void esim_wipe(struct esim *sim, uint32_t i);
/* Runs every event up to until_us. 0 or the latched error. */
int esim_run_until(struct esim *sim, uint64_t until_us);

uint64_t esim_local_ms(const struct esim_node *n);
/* Real time (us) at which node n's clock reads `ms` (at its current rate). */
uint64_t esim_real_at(const struct esim_node *n, uint64_t ms);
/* Ticks node i's core now and re-arms its timer (after a direct call into
 * it, such as elect_transfer). */
void esim_kick(struct esim *sim, uint32_t i);
/* Queues a hook event (kind >= ESIM_EV_USER). 0 or -ENOMEM (latched). */
int esim_push(struct esim *sim, const struct evq_item *it);
/* The node whose core believes it leads now, or -1; *count of such nodes. */
int esim_leading(struct esim *sim, uint32_t *count);
bool esim_running(const struct esim_node *n);

/* esim_check.c: the invariants (called by esim.c). */
void esim_check_step(struct esim *sim);
void esim_check_role(struct esim *sim, struct esim_node *n, const struct elect_event *ev);
void esim_check_persist(struct esim *sim, struct esim_node *n, const struct elect_hard *h);
void esim_check_sent(struct esim *sim, struct esim_node *n, const uint8_t *msg, size_t len);
/* Recomputes the voter set and who is cut off from it. */
void esim_check_topology(struct esim *sim);
void esim_break(struct esim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* esim_scen.c: the command line `dst elect ...`. */
int esim_main(int argc, char **argv);

#endif
