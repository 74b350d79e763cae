/*
 * cloud_ops: clone, delete, snapshot, resize and list-by-tag on the client.
 *
 * Clone. Every clone operation has a fresh tag "mitosis-op-<12 hex>" and
 * unique names; the create POST is never retried blindly. When its outcome is
 * unknown (5xx, timeout, an unreadable 2xx), the droplets are listed by the op
 * tag first: names found are adopted, only missing ones are created again.
 * Then the op tag is polled (one request per poll, whatever the count, with a
 * wait growing x1.5 from poll_ms to 10 s) until every clone is active with an
 * IPv4; at active_timeout the ones that are not are deleted. A name seen twice
 * (a create that happened twice anyway) keeps its lowest id; the others are
 * deleted, so an operation never leaves doubles.
 *
 * Snapshot and resize are driven by the droplet's state, so a lost answer is
 * harmless: snapshot checks /snapshots for its (unique) name before posting
 * again; resize re-reads the droplet after each action and does what is left
 * (power_off while the size differs and it is on, resize when off, power_on
 * once the size is right). 422 "pending event" waits and tries again.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cloud.h"
#include "cloud_ops.h"
#include "doapi.h"
#include "log.h"
#include "xmalloc.h"

#define CLOUD_OPS_POLL_CAP_MS	    10000
#define CLOUD_OPS_CREATE_TRIES	    5
#define CLOUD_OPS_CHECK_TRIES	    6
#define CLOUD_OPS_DEFAULT_ACTIVE_MS (5 * 60 * 1000)
#define CLOUD_OPS_DEFAULT_ACTION_MS (30 * 60 * 1000)

struct cloud_clone {
	struct cloud_watch watch; /* first: the cancel hook casts back */
	bool cancelled;
	struct cloud *c;
	uv_loop_t *loop;
	uv_timer_t timer;
	cJSON *tmpl; /* the create body without its names */
	char names[DOAPI_MAX_NAMES][256];
	bool have[DOAPI_MAX_NAMES];
	unsigned count;
	struct cloud_clone_result res;
	unsigned checks;
	uint64_t deadline;
	uint64_t poll_ms, wait_ms;
	uint64_t active_ms;
	unsigned pending_deletes;
	int step;
	bool expired;
	int err;
	char error[320];
	bool done;
	cloud_clone_fn *cb;
	void *arg;
};

static void cloud_ops_clone_create(struct cloud_clone *k);
static void cloud_ops_clone_check(struct cloud_clone *k);
static void cloud_ops_clone_poll(struct cloud_clone *k);

static uint64_t
cloud_ops_jitter(uint64_t ms)
{
	return ms - ms / 4 + (ms / 2 > 0 ? randombytes_uniform((uint32_t)(ms / 2) + 1) : 0);
}

static void
cloud_ops_clone_closed(uv_handle_t *h)
{
	struct cloud_clone *k = h->data;

	cJSON_Delete(k->tmpl);
	free(k->res.droplets);
	free(k);
}

static void
cloud_ops_clone_finish(struct cloud_clone *k, int err, const char *error)
{
	if (k->done)
		return;
	k->done = true;
	if (!k->cancelled)
		cloud_watch_del(k->c, &k->watch);
	uv_timer_stop(&k->timer);
	k->cb(err, err == 0 ? NULL : error, &k->res, k->arg);
	uv_close((uv_handle_t *)&k->timer, cloud_ops_clone_closed);
}

/* cloud_close(): ends the operation now; in-flight calls are cancelled next. */
static void
cloud_ops_clone_cancel(struct cloud_watch *w)
{
	struct cloud_clone *k = (struct cloud_clone *)(void *)w;

	k->cancelled = true;
	cloud_ops_clone_finish(k, -ECANCELED, "cancelled: the API client is closing");
}

static void
cloud_ops_clone_on_timer(uv_timer_t *t)
{
	struct cloud_clone *k = t->data;

	if (k->step == 1)
		cloud_ops_clone_create(k);
	else if (k->step == 2)
		cloud_ops_clone_check(k);
	else
		cloud_ops_clone_poll(k);
}

