/*
 * lbhealth: waiting for load balancer members to pass its health check
 * (agent/lbhealth.h), a small state machine on the API client's loop:
 *
 *   ROUND --every member answered--> WAIT --interval--> ROUND ... DONE
 *
 * A round GETs the address of each member that has none yet and probes each
 * one that has one and has not passed enough; a member passes after `passes`
 * probes in a row. The wait ends when enough members pass (after a margin of
 * the response timeout when several passes were asked: the balancer's checks
 * are not in step with ours), or at the deadline with every member that did
 * not pass named, with its last result.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cloud.h"
#include "container.h"
#include "lbhealth.h"
#include "log.h"
#include "probe.h"
#include "xmalloc.h"

enum lbh_state {
	LBH_ROUND, /* GETs and probes out */
	LBH_WAIT,  /* until the next round */
	LBH_DONE,
};

struct lbh_member {
	uint64_t id;
	char ip[DOAPI_IPV4_LEN]; /* "" until the droplet was read */
	bool ip_public;		 /* no private IPv4 yet: read again after a failure */
	unsigned passes;	 /* in a row */
	bool healthy, gone;
	struct probe *probe; /* the one out, cancelled when the wait ends */
	char last[272];
};

struct lbhealth {
	struct cloud_watch watch; /* cancelled by cloud_close() */
	struct cloud *c;
	uv_timer_t timer;
	enum lbh_state state;
	char lb_id[64];
	struct doapi_health_check hc;
	struct lbh_member *m;
	size_t n;
	unsigned passes;
	bool any, margin;
	uint64_t timeout_ms, deadline;
	unsigned pending; /* asks out; the struct outlives them */
	bool closed;	  /* the timer has closed */
	lbhealth_fn *cb;
	void *arg;
	/* lbhealth_others_start(): the balancer is read first */
	uint64_t leaving;
};

/* One request or probe of a round, for one member. */
struct lbh_ask {
	struct lbhealth *h;
	size_t i;
};

static void lbh_round(struct lbhealth *h);

/* Freed once its timer has closed and no ask is out (whichever comes last). */
static void
lbh_free_if_idle(struct lbhealth *h)
{
	if (!h->closed || h->pending > 0)
		return;
	free(h->m);
	free(h);
}

static void
lbh_closed(uv_handle_t *t)
{
	struct lbhealth *h = container_of((uv_timer_t *)(void *)t, struct lbhealth, timer);

	h->closed = true;
	lbh_free_if_idle(h);
}

static size_t
lbh_count(const struct lbhealth *h)
{
	size_t k = 0;

	for (size_t i = 0; i < h->n; i++)
		k += h->m[i].healthy;
	return k;
}

static void
lbh_finish(struct lbhealth *h, int err, const char *why)
{
	if (h->state == LBH_DONE)
		return;
	h->state = LBH_DONE;
	cloud_watch_del(h->c, &h->watch);
	uv_timer_stop(&h->timer);
	h->cb(err, err == 0 ? NULL : why, lbh_count(h), h->n, h->arg);
	for (size_t i = 0; i < h->n; i++)
		probe_cancel(h->m[i].probe); /* its callback clears the pointer */
	uv_close((uv_handle_t *)&h->timer, lbh_closed);
}

static void
lbh_cancel(struct cloud_watch *w)
{
	lbh_finish(container_of(w, struct lbhealth, watch), -ECANCELED,
		   "cancelled: the API client is closing");
}

static void
lbh_on_timer(uv_timer_t *t)
{
	struct lbhealth *h = container_of(t, struct lbhealth, timer);

	if (h->state == LBH_WAIT && h->margin && lbh_count(h) > 0)
		lbh_finish(h, 0, NULL);
	else if (h->state == LBH_WAIT)
		lbh_round(h);
}

/* "tcp :18080" or "http :80 /healthz", for messages. */
static const char *
lbh_check_name(const struct lbhealth *h, char *buf, size_t size)
{
	snprintf(buf, size, "%s :%u%s%s", h->hc.protocol, h->hc.port,
		 strcmp(h->hc.protocol, "tcp") != 0 ? " " : "",
		 strcmp(h->hc.protocol, "tcp") != 0 ? h->hc.path : "");
	return buf;
}

