/*
 * elect_boot: the first voter set of a new cluster (docs/election.md,
 * "Bootstrap"). Only a virgin node takes part: one that never held a voter
 * set, a term, or heard of a leader.
 *
 * With bootstrap_expect = N, a virgin node that has seen at least N members
 * alive for bootstrap_settle_ms proposes: the lowest id first, the next one
 * a settle time later, and so on (a lower node may be unable to: it lost
 * its state). It durably records the offer, then asks the founding group:
 * itself and the N - 1 lowest other ids it sees. A virgin member accepts at
 * most one offer at a time, durably, and answers with its state id. The
 * voter set (the lowest ids of the group, an odd count up to `voters`)
 * exists only once EVERY member of the group accepted: two offers that
 * complete have disjoint groups of N members, which N > (nodes started
 * together) / 2 rules out. A member that already belongs to a cluster
 * refuses, and the proposer gives up for good; one that lost its state
 * refuses too, and is left out of the proposer's next group.
 *
 * An offer is named by (proposer, proposer's state id, generation). A
 * proposer that meets a lower proposer gives way; one whose offer does not
 * complete in time gives up; either records that durably and only then
 * releases its acceptors, so an offer given up can never complete later.
 * A proposer that lost its state is another proposer: it can neither
 * release nor complete the offers of its previous life. An acceptor keeps
 * asking the proposer and the rest of the group; whoever holds the set that
 * offer made hands it over.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "elect_priv.h"
#include "log.h"

static const char *const elect_boot_phases[] = {
	[ELECT_BOOT_NONE] = "waiting",
	[ELECT_BOOT_PROPOSING] = "proposing",
	[ELECT_BOOT_ACCEPTED] = "accepted an offer",
	[ELECT_BOOT_DONE] = "done",
};

/* Never held a voter set or a term, never heard of a leader. */
static bool
elect_boot_blank(const struct elect *e)
{
	const struct elect_log *l = &e->hs.log;

	return e->hs.term == 0 && l->snap_index == 0 && l->n == 0 && l->snap_voters.n == 0 &&
	       !(e->hs.flags & ELECT_HARD_CLUSTER) && e->hs.boot.phase != ELECT_BOOT_DONE;
}

bool
elect__virgin(const struct elect *e)
{
	return elect_boot_blank(e) && !(e->hs.flags & ELECT_HARD_LOST);
}

static bool
elect_boot_excluded(const struct elect *e, uint64_t id)
{
	for (uint32_t i = 0; i < e->nboot_excluded; i++)
		if (e->boot_excluded[i] == id)
			return true;
	return false;
}

const char *
elect__boot_phase(const struct elect *e)
{
	if (!elect__virgin(e))
		return "configured";
	if (e->cfg.bootstrap_expect == 0 && e->hs.boot.phase == ELECT_BOOT_NONE)
		return "waiting for a cluster to join";
	return elect_boot_phases[e->hs.boot.phase & 3];
}

/* One bootstrap message about the offer in e->hs.boot. */
static void
elect_boot_send(struct elect *e, uint8_t type, uint64_t to)
{
	struct elect_msg *m = elect__msg(e, type, to);
	const struct elect_boot *b = &e->hs.boot;

	m->gen = b->gen;
	m->proposer = b->proposer;
	m->proposer_sid = b->proposer_sid;
	if (type == ELECT_MSG_BOOT_OFFER || type == ELECT_MSG_BOOT_CONFIG)
		m->voters = b->members;
	elect__send(e);
}

/* Sends `type` to every member of `group` but us (OFFER: only to those that
 * have not accepted yet). */
static void
elect_boot_broadcast(struct elect *e, uint8_t type, const struct elect_voters *group)
{
	for (uint32_t i = 0; i < group->n; i++) {
		if (group->v[i].id == e->self ||
		    (type == ELECT_MSG_BOOT_OFFER && group->v[i].sid != 0))
			continue;
		elect_boot_send(e, type, group->v[i].id);
	}
}

/* The voter set a founding group makes: its lowest ids (the group is
 * sorted), an odd count up to `voters`. */
static void
elect_boot_voters(const struct elect *e, const struct elect_voters *group, struct elect_voters *out)
{
	uint32_t k = group->n < e->cfg.voters ? group->n : e->cfg.voters;

	memset(out, 0, sizeof(*out));
	out->n = k - (k % 2 == 0);
	memcpy(out->v, group->v, out->n * sizeof(out->v[0]));
}

