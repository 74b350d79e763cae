/*
 * registrar_haproxy: servers of one HAProxy backend, changed at run time
 * through the runtime API (the stats socket, `level admin`), with no reload.
 * One command per connection, as HAProxy's non-interactive mode wants: connect
 * (Unix socket "unix:/path" or TCP "HOST:PORT"), write the line, read the
 * reply to EOF, all within HAP_TIMEOUT_MS.
 *
 * Every operation reads `show servers state BACKEND`, plans with
 * reconcile_plan() over servers named mitosis-<id> (other servers are left
 * alone), and runs per server:
 *   create:  add server B/N IP:PORT check; enable health B/N; set server B/N state ready
 *   update:  a wrong address: state maint, del server, then as create;
 *            in drain or maint: set server B/N state ready
 *   delete:  set server B/N state drain; state maint; del server B/N
 * HAProxy refuses `del server` while connections remain; a failed round is
 * read and planned again, up to HAP_ROUNDS, HAP_RETRY_MS apart.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "haproxy_cfg.h"
#include "log.h"
#include "reconcile.h"
#include "registrar.h"
#include "xmalloc.h"

#define HAP_TIMEOUT_MS 5000
#define HAP_ROUNDS     5
#define HAP_RETRY_MS   1000
#define HAP_REPLY_MAX  (1024U * 1024)

struct hap_reg {
	struct registrar base;
	char *runtime;
	char *backend;
	unsigned port;
};

typedef void hap_reply_fn(int err, const char *reply, void *arg);

struct hap_conn {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_pipe_t pipe;
		uv_tcp_t tcp;
	} h;
	uv_connect_t creq;
	uv_write_t wreq;
	uv_timer_t timer;
	char *cmd;
	char *buf;
	size_t len;
	int err;
	int open; /* handles not yet closed */
	hap_reply_fn *cb;
	void *arg;
};

struct hap_want {
	char name[HAPROXY_CFG_NAME_MAX];
	char addr[HAPROXY_CFG_ADDR_MAX]; /* "IP:PORT" */
	char ip[16];
};

struct hap_job {
	struct hap_reg *r;
	enum registrar_mode mode;
	struct hap_want *want; /* desired servers, or the one to remove */
	size_t nwant;
	registrar_done_fn *cb;
	void *arg;
	unsigned round, failed;
	char **cmds; /* the commands of this round */
	size_t ncmds, next;
	uv_timer_t retry;
	char why[512];
};

/* --- one command over the runtime API ---------------------------------- */

static void
hap_conn_on_closed(uv_handle_t *h)
{
	struct hap_conn *c = h->data;

	if (--c->open > 0)
		return;
	if (c->err == 0 && c->buf == NULL)
		c->buf = xstrdup("");
	c->cb(c->err, c->err == 0 ? c->buf : NULL, c->arg);
	free(c->cmd);
	free(c->buf);
	free(c);
}

static void
hap_conn_end(struct hap_conn *c, int err)
{
	if (uv_is_closing((uv_handle_t *)&c->timer))
		return;
	if (c->err == 0)
		c->err = err;
	uv_close((uv_handle_t *)&c->timer, hap_conn_on_closed);
	uv_close(&c->h.handle, hap_conn_on_closed);
}

static void
hap_conn_on_timeout(uv_timer_t *t)
{
	hap_conn_end(t->data, -ETIMEDOUT);
}

static void
hap_conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct hap_conn *c = h->data;

	c->buf = xrealloc(c->buf, c->len + 4096 + 1);
	*b = uv_buf_init(c->buf + c->len, 4096);
}

static void
hap_conn_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct hap_conn *c = s->data;

	if (n > 0) {
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		if (c->len > HAP_REPLY_MAX)
			hap_conn_end(c, -EFBIG);
	} else if (n == UV_EOF) {
		hap_conn_end(c, 0);
	} else if (n < 0) {
		hap_conn_end(c, (int)n);
	}
}

static void
hap_conn_on_write(uv_write_t *w, int status)
{
	struct hap_conn *c = w->data;

	if (status != 0)
		hap_conn_end(c, status);
}

static void
hap_conn_on_connect(uv_connect_t *req, int status)
{
	struct hap_conn *c = req->data;
	uv_buf_t b = uv_buf_init(c->cmd, (unsigned)strlen(c->cmd));
	int err;

	if (status != 0) {
		hap_conn_end(c, status);
		return;
	}
	c->wreq.data = c;
	if ((err = uv_write(&c->wreq, &c->h.stream, &b, 1, hap_conn_on_write)) != 0 ||
	    (err = uv_read_start(&c->h.stream, hap_conn_alloc, hap_conn_on_read)) != 0)
		hap_conn_end(c, err);
}

