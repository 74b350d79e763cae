/*
 * actuate_sweep: what the leader does with each listing of the inventory
 * (include/actuate.h, actuate_on_nodes). It feeds the running operations,
 * and starts the ones nobody runs yet. The first sweep of a term is the
 * reconcile of issue 11: the droplets and the gossip are the only memory a
 * new leader has of what an older term left half done, so everything here
 * reads them and nothing repeats an older term's action:
 *   - a droplet with an op tag, new or active, whose agent has not joined:
 *     an older term's clone: adopt it (wait for it to join, register it);
 *   - a member gossiping "draining": an older term's scale-in: finish it;
 *   - a dead, left, or powered-off droplet: its dead-node operation;
 *   - two droplets with one op tag (a create that happened twice): keep
 *     one, delete the other unless it already serves.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate_op.h"

static int
actuate_seen_cmp(const void *pa, const void *pb)
{
	const struct actuate_seen *a = pa, *b = pb;

	return a->id < b->id ? -1 : a->id > b->id;
}

const struct actuate_seen *
actuate__seen(const struct actuate *a, uint64_t id)
{
	struct actuate_seen key = { .id = id };

	if (a->nlisted == 0)
		return NULL;
	return bsearch(&key, a->listed, a->nlisted, sizeof(key), actuate_seen_cmp);
}

uint64_t
actuate__price(const struct actuate *a, uint64_t id)
{
	const struct actuate_seen *s = actuate__seen(a, id);

	return s != NULL ? s->price_uusd : 0;
}

struct policy_node *
actuate__node_find(struct policy_node *nodes, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (nodes[i].id == id)
			return &nodes[i];
	return NULL;
}

/* Keeps the listed droplets (id, price, flags) for the member events that
 * come between two listings. */
static int
actuate_remember(struct actuate *a, const struct policy_node *nodes, size_t n)
{
	size_t k = 0;

	if (n > a->listed_cap) {
		struct actuate_seen *l = realloc(a->listed, n * sizeof(*l));

		if (l == NULL)
			return -ENOMEM;
		a->listed = l;
		a->listed_cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		if ((nodes[i].flags & POLICY_NODE_LISTED) == 0)
			continue;
		a->listed[k].id = nodes[i].id;
		a->listed[k].price_uusd = nodes[i].price_uusd;
		a->listed[k].flags = nodes[i].flags;
		k++;
	}
	a->nlisted = k;
	if (k > 1)
		qsort(a->listed, k, sizeof(*a->listed), actuate_seen_cmp);
	return 0;
}

void
actuate__start_dead(struct actuate *a, uint64_t id, uint64_t since, uint64_t now)
{
	const struct actuate_seen *s = actuate__seen(a, id);
	struct actuate_op *op;

	if (a->cfg.dry_run) {
		struct actuate_op none;

		memset(&none, 0, sizeof(none));
		none.droplet = id;
		actuate__event(a, &none, ACTUATE_EV_DRY_RUN, now,
			       "would deregister dead node %" PRIu64 " and replace it", id);
		return;
	}
	op = actuate__op_new(a, ACTUATE_DEAD, id, now);
	if (op == NULL)
		return; /* max_ops: the next sweep tries again */
	op->started = since <= now ? since : now;
	op->protect = s != NULL && (s->flags & POLICY_NODE_PROTECTED) != 0;
	actuate__event(a, op, ACTUATE_EV_NODE_DEAD, now,
		       "node %" PRIu64 " is dead: out of rotation now, looked up after "
		       "replace_after",
		       id);
#ifdef ACTUATE_BREAK_DEREG
	actuate_op_enter(a, op, ACTUATE_S_DEAD_WAIT, now);
#else
	actuate_op_enter(a, op, ACTUATE_S_DEREGISTER, now);
#endif
}

/* An older term's scale-in, found by the gossiped draining flag: finish it
 * from where it must have been (out of rotation again: deregistering twice
 * is harmless; left already: delete). */
