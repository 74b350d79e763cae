/*
 * election: the libuv shell of the election core (agent/election.h).
 *
 * Every entry point ends in election_rearm(): elect_tick() at the boot clock,
 * and the one timer re-armed for the deadline it returns, as gossip.c does
 * for SWIM. The core's ops are synchronous and small: a send is one sealed
 * datagram, a persist one atomic file write (statedir_write: temporary file,
 * fsync, rename, fsync of the directory), so the loop never waits long.
 *
 * The leader's announcement travels as an application claim (kind LEADER,
 * subject 0) whose version is term << 24 | a count within the term: a new
 * term always supersedes, a re-announcement in the same term too, and a
 * claim is taken only when the core takes the signed announcement inside
 * it (the originator's own signature, its voter set, its term).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cfg.h"
#include "container.h"
#include "election.h"
#include "gossip.h"
#include "log.h"
#include "nodekey.h"
#include "statedir.h"
#include "transport.h"
#include "wire.h"
#include "xmalloc.h"

#define ELECTION_FILE	     "election"
#define ELECTION_VER_SHIFT   24 /* claim version: term << 24 | count in the term */
#define ELECTION_TERM_MAX    (UINT64_C(1) << 40)
#define ELECTION_SWEEP_MS    1000 /* how often reaped members are looked for */
#define ELECTION_WARN_EVERY  100  /* persist and send failures logged once per this many */
#define ELECTION_CLAIM_SLOTS 4	  /* LEADER claims have one subject (0); a few slots */

/* A member the core was told about, so that a reaped one can be told LEFT. */
struct election_member {
	uint64_t id;
	enum elect_member_status st;
};

struct election {
	uv_timer_t timer;
	uv_loop_t *loop;
	struct elect *e;
	const struct cfg *cfg;
	const struct statedir *sd;
	struct transport *tr;
	struct gossip *gossip;
	uint64_t self;
	enum elect_admit (*admissible)(void *arg, uint64_t id);
	election_event_fn *event;
	void *arg;
	bool announce_due;    /* the core asked; published from the timer */
	uint64_t ann_term;    /* the term of our last announcement */
	uint64_t ann_count;   /* announcements made in it */
	uint64_t logged_lead; /* the announced leader we last logged (non-voters) */
	uint64_t next_sweep;
	struct election_member *mem;
	size_t nmem, capmem;
	uint64_t claims_taken, claims_refused;
	uint64_t send_failures, persist_failures;
	bool closing;
};

static void election_rearm(struct election *el);

uint64_t
election_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the core's ops ---- */

static void
election_on_send(void *arg, uint64_t to, const uint8_t *msg, size_t len)
{
	struct election *el = arg;
	const struct swim_member *m = swim_find(gossip_swim(el->gossip), to);
	struct sockaddr_storage ss;
	int r = -ENOENT;

	if (m != NULL) {
		gossip_addr_to_sockaddr(&m->addr, &ss);
		r = transport_send(el->tr, (const struct sockaddr *)&ss, to, ELECT_WIRE_TYPE, msg,
				   len);
	}
	if (r == 0)
		return;
	/* Loss is the protocol's to tolerate; say so once in a while. */
	if (el->send_failures++ % ELECTION_WARN_EVERY == 0)
		log_warnx("election: cannot send to node %" PRIu64 ": %s (%" PRIu64
			  " send failures so far)",
			  to, m == NULL ? "no address known" : strerror(-r), el->send_failures);
}

static int
election_on_persist(void *arg, const uint8_t *state, size_t len)
{
	struct election *el = arg;
	char err[600];
	int r = statedir_write(el->sd, ELECTION_FILE, state, len, err, sizeof(err));

	if (r != 0 && el->persist_failures++ % ELECTION_WARN_EVERY == 0)
		log_warnx("election: %s: no vote, ack or term change leaves this node until it "
			  "can be written (%" PRIu64 " failures so far)",
			  err, el->persist_failures);
	return r;
}

static int
election_on_pubkey(void *arg, uint64_t id, uint8_t pk[ELECT_PK_LEN])
{
	struct election *el = arg;

	return swim_member_key(gossip_swim(el->gossip), id, pk);
}

static uint32_t
election_on_random(void *arg)
{
	return randombytes_random();
}

static enum elect_admit
election_on_admissible(void *arg, uint64_t id)
{
	struct election *el = arg;

	return el->admissible != NULL ? el->admissible(el->arg, id) : ELECT_ADMIT_YES;
}

static void
election_log_voters(const struct election *el)
{
	struct elect_status st;
	char buf[ELECT_VOTERS_MAX * 48];

	elect_status(el->e, election_now(), &st);
	log_info("election: voter set (commit %" PRIu64 "): %s", st.commit,
		 st.voters.n > 0 ? elect_voters_format(&st.voters, buf, sizeof(buf)) : "none");
}

