/*
 * registrar_lb: a DigitalOcean load balancer. Each operation starts with
 * GET /v2/load_balancers/ID, which tells the droplets it holds and whether it
 * is tag-based. An id-based balancer gets the difference through its
 * /droplets sub-resource (POST to add, DELETE with a JSON body to remove; one
 * request each for any number of droplets). A tag-based one refuses those
 * with 422, so there a droplet joins by carrying the tag
 * (POST /v2/tags/TAG/resources) and leaves by losing it, except when the tag
 * is the cluster tag, which the cluster itself needs: such a node stays until
 * its droplet is deleted, and a warning says so. Both calls are safe to
 * repeat, so they are marked idempotent and retried; a failed round (or a 422
 * because the balancer changed kind) re-reads the balancer, up to LB_ROUNDS.
 *
 * A member the balancer has just taken gets no traffic until it passes the
 * balancer's health check healthy_threshold times (30 s at DO's defaults), and
 * the API does not say when that happens. So a register that added its node
 * waits (up to health_timeout) until the node passes that check, probed the
 * way the balancer probes it (lbhealth.c), and fails, saying so, if it does
 * not: the node is on the balancer but serves nothing. A node that was already
 * a member, a reconcile and a removal do not wait.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "cloud.h"
#include "doapi.h"
#include "lbhealth.h"
#include "log.h"
#include "reconcile.h"
#include "registrar.h"
#include "xmalloc.h"

#define LB_ROUNDS 4

struct lb_reg {
	struct registrar base;
	char *lb_id;
	char *cluster_tag;
};

struct lb_job {
	struct lb_reg *r;
	enum registrar_mode mode;
	uint64_t *ids;
	size_t nids;
	registrar_done_fn *cb;
	void *arg;
	unsigned round, failed;
	char *tag; /* the balancer's tag, NULL for an id-based one */
	uint64_t *add, *del;
	size_t nadd, ndel;
	int stage;  /* 0 = add next, 1 = remove next, 2 = done */
	bool added; /* an add of this job succeeded: the new member's health is waited for */
	struct doapi_health_check hc; /* the balancer's, from the last read */
	char why[1024];
};

static void lb_get(struct lb_job *j);
static void lb_step(struct lb_job *j);

static void
lb_finish(struct lb_job *j, int err)
{
	j->cb(err, err != 0 ? j->why : NULL, j->arg);
	free(j->ids);
	free(j->tag);
	free(j->add);
	free(j->del);
	free(j);
}

static bool
lb_closing(const struct lb_job *j)
{
	return j->r->base.env->closing != NULL && *j->r->base.env->closing;
}

