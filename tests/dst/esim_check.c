/*
 * esim_check: the election's invariants, checked at every step of the
 * simulation (docs/dst.md, "Election: invariants"). A break is recorded
 * with the real time it happened; the scenario decides what to print.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esim.h"

static double
esim_t(const struct esim *sim)
{
	return (double)(sim->now_us - UINT64_C(1000000000)) / 1e6;
}

void
esim_break(struct esim *sim, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (sim->nbreaks_total++ == 0)
		sim->first_break_us = sim->now_us;
	if (sim->nbreaks == ESIM_BREAKS)
		return;
	k = snprintf(sim->breaks[sim->nbreaks], sizeof(sim->breaks[0]), "t=%.3f ", esim_t(sim));
	va_start(ap, fmt);
	vsnprintf(sim->breaks[sim->nbreaks] + k, sizeof(sim->breaks[0]) - (size_t)k, fmt, ap);
	va_end(ap);
	if (sim->p.trace)
		fprintf(stderr, "BREAK %s\n", sim->breaks[sim->nbreaks]);
	sim->nbreaks++;
}

/* Property 1 at this instant, and property 2's lease half. Belief only
 * fades between a node's own events, so checking after every event covers
 * every real instant. */
void
esim_check_step(struct esim *sim)
{
	uint64_t lease_us = sim->p.cfg.lease_ms * 1000, term;
	int a = -1;
	uint32_t count = 0;

	/* A node's newest voter set may have changed with its log. */
	for (uint32_t i = 0; i < sim->p.nodes; i++) {
		struct esim_node *n = &sim->nodes[i];
		uint64_t last =
			esim_running(n) ? elect_log_last_index(&elect_hard(n->core)->log) : 0;

		if (last != n->seen_last) {
			n->seen_last = last;
			sim->topology_dirty = true;
		}
	}
	if (sim->topology_dirty)
		esim_check_topology(sim);

	for (uint32_t i = 0; i < sim->p.nodes; i++) {
		struct esim_node *n = &sim->nodes[i];

		if (!esim_running(n) || elect_role(n->core) != ELECT_LEADER ||
		    !elect_leading(n->core, esim_local_ms(n), &term, NULL))
			continue;
		count++;
		if (a >= 0 && count == 2)
			esim_break(sim,
				   "two leases at once: node %d (term %" PRIu64
				   ") and node %u (term %" PRIu64 ")",
				   a, elect_term(sim->nodes[a].core), i, term);
		a = (int)i;
		if (n->cut_since_us && sim->now_us >= n->cut_since_us + lease_us)
			esim_break(sim,
				   "node %u, cut off from a majority since t=%.3f, still "
				   "believes its lease",
				   i, (double)(n->cut_since_us - UINT64_C(1000000000)) / 1e6);
	}
	if (count > sim->c.max_concurrent_leases)
		sim->c.max_concurrent_leases = count;
}

/* Can node i exchange messages with a majority of voter set v? */
static bool
esim_reaches(const struct esim *sim, uint32_t i, const struct elect_voters *v)
{
	uint32_t reach = 0, N = sim->p.nodes;

	for (uint32_t k = 0; k < v->n; k++) {
		uint64_t id = v->v[k].id;
		uint32_t j;

		if (id < ESIM_ID_BASE || id - ESIM_ID_BASE >= N)
			continue;
		j = (uint32_t)(id - ESIM_ID_BASE);
		if (j == i ||
		    (esim_running(&sim->nodes[j]) && !sim->cut[i * N + j] && !sim->cut[j * N + i]))
			reach++;
	}
	return reach >= elect_quorum(v->n);
}

/* A digest of the set of nodes i exchanges messages with (itself when up).
 * A paused peer counts: its socket holds what it is sent and it answers on
 * resume, so its promises are real, only late; property 2 is about links. */
