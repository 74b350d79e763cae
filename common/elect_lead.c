/*
 * elect_lead: the leader's side (docs/election.md, "Leader"): heartbeat
 * rounds that replicate the small log and renew the lease, the acks that
 * commit entries and date the lease, and CheckQuorum (a leader whose lease
 * ran out steps down).
 *
 * The lease: every round is numbered and its send time kept. A follower's
 * ack names the round it answers, and dates a promise it made after that
 * send time. The lease starts at the send time of the newest round that a
 * majority (ourselves included, at our own newest round) has acked, and we
 * believe it for L x (1 - rho) of our clock from there.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "elect_priv.h"
#include "log.h"

struct elect_peer *
elect__peer(struct elect *e, uint64_t id)
{
	for (uint32_t i = 0; i < e->npeers; i++)
		if (e->peers[i].id == id)
			return &e->peers[i];
	return NULL;
}

/* Rebuilds the peer table from the newest voter set, keeping the progress
 * of the voters that stay, and the node being caught up if it is not a
 * voter yet. */
static void
elect_lead_sync_peers(struct elect *e)
{
	const struct elect_voters *v = elect_log_voters(&e->hs.log);
	struct elect_peer old[ELECT_PEERS_MAX], *p;
	uint32_t nold = e->npeers;

	memcpy(old, e->peers, sizeof(old));
	e->npeers = 0;
	for (uint32_t i = 0; i < v->n; i++) {
		if (v->v[i].id == e->self)
			continue;
		p = &e->peers[e->npeers++];
		memset(p, 0, sizeof(*p));
		p->id = v->v[i].id;
		p->sid = v->v[i].sid;
		p->next = elect_log_last_index(&e->hs.log) + 1;
		for (uint32_t j = 0; j < nold; j++) {
			if (old[j].id == p->id && (old[j].sid == p->sid || old[j].catchup)) {
				*p = old[j];
				p->sid = v->v[i].sid;
				p->catchup = false;
			}
		}
	}
	for (uint32_t j = 0; j < nold; j++)
		if (old[j].catchup && elect_voters_find(v, old[j].id) < 0 &&
		    e->npeers < ELECT_PEERS_MAX)
			e->peers[e->npeers++] = old[j];
}

/* One APPEND (or SNAPSHOT, when it needs what we have folded) to p, in the
 * current round. */
static void
elect_lead_send(struct elect *e, struct elect_peer *p)
{
	const struct elect_log *l = &e->hs.log;
	uint64_t prev = p->next - 1, last = elect_log_last_index(l);
	struct elect_msg *m;

	if (prev < l->snap_index) {
		m = elect__msg(e, ELECT_MSG_SNAPSHOT, p->id);
		m->round = e->round;
		m->snap_index = l->snap_index;
		m->snap_term = l->snap_term;
		m->voters = l->snap_voters;
		e->st.snapshots_sent++;
		elect__send(e);
		return;
	}
	m = elect__msg(e, ELECT_MSG_APPEND, p->id);
	m->round = e->round;
	m->prev_index = prev;
	(void)elect_log_term_at(l, prev, &m->prev_term);
	m->commit = l->snap_index;
	for (uint64_t i = p->next; i <= last && m->nentries < ELECT_TAIL_MAX; i++)
		m->entries[m->nentries++] = *elect_log_entry(l, i);
	elect__send(e);
}

static void elect_lead_advance(struct elect *e, uint64_t now);

/* A new round to every peer; our own promise is renewed with it. */
static void
elect_lead_round(struct elect *e, uint64_t now)
{
	e->round++;
	e->round_at[e->round % ELECT_ROUNDS] = now;
	e->next_round = now + e->cfg.heartbeat_ms;
	e->promise_until = now + elect__promise_len(e);
	e->promise_id = e->self;
	e->promise_sid = e->hs.sid;
	e->promise_term = e->hs.term;
	for (uint32_t i = 0; i < e->npeers; i++)
		elect_lead_send(e, &e->peers[i]);
}

int
elect__lead_append(struct elect *e, const struct elect_entry *ent, uint64_t now)
{
	struct elect_hard h = e->hs;
	int rc;

	if ((rc = elect_log_append(&h.log, ent)) < 0)
		return rc;
	if ((rc = elect__persist(e, &h)) < 0)
		return rc;
	if (ent->type == ELECT_ENTRY_CONFIG)
		elect_lead_sync_peers(e);
	elect_lead_round(e, now);
	elect_lead_advance(e, now); /* a sole voter commits alone */
	return 0;
}

