/*
 * scen_bench: the membership figures (`dst bench`): dissemination, load
 * samples, bytes, false positives under loss, crash detection, printed as
 * machine-readable "dst n=N name value ..." lines
 * (docs/dst.md, docs/benchmarks.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "scen_priv.h"
#include "swim_codec.h"

static long
scen_rss_mib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

static bool
scen_want(const struct scen_opts *o, const char *fig)
{
	const char *p = o->figures;
	size_t len = strlen(fig);

	if (p == NULL)
		return true;
	while ((p = strstr(p, fig)) != NULL) {
		if ((p == o->figures || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			return true;
		p += len;
	}
	return false;
}

static void
scen_print_config(const struct scen_opts *o, const struct swim_config *c)
{
	printf("dst config seed=%" PRIu64 " probe_interval_ms=%" PRIu64 " probe_timeout_ms=%" PRIu64
	       " gossip_interval_ms=%" PRIu64
	       " gossip_fanout=%u indirect_checks=%u suspicion_unit_ms=%" PRIu64
	       " suspicion_min_mult=%u suspicion_max_mult=%u"
	       " suspicion_confirmations=%u retransmit_mult=%u load_retransmit_mult=%u "
	       "awareness_max=%u"
	       " pushpull_interval_ms=%" PRIu64 " reap_after_ms=%" PRIu64 " max_payload=%zu"
	       " latency_us=%u..%u join_seeds=%u join_spread_ms=%" PRIu64 "\n",
	       o->p.seed, c->probe_interval_ms, c->probe_timeout_ms, c->gossip_interval_ms,
	       c->gossip_fanout, c->indirect_checks, c->suspicion_unit_ms, c->suspicion_min_mult,
	       c->suspicion_max_mult, c->suspicion_confirmations, c->retransmit_mult,
	       c->load_retransmit_mult, c->awareness_max, c->pushpull_interval_ms, c->reap_after_ms,
	       c->max_payload, o->p.lat_min_us, o->p.lat_max_us, o->nseeds, o->join_spread_ms);
}

/* Makes node r refute a suspicion only it hears of: its ALIVE record at a
 * new incarnation is then one ordinary update, queued with the full
 * retransmit count at r. Returns the new incarnation, or 0. */
static uint64_t
scen_refute(struct netsim *sim, uint32_t r)
{
	struct swim_msg hdr = { .type = SWIM_MSG_GOSSIP };
	const struct netsim_node *n = &sim->nodes[r];
	uint32_t accuser = (r + 1) % sim->p.nodes;
	uint8_t buf[SWIM_HEADER_MAX_LEN + SWIM_RECORD_MAX_LEN];
	struct swim_writer w;
	struct swim_record rec;
	uint64_t inc = swim_self(n->swim)->incarnation;

	memset(&rec, 0, sizeof(rec));
	rec.kind = SWIM_REC_ACCUSE;
	rec.id = n->id;
	rec.incarnation = inc;
	rec.state = SWIM_SUSPECT;
	rec.from = sim->nodes[accuser].id;
	{
		uint8_t msg[SWIM_SIGNED_MAX];

		netsim_sign(sim->nodes[accuser].key, msg,
			    swim_codec_signed(sim->p.cfg.cluster_id, &rec, NULL, msg), rec.sig);
	}
	if (swim_codec_begin(&w, buf, sizeof(buf), &hdr) < 0 || swim_codec_add(&w, &rec) < 0)
		return 0;
	netsim_inject(sim, r, accuser, SWIM_MSG_GOSSIP, buf, swim_codec_end(&w));
	return swim_self(n->swim)->incarnation > inc ? swim_self(n->swim)->incarnation : 0;
}

enum scen_update { SCEN_UPDATE_ALIVE, SCEN_UPDATE_LOAD };

/*
 * One update from one node (a hub with partial views): its refutation, or a
 * new load sample. Fills q[] with the times until 50%, 90%, 99.9% and 100%
 * of the UP nodes held it (NETSIM_NEVER: not within max_us).
 */
