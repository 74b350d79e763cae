/*
 * swim: SWIM membership with Lifeguard, as a pure state machine
 * (include/swim.h, docs/membership.md).
 *
 * This file owns the protocol: merge rules, the probe cycle, indirect probes
 * and the relays we run for others, the gossip round, push-pull and joins,
 * leave and reap. Its parts live in their own modules: the payload codec
 * (swim_codec), the member table and probe order (swim_table), the update
 * queue (swim_bcast) and the suspicion side table with Lifeguard's timeout
 * formula (swim_suspicion).
 *
 * Every record, whatever message carries it, goes through one merge path
 * (swim_apply_record); decisions taken here (a failed probe, an expired
 * suspicion) are expressed as records and go through it too, so the rules
 * are written once. Updates are queued by member id and encoded from the
 * table when sent, so the newest state of a member is what travels.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "swim.h"
#include "swim_bcast.h"
#include "swim_codec.h"
#include "swim_suspicion.h"
#include "swim_table.h"
#include "wire.h"

#define SWIM_MAX_MEMBERS	      65536U /* the wire receiver's default sender table */
#define SWIM_INDIRECT_MAX	      16U    /* helpers per indirect probe */
#define SWIM_FANOUT_MAX		      16U
#define SWIM_RELAY_MAX		      32U /* indirect probes we run for others at once */
#define SWIM_RECENT_MAX		      8U  /* peers remembered for rate limits */
#define SWIM_FIX_MAX		      4U  /* corrections sent back per message */
#define SWIM_LAST_CHANCE	      3U /* pings to a weakly confirmed suspect before it is dead */
#define SWIM_SEEDS_MAX		      64U
#define SWIM_JOIN_BACKOFF_MAX	      30000U
#define SWIM_MS_MAX		      (30ULL * 24 * 3600 * 1000) /* no interval may exceed 30 days */
#define SWIM_PUSHPULL_SCALE_THRESHOLD 32 /* memberlist's pushPullScaleThreshold */
#define SWIM_MIN_PAYLOAD	      (SWIM_HEADER_MAX_LEN + SWIM_RECORD_MAX_LEN)
/* Probes at once: the round-robin probe (slot 0) and up to this many - 1
 * confirmation probes of members that others suspect. */
#define SWIM_PROBES 4U
/* Members that check a suspicion they heard of, on average (their failures
 * are the independent confirmations that shorten the suspicion). */
#define SWIM_CONFIRMERS 3U
/* A node that has just joined does one push-pull this long (plus up to as
 * much again at random) after it first knows a peer: when many nodes start
 * together, each got the table of a cluster that was still forming. */
#define SWIM_SETTLE_PUSHPULL_MS 5000U

_Static_assert(SWIM_MIN_PAYLOAD <= WIRE_MAX_PAYLOAD, "a record fits a datagram");

struct swim_probe {
	bool active;
	bool confirm; /* checks a suspicion someone else raised */
	bool acked;
	bool retried;  /* the direct ping was sent again */
	bool indirect; /* the probe timeout passed: helpers were asked */
	uint32_t seq;
	uint64_t target;
	struct swim_addr addr;
	uint64_t retry_at;
	uint64_t timeout_at;
	uint64_t end_at;
	uint32_t nhelpers;
	uint32_t nacks;
	uint64_t helpers[SWIM_INDIRECT_MAX];
	bool nacked[SWIM_INDIRECT_MAX];
};

/* An indirect probe we run on behalf of `requester`. */
struct swim_relay {
	uint32_t seq;	  /* our ping to the target */
	uint32_t req_seq; /* the requester's probe */
	bool retried;
	uint64_t target;
	struct swim_addr target_addr;
	uint64_t to_id;	     /* the requester */
	struct swim_addr to; /* ... and its address */
	uint64_t retry_at;
	uint64_t nack_at;
};

/* Peers we did something for lately (a rate limit). */
struct swim_recent {
	uint64_t id[SWIM_RECENT_MAX];
	uint64_t at[SWIM_RECENT_MAX];
	uint32_t next;
};

