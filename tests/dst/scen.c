/*
 * scen: the scenarios' common ground (scen_priv.h): bootstrapping a cluster
 * through joins or primed views, running until every observer has seen
 * something, collecting per-observer times, and the options' defaults. The
 * figures are in scen_bench.c, the tests in scen_test.c
 * (docs/dst.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scen_priv.h"
#include "swim_codec.h"

void
scen_opts_default(struct scen_opts *o)
{
	memset(o, 0, sizeof(*o));
	netsim_params_default(&o->p);
	o->trials = 5;
	o->nseeds = 1;
	o->join_spread_ms = 1000;
	o->converge_max_ms = 600000;
	o->settle_ms = 10000;
	o->fp_seconds = 600;
	o->fp_loss_ppm = 100000;
	o->bytes_seconds = 30;
	o->load_every_ms = 2000; /* the agent's load_interval default (docs/load.md) */
}

uint64_t
scen__rand(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int
scen__cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array; q in (0, 1]. */
uint64_t
scen__pct(const uint64_t *v, size_t n, double q)
{
	size_t k = (size_t)ceil(q * (double)n);

	if (n == 0)
		return 0;
	if (k == 0)
		k = 1;
	return v[k > n ? n - 1 : k - 1];
}

double
scen__wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Minimum suspicion timeout the core should use for n members (docs/membership.md). */
double
scen__suspicion_min_ms(const struct swim_config *c, uint32_t n)
{
	double l = log10((double)n);

	return (double)c->suspicion_min_mult * (l < 1 ? 1 : l) * (double)c->suspicion_unit_ms;
}

/* Boots every node (node i joins the first min(i, nseeds) nodes), evenly over
 * join_spread_ms, and runs until every node holds every other ALIVE. 0 and
 * the time from the first boot in ms[0] (ms[1], ms[2]: until 99% and 99.9%
 * of the (observer, member) pairs), 1 on timeout, -errno on failure. */
int
scen__boot(struct netsim *sim, const struct scen_opts *o, uint64_t *ms)
{
	uint32_t n = sim->p.nodes, i, seeds[8];
	uint64_t t0 = sim->now_us, deadline = t0 + o->converge_max_ms * SCEN_MS;
	double pairs = (double)n * (double)(n - 1), have;
	int err;

	for (i = 0; i < n; i++) {
		uint64_t at = t0 + (n > 1 ? o->join_spread_ms * SCEN_MS * i / (n - 1) : 0);
		size_t k, ns = i < o->nseeds ? i : o->nseeds;

		for (k = 0; k < ns && k < 8; k++)
			seeds[k] = (uint32_t)k;
		if ((err = netsim_run_until(sim, at)) < 0 ||
		    (err = netsim_start(sim, i, seeds, ns)) < 0)
			return err;
	}
	ms[1] = ms[2] = 0;
	while (!netsim_converged(sim)) {
		if (sim->now_us >= deadline)
			return 1;
		if ((err = netsim_run_until(sim, sim->now_us + 50 * SCEN_MS)) < 0)
			return err;
		for (i = 0, have = 0; i < n; i++)
			have += sim->nodes[i].view_alive;
		if (ms[1] == 0 && have >= 0.99 * pairs)
			ms[1] = (sim->now_us - t0) / SCEN_MS;
		if (ms[2] == 0 && have >= 0.999 * pairs)
			ms[2] = (sim->now_us - t0) / SCEN_MS;
	}
	ms[0] = (sim->now_us - t0) / SCEN_MS;
	return 0;
}

/* Primed views smaller than the cluster (--view K < N - 1). */
bool
scen__partial(const struct scen_opts *o)
{
	return o->view != 0 && o->view < o->p.nodes - 1;
}

/* Hands node i the signed records of members `pick`, as if it had checked
 * each (swim_prime: no pings, no gossip of them). */
static int
scen_prime_node(struct netsim *sim, uint32_t i, uint32_t from, const uint32_t *pick, uint32_t npick,
		uint8_t *buf)
{
	struct swim_record r;
	uint32_t k;
	int err;

	(void)from;
	(void)buf;
	for (k = 0; k < npick; k++) {
		if (pick[k] == i || netsim_claim(sim, pick[k], &r) != 0)
			continue;
		err = swim_prime(sim->nodes[i].swim, &r, netsim_now_ms(sim));
		if (err < 0 && err != -EEXIST)
			return err;
	}
	return sim->error;
}

/* Node i and `half` others drawn uniformly (a partial Fisher-Yates shuffle
 * of perm, self skipped): the edges i-j of the view graph, into e[]. */
static uint32_t
scen_draw_edges(uint32_t n, uint32_t i, uint32_t half, uint32_t *perm, uint64_t *rng, uint32_t *e)
{
	uint32_t k, cnt = 0, j, tmp;

	for (k = 0; k < n && cnt < half; k++) {
		j = k + (uint32_t)(scen__rand(rng) % (n - k));
		tmp = perm[k];
		perm[k] = perm[j];
		perm[j] = tmp;
		if (perm[k] != i)
			e[cnt++] = perm[k];
	}
	return cnt;
}

/*
 * Partial views, for cluster sizes whose full tables do not fit in memory
 * (docs/dst.md). Every node boots alone knowing only a sink
 * (node N, never started), so that the announcement of itself a booting core
 * queues is spent on the sink. Then each node draws view/2 others uniformly
 * and every such pair learns each other: a random graph of mean degree
 * `view`, symmetric because a core that hears from a stranger asks who it is
 * and then announces it to everyone, which would fill every table. Each node
 * is handed its neighbours' records off the network, as one push-pull answer
 * would. Views grow only as gossip names members (suspicions, load updates,
 * the helpers of indirect probes). A member everybody knows comes to hear
 * from everybody, and the core announces each newcomer it hears from: so the
 * origins of the dissemination trials are SCEN_HUBS hubs, known to all and
 * knowing all, or one load update would fill every table.
 */
int
scen__prime(struct netsim *sim, const struct scen_opts *o, uint64_t *rng)
{
	uint32_t n = o->p.nodes, sink = n, half = (o->view < n - 1 ? o->view : n - 1) / 2;
	uint32_t *perm = malloc(n * sizeof(*perm)), *deg = calloc(n + 1, sizeof(*deg));
	uint32_t *e = malloc((size_t)n * half * sizeof(*e)), *adj = NULL, *fill = NULL;
	uint8_t *buf = malloc(sim->p.cfg.max_payload);
	uint64_t t0 = sim->now_us;
	uint32_t i, k, cnt;
	int err = -ENOMEM;

	if (perm == NULL || deg == NULL || e == NULL || buf == NULL || half == 0)
		goto out;
	for (i = 0; i < n; i++) {
		perm[i] = i;
		if ((err = netsim_run_until(sim, t0 + o->join_spread_ms * SCEN_MS * i / (n - 1))) <
			    0 ||
		    (err = netsim_start(sim, i, NULL, 0)) < 0 ||
		    (err = scen_prime_node(sim, i, sink, &sink, 1, buf)) < 0)
			goto out;
	}
	/* Long enough for every announcement to reach its retransmit limit. */
	netsim_run_until(sim, sim->now_us + 5 * SCEN_S);
	if (!scen__partial(o)) {
		for (i = 0, err = 0; i < n && err == 0; i++)
			err = scen_prime_node(sim, i, sink, perm, n, buf);
		goto out;
	}
	for (i = 0; i < n; i++) {
		cnt = scen_draw_edges(n, i, half, perm, rng, e + (size_t)i * half);
		for (k = 0; k < cnt; k++)
			deg[i + 1]++, deg[e[(size_t)i * half + k] + 1]++;
		for (; k < half; k++)
			e[(size_t)i * half + k] = i; /* none: n too small */
	}
	for (i = 0; i < n; i++)
		deg[i + 1] += deg[i]; /* deg[i]: where i's neighbours start in adj */
	err = -ENOMEM;
	if ((adj = malloc((size_t)deg[n] * sizeof(*adj) + 1)) == NULL ||
	    (fill = malloc(n * sizeof(*fill))) == NULL)
		goto out;
	memcpy(fill, deg, n * sizeof(*fill));
	for (i = 0; i < n; i++) {
		for (k = 0; k < half; k++) {
			uint32_t j = e[(size_t)i * half + k];

			if (j == i)
				continue;
			adj[fill[i]++] = j;
			adj[fill[j]++] = i;
		}
	}
	for (i = 0, err = 0; i < n && err == 0; i++)
		if (deg[i + 1] > deg[i])
			err = scen_prime_node(sim, i, sink, adj + deg[i], deg[i + 1] - deg[i], buf);
	/* The hubs know everybody and everybody knows them. */
	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = 0; i < n && err == 0; i++) {
		if (i < SCEN_HUBS)
			err = scen_prime_node(sim, i, sink, perm, n, buf);
		else
			err = scen_prime_node(sim, i, sink, perm, SCEN_HUBS < n ? SCEN_HUBS : n,
					      buf);
	}
out:
	free(perm);
	free(deg);
	free(e);
	free(adj);
	free(fill);
	free(buf);
	return err;
}

