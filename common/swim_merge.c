/*
 * swim_merge: how a record changes our view (docs/membership.md, "Merge
 * rules" and "Signed claims"). Every record, from whatever message, comes
 * through swim__apply_record; decisions taken locally (a failed probe, an
 * expired suspicion) are made into records and come through it too.
 *
 * What a record may claim is bounded before anything else, then checked
 * against the subject's pinned key, cheapest first:
 *   - an incarnation more than SWIM_MAX_SKEW_MS ahead of our clock, or a
 *     load version (seconds) more than that ahead, is refused outright;
 *   - a record that is not newer than what we hold is dropped unchecked
 *     (relays send each record several times: a copy costs no signature);
 *   - a newer MEMBER, LOAD or APP record must carry its signer's signature,
 *     checked within verify_per_sec a second;
 *   - an ACCUSE (SUSPECT, DEAD) cannot be signed by its subject, so it is
 *     signed by its accuser and bounded instead: it counts only at an
 *     incarnation its subject signed, which the subject can always outbid,
 *     and only as a suspicion (DEAD comes from our own timer alone);
 *   - a member never heard of is admitted only on a valid self-signed MEMBER
 *     record carrying its key, and only once it has answered a ping.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nodekey.h"
#include "swim_priv.h"

/* ---- signatures ---- */

/* Spends one signature check; false when verify_per_sec is spent. */
static bool
swim_verify_budget(struct swim *s, uint64_t now)
{
	struct swim_bucket *b = &s->verify;

	swim__bucket_refill(b, s->cfg.verify_per_sec, now);
	if (b->milli < 1000) {
		s->st.verify_dropped++;
		return false;
	}
	b->milli -= 1000;
	return true;
}

/* True when r's signature is key's. Counts what it refuses. */
static bool
swim_verify(struct swim *s, const uint8_t key[SWIM_KEY_LEN], const struct swim_record *r,
	    uint64_t now)
{
	uint8_t msg[SWIM_SIGNED_MAX];
	size_t len = swim_codec_signed(s->cfg.cluster_id, r, key, msg);
	int rc;

	if (len == 0 || !swim_verify_budget(s, now))
		return false;
	rc = s->ops.verify != NULL ? s->ops.verify(s->arg, key, msg, len, r->sig)
				   : nodekey_verify(key, msg, len, r->sig);
	if (rc != 0) {
		s->st.bad_signatures++;
		log_trace(TRACE_GOSSIP, "swim: bad signature on a record about %" PRIu64, r->id);
		return false;
	}
	return true;
}

/* Our claim (ALIVE, or LEFT after a leave) as a MEMBER record. */
static void
swim_self_claim(struct swim *s, struct swim_record *r)
{
	const struct swim_member *me = swim__me(s);

	memset(r, 0, sizeof(*r));
	r->kind = SWIM_REC_MEMBER;
	r->id = me->id;
	r->incarnation = me->incarnation;
	r->state = me->state == SWIM_LEFT ? SWIM_LEFT : SWIM_ALIVE;
	r->addr = me->addr;
	memcpy(r->name, me->name, sizeof(r->name));
	r->has_key = true;
	memcpy(r->key, me->key, sizeof(r->key));
}

void
swim__sign_self(struct swim *s)
{
	struct swim_member *me = swim__me(s);
	uint8_t msg[SWIM_SIGNED_MAX];
	struct swim_record r;

	swim_self_claim(s, &r);
	s->ops.sign(s->arg, msg, swim_codec_signed(s->cfg.cluster_id, &r, me->key, msg), me->sig);
}

void
swim__sign_load(struct swim *s)
{
	struct swim_member *me = swim__me(s);
	uint8_t msg[SWIM_SIGNED_MAX];
	struct swim_record r;

	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_LOAD;
	r.id = me->id;
	r.load = me->load;
	s->ops.sign(s->arg, msg, swim_codec_signed(s->cfg.cluster_id, &r, me->key, msg),
		    me->load_sig);
}

/* ---- bounds ---- */

/* An incarnation (boot time in ms, +1 per refutation) within the skew. */
static bool
swim_inc_ok(struct swim *s, uint64_t inc, uint64_t now)
{
	if (inc <= swim__wall_ms(s, now) + SWIM_MAX_SKEW_MS)
		return true;
	s->st.out_of_bounds++;
	return false;
}

