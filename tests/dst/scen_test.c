/*
 * scen_test: the deterministic scenarios (`dst test NAME`), each one
 * PASS or FAIL line with its reason (docs/dst.md has the table).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen_priv.h"

struct scen_test {
	const char *name;
	bool (*fn)(const struct scen_opts *o, char *msg, size_t size);
};

static void scen_msg(char *msg, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
scen_msg(char *msg, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
}

/* A fresh cluster of n nodes, converged; NULL (and the reason in msg) if not. */
static struct netsim *
scen_cluster(const struct scen_opts *o, uint32_t n, uint64_t *conv, char *msg, size_t size)
{
	struct scen_opts oo = *o;
	struct netsim *sim;
	uint64_t ms[3] = { 0, 0, 0 };
	int err;

	oo.p.nodes = n;
	sim = netsim_new(&oo.p);
	if (sim == NULL) {
		scen_msg(msg, size, "out of memory");
		return NULL;
	}
	err = scen__boot(sim, &oo, ms);
	if (err != 0) {
		uint32_t obs, subj;
		size_t bad = netsim_check_views(sim, false, &obs, &subj);

		scen_msg(msg, size,
			 "%u nodes did not converge in %" PRIu64 " ms (%zu wrong entries, "
			 "first: node %u about node %d)",
			 n, oo.converge_max_ms, bad, obs, (int)subj);
		netsim_free(sim);
		return NULL;
	}
	if (conv)
		*conv = ms[0];
	return sim;
}

static bool
scen_views_ok(const struct netsim *sim, bool strict_dead, char *msg, size_t size, const char *what)
{
	uint32_t obs, subj;
	size_t bad = netsim_check_views(sim, strict_dead, &obs, &subj);

	if (bad == 0)
		return true;
	scen_msg(msg, size, "%s: %zu wrong table entries (first: node %u about node %d)", what, bad,
		 obs, (int)subj);
	return false;
}

static bool
scen_t_join(const struct scen_opts *o, char *msg, size_t size)
{
	uint64_t conv = 0;
	struct netsim *sim = scen_cluster(o, 20, &conv, msg, size);
	bool ok;

	if (sim == NULL)
		return false;
	ok = scen_views_ok(sim, true, msg, size, "after join");
	if (ok)
		scen_msg(msg, size,
			 "20 nodes via one seed converged in %" PRIu64 " ms, %" PRIu64 " msgs",
			 conv, sim->c.sent);
	netsim_free(sim);
	return ok;
}

static bool
scen_t_crash(const struct scen_opts *o, char *msg, size_t size)
{
	struct netsim *sim = scen_cluster(o, 20, NULL, msg, size);
	uint64_t t0, v[20];
	uint32_t missing;
	size_t k;
	bool ok = false;

	if (sim == NULL)
		return false;
	netsim_run_until(sim, sim->now_us + 5 * SCEN_S);
	netsim_track_state(sim, 7);
	t0 = sim->now_us;
	netsim_crash(sim, 7);
	missing = scen__run_until_all(sim, SCEN_OFF(dead_at_us), 10 * SCEN_MS, 120 * SCEN_S);
	k = scen__collect(sim, SCEN_OFF(dead_at_us), t0, 7, v);
	if (missing)
		scen_msg(msg, size,
			 "%u of 19 live nodes did not mark the crashed node DEAD in 120 s",
			 missing);
	else if (sim->c.dead_live)
		scen_msg(msg, size, "%" PRIu64 " false DEAD of live nodes", sim->c.dead_live);
	else if (scen_views_ok(sim, true, msg, size, "after detection"))
		ok = true;
	if (ok)
		scen_msg(msg, size, "all 19 observers: DEAD after median %.0f ms, max %.0f ms",
			 (double)scen__pct(v, k, 0.5) / 1000.0, (double)v[k - 1] / 1000.0);
	netsim_free(sim);
	return ok;
}

