/*
 * actuate_op: the state machines of the leader's operations (clone, retire,
 * dead, discard), one droplet each (include/actuate.h; docs/policy.md draws
 * them). Each state either sends one action and waits for its result, or
 * waits for a time or a member event; nothing here blocks or does I/O.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "actuate_op.h"
#include "log.h"

#define ACTUATE_REPLY_MS      (2 * 3600 * 1000ULL) /* a result this late: the shell lost it */
#define ACTUATE_VERIFY_MS     5000 /* list the op tag this long after a lost create */
#define ACTUATE_MAX_CREATES   3	   /* creates of one clone whose outcome was unknown */
#define ACTUATE_POLL_MIN_MS   2000 /* first wait before asking whether it is gone */
#define ACTUATE_POLL_MAX_MS   15000
#define ACTUATE_BACKOFF_MS    2000 /* first retry; doubles up to ACTUATE_BACKOFF_MAX */
#define ACTUATE_BACKOFF_MAX   60000
#define ACTUATE_VOTER_POLL_MS 1000 /* a drained voter: is it still one? */
/* A NOT_YET is asked again this soon, this many times (10 s) before it
 * counts as a failed try: a clone's addresses come by gossip a moment after
 * its membership, and a 2 s backoff held its registration back that long. */
#define ACTUATE_SOON_MS	 250
#define ACTUATE_SOON_MAX 40

/* The action each state sends; ACTUATE_VERB_COUNT for a pure wait. */
static const enum actuate_verb actuate_state_verb[ACTUATE_S_COUNT] = {
	[ACTUATE_S_CREATE] = ACTUATE_CREATE,
	[ACTUATE_S_VERIFY] = ACTUATE_LIST_OP,
	[ACTUATE_S_BOOT] = ACTUATE_VERB_COUNT,
	[ACTUATE_S_REGISTER] = ACTUATE_REGISTER,
	[ACTUATE_S_MARK] = ACTUATE_MARK_DRAINING,
	[ACTUATE_S_DEREGISTER] = ACTUATE_DEREGISTER,
	[ACTUATE_S_DRAIN] = ACTUATE_VERB_COUNT,
	[ACTUATE_S_HOOK] = ACTUATE_HOOK,
	[ACTUATE_S_HOOK_WAIT] = ACTUATE_VERB_COUNT,
	[ACTUATE_S_LEAVE] = ACTUATE_ASK_LEAVE,
	[ACTUATE_S_DEAD_WAIT] = ACTUATE_VERB_COUNT,
	[ACTUATE_S_LOOKUP] = ACTUATE_GET,
	[ACTUATE_S_POWERCYCLE] = ACTUATE_POWER_CYCLE,
	[ACTUATE_S_POWERCYCLE_WAIT] = ACTUATE_VERB_COUNT,
	[ACTUATE_S_DELETE] = ACTUATE_DELETE,
	[ACTUATE_S_GONE_WAIT] = ACTUATE_GET,
	[ACTUATE_S_PARKED] = ACTUATE_VERB_COUNT,
	[ACTUATE_S_DONE] = ACTUATE_VERB_COUNT,
	[ACTUATE_S_FAILED] = ACTUATE_VERB_COUNT,
};

bool
actuate_op_ended(const struct actuate_op *op)
{
	return op->state == ACTUATE_S_DONE || op->state == ACTUATE_S_FAILED;
}

/* Sends the state's action now; its result is awaited until `wait` ms. */
static void
actuate_op_send(struct actuate *a, struct actuate_op *op, uint64_t now, uint64_t wait)
{
	actuate__emit(a, op, actuate_state_verb[op->state], now);
	op->due = now + wait;
}

static uint64_t
actuate_reply_wait(const struct actuate *a, enum actuate_state st)
{
	if (st == ACTUATE_S_HOOK)
		return a->cfg.hook_timeout_ms;
	if (st == ACTUATE_S_LEAVE)
		return a->cfg.leave_timeout_ms;
	return ACTUATE_REPLY_MS;
}

/* The wait a state starts with, from its entry at `now`. */
static uint64_t
actuate_state_due(const struct actuate *a, const struct actuate_op *op, uint64_t now)
{
	switch (op->state) {
	case ACTUATE_S_VERIFY:
		return now + ACTUATE_VERIFY_MS;
	case ACTUATE_S_BOOT:
		return op->started + a->cfg.active_timeout_ms;
	case ACTUATE_S_DRAIN:
		return now + a->cfg.drain_ms;
	case ACTUATE_S_DEAD_WAIT:
		return op->started + a->cfg.replace_after_ms;
	case ACTUATE_S_POWERCYCLE_WAIT:
		return now + a->cfg.powercycle_wait_ms;
	case ACTUATE_S_GONE_WAIT: {
		uint64_t w = ACTUATE_POLL_MIN_MS << (op->tries < 4 ? op->tries : 4);

		return now + (w < ACTUATE_POLL_MAX_MS ? w : ACTUATE_POLL_MAX_MS);
	}
	default:
		return 0;
	}
}

