/*
 * hooks: the event hooks on the loop (agent/hooks.h).
 *
 * Two FIFO queues of jobs, one for the script and one for the webhook, each
 * with at most one job in flight, so events reach the operator in the order
 * they happened. A script run owns three handles (the process and two
 * pipes); it is over once all three are closed, and only then is its result
 * handed on and the next job started. Three timers live as long as the
 * hooks: the script's deadline, the webhook's retry, and the kick that
 * answers a lifecycle hook on a later turn when no hook is configured.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "cfg.h"
#include "gossip.h"
#include "hookmsg.h"
#include "hooks.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

extern char **environ;

typedef void hooks_cb(int status, uint64_t more_ms, void *arg);

struct hooks_job {
	struct hooks_job *next;
	char *event, *detail, *name, *addr;
	uint64_t node_id, term, self, time_ms;
	hooks_cb *cb; /* a lifecycle job this queue decides; NULL: notify only */
	void *arg;
	unsigned attempt; /* webhook posts made */
};

struct hooks_queue {
	struct hooks_job *head, *tail;
	size_t n;
};

struct hooks_out {
	uv_pipe_t pipe;
	struct hooks *h;
	char line[512];
	size_t len;
	bool keep; /* stdout: kept for the lifecycle answer */
};

struct hooks {
	uv_loop_t *loop;
	const struct cfg *cfg;
	const struct gossip *gossip;
	uint64_t term;
	char origin[300];
	struct hooks_queue scripts, posts, kicks;
	/* the script run */
	struct hooks_job *cur;
	uv_process_t proc;
	struct hooks_out out[2];
	uv_timer_t deadline;
	int run_open; /* handles of the run not closed yet */
	int64_t status;
	int signal;
	bool timed_out;
	char answer[HOOKS_OUTPUT_MAX];
	size_t answer_len;
	unsigned lines;
	/* the webhook */
	struct http *http;
	struct http_req *req;
	uv_timer_t retry;
	uv_timer_t kick;
	int open; /* timers and the http client not closed yet */
	bool closing;
};

/* ---- jobs ---- */

static char *
hooks_dup(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

static void
hooks_job_free(struct hooks_job *j)
{
	if (j == NULL)
		return;
	free(j->event);
	free(j->detail);
	free(j->name);
	free(j->addr);
	free(j);
}

static uint64_t
hooks_unix_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* The node's name and address from gossip, when it is known there. */
static void
hooks_job_node(const struct hooks *h, struct hooks_job *j)
{
	const struct swim_member *m =
		h->gossip != NULL ? swim_find(gossip_swim(h->gossip), j->node_id) : NULL;
	char ip[INET6_ADDRSTRLEN] = "";

	j->self = h->gossip != NULL ? swim_self(gossip_swim(h->gossip))->id : h->cfg->node_id;
	if (m == NULL) {
		j->name = xstrdup("");
		j->addr = xstrdup("");
		return;
	}
	inet_ntop(m->addr.family == 4 ? AF_INET : AF_INET6, m->addr.ip, ip, sizeof(ip));
	j->name = xstrdup(m->name);
	j->addr = xstrdup(ip);
}

static struct hooks_job *
hooks_job_new(const struct hooks *h, const char *event, uint64_t node_id, const char *detail)
{
	struct hooks_job *j = xcalloc(1, sizeof(*j));

	j->event = hooks_dup(event);
	j->detail = hooks_dup(detail);
	j->node_id = node_id;
	j->term = h->term;
	j->time_ms = hooks_unix_ms();
	hooks_job_node(h, j);
	return j;
}

static struct hooks_job *
hooks_job_copy(const struct hooks_job *o)
{
	struct hooks_job *j = xcalloc(1, sizeof(*j));

	*j = *o;
	j->next = NULL;
	j->cb = NULL;
	j->event = xstrdup(o->event);
	j->detail = xstrdup(o->detail);
	j->name = xstrdup(o->name);
	j->addr = xstrdup(o->addr);
	return j;
}

static void
hooks_event_of(const struct hooks *h, const struct hooks_job *j, struct hookmsg_event *ev)
{
	*ev = (struct hookmsg_event){ .event = j->event,
				      .node_id = j->node_id,
				      .node_name = j->name,
				      .node_address = j->addr,
				      .detail = j->detail,
				      .cluster = h->cfg->cluster,
				      .self_id = j->self,
				      .term = j->term,
				      .time_ms = j->time_ms };
}

/* Appends j; false (j untouched) when the queue is full. */
static bool
hooks_push(struct hooks_queue *q, struct hooks_job *j)
{
	if (q->n >= HOOKS_QUEUE_MAX)
		return false;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
	return true;
}

static struct hooks_job *
hooks_pop(struct hooks_queue *q)
{
	struct hooks_job *j = q->head;

	if (j == NULL)
		return NULL;
	q->head = j->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->n--;
	j->next = NULL;
	return j;
}

/* A job is over: its lifecycle callback, if any, then it is freed. */
static void
hooks_job_done(struct hooks_job *j, int status, uint64_t more_ms)
{
	if (j->cb != NULL)
		j->cb(status, more_ms, j->arg);
	hooks_job_free(j);
}

/* ---- the script ---- */

static void hooks_script_next(struct hooks *h);

/* Freed once closing and every handle, the run's too, is closed. */
static void
hooks_maybe_free(struct hooks *h)
{
	if (h->closing && h->open == 0 && h->run_open == 0)
		free(h);
}

/* The run is over once its three handles are closed. */
static void
hooks_run_closed(uv_handle_t *handle)
{
	struct hooks *h = handle->data;
	struct hooks_job *j = h->cur;
	uint64_t more = 0;
	int st = 0;

	if (--h->run_open > 0)
		return;
	uv_timer_stop(&h->deadline);
	h->cur = NULL;
	if (h->timed_out)
		st = -ETIMEDOUT;
	else if (h->signal != 0 || h->status != 0)
		st = h->status < 0 ? (int)h->status : -EIO;
	else if (j->cb != NULL)
		st = hookmsg_answer(h->answer, h->answer_len, &more);
	if (st < 0)
		log_warnx("hook %s %s: %s", h->cfg->on_event, j->event,
			  h->timed_out	   ? "killed: past hook_timeout"
			  : h->signal != 0 ? "killed by a signal"
			  : h->status < 0  ? uv_strerror((int)h->status)
			  : st == -EINVAL  ? "a \"more\" line without a readable duration"
					   : "failed (exit status not 0)");
	hooks_job_done(j, h->closing ? -ECANCELED : st, more);
	if (h->closing)
		hooks_maybe_free(h);
	else
		hooks_script_next(h);
}

/* One line of the script's output into the log, escaped. */
static void
hooks_log_line(struct hooks_out *o)
{
	struct hooks *h = o->h;
	char esc[1100];

	if (o->len == 0 || h->lines++ >= HOOKS_LOG_LINES)
		return;
	log_escape(esc, sizeof(esc), o->line, o->len);
	log_info("hook %s %s: %s%s", h->cfg->on_event, h->cur->event, esc,
		 h->lines == HOOKS_LOG_LINES ? " (further output not logged)" : "");
}

static void
hooks_on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	static char chunk[2048];

	buf->base = chunk;
	buf->len = sizeof(chunk);
}