struct swim {
	struct swim_config cfg;
	struct swim_ops ops;
	void *arg;
	struct swim_table tab;
	struct swim_bcast bq;
	struct swim_suspicions susp;
	struct swim_stats st;
	uint32_t awareness;
	uint32_t seq;
	bool left;
	bool settled;	      /* the push-pull that follows our join is scheduled */
	uint64_t next_settle; /* ...for then (UINT64_MAX: none pending) */
	struct swim_probe probes[SWIM_PROBES]; /* [0]: the round-robin probe */
	struct swim_relay relays[SWIM_RELAY_MAX];
	uint32_t nrelays;
	struct swim_recent answered;  /* push-pull answers */
	struct swim_recent corrected; /* corrections of stale records */
	struct swim_recent asked;     /* strangers asked who they are */
	uint64_t fix[SWIM_FIX_MAX];   /* members to correct the current sender about */
	uint32_t nfix;
	uint64_t next_probe;
	uint64_t next_gossip;
	uint64_t next_pushpull;
	uint64_t next_join; /* UINT64_MAX: no join pending */
	uint64_t join_backoff;
	struct swim_addr *seeds;
	size_t nseeds;
	uint8_t *buf; /* cfg.max_payload bytes: the message being built */
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
	    c->join_retry_ms > SWIM_MS_MAX)
		return false;
	return c->max_payload >= SWIM_MIN_PAYLOAD && c->max_payload <= UINT16_MAX;
}

static bool
swim_addr_valid(const struct swim_addr *a)
{
	return a != NULL && (a->family == 4 || a->family == 6) && a->port != 0;
}

