/*
 * netsim: N instances of the real membership core (common/swim.c) in one
 * process, on a simulated network, in virtual time (docs/dst.md).
 *
 * Every node is a struct swim with synthetic identity (id NETSIM_ID_BASE + i,
 * address 10.x.y.z:7950). Its sends become deliveries on the event queue after
 * a uniform per-datagram latency, unless lost (global loss rate) or cut by a
 * partition (a datagram crosses only between nodes of the same group). Node
 * timers are ticks at the deadline swim_tick() returned. Like the agent's
 * shell (agent/gossip.c), every delivery is followed by swim_tick() and the
 * timer re-armed. Randomness is a per-node generator for the core and one
 * network generator, all derived from the seed; the queue breaks time ties by
 * insertion order. Same seed, same calls: same run, bit for bit.
 *
 * Faults: crash (the core is freed; datagrams to it are dropped; datagrams it
 * already sent still arrive), pause (its deliveries are held, up to a socket
 * buffer's worth, and its ticks are skipped; on resume the overdue timers run
 * first, then the held datagrams, as libuv would), restart (a new core with
 * the same id and address and a higher incarnation, joining the seeds),
 * graceful leave (swim_leave, keeps running leave_ms, then stops).
 *
 * The event callback keeps per-observer figures: how many other members each
 * node holds ALIVE, and the first time it saw the tracked load version and
 * the tracked subject SUSPECT, DEAD or LEFT.
 */
#ifndef NETSIM_H
#define NETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evq.h"
#include "swim.h"

#define NETSIM_ID_BASE UINT64_C(4000000000)
#define NETSIM_PORT    7950
#define NETSIM_T0_MS   UINT64_C(1000000) /* the virtual clock starts here (ms) */
#define NETSIM_NEVER   UINT64_MAX
#define NETSIM_FP_LOG  8

enum netsim_status {
	NETSIM_OFF = 0, /* not started yet, or crashed */
	NETSIM_UP,
	NETSIM_PAUSED,
	NETSIM_LEAVING, /* swim_leave() called, still running until stop */
	NETSIM_GONE,	/* left and stopped */
};

struct netsim_params {
	uint64_t seed;
	uint32_t nodes;
	uint32_t lat_min_us, lat_max_us; /* one-way latency, uniform */
	uint32_t loss_ppm;		 /* per datagram, every link */
	size_t held_max_bytes;		 /* a paused node's receive buffer */
	uint64_t leave_ms;		 /* a leaving node keeps running this long */
	bool trace;			 /* print every state change to stderr */
	struct swim_config cfg;
};

struct netsim_dgram {
	uint32_t src, dst;
	uint16_t len;
	uint8_t type;
	uint8_t payload[];
};

struct netsim_node {
	struct netsim *sim;
	struct swim *swim;
	uint64_t id;
	uint8_t key[32];      /* its node key (netsim_sign) */
	uint64_t incarnation; /* of the current instance */
	struct swim_addr addr;
	char name[24];
	uint32_t index;
	enum netsim_status status;
	uint32_t group; /* partition group; datagrams cross only within one */
	uint64_t rng;
	uint32_t tick_gen;
	bool tick_armed;
	uint64_t tick_at_us;
	struct netsim_dgram **held;
	size_t nheld, capheld, held_bytes;
	uint32_t view_alive; /* other members ALIVE in this node's table */
	uint64_t susp_epoch; /* 1 + incarnation of its last suspicion counted */
	uint64_t seen_at_us, suspect_at_us, dead_at_us, left_at_us, alive_at_us;
	uint64_t bytes_out, msgs_out;
};

struct netsim_counters {
	uint64_t sent, delivered, bytes;
	uint64_t msgs_by_type[8], bytes_by_type[8];
	uint64_t drop_loss, drop_partition, drop_down, drop_unknown, drop_held, oversize;
	uint64_t suspect_any, suspect_live, dead_any, dead_live, dead_paused, left_any;
	uint64_t suspect_episodes; /* distinct (live subject, incarnation) suspected */
	uint64_t tick_clamps, ticks, events;
};

struct netsim_fp {
	uint64_t at_us;
	uint32_t observer, subject;
	enum swim_state state;
};