static void
hooks_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct hooks_out *o = (struct hooks_out *)(void *)st;
	struct hooks *h = o->h;

	for (ssize_t i = 0; i < nread; i++) {
		char c = buf->base[i];

		if (o->keep && h->answer_len < sizeof(h->answer))
			h->answer[h->answer_len++] = c;
		if (c == '\n' || o->len == sizeof(o->line)) {
			hooks_log_line(o);
			o->len = 0;
		}
		if (c != '\n')
			o->line[o->len++] = c;
	}
	if (nread < 0) {
		hooks_log_line(o);
		uv_close((uv_handle_t *)st, hooks_run_closed);
	}
}

static void
hooks_on_exit(uv_process_t *p, int64_t status, int sig)
{
	struct hooks *h = p->data;

	h->status = status;
	h->signal = sig;
	/* The deadline stays armed until the pipes close too: a child left in
	 * the background holding them open is killed with the group. */
	uv_close((uv_handle_t *)p, hooks_run_closed);
}

static void
hooks_on_deadline(uv_timer_t *t)
{
	struct hooks *h = t->data;

	h->timed_out = true;
	uv_kill(-h->proc.pid, SIGKILL); /* the whole group: it may have forked */
}

static int
hooks_spawn(struct hooks *h, char **env)
{
	char *args[] = { h->cfg->on_event, h->cur->event, NULL };
	uv_stdio_container_t io[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
		  .data.stream = (uv_stream_t *)&h->out[0].pipe },
		{ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
		  .data.stream = (uv_stream_t *)&h->out[1].pipe },
	};
	uv_process_options_t o = { .exit_cb = hooks_on_exit,
				   .file = h->cfg->on_event,
				   .args = args,
				   .env = env,
				   .cwd = "/",
				   .flags = UV_PROCESS_DETACHED,
				   .stdio_count = 3,
				   .stdio = io };
	int r = uv_spawn(h->loop, &h->proc, &o);

	h->proc.data = h; /* uv_spawn initialises the handle even when it fails */
	return r;
}