static void
election_log_event(struct election *el, const struct elect_event *ev)
{
	struct elect_status st;

	switch (ev->type) {
	case ELECT_EV_ROLE:
		log_info("election: this node is now %s (term %" PRIu64 ")",
			 elect_role_name(ev->role), ev->term);
		break;
	case ELECT_EV_LEADER:
		if (ev->leader != 0)
			log_info("election: node %" PRIu64 " leads term %" PRIu64, ev->leader,
				 ev->term);
		break;
	case ELECT_EV_VOTERS:
		election_log_voters(el);
		break;
	case ELECT_EV_LEASE:
		log_info("election: lease %s in term %" PRIu64,
			 ev->leading ? "held: this node may act" : "lost: this node stops acting",
			 ev->term);
		break;
	case ELECT_EV_QUORUM:
		elect_status(el->e, election_now(), &st);
		if (ev->quorum_lost)
			log_warnx("election: quorum lost (%u of %u voters alive): %s",
				  st.voters_alive, st.voters.n, st.recovery);
		else
			log_info("election: quorum back (%u of %u voters alive)", st.voters_alive,
				 st.voters.n);
		break;
	default:
		break;
	}
}

static void
election_on_event(void *arg, const struct elect_event *ev)
{
	struct election *el = arg;

	if (ev->type == ELECT_EV_ANNOUNCE) {
		el->announce_due = true; /* gossip may be mid-update: publish from the timer */
		return;
	}
	if (ev->type != ELECT_EV_PERSIST_FAILED)
		election_log_event(el, ev);
	if (el->event != NULL)
		el->event(el->arg, ev);
}

/* ---- announcements ---- */

/* Publishes the core's signed announcement as our LEADER claim. */
static void
election_announce(struct election *el, uint64_t now)
{
	struct swim_claim c;
	size_t len;
	uint64_t term;
	int r;

	el->announce_due = false;
	if (!elect_leading(el->e, now, &term, NULL))
		return;
	memset(&c, 0, sizeof(c));
	if (elect_announce_build(el->e, now, c.data, sizeof(c.data), &len) != 0)
		return;
	if (term != el->ann_term) {
		el->ann_term = term;
		el->ann_count = 0;
	}
	c.kind = GOSSIP_CLAIM_LEADER;
	c.subject = 0;
	c.version = term << ELECTION_VER_SHIFT | (++el->ann_count & 0xffffff);
	c.len = (uint8_t)len;
	r = gossip_claim_publish(el->gossip, &c);
	if (r != 0)
		log_debug("election: announcement of term %" PRIu64 " not gossiped: %s", term,
			  strerror(-r));
	else
		log_trace(TRACE_ELECT, "election: announced term %" PRIu64 " (%zu bytes)", term,
			  len);
}

int
election_on_claim(struct election *el, const struct swim_claim *c)
{
	struct elect_msg m;
	uint64_t now = election_now();
	int r = -EINVAL;

	if (c->kind != GOSSIP_CLAIM_LEADER || c->subject != 0 ||
	    elect_msg_decode(c->data, c->len, &m) != ELECT_MSG_OK)
		goto out;
	/* The claim's version must say the term its announcement signs, and
	 * its originator must be the announcer: nothing else may stand in the
	 * claim store under a term nobody signed. */
	if (m.type != ELECT_MSG_ANNOUNCE || m.from != c->origin || m.term >= ELECTION_TERM_MAX ||
	    c->version >> ELECTION_VER_SHIFT != m.term)
		goto out;
	r = elect_receive(el->e, c->data, c->len, now) == 0 ? 0 : -EPERM;
	if (r == 0 && elect_leader(el->e) == 0 && m.from != el->logged_lead) {
		el->logged_lead = m.from;
		log_info("election: node %" PRIu64 " leads term %" PRIu64 " (announced)", m.from,
			 m.term);
	}
out:
	if (r == 0)
		el->claims_taken++;
	else
		el->claims_refused++;
	election_rearm(el);
	return r;
}

/* ---- members ---- */

static enum elect_member_status
election_status_of(enum swim_state s)
{
	switch (s) {
	case SWIM_ALIVE:
		return ELECT_MEMBER_ALIVE;
	case SWIM_SUSPECT:
		return ELECT_MEMBER_SUSPECT;
	case SWIM_DEAD:
		return ELECT_MEMBER_DEAD;
	default:
		return ELECT_MEMBER_LEFT;
	}
}

