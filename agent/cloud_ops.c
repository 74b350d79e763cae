/*
 * cloud_ops: delete, list-by-tag, and the droplet actions snapshot and resize
 * on the client (agent/cloud_ops.h); cloning is cloud_clone.c.
 *
 * The actions are driven by the droplet's state, so a lost answer is
 * harmless:
 *
 *   PLAN --what is left--> POST --action id--> POLL --completed--> PLAN ... DONE
 *
 * PLAN reads the state: a resize reads the droplet and posts what is left
 * (power_off while the size differs and it is on, resize when off, power_on
 * once the size is right; nothing left is done); a snapshot lists the
 * droplet's snapshots for its (unique) name before posting again, and is
 * done when the name is there. A droplet that is `locked` (an action runs on
 * it) is waited for before anything is posted.
 *
 * A 422 is read for what it means (doapi_refusal_kind): "pending event" and a
 * status that lagged ("currently on") go back to PLAN after a growing wait;
 * "already powered off" when off is the goal (or on, when on is) is the goal
 * reached; anything else is permanent, and so is an action that ends
 * `errored`. A resize that fails for good puts the droplet back as it was
 * (RESTORE: powered on again when it was active at the start) and then ends
 * with DigitalOcean's message. The status DigitalOcean shows can lag an
 * action (it still reads `active` after a completed power_off), so what a
 * completed action or a 422 proved about the status wins over the GET.
 *
 * A delete is done when GET says 404, not at the DELETE's 204: the droplet
 * stays (listed, billed) for up to a minute and more, and now and then a
 * delete is lost. So: DELETE, poll GET until 404 for up to timeout_ms, DELETE
 * once more and poll again, then fail naming the droplet that may still bill.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cloud.h"
#include "cloud_ops.h"
#include "container.h"
#include "doapi.h"
#include "log.h"
#include "xmalloc.h"

#define CLOUD_OPS_POLL_MS	    2000
#define CLOUD_OPS_POLL_CAP_MS	    10000
#define CLOUD_OPS_DEFAULT_ACTION_MS (30 * 60 * 1000)
#define CLOUD_OPS_DEFAULT_DELETE_MS (2 * 60 * 1000)
#define CLOUD_OPS_DELETE_POLL_MS    1000
#define CLOUD_OPS_DELETES	    2 /* DELETEs sent before the droplet is reported lingering */
#define CLOUD_OPS_MAX_CONFLICTS	    5 /* 422 "currently on/off" in a row before it is final */

/* ---- the pace of poll loops ---- */

uint64_t
cloud_ops_jitter(uint64_t ms)
{
	return ms - ms / 4 + (ms / 2 > 0 ? randombytes_uniform((uint32_t)(ms / 2) + 1) : 0);
}

void
cloud_ops_pace_init(struct cloud_ops_pace *p, uint64_t first_ms)
{
	p->first_ms = first_ms != 0 ? first_ms : CLOUD_OPS_POLL_MS;
	p->wait_ms = p->first_ms;
}

uint64_t
cloud_ops_pace_next(struct cloud_ops_pace *p)
{
	uint64_t w = cloud_ops_jitter(p->wait_ms);

	p->wait_ms = p->wait_ms * 3 / 2 < CLOUD_OPS_POLL_CAP_MS ? p->wait_ms * 3 / 2
								: CLOUD_OPS_POLL_CAP_MS;
	return w;
}

/* Back to first_ms, after progress. */
static void
cloud_ops_pace_reset(struct cloud_ops_pace *p)
{
	p->wait_ms = p->first_ms;
}

/* ---- delete: done when GET says 404 ---- */

enum del_state {
	DEL_SEND, /* DELETE /v2/droplets/ID */
	DEL_POLL, /* GET /v2/droplets/ID until 404 */
	DEL_DONE,
};

struct cloud_ops_delete {
	struct cloud_watch watch; /* cancelled by cloud_close() */
	struct cloud *c;
	uv_timer_t timer;
	enum del_state state;
	uint64_t id;
	uint64_t timeout_ms; /* one window of polling after each accepted DELETE */
	uint64_t started, window_end;
	struct cloud_ops_pace pace;
	struct cloud_delete_result res;
	char status[16]; /* the droplet's status as last seen while it lingered */
	char error[320];
	bool unsettled; /* a DELETE went out: cloud_unsettled counts it until the end */
	cloud_delete_fn *cb;
	void *arg;
};

