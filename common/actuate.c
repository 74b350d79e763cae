/*
 * actuate: the manager of the leader's operations (include/actuate.h). It
 * holds the lease, the operations (a fixed array), the queue of actions for
 * the shell and the queue of events for the history, and routes results,
 * member events and time to the state machines of common/actuate_op.c. The
 * inventory sweep and the reconcile are in common/actuate_sweep.c.
 *
 * Compile-time switches exist only for the simulator's self-test (they break
 * the core on purpose, so that `dst cloud`'s checker can be seen to catch it;
 * docs/dst.md, "Break switches"):
 * ACTUATE_BREAK_LEASE trusts a lease once given: no expiry, no stop when the
 * shell says "not leader" (a deposed or partitioned leader keeps calling);
 * ACTUATE_BREAK_OPTAG forgets the op tag: a create with no answer is sent
 * again without looking for it, and twins of one op tag are not discarded;
 * ACTUATE_BREAK_LEAK never deletes a droplet (a retired, failed or dead one)
 * and believes it gone;
 * ACTUATE_BREAK_DEREG leaves a dead node in rotation (no deregistration
 * until it is looked up after replace_after; the simulator's model of the
 * registrars' reconcile, the agent's backstop, is turned off with it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate_op.h"
#include "log.h"

#define ACTUATE_DAY_MS (24 * 3600 * 1000ULL)

void
actuate_config_default(struct actuate_config *c)
{
	memset(c, 0, sizeof(*c));
	c->active_timeout_ms = 5 * 60 * 1000;
	c->drain_ms = 90 * 1000;
	c->hook = false;
	c->hook_timeout_ms = 60 * 1000;
	c->hook_max_ms = 10 * 60 * 1000;
	c->leave_timeout_ms = 30 * 1000;
	c->replace_after_ms = 3 * 60 * 1000;
	c->powercycle_wait_ms = 3 * 60 * 1000;
	c->gone_timeout_ms = 5 * 60 * 1000;
	c->max_tries = 5;
	c->max_ops = 256;
	c->dry_run = false;
}

int
actuate_config_validate(const struct actuate_config *c, char *err, size_t errsize)
{
	const char *bad = NULL;

	if (c->active_timeout_ms < 10000 || c->active_timeout_ms > ACTUATE_DAY_MS)
		bad = "active_timeout must be within 10s..1d";
	else if (c->drain_ms > ACTUATE_DAY_MS || c->hook_max_ms > ACTUATE_DAY_MS)
		bad = "dns_ttl + drain_timeout and hook_max_wait must be at most a day";
	else if (c->hook_timeout_ms < 1000 || c->hook_timeout_ms > ACTUATE_DAY_MS)
		bad = "hook_timeout must be within 1s..1d";
	else if (c->leave_timeout_ms < 1000 || c->leave_timeout_ms > 3600 * 1000)
		bad = "leave_timeout must be within 1s..1h";
	else if (c->replace_after_ms > ACTUATE_DAY_MS || c->powercycle_wait_ms > ACTUATE_DAY_MS)
		bad = "replace_after and powercycle_wait must be at most a day";
	else if (c->gone_timeout_ms < 10000 || c->gone_timeout_ms > ACTUATE_DAY_MS)
		bad = "the delete confirmation wait must be within 10s..1d";
	else if (c->max_tries < 1 || c->max_tries > 20)
		bad = "max_tries must be within 1..20";
	else if (c->max_ops < 1 || c->max_ops > 65536)
		bad = "max_ops must be within 1..65536";
	else if (c->cluster[0] == '\0' || !doapi_name_valid(c->cluster))
		bad = "cluster must be a valid droplet name prefix";
	if (bad == NULL)
		return 0;
	if (err != NULL && errsize > 0)
		snprintf(err, errsize, "%s", bad);
	return -EINVAL;
}

struct actuate *
actuate_new(const struct actuate_config *cfg, uint32_t (*random)(void *arg), void *arg)
{
	struct actuate *a;

	if (random == NULL || actuate_config_validate(cfg, NULL, 0) != 0)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->cfg = *cfg;
	a->random = random;
	a->arg = arg;
	a->ops = calloc(cfg->max_ops, sizeof(*a->ops));
	a->queue = calloc(cfg->max_ops, sizeof(*a->queue));
	a->fresh = calloc(cfg->max_ops, sizeof(*a->fresh));
	if (a->ops == NULL || a->queue == NULL || a->fresh == NULL) {
		actuate_free(a);
		return NULL;
	}
	return a;
}

void
actuate_free(struct actuate *a)
{
	if (a == NULL)
		return;
	free(a->ops);
	free(a->queue);
	free(a->listed);
	free(a->fresh);
	free(a);
}

const struct actuate_config *
actuate_config(const struct actuate *a)
{
	return &a->cfg;
}

/* ---- lease ------------------------------------------------------------ */

