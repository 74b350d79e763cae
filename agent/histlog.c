/*
 * histlog: the replicated history on the loop (agent/histlog.h).
 *
 * One timer, every HISTLOG_TICK_MS: the pending file write, and a follower's
 * pull when one is due. Everything else happens in the calls: an append
 * pushes at once; a datagram is answered at once. Sends are single sealed
 * datagrams (transport_send), so nothing here waits.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cfg.h"
#include "container.h"
#include "gossip.h"
#include "histlog.h"
#include "histwire.h"
#include "log.h"
#include "statedir.h"
#include "transport.h"
#include "xmalloc.h"

#define HISTLOG_TICK_MS	   1000
#define HISTLOG_WARN_EVERY 100 /* send, budget and refusal warnings: one in this many */

struct histlog {
	uv_timer_t timer;
	uv_loop_t *loop;
	struct gossip *gossip;
	struct transport *tr;
	struct statedir *sd;
	struct history *ring;
	uint64_t self;
	uint64_t leader, leader_term; /* as the election last said */
	bool dirty;		      /* the file is behind the ring */
	uint64_t saved_at;	      /* uv_now of the last write */
	uint64_t next_pull;	      /* uv_now when a follower pulls next */
	double tokens;		      /* bytes the leader may still send */
	uint64_t tokens_at;
	uint64_t taken, stale, refused, over_budget, send_failures, save_failures;
};

/* ---- sending ---- */

/* Takes len bytes from the budget: false when they are not there. */
static bool
histlog_spend(struct histlog *h, size_t len)
{
	uint64_t now = uv_now(h->loop);

	h->tokens += (double)(now - h->tokens_at) * HISTLOG_BYTES_PER_SEC / 1000.0;
	if (h->tokens > HISTLOG_BURST_BYTES)
		h->tokens = HISTLOG_BURST_BYTES;
	h->tokens_at = now;
	if (h->tokens < (double)len) {
		if (h->over_budget++ % HISTLOG_WARN_EVERY == 0)
			log_warnx("history: %d bytes/s spent: a send skipped (the node pulls it "
				  "later; %" PRIu64 " so far)",
				  HISTLOG_BYTES_PER_SEC, h->over_budget);
		return false;
	}
	h->tokens -= (double)len;
	return true;
}

/* One datagram to member `to`; loss is the pull's to repair. */
static void
histlog_send(struct histlog *h, uint64_t to, const uint8_t *buf, size_t len)
{
	const struct swim_member *m = swim_find(gossip_swim(h->gossip), to);
	struct sockaddr_storage ss;
	int r = -ENOENT;

	if (m != NULL) {
		gossip_addr_to_sockaddr(&m->addr, &ss);
		r = transport_send(h->tr, (const struct sockaddr *)&ss, to, HISTWIRE_TYPE, buf,
				   len);
	}
	if (r != 0 && h->send_failures++ % HISTLOG_WARN_EVERY == 0)
		log_warnx("history: cannot send to node %" PRIu64 ": %s (%" PRIu64 " so far)", to,
			  m == NULL ? "no address known" : strerror(-r), h->send_failures);
}

/* The leader's answer to a pull: the records after (term, seq). */
static void
histlog_answer(struct histlog *h, uint64_t to, uint64_t term, uint64_t seq)
{
	uint8_t buf[HISTWIRE_MAX];
	size_t next;
	int n = histwire_pack(h->ring, histwire_first_after(h->ring, term, seq), &next, buf,
			      sizeof(buf));

	if (n > 0 && histlog_spend(h, (size_t)n))
		histlog_send(h, to, buf, (size_t)n);
}

/* A follower asks the leader for what comes after its newest record. */
static void
histlog_pull(struct histlog *h)
{
	size_t count = history_count(h->ring);
	const struct history_record *last = count > 0 ? history_at(h->ring, count - 1) : NULL;
	uint8_t buf[32];
	int n;

	h->next_pull = uv_now(h->loop) + HISTLOG_PULL_MS - randombytes_uniform(HISTLOG_PULL_MS / 4);
	if (h->leader == 0 || h->leader == h->self)
		return;
	n = histwire_pull(last != NULL ? last->term : 0, last != NULL ? last->seq : 0, buf,
			  sizeof(buf));
	if (n > 0)
		histlog_send(h, h->leader, buf, (size_t)n);
}

/* ---- the file ---- */

/* The ring's file body, cut to its newest records when it would not fit a
 * state_dir file. 0 or -ENOMEM. */
