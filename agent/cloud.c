/*
 * cloud: the DigitalOcean API v2 client on the agent's loop (agent/cloud.h).
 *
 * A call is a struct cloud_call with one uv_timer_t: every try starts from
 * that timer (so the callback never runs inside cloud_call(), and waits for
 * backoff or rate limits are plain timer delays). One try is one http_start().
 * Retry rules: 429 is retried for any method (DO refuses it before acting);
 * 5xx and transport failures are retried only for idempotent calls, after a
 * backoff doubling from backoff_ms (capped at 30 s) with +-25% jitter.
 * cloud_classify() is the one place that says what an answer means,
 * cloud_limit_hold() the one place that reads the rate-limit headers into a
 * hold of the whole client (the rule itself is doapi_limit_decide(), pure and
 * unit-tested: a burst 429 holds retry-after, only a truly spent hour holds
 * until ratelimit-reset, with a warning), and cloud_retry_delay() the one
 * place that decides whether and when to retry.
 *
 * The token lives only in c->auth ("Authorization: Bearer ..."), which goes
 * to curl as a header and is wiped on close; no message built here includes
 * a header.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cfg.h"
#include "cloud.h"
#include "doapi.h"
#include "http.h"
#include "log.h"
#include "secfile.h"
#include "xmalloc.h"

#define CLOUD_BACKOFF_CAP_MS	30000
#define CLOUD_MAX_PAGES		1000
#define CLOUD_TOKEN_MAX		4096
#define CLOUD_MAX_TRIES		5
#define CLOUD_BACKOFF_MS	500
#define CLOUD_BURST_PER_MIN	250 /* DO's burst limit per token: bounds how fast a quota drains */
#define CLOUD_RETRY_AFTER_CAP_S 60

struct cloud_call {
	struct cloud *c;
	char *method;
	char *path;
	char *body;
	unsigned flags;
	unsigned tries;
	cloud_done_fn *cb;
	void *arg;
	uv_timer_t timer;
	struct http_req *req;
	bool silent; /* tried, and no HTTP answer since: the API may be unreachable */
	bool done;
	uint64_t term; /* the leader's term of its first gated try (0: none yet) */
	uint64_t op;   /* its operation number, for the User-Agent */
	LIST_ENTRY(cloud_call) entry;
};

struct cloud {
	uv_loop_t *loop;
	struct http *http;
	char *base_url;
	char *auth;
	uint64_t timeout_ms;
	unsigned max_tries;
	uint64_t backoff_ms;
	bool dry_run;
	FILE *dry_run_out;
	void (*on_hold)(uint64_t ms, const char *why, void *arg);
	void *hold_arg;
	bool closing;
	uint64_t hold_until; /* uv_now() before which no try is sent */
	char hold_why[160];  /* why, said when a call first waits on it */
	bool hold_hourly;    /* the hour's quota is spent: a warning, not a debug line */
	bool hold_said;
	int64_t seen_left; /* ratelimit-remaining of the last answer that did the work, -1 = none */
	uint64_t seen_left_at; /* uv_now() of that answer */
	uint64_t sent;
	uint64_t quiet_since; /* uv_now() of the last HTTP answer, or when silence began */
	uint64_t node_id;     /* who we are, for the User-Agent (0: not said) */
	cloud_gate_fn *gate;  /* asked before each mutating try; NULL: none */
	void *gate_arg;
	uint64_t ops;	    /* mutating calls given an op number so far */
	unsigned unsettled; /* operations that may have made something (cloud_unsettled) */
	LIST_HEAD(, cloud_call) calls;
	LIST_HEAD(, cloud_watch) watches;
};

struct cloud_lister {
	struct cloud *c;
	char *key;
	cJSON *items;
	unsigned pages;
	cloud_list_fn *cb;
	void *arg;
};

static void cloud_try(struct cloud_call *k);
static void cloud_say_hold(struct cloud *c, uint64_t ms);

static bool
cloud_header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

/* Reads the token file with secfile's owner/mode checks; trims blanks.
 * 0, or a negative errno with err filled (never containing the token). The
 * caller wipes and frees *token. */