bool
actuate_leading(const struct actuate *a, uint64_t now)
{
	return a->term != 0 && now < a->lease_until;
}

bool
actuate_ready(const struct actuate *a, uint64_t now)
{
	return actuate_leading(a, now) && a->reconciled;
}

/* Forgets every operation and every queued action: they are the next
 * leader's to reconcile (or ours, in a new term). */
static void
actuate_drop_all(struct actuate *a, uint64_t now, const char *why)
{
	/* The clones among them made droplets (or may have, when a create's
	 * answer is missing): they count until a listing shows them. */
	for (size_t i = 0; i < a->nops; i++)
		if (a->ops[i].kind == ACTUATE_CLONE && !actuate_op_ended(&a->ops[i]) &&
		    (a->ops[i].droplet != 0 || a->ops[i].creates > 0))
			actuate__fresh_add(a, &a->ops[i], now);
	if (a->nops > 0) {
		struct actuate_op none;

		memset(&none, 0, sizeof(none));
		actuate__event(a, &none, ACTUATE_EV_ABANDONED, now,
			       "%zu operations dropped: %s; the next leader reconciles them",
			       a->nops, why);
		a->st.dropped += a->nops;
	}
	a->nops = 0;
	a->qlen = 0;
	a->qhead = 0;
	a->reconciled = false;
}

/* Called first by every entry point: a lease that ran out stops all. */
void
actuate__check_lease(struct actuate *a, uint64_t now)
{
	if (a->term != 0 && now >= a->lease_until && (a->nops > 0 || a->reconciled))
		actuate_drop_all(a, now, "the lease expired");
}

void
actuate_set_lease(struct actuate *a, uint64_t term, uint64_t lease_until, uint64_t now)
{
#ifdef ACTUATE_BREAK_LEASE
	if (term == 0)
		return;
	lease_until = UINT64_MAX;
#endif
	if (term != a->term) {
		actuate_drop_all(a, now, term == 0 ? "no longer leader" : "a new term began");
		log_trace(TRACE_CLOUD, "actuate: term %" PRIu64 " -> %" PRIu64, a->term, term);
	}
	a->term = term;
	a->lease_until = term == 0 ? 0 : lease_until;
	actuate__check_lease(a, now);
}

void
actuate_set_voters(struct actuate *a, const uint64_t *ids, size_t n)
{
	a->nvoters = n < ACTUATE_VOTERS ? n : ACTUATE_VOTERS;
	memcpy(a->voters, ids, a->nvoters * sizeof(*ids));
}

bool
actuate__is_voter(const struct actuate *a, uint64_t id)
{
	for (size_t i = 0; i < a->nvoters; i++)
		if (a->voters[i] == id)
			return true;
	return false;
}

/* ---- queues ----------------------------------------------------------- */

static bool
actuate_verb_mutates(enum actuate_verb v)
{
	return v != ACTUATE_LIST_OP && v != ACTUATE_GET;
}

/*
 * Queues the action of op's state. The request number is the op's even
 * when the action is withheld, so a result can never be matched to an
 * older action of the same operation: the op waits for the number it just
 * took, and a withheld action simply never answers (its reply wait ends it,
 * or the lost lease drops the op first).
 */
void
actuate__emit(struct actuate *a, struct actuate_op *op, enum actuate_verb verb, uint64_t now)
{
	struct actuate_action *act;

	op->req = ++a->next_req;
	if (!actuate_leading(a, now) || a->qlen == a->cfg.max_ops) {
		a->st.withheld++; /* the result never comes: the reply wait ends it */
		return;
	}
	act = &a->queue[(a->qhead + a->qlen++) % a->cfg.max_ops];
	memset(act, 0, sizeof(*act));
	act->verb = verb;
	act->req = op->req;
	act->term = a->term;
	act->op_id = op->op_id;
	memcpy(act->op_tag, op->op_tag, sizeof(act->op_tag));
	memcpy(act->name, op->name, sizeof(act->name));
	act->droplet = op->droplet;
	act->mutating = actuate_verb_mutates(verb);
	if (verb == ACTUATE_CREATE)
		snprintf(act->term_tag, sizeof(act->term_tag), "mitosis-term-%" PRIu64, a->term);
	a->st.actions++;
	a->st.mutating += act->mutating;
}