/* A load version (wall-clock seconds when it was sampled) within the skew. */
static bool
swim_loadver_ok(struct swim *s, uint32_t version, uint64_t now)
{
	if (version <= (swim__wall_ms(s, now) + SWIM_MAX_SKEW_MS) / 1000)
		return true;
	s->st.out_of_bounds++;
	return false;
}

/* ---- claims about ourselves ---- */

/* Outbids an older life of ours (or our own claim at a higher incarnation
 * from before a clock step): our claim goes up to inc + 1, re-signed. */
static void
swim_outbid(struct swim *s, uint64_t inc, uint64_t now)
{
	struct swim_member *me = swim__me(s);

	me->incarnation = inc + 1;
	me->updated = now;
	swim__sign_self(s);
	swim__queue(s, me->id, 0);
}

/* A MEMBER record about us: only we can sign one; a valid one we did not
 * make now is an earlier life's. */
static void
swim_claim_self(struct swim *s, const struct swim_record *r, uint64_t now)
{
	struct swim_member *me = swim__me(s);
	bool same = r->incarnation == me->incarnation && memcmp(r->sig, me->sig, SWIM_SIG_LEN) == 0;

	if (r->incarnation < me->incarnation || same || !swim_inc_ok(s, r->incarnation, now))
		return;
	if ((r->has_key && memcmp(r->key, me->key, SWIM_KEY_LEN) != 0) ||
	    !swim_verify(s, me->key, r, now))
		return; /* an impostor: refused, and nobody else takes it either */
	log_trace(TRACE_GOSSIP, "swim: outbidding our earlier life at incarnation %" PRIu64,
		  r->incarnation);
	swim_outbid(s, r->incarnation, now);
}

void
swim__refute(struct swim *s, uint64_t inc, uint64_t from, uint64_t now)
{
	struct swim_member *me = swim__me(s);

	if (inc < me->incarnation) {
		swim__fix_add(s, me->id);
		return;
	}
	if (s->left) {
		swim__queue(s, me->id, 0); /* our LEFT stands: say it again */
		return;
	}
	s->st.refutations++;
	if (s->awareness + 1 < s->cfg.awareness_max)
		s->awareness++; /* Lifeguard: being accused hints that we are slow */
	log_trace(TRACE_GOSSIP,
		  "swim: refuting an accusation from %" PRIu64 " at incarnation %" PRIu64, from,
		  me->incarnation + 1);
	swim_outbid(s, me->incarnation, now);
}

/* A LOAD record of ours we did not take now: an earlier life's. Go past it
 * (signed anew) so that our samples win again. */
static void
swim_load_self(struct swim *s, const struct swim_record *r, uint64_t now)
{
	struct swim_member *me = swim__me(s);
	uint32_t wall_s = (uint32_t)(swim__wall_ms(s, now) / 1000);

	if (r->load.version < me->load.version ||
	    (r->load.version == me->load.version &&
	     memcmp(r->sig, me->load_sig, SWIM_SIG_LEN) == 0) ||
	    !swim_loadver_ok(s, r->load.version, now) || !swim_verify(s, me->key, r, now))
		return;
	me->load.version = r->load.version + 1 > wall_s ? r->load.version + 1 : wall_s;
	me->load_updated = me->updated = now;
	swim__sign_load(s);
	swim__queue_load(s, me->id);
}

/* ---- claims about others ---- */

/* Is r, a MEMBER record about known member m, newer than what we hold? */
static bool
swim_claim_newer(const struct swim_member *m, const struct swim_record *r)
{
	if (r->incarnation != m->incarnation)
		return r->incarnation > m->incarnation;
	/* Same incarnation: only a LEFT outranks what we hold (ALIVE, or
	 * SUSPECT or DEAD on the strength of its ALIVE claim). */
	return r->state == SWIM_LEFT && m->state != SWIM_LEFT;
}

