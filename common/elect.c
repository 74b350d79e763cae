/*
 * elect: the election state machine's entry points, roles, votes and the
 * follower's side of replication (include/elect.h, docs/election.md).
 *
 * Every change of term, vote or log goes through elect__persist before
 * anything that depends on it leaves the node: a vote is granted only once
 * ops->persist returned 0, and an ack only once the entries it acknowledges
 * are durable. The lease promise is the one thing not persisted: a node that
 * starts refuses every candidate for one promise length instead, since it
 * cannot know what its previous life promised.
 *
 * The leader's side is in elect_lead.c, the voter set's upkeep and the
 * member table in elect_auto.c, bootstrap in elect_boot.c, the operator's
 * commands and the status in elect_cmd.c.
 *
 * Two compile-time switches exist only for the simulator's self-test (they
 * break the core on purpose, so that the checker can be seen to catch it):
 * ELECT_BREAK_LEASE skips the follower's promise and the start-up wait;
 * ELECT_BREAK_VOTE grants a vote whatever this node voted before in the term.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "elect_priv.h"
#include "log.h"

static const char *const elect_role_names[ELECT_ROLE_COUNT] = {
	[ELECT_NONVOTER] = "non-voter",
	[ELECT_FOLLOWER] = "follower",
	[ELECT_PRECANDIDATE] = "pre-candidate",
	[ELECT_CANDIDATE] = "candidate",
	[ELECT_LEADER] = "leader",
};

static const char *const elect_refuse_names[ELECT_REFUSE_COUNT] = {
	[ELECT_REFUSE_MALFORMED] = "malformed",
	[ELECT_REFUSE_UNKNOWN_KEY] = "unknown-key",
	[ELECT_REFUSE_BAD_SIGNATURE] = "bad-signature",
	[ELECT_REFUSE_WRONG_RECEIVER] = "wrong-receiver",
	[ELECT_REFUSE_FROM_SELF] = "from-self",
	[ELECT_REFUSE_NOT_VOTER] = "not-voter",
	[ELECT_REFUSE_STALE_TERM] = "stale-term",
	[ELECT_REFUSE_UNEXPECTED] = "unexpected",
	[ELECT_REFUSE_BAD_PROOF] = "bad-proof",
	[ELECT_REFUSE_PERSIST] = "persist-failed",
};

const char *
elect_role_name(enum elect_role r)
{
	if ((unsigned)r >= ELECT_ROLE_COUNT)
		return "unknown";
	return elect_role_names[r];
}

const char *
elect_refuse_name(enum elect_refuse r)
{
	if ((unsigned)r >= ELECT_REFUSE_COUNT)
		return "unknown";
	return elect_refuse_names[r];
}

void
elect_config_default(struct elect_config *c)
{
	memset(c, 0, sizeof(*c));
	c->voters = 5;
	c->bootstrap_expect = 0;
	c->heartbeat_ms = 500;
	c->lease_ms = 3000;
	c->drift_ppm = 10000;
	c->election_min_ms = 3300;
	c->election_max_ms = 4500;
	c->voter_replace_after_ms = 30000;
	c->voter_stable_ms = 10000;
	c->bootstrap_settle_ms = 5000;
	c->announce_ms = 30000;
}

/* a x (1 + ppm) or a x (1 - ppm), rounded away from the safe side never. */
static uint64_t
elect_scale(uint64_t a, uint32_t ppm, bool up)
{
	uint64_t d = (a * ppm + 999999) / 1000000;

	return up ? a + d : (d >= a ? 0 : a - d);
}