/* Starts the next queued script job, when none runs. */
static void
hooks_script_next(struct hooks *h)
{
	struct hookmsg_event ev;
	char **env = NULL;
	int r;

	if (h->cur != NULL || h->closing || (h->cur = hooks_pop(&h->scripts)) == NULL)
		return;
	h->status = h->signal = 0;
	h->timed_out = false;
	h->answer_len = h->lines = 0;
	for (int i = 0; i < 2; i++) {
		h->out[i] = (struct hooks_out){ .h = h, .keep = i == 0 };
		uv_pipe_init(h->loop, &h->out[i].pipe, 0);
		h->out[i].pipe.data = h;
	}
	hooks_event_of(h, h->cur, &ev);
	if ((r = hookmsg_env(&ev, environ, &env)) == 0)
		r = hooks_spawn(h, env);
	hookmsg_env_free(env);
	h->run_open = 3;
	if (r != 0) {
		h->status = r;
		uv_close((uv_handle_t *)&h->proc, hooks_run_closed);
		uv_close((uv_handle_t *)&h->out[0].pipe, hooks_run_closed);
		uv_close((uv_handle_t *)&h->out[1].pipe, hooks_run_closed);
		return;
	}
	uv_read_start((uv_stream_t *)&h->out[0].pipe, hooks_on_alloc, hooks_on_read);
	uv_read_start((uv_stream_t *)&h->out[1].pipe, hooks_on_alloc, hooks_on_read);
	uv_timer_start(&h->deadline, hooks_on_deadline, h->cfg->hook_timeout_ms, 0);
}

/* ---- the webhook ---- */

static void hooks_post_next(struct hooks *h);
static void hooks_on_retry(uv_timer_t *t);

/* The head post is over (sent, refused for good, or out of attempts). */
static void
hooks_post_done(struct hooks *h, int status, uint64_t more_ms)
{
	hooks_job_done(hooks_pop(&h->posts), status, more_ms);
	hooks_post_next(h);
}

static void
hooks_on_posted(struct http_req *req, const struct http_response *resp, void *arg)
{
	struct hooks *h = arg;
	struct hooks_job *j = h->posts.head;
	bool ok = resp->err == 0 && resp->status >= 200 && resp->status < 300;
	bool retry = resp->err != 0 || resp->status >= 500 || resp->status == 429;
	uint64_t more = 0;
	int st;

	h->req = NULL;
	if (resp->err == -ECANCELED || h->closing)
		return;
	if (ok) {
		st = j->cb != NULL ? hookmsg_answer(resp->body, resp->body_len, &more) : 0;
		hooks_post_done(h, st, more);
		return;
	}
	if (retry && j->attempt < HOOKS_WEBHOOK_ATTEMPTS) {
		uint64_t wait = hookmsg_backoff_ms(j->attempt, randombytes_random());

		log_warnx("webhook %s %s: %s; retry %u in %" PRIu64 " ms", h->origin, j->event,
			  resp->err != 0 ? resp->errmsg : "an error answer", j->attempt, wait);
		uv_timer_start(&h->retry, hooks_on_retry, wait, 0);
		return;
	}
	log_warnx("webhook %s %s: given up after %u attempt%s (last: %s, HTTP %ld)", h->origin,
		  j->event, j->attempt, j->attempt == 1 ? "" : "s",
		  resp->err != 0 ? resp->errmsg : "answered", resp->status);
	hooks_post_done(h, -EIO, 0);
}

static void
hooks_post_next(struct hooks *h)
{
	static const char *const headers[] = { "Content-Type: application/json", NULL };
	struct hooks_job *j = h->posts.head;
	struct hookmsg_event ev;
	struct http_request rq = { .method = "POST",
				   .url = h->cfg->webhook_url,
				   .headers = headers,
				   .timeout_ms = h->cfg->hook_timeout_ms };
	char *body;
	int r;

	if (h->req != NULL || uv_is_active((uv_handle_t *)&h->retry) || h->closing || j == NULL)
		return;
	hooks_event_of(h, j, &ev);
	body = hookmsg_json(&ev);
	if (body == NULL)
		fatalx("out of memory");
	rq.body = body;
	rq.body_len = strlen(body);
	j->attempt++;
	r = http_start(h->http, &rq, hooks_on_posted, h, &h->req);
	free(body);
	if (r != 0) {
		log_warnx("webhook %s %s: cannot post: %s", h->origin, j->event, strerror(-r));
		hooks_post_done(h, r, 0);
	}
}

/* The retry timer's data is h. */
static void
hooks_on_retry(uv_timer_t *t)
{
	hooks_post_next(t->data);
}

/* Lifecycle hooks with no hook configured: answered "go on" a turn later. */
static void
hooks_on_kick(uv_timer_t *t)
{
	struct hooks *h = t->data;
	struct hooks_job *j;

	while ((j = hooks_pop(&h->kicks)) != NULL)
		hooks_job_done(j, 0, 0);
}

/* ---- the API ---- */

