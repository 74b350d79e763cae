/*
 * elect_cmd: what the operator and the shell ask of the election core
 * (include/elect.h): leadership transfer, step-down, force-recover, the
 * leader's announcement, and the status `mitosis status` shows.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "elect_priv.h"
#include "log.h"

int
elect_transfer(struct elect *e, uint64_t target, uint64_t now)
{
	const struct elect_voters *v = elect_log_voters(&e->hs.log);
	uint64_t last = elect_log_last_index(&e->hs.log);
	struct elect_peer *best = NULL;

	if (!elect_leading(e, now, NULL, NULL))
		return -EPERM;
	if (target != 0 && (target == e->self || elect_voters_find(v, target) < 0))
		return -ENOENT;
	for (uint32_t i = 0; i < e->npeers; i++) {
		struct elect_peer *p = &e->peers[i];

		if (p->catchup || p->match != last || p->seen_sid != p->sid ||
		    now - p->last_heard > 2 * e->cfg.heartbeat_ms || (target && p->id != target))
			continue;
		if (best == NULL || p->last_heard > best->last_heard)
			best = p;
	}
	if (best == NULL)
		return -EAGAIN;
	/* Give up the lease first: from here on we never act in this term. */
	e->resigned = true;
	e->tn_to = best->id;
	e->tn_term = e->hs.term;
	e->tn_next = now;
	e->tn_until = now + e->cfg.election_min_ms;
	log_trace(TRACE_ELECT, "elect: transfer to %" PRIu64 " in term %" PRIu64, best->id,
		  e->hs.term);
	elect__enter(e, ELECT_FOLLOWER, now);
	elect__set_leader(e, 0, 0);
	(void)elect__tn_tick(e, now);
	return 0;
}

int
elect_step_down(struct elect *e, uint64_t now)
{
	if (e->role != ELECT_LEADER)
		return -EPERM;
	e->resigned = true;
	elect__enter(e, ELECT_FOLLOWER, now);
	elect__set_leader(e, 0, 0);
	return 0;
}

int
elect_force_recover(struct elect *e, uint64_t now)
{
	struct elect_hard h = e->hs;
	struct elect_voters solo = { 1, { { e->self, e->hs.sid } } };
	uint64_t last = elect_log_last_index(&h.log);

	if (elect_leading(e, now, NULL, NULL) ||
	    (e->leader != 0 && now - e->heard_leader < e->cfg.election_max_ms))
		return -EBUSY;
	if (h.term >= ELECT_TERM_MAX || last > ELECT_INDEX_MAX - ELECT_RECOVER_JUMP)
		return -ERANGE; /* only a forged or corrupt state gets there */
	h.term++;
	h.vote_id = e->self;
	h.vote_sid = h.sid;
	h.flags |= ELECT_HARD_CLUSTER;
	elect_log_install(&h.log, last + ELECT_RECOVER_JUMP, h.term, &solo);
	if (elect__persist(e, &h) < 0)
		return -EIO;
	log_warnx("elect: force-recover: this node is now the only voter (term %" PRIu64
		  "); the others are re-admitted as they are seen",
		  h.term);
	elect__set_leader(e, 0, 0);
	elect__enter(e, ELECT_FOLLOWER, now);
	e->promise_until = now;
	e->election_at = now;
	elect__emit(e, ELECT_EV_VOTERS);
	return 0;
}

int
elect_announce_build(struct elect *e, uint64_t now, uint8_t *buf, size_t size, size_t *len)
{
	struct elect_msg *m;
	uint64_t left;

	if (!elect_leading(e, now, NULL, &left))
		return -EPERM;
	m = elect__msg(e, ELECT_MSG_ANNOUNCE, 0);
	m->lease_left_ms = left;
	m->voters = e->hs.log.snap_voters;
	return elect_msg_encode(m, e->sk, buf, size, len);
}

void
elect_status(const struct elect *e, uint64_t now, struct elect_status *out)
{
	memset(out, 0, sizeof(*out));
	out->role = e->role;
	out->self = e->self;
	out->sid = e->hs.sid;
	out->term = e->hs.term;
	out->leader = e->leader;
	out->leading = elect_leading(e, now, NULL, &out->lease_left_ms);
	/* A voter that acks the leader promised it a lease: what is left of
	 * that promise bounds the leader's own from above. */
	if (!out->leading && e->leader != 0 && e->leader != e->self && e->promise_id == e->leader &&
	    now < e->promise_until)
		out->lease_left_ms = e->promise_until - now;
	out->voters = e->hs.log.snap_voters;
	out->latest = *elect_log_voters(&e->hs.log);
	out->commit = e->hs.log.snap_index;
	out->voters_alive = elect__voters_alive(e);
	out->quorum_lost = elect__quorum_lost(e, now);
	if (out->quorum_lost)
		out->recovery = "if the dead voters are gone for good, run `mitosis leader "
				"force-recover` on ONE surviving voter (unsafe while the old "
				"majority still runs; docs/election.md, \"Lost quorum\")";
	if (e->role == ELECT_NONVOTER && e->ann_term >= e->hs.term && e->ann_leader != 0) {
		out->leader = e->ann_leader;
		out->term = e->ann_term;
		out->lease_left_ms = now < e->ann_lease_until ? e->ann_lease_until - now : 0;
		if (out->voters.n == 0)
			out->voters = e->ann_voters;
	}
	out->bootstrapping = elect__virgin(e);
	out->boot_phase = elect__boot_phase(e);
}

void
elect_stats(const struct elect *e, struct elect_stats *out)
{
	*out = e->st;
}

enum elect_role
elect_role(const struct elect *e)
{
	return e->role;
}

uint64_t
elect_term(const struct elect *e)
{
	return e->hs.term;
}

uint64_t
elect_leader(const struct elect *e)
{
	return e->leader;
}

const struct elect_hard *
elect_hard(const struct elect *e)
{
	return &e->hs;
}
