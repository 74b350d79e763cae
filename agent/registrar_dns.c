/*
 * registrar_dns: round-robin DNS through DigitalOcean's domain records, one A
 * record per node under `dns_name` in `dns_domain` with `dns_ttl`.
 *
 * Every operation is a converge loop: list the A records under the name
 * (GET /v2/domains/D/records?type=A&name=FQDN, all pages), plan with
 * reconcile_plan(), run the plan (POST a record, PUT new data into one,
 * DELETE one by id), and when any step failed list again and re-plan, up to
 * DNS_ROUNDS times. A create is never retried blindly: a POST that failed may
 * still have made its record, and the next listing shows whether it did, so a
 * retry can neither leak a record nor double one.
 *   add:       desired {ip}, actual = records whose data is ip
 *   remove:    desired {},   actual = records whose data is ip
 *   reconcile: desired every ip, actual every record; a stale record is
 *              re-pointed (PUT) rather than deleted and re-created
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "cloud.h"
#include "log.h"
#include "reconcile.h"
#include "registrar.h"
#include "xmalloc.h"

#define DNS_ROUNDS 5

struct dns_reg {
	struct registrar base;
	char *domain;
	char *name; /* relative: "www" or "@" */
	char *fqdn;
	uint64_t ttl;
};

struct dns_record {
	uint64_t id;
	char ip[16];
};

struct dns_job {
	struct dns_reg *r;
	enum registrar_mode mode;
	char **ips; /* desired (add, reconcile) or the one to remove */
	size_t nips;
	registrar_done_fn *cb;
	void *arg;
	unsigned round;
	struct dns_record *recs;
	size_t nrecs;
	struct reconcile_op *ops;
	size_t nops, next;
	unsigned failed;
	char why[512];
};

static void dns_list(struct dns_job *j);
static void dns_step(struct dns_job *j);

static void
dns_job_free(struct dns_job *j)
{
	for (size_t i = 0; i < j->nips; i++)
		free(j->ips[i]);
	free(j->ips);
	free(j->recs);
	free(j->ops);
	free(j);
}

static void
dns_finish(struct dns_job *j, int err)
{
	j->cb(err, err != 0 ? j->why : NULL, j->arg);
	dns_job_free(j);
}

static bool
dns_closing(const struct dns_job *j)
{
	return j->r->base.env->closing != NULL && *j->r->base.env->closing;
}

/* Records that take part: all of them, or only those holding the one ip. */
static bool
dns_record_relevant(const struct dns_job *j, const char *ip)
{
	return j->mode == REGISTRAR_RECONCILE || strcmp(ip, j->ips[0]) == 0;
}

static void
dns_take_records(struct dns_job *j, cJSON *items)
{
	const cJSON *it;

	free(j->recs);
	j->recs = xcalloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*j->recs));
	j->nrecs = 0;
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(it, "data");

		if (!cJSON_IsNumber(id) || id->valuedouble < 1 || !cJSON_IsString(type) ||
		    strcmp(type->valuestring, "A") != 0 || !cJSON_IsString(name) ||
		    strcmp(name->valuestring, j->r->name) != 0 || !cJSON_IsString(data) ||
		    strlen(data->valuestring) >= sizeof(j->recs[0].ip) ||
		    !dns_record_relevant(j, data->valuestring))
			continue;
		j->recs[j->nrecs].id = (uint64_t)id->valuedouble;
		snprintf(j->recs[j->nrecs].ip, sizeof(j->recs[0].ip), "%s", data->valuestring);
		j->nrecs++;
	}
}

static int
dns_plan(struct dns_job *j)
{
	size_t nd = j->mode == REGISTRAR_REMOVE ? 0 : j->nips;
	struct reconcile_item *d = xcalloc(nd + 1, sizeof(*d));
	struct reconcile_item *a = xcalloc(j->nrecs + 1, sizeof(*a));
	int err;

	for (size_t i = 0; i < nd; i++)
		d[i].key = j->ips[i];
	for (size_t i = 0; i < j->nrecs; i++) {
		a[i].key = j->recs[i].ip;
		a[i].ready = true;
	}
	free(j->ops);
	err = reconcile_plan(d, nd, a, j->nrecs,
			     j->mode == REGISTRAR_RECONCILE ? RECONCILE_PAIR : 0, &j->ops,
			     &j->nops);
	j->next = 0;
	j->failed = 0;
	free(d);
	free(a);
	return err;
}

static void
dns_on_listed(int err, const char *error, cJSON *items, void *arg)
{
	struct dns_job *j = arg;

	if (err != 0 || !cJSON_IsArray(items)) {
		snprintf(j->why, sizeof(j->why), "do-dns: listing %s: %s", j->r->fqdn,
			 error != NULL ? error : "no records array");
		dns_finish(j, err != 0 ? err : -EIO);
		return;
	}
	dns_take_records(j, items);
	if ((err = dns_plan(j)) != 0) {
		snprintf(j->why, sizeof(j->why), "do-dns: planning: %s", strerror(-err));
		dns_finish(j, err);
		return;
	}
	log_debug("do-dns: %s: %zu record(s), %zu operation(s) (round %u)", j->r->fqdn, j->nrecs,
		  j->nops, j->round);
	dns_step(j);
}

static void
dns_list(struct dns_job *j)
{
	char *path;
	int err;

	if (dns_closing(j)) {
		snprintf(j->why, sizeof(j->why), "do-dns: shutting down");
		dns_finish(j, -ECANCELED);
		return;
	}
	j->round++;
	path = xasprintf("/v2/domains/%s/records?type=A&name=%s", j->r->domain, j->r->fqdn);
	err = cloud_list(j->r->base.env->cloud, path, "domain_records", dns_on_listed, j);
	free(path);
	if (err != 0) {
		snprintf(j->why, sizeof(j->why), "do-dns: cannot list records: %s", strerror(-err));
		dns_finish(j, err);
	}
}