void
actuate_op_enter(struct actuate *a, struct actuate_op *op, enum actuate_state st, uint64_t now)
{
	enum actuate_state old = op->state;

	op->state = st;
	op->since = now;
	op->req = 0;
	if (st != old)
		op->tries = op->soon = 0;
	log_trace(TRACE_CLOUD, "actuate: %s op %s droplet %" PRIu64 ": %s -> %s",
		  actuate_kind_name(op->kind), op->op_tag, op->droplet, actuate_state_name(old),
		  actuate_state_name(st));
	if (st == ACTUATE_S_CREATE)
		op->creates++;
	if (st == ACTUATE_S_DELETE && op->deletes++ == 0)
		op->first_delete = now;
	if (st == ACTUATE_S_POWERCYCLE)
		op->cycled = true;
	if (st == ACTUATE_S_HOOK_WAIT)
		return; /* its due is the time granted, set by the caller */
	op->due = actuate_state_due(a, op, now);
	if (actuate_state_verb[st] != ACTUATE_VERB_COUNT && st != ACTUATE_S_VERIFY &&
	    st != ACTUATE_S_GONE_WAIT)
		actuate_op_send(a, op, now, actuate_reply_wait(a, st));
}

/* Ends the operation with an event saying how. */
static void
actuate_op_finish(struct actuate *a, struct actuate_op *op, bool ok, enum actuate_event_kind k,
		  uint64_t now, const char *why)
{
	if (why != op->why)
		snprintf(op->why, sizeof(op->why), "%s", why);
	actuate_op_enter(a, op, ok ? ACTUATE_S_DONE : ACTUATE_S_FAILED, now);
	op->due = 0;
	if (ok)
		a->st.done++;
	else
		a->st.failed++;
	if (k == ACTUATE_EV_CLONE_FAILED) {
		a->clone_failed = true;
		a->clone_failed_ms = now;
	}
	if (k == ACTUATE_EV_CLONE_READY && op->droplet != 0)
		actuate__fresh_add(a, op, now);
	actuate__event(a, op, k, now, "%s %s droplet %" PRIu64 "%s%s%s: %s",
		       actuate_kind_name(op->kind), op->op_tag, op->droplet,
		       op->name[0] != '\0' ? " (" : "", op->name, op->name[0] != '\0' ? ")" : "",
		       op->why);
}

/* A step failed for a reason that may pass: try it again later, or give up
 * (false) after max_tries. */
static bool
actuate_op_retry(struct actuate *a, struct actuate_op *op, uint64_t now)
{
	uint64_t wait;

	if (++op->tries >= a->cfg.max_tries)
		return false;
	wait = ACTUATE_BACKOFF_MS << (op->tries < 5 ? op->tries - 1 : 5);
	op->req = 0;
	op->due = now + (wait < ACTUATE_BACKOFF_MAX ? wait : ACTUATE_BACKOFF_MAX);
	return true;
}

/* The droplet is gone: how each kind ends. */
static void
actuate_op_gone(struct actuate *a, struct actuate_op *op, uint64_t now)
{
	actuate__fresh_forget(a, op->droplet);
	switch (op->kind) {
	case ACTUATE_CLONE:
		actuate_op_finish(a, op, false, ACTUATE_EV_CLONE_FAILED, now, op->why);
		break;
	case ACTUATE_RETIRE:
		actuate_op_finish(a, op, true, ACTUATE_EV_RETIRED, now, "deleted, gone");
		break;
	case ACTUATE_DEAD:
		actuate_op_finish(a, op, true, ACTUATE_EV_NODE_REMOVED, now, "deleted, gone");
		break;
	case ACTUATE_DISCARD:
		actuate_op_finish(a, op, true, ACTUATE_EV_DUPLICATE, now,
				  "a second droplet of one clone, deleted");
		break;
	}
}

/* Deletes the droplet, keeping `why` for the end (a clone that failed). */
static void
actuate_op_delete(struct actuate *a, struct actuate_op *op, uint64_t now, const char *why)
{
	if (why != NULL)
		snprintf(op->why, sizeof(op->why), "%s", why);
#ifdef ACTUATE_BREAK_LEAK
	actuate_op_gone(a, op, now); /* as if deleted: nothing is */
	return;
#endif
	actuate_op_enter(a, op, ACTUATE_S_DELETE, now);
}