static int
scen_dissem_trial(struct netsim *sim, const struct scen_opts *o, uint64_t *rng,
		  enum scen_update kind, uint64_t max_us, uint64_t q[4])
{
	uint32_t hubs = o->p.nodes < SCEN_HUBS ? o->p.nodes : SCEN_HUBS;
	uint32_t r =
		scen__partial(o) ? (uint32_t)(scen__rand(rng) % hubs) : scen__pick_up(sim, rng, 0);
	size_t off = kind == SCEN_UPDATE_ALIVE ? SCEN_OFF(alive_at_us) : SCEN_OFF(seen_at_us);
	uint64_t t0 = sim->now_us, *times, inc;
	struct swim_load load;
	size_t n;

	if (kind == SCEN_UPDATE_ALIVE) {
		netsim_track_state(sim, r);
		if ((inc = scen_refute(sim, r)) == 0)
			return -EPROTO;
		sim->track_alive_inc = inc;
		sim->nodes[r].alive_at_us = t0;
	} else {
		memset(&load, 0, sizeof(load));
		load.cpu_permille = (uint16_t)(scen__rand(rng) % 1001);
		load.load1_permille = (uint16_t)(scen__rand(rng) % 2000);
		load.mem_permille = (uint16_t)(scen__rand(rng) % 1001);
		netsim_track_load(sim, r, netsim_set_load(sim, r, &load));
	}
	scen__run_until_all(sim, off, sim->p.cfg.gossip_interval_ms * SCEN_MS / 4, max_us);
	if ((times = malloc(sim->p.nodes * sizeof(*times))) == NULL)
		return -ENOMEM;
	n = scen__collect(sim, off, t0, UINT32_MAX, times);
	q[0] = scen__pct(times, n, 0.5);
	q[1] = scen__pct(times, n, 0.9);
	q[2] = scen__pct(times, n, 0.999);
	q[3] = scen__pct(times, n, 1.0);
	free(times);
	return 0;
}

/* "%.0f" of us in ms, or "never". */
static const char *
scen_ms(char *buf, size_t size, uint64_t us)
{
	if (us == NETSIM_NEVER)
		snprintf(buf, size, "never");
	else
		snprintf(buf, size, "%.0f", (double)us / 1000.0);
	return buf;
}

/* Runs `trials` trials; sorts each quantile across trials into q[quantile][trial]. */
static int
scen_dissem_trials(struct netsim *sim, const struct scen_opts *o, uint64_t *rng,
		   enum scen_update kind, uint64_t max_us, uint32_t trials, uint64_t *q[4])
{
	uint64_t one[4];
	uint32_t k, j;
	int err;

	for (k = 0; k < trials; k++) {
		if ((err = scen_dissem_trial(sim, o, rng, kind, max_us, one)) < 0)
			return err;
		for (j = 0; j < 4; j++)
			q[j][k] = one[j];
		netsim_run_until(sim, sim->now_us + 2 * SCEN_S);
	}
	for (j = 0; j < 4; j++)
		qsort(q[j], trials, sizeof(*q[j]), scen__cmp_u64);
	return 0;
}

/*
 * Dissemination of one membership update (headline), then how far a single
 * load sample travels: since loads only ride on messages sent anyway, that
 * is measured over a push-pull period.
 */