int
elect_config_check(const struct elect_config *c, char *err, size_t errsize)
{
	const char *why = NULL;

	if (c->voters != 1 && c->voters != 3 && c->voters != 5 && c->voters != 7)
		why = "voters must be 1, 3, 5 or 7";
	else if (c->bootstrap_expect > ELECT_VOTERS_MAX)
		why = "bootstrap_expect must be 0..7 (the founding group is at most 7)";
	else if (c->drift_ppm >= 100000)
		why = "drift must be below 10% (100000 ppm)";
	else if (c->heartbeat_ms < 10 || c->heartbeat_ms > 60000)
		why = "heartbeat must be 10 ms .. 60 s";
	else if (c->lease_ms < 2 * c->heartbeat_ms || c->lease_ms > 600000)
		why = "lease must be at least two heartbeats (and at most 600 s)";
	/* A follower's timer (its clock) must outlast its promise as seen from
	 * any other clock within the drift bound, or campaigns start early. */
	else if (c->election_min_ms <=
		 elect_scale(elect_scale(c->lease_ms, c->drift_ppm, true), 2 * c->drift_ppm, true))
		why = "election_min must exceed lease x (1 + drift) / (1 - drift)";
	else if (c->election_max_ms <= c->election_min_ms || c->election_max_ms > 3600000)
		why = "election_max must exceed election_min (and be at most an hour)";
	else if (c->voter_replace_after_ms == 0 || c->announce_ms == 0)
		why = "voter_replace_after and announce must be positive";
	if (why == NULL)
		return 0;
	if (err && errsize)
		snprintf(err, errsize, "%s", why);
	return -EINVAL;
}

uint64_t
elect__promise_len(const struct elect *e)
{
	return elect_scale(e->cfg.lease_ms, e->cfg.drift_ppm, true);
}

uint64_t
elect__lease_len(const struct elect *e)
{
	return elect_scale(e->cfg.lease_ms, e->cfg.drift_ppm, false);
}

uint64_t
elect__rand(struct elect *e, uint64_t lo, uint64_t hi)
{
	uint64_t r = (uint64_t)e->ops.random(e->arg) << 32 | e->ops.random(e->arg);

	return hi > lo ? lo + r % (hi - lo) : lo;
}

int
elect__refuse(struct elect *e, enum elect_refuse r)
{
	e->st.refused[r]++;
	log_trace(TRACE_ELECT, "elect: %s from %" PRIu64 " refused: %s",
		  elect_msg_type_name(e->in.type), e->in.from, elect_refuse_name(r));
	return -(1 + (int)r);
}