/* Opens the handle and connects to "unix:/path" or "IPV4:PORT". */
static int
hap_conn_connect(struct hap_conn *c, uv_loop_t *loop, const char *where)
{
	struct sockaddr_in sa;
	char host[64];
	const char *colon;
	int err;

	if (strncmp(where, "unix:", 5) == 0) {
		if ((err = uv_pipe_init(loop, &c->h.pipe, 0)) != 0)
			return err;
		uv_pipe_connect(&c->creq, &c->h.pipe, where + 5, hap_conn_on_connect);
		return 0;
	}
	colon = strrchr(where, ':');
	if (colon == NULL || (size_t)(colon - where) >= sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - where), where);
	if ((err = uv_ip4_addr(host, atoi(colon + 1), &sa)) != 0)
		return err;
	if ((err = uv_tcp_init(loop, &c->h.tcp)) != 0)
		return err;
	if ((err = uv_tcp_connect(&c->creq, &c->h.tcp, (const struct sockaddr *)&sa,
				  hap_conn_on_connect)) != 0) {
		c->h.handle.data = c;
		c->open = 1;
		c->err = err;
		uv_close(&c->h.handle, hap_conn_on_closed);
		return 1; /* the callback will report */
	}
	return 0;
}

/* Sends one command line; cb runs once with the reply (borrowed) or an error. */
static int
hap_command(uv_loop_t *loop, const char *where, const char *cmd, hap_reply_fn *cb, void *arg)
{
	struct hap_conn *c = xcalloc(1, sizeof(*c));
	int err;

	c->cmd = xstrdup(cmd);
	c->cb = cb;
	c->arg = arg;
	c->creq.data = c;
	err = hap_conn_connect(c, loop, where);
	if (err == 1)
		return 0;
	if (err != 0) {
		free(c->cmd);
		free(c);
		return err;
	}
	c->h.handle.data = c;
	c->timer.data = c;
	c->open = 2;
	uv_timer_init(loop, &c->timer);
	uv_timer_start(&c->timer, hap_conn_on_timeout, HAP_TIMEOUT_MS, 0);
	return 0;
}

/* --- the converge loop --------------------------------------------------- */

static void hap_show(struct hap_job *j);
static void hap_step(struct hap_job *j);

static void
hap_job_clear(struct hap_job *j)
{
	for (size_t i = 0; i < j->ncmds; i++)
		free(j->cmds[i]);
	free(j->cmds);
	j->cmds = NULL;
	j->ncmds = j->next = 0;
}

static void
hap_job_on_closed(uv_handle_t *h)
{
	struct hap_job *j = h->data;

	hap_job_clear(j);
	free(j->want);
	free(j);
}

static void
hap_finish(struct hap_job *j, int err)
{
	j->cb(err, err != 0 ? j->why : NULL, j->arg);
	uv_close((uv_handle_t *)&j->retry, hap_job_on_closed);
}

static bool
hap_closing(const struct hap_job *j)
{
	return j->r->base.env->closing != NULL && *j->r->base.env->closing;
}

static void
hap_push(struct hap_job *j, int rc, const char *cmd)
{
	if (rc != 0)
		return;
	j->cmds = xrealloc(j->cmds, (j->ncmds + 1) * sizeof(*j->cmds));
	j->cmds[j->ncmds++] = xstrdup(cmd);
}

static void
hap_cmds_create(struct hap_job *j, const struct hap_want *w)
{
	const char *be = j->r->backend;
	char cmd[HAPROXY_CFG_CMD_MAX];

	hap_push(j, haproxy_cfg_cmd_add(be, w->name, w->ip, j->r->port, cmd, sizeof(cmd)), cmd);
	hap_push(j, haproxy_cfg_cmd_health(be, w->name, cmd, sizeof(cmd)), cmd);
	hap_push(j, haproxy_cfg_cmd_state(be, w->name, HAPROXY_STATE_READY, cmd, sizeof(cmd)), cmd);
}

static void
hap_cmds_delete(struct hap_job *j, const char *name)
{
	const char *be = j->r->backend;
	char cmd[HAPROXY_CFG_CMD_MAX];

	hap_push(j, haproxy_cfg_cmd_state(be, name, HAPROXY_STATE_DRAIN, cmd, sizeof(cmd)), cmd);
	hap_push(j, haproxy_cfg_cmd_state(be, name, HAPROXY_STATE_MAINT, cmd, sizeof(cmd)), cmd);
	hap_push(j, haproxy_cfg_cmd_del(be, name, cmd, sizeof(cmd)), cmd);
}