static void
scen_bench_dissem(struct netsim *sim, const struct scen_opts *o, uint64_t *rng)
{
	uint32_t n = o->p.nodes, t = o->trials, lt = t < 3 ? t : 3, j;
	double gi = (double)sim->p.cfg.gossip_interval_ms, f = sim->p.cfg.gossip_fanout;
	double floor_r = log((double)n) / log(f + 1) + log((double)n) / f, med;
	uint64_t *q[4] = { NULL, NULL, NULL, NULL }, pp = scen__pushpull_ms(&sim->p.cfg, n);
	char a[32], b[32], c[32], d[32];

	for (j = 0; j < 4; j++)
		if ((q[j] = calloc(t, sizeof(*q[j]))) == NULL)
			goto out;
	if (scen_dissem_trials(sim, o, rng, SCEN_UPDATE_ALIVE, 60 * SCEN_S, t, q) < 0)
		goto out;
	med = (double)scen__pct(q[2], t, 0.5) / 1000.0;
	if (q[2][t / 2] == NETSIM_NEVER)
		printf("dst n=%u dissemination_rounds_p999 never (within 60 s)\n", n);
	else
		printf("dst n=%u dissemination_rounds_p999 %.1f floor %.1f ratio %.2f\n", n,
		       med / gi, floor_r, med / gi / floor_r);
	printf("dst n=%u dissemination_ms_p999 median %s max %s all_nodes_ms median %s max %s "
	       "trials %u (a refutation: ALIVE at a new incarnation)\n",
	       n, scen_ms(a, sizeof(a), scen__pct(q[2], t, 0.5)),
	       scen_ms(b, sizeof(b), q[2][t - 1]), scen_ms(c, sizeof(c), scen__pct(q[3], t, 0.5)),
	       scen_ms(d, sizeof(d), q[3][t - 1]), t);
	if (pp == 0 || sim->p.cfg.pushpull_interval_ms == 0)
		pp = 60000;
	if (scen_dissem_trials(sim, o, rng, SCEN_UPDATE_LOAD, (pp + 10000) * SCEN_MS, lt, q) < 0)
		goto out;
	printf("dst n=%u load_sample_ms p50 %s p90 %s p999 %s all %s (median of %u trials, "
	       "waited up to %" PRIu64 " s)\n",
	       n, scen_ms(a, sizeof(a), scen__pct(q[0], lt, 0.5)),
	       scen_ms(b, sizeof(b), scen__pct(q[1], lt, 0.5)),
	       scen_ms(c, sizeof(c), scen__pct(q[2], lt, 0.5)),
	       scen_ms(d, sizeof(d), scen__pct(q[3], lt, 0.5)), lt, (pp + 10000) / 1000);
out:
	for (j = 0; j < 4; j++)
		free(q[j]);
}

/* Crashes one node per trial; pools every observer's time to DEAD. */
static void
scen_bench_crash(struct netsim *sim, const struct scen_opts *o, uint64_t *rng)
{
	uint32_t n = o->p.nodes, k, missing = 0;
	uint64_t *dead = calloc((size_t)o->trials * n, sizeof(*dead));
	uint64_t *susp = calloc((size_t)o->trials * n, sizeof(*susp));
	uint64_t *last = calloc(o->trials, sizeof(*last)), fp0 = sim->c.dead_live;
	size_t nd = 0, ns = 0, c;

	if (dead == NULL || susp == NULL || last == NULL)
		goto out;
	for (k = 0; k < o->trials && n > o->nseeds + SCEN_HUBS + 1; k++) {
		uint32_t v = scen__pick_up(sim, rng, scen__partial(o) ? SCEN_HUBS : o->nseeds);
		uint64_t t0;

		/* A random phase against the probe timers of the others. */
		netsim_run_until(sim,
				 sim->now_us + scen__rand(rng) %
						       (sim->p.cfg.probe_interval_ms * SCEN_MS));
		netsim_track_state(sim, v);
		t0 = sim->now_us;
		netsim_crash(sim, v);
		missing +=
			scen__run_until_all(sim, SCEN_OFF(dead_at_us), 10 * SCEN_MS, 600 * SCEN_S);
		c = scen__collect(sim, SCEN_OFF(dead_at_us), t0, v, dead + nd);
		last[k] = c ? dead[nd + c - 1] : NETSIM_NEVER; /* the whole cluster knows */
		nd += c;
		ns += scen__collect(sim, SCEN_OFF(suspect_at_us), t0, v, susp + ns);
		netsim_run_until(sim, sim->now_us + 5 * SCEN_S);
	}
	qsort(dead, nd, sizeof(*dead), scen__cmp_u64);
	qsort(susp, ns, sizeof(*susp), scen__cmp_u64);
	qsort(last, k, sizeof(*last), scen__cmp_u64);
	printf("dst n=%u crash_detect_ms median %.0f p99 %.0f max %.0f trials %u observations "
	       "%zu undetected %u\n",
	       n, (double)scen__pct(dead, nd, 0.5) / 1000.0,
	       (double)scen__pct(dead, nd, 0.99) / 1000.0, nd ? (double)dead[nd - 1] / 1000.0 : 0.0,
	       k, nd, missing);
	printf("dst n=%u crash_detect_all_observers_ms median %.0f p99 %.0f max %.0f trials "
	       "%u\n",
	       n, (double)scen__pct(last, k, 0.5) / 1000.0,
	       (double)scen__pct(last, k, 0.99) / 1000.0, k ? (double)last[k - 1] / 1000.0 : 0.0,
	       k);
	printf("dst n=%u crash_first_suspect_ms median %.0f p99 %.0f suspicion_min_ms %.0f "
	       "false_deaths_during %" PRIu64 "\n",
	       n, (double)scen__pct(susp, ns, 0.5) / 1000.0,
	       (double)scen__pct(susp, ns, 0.99) / 1000.0, scen__suspicion_min_ms(&sim->p.cfg, n),
	       sim->c.dead_live - fp0);
out:
	free(dead);
	free(susp);
	free(last);
}