static void del_send(struct cloud_ops_delete *d);
static void del_poll(struct cloud_ops_delete *d);

static const char *
del_strstate(enum del_state s)
{
	static const char *const names[] = { "send", "poll", "done" };

	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* Every transition goes through here, traced as old -> new (-T cloud). */
static void
del_enter_state(struct cloud_ops_delete *d, enum del_state s)
{
	if (d->state != s)
		log_trace(TRACE_CLOUD, "droplet %llu: delete %s -> %s", (unsigned long long)d->id,
			  del_strstate(d->state), del_strstate(s));
	d->state = s;
}

static void
del_closed(uv_handle_t *h)
{
	free(container_of((uv_timer_t *)(void *)h, struct cloud_ops_delete, timer));
}

static void
del_finish(struct cloud_ops_delete *d, int err, const char *error)
{
	if (d->state == DEL_DONE)
		return;
	del_enter_state(d, DEL_DONE);
	if (d->unsettled)
		cloud_unsettled_add(d->c, -1);
	cloud_watch_del(d->c, &d->watch);
	uv_timer_stop(&d->timer);
	d->res.gone_ms = uv_now(cloud_loop(d->c)) - d->started;
	d->cb(err, err == 0 ? NULL : error, &d->res, d->arg);
	uv_close((uv_handle_t *)&d->timer, del_closed);
}

static void
del_cancel(struct cloud_watch *w)
{
	del_finish(container_of(w, struct cloud_ops_delete, watch), -ECANCELED,
		   "cancelled: the API client is closing");
}

static void
del_on_timer(uv_timer_t *t)
{
	struct cloud_ops_delete *d = container_of(t, struct cloud_ops_delete, timer);

	if (d->state == DEL_SEND)
		del_send(d);
	else if (d->state == DEL_POLL)
		del_poll(d);
}

static void
del_later(struct cloud_ops_delete *d, enum del_state s, uint64_t ms)
{
	del_enter_state(d, s);
	uv_timer_start(&d->timer, del_on_timer, ms, 0);
}

static void
del_on_delete(const struct cloud_resp *r, void *arg)
{
	struct cloud_ops_delete *d = arg;

	if (r->dry_run || (r->err == 0 && r->status == 404)) {
		d->res.already_gone = d->res.deletes == 1 && !r->dry_run;
		del_finish(d, 0, NULL);
	} else if (r->err == 0 && r->status / 100 == 2) {
		d->window_end = uv_now(cloud_loop(d->c)) + d->timeout_ms;
		cloud_ops_pace_reset(&d->pace);
		del_later(d, DEL_POLL, 0); /* often gone at once: look now */
	} else {
		snprintf(d->error, sizeof(d->error),
			 "droplet %llu: DELETE failed (%s): it may still exist and be billed",
			 (unsigned long long)d->id, r->error);
		del_finish(d, r->err != 0 ? r->err : -EPROTO, d->error);
	}
}

static void
del_send(struct cloud_ops_delete *d)
{
	char path[64];
	int e;

	d->res.deletes++;
	if (!d->unsettled)
		cloud_unsettled_add(d->c, 1);
	d->unsettled = true;
	snprintf(path, sizeof(path), "/v2/droplets/%llu", (unsigned long long)d->id);
	e = cloud_call(d->c, "DELETE", path, NULL, 0, del_on_delete, d);
	if (e != 0)
		del_finish(d, e, "cannot start the DELETE");
}

/* Still there when its window closed: DELETE once more, else give up naming it. */
static void
del_linger(struct cloud_ops_delete *d)
{
	uint64_t secs = (uv_now(cloud_loop(d->c)) - d->started) / 1000;

	if (d->res.deletes < CLOUD_OPS_DELETES) {
		log_warnx("droplet %llu: still there (%s) %llu s after its DELETE was accepted; "
			  "deleting it again",
			  (unsigned long long)d->id, d->status, (unsigned long long)secs);
		del_enter_state(d, DEL_SEND);
		del_send(d);
		return;
	}
	snprintf(d->error, sizeof(d->error),
		 "droplet %llu still exists (%s) %llu s after %u DELETEs were accepted: it may "
		 "still be billed; delete it by hand",
		 (unsigned long long)d->id, d->status, (unsigned long long)secs, d->res.deletes);
	del_finish(d, -ETIMEDOUT, d->error);
}

static void
del_on_get(const struct cloud_resp *r, void *arg)
{
	struct cloud_ops_delete *d = arg;
	const cJSON *st;

	if (r->err == -ECANCELED) {
		del_finish(d, r->err, r->error);
		return;
	}
	if (r->err == 0 && r->status == 404) {
		log_debug("droplet %llu: gone (404) after %u DELETE(s)", (unsigned long long)d->id,
			  d->res.deletes);
		del_finish(d, 0, NULL);
		return;
	}
	st = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r->json, "droplet"),
					      "status");
	snprintf(d->status, sizeof(d->status), "%s",
		 cJSON_IsString(st) ? st->valuestring : "status unknown");
	if (uv_now(cloud_loop(d->c)) >= d->window_end)
		del_linger(d);
	else
		del_later(d, DEL_POLL, cloud_ops_pace_next(&d->pace));
}