void
actuate__event(struct actuate *a, const struct actuate_op *op, enum actuate_event_kind k,
	       uint64_t now, const char *fmt, ...)
{
	struct actuate_event *ev;
	va_list ap;

	if (a->elen == ACTUATE_EVENTS) {
		a->ehead = (a->ehead + 1) % ACTUATE_EVENTS;
		a->elen--;
		a->st.events_lost++;
	}
	ev = &a->events[(a->ehead + a->elen++) % ACTUATE_EVENTS];
	memset(ev, 0, sizeof(*ev));
	ev->kind = k;
	ev->term = a->term;
	ev->op_id = op->op_id;
	ev->droplet = op->droplet;
	ev->op_kind = op->kind;
	ev->at = now;
	va_start(ap, fmt);
	vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
	va_end(ap);
}

/* The queue is checked against the lease a second time here, although the
 * check above empties it: this is the last gate before the cloud, and the
 * shell may drain it long after the action was queued. */
bool
actuate_next_action(struct actuate *a, uint64_t now, struct actuate_action *out)
{
	actuate__check_lease(a, now);
	if (a->qlen == 0 || !actuate_leading(a, now))
		return false;
	*out = a->queue[a->qhead];
	a->qhead = (a->qhead + 1) % a->cfg.max_ops;
	a->qlen--;
	return true;
}

bool
actuate_next_event(struct actuate *a, struct actuate_event *out)
{
	if (a->elen == 0)
		return false;
	*out = a->events[a->ehead];
	a->ehead = (a->ehead + 1) % ACTUATE_EVENTS;
	a->elen--;
	return true;
}

/* ---- operations ------------------------------------------------------- */

/* Removes the operations that ended (at the end of each entry point, so
 * pointers held during one call stay valid). */
void
actuate__compact(struct actuate *a)
{
	size_t k = 0;

	for (size_t i = 0; i < a->nops; i++)
		if (!actuate_op_ended(&a->ops[i]))
			a->ops[k++] = a->ops[i];
	a->nops = k;
}

struct actuate_op *
actuate__find(struct actuate *a, uint64_t droplet)
{
	for (size_t i = 0; i < a->nops; i++)
		if (a->ops[i].droplet == droplet && droplet != 0 && !actuate_op_ended(&a->ops[i]))
			return &a->ops[i];
	return NULL;
}

struct actuate_op *
actuate__find_op(struct actuate *a, uint64_t op_id)
{
	for (size_t i = 0; i < a->nops; i++)
		if (a->ops[i].op_id == op_id && op_id != 0 && !actuate_op_ended(&a->ops[i]))
			return &a->ops[i];
	return NULL;
}

/* A new operation in no state yet; NULL when max_ops run. The op id is 48
 * random bits, written as the 12 hex digits of its tag. */
struct actuate_op *
actuate__op_new(struct actuate *a, enum actuate_kind kind, uint64_t droplet, uint64_t now)
{
	struct actuate_op *op;
	uint8_t rnd[6];
	uint32_t r1 = a->random(a->arg), r2 = a->random(a->arg);

	if (a->nops == a->cfg.max_ops)
		return NULL;
	op = &a->ops[a->nops++];
	memset(op, 0, sizeof(*op));
	for (int i = 0; i < 4; i++)
		rnd[i] = (uint8_t)(r1 >> (24 - 8 * i));
	rnd[4] = (uint8_t)(r2 >> 8);
	rnd[5] = (uint8_t)r2;
	doapi_op_tag(rnd, op->op_tag);
	op->op_id = policy_op_id(op->op_tag);
	op->kind = kind;
	op->state = ACTUATE_S_DONE; /* "no state yet": the first enter traces from here */
	op->term = a->term;
	op->droplet = droplet;
	op->started = now;
	op->price_uusd = actuate__price(a, droplet);
	a->st.started[kind]++;
	return op;
}

static int
actuate_start_clone(struct actuate *a, uint64_t unix_s, uint64_t now)
{
	struct actuate_op *op = actuate__op_new(a, ACTUATE_CLONE, 0, now);

	if (op == NULL)
		return -ENOSPC;
	/* The name carries the op id's first 4 hex digits and the time. */
	if (doapi_clone_name(a->cfg.cluster, unix_s, (uint16_t)(op->op_id >> 32), op->name,
			     sizeof(op->name)) != 0)
		snprintf(op->name, sizeof(op->name), "%s", a->cfg.cluster);
	actuate_op_enter(a, op, ACTUATE_S_CREATE, now);
	return 0;
}