/* How far behind the owners' load samples the tables are, over (observer,
 * subject) pairs of UP nodes; at most 200 observers. Load versions are the
 * owner's wall-clock seconds, so (owner's newest - held) is how many seconds
 * of the owner's news the observer has missed; within_5s counts pairs at most
 * 5 s behind. */
static void
scen_load_staleness(const struct netsim *sim, uint32_t n)
{
	uint64_t pairs = 0, current = 0, within1 = 0, behind = 0, *lag;
	uint32_t i, step = n > 200 ? n / 200 : 1;
	size_t k;

	lag = calloc((size_t)(n / step + 1) * n, sizeof(*lag));
	if (lag == NULL)
		return;
	for (i = 0; i < n; i += step) {
		const struct swim *o = sim->nodes[i].swim;

		if (sim->nodes[i].status != NETSIM_UP)
			continue;
		for (k = 0; k < swim_count(o); k++) {
			const struct swim_member *m = swim_member_at(o, k);
			const struct netsim_node *subj;
			uint32_t have, want;

			if (m->id == sim->nodes[i].id || m->id < NETSIM_ID_BASE ||
			    m->id - NETSIM_ID_BASE >= n)
				continue;
			subj = &sim->nodes[m->id - NETSIM_ID_BASE];
			if (subj->status != NETSIM_UP)
				continue;
			want = swim_self(subj->swim)->load.version;
			have = m->load.version;
			lag[pairs++] = have < want ? want - have : 0;
			current += have >= want;
			within1 += have + 5 >= want;
			behind += have < want ? want - have : 0;
		}
	}
	qsort(lag, pairs, sizeof(*lag), scen__cmp_u64);
	printf("dst n=%u load_views current %.1f%% within_5s %.1f%% "
	       "seconds_behind mean %.1f p90 %" PRIu64 " pairs %" PRIu64 "\n",
	       n, pairs ? 100.0 * (double)current / (double)pairs : 0.0,
	       pairs ? 100.0 * (double)within1 / (double)pairs : 0.0,
	       pairs ? (double)behind / (double)pairs : 0.0, scen__pct(lag, pairs, 0.9), pairs);
	free(lag);
}

static void
scen_bytes_line(const struct netsim *sim, uint32_t n, const char *name, uint64_t b0, uint64_t m0,
		const uint64_t *tb0, double per)
{
	const uint64_t *tb = sim->c.bytes_by_type;

	printf("dst n=%u %s %.0f msgs_per_node_per_sec %.1f (ping %.0f ack %.0f ping_req %.0f "
	       "nack %.0f state %.0f gossip %.0f digest %.0f B/s)",
	       n, name, (double)(sim->c.bytes - b0) / per, (double)(sim->c.sent - m0) / per,
	       (double)(tb[SWIM_MSG_PING] - tb0[1]) / per,
	       (double)(tb[SWIM_MSG_ACK] - tb0[2]) / per,
	       (double)(tb[SWIM_MSG_PING_REQ] - tb0[3]) / per,
	       (double)(tb[SWIM_MSG_NACK] - tb0[4]) / per,
	       (double)(tb[SWIM_MSG_STATE] - tb0[5]) / per,
	       (double)(tb[SWIM_MSG_GOSSIP] - tb0[6]) / per,
	       (double)(tb[SWIM_MSG_DIGEST] - tb0[7]) / per);
}