/* A MEMBER record about a known member: newer, right key, valid signature. */
static void
swim_claim_known(struct swim *s, struct swim_member *m, const struct swim_record *r,
		 uint64_t sender, bool via_state, uint64_t now)
{
	enum swim_state old = m->state;

	if (r->has_key && memcmp(r->key, m->key, SWIM_KEY_LEN) != 0) {
		s->st.key_mismatches++;
		log_trace(TRACE_GOSSIP, "swim: member %" PRIu64 " with another key: refused",
			  m->id);
		return;
	}
	if (!swim_claim_newer(m, r) || !swim_verify(s, m->key, r, now))
		return;
	if (r->incarnation > m->incarnation) {
		m->incarnation = r->incarnation;
		m->addr = r->addr; /* a restart or a move: the owner says so */
		memcpy(m->name, r->name, sizeof(m->name));
	}
	memcpy(m->sig, r->sig, SWIM_SIG_LEN);
	m->updated = now;
	if (r->state != m->state || m->state == SWIM_SUSPECT)
		swim__transition(s, m, r->state, 0, NULL, now);
	if (!via_state || r->id == sender)
		swim__queue(s, m->id, 0);
	swim__event(s, m, old, false);
}

/*
 * False when a stranger's claim needs no signature check: the same or a newer
 * claim with its key is being pinged already, or max_joining strangers are.
 * Every relay passes a new member's claim on, so without this a node checks
 * each copy: when a hundred nodes start at once, that is thousands of Ed25519
 * checks a second on every node, and acks come late enough to suspect.
 */
static bool
swim_stranger_news(struct swim *s, const struct swim_record *r, bool gossip)
{
	for (uint32_t i = 0; i < s->njoining; i++) {
		struct swim_joining *j = &s->joining[i];

		if (j->claim.id != r->id)
			continue;
		if (r->incarnation > j->claim.incarnation ||
		    memcmp(r->key, j->claim.key, SWIM_KEY_LEN) != 0)
			return true;
		j->gossip |= gossip;
		return false;
	}
	if (s->njoining < s->cfg.max_joining)
		return true;
	s->st.joining_full++;
	s->joining_overflow = true;
	return false;
}

static void
swim_apply_claim(struct swim *s, const struct swim_record *r, uint64_t sender, bool via_state,
		 uint64_t now)
{
	struct swim_member *m;

	if (r->id == swim__me(s)->id) {
		swim_claim_self(s, r, now);
		return;
	}
	if (!swim_inc_ok(s, r->incarnation, now))
		return;
	if ((m = swim_table_find(&s->tab, r->id)) != NULL) {
		swim_claim_known(s, m, r, sender, via_state, now);
		return;
	}
	/* A stranger: only its own ALIVE claim, with its key, can introduce it
	 * (DEAD and LEFT of a member we forgot never resurrect it). */
	if (r->state != SWIM_ALIVE)
		return;
	if (!r->has_key) {
		s->st.unsigned_claims++;
		return;
	}
	if (swim_stranger_news(s, r, !via_state || r->id == sender) &&
	    swim_verify(s, r->key, r, now))
		(void)swim__admit(s, r, NULL, !via_state || r->id == sender, now);
}

/*
 * An accusation (SUSPECT or DEAD) by another member, signed by it. It counts
 * only at an incarnation its subject signed (a relay sends the subject's
 * claim first, so a receiver that lags learns it), and only as a suspicion:
 * a member is declared DEAD here by our own timer alone (Lifeguard's, shorter
 * the more distinct accusers confirm it), so one liar, who can sign as
 * itself only, cannot kill anybody: its lone suspicion runs the longest
 * timeout and the last-chance pings, and the live subject refutes it.
 */
static void
swim_apply_accuse(struct swim *s, const struct swim_record *r, uint64_t now)
{
	const struct swim_member *a = swim_table_cfind(&s->tab, r->from);
	struct swim_member *m;
	enum swim_state old;
	bool gossip = false;

	if (a == NULL || a == swim__me(s)) /* unknown accuser, or our own verdict */
		return;
	if (r->id == swim__me(s)->id) {
		if (r->incarnation >= swim__me(s)->incarnation && swim_verify(s, a->key, r, now))
			swim__refute(s, r->incarnation, r->from, now);
		else if (r->incarnation < swim__me(s)->incarnation)
			swim__fix_add(s, r->id);
		return;
	}
	if ((m = swim_table_find(&s->tab, r->id)) == NULL || r->incarnation > m->incarnation)
		return; /* a stranger, or an incarnation its subject has not shown us */
	if (r->incarnation < m->incarnation) {
		swim__fix_add(s, m->id); /* the sender missed a newer claim */
		return;
	}
	old = m->state;
	if (m->state == SWIM_SUSPECT) {
		/* Another accuser: confirmed, never restarted (memberlist). */
		if (swim_suspicions_sig(&s->susp, m->id, r->from) != NULL ||
		    !swim_verify(s, a->key, r, now))
			return;
		gossip = swim_suspicions_confirm(&s->susp, m->id, r->from);
	} else if (m->state == SWIM_ALIVE) {
		if (!swim_verify(s, a->key, r, now))
			return;
		swim__transition(s, m, SWIM_SUSPECT, r->from, r->sig, now);
		m->updated = now;
		gossip = m->state == SWIM_SUSPECT;
	}
	if (!gossip)
		return;
	swim_suspicions_set_sig(&s->susp, m->id, r->from, r->sig);
	swim__queue(s, m->id, r->from);
	if (m->state != old)
		swim__event(s, m, old, false);
}