/* 50 nodes, 600 virtual seconds at 10% loss on every link, five seeds. */
static bool
scen_t_loss(const struct scen_opts *o, char *msg, size_t size)
{
	uint64_t dropped = 0, sent = 0, episodes = 0;
	struct scen_opts oo = *o;
	struct netsim *sim;
	uint32_t k;

	for (k = 0; k < 5; k++) {
		oo.p.seed = o->p.seed + k;
		if ((sim = scen_cluster(&oo, 50, NULL, msg, size)) == NULL)
			return false;
		netsim_set_loss(sim, 100000);
		netsim_run_until(sim, sim->now_us + 600 * SCEN_S);
		netsim_set_loss(sim, 0);
		if (o->p.trace)
			scen__print_stats(sim, 50);
		dropped += sim->c.drop_loss;
		sent += sim->c.sent;
		episodes += sim->c.suspect_episodes;
		if (sim->c.dead_live) {
			scen_msg(msg, size,
				 "seed %" PRIu64 ": %" PRIu64 " false DEAD of live nodes under "
				 "10%% loss (first: observer %u subject %u at t=%.3f s)",
				 oo.p.seed, sim->c.dead_live, sim->fp_log[0].observer,
				 sim->fp_log[0].subject,
				 (double)(sim->fp_log[0].at_us / SCEN_MS - NETSIM_T0_MS) / 1000.0);
			netsim_free(sim);
			return false;
		}
		netsim_run_until(sim, sim->now_us + 30 * SCEN_S);
		if (!scen_views_ok(sim, true, msg, size, "30 s after the loss stopped")) {
			netsim_free(sim);
			return false;
		}
		netsim_free(sim);
	}
	scen_msg(msg, size,
		 "50 nodes, 5 seeds x 600 s at 10%% loss (%" PRIu64 " of %" PRIu64
		 " dropped): 0 false DEAD, %" PRIu64 " suspicions refuted",
		 dropped, sent, episodes);
	return true;
}

/* Splits 20 nodes 10|10 for split_s, heals, and waits for convergence. */
static bool
scen_partition(const struct scen_opts *o, uint64_t split_s, char *msg, size_t size)
{
	struct netsim *sim = scen_cluster(o, 20, NULL, msg, size);
	uint32_t groups[20], i;
	uint64_t dead, t;
	bool ok = false;

	if (sim == NULL)
		return false;
	for (i = 0; i < 20; i++)
		groups[i] = i < 10 ? 1 : 2;
	dead = sim->c.dead_any;
	netsim_partition(sim, groups);
	netsim_run_until(sim, sim->now_us + split_s * SCEN_S);
	dead = sim->c.dead_any - dead;
	netsim_partition(sim, NULL);
	for (t = 0; t < 300000 && !netsim_converged(sim); t += 100)
		netsim_run_until(sim, sim->now_us + 100 * SCEN_MS);
	if (!netsim_converged(sim)) {
		scen_msg(msg, size,
			 "not converged 300 s after a %" PRIu64 " s split healed (%" PRIu64
			 " DEAD marks during the split); ",
			 split_s, dead);
		scen_views_ok(sim, true, msg + strlen(msg), size - strlen(msg), "views");
		goto out;
	}
	if (!scen_views_ok(sim, true, msg, size, "after heal"))
		goto out;
	ok = true;
	scen_msg(msg, size,
		 "split 10|10 for %" PRIu64 " s (%" PRIu64 " DEAD marks across), healed: "
		 "converged in %" PRIu64 " ms",
		 split_s, dead, t);
out:
	netsim_free(sim);
	return ok;
}

/* Long enough for each half to declare the other DEAD, shorter than reap_after_ms. */
static bool
scen_t_partition(const struct scen_opts *o, char *msg, size_t size)
{
	return scen_partition(o, 30, msg, size);
}

/* Longer than reap_after_ms (60 s): each half forgets the other entirely. */
static bool
scen_t_partition_long(const struct scen_opts *o, char *msg, size_t size)
{
	return scen_partition(o, 5 * o->p.cfg.reap_after_ms / 2000, msg, size);
}

/*
 * The pause length, from the defaults: five probe timeouts (1000 ms). A
 * probe that reaches the node after the pause began fails at the earliest
 * one probe window (3 probe timeouts, 600 ms) after it was sent, and even
 * with every confirmation the suspicion then lasts the minimum timeout
 * (suspicion_min_mult x log10(20) x suspicion_unit = 520 ms). So no correct
 * core declares the node dead before 1120 ms at N=20, and a 1000 ms pause
 * leaves it time to refute. Longer pauses are deaths, refuted on resume:
 * see pause-long.
 */