static void
del_poll(struct cloud_ops_delete *d)
{
	char path[64];
	int e;

	snprintf(path, sizeof(path), "/v2/droplets/%llu", (unsigned long long)d->id);
	e = cloud_call(d->c, "GET", path, NULL, 0, del_on_get, d);
	if (e != 0)
		del_finish(d, e, "cannot start the GET");
}

int
cloud_delete_start(struct cloud *c, uint64_t droplet_id, uint64_t timeout_ms, cloud_delete_fn *cb,
		   void *arg)
{
	struct cloud_ops_delete *d;

	if (droplet_id == 0 || cb == NULL)
		return -EINVAL;
	d = xcalloc(1, sizeof(*d));
	d->c = c;
	d->id = droplet_id;
	d->cb = cb;
	d->arg = arg;
	d->timeout_ms = timeout_ms != 0 ? timeout_ms : CLOUD_OPS_DEFAULT_DELETE_MS;
	d->started = uv_now(cloud_loop(c));
	cloud_ops_pace_init(&d->pace, CLOUD_OPS_DELETE_POLL_MS);
	uv_timer_init(cloud_loop(c), &d->timer);
	d->watch.cancel = del_cancel;
	cloud_watch_add(c, &d->watch);
	del_later(d, DEL_SEND, 0);
	return 0;
}

/* ---- list by tag ---- */

struct cloud_ops_lister {
	cloud_droplets_fn *cb;
	void *arg;
};

static void
cloud_ops_on_list(int err, const char *error, cJSON *items, void *arg)
{
	struct cloud_ops_lister *l = arg;
	struct doapi_droplet *d = NULL;
	size_t n = 0;
	char why[256];

	if (err == 0 && (err = doapi_droplets_parse(items, &d, &n, why, sizeof(why))) != 0)
		error = err == -ENOMEM ? "out of memory" : why;
	l->cb(err, error, d, n, l->arg);
	free(d);
	free(l);
}

int
cloud_list_tag_start(struct cloud *c, const char *tag, cloud_droplets_fn *cb, void *arg)
{
	struct cloud_ops_lister *l;
	char *path;
	int e;

	if (tag == NULL || tag[0] == '\0' || strpbrk(tag, "&?#/ %") != NULL || cb == NULL)
		return -EINVAL;
	l = xcalloc(1, sizeof(*l));
	l->cb = cb;
	l->arg = arg;
	path = xasprintf("/v2/droplets?tag_name=%s", tag);
	e = cloud_list(c, path, "droplets", cloud_ops_on_list, l);
	free(path);
	if (e != 0)
		free(l);
	return e;
}

/* ---- snapshot and resize: droplet actions driven by state ---- */

enum act_state {
	ACT_PLAN, /* reading the droplet (resize) or its snapshots (snapshot) */
	ACT_POST, /* posting the next action */
	ACT_POLL, /* polling the action until it completes */
	ACT_DONE,
};