void
swim__verdict(struct swim *s, struct swim_member *m, enum swim_state st, uint64_t now)
{
	uint8_t msg[SWIM_SIGNED_MAX], sig[SWIM_SIG_LEN];
	uint64_t me = swim__me(s)->id;
	enum swim_state old = m->state;
	struct swim_record r;
	bool gossip = true;

	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_ACCUSE;
	r.id = m->id;
	r.incarnation = m->incarnation;
	r.state = st;
	r.from = me;
	s->ops.sign(s->arg, msg, swim_codec_signed(s->cfg.cluster_id, &r, swim__me(s)->key, msg),
		    sig);
	if (st == SWIM_SUSPECT && m->state == SWIM_SUSPECT) {
		/* Our own failed check confirms somebody else's suspicion. */
		gossip = swim_suspicions_confirm(&s->susp, m->id, me);
	} else if ((int)st > (int)m->state) {
		swim__transition(s, m, st, me, sig, now);
		m->updated = now;
	} else {
		return;
	}
	if (st == SWIM_DEAD)
		memcpy(m->dead_sig, sig, sizeof(sig));
	else
		swim_suspicions_set_sig(&s->susp, m->id, me, sig);
	if (gossip)
		swim__queue(s, m->id, me);
	if (m->state != old)
		swim__event(s, m, old, false);
}

/* A load sample: only its owner's, newer than ours, within the bound. */
static void
swim_apply_load(struct swim *s, const struct swim_record *r, uint64_t sender, bool via_state,
		uint64_t now)
{
	struct swim_member *m;

	if (r->id == swim__me(s)->id) {
		swim_load_self(s, r, now);
		return;
	}
	if ((m = swim_table_find(&s->tab, r->id)) == NULL) {
		/* A stranger being pinged: keep it for its admission. */
		for (uint32_t i = 0; i < s->njoining; i++) {
			struct swim_joining *j = &s->joining[i];

			if (j->claim.id == r->id && r->load.version > j->load.load.version &&
			    swim_loadver_ok(s, r->load.version, now) &&
			    swim_verify(s, j->claim.key, r, now))
				j->load = *r;
		}
		return;
	}
	if (r->load.version <= m->load.version || !swim_loadver_ok(s, r->load.version, now) ||
	    !swim_verify(s, m->key, r, now))
		return;
	m->load = r->load;
	memcpy(m->load_sig, r->sig, SWIM_SIG_LEN);
	m->load_updated = m->updated = now;
	if (!via_state || r->id == sender)
		swim__queue_load(s, m->id);
	swim__event(s, m, m->state, false);
}

/* True when claim c is above the version held for its (kind, subject). */
static bool
swim_app_newer(const struct swim *s, const struct swim_claim *c)
{
	const struct swim_claim_entry *e =
		swim_claims_at(&s->claims, swim_claims_find(&s->claims, c->kind, c->subject));

	return e == NULL || c->version > e->c.version;
}

/* Takes in a checked application claim the application consents to; passes
 * it on unless it came from a push-pull. */
static void
swim_app_accept(struct swim *s, const struct swim_claim *c, const uint8_t sig[SWIM_SIG_LEN],
		bool gossip, uint64_t now)
{
	uint32_t slot;

	if (s->ops.claim == NULL || s->ops.claim(s->arg, c) != 0)
		return;
	slot = swim_claims_put(&s->claims, c, sig, now);
	if (slot == SWIM_CLAIM_NONE)
		return;
	s->st.claims++;
	if (gossip && swim_bcast_put(&s->cq, (uint64_t)slot + 1, 0) != 0)
		log_trace(TRACE_GOSSIP, "swim: claim queue: out of memory");
}