/* Next step after a wait: 1 = create, 2 = check, 3 = poll. */
static void
cloud_ops_clone_later(struct cloud_clone *k, int step, uint64_t ms)
{
	k->step = step;
	uv_timer_start(&k->timer, cloud_ops_clone_on_timer, ms, 0);
}

/* Builds the body for the names not yet known to exist. */
static char *
cloud_ops_clone_body(struct cloud_clone *k)
{
	cJSON *body = cJSON_Duplicate(k->tmpl, true), *arr;
	char *s = NULL;

	if (body == NULL || (arr = cJSON_AddArrayToObject(body, "names")) == NULL)
		goto out;
	for (unsigned i = 0; i < k->count; i++) {
		cJSON *n;

		if (k->have[i])
			continue;
		n = cJSON_CreateString(k->names[i]);
		if (n == NULL || !cJSON_AddItemToArray(arr, n)) {
			cJSON_Delete(n);
			goto out;
		}
	}
	s = cJSON_PrintUnformatted(body);
out:
	cJSON_Delete(body);
	return s;
}

static void
cloud_ops_clone_mark(struct cloud_clone *k, const char *name)
{
	for (unsigned i = 0; i < k->count; i++)
		if (strcmp(k->names[i], name) == 0)
			k->have[i] = true;
}

static bool
cloud_ops_clone_all_known(const struct cloud_clone *k)
{
	for (unsigned i = 0; i < k->count; i++)
		if (!k->have[i])
			return false;
	return true;
}

/* Marks the names a 202 answer lists; false when the body is unreadable. */
static bool
cloud_ops_clone_accepted(struct cloud_clone *k, const cJSON *json)
{
	const cJSON *one = cJSON_GetObjectItemCaseSensitive(json, "droplet");
	const cJSON *many = cJSON_GetObjectItemCaseSensitive(json, "droplets"), *it;
	const cJSON *list = cJSON_IsArray(many) ? many : NULL;
	struct doapi_droplet d;
	char err[128];
	bool any = false;

	if (one != NULL && doapi_droplet_parse(one, &d, err, sizeof(err))) {
		cloud_ops_clone_mark(k, d.name);
		any = true;
	}
	cJSON_ArrayForEach(it, list)
	{
		if (!doapi_droplet_parse(it, &d, err, sizeof(err)))
			return false;
		cloud_ops_clone_mark(k, d.name);
		any = true;
	}
	return any;
}

static void
cloud_ops_clone_on_create(const struct cloud_resp *r, void *arg)
{
	struct cloud_clone *k = arg;
	char msg[400];

	if (r->dry_run) {
		cloud_ops_clone_finish(k, 0, NULL);
		return;
	}
	if (r->err == -ECANCELED) {
		cloud_ops_clone_finish(k, r->err, r->error);
		return;
	}
	if (r->err == 0 && r->status == 202 && cloud_ops_clone_accepted(k, r->json)) {
		log_info("clone %s: create accepted (%u sent)", k->res.op_tag, k->res.creates);
		cloud_ops_clone_later(k, 3, k->wait_ms);
		return;
	}
	if (r->err == 0 && r->status >= 400 && r->status < 500 && r->status != 429) {
		snprintf(msg, sizeof(msg), "create refused: %s", r->error);
		cloud_ops_clone_finish(k, -EPROTO, msg);
		return;
	}
	/* 5xx, no answer, or a 2xx we cannot read: it may have happened. */
	log_warnx("clone %s: create outcome unknown (%s); listing by tag before any retry",
		  k->res.op_tag, r->err != 0 || r->status != 202 ? r->error : "unreadable body");
	k->checks = 0;
	cloud_ops_clone_later(k, 2, cloud_ops_jitter(1000));
}

static void
cloud_ops_clone_create(struct cloud_clone *k)
{
	char *body = cloud_ops_clone_body(k);
	int e;

	if (body == NULL) {
		cloud_ops_clone_finish(k, -ENOMEM, "out of memory");
		return;
	}
	if (k->res.creates >= CLOUD_OPS_CREATE_TRIES) {
		free(body);
		cloud_ops_clone_finish(k, -EIO, "create failed on every try");
		return;
	}
	k->res.creates++;
	if (k->deadline == 0)
		k->deadline = uv_now(k->loop) + k->active_ms;
	e = cloud_call(k->c, "POST", "/v2/droplets", body, 0, cloud_ops_clone_on_create, k);
	free(body);
	if (e != 0)
		cloud_ops_clone_finish(k, e, "cannot start the create request");
}