/* Turns the plan into command lines. */
static void
hap_cmds_from_plan(struct hap_job *j, const struct haproxy_server *s,
		   const struct reconcile_item *d, const struct reconcile_item *a,
		   const struct reconcile_op *ops, size_t nops)
{
	char cmd[HAPROXY_CFG_CMD_MAX];

	for (size_t i = 0; i < nops; i++) {
		const struct hap_want *w =
			ops[i].desired != RECONCILE_NONE ? &j->want[ops[i].desired] : NULL;

		if (ops[i].kind == RECONCILE_CREATE) {
			hap_cmds_create(j, w);
		} else if (ops[i].kind == RECONCILE_DELETE) {
			hap_cmds_delete(j, s[ops[i].actual].name);
		} else if (strcmp(d[ops[i].desired].value, a[ops[i].actual].value) != 0) {
			hap_push(j,
				 haproxy_cfg_cmd_state(j->r->backend, w->name, HAPROXY_STATE_MAINT,
						       cmd, sizeof(cmd)),
				 cmd);
			hap_push(j, haproxy_cfg_cmd_del(j->r->backend, w->name, cmd, sizeof(cmd)),
				 cmd);
			hap_cmds_create(j, w);
		} else {
			hap_push(j,
				 haproxy_cfg_cmd_state(j->r->backend, w->name, HAPROXY_STATE_READY,
						       cmd, sizeof(cmd)),
				 cmd);
		}
	}
}

/* Plans against the servers in the backend. */
static int
hap_plan(struct hap_job *j, const struct haproxy_server *s, size_t n)
{
	size_t nd = j->mode == REGISTRAR_REMOVE ? 0 : j->nwant;
	struct reconcile_item *d = xcalloc(nd + 1, sizeof(*d));
	struct reconcile_item *a = xcalloc(n + 1, sizeof(*a));
	char(*addr)[HAPROXY_CFG_ADDR_MAX + 8] = xcalloc(n + 1, sizeof(*addr));
	struct reconcile_op *ops;
	size_t nops;
	uint64_t id;
	int err;

	for (size_t i = 0; i < nd; i++) {
		d[i].key = j->want[i].name;
		d[i].value = j->want[i].addr;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(addr[i], sizeof(addr[i]), "%s:%u", s[i].addr, s[i].port);
		a[i].key = s[i].name;
		a[i].value = addr[i];
		a[i].ready = haproxy_cfg_server_ready(&s[i]);
		/* only our servers, and in add/remove only the one node's */
		a[i].foreign =
			!haproxy_cfg_server_id(s[i].name, &id) ||
			(j->mode != REGISTRAR_RECONCILE && strcmp(s[i].name, j->want[0].name) != 0);
	}
	hap_job_clear(j);
	err = reconcile_plan(d, nd, a, n, 0, &ops, &nops);
	if (err == 0)
		hap_cmds_from_plan(j, s, d, a, ops, nops);
	free(ops);
	free(addr);
	free(a);
	free(d);
	return err;
}

static void
hap_on_show(int err, const char *reply, void *arg)
{
	struct hap_job *j = arg;
	struct haproxy_server *s = NULL;
	size_t n = 0;
	char perr[160] = "out of memory";

	if (err == 0)
		err = haproxy_cfg_parse_state(reply, strlen(reply), j->r->backend, &s, &n, perr,
					      sizeof(perr));
	else
		snprintf(perr, sizeof(perr), "%s", uv_strerror(err));
	if (err == 0)
		err = hap_plan(j, s, n);
	free(s);
	if (err != 0) {
		snprintf(j->why, sizeof(j->why), "haproxy %s: show servers state %s: %s",
			 j->r->runtime, j->r->backend, perr);
		hap_finish(j, err);
		return;
	}
	log_debug("haproxy %s: backend %s: %zu server(s), %zu command(s) (round %u)", j->r->runtime,
		  j->r->backend, n, j->ncmds, j->round);
	j->failed = 0;
	hap_step(j);
}

static void
hap_show(struct hap_job *j)
{
	char cmd[HAPROXY_CFG_CMD_MAX];
	int err;

	if (hap_closing(j)) {
		snprintf(j->why, sizeof(j->why), "haproxy: shutting down");
		hap_finish(j, -ECANCELED);
		return;
	}
	j->round++;
	haproxy_cfg_cmd_show(j->r->backend, cmd, sizeof(cmd));
	err = hap_command(j->r->base.env->loop, j->r->runtime, cmd, hap_on_show, j);
	if (err != 0) {
		snprintf(j->why, sizeof(j->why), "haproxy %s: %s", j->r->runtime, uv_strerror(err));
		hap_finish(j, err);
	}
}