static void
actuate_op_leak(struct actuate *a, struct actuate_op *op, uint64_t now, const char *how)
{
	char why[ACTUATE_TEXT_LEN];

	a->st.leaks++;
	snprintf(why, sizeof(why), "%s: the droplet may still bill; delete it by hand", how);
	actuate_op_finish(a, op, false, ACTUATE_EV_LEAK, now, why);
}

/* A protected node that stays dead: out of rotation, never deleted, never
 * power-cycled again; the operator decides. */
static void
actuate_op_park(struct actuate *a, struct actuate_op *op, uint64_t now, const char *how)
{
	snprintf(op->why, sizeof(op->why), "protected and %s: left for the operator", how);
	actuate_op_enter(a, op, ACTUATE_S_PARKED, now);
	actuate__event(a, op, ACTUATE_EV_NODE_DEAD, now, "dead droplet %" PRIu64 ": %s",
		       op->droplet, op->why);
}

/* ---- results, state by state --------------------------------------- */

static void
actuate_on_create(struct actuate *a, struct actuate_op *op, const struct actuate_result *r,
		  uint64_t now)
{
	char why[ACTUATE_TEXT_LEN];

	if (r->status == ACTUATE_OK && r->droplet != 0) {
		op->droplet = r->droplet;
		actuate_op_enter(a, op, ACTUATE_S_BOOT, now);
	} else if (r->status == ACTUATE_FAILED) {
		snprintf(why, sizeof(why), "create refused: %s", r->error ? r->error : "?");
		actuate_op_finish(a, op, false, ACTUATE_EV_CLONE_FAILED, now, why);
	} else {
		/* It may have happened: look for the op tag before creating again. */
#ifdef ACTUATE_BREAK_OPTAG
		actuate_op_enter(a, op, ACTUATE_S_CREATE, now);
#else
		actuate_op_enter(a, op, ACTUATE_S_VERIFY, now);
#endif
	}
}

/* The lowest id among the droplets found with our op tag (a create that
 * happened twice anyway: the sweep discards the other). */
static uint64_t
actuate_lowest_found(const struct actuate_op *op, const struct actuate_result *r)
{
	uint64_t best = 0;

	for (size_t i = 0; i < r->nfound; i++) {
		const struct policy_node *n = &r->found[i];

		if (n->op_id == op->op_id && n->id != 0 && (best == 0 || n->id < best))
			best = n->id;
	}
	return best;
}

static void
actuate_on_verify(struct actuate *a, struct actuate_op *op, const struct actuate_result *r,
		  uint64_t now)
{
	uint64_t id;

	if (r->status != ACTUATE_OK) {
		if (!actuate_op_retry(a, op, now))
			actuate_op_finish(a, op, false, ACTUATE_EV_CLONE_FAILED, now,
					  "cannot tell whether the create happened: the sweep "
					  "adopts the droplet if it did");
		return;
	}
	id = actuate_lowest_found(op, r);
	if (id != 0 && actuate__find(a, id) != NULL) {
		/* Another operation follows that droplet already. */
		actuate_op_finish(a, op, true, ACTUATE_EV_ADOPTED, now,
				  "created; followed by another operation");
	} else if (id != 0) {
		op->droplet = id;
		actuate_op_enter(a, op, ACTUATE_S_BOOT, now);
	} else if (op->creates < ACTUATE_MAX_CREATES) {
		actuate_op_enter(a, op, ACTUATE_S_CREATE, now);
	} else {
		actuate_op_finish(a, op, false, ACTUATE_EV_CLONE_FAILED, now,
				  "no droplet after 3 creates with no answer");
	}
}

static void
actuate_on_register(struct actuate *a, struct actuate_op *op, const struct actuate_result *r,
		    uint64_t now)
{
	enum actuate_event_kind k =
		op->kind == ACTUATE_CLONE ? ACTUATE_EV_CLONE_READY : ACTUATE_EV_NODE_BACK;

	if (r->status == ACTUATE_OK)
		actuate_op_finish(a, op, true, k, now, "registered");
	else if (!actuate_op_retry(a, op, now))
		actuate_op_finish(a, op, true, k, now,
				  "joined, but registering failed: the registrars' reconcile "
				  "will add it");
}