/* Takes the voter set an offer made (ours, or one we accepted): durably,
 * then hands it to the rest of the group. */
static int
elect_boot_install(struct elect *e, const struct elect_voters *v, uint64_t now)
{
	struct elect_voters group = e->hs.boot.members;
	struct elect_hard h = e->hs;

	elect_log_install(&h.log, 1, 0, v);
	h.boot.phase = ELECT_BOOT_DONE;
	h.boot.members = *v; /* kept for members that missed it */
	h.flags |= ELECT_HARD_CLUSTER;
	if (elect__persist(e, &h) < 0)
		return -EIO;
	log_info("elect: bootstrap: the first voter set (%u voters) is made", v->n);
	elect__emit(e, ELECT_EV_VOTERS);
	elect__voters_changed(e, now);
	elect_boot_broadcast(e, ELECT_MSG_BOOT_CONFIG, &group);
	return 0;
}

/* Gives our offer up (for another proposer, a timeout, or an existing
 * cluster): durably first, then the acceptors are released. `h` carries
 * the phase to go to. Returns 0 or -EIO. */
static int
elect_boot_abandon(struct elect *e, struct elect_hard *h)
{
	struct elect_voters group = e->hs.boot.members;
	uint32_t gen = e->hs.boot.gen;

	if (elect__persist(e, h) < 0)
		return -EIO;
	e->boot_seen_since = 0;
	for (uint32_t i = 0; i < group.n; i++) {
		if (group.v[i].id == e->self || group.v[i].sid == 0)
			continue;
		elect__msg(e, ELECT_MSG_BOOT_RELEASE, group.v[i].id)->gen = gen;
		elect__send(e);
	}
	return 0;
}

/* Completes our offer once every member of the group accepted. */
static void
elect_boot_check(struct elect *e, uint64_t now)
{
	const struct elect_voters *g = &e->hs.boot.members;
	struct elect_voters v;

	for (uint32_t k = 0; k < g->n; k++)
		if (g->v[k].sid == 0)
			return;
	elect_boot_voters(e, g, &v);
	(void)elect_boot_install(e, &v, now);
}

/* May member m be in a founding group of ours? */
static bool
elect_boot_eligible(const struct elect *e, const struct elect_member *m)
{
	return m->status == ELECT_MEMBER_ALIVE && !elect_boot_excluded(e, m->id);
}

/* The alive members that may found (us included), and how many of them
 * have a lower id than ours. */
static uint32_t
elect_boot_alive(const struct elect *e, uint32_t *rank)
{
	uint32_t n = 1;

	*rank = 0;
	for (size_t i = 0; i < e->nmembers; i++) {
		if (!elect_boot_eligible(e, &e->members[i]))
			continue;
		n++;
		if (e->members[i].id < e->self)
			(*rank)++;
	}
	return n;
}

static void
elect_boot_propose(struct elect *e, uint64_t now)
{
	struct elect_hard h = e->hs;
	struct elect_voters *g = &h.boot.members;

	memset(g, 0, sizeof(*g));
	g->v[g->n++] = (struct elect_voter){ e->self, h.sid };
	for (size_t i = 0; i < e->nmembers && g->n < e->cfg.bootstrap_expect; i++)
		if (elect_boot_eligible(e, &e->members[i]))
			g->v[g->n++] = (struct elect_voter){ e->members[i].id, 0 };
	/* Sorted by id, ourselves included: the voter set is its first part. */
	for (uint32_t i = 1; i < g->n; i++)
		for (uint32_t j = i; j > 0 && g->v[j].id < g->v[j - 1].id; j--) {
			struct elect_voter x = g->v[j];

			g->v[j] = g->v[j - 1];
			g->v[j - 1] = x;
		}
	h.boot.phase = ELECT_BOOT_PROPOSING;
	h.boot.gen = ++h.boot.own_gen;
	h.boot.proposer = e->self;
	h.boot.proposer_sid = h.sid;
	if (elect__persist(e, &h) < 0)
		return;
	log_info("elect: bootstrap: offering to found the cluster with %u members (generation %u)",
		 g->n, h.boot.gen);
	e->boot_offered_at = now;
	e->boot_resend_at = now + 2 * e->cfg.heartbeat_ms;
	elect_boot_broadcast(e, ELECT_MSG_BOOT_OFFER, &e->hs.boot.members);
	elect_boot_check(e, now);
}

