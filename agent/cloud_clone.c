/*
 * cloud_clone: cloning droplets (agent/cloud_clone.h), a state machine on
 * the API client's loop.
 *
 *   CREATE --202--> POLL --all active--> DONE
 *     |  ^            \--deadline--> EXPIRE --deletes answered--> DONE
 *     v  |
 *     CHECK (the create's outcome is unknown: list by the op tag)
 *
 * Every clone operation has a fresh tag "mitosis-op-<12 hex>" and unique
 * names; the create POST is never retried blindly. When its outcome is
 * unknown (5xx, timeout, an unreadable 2xx), the droplets are listed by the
 * op tag first (CHECK): names found are adopted, only missing ones are
 * created again. Then the op tag is polled (one request per poll, whatever
 * the count, waits growing x1.5 from poll_ms to 10 s) until every clone is
 * active with an IPv4; at active_timeout the ones that are not are deleted.
 * A name seen twice (a create that happened twice anyway) keeps its lowest
 * id; the others are deleted, so an operation never leaves doubles.
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
#include "cloud_clone.h"
#include "cloud_ops.h"
#include "container.h"
#include "doapi.h"
#include "log.h"
#include "xmalloc.h"

#define CLONE_CREATE_TRIES	5
#define CLONE_CHECK_TRIES	6
#define CLONE_DEFAULT_ACTIVE_MS (5 * 60 * 1000)

enum clone_state {
	CLONE_CREATE, /* posting the create (for the names not known to exist) */
	CLONE_CHECK,  /* listing by op tag: did an unanswered create happen? */
	CLONE_POLL,   /* listing by op tag until every clone is active */
	CLONE_EXPIRE, /* the deadline passed: deleting what is not active */
	CLONE_DONE,
};

struct cloud_clone {
	struct cloud_watch watch; /* cancelled by cloud_close() */
	struct cloud *c;
	uv_timer_t timer; /* runs the current state after a wait */
	enum clone_state state;
	cJSON *tmpl; /* the create body without its names */
	char names[DOAPI_MAX_NAMES][256];
	bool have[DOAPI_MAX_NAMES]; /* the name exists (a create answered, or listed) */
	unsigned count;
	struct cloud_clone_result res;
	unsigned checks;
	uint64_t deadline; /* set by the first create */
	uint64_t active_ms;
	struct cloud_ops_pace pace;
	unsigned pending_deletes;
	int err;
	char error[320];
	cloud_clone_fn *cb;
	void *arg;
};

static void clone_create(struct cloud_clone *k);
static void clone_check(struct cloud_clone *k);
static void clone_poll(struct cloud_clone *k);