static void
hap_on_retry(uv_timer_t *t)
{
	hap_show(t->data);
}

static void
hap_on_reply(int err, const char *reply, void *arg)
{
	struct hap_job *j = arg;
	const char *cmd = j->cmds[j->next - 1];

	if (err != 0 || !haproxy_cfg_reply_ok(reply)) {
		j->failed++;
		snprintf(j->why, sizeof(j->why), "haproxy %s: %.*s: %.120s", j->r->runtime,
			 (int)strcspn(cmd, "\n"), cmd, err != 0 ? uv_strerror(err) : reply);
		j->why[strcspn(j->why, "\n")] = '\0';
		log_warnx("%s", j->why);
	}
	hap_step(j);
}

static void
hap_step(struct hap_job *j)
{
	const struct registrar_env *env = j->r->base.env;
	const char *cmd;
	int err;

	if (j->next == j->ncmds) {
		if (j->failed == 0)
			hap_finish(j, 0);
		else if (j->round >= HAP_ROUNDS)
			hap_finish(j, -EIO);
		else
			uv_timer_start(&j->retry, hap_on_retry, HAP_RETRY_MS, 0);
		return;
	}
	cmd = j->cmds[j->next++];
	if (env->dry_run) {
		registrar_dry(env, "haproxy %s: %.*s", j->r->runtime, (int)strcspn(cmd, "\n"), cmd);
		hap_step(j);
		return;
	}
	err = hap_command(env->loop, j->r->runtime, cmd, hap_on_reply, j);
	if (err != 0) {
		snprintf(j->why, sizeof(j->why), "haproxy %s: %s", j->r->runtime, uv_strerror(err));
		hap_finish(j, err);
	}
}

static int
hap_start(struct registrar *base, enum registrar_mode mode, const struct registrar_node *nodes,
	  size_t n, registrar_done_fn *cb, void *arg)
{
	struct hap_reg *r = (struct hap_reg *)base;
	struct hap_job *j = xcalloc(1, sizeof(*j));

	j->r = r;
	j->mode = mode;
	j->cb = cb;
	j->arg = arg;
	j->want = xcalloc(n + 1, sizeof(*j->want));
	for (size_t i = 0; i < n; i++) {
		const char *ip = registrar_address(base->env->cfg, &nodes[i]);
		struct hap_want *w = &j->want[j->nwant];

		if ((ip == NULL && mode != REGISTRAR_REMOVE) || nodes[i].id == 0) {
			log_warnx("haproxy: node %" PRIu64 " has no %s IPv4; not in backend %s",
				  nodes[i].id, base->env->cfg->register_address, r->backend);
			continue;
		}
		haproxy_cfg_server_name(nodes[i].id, w->name, sizeof(w->name));
		snprintf(w->ip, sizeof(w->ip), "%s", ip != NULL ? ip : "");
		snprintf(w->addr, sizeof(w->addr), "%s:%u", w->ip, r->port);
		j->nwant++;
	}
	if (mode != REGISTRAR_RECONCILE && j->nwant == 0) {
		free(j->want);
		free(j);
		return -EINVAL;
	}
	uv_timer_init(base->env->loop, &j->retry);
	j->retry.data = j;
	hap_show(j);
	return 0;
}

static void
hap_free(struct registrar *base)
{
	struct hap_reg *r = (struct hap_reg *)base;

	free(r->runtime);
	free(r->backend);
	free(r);
}

static const struct registrar_ops hap_ops = {
	.name = "haproxy",
	.start = hap_start,
	.free = hap_free,
	.needs_address = true,
};

int
registrar_haproxy_new(const struct registrar_env *env, struct registrar **out, char *err,
		      size_t errsize)
{
	const struct cfg *cfg = env->cfg;
	struct hap_reg *r;

	if (cfg->haproxy_runtime == NULL || cfg->haproxy_runtime[0] == '\0') {
		snprintf(err, errsize,
			 "haproxy: needs haproxy_runtime (\"unix:/run/haproxy/admin.sock\" "
			 "or \"127.0.0.1:9999\")");
		return -EINVAL;
	}
	if (!haproxy_cfg_name_valid(cfg->haproxy_backend)) {
		snprintf(err, errsize,
			 "haproxy: needs haproxy_backend, a name of letters, digits, "
			 "'_', '.', ':', '-'");
		return -EINVAL;
	}
	r = xcalloc(1, sizeof(*r));
	r->base.ops = &hap_ops;
	r->base.env = env;
	r->runtime = xstrdup(cfg->haproxy_runtime);
	r->backend = xstrdup(cfg->haproxy_backend);
	r->port = (unsigned)cfg->haproxy_server_port;
	*out = &r->base;
	return 0;
}