/* A stranger's own claim, signed with the key it is being pinged with: kept
 * for its admission (newest per kind), as the relays pass it on with the
 * stranger's own record, before we could check the stranger. */
static void
swim_app_hold(struct swim *s, struct swim_joining *j, const struct swim_record *r, bool gossip,
	      uint64_t now)
{
	struct swim_joining_app *a = NULL;

	for (uint32_t i = 0; i < SWIM_JOINING_APPS && a == NULL; i++)
		if (j->apps[i].c.kind == r->app.kind || j->apps[i].c.kind == 0)
			a = &j->apps[i];
	if (a == NULL || (a->c.kind != 0 && r->app.version <= a->c.version) ||
	    !swim_verify(s, j->claim.key, r, now))
		return;
	a->c = r->app;
	memcpy(a->sig, r->sig, SWIM_SIG_LEN);
	a->gossip = gossip;
}

/* An application claim: registered kind, known originator (or a stranger's
 * own, held while it is pinged), newer version, valid signature, and the
 * application's consent. */
static void
swim_apply_app(struct swim *s, const struct swim_record *r, bool via_state, uint64_t now)
{
	const struct swim_claim *c = &r->app;
	const struct swim_member *o;

	if (swim_claims_kind(&s->claims, c->kind) == NULL || c->origin == swim__me(s)->id ||
	    !swim_app_newer(s, c))
		return;
	if ((o = swim_table_cfind(&s->tab, c->origin)) == NULL) {
		for (uint32_t i = 0; i < s->njoining; i++)
			if (s->joining[i].claim.id == c->origin && c->subject == c->origin)
				swim_app_hold(s, &s->joining[i], r, !via_state, now);
		return;
	}
	if (swim_verify(s, o->key, r, now))
		swim_app_accept(s, c, r->sig, !via_state, now);
}

void
swim__apply_record(struct swim *s, const struct swim_record *r, uint64_t sender, bool via_state,
		   uint64_t now)
{
	switch (r->kind) {
	case SWIM_REC_MEMBER:
		swim_apply_claim(s, r, sender, via_state, now);
		break;
	case SWIM_REC_ACCUSE:
		swim_apply_accuse(s, r, now);
		break;
	case SWIM_REC_LOAD:
		swim_apply_load(s, r, sender, via_state, now);
		break;
	case SWIM_REC_APP:
		swim_apply_app(s, r, via_state, now);
		break;
	default: /* digests are push-pull's (swim_digest.c) */
		break;
	}
}

/* ---- strangers ---- */

static void
swim_joining_ping(struct swim *s, const struct swim_joining *j)
{
	swim__send_probe_msg(s, SWIM_MSG_PING, j->claim.id, &j->claim.addr, j->seq, j->claim.id,
			     NULL, 0);
}

/* A slot for one more stranger; NULL when memory runs out. The slots exist
 * only while strangers are pinged: a 100-node start fills 32 of 1.7 kB, and
 * a formed cluster should not keep them. They are calloc'ed all at once, so
 * that a large allocator block (docs/benchmarks-serf.md, "Memory") makes
 * only the slots used resident and goes back whole when they are freed. */
static struct swim_joining *
swim_joining_slot(struct swim *s)
{
	if (s->joining == NULL &&
	    (s->joining = calloc(s->cfg.max_joining, sizeof(*s->joining))) == NULL)
		return NULL;
	return &s->joining[s->njoining++];
}

/* Drops stranger i (the last takes its place); the array goes with the last. */
static void
swim_joining_drop(struct swim *s, uint32_t i)
{
	s->joining[i] = s->joining[--s->njoining];
	if (s->njoining == 0) {
		free(s->joining);
		s->joining = NULL;
	}
}

/* Enters a checked stranger (or a primed member) into the table. */
static int
swim_table_enter(struct swim *s, const struct swim_record *claim, const struct swim_record *load,
		 bool gossip, uint64_t now)
{
	struct swim_member m, *p;

	memset(&m, 0, sizeof(m));
	m.id = claim->id;
	m.incarnation = claim->incarnation;
	m.state = SWIM_ALIVE;
	m.addr = claim->addr;
	memcpy(m.name, claim->name, sizeof(m.name));
	memcpy(m.key, claim->key, sizeof(m.key));
	memcpy(m.sig, claim->sig, sizeof(m.sig));
	if (load != NULL && load->kind == SWIM_REC_LOAD) {
		m.load = load->load;
		memcpy(m.load_sig, load->sig, sizeof(m.load_sig));
		m.load_updated = now;
	}
	m.state_since = m.updated = now;
	if ((p = swim_table_add(&s->tab, &m, s->ops.random, s->arg)) == NULL)
		return -ENOMEM;
	s->st.joins++;
	log_trace(TRACE_GOSSIP, "swim: member %" PRIu64 " joined", p->id);
	if (gossip)
		swim__queue(s, p->id, 0);
	swim__event(s, p, p->state, true);
	return 0;
}