static uint64_t
scen_pause_ms(const struct swim_config *c)
{
	return 5 * c->probe_timeout_ms;
}

struct scen_pause {
	uint64_t suspecters, dead, dead_live, inc_delta, refutations;
	size_t wrong;
};

/* Pauses node 7 of 20 for `pause` ms, resumes it, runs 30 s. */
static int
scen_pause_run(const struct scen_opts *o, uint64_t pause, struct scen_pause *r, char *msg,
	       size_t size)
{
	struct netsim *sim = scen_cluster(o, 20, NULL, msg, size);
	struct swim_stats st;
	uint32_t i, v = 7, obs, subj;
	uint64_t inc0;

	if (sim == NULL)
		return -1;
	memset(r, 0, sizeof(*r));
	netsim_run_until(sim, sim->now_us + 5 * SCEN_S);
	inc0 = swim_self(sim->nodes[v].swim)->incarnation;
	netsim_track_state(sim, v);
	netsim_pause(sim, v);
	netsim_run_until(sim, sim->now_us + pause * SCEN_MS);
	netsim_resume(sim, v);
	netsim_run_until(sim, sim->now_us + 30 * SCEN_S);
	for (i = 0; i < 20; i++) {
		r->suspecters += sim->nodes[i].suspect_at_us != NETSIM_NEVER;
		r->dead += sim->nodes[i].dead_at_us != NETSIM_NEVER;
	}
	swim_stats(sim->nodes[v].swim, &st);
	r->refutations = st.refutations;
	r->inc_delta = swim_self(sim->nodes[v].swim)->incarnation - inc0;
	r->dead_live = sim->c.dead_live;
	r->wrong = netsim_check_views(sim, true, &obs, &subj);
	netsim_free(sim);
	return 0;
}

/* Ten seeds: never DEAD, and every run where it was suspected refutes. */
static bool
scen_t_pause(const struct scen_opts *o, char *msg, size_t size)
{
	uint64_t pause = o->pause_ms ? o->pause_ms : scen_pause_ms(&o->p.cfg);
	struct scen_opts oo = *o;
	struct scen_pause r;
	uint32_t k, suspected = 0;

	for (k = 0; k < 10; k++) {
		oo.p.seed = o->p.seed + k;
		if (scen_pause_run(&oo, pause, &r, msg, size) < 0)
			return false;
		if (r.dead || r.dead_live) {
			scen_msg(msg, size,
				 "seed %" PRIu64 ": paused %" PRIu64 " ms, marked DEAD by %" PRIu64
				 " (DEAD marks of running nodes, the resumed one included: %" PRIu64
				 ")",
				 oo.p.seed, pause, r.dead, r.dead_live);
			return false;
		}
		if (r.suspecters && (r.refutations == 0 || r.inc_delta == 0)) {
			scen_msg(msg, size,
				 "seed %" PRIu64 ": suspected by %" PRIu64 " but no refutation",
				 oo.p.seed, r.suspecters);
			return false;
		}
		if (r.wrong) {
			scen_msg(msg, size,
				 "seed %" PRIu64 ": %zu wrong table entries 30 s after resume",
				 oo.p.seed, r.wrong);
			return false;
		}
		suspected += r.suspecters > 0;
	}
	if (suspected == 0) {
		scen_msg(msg, size, "paused %" PRIu64 " ms in 10 runs, never suspected: vacuous",
			 pause);
		return false;
	}
	scen_msg(msg, size,
		 "paused %" PRIu64 " ms, 10 seeds: suspected in %u and refuted, never DEAD", pause,
		 suspected);
	return true;
}

/* The 5 s pause outlasts the maximum suspicion with the defaults: it
 * is declared DEAD, and on resume it must refute its own death and be ALIVE
 * everywhere again, without its late timers killing anybody else. */
static bool
scen_t_pause_long(const struct scen_opts *o, char *msg, size_t size)
{
	struct scen_pause r;

	if (scen_pause_run(o, 5000, &r, msg, size) < 0)
		return false;
	if (r.dead_live) {
		scen_msg(msg, size, "%" PRIu64 " live nodes marked DEAD", r.dead_live);
		return false;
	}
	if (r.inc_delta == 0 || r.wrong) {
		scen_msg(msg, size,
			 "paused 5000 ms (DEAD at %" PRIu64 " of 19): refuted %s, %zu wrong "
			 "table entries 30 s after resume",
			 r.dead, r.inc_delta ? "yes" : "no", r.wrong);
		return false;
	}
	scen_msg(msg, size,
		 "paused 5000 ms: DEAD at %" PRIu64 " of 19, refuted on resume "
		 "(incarnation +%" PRIu64 "), ALIVE everywhere again",
		 r.dead, r.inc_delta);
	return true;
}