int
hooks_open(uv_loop_t *loop, const struct cfg *cfg, struct hooks **out)
{
	struct hooks *h = xcalloc(1, sizeof(*h));
	uv_timer_t *timers[] = { &h->deadline, &h->retry, &h->kick };

	h->loop = loop;
	h->cfg = cfg;
	for (size_t i = 0; i < 3; i++) {
		uv_timer_init(loop, timers[i]);
		timers[i]->data = h;
		h->open++;
	}
	if (cfg->webhook_url != NULL) {
		h->http = http_new(loop);
		h->open++;
		hookmsg_origin(cfg->webhook_url, h->origin, sizeof(h->origin));
	}
	if (cfg->on_event != NULL || cfg->webhook_url != NULL)
		log_info("hooks: %s%s%s%s", cfg->on_event != NULL ? "on_event " : "",
			 cfg->on_event != NULL ? cfg->on_event : "",
			 cfg->webhook_url != NULL
				 ? (cfg->on_event != NULL ? ", webhook " : "webhook ")
				 : "",
			 cfg->webhook_url != NULL ? h->origin : "");
	*out = h;
	return 0;
}

void
hooks_set_gossip(struct hooks *h, const struct gossip *g)
{
	h->gossip = g;
}

void
hooks_set_term(struct hooks *h, uint64_t term)
{
	if (h != NULL)
		h->term = term;
}

/* Queues a copy of j for the webhook, when there is one. */
static void
hooks_queue_post(struct hooks *h, struct hooks_job *j)
{
	if (h->cfg->webhook_url == NULL) {
		hooks_job_free(j);
		return;
	}
	if (!hooks_push(&h->posts, j)) {
		log_warnx("webhook %s %s: %d events queued already: dropped", h->origin, j->event,
			  HOOKS_QUEUE_MAX);
		hooks_job_free(j);
		return;
	}
	hooks_post_next(h);
}

void
hooks_fire(struct hooks *h, const char *event, uint64_t node_id, const char *detail)
{
	struct hooks_job *j;

	if (h == NULL || h->closing || (h->cfg->on_event == NULL && h->cfg->webhook_url == NULL))
		return;
	j = hooks_job_new(h, event, node_id, detail);
	log_info("hooks: event %s node %" PRIu64, event, node_id);
	if (h->cfg->on_event != NULL) {
		struct hooks_job *c = hooks_job_copy(j);

		if (!hooks_push(&h->scripts, c)) {
			log_warnx("hook %s %s: %d events queued already: dropped", h->cfg->on_event,
				  event, HOOKS_QUEUE_MAX);
			hooks_job_free(c);
		}
		hooks_script_next(h);
	}
	hooks_queue_post(h, j);
}

int
hooks_lifecycle(struct hooks *h, uint64_t node_id, hooks_cb *cb, void *arg)
{
	struct hooks_job *j = hooks_job_new(h, "scale_in_pending", node_id, NULL);
	struct hooks_queue *q = h->cfg->on_event != NULL      ? &h->scripts
				: h->cfg->webhook_url != NULL ? &h->posts
							      : &h->kicks;

	j->cb = cb;
	j->arg = arg;
	if (h->closing || !hooks_push(q, j)) {
		hooks_job_free(j);
		return -ENOBUFS;
	}
	if (q == &h->scripts) {
		hooks_queue_post(h, hooks_job_copy(j)); /* the webhook is told */
		hooks_script_next(h);
	} else if (q == &h->posts) {
		hooks_post_next(h);
	} else {
		uv_timer_start(&h->kick, hooks_on_kick, 0, 0);
	}
	return 0;
}

static void
hooks_on_closed(uv_handle_t *t)
{
	struct hooks *h = t->data;

	h->open--;
	hooks_maybe_free(h);
}

static void
hooks_on_http_closed(void *arg)
{
	struct hooks *h = arg;

	h->open--;
	hooks_maybe_free(h);
}

static void
hooks_cancel_all(struct hooks_queue *q)
{
	struct hooks_job *j;

	while ((j = hooks_pop(q)) != NULL)
		hooks_job_done(j, -ECANCELED, 0);
}

void
hooks_close(struct hooks *h)
{
	if (h == NULL)
		return;
	h->closing = true;
	if (h->cur != NULL && !h->timed_out && h->proc.pid > 0)
		uv_kill(-h->proc.pid, SIGKILL); /* its run closes and cancels itself */
	hooks_cancel_all(&h->scripts);
	hooks_cancel_all(&h->posts);
	hooks_cancel_all(&h->kicks);
	uv_close((uv_handle_t *)&h->deadline, hooks_on_closed);
	uv_close((uv_handle_t *)&h->retry, hooks_on_closed);
	uv_close((uv_handle_t *)&h->kick, hooks_on_closed);
	if (h->http != NULL)
		http_close(h->http, hooks_on_http_closed, h);
}