int
swim__admit(struct swim *s, const struct swim_record *claim, const struct swim_record *load,
	    bool gossip, uint64_t now)
{
	struct swim_joining *j;

	for (uint32_t i = 0; i < s->njoining; i++) {
		j = &s->joining[i];
		if (j->claim.id != claim->id)
			continue;
		/* Being pinged already: keep the newest claim of the same key. */
		if (claim->incarnation > j->claim.incarnation &&
		    memcmp(claim->key, j->claim.key, SWIM_KEY_LEN) == 0)
			j->claim = *claim;
		j->gossip |= gossip;
		return 0;
	}
	if (s->njoining == s->cfg.max_joining) {
		s->st.joining_full++;
		s->joining_overflow = true;
		return -ENOSPC;
	}
	if ((j = swim_joining_slot(s)) == NULL)
		return -ENOMEM;
	memset(j, 0, sizeof(*j));
	j->claim = *claim;
	if (load != NULL)
		j->load = *load;
	j->gossip = gossip;
	j->seq = ++s->seq;
	j->retry_at = now + s->cfg.probe_timeout_ms / 2;
	j->end_at = now + 3 * s->cfg.probe_timeout_ms;
	swim_joining_ping(s, j);
	return 0;
}

/* A stranger just admitted: its claims held while it was pinged. */
static void
swim_joining_apps(struct swim *s, const struct swim_joining *j, uint64_t now)
{
	for (uint32_t k = 0; k < SWIM_JOINING_APPS && j->apps[k].c.kind != 0; k++)
		if (swim_app_newer(s, &j->apps[k].c))
			swim_app_accept(s, &j->apps[k].c, j->apps[k].sig, j->apps[k].gossip, now);
}

bool
swim__joining_ack(struct swim *s, uint64_t from_id, uint32_t seq, uint64_t now)
{
	for (uint32_t i = 0; i < s->njoining; i++) {
		struct swim_joining j = s->joining[i];

		if (j.claim.id != from_id || j.seq != seq)
			continue;
		swim_joining_drop(s, i);
		/* It may have been admitted meanwhile (swim_prime). */
		if (swim_table_cfind(&s->tab, from_id) == NULL &&
		    swim_table_enter(s, &j.claim, &j.load, j.gossip, now) == 0)
			swim_joining_apps(s, &j, now);
		return true;
	}
	return false;
}

void
swim__tick_joining(struct swim *s, uint64_t now)
{
	for (uint32_t i = 0; i < s->njoining;) {
		struct swim_joining *j = &s->joining[i];

		if (!j->retried && now >= j->retry_at) {
			j->retried = true;
			swim_joining_ping(s, j);
		}
		if (now < j->end_at) {
			i++;
			continue;
		}
		/* Never answered: it never joined, so nothing to gossip or reap. */
		s->st.joins_failed++;
		log_trace(TRACE_GOSSIP, "swim: stranger %" PRIu64 " did not answer; forgotten",
			  j->claim.id);
		swim_joining_drop(s, i);
	}
}

uint64_t
swim__joining_next(const struct swim *s)
{
	uint64_t d = UINT64_MAX;

	for (uint32_t i = 0; i < s->njoining; i++)
		d = swim__min(d, s->joining[i].retried ? s->joining[i].end_at
						       : s->joining[i].retry_at);
	return d;
}

int
swim_prime(struct swim *s, const struct swim_record *claim, uint64_t now)
{
	if (claim == NULL || claim->kind != SWIM_REC_MEMBER || !claim->has_key ||
	    claim->state != SWIM_ALIVE || claim->id == swim__me(s)->id)
		return -EINVAL;
	if (swim_table_cfind(&s->tab, claim->id) != NULL)
		return -EEXIST;
	if (!swim_verify(s, claim->key, claim, now))
		return -EINVAL;
	return swim_table_enter(s, claim, NULL, false, now);
}