static void
actuate_on_deregister(struct actuate *a, struct actuate_op *op, const struct actuate_result *r,
		      uint64_t now)
{
	bool ok = r->status == ACTUATE_OK;

	if (!ok && actuate_op_retry(a, op, now))
		return;
	if (op->kind == ACTUATE_DEAD) {
		/* Out of rotation or not, the wait goes on: the registrars'
		 * reconcile keeps trying to remove a dead node. */
		actuate_op_enter(a, op, op->back ? ACTUATE_S_REGISTER : ACTUATE_S_DEAD_WAIT, now);
	} else if (ok) {
		actuate_op_enter(a, op, ACTUATE_S_DRAIN, now);
	} else {
		/* Deleting a node still in rotation would drop its requests. */
		actuate_op_finish(a, op, false, ACTUATE_EV_RETIRE_FAILED, now,
				  "could not take it out of rotation; it stays");
	}
}

static void
actuate_on_hook(struct actuate *a, struct actuate_op *op, const struct actuate_result *r,
		uint64_t now)
{
	uint64_t left = a->cfg.hook_max_ms - op->hook_extra_ms, grant;

	if (r->status != ACTUATE_MORE_TIME || left == 0) {
		/* Done, failed or silent: go on, as an AWS lifecycle hook's
		 * default result does; the bound protects the bill. */
		actuate_op_enter(a, op, ACTUATE_S_LEAVE, now);
		return;
	}
	grant = r->more_ms < left ? r->more_ms : left;
	op->hook_extra_ms += grant;
	actuate_op_enter(a, op, ACTUATE_S_HOOK_WAIT, now);
	op->due = now + grant;
}

static void
actuate_on_lookup(struct actuate *a, struct actuate_op *op, const struct actuate_result *r,
		  uint64_t now)
{
	const struct policy_node *n = r->nfound > 0 ? &r->found[0] : NULL;

	if (r->status == ACTUATE_NOT_FOUND) {
		actuate_op_finish(a, op, true, ACTUATE_EV_NODE_REMOVED, now, "already gone");
	} else if (r->status != ACTUATE_OK || n == NULL) {
		if (!actuate_op_retry(a, op, now))
			actuate_op_finish(a, op, false, ACTUATE_EV_NODE_DEAD, now,
					  "lookup failed; tried again on a later sweep");
	} else if ((n->flags & POLICY_NODE_LISTED) == 0) {
		actuate_op_finish(a, op, false, ACTUATE_EV_NODE_DEAD, now,
				  "no longer carries the cluster tag: left alone");
	} else if ((n->status == POLICY_ST_ACTIVE || n->status == POLICY_ST_NEW) && !op->cycled) {
		actuate_op_enter(a, op, ACTUATE_S_POWERCYCLE, now);
	} else if (op->protect) {
		actuate_op_park(a, op, now, "off");
	} else {
		actuate_op_delete(a, op, now, NULL);
	}
}

static void
actuate_on_powercycle(struct actuate *a, struct actuate_op *op, const struct actuate_result *r,
		      uint64_t now)
{
	if (r->status == ACTUATE_OK) {
		actuate_op_enter(a, op, ACTUATE_S_POWERCYCLE_WAIT, now);
	} else if (r->status == ACTUATE_FAILED || !actuate_op_retry(a, op, now)) {
		if (op->protect)
			actuate_op_park(a, op, now, "the power cycle failed");
		else
			actuate_op_delete(a, op, now, NULL);
	}
}

static void
actuate_on_delete(struct actuate *a, struct actuate_op *op, const struct actuate_result *r,
		  uint64_t now)
{
	if (r->status == ACTUATE_OK || r->status == ACTUATE_NOT_FOUND)
		actuate_op_enter(a, op, ACTUATE_S_GONE_WAIT, now);
	else if (!actuate_op_retry(a, op, now))
		actuate_op_leak(a, op, now, "delete refused");
}

/* A GET after the delete: 404 ends it; still there, poll on, delete once
 * more after gone_timeout, then give up saying it may still bill. */
static void
actuate_on_gone(struct actuate *a, struct actuate_op *op, const struct actuate_result *r,
		uint64_t now)
{
	if (r->status == ACTUATE_NOT_FOUND) {
		actuate_op_gone(a, op, now);
		return;
	}
	if (now - op->first_delete < (uint64_t)op->deletes * a->cfg.gone_timeout_ms) {
		op->tries++;
		actuate_op_enter(a, op, ACTUATE_S_GONE_WAIT, now);
	} else if (op->deletes < 2) {
		actuate_op_enter(a, op, ACTUATE_S_DELETE, now);
	} else {
		actuate_op_leak(a, op, now, "still listed after two deletes");
	}
}

