/*
 * elect_auto: the member table the shell feeds from SWIM, and the leader's
 * upkeep of the voter set (Consul's autopilot; docs/election.md, "The voter
 * set"). The voter set is only ever changed by the leader, one voter at a
 * time, through the log: membership tells the leader whom to replace, it
 * never tells anybody whom to count. A minority that sees the others dead
 * still needs their votes.
 *
 * Rules, evaluated once per heartbeat while we hold the lease, the new
 * term's no-op is committed and no change is in flight:
 *   - a voter is bad when it left, when SWIM has held it dead for
 *     voter_replace_after and it has not answered us for as long, or when it
 *     answers with another state id (it came back without its disk);
 *   - candidates are members alive for voter_stable_ms, not voters, that
 *     ops->admissible accepts (the cloud inventory, or the cluster key);
 *   - more voters than `voters`: remove one (a bad one first);
 *   - a bad voter: remove it when a candidate can take its place, or when
 *     that keeps or makes the count odd (two bad ones, or an even count);
 *   - a draining voter (being retired) is removed first and at once, while
 *     it still answers, provided the voters left hold a live majority;
 *     otherwise the bad voters go first (whatever the count), and it waits:
 *     a retirement never takes a majority of the voters with it (the
 *     actuation core asks it to leave only once it is not a voter). A
 *     draining member is never a candidate;
 *   - fewer than `voters`: add a candidate (caught up first) when the count
 *     is even, or when two candidates are there to keep it odd.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "elect_priv.h"
#include "log.h"

/* Index of the first member with id >= `id`. */
static size_t
elect_member_pos(const struct elect *e, uint64_t id)
{
	size_t lo = 0, hi = e->nmembers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->members[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct elect_member *
elect__member(const struct elect *e, uint64_t id)
{
	size_t i = elect_member_pos(e, id);

	return i < e->nmembers && e->members[i].id == id ? &e->members[i] : NULL;
}

/* The member entry of `id`, made (as `st` since `since`) when missing;
 * NULL on ENOMEM. */
static struct elect_member *
elect_member_get(struct elect *e, uint64_t id, enum elect_member_status st, uint64_t since)
{
	size_t i = elect_member_pos(e, id);

	if (i < e->nmembers && e->members[i].id == id)
		return &e->members[i];
	if (e->nmembers == e->capmembers) {
		size_t cap = e->capmembers ? e->capmembers * 2 : 16;
		struct elect_member *m = realloc(e->members, cap * sizeof(*m));

		if (m == NULL)
			return NULL;
		e->members = m;
		e->capmembers = cap;
	}
	memmove(e->members + i + 1, e->members + i, (e->nmembers - i) * sizeof(*e->members));
	memset(&e->members[i], 0, sizeof(e->members[i]));
	e->members[i].id = id;
	e->members[i].status = (uint8_t)st;
	e->members[i].since = since;
	e->nmembers++;
	return &e->members[i];
}

int
elect_member(struct elect *e, uint64_t id, enum elect_member_status st, uint64_t since,
	     uint64_t now)
{
	struct elect_member *m;

	if (id == 0 || (unsigned)st > ELECT_MEMBER_LEFT)
		return -EINVAL;
	if (id == e->self)
		return 0;
	if ((m = elect_member_get(e, id, st, since)) == NULL)
		return -ENOMEM;
	if (m->status != st) {
		m->status = (uint8_t)st;
		m->since = since;
	}
	return 0;
}

int
elect_member_draining(struct elect *e, uint64_t id, bool draining, uint64_t now)
{
	struct elect_member *m;

	if (id == 0)
		return -EINVAL;
	if (id == e->self)
		return 0;
	/* Unknown yet: alive as far as we know (elect_alive says the same). */
	if ((m = elect_member_get(e, id, ELECT_MEMBER_ALIVE, now)) == NULL)
		return -ENOMEM;
	m->draining = draining;
	return 0;
}

/* A member SWIM has not told us about yet is not known to be dead. */
static bool
elect_alive(const struct elect_member *m)
{
	return m == NULL || m->status == ELECT_MEMBER_ALIVE || m->status == ELECT_MEMBER_SUSPECT;
}

/* The voter set status and quorum judge: the newest we hold, else what the
 * leader last announced. */
static const struct elect_voters *
elect_known_voters(const struct elect *e)
{
	const struct elect_voters *v = elect_log_voters(&e->hs.log);

	return v->n ? v : &e->ann_voters;
}

uint32_t
elect__voters_alive(const struct elect *e)
{
	const struct elect_voters *v = elect_known_voters(e);
	uint32_t n = 0;

	for (uint32_t i = 0; i < v->n; i++)
		if (v->v[i].id == e->self || elect_alive(elect__member(e, v->v[i].id)))
			n++;
	return n;
}

bool
elect__quorum_lost(const struct elect *e, uint64_t now)
{
	const struct elect_voters *v = elect_known_voters(e);
	bool heard = e->role == ELECT_LEADER ||
		     (e->leader != 0 && now - e->heard_leader < e->cfg.election_max_ms);

	return v->n > 0 && !heard && elect__voters_alive(e) < elect_quorum(v->n);
}

void
elect__quorum_check(struct elect *e, uint64_t now)
{
	bool lost = elect__quorum_lost(e, now);
	const struct elect_voters *v = elect_known_voters(e);

	if (lost == e->quorum_lost)
		return;
	e->quorum_lost = lost;
	if (lost)
		log_warnx("elect: quorum lost: %u of %u voters alive", elect__voters_alive(e),
			  v->n);
	elect__emit(e, ELECT_EV_QUORUM);
}

/* Is voter v to be replaced (see the rules above)? */
static bool
elect_voter_bad(struct elect *e, const struct elect_voter *v, uint64_t now)
{
	const struct elect_member *m = elect__member(e, v->id);
	struct elect_peer *p = elect__peer(e, v->id);
	uint64_t after = e->cfg.voter_replace_after_ms;
	bool silent = p == NULL || now - (p->last_heard ? p->last_heard : e->won_at) >= after;

	if (v->id == e->self)
		return false;
	if (p && p->seen_sid && p->seen_sid != v->sid)
		return true;
	if (m == NULL)
		return silent;
	if (m->draining)
		return true;
	if (m->status == ELECT_MEMBER_LEFT)
		return true;
	return m->status == ELECT_MEMBER_DEAD && now - m->since >= after && silent;
}

/* The lowest ids of up to `max` candidates into out; returns how many. */
static uint32_t
elect_candidates(struct elect *e, uint64_t now, uint64_t *out, uint32_t max)
{
	const struct elect_voters *v = elect_log_voters(&e->hs.log);
	uint32_t n = 0;

	for (size_t i = 0; i < e->nmembers && n < max; i++) {
		const struct elect_member *m = &e->members[i];
		enum elect_admit a;

		if (m->status != ELECT_MEMBER_ALIVE || m->draining ||
		    now - m->since < e->cfg.voter_stable_ms || elect_voters_find(v, m->id) >= 0)
			continue;
		a = e->ops.admissible ? e->ops.admissible(e->arg, m->id) : ELECT_ADMIT_YES;
		if (a == ELECT_ADMIT_YES)
			out[n++] = m->id;
	}
	return n;
}

/* A voter that came back without its state can take its own place: it is
 * alive, so once removed it is a candidate like any other. */
static bool
elect_self_replaceable(struct elect *e, uint64_t id, uint64_t now)
{
	const struct elect_member *m = elect__member(e, id);
	struct elect_peer *p = elect__peer(e, id);
	const struct elect_voters *v = elect_log_voters(&e->hs.log);
	int i = elect_voters_find(v, id);

	return p && i >= 0 && p->seen_sid && p->seen_sid != v->v[i].sid && m &&
	       m->status == ELECT_MEMBER_ALIVE && now - p->last_heard < e->cfg.election_max_ms &&
	       (e->ops.admissible == NULL || e->ops.admissible(e->arg, id) == ELECT_ADMIT_YES);
}

/* Proposes the newest set without voter `id`. */
static void
elect_auto_remove(struct elect *e, uint64_t id, uint64_t now)
{
	struct elect_entry ent = { .term = e->hs.term, .type = ELECT_ENTRY_CONFIG };
	const struct elect_voters *v = elect_log_voters(&e->hs.log);

	for (uint32_t i = 0; i < v->n; i++)
		if (v->v[i].id != id)
			ent.voters.v[ent.voters.n++] = v->v[i];
	log_info("elect: removing voter %" PRIu64 " (%u voters left)", id, ent.voters.n);
	e->st.config_changes++;
	(void)elect__lead_append(e, &ent, now);
}

/* The node being caught up: proposed once it holds our whole log. */
static bool
elect_auto_catchup(struct elect *e, uint64_t now)
{
	struct elect_entry ent = { .term = e->hs.term, .type = ELECT_ENTRY_CONFIG };
	const struct elect_voters *v = elect_log_voters(&e->hs.log);
	struct elect_peer *p = NULL;

	for (uint32_t i = 0; i < e->npeers; i++)
		if (e->peers[i].catchup)
			p = &e->peers[i];
	if (p == NULL)
		return false;
	if (now - e->catchup_since > 2 * e->cfg.election_max_ms) {
		log_info("elect: %" PRIu64 " did not catch up: not promoted", p->id);
		*p = e->peers[--e->npeers];
		return false;
	}
	if (p->sid == 0 || p->match < elect_log_last_index(&e->hs.log) || v->n >= ELECT_VOTERS_MAX)
		return true;
	ent.voters = *v;
	ent.voters.v[ent.voters.n].id = p->id;
	ent.voters.v[ent.voters.n].sid = p->sid;
	ent.voters.n++;
	log_info("elect: promoting %" PRIu64 " to voter (%u voters)", p->id, ent.voters.n);
	e->st.config_changes++;
	(void)elect__lead_append(e, &ent, now);
	return true;
}

/* Would the newest voter set without `id` still hold a live majority (us,
 * and the voters SWIM holds alive)? A draining voter counts: it still
 * answers, and the actuator asks it to leave only once it is not a voter.
 * Not counting them deadlocked a scale-in of every voter but the leader. */
static bool
elect_auto_safe_without(const struct elect *e, uint64_t id)
{
	const struct elect_voters *v = elect_log_voters(&e->hs.log);
	uint32_t alive = 0;

	for (uint32_t i = 0; i < v->n; i++) {
		const struct elect_member *m = elect__member(e, v->v[i].id);

		if (v->v[i].id != id && (v->v[i].id == e->self || elect_alive(m)))
			alive++;
	}
	return alive >= elect_quorum(v->n - 1);
}

/* A voter to remove when there are more than `voters`: a bad one, else the
 * highest id that is not us. */
static uint64_t
elect_auto_surplus(struct elect *e, const uint64_t *bad, uint32_t nbad)
{
	const struct elect_voters *v = elect_log_voters(&e->hs.log);
	uint64_t id = 0;

	if (nbad)
		return bad[0];
	for (uint32_t i = 0; i < v->n; i++)
		if (v->v[i].id != e->self && v->v[i].id > id)
			id = v->v[i].id;
	return id;
}

uint64_t
elect__auto_tick(struct elect *e, uint64_t now)
{
	const struct elect_voters *v = elect_log_voters(&e->hs.log);
	uint64_t bad[ELECT_VOTERS_MAX], cand[2];
	uint32_t nbad = 0, ncand, n = v->n;
	const struct elect_member *m;
	bool waiting = false;

	if (e->hs.log.snap_index < e->noop_index || elect_log_config_pending(&e->hs.log))
		return now + e->cfg.heartbeat_ms;
	if (elect_auto_catchup(e, now))
		return now + e->cfg.heartbeat_ms;
	for (uint32_t i = 0; i < n; i++) {
		if (!elect_voter_bad(e, &v->v[i], now))
			continue;
		m = elect__member(e, v->v[i].id);
		if (m != NULL && m->draining && elect_alive(m)) {
			if (elect_auto_safe_without(e, v->v[i].id)) { /* now, while it acks */
				elect_auto_remove(e, v->v[i].id, now);
				return now + e->cfg.heartbeat_ms;
			}
			waiting = true; /* the bad ones must go first */
			continue;
		}
		bad[nbad++] = v->v[i].id;
	}
	ncand = elect_candidates(e, now, cand, 2);
	if (n > e->cfg.voters)
		elect_auto_remove(e, elect_auto_surplus(e, bad, nbad), now);
	else if (nbad && (waiting || ncand || nbad >= 2 || n % 2 == 0 ||
			  elect_self_replaceable(e, bad[0], now)))
		elect_auto_remove(e, bad[0], now);
	else if (n < e->cfg.voters && ncand && (n % 2 == 0 || ncand >= 2))
		elect__lead_catchup(e, cand[0], now);
	return now + e->cfg.heartbeat_ms;
}