static int
cloud_read_token(const char *path, char **token, char *err, size_t errsize)
{
	char *buf = xmalloc(CLOUD_TOKEN_MAX);
	size_t len = 0, start = 0;
	int r;

	*token = NULL;
	r = secfile_read(path, buf, CLOUD_TOKEN_MAX, &len, err, errsize);
	if (r != 0)
		goto out;
	while (start < len && strchr(" \t\r\n", buf[start]) != NULL)
		start++;
	while (len > start && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	buf[len] = '\0';
	if (len == start) {
		snprintf(err, errsize, "%s: token file is empty", path);
		r = -EINVAL;
	} else if (!cloud_header_safe(buf + start)) {
		snprintf(err, errsize, "%s: token holds blanks or control characters", path);
		r = -EINVAL;
	} else {
		*token = xstrdup(buf + start);
	}
out:
	sodium_memzero(buf, CLOUD_TOKEN_MAX);
	free(buf);
	return r;
}

int
cloud_open(uv_loop_t *loop, struct http *http, const struct cfg *cfg, const struct cloud_opts *o,
	   struct cloud **out, char *err, size_t errsize)
{
	struct cloud *c;
	char *token = NULL;
	size_t blen;
	int r;

	if (cfg->token_file == NULL) {
		snprintf(err, errsize,
			 "no token_file in the configuration (the API needs a token)");
		return -EINVAL;
	}
	if ((r = cloud_read_token(cfg->token_file, &token, err, errsize)) != 0)
		return r;
	c = xcalloc(1, sizeof(*c));
	LIST_INIT(&c->calls);
	LIST_INIT(&c->watches);
	blen = strlen(cfg->api_url);
	while (blen > 0 && cfg->api_url[blen - 1] == '/')
		blen--;
	c->base_url = xasprintf("%.*s", (int)blen, cfg->api_url);
	c->auth = xasprintf("Authorization: Bearer %s", token);
	sodium_memzero(token, strlen(token));
	free(token);
	c->loop = loop;
	c->http = http;
	c->timeout_ms = cfg->api_timeout_ms;
	c->max_tries = CLOUD_MAX_TRIES;
	c->backoff_ms = CLOUD_BACKOFF_MS;
	c->dry_run = o != NULL && o->dry_run;
	c->dry_run_out = o != NULL && o->dry_run_out != NULL ? o->dry_run_out : stdout;
	c->seen_left = -1;
	if (o != NULL) {
		c->on_hold = o->on_hold;
		c->hold_arg = o->hold_arg;
	}
	*out = c;
	return 0;
}

static void
cloud_on_call_closed(uv_handle_t *h)
{
	struct cloud_call *k = h->data;

	free(k->method);
	free(k->path);
	free(k->body);
	free(k);
}

/* Runs the callback once, unlinks the call and closes its timer. */
static void
cloud_finish(struct cloud_call *k, struct cloud_resp *r)
{
	if (k->done)
		return;
	k->done = true;
	LIST_REMOVE(k, entry);
	uv_timer_stop(&k->timer);
	r->tries = k->tries;
	log_trace(TRACE_CLOUD, "cloud: %s %s -> err=%d status=%ld after %u tries", k->method,
		  k->path, r->err, r->status, k->tries);
	k->cb(r, k->arg);
	uv_close((uv_handle_t *)&k->timer, cloud_on_call_closed);
}

static void
cloud_on_timer(uv_timer_t *t)
{
	cloud_try(t->data);
}

/* Starts the timer for the next try, no earlier than the rate-limit hold. */
static void
cloud_schedule(struct cloud_call *k, uint64_t delay_ms)
{
	struct cloud *c = k->c;
	uint64_t now = uv_now(c->loop);

	if (c->hold_until > now && c->hold_until - now > delay_ms) {
		delay_ms = c->hold_until - now;
		cloud_say_hold(c, delay_ms);
	}
	uv_timer_start(&k->timer, cloud_on_timer, delay_ms, 0);
}

static uint64_t
cloud_backoff(const struct cloud *c, unsigned tries)
{
	uint64_t wait = c->backoff_ms, jitter;

	for (unsigned i = 1; i < tries && wait < CLOUD_BACKOFF_CAP_MS; i++)
		wait *= 2;
	if (wait > CLOUD_BACKOFF_CAP_MS)
		wait = CLOUD_BACKOFF_CAP_MS;
	/* +-25% so that clients failing together do not retry in lockstep. */
	jitter = wait / 2 > 0 ? randombytes_uniform((uint32_t)(wait / 2) + 1) : 0;
	return wait - wait / 4 + jitter;
}

static struct doapi_ratelimit
cloud_ratelimit(const struct http_response *resp)
{
	static const char *const names[] = { "ratelimit-limit", "ratelimit-remaining",
					     "ratelimit-reset", "retry-after" };
	struct doapi_ratelimit rl;
	char buf[64];

	memset(&rl, 0, sizeof(rl));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (http_response_header(resp, names[i], buf, sizeof(buf)) != NULL)
			doapi_ratelimit_header(&rl, names[i], buf);
	return rl;
}

static bool
cloud_idempotent(const struct cloud_call *k)
{
	if (k->flags & CLOUD_NO_RETRY)
		return false;
	return strcmp(k->method, "POST") != 0 || (k->flags & CLOUD_IDEMPOTENT);
}

static bool
cloud_transient(int err)
{
	return err == -ETIMEDOUT || err == -ECONNREFUSED || err == -EIO || err == -EHOSTUNREACH ||
	       err == -ECONNRESET;
}

/* What one answer means for its call: the one place that reads a response. */
enum cloud_class {
	CLOUD_FINAL,	    /* an answer to hand to the caller: 2xx, 4xx, cancelled */
	CLOUD_RATE_LIMITED, /* 429: refused before acting, so any method may retry */
	CLOUD_TRANSIENT,    /* 5xx or a transport failure: the request may have acted */
};

static enum cloud_class
cloud_classify(const struct http_response *resp)
{
	if (resp->err == -ECANCELED)
		return CLOUD_FINAL;
	if (resp->err == 0 && resp->status == 429)
		return CLOUD_RATE_LIMITED;
	if ((resp->err != 0 && cloud_transient(resp->err)) ||
	    (resp->err == 0 && resp->status >= 500))
		return CLOUD_TRANSIENT;
	return CLOUD_FINAL;
}

/*
 * The one place that reads the rate-limit headers: what this answer means
 * for the whole client (doapi_limit_decide() holds the rule), remembering
 * the remaining count of answers that did the work.
 */
static void
cloud_limit_hold(struct cloud *c, const struct http_response *resp,
		 const struct doapi_ratelimit *rl, struct doapi_limit *lim)
{
	uint64_t now = uv_now(c->loop);

	memset(lim, 0, sizeof(*lim));
	if (resp->err != 0)
		return;
	doapi_limit_decide(resp->status, rl, c->seen_left, now - c->seen_left_at,
			   (int64_t)time(NULL), lim);
	if (resp->status != 429 && rl->has_remaining) {
		c->seen_left = rl->remaining;
		c->seen_left_at = now;
	}
	if (lim->hold_ms > 0 && !lim->hourly)
		lim->hold_ms += randombytes_uniform(250); /* clients held together drift apart */
}

/* Holds every call of the client for ms (never shortens a hold); it is said
 * when a call first waits on it (cloud_schedule), not before. */
static void
cloud_hold(struct cloud *c, uint64_t ms, const char *why, bool hourly)
{
	uint64_t until = uv_now(c->loop) + ms;

	if (until <= c->hold_until)
		return;
	c->hold_until = until;
	c->hold_hourly = hourly;
	c->hold_said = false;
	snprintf(c->hold_why, sizeof(c->hold_why), "%s", why);
}

/* A call waits on the hold: says so once per hold, for how long and why. */
static void
cloud_say_hold(struct cloud *c, uint64_t ms)
{
	time_t t = time(NULL) + (time_t)((ms + 500) / 1000);
	uint64_t secs = ms < 1500 ? 1 : (ms + 500) / 1000;
	char at[32];
	struct tm tm;

	if (c->hold_said)
		return;
	c->hold_said = true;
	if (c->on_hold != NULL)
		c->on_hold(ms, c->hold_why, c->hold_arg);
	if (!c->hold_hourly) {
		log_debug("cloud: rate limited (%s): holding requests for %llu ms", c->hold_why,
			  (unsigned long long)ms);
		return;
	}
	strftime(at, sizeof(at), "%H:%M:%S UTC", gmtime_r(&t, &tm));
	log_warnx("cloud: DigitalOcean's %s: holding every request for %llu s, until "
		  "ratelimit-reset at %s",
		  c->hold_why, (unsigned long long)secs, at);
}

/* The one place that decides a retry: its delay in ms (the client's hold comes
 * on top, in cloud_schedule), or -1 when the answer is final. */
static int64_t
cloud_retry_delay(struct cloud_call *k, enum cloud_class cls)
{
	struct cloud *c = k->c;

	if (cls == CLOUD_FINAL || c->closing || k->tries >= c->max_tries ||
	    (k->flags & CLOUD_NO_RETRY))
		return -1;
	if (cls == CLOUD_RATE_LIMITED)
		return c->hold_until > uv_now(c->loop) ? 0 : (int64_t)cloud_backoff(c, k->tries);
	/* A transient failure may have acted: only what is safe to repeat is repeated. */
	return cloud_idempotent(k) ? (int64_t)cloud_backoff(c, k->tries) : -1;
}

static void
cloud_answer(struct cloud_call *k, const struct http_response *resp)
{
	struct cloud_resp r;

	memset(&r, 0, sizeof(r));
	r.err = resp->err;
	r.status = resp->err == 0 ? resp->status : 0;
	r.body = resp->body;
	r.body_len = resp->body_len;
	if (resp->err != 0)
		snprintf(r.error, sizeof(r.error), "%.8s %.100s: %.120s", k->method, k->path,
			 resp->errmsg);
	else if (resp->status < 200 || resp->status > 299)
		doapi_error_line(resp->status, resp->body, resp->body_len, r.error,
				 sizeof(r.error));
	if (resp->err == 0 && resp->body_len > 0)
		r.json = cJSON_ParseWithLength(resp->body, resp->body_len);
	cloud_finish(k, &r);
	cJSON_Delete(r.json);
}

static void
cloud_on_response(struct http_req *req, const struct http_response *resp, void *arg)
{
	struct cloud_call *k = arg;
	struct cloud *c = k->c;
	struct doapi_ratelimit rl = cloud_ratelimit(resp);
	struct doapi_limit lim;
	int64_t delay;

	k->req = NULL;
	if (k->done)
		return;
	if (resp->err == 0) {
		k->silent = false; /* an answer, even a 429 or a 5xx: the API is there */
		c->quiet_since = uv_now(c->loop);
	}
	cloud_limit_hold(c, resp, &rl, &lim);
	if (lim.hold_ms > 0)
		cloud_hold(c, lim.hold_ms, lim.why, lim.hourly);
	delay = cloud_retry_delay(k, cloud_classify(resp));
	if (delay < 0) {
		cloud_answer(k, resp);
		return;
	}
	if (resp->err != 0)
		log_debug("cloud: %s %s: try %u failed (%s), retrying in %lldms", k->method,
			  k->path, k->tries, resp->errmsg, (long long)delay);
	else
		log_debug("cloud: %s %s: try %u got HTTP %ld, retrying in %lldms", k->method,
			  k->path, k->tries, resp->status, (long long)delay);
	cloud_schedule(k, (uint64_t)delay);
}

static void
cloud_dry(struct cloud_call *k)
{
	struct cloud_resp r;

	fprintf(k->c->dry_run_out, "dry-run: %s %s%s%s\n", k->method, k->path,
		k->body != NULL ? " " : "", k->body != NULL ? k->body : "");
	fflush(k->c->dry_run_out);
	memset(&r, 0, sizeof(r));
	r.dry_run = true;
	r.body = "";
	cloud_finish(k, &r);
}

/* Ends a call the gate refused, unsent. */
static void
cloud_refused(struct cloud_call *k, int err)
{
	struct cloud_resp r;

	memset(&r, 0, sizeof(r));
	r.err = err;
	r.body = "";
	snprintf(r.error, sizeof(r.error), "%.8s %.180s: not sent: %s", k->method, k->path,
		 err == -ESTALE ? "the term that decided it has ended"
				: "this node does not hold the leader's lease");
	log_trace(TRACE_CLOUD, "cloud: %s %s refused by the leader gate (%s)", k->method, k->path,
		  strerror(-err));
	cloud_finish(k, &r);
}

/*
 * Asks the gate about a mutating try and writes the User-Agent header.
 * Returns 0 with *timeout_ms lowered to what the lease allows, or the
 * gate's refusal.
 */
static int
cloud_stamp(struct cloud_call *k, char *ua, size_t size, uint64_t *timeout_ms)
{
	struct cloud *c = k->c;
	uint64_t term = 0, tmo = *timeout_ms;
	int n, r;

	n = snprintf(ua, size, "User-Agent: mitosis/%s node=%llu", MITOSIS_VERSION,
		     (unsigned long long)c->node_id);
	if (c->gate == NULL || strcmp(k->method, "GET") == 0)
		return 0;
	if ((r = c->gate(c->gate_arg, &term, &tmo)) != 0)
		return r;
	if (k->term != 0 && k->term != term)
		return -ESTALE;
	if (k->term == 0) {
		k->term = term;
		k->op = ++c->ops;
	}
	if (tmo < *timeout_ms)
		*timeout_ms = tmo;
	snprintf(ua + n, size - (size_t)n, " term=%llu op=%llu-%llu", (unsigned long long)term,
		 (unsigned long long)c->node_id, (unsigned long long)k->op);
	return 0;
}

static void
cloud_try(struct cloud_call *k)
{
	struct cloud *c = k->c;
	char ua[160];
	const char *hdrs[] = { c->auth, "Accept: application/json",
			       k->body != NULL ? "Content-Type: application/json" : NULL, NULL,
			       NULL };
	struct http_request rq = { .method = k->method, .timeout_ms = c->timeout_ms };
	struct http_response fake;
	char *url;
	int r;

	if (c->dry_run && strcmp(k->method, "GET") != 0) {
		cloud_dry(k);
		return;
	}
	if (c->node_id != 0) {
		if ((r = cloud_stamp(k, ua, sizeof(ua), &rq.timeout_ms)) != 0) {
			cloud_refused(k, r);
			return;
		}
		hdrs[k->body != NULL ? 3 : 2] = ua;
	}
	if (cloud_quiet_ms(c, NULL, 0) == 0)
		c->quiet_since = uv_now(c->loop);
	k->silent = true;
	url = xasprintf("%s%s", c->base_url, k->path);
	rq.url = url;
	rq.headers = hdrs;
	rq.body = k->body;
	rq.body_len = k->body != NULL ? strlen(k->body) : 0;
	k->tries++;
	log_trace(TRACE_CLOUD, "cloud: %s %s try %u", k->method, k->path, k->tries);
	r = http_start(c->http, &rq, cloud_on_response, k, &k->req);
	free(url);
	if (r == 0) {
		c->sent++;
		return;
	}
	memset(&fake, 0, sizeof(fake));
	fake.err = r;
	fake.body = (char *)(uintptr_t) "";
	fake.headers = (char *)(uintptr_t) "";
	snprintf(fake.errmsg, sizeof(fake.errmsg), "cannot start request: %s", strerror(-r));
	cloud_on_response(NULL, &fake, k);
}

int
cloud_call(struct cloud *c, const char *method, const char *path, const char *body, unsigned flags,
	   cloud_done_fn *cb, void *arg)
{
	struct cloud_call *k;

	if (c->closing)
		return -ECANCELED;
	if (method == NULL || path == NULL || path[0] != '/' || cb == NULL ||
	    !cloud_header_safe(path))
		return -EINVAL;
	k = xcalloc(1, sizeof(*k));
	k->c = c;
	k->method = xstrdup(method);
	k->path = xstrdup(path);
	k->body = body != NULL ? xstrdup(body) : NULL;
	k->flags = flags;
	k->cb = cb;
	k->arg = arg;
	uv_timer_init(c->loop, &k->timer);
	k->timer.data = k;
	LIST_INSERT_HEAD(&c->calls, k, entry);
	cloud_schedule(k, 0);
	return 0;
}

static int
cloud_status_errno(long status)
{
	if (status == 404)
		return -ENOENT;
	if (status == 401 || status == 403)
		return -EACCES;
	return -EPROTO;
}

static void
cloud_list_end(struct cloud_lister *l, int err, const char *error)
{
	l->cb(err, error, err == 0 ? l->items : NULL, l->arg);
	cJSON_Delete(l->items);
	free(l->key);
	free(l);
}

static void
cloud_list_on_page(const struct cloud_resp *r, void *arg)
{
	struct cloud_lister *l = arg;
	struct doapi_page pg;
	char err[256], *next = NULL;
	int e;

	if (r->err != 0) {
		cloud_list_end(l, r->err, r->error);
		return;
	}
	if (r->status != 200) {
		cloud_list_end(l, cloud_status_errno(r->status), r->error);
		return;
	}
	if (r->json == NULL || !doapi_page_parse(r->json, l->key, &pg, err, sizeof(err))) {
		cloud_list_end(l, -EBADMSG, r->json == NULL ? "list page: body is not JSON" : err);
		return;
	}
	for (int i = 0; i < cJSON_GetArraySize(pg.items); i++) {
		cJSON *dup = cJSON_Duplicate(cJSON_GetArrayItem(pg.items, i), true);

		if (dup == NULL || !cJSON_AddItemToArray(l->items, dup)) {
			cJSON_Delete(dup);
			cloud_list_end(l, -ENOMEM, "out of memory");
			return;
		}
	}
	if (!pg.has_next || cJSON_GetArraySize(pg.items) == 0) {
		cloud_list_end(l, 0, NULL);
		return;
	}
	if (++l->pages >= CLOUD_MAX_PAGES || (next = doapi_next_path(pg.next)) == NULL) {
		cloud_list_end(l, -EBADMSG, "list page: bad or endless links.pages.next");
		return;
	}
	e = cloud_call(l->c, "GET", next, NULL, 0, cloud_list_on_page, l);
	free(next);
	if (e != 0)
		cloud_list_end(l, e, strerror(-e));
}

int
cloud_list(struct cloud *c, const char *path, const char *key, cloud_list_fn *cb, void *arg)
{
	struct cloud_lister *l;
	char *first;
	int e;

	if (path == NULL || key == NULL || cb == NULL)
		return -EINVAL;
	l = xcalloc(1, sizeof(*l));
	l->c = c;
	l->key = xstrdup(key);
	l->items = cJSON_CreateArray();
	l->cb = cb;
	l->arg = arg;
	if (l->items == NULL) {
		free(l->key);
		free(l);
		return -ENOMEM;
	}
	first = xasprintf("%s%cper_page=200", path, strchr(path, '?') != NULL ? '&' : '?');
	e = cloud_call(c, "GET", first, NULL, 0, cloud_list_on_page, l);
	free(first);
	if (e != 0) {
		cJSON_Delete(l->items);
		free(l->key);
		free(l);
	}
	return e;
}

uv_loop_t *
cloud_loop(const struct cloud *c)
{
	return c->loop;
}

uint64_t
cloud_requests_sent(const struct cloud *c)
{
	return c->sent;
}

void
cloud_unsettled_add(struct cloud *c, int delta)
{
	c->unsettled = (unsigned)((int)c->unsettled + delta);
}

unsigned
cloud_unsettled(const struct cloud *c)
{
	return c->unsettled;
}

uint64_t
cloud_quiet_ms(const struct cloud *c, char *what, size_t size)
{
	const struct cloud_call *k, *oldest = NULL;

	LIST_FOREACH(k, &c->calls, entry)
		if (k->silent)
			oldest = k; /* calls are inserted at the head: the last is the oldest */
	if (what != NULL && size > 0)
		snprintf(what, size, "%s %s", oldest != NULL ? oldest->method : "",
			 oldest != NULL ? oldest->path : "nothing");
	return oldest != NULL ? uv_now(c->loop) - c->quiet_since : 0;
}

void
cloud_set_gate(struct cloud *c, uint64_t node_id, cloud_gate_fn *fn, void *arg)
{
	c->node_id = node_id;
	c->gate = fn;
	c->gate_arg = arg;
}

const char *
cloud_base_url(const struct cloud *c)
{
	return c->base_url;
}

void
cloud_watch_add(struct cloud *c, struct cloud_watch *w)
{
	LIST_INSERT_HEAD(&c->watches, w, entry);
	w->on = true;
}

void
cloud_watch_del(struct cloud *c, struct cloud_watch *w)
{
	if (!w->on)
		return;
	LIST_REMOVE(w, entry);
	w->on = false;
}

void
cloud_close(struct cloud *c)
{
	if (c == NULL)
		return;
	c->closing = true;
	while (!LIST_EMPTY(&c->watches)) {
		struct cloud_watch *w = LIST_FIRST(&c->watches);

		cloud_watch_del(c, w);
		w->cancel(w);
	}
	while (!LIST_EMPTY(&c->calls)) {
		struct cloud_call *k = LIST_FIRST(&c->calls);
		struct cloud_resp r;

		if (k->req != NULL) {
			http_cancel(k->req); /* runs cloud_on_response with -ECANCELED */
			continue;
		}
		memset(&r, 0, sizeof(r));
		r.err = -ECANCELED;
		r.body = "";
		snprintf(r.error, sizeof(r.error), "%.8s %.200s: cancelled", k->method, k->path);
		cloud_finish(k, &r);
	}
	sodium_memzero(c->auth, strlen(c->auth));
	free(c->auth);
	free(c->base_url);
	free(c);
}
