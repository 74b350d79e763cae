/*
 * registrar_exec: an operator's script. `exec_command` is run (no shell) as
 * `CMD register` or `CMD deregister` with the node in its environment:
 * MITOSIS_NODE_ID, MITOSIS_NODE_NAME, MITOSIS_NODE_PUBLIC_IPV4,
 * MITOSIS_NODE_PRIVATE_IPV4, MITOSIS_NODE_ADDRESS (the one register_address
 * picks) and MITOSIS_CLUSTER, besides the agent's own environment. Its stdout
 * and stderr go to the agent's stderr, so they never mix with --json output.
 * Exit status 0 is success; anything else, a signal, or EXEC_TIMEOUT_MS
 * without exiting (the script is then killed) is a failure.
 *
 * The script is the only one who knows what it registered, so reconcile runs
 * `CMD register` once per node, in turn: the script must be idempotent.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "registrar.h"
#include "xmalloc.h"

#define EXEC_TIMEOUT_MS 30000

extern char **environ;

struct exec_reg {
	struct registrar base;
	char *command;
};

struct exec_node {
	uint64_t id;
	char *name, *pub, *priv, *addr;
};

struct exec_job {
	struct exec_reg *r;
	const char *verb;
	struct exec_node *nodes;
	size_t n, next;
	registrar_done_fn *cb;
	void *arg;
	uv_process_t proc;
	uv_timer_t timer;
	int open;
	int err;
	unsigned failed;
	char why[512];
};

static void exec_next(struct exec_job *j);

static void
exec_job_free(struct exec_job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free(j->nodes[i].name);
		free(j->nodes[i].pub);
		free(j->nodes[i].priv);
		free(j->nodes[i].addr);
	}
	free(j->nodes);
	free(j);
}

static void
exec_finish(struct exec_job *j)
{
	int err = j->failed == 0 ? 0 : j->err;

	j->cb(err, err != 0 ? j->why : NULL, j->arg);
	exec_job_free(j);
}

static void
exec_on_closed(uv_handle_t *h)
{
	struct exec_job *j = h->data;

	if (--j->open == 0)
		exec_next(j);
}

static void
exec_on_exit(uv_process_t *p, int64_t status, int sig)
{
	struct exec_job *j = p->data;
	const struct exec_node *nd = &j->nodes[j->next - 1];
	bool timed_out = !uv_is_active((uv_handle_t *)&j->timer) && sig == SIGKILL;

	if (status != 0 || sig != 0) {
		j->failed++;
		j->err = timed_out ? -ETIMEDOUT : -EIO;
		if (timed_out)
			snprintf(j->why, sizeof(j->why),
				 "exec: %s %s (node %" PRIu64 "): killed after %ds", j->r->command,
				 j->verb, nd->id, EXEC_TIMEOUT_MS / 1000);
		else if (sig != 0)
			snprintf(j->why, sizeof(j->why),
				 "exec: %s %s (node %" PRIu64 "): signal %d", j->r->command,
				 j->verb, nd->id, sig);
		else
			snprintf(j->why, sizeof(j->why),
				 "exec: %s %s (node %" PRIu64 "): exit status %" PRId64,
				 j->r->command, j->verb, nd->id, status);
		log_warnx("%s", j->why);
	}
	uv_close((uv_handle_t *)&j->timer, exec_on_closed);
	uv_close((uv_handle_t *)&j->proc, exec_on_closed);
}

static void
exec_on_timeout(uv_timer_t *t)
{
	struct exec_job *j = t->data;

	uv_process_kill(&j->proc, SIGKILL);
}

/* environ plus our variables (ours first, so they win in getenv). */
static char **
exec_env(const struct exec_job *j, const struct exec_node *nd)
{
	const struct cfg *cfg = j->r->base.env->cfg;
	size_t n = 0, k = 0;
	char **env;

	while (environ != NULL && environ[n] != NULL)
		n++;
	env = xcalloc(n + 8, sizeof(*env));
	env[k++] = xasprintf("MITOSIS_NODE_ID=%" PRIu64, nd->id);
	env[k++] = xasprintf("MITOSIS_NODE_NAME=%s", nd->name);
	env[k++] = xasprintf("MITOSIS_NODE_PUBLIC_IPV4=%s", nd->pub);
	env[k++] = xasprintf("MITOSIS_NODE_PRIVATE_IPV4=%s", nd->priv);
	env[k++] = xasprintf("MITOSIS_NODE_ADDRESS=%s", nd->addr);
	env[k++] = xasprintf("MITOSIS_CLUSTER=%s", cfg->cluster != NULL ? cfg->cluster : "");
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "MITOSIS_NODE_", 13) != 0 &&
		    strncmp(environ[i], "MITOSIS_CLUSTER=", 16) != 0)
			env[k++] = xstrdup(environ[i]);
	return env;
}