static uint64_t
esim_reach_hash(const struct esim *sim, uint32_t i)
{
	uint64_t h = 0xcbf29ce484222325ULL, N = sim->p.nodes;

	if (sim->nodes[i].status != ESIM_UP)
		return 0;
	for (uint32_t j = 0; j < N; j++)
		if (j == i ||
		    (esim_running(&sim->nodes[j]) && !sim->cut[i * N + j] && !sim->cut[j * N + i]))
			h = (h ^ (j + 1)) * 0x100000001b3ULL;
	return h;
}

/* The voter set is the newest committed one; while a change is in flight a
 * node that holds it may count on the new set instead (Raft uses the newest
 * set in its log), so it is cut off only when it lacks a majority of both. */
static bool
esim_connected(const struct esim *sim, uint32_t i)
{
	const struct esim_node *n = &sim->nodes[i];
	const struct elect_log *l;

	if (sim->ref.n == 0)
		return true;
	if (n->status != ESIM_UP)
		return false;
	if (esim_reaches(sim, i, &sim->ref))
		return true;
	l = &elect_hard(n->core)->log;
	return elect_log_last_index(l) > sim->ref_index &&
	       esim_reaches(sim, i, elect_log_voters(l));
}

void
esim_check_topology(struct esim *sim)
{
	sim->topology_dirty = false;
	for (uint32_t i = 0; i < sim->p.nodes; i++) {
		const struct elect_hard *h;

		if (!esim_running(&sim->nodes[i]))
			continue;
		h = elect_hard(sim->nodes[i].core);
		if (h->log.snap_voters.n > 0 && h->log.snap_index >= sim->ref_index) {
			sim->ref_index = h->log.snap_index;
			sim->ref = h->log.snap_voters;
		}
	}
	/* "Cut off since t" means: the nodes it can reach have been the same
	 * minority since t. When that set changes the clock restarts, since
	 * votes and acks gathered from two different minorities can add up to
	 * a majority, legitimately (each is a durable or timed promise). */
	for (uint32_t i = 0; i < sim->p.nodes; i++) {
		struct esim_node *n = &sim->nodes[i];
		uint64_t h = esim_reach_hash(sim, i);

		if (!esim_running(n) || esim_connected(sim, i))
			n->cut_since_us = 0;
		else if (n->cut_since_us == 0 || h != n->reach_hash)
			n->cut_since_us = sim->now_us;
		n->reach_hash = h;
	}
}

/* Records that (n, sid) voted for `cand` in `term`; a different candidate
 * in the same term is a break. */
static void
esim_check_vote(struct esim *sim, struct esim_node *n, uint64_t term, uint64_t sid, uint64_t cand,
		const char *how)
{
	struct esim_vote *v;

	for (size_t k = n->nvotes; k > 0; k--) {
		v = &n->votes[k - 1];
		if (v->term != term || v->sid != sid)
			continue;
		if (v->cand != cand)
			esim_break(sim,
				   "node %u (state %016" PRIx64 ") voted for %" PRIu64
				   " and %" PRIu64 " in term %" PRIu64 " (%s)",
				   n->index, sid, v->cand - ESIM_ID_BASE, cand - ESIM_ID_BASE, term,
				   how);
		return;
	}
	if (n->nvotes == n->capvotes) {
		size_t cap = n->capvotes ? n->capvotes * 2 : 64;

		v = realloc(n->votes, cap * sizeof(*v));
		if (v == NULL) {
			sim->error = -ENOMEM;
			return;
		}
		n->votes = v;
		n->capvotes = cap;
	}
	n->votes[n->nvotes++] = (struct esim_vote){ term, sid, cand };
}

void
esim_check_persist(struct esim *sim, struct esim_node *n, const struct elect_hard *h)
{
	if (n->disk_sid == h->sid && h->term < n->disk_term)
		esim_break(sim, "node %u: term went back on disk: %" PRIu64 " -> %" PRIu64,
			   n->index, n->disk_term, h->term);
	n->disk_sid = h->sid;
	n->disk_term = h->term;
	if (h->vote_id != 0)
		esim_check_vote(sim, n, h->term, h->sid, h->vote_id, "persisted");
}