/* Runs until every UP node's field at byte offset `off` is set, or `max_us`
 * passes. Returns how many UP nodes still lack it. The tracked subject does
 * not observe itself. */
uint32_t
scen__run_until_all(struct netsim *sim, size_t off, uint64_t step_us, uint64_t max_us)
{
	uint64_t end = sim->now_us + max_us;
	uint32_t i, missing;

	for (;;) {
		missing = 0;
		for (i = 0; i < sim->p.nodes; i++) {
			const struct netsim_node *n = &sim->nodes[i];
			uint64_t v;

			memcpy(&v, (const char *)n + off, sizeof(v));
			if (n->status == NETSIM_UP && v == NETSIM_NEVER &&
			    n->id != sim->track_state_id)
				missing++;
		}
		if (missing == 0 || sim->now_us >= end || sim->error)
			return missing;
		netsim_run_until(sim, sim->now_us + step_us);
	}
}

/* Collects (field - t0) of every UP node except `skip` into v; returns count. */
size_t
scen__collect(const struct netsim *sim, size_t off, uint64_t t0, uint32_t skip, uint64_t *v)
{
	size_t k = 0;
	uint32_t i;

	for (i = 0; i < sim->p.nodes; i++) {
		const struct netsim_node *n = &sim->nodes[i];
		uint64_t x;

		if (n->status != NETSIM_UP || i == skip)
			continue;
		memcpy(&x, (const char *)n + off, sizeof(x));
		v[k++] = x == NETSIM_NEVER ? NETSIM_NEVER : x - t0;
	}
	qsort(v, k, sizeof(*v), scen__cmp_u64);
	return k;
}

