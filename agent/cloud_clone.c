/*
 * cloud_clone: cloning droplets (agent/cloud_clone.h), a state machine on
 * the API client's loop.
 *
 *   CREATE --202--> POLL --all active (or vanished)--> [VERIFY -->] DONE
 *     |  ^            \--deadline--> EXPIRE --deletes done--> DONE
 *     v  |
 *     CHECK (the create's outcome is unknown: look each name up)
 *
 * Every clone operation has a fresh tag "mitosis-op-<12 hex>" and unique
 * names; the create POST is never retried blindly. DigitalOcean is eventually
 * consistent, which shapes every step:
 *   - the 202 names each droplet's id: those ids are known from then on;
 *   - a listing by tag lags a create (up to ~10 s), so it never proves a
 *     droplet absent: when a create's outcome is unknown (5xx, timeout, an
 *     unreadable 2xx), CHECK looks each missing name up by name
 *     (GET /v2/droplets?name=), twice with a wait between, and only names
 *     found in neither look are created again;
 *   - POLL lists the op tag (one request for up to 10 clones) and GETs by id
 *     each known droplet the listing does not show yet: 404 there means the
 *     create failed after its 202 (the droplet vanished), which fails that
 *     clone at once instead of at the deadline;
 *   - a droplet can be active before it has its addresses: a clone is ready
 *     when active with its private IPv4 (gossip and seeds use it) and, when
 *     need_public, its public one;
 *   - once a create's outcome was unknown, VERIFY looks every name up once
 *     more before the end, so a double made through a lagging listing is
 *     found even if no poll ever showed it.
 * A name seen twice keeps its lowest id; the others are deleted (each delete
 * waits until GET says 404, cloud_ops.h). At active_timeout every clone that
 * is not ready is deleted too. So an operation leaves no double and no leak.
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
#define CLONE_CHECK_LOOKS	2    /* lookups by name that must all miss before a re-create */
#define CLONE_CHECK_AGAIN_MS	3000 /* the wait between them */
#define CLONE_DEFAULT_ACTIVE_MS (5 * 60 * 1000)

enum clone_state {
	CLONE_CREATE, /* posting the create (for the names not known to exist) */
	CLONE_CHECK,  /* looking names up by name: did an unanswered create happen? */
	CLONE_POLL,   /* listing by op tag (and GET by id) until every clone is ready */
	CLONE_VERIFY, /* looking every name up once more: no double left unseen */
	CLONE_EXPIRE, /* the deadline passed: deleting what is not ready */
	CLONE_DONE,
};

/* A droplet this operation made (a 202 named it, or a lookup found it). */
struct clone_known {
	uint64_t id;
	unsigned name; /* index into names */
	bool deleting; /* a double or expired: its delete was started */
	bool gone;     /* GET said 404 */
};

struct cloud_clone {
	struct cloud_watch watch; /* cancelled by cloud_close() */
	struct cloud *c;
	uv_timer_t timer; /* runs the current state after a wait */
	enum clone_state state;
	cJSON *tmpl; /* the create body without its names */
	char names[DOAPI_MAX_NAMES][256];
	bool have[DOAPI_MAX_NAMES];	/* the name exists (a create answered, or found) */
	bool vanished[DOAPI_MAX_NAMES]; /* its droplet is gone after the create: failed */
	unsigned count;
	struct clone_known *known;
	size_t nknown;
	struct doapi_droplet *seen; /* this round's view: listing + lookups */
	size_t nseen;
	unsigned lookups; /* requests of this round still out */
	int lookup_err;	  /* the first failure among them */
	char lookup_why[256];
	bool unsure;   /* a create's outcome was unknown: VERIFY before the end */
	bool verified; /* VERIFY ran */
	struct cloud_clone_result res;
	unsigned checks, looks;
	uint64_t deadline; /* set by the first create; unsettled from then on */
	uint64_t active_ms, delete_ms;
	bool need_public;
	struct cloud_ops_pace pace;
	unsigned pending_deletes;
	int err;
	char error[600];
	cloud_clone_fn *cb;
	void *arg;
};

static void clone_create(struct cloud_clone *k);
static void clone_check(struct cloud_clone *k);
static void clone_poll(struct cloud_clone *k);

static const char *
clone_strstate(enum clone_state s)
{
	static const char *const names[] = {
		"create", "check", "poll", "verify", "expire", "done"
	};

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
	free(k->known);
	free(k->seen);
	free(k);
}

