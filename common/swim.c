/*
 * swim: SWIM membership with Lifeguard, as a pure state machine
 * (include/swim.h, docs/membership.md).
 *
 * This file owns the protocol's moving parts: the probe cycle, indirect
 * probes and the relays we run for others, the gossip round, joins, leave and
 * reap, the reply budgets, and the dispatch of messages. Its other files:
 * swim_merge.c (what a record does to our view: signatures, bounds,
 * strangers), swim_digest.c (push-pull by digests); its modules: the payload
 * codec (swim_codec), the member table and probe order (swim_table), the
 * update queue (swim_bcast), the suspicion side table with Lifeguard's
 * timeout formula (swim_suspicion) and the application claims (swim_claims).
 * What they share is in swim_priv.h, beside them.
 *
 * Every record, whatever message carries it, goes through one merge path
 * (swim__apply_record); decisions taken here (a failed probe, an expired
 * suspicion) are expressed as records and go through it too, so the rules
 * are written once. Updates are queued by member id and encoded from the
 * table when sent, so the newest state of a member is what travels, with
 * the signatures it was signed with.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "log.h"
#include "swim_priv.h"
#include "wire.h"

_Static_assert(SWIM_MIN_PAYLOAD <= WIRE_MAX_PAYLOAD, "a record fits a datagram");
_Static_assert(SWIM_MAX_SKEW_MS == WIRE_MAX_SKEW_MS, "one clock bound");

/* Reply budgets (docs/membership.md, "Reply budgets"): per requester (its
 * id and its address, each) and for all requests together, per second and
 * burst. An honest peer asks for an answer once per push-pull and for a
 * correction once per stale message; rotating ids or addresses meet the
 * budget of all requests. */
#define SWIM_REPLY_SOURCES 256U
static const struct {
	uint32_t per_sec, burst, all_per_sec, all_burst;
} swim_reply_limits[SWIM_REPLY_KINDS] = {
	[SWIM_REPLY_ANSWER] = { 1, 3, 10, 30 },
	[SWIM_REPLY_FIX] = { 5, 1, 50, 100 },
	[SWIM_REPLY_WHO] = { 1, 3, 20, 60 },
};

static const char *const swim_state_names[] = { "alive", "suspect", "dead", "left" };

const char *
swim_state_name(enum swim_state st)
{
	if ((unsigned)st > SWIM_LEFT)
		return "unknown";
	return swim_state_names[st];
}

void
swim_config_default(struct swim_config *c)
{
	memset(c, 0, sizeof(*c));
	c->probe_interval_ms = 1000;
	c->probe_timeout_ms = 200;
	c->gossip_interval_ms = 200;
	c->gossip_fanout = 3;
	c->indirect_checks = 4;
	c->suspicion_unit_ms = 400;
	c->suspicion_min_mult = 1;
	c->suspicion_max_mult = 6;
	c->suspicion_confirmations = 2;
	c->retransmit_mult = 4;
	c->load_retransmit_mult = 1;
	c->awareness_max = 8;
	c->pushpull_interval_ms = 60000;
	c->reap_after_ms = 60000;
	c->join_retry_ms = 1000;
	c->max_payload = WIRE_MAX_PAYLOAD;
	c->max_joining = 32;
	c->load_min_interval_ms = 5000;
	c->load_news_permille = 200;
	c->load_budget_bytes = SWIM_LOAD_LEN + 8;
	c->load_bytes_per_sec = SWIM_LOAD_LEN + 8;
	c->verify_per_sec = 2000;
}

static bool
swim_config_ok(const struct swim_config *c)
{
	if (c->probe_interval_ms == 0 || c->probe_interval_ms > SWIM_MS_MAX ||
	    c->probe_timeout_ms == 0 || c->probe_timeout_ms >= c->probe_interval_ms)
		return false;
	if (c->gossip_interval_ms == 0 || c->gossip_interval_ms > SWIM_MS_MAX ||
	    c->gossip_fanout == 0 || c->gossip_fanout > SWIM_FANOUT_MAX ||
	    c->indirect_checks > SWIM_INDIRECT_MAX)
		return false;
	if (c->suspicion_unit_ms == 0 || c->suspicion_unit_ms > SWIM_MS_MAX ||
	    c->suspicion_min_mult == 0 || c->suspicion_min_mult > 100 ||
	    c->suspicion_max_mult == 0 || c->suspicion_max_mult > 100 ||
	    c->suspicion_confirmations > SWIM_SUSPICION_K_MAX)
		return false;
	if (c->retransmit_mult == 0 || c->retransmit_mult > 16 || c->load_retransmit_mult == 0 ||
	    c->load_retransmit_mult > c->retransmit_mult || c->awareness_max == 0 ||
	    c->awareness_max > 64)
		return false;
	if (c->pushpull_interval_ms > SWIM_MS_MAX || c->reap_after_ms == 0 ||
	    c->reap_after_ms > SWIM_MS_MAX || c->join_retry_ms == 0 ||
	    c->join_retry_ms > SWIM_MS_MAX || c->load_min_interval_ms > SWIM_MS_MAX ||
	    c->load_news_permille > UINT16_MAX)
		return false;
	if (c->max_joining == 0 || c->max_joining > SWIM_JOINING_MAX || c->verify_per_sec == 0 ||
	    c->verify_per_sec > 1000000 || c->load_budget_bytes < SWIM_LOAD_LEN + 8 ||
	    2 * c->load_bytes_per_sec < SWIM_LOAD_LEN + 8 || c->load_bytes_per_sec > 1000000)
		return false;
	return c->max_payload >= SWIM_MIN_PAYLOAD && c->max_payload <= UINT16_MAX;
}

static bool
swim_addr_valid(const struct swim_addr *a)
{
	return a != NULL && (a->family == 4 || a->family == 6) && a->port != 0;
}

