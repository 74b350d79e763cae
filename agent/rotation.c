/*
 * rotation: fans each call out to every configured registrar and reports once
 * (include: agent/rotation.h). The registrars run side by side: a node's DNS
 * record and load balancer entry are made at the same time, so registering
 * costs the slowest registrar's time, not the sum.
 *
 * Closing while calls are pending marks the rotation closing (registrars
 * start nothing new) and leaves the last pending call to free the rotation,
 * so no callback ever sees freed memory; the API client is borrowed, and its
 * owner closes it after the rotation, which cancels what the registrars wait
 * for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cloud.h"
#include "log.h"
#include "meta.h"
#include "rotation.h"
#include "xmalloc.h"

struct rotation {
	struct registrar_env env;
	struct cloud *cloud; /* borrowed: the process's client, NULL without do-* */
	struct registrar **regs;
	size_t nregs;
	const struct meta_identity *identity;
	char *names;
	bool closing;
	size_t inflight;
};

struct rotation_call {
	struct rotation *rot;
	uv_timer_t defer; /* the end of a call every registrar finished at once */
	bool deferred;	  /* defer is open: freed by its close */
	size_t pending;
	int err;
	char why[600];
	rotation_done_fn *cb;
	void *arg;
};

static void
rotation_free(struct rotation *rot)
{
	for (size_t i = 0; i < rot->nregs; i++)
		registrar_free(rot->regs[i]);
	free(rot->regs);
	free(rot->names);
	free(rot);
}

static bool
rotation_needs_cloud(const struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->nregistrars; i++)
		if (strncmp(cfg->registrars[i], "do-", 3) == 0)
			return true;
	return false;
}

int
rotation_new(uv_loop_t *loop, const struct cfg *cfg, const struct meta_identity *identity,
	     struct cloud *cloud, const struct rotation_opts *o, struct rotation **out)
{
	struct rotation *rot = xcalloc(1, sizeof(*rot));
	char err[256];
	int rc = 0;

	*out = NULL;
	rot->env = (struct registrar_env){ .loop = loop,
					   .cfg = cfg,
					   .cloud = cloud,
					   .dry_run = o != NULL && o->dry_run,
					   .out = o != NULL ? o->dry_run_out : NULL,
					   .closing = &rot->closing };
	rot->cloud = cloud;
	rot->identity = identity;
	rot->names = xstrdup("");
	if (rotation_needs_cloud(cfg) && cloud == NULL) {
		log_warnx("registrars: do-dns and do-lb need token_file");
		rc = -EINVAL;
		goto out;
	}
	rot->regs = xcalloc(cfg->nregistrars + 1, sizeof(*rot->regs));
	for (size_t i = 0; i < cfg->nregistrars; i++) {
		char *names;

		if ((rc = registrar_new(cfg->registrars[i], &rot->env, &rot->regs[i], err,
					sizeof(err))) != 0) {
			log_warnx("%s", err);
			goto out;
		}
		rot->nregs++;
		names = xasprintf("%s%s%s", rot->names, i ? ", " : "", cfg->registrars[i]);
		free(rot->names);
		rot->names = names;
	}
out:
	if (rc != 0) {
		rotation_free(rot);
		return rc;
	}
	*out = rot;
	return 0;
}

static void
rotation_on_defer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
rotation_call_end(struct rotation_call *c)
{
	struct rotation *rot = c->rot;

	c->cb(c->err, c->err != 0 ? c->why : NULL, c->arg);
	if (c->deferred)
		uv_close((uv_handle_t *)&c->defer, rotation_on_defer_closed);
	else
		free(c);
	if (--rot->inflight == 0 && rot->closing)
		rotation_free(rot);
}

static void
rotation_on_done(int err, const char *why, void *arg)
{
	struct rotation_call *c = arg;

	if (err != 0 && c->err == 0) {
		c->err = err;
		snprintf(c->why, sizeof(c->why), "%s", why != NULL ? why : strerror(-err));
	}
	if (err != 0)
		log_warnx("rotation: %s", why != NULL ? why : strerror(-err));
	if (--c->pending == 0)
		rotation_call_end(c);
}

static void
rotation_on_defer(uv_timer_t *t)
{
	rotation_on_done(0, NULL, t->data);
}

static int
rotation_fan_out(struct rotation *rot, enum registrar_mode mode, const struct registrar_node *nodes,
		 size_t n, rotation_done_fn *cb, void *arg)
{
	struct rotation_call *c;

	if (rot->closing)
		return -ECANCELED;
	c = xcalloc(1, sizeof(*c));
	c->rot = rot;
	c->cb = cb;
	c->arg = arg;
	c->pending = 1; /* held until every registrar has started */
	rot->inflight++;
	for (size_t i = 0; i < rot->nregs; i++) {
		struct registrar *r = rot->regs[i];
		int err;

		c->pending++;
		err = r->ops->start(r, mode, nodes, n, rotation_on_done, c);
		if (err != 0) {
			char why[128];

			snprintf(why, sizeof(why), "%s: %s", r->ops->name,
				 err == -EINVAL ? "the node has no address to register"
						: strerror(-err));
			rotation_on_done(err, why, c);
		}
	}
	if (c->pending > 1) {
		rotation_on_done(0, NULL, c);
		return 0;
	}
	/* Every registrar ended inside its start (none configured, or each
	 * refused): the callback still runs later, as the contract says, so a
	 * caller may start waiting after this returns. */
	uv_timer_init(rot->env.loop, &c->defer);
	c->defer.data = c;
	c->deferred = true;
	uv_timer_start(&c->defer, rotation_on_defer, 0, 0);
	return 0;
}

int
rotation_register(struct rotation *rot, const struct registrar_node *node, rotation_done_fn *cb,
		  void *arg)
{
	return rotation_fan_out(rot, REGISTRAR_ADD, node, 1, cb, arg);
}

int
rotation_deregister(struct rotation *rot, const struct registrar_node *node, rotation_done_fn *cb,
		    void *arg)
{
	return rotation_fan_out(rot, REGISTRAR_REMOVE, node, 1, cb, arg);
}

int
rotation_reconcile(struct rotation *rot, const struct registrar_node *nodes, size_t n,
		   rotation_done_fn *cb, void *arg)
{
	return rotation_fan_out(rot, REGISTRAR_RECONCILE, nodes, n, cb, arg);
}

int
rotation_self(const struct rotation *rot, struct registrar_node *out)
{
	const struct meta_identity *id = rot->identity;

	if (id == NULL)
		return -ENOENT;
	out->id = id->droplet_id;
	out->name = id->hostname;
	out->public_ipv4 = id->public_ipv4;
	out->private_ipv4 = id->private_ipv4;
	return 0;
}

const char *
rotation_names(const struct rotation *rot)
{
	return rot->names;
}

bool
rotation_needs_address(const struct rotation *rot)
{
	for (size_t i = 0; i < rot->nregs; i++)
		if (rot->regs[i]->ops->needs_address)
			return true;
	return false;
}

uint64_t
rotation_requests(const struct rotation *rot)
{
	return rot->cloud != NULL ? cloud_requests_sent(rot->cloud) : 0;
}

void
rotation_close(struct rotation *rot)
{
	if (rot == NULL)
		return;
	rot->closing = true;
	if (rot->inflight == 0)
		rotation_free(rot);
	/* Otherwise the last pending call frees it, when the owner's client cancels it. */
}