static int
actuate_start_retire(struct actuate *a, uint64_t id, uint64_t now)
{
	struct actuate_op *op;

	if (actuate__find(a, id) != NULL)
		return 0; /* already busy with it */
	op = actuate__op_new(a, ACTUATE_RETIRE, id, now);
	if (op == NULL)
		return -ENOSPC;
	actuate_op_enter(a, op, ACTUATE_S_MARK, now);
	return 0;
}

int
actuate_apply(struct actuate *a, const struct policy_decision *d, uint64_t unix_s, uint64_t now)
{
	int r = 0;

	actuate__check_lease(a, now);
	if (!actuate_leading(a, now))
		return -EPERM;
	if (!a->reconciled)
		return -EAGAIN;
	if (d->action == POLICY_HOLD || d->action == POLICY_TRANSFER)
		return 0;
	if (d->dry_run || a->cfg.dry_run) {
		struct actuate_op none;

		memset(&none, 0, sizeof(none));
		actuate__event(a, &none, ACTUATE_EV_DRY_RUN, now, "%s", d->text);
		return 0;
	}
	for (uint32_t i = 0; i < d->count && r == 0; i++) {
		if (d->action == POLICY_SCALE_OUT)
			r = actuate_start_clone(a, unix_s, now);
		else
			r = actuate_start_retire(a, d->victims[i], now);
	}
	actuate__compact(a);
	return r;
}

/* Results are matched by request number only: a result for an operation
 * that was dropped (a lost lease, a new term) or that moved on matches
 * nothing and changes nothing. */
int
actuate_on_result(struct actuate *a, const struct actuate_result *r, uint64_t now)
{
	actuate__check_lease(a, now);
	for (size_t i = 0; i < a->nops && r->req != 0; i++) {
		struct actuate_op *op = &a->ops[i];

		if (op->req != r->req || actuate_op_ended(op))
			continue;
		actuate_op_result(a, op, r, now);
		actuate__compact(a);
		return 0;
	}
	actuate__fresh_result(a, r);
	a->st.stale_results++;
	return -ENOENT;
}

uint64_t
actuate_tick(struct actuate *a, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	actuate__check_lease(a, now);
	/* A timer may start a step whose own wait is already over (a retry
	 * after a late tick): a few passes settle it. */
	for (int pass = 0; pass < 4; pass++) {
		bool fired = false;

		for (size_t i = 0; i < a->nops; i++) {
			struct actuate_op *op = &a->ops[i];

			if (op->due != 0 && op->due <= now && !actuate_op_ended(op)) {
				actuate_op_timer(a, op, now);
				fired = true;
			}
		}
		if (!fired)
			break;
	}
	actuate__compact(a);
	for (size_t i = 0; i < a->nops; i++)
		if (a->ops[i].due != 0 && a->ops[i].due < next)
			next = a->ops[i].due;
	if (actuate_leading(a, now) && a->lease_until < next)
		next = a->lease_until; /* the ops must stop on time */
	return next;
}

/* Deaths are acted on here, between two inventory listings, so that a dead
 * node leaves rotation within the failure detector's time and not a listing
 * interval later; only a droplet the last listing showed under the cluster
 * tag qualifies, so a member that is not ours is never touched. */
void
actuate_on_member(struct actuate *a, uint64_t id, enum swim_state st, uint64_t now)
{
	const struct actuate_seen *seen;
	struct actuate_op *op;

	actuate__check_lease(a, now);
	if (!actuate_ready(a, now))
		return;
	op = actuate__find(a, id);
	seen = actuate__seen(a, id);
	if (op != NULL)
		actuate_op_member(a, op, st, now);
	else if ((st == SWIM_DEAD || st == SWIM_LEFT) && seen != NULL &&
		 (seen->flags & POLICY_NODE_DRAINING) != 0 && !a->cfg.dry_run)
		actuate__adopt_retire(a, id, true, now); /* a victim: delete, never revive */
	else if ((st == SWIM_DEAD || st == SWIM_LEFT) && seen != NULL)
		actuate__start_dead(a, id, now, now);
	actuate__compact(a);
}

/* ---- views ------------------------------------------------------------ */