static bool
scen_t_restart(const struct scen_opts *o, char *msg, size_t size)
{
	struct netsim *sim = scen_cluster(o, 20, NULL, msg, size);
	uint32_t seed0 = 0, missing;
	bool ok = false;

	if (sim == NULL)
		return false;
	netsim_run_until(sim, sim->now_us + 5 * SCEN_S);
	/* (a) crash, everybody marks it DEAD, the new instance rejoins. */
	netsim_track_state(sim, 7);
	netsim_crash(sim, 7);
	if ((missing =
		     scen__run_until_all(sim, SCEN_OFF(dead_at_us), 10 * SCEN_MS, 120 * SCEN_S))) {
		scen_msg(msg, size, "%u nodes never marked the crashed node DEAD", missing);
		goto out;
	}
	netsim_run_until(sim, sim->now_us + 2 * SCEN_S);
	netsim_start(sim, 7, &seed0, 1);
	sim->track_alive_inc = sim->nodes[7].incarnation;
	if ((missing =
		     scen__run_until_all(sim, SCEN_OFF(alive_at_us), 10 * SCEN_MS, 60 * SCEN_S))) {
		scen_msg(msg, size,
			 "after DEAD: %u nodes never took the restarted instance as ALIVE",
			 missing);
		goto out;
	}
	/* (b) crash and restart before anyone could declare it dead. */
	netsim_track_state(sim, 8);
	netsim_crash(sim, 8);
	netsim_run_until(sim, sim->now_us + 500 * SCEN_MS);
	netsim_start(sim, 8, &seed0, 1);
	sim->track_alive_inc = sim->nodes[8].incarnation;
	if ((missing =
		     scen__run_until_all(sim, SCEN_OFF(alive_at_us), 10 * SCEN_MS, 60 * SCEN_S))) {
		scen_msg(msg, size, "quick restart: %u nodes never took the new instance as ALIVE",
			 missing);
		goto out;
	}
	netsim_run_until(sim, sim->now_us + 30 * SCEN_S);
	if (sim->c.dead_live) {
		scen_msg(msg, size, "%" PRIu64 " false DEAD (first: observer %u subject %u)",
			 sim->c.dead_live, sim->fp_log[0].observer, sim->fp_log[0].subject);
		goto out;
	}
	if (!scen_views_ok(sim, true, msg, size, "30 s after the restarts"))
		goto out;
	ok = true;
	scen_msg(msg, size,
		 "restart after DEAD and quick restart: new incarnations ALIVE everywhere");
out:
	netsim_free(sim);
	return ok;
}

static bool
scen_t_leave(const struct scen_opts *o, char *msg, size_t size)
{
	struct netsim *sim = scen_cluster(o, 20, NULL, msg, size);
	uint32_t missing, i, dead = 0;
	bool ok = false;

	if (sim == NULL)
		return false;
	netsim_run_until(sim, sim->now_us + 5 * SCEN_S);
	netsim_track_state(sim, 7);
	netsim_leave(sim, 7);
	missing = scen__run_until_all(sim, SCEN_OFF(left_at_us), 10 * SCEN_MS, 30 * SCEN_S);
	netsim_run_until(sim, sim->now_us + 60 * SCEN_S);
	for (i = 0; i < 20; i++)
		dead += sim->nodes[i].dead_at_us != NETSIM_NEVER;
	if (sim->nodes[7].status != NETSIM_GONE)
		scen_msg(msg, size, "the leaving node did not stop");
	else if (missing)
		scen_msg(msg, size, "%u of 19 nodes never saw LEFT", missing);
	else if (dead)
		scen_msg(msg, size, "%u nodes marked the leaving node DEAD", dead);
	else if (scen_views_ok(sim, true, msg, size, "60 s after the leave"))
		ok = true;
	if (ok)
		scen_msg(msg, size, "LEFT at all 19, DEAD at none");
	netsim_free(sim);
	return ok;
}