struct cloud_ops_act {
	struct cloud_watch watch; /* cancelled by cloud_close() */
	struct cloud *c;
	uv_timer_t timer; /* runs the current state after a wait */
	enum act_state state;
	uint64_t id;
	bool resize;		     /* else a snapshot */
	char arg[256];		     /* the snapshot's name or the target size */
	enum doapi_action_type type; /* the action being posted or polled */
	uint64_t action_id;
	bool completed; /* the snapshot action completed */
	uint64_t deadline;
	struct cloud_ops_pace pace;
	struct doapi_droplet cur; /* the droplet as last read (resize) */
	char known[16];		  /* the status an action or a 422 proved; "" = the GET's */
	bool looked;		  /* the droplet was read once (resize) */
	bool was_active;	  /* ...and was active then: a failed resize powers it on again */
	bool restoring;		  /* failed for good: putting the droplet back, then fail_err */
	int fail_err;
	unsigned conflicts; /* 422 "currently on/off" since the last action */
	cloud_op_fn *op_cb;
	cloud_snapshot_fn *snap_cb;
	void *cb_arg;
	char error[320];
};

static void act_plan(struct cloud_ops_act *k);
static void act_post(struct cloud_ops_act *k, enum doapi_action_type type);
static void act_poll(struct cloud_ops_act *k);