void
actuate_op_result(struct actuate *a, struct actuate_op *op, const struct actuate_result *r,
		  uint64_t now)
{
	op->req = 0;
	if (r->status == ACTUATE_NOT_YET && op->soon < ACTUATE_SOON_MAX) {
		op->soon++;
		op->due = now + ACTUATE_SOON_MS;
		return;
	}
	switch (op->state) {
	case ACTUATE_S_CREATE:
		actuate_on_create(a, op, r, now);
		break;
	case ACTUATE_S_VERIFY:
		actuate_on_verify(a, op, r, now);
		break;
	case ACTUATE_S_REGISTER:
		actuate_on_register(a, op, r, now);
		break;
	case ACTUATE_S_MARK: /* best effort: the draining flag is for people and the
			      * next leader; the deregistration is what matters */
		actuate_op_enter(a, op, ACTUATE_S_DEREGISTER, now);
		break;
	case ACTUATE_S_DEREGISTER:
		actuate_on_deregister(a, op, r, now);
		break;
	case ACTUATE_S_HOOK:
		actuate_on_hook(a, op, r, now);
		break;
	case ACTUATE_S_LEAVE: /* asked; wait until it has left, or not at all */
		if (r->status == ACTUATE_FAILED)
			actuate_op_delete(a, op, now, NULL);
		break;
	case ACTUATE_S_LOOKUP:
		actuate_on_lookup(a, op, r, now);
		break;
	case ACTUATE_S_POWERCYCLE:
		actuate_on_powercycle(a, op, r, now);
		break;
	case ACTUATE_S_DELETE:
		actuate_on_delete(a, op, r, now);
		break;
	case ACTUATE_S_GONE_WAIT:
		actuate_on_gone(a, op, r, now);
		break;
	default:
		break;
	}
}

/* A result that never came counts as "no answer". */
static void
actuate_op_no_answer(struct actuate *a, struct actuate_op *op, uint64_t now)
{
	struct actuate_result r;

	memset(&r, 0, sizeof(r));
	r.req = op->req;
	r.status = ACTUATE_UNKNOWN;
	r.error = "no answer";
	actuate_op_result(a, op, &r, now);
}

void
actuate_op_timer(struct actuate *a, struct actuate_op *op, uint64_t now)
{
	if (op->req != 0) {
		actuate_op_no_answer(a, op, now);
		return;
	}
	switch (op->state) {
	case ACTUATE_S_BOOT:
		actuate_op_delete(a, op, now, "not active and joined within active_timeout");
		break;
	case ACTUATE_S_DRAIN:
		if (actuate__is_voter(a, op->droplet)) {
			op->due = now + ACTUATE_VOTER_POLL_MS; /* the election removes it first */
			break;
		}
		actuate_op_enter(a, op, a->cfg.hook ? ACTUATE_S_HOOK : ACTUATE_S_LEAVE, now);
		break;
	case ACTUATE_S_HOOK_WAIT:
		actuate_op_enter(a, op, ACTUATE_S_HOOK, now);
		break;
	case ACTUATE_S_LEAVE: /* it did not leave in time: delete it anyway */
		actuate_op_delete(a, op, now, NULL);
		break;
	case ACTUATE_S_DEAD_WAIT:
		actuate_op_enter(a, op, ACTUATE_S_LOOKUP, now);
		break;
	case ACTUATE_S_POWERCYCLE_WAIT:
		if (op->protect)
			actuate_op_park(a, op, now, "still silent after a power cycle");
		else
			actuate_op_delete(a, op, now, NULL);
		break;
	default: /* a retry, the verify's or the gone poll's wait: send now */
		if (!actuate_op_ended(op))
			actuate_op_send(a, op, now, actuate_reply_wait(a, op->state));
		break;
	}
}

void
actuate_op_member(struct actuate *a, struct actuate_op *op, enum swim_state st, uint64_t now)
{
	bool alive = st == SWIM_ALIVE, gone = st == SWIM_DEAD || st == SWIM_LEFT;

	switch (op->state) {
	case ACTUATE_S_BOOT:
		if (alive)
			actuate_op_enter(a, op, ACTUATE_S_REGISTER, now);
		break;
	case ACTUATE_S_LEAVE:
		if (gone)
			actuate_op_delete(a, op, now, NULL);
		break;
	case ACTUATE_S_DEREGISTER:
		if (op->kind == ACTUATE_DEAD)
			op->back = alive;
		break;
	case ACTUATE_S_DEAD_WAIT:
	case ACTUATE_S_POWERCYCLE_WAIT:
	case ACTUATE_S_PARKED:
		if (alive)
			actuate_op_enter(a, op, ACTUATE_S_REGISTER, now);
		break;
	default:
		break;
	}
}