void
actuate__adopt_retire(struct actuate *a, uint64_t id, bool left, uint64_t now)
{
	struct actuate_op *op = actuate__op_new(a, ACTUATE_RETIRE, id, now);

	if (op == NULL)
		return;
	op->adopted = true;
	a->st.adopted++;
	actuate__event(a, op, ACTUATE_EV_ADOPTED, now,
		       "finishing the retirement of draining node %" PRIu64, id);
	actuate_op_enter(a, op, left ? ACTUATE_S_DELETE : ACTUATE_S_DEREGISTER, now);
}

/* An older term's clone, found by its op tag, not joined yet: wait for it
 * as if we had made it. Its deadline counts from now, not from its
 * creation: a member we have not heard of yet must not be deleted on the
 * spot by a leader that just took office. */
static void
actuate_adopt_clone(struct actuate *a, const struct policy_node *n, uint64_t now)
{
	struct actuate_op *op = actuate__op_new(a, ACTUATE_CLONE, n->id, now);

	if (op == NULL)
		return;
	op->adopted = true;
	op->op_id = n->op_id;
	snprintf(op->op_tag, sizeof(op->op_tag), "mitosis-op-%012" PRIx64,
		 n->op_id & (uint64_t)0xffffffffffff);
	a->st.adopted++;
	actuate__event(a, op, ACTUATE_EV_ADOPTED, now,
		       "adopted clone %s droplet %" PRIu64 " (still %s)", op->op_tag, n->id,
		       n->status == POLICY_ST_NEW ? "booting" : "not joined");
	actuate_op_enter(a, op, ACTUATE_S_BOOT, now);
}

static bool
actuate_member_in(const struct policy_node *n, enum swim_state a, enum swim_state b)
{
	return (n->flags & POLICY_NODE_MEMBER) != 0 &&
	       (n->member_state == a || n->member_state == b);
}

/* A node no operation runs on: does it need one? */
static void
actuate_sweep_idle(struct actuate *a, const struct policy_node *n, uint64_t now)
{
	bool gone = actuate_member_in(n, SWIM_DEAD, SWIM_LEFT);
	bool joined = actuate_member_in(n, SWIM_ALIVE, SWIM_SUSPECT);

	if ((n->flags & POLICY_NODE_DRAINING) != 0 && !a->cfg.dry_run)
		actuate__adopt_retire(a, n->id, gone, now);
	else if (gone)
		actuate__start_dead(a, n->id, n->member_since_ms, now);
	else if (n->status == POLICY_ST_OFF)
		actuate__start_dead(a, n->id, now, now);
	else if ((n->status == POLICY_ST_NEW || n->status == POLICY_ST_ACTIVE) && n->op_id != 0 &&
		 !joined && !a->cfg.dry_run)
		actuate_adopt_clone(a, n, now);
}

/* A droplet carrying the op tag of a clone of ours whose create got no
 * answer: it did happen; the clone follows it from now on (one operation
 * per droplet, never two). Its pending listing becomes moot. */
static bool
actuate_sweep_own_clone(struct actuate *a, const struct policy_node *n, uint64_t now)
{
	struct actuate_op *op = n->op_id != 0 ? actuate__find_op(a, n->op_id) : NULL;

	if (op == NULL)
		return false;
	if (op->droplet == 0 && op->state == ACTUATE_S_VERIFY) {
		op->droplet = n->id;
		actuate_op_enter(a, op, ACTUATE_S_BOOT, now);
	}
	return true;
}