/* Bytes on the wire (payload + WIRE_OVERHEAD) per live node and second:
 * idle over one push-pull period, then with every node publishing loads. */
static void
scen_bench_bytes(struct netsim *sim, const struct scen_opts *o, uint64_t *rng)
{
	uint32_t n = o->p.nodes, live = netsim_live_count(sim);
	uint64_t secs = o->bytes_seconds, pp = scen__pushpull_ms(&sim->p.cfg, n) / 1000;
	uint64_t b0 = sim->c.bytes, m0 = sim->c.sent, tb0[8];

	if (sim->p.cfg.pushpull_interval_ms > 0 && pp > secs)
		secs = pp;
	memcpy(tb0, sim->c.bytes_by_type, sizeof(tb0));
	netsim_run_until(sim, sim->now_us + secs * SCEN_S);
	scen_bytes_line(sim, n, "bytes_per_node_per_sec", b0, m0, tb0, (double)live * (double)secs);
	printf(" idle over %" PRIu64 " s\n", secs);
	if (scen__partial(o)) {
		/* Every load record names its owner to every node: the partial
		 * views would fill up to full tables, which is what does not fit. */
		printf("# n=%u bytes_per_node_per_sec_with_load not measured with partial views\n",
		       n);
		return;
	}
	b0 = sim->c.bytes;
	m0 = sim->c.sent;
	memcpy(tb0, sim->c.bytes_by_type, sizeof(tb0));
	secs = o->bytes_seconds;
	scen__run_with_load(sim, o->load_every_ms, secs * SCEN_S, rng);
	scen_bytes_line(sim, n, "bytes_per_node_per_sec_with_load", b0, m0, tb0,
			(double)live * (double)secs);
	printf(" every node publishes a load every %" PRIu64 " ms, over %" PRIu64 " s\n",
	       o->load_every_ms, secs);
	scen_load_staleness(sim, n);
}

static void
scen_print_fp_log(const struct netsim *sim, size_t from)
{
	size_t k;

	for (k = from; k < sim->nfp_log; k++)
		printf("#   false %s: observer %u subject %u at t=%.3f s\n",
		       swim_state_name(sim->fp_log[k].state), sim->fp_log[k].observer,
		       sim->fp_log[k].subject,
		       (double)(sim->fp_log[k].at_us - NETSIM_T0_MS * SCEN_MS) / 1e6);
}

static void
scen_bench_fp(struct netsim *sim, const struct scen_opts *o)
{
	uint64_t d0 = sim->c.dead_live, s0 = sim->c.suspect_live, l0 = sim->c.drop_loss;
	uint64_t e0 = sim->c.suspect_episodes;
	uint64_t sent0 = sim->c.sent, conv = 0;
	size_t log0 = sim->nfp_log;
	uint32_t n = o->p.nodes;

	netsim_set_loss(sim, o->fp_loss_ppm);
	netsim_run_until(sim, sim->now_us + o->fp_seconds * SCEN_S);
	netsim_set_loss(sim, 0);
	printf("dst n=%u false_positives_%upct_loss %" PRIu64 " over %" PRIu64
	       " s suspicions_of_live %" PRIu64 " (marks %" PRIu64 ") dropped %" PRIu64
	       " of %" PRIu64 "\n",
	       n, o->fp_loss_ppm / 10000, sim->c.dead_live - d0, o->fp_seconds,
	       sim->c.suspect_episodes - e0, sim->c.suspect_live - s0, sim->c.drop_loss - l0,
	       sim->c.sent - sent0);
	scen_print_fp_log(sim, log0);
	while (!scen__partial(o) && !netsim_converged(sim) && conv < 120000) {
		netsim_run_until(sim, sim->now_us + 100 * SCEN_MS);
		conv += 100;
	}
	if (conv)
		printf("# n=%u reconverged %" PRIu64 " ms after the loss stopped%s\n", n, conv,
		       netsim_converged(sim) ? "" : " (not yet: gave up)");
}