static void
cloud_ops_clone_on_check(int err, const char *error, const struct doapi_droplet *d, size_t n,
			 void *arg)
{
	struct cloud_clone *k = arg;

	if (err != 0) {
		if (err == -ECANCELED || err == -EACCES || ++k->checks >= CLOUD_OPS_CHECK_TRIES) {
			snprintf(k->error, sizeof(k->error),
				 "cannot learn whether the create happened (%s); look for tag %s",
				 error, k->res.op_tag);
			cloud_ops_clone_finish(k, err, k->error);
			return;
		}
		cloud_ops_clone_later(k, 2,
				      cloud_ops_jitter(2000ULL << (k->checks < 4 ? k->checks : 4)));
		return;
	}
	for (size_t i = 0; i < n; i++)
		cloud_ops_clone_mark(k, d[i].name);
	if (cloud_ops_clone_all_known(k)) {
		k->res.adopted = true;
		log_info("clone %s: the create had happened; adopting its droplets", k->res.op_tag);
		cloud_ops_clone_poll(k);
		return;
	}
	cloud_ops_clone_create(k);
}

static void
cloud_ops_clone_check(struct cloud_clone *k)
{
	int e = cloud_list_tag_start(k->c, k->res.op_tag, cloud_ops_clone_on_check, k);

	if (e != 0)
		cloud_ops_clone_finish(k, e, "cannot start the listing");
}

static void
cloud_ops_clone_on_deleted(int err, const char *error, void *arg)
{
	struct cloud_clone *k = arg;

	if (err != 0)
		log_warnx("clone %s: delete failed: %s", k->res.op_tag, error);
	else
		k->res.ndeleted++;
	if (--k->pending_deletes == 0 && k->expired)
		cloud_ops_clone_finish(k, k->err, k->error);
}

/* Deletes droplet d (a double, or not active by the deadline). */
static void
cloud_ops_clone_delete(struct cloud_clone *k, const struct doapi_droplet *d, const char *why)
{
	log_warnx("clone %s: deleting droplet %llu (%s): %s", k->res.op_tag,
		  (unsigned long long)d->id, d->name, why);
	k->pending_deletes++;
	if (cloud_delete_start(k->c, d->id, cloud_ops_clone_on_deleted, k) != 0)
		k->pending_deletes--;
}

/* Keeps, per name, the droplet with the lowest id; deletes the doubles. */
static size_t
cloud_ops_clone_dedupe(struct cloud_clone *k, const struct doapi_droplet *d, size_t n, size_t *keep)
{
	size_t nkeep = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < nkeep; j++)
			if (strcmp(d[keep[j]].name, d[i].name) == 0)
				break;
		if (j == nkeep) {
			keep[nkeep++] = i;
			continue;
		}
		if (d[i].id < d[keep[j]].id) {
			cloud_ops_clone_delete(k, &d[keep[j]], "double create");
			keep[j] = i;
		} else {
			cloud_ops_clone_delete(k, &d[i], "double create");
		}
	}
	return nkeep;
}

static bool
cloud_ops_droplet_ready(const struct doapi_droplet *d)
{
	return strcmp(d->status, "active") == 0 &&
	       (d->private_ipv4[0] != '\0' || d->public_ipv4[0] != '\0');
}

/* The deadline passed: deletes what is not ready and finishes. */
static void
cloud_ops_clone_expire(struct cloud_clone *k, const struct doapi_droplet *d, const size_t *keep,
		       size_t nkeep)
{
	k->err = -ETIMEDOUT;
	k->expired = true;
	snprintf(k->error, sizeof(k->error), "%zu of %u clones active when the deadline passed",
		 k->res.ndroplets, k->count);
	for (size_t i = 0; i < nkeep; i++)
		if (!cloud_ops_droplet_ready(&d[keep[i]]))
			cloud_ops_clone_delete(k, &d[keep[i]], "not active by active_timeout");
	if (k->pending_deletes == 0)
		cloud_ops_clone_finish(k, k->err, k->error);
}