/* A random UP node with index >= lowest (the first UP one from a random
 * start), or `lowest` itself when there is none. */
uint32_t
scen__pick_up(const struct netsim *sim, uint64_t *rng, uint32_t lowest)
{
	uint32_t n = sim->p.nodes, span = n - lowest, start, k, i;

	start = (uint32_t)(scen__rand(rng) % span);
	for (k = 0; k < span; k++) {
		i = lowest + (start + k) % span;
		if (sim->nodes[i].status == NETSIM_UP)
			return i;
	}
	return lowest;
}

/* The core's push-pull period for n members (memberlist's scaling, as
 * docs/membership.md gives it): the idle bytes window spans one. */
uint64_t
scen__pushpull_ms(const struct swim_config *c, uint32_t n)
{
	if (n <= 32)
		return c->pushpull_interval_ms;
	return c->pushpull_interval_ms * (uint64_t)(ceil(log2((double)n) - 5.0) + 1.0);
}

/* Every UP node sets a new load once per period, evenly staggered. */
void
scen__run_with_load(struct netsim *sim, uint64_t period_ms, uint64_t dur_us, uint64_t *rng)
{
	uint64_t slot_us = 10 * SCEN_MS, t0 = sim->now_us, slots = period_ms * SCEN_MS / slot_us;
	uint32_t n = sim->p.nodes, i;
	uint64_t s;

	if (slots == 0)
		slots = 1;
	for (s = 0; s * slot_us < dur_us; s++) {
		uint64_t slot = s % slots;
		uint32_t lo = (uint32_t)((slot * n + slots - 1) / slots);
		uint32_t hi = (uint32_t)(((slot + 1) * n + slots - 1) / slots);
		struct swim_load load;

		netsim_run_until(sim, t0 + s * slot_us);
		for (i = lo; i < hi && i < n; i++) {
			if (sim->nodes[i].status != NETSIM_UP)
				continue;
			memset(&load, 0, sizeof(load));
			load.cpu_permille = (uint16_t)(scen__rand(rng) % 1001);
			load.load1_permille = (uint16_t)(scen__rand(rng) % 2000);
			load.mem_permille = (uint16_t)(scen__rand(rng) % 1001);
			netsim_set_load(sim, i, &load);
		}
	}
	netsim_run_until(sim, t0 + dur_us);
}

/* The cores' own counters, summed over the running nodes. */
static void
scen_sum_stats(const struct netsim *sim, struct swim_stats *sum)
{
	struct swim_stats st;
	uint32_t i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < sim->p.nodes; i++) {
		if (sim->nodes[i].swim == NULL)
			continue;
		swim_stats(sim->nodes[i].swim, &st);
		sum->probes += st.probes;
		sum->probe_acks += st.probe_acks;
		sum->indirect_probes += st.indirect_probes;
		sum->nacks_sent += st.nacks_sent;
		sum->nacks_received += st.nacks_received;
		sum->suspicions += st.suspicions;
		sum->refutations += st.refutations;
		sum->deaths += st.deaths;
		sum->decode_errors += st.decode_errors;
	}
}

void
scen__print_stats(const struct netsim *sim, uint32_t n)
{
	struct swim_stats t;

	scen_sum_stats(sim, &t);
	printf("dst n=%u core probes %" PRIu64 " acks %" PRIu64 " indirect %" PRIu64
	       " nacks_sent %" PRIu64 " nacks_received %" PRIu64 " suspicions %" PRIu64
	       " refutations %" PRIu64 " deaths %" PRIu64 " decode_errors %" PRIu64 "\n",
	       n, t.probes, t.probe_acks, t.indirect_probes, t.nacks_sent, t.nacks_received,
	       t.suspicions, t.refutations, t.deaths, t.decode_errors);
}