static void
scen_print_views(const struct netsim *sim, uint32_t n)
{
	uint64_t sum = 0, max = 0, c;
	uint32_t i, up = 0;

	for (i = 0; i < sim->p.nodes; i++) {
		if (sim->nodes[i].swim == NULL)
			continue;
		c = swim_count(sim->nodes[i].swim);
		sum += c;
		max = c > max ? c : max;
		up++;
	}
	printf("dst n=%u views members_per_table mean %.0f max %" PRIu64 "\n", n,
	       up ? (double)sum / up : 0.0, max);
}

int
scen_bench(const struct scen_opts *o)
{
	uint64_t rng = o->p.seed ^ 0x5eed5eed5eedULL, conv[3] = { 0, 0, 0 };
	double w0 = scen__wall();
	struct netsim_params p = o->p;
	struct netsim *sim;
	int rc = 1, err;

	if (o->view)
		p.nodes++; /* the sink of scen__prime */
	if (scen__partial(o))
		/* A push-pull hands over a whole table: views would fill up. */
		p.cfg.pushpull_interval_ms = 0;
	sim = netsim_new(&p);

	if (sim == NULL) {
		fprintf(stderr, "dst: out of memory\n");
		return 1;
	}
	scen_print_config(o, &p.cfg);
	err = o->view ? scen__prime(sim, o, &rng) : scen__boot(sim, o, conv);
	if (err != 0) {
		printf("dst n=%u bootstrap FAILED (%s) after %" PRIu64 " ms\n", o->p.nodes,
		       err > 0 ? "not converged" : "error", (sim->now_us / SCEN_MS) - NETSIM_T0_MS);
		goto out;
	}
	if (scen__partial(o))
		printf("dst n=%u bootstrap primed_view %u random members per node (partial "
		       "views)\n",
		       o->p.nodes, o->view);
	else if (o->view)
		printf("dst n=%u bootstrap primed full views (every node handed every "
		       "member)\n",
		       o->p.nodes);
	else if (scen_want(o, "boot"))
		printf("dst n=%u bootstrap_converge_ms %" PRIu64 " pairs_99pct_ms %" PRIu64
		       " pairs_999pct_ms %" PRIu64 " (join spread %" PRIu64 " ms, %" PRIu64
		       " msgs)\n",
		       o->p.nodes, conv[0], conv[1], conv[2], o->join_spread_ms, sim->c.sent);
	if (o->wall)
		printf("dst n=%u wall_s_bootstrap %.1f peak_rss_mib %ld\n", o->p.nodes,
		       scen__wall() - w0, scen_rss_mib());
	netsim_run_until(sim, sim->now_us + o->settle_ms * SCEN_MS);
	if (scen_want(o, "dissem"))
		scen_bench_dissem(sim, o, &rng);
	if (scen_want(o, "bytes"))
		scen_bench_bytes(sim, o, &rng);
	if (scen_want(o, "fp") && scen__partial(o))
		/* The helpers of indirect probes are strangers to their targets,
		 * which announce them: under loss the views fill up. */
		printf("# n=%u false positives not measured with partial views\n", o->p.nodes);
	else if (scen_want(o, "fp"))
		scen_bench_fp(sim, o);
	if (scen_want(o, "crash"))
		scen_bench_crash(sim, o, &rng);
	printf("dst n=%u sim msgs %" PRIu64 " delivered %" PRIu64 " oversize %" PRIu64
	       " unknown_dst %" PRIu64 " tick_clamps %" PRIu64 " virtual_s %.1f\n",
	       o->p.nodes, sim->c.sent, sim->c.delivered, sim->c.oversize, sim->c.drop_unknown,
	       sim->c.tick_clamps, (double)(sim->now_us / SCEN_MS - NETSIM_T0_MS) / 1000.0);
	scen__print_stats(sim, o->p.nodes);
	if (scen__partial(o))
		scen_print_views(sim, o->p.nodes);
	rc = sim->error ? 1 : 0;
out:
	if (o->wall)
		printf("dst n=%u wall_s %.1f peak_rss_mib %ld\n", o->p.nodes, scen__wall() - w0,
		       scen_rss_mib());
	netsim_free(sim);
	return rc;
}