/* The flag a node carries for the policy while `op` runs on it. */
static unsigned
actuate_op_flag(const struct actuate_op *op)
{
	/* Only a delete the cloud accepted makes a droplet "going": until
	 * then it counts against max_nodes as whatever it was. */
	if (op->state == ACTUATE_S_GONE_WAIT)
		return POLICY_NODE_DELETING;
	switch (op->kind) {
	case ACTUATE_CLONE:
		return POLICY_NODE_CLONING;
	case ACTUATE_RETIRE:
		return POLICY_NODE_RETIRING;
	case ACTUATE_DEAD:
		return op->state == ACTUATE_S_REGISTER ? 0 : POLICY_NODE_DEAD_OP;
	default:
		return 0;
	}
}

static struct policy_node *
actuate_node_by_op(struct policy_node *nodes, size_t n, uint64_t op_id)
{
	for (size_t i = 0; i < n; i++)
		if (nodes[i].op_id == op_id)
			return &nodes[i];
	return NULL;
}

void
actuate_fill_input(const struct actuate *a, struct policy_node *nodes, size_t n,
		   struct policy_input *in)
{
	in->creating = 0;
	in->unlisted_cost_uusd = 0;
	in->clone_failed = a->clone_failed;
	in->clone_failed_ms = a->clone_failed_ms;
	for (size_t i = 0; i < a->nops; i++) {
		const struct actuate_op *op = &a->ops[i];
		struct policy_node *node = NULL;
		uint64_t price = op->price_uusd != 0 ? op->price_uusd : in->clone_price_uusd;

		if (actuate_op_ended(op))
			continue;
		if (op->droplet != 0)
			node = actuate__node_find(nodes, n, op->droplet);
		else if (op->kind == ACTUATE_CLONE)
			node = actuate_node_by_op(nodes, n, op->op_id); /* created, answer lost */
		if (node != NULL)
			node->flags |= actuate_op_flag(op);
		else if (op->state == ACTUATE_S_GONE_WAIT)
			in->unlisted_cost_uusd += price;
		else if (op->kind == ACTUATE_CLONE)
			in->creating++; /* created (or being), not listed yet */
	}
	/* Droplets we made that no operation follows and no listing shows
	 * yet: still capacity (and billed). */
	for (size_t i = 0; i < a->nfresh; i++)
		in->creating += actuate__fresh_counts(&a->fresh[i], nodes, n, in->now_ms);
}

bool
actuate_out_of_rotation(const struct actuate *a, uint64_t id)
{
	for (size_t i = 0; i < a->nops; i++) {
		const struct actuate_op *op = &a->ops[i];

		if (op->droplet != id || id == 0 || actuate_op_ended(op))
			continue;
		if (op->kind == ACTUATE_RETIRE || op->kind == ACTUATE_DISCARD ||
		    (op->kind == ACTUATE_DEAD && op->state != ACTUATE_S_REGISTER))
			return true;
	}
	return false;
}

size_t
actuate_op_count(const struct actuate *a)
{
	return a->nops;
}

const struct actuate_op *
actuate_op_at(const struct actuate *a, size_t i)
{
	return i < a->nops ? &a->ops[i] : NULL;
}

void
actuate_stats(const struct actuate *a, struct actuate_stats *out)
{
	*out = a->st;
}

const char *
actuate_kind_name(enum actuate_kind k)
{
	static const char *const names[] = { "clone", "retire", "dead", "discard" };

	return (unsigned)k <= ACTUATE_DISCARD ? names[k] : "?";
}

const char *
actuate_state_name(enum actuate_state s)
{
	static const char *const names[ACTUATE_S_COUNT] = {
		"create",     "verify", "boot",	       "register",	   "mark",
		"deregister", "drain",	"hook",	       "hook-wait",	   "leave",
		"dead-wait",  "lookup", "power-cycle", "power-cycle-wait", "delete",
		"gone-wait",  "parked", "done",	       "failed",
	};

	return (unsigned)s < ACTUATE_S_COUNT ? names[s] : "?";
}

const char *
actuate_verb_name(enum actuate_verb v)
{
	static const char *const names[ACTUATE_VERB_COUNT] = {
		"create",   "list-op",	  "get",	   "delete", "power-cycle",
		"register", "deregister", "mark-draining", "hook",   "ask-leave",
	};

	return (unsigned)v < ACTUATE_VERB_COUNT ? names[v] : "?";
}

const char *
actuate_event_name(enum actuate_event_kind k)
{
	static const char *const names[ACTUATE_EV_COUNT] = {
		"clone_ready", "clone_failed", "retired",      "retire_failed",
		"node_dead",   "node_back",    "node_removed", "adopted",
		"duplicate",   "leak",	       "dry_run",      "abandoned",
	};

	return (unsigned)k < ACTUATE_EV_COUNT ? names[k] : "?";
}