static struct election_member *
election_member_slot(struct election *el, uint64_t id)
{
	for (size_t i = 0; i < el->nmem; i++)
		if (el->mem[i].id == id)
			return &el->mem[i];
	if (el->nmem == el->capmem) {
		el->capmem = el->capmem ? el->capmem * 2 : 16;
		el->mem = xrealloc(el->mem, el->capmem * sizeof(*el->mem));
	}
	el->mem[el->nmem].id = id;
	return &el->mem[el->nmem++];
}

/* Tells the core of one member, with `since` moved to the boot clock. */
static void
election_feed(struct election *el, const struct swim_member *m)
{
	uint64_t now = election_now(), uvnow = uv_now(el->loop);
	uint64_t age = uvnow > m->state_since ? uvnow - m->state_since : 0;
	enum elect_member_status st =
		m->id == el->self ? ELECT_MEMBER_ALIVE : election_status_of(m->state);

	election_member_slot(el, m->id)->st = st;
	if (elect_member(el->e, m->id, st, age < now ? now - age : 0, now) != 0)
		log_warnx("election: out of memory for member %" PRIu64, m->id);
}

void
election_on_member(struct election *el, const struct swim_member *m, enum swim_state old,
		   bool is_new)
{
	if (!is_new && old == m->state)
		return; /* a load sample: nothing for the election */
	election_feed(el, m);
	election_rearm(el);
}

/* SWIM forgets dead and departed members after reap_after without an event:
 * the core hears of them as LEFT, gone for good. */
static void
election_sweep(struct election *el, uint64_t now)
{
	const struct swim *s = gossip_swim(el->gossip);

	if (now < el->next_sweep)
		return;
	el->next_sweep = now + ELECTION_SWEEP_MS;
	for (size_t i = 0; i < el->nmem;) {
		if (el->mem[i].id == el->self || swim_find(s, el->mem[i].id) != NULL) {
			i++;
			continue;
		}
		log_trace(TRACE_ELECT, "election: member %" PRIu64 " reaped: left", el->mem[i].id);
		(void)elect_member(el->e, el->mem[i].id, ELECT_MEMBER_LEFT, now, now);
		el->mem[i] = el->mem[--el->nmem];
	}
}

/* ---- the timer ---- */

static void
election_on_timer(uv_timer_t *t)
{
	struct election *el = container_of(t, struct election, timer);
	uint64_t now = election_now();

	if (el->announce_due)
		election_announce(el, now);
	election_sweep(el, now);
	election_rearm(el);
}

static void
election_rearm(struct election *el)
{
	uint64_t now = election_now(), next;

	if (el->closing)
		return;
	next = elect_tick(el->e, now);
	uv_timer_start(&el->timer, election_on_timer, el->announce_due ? 0 : next - now, 0);
}

void
election_on_wire(struct election *el, uint64_t from, const uint8_t *payload, size_t len)
{
	int r = elect_receive(el->e, payload, len, election_now());

	if (r != 0)
		log_trace(TRACE_ELECT, "election: message from node %" PRIu64 " refused: %s", from,
			  elect_refuse_name((enum elect_refuse)(-r - 1)));
	election_rearm(el);
}

/* ---- start ---- */

/*
 * The durable state: the decoded file, or NULL to start afresh. *flags gets
 * ELECT_NEW_STATE_LOST when the node had a state and it is gone: the file
 * was refused, or is missing from a directory this boot did not create.
 */
static const struct elect_hard *
election_load(const struct election_opts *o, struct elect_hard *h, unsigned *flags)
{
	uint8_t buf[ELECT_STATE_MAX];
	char err[600];
	enum elect_state_err e;
	size_t len;
	int r;

	*flags = 0;
	r = statedir_read(o->sd, ELECTION_FILE, buf, sizeof(buf), &len, err, sizeof(err));
	if (r == -ENOENT) {
		if (!o->state_reset) {
			log_warnx("election: %s/%s is missing from a state_dir this droplet had: "
				  "starting as a non-voter that never bootstraps",
				  statedir_path(o->sd), ELECTION_FILE);
			*flags = ELECT_NEW_STATE_LOST;
		}
		return NULL;
	}
	if (r != 0) {
		log_warnx("election: %s; starting as a non-voter with a new state", err);
		*flags = ELECT_NEW_STATE_LOST;
		return NULL;
	}
	if ((e = elect_state_decode(buf, len, h)) != ELECT_STATE_OK) {
		log_warnx("%s/%s: %s; starting as a non-voter with a new state",
			  statedir_path(o->sd), ELECTION_FILE, elect_state_err_text(e));
		*flags = ELECT_NEW_STATE_LOST;
		return NULL;
	}
	return h;
}