void
elect__emit(struct elect *e, enum elect_event_type type)
{
	struct elect_event ev;

	if (e->ops.event == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.role = e->role;
	ev.term = e->hs.term;
	ev.leader = e->leader;
	ev.leading = e->had_lease;
	ev.quorum_lost = e->quorum_lost;
	e->ops.event(e->arg, &ev);
}

int
elect__persist(struct elect *e, const struct elect_hard *h)
{
	size_t len;
	int rc = elect_state_encode(h, e->sbuf, sizeof(e->sbuf), &len);

	if (rc == 0)
		rc = e->ops.persist(e->arg, e->sbuf, len);
	if (rc != 0) {
		struct elect_event ev = { .type = ELECT_EV_PERSIST_FAILED, .err = rc };

		e->st.persist_failures++;
		log_trace(TRACE_ELECT, "elect: persist failed (%d): nothing that needs it is sent",
			  rc);
		ev.role = e->role;
		ev.term = e->hs.term;
		if (e->ops.event)
			e->ops.event(e->arg, &ev);
		return rc < 0 ? rc : -EIO;
	}
	if (h != &e->hs)
		e->hs = *h;
	e->durable = true;
	e->st.persists++;
	return 0;
}

struct elect_msg *
elect__msg(struct elect *e, uint8_t type, uint64_t to)
{
	struct elect_msg *m = &e->msg;

	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = e->self;
	m->from_sid = e->hs.sid;
	m->to = to;
	m->term = e->hs.term;
	return m;
}

void
elect__send(struct elect *e)
{
	size_t len;

	if (elect_msg_encode(&e->msg, e->sk, e->out, sizeof(e->out), &len) != 0) {
		log_warnx("elect: cannot encode a %s message (a core bug)",
			  elect_msg_type_name(e->msg.type));
		return;
	}
	e->st.msgs_out++;
	e->st.bytes_out += len;
	e->ops.send(e->arg, e->msg.to, e->out, len);
}

bool
elect__is_voter(const struct elect *e)
{
	return elect_voters_has(elect_log_voters(&e->hs.log), e->self, e->hs.sid);
}

enum elect_role
elect__rest_role(const struct elect *e)
{
	return elect__is_voter(e) && e->durable ? ELECT_FOLLOWER : ELECT_NONVOTER;
}

void
elect__reset_election(struct elect *e, uint64_t now)
{
	e->election_at = now + elect__rand(e, e->cfg.election_min_ms, e->cfg.election_max_ms);
}

void
elect__enter(struct elect *e, enum elect_role role, uint64_t now)
{
	enum elect_role old = e->role;

	if (old == role)
		return;
	log_trace(TRACE_ELECT, "elect: %s -> %s (term %" PRIu64 ")", elect_role_name(old),
		  elect_role_name(role), e->hs.term);
	if (old == ELECT_LEADER)
		elect__lead_stop(e, now);
	e->role = role;
	if (role == ELECT_FOLLOWER && old != ELECT_PRECANDIDATE && old != ELECT_CANDIDATE)
		elect__reset_election(e, now);
	elect__emit(e, ELECT_EV_ROLE);
}

void
elect__set_leader(struct elect *e, uint64_t id, uint64_t sid)
{
	if (e->leader == id && e->leader_sid == sid)
		return;
	e->leader = id;
	e->leader_sid = sid;
	elect__emit(e, ELECT_EV_LEADER);
}

int
elect__adopt_term(struct elect *e, uint64_t term, uint64_t now)
{
	struct elect_hard h;

	if (term <= e->hs.term)
		return 0;
	h = e->hs;
	h.term = term;
	h.vote_id = 0;
	h.vote_sid = 0;
	if (elect__persist(e, &h) < 0)
		return -EIO;
	elect__set_leader(e, 0, 0);
	elect__enter(e, elect__rest_role(e), now);
	return 0;
}

void
elect__voters_changed(struct elect *e, uint64_t now)
{
	enum elect_role rest = elect__rest_role(e);

	if (rest == ELECT_NONVOTER && e->role != ELECT_NONVOTER)
		elect__enter(e, ELECT_NONVOTER, now);
	else if (rest == ELECT_FOLLOWER && e->role == ELECT_NONVOTER)
		elect__enter(e, ELECT_FOLLOWER, now);
}

/* Compares the voter sets before and after a log change and reacts. */
static void
elect_log_changed(struct elect *e, const struct elect_voters *latest,
		  const struct elect_voters *committed, uint64_t now)
{
	if (!elect_voters_equal(committed, &e->hs.log.snap_voters))
		elect__emit(e, ELECT_EV_VOTERS);
	if (!elect_voters_equal(latest, elect_log_voters(&e->hs.log)))
		elect__voters_changed(e, now);
}

/* ---- campaigning ---------------------------------------------------- */

static uint32_t
elect_popcount(uint32_t x)
{
	uint32_t n = 0;

	for (; x; x &= x - 1)
		n++;
	return n;
}

/* Sends the (pre-)vote request to every voter that has not granted yet. */
static void
elect_ask(struct elect *e)
{
	const struct elect_voters *v = elect_log_voters(&e->hs.log);
	bool pre = e->role == ELECT_PRECANDIDATE;

	for (uint32_t i = 0; i < v->n; i++) {
		struct elect_msg *m;

		if (v->v[i].id == e->self || (e->granted & (1U << i)))
			continue;
		m = elect__msg(e, pre ? ELECT_MSG_PREVOTE : ELECT_MSG_VOTE, v->v[i].id);
		m->term = e->cand_term;
		m->last_index = elect_log_last_index(&e->hs.log);
		m->last_term = elect_log_last_term(&e->hs.log);
		if (e->transfer) {
			m->flags = ELECT_F_TRANSFER;
			m->proof = e->proof;
			m->proof_len = ELECT_PROOF_LEN;
		}
		elect__send(e);
	}
}

/* Starts a round: our own grant, then either a majority already (a single
 * voter) or the requests. */
static bool
elect_round_begin(struct elect *e, enum elect_role role, uint64_t term, uint64_t now)
{
	const struct elect_voters *v = elect_log_voters(&e->hs.log);
	int me = elect_voters_find(v, e->self);

	e->cand_term = term;
	e->granted = me >= 0 ? 1U << me : 0;
	elect__enter(e, role, now);
	elect__reset_election(e, now);
	e->resend_at = now + e->cfg.heartbeat_ms;
	if (elect_popcount(e->granted) >= elect_quorum(v->n))
		return true;
	elect_ask(e);
	return false;
}

/* Is our term at its bound (ELECT_TERM_MAX)? Only a forged or corrupt term
 * gets there; we then never name a term past it, and wait to be led. */
static bool
elect_term_spent(struct elect *e, uint64_t now)
{
	if (e->hs.term < ELECT_TERM_MAX)
		return false;
	log_trace(TRACE_ELECT, "elect: term %" PRIu64 " is at its bound: no election", e->hs.term);
	elect__enter(e, elect__rest_role(e), now);
	elect__reset_election(e, now);
	return true;
}

/* Raises the term and votes for ourselves (durably), then asks the others. */
static void
elect_campaign(struct elect *e, bool transfer, uint64_t now)
{
	struct elect_hard h = e->hs;

	if (elect_term_spent(e, now))
		return;
	h.term++;
	h.vote_id = e->self;
	h.vote_sid = h.sid;
	if (elect__persist(e, &h) < 0) {
		elect__enter(e, elect__rest_role(e), now);
		elect__reset_election(e, now);
		return;
	}
	e->st.campaigns++;
	e->transfer = transfer;
	elect__set_leader(e, 0, 0);
	if (elect_round_begin(e, ELECT_CANDIDATE, e->hs.term, now))
		elect__lead_start(e, now);
}

/* The election timer fired: a pre-vote round, unless our promise or the
 * start-up wait still holds (then a little after it ends). */
static void
elect_on_election_timeout(struct elect *e, uint64_t now)
{
	uint64_t jitter = e->cfg.election_max_ms - e->cfg.election_min_ms;

	if (elect__rest_role(e) != ELECT_FOLLOWER) {
		elect__enter(e, ELECT_NONVOTER, now);
		return;
	}
	if (now < e->promise_until) {
		e->election_at = e->promise_until + elect__rand(e, 0, jitter);
		return;
	}
	if (elect_term_spent(e, now))
		return;
	e->st.elections++;
	e->transfer = false;
	if (elect_round_begin(e, ELECT_PRECANDIDATE, e->hs.term + 1, now))
		elect_campaign(e, false, now);
}

/* ---- answering votes ------------------------------------------------ */

/* Does the transfer proof in m release us from our promise? It must be a
 * TIMEOUT_NOW signed by the leader we promised, in the term we promised it,
 * naming the candidate, for the term right after. */
static bool
elect_proof_ok(struct elect *e, const struct elect_msg *m)
{
	struct elect_msg p;
	uint8_t pk[ELECT_PK_LEN];

	if (elect_msg_decode(m->proof, m->proof_len, &p) != ELECT_MSG_OK)
		return false;
	if (p.type != ELECT_MSG_TIMEOUT_NOW || p.to != m->from || p.from != e->promise_id ||
	    p.from_sid != e->promise_sid || p.term != e->promise_term || m->term != p.term + 1)
		return false;
	if (e->promise_id == e->self)
		return crypto_sign_ed25519_sk_to_pk(pk, e->sk) == 0 && elect_msg_verify(&p, pk);
	return e->ops.pubkey(e->arg, p.from, pk) == 0 && elect_msg_verify(&p, pk);
}

/* ELECT_DENY_NONE when no promise keeps us from granting m's sender. */
static enum elect_deny
elect_promised(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	if (now >= e->promise_until)
		return ELECT_DENY_NONE;
	if (m->from == e->promise_id && m->from_sid == e->promise_sid)
		return ELECT_DENY_NONE;
	if (!(m->flags & ELECT_F_TRANSFER) || m->type != ELECT_MSG_VOTE)
		return ELECT_DENY_LEASE;
	if (elect_proof_ok(e, m))
		return ELECT_DENY_NONE;
	elect__refuse(e, ELECT_REFUSE_BAD_PROOF);
	return ELECT_DENY_BAD_PROOF;
}

/* A real vote: adopt the term, check log and earlier vote, write it down. */
static enum elect_deny
elect_vote(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	struct elect_hard h;

	if (elect__adopt_term(e, m->term, now) < 0)
		return ELECT_DENY_PERSIST;
	if (!elect_log_up_to_date(&e->hs.log, m->last_index, m->last_term))
		return ELECT_DENY_LOG;
#ifndef ELECT_BREAK_VOTE
	if (e->hs.vote_id != 0 && (e->hs.vote_id != m->from || e->hs.vote_sid != m->from_sid))
		return ELECT_DENY_VOTED;
#endif
	if (e->hs.vote_id != m->from || e->hs.vote_sid != m->from_sid) {
		h = e->hs;
		h.vote_id = m->from;
		h.vote_sid = m->from_sid;
		if (elect__persist(e, &h) < 0)
			return ELECT_DENY_PERSIST;
	}
	elect__reset_election(e, now);
	return ELECT_DENY_NONE;
}

static int
elect_on_vote_req(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	bool pre = m->type == ELECT_MSG_PREVOTE;
	enum elect_deny why;
	struct elect_msg *r;
	int rc = 0;

	/* Raft answers votes without consulting its own voter set: a voter
	 * just added may not hold the entry that adds it yet, and the set that
	 * counts is the candidate's, which counts only the grants of the voters
	 * it names (node id AND state id). */
	if (pre ? m->term <= e->hs.term : m->term < e->hs.term) {
		why = ELECT_DENY_TERM;
		rc = elect__refuse(e, ELECT_REFUSE_STALE_TERM);
	} else if ((why = elect_promised(e, m, now)) != ELECT_DENY_NONE) {
		rc = why == ELECT_DENY_BAD_PROOF ? -(1 + ELECT_REFUSE_BAD_PROOF) : 0;
	} else if (pre) {
		why = elect_log_up_to_date(&e->hs.log, m->last_index, m->last_term)
			      ? ELECT_DENY_NONE
			      : ELECT_DENY_LOG;
	} else {
		why = elect_vote(e, m, now);
	}
	r = elect__msg(e, ELECT_MSG_VOTE_RESP, m->from);
	r->req_term = m->term;
	r->flags = (pre ? ELECT_F_PRE : 0) | (why == ELECT_DENY_NONE ? ELECT_F_GRANT : 0);
	r->reason = (uint8_t)why;
	if (why == ELECT_DENY_NONE)
		e->st.votes_granted++;
	else
		e->st.votes_denied++;
	elect__send(e);
	return rc;
}

static int
elect_on_vote_resp(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	bool pre = m->flags & ELECT_F_PRE;
	const struct elect_voters *v = elect_log_voters(&e->hs.log);
	int i;

	if (!(m->flags & ELECT_F_GRANT)) {
		/* A denial from a higher term tells us we are behind. */
		if (m->term > e->hs.term && elect__adopt_term(e, m->term, now) < 0)
			return elect__refuse(e, ELECT_REFUSE_PERSIST);
		return 0;
	}
	/* A grant for a term we have passed (a replay, or an answer that came
	 * late) is named for what it is before asking whether we still ask. */
	if (m->req_term < e->hs.term + (pre ? 1 : 0))
		return elect__refuse(e, ELECT_REFUSE_STALE_TERM);
	if (e->role != (pre ? ELECT_PRECANDIDATE : ELECT_CANDIDATE) || m->req_term != e->cand_term)
		return elect__refuse(e, ELECT_REFUSE_UNEXPECTED);
	i = elect_voters_find(v, m->from);
	if (i < 0 || v->v[i].sid != m->from_sid)
		return elect__refuse(e, ELECT_REFUSE_NOT_VOTER);
	e->granted |= 1U << i;
	if (elect_popcount(e->granted) < elect_quorum(v->n))
		return 0;
	if (pre)
		elect_campaign(e, e->transfer, now);
	else
		elect__lead_start(e, now);
	return 0;
}

/* ---- following a leader --------------------------------------------- */

/* Applies an APPEND to a copy of our log; persists when it changed.
 * Returns 0 (and *ok, *match), or -EIO when the write failed. */
static int
elect_follow_append(struct elect *e, const struct elect_msg *m, bool *ok, uint64_t *match)
{
	struct elect_hard h = e->hs;
	enum elect_merge r;
	uint64_t t;
	bool changed;

	/* What the leader says is committed, and we hold as it does, is ours
	 * to fold first: it makes room in the tail. */
	if (m->prev_index >= h.log.snap_index && elect_log_term_at(&h.log, m->prev_index, &t) &&
	    t == m->prev_term)
		elect_log_commit(&h.log, m->commit < m->prev_index ? m->commit : m->prev_index);
	r = elect_log_merge(&h.log, m->prev_index, m->prev_term, m->entries, m->nentries, match,
			    &changed);
	*ok = r == ELECT_MERGE_OK;
	if (r == ELECT_MERGE_NO_ROOM)
		*match = h.log.snap_index; /* the leader will send a snapshot */
	if (*ok && changed) {
		if (elect__persist(e, &h) < 0)
			return -EIO;
	} else if (r != ELECT_MERGE_NO_ROOM) {
		e->hs.log = h.log; /* folding alone: the same log, no write needed */
	}
	if (*ok)
		elect_log_commit(&e->hs.log, m->commit < *match ? m->commit : *match);
	return 0;
}

static int
elect_follow_snapshot(struct elect *e, const struct elect_msg *m, uint64_t *match)
{
	struct elect_hard h;

	*match = m->snap_index;
	if (m->snap_index <= e->hs.log.snap_index)
		return 0;
	h = e->hs;
	elect_log_install(&h.log, m->snap_index, m->snap_term, &m->voters);
	return elect__persist(e, &h) < 0 ? -EIO : 0;
}

static void
elect_answer_append(struct elect *e, const struct elect_msg *m, bool ok, uint64_t match)
{
	struct elect_msg *r = elect__msg(e, ELECT_MSG_APPEND_RESP, m->from);

	r->round = m->round;
	r->match = match;
	r->flags = ok ? ELECT_F_SUCCESS : 0;
	elect__send(e);
}

/* APPEND and SNAPSHOT: the leader of our term (or of a newer one) speaks. */
static int
elect_on_append(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	struct elect_voters latest = *elect_log_voters(&e->hs.log);
	struct elect_voters committed = e->hs.log.snap_voters;
	uint64_t match = 0;
	bool ok = true;
	int rc;

	if (m->term < e->hs.term) {
		elect_answer_append(e, m, false, elect_log_last_index(&e->hs.log));
		return elect__refuse(e, ELECT_REFUSE_STALE_TERM);
	}
	if (elect__adopt_term(e, m->term, now) < 0)
		return elect__refuse(e, ELECT_REFUSE_PERSIST);
	if (e->role == ELECT_LEADER)
		return elect__refuse(e, ELECT_REFUSE_UNEXPECTED); /* two leaders in a term: never */
	if (e->role == ELECT_PRECANDIDATE || e->role == ELECT_CANDIDATE)
		elect__enter(e, elect__rest_role(e), now);
	elect__set_leader(e, m->from, m->from_sid);
	e->heard_leader = now;
	elect__reset_election(e, now);
	if (m->type == ELECT_MSG_APPEND)
		rc = elect_follow_append(e, m, &ok, &match);
	else
		rc = elect_follow_snapshot(e, m, &match);
	if (rc < 0)
		return elect__refuse(e, ELECT_REFUSE_PERSIST);
	elect_log_changed(e, &latest, &committed, now);
#ifndef ELECT_BREAK_LEASE
	/* The ack below is a promise: no vote for anyone else for L x (1 + rho). */
	e->promise_until = now + elect__promise_len(e);
	e->promise_id = m->from;
	e->promise_sid = m->from_sid;
	e->promise_term = m->term;
#endif
	elect_answer_append(e, m, ok, match);
	return 0;
}

static int
elect_on_timeout_now(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	if (m->term < e->hs.term)
		return elect__refuse(e, ELECT_REFUSE_STALE_TERM);
	if (m->term != e->hs.term || m->from != e->leader || m->from_sid != e->leader_sid ||
	    elect__rest_role(e) != ELECT_FOLLOWER)
		return elect__refuse(e, ELECT_REFUSE_UNEXPECTED);
	memcpy(e->proof, m->raw, ELECT_MSG_HEADER);
	memcpy(e->proof + ELECT_MSG_HEADER, m->sig, ELECT_SIG_LEN);
	log_trace(TRACE_ELECT, "elect: leader %" PRIu64 " hands over to us in term %" PRIu64,
		  m->from, m->term + 1);
	elect_campaign(e, true, now);
	return 0;
}

/* A leader's announcement, gossiped: what non-voters know of the leader. */
static int
elect_on_announce(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	if (m->term < e->ann_term || m->term < e->hs.term)
		return elect__refuse(e, ELECT_REFUSE_STALE_TERM);
	if (m->term == e->ann_term && m->from != e->ann_leader)
		return elect__refuse(e, ELECT_REFUSE_UNEXPECTED); /* two leaders for one term */
	if (!elect_voters_has(&m->voters, m->from, m->from_sid))
		return elect__refuse(e, ELECT_REFUSE_NOT_VOTER);
	e->ann_term = m->term;
	e->ann_leader = m->from;
	e->ann_voters = m->voters;
	e->ann_lease_until = now + (m->lease_left_ms < e->cfg.lease_ms ? m->lease_left_ms : 0);
	if (!(e->hs.flags & ELECT_HARD_CLUSTER)) {
		struct elect_hard h = e->hs;

		/* A node that heard of a leader never bootstraps; if the write
		 * fails the flag holds in memory until the next one. */
		h.flags |= ELECT_HARD_CLUSTER;
		if (elect__persist(e, &h) < 0)
			e->hs.flags |= ELECT_HARD_CLUSTER;
	}
	return 0;
}

static int
elect_dispatch(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	switch (m->type) {
	case ELECT_MSG_PREVOTE:
	case ELECT_MSG_VOTE:
		return elect_on_vote_req(e, m, now);
	case ELECT_MSG_VOTE_RESP:
		return elect_on_vote_resp(e, m, now);
	case ELECT_MSG_APPEND:
	case ELECT_MSG_SNAPSHOT:
		return elect_on_append(e, m, now);
	case ELECT_MSG_APPEND_RESP:
		elect__on_append_resp(e, m, now);
		return 0;
	case ELECT_MSG_TIMEOUT_NOW:
		return elect_on_timeout_now(e, m, now);
	case ELECT_MSG_ANNOUNCE:
		return elect_on_announce(e, m, now);
	default:
		elect__on_boot(e, m, now);
		return 0;
	}
}

int
elect_receive(struct elect *e, const uint8_t *buf, size_t len, uint64_t now)
{
	struct elect_msg *m = &e->in;
	uint8_t pk[ELECT_PK_LEN];

	e->st.msgs_in++;
	if (elect_msg_decode(buf, len, m) != ELECT_MSG_OK)
		return elect__refuse(e, ELECT_REFUSE_MALFORMED);
	if (m->to != e->self && m->to != 0)
		return elect__refuse(e, ELECT_REFUSE_WRONG_RECEIVER);
	if (m->from == e->self)
		return elect__refuse(e, ELECT_REFUSE_FROM_SELF);
	if (e->ops.pubkey(e->arg, m->from, pk) != 0)
		return elect__refuse(e, ELECT_REFUSE_UNKNOWN_KEY);
	if (!elect_msg_verify(m, pk))
		return elect__refuse(e, ELECT_REFUSE_BAD_SIGNATURE);
	/* Until our state is on disk we answer nothing that would need it. */
	if (!e->durable && m->type != ELECT_MSG_ANNOUNCE)
		return elect__refuse(e, ELECT_REFUSE_PERSIST);
	return elect_dispatch(e, m, now);
}

/* ---- life cycle, ticks, queries ------------------------------------- */

struct elect *
elect_new(const struct elect_config *cfg, const struct elect_ops *ops, void *arg, uint64_t self,
	  const uint8_t sk[ELECT_SK_LEN], const struct elect_hard *state, unsigned flags,
	  uint64_t now)
{
	struct elect *e;
	uint64_t sid = 0;

	if (self == 0 || elect_config_check(cfg, NULL, 0) < 0 || ops->send == NULL ||
	    ops->persist == NULL || ops->pubkey == NULL || ops->random == NULL)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->cfg = *cfg;
	e->ops = *ops;
	e->arg = arg;
	e->self = self;
	memcpy(e->sk, sk, ELECT_SK_LEN);
	e->started = now;
	if (state != NULL) {
		e->hs = *state;
		e->durable = true;
	} else {
		while (sid == 0)
			sid = elect__rand(e, 0, UINT64_MAX);
		elect_state_init(&e->hs, sid);
		if (flags & ELECT_NEW_STATE_LOST)
			e->hs.flags |= ELECT_HARD_LOST;
	}
#ifndef ELECT_BREAK_LEASE
	/* We cannot know what our previous life promised: promise nobody. */
	e->promise_until = now + elect__promise_len(e);
#endif
	e->role = elect__rest_role(e);
	elect__reset_election(e, now);
	e->next_quorum_check = now;
	return e;
}

void
elect_free(struct elect *e)
{
	if (e == NULL)
		return;
	free(e->members);
	sodium_memzero(e->sk, sizeof(e->sk));
	free(e);
}

static uint64_t
elect_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Follower and candidates: the election timer and the requests' resends. */
static uint64_t
elect_follower_tick(struct elect *e, uint64_t now)
{
	bool asking = e->role == ELECT_PRECANDIDATE || e->role == ELECT_CANDIDATE;

	if (now >= e->election_at) {
		elect_on_election_timeout(e, now);
		if (e->role == ELECT_LEADER)
			return now + 1;
		asking = e->role == ELECT_PRECANDIDATE || e->role == ELECT_CANDIDATE;
	} else if (asking && now >= e->resend_at) {
		/* Requests are datagrams: ask again those that did not answer. */
		elect_ask(e);
		e->resend_at = now + e->cfg.heartbeat_ms;
	}
	return asking ? elect_min(e->election_at, e->resend_at) : e->election_at;
}

/* After a transfer the old leader repeats its TIMEOUT_NOW for a while, in
 * case one is lost: harmless, the target campaigns at most once per term. */
uint64_t
elect__tn_tick(struct elect *e, uint64_t now)
{
	if (e->tn_to == 0)
		return ELECT_NEVER;
	if (now >= e->tn_until || e->hs.term != e->tn_term) {
		e->tn_to = 0;
		return ELECT_NEVER;
	}
	if (now >= e->tn_next) {
		(void)elect__msg(e, ELECT_MSG_TIMEOUT_NOW, e->tn_to);
		elect__send(e);
		e->tn_next = now + e->cfg.heartbeat_ms;
	}
	return elect_min(e->tn_next, e->tn_until);
}

uint64_t
elect_tick(struct elect *e, uint64_t now)
{
	uint64_t next = now + e->cfg.heartbeat_ms;

	if (!e->durable && elect__persist(e, &e->hs) == 0)
		elect__voters_changed(e, now);
	if (e->role == ELECT_LEADER)
		next = elect_min(next, elect__lead_tick(e, now));
	else if (e->role != ELECT_NONVOTER)
		next = elect_min(next, elect_follower_tick(e, now));
	else
		next = elect_min(next, elect__boot_tick(e, now));
	next = elect_min(next, elect__tn_tick(e, now));
	if (now >= e->next_quorum_check) {
		elect__quorum_check(e, now);
		e->next_quorum_check = now + e->cfg.heartbeat_ms;
	}
	next = elect_min(next, e->next_quorum_check);
	return next > now ? next : now + 1;
}