bool
swim__addr_eq(const struct swim_addr *a, const struct swim_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

struct swim_member *
swim__me(struct swim *s)
{
	return &s->tab.members[0];
}

static uint64_t
swim_random64(struct swim *s)
{
	return (uint64_t)s->ops.random(s->arg) << 32 | s->ops.random(s->arg);
}

uint64_t
swim__min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t
swim__wall_ms(struct swim *s, uint64_t now)
{
	return s->ops.wall != NULL ? s->ops.wall(s->arg) : now;
}

void
swim__bucket_refill(struct swim_bucket *b, uint64_t per_sec, uint64_t now)
{
	uint64_t cap = 2000ULL * per_sec, add;

	if (now <= b->last)
		return;
	add = (now - b->last) * per_sec;
	b->milli = add > cap || b->milli + add > cap ? cap : b->milli + add;
	b->last = now;
}

static void
swim_awareness(struct swim *s, int delta)
{
	int64_t v = (int64_t)s->awareness + delta;

	if (v < 0)
		v = 0;
	if (v > (int64_t)s->cfg.awareness_max - 1)
		v = (int64_t)s->cfg.awareness_max - 1;
	s->awareness = (uint32_t)v;
}

/* ceil(log10(N + 1)), in integers. */
static uint32_t
swim_log10_members(const struct swim *s)
{
	uint64_t x = (uint64_t)s->tab.count + 1, p = 1;
	uint32_t digits = 0;

	while (p < x) {
		p *= 10;
		digits++;
	}
	return digits;
}

/* retransmit_mult x ceil(log10(N + 1)). */
static uint32_t
swim_retransmit_limit(const struct swim *s)
{
	return s->cfg.retransmit_mult * swim_log10_members(s);
}

/* Push-pull period: memberlist's pushPullScale (x (ceil(log2 N - 5) + 1) above 32). */
static uint64_t
swim_pushpull_interval(const struct swim *s)
{
	uint64_t k = 0;

	if (s->tab.count <= SWIM_PUSHPULL_SCALE_THRESHOLD)
		return s->cfg.pushpull_interval_ms;
	/* k = ceil(log2 N - log2 32), in integers */
	while (((uint64_t)SWIM_PUSHPULL_SCALE_THRESHOLD << k) < s->tab.count)
		k++;
	return s->cfg.pushpull_interval_ms * (k + 1);
}

static uint64_t
swim_probe_interval(const struct swim *s)
{
	return s->cfg.probe_interval_ms * (s->awareness + 1);
}

/* How long DEAD members still get gossip, so they learn it and refute. */
static uint64_t
swim_gossip_to_dead_ms(const struct swim *s)
{
	return s->cfg.reap_after_ms / 2;
}

void
swim__event(struct swim *s, const struct swim_member *m, enum swim_state old, bool is_new)
{
	if (s->ops.event != NULL)
		s->ops.event(s->arg, m, old, is_new);
}

void
swim__queue(struct swim *s, uint64_t id, uint64_t from)
{
	if (swim_bcast_put(&s->bq, id, from) != 0)
		log_trace(TRACE_GOSSIP, "swim: update queue: out of memory");
}

#define SWIM_LOAD_MIN_SENDS 3

/*
 * A load sample that changed nothing else: sent load_retransmit_mult x
 * ceil(log10(N + 1)) times (at least 3), on messages that go out anyway. Loads change all
 * the time and a lost one is replaced by the next sample or repaired by
 * push-pull, so they must not cost datagrams of their own: at N = 100 with
 * every update sent 12 times in dedicated gossip rounds, load alone was
 * ~25 kB/s per node (docs/benchmarks-serf.md).
 */
void
swim__queue_load(struct swim *s, uint64_t id)
{
	uint32_t limit = swim_retransmit_limit(s);
	uint32_t sends = s->cfg.load_retransmit_mult * swim_log10_members(s);

	/* At least 3, so that in a small cluster one unlucky pick of peers does
	 * not leave a member without the sample until the next push-pull. */
	if (sends < SWIM_LOAD_MIN_SENDS)
		sends = SWIM_LOAD_MIN_SENDS;

	if (swim_bcast_put_quiet(&s->bq, id, sends < limit ? limit - sends : 0) != 0)
		log_trace(TRACE_GOSSIP, "swim: update queue: out of memory");
}

/* ---- records ---- */

int
swim__put_member(struct swim *s, struct swim_writer *w, const struct swim_member *m, uint64_t from,
		 bool claim, bool key, bool load)
{
	const struct swim_suspicion *sp;
	struct swim_record c, a, l;
	bool accused = claim && (m->state == SWIM_SUSPECT || m->state == SWIM_DEAD);
	size_t need = 0;

	load = load && m->load.version != 0;
	memset(&c, 0, sizeof(c));
	c.kind = SWIM_REC_MEMBER;
	c.id = m->id;
	c.incarnation = m->incarnation;
	c.state = m->state == SWIM_LEFT ? SWIM_LEFT : SWIM_ALIVE;
	c.addr = m->addr;
	memcpy(c.name, m->name, sizeof(c.name));
	c.has_key = key;
	memcpy(c.key, m->key, sizeof(c.key));
	memcpy(c.sig, m->sig, sizeof(c.sig));
	if (accused) {
		const uint8_t *sig;

		memset(&a, 0, sizeof(a));
		a.kind = SWIM_REC_ACCUSE;
		a.id = m->id;
		a.incarnation = m->incarnation;
		a.state = m->state;
		/* SUSPECT: the quoted accuser's signed accusation (else the first
		 * one's); DEAD: our own verdict, the only DEAD we hold. */
		sp = swim_suspicions_find(&s->susp, m->id);
		if (m->state == SWIM_DEAD || sp == NULL) {
			a.state = SWIM_DEAD;
			a.from = swim__me(s)->id;
			sig = m->dead_sig;
		} else {
			a.from = from;
			if ((sig = swim_suspicions_sig(&s->susp, m->id, from)) == NULL) {
				a.from = sp->accusers[0];
				sig = sp->sigs[0];
			}
		}
		memcpy(a.sig, sig, sizeof(a.sig));
		need += SWIM_ACCUSE_LEN;
	}
	if (load) {
		memset(&l, 0, sizeof(l));
		l.kind = SWIM_REC_LOAD;
		l.id = m->id;
		l.load = m->load;
		memcpy(l.sig, m->load_sig, sizeof(l.sig));
		need += swim_codec_record_len(&l);
	}
	need += claim ? swim_codec_record_len(&c) : 0;
	if (w->cap - w->len < need || (size_t)w->count + claim + accused + load > UINT8_MAX)
		return -EMSGSIZE;
	if ((claim && swim_codec_add(w, &c) != 0) || (accused && swim_codec_add(w, &a) != 0) ||
	    (load && swim_codec_add(w, &l) != 0))
		return -EINVAL; /* cannot happen for a member of our table */
	return 0;
}

static void
swim_trace_state(const struct swim_member *m, enum swim_state old, uint64_t accuser)
{
	if (!log_trace_enabled(TRACE_GOSSIP))
		return;
	log_trace(TRACE_GOSSIP,
		  "swim: member %" PRIu64 " %s -> %s (incarnation %" PRIu64 ", by %" PRIu64 ")",
		  m->id, swim_state_name(old), swim_state_name(m->state), m->incarnation, accuser);
}

static void swim_confirm_probe(struct swim *s, const struct swim_member *m, uint64_t now);

/* Moves m to `st` with the bookkeeping every state needs; a suspicion keeps
 * its accuser's signature `sig` (to relay it unchanged; NULL otherwise). */
void
swim__transition(struct swim *s, struct swim_member *m, enum swim_state st, uint64_t accuser,
		 const uint8_t *sig, uint64_t now)
{
	enum swim_state old = m->state;
	uint64_t n = s->tab.count, min_ms;

	if (old == SWIM_SUSPECT && st != SWIM_SUSPECT)
		swim_suspicions_stop(&s->susp, m->id);
	if (st == SWIM_SUSPECT) {
		min_ms = swim_suspicion_min_ms(s->cfg.suspicion_min_mult, n,
					       s->cfg.suspicion_unit_ms);
		if (swim_suspicions_start(&s->susp, m->id, accuser, now,
					  swim_suspicion_k(s->cfg.suspicion_confirmations, n),
					  min_ms, min_ms * s->cfg.suspicion_max_mult) != 0)
			return;	 /* out of memory: stay as we were rather than hang */
		if (sig != NULL) /* before the check below relays it */
			swim_suspicions_set_sig(&s->susp, m->id, accuser, sig);
		s->st.suspicions++;
	} else if (st == SWIM_DEAD) {
		s->st.deaths++;
	} else if (st == SWIM_LEFT) {
		s->st.leaves++;
	} else if (old == SWIM_DEAD || old == SWIM_LEFT) {
		s->st.joins++;
	}
	if (old != st)
		(void)swim_table_set_state(&s->tab, m, st, now);
	m->updated = now;
	swim_trace_state(m, old, accuser);
	if (st == SWIM_SUSPECT && old != SWIM_SUSPECT && accuser != swim__me(s)->id)
		swim_confirm_probe(s, m, now);
}

/* The current sender holds an older verdict about `id` than we do: tell it
 * (a member that missed a refutation would otherwise keep a stale suspicion
 * until it runs out and declares a live member dead). */
void
swim__fix_add(struct swim *s, uint64_t id)
{
	for (uint32_t i = 0; i < s->nfix; i++)
		if (s->fix[i] == id)
			return;
	if (s->nfix < SWIM_FIX_MAX)
		s->fix[s->nfix++] = id;
}

/* ---- sending ---- */

void
swim__send(struct swim *s, uint64_t to_id, const struct swim_addr *to, uint8_t type, size_t len)
{
	s->ops.send(s->arg, to_id, to, type, s->buf, len);
	s->st.msgs_out++;
	s->st.bytes_out += len;
}

struct swim_fill {
	struct swim *s;
	struct swim_writer *w;
	const uint64_t *skip; /* already in the message */
	uint32_t nskip;
	uint32_t load_bytes; /* LOAD records in this message so far */
};

/*
 * One queued update. A loud entry (a state change) carries the member's
 * claim, with its key (a stranger needs it to be introduced), its accusation
 * when it is SUSPECT or DEAD, and its load; a quiet entry (a load sample that
 * changed nothing else) carries the LOAD record alone, within the message's
 * load_budget_bytes and, over all datagrams, load_bytes_per_sec: signed
 * samples are 83 bytes, and every node relays every sample, so without a
 * budget a cluster whose loads move turns most of its bytes into load news.
 */
static enum swim_bcast_take
swim_fill_one(void *ctx, uint64_t id, uint64_t from, bool quiet)
{
	struct swim_fill *f = ctx;
	const struct swim_member *m;
	uint32_t load_len;
	bool load;

	if (f->w->cap - f->w->len < SWIM_RECORD_MIN_LEN)
		return SWIM_BCAST_STOP;
	for (uint32_t i = 0; i < f->nskip; i++)
		if (id == f->skip[i])
			return SWIM_BCAST_SKIP;
	if ((m = swim_table_find(&f->s->tab, id)) == NULL)
		return SWIM_BCAST_DROP;
	load_len = SWIM_LOAD_LEN + (m->load.has_custom ? 8 : 0);
	/* Our news round's sample goes ahead of the per-second budget (it is
	 * one a load_min_interval); the bucket pays for it when it can. */
	load = m->load.version != 0 && f->load_bytes + load_len <= f->s->cfg.load_budget_bytes &&
	       (f->s->load_out.milli >= 1000ULL * load_len ||
		(f->s->news_round && m == swim__me(f->s)));
	if (quiet && !load)
		return m->load.version != 0 ? SWIM_BCAST_SKIP : SWIM_BCAST_DROP;
	switch (swim__put_member(f->s, f->w, m, from, !quiet, true, load)) {
	case 0:
		if (load) {
			f->load_bytes += load_len;
			f->s->load_out.milli -= f->s->load_out.milli < 1000ULL * load_len
							? f->s->load_out.milli
							: 1000ULL * load_len;
		}
		return SWIM_BCAST_TAKEN;
	case -EMSGSIZE:
		return f->w->count == UINT8_MAX ? SWIM_BCAST_STOP : SWIM_BCAST_SKIP;
	default:
		return SWIM_BCAST_DROP;
	}
}

/* One queued application claim (its slot + 1 in the queue). */
static enum swim_bcast_take
swim_fill_claim(void *ctx, uint64_t id, uint64_t from, bool quiet)
{
	struct swim_fill *f = ctx;
	const struct swim_claim_entry *e = swim_claims_at(&f->s->claims, (uint32_t)(id - 1));
	struct swim_record r;

	if (e == NULL)
		return SWIM_BCAST_DROP;
	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_APP;
	r.id = e->c.subject;
	r.app = e->c;
	memcpy(r.sig, e->sig, sizeof(r.sig));
	switch (swim_codec_add(f->w, &r)) {
	case 0:
		return SWIM_BCAST_TAKEN;
	case -EMSGSIZE:
		return f->w->count == UINT8_MAX ? SWIM_BCAST_STOP : SWIM_BCAST_SKIP;
	default:
		return SWIM_BCAST_DROP;
	}
}

/*
 * Builds and sends one message: header, then the records of the `nfirst`
 * members in first[] (the buddy system, corrections), then as many queued
 * updates and application claims as fit. A GOSSIP message with nothing to
 * carry is not sent. Returns the records carried.
 */
static size_t
swim_send_msg(struct swim *s, uint64_t to_id, const struct swim_addr *to,
	      const struct swim_msg *hdr, const uint64_t *first, uint32_t nfirst)
{
	struct swim_writer w;
	struct swim_fill f = { s, &w, first, nfirst, 0 };
	const struct swim_member *m;
	size_t n;

	if (swim_codec_begin(&w, s->buf, s->cfg.max_payload, hdr) != 0)
		return 0;
	for (uint32_t i = 0; i < nfirst; i++)
		if ((m = swim_table_cfind(&s->tab, first[i])) != NULL)
			(void)swim__put_member(s, &w, m, 0, true, false, false);
	swim_bcast_fill(&s->bq, swim_retransmit_limit(s), UINT8_MAX - w.count, swim_fill_one, &f);
	swim_bcast_fill(&s->cq, swim_retransmit_limit(s), UINT8_MAX - w.count, swim_fill_claim, &f);
	n = w.count;
	if (hdr->type != SWIM_MSG_GOSSIP || n > 0)
		swim__send(s, to_id, to, hdr->type, swim_codec_end(&w));
	return n;
}

void
swim__send_probe_msg(struct swim *s, uint8_t type, uint64_t to_id, const struct swim_addr *to,
		     uint32_t seq, uint64_t target, const uint64_t *first, uint32_t nfirst)
{
	struct swim_msg h;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.seq = seq;
	h.target = target;
	swim_send_msg(s, to_id, to, &h, first, nfirst);
}

void
swim__send_self(struct swim *s, uint64_t to_id, const struct swim_addr *to, uint8_t flags)
{
	struct swim_msg h;
	struct swim_writer w;

	memset(&h, 0, sizeof(h));
	h.type = SWIM_MSG_STATE;
	h.flags = flags;
	if (swim_codec_begin(&w, s->buf, s->cfg.max_payload, &h) == 0 &&
	    swim__put_member(s, &w, swim__me(s), 0, true, true, true) == 0)
		swim__send(s, to_id, to, SWIM_MSG_STATE, swim_codec_end(&w));
}

/* Lifeguard's buddy system: a member we doubt hears it from us first, so
 * it can refute at once. Returns 1 and sets *id, or 0. */
static uint32_t
swim_buddy(const struct swim_member *m, uint64_t *id)
{
	if (m == NULL || (m->state != SWIM_SUSPECT && m->state != SWIM_DEAD))
		return 0;
	*id = m->id;
	return 1;
}

/* ---- choosing peers ---- */

static bool
swim_gossip_ok(const struct swim *s, const struct swim_member *m, uint64_t now)
{
	if (m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT)
		return true;
	return m->state == SWIM_DEAD && now - m->state_since < swim_gossip_to_dead_ms(s);
}

/*
 * Up to k distinct random members (indices into the table) other than self
 * and `exclude`, in state ALIVE (alive_only) or fit for gossip. Tries 3N
 * times like memberlist's kRandomNodes.
 */
uint32_t
swim__pick(struct swim *s, uint32_t k, uint64_t exclude, bool alive_only, uint64_t now,
	   uint32_t *out)
{
	uint32_t n = 0, i, j;
	uint64_t tries = 3 * (uint64_t)s->tab.count;
	const struct swim_member *m;

	while (n < k && tries-- > 0 && s->tab.count > 1) {
		i = 1 + s->ops.random(s->arg) % (s->tab.count - 1);
		m = &s->tab.members[i];
		if (m->id == exclude ||
		    (alive_only ? m->state != SWIM_ALIVE : !swim_gossip_ok(s, m, now)))
			continue;
		for (j = 0; j < n && out[j] != i; j++)
			;
		if (j == n)
			out[n++] = i;
	}
	return n;
}

/* ---- the probe cycle ---- */

/* How long one probe may take, direct and indirect: three probe timeouts
 * (stretched by Lifeguard's local health), never more than the interval. A
 * failed probe raises its suspicion then, not at the end of the interval,
 * so a slow probe rate does not slow detection down. */
static uint64_t
swim_probe_window(const struct swim *s)
{
	return swim__min(3 * s->cfg.probe_timeout_ms * (s->awareness + 1), swim_probe_interval(s));
}

static struct swim_probe *
swim_probe_of(struct swim *s, uint64_t target)
{
	for (uint32_t i = 0; i < SWIM_PROBES; i++)
		if (s->probes[i].active && s->probes[i].target == target)
			return &s->probes[i];
	return NULL;
}

/* (Re)sends the direct ping of probe p, same sequence. */
static void
swim_probe_ping(struct swim *s, const struct swim_probe *p)
{
	uint64_t buddy;
	uint32_t nb = swim_buddy(swim_table_cfind(&s->tab, p->target), &buddy);

	swim__send_probe_msg(s, SWIM_MSG_PING, p->target, &p->addr, p->seq, p->target, &buddy, nb);
}

static void
swim_probe_begin(struct swim *s, struct swim_probe *p, const struct swim_member *m, bool confirm,
		 uint64_t now)
{
	memset(p, 0, sizeof(*p));
	p->active = true;
	p->seq = ++s->seq;
	p->target = m->id;
	p->addr = m->addr;
	p->retry_at = now + s->cfg.probe_timeout_ms / 2;
	p->timeout_at = now + s->cfg.probe_timeout_ms;
	/* A confirmation is one of k: it may take less time than a verdict of
	 * its own (the indirect round still gets a full probe timeout). */
	p->end_at = now + (confirm ? swim__min(2 * s->cfg.probe_timeout_ms, swim_probe_window(s))
				   : swim_probe_window(s));
	p->confirm = confirm;
	s->st.probes++;
	swim_probe_ping(s, p);
}

static void
swim_probe_start(struct swim *s, uint64_t now)
{
	uint32_t i;

	s->next_probe = now + swim_probe_interval(s);
	if ((i = swim_table_next_probe(&s->tab, s->ops.random, s->arg)) == SWIM_TABLE_NONE)
		return;
	if (swim_probe_of(s, s->tab.members[i].id) != NULL)
		return; /* a confirmation probe is at it already */
	swim_probe_begin(s, &s->probes[0], &s->tab.members[i], false, now);
}

/*
 * We just heard that someone suspects member m. Lifeguard shortens a
 * suspicion by independent confirmations, which otherwise come only as fast
 * as round-robin probes happen to reach m. So about SWIM_CONFIRMERS of the
 * members that hear it (each with probability confirmers / others) probe m
 * at once: a dead m is confirmed within one probe window, and a live m
 * hears the suspicion in our ping (the buddy system) and refutes it sooner.
 * Costs nothing while nobody is suspected.
 */
static void
swim_confirm_probe(struct swim *s, const struct swim_member *m, uint64_t now)
{
	uint32_t others = s->tab.nstate[SWIM_ALIVE] + s->tab.nstate[SWIM_SUSPECT];

	if (s->left || swim_probe_of(s, m->id) != NULL)
		return;
	/* Everyone live but us, the accuser and m itself. */
	others = others > 3 ? others - 3 : 1;
	if (others > SWIM_CONFIRMERS && s->ops.random(s->arg) % others >= SWIM_CONFIRMERS)
		return;
	for (uint32_t i = 1; i < SWIM_PROBES; i++) {
		if (s->probes[i].active)
			continue;
		log_trace(TRACE_GOSSIP, "swim: checking the suspicion of member %" PRIu64, m->id);
		swim_probe_begin(s, &s->probes[i], m, true, now);
		s->st.confirm_probes++;
		return;
	}
}

/* The direct ack is late: ping again and ask k helpers to try. The extra
 * direct pings stand in for memberlist's TCP fallback ping: on a lossy
 * network they save most probes from the costlier indirect round. */
static void
swim_probe_indirect(struct swim *s, struct swim_probe *p, uint64_t now)
{
	uint32_t idx[SWIM_INDIRECT_MAX];
	struct swim_msg h;

	p->indirect = true;
	if (swim_table_cfind(&s->tab, p->target) == NULL)
		return;
	swim_probe_ping(s, p);
	p->nhelpers = swim__pick(s, s->cfg.indirect_checks, p->target, true, now, idx);
	memset(&h, 0, sizeof(h));
	h.type = SWIM_MSG_PING_REQ;
	h.seq = p->seq;
	h.target = p->target;
	h.target_addr = p->addr;
	for (uint32_t i = 0; i < p->nhelpers; i++) {
		p->helpers[i] = s->tab.members[idx[i]].id;
		swim_send_msg(s, s->tab.members[idx[i]].id, &s->tab.members[idx[i]].addr, &h, NULL,
			      0);
	}
	if (p->nhelpers > 0)
		s->st.indirect_probes++;
}

/* Our own verdict about member m (swim__verdict signs it). */
static void
swim_accuse(struct swim *s, struct swim_member *m, enum swim_state st, uint64_t now)
{
	swim__verdict(s, m, st, now);
}

static void
swim_probe_end(struct swim *s, struct swim_probe *p, uint64_t now)
{
	struct swim_member *m;

	p->active = false;
	if (p->acked)
		return;
	m = swim_table_find(&s->tab, p->target);
	if (m == NULL || (m->state != SWIM_ALIVE && m->state != SWIM_SUSPECT))
		return; /* it left or was reaped meanwhile: silence was expected */
	/* Lifeguard: missing nacks mean the fault may be ours. Confirmation
	 * probes aim at members already in doubt, so they do not count. */
	if (!p->confirm)
		swim_awareness(s, p->nhelpers > 0 ? (int)(p->nhelpers - p->nacks) : 1);
	swim_accuse(s, m, SWIM_SUSPECT, now);
}

static void
swim_tick_probe(struct swim *s, uint64_t now)
{
	for (uint32_t i = 0; i < SWIM_PROBES; i++) {
		struct swim_probe *p = &s->probes[i];

		if (p->active && !p->acked && !p->retried && now >= p->retry_at) {
			p->retried = true;
			swim_probe_ping(s, p);
		}
		if (p->active && !p->acked && !p->indirect && now >= p->timeout_at)
			swim_probe_indirect(s, p, now);
		if (p->active && now >= p->end_at)
			swim_probe_end(s, p, now);
	}
	if (!s->probes[0].active && !s->left && now >= s->next_probe)
		swim_probe_start(s, now);
}

/* ---- other timers ---- */

/* Our ping to the target of an indirect probe we run for someone. */
static void
swim_relay_ping(struct swim *s, const struct swim_relay *r)
{
	uint64_t buddy;
	uint32_t nb = swim_buddy(swim_table_cfind(&s->tab, r->target), &buddy);

	swim__send_probe_msg(s, SWIM_MSG_PING, r->target, &r->target_addr, r->seq, r->target,
			     &buddy, nb);
}

static void
swim_tick_relays(struct swim *s, uint64_t now)
{
	struct swim_relay *r;

	for (uint32_t i = 0; i < s->nrelays;) {
		r = &s->relays[i];
		if (!r->retried && now >= r->retry_at) {
			r->retried = true;
			swim_relay_ping(s, r);
		}
		if (now < r->nack_at) {
			i++;
			continue;
		}
		swim__send_probe_msg(s, SWIM_MSG_NACK, r->to_id, &r->to, r->req_seq, r->target,
				     NULL, 0);
		s->st.nacks_sent++;
		s->relays[i] = s->relays[--s->nrelays];
	}
}

/*
 * A suspicion ran out without its k confirmations: before declaring a member
 * dead on thin evidence, tell it and one random alive peer, a few times. A
 * live member answers the ping with its refutation; a peer that heard the
 * refutation answers the stale suspicion with a correction (swim_fix_add).
 * Either ends the suspicion through the normal merge. This is what saves a
 * node that missed the refutation's gossip wave. True when deferred.
 */
static bool
swim_last_chance(struct swim *s, const struct swim_member *m, uint64_t now)
{
	const struct swim_suspicion *sp = swim_suspicions_find(&s->susp, m->id);
	uint64_t buddy = m->id;
	struct swim_msg h;
	uint32_t i;

	if (sp == NULL || (sp->k > 0 && sp->confirmations >= sp->k) ||
	    sp->deferrals >= SWIM_LAST_CHANCE)
		return false;
	swim_suspicions_defer(&s->susp, m->id, now + s->cfg.probe_timeout_ms / 2);
	swim__send_probe_msg(s, SWIM_MSG_PING, m->id, &m->addr, ++s->seq, m->id, &buddy, 1);
	if (swim__pick(s, 1, m->id, true, now, &i) == 1) {
		memset(&h, 0, sizeof(h));
		h.type = SWIM_MSG_GOSSIP;
		swim_send_msg(s, s->tab.members[i].id, &s->tab.members[i].addr, &h, &buddy, 1);
	}
	return true;
}

static void
swim_tick_suspicions(struct swim *s, uint64_t now)
{
	struct swim_member *m;
	uint64_t id;

	while ((id = swim_suspicions_expired(&s->susp, now)) != 0) {
		m = swim_table_find(&s->tab, id);
		if (m == NULL || m->state != SWIM_SUSPECT) {
			swim_suspicions_stop(&s->susp, id);
			continue;
		}
		if (swim_last_chance(s, m, now))
			continue;
		swim_accuse(s, m, SWIM_DEAD, now);
		swim_suspicions_stop(&s->susp, id); /* progress even if the merge refused */
	}
}

static void
swim_tick_reap(struct swim *s, uint64_t now)
{
	uint64_t id;

	while ((id = swim_table_reapable(&s->tab, now, s->cfg.reap_after_ms)) != 0) {
		log_trace(TRACE_GOSSIP, "swim: member %" PRIu64 " reaped", id);
		swim_bcast_del(&s->bq, id);
		swim_suspicions_stop(&s->susp, id);
		swim_table_remove(&s->tab, id);
	}
}

static void
swim_gossip(struct swim *s, uint64_t now)
{
	uint32_t idx[SWIM_FANOUT_MAX], n;
	struct swim_msg h;
	bool news = s->news_round;

	if (swim_bcast_loud(&s->bq) == 0 && !news)
		return;
	memset(&h, 0, sizeof(h));
	h.type = SWIM_MSG_GOSSIP;
	n = swim__pick(s, s->cfg.gossip_fanout, 0, false, now, idx);
	for (uint32_t i = 0; i < n && (swim_bcast_loud(&s->bq) > 0 || news); i++)
		swim_send_msg(s, s->tab.members[idx[i]].id, &s->tab.members[idx[i]].addr, &h, NULL,
			      0);
	s->news_round = false;
}

/* One random ALIVE member, or now and then a DEAD one (Serf's reconnect:
 * with probability dead / (alive + dead), so a healed partition merges). */
static void
swim_pushpull(struct swim *s, uint64_t now)
{
	uint32_t nalive = s->tab.nstate[SWIM_ALIVE] - 1, ndead = s->tab.nstate[SWIM_DEAD];
	uint64_t tries = 3 * (uint64_t)s->tab.count;
	const struct swim_member *m;
	uint32_t i;

	if (ndead > 0 && s->ops.random(s->arg) % (nalive + ndead) < ndead) {
		while (tries-- > 0 && s->tab.count > 1) {
			m = &s->tab.members[1 + s->ops.random(s->arg) % (s->tab.count - 1)];
			if (m->state == SWIM_DEAD) {
				swim__pushpull_to(s, m->id, &m->addr, SWIM_DIGEST_ANSWER);
				return;
			}
		}
	}
	if (swim__pick(s, 1, 0, true, now, &i) == 1)
		swim__pushpull_to(s, s->tab.members[i].id, &s->tab.members[i].addr,
				  SWIM_DIGEST_ANSWER);
}

/* True when some ALIVE or SUSPECT member other than us is reachable at `a`. */
static bool
swim_addr_live(const struct swim *s, const struct swim_addr *a)
{
	for (uint32_t i = 1; i < s->tab.count; i++) {
		const struct swim_member *m = &s->tab.members[i];

		if ((m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT) &&
		    swim__addr_eq(&m->addr, a))
			return true;
	}
	return false;
}

/*
 * A partition longer than reap_after leaves each side with no memory of the
 * other, so neither push-pull to the dead nor gossip can merge them again.
 * The configured seeds can: each push-pull also asks one seed that is not a
 * live member here (and is not us) for its state, as a retry-join would.
 */
static void
swim_pushpull_seed(struct swim *s)
{
	size_t start;

	/* Before the first answer, the join retries are already asking them. */
	if (s->nseeds == 0 || !swim_joined(s))
		return;
	start = s->ops.random(s->arg) % s->nseeds;
	for (size_t k = 0; k < s->nseeds; k++) {
		const struct swim_addr *a = &s->seeds[(start + k) % s->nseeds];

		if (swim__addr_eq(a, &s->tab.members[0].addr) || swim_addr_live(s, a))
			continue;
		swim__pushpull_to(s, 0, a, SWIM_DIGEST_ANSWER);
		return;
	}
}

/* A join: our own record to every seed, asking for theirs. The seed pings us
 * before it takes us in; we ping it likewise; the push-pull that follows our
 * first member (swim_tick) brings the rest of the table. */
static void
swim_join_send(struct swim *s)
{
	for (size_t i = 0; i < s->nseeds; i++)
		swim__send_self(s, 0, &s->seeds[i], SWIM_STATE_WHO);
}

static void
swim_tick_join(struct swim *s, uint64_t now)
{
	if (s->nseeds == 0 || s->left)
		return;
	if (swim_joined(s)) {
		s->next_join = UINT64_MAX;
		s->join_backoff = s->cfg.join_retry_ms;
		return;
	}
	if (s->next_join == UINT64_MAX) /* alone again: start over, gently */
		s->next_join = now + s->join_backoff;
	if (now < s->next_join)
		return;
	swim_join_send(s);
	s->join_backoff = swim__min(s->join_backoff * 2, SWIM_JOIN_BACKOFF_MAX);
	s->next_join = now + s->join_backoff;
}

static uint64_t
swim_next_deadline(struct swim *s, uint64_t now)
{
	uint64_t d = s->next_gossip;

	for (uint32_t i = 0; i < SWIM_PROBES; i++) {
		const struct swim_probe *p = &s->probes[i];

		if (p->active && !p->acked && !p->retried)
			d = swim__min(d, p->retry_at);
		else if (p->active && !p->acked && !p->indirect)
			d = swim__min(d, p->timeout_at);
		else if (p->active)
			d = swim__min(d, p->end_at);
	}
	if (!s->probes[0].active && !s->left)
		d = swim__min(d, s->next_probe);
	if (s->cfg.pushpull_interval_ms > 0 && !s->left)
		d = swim__min(d, s->next_pushpull);
	if (!s->left)
		d = swim__min(d, swim__min(s->next_settle, s->next_soon));
	d = swim__min(d, swim_suspicions_next(&s->susp));
	d = swim__min(d, swim_table_next_reap(&s->tab, s->cfg.reap_after_ms));
	for (uint32_t i = 0; i < s->nrelays; i++)
		d = swim__min(d,
			      s->relays[i].retried ? s->relays[i].nack_at : s->relays[i].retry_at);
	if (s->nseeds > 0 && !s->left)
		d = swim__min(d, s->next_join);
	d = swim__min(d, swim__joining_next(s));
	d = swim__min(d, s->next_load);
	return d > now ? d : now + 1;
}

/* Our sample that waited for load_min_interval_ms goes out now. */
static void
swim_load_publish(struct swim *s, uint64_t now)
{
	struct swim_member *me = swim__me(s);
	uint32_t wall_s = (uint32_t)(swim__wall_ms(s, now) / 1000);
	uint32_t version = me->load.version;

	s->next_load = UINT64_MAX;
	if (!s->load_waiting || version == UINT32_MAX)
		return;
	s->load_waiting = false;
	me->load = s->load_pending;
	/* Seconds of the wall clock, growing: a restart continues above the
	 * last life's versions, and nobody can sign one far ahead of the
	 * receivers' clocks (they refuse it). */
	me->load.version = version + 1 > wall_s ? version + 1 : wall_s;
	me->load_updated = me->updated = now;
	s->load_sent_at = now;
	swim__sign_load(s);
	swim__queue_load(s, me->id);
}

/* A push-pull with a random member a few probe timeouts from now (it has
 * answered a ping of ours by then, and pinged us). */
static void
swim_pushpull_soon(struct swim *s, uint64_t now)
{
	s->next_soon = swim__min(s->next_soon, now + 3 * s->cfg.probe_timeout_ms);
}

/* The push-pulls of a node that has just found its first member: soon after
 * (the member has pinged us by then), then once more a few seconds later,
 * and again whenever strangers were turned away for room. */
static void
swim_tick_settle(struct swim *s, uint64_t now)
{
	if (!s->settled && swim_joined(s)) {
		s->settled = true;
		swim_pushpull_soon(s, now);
		if (s->cfg.pushpull_interval_ms > 0)
			s->next_settle = now + SWIM_SETTLE_PUSHPULL_MS +
					 s->ops.random(s->arg) % SWIM_SETTLE_PUSHPULL_MS;
	}
	if (s->joining_overflow && s->njoining == 0 && swim_joined(s)) {
		s->joining_overflow = false;
		swim_pushpull_soon(s, now);
	}
	/* Extra exchanges, off the regular schedule, whose random phase is
	 * what spreads push-pulls over the interval. */
	if (now >= s->next_soon && !s->left) {
		s->next_soon = UINT64_MAX;
		swim_pushpull(s, now);
	}
	if (now >= s->next_settle && !s->left) {
		s->next_settle = UINT64_MAX;
		swim_pushpull(s, now);
	}
}

uint64_t
swim_tick(struct swim *s, uint64_t now)
{
	swim__bucket_refill(&s->load_out, s->cfg.load_bytes_per_sec, now);
	swim_tick_reap(s, now);
	swim_tick_suspicions(s, now);
	swim_tick_relays(s, now);
	swim__tick_joining(s, now);
	swim_tick_probe(s, now);
	if (now >= s->next_load)
		swim_load_publish(s, now);
	if (now >= s->next_gossip) {
		swim_gossip(s, now);
		s->next_gossip += s->cfg.gossip_interval_ms;
		if (s->next_gossip <= now)
			s->next_gossip = now + s->cfg.gossip_interval_ms;
	}
	swim_tick_settle(s, now);
	if (s->cfg.pushpull_interval_ms > 0 && !s->left && now >= s->next_pushpull) {
		swim_pushpull(s, now);
		swim_pushpull_seed(s);
		s->next_pushpull = now + swim_pushpull_interval(s);
	}
	swim_tick_join(s, now);
	return swim_next_deadline(s, now);
}

/* ---- receiving ---- */

static int
swim_helper_index(const struct swim_probe *p, uint64_t id)
{
	for (uint32_t i = 0; i < p->nhelpers; i++)
		if (p->helpers[i] == id)
			return (int)i;
	return -1;
}

static void
swim_on_ack(struct swim *s, uint64_t from_id, const struct swim_msg *msg, uint64_t now)
{
	struct swim_probe *p = swim_probe_of(s, msg->target);
	struct swim_relay *r;

	/* A stranger we pinged answers: it is in. */
	if (msg->target == from_id && swim__joining_ack(s, from_id, msg->seq, now))
		return;
	if (p != NULL && !p->acked && msg->seq == p->seq &&
	    (from_id == p->target || swim_helper_index(p, from_id) >= 0)) {
		p->acked = true;
		s->st.probe_acks++;
		if (!p->confirm)
			swim_awareness(s, -1);
		return;
	}
	for (uint32_t i = 0; i < s->nrelays; i++) {
		r = &s->relays[i];
		if (r->seq != msg->seq || r->target != msg->target || from_id != r->target)
			continue;
		/* The requester doubts the target: pass on what we know of it. */
		swim__send_probe_msg(s, SWIM_MSG_ACK, r->to_id, &r->to, r->req_seq, r->target,
				     &r->target, 1);
		s->relays[i] = s->relays[--s->nrelays];
		return;
	}
}

static void
swim_on_nack(struct swim *s, uint64_t from_id, const struct swim_msg *msg)
{
	struct swim_probe *p = swim_probe_of(s, msg->target);
	int h = p != NULL ? swim_helper_index(p, from_id) : -1;

	if (p == NULL || msg->seq != p->seq || h < 0 || p->nacked[h])
		return;
	p->nacked[h] = true;
	p->nacks++;
	s->st.nacks_received++;
}

static void
swim_on_ping_req(struct swim *s, uint64_t from_id, const struct swim_addr *from,
		 const struct swim_msg *msg, uint64_t now)
{
	struct swim_relay *r;

	if (msg->target == swim__me(s)->id || s->nrelays == SWIM_RELAY_MAX)
		return;
	r = &s->relays[s->nrelays++];
	memset(r, 0, sizeof(*r));
	r->seq = ++s->seq;
	r->req_seq = msg->seq;
	r->target = msg->target;
	r->target_addr = msg->target_addr;
	r->to_id = from_id;
	r->to = *from;
	/* Timeouts are cluster-wide settings, so ours is the requester's: one
	 * retry, then a nack well before its probe interval ends. */
	r->retry_at = now + s->cfg.probe_timeout_ms * 4 / 10;
	r->nack_at = now + s->cfg.probe_timeout_ms * 8 / 10;
	swim_relay_ping(s, r);
}

bool
swim__reply_ok(struct swim *s, enum swim_reply kind, uint64_t id, const struct swim_addr *addr,
	       uint64_t now)
{
	uint8_t key[1 + 1 + 1 + 16 + 2];
	size_t klen;

	key[0] = (uint8_t)kind;
	if (budget_take(s->replies_all[kind], key, 1, now) != 0)
		goto refused;
	if (id != 0) {
		key[1] = 'i';
		for (int i = 0; i < 8; i++)
			key[2 + i] = (uint8_t)(id >> (56 - 8 * i));
		if (budget_take(s->replies[kind], key, 10, now) != 0)
			goto refused;
	}
	if (addr != NULL) {
		key[1] = 'a';
		key[2] = addr->family;
		klen = addr->family == 4 ? 4 : 16;
		memcpy(key + 3, addr->ip, klen);
		key[3 + klen] = (uint8_t)(addr->port >> 8);
		key[4 + klen] = (uint8_t)addr->port;
		if (budget_take(s->replies[kind], key, 5 + klen, now) != 0)
			goto refused;
	}
	return true;
refused:
	s->st.replies_refused++;
	return false;
}

static void
swim_on_ping(struct swim *s, uint64_t from_id, const struct swim_addr *from,
	     const struct swim_msg *msg)
{
	uint64_t buddy;

	if (msg->target != swim__me(s)->id)
		return; /* meant for an earlier owner of our address */

	if (swim_buddy(swim_table_cfind(&s->tab, from_id), &buddy))
		swim__fix_add(s, buddy);
	swim__send_probe_msg(s, SWIM_MSG_ACK, from_id, from, msg->seq, msg->target, s->fix,
			     s->nfix);
	s->nfix = 0;
}

static void
swim_dispatch(struct swim *s, uint64_t from_id, const struct swim_addr *from,
	      const struct swim_msg *msg, uint64_t now)
{
	switch (msg->type) {
	case SWIM_MSG_PING:
		swim_on_ping(s, from_id, from, msg);
		break;
	case SWIM_MSG_ACK:
		swim_on_ack(s, from_id, msg, now);
		break;
	case SWIM_MSG_PING_REQ:
		swim_on_ping_req(s, from_id, from, msg, now);
		break;
	case SWIM_MSG_NACK:
		swim_on_nack(s, from_id, msg);
		break;
	case SWIM_MSG_STATE:
		if ((msg->flags & SWIM_STATE_WHO) &&
		    swim__reply_ok(s, SWIM_REPLY_WHO, from_id, from, now))
			swim__send_self(s, from_id, from, 0);
		break;
	case SWIM_MSG_DIGEST:
		swim__on_digest(s, from_id, from, msg, now);
		break;
	default:
		break;
	}
}

/* Sends the corrections the last message called for, unless a reply
 * carried them already, within the correction budget. */
static void
swim_send_fixes(struct swim *s, uint64_t from_id, const struct swim_addr *from, uint64_t now)
{
	struct swim_msg h;

	if (s->nfix == 0 || !swim__reply_ok(s, SWIM_REPLY_FIX, from_id, from, now))
		return;
	memset(&h, 0, sizeof(h));
	h.type = SWIM_MSG_GOSSIP;
	swim_send_msg(s, from_id, from, &h, s->fix, s->nfix);
}

/* True when `id` is a stranger being pinged already. */
static bool
swim_joining_has(const struct swim *s, uint64_t id)
{
	for (uint32_t i = 0; i < s->njoining; i++)
		if (s->joining[i].claim.id == id)
			return true;
	return false;
}

void
swim_on_message(struct swim *s, uint64_t from_id, const struct swim_addr *from, uint8_t type,
		const uint8_t *payload, size_t len, uint64_t now)
{
	struct swim_msg msg;
	struct swim_record r;
	enum swim_codec_err e;
	size_t off = 0;

	s->st.msgs_in++;
	swim__bucket_refill(&s->load_out, s->cfg.load_bytes_per_sec, now);
	if (from_id == 0 || from_id == swim__me(s)->id || !swim_addr_valid(from))
		return;
	if ((e = swim_codec_decode(type, payload, len, &msg)) != SWIM_CODEC_OK) {
		s->st.decode_errors++;
		log_trace(TRACE_GOSSIP, "swim: drop type %u from node %" PRIu64 ": %s",
			  (unsigned)type, from_id, swim_codec_err_name(e));
		return;
	}
	/* Records first, so that a reply carries what they changed (a
	 * refutation rides on the ack of the ping that accused us). */
	s->nfix = 0;
	for (unsigned i = 0; i < msg.count; i++) {
		(void)swim_codec_record(msg.rec, msg.rec_len, &off, &r);
		swim__apply_record(s, &r, from_id, type == SWIM_MSG_STATE, now);
	}
	swim_dispatch(s, from_id, from, &msg, now);
	swim_send_fixes(s, from_id, from, now);
	s->nfix = 0;
	/* A member we never heard of talks to us (its announcement missed
	 * us): ask it who it is rather than wait for a push-pull. */
	if (!s->left && swim_table_cfind(&s->tab, from_id) == NULL &&
	    !swim_joining_has(s, from_id) && swim__reply_ok(s, SWIM_REPLY_WHO, from_id, from, now))
		swim__send_self(s, from_id, from, SWIM_STATE_WHO);
}

/* ---- lifecycle and API ---- */

static int
swim_init_self(struct swim *s, uint64_t self_id, uint64_t incarnation,
	       const struct swim_addr *self_addr, const char *name, const uint8_t key[32],
	       uint64_t now)
{
	struct swim_member me;

	memset(&me, 0, sizeof(me));
	me.id = self_id;
	me.incarnation = incarnation;
	me.state = SWIM_ALIVE;
	me.addr.family = self_addr->family;
	me.addr.port = self_addr->port;
	memcpy(me.addr.ip, self_addr->ip, self_addr->family == 4 ? 4 : 16);
	strcpy(me.name, name);
	memcpy(me.key, key, sizeof(me.key));
	me.state_since = me.updated = now;
	if (swim_table_add(&s->tab, &me, s->ops.random, s->arg) == NULL)
		return -ENOMEM;
	swim__sign_self(s);
	/* A fresh node announces itself. */
	return swim_bcast_put(&s->bq, self_id, 0);
}

/* The reply budgets of each kind: per requester, and for all requests. */
static int
swim_init_budgets(struct swim *s)
{
	for (int k = 0; k < SWIM_REPLY_KINDS; k++) {
		s->replies[k] = budget_new(SWIM_REPLY_SOURCES, swim_reply_limits[k].per_sec,
					   swim_reply_limits[k].burst);
		s->replies_all[k] = budget_new(1, swim_reply_limits[k].all_per_sec,
					       swim_reply_limits[k].all_burst);
		if (s->replies[k] == NULL || s->replies_all[k] == NULL)
			return -ENOMEM;
	}
	return 0;
}

struct swim *
swim_new(const struct swim_config *cfg, const struct swim_ops *ops, void *arg, uint64_t self_id,
	 uint64_t incarnation, const struct swim_addr *self_addr, const char *name,
	 const uint8_t key[32], uint64_t now)
{
	struct swim *s;

	if (cfg == NULL || ops == NULL || ops->send == NULL || ops->random == NULL ||
	    ops->sign == NULL || key == NULL || !swim_config_ok(cfg) || self_id == 0 ||
	    !swim_addr_valid(self_addr))
		return NULL;
	if (name == NULL)
		name = "";
	if (strlen(name) >= SWIM_NAME_MAX)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cfg = *cfg;
	s->ops = *ops;
	s->arg = arg;
	s->next_join = UINT64_MAX;
	s->next_settle = UINT64_MAX;
	s->next_soon = UINT64_MAX;
	s->next_load = UINT64_MAX;
	s->news_sent_at = UINT64_MAX;
	s->join_backoff = cfg->join_retry_ms;
	s->verify.milli = 2000ULL * cfg->verify_per_sec;
	s->verify.last = now;
	s->load_out.milli = 2000ULL * cfg->load_bytes_per_sec;
	s->load_out.last = now;
	swim_claims_init(&s->claims);
	if ((s->buf = malloc(cfg->max_payload)) == NULL || swim_init_budgets(s) != 0 ||
	    swim_table_init(&s->tab, SWIM_MAX_MEMBERS, swim_random64(s)) != 0 ||
	    swim_bcast_init(&s->bq, swim_random64(s)) != 0 ||
	    swim_bcast_init(&s->cq, swim_random64(s)) != 0 ||
	    swim_suspicions_init(&s->susp, swim_random64(s)) != 0 ||
	    swim_init_self(s, self_id, incarnation, self_addr, name, key, now) != 0) {
		swim_free(s);
		return NULL;
	}
	/* Random phases, so nodes started together do not tick in step. */
	s->next_probe = now + s->ops.random(s->arg) % cfg->probe_interval_ms;
	s->next_gossip = now + s->ops.random(s->arg) % cfg->gossip_interval_ms;
	s->next_pushpull = now + (cfg->pushpull_interval_ms > 0
					  ? s->ops.random(s->arg) % cfg->pushpull_interval_ms
					  : 0);
	return s;
}

void
swim_free(struct swim *s)
{
	if (s == NULL)
		return;
	swim_table_fini(&s->tab);
	swim_bcast_fini(&s->bq);
	swim_bcast_fini(&s->cq);
	swim_suspicions_fini(&s->susp);
	swim_claims_fini(&s->claims);
	for (int k = 0; k < SWIM_REPLY_KINDS; k++) {
		budget_free(s->replies[k]);
		budget_free(s->replies_all[k]);
	}
	free(s->joining);
	free(s->seeds);
	free(s->buf);
	free(s);
}

int
swim_join(struct swim *s, const struct swim_addr *seeds, size_t n, uint64_t now)
{
	struct swim_addr *copy;

	if (n == 0 || seeds == NULL)
		return -EINVAL;
	if (n > SWIM_SEEDS_MAX)
		n = SWIM_SEEDS_MAX;
	for (size_t i = 0; i < n; i++)
		if (!swim_addr_valid(&seeds[i]))
			return -EINVAL;
	if ((copy = malloc(n * sizeof(*copy))) == NULL)
		return -ENOMEM;
	memcpy(copy, seeds, n * sizeof(*copy));
	free(s->seeds);
	s->seeds = copy;
	s->nseeds = n;
	s->join_backoff = s->cfg.join_retry_ms;
	s->next_join = now + s->join_backoff;
	swim_join_send(s);
	return 0;
}

bool
swim_joined(const struct swim *s)
{
	uint32_t live = s->tab.nstate[SWIM_ALIVE] + s->tab.nstate[SWIM_SUSPECT];

	return live > (s->tab.members[0].state == SWIM_ALIVE ? 1U : 0U);
}

void
swim_leave(struct swim *s, uint64_t now)
{
	struct swim_member *me = swim__me(s);

	if (s->left)
		return;
	s->left = true;
	for (uint32_t i = 0; i < SWIM_PROBES; i++)
		s->probes[i].active = false;
	me->incarnation++;
	(void)swim_table_set_state(&s->tab, me, SWIM_LEFT, now);
	swim__sign_self(s);
	swim__queue(s, me->id, 0);
	log_trace(TRACE_GOSSIP, "swim: leaving at incarnation %" PRIu64, me->incarnation);
	/* Do not wait for the next round: leaving is what the caller waits on. */
	swim_gossip(s, now);
}

void
swim_set_load(struct swim *s, const struct swim_load *load, uint64_t now)
{
	bool news;

	s->load_pending = *load;
	if (s->load_pending.cpu_permille > 1000)
		s->load_pending.cpu_permille = 1000;
	if (s->load_pending.mem_permille > 1000)
		s->load_pending.mem_permille = 1000;
	if (!s->load_pending.has_custom)
		s->load_pending.custom_milli = 0;
	s->load_waiting = true;
	news = swim__me(s)->load.version != 0 && s->cfg.load_news_permille != 0 &&
	       load_differs(&swim__me(s)->load, &s->load_pending,
			    (uint16_t)s->cfg.load_news_permille);
	/* At most one sample per load_min_interval_ms: a busy node's samples
	 * wait, and the newest then goes out. A jump (the policy's cue) does
	 * not wait behind a small move sent just before it (one a period), nor
	 * for a probe to ride on: it starts a gossip round. */
	if (swim__me(s)->load.version == 0 ||
	    now - s->load_sent_at >= s->cfg.load_min_interval_ms) {
		swim_load_publish(s, now);
	} else if (news && (s->news_sent_at == UINT64_MAX ||
			    now - s->news_sent_at >= s->cfg.load_min_interval_ms)) {
		s->news_sent_at = now;
		swim_load_publish(s, now);
	} else {
		s->next_load = s->load_sent_at + s->cfg.load_min_interval_ms;
		return;
	}
	s->news_round = news;
}

size_t
swim_count(const struct swim *s)
{
	return s->tab.count;
}

const struct swim_member *
swim_member_at(const struct swim *s, size_t i)
{
	return i < s->tab.count ? &s->tab.members[i] : NULL;
}

const struct swim_member *
swim_find(const struct swim *s, uint64_t id)
{
	return swim_table_cfind(&s->tab, id);
}

const struct swim_member *
swim_self(const struct swim *s)
{
	return &s->tab.members[0];
}

int
swim_member_key(const struct swim *s, uint64_t id, uint8_t key[32])
{
	const struct swim_member *m = swim_table_cfind(&s->tab, id);

	if (m == NULL)
		return -ENOENT;
	memcpy(key, m->key, sizeof(m->key));
	return 0;
}

void
swim_stats(const struct swim *s, struct swim_stats *out)
{
	*out = s->st;
	out->awareness = s->awareness;
}

int
swim_claim_register(struct swim *s, uint8_t kind, uint32_t max_entries, bool pushpull)
{
	return swim_claims_register(&s->claims, kind, max_entries, pushpull);
}

int
swim_claim_publish(struct swim *s, const struct swim_claim *c, uint64_t now)
{
	const struct swim_claim_entry *e;
	uint8_t msg[SWIM_SIGNED_MAX], sig[SWIM_SIG_LEN];
	struct swim_record r;
	uint32_t slot;

	if (c == NULL || c->len > SWIM_APP_MAX || c->version == 0 ||
	    swim_claims_kind(&s->claims, c->kind) == NULL)
		return -EINVAL;
	e = swim_claims_at(&s->claims, swim_claims_find(&s->claims, c->kind, c->subject));
	if (e != NULL && c->version <= e->c.version)
		return -ESTALE;
	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_APP;
	r.id = c->subject;
	r.app = *c;
	r.app.origin = swim__me(s)->id;
	s->ops.sign(s->arg, msg, swim_codec_signed(s->cfg.cluster_id, &r, swim__me(s)->key, msg),
		    sig);
	if ((slot = swim_claims_put(&s->claims, &r.app, sig, now)) == SWIM_CLAIM_NONE ||
	    swim_bcast_put(&s->cq, (uint64_t)slot + 1, 0) != 0)
		return -ENOMEM;
	return 0;
}

const struct swim_claim *
swim_claim_find(const struct swim *s, uint8_t kind, uint64_t subject)
{
	const struct swim_claim_entry *e =
		swim_claims_at(&s->claims, swim_claims_find(&s->claims, kind, subject));

	return e != NULL ? &e->c : NULL;
}