static void
dns_on_op(const struct cloud_resp *resp, void *arg)
{
	struct dns_job *j = arg;
	const struct reconcile_op *op = &j->ops[j->next - 1];
	bool gone = op->kind == RECONCILE_DELETE && resp->err == 0 && resp->status == 404;

	if (!resp->dry_run && !gone &&
	    (resp->err != 0 || resp->status < 200 || resp->status > 299)) {
		j->failed++;
		snprintf(j->why, sizeof(j->why), "do-dns: %s of a record under %s: %s",
			 reconcile_kind_name(op->kind), j->r->fqdn, resp->error);
		log_warnx("%s", j->why);
	}
	dns_step(j);
}

static char *
dns_body(const struct dns_job *j, const char *ip, bool create)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "type", "A");
	if (create)
		cJSON_AddStringToObject(o, "name", j->r->name);
	cJSON_AddStringToObject(o, "data", ip);
	cJSON_AddNumberToObject(o, "ttl", (double)j->r->ttl);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Runs the next operation of the plan; at the end, either done or another round. */
static void
dns_step(struct dns_job *j)
{
	const struct reconcile_op *op;
	char *path = NULL, *body = NULL;
	const char *method;
	int err;

	if (j->next == j->nops) {
		if (j->failed == 0)
			dns_finish(j, 0);
		else if (j->round >= DNS_ROUNDS)
			dns_finish(j, -EIO);
		else
			dns_list(j);
		return;
	}
	op = &j->ops[j->next++];
	if (op->kind == RECONCILE_CREATE) {
		method = "POST";
		path = xasprintf("/v2/domains/%s/records", j->r->domain);
		body = dns_body(j, j->ips[op->desired], true);
	} else if (op->kind == RECONCILE_UPDATE) {
		method = "PUT";
		path = xasprintf("/v2/domains/%s/records/%" PRIu64, j->r->domain,
				 j->recs[op->actual].id);
		body = dns_body(j, j->ips[op->desired], false);
	} else {
		method = "DELETE";
		path = xasprintf("/v2/domains/%s/records/%" PRIu64, j->r->domain,
				 j->recs[op->actual].id);
	}
	err = dns_closing(j)
		      ? -ECANCELED
		      : cloud_call(j->r->base.env->cloud, method, path, body, 0, dns_on_op, j);
	free(path);
	cJSON_free(body);
	if (err != 0) {
		snprintf(j->why, sizeof(j->why), "do-dns: %s: %s", method, strerror(-err));
		dns_finish(j, err);
	}
}

static int
dns_start(struct registrar *base, enum registrar_mode mode, const struct registrar_node *nodes,
	  size_t n, registrar_done_fn *cb, void *arg)
{
	struct dns_reg *r = (struct dns_reg *)base;
	struct dns_job *j = xcalloc(1, sizeof(*j));

	j->r = r;
	j->mode = mode;
	j->cb = cb;
	j->arg = arg;
	j->ips = xcalloc(n + 1, sizeof(*j->ips));
	for (size_t i = 0; i < n; i++) {
		const char *ip = registrar_address(base->env->cfg, &nodes[i]);

		if (ip != NULL)
			j->ips[j->nips++] = xstrdup(ip);
		else
			log_warnx("do-dns: node %" PRIu64 " has no %s IPv4; not in DNS",
				  nodes[i].id, base->env->cfg->register_address);
	}
	if (mode != REGISTRAR_RECONCILE && j->nips == 0) {
		dns_job_free(j);
		return -EINVAL;
	}
	dns_list(j);
	return 0;
}

static void
dns_free(struct registrar *base)
{
	struct dns_reg *r = (struct dns_reg *)base;

	free(r->domain);
	free(r->name);
	free(r->fqdn);
	free(r);
}

static const struct registrar_ops dns_ops = {
	.name = "do-dns",
	.start = dns_start,
	.free = dns_free,
	.needs_address = true,
};

/* Domain and record names go into URL paths: letters, digits, '-', '.', '_', '@'. */
static bool
dns_name_ok(const char *s)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > 253)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_' || *s == '@'))
			return false;
	return true;
}

int
registrar_dns_new(const struct registrar_env *env, struct registrar **out, char *err,
		  size_t errsize)
{
	const struct cfg *cfg = env->cfg;
	const char *name = cfg->dns_name != NULL ? cfg->dns_name : "@";
	struct dns_reg *r;

	if (env->cloud == NULL) {
		snprintf(err, errsize, "do-dns: needs token_file (the DigitalOcean API token)");
		return -EINVAL;
	}
	if (!dns_name_ok(cfg->dns_domain) || !dns_name_ok(name)) {
		snprintf(err, errsize,
			 "do-dns: needs dns_domain (and dns_name) made of letters, "
			 "digits, '-', '.', '_'");
		return -EINVAL;
	}
	r = xcalloc(1, sizeof(*r));
	r->base.ops = &dns_ops;
	r->base.env = env;
	r->domain = xstrdup(cfg->dns_domain);
	r->name = xstrdup(name);
	r->fqdn = strcmp(name, "@") == 0 ? xstrdup(cfg->dns_domain)
					 : xasprintf("%s.%s", name, cfg->dns_domain);
	r->ttl = cfg->dns_ttl;
	*out = &r->base;
	return 0;
}