/* The jittered poll wait, never past the deadline. */
static uint64_t
cloud_ops_clone_next_wait(const struct cloud_clone *k)
{
	uint64_t w = cloud_ops_jitter(k->wait_ms), now = uv_now(k->loop);

	return now + w > k->deadline ? k->deadline - now : w;
}

static void
cloud_ops_clone_on_poll(int err, const char *error, const struct doapi_droplet *d, size_t n,
			void *arg)
{
	struct cloud_clone *k = arg;
	size_t *keep, nkeep;

	if (err == -ECANCELED) {
		cloud_ops_clone_finish(k, err, error);
		return;
	}
	keep = xcalloc(n + 1, sizeof(*keep));
	nkeep = err == 0 ? cloud_ops_clone_dedupe(k, d, n, keep) : 0;
	free(k->res.droplets);
	k->res.droplets = xcalloc(nkeep + 1, sizeof(*k->res.droplets));
	k->res.ndroplets = 0;
	for (size_t i = 0; i < nkeep; i++)
		if (cloud_ops_droplet_ready(&d[keep[i]]))
			k->res.droplets[k->res.ndroplets++] = d[keep[i]];
	if (err == 0 && k->res.ndroplets >= k->count && k->pending_deletes == 0)
		cloud_ops_clone_finish(k, 0, NULL);
	else if (uv_now(k->loop) >= k->deadline)
		cloud_ops_clone_expire(k, d, keep, nkeep);
	else
		cloud_ops_clone_later(k, 3, cloud_ops_clone_next_wait(k));
	free(keep);
	if (err != 0)
		log_warnx("clone %s: poll failed: %s", k->res.op_tag, error);
	if (k->wait_ms < CLOUD_OPS_POLL_CAP_MS)
		k->wait_ms = k->wait_ms * 3 / 2 < CLOUD_OPS_POLL_CAP_MS ? k->wait_ms * 3 / 2
									: CLOUD_OPS_POLL_CAP_MS;
}

static void
cloud_ops_clone_poll(struct cloud_clone *k)
{
	int e = cloud_list_tag_start(k->c, k->res.op_tag, cloud_ops_clone_on_poll, k);

	if (e != 0)
		cloud_ops_clone_finish(k, e, "cannot start the poll");
}

/* The create body without names: image, size, region, VPC, keys, tags
 * (cluster tag, op tag, extras), user-data, monitoring. */
static int
cloud_ops_clone_template(struct cloud_clone *k, const struct cloud_clone_opts *o, char *err,
			 size_t errsize)
{
	const char *tags[DOAPI_MAX_TAGS], *one[1] = { k->names[0] };
	struct doapi_create cr = { .names = one,
				   .nnames = 1,
				   .image = o->image,
				   .size = o->size,
				   .region = o->region,
				   .vpc_uuid = o->vpc_uuid,
				   .ssh_keys = o->ssh_keys,
				   .nssh_keys = o->nssh_keys,
				   .tags = tags };
	char *body = NULL, *ud = NULL;
	int r;

	if (o->ntags + 2 > DOAPI_MAX_TAGS) {
		snprintf(err, errsize, "too many clone tags");
		return -EINVAL;
	}
	tags[cr.ntags++] = o->cluster_tag;
	tags[cr.ntags++] = k->res.op_tag;
	for (size_t i = 0; i < o->ntags; i++)
		tags[cr.ntags++] = o->tags[i];
	r = doapi_clone_user_data(o->cluster, o->seeds, o->nseeds, &ud);
	if (r != 0) {
		snprintf(err, errsize, "user-data: a seed is not an IPv4 address");
		return r;
	}
	cr.user_data = ud;
	r = doapi_create_body(&cr, &body, err, errsize);
	free(ud);
	if (r != 0)
		return r;
	k->tmpl = cJSON_Parse(body);
	free(body);
	if (k->tmpl == NULL)
		return -ENOMEM;
	cJSON_DeleteItemFromObjectCaseSensitive(k->tmpl, "name");
	return 0;
}

