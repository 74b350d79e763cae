/*
 * leader: what only the elected leader does (issue 11, property 4;
 * docs/election.md, "The leader alone at the cloud"), and the one place the
 * scaling policy's shell plugs into (docs/policy.md, "How the shell drives
 * it").
 *
 * While this node holds the lease (election_leading), and only then:
 *   - on taking office (a new term, or the same term's lease regained), it
 *     reads the inventory by the cluster tag (with an API token), joins the
 *     droplets gossip does not know, and reconciles every registrar with the
 *     members SWIM holds alive; the same every `reconcile_interval`;
 *   - it registers each member once it is alive (and, with a token, once its
 *     droplet is listed under the cluster tag: a process that merely holds the
 *     cluster key is never put into rotation), and deregisters a member at
 *     once when SWIM declares it dead or it leaves, dead ones included;
 *   - it answers the election's admission question from its cached listing.
 * A node that does not lead makes no API call at all (a seedless node's one
 * discovery listing at boot is agent.c's, before any election).
 *
 * Every mutating API call passes the gate this module installs on the API
 * client (cloud_set_gate): it goes out only while the lease holds, with at
 * least LEADER_MIN_LEASE of it left, bounded by what is left, and it carries
 * the term and an operation id in its User-Agent. Registrar operations are
 * also started only under the lease; an HAProxy command or an exec script
 * already started runs to its end (they are local and short).
 *
 * Time: uv_now() for its own timers; the lease is the election's (boot clock).
 */
#ifndef LEADER_H
#define LEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "doapi.h"
#include "elect.h"
#include "elect_report.h"
#include "prom.h"
#include "swim.h"

struct cfg;
struct cloud;
struct election;
struct gossip;
struct leader;
struct meta_identity;
struct rotation;

/* The least lease a mutating call starts with: min(1 s, lease / 3). */
#define LEADER_MIN_LEASE_MS 1000

/*
 * The scaling policy's plug (issue 13): every hook optional, each called on
 * the loop, never from inside a SWIM update (so a hook may call gossip), and
 * never while the leader is in the middle of a change of its own table.
 */
struct leader_hooks {
	/* This node took office in `term` (a new term, or its lease regained
	 * after a lapse): actuate_set_lease(term, lease_until) and, on a new
	 * term, policy_reset(). lease_until is on the boot clock
	 * (election_now()). The office's first inventory read follows. */
	void (*office)(void *arg, uint64_t term, uint64_t lease_until);
	/* The lease is gone (stepped down, deposed, partitioned, stopping):
	 * nothing mutating may start any more; drop what runs. */
	void (*resign)(void *arg, uint64_t term);
	/* An inventory read (GET /v2/droplets?tag_name=CLUSTER_TAG) ended:
	 * `first` on the first of this office (the reconcile of a new term:
	 * actuate_on_nodes). d[0..n) is borrowed for the call. */
	void (*inventory)(void *arg, uint64_t term, const struct doapi_droplet *d, size_t n,
			  bool first);
	/* A member changed state (actuate_on_member), after the leader has
	 * queued its own (de)registration. */
	void (*member)(void *arg, uint64_t id, enum swim_state state);
	/* True to keep node `id` out of rotation (actuate_out_of_rotation):
	 * the leader never registers it, and deregisters it if it holds it. */
	bool (*out_of_rotation)(void *arg, uint64_t id);
	void *arg;
};

struct leader_opts {
	const struct cfg *cfg;		  /* borrowed: reconcile_interval, cluster_tag, bind_port */
	const struct meta_identity *self; /* this node's identity; borrowed */
	struct cloud *cloud;		  /* the API client, NULL without token_file; borrowed */
	struct rotation *rot;		  /* the registrars, NULL when none; borrowed */
	struct election *election;	  /* whose lease gates everything; borrowed */
	struct gossip *gossip;		  /* members, joins and NODE claims; borrowed */
};

/*
 * Starts the leader's module, idle until the election reports a lease. With
 * an API client it installs the gate on it; without one it gossips this
 * node's addresses as a NODE claim (the token-less mode's only source of
 * other nodes' addresses). 0 and *out, or a negative errno after logging.
 */
int leader_open(uv_loop_t *loop, const struct leader_opts *o, struct leader **out);

/* The plug for the policy; h is copied. NULL removes the hooks. */
void leader_set_hooks(struct leader *l, const struct leader_hooks *h);

/* The election's events (election_opts.event): the lease's edges make and
 * end the office. May be called while SWIM is mid-update. */
void leader_on_election(struct leader *l, const struct elect_event *ev);

/* SWIM member events (gossip_hooks.member); may be called mid-update. */
void leader_on_member(struct leader *l, const struct swim_member *m, enum swim_state old,
		      bool is_new);

/* A NODE claim (gossip_hooks.claim for that kind): 0 to take it. */
int leader_on_claim(struct leader *l, const struct swim_claim *c);

/* The election's admission rule with an API token (election_opts
 * .admissible): YES when the cached listing holds droplet `id`, NO when a
 * listing newer than the member's arrival does not, UNKNOWN (and a listing
 * asked for, at most one per LEADER_REFRESH_MS) otherwise. */
enum elect_admit leader_admissible(void *leader, uint64_t id);

/* True while this node may start a mutating call that needs up to
 * timeout_ms: it leads, and at least LEADER_MIN_LEASE of lease is left
 * (timeout_ms is then capped to the lease left in *timeout_ms). *term gets
 * the term the call must carry. What the policy asks before each action. */
bool leader_may_act(const struct leader *l, uint64_t *term, uint64_t *timeout_ms);

/*
 * A graceful stop of the leader that could not hand over (no voter caught
 * up): takes this node out of every registrar itself, while its lease still
 * holds. cb runs once, later; -EPERM (cb never runs) when it does not lead
 * or no registrar is configured.
 */
int leader_deregister_self(struct leader *l, void (*cb)(int err, void *arg), void *arg);

/* The registrar operations this node ended as the leader (a cancelled one
 * not counted), by kind, and those that failed: the metrics' counters. */
void leader_counters(const struct leader *l, uint64_t ops[PROM_REG_COUNT],
		     uint64_t errors[PROM_REG_COUNT]);

/*
 * The policy's REGISTER / DEREGISTER (docs/policy.md): puts node `id` into
 * (in) or takes it out of every registrar, through the leader's node table,
 * so that the leader's own change for the node and this one never run at
 * once. Returns 0 (cb runs once with 0 or the first failure: later, or
 * before this returns when a registrar refuses at once; it must only queue),
 * 1 when the registrars are known to hold it so already (cb never runs),
 * or a negative errno (cb never runs): -EPERM not leading, -EBUSY a change
 * of that node runs now (ask again later), -EAGAIN its addresses are not
 * known yet, or not the one register_address names (a droplet active
 * before its public address; registering only).
 */
int leader_rotate(struct leader *l, uint64_t id, bool in,
		  void (*cb)(int err, const char *why, void *arg), void *arg);

/*
 * One droplet read by GET (the policy's own clone that joined before a
 * listing showed it): taken as listed, with its addresses, when it carries
 * the cluster tag, as the next listing would. Without a token nothing
 * changes (addresses come from the NODE claims there).
 */
void leader_learn(struct leader *l, const struct doapi_droplet *d);

/* The leader's work for `mitosis status`. */
void leader_report(const struct leader *l, struct elect_report_work *out);

/* Stops its timer; operations still running end through the rotation and
 * the client, which their owner closes next; the module is freed once they
 * have. Call before rotation_close and cloud_close. Accepts NULL. */
void leader_close(struct leader *l);

#endif