static const char *
clone_strstate(enum clone_state s)
{
	static const char *const names[] = { "create", "check", "poll", "expire", "done" };

	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* Every transition goes through here, traced as old -> new (-T cloud). */
static void
clone_enter_state(struct cloud_clone *k, enum clone_state s)
{
	if (k->state != s)
		log_trace(TRACE_CLOUD, "clone %s: %s -> %s", k->res.op_tag,
			  clone_strstate(k->state), clone_strstate(s));
	k->state = s;
}

static void
clone_closed(uv_handle_t *h)
{
	struct cloud_clone *k = container_of((uv_timer_t *)(void *)h, struct cloud_clone, timer);

	cJSON_Delete(k->tmpl);
	free(k->res.droplets);
	free(k);
}

/* Runs the callback once, then frees the operation after its timer closes. */
static void
clone_finish(struct cloud_clone *k, int err, const char *error)
{
	if (k->state == CLONE_DONE)
		return;
	clone_enter_state(k, CLONE_DONE);
	cloud_watch_del(k->c, &k->watch);
	uv_timer_stop(&k->timer);
	k->cb(err, err == 0 ? NULL : error, &k->res, k->arg);
	uv_close((uv_handle_t *)&k->timer, clone_closed);
}

/* cloud_close(): ends the operation now; in-flight calls are cancelled next. */
static void
clone_cancel(struct cloud_watch *w)
{
	clone_finish(container_of(w, struct cloud_clone, watch), -ECANCELED,
		     "cancelled: the API client is closing");
}

static void
clone_on_timer(uv_timer_t *t)
{
	struct cloud_clone *k = container_of(t, struct cloud_clone, timer);

	switch (k->state) {
	case CLONE_CREATE:
		clone_create(k);
		break;
	case CLONE_CHECK:
		clone_check(k);
		break;
	case CLONE_POLL:
		clone_poll(k);
		break;
	case CLONE_EXPIRE:
	case CLONE_DONE:
		break;
	}
}

/* Enters state s and runs it after ms. */
static void
clone_later(struct cloud_clone *k, enum clone_state s, uint64_t ms)
{
	clone_enter_state(k, s);
	uv_timer_start(&k->timer, clone_on_timer, ms, 0);
}

/* Builds the body for the names not yet known to exist. */
static char *
clone_body(struct cloud_clone *k)
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

/* Marks our names among droplets d[0..n); true when every name is known. */
static bool
clone_mark(struct cloud_clone *k, const struct doapi_droplet *d, size_t n)
{
	bool all = true;

	for (unsigned i = 0; i < k->count; i++) {
		for (size_t j = 0; j < n && !k->have[i]; j++)
			k->have[i] = strcmp(k->names[i], d[j].name) == 0;
		all = all && k->have[i];
	}
	return all;
}

/* Marks the names a 202 answer lists; false when the body is unreadable. */
static bool
clone_accepted(struct cloud_clone *k, const cJSON *json)
{
	struct doapi_droplet *d = NULL;
	char err[160];
	size_t n = 0;

	if (doapi_create_reply(json, &d, &n, err, sizeof(err)) != 0)
		return false;
	clone_mark(k, d, n);
	free(d);
	return true;
}

static void
clone_on_create(const struct cloud_resp *r, void *arg)
{
	struct cloud_clone *k = arg;
	char msg[400];

	if (r->dry_run || r->err == -ECANCELED) {
		clone_finish(k, r->err, r->error);
		return;
	}
	if (r->err == 0 && r->status == 202 && clone_accepted(k, r->json)) {
		log_info("clone %s: create accepted (%u sent)", k->res.op_tag, k->res.creates);
		clone_later(k, CLONE_POLL, cloud_ops_pace_next(&k->pace));
		return;
	}
	if (r->err == 0 && r->status >= 400 && r->status < 500 && r->status != 429) {
		snprintf(msg, sizeof(msg), "create refused: %s", r->error);
		clone_finish(k, -EPROTO, msg);
		return;
	}
	/* 5xx, no answer, or a 2xx we cannot read: it may have happened. */
	log_warnx("clone %s: create outcome unknown (%s); listing by tag before any retry",
		  k->res.op_tag, r->err != 0 || r->status != 202 ? r->error : "unreadable body");
	k->checks = 0;
	clone_later(k, CLONE_CHECK, cloud_ops_jitter(1000));
}

static void
clone_create(struct cloud_clone *k)
{
	char *body;
	int e;

	if (k->res.creates >= CLONE_CREATE_TRIES) {
		clone_finish(k, -EIO, "create failed on every try");
		return;
	}
	if ((body = clone_body(k)) == NULL) {
		clone_finish(k, -ENOMEM, "out of memory");
		return;
	}
	k->res.creates++;
	if (k->deadline == 0)
		k->deadline = uv_now(cloud_loop(k->c)) + k->active_ms;
	e = cloud_call(k->c, "POST", "/v2/droplets", body, 0, clone_on_create, k);
	free(body);
	if (e != 0)
		clone_finish(k, e, "cannot start the create request");
}

static void
clone_on_check(int err, const char *error, const struct doapi_droplet *d, size_t n, void *arg)
{
	struct cloud_clone *k = arg;

	if (err != 0) {
		if (err == -ECANCELED || err == -EACCES || ++k->checks >= CLONE_CHECK_TRIES) {
			snprintf(k->error, sizeof(k->error),
				 "cannot learn whether the create happened (%s); look for tag %s",
				 error, k->res.op_tag);
			clone_finish(k, err, k->error);
			return;
		}
		clone_later(k, CLONE_CHECK,
			    cloud_ops_jitter(2000ULL << (k->checks < 4 ? k->checks : 4)));
		return;
	}
	if (clone_mark(k, d, n)) {
		k->res.adopted = true;
		log_info("clone %s: the create had happened; adopting its droplets", k->res.op_tag);
		clone_enter_state(k, CLONE_POLL);
		clone_poll(k);
		return;
	}
	clone_enter_state(k, CLONE_CREATE);
	clone_create(k);
}

static void
clone_check(struct cloud_clone *k)
{
	int e = cloud_list_tag_start(k->c, k->res.op_tag, clone_on_check, k);

	if (e != 0)
		clone_finish(k, e, "cannot start the listing");
}

static void
clone_on_deleted(int err, const char *error, void *arg)
{
	struct cloud_clone *k = arg;

	if (err != 0)
		log_warnx("clone %s: delete failed: %s", k->res.op_tag, error);
	else
		k->res.ndeleted++;
	if (--k->pending_deletes == 0 && k->state == CLONE_EXPIRE)
		clone_finish(k, k->err, k->error);
}

/* Deletes droplet d (a double, or not active by the deadline). */
static void
clone_delete(struct cloud_clone *k, const struct doapi_droplet *d, const char *why)
{
	log_warnx("clone %s: deleting droplet %llu (%s): %s", k->res.op_tag,
		  (unsigned long long)d->id, d->name, why);
	k->pending_deletes++;
	if (cloud_delete_start(k->c, d->id, clone_on_deleted, k) != 0)
		k->pending_deletes--;
}

/* Keeps, per name, the droplet with the lowest id; deletes the doubles. */
static size_t
clone_dedupe(struct cloud_clone *k, const struct doapi_droplet *d, size_t n, size_t *keep)
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
			clone_delete(k, &d[keep[j]], "double create");
			keep[j] = i;
		} else {
			clone_delete(k, &d[i], "double create");
		}
	}
	return nkeep;
}