void
esim_check_sent(struct esim *sim, struct esim_node *n, const uint8_t *msg, size_t len)
{
	struct elect_msg m;
	struct esim_grant *g;

	if (elect_msg_decode(msg, len, &m) != ELECT_MSG_OK) {
		esim_break(sim, "node %u sent a message that does not decode", n->index);
		return;
	}
	if (m.type != ELECT_MSG_VOTE_RESP || !(m.flags & ELECT_F_GRANT) || (m.flags & ELECT_F_PRE))
		return;
	if (sim->p.trace)
		fprintf(stderr,
			"t=%.3f node %u: grants its vote to %" PRIu64 " in term %" PRIu64 "\n",
			esim_t(sim), n->index, m.to - ESIM_ID_BASE, m.req_term);
	esim_check_vote(sim, n, m.req_term, m.from_sid, m.to, "granted");
	if (sim->ngrants == sim->capgrants) {
		size_t cap = sim->capgrants ? sim->capgrants * 2 : 256;

		g = realloc(sim->grants, cap * sizeof(*g));
		if (g == NULL) {
			sim->error = -ENOMEM;
			return;
		}
		sim->grants = g;
		sim->capgrants = cap;
	}
	sim->grants[sim->ngrants++] = (struct esim_grant){ m.req_term, m.from, m.from_sid, m.to };
}

/* A new leader: alone in its term, won with grants its voter set names,
 * and not while cut off from a majority. */
static void
esim_check_leader(struct esim *sim, struct esim_node *n, uint64_t term)
{
	const struct elect_voters *v = elect_log_voters(&elect_hard(n->core)->log);
	uint64_t lat = 2 * (uint64_t)sim->p.lat_max_us, from;
	uint32_t votes = elect_voters_has(v, n->id, elect_hard(n->core)->sid) ? 1 : 0, seen = 0;

	if (term >= sim->nterm_leader) {
		size_t cap = term + 64;
		uint64_t *t = realloc(sim->term_leader, cap * sizeof(*t));

		if (t == NULL) {
			sim->error = -ENOMEM;
			return;
		}
		memset(t + sim->nterm_leader, 0, (cap - sim->nterm_leader) * sizeof(*t));
		sim->term_leader = t;
		sim->nterm_leader = cap;
	}
	if (sim->term_leader[term] != 0 && sim->term_leader[term] != n->id)
		esim_break(sim, "two leaders in term %" PRIu64 ": node %" PRIu64 " and node %u",
			   term, sim->term_leader[term] - ESIM_ID_BASE, n->index);
	sim->term_leader[term] = n->id;
	for (size_t k = 0; k < sim->ngrants; k++) {
		const struct esim_grant *g = &sim->grants[k];
		int i = elect_voters_find(v, g->from);

		if (g->term == term && g->to == n->id && i >= 0 && v->v[i].sid == g->sid)
			seen |= 1U << i;
	}
	for (; seen; seen &= seen - 1)
		votes++;
	if (votes < elect_quorum(v->n))
		esim_break(sim, "node %u leads term %" PRIu64 " with %u valid grants of %u voters",
			   n->index, term, votes, v->n);
	/* Every grant of this term was sent after the campaign began; if the
	 * node reached the same minority all along (and was not handed
	 * messages held during a pause), none came from outside it. */
	from = n->cut_since_us > n->resumed_us ? n->cut_since_us : n->resumed_us;
	if (n->cut_since_us && from + lat <= n->campaign_us)
		esim_break(sim,
			   "node %u became leader, cut off from a majority since t=%.3f, before "
			   "its campaign began (t=%.3f)",
			   n->index, (double)(n->cut_since_us - UINT64_C(1000000000)) / 1e6,
			   (double)(n->campaign_us - UINT64_C(1000000000)) / 1e6);
}

void
esim_check_role(struct esim *sim, struct esim_node *n, const struct elect_event *ev)
{
	if (ev->role == ELECT_CANDIDATE)
		n->campaign_us = sim->now_us;
	if (ev->role != ELECT_LEADER)
		return;
	sim->c.leaders++;
	esim_check_leader(sim, n, ev->term);
}