static bool
swim_addr_eq(const struct swim_addr *a, const struct swim_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

static struct swim_member *
swim_me(struct swim *s)
{
	return &s->tab.members[0];
}

static uint64_t
swim_random64(struct swim *s)
{
	return (uint64_t)s->ops.random(s->arg) << 32 | s->ops.random(s->arg);
}

static uint64_t
swim_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
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

static void
swim_event(struct swim *s, const struct swim_member *m, enum swim_state old, bool is_new)
{
	if (s->ops.event != NULL)
		s->ops.event(s->arg, m, old, is_new);
}

static void
swim_queue(struct swim *s, uint64_t id, uint64_t from)
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
static void
swim_queue_load(struct swim *s, uint64_t id)
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

static void
swim_record_of(const struct swim *s, const struct swim_member *m, uint64_t from,
	       struct swim_record *r)
{
	const struct swim_suspicion *sp;

	r->id = m->id;
	r->incarnation = m->incarnation;
	r->state = m->state;
	r->addr = m->addr;
	memcpy(r->name, m->name, sizeof(r->name));
	r->load = m->load;
	r->load_only = false;
	r->from = 0;
	if (m->state == SWIM_SUSPECT || m->state == SWIM_DEAD) {
		r->from = from;
		sp = swim_suspicions_find(&s->susp, m->id);
		if (r->from == 0 && sp != NULL)
			r->from = sp->accusers[0];
		if (r->from == 0)
			r->from = s->tab.members[0].id;
	}
}

static int
swim_rank(enum swim_state st)
{
	return (int)st; /* ALIVE < SUSPECT < DEAD < LEFT at equal incarnation */
}

static bool
swim_load_eq(const struct swim_load *a, const struct swim_load *b)
{
	return a->version == b->version && a->cpu_permille == b->cpu_permille &&
	       a->load1_permille == b->load1_permille && a->mem_permille == b->mem_permille &&
	       a->has_custom == b->has_custom && a->custom_milli == b->custom_milli;
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

/* Moves m to `st` with the bookkeeping every state needs. */
static void
swim_transition(struct swim *s, struct swim_member *m, enum swim_state st, uint64_t accuser,
		uint64_t now)
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
			return; /* out of memory: stay as we were rather than hang */
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
	if (st == SWIM_SUSPECT && old != SWIM_SUSPECT && accuser != swim_me(s)->id)
		swim_confirm_probe(s, m, now);
}

/* The current sender holds an older verdict about `id` than we do: tell it
 * (a member that missed a refutation would otherwise keep a stale suspicion
 * until it runs out and declares a live member dead). */
static void
swim_fix_add(struct swim *s, uint64_t id)
{
	for (uint32_t i = 0; i < s->nfix; i++)
		if (s->fix[i] == id)
			return;
	if (s->nfix < SWIM_FIX_MAX)
		s->fix[s->nfix++] = id;
}

/* The owner of a newer load sample wins, whatever the state record says. */
static bool
swim_apply_load(struct swim_member *m, const struct swim_record *r, uint64_t now)
{
	if (r->load.version <= m->load.version)
		return false;
	m->load = r->load;
	m->load_updated = now;
	m->updated = now;
	return true;
}

/* A load sample of ours we did not take: an earlier life's. Go past it so
 * that our samples win again. True when our version moved. */
static bool
swim_self_load(struct swim_member *me, const struct swim_record *r, uint64_t now)
{
	if (r->load.version == 0 || r->load.version == UINT32_MAX ||
	    r->load.version < me->load.version ||
	    (r->load.version == me->load.version && swim_load_eq(&r->load, &me->load)))
		return false;
	me->load.version = r->load.version + 1;
	me->load_updated = now;
	return true;
}

/* A record about ourselves: refute what is wrong, outbid an older life. */
static void
swim_apply_self(struct swim *s, const struct swim_record *r, uint64_t now)
{
	struct swim_member *me = swim_me(s);
	bool requeue = swim_self_load(me, r, now);

	if (r->incarnation < me->incarnation || r->incarnation == UINT64_MAX) {
		if (r->state != SWIM_ALIVE)
			swim_fix_add(s, me->id);
	} else if (s->left) {
		/* Our leave stands: outbid a newer record, repeat it over an
		 * equal one (LEFT outranks every state at equal incarnation). */
		if (r->incarnation > me->incarnation) {
			me->incarnation = r->incarnation + 1;
			requeue = true;
		} else if (r->state != SWIM_LEFT) {
			requeue = true;
		}
	} else {
		if (r->state != SWIM_ALIVE) {
			me->incarnation = r->incarnation + 1;
			s->st.refutations++;
			if (r->state != SWIM_LEFT)
				swim_awareness(s, 1);
			requeue = true;
			log_trace(TRACE_GOSSIP,
				  "swim: refuting %s from %" PRIu64 " at incarnation %" PRIu64,
				  swim_state_name(r->state), r->from, me->incarnation);
		} else if (r->incarnation > me->incarnation || !swim_addr_eq(&r->addr, &me->addr) ||
			   strcmp(r->name, me->name) != 0) {
			/* Our earlier life, or an impostor: outbid it. */
			me->incarnation = r->incarnation + 1;
			requeue = true;
		}
	}
	if (requeue) {
		me->updated = now;
		swim_queue(s, me->id, 0);
	}
}

static void
swim_apply_new(struct swim *s, const struct swim_record *r, uint64_t sender, bool via_state,
	       uint64_t now)
{
	struct swim_member m, *p;

	if (r->state != SWIM_ALIVE && r->state != SWIM_SUSPECT)
		return; /* never resurrect a tombstone we have forgotten */
	memset(&m, 0, sizeof(m));
	m.id = r->id;
	m.incarnation = r->incarnation;
	m.state = SWIM_ALIVE;
	m.addr = r->addr;
	memcpy(m.name, r->name, sizeof(m.name));
	m.load = r->load;
	m.state_since = m.updated = now;
	m.load_updated = r->load.version != 0 ? now : 0;
	if ((p = swim_table_add(&s->tab, &m, s->ops.random, s->arg)) == NULL)
		return;
	s->st.joins++;
	if (r->state == SWIM_SUSPECT)
		swim_transition(s, p, SWIM_SUSPECT, r->from, now);
	log_trace(TRACE_GOSSIP, "swim: member %" PRIu64 " joined as %s", p->id,
		  swim_state_name(p->state));
	/* Members learnt from a push-pull are old news to the cluster; only
	 * the sender's own record is worth gossiping on. */
	if (!via_state || r->id == sender)
		swim_queue(s, r->id, p->state == SWIM_SUSPECT ? r->from : 0);
	swim_event(s, p, p->state, true);
}

/*
 * The state part of a record about a known member. Returns true when our
 * view changed; *gossip tells whether to pass the record on (a new
 * confirmation of a suspicion changes no state but must travel).
 */
static bool
swim_apply_state(struct swim *s, struct swim_member *m, const struct swim_record *r,
		 enum swim_state st, uint64_t from, bool *gossip, uint64_t now)
{
	if (r->incarnation < m->incarnation)
		return false;
	if (r->incarnation == m->incarnation) {
		if (st == SWIM_SUSPECT && m->state == SWIM_SUSPECT) {
			/* Another accuser: confirmed, never restarted (memberlist). */
			*gossip = swim_suspicions_confirm(&s->susp, m->id, from);
			return false;
		}
		if (swim_rank(st) <= swim_rank(m->state))
			return false;
	} else {
		m->incarnation = r->incarnation;
		m->addr = r->addr; /* a restart or a move: the owner says so */
		memcpy(m->name, r->name, sizeof(m->name));
	}
	/* A suspicion at a newer incarnation is a new one: its timer restarts. */
	if (st != m->state || st == SWIM_SUSPECT)
		swim_transition(s, m, st, from, now);
	m->updated = now;
	*gossip = true;
	return true;
}

/* A load sample alone: news only about a member we know (a stranger's
 * record, with its address, arrives by its own announcement or push-pull). */
static void
swim_apply_load_only(struct swim *s, const struct swim_record *r, uint64_t sender, bool via_state,
		     uint64_t now)
{
	struct swim_member *m;

	if (r->id == swim_me(s)->id) {
		if (swim_self_load(swim_me(s), r, now)) {
			swim_me(s)->updated = now;
			swim_queue(s, r->id, 0);
		}
		return;
	}
	if ((m = swim_table_find(&s->tab, r->id)) == NULL || !swim_apply_load(m, r, now))
		return;
	if (!via_state || r->id == sender)
		swim_queue_load(s, m->id);
	swim_event(s, m, m->state, false);
}

/* Merges one record received from `sender` (via_state: in a push-pull). */
static void
swim_apply_record(struct swim *s, const struct swim_record *r, uint64_t sender, bool via_state,
		  uint64_t now)
{
	struct swim_member *m;
	enum swim_state old, st = r->state;
	uint64_t from = r->from;
	bool changed, load, gossip = false;

	if (r->load_only) {
		swim_apply_load_only(s, r, sender, via_state, now);
		return;
	}
	if (r->id == swim_me(s)->id) {
		swim_apply_self(s, r, now);
		return;
	}
	if ((m = swim_table_find(&s->tab, r->id)) == NULL) {
		swim_apply_new(s, r, sender, via_state, now);
		return;
	}
	if (via_state && st == SWIM_DEAD) {
		/* memberlist's mergeState: a peer's old verdict is only a suspicion
		 * here, so a live member gets its chance to refute. */
		st = SWIM_SUSPECT;
		from = sender;
	}
	old = m->state;
	if (r->incarnation < m->incarnation && r->state != SWIM_ALIVE)
		swim_fix_add(s, m->id);
	changed = swim_apply_state(s, m, r, st, from, &gossip, now);
	load = swim_apply_load(m, r, now);
	if (gossip)
		swim_queue(s, m->id, m->state == SWIM_SUSPECT || m->state == SWIM_DEAD ? from : 0);
	else if (load && (!via_state || r->id == sender))
		swim_queue_load(s, m->id);
	if (changed || load)
		swim_event(s, m, old, false);
}

/* ---- sending ---- */

static void
swim_send(struct swim *s, uint64_t to_id, const struct swim_addr *to, uint8_t type, size_t len)
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
};