/* The deadline: names each member that did not pass. */
static void
lbh_timed_out(struct lbhealth *h)
{
	char why[1024], check[300];
	size_t len;

	len = (size_t)snprintf(
		why, sizeof(why),
		"load balancer %s: %s passed its health check (%s) within %" PRIu64 " s:", h->lb_id,
		h->any ? "no member" : "not every new member",
		lbh_check_name(h, check, sizeof(check)), h->timeout_ms / 1000);
	for (size_t i = 0; i < h->n && len < sizeof(why); i++)
		if (!h->m[i].healthy)
			len += (size_t)snprintf(why + len, sizeof(why) - len,
						" droplet %" PRIu64 " (%s): %s;", h->m[i].id,
						h->m[i].ip[0] != '\0' ? h->m[i].ip : "no address",
						h->m[i].last);
	lbh_finish(h, -ETIMEDOUT, why);
}

/* A round has ended: done, the deadline, or the next round after the interval. */
static void
lbh_after_round(struct lbhealth *h)
{
	size_t ok = lbh_count(h);
	uint64_t next = (uint64_t)h->hc.interval_s * 1000, now = uv_now(cloud_loop(h->c));

	if ((h->any && ok > 0) || (!h->any && ok == h->n)) {
		if (h->passes <= 1) {
			lbh_finish(h, 0, NULL);
			return;
		}
		h->margin = true; /* the balancer's own checks may run a little later */
		next = (uint64_t)h->hc.timeout_s * 1000;
	} else if (now + next > h->deadline) {
		lbh_timed_out(h);
		return;
	}
	h->state = LBH_WAIT;
	uv_timer_start(&h->timer, lbh_on_timer, next, 0);
}

static void
lbh_ask_done(struct lbhealth *h)
{
	h->pending--;
	if (h->state == LBH_DONE)
		lbh_free_if_idle(h);
	else if (h->pending == 0 && h->state == LBH_ROUND)
		lbh_after_round(h);
}

static void
lbh_on_probe(bool pass, const char *why, void *arg)
{
	struct lbh_ask *a = arg;
	struct lbhealth *h = a->h;
	struct lbh_member *m = &h->m[a->i];

	m->probe = NULL;
	if (h->state == LBH_DONE) {
		free(a);
		lbh_ask_done(h);
		return;
	}
	m->passes = pass ? m->passes + 1 : 0;
	snprintf(m->last, sizeof(m->last), "%s", why);
	/* A droplet is active a moment before the API shows its private
	 * address: a public one that fails may only stand in for it. */
	if (!pass && m->ip_public)
		m->ip[0] = '\0';
	if (!m->healthy && m->passes >= h->passes) {
		m->healthy = true;
		log_info("load balancer %s: droplet %" PRIu64 " (%s) passes its health check (%u "
			 "in a row): it serves",
			 h->lb_id, m->id, m->ip, m->passes);
	}
	free(a);
	lbh_ask_done(h);
}

static void
lbh_on_droplet(const struct cloud_resp *r, void *arg)
{
	struct lbh_ask *a = arg;
	struct lbhealth *h = a->h;
	struct lbh_member *m = &h->m[a->i];
	struct doapi_droplet d;
	char why[160];

	if (h->state == LBH_DONE) {
		/* cancelled with the wait: nothing to record */
	} else if (r->err == 0 && r->status == 200 &&
		   doapi_droplet_parse(cJSON_GetObjectItemCaseSensitive(r->json, "droplet"), &d,
				       why, sizeof(why))) {
		/* The balancer reaches its members over the VPC: the private address. */
		m->ip_public = d.private_ipv4[0] == '\0';
		snprintf(m->ip, sizeof(m->ip), "%s", m->ip_public ? d.public_ipv4 : d.private_ipv4);
		snprintf(m->last, sizeof(m->last), "%s",
			 m->ip[0] != '\0' ? "not checked yet" : "no IPv4 address yet");
	} else if (r->err == 0 && r->status == 404) {
		m->gone = true;
		snprintf(m->last, sizeof(m->last), "the droplet does not exist (404)");
	} else {
		snprintf(m->last, sizeof(m->last), "%s", r->error);
	}
	free(a);
	lbh_ask_done(h);
}

static void
lbh_ask(struct lbhealth *h, size_t i)
{
	struct lbh_ask *a = xcalloc(1, sizeof(*a));
	char path[64];
	int e;

	*a = (struct lbh_ask){ h, i };
	h->pending++;
	if (h->m[i].ip[0] != '\0') {
		e = probe_start(cloud_loop(h->c), h->m[i].ip, &h->hc, lbh_on_probe, a,
				&h->m[i].probe);
	} else {
		snprintf(path, sizeof(path), "/v2/droplets/%" PRIu64, h->m[i].id);
		e = cloud_call(h->c, "GET", path, NULL, 0, lbh_on_droplet, a);
	}
	if (e != 0) {
		h->pending--;
		snprintf(h->m[i].last, sizeof(h->m[i].last), "cannot check: %s", strerror(-e));
		free(a);
	}
}