static void
actuate_sweep_node(struct actuate *a, const struct policy_node *n, uint64_t now)
{
	struct actuate_op *op;

	if ((n->flags & POLICY_NODE_LISTED) == 0)
		return;
	op = actuate__find(a, n->id);
	if (op == NULL) {
		if (!actuate_sweep_own_clone(a, n, now))
			actuate_sweep_idle(a, n, now);
		return;
	}
	if (n->price_uusd != 0)
		op->price_uusd = n->price_uusd;
	/* A powered-off droplet is not back, whatever stale gossip says. */
	if ((n->flags & POLICY_NODE_MEMBER) != 0 &&
	    !(n->status == POLICY_ST_OFF && n->member_state == SWIM_ALIVE))
		actuate_op_member(a, op, n->member_state, now);
}

/* ---- duplicates --------------------------------------------------------- */

struct actuate_dup {
	uint64_t op_id, id;
	bool serving; /* its agent joined: it is capacity, never discarded */
};

static int
actuate_dup_cmp(const void *pa, const void *pb)
{
	const struct actuate_dup *a = pa, *b = pb;

	if (a->op_id != b->op_id)
		return a->op_id < b->op_id ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* The droplet of a group to keep: the one an operation follows, else one
 * that serves, else the lowest id (the one a lost create's verify adopts).
 * 0 when a create of this op is still waiting for its answer. */
static uint64_t
actuate_dup_keeper(struct actuate *a, const struct actuate_dup *g, size_t k)
{
	for (size_t i = 0; i < a->nops; i++)
		if (a->ops[i].op_id == g[0].op_id && a->ops[i].droplet == 0 &&
		    !actuate_op_ended(&a->ops[i]))
			return 0;
	for (size_t i = 0; i < k; i++)
		if (actuate__find(a, g[i].id) != NULL)
			return g[i].id;
	for (size_t i = 0; i < k; i++)
		if (g[i].serving)
			return g[i].id;
	return g[0].id;
}

static void
actuate_dup_group(struct actuate *a, const struct actuate_dup *g, size_t k, uint64_t now)
{
	uint64_t keep = actuate_dup_keeper(a, g, k);
	struct actuate_op *op;

	for (size_t i = 0; i < k && keep != 0; i++) {
		if (g[i].id == keep || g[i].serving || actuate__find(a, g[i].id) != NULL)
			continue;
		op = actuate__op_new(a, ACTUATE_DISCARD, g[i].id, now);
		if (op == NULL)
			return;
		a->st.duplicates++;
		actuate_op_enter(a, op, ACTUATE_S_DELETE, now);
	}
}

static int
actuate_sweep_duplicates(struct actuate *a, const struct policy_node *nodes, size_t n, uint64_t now)
{
	struct actuate_dup *d;
	size_t k = 0, i, j;

	if (a->cfg.dry_run || n == 0)
		return 0;
	d = malloc(n * sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if ((nodes[i].flags & POLICY_NODE_LISTED) == 0 || nodes[i].op_id == 0)
			continue;
		d[k].op_id = nodes[i].op_id;
		d[k].id = nodes[i].id;
		d[k].serving = actuate_member_in(&nodes[i], SWIM_ALIVE, SWIM_SUSPECT);
		k++;
	}
	if (k > 1)
		qsort(d, k, sizeof(*d), actuate_dup_cmp);
	for (i = 0; i < k; i = j) {
		for (j = i + 1; j < k && d[j].op_id == d[i].op_id; j++)
			;
#ifndef ACTUATE_BREAK_OPTAG
		if (j - i > 1)
#else
		if (j - i > 1 && a == NULL) /* never: the twins stay */
#endif
			actuate_dup_group(a, d + i, j - i, now);
	}
	free(d);
	return 0;
}

/* A parked (protected, dead) node whose droplet is no longer listed was
 * removed by the operator: its operation ends. */
static void
actuate_sweep_parked(struct actuate *a, uint64_t now)
{
	for (size_t i = 0; i < a->nops; i++) {
		struct actuate_op *op = &a->ops[i];

		if (op->state != ACTUATE_S_PARKED || actuate__seen(a, op->droplet) != NULL)
			continue;
		snprintf(op->why, sizeof(op->why), "its droplet is gone");
		actuate_op_enter(a, op, ACTUATE_S_DONE, now);
		a->st.done++;
		actuate__event(a, op, ACTUATE_EV_NODE_REMOVED, now,
			       "protected dead node %" PRIu64 ": its droplet is gone", op->droplet);
	}
}

/* ---- droplets we created that no listing shows yet --------------------- */

void
actuate__fresh_forget(struct actuate *a, uint64_t id)
{
	size_t k = 0;

	for (size_t i = 0; i < a->nfresh; i++)
		if (a->fresh[i].id != id || id == 0)
			a->fresh[k++] = a->fresh[i];
	a->nfresh = k;
}

void
actuate__fresh_add(struct actuate *a, const struct actuate_op *op, uint64_t now)
{
	struct actuate_fresh *f;
	size_t k = 0;

	for (size_t i = 0; i < a->nfresh; i++) /* one entry per clone */
		if (a->fresh[i].op_id != op->op_id)
			a->fresh[k++] = a->fresh[i];
	a->nfresh = k;
	/* A listing showed it: listings count it (or it is gone), not us. */
	if (op->droplet != 0 && actuate__seen(a, op->droplet) != NULL)
		return;
	if (a->nfresh == a->cfg.max_ops) /* full: the oldest is the likeliest listed */
		memmove(a->fresh, a->fresh + 1, --a->nfresh * sizeof(*a->fresh));
	f = &a->fresh[a->nfresh++];
	f->id = op->droplet;
	f->op_id = op->op_id;
	f->req = op->droplet == 0 && op->state == ACTUATE_S_CREATE ? op->req : 0;
	f->since = now;
}

bool
actuate__fresh_counts(const struct actuate_fresh *f, const struct policy_node *nodes, size_t n,
		      uint64_t now)
{
	uint64_t bound = f->id != 0 ? ACTUATE_FRESH_MS : ACTUATE_FRESH_UNKNOWN_MS;

	if (now - f->since >= bound)
		return false;
	for (size_t j = 0; j < n; j++)
		if ((nodes[j].flags & POLICY_NODE_LISTED) != 0 &&
		    ((f->id != 0 && nodes[j].id == f->id) ||
		     (f->op_id != 0 && nodes[j].op_id == f->op_id)))
			return false;
	return true;
}

void
actuate__fresh_listed(struct actuate *a, const struct policy_node *nodes, size_t n, uint64_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < a->nfresh; i++)
		if (actuate__fresh_counts(&a->fresh[i], nodes, n, now))
			a->fresh[k++] = a->fresh[i];
	a->nfresh = k;
}

void
actuate__fresh_result(struct actuate *a, const struct actuate_result *r)
{
	for (size_t i = 0; i < a->nfresh && r->req != 0; i++) {
		struct actuate_fresh *f = &a->fresh[i];

		if (f->req != r->req)
			continue;
		f->req = 0;
		if (r->status == ACTUATE_OK && r->droplet != 0)
			f->id = r->droplet; /* it happened: counted until listed */
		else if (r->status == ACTUATE_FAILED)
			*f = a->fresh[--a->nfresh]; /* refused: nothing was made */
		return;
	}
}

int
actuate_on_nodes(struct actuate *a, const struct policy_node *nodes, size_t n, uint64_t now)
{
	int r;

	actuate__check_lease(a, now);
	if (!actuate_leading(a, now))
		return -EPERM;
	actuate__fresh_listed(a, nodes, n, now);
	r = actuate_remember(a, nodes, n);
	if (r == 0)
		r = actuate_sweep_duplicates(a, nodes, n, now);
	if (r != 0)
		return r;
	for (size_t i = 0; i < n; i++)
		actuate_sweep_node(a, &nodes[i], now);
	actuate_sweep_parked(a, now);
	a->reconciled = true;
	actuate__compact(a);
	return 0;
}