static enum swim_bcast_take
swim_fill_one(void *ctx, uint64_t id, uint64_t from, bool quiet)
{
	struct swim_fill *f = ctx;
	const struct swim_member *m;
	struct swim_record r;

	if (f->w->cap - f->w->len < SWIM_RECORD_MIN_LEN)
		return SWIM_BCAST_STOP;
	for (uint32_t i = 0; i < f->nskip; i++)
		if (id == f->skip[i])
			return SWIM_BCAST_SKIP;
	if ((m = swim_table_find(&f->s->tab, id)) == NULL)
		return SWIM_BCAST_DROP;
	swim_record_of(f->s, m, from, &r);
	/* A load sample alone travels without address and name (27 bytes
	 * instead of ~45): the member is known wherever it is news. */
	r.load_only = quiet && m->state == SWIM_ALIVE && m->load.version != 0;
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
 * updates as fit. A GOSSIP message with nothing to carry is not sent.
 * Returns the records carried.
 */
static size_t
swim_send_msg(struct swim *s, uint64_t to_id, const struct swim_addr *to,
	      const struct swim_msg *hdr, const uint64_t *first, uint32_t nfirst)
{
	struct swim_writer w;
	struct swim_record r;
	struct swim_fill f = { s, &w, first, nfirst };
	const struct swim_member *m;
	size_t n;

	if (swim_codec_begin(&w, s->buf, s->cfg.max_payload, hdr) != 0)
		return 0;
	for (uint32_t i = 0; i < nfirst; i++) {
		if ((m = swim_table_cfind(&s->tab, first[i])) == NULL)
			continue;
		swim_record_of(s, m, 0, &r);
		(void)swim_codec_add(&w, &r);
	}
	swim_bcast_fill(&s->bq, swim_retransmit_limit(s), UINT8_MAX - w.count, swim_fill_one, &f);
	n = w.count;
	if (hdr->type != SWIM_MSG_GOSSIP || n > 0)
		swim_send(s, to_id, to, hdr->type, swim_codec_end(&w));
	return n;
}

static void
swim_send_probe_msg(struct swim *s, uint8_t type, uint64_t to_id, const struct swim_addr *to,
		    uint32_t seq, uint64_t target, const uint64_t *first, uint32_t nfirst)
{
	struct swim_msg h;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.seq = seq;
	h.target = target;
	swim_send_msg(s, to_id, to, &h, first, nfirst);
}

/* Our own record alone, as a STATE with `flags`. */
static void
swim_send_self(struct swim *s, uint64_t to_id, const struct swim_addr *to, uint8_t flags)
{
	struct swim_msg h;
	struct swim_writer w;
	struct swim_record r;

	memset(&h, 0, sizeof(h));
	h.type = SWIM_MSG_STATE;
	h.flags = flags;
	swim_record_of(s, &s->tab.members[0], 0, &r);
	if (swim_codec_begin(&w, s->buf, s->cfg.max_payload, &h) == 0 &&
	    swim_codec_add(&w, &r) == 0)
		swim_send(s, to_id, to, SWIM_MSG_STATE, swim_codec_end(&w));
}

/* Our whole table to `to` as STATE chunks, self first. */
static void
swim_send_state(struct swim *s, uint64_t to_id, const struct swim_addr *to, uint8_t flags)
{
	struct swim_msg h;
	struct swim_writer w;
	struct swim_record r;

	memset(&h, 0, sizeof(h));
	h.type = SWIM_MSG_STATE;
	h.flags = flags;
	if (swim_codec_begin(&w, s->buf, s->cfg.max_payload, &h) != 0)
		return;
	for (uint32_t i = 0; i < s->tab.count; i++) {
		swim_record_of(s, &s->tab.members[i], 0, &r);
		if (swim_codec_add(&w, &r) != -EMSGSIZE)
			continue;
		swim_send(s, to_id, to, SWIM_MSG_STATE, swim_codec_end(&w));
		(void)swim_codec_begin(&w, s->buf, s->cfg.max_payload, &h);
		(void)swim_codec_add(&w, &r);
	}
	if (w.count > 0)
		swim_send(s, to_id, to, SWIM_MSG_STATE, swim_codec_end(&w));
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
static uint32_t
swim_pick(struct swim *s, uint32_t k, uint64_t exclude, bool alive_only, uint64_t now,
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
	return swim_min(3 * s->cfg.probe_timeout_ms * (s->awareness + 1), swim_probe_interval(s));
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

	swim_send_probe_msg(s, SWIM_MSG_PING, p->target, &p->addr, p->seq, p->target, &buddy, nb);
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
	p->end_at = now + (confirm ? swim_min(2 * s->cfg.probe_timeout_ms, swim_probe_window(s))
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
	p->nhelpers = swim_pick(s, s->cfg.indirect_checks, p->target, true, now, idx);
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

/* Applies a synthesized record: our own verdict about member m. */
static void
swim_accuse(struct swim *s, struct swim_member *m, enum swim_state st, uint64_t now)
{
	struct swim_record r;

	swim_record_of(s, m, swim_me(s)->id, &r);
	r.state = st;
	r.from = swim_me(s)->id;
	swim_apply_record(s, &r, r.from, false, now);
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

	swim_send_probe_msg(s, SWIM_MSG_PING, r->target, &r->target_addr, r->seq, r->target, &buddy,
			    nb);
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
		swim_send_probe_msg(s, SWIM_MSG_NACK, r->to_id, &r->to, r->req_seq, r->target, NULL,
				    0);
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
	swim_send_probe_msg(s, SWIM_MSG_PING, m->id, &m->addr, ++s->seq, m->id, &buddy, 1);
	if (swim_pick(s, 1, m->id, true, now, &i) == 1) {
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

	if (swim_bcast_loud(&s->bq) == 0)
		return;
	memset(&h, 0, sizeof(h));
	h.type = SWIM_MSG_GOSSIP;
	n = swim_pick(s, s->cfg.gossip_fanout, 0, false, now, idx);
	for (uint32_t i = 0; i < n && swim_bcast_loud(&s->bq) > 0; i++)
		swim_send_msg(s, s->tab.members[idx[i]].id, &s->tab.members[idx[i]].addr, &h, NULL,
			      0);
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
				swim_send_state(s, m->id, &m->addr, SWIM_STATE_ANSWER);
				return;
			}
		}
	}
	if (swim_pick(s, 1, 0, true, now, &i) == 1)
		swim_send_state(s, s->tab.members[i].id, &s->tab.members[i].addr,
				SWIM_STATE_ANSWER);
}

/* True when some ALIVE or SUSPECT member other than us is reachable at `a`. */
static bool
swim_addr_live(const struct swim *s, const struct swim_addr *a)
{
	for (uint32_t i = 1; i < s->tab.count; i++) {
		const struct swim_member *m = &s->tab.members[i];

		if ((m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT) &&
		    swim_addr_eq(&m->addr, a))
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

		if (swim_addr_eq(a, &s->tab.members[0].addr) || swim_addr_live(s, a))
			continue;
		swim_send_state(s, 0, a, SWIM_STATE_ANSWER);
		return;
	}
}

static void
swim_join_send(struct swim *s)
{
	for (size_t i = 0; i < s->nseeds; i++)
		swim_send_state(s, 0, &s->seeds[i], SWIM_STATE_ANSWER);
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
	s->join_backoff = swim_min(s->join_backoff * 2, SWIM_JOIN_BACKOFF_MAX);
	s->next_join = now + s->join_backoff;
}

static uint64_t
swim_next_deadline(struct swim *s, uint64_t now)
{
	uint64_t d = s->next_gossip;

	for (uint32_t i = 0; i < SWIM_PROBES; i++) {
		const struct swim_probe *p = &s->probes[i];

		if (p->active && !p->acked && !p->retried)
			d = swim_min(d, p->retry_at);
		else if (p->active && !p->acked && !p->indirect)
			d = swim_min(d, p->timeout_at);
		else if (p->active)
			d = swim_min(d, p->end_at);
	}
	if (!s->probes[0].active && !s->left)
		d = swim_min(d, s->next_probe);
	if (s->cfg.pushpull_interval_ms > 0 && !s->left) {
		d = swim_min(d, s->next_pushpull);
		d = swim_min(d, s->next_settle);
	}
	d = swim_min(d, swim_suspicions_next(&s->susp));
	d = swim_min(d, swim_table_next_reap(&s->tab, s->cfg.reap_after_ms));
	for (uint32_t i = 0; i < s->nrelays; i++)
		d = swim_min(d,
			     s->relays[i].retried ? s->relays[i].nack_at : s->relays[i].retry_at);
	if (s->nseeds > 0 && !s->left)
		d = swim_min(d, s->next_join);
	return d > now ? d : now + 1;
}

uint64_t
swim_tick(struct swim *s, uint64_t now)
{
	swim_tick_reap(s, now);
	swim_tick_suspicions(s, now);
	swim_tick_relays(s, now);
	swim_tick_probe(s, now);
	if (now >= s->next_gossip) {
		swim_gossip(s, now);
		s->next_gossip += s->cfg.gossip_interval_ms;
		if (s->next_gossip <= now)
			s->next_gossip = now + s->cfg.gossip_interval_ms;
	}
	if (!s->settled && swim_joined(s)) {
		s->settled = true;
		if (s->cfg.pushpull_interval_ms > 0)
			s->next_settle = now + SWIM_SETTLE_PUSHPULL_MS +
					 s->ops.random(s->arg) % SWIM_SETTLE_PUSHPULL_MS;
	}
	/* One extra exchange, off the regular schedule, whose random phase is
	 * what spreads push-pulls over the interval. */
	if (now >= s->next_settle && !s->left) {
		s->next_settle = UINT64_MAX;
		swim_pushpull(s, now);
	}
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
swim_on_ack(struct swim *s, uint64_t from_id, const struct swim_msg *msg)
{
	struct swim_probe *p = swim_probe_of(s, msg->target);
	struct swim_relay *r;

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
		swim_send_probe_msg(s, SWIM_MSG_ACK, r->to_id, &r->to, r->req_seq, r->target,
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

	if (msg->target == swim_me(s)->id || s->nrelays == SWIM_RELAY_MAX)
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

/* True (and remembered) unless we did it for `id` less than `window` ms ago. */
static bool
swim_recent_ok(struct swim_recent *rc, uint64_t id, uint64_t now, uint64_t window)
{
	for (uint32_t i = 0; i < SWIM_RECENT_MAX; i++)
		if (rc->id[i] == id && now >= rc->at[i] && now - rc->at[i] < window)
			return false;
	rc->id[rc->next] = id;
	rc->at[rc->next] = now;
	rc->next = (rc->next + 1) % SWIM_RECENT_MAX;
	return true;
}

static void
swim_on_ping(struct swim *s, uint64_t from_id, const struct swim_addr *from,
	     const struct swim_msg *msg)
{
	uint64_t buddy;

	if (msg->target != swim_me(s)->id)
		return; /* meant for an earlier owner of our address */

	if (swim_buddy(swim_table_cfind(&s->tab, from_id), &buddy))
		swim_fix_add(s, buddy);
	swim_send_probe_msg(s, SWIM_MSG_ACK, from_id, from, msg->seq, msg->target, s->fix, s->nfix);
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
		swim_on_ack(s, from_id, msg);
		break;
	case SWIM_MSG_PING_REQ:
		swim_on_ping_req(s, from_id, from, msg, now);
		break;
	case SWIM_MSG_NACK:
		swim_on_nack(s, from_id, msg);
		break;
	case SWIM_MSG_STATE:
		if (msg->flags & SWIM_STATE_WHO)
			swim_send_self(s, from_id, from, 0);
		/* Once per peer and probe interval: every chunk asks. */
		if ((msg->flags & SWIM_STATE_ANSWER) &&
		    swim_recent_ok(&s->answered, from_id, now, s->cfg.probe_interval_ms)) {
			swim_send_state(s, from_id, from, 0);
			s->nfix = 0; /* the answer carries it all */
		}
		break;
	default:
		break;
	}
}

/* Sends the corrections the last message called for, unless a reply
 * carried them already; at most one such message per peer and round. */
static void
swim_send_fixes(struct swim *s, uint64_t from_id, const struct swim_addr *from, uint64_t now)
{
	struct swim_msg h;

	if (s->nfix == 0 || !swim_recent_ok(&s->corrected, from_id, now, s->cfg.gossip_interval_ms))
		return;
	memset(&h, 0, sizeof(h));
	h.type = SWIM_MSG_GOSSIP;
	swim_send_msg(s, from_id, from, &h, s->fix, s->nfix);
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
	if (from_id == 0 || from_id == swim_me(s)->id || !swim_addr_valid(from))
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
		swim_apply_record(s, &r, from_id, type == SWIM_MSG_STATE, now);
	}
	swim_dispatch(s, from_id, from, &msg, now);
	swim_send_fixes(s, from_id, from, now);
	s->nfix = 0;
	/* A member we never heard of talks to us (its announcement missed
	 * us): ask it who it is rather than wait for a push-pull. */
	if (!s->left && swim_table_cfind(&s->tab, from_id) == NULL &&
	    swim_recent_ok(&s->asked, from_id, now, s->cfg.probe_interval_ms))
		swim_send_self(s, from_id, from, SWIM_STATE_WHO);
}

/* ---- lifecycle and API ---- */

static int
swim_init_self(struct swim *s, uint64_t self_id, uint64_t incarnation,
	       const struct swim_addr *self_addr, const char *name, uint64_t now)
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
	me.state_since = me.updated = now;
	if (swim_table_add(&s->tab, &me, s->ops.random, s->arg) == NULL)
		return -ENOMEM;
	/* A fresh node announces itself. */
	return swim_bcast_put(&s->bq, self_id, 0);
}

struct swim *
swim_new(const struct swim_config *cfg, const struct swim_ops *ops, void *arg, uint64_t self_id,
	 uint64_t incarnation, const struct swim_addr *self_addr, const char *name, uint64_t now)
{
	struct swim *s;

	if (cfg == NULL || ops == NULL || ops->send == NULL || ops->random == NULL ||
	    !swim_config_ok(cfg) || self_id == 0 || !swim_addr_valid(self_addr))
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
	s->join_backoff = cfg->join_retry_ms;
	if ((s->buf = malloc(cfg->max_payload)) == NULL ||
	    swim_table_init(&s->tab, SWIM_MAX_MEMBERS, swim_random64(s)) != 0 ||
	    swim_bcast_init(&s->bq, swim_random64(s)) != 0 ||
	    swim_suspicions_init(&s->susp, swim_random64(s)) != 0 ||
	    swim_init_self(s, self_id, incarnation, self_addr, name, now) != 0) {
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
	swim_suspicions_fini(&s->susp);
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
	struct swim_member *me = swim_me(s);

	if (s->left)
		return;
	s->left = true;
	for (uint32_t i = 0; i < SWIM_PROBES; i++)
		s->probes[i].active = false;
	me->incarnation++;
	(void)swim_table_set_state(&s->tab, me, SWIM_LEFT, now);
	swim_queue(s, me->id, 0);
	log_trace(TRACE_GOSSIP, "swim: leaving at incarnation %" PRIu64, me->incarnation);
	/* Do not wait for the next round: leaving is what the caller waits on. */
	swim_gossip(s, now);
}

void
swim_set_load(struct swim *s, const struct swim_load *load, uint64_t now)
{
	struct swim_member *me = swim_me(s);
	uint32_t version = me->load.version;

	if (version == UINT32_MAX)
		return; /* 136 years at one sample a second */
	me->load = *load;
	me->load.version = version + 1;
	if (me->load.cpu_permille > 1000)
		me->load.cpu_permille = 1000;
	if (me->load.mem_permille > 1000)
		me->load.mem_permille = 1000;
	if (!me->load.has_custom)
		me->load.custom_milli = 0;
	me->load_updated = me->updated = now;
	swim_queue_load(s, me->id);
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

void
swim_stats(const struct swim *s, struct swim_stats *out)
{
	*out = s->st;
	out->awareness = s->awareness;
}