static const char *
act_strstate(enum act_state s)
{
	static const char *const names[] = { "plan", "post", "poll", "done" };

	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* Every transition goes through here, traced as old -> new (-T cloud). */
static void
act_enter_state(struct cloud_ops_act *k, enum act_state s)
{
	if (k->state != s)
		log_trace(TRACE_CLOUD, "droplet %llu: %s %s -> %s", (unsigned long long)k->id,
			  k->resize ? "resize" : "snapshot", act_strstate(k->state),
			  act_strstate(s));
	k->state = s;
}

static void
act_closed(uv_handle_t *h)
{
	free(container_of((uv_timer_t *)(void *)h, struct cloud_ops_act, timer));
}

static void
act_finish(struct cloud_ops_act *k, int err, const char *error, uint64_t image_id)
{
	if (k->state == ACT_DONE)
		return;
	act_enter_state(k, ACT_DONE);
	cloud_watch_del(k->c, &k->watch);
	uv_timer_stop(&k->timer);
	if (k->resize)
		k->op_cb(err, err == 0 ? NULL : error, k->cb_arg);
	else
		k->snap_cb(err, err == 0 ? NULL : error, image_id, k->cb_arg);
	uv_close((uv_handle_t *)&k->timer, act_closed);
}

static void
act_cancel(struct cloud_watch *w)
{
	act_finish(container_of(w, struct cloud_ops_act, watch), -ECANCELED,
		   "cancelled: the API client is closing", 0);
}

static void
act_on_timer(uv_timer_t *t)
{
	struct cloud_ops_act *k = container_of(t, struct cloud_ops_act, timer);

	switch (k->state) {
	case ACT_PLAN:
		act_plan(k);
		break;
	case ACT_POST:
		act_post(k, k->type);
		break;
	case ACT_POLL:
		act_poll(k);
		break;
	case ACT_DONE:
		break;
	}
}

static void act_fail(struct cloud_ops_act *k, int err, const char *why);

/* Enters state s and runs it after ms, unless that passes the deadline. */
static void
act_later(struct cloud_ops_act *k, enum act_state s, uint64_t ms)
{
	char why[128];

	if (uv_now(cloud_loop(k->c)) + ms > k->deadline) {
		snprintf(why, sizeof(why), "droplet %llu: %s did not finish in time",
			 (unsigned long long)k->id, k->resize ? "resize" : "snapshot");
		act_fail(k, -ETIMEDOUT, why);
		return;
	}
	act_enter_state(k, s);
	uv_timer_start(&k->timer, act_on_timer, ms, 0);
}

/*
 * A failure for good. A resize of a droplet that was active powers it on
 * again first (RESTORE: the plan with the size left as it is) and reports
 * `why` once that is done; a failure while restoring ends at once, saying
 * both. The deadline still bounds the restore.
 */
static void
act_fail(struct cloud_ops_act *k, int err, const char *why)
{
	char both[2 * sizeof(k->error) + 40];

	if (k->restoring) {
		snprintf(both, sizeof(both), "%s; putting it back failed too: %s", k->error, why);
		act_finish(k, k->fail_err, both, 0);
	} else if (k->resize && k->was_active && err != -ETIMEDOUT && err != -ECANCELED) {
		k->restoring = true;
		k->fail_err = err;
		snprintf(k->error, sizeof(k->error), "%s", why);
		log_warnx("%s; powering the droplet on again, as it was", why);
		cloud_ops_pace_reset(&k->pace);
		act_later(k, ACT_PLAN, 0);
	} else {
		act_finish(k, err, why, 0);
	}
}

/* What is left of a resize, from the droplet's state; posts it or finishes. */
static void
act_decide(struct cloud_ops_act *k)
{
	const char *status = k->known[0] != '\0' ? k->known : k->cur.status;
	bool size_ok = k->restoring || strcmp(k->cur.size_slug, k->arg) == 0;
	enum doapi_action_type type;
	char back[sizeof(k->error) + 64];

	if (!k->looked) {
		k->looked = true;
		k->was_active = strcmp(k->cur.status, "active") == 0;
	}
	if (k->cur.locked) {
		log_info("droplet %llu: locked by an action that runs; waiting",
			 (unsigned long long)k->id);
		act_later(k, ACT_PLAN, cloud_ops_pace_next(&k->pace));
		return;
	}
	if (!size_ok)
		type = strcmp(status, "off") == 0 ? DOAPI_ACTION_RESIZE : DOAPI_ACTION_POWER_OFF;
	else if (strcmp(status, "active") != 0 && (!k->restoring || k->was_active))
		type = DOAPI_ACTION_POWER_ON;
	else if (k->restoring) {
		snprintf(back, sizeof(back), "%s (the droplet is active again, as it was)",
			 k->error);
		act_finish(k, k->fail_err, back, 0);
		return;
	} else {
		act_finish(k, 0, NULL, 0);
		return;
	}
	log_info("droplet %llu: %s (status %s, size %s)", (unsigned long long)k->id,
		 doapi_action_name(type), status, k->cur.size_slug);
	act_post(k, type);
}

/* A dry run cannot watch the droplet change: assume the action worked. */
static void
act_assume(struct cloud_ops_act *k)
{
	if (k->type == DOAPI_ACTION_POWER_OFF)
		snprintf(k->cur.status, sizeof(k->cur.status), "off");
	else if (k->type == DOAPI_ACTION_POWER_ON)
		snprintf(k->cur.status, sizeof(k->cur.status), "active");
	else
		snprintf(k->cur.size_slug, sizeof(k->cur.size_slug), "%.63s", k->arg);
	act_decide(k);
}

/* A 422: wait for a pending event or a lagging status, take a reached goal, else fail. */
static void
act_refused(struct cloud_ops_act *k, const struct cloud_resp *r)
{
	enum doapi_refusal kind = doapi_refusal_kind(r->json);
	char why[sizeof(k->error)];

	if (kind == DOAPI_REFUSAL_ALREADY_OFF && k->type == DOAPI_ACTION_POWER_OFF) {
		snprintf(k->known, sizeof(k->known), "off"); /* the goal: its status lagged */
		act_decide(k);
	} else if (kind == DOAPI_REFUSAL_ALREADY_ON && k->type == DOAPI_ACTION_POWER_ON) {
		snprintf(k->known, sizeof(k->known), "active");
		act_decide(k);
	} else if (kind == DOAPI_REFUSAL_PENDING ||
		   (kind == DOAPI_REFUSAL_STATE && ++k->conflicts <= CLOUD_OPS_MAX_CONFLICTS)) {
		if (kind == DOAPI_REFUSAL_STATE) /* "currently on": it is not what it showed */
			snprintf(k->known, sizeof(k->known), "%s",
				 k->type == DOAPI_ACTION_RESIZE ? "active" : "");
		log_info("droplet %llu: %s not started (%s); waiting", (unsigned long long)k->id,
			 doapi_action_name(k->type), r->error);
		act_later(k, ACT_PLAN, cloud_ops_pace_next(&k->pace));
	} else {
		snprintf(why, sizeof(why), "droplet %llu: %s refused: %s",
			 (unsigned long long)k->id, doapi_action_name(k->type), r->error);
		act_fail(k, -EPROTO, why);
	}
}

static void
act_on_post(const struct cloud_resp *r, void *arg)
{
	struct cloud_ops_act *k = arg;
	struct doapi_action a;
	char why[sizeof(k->error)];

	if (r->dry_run && k->resize) {
		act_assume(k);
	} else if (r->dry_run || r->err == -ECANCELED) {
		act_finish(k, r->err, r->error, 0);
	} else if (r->err == 0 && r->status / 100 == 2 &&
		   doapi_action_parse(cJSON_GetObjectItemCaseSensitive(r->json, "action"), &a, why,
				      sizeof(why))) {
		k->action_id = a.id;
		k->conflicts = 0;
		cloud_ops_pace_reset(&k->pace);
		act_later(k, ACT_POLL, cloud_ops_pace_next(&k->pace));
	} else if (r->err == 0 && r->status == 422) {
		act_refused(k, r);
	} else if (r->err == 0 && r->status >= 400 && r->status < 500 && r->status != 429) {
		snprintf(why, sizeof(why), "droplet %llu: %s refused: %s",
			 (unsigned long long)k->id, doapi_action_name(k->type), r->error);
		act_fail(k, -EPROTO, why);
	} else {
		/* 5xx, no answer: it may have started; look at the state again. */
		log_info("droplet %llu: %s not started (%s); re-checking",
			 (unsigned long long)k->id, doapi_action_name(k->type),
			 r->error[0] != '\0' ? r->error : "bad body");
		act_later(k, ACT_PLAN, cloud_ops_pace_next(&k->pace));
	}
}

/* Posts action `type` (stored: a retry and the dry run know what was posted). */
static void
act_post(struct cloud_ops_act *k, enum doapi_action_type type)
{
	char path[96], *body = NULL;
	int e;

	act_enter_state(k, ACT_POST);
	k->type = type;
	e = doapi_action_body(
		type, type == DOAPI_ACTION_RESIZE || type == DOAPI_ACTION_SNAPSHOT ? k->arg : NULL,
		&body);
	snprintf(path, sizeof(path), "/v2/droplets/%llu/actions", (unsigned long long)k->id);
	/* A resize step is idempotent (the state is read again first); a snapshot is not. */
	if (e == 0)
		e = cloud_call(k->c, "POST", path, body, k->resize ? CLOUD_IDEMPOTENT : 0,
			       act_on_post, k);
	free(body);
	if (e != 0)
		act_finish(k, e, "cannot start the action request", 0);
}

static void
act_on_poll(const struct cloud_resp *r, void *arg)
{
	struct cloud_ops_act *k = arg;
	struct doapi_action a;
	char why[sizeof(k->error)];

	if (r->err == -ECANCELED) {
		act_finish(k, r->err, r->error, 0);
	} else if (r->err != 0 || r->status != 200 ||
		   !doapi_action_parse(cJSON_GetObjectItemCaseSensitive(r->json, "action"), &a, why,
				       sizeof(why))) {
		act_later(k, ACT_POLL, cloud_ops_pace_next(&k->pace));
	} else if (strcmp(a.status, "errored") == 0) {
		snprintf(why, sizeof(why), "droplet %llu: action %llu (%s) errored",
			 (unsigned long long)k->id, (unsigned long long)a.id, a.type);
		act_fail(k, -EIO, why);
	} else if (strcmp(a.status, "completed") == 0) {
		/* What it did is known now, whatever the droplet's status still shows. */
		if (k->type == DOAPI_ACTION_POWER_OFF || k->type == DOAPI_ACTION_POWER_ON)
			snprintf(k->known, sizeof(k->known), "%s",
				 k->type == DOAPI_ACTION_POWER_OFF ? "off" : "active");
		k->completed = true;
		cloud_ops_pace_reset(&k->pace);
		act_later(k, ACT_PLAN, 0);
	} else {
		act_later(k, ACT_POLL, cloud_ops_pace_next(&k->pace));
	}
}

static void
act_poll(struct cloud_ops_act *k)
{
	char path[128];
	int e;

	snprintf(path, sizeof(path), "/v2/droplets/%llu/actions/%llu", (unsigned long long)k->id,
		 (unsigned long long)k->action_id);
	e = cloud_call(k->c, "GET", path, NULL, 0, act_on_poll, k);
	if (e != 0)
		act_finish(k, e, "cannot start the poll", 0);
}

static void
act_on_droplet(const struct cloud_resp *r, void *arg)
{
	struct cloud_ops_act *k = arg;
	char why[160];

	if (r->err == 0 && r->status == 200 &&
	    doapi_droplet_parse(cJSON_GetObjectItemCaseSensitive(r->json, "droplet"), &k->cur, why,
				sizeof(why))) {
		act_decide(k);
	} else if (r->err == 0 && r->status == 404) {
		snprintf(k->error, sizeof(k->error), "droplet %llu: %s", (unsigned long long)k->id,
			 r->error);
		act_finish(k, -ENOENT, k->error, 0);
	} else if (r->err == -ECANCELED) {
		act_finish(k, r->err, r->error, 0);
	} else {
		act_later(k, ACT_PLAN, cloud_ops_pace_next(&k->pace));
	}
}

static void
act_on_snapshots(int err, const char *error, cJSON *items, void *arg)
{
	struct cloud_ops_act *k = arg;
	uint64_t image;

	if (err == -ECANCELED || err == -ENOENT || err == -EACCES) {
		snprintf(k->error, sizeof(k->error), "droplet %llu: %s", (unsigned long long)k->id,
			 error);
		act_finish(k, err, k->error, 0);
	} else if (err != 0) {
		act_later(k, ACT_PLAN, cloud_ops_pace_next(&k->pace));
	} else if ((image = doapi_snapshot_id(items, k->arg)) != 0) {
		act_finish(k, 0, NULL, image);
	} else if (k->completed) {
		act_finish(k, -ENOENT, "the snapshot action completed but no image has its name",
			   0);
	} else {
		act_post(k, DOAPI_ACTION_SNAPSHOT);
	}
}

static void
act_plan(struct cloud_ops_act *k)
{
	char path[96];
	int e;

	if (k->resize) {
		snprintf(path, sizeof(path), "/v2/droplets/%llu", (unsigned long long)k->id);
		e = cloud_call(k->c, "GET", path, NULL, 0, act_on_droplet, k);
	} else {
		snprintf(path, sizeof(path), "/v2/droplets/%llu/snapshots",
			 (unsigned long long)k->id);
		e = cloud_list(k->c, path, "snapshots", act_on_snapshots, k);
	}
	if (e != 0)
		act_finish(k, e, "cannot start the request", 0);
}

static struct cloud_ops_act *
act_new(struct cloud *c, uint64_t id, const char *arg, uint64_t poll_ms, uint64_t timeout_ms,
	void *cb_arg)
{
	struct cloud_ops_act *k = xcalloc(1, sizeof(*k));

	k->c = c;
	k->id = id;
	k->cb_arg = cb_arg;
	snprintf(k->arg, sizeof(k->arg), "%s", arg);
	cloud_ops_pace_init(&k->pace, poll_ms);
	k->deadline = uv_now(cloud_loop(c)) +
		      (timeout_ms != 0 ? timeout_ms : CLOUD_OPS_DEFAULT_ACTION_MS);
	uv_timer_init(cloud_loop(c), &k->timer);
	k->watch.cancel = act_cancel;
	cloud_watch_add(c, &k->watch);
	return k;
}

int
cloud_snapshot_start(struct cloud *c, uint64_t id, const char *name, uint64_t poll_ms,
		     uint64_t timeout_ms, cloud_snapshot_fn *cb, void *arg)
{
	struct cloud_ops_act *k;

	if (id == 0 || name == NULL || name[0] == '\0' || strlen(name) > 200 || cb == NULL)
		return -EINVAL;
	k = act_new(c, id, name, poll_ms, timeout_ms, arg);
	k->type = DOAPI_ACTION_SNAPSHOT;
	k->snap_cb = cb;
	act_later(k, ACT_PLAN, 0);
	return 0;
}

int
cloud_resize_start(struct cloud *c, uint64_t id, const char *size, uint64_t poll_ms,
		   uint64_t timeout_ms, cloud_op_fn *cb, void *arg)
{
	struct cloud_ops_act *k;

	if (id == 0 || size == NULL || size[0] == '\0' || strlen(size) >= 64 || cb == NULL)
		return -EINVAL;
	k = act_new(c, id, size, poll_ms, timeout_ms, arg);
	k->resize = true;
	k->op_cb = cb;
	act_later(k, ACT_PLAN, 0);
	return 0;
}