static void
lbh_round(struct lbhealth *h)
{
	h->state = LBH_ROUND;
	h->pending = 1; /* held until every ask is out */
	for (size_t i = 0; i < h->n; i++)
		if (!h->m[i].healthy && !h->m[i].gone)
			lbh_ask(h, i);
	lbh_ask_done(h);
}

static struct lbhealth *
lbh_new(struct cloud *c, const char *lb_id, uint64_t timeout_ms, lbhealth_fn *cb, void *arg)
{
	struct lbhealth *h = xcalloc(1, sizeof(*h));

	h->c = c;
	h->cb = cb;
	h->arg = arg;
	snprintf(h->lb_id, sizeof(h->lb_id), "%s", lb_id != NULL ? lb_id : "?");
	h->timeout_ms = timeout_ms;
	h->deadline = uv_now(cloud_loop(c)) + timeout_ms;
	uv_timer_init(cloud_loop(c), &h->timer);
	h->watch.cancel = lbh_cancel;
	cloud_watch_add(c, &h->watch);
	return h;
}

/* Takes the members and starts the first round. */
static void
lbh_go(struct lbhealth *h, const uint64_t *ids, size_t n)
{
	char check[300];

	h->m = xcalloc(n + 1, sizeof(*h->m));
	for (size_t i = 0; i < n; i++) {
		h->m[i].id = ids[i];
		snprintf(h->m[i].last, sizeof(h->m[i].last), "not checked yet");
	}
	h->n = n;
	log_info("load balancer %s: waiting up to %" PRIu64
		 " s for %s of %zu member(s) to pass its "
		 "health check (%s, %u in a row, %u s apart)",
		 h->lb_id, h->timeout_ms / 1000, h->any ? "one" : "each", n,
		 lbh_check_name(h, check, sizeof(check)), h->passes, h->hc.interval_s);
	lbh_round(h);
}

int
lbhealth_start(struct cloud *c, const uint64_t *ids, size_t n, const struct lbhealth_opts *o,
	       lbhealth_fn *cb, void *arg)
{
	struct lbhealth *h;

	if (n == 0 || ids == NULL || o == NULL || o->hc == NULL || cb == NULL)
		return -EINVAL;
	h = lbh_new(c, o->lb_id, o->timeout_ms, cb, arg);
	h->hc = *o->hc;
	h->passes = o->passes > 0 ? o->passes : 1;
	h->any = o->any;
	lbh_go(h, ids, n);
	return 0;
}

static void
lbh_on_balancer(const struct cloud_resp *r, void *arg)
{
	struct lbhealth *h = arg;
	const cJSON *lb = cJSON_GetObjectItemCaseSensitive(r->json, "load_balancer");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(lb, "droplet_ids"), *it;
	uint64_t *others;
	size_t n = 0;
	char why[300];

	if (r->err != 0 || r->status != 200 || !cJSON_IsObject(lb) ||
	    !doapi_health_check_parse(lb, &h->hc, why, sizeof(why))) {
		if (r->err != 0 || r->status != 200)
			snprintf(why, sizeof(why), "%s", r->error);
		lbh_finish(h, r->err != 0 ? r->err : -EPROTO, why);
		return;
	}
	others = xcalloc((size_t)cJSON_GetArraySize(ids) + 1, sizeof(*others));
	cJSON_ArrayForEach(it, ids) if (cJSON_IsNumber(it) && it->valuedouble >= 1 &&
					(uint64_t)it->valuedouble != h->leaving) others[n++] =
		(uint64_t)it->valuedouble;
	if (n == 0)
		lbh_finish(h, 0, NULL);
	else
		lbh_go(h, others, n);
	free(others);
}

int
lbhealth_others_start(struct cloud *c, const char *lb_id, uint64_t leaving, uint64_t timeout_ms,
		      lbhealth_fn *cb, void *arg)
{
	struct lbhealth *h;
	char path[128];
	int e;

	if (lb_id == NULL || cb == NULL)
		return -EINVAL;
	h = lbh_new(c, lb_id, timeout_ms, cb, arg);
	h->passes = 1;
	h->any = true;
	h->leaving = leaving;
	h->state = LBH_ROUND;
	snprintf(path, sizeof(path), "/v2/load_balancers/%s", lb_id);
	e = cloud_call(c, "GET", path, NULL, 0, lbh_on_balancer, h);
	if (e != 0) {
		cloud_watch_del(c, &h->watch);
		uv_close((uv_handle_t *)&h->timer, lbh_closed);
	}
	return e;
}