static struct elect *
election_core(struct election *el, const struct election_opts *o)
{
	static const struct elect_ops ops = { .send = election_on_send,
					      .persist = election_on_persist,
					      .pubkey = election_on_pubkey,
					      .random = election_on_random,
					      .admissible = election_on_admissible,
					      .event = election_on_event };
	struct elect_config ec;
	struct elect_hard h;
	const struct elect_hard *hp;
	unsigned flags;
	char why[256];

	cfg_election(o->cfg, &ec);
	if (elect_config_check(&ec, why, sizeof(why)) != 0) {
		log_error("election: %s", why);
		return NULL;
	}
	hp = election_load(o, &h, &flags);
	if (hp != NULL)
		log_info("election: state loaded: term %" PRIu64 ", commit %" PRIu64 ", %u voters",
			 hp->term, hp->log.snap_index, hp->log.snap_voters.n);
	return elect_new(&ec, &ops, el, o->node_id, o->key->sk, hp, flags, election_now());
}

int
election_open(uv_loop_t *loop, const struct election_opts *o, struct election **out)
{
	struct election *el = xcalloc(1, sizeof(*el));
	const struct swim *s = gossip_swim(o->gossip);
	int r;

	el->loop = loop;
	el->cfg = o->cfg;
	el->sd = o->sd;
	el->tr = o->tr;
	el->gossip = o->gossip;
	el->self = o->node_id;
	el->admissible = o->admissible;
	el->event = o->event;
	el->arg = o->arg;
	if ((el->e = election_core(el, o)) == NULL) {
		free(el);
		return -EINVAL;
	}
	r = gossip_claim_register(o->gossip, GOSSIP_CLAIM_LEADER, ELECTION_CLAIM_SLOTS, true);
	if (r != 0) {
		log_error("election: cannot take the leader's claims: %s", strerror(-r));
		elect_free(el->e);
		free(el);
		return r;
	}
	uv_timer_init(loop, &el->timer);
	for (size_t i = 0; i < swim_count(s); i++)
		election_feed(el, swim_member_at(s, i));
	log_info("election: %s, %u voters wanted, bootstrap_expect %u, admission by %s",
		 elect_role_name(elect_role(el->e)), (unsigned)o->cfg->voters,
		 (unsigned)o->cfg->bootstrap_expect,
		 o->admissible != NULL ? "the cloud inventory" : "the cluster key alone");
	election_rearm(el);
	*out = el;
	return 0;
}

/* ---- queries and commands ---- */

bool
election_leading(const struct election *el, uint64_t *term, uint64_t *lease_left_ms)
{
	return elect_leading(el->e, election_now(), term, lease_left_ms);
}

int
election_transfer(struct election *el, uint64_t target)
{
	int r = elect_transfer(el->e, target, election_now());

	election_rearm(el);
	return r;
}

int
election_step_down(struct election *el)
{
	int r = elect_step_down(el->e, election_now());

	election_rearm(el);
	return r;
}

int
election_member_draining(struct election *el, uint64_t id, bool draining)
{
	int r = elect_member_draining(el->e, id, draining, election_now());

	election_rearm(el);
	return r;
}

int
election_force_recover(struct election *el)
{
	int r = elect_force_recover(el->e, election_now());

	election_rearm(el);
	return r;
}

uint64_t
election_leader(const struct election *el, uint64_t *term)
{
	struct elect_status st;

	elect_status(el->e, election_now(), &st);
	if (term != NULL)
		*term = st.term;
	return st.leader;
}

void
election_report(const struct election *el, struct elect_report *out)
{
	const struct swim *s = gossip_swim(el->gossip);
	const struct swim_member *m;

	memset(out, 0, sizeof(*out));
	elect_status(el->e, election_now(), &out->st);
	elect_stats(el->e, &out->stats);
	out->voters_wanted = (uint32_t)el->cfg->voters;
	for (uint32_t i = 0; i < out->st.voters.n; i++) {
		struct elect_report_voter *v = &out->voters[i];

		v->id = out->st.voters.v[i].id;
		v->sid = out->st.voters.v[i].sid;
		v->state = "unknown";
		if ((m = swim_find(s, v->id)) != NULL) {
			v->name = m->name;
			v->state = v->id == el->self ? "alive" : swim_state_name(m->state);
		}
	}
	if (out->st.leader != 0 && (m = swim_find(s, out->st.leader)) != NULL)
		out->leader_name = m->name;
	out->claims_taken = el->claims_taken;
	out->claims_refused = el->claims_refused;
	out->send_failures = el->send_failures;
}

static void
election_on_closed(uv_handle_t *h)
{
	struct election *el = h->data;

	elect_free(el->e);
	free(el->mem);
	free(el);
}

void
election_close(struct election *el)
{
	if (el == NULL)
		return;
	el->closing = true;
	el->timer.data = el;
	uv_close((uv_handle_t *)&el->timer, election_on_closed);
}
