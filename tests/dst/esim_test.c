/*
 * esim_test: the election's scripted scenarios (`dst elect test NAME`), one
 * PASS or FAIL line each, and its figures (`dst elect bench`); docs/dst.md
 * has the table. Every scenario also requires the checker to have seen no
 * break (esim_check.c), except where it says it shows one on purpose.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esim.h"
#include "esim_scen.h"
#include "netsim.h"

#define ET_T0 UINT64_C(1000000000)
#define ET_S  UINT64_C(1000000)
#define ET_MS UINT64_C(1000)

struct et_test {
	const char *name;
	bool (*fn)(const struct esim_camp_opts *o, char *msg, size_t size);
};

static void et_msg(char *msg, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
et_msg(char *msg, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
}

static double
et_t(const struct esim *sim)
{
	return (double)(sim->now_us - ET_T0) / 1e6;
}

/* Runs in 10 ms steps until some node leads (at most max_us); returns it
 * or -1. */
static int
et_until_leader(struct esim *sim, uint64_t max_us)
{
	uint64_t end = sim->now_us + max_us;
	uint32_t count;
	int who;

	while ((who = esim_leading(sim, &count)) < 0 && sim->now_us < end && sim->error == 0)
		esim_run_until(sim, sim->now_us + 10 * ET_MS);
	return who;
}

/* n nodes booting over 1 s with bootstrap_expect, `voters` kept; runs until
 * a leader holds a committed set of min(voters, n). NULL with msg if not. */