static int
histlog_body(const struct history *ring, uint8_t **out, size_t *len)
{
	struct history *cut;
	size_t count = history_count(ring), from = 0;
	int r = history_save(ring, out, len);

	while (r == 0 && *len > STATEDIR_FILE_MAX && from < count) {
		free(*out);
		from += 16;
		if ((cut = history_new()) == NULL)
			return -ENOMEM;
		for (size_t i = from; i < count; i++)
			(void)history_append(cut, history_at(ring, i));
		r = history_save(cut, out, len);
		history_free(cut);
	}
	return r;
}

static void
histlog_save(struct histlog *h)
{
	char err[600];
	uint8_t *body = NULL;
	size_t len = 0;
	int r;

	h->saved_at = uv_now(h->loop);
	if ((r = histlog_body(h->ring, &body, &len)) == 0)
		r = statedir_write(h->sd, HISTLOG_FILE, body, len, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "%s", strerror(-r));
	free(body);
	h->dirty = r != 0; /* tried again next tick */
	if (r != 0 && h->save_failures++ % HISTLOG_WARN_EVERY == 0)
		log_warnx("history: cannot write %s: %s", HISTLOG_FILE, err);
}

/* Reads state_dir/history; a damaged file keeps its good prefix. */
static void
histlog_load(struct histlog *h)
{
	uint8_t *buf = xmalloc(STATEDIR_FILE_MAX);
	const char *why = NULL;
	char err[600];
	size_t len = 0, bad = 0;
	int r = statedir_read(h->sd, HISTLOG_FILE, buf, STATEDIR_FILE_MAX, &len, err, sizeof(err));

	if (r == -ENOENT)
		goto out;
	if (r != 0) {
		log_warnx("history: %s: starting with an empty history", err);
		goto out;
	}
	r = history_load(h->ring, buf, len, &bad, &why);
	if (r != 0) {
		log_warnx("history: %s/%s: damaged at byte %zu of %zu (%s): kept the %zu records "
			  "before it",
			  statedir_path(h->sd), HISTLOG_FILE, bad, len, why != NULL ? why : "?",
			  history_count(h->ring));
		h->dirty = true; /* rewritten without the damage */
	} else {
		log_info("history: %zu records read from %s/%s", history_count(h->ring),
			 statedir_path(h->sd), HISTLOG_FILE);
	}
out:
	free(buf);
}

/* ---- the loop ---- */

static void
histlog_on_tick(uv_timer_t *t)
{
	struct histlog *h = container_of(t, struct histlog, timer);
	uint64_t now = uv_now(h->loop);

	if (h->dirty && now - h->saved_at >= HISTLOG_SAVE_MS)
		histlog_save(h);
	if (now >= h->next_pull)
		histlog_pull(h);
}

int
histlog_open(uv_loop_t *loop, const struct cfg *cfg, struct gossip *gossip, struct histlog **out)
{
	struct histlog *h = xcalloc(1, sizeof(*h));
	char err[600];
	int r;

	h->loop = loop;
	h->gossip = gossip;
	h->tr = gossip_transport(gossip);
	h->self = swim_self(gossip_swim(gossip))->id;
	h->ring = history_new();
	if (h->ring == NULL)
		fatalx("out of memory");
	/* The agent opened it already (and emptied it for a clone): no reset here. */
	r = statedir_open(cfg->state_dir, h->self, &h->sd, NULL, NULL, err, sizeof(err));
	if (r != 0) {
		log_error("history: state_dir %s", err);
		history_free(h->ring);
		free(h);
		return r;
	}
	histlog_load(h);
	h->tokens = HISTLOG_BURST_BYTES;
	h->tokens_at = uv_now(loop);
	h->next_pull = UINT64_MAX; /* until a leader is known */
	uv_timer_init(loop, &h->timer);
	uv_timer_start(&h->timer, histlog_on_tick, HISTLOG_TICK_MS, HISTLOG_TICK_MS);
	*out = h;
	return 0;
}

/* Every member but us that may hear it: alive, or suspect (often refuted). */
static void
histlog_push(struct histlog *h, const uint8_t *buf, size_t len)
{
	const struct swim *s = gossip_swim(h->gossip);

	for (size_t i = 0; i < swim_count(s); i++) {
		const struct swim_member *m = swim_member_at(s, i);

		if (m->id == h->self || (m->state != SWIM_ALIVE && m->state != SWIM_SUSPECT))
			continue;
		if (histlog_spend(h, len))
			histlog_send(h, m->id, buf, len);
	}
}