static bool
lb_has(const uint64_t *v, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

/* Fills add/del from what the balancer holds, by the mode. */
static void
lb_plan(struct lb_job *j, const uint64_t *have, size_t nhave)
{
	free(j->add);
	free(j->del);
	j->add = xcalloc(j->nids + 1, sizeof(*j->add));
	j->del = xcalloc(nhave + j->nids + 1, sizeof(*j->del));
	j->nadd = j->ndel = 0;
	for (size_t i = 0; i < j->nids; i++) {
		bool there = lb_has(have, nhave, j->ids[i]);

		if (j->mode != REGISTRAR_REMOVE && !there && !lb_has(j->add, j->nadd, j->ids[i]))
			j->add[j->nadd++] = j->ids[i];
		if (j->mode == REGISTRAR_REMOVE && there)
			j->del[j->ndel++] = j->ids[i];
	}
	for (size_t i = 0; j->mode == REGISTRAR_RECONCILE && i < nhave; i++)
		if (!lb_has(j->ids, j->nids, have[i]) && !lb_has(j->del, j->ndel, have[i]))
			j->del[j->ndel++] = have[i];
	if (j->tag != NULL && j->ndel > 0 && strcmp(j->tag, j->r->cluster_tag) == 0) {
		log_warnx("do-lb %s: tag-based on the cluster tag %s: %zu droplet(s) stay in it "
			  "until deleted",
			  j->r->lb_id, j->tag, j->ndel);
		j->ndel = 0;
	}
	j->stage = 0;
	j->failed = 0;
}

static void
lb_on_get(const struct cloud_resp *resp, void *arg)
{
	struct lb_job *j = arg;
	const cJSON *lb = cJSON_GetObjectItemCaseSensitive(resp->json, "load_balancer");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(lb, "droplet_ids");
	const cJSON *tag = cJSON_GetObjectItemCaseSensitive(lb, "tag");
	const cJSON *it;
	uint64_t *have;
	size_t nhave = 0;

	if (resp->err != 0 || resp->status != 200 || !cJSON_IsObject(lb)) {
		snprintf(j->why, sizeof(j->why), "do-lb %s: %s", j->r->lb_id,
			 resp->error[0] != '\0' ? resp->error : "no load_balancer object");
		lb_finish(j, resp->err != 0 ? resp->err : resp->status == 404 ? -ENOENT : -EIO);
		return;
	}
	if (!doapi_health_check_parse(lb, &j->hc, j->why, sizeof(j->why))) {
		lb_finish(j, -EPROTO);
		return;
	}
	free(j->tag);
	j->tag = cJSON_IsString(tag) && tag->valuestring[0] != '\0' ? xstrdup(tag->valuestring)
								    : NULL;
	have = xcalloc((size_t)cJSON_GetArraySize(ids) + 1, sizeof(*have));
	cJSON_ArrayForEach(it, ids) if (cJSON_IsNumber(it) && it->valuedouble >= 1) have[nhave++] =
		(uint64_t)it->valuedouble;
	lb_plan(j, have, nhave);
	free(have);
	log_debug("do-lb %s: %s, %zu droplet(s), %zu to add, %zu to remove (round %u)", j->r->lb_id,
		  j->tag != NULL ? "tag-based" : "id-based", nhave, j->nadd, j->ndel, j->round);
	lb_step(j);
}

static void
lb_get(struct lb_job *j)
{
	char *path;
	int err;

	if (lb_closing(j)) {
		snprintf(j->why, sizeof(j->why), "do-lb: shutting down");
		lb_finish(j, -ECANCELED);
		return;
	}
	j->round++;
	path = xasprintf("/v2/load_balancers/%s", j->r->lb_id);
	err = cloud_call(j->r->base.env->cloud, "GET", path, NULL, 0, lb_on_get, j);
	free(path);
	if (err != 0) {
		snprintf(j->why, sizeof(j->why), "do-lb: cannot start: %s", strerror(-err));
		lb_finish(j, err);
	}
}

static void
lb_on_change(const struct cloud_resp *resp, void *arg)
{
	struct lb_job *j = arg;

	if (!resp->dry_run && (resp->err != 0 || resp->status < 200 || resp->status > 299)) {
		j->failed++;
		snprintf(j->why, sizeof(j->why), "do-lb %s: %s", j->r->lb_id, resp->error);
		log_warnx("%s", j->why);
	} else if (j->stage == 1 && !resp->dry_run) {
		j->added = true; /* the add (stage 0) just answered */
	}
	lb_step(j);
}

static void
lb_on_healthy(int err, const char *why, size_t healthy, size_t n, void *arg)
{
	struct lb_job *j = arg;

	if (err != 0)
		snprintf(j->why, sizeof(j->why),
			 "do-lb %s: the node is on the load balancer but "
			 "gets no traffic: %s",
			 j->r->lb_id, why);
	lb_finish(j, err);
}

/* The job's changes are made: a register that added its node waits for its health. */
static void
lb_done(struct lb_job *j)
{
	const struct cfg *cfg = j->r->base.env->cfg;
	struct lbhealth_opts o = { .lb_id = j->r->lb_id,
				   .hc = &j->hc,
				   .timeout_ms = cfg->health_timeout_ms,
				   .passes = j->hc.healthy_after };

	if (j->mode != REGISTRAR_ADD || !j->added || cfg->health_timeout_ms == 0 || lb_closing(j) ||
	    lbhealth_start(j->r->base.env->cloud, j->ids, j->nids, &o, lb_on_healthy, j) != 0)
		lb_finish(j, 0);
}

/* {"droplet_ids":[...]} or {"resources":[{"resource_id":"ID","resource_type":"droplet"}...]} */
static char *
lb_body(const struct lb_job *j, const uint64_t *ids, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(o, j->tag != NULL ? "resources" : "droplet_ids");
	char num[32], *s;

	for (size_t i = 0; i < n; i++) {
		if (j->tag == NULL) {
			cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)ids[i]));
			continue;
		}
		cJSON *res = cJSON_CreateObject();

		snprintf(num, sizeof(num), "%" PRIu64, ids[i]);
		cJSON_AddStringToObject(res, "resource_id", num);
		cJSON_AddStringToObject(res, "resource_type", "droplet");
		cJSON_AddItemToArray(arr, res);
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		abort();
	return s;
}