static struct esim *
et_cluster(const struct esim_camp_opts *o, uint32_t n, uint32_t voters, uint32_t expect, char *msg,
	   size_t size)
{
	struct esim_params p;
	struct esim *sim;
	uint32_t want = voters < n ? voters : n, count;
	int who = -1;

	esim_params_default(&p);
	p.seed = o->from;
	p.nodes = n;
	p.trace = o->trace;
	p.cfg.voters = voters;
	p.cfg.bootstrap_expect = expect;
	if ((sim = esim_new(&p)) == NULL) {
		et_msg(msg, size, "out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		esim_run_until(sim, ET_T0 + (uint64_t)i * ET_S / n);
		esim_start(sim, i, false);
	}
	for (uint64_t t = 0; t < 120 * ET_S && sim->error == 0; t += 100 * ET_MS) {
		esim_run_until(sim, sim->now_us + 100 * ET_MS);
		who = esim_leading(sim, &count);
		if (who >= 0 && elect_hard(sim->nodes[who].core)->log.snap_voters.n == want)
			return sim;
	}
	et_msg(msg, size, "%u nodes: no leader with %u voters within 120 s (leader %d)", n, want,
	       who);
	esim_free(sim);
	return NULL;
}

/* The index of a voter other than `not` that runs, by position k. */
static uint32_t
et_voter(struct esim *sim, int leader, uint32_t k, int not )
{
	const struct elect_voters *v = &elect_hard(sim->nodes[leader].core)->log.snap_voters;
	uint32_t seen = 0;

	for (uint32_t i = 0; i < v->n; i++) {
		uint32_t x = (uint32_t)(v->v[i].id - ESIM_ID_BASE);

		if ((int)x == not || !esim_running(&sim->nodes[x]))
			continue;
		if (seen++ == k)
			return x;
	}
	return (uint32_t) not ;
}

/* PASS only without checker breaks; appends the first one to msg. */
static bool
et_clean(struct esim *sim, bool ok, char *msg, size_t size)
{
	if (sim->nbreaks_total == 0)
		return ok;
	et_msg(msg, size, "%" PRIu32 " invariant breaks, first: %s", sim->nbreaks_total,
	       sim->breaks[0]);
	return false;
}

static bool
et_basic(const struct esim_camp_opts *o, char *msg, size_t size)
{
	struct esim *sim = et_cluster(o, 5, 5, 5, msg, size);
	uint32_t count;
	int who;
	bool ok = true;

	if (sim == NULL)
		return false;
	who = esim_leading(sim, &count);
	esim_run_until(sim, sim->now_us + 10 * ET_S);
	for (uint32_t i = 0; i < 5; i++)
		ok = ok && elect_leader(sim->nodes[i].core) == sim->nodes[who].id;
	et_msg(msg, size, "5 nodes: one leader (node %d, term %" PRIu64 ") at t=%.1f s, 5 voters%s",
	       who, elect_term(sim->nodes[who].core), et_t(sim) - 10,
	       ok ? "" : "; not every node knows it");
	ok = et_clean(sim, ok, msg, size);
	esim_free(sim);
	return ok;
}

static int
et_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Kills the leader `trials` times; each time a new one must lead within
 * lease + 2 s. Fills the sorted failover times and the messages and bytes
 * sent from the crash until the new leader leads. */
/* Messages and bytes sent since c0: [0] pre-votes, votes and answers,
 * [1] appends, acks and snapshots, [2] announcements. */
static void
et_kinds(const struct esim *sim, const struct esim_counters *c0, uint64_t m[3], uint64_t b[3])
{
	static const int kind[ELECT_MSG_TYPE_MAX + 1] = {
		[ELECT_MSG_PREVOTE] = 0,  [ELECT_MSG_VOTE] = 0,	       [ELECT_MSG_VOTE_RESP] = 0,
		[ELECT_MSG_APPEND] = 1,	  [ELECT_MSG_APPEND_RESP] = 1, [ELECT_MSG_SNAPSHOT] = 1,
		[ELECT_MSG_ANNOUNCE] = 2,
	};

	for (int k = 0; k < 3; k++)
		m[k] = b[k] = 0;
	for (int t = ELECT_MSG_PREVOTE; t <= ELECT_MSG_ANNOUNCE; t++) {
		if (t == ELECT_MSG_TIMEOUT_NOW)
			continue;
		m[kind[t]] += sim->c.msgs_by_type[t] - c0->msgs_by_type[t];
		b[kind[t]] += sim->c.bytes_by_type[t] - c0->bytes_by_type[t];
	}
}

static bool
et_failovers(struct esim *sim, uint32_t trials, uint64_t *ms, uint64_t (*fm)[3], uint64_t (*fb)[3],
	     char *msg, size_t size)
{
	uint64_t rng = netsim_seed_stream(sim->p.seed, 4242), bound;
	uint32_t count;

	bound = sim->p.cfg.lease_ms + 2000;
	for (uint32_t k = 0; k < trials; k++) {
		int old = esim_leading(sim, &count), who;
		struct esim_counters c0 = sim->c;
		uint64_t t0;

		if (old < 0) {
			et_msg(msg, size, "trial %u: no leader before the kill", k);
			return false;
		}
		esim_crash(sim, (uint32_t)old);
		t0 = sim->now_us;
		who = et_until_leader(sim, 30 * ET_S);
		ms[k] = (sim->now_us - t0) / ET_MS;
		/* Up to the new leader's announcement, which follows its lease. */
		esim_run_until(sim, sim->now_us + 20 * ET_MS);
		et_kinds(sim, &c0, fm[k], fb[k]);
		if (who < 0 || ms[k] > bound) {
			et_msg(msg, size,
			       "trial %u: new leader after %" PRIu64 " ms (bound %" PRIu64 ")", k,
			       ms[k], bound);
			return false;
		}
		esim_start(sim, (uint32_t)old, true);
		esim_run_until(sim, sim->now_us + 8 * ET_S + netsim_rand64(&rng) % (500 * ET_MS));
	}
	qsort(ms, trials, sizeof(*ms), et_cmp_u64);
	return true;
}

static bool
et_failover(const struct esim_camp_opts *o, char *msg, size_t size)
{
	struct esim *sim = et_cluster(o, 5, 5, 5, msg, size);
	uint64_t ms[10], fm[10][3], fb[10][3];
	bool ok;

	if (sim == NULL)
		return false;
	ok = et_failovers(sim, 10, ms, fm, fb, msg, size);
	if (ok)
		et_msg(msg, size,
		       "10 leader kills: a new leader in %" PRIu64 "..%" PRIu64
		       " ms (bound lease + "
		       "2 s = %" PRIu64 " ms)",
		       ms[0], ms[9], sim->p.cfg.lease_ms + 2000);
	ok = et_clean(sim, ok, msg, size);
	esim_free(sim);
	return ok;
}

/* Splits the cluster into groups (the leader's side given by `groups`),
 * and checks: the minority never leads after a lease, the majority elects
 * within lease + 2 s, and after the heal one leader in a later term. */
static bool
et_split(const struct esim_camp_opts *o, const uint32_t *shape, uint32_t ngroups, char *msg,
	 size_t size)
{
	struct esim *sim = et_cluster(o, 5, 5, 5, msg, size);
	uint32_t groups[5], count, major = 0, gsize[3] = { 0, 0, 0 };
	uint64_t term0, t0, first = 0;
	int old, who;
	bool ok = true;

	if (sim == NULL)
		return false;
	old = esim_leading(sim, &count);
	term0 = elect_term(sim->nodes[old].core);
	/* The leader goes to group shape[0]; the others fill the groups. */
	for (uint32_t i = 0, k = 1; i < 5; i++)
		groups[i] = (int)i == old ? shape[0] : shape[k++];
	for (uint32_t i = 0; i < 5; i++)
		gsize[groups[i]]++;
	for (uint32_t g = 0; g < ngroups; g++)
		if (gsize[g] >= 3)
			major = g;
	esim_partition(sim, groups);
	t0 = sim->now_us;
	for (uint64_t t = 0; t < 20 * ET_S; t += 10 * ET_MS) {
		esim_run_until(sim, sim->now_us + 10 * ET_MS);
		who = esim_leading(sim, &count);
		if (who >= 0 && groups[who] != major &&
		    sim->now_us > t0 + sim->p.cfg.lease_ms * ET_MS)
			ok = false;
		if (who >= 0 && groups[who] == major && first == 0)
			first = sim->now_us - t0;
	}
	esim_partition(sim, NULL);
	who = et_until_leader(sim, 20 * ET_S);
	esim_run_until(sim, sim->now_us + 5 * ET_S);
	who = esim_leading(sim, &count);
	ok = ok && first != 0 && first <= (sim->p.cfg.lease_ms + 2000) * ET_MS && who >= 0 &&
	     elect_term(sim->nodes[who].core) > term0;
	et_msg(msg, size,
	       "leader on a side of %u: the majority side led %.2f s after the split, the "
	       "minority never after its lease; healed: leader %d in term %" PRIu64 " (was %" PRIu64
	       ")%s",
	       gsize[shape[0]], first / 1e6, who, who >= 0 ? elect_term(sim->nodes[who].core) : 0,
	       term0, ok ? "" : ": FAILED");
	ok = et_clean(sim, ok, msg, size);
	esim_free(sim);
	return ok;
}

static bool
et_split_3_2(const struct esim_camp_opts *o, char *msg, size_t size)
{
	static const uint32_t shape[5] = { 1, 1, 0, 0, 0 }; /* leader + 1 | 3 */

	return et_split(o, shape, 2, msg, size);
}

static bool
et_split_1_1_3(const struct esim_camp_opts *o, char *msg, size_t size)
{
	static const uint32_t shape[5] = { 0, 1, 2, 2, 2 }; /* leader | 1 | 3 */

	return et_split(o, shape, 3, msg, size);
}

static bool
et_pause_long(const struct esim_camp_opts *o, char *msg, size_t size)
{
	struct esim *sim = et_cluster(o, 5, 5, 5, msg, size);
	uint32_t count;
	int old, who;
	bool resumed_leads, ok;

	if (sim == NULL)
		return false;
	old = esim_leading(sim, &count);
	esim_pause(sim, (uint32_t)old);
	esim_run_until(sim, sim->now_us + 2 * sim->p.cfg.lease_ms * ET_MS);
	who = esim_leading(sim, &count);
	esim_resume(sim, (uint32_t)old);
	resumed_leads =
		elect_leading(sim->nodes[old].core, esim_local_ms(&sim->nodes[old]), NULL, NULL);
	esim_run_until(sim, sim->now_us + 10 * ET_S);
	ok = who >= 0 && who != old && !resumed_leads && esim_leading(sim, &count) >= 0;
	et_msg(msg, size,
	       "leader %d paused for 2 leases: node %d led meanwhile; on resume the old leader "
	       "%s",
	       old, who, resumed_leads ? "still believed its lease" : "did not believe its lease");
	ok = et_clean(sim, ok, msg, size);
	esim_free(sim);
	return ok;
}

static bool
et_transfer(const struct esim_camp_opts *o, char *msg, size_t size)
{
	struct esim *sim = et_cluster(o, 5, 5, 5, msg, size);
	uint32_t count, target;
	int old, who = -1;
	uint64_t t0;
	bool ok;

	if (sim == NULL)
		return false;
	old = esim_leading(sim, &count);
	target = et_voter(sim, old, 2, old);
	t0 = sim->now_us;
	ok = elect_transfer(sim->nodes[old].core, sim->nodes[target].id,
			    esim_local_ms(&sim->nodes[old])) == 0;
	ok = ok &&
	     !elect_leading(sim->nodes[old].core, esim_local_ms(&sim->nodes[old]), NULL, NULL);
	if (ok)
		who = et_until_leader(sim, 2 * ET_S);
	ok = ok && who == (int)target;
	et_msg(msg, size, "leader %d handed over to node %u: node %d led %.0f ms later", old,
	       target, who, (double)(sim->now_us - t0) / 1000);
	ok = et_clean(sim, ok, msg, size);
	esim_free(sim);
	return ok;
}

/* Kills `k` voters other than the leader and tells how many voters the
 * committed set holds after `wait_s`, and who leads. */
static struct esim *
et_kill_voters(const struct esim_camp_opts *o, uint32_t k, uint64_t wait_s, int *old,
	       uint32_t *dead, char *msg, size_t size)
{
	struct esim *sim = et_cluster(o, 10, 5, 5, msg, size);
	uint32_t count;

	if (sim == NULL)
		return NULL;
	esim_run_until(sim, sim->now_us + 15 * ET_S);
	*old = esim_leading(sim, &count);
	if (*old < 0) {
		et_msg(msg, size, "no leader before the kills");
		esim_free(sim);
		return NULL;
	}
	for (uint32_t i = 0; i < k; i++)
		dead[i] = et_voter(sim, *old, 0, *old);
	for (uint32_t i = 0, j = 0; i < k; i++) {
		dead[i] = et_voter(sim, *old, j, *old);
		esim_crash(sim, dead[i]);
	}
	esim_run_until(sim, sim->now_us + wait_s * ET_S);
	return sim;
}

static bool
et_replace(const struct esim_camp_opts *o, char *msg, size_t size)
{
	uint32_t dead[2], count;
	int old, who;
	struct esim *sim = et_kill_voters(o, 2, 45, &old, dead, msg, size);
	const struct elect_voters *v;
	bool ok;

	if (sim == NULL)
		return false;
	who = esim_leading(sim, &count);
	ok = who >= 0;
	v = ok ? &elect_hard(sim->nodes[who].core)->log.snap_voters : NULL;
	ok = ok && v->n == 5 && elect_voters_find(v, sim->nodes[dead[0]].id) < 0 &&
	     elect_voters_find(v, sim->nodes[dead[1]].id) < 0;
	et_msg(msg, size,
	       "10 members, voters %u and %u killed: after 45 s node %d leads with %u "
	       "voters, the dead ones replaced",
	       dead[0], dead[1], who, v ? v->n : 0);
	ok = et_clean(sim, ok, msg, size);
	esim_free(sim);
	return ok;
}

static bool
et_quorum_lost(const struct esim_camp_opts *o, char *msg, size_t size)
{
	uint32_t dead[3], count, survivor;
	int old, who;
	struct esim *sim;
	struct elect_status st;
	bool ok;

	/* Three of five voters die at once, the leader among them. */
	sim = et_cluster(o, 10, 5, 5, msg, size);
	if (sim == NULL)
		return false;
	esim_run_until(sim, sim->now_us + 15 * ET_S);
	old = esim_leading(sim, &count);
	dead[0] = (uint32_t)old;
	dead[1] = et_voter(sim, old, 0, old);
	dead[2] = et_voter(sim, old, 1, old);
	survivor = et_voter(sim, old, 2, old);
	for (int i = 0; i < 3; i++)
		esim_crash(sim, dead[i]);
	esim_run_until(sim, sim->now_us + 60 * ET_S);
	who = esim_leading(sim, &count);
	elect_status(sim->nodes[survivor].core, esim_local_ms(&sim->nodes[survivor]), &st);
	ok = who < 0 && st.quorum_lost && st.recovery && strstr(st.recovery, "force-recover");
	/* The operator's step on one surviving voter. */
	ok = ok && elect_force_recover(sim->nodes[survivor].core,
				       esim_local_ms(&sim->nodes[survivor])) == 0;
	who = ok ? et_until_leader(sim, 10 * ET_S) : -1;
	ok = ok && who == (int)survivor;
	esim_run_until(sim, sim->now_us + 60 * ET_S);
	who = esim_leading(sim, &count);
	ok = ok && who >= 0 && elect_hard(sim->nodes[who].core)->log.snap_voters.n == 5;
	et_msg(msg, size,
	       "3 of 5 voters killed: no leader for 60 s, status says quorum lost (%u of 5 "
	       "alive); force-recover on node %u: it leads, and 60 s later %u voters",
	       st.voters_alive, survivor,
	       who >= 0 ? elect_hard(sim->nodes[who].core)->log.snap_voters.n : 0);
	ok = et_clean(sim, ok, msg, size);
	esim_free(sim);
	return ok;
}

static bool
et_stateless(const struct esim_camp_opts *o, char *msg, size_t size)
{
	struct esim *sim = et_cluster(o, 5, 5, 5, msg, size);
	uint32_t count, x;
	uint64_t sid;
	int old, who;
	bool ok;

	if (sim == NULL)
		return false;
	old = esim_leading(sim, &count);
	x = et_voter(sim, old, 0, old);
	esim_crash(sim, x);
	esim_run_until(sim, sim->now_us + 2 * ET_S);
	esim_start(sim, x, false);
	sid = elect_hard(sim->nodes[x].core)->sid;
	esim_run_until(sim, sim->now_us + 30 * ET_S);
	who = esim_leading(sim, &count);
	ok = who >= 0 &&
	     elect_voters_has(&elect_hard(sim->nodes[who].core)->log.snap_voters, sim->nodes[x].id,
			      sid) &&
	     elect_role(sim->nodes[x].core) == ELECT_FOLLOWER;
	et_msg(msg, size,
	       "voter %u back without its state: a non-voter, then re-admitted under its new "
	       "state id%s",
	       x, ok ? "" : ": NOT re-admitted");
	ok = et_clean(sim, ok, msg, size);
	esim_free(sim);
	return ok;
}

/* When does node n stop believing its lease? (1 ms steps, real time) */
static uint64_t
et_belief_end(struct esim *sim, uint32_t n)
{
	while (elect_leading(sim->nodes[n].core, esim_local_ms(&sim->nodes[n]), NULL, NULL))
		esim_run_until(sim, sim->now_us + ET_MS);
	return sim->now_us;
}

static bool
et_drift(const struct esim_camp_opts *o, char *msg, size_t size)
{
	struct esim *sim = et_cluster(o, 5, 5, 5, msg, size);
	int32_t rho = 0;
	int64_t gap_min = INT64_MAX;
	uint32_t count;
	bool ok = true;

	if (sim == NULL)
		return false;
	rho = (int32_t)sim->p.cfg.drift_ppm;
	for (uint32_t k = 0; k < 10 && ok; k++) {
		int old = esim_leading(sim, &count), who;
		uint32_t groups[5];
		uint64_t end, start;

		/* The worst case: the leader's clock slow, everybody else's fast. */
		for (uint32_t i = 0; i < 5; i++) {
			esim_set_rate(sim, i, (int)i == old ? -rho : rho);
			groups[i] = (int)i == old;
		}
		esim_run_until(sim, sim->now_us + (k * 47) % 500 * ET_MS);
		esim_partition(sim, groups);
		end = et_belief_end(sim, (uint32_t)old);
		who = et_until_leader(sim, 20 * ET_S);
		start = sim->now_us;
		ok = who >= 0 && who != old;
		if ((int64_t)(start - end) < gap_min)
			gap_min = (int64_t)(start - end);
		esim_partition(sim, NULL);
		esim_run_until(sim, sim->now_us + 8 * ET_S);
	}
	ok = ok && gap_min > 0;
	et_msg(msg, size,
	       "clocks at the bound (leader -%d ppm, voters +%d ppm), leader cut off 10 times: "
	       "the next lease began at least %.1f ms after the old one ended",
	       rho, rho, gap_min / 1000.0);
	ok = et_clean(sim, ok, msg, size);
	esim_free(sim);
	return ok;
}

/* The residual bootstrap risk (docs/election.md), shown on purpose. Five
 * nodes, voters {0,1,2}; all stop; the disks of 2, 3 and 4 are wiped. Wiped
 * disks look like brand-new nodes: the three found a second cluster while
 * 0 and 1 still make a majority of the first, and two leaders act (the
 * checker sees two leases). With the shell's marker (STATE_LOST) the three
 * never bootstrap and rejoin the first cluster. */
static bool
et_residual_wipe(const struct esim_camp_opts *o, char *msg, size_t size)
{
	uint32_t breaks[2], leaders[2];

	for (int marker = 0; marker < 2; marker++) {
		struct esim *sim = et_cluster(o, 5, 3, 3, msg, size);

		if (sim == NULL)
			return false;
		esim_run_until(sim, sim->now_us + 15 * ET_S);
		for (uint32_t i = 0; i < 5; i++)
			esim_crash(sim, i);
		for (uint32_t i = 2; i < 5; i++) {
			if (!marker)
				esim_wipe(sim, i);
			else
				sim->nodes[i].disk_len = 0;
			esim_start(sim, i, false);
		}
		esim_run_until(sim, sim->now_us + 40 * ET_S);
		esim_start(sim, 0, true);
		esim_start(sim, 1, true);
		esim_run_until(sim, sim->now_us + 30 * ET_S);
		breaks[marker] = sim->nbreaks_total;
		leaders[marker] = 0;
		for (uint32_t i = 0; i < 5; i++)
			leaders[marker] += elect_leading(sim->nodes[i].core,
							 esim_local_ms(&sim->nodes[i]), NULL, NULL);
		esim_free(sim);
	}
	et_msg(msg, size,
	       "voters {0,1,2} stopped, disks of 2, 3, 4 wiped: as brand-new nodes they found a "
	       "second cluster and two leases overlap (%u checker breaks: the documented risk); "
	       "with the shell's STATE_LOST marker: %u breaks, %u leader",
	       breaks[0], breaks[1], leaders[1]);
	(void)leaders[0];
	return breaks[0] > 0 && leaders[1] == 1 && breaks[1] == 0;
}

static const struct et_test et_tests[] = {
	{ "basic", et_basic },
	{ "failover", et_failover },
	{ "split-3-2", et_split_3_2 },
	{ "split-1-1-3", et_split_1_1_3 },
	{ "pause-long", et_pause_long },
	{ "transfer", et_transfer },
	{ "replace", et_replace },
	{ "quorum-lost", et_quorum_lost },
	{ "stateless", et_stateless },
	{ "drift", et_drift },
	{ "residual-wipe", et_residual_wipe },
};

int
esim_tests(const char *name, const struct esim_camp_opts *o)
{
	int failed = 0, ran = 0;
	char msg[512];

	for (size_t k = 0; k < sizeof(et_tests) / sizeof(et_tests[0]); k++) {
		if (name == NULL) {
			printf("%s\n", et_tests[k].name);
			ran++;
			continue;
		}
		if (strcmp(name, "all") != 0 && strcmp(name, et_tests[k].name) != 0)
			continue;
		msg[0] = '\0';
		ran++;
		if (et_tests[k].fn(o, msg, sizeof(msg))) {
			printf("PASS elect %s (seed %" PRIu64 "): %s\n", et_tests[k].name, o->from,
			       msg);
		} else {
			failed++;
			printf("FAIL elect %s (seed %" PRIu64 "): %s\n", et_tests[k].name, o->from,
			       msg);
		}
	}
	return ran ? failed : -1;
}

/* ---- figures --------------------------------------------------------- */

static void
eb_window(struct esim *sim, uint64_t seconds, uint32_t n)
{
	struct esim_counters c0 = sim->c;
	uint64_t voter_bytes = 0, m[3], b[3];
	uint32_t count;
	int who = esim_leading(sim, &count);
	const struct elect_voters *v = &elect_hard(sim->nodes[who].core)->log.snap_voters;
	uint64_t *out0 = calloc(n, sizeof(*out0)), lead0;

	if (out0 == NULL)
		return;
	for (uint32_t i = 0; i < n; i++)
		out0[i] = sim->nodes[i].bytes_out;
	lead0 = sim->nodes[who].bytes_out;
	esim_run_until(sim, sim->now_us + seconds * ET_S);
	et_kinds(sim, &c0, m, b);
	for (uint32_t i = 0; i < v->n; i++) {
		uint32_t x = (uint32_t)(v->v[i].id - ESIM_ID_BASE);

		if ((int)x != who)
			voter_bytes += sim->nodes[x].bytes_out - out0[x];
	}
	printf("steady_heartbeat msgs_per_s %.1f bytes_per_s %.0f (appends and acks among the "
	       "%u voters, 52-byte envelope included)\n",
	       (double)m[1] / seconds, (double)b[1] / seconds, v->n);
	printf("steady_heartbeat bytes_per_s_per_node %.1f (averaged over N = %u); leader out "
	       "%.0f, each follower voter out %.0f, each non-voter 0\n",
	       (double)b[1] / seconds / n, n,
	       (double)(sim->nodes[who].bytes_out - lead0 - b[2]) / seconds,
	       (double)voter_bytes / seconds / (v->n > 1 ? v->n - 1 : 1));
	printf("steady_announce bytes %" PRIu64 " every %" PRIu64 " s (one signed ANNOUNCE, "
	       "gossiped by the shell; here sent to each of the %u others: %.1f B/s per node)\n",
	       m[2] ? b[2] / m[2] : 0, sim->p.cfg.announce_ms / 1000, n - 1,
	       (double)b[2] / seconds / n);
	free(out0);
}

int
esim_bench(const struct esim_camp_opts *o)
{
	uint32_t n = o->nodes, t = o->trials;
	uint64_t *ms = calloc(t, sizeof(*ms)), (*fm)[3] = calloc(t, sizeof(*fm));
	uint64_t(*fb)[3] = calloc(t, sizeof(*fb)), sm[3] = { 0, 0, 0 }, sb[3] = { 0, 0, 0 };
	char msg[256];
	struct esim *sim;
	int rc = 1;

	if (ms == NULL || fm == NULL || fb == NULL)
		goto out;
	sim = et_cluster(o, n, 5, 5, msg, sizeof(msg));
	if (sim == NULL) {
		printf("bench: %s\n", msg);
		goto out;
	}
	printf("elect_bench N=%u voters=5 heartbeat=%" PRIu64 "ms lease=%" PRIu64
	       "ms election=%" PRIu64 "..%" PRIu64 "ms drift=%u ppm seed=%" PRIu64 "\n",
	       n, sim->p.cfg.heartbeat_ms, sim->p.cfg.lease_ms, sim->p.cfg.election_min_ms,
	       sim->p.cfg.election_max_ms, sim->p.cfg.drift_ppm, o->from);
	printf("bootstrap_to_leader_s %.1f\n", et_t(sim));
	esim_run_until(sim, sim->now_us + 10 * ET_S);
	eb_window(sim, 60, n);
	if (!et_failovers(sim, t, ms, fm, fb, msg, sizeof(msg))) {
		printf("bench: failover: %s\n", msg);
		esim_free(sim);
		goto out;
	}
	for (uint32_t k = 0; k < t; k++)
		for (int j = 0; j < 3; j++) {
			sm[j] += fm[k][j];
			sb[j] += fb[k][j];
		}
	printf("failover_ms median %" PRIu64 " p99 %" PRIu64 " max %" PRIu64
	       " (%u leader kills at random phases; bound lease + 2 s = %" PRIu64 ")\n",
	       ms[t / 2], ms[(t * 99) / 100 < t ? (t * 99) / 100 : t - 1], ms[t - 1], t,
	       sim->p.cfg.lease_ms + 2000);
	printf("failover_election msgs %.1f bytes %.0f (pre-votes, votes, answers; mean per "
	       "failover)\n",
	       (double)sm[0] / t, (double)sb[0] / t);
	printf("failover_heartbeat msgs %.1f bytes %.0f (appends and acks from the kill to the "
	       "new lease)\n",
	       (double)sm[1] / t, (double)sb[1] / t);
	printf("failover_announce msgs %.1f bytes %.0f (the new leader's announcement to the "
	       "%u others)\n",
	       (double)sm[2] / t, (double)sb[2] / t, n - 1);
	printf("invariant_breaks %" PRIu32 "\n", sim->nbreaks_total);
	rc = sim->nbreaks_total ? 1 : 0;
	esim_free(sim);
out:
	free(ms);
	free(fm);
	free(fb);
	return rc;
}