static int
cloud_ops_clone_names(struct cloud_clone *k, const struct cloud_clone_opts *o)
{
	uint8_t rnd[6];
	uint64_t now = (uint64_t)time(NULL);

	randombytes_buf(rnd, sizeof(rnd));
	doapi_op_tag(rnd, k->res.op_tag);
	for (unsigned i = 0; i < o->count; i++) {
		uint16_t r16;
		bool dup;

		do {
			r16 = (uint16_t)randombytes_uniform(65536);
			if (doapi_clone_name(o->cluster, now, r16, k->names[i],
					     sizeof(k->names[i])) != 0)
				return -EINVAL;
			dup = false;
			for (unsigned j = 0; j < i; j++)
				dup = dup || strcmp(k->names[j], k->names[i]) == 0;
		} while (dup);
	}
	return 0;
}

int
cloud_clone_start(struct cloud *c, uv_loop_t *loop, const struct cloud_clone_opts *o,
		  cloud_clone_fn *cb, void *arg)
{
	struct cloud_clone *k;
	char err[256];
	int r;

	if (o->count == 0 || o->count > DOAPI_MAX_NAMES || o->cluster == NULL ||
	    o->cluster_tag == NULL || cb == NULL)
		return -EINVAL;
	k = xcalloc(1, sizeof(*k));
	k->c = c;
	k->loop = loop;
	k->count = o->count;
	k->cb = cb;
	k->arg = arg;
	k->active_ms =
		o->active_timeout_ms != 0 ? o->active_timeout_ms : CLOUD_OPS_DEFAULT_ACTIVE_MS;
	k->poll_ms = o->poll_ms != 0 ? o->poll_ms : 2000;
	k->wait_ms = k->poll_ms;
	r = cloud_ops_clone_names(k, o);
	if (r == 0)
		r = cloud_ops_clone_template(k, o, err, sizeof(err));
	if (r != 0) {
		log_warnx("clone: %s", r == -EINVAL ? err : strerror(-r));
		cJSON_Delete(k->tmpl);
		free(k);
		return r;
	}
	uv_timer_init(loop, &k->timer);
	k->timer.data = k;
	k->watch.cancel = cloud_ops_clone_cancel;
	cloud_watch_add(c, &k->watch);
	cloud_ops_clone_later(k, 1, 0);
	return 0;
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
	const cJSON *it;

	if (err == 0) {
		d = xcalloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*d));
		cJSON_ArrayForEach(it, items)
		{
			if (!doapi_droplet_parse(it, &d[n], why, sizeof(why))) {
				err = -EBADMSG;
				error = why;
				n = 0;
				break;
			}
			n++;
		}
	}
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

enum cloud_ops_act_step { CLOUD_OPS_PLAN, CLOUD_OPS_POST, CLOUD_OPS_POLL };

struct cloud_ops_act {
	struct cloud_watch watch; /* first: the cancel hook casts back */
	bool cancelled;
	struct cloud *c;
	uv_loop_t *loop;
	uv_timer_t timer;
	uint64_t id;
	bool resize;
	char name[256]; /* snapshot name */
	char size[64];	/* resize target */
	char body[384]; /* the action to post */
	uint64_t action_id;
	bool completed; /* the snapshot action completed */
	uint64_t poll_ms, wait_ms, deadline;
	enum cloud_ops_act_step step;
	struct doapi_droplet cur;
	bool done;
	cloud_op_fn *op_cb;
	cloud_snapshot_fn *snap_cb;
	void *arg;
	char error[320];
};

static void cloud_ops_act_plan(struct cloud_ops_act *k);
static void cloud_ops_act_post(struct cloud_ops_act *k);
static void cloud_ops_act_poll(struct cloud_ops_act *k);

static void
cloud_ops_act_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
cloud_ops_act_finish(struct cloud_ops_act *k, int err, const char *error, uint64_t image_id)
{
	if (k->done)
		return;
	k->done = true;
	if (!k->cancelled)
		cloud_watch_del(k->c, &k->watch);
	uv_timer_stop(&k->timer);
	if (k->resize)
		k->op_cb(err, err == 0 ? NULL : error, k->arg);
	else
		k->snap_cb(err, err == 0 ? NULL : error, image_id, k->arg);
	uv_close((uv_handle_t *)&k->timer, cloud_ops_act_closed);
}