void
elect__lead_start(struct elect *e, uint64_t now)
{
	struct elect_entry noop = { .term = e->hs.term, .type = ELECT_ENTRY_NOOP };

	e->st.won++;
	e->won_at = now;
	e->resigned = false;
	e->had_lease = false;
	e->round = 0;
	memset(e->round_at, 0, sizeof(e->round_at));
	e->npeers = 0;
	e->next_auto = now + e->cfg.heartbeat_ms;
	e->next_announce = 0;
	elect__enter(e, ELECT_LEADER, now);
	elect__set_leader(e, e->self, e->hs.sid);
	elect_lead_sync_peers(e);
	log_trace(TRACE_ELECT, "elect: leader of term %" PRIu64, e->hs.term);
	/* Raft's fix for single-server changes: an entry of our own term
	 * first; no change of the voter set before it is committed. */
	if (elect__lead_append(e, &noop, now) < 0) {
		elect__enter(e, elect__rest_role(e), now);
		return;
	}
	e->noop_index = elect_log_last_index(&e->hs.log);
}

void
elect__lead_stop(struct elect *e, uint64_t now)
{
	e->resigned = true;
	e->npeers = 0;
	if (e->had_lease) {
		e->had_lease = false;
		elect__emit(e, ELECT_EV_LEASE);
	}
	if (e->leader == e->self)
		elect__set_leader(e, 0, 0);
}

void
elect__lead_catchup(struct elect *e, uint64_t id, uint64_t now)
{
	struct elect_peer *p = NULL;

	for (uint32_t i = 0; i < e->npeers; i++)
		if (e->peers[i].catchup)
			p = &e->peers[i];
	if (p == NULL) {
		if (e->npeers == ELECT_PEERS_MAX)
			return;
		p = &e->peers[e->npeers++];
	}
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->catchup = true;
	p->next = elect_log_last_index(&e->hs.log) + 1;
	e->catchup_since = now;
	elect_lead_send(e, p);
}

/* The k-th newest promise among the voters of v, k a majority: the send
 * time of the round the lease can count on (0: none yet). */