/* A digest of everything observable about a run. */
static uint64_t
scen_digest(const struct scen_opts *o)
{
	struct scen_opts oo = *o;
	uint64_t h = 1469598103934665603ULL, conv[3] = { 0, 0, 0 }, rng = 99;
	struct netsim *sim;
	uint32_t i;

	oo.p.nodes = 30;
	oo.trials = 2;
	oo.fp_seconds = 30;
	oo.bytes_seconds = 5;
	if ((sim = netsim_new(&oo.p)) == NULL || scen__boot(sim, &oo, conv) != 0) {
		netsim_free(sim);
		return 0;
	}
	netsim_set_loss(sim, 100000);
	netsim_run_until(sim, sim->now_us + 30 * SCEN_S);
	netsim_set_loss(sim, 0);
	scen__run_with_load(sim, 1000, 5 * SCEN_S, &rng);
	netsim_crash(sim, 3);
	netsim_run_until(sim, sim->now_us + 30 * SCEN_S);
	for (i = 0; i < oo.p.nodes; i++) {
		struct swim_stats st;

		h = (h ^ sim->nodes[i].bytes_out ^ sim->nodes[i].seen_at_us) * 1099511628211ULL;
		if (sim->nodes[i].swim) {
			swim_stats(sim->nodes[i].swim, &st);
			h = (h ^ st.msgs_in ^ (st.suspicions << 20) ^ (st.bytes_out << 7)) *
			    1099511628211ULL;
		}
	}
	h = (h ^ sim->c.sent ^ (sim->c.bytes << 3) ^ conv[0] ^ sim->c.events) * 1099511628211ULL;
	netsim_free(sim);
	return h;
}

static bool
scen_t_determinism(const struct scen_opts *o, char *msg, size_t size)
{
	uint64_t a = scen_digest(o), b = scen_digest(o);
	struct scen_opts other = *o;
	uint64_t c;

	other.p.seed = o->p.seed + 1;
	c = scen_digest(&other);
	if (a == 0 || a != b) {
		scen_msg(msg, size, "same seed, different runs: %016" PRIx64 " vs %016" PRIx64, a,
			 b);
		return false;
	}
	if (a == c) {
		scen_msg(msg, size,
			 "seeds %" PRIu64 " and %" PRIu64 " gave the same run: seed unused",
			 o->p.seed, other.p.seed);
		return false;
	}
	scen_msg(msg, size, "two runs with seed %" PRIu64 ": digest %016" PRIx64 " both times",
		 o->p.seed, a);
	return true;
}

static const struct scen_test scen_tests[] = {
	{ "join", scen_t_join },
	{ "crash", scen_t_crash },
	{ "loss", scen_t_loss },
	{ "partition", scen_t_partition },
	{ "partition-long", scen_t_partition_long },
	{ "pause", scen_t_pause },
	{ "pause-long", scen_t_pause_long },
	{ "restart", scen_t_restart },
	{ "leave", scen_t_leave },
	{ "determinism", scen_t_determinism },
	{ "liars", scen__t_liars },
};

void
scen_list(void)
{
	size_t k;

	for (k = 0; k < sizeof(scen_tests) / sizeof(scen_tests[0]); k++)
		printf("%s\n", scen_tests[k].name);
}

int
scen_test(const char *name, const struct scen_opts *o)
{
	size_t k;
	int failed = 0, ran = 0;
	char msg[512];

	for (k = 0; k < sizeof(scen_tests) / sizeof(scen_tests[0]); k++) {
		bool all = strcmp(name, "all") == 0, ok;
		double w0;

		if (!all && strcmp(name, scen_tests[k].name) != 0)
			continue;
		ran++;
		msg[0] = '\0';
		w0 = scen__wall();
		ok = scen_tests[k].fn(o, msg, sizeof(msg));
		failed += !ok;
		printf("%s netsim %s (seed %" PRIu64 "): %s", ok ? "PASS" : "FAIL",
		       scen_tests[k].name, o->p.seed, msg);
		if (o->wall)
			printf(" [%.1f s]", scen__wall() - w0);
		printf("\n");
		fflush(stdout);
	}
	return ran ? failed : -1;
}