/* How long an offer may stay open before the proposer gives it up. */
static uint64_t
elect_boot_patience(const struct elect *e)
{
	uint64_t a = 4 * e->cfg.election_max_ms, b = 2 * e->cfg.bootstrap_settle_ms;

	return a > b ? a : b;
}

/* Not bootstrapping yet: propose once we have seen enough members for
 * long enough; a settle time more for every lower id that could go first. */
static uint64_t
elect_boot_wait(struct elect *e, uint64_t now)
{
	uint32_t rank;

	if (e->cfg.bootstrap_expect == 0)
		return ELECT_NEVER;
	if (elect_boot_alive(e, &rank) < e->cfg.bootstrap_expect) {
		e->boot_seen_since = 0;
		return now + e->cfg.heartbeat_ms;
	}
	if (e->boot_seen_since == 0)
		e->boot_seen_since = now;
	if (now - e->boot_seen_since >= e->cfg.bootstrap_settle_ms * (1 + (rank < 4 ? rank : 4)))
		elect_boot_propose(e, now);
	return now + e->cfg.heartbeat_ms;
}

uint64_t
elect__boot_tick(struct elect *e, uint64_t now)
{
	struct elect_hard h;

	if (!elect__virgin(e) || !e->durable)
		return ELECT_NEVER;
	if (e->hs.boot.phase == ELECT_BOOT_NONE)
		return elect_boot_wait(e, now);
	if (e->boot_offered_at == 0)
		e->boot_offered_at = now; /* restarted with an offer open */
	if (now < e->boot_resend_at)
		return e->boot_resend_at;
	e->boot_resend_at = now + 2 * e->cfg.heartbeat_ms;
	if (e->hs.boot.phase == ELECT_BOOT_PROPOSING) {
		if (now - e->boot_offered_at < elect_boot_patience(e)) {
			elect_boot_broadcast(e, ELECT_MSG_BOOT_OFFER, &e->hs.boot.members);
			return e->boot_resend_at;
		}
		h = e->hs;
		h.boot.phase = ELECT_BOOT_NONE;
		log_info("elect: bootstrap: offer %u did not complete: given up", h.boot.gen);
		(void)elect_boot_abandon(e, &h);
	} else if (e->hs.boot.phase == ELECT_BOOT_ACCEPTED) {
		/* Ask the proposer again, and the rest of the group: whoever
		 * holds the set the offer made (or the proposer's release)
		 * answers. */
		elect_boot_send(e, ELECT_MSG_BOOT_ACCEPT, e->hs.boot.proposer);
		elect_boot_broadcast(e, ELECT_MSG_BOOT_ACCEPT, &e->hs.boot.members);
	}
	return e->boot_resend_at;
}

/* The answer to an offer; ELECT_ANSWER_ACCEPT only once it is durable. */
static int
elect_boot_answer_offer(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	const struct elect_boot *b = &e->hs.boot;
	struct elect_hard h;

	if (!elect_boot_blank(e))
		return ELECT_ANSWER_CONFIGURED;
	if (!elect__virgin(e))
		return ELECT_ANSWER_LOST;
	if (b->phase == ELECT_BOOT_ACCEPTED)
		return b->proposer == m->from && b->proposer_sid == m->from_sid && b->gen == m->gen
			       ? ELECT_ANSWER_ACCEPT
			       : ELECT_ANSWER_TAKEN;
	if (b->phase == ELECT_BOOT_PROPOSING && m->from > e->self)
		return ELECT_ANSWER_TAKEN;
	h = e->hs;
	h.boot.phase = ELECT_BOOT_ACCEPTED;
	h.boot.proposer = m->from;
	h.boot.proposer_sid = m->from_sid;
	h.boot.gen = m->gen;
	h.boot.members = m->voters;
	if (b->phase == ELECT_BOOT_PROPOSING) {
		/* A lower proposer: ours gives way (durably, then releases). */
		if (elect_boot_abandon(e, &h) < 0)
			return -EIO;
	} else if (elect__persist(e, &h) < 0) {
		return -EIO;
	}
	e->boot_resend_at = now + 2 * e->cfg.heartbeat_ms;
	log_info("elect: bootstrap: accepted the offer of %" PRIu64, m->from);
	return ELECT_ANSWER_ACCEPT;
}