static int
exec_spawn(struct exec_job *j, const struct exec_node *nd)
{
	uv_loop_t *loop = j->r->base.env->loop;
	char *args[] = { j->r->command, (char *)(uintptr_t)j->verb, NULL };
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_INHERIT_FD, .data.fd = STDERR_FILENO },
		{ .flags = UV_INHERIT_FD, .data.fd = STDERR_FILENO },
	};
	uv_process_options_t o = { .exit_cb = exec_on_exit,
				   .file = j->r->command,
				   .args = args,
				   .stdio_count = 3,
				   .stdio = stdio };
	char **env = exec_env(j, nd);
	int err;

	o.env = env;
	j->proc.data = j;
	err = uv_spawn(loop, &j->proc, &o);
	for (size_t i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
	return err;
}

/* Runs the script for the next node; at the end, reports. */
static void
exec_next(struct exec_job *j)
{
	const struct registrar_env *env = j->r->base.env;
	const struct exec_node *nd;
	int err;

	if (j->next == j->n || (env->closing != NULL && *env->closing)) {
		exec_finish(j);
		return;
	}
	nd = &j->nodes[j->next++];
	if (env->dry_run) {
		registrar_dry(env,
			      "exec: %s %s (MITOSIS_NODE_ID=%" PRIu64 " MITOSIS_NODE_ADDRESS=%s)",
			      j->r->command, j->verb, nd->id, nd->addr);
		exec_next(j);
		return;
	}
	if ((err = exec_spawn(j, nd)) != 0) {
		j->failed++;
		j->err = err;
		snprintf(j->why, sizeof(j->why), "exec: cannot run %s: %s", j->r->command,
			 uv_strerror(err));
		log_warnx("%s", j->why);
		j->open = 1;
		j->proc.data = j;
		uv_close((uv_handle_t *)&j->proc, exec_on_closed);
		return;
	}
	j->open = 2;
	uv_timer_init(env->loop, &j->timer);
	j->timer.data = j;
	uv_timer_start(&j->timer, exec_on_timeout, EXEC_TIMEOUT_MS, 0);
}

static char *
exec_str(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

/* Reconciling runs `register` for each node: a script keeps no set to trim. */
static int
exec_start(struct registrar *base, enum registrar_mode mode, const struct registrar_node *nodes,
	   size_t n, registrar_done_fn *cb, void *arg)
{
	struct exec_job *j = xcalloc(1, sizeof(*j));

	j->r = (struct exec_reg *)base;
	j->verb = mode == REGISTRAR_REMOVE ? "deregister" : "register";
	j->cb = cb;
	j->arg = arg;
	j->nodes = xcalloc(n + 1, sizeof(*j->nodes));
	for (size_t i = 0; i < n; i++) {
		j->nodes[i].id = nodes[i].id;
		j->nodes[i].name = exec_str(nodes[i].name);
		j->nodes[i].pub = exec_str(nodes[i].public_ipv4);
		j->nodes[i].priv = exec_str(nodes[i].private_ipv4);
		j->nodes[i].addr = exec_str(registrar_address(base->env->cfg, &nodes[i]));
	}
	j->n = n;
	exec_next(j);
	return 0;
}

static void
exec_free(struct registrar *base)
{
	struct exec_reg *r = (struct exec_reg *)base;

	free(r->command);
	free(r);
}

static const struct registrar_ops exec_ops = {
	.name = "exec",
	.start = exec_start,
	.free = exec_free,
};

int
registrar_exec_new(const struct registrar_env *env, struct registrar **out, char *err,
		   size_t errsize)
{
	const struct cfg *cfg = env->cfg;
	struct exec_reg *r;

	if (cfg->exec_command == NULL || cfg->exec_command[0] != '/') {
		snprintf(err, errsize, "exec: needs exec_command, an absolute path");
		return -EINVAL;
	}
	r = xcalloc(1, sizeof(*r));
	r->base.ops = &exec_ops;
	r->base.env = env;
	r->command = xstrdup(cfg->exec_command);
	*out = &r->base;
	return 0;
}