static void
cloud_ops_act_cancel(struct cloud_watch *w)
{
	struct cloud_ops_act *k = (struct cloud_ops_act *)(void *)w;

	k->cancelled = true;
	cloud_ops_act_finish(k, -ECANCELED, "cancelled: the API client is closing", 0);
}

static void
cloud_ops_act_on_timer(uv_timer_t *t)
{
	struct cloud_ops_act *k = t->data;

	if (k->step == CLOUD_OPS_PLAN)
		cloud_ops_act_plan(k);
	else if (k->step == CLOUD_OPS_POST)
		cloud_ops_act_post(k);
	else
		cloud_ops_act_poll(k);
}

static void
cloud_ops_act_later(struct cloud_ops_act *k, enum cloud_ops_act_step step, uint64_t ms)
{
	if (uv_now(k->loop) + ms > k->deadline) {
		snprintf(k->error, sizeof(k->error), "droplet %llu: %s did not finish in time",
			 (unsigned long long)k->id, k->resize ? "resize" : "snapshot");
		cloud_ops_act_finish(k, -ETIMEDOUT, k->error, 0);
		return;
	}
	k->step = step;
	uv_timer_start(&k->timer, cloud_ops_act_on_timer, ms, 0);
}

static void
cloud_ops_act_grow(struct cloud_ops_act *k)
{
	k->wait_ms = k->wait_ms * 3 / 2 < CLOUD_OPS_POLL_CAP_MS ? k->wait_ms * 3 / 2
								: CLOUD_OPS_POLL_CAP_MS;
}

/* What is left of a resize, from the droplet's state; posts it or finishes. */
static void
cloud_ops_act_decide(struct cloud_ops_act *k)
{
	const char *type;

	if (strcmp(k->cur.size_slug, k->size) != 0)
		type = strcmp(k->cur.status, "off") == 0 ? "resize" : "power_off";
	else if (strcmp(k->cur.status, "active") != 0)
		type = "power_on";
	else
		type = NULL;
	if (type == NULL) {
		cloud_ops_act_finish(k, 0, NULL, 0);
		return;
	}
	if (strcmp(type, "resize") == 0)
		snprintf(k->body, sizeof(k->body),
			 "{\"type\":\"resize\",\"size\":\"%s\",\"disk\":false}", k->size);
	else
		snprintf(k->body, sizeof(k->body), "{\"type\":\"%s\"}", type);
	log_info("droplet %llu: %s (status %s, size %s)", (unsigned long long)k->id, type,
		 k->cur.status, k->cur.size_slug);
	cloud_ops_act_post(k);
}

/* A dry run cannot watch the droplet change: assume each action worked. */
static void
cloud_ops_act_assume(struct cloud_ops_act *k)
{
	if (strstr(k->body, "\"power_off\"") != NULL)
		snprintf(k->cur.status, sizeof(k->cur.status), "off");
	else if (strstr(k->body, "\"power_on\"") != NULL)
		snprintf(k->cur.status, sizeof(k->cur.status), "active");
	else
		snprintf(k->cur.size_slug, sizeof(k->cur.size_slug), "%s", k->size);
	cloud_ops_act_decide(k);
}

static void
cloud_ops_act_on_post(const struct cloud_resp *r, void *arg)
{
	struct cloud_ops_act *k = arg;
	const cJSON *aj = cJSON_GetObjectItemCaseSensitive(r->json, "action");
	struct doapi_action a;
	char why[128];

	if (r->dry_run) {
		if (k->resize)
			cloud_ops_act_assume(k);
		else
			cloud_ops_act_finish(k, 0, NULL, 0);
	} else if (r->err == -ECANCELED) {
		cloud_ops_act_finish(k, r->err, r->error, 0);
	} else if (r->err == 0 && r->status / 100 == 2 &&
		   doapi_action_parse(aj, &a, why, sizeof(why))) {
		k->action_id = a.id;
		k->wait_ms = k->poll_ms;
		cloud_ops_act_later(k, CLOUD_OPS_POLL, k->wait_ms);
	} else if (r->err == 0 && r->status >= 400 && r->status < 500 && r->status != 422 &&
		   r->status != 429) {
		snprintf(k->error, sizeof(k->error), "droplet %llu: action refused: %s",
			 (unsigned long long)k->id, r->error);
		cloud_ops_act_finish(k, -EPROTO, k->error, 0);
	} else {
		/* 422 pending event, 5xx, no answer: look at the state again. */
		log_info("droplet %llu: action not started (%s); re-checking",
			 (unsigned long long)k->id, r->error[0] != '\0' ? r->error : "bad body");
		cloud_ops_act_grow(k);
		cloud_ops_act_later(k, CLOUD_OPS_PLAN, cloud_ops_jitter(k->wait_ms));
	}
}