static bool
clone_ready(const struct doapi_droplet *d)
{
	return strcmp(d->status, "active") == 0 &&
	       (d->private_ipv4[0] != '\0' || d->public_ipv4[0] != '\0');
}

/* The deadline passed: deletes what is not ready and finishes once they are answered. */
static void
clone_expire(struct cloud_clone *k, const struct doapi_droplet *d, const size_t *keep, size_t nkeep)
{
	clone_enter_state(k, CLONE_EXPIRE);
	k->err = -ETIMEDOUT;
	snprintf(k->error, sizeof(k->error), "%zu of %u clones active when the deadline passed",
		 k->res.ndroplets, k->count);
	for (size_t i = 0; i < nkeep; i++)
		if (!clone_ready(&d[keep[i]]))
			clone_delete(k, &d[keep[i]], "not active by active_timeout");
	if (k->pending_deletes == 0)
		clone_finish(k, k->err, k->error);
}

/* The next poll wait, never past the deadline. */
static uint64_t
clone_next_wait(struct cloud_clone *k)
{
	uint64_t w = cloud_ops_pace_next(&k->pace), now = uv_now(cloud_loop(k->c));

	return now + w > k->deadline ? k->deadline - now : w;
}

static void
clone_on_poll(int err, const char *error, const struct doapi_droplet *d, size_t n, void *arg)
{
	struct cloud_clone *k = arg;
	size_t *keep, nkeep;

	if (err == -ECANCELED) {
		clone_finish(k, err, error);
		return;
	}
	if (err != 0)
		log_warnx("clone %s: poll failed: %s", k->res.op_tag, error);
	keep = xcalloc(n + 1, sizeof(*keep));
	nkeep = err == 0 ? clone_dedupe(k, d, n, keep) : 0;
	free(k->res.droplets);
	k->res.droplets = xcalloc(nkeep + 1, sizeof(*k->res.droplets));
	k->res.ndroplets = 0;
	for (size_t i = 0; i < nkeep; i++)
		if (clone_ready(&d[keep[i]]))
			k->res.droplets[k->res.ndroplets++] = d[keep[i]];
	if (err == 0 && k->res.ndroplets >= k->count && k->pending_deletes == 0)
		clone_finish(k, 0, NULL);
	else if (uv_now(cloud_loop(k->c)) >= k->deadline)
		clone_expire(k, d, keep, nkeep);
	else
		clone_later(k, CLONE_POLL, clone_next_wait(k));
	free(keep);
}

static void
clone_poll(struct cloud_clone *k)
{
	int e = cloud_list_tag_start(k->c, k->res.op_tag, clone_on_poll, k);

	if (e != 0)
		clone_finish(k, e, "cannot start the poll");
}

/* The create body without names: image, size, region, VPC, keys, tags
 * (cluster tag, op tag, extras), user-data, monitoring. */
static int
clone_template(struct cloud_clone *k, const struct cloud_clone_opts *o, char *err, size_t errsize)
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

/* A fresh op tag, and `count` names unique within the operation. */
static int
clone_names(struct cloud_clone *k, const struct cloud_clone_opts *o)
{
	uint8_t rnd[6];
	uint64_t now = (uint64_t)time(NULL);

	randombytes_buf(rnd, sizeof(rnd));
	doapi_op_tag(rnd, k->res.op_tag);
	for (unsigned i = 0; i < o->count; i++) {
		bool dup;

		do {
			if (doapi_clone_name(o->cluster, now, (uint16_t)randombytes_uniform(65536),
					     k->names[i], sizeof(k->names[i])) != 0)
				return -EINVAL;
			dup = false;
			for (unsigned j = 0; j < i; j++)
				dup = dup || strcmp(k->names[j], k->names[i]) == 0;
		} while (dup);
	}
	return 0;
}

int
cloud_clone_start(struct cloud *c, const struct cloud_clone_opts *o, cloud_clone_fn *cb, void *arg)
{
	struct cloud_clone *k;
	char err[256];
	int r;

	if (o->count == 0 || o->count > DOAPI_MAX_NAMES || o->cluster == NULL ||
	    o->cluster_tag == NULL || cb == NULL)
		return -EINVAL;
	k = xcalloc(1, sizeof(*k));
	k->c = c;
	k->count = o->count;
	k->cb = cb;
	k->arg = arg;
	k->active_ms = o->active_timeout_ms != 0 ? o->active_timeout_ms : CLONE_DEFAULT_ACTIVE_MS;
	cloud_ops_pace_init(&k->pace, o->poll_ms);
	r = clone_names(k, o);
	if (r == 0)
		r = clone_template(k, o, err, sizeof(err));
	if (r != 0) {
		log_warnx("clone: %s", r == -EINVAL ? err : strerror(-r));
		cJSON_Delete(k->tmpl);
		free(k);
		return r;
	}
	uv_timer_init(cloud_loop(c), &k->timer);
	k->watch.cancel = clone_cancel;
	cloud_watch_add(c, &k->watch);
	clone_later(k, CLONE_CREATE, 0);
	return 0;
}
