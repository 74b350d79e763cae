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
 * done when the name is there. 422 "pending event", a 5xx or no answer go
 * back to PLAN after a growing wait.
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

/* ---- delete ---- */

struct cloud_ops_delete {
	cloud_op_fn *cb;
	void *arg;
};

static void
cloud_ops_on_delete(const struct cloud_resp *r, void *arg)
{
	struct cloud_ops_delete *d = arg;

	if (r->err != 0)
		d->cb(r->err, r->error, d->arg);
	else if (r->dry_run || r->status == 204 || r->status == 200 || r->status == 202 ||
		 r->status == 404)
		d->cb(0, NULL, d->arg);
	else
		d->cb(-EPROTO, r->error, d->arg);
	free(d);
}

int
cloud_delete_start(struct cloud *c, uint64_t droplet_id, cloud_op_fn *cb, void *arg)
{
	struct cloud_ops_delete *d;
	char path[64];
	int e;

	if (droplet_id == 0 || cb == NULL)
		return -EINVAL;
	d = xcalloc(1, sizeof(*d));
	d->cb = cb;
	d->arg = arg;
	snprintf(path, sizeof(path), "/v2/droplets/%llu", (unsigned long long)droplet_id);
	e = cloud_call(c, "DELETE", path, NULL, 0, cloud_ops_on_delete, d);
	if (e != 0)
		free(d);
	return e;
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

/* Enters state s and runs it after ms, unless that passes the deadline. */
static void
act_later(struct cloud_ops_act *k, enum act_state s, uint64_t ms)
{
	if (uv_now(cloud_loop(k->c)) + ms > k->deadline) {
		snprintf(k->error, sizeof(k->error), "droplet %llu: %s did not finish in time",
			 (unsigned long long)k->id, k->resize ? "resize" : "snapshot");
		act_finish(k, -ETIMEDOUT, k->error, 0);
		return;
	}
	act_enter_state(k, s);
	uv_timer_start(&k->timer, act_on_timer, ms, 0);
}

/* What is left of a resize, from the droplet's state; posts it or finishes. */
static void
act_decide(struct cloud_ops_act *k)
{
	enum doapi_action_type type;

	if (strcmp(k->cur.size_slug, k->arg) != 0)
		type = strcmp(k->cur.status, "off") == 0 ? DOAPI_ACTION_RESIZE
							 : DOAPI_ACTION_POWER_OFF;
	else if (strcmp(k->cur.status, "active") != 0)
		type = DOAPI_ACTION_POWER_ON;
	else {
		act_finish(k, 0, NULL, 0);
		return;
	}
	log_info("droplet %llu: %s (status %s, size %s)", (unsigned long long)k->id,
		 doapi_action_name(type), k->cur.status, k->cur.size_slug);
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

static void
act_on_post(const struct cloud_resp *r, void *arg)
{
	struct cloud_ops_act *k = arg;
	struct doapi_action a;
	char why[128];

	if (r->dry_run && k->resize) {
		act_assume(k);
	} else if (r->dry_run || r->err == -ECANCELED) {
		act_finish(k, r->err, r->error, 0);
	} else if (r->err == 0 && r->status / 100 == 2 &&
		   doapi_action_parse(cJSON_GetObjectItemCaseSensitive(r->json, "action"), &a, why,
				      sizeof(why))) {
		k->action_id = a.id;
		cloud_ops_pace_reset(&k->pace);
		act_later(k, ACT_POLL, cloud_ops_pace_next(&k->pace));
	} else if (r->err == 0 && r->status >= 400 && r->status < 500 && r->status != 422 &&
		   r->status != 429) {
		snprintf(k->error, sizeof(k->error), "droplet %llu: %s refused: %s",
			 (unsigned long long)k->id, doapi_action_name(k->type), r->error);
		act_finish(k, -EPROTO, k->error, 0);
	} else {
		/* 422 pending event, 5xx, no answer: look at the state again. */
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
	char why[128];

	if (r->err == -ECANCELED) {
		act_finish(k, r->err, r->error, 0);
	} else if (r->err != 0 || r->status != 200 ||
		   !doapi_action_parse(cJSON_GetObjectItemCaseSensitive(r->json, "action"), &a, why,
				       sizeof(why))) {
		act_later(k, ACT_POLL, cloud_ops_pace_next(&k->pace));
	} else if (strcmp(a.status, "errored") == 0) {
		snprintf(k->error, sizeof(k->error), "droplet %llu: action %llu (%s) errored",
			 (unsigned long long)k->id, (unsigned long long)a.id, a.type);
		act_finish(k, -EIO, k->error, 0);
	} else if (strcmp(a.status, "completed") == 0) {
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
