/*
 * metadata: the identity fetch at start-up. One try is one GET of
 * BASE/metadata/v1.json through the loop's http client; a failed try (no
 * answer in time, refused, a status other than 200, a body meta_parse()
 * rejects) is logged and, while tries remain, retried after a backoff that
 * doubles from opts.backoff_ms with +-25% jitter, capped at 4 s. DigitalOcean's
 * own clients use a 2 s timeout; ours is the metadata_timeout key.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cfg.h"
#include "http.h"
#include "log.h"
#include "meta.h"
#include "metadata.h"
#include "xmalloc.h"

#define METADATA_BACKOFF_CAP_MS 4000

struct metadata_fetch {
	uv_loop_t *loop;
	struct http *http;
	char *url;
	uint64_t timeout_ms;
	uint64_t backoff_ms;
	unsigned attempts;
	unsigned tried;
	uv_timer_t retry;
	struct http_req *req;
	metadata_done_fn *cb;
	void *arg;
	bool cancelled;
	char why[512];
};

static void metadata_try(struct metadata_fetch *mf);

static void
metadata_on_closed(uv_handle_t *handle)
{
	struct metadata_fetch *mf = handle->data;

	free(mf->url);
	free(mf);
}

static void
metadata_finish(struct metadata_fetch *mf, int err, struct meta_identity *id)
{
	if (!mf->cancelled)
		mf->cb(err, id, err == 0 ? NULL : mf->why, mf->arg);
	mf->cancelled = true;
	uv_close((uv_handle_t *)&mf->retry, metadata_on_closed);
}

static void
metadata_on_retry(uv_timer_t *t)
{
	metadata_try(t->data);
}

/* Waits before the next try, or gives up when no try is left. */
static void
metadata_failed(struct metadata_fetch *mf)
{
	uint64_t wait, jitter;

	log_warnx("metadata %s: try %u of %u failed: %s", mf->url, mf->tried, mf->attempts,
		  mf->why);
	if (mf->tried >= mf->attempts) {
		metadata_finish(mf, -EHOSTUNREACH, NULL);
		return;
	}
	wait = mf->backoff_ms;
	for (unsigned i = 1; i < mf->tried && wait < METADATA_BACKOFF_CAP_MS; i++)
		wait *= 2;
	if (wait > METADATA_BACKOFF_CAP_MS)
		wait = METADATA_BACKOFF_CAP_MS;
	/* +-25% so that droplets booted together do not retry in lockstep. */
	jitter = wait / 2 > 0 ? randombytes_uniform((uint32_t)(wait / 2) + 1) : 0;
	wait = wait - wait / 4 + jitter;
	uv_timer_start(&mf->retry, metadata_on_retry, wait, 0);
}

static void
metadata_on_response(struct http_req *req, const struct http_response *resp, void *arg)
{
	struct metadata_fetch *mf = arg;
	struct meta_identity *id = NULL;
	char err[256];
	int r;

	mf->req = NULL;
	if (mf->cancelled)
		return;
	if (resp->err != 0) {
		snprintf(mf->why, sizeof(mf->why), "%s", resp->errmsg);
	} else if (resp->status != 200) {
		snprintf(mf->why, sizeof(mf->why), "HTTP status %ld", resp->status);
	} else if ((r = meta_parse(resp->body, resp->body_len, &id, err, sizeof(err))) != 0) {
		snprintf(mf->why, sizeof(mf->why), "bad v1.json: %s", err);
	} else {
		log_trace(TRACE_META, "metadata %s: identity in %llums", mf->url,
			  (unsigned long long)resp->elapsed_ms);
		metadata_finish(mf, 0, id);
		return;
	}
	metadata_failed(mf);
}

static void
metadata_try(struct metadata_fetch *mf)
{
	struct http_request rq = { .url = mf->url, .timeout_ms = mf->timeout_ms };
	int r;

	mf->tried++;
	log_trace(TRACE_META, "metadata %s: try %u of %u", mf->url, mf->tried, mf->attempts);
	r = http_start(mf->http, &rq, metadata_on_response, mf, &mf->req);
	if (r != 0) {
		snprintf(mf->why, sizeof(mf->why), "cannot start request: %s", strerror(-r));
		metadata_failed(mf);
	}
}

int
metadata_fetch_start(uv_loop_t *loop, struct http *http, const struct metadata_opts *o,
		     metadata_done_fn *cb, void *arg, struct metadata_fetch **out)
{
	struct metadata_fetch *mf;
	size_t blen;

	if (o->base_url == NULL || o->attempts == 0 || cb == NULL)
		return -EINVAL;
	mf = xcalloc(1, sizeof(*mf));
	blen = strlen(o->base_url);
	while (blen > 0 && o->base_url[blen - 1] == '/')
		blen--;
	mf->url = xasprintf("%.*s/metadata/v1.json", (int)blen, o->base_url);
	mf->loop = loop;
	mf->http = http;
	mf->timeout_ms = o->timeout_ms;
	mf->backoff_ms = o->backoff_ms != 0 ? o->backoff_ms : 250;
	mf->attempts = o->attempts;
	mf->cb = cb;
	mf->arg = arg;
	uv_timer_init(loop, &mf->retry);
	mf->retry.data = mf;
	if (out != NULL)
		*out = mf;
	metadata_try(mf);
	return 0;
}

void
metadata_fetch_cancel(struct metadata_fetch *mf)
{
	if (mf == NULL || mf->cancelled)
		return;
	mf->cancelled = true;
	uv_timer_stop(&mf->retry);
	if (mf->req != NULL)
		http_cancel(mf->req);
	uv_close((uv_handle_t *)&mf->retry, metadata_on_closed);
}

struct meta_identity *
metadata_identity_from_cfg(const struct cfg *cfg)
{
	struct meta_identity *id = meta_identity_new();

	if (id == NULL)
		fatalx("out of memory");
	id->droplet_id = cfg->node_id;
	id->hostname = xstrdup(cfg->hostname != NULL ? cfg->hostname : "");
	if (cfg->region != NULL)
		id->region = xstrdup(cfg->region);
	if (cfg->public_ipv4 != NULL)
		snprintf(id->public_ipv4, sizeof(id->public_ipv4), "%s", cfg->public_ipv4);
	if (cfg->private_ipv4 != NULL)
		snprintf(id->private_ipv4, sizeof(id->private_ipv4), "%s", cfg->private_ipv4);
	if (cfg->ntags > 0) {
		id->tags = xcalloc(cfg->ntags, sizeof(char *));
		for (size_t i = 0; i < cfg->ntags; i++)
			id->tags[i] = xstrdup(cfg->tags[i]);
		id->ntags = cfg->ntags;
	}
	return id;
}