/* Runs the callback once, then frees the operation after its timer closes. */
static void
clone_finish(struct cloud_clone *k, int err, const char *error)
{
	if (k->state == CLONE_DONE)
		return;
	clone_enter_state(k, CLONE_DONE);
	if (k->deadline != 0)
		cloud_unsettled_add(k->c, -1);
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
	case CLONE_VERIFY:
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

/* ---- what the operation knows ---- */

/* The index of `name` among ours, or -1. */
static int
clone_name_index(const struct cloud_clone *k, const char *name)
{
	for (unsigned i = 0; i < k->count; i++)
		if (strcmp(k->names[i], name) == 0)
			return (int)i;
	return -1;
}

static struct clone_known *
clone_known_find(struct cloud_clone *k, uint64_t id)
{
	for (size_t i = 0; i < k->nknown; i++)
		if (k->known[i].id == id)
			return &k->known[i];
	return NULL;
}

/* Records droplet d as ours when it carries one of our names; marks the name. */
static void
clone_learn(struct cloud_clone *k, const struct doapi_droplet *d)
{
	int i = clone_name_index(k, d->name);

	if (i < 0)
		return;
	k->have[i] = true;
	if (clone_known_find(k, d->id) != NULL)
		return;
	k->known = xrealloc(k->known, (k->nknown + 1) * sizeof(*k->known));
	k->known[k->nknown++] = (struct clone_known){ .id = d->id, .name = (unsigned)i };
}

/* Adds d to this round's view (once per id) and learns it. */
static void
clone_see(struct cloud_clone *k, const struct doapi_droplet *d)
{
	for (size_t i = 0; i < k->nseen; i++)
		if (k->seen[i].id == d->id) {
			k->seen[i] = *d; /* the fresher read */
			return;
		}
	if (clone_name_index(k, d->name) < 0)
		return;
	k->seen = xrealloc(k->seen, (k->nseen + 1) * sizeof(*k->seen));
	k->seen[k->nseen++] = *d;
	clone_learn(k, d);
}

static bool
clone_seen(const struct cloud_clone *k, uint64_t id)
{
	for (size_t i = 0; i < k->nseen; i++)
		if (k->seen[i].id == id)
			return true;
	return false;
}

/* Ends one request of a round; the first failure is kept. */
static void
clone_lookup_failed(struct cloud_clone *k, int err, const char *why)
{
	if (k->lookup_err == 0) {
		k->lookup_err = err;
		snprintf(k->lookup_why, sizeof(k->lookup_why), "%s", why);
	}
}

/* ---- create ---- */

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

/* Learns the droplets (ids and names) a 202 answer lists; false when unreadable. */
static bool
clone_accepted(struct cloud_clone *k, const cJSON *json)
{
	struct doapi_droplet *d = NULL;
	char err[160];
	size_t n = 0;

	if (doapi_create_reply(json, &d, &n, err, sizeof(err)) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		clone_learn(k, &d[i]);
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
	log_warnx("clone %s: create outcome unknown (%s); looking the names up before any retry",
		  k->res.op_tag, r->err != 0 || r->status != 202 ? r->error : "unreadable body");
	k->unsure = true;
	k->checks = k->looks = 0;
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
	if (k->deadline == 0) {
		k->deadline = uv_now(cloud_loop(k->c)) + k->active_ms;
		cloud_unsettled_add(k->c, 1);
	}
	e = cloud_call(k->c, "POST", "/v2/droplets", body, 0, clone_on_create, k);
	free(body);
	if (e != 0)
		clone_finish(k, e, "cannot start the create request");
}

/* ---- lookups by name (CHECK and VERIFY) ---- */

static void clone_on_looked(struct cloud_clone *k);

static void
clone_on_name(int err, const char *error, cJSON *items, void *arg)
{
	struct cloud_clone *k = arg;
	struct doapi_droplet *d = NULL;
	size_t n = 0;
	char why[256];

	if (err == 0 && (err = doapi_droplets_parse(items, &d, &n, why, sizeof(why))) != 0)
		error = err == -ENOMEM ? "out of memory" : why;
	if (err != 0)
		clone_lookup_failed(k, err, error);
	for (size_t i = 0; i < n; i++)
		clone_see(k, &d[i]);
	free(d);
	if (--k->lookups == 0)
		clone_on_looked(k);
}

/* GET /v2/droplets?name=NAME for each name (all, or those not known to exist). */
static void
clone_look_names(struct cloud_clone *k, bool all)
{
	k->lookup_err = 0;
	k->lookups = 1; /* held until every request is out */
	for (unsigned i = 0; i < k->count; i++) {
		char *path;

		if (!all && k->have[i])
			continue;
		path = xasprintf("/v2/droplets?name=%s", k->names[i]);
		k->lookups++;
		if (cloud_list(k->c, path, "droplets", clone_on_name, k) != 0) {
			k->lookups--;
			clone_lookup_failed(k, -EINVAL, "cannot start a lookup by name");
		}
		free(path);
	}
	if (--k->lookups == 0)
		clone_on_looked(k);
}

static void clone_evaluate(struct cloud_clone *k);
static uint64_t clone_next_wait(struct cloud_clone *k);

/* CHECK: found names are adopted; the rest are created only after two misses. */
static void
clone_on_checked(struct cloud_clone *k)
{
	bool all = true, any = false;

	for (unsigned i = 0; i < k->count; i++) {
		all = all && k->have[i];
		any = any || k->have[i];
	}
	if (k->lookup_err != 0 && !all) {
		if (k->lookup_err == -ECANCELED || k->lookup_err == -EACCES ||
		    ++k->checks >= CLONE_CHECK_TRIES) {
			snprintf(k->error, sizeof(k->error),
				 "cannot learn whether the create happened (%s); look for tag %s",
				 k->lookup_why, k->res.op_tag);
			clone_finish(k, k->lookup_err, k->error);
			return;
		}
		clone_later(k, CLONE_CHECK,
			    cloud_ops_jitter(2000ULL << (k->checks < 4 ? k->checks : 4)));
		return;
	}
	if (all || any) {
		k->res.adopted = true;
		log_info("clone %s: the create had happened%s; adopting its droplets",
			 k->res.op_tag, all ? "" : " for some names");
	}
	if (all) {
		clone_enter_state(k, CLONE_POLL);
		clone_poll(k);
	} else if (++k->looks < CLONE_CHECK_LOOKS) {
		clone_later(k, CLONE_CHECK, cloud_ops_jitter(CLONE_CHECK_AGAIN_MS));
	} else {
		clone_enter_state(k, CLONE_CREATE);
		clone_create(k);
	}
}

static void
clone_on_looked(struct cloud_clone *k)
{
	if (k->state == CLONE_CHECK) {
		clone_on_checked(k);
	} else if (k->state == CLONE_VERIFY) {
		if (k->lookup_err == -ECANCELED) {
			clone_finish(k, k->lookup_err, k->lookup_why);
			return;
		}
		k->verified = k->lookup_err == 0;
		if (k->verified) {
			clone_evaluate(k);
		} else if (uv_now(cloud_loop(k->c)) < k->deadline) {
			log_warnx("clone %s: looking for doubles failed (%s); again after a wait",
				  k->res.op_tag, k->lookup_why);
			clone_later(k, CLONE_POLL, clone_next_wait(k));
		} else {
			snprintf(k->error, sizeof(k->error),
				 "cannot look for doubles by name (%s); look for tag %s",
				 k->lookup_why, k->res.op_tag);
			clone_finish(k, k->lookup_err, k->error);
		}
	}
}

static void
clone_check(struct cloud_clone *k)
{
	clone_look_names(k, false);
}

/* ---- deletes: doubles and what expired ---- */

static void
clone_on_deleted(int err, const char *error, const struct cloud_delete_result *res, void *arg)
{
	struct cloud_clone *k = arg;
	size_t len = strlen(k->error);

	if (err == 0) {
		k->res.ndeleted++;
	} else if (err != -ECANCELED) {
		log_warnx("clone %s: %s", k->res.op_tag, error);
		k->err = k->err != 0 ? k->err : err;
		snprintf(k->error + len, sizeof(k->error) - len, "%s%s", len > 0 ? "; " : "",
			 error);
	}
	if (--k->pending_deletes == 0 && k->state == CLONE_EXPIRE)
		clone_finish(k, k->err, k->error);
}

/* Deletes known droplet `kn` (a double, or not ready by the deadline), once. */
static void
clone_delete(struct cloud_clone *k, struct clone_known *kn, const char *why)
{
	if (kn->deleting || kn->gone)
		return;
	log_warnx("clone %s: deleting droplet %llu (%s): %s", k->res.op_tag,
		  (unsigned long long)kn->id, k->names[kn->name], why);
	kn->deleting = true;
	k->pending_deletes++;
	if (cloud_delete_start(k->c, kn->id, k->delete_ms, clone_on_deleted, k) != 0)
		k->pending_deletes--;
}

/* ---- poll ---- */

/* The droplet kept for name i: the lowest id seen that is not being deleted. */
static const struct doapi_droplet *
clone_kept(struct cloud_clone *k, unsigned i)
{
	const struct doapi_droplet *best = NULL;

	for (size_t j = 0; j < k->nseen; j++) {
		struct clone_known *kn = clone_known_find(k, k->seen[j].id);

		if (strcmp(k->seen[j].name, k->names[i]) != 0 || kn == NULL || kn->deleting)
			continue;
		if (best == NULL || k->seen[j].id < best->id)
			best = &k->seen[j];
	}
	return best;
}

/* Deletes every seen droplet of ours that is not the one kept for its name. */
static void
clone_dedupe(struct cloud_clone *k)
{
	for (unsigned i = 0; i < k->count; i++) {
		const struct doapi_droplet *keep = clone_kept(k, i);

		for (size_t j = 0; keep != NULL && j < k->nseen; j++) {
			struct clone_known *kn = clone_known_find(k, k->seen[j].id);

			if (kn != NULL && kn->name == i && kn->id != keep->id)
				clone_delete(k, kn, "double create");
		}
	}
}

static bool
clone_ready(const struct cloud_clone *k, const struct doapi_droplet *d)
{
	return d != NULL && strcmp(d->status, "active") == 0 && d->private_ipv4[0] != '\0' &&
	       (!k->need_public || d->public_ipv4[0] != '\0');
}

/* The deadline passed: deletes every droplet of ours but the ready one kept for
 * its name (also those no listing showed), and finishes once they are gone. */
static void
clone_expire(struct cloud_clone *k)
{
	clone_enter_state(k, CLONE_EXPIRE);
	k->err = -ETIMEDOUT;
	snprintf(k->error, sizeof(k->error), "%zu of %u clones active when the deadline passed",
		 k->res.ndroplets, k->count);
	for (size_t j = 0; j < k->nknown; j++) {
		const struct doapi_droplet *d = clone_kept(k, k->known[j].name);

		if (d == NULL || d->id != k->known[j].id || !clone_ready(k, d))
			clone_delete(k, &k->known[j], "not active by active_timeout");
	}
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

/* Every clone ready or vanished and nothing left to delete: the end, naming
 * what vanished and any delete that did not reach 404. */
static void
clone_end(struct cloud_clone *k)
{
	char lost[400] = "", msg[sizeof(k->error) + sizeof(lost) + 160];
	size_t len = 0;
	unsigned nlost = 0;

	for (size_t j = 0; j < k->nknown; j++) {
		const struct clone_known *kn = &k->known[j];

		if (!k->vanished[kn->name] || !kn->gone || kn->deleting || len >= sizeof(lost) - 1)
			continue;
		nlost++;
		len += (size_t)snprintf(lost + len, sizeof(lost) - len, "%sdroplet %llu (%s)",
					len > 0 ? ", " : "", (unsigned long long)kn->id,
					k->names[kn->name]);
	}
	if (nlost == 0 && k->err == 0) {
		clone_finish(k, 0, NULL);
		return;
	}
	if (nlost == 0) {
		clone_finish(k, k->err, k->error);
		return;
	}
	snprintf(msg, sizeof(msg),
		 "%s vanished after the create was accepted (GET says 404: DigitalOcean's create "
		 "failed); %zu of %u clones active%s%s",
		 lost, k->res.ndroplets, k->count, k->err != 0 ? "; " : "", k->error);
	clone_finish(k, -EIO, msg);
}

/* Decides on this round's view: doubles, readiness, the end or the next poll. */
static void
clone_evaluate(struct cloud_clone *k)
{
	unsigned settled = 0;

	clone_dedupe(k);
	free(k->res.droplets);
	k->res.droplets = xcalloc(k->count + 1, sizeof(*k->res.droplets));
	k->res.ndroplets = 0;
	for (unsigned i = 0; i < k->count; i++) {
		const struct doapi_droplet *d = clone_kept(k, i);

		if (clone_ready(k, d))
			k->res.droplets[k->res.ndroplets++] = *d;
		settled += clone_ready(k, d) || (k->vanished[i] && d == NULL);
	}
	if (settled == k->count && k->pending_deletes == 0 && k->unsure && !k->verified) {
		clone_enter_state(k, CLONE_VERIFY);
		clone_look_names(k, true);
	} else if (settled == k->count && k->pending_deletes == 0) {
		clone_end(k);
	} else if (uv_now(cloud_loop(k->c)) >= k->deadline) {
		clone_expire(k);
	} else {
		clone_later(k, CLONE_POLL, clone_next_wait(k));
	}
}

/* Droplet kn answered 404: expected for a double we deleted; otherwise, when no
 * other droplet of its name lives, the create failed after its 202. */
static void
clone_gone(struct cloud_clone *k, struct clone_known *kn)
{
	kn->gone = true;
	if (kn->deleting)
		return;
	for (size_t j = 0; j < k->nknown; j++)
		if (k->known[j].name == kn->name && !k->known[j].gone && !k->known[j].deleting)
			return;
	k->vanished[kn->name] = true;
	log_warnx("clone %s: droplet %llu (%s) vanished: GET says 404 after its create was "
		  "accepted",
		  k->res.op_tag, (unsigned long long)kn->id, k->names[kn->name]);
}

/* One GET by id of a round; the id travels with it (a 404 body does not name it). */
struct clone_get {
	struct cloud_clone *k;
	uint64_t id;
};

static void
clone_on_polled(struct cloud_clone *k)
{
	if (k->lookup_err == -ECANCELED)
		clone_finish(k, k->lookup_err, k->lookup_why);
	else
		clone_evaluate(k);
}

static void
clone_on_get(const struct cloud_resp *r, void *arg)
{
	struct clone_get *g = arg;
	struct cloud_clone *k = g->k;
	struct clone_known *kn = clone_known_find(k, g->id);
	struct doapi_droplet d;
	char why[160];

	if (r->err == 0 && r->status == 200 &&
	    doapi_droplet_parse(cJSON_GetObjectItemCaseSensitive(r->json, "droplet"), &d, why,
				sizeof(why)))
		clone_see(k, &d);
	else if (r->err == 0 && r->status == 404 && kn != NULL)
		clone_gone(k, kn);
	else
		clone_lookup_failed(k, r->err != 0 ? r->err : -EPROTO, r->error);
	free(g);
	if (--k->lookups == 0)
		clone_on_polled(k);
}

/* GET by id every known droplet the listing did not show: a tag listing lags. */
static void
clone_get_unlisted(struct cloud_clone *k)
{
	k->lookups = 1; /* held until every request is out */
	for (size_t j = 0; j < k->nknown; j++) {
		struct clone_get *g;
		char path[64];

		if (k->known[j].deleting || k->known[j].gone || clone_seen(k, k->known[j].id))
			continue;
		g = xcalloc(1, sizeof(*g));
		*g = (struct clone_get){ k, k->known[j].id };
		snprintf(path, sizeof(path), "/v2/droplets/%llu", (unsigned long long)g->id);
		k->lookups++;
		if (cloud_call(k->c, "GET", path, NULL, 0, clone_on_get, g) != 0) {
			free(g);
			k->lookups--;
		}
	}
	if (--k->lookups == 0)
		clone_on_polled(k);
}

static void
clone_on_listed(int err, const char *error, const struct doapi_droplet *d, size_t n, void *arg)
{
	struct cloud_clone *k = arg;

	if (err == -ECANCELED) {
		clone_finish(k, err, error);
		return;
	}
	if (err != 0)
		log_warnx("clone %s: poll failed: %s", k->res.op_tag, error);
	for (size_t i = 0; i < n; i++)
		clone_see(k, &d[i]);
	clone_get_unlisted(k);
}

static void
clone_poll(struct cloud_clone *k)
{
	int e;

	k->nseen = 0;
	k->lookup_err = 0;
	e = cloud_list_tag_start(k->c, k->res.op_tag, clone_on_listed, k);
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
	if (o->user_data != NULL) {
		ud = xstrdup(o->user_data);
		r = 0;
	} else {
		r = doapi_clone_user_data(o->cluster, o->seeds, o->nseeds, &ud);
	}
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
	k->delete_ms = o->delete_timeout_ms;
	k->need_public = o->need_public;
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