void
histlog_append(struct histlog *h, const struct history_record *r)
{
	uint8_t buf[HISTWIRE_MAX];
	size_t at = history_count(h->ring), next;
	int n;

	if (history_append(h->ring, r) != 0) {
		log_warnx("history: record term %" PRIu64 " seq %" PRIu64
			  " is not after the newest: dropped",
			  r->term, r->seq);
		return;
	}
	h->dirty = true;
	if (at == HISTORY_KEEP)
		at--; /* the oldest went: the new one is the last */
	n = histwire_pack(h->ring, at, &next, buf, sizeof(buf));
	if (n > 0) {
		buf[3] = 0; /* a push never asks for a pull */
		histlog_push(h, buf, (size_t)n);
	}
}

uint64_t
histlog_next_seq(const struct histlog *h, uint64_t term)
{
	size_t count = history_count(h->ring);
	const struct history_record *last = count > 0 ? history_at(h->ring, count - 1) : NULL;

	return last != NULL && last->term == term ? last->seq + 1 : 1;
}

void
histlog_set_leader(struct histlog *h, uint64_t leader, uint64_t term)
{
	bool changed;

	if (h == NULL)
		return;
	changed = leader != h->leader;
	h->leader = leader;
	h->leader_term = term;
	if (changed && leader != 0 && leader != h->self)
		h->next_pull = uv_now(h->loop); /* the next tick asks it */
}

/* Records pushed or answered by the leader, oldest first. */
static void
histlog_take(struct histlog *h, const struct histwire_msg *m)
{
	for (uint8_t i = 0; i < m->n; i++) {
		if (m->records[i].term > h->leader_term ||
		    history_append(h->ring, &m->records[i]) != 0) {
			h->stale++;
			continue;
		}
		h->taken++;
		h->dirty = true;
		log_trace(TRACE_GOSSIP, "history: record term %" PRIu64 " seq %" PRIu64 " taken",
			  m->records[i].term, m->records[i].seq);
	}
	if (m->more)
		histlog_pull(h); /* the rest, at once */
}

void
histlog_on_wire(struct histlog *h, uint64_t from, const uint8_t *payload, size_t len)
{
	struct histwire_msg *m = xmalloc(sizeof(*m));
	const char *why = NULL;
	int r = histwire_decode(payload, len, m, &why);

	if (r != 0) {
		if (h->refused++ % HISTLOG_WARN_EVERY == 0)
			log_warnx("history: message from node %" PRIu64 " refused: %s (%" PRIu64
				  " so far)",
				  from, r == -EPROTONOSUPPORT ? "another version" : why,
				  h->refused);
	} else if (m->op == HISTWIRE_PULL) {
		if (h->leader == h->self)
			histlog_answer(h, from, m->term, m->seq);
	} else if (from == h->leader && from != h->self) {
		histlog_take(h, m);
	} else {
		h->stale++; /* not from the leader we know: a deposed one, or a liar */
	}
	free(m);
}

const struct history *
histlog_history(const struct histlog *h)
{
	return h->ring;
}

static char *
histlog_report_json(const struct histlog *h, size_t from)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "records");
	char *out;

	for (size_t i = from; i < history_count(h->ring); i++)
		cJSON_AddItemToArray(arr, history_to_json(history_at(h->ring, i)));
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (out == NULL)
		fatalx("out of memory");
	return out;
}

char *
histlog_report(const struct histlog *h, bool json, size_t n)
{
	size_t count = history_count(h->ring), from = n != 0 && n < count ? count - n : 0;
	size_t cap = (count - from) * 512 + 64, len = 0;
	char *out;

	if (json)
		return histlog_report_json(h, from);
	if (count == 0)
		return xstrdup(
			"no history yet: the leader has made no decision that did something\n");
	out = xmalloc(cap);
	for (size_t i = from; i < count; i++) {
		history_format(history_at(h->ring, i), out + len, cap - len - 1);
		len += strlen(out + len);
		out[len++] = '\n';
	}
	out[len] = '\0';
	return out;
}

static void
histlog_on_closed(uv_handle_t *t)
{
	struct histlog *h = container_of((uv_timer_t *)(void *)t, struct histlog, timer);

	history_free(h->ring);
	statedir_free(h->sd);
	free(h);
}

void
histlog_close(struct histlog *h)
{
	if (h == NULL)
		return;
	if (h->dirty)
		histlog_save(h);
	if (h->taken + h->stale + h->refused > 0)
		log_info("history: %" PRIu64 " records taken, %" PRIu64 " stale, %" PRIu64
			 " messages refused",
			 h->taken, h->stale, h->refused);
	uv_close((uv_handle_t *)&h->timer, histlog_on_closed);
}