struct netsim {
	struct netsim_params p;
	struct evq q;
	uint64_t now_us;
	uint64_t net_rng;
	struct netsim_node *nodes;
	struct netsim_counters c;
	uint64_t track_load_id;
	uint32_t track_load_version;
	uint64_t track_state_id;
	uint64_t track_alive_inc; /* alive_at_us: first ALIVE at >= this incarnation */
	struct netsim_fp fp_log[NETSIM_FP_LOG];
	size_t nfp_log;
	int error; /* first -ENOMEM, latched */
};

/* xorshift64* step (the election simulator draws from it too). */
uint64_t netsim_rand64(uint64_t *s);
/* A non-zero generator state for `stream` of `seed` (splitmix64). */
uint64_t netsim_seed_stream(uint64_t seed, uint64_t stream);

/* Fills lat 200..1000 us, no loss, 212992 B held (Linux rmem_default),
 * leave 1 s, swim_config_default(). */
void netsim_params_default(struct netsim_params *p);

/* Creates the nodes, all OFF. NULL on ENOMEM. */
struct netsim *netsim_new(const struct netsim_params *p);
/* Frees every core and every pending datagram. Accepts NULL. */
void netsim_free(struct netsim *sim);

/* Starts node i (boot: incarnation = now in ms) and joins `seeds` (node
 * indexes; none for the first node). A node already running is crashed first,
 * so this is also the restart. 0 or -ENOMEM. */
int netsim_start(struct netsim *sim, uint32_t i, const uint32_t *seeds, size_t nseeds);
/* Runs every event up to and including `until_us`; now becomes until_us.
 * 0 or the latched error. */
int netsim_run_until(struct netsim *sim, uint64_t until_us);

void netsim_crash(struct netsim *sim, uint32_t i);
void netsim_pause(struct netsim *sim, uint32_t i);
void netsim_resume(struct netsim *sim, uint32_t i);
/* swim_leave(); the node stops (GONE) params.leave_ms later. */
void netsim_leave(struct netsim *sim, uint32_t i);
/* Groups per node (NULL: everybody in group 0, i.e. heal). */
void netsim_partition(struct netsim *sim, const uint32_t *groups);
void netsim_set_loss(struct netsim *sim, uint32_t loss_ppm);
/* Hands node `dst` a datagram from `src` now, off the network (bootstrap). */
void netsim_inject(struct netsim *sim, uint32_t dst, uint32_t src, uint8_t type,
		   const uint8_t *payload, size_t len);
/* Sends a datagram from node src to node dst over the simulated network
 * (latency, loss, partitions), as src's core would: the liars' way of
 * speaking (scen_liar.c). */
void netsim_send_from(struct netsim *sim, uint32_t src, uint32_t dst, uint8_t type,
		      const uint8_t *payload, size_t len);
/* swim_set_load() on node i; returns the version the core assigned. */
uint32_t netsim_set_load(struct netsim *sim, uint32_t i, const struct swim_load *load);

/* Resets and starts the first-seen figures for a load version / a subject. */
void netsim_track_load(struct netsim *sim, uint32_t subject, uint32_t version);
void netsim_track_state(struct netsim *sim, uint32_t subject);

/* UP, PAUSED or LEAVING. */
bool netsim_is_live(const struct netsim *sim, uint32_t i);
uint32_t netsim_live_count(const struct netsim *sim);
/* Every UP node holds every other live node ALIVE (from the event counts). */
bool netsim_converged(const struct netsim *sim);
/* Walks every UP node's table: returns the number of wrong entries (a live
 * node missing or not ALIVE, or an OFF/GONE node still ALIVE or SUSPECT when
 * `strict_dead`), and the first one in *obs, *subj. */
size_t netsim_check_views(const struct netsim *sim, bool strict_dead, uint32_t *obs,
			  uint32_t *subj);
uint64_t netsim_now_ms(const struct netsim *sim);

/* The simulator's signature of msg under `key` (a keyed hash standing in for
 * Ed25519; netsim.c says why). */
void netsim_sign(const uint8_t key[32], const uint8_t *msg, size_t len, uint8_t sig[64]);
/* Node i's own signed MEMBER record, with its key. 0, or -ENOENT when it is
 * not running. */
struct swim_record;
int netsim_claim(const struct netsim *sim, uint32_t i, struct swim_record *out);

#endif