static void
cloud_ops_act_post(struct cloud_ops_act *k)
{
	char path[96];
	int e;

	snprintf(path, sizeof(path), "/v2/droplets/%llu/actions", (unsigned long long)k->id);
	e = cloud_call(k->c, "POST", path, k->body, k->resize ? CLOUD_IDEMPOTENT : 0,
		       cloud_ops_act_on_post, k);
	if (e != 0)
		cloud_ops_act_finish(k, e, "cannot start the action request", 0);
}

static void
cloud_ops_act_on_poll(const struct cloud_resp *r, void *arg)
{
	struct cloud_ops_act *k = arg;
	struct doapi_action a;
	char why[128];

	if (r->err == -ECANCELED) {
		cloud_ops_act_finish(k, r->err, r->error, 0);
		return;
	}
	cloud_ops_act_grow(k);
	if (r->err != 0 || r->status != 200 ||
	    !doapi_action_parse(cJSON_GetObjectItemCaseSensitive(r->json, "action"), &a, why,
				sizeof(why))) {
		cloud_ops_act_later(k, CLOUD_OPS_POLL, cloud_ops_jitter(k->wait_ms));
	} else if (strcmp(a.status, "errored") == 0) {
		snprintf(k->error, sizeof(k->error), "droplet %llu: action %llu (%s) errored",
			 (unsigned long long)k->id, (unsigned long long)a.id, a.type);
		cloud_ops_act_finish(k, -EIO, k->error, 0);
	} else if (strcmp(a.status, "completed") == 0) {
		k->completed = true;
		k->wait_ms = k->poll_ms;
		cloud_ops_act_later(k, CLOUD_OPS_PLAN, 0);
	} else {
		cloud_ops_act_later(k, CLOUD_OPS_POLL, cloud_ops_jitter(k->wait_ms));
	}
}

static void
cloud_ops_act_poll(struct cloud_ops_act *k)
{
	char path[128];
	int e;

	snprintf(path, sizeof(path), "/v2/droplets/%llu/actions/%llu", (unsigned long long)k->id,
		 (unsigned long long)k->action_id);
	e = cloud_call(k->c, "GET", path, NULL, 0, cloud_ops_act_on_poll, k);
	if (e != 0)
		cloud_ops_act_finish(k, e, "cannot start the poll", 0);
}

static void
cloud_ops_act_on_droplet(const struct cloud_resp *r, void *arg)
{
	struct cloud_ops_act *k = arg;
	char why[160];

	if (r->err == 0 && r->status == 200 &&
	    doapi_droplet_parse(cJSON_GetObjectItemCaseSensitive(r->json, "droplet"), &k->cur, why,
				sizeof(why))) {
		cloud_ops_act_decide(k);
		return;
	}
	if (r->err == 0 && r->status == 404) {
		snprintf(k->error, sizeof(k->error), "droplet %llu: %s", (unsigned long long)k->id,
			 r->error);
		cloud_ops_act_finish(k, -ENOENT, k->error, 0);
		return;
	}
	if (r->err == -ECANCELED) {
		cloud_ops_act_finish(k, r->err, r->error, 0);
		return;
	}
	cloud_ops_act_grow(k);
	cloud_ops_act_later(k, CLOUD_OPS_PLAN, cloud_ops_jitter(k->wait_ms));
}