static uint64_t
elect_lease_of(const struct elect *e, const struct elect_voters *v)
{
	uint64_t t[ELECT_VOTERS_MAX], x;
	uint32_t q = elect_quorum(v->n);

	for (uint32_t i = 0; i < v->n; i++) {
		t[i] = 0;
		if (v->v[i].id == e->self) {
			t[i] = e->round ? e->round_at[e->round % ELECT_ROUNDS] : 0;
			continue;
		}
		for (uint32_t j = 0; j < e->npeers; j++)
			if (e->peers[j].id == v->v[i].id && e->peers[j].sid == v->v[i].sid)
				t[i] = e->peers[j].acked_sent;
	}
	/* Insertion sort, newest first: at most 7. */
	for (uint32_t i = 1; i < v->n; i++)
		for (uint32_t j = i; j > 0 && t[j] > t[j - 1]; j--) {
			x = t[j];
			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	return t[q - 1];
}

uint64_t
elect__lease_start(const struct elect *e)
{
	const struct elect_voters *latest = elect_log_voters(&e->hs.log);
	uint64_t a = elect_lease_of(e, latest), b;

	/* While a change is in flight both sets must have promised. */
	if (latest != &e->hs.log.snap_voters) {
		b = elect_lease_of(e, &e->hs.log.snap_voters);
		a = b < a ? b : a;
	}
	return a;
}

/* Commits the newest entry of our term that a majority of the newest voter
 * set holds (Raft §5.4.2: older terms only through it). */
static void
elect_lead_advance(struct elect *e, uint64_t now)
{
	const struct elect_log *l = &e->hs.log;
	const struct elect_voters *v = elect_log_voters(l);
	struct elect_voters committed = l->snap_voters;

	for (uint64_t idx = elect_log_last_index(l); idx > l->snap_index; idx--) {
		uint32_t n = 0;

		if (elect_log_entry(l, idx)->term != e->hs.term)
			break;
		for (uint32_t i = 0; i < v->n; i++) {
			struct elect_peer *p = elect__peer(e, v->v[i].id);

			if (v->v[i].id == e->self ||
			    (p && p->sid == v->v[i].sid && p->match >= idx))
				n++;
		}
		if (n < elect_quorum(v->n))
			continue;
		if (elect_log_commit(&e->hs.log, idx) ||
		    !elect_voters_equal(&committed, &l->snap_voters))
			elect__emit(e, ELECT_EV_VOTERS);
		elect_lead_sync_peers(e);
		return;
	}
}

void
elect__on_append_resp(struct elect *e, const struct elect_msg *m, uint64_t now)
{
	uint64_t last = elect_log_last_index(&e->hs.log), next;
	struct elect_peer *p;

	if (m->term > e->hs.term) {
		if (elect__adopt_term(e, m->term, now) < 0)
			elect__refuse(e, ELECT_REFUSE_PERSIST);
		return;
	}
	if (m->term < e->hs.term) {
		elect__refuse(e, ELECT_REFUSE_STALE_TERM);
		return;
	}
	if (e->role != ELECT_LEADER || (p = elect__peer(e, m->from)) == NULL) {
		elect__refuse(e, ELECT_REFUSE_UNEXPECTED);
		return;
	}
	p->seen_sid = m->from_sid;
	p->last_heard = now;
	if (p->catchup && p->sid == 0)
		p->sid = m->from_sid;
	if (p->sid != m->from_sid) {
		/* The voter came back without its state: its acks count for nothing. */
		elect__refuse(e, ELECT_REFUSE_NOT_VOTER);
		return;
	}
	if (m->round <= e->round && e->round - m->round < ELECT_ROUNDS &&
	    e->round_at[m->round % ELECT_ROUNDS] > p->acked_sent)
		p->acked_sent = e->round_at[m->round % ELECT_ROUNDS];
	if (m->flags & ELECT_F_SUCCESS) {
		if (m->match > p->match)
			p->match = m->match < last ? m->match : last;
		p->next = p->match + 1;
		elect_lead_advance(e, now);
		elect__lease_edge(e, now);
		return;
	}
	next = (m->match < last ? m->match : last) + 1;
	if (next < p->next) {
		/* Retry at once from where the follower says it can take it. */
		p->next = next;
		elect_lead_send(e, p);
	}
}

void
elect__lease_edge(struct elect *e, uint64_t now)
{
	bool leading = elect_leading(e, now, NULL, NULL);

	if (leading == e->had_lease)
		return;
	e->had_lease = leading;
	elect__emit(e, ELECT_EV_LEASE);
}

uint64_t
elect__lead_tick(struct elect *e, uint64_t now)
{
	uint64_t start, base, next, left;
	bool leading;

	if (now >= e->next_round)
		elect_lead_round(e, now);
	start = elect__lease_start(e);
	base = start > e->won_at ? start : e->won_at;
	if (now >= base + elect__lease_len(e)) {
		/* CheckQuorum: no majority acked within a lease. */
		log_trace(TRACE_ELECT, "elect: lease lost in term %" PRIu64 ": stepping down",
			  e->hs.term);
		elect__enter(e, ELECT_FOLLOWER, now);
		return now + 1;
	}
	next = e->next_round < base + elect__lease_len(e) ? e->next_round
							  : base + elect__lease_len(e);
	elect__lease_edge(e, now);
	if (!(leading = elect_leading(e, now, NULL, &left)))
		return next;
	if (now >= e->next_announce) {
		e->next_announce = now + e->cfg.announce_ms;
		elect__emit(e, ELECT_EV_ANNOUNCE);
	}
	if (now >= e->next_auto)
		e->next_auto = elect__auto_tick(e, now);
	if (e->role != ELECT_LEADER)
		return now + 1;
	next = next < e->next_auto ? next : e->next_auto;
	next = next < e->next_announce ? next : e->next_announce;
	return next < now + left ? next : now + left;
}

bool
elect_leading(const struct elect *e, uint64_t now, uint64_t *term, uint64_t *lease_left_ms)
{
	uint64_t start, end;

	if (e->role != ELECT_LEADER || e->resigned || e->hs.log.snap_index < e->noop_index)
		return false;
	start = elect__lease_start(e);
	end = start + elect__lease_len(e);
	if (start == 0 || now >= end)
		return false;
	if (term)
		*term = e->hs.term;
	if (lease_left_ms)
		*lease_left_ms = end - now;
	return true;
}