static void
elect_boot_on_offer(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	struct elect_msg *r;
	int a;

	if (elect_voters_find(&m->voters, e->self) < 0 ||
	    elect_voters_find(&m->voters, m->from) < 0) {
		elect__refuse(e, ELECT_REFUSE_UNEXPECTED);
		return;
	}
	if ((a = elect_boot_answer_offer(e, m, now)) < 0) {
		elect__refuse(e, ELECT_REFUSE_PERSIST);
		return;
	}
	r = elect__msg(e, ELECT_MSG_BOOT_ACCEPT, m->from); /* names the offer it answers */
	r->gen = m->gen;
	r->reason = (uint8_t)a;
	r->proposer = m->from;
	r->proposer_sid = m->from_sid;
	elect__send(e);
}

/* An answer to an offer of ours (of this life). */
static void
elect_boot_on_answer(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	const struct elect_boot *b = &e->hs.boot;
	int i = elect_voters_find(&b->members, m->from);
	struct elect_hard h;

	if (b->phase != ELECT_BOOT_PROPOSING || m->gen != b->gen || i < 0) {
		/* An acceptor of an offer we gave up: free it again. */
		if (m->reason == ELECT_ANSWER_ACCEPT && m->gen <= b->own_gen) {
			elect__msg(e, ELECT_MSG_BOOT_RELEASE, m->from)->gen = m->gen;
			elect__send(e);
		}
		return;
	}
	h = e->hs;
	if (m->reason == ELECT_ANSWER_CONFIGURED) {
		log_info("elect: bootstrap: %" PRIu64 " already belongs to a cluster: not "
			 "bootstrapping",
			 m->from);
		h.boot.phase = ELECT_BOOT_NONE;
		h.flags |= ELECT_HARD_CLUSTER;
		(void)elect_boot_abandon(e, &h);
		return;
	}
	if (m->reason == ELECT_ANSWER_LOST) {
		/* It may have belonged to a cluster: found without it. */
		if (e->nboot_excluded < ELECT_BOOT_EXCLUDED)
			e->boot_excluded[e->nboot_excluded++] = m->from;
		h.boot.phase = ELECT_BOOT_NONE;
		(void)elect_boot_abandon(e, &h);
		return;
	}
	if (m->reason != ELECT_ANSWER_ACCEPT || b->members.v[i].sid == m->from_sid)
		return;
	h.boot.members.v[i].sid = m->from_sid;
	if (elect__persist(e, &h) == 0)
		elect_boot_check(e, now);
}

static void
elect_boot_on_accept(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	const struct elect_boot *b = &e->hs.boot;
	bool same = m->proposer == b->proposer && m->proposer_sid == b->proposer_sid &&
		    m->gen == b->gen;

	if (b->phase == ELECT_BOOT_DONE && same && m->reason == ELECT_ANSWER_ACCEPT)
		elect_boot_send(e, ELECT_MSG_BOOT_CONFIG, m->from); /* it missed the set */
	else if (m->proposer == e->self && m->proposer_sid == e->hs.sid)
		elect_boot_on_answer(e, m, now);
	/* Else a member asking about an offer we know nothing of: no answer. */
}

void
elect__on_boot(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	const struct elect_boot *b = &e->hs.boot;
	struct elect_hard h = e->hs;

	switch (m->type) {
	case ELECT_MSG_BOOT_OFFER:
		elect_boot_on_offer(e, m, now);
		return;
	case ELECT_MSG_BOOT_ACCEPT:
		elect_boot_on_accept(e, m, now);
		return;
	case ELECT_MSG_BOOT_RELEASE:
		if (b->phase != ELECT_BOOT_ACCEPTED || b->proposer != m->from ||
		    b->proposer_sid != m->from_sid || b->gen != m->gen) {
			elect__refuse(e, ELECT_REFUSE_UNEXPECTED);
			return;
		}
		h.boot.phase = ELECT_BOOT_NONE;
		if (elect__persist(e, &h) == 0)
			e->boot_seen_since = 0;
		return;
	case ELECT_MSG_BOOT_CONFIG:
		/* From the proposer or any member that holds the set; members
		 * of the group that are not voters take it too. */
		if (b->phase != ELECT_BOOT_ACCEPTED || !elect__virgin(e) ||
		    b->proposer != m->proposer || b->proposer_sid != m->proposer_sid ||
		    b->gen != m->gen) {
			elect__refuse(e, ELECT_REFUSE_UNEXPECTED);
			return;
		}
		if (elect_boot_install(e, &m->voters, now) < 0)
			elect__refuse(e, ELECT_REFUSE_PERSIST);
		return;
	default:
		elect__refuse(e, ELECT_REFUSE_MALFORMED);
	}
}