static void
cloud_ops_act_on_snapshots(int err, const char *error, cJSON *items, void *arg)
{
	struct cloud_ops_act *k = arg;
	const cJSON *it;
	uint64_t best = 0;

	if (err == -ECANCELED || err == -ENOENT || err == -EACCES) {
		snprintf(k->error, sizeof(k->error), "droplet %llu: %s", (unsigned long long)k->id,
			 error);
		cloud_ops_act_finish(k, err, k->error, 0);
		return;
	}
	if (err != 0) {
		cloud_ops_act_grow(k);
		cloud_ops_act_later(k, CLOUD_OPS_PLAN, cloud_ops_jitter(k->wait_ms));
		return;
	}
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");

		if (cJSON_IsString(n) && strcmp(n->valuestring, k->name) == 0 &&
		    cJSON_IsNumber(id) && id->valuedouble > 0 && (uint64_t)id->valuedouble > best)
			best = (uint64_t)id->valuedouble;
	}
	if (best != 0)
		cloud_ops_act_finish(k, 0, NULL, best);
	else if (k->completed)
		cloud_ops_act_finish(k, -ENOENT,
				     "the snapshot action completed but no image has its name", 0);
	else
		cloud_ops_act_post(k);
}

static void
cloud_ops_act_plan(struct cloud_ops_act *k)
{
	char path[96];
	int e;

	if (k->resize) {
		snprintf(path, sizeof(path), "/v2/droplets/%llu", (unsigned long long)k->id);
		e = cloud_call(k->c, "GET", path, NULL, 0, cloud_ops_act_on_droplet, k);
	} else {
		snprintf(path, sizeof(path), "/v2/droplets/%llu/snapshots",
			 (unsigned long long)k->id);
		e = cloud_list(k->c, path, "snapshots", cloud_ops_act_on_snapshots, k);
	}
	if (e != 0)
		cloud_ops_act_finish(k, e, "cannot start the request", 0);
}

static struct cloud_ops_act *
cloud_ops_act_new(struct cloud *c, uv_loop_t *loop, uint64_t id, uint64_t poll_ms,
		  uint64_t timeout_ms, void *arg)
{
	struct cloud_ops_act *k = xcalloc(1, sizeof(*k));

	k->c = c;
	k->loop = loop;
	k->id = id;
	k->arg = arg;
	k->poll_ms = poll_ms != 0 ? poll_ms : 2000;
	k->wait_ms = k->poll_ms;
	k->deadline = uv_now(loop) + (timeout_ms != 0 ? timeout_ms : CLOUD_OPS_DEFAULT_ACTION_MS);
	uv_timer_init(loop, &k->timer);
	k->timer.data = k;
	k->watch.cancel = cloud_ops_act_cancel;
	cloud_watch_add(c, &k->watch);
	return k;
}

int
cloud_snapshot_start(struct cloud *c, uv_loop_t *loop, uint64_t id, const char *name,
		     uint64_t poll_ms, uint64_t timeout_ms, cloud_snapshot_fn *cb, void *arg)
{
	struct cloud_ops_act *k;
	cJSON *body;
	char *s;

	if (id == 0 || name == NULL || name[0] == '\0' || strlen(name) > 200 || cb == NULL)
		return -EINVAL;
	body = cJSON_CreateObject();
	if (body == NULL || cJSON_AddStringToObject(body, "type", "snapshot") == NULL ||
	    cJSON_AddStringToObject(body, "name", name) == NULL ||
	    (s = cJSON_PrintUnformatted(body)) == NULL) {
		cJSON_Delete(body);
		return -ENOMEM;
	}
	cJSON_Delete(body);
	k = cloud_ops_act_new(c, loop, id, poll_ms, timeout_ms, arg);
	k->snap_cb = cb;
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->body, sizeof(k->body), "%s", s);
	free(s);
	cloud_ops_act_later(k, CLOUD_OPS_PLAN, 0);
	return 0;
}

int
cloud_resize_start(struct cloud *c, uv_loop_t *loop, uint64_t id, const char *size,
		   uint64_t poll_ms, uint64_t timeout_ms, cloud_op_fn *cb, void *arg)
{
	struct cloud_ops_act *k;

	if (id == 0 || size == NULL || size[0] == '\0' || strlen(size) >= 64 ||
	    strpbrk(size, "\"\\") != NULL || cb == NULL)
		return -EINVAL;
	k = cloud_ops_act_new(c, loop, id, poll_ms, timeout_ms, arg);
	k->resize = true;
	k->op_cb = cb;
	snprintf(k->size, sizeof(k->size), "%s", size);
	cloud_ops_act_later(k, CLOUD_OPS_PLAN, 0);
	return 0;
}