static void
lb_step(struct lb_job *j)
{
	bool adding = j->stage == 0;
	size_t n = adding ? j->nadd : j->ndel;
	char *path, *body;
	int err;

	if (j->stage == 2 || (j->stage == 1 && j->ndel == 0)) {
		if (j->failed == 0)
			lb_done(j);
		else if (j->round >= LB_ROUNDS)
			lb_finish(j, -EIO);
		else
			lb_get(j);
		return;
	}
	j->stage++;
	if (n == 0) {
		lb_step(j);
		return;
	}
	path = j->tag != NULL ? xasprintf("/v2/tags/%s/resources", j->tag)
			      : xasprintf("/v2/load_balancers/%s/droplets", j->r->lb_id);
	body = lb_body(j, adding ? j->add : j->del, n);
	err = lb_closing(j) ? -ECANCELED
			    : cloud_call(j->r->base.env->cloud, adding ? "POST" : "DELETE", path,
					 body, CLOUD_IDEMPOTENT, lb_on_change, j);
	free(path);
	cJSON_free(body);
	if (err != 0) {
		snprintf(j->why, sizeof(j->why), "do-lb: cannot start: %s", strerror(-err));
		lb_finish(j, err);
	}
}

static int
lb_start(struct registrar *base, enum registrar_mode mode, const struct registrar_node *nodes,
	 size_t n, registrar_done_fn *cb, void *arg)
{
	struct lb_job *j = xcalloc(1, sizeof(*j));

	j->r = (struct lb_reg *)base;
	j->mode = mode;
	j->cb = cb;
	j->arg = arg;
	j->ids = xcalloc(n + 1, sizeof(*j->ids));
	for (size_t i = 0; i < n; i++)
		if (nodes[i].id != 0)
			j->ids[j->nids++] = nodes[i].id;
	if (mode != REGISTRAR_RECONCILE && j->nids == 0) {
		free(j->ids);
		free(j);
		return -EINVAL;
	}
	lb_get(j);
	return 0;
}

static void
lb_free(struct registrar *base)
{
	struct lb_reg *r = (struct lb_reg *)base;

	free(r->lb_id);
	free(r->cluster_tag);
	free(r);
}

static const struct registrar_ops lb_ops = {
	.name = "do-lb",
	.start = lb_start,
	.free = lb_free,
};

static bool
lb_id_ok(const char *s)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > 64)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

int
registrar_lb_new(const struct registrar_env *env, struct registrar **out, char *err, size_t errsize)
{
	const struct cfg *cfg = env->cfg;
	struct lb_reg *r;

	if (env->cloud == NULL) {
		snprintf(err, errsize, "do-lb: needs token_file (the DigitalOcean API token)");
		return -EINVAL;
	}
	if (!lb_id_ok(cfg->lb_id)) {
		snprintf(err, errsize, "do-lb: needs lb_id (the load balancer's uuid)");
		return -EINVAL;
	}
	if (cfg->cluster_tag == NULL) { /* cfg_finish sets it; a caller skipped it */
		snprintf(err, errsize, "do-lb: no cluster_tag");
		return -EINVAL;
	}
	r = xcalloc(1, sizeof(*r));
	r->base.ops = &lb_ops;
	r->base.env = env;
	r->lb_id = xstrdup(cfg->lb_id);
	r->cluster_tag = xstrdup(cfg->cluster_tag);
	*out = &r->base;
	return 0;
}
