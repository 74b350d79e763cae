/*
 * cmd_rotation: `mitosis register`, `deregister`, `retire` and
 * `haproxy-config`. The first three drive the same rotation the agent uses
 * (rotation.c) on the command frame (cmd_frame.h: options, configuration
 * flags, a loop of their own, the API client, waiting) and wait for it;
 * with --dry-run every mutating API call and HAProxy command is printed
 * instead of made (GETs still run, so the plan shown is the real one).
 *
 * retire NODE: deregister the droplet from every registrar, wait dns_ttl +
 * drain_timeout so that resolvers forget the record and connections drain,
 * then delete it and wait until GET says 404 (cloud_delete_start: a second
 * DELETE if it lingers, then an error naming the droplet that may still
 * bill). If deregistering fails the droplet is not deleted.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cfg.h"
#include "cloud.h"
#include "cmd.h"
#include "cmd_rotation.h"
#include "cmd_frame.h"
#include "cloud_ops.h"
#include "control.h"
#include "haproxy_cfg.h"
#include "doapi.h"
#include "lbhealth.h"
#include "log.h"
#include "meta.h"
#include "rotation.h"
#include "xmalloc.h"

/* The rotation verbs' own options. */
enum {
	CR_NO_WAIT = 300,
	CR_NODE,
	CR_IP,
	CR_NAME,
	CR_NODES,
	CR_BACKEND,
	CR_PORT,
	CR_RECONCILE,
};

struct cr_args {
	const char *ip, *name, *nodes_file, *sock, *backend;
	uint64_t node_id;
	unsigned port;
	bool no_wait, reconcile;
};

/* One rotation verb: the frame, the rotation on it, and the last step's outcome. */
struct cr {
	struct cmd_frame f;
	struct rotation *rot;
	struct cr_args a;
	int err;
	bool gone;		/* retire: the droplet was already gone */
	size_t healthy, others; /* retire: the balancer's other members, and those serving */
	char why[600];
	struct cloud_resp_copy {
		long status;
		cJSON *json;
	} resp;
};

/* --- options and set-up -------------------------------------------------- */

static int cmd_register_main(int argc, char **argv);
static int cmd_deregister_main(int argc, char **argv);
static int cmd_retire_main(int argc, char **argv);
static int cmd_haproxy_config_main(int argc, char **argv);
static void cmd_register_help(FILE *out);
static void cmd_retire_help(FILE *out);
static void cmd_haproxy_config_help(FILE *out);

const struct cmd_entry cmd_register_entry = {
	"register",
	cmd_register_main,
	"register [-c FILE] [--json] [--dry-run] [--node ID --ip IP [--name NAME]] [--KEY VALUE "
	"...]",
	"put this node (or --node) into every configured registrar",
	cmd_register_help,
};
const struct cmd_entry cmd_deregister_entry = {
	"deregister",
	cmd_deregister_main,
	"deregister [-c FILE] [--json] [--dry-run] [--node ID --ip IP [--name NAME]] [--KEY VALUE "
	"...]",
	"take this node (or --node) out of every configured registrar",
	cmd_register_help,
};
const struct cmd_entry cmd_retire_entry = {
	"retire",
	cmd_retire_main,
	"retire NODE [-c FILE] [--json] [--dry-run] [--no-wait] [--KEY VALUE ...]",
	"deregister a droplet, wait for drain, delete it",
	cmd_retire_help,
};
const struct cmd_entry cmd_haproxy_config_entry = {
	"haproxy-config",
	cmd_haproxy_config_main,
	"haproxy-config [-c FILE] [--json] [--nodes FILE | -s PATH] [--backend NAME] [--port N]",
	"print a haproxy.cfg backend for the current members",
	cmd_haproxy_config_help,
};

static void
cr_help_common(FILE *out)
{
	fprintf(out, "Options:\n"
		     "  -c FILE      configuration (default " CMD_DEFAULT_CONFIG ")\n"
		     "  --json       print one JSON object instead of text\n"
		     "  --dry-run    print the API calls and HAProxy commands that would change\n"
		     "               something, instead of making them (reads still happen)\n"
		     "  --KEY VALUE  any configuration key, over the file (--token-file PATH,\n"
		     "               --registrars do-dns, ...; 'mitosis help agent' lists them)\n");
}

static void
cmd_register_help(FILE *out)
{
	cr_help_common(out);
	fprintf(out,
		"  --node ID    another node (droplet id) instead of this one; needs --ip\n"
		"  --ip IP      its address (used for both public and private)\n"
		"  --name NAME  its name (for scripts run by the exec registrar)\n"
		"  --reconcile  (register only) make every registrar hold exactly the nodes\n"
		"               of --nodes FILE, or the local agent's alive members (-s PATH)\n"
		"  --nodes FILE JSON array of {\"id\", \"name\", \"ip\"}\n"
		"\nPuts the node into (or takes it out of) every registrar of `registrars`.\n"
		"Idempotent.\n");
}

static void
cmd_retire_help(FILE *out)
{
	cr_help_common(out);
	fprintf(out,
		"  --no-wait    do not wait dns_ttl + drain_timeout before deleting\n"
		"\nNODE is a droplet id or name. With do-lb, first waits (health_timeout) until\n"
		"another member of the load balancer passes its health check. Deregisters it\n"
		"from every registrar, waits dns_ttl + drain_timeout (skipped with --dry-run),\n"
		"then deletes the droplet and waits until the API answers 404 for it (deleting\n"
		"it again after delete_timeout). A droplet that cannot be deregistered is not\n"
		"deleted.\n");
}

static void
cmd_haproxy_config_help(FILE *out)
{
	cr_help_common(out);
	fprintf(out,
		"  --nodes FILE JSON array of {\"id\", \"name\", \"ip\"} instead of asking the "
		"agent\n"
		"  -s PATH      the agent's control socket (default: control_socket)\n"
		"  --backend NAME, --port N  override haproxy_backend, haproxy_server_port\n"
		"\nPrints a haproxy.cfg backend section holding the cluster's alive members.\n");
}

/* The rotation verbs' own options (cmd_frame_opt_fn). */
static int
cr_option(struct cmd_frame *f, int val, const char *arg, void *ctx)
{
	struct cr_args *a = ctx;
	char *end;

	switch (val) {
	case 's':
		a->sock = arg;
		break;
	case CR_NO_WAIT:
		a->no_wait = true;
		break;
	case CR_RECONCILE:
		a->reconcile = true;
		break;
	case CR_IP:
		a->ip = arg;
		break;
	case CR_NAME:
		a->name = arg;
		break;
	case CR_NODES:
		a->nodes_file = arg;
		break;
	case CR_BACKEND:
		a->backend = arg;
		break;
	case CR_NODE:
		errno = 0;
		a->node_id = strtoull(arg, &end, 10);
		if (errno != 0 || *end != '\0' || a->node_id == 0) {
			fprintf(stderr, "mitosis %s: --node: not a droplet id: %s\n", f->cmd->name,
				arg);
			return EXIT_USAGE;
		}
		break;
	case CR_PORT:
		a->port = (unsigned)strtoul(arg, &end, 10);
		if (*end != '\0' || a->port == 0 || a->port > 65535) {
			fprintf(stderr, "mitosis %s: --port: not a port: %s\n", f->cmd->name, arg);
			return EXIT_USAGE;
		}
		break;
	}
	return -1;
}

/* Parses argv; -1 to go on (optind at the operands), else an exit code. */
static int
cr_parse(struct cr *x, const struct cmd_entry *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-wait", no_argument, NULL, CR_NO_WAIT },
		{ "node", required_argument, NULL, CR_NODE },
		{ "ip", required_argument, NULL, CR_IP },
		{ "name", required_argument, NULL, CR_NAME },
		{ "nodes", required_argument, NULL, CR_NODES },
		{ "backend", required_argument, NULL, CR_BACKEND },
		{ "port", required_argument, NULL, CR_PORT },
		{ "reconcile", no_argument, NULL, CR_RECONCILE },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};

	return cmd_frame_parse(&x->f, cmd, argc, argv, "s:", opts, cr_option, &x->a);
}

/* The frame (with the API client when one is needed) and the rotation on it. 0 or 1. */
static int
cr_open(struct cr *x, unsigned api)
{
	struct rotation_opts o = { .dry_run = x->f.dry_run,
				   .dry_run_out = x->f.json ? stderr : stdout };

	if (cmd_frame_open(&x->f, api) != 0)
		return 1;
	if (rotation_new(&x->f.loop, x->f.cfg, NULL, x->f.cloud, &o, &x->rot) != 0) {
		cmd_frame_fail(&x->f, "cannot set up the registrars (see above)");
		return 1;
	}
	return 0;
}

/* The rotation before the client it borrows; returns the exit code. */
static int
cr_close(struct cr *x)
{
	rotation_close(x->rot);
	x->rot = NULL;
	cJSON_Delete(x->resp.json);
	return cmd_frame_close(&x->f);
}

/* Waits for the step just started. false when the frame gave up (it said why). */
static bool
cr_wait(struct cr *x)
{
	cmd_frame_begin(&x->f);
	if (cmd_frame_wait(&x->f))
		return true;
	x->err = -ETIMEDOUT;
	return false;
}

static void
cr_on_rotation(int err, const char *why, void *arg)
{
	struct cr *x = arg;

	x->err = err;
	snprintf(x->why, sizeof(x->why), "%s", why != NULL ? why : "");
	cmd_frame_end(&x->f);
}

static void
cr_on_cloud(const struct cloud_resp *resp, void *arg)
{
	struct cr *x = arg;

	x->err = resp->err;
	x->resp.status = resp->dry_run ? 204 : resp->status;
	cJSON_Delete(x->resp.json);
	x->resp.json = resp->json != NULL ? cJSON_Duplicate(resp->json, true) : NULL;
	snprintf(x->why, sizeof(x->why), "%s", resp->error);
	cmd_frame_end(&x->f);
}

/* The node: --node/--ip, else this node (the static identity, else metadata). */
static int
cr_node(struct cr *x, struct registrar_node *n)
{
	const struct meta_identity *self;

	if (x->a.node_id != 0) {
		*n = (struct registrar_node){ x->a.node_id, x->a.name != NULL ? x->a.name : "",
					      x->a.ip, x->a.ip };
		return 0;
	}
	if ((self = cmd_frame_self(&x->f)) == NULL)
		return -ENOENT;
	*n = (struct registrar_node){ self->droplet_id, self->hostname, self->public_ipv4,
				      self->private_ipv4 };
	return 0;
}

/* --- output -------------------------------------------------------------- */

static cJSON *
cr_node_json(const struct cfg *cfg, const struct registrar_node *n)
{
	cJSON *o = cJSON_CreateObject();
	const char *addr = registrar_address(cfg, n);

	cJSON_AddNumberToObject(o, "id", (double)n->id);
	cJSON_AddStringToObject(o, "name", n->name != NULL ? n->name : "");
	if (addr != NULL)
		cJSON_AddStringToObject(o, "address", addr);
	else
		cJSON_AddNullToObject(o, "address");
	return o;
}

static void
cr_print_json(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (s != NULL)
		printf("%s\n", s);
	cJSON_free(s);
	cJSON_Delete(o);
}

/* Adds the outcome every --json reply carries to `o`, prints and frees it. */
static void
cr_print_result(const struct cr *x, cJSON *o)
{
	cJSON_AddStringToObject(o, "registrars", rotation_names(x->rot));
	cJSON_AddBoolToObject(o, "ok", x->err == 0);
	if (x->err != 0)
		cJSON_AddStringToObject(o, "error", x->why);
	else
		cJSON_AddNullToObject(o, "error");
	cJSON_AddBoolToObject(o, "dry_run", x->f.dry_run);
	cJSON_AddNumberToObject(o, "api_requests", (double)rotation_requests(x->rot));
	cr_print_json(o);
}

static void
cr_report(struct cr *x, const char *verb, const struct registrar_node *n)
{
	const struct cfg *cfg = x->f.cfg;
	cJSON *o;

	if (x->f.gave_up)
		return; /* the frame has said why */
	if (!x->f.json) {
		if (x->err == 0)
			printf("%s%s node %" PRIu64 " (%s, %s) with %s: %" PRIu64
			       " API request(s)\n",
			       x->f.dry_run ? "would have " : "", verb, n->id,
			       n->name != NULL && n->name[0] != '\0' ? n->name : "-",
			       registrar_address(cfg, n) ? registrar_address(cfg, n) : "-",
			       rotation_names(x->rot)[0] ? rotation_names(x->rot) : "no registrar",
			       rotation_requests(x->rot));
		else
			cmd_frame_fail(&x->f, "%s node %" PRIu64 ": %s", verb, n->id, x->why);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "action", verb);
	cJSON_AddItemToObject(o, "node", cr_node_json(cfg, n));
	cr_print_result(x, o);
}

static cJSON *cr_members(const struct cr_args *a, const struct cfg *cfg);
static void cr_reconcile(struct cr *x);

/* --- register / deregister ----------------------------------------------- */

static int
cr_node_main(const struct cmd_entry *cmd, int argc, char **argv, bool add)
{
	struct cr x = { 0 };
	struct registrar_node n;
	int r;

	if ((r = cr_parse(&x, cmd, argc, argv)) < 0 &&
	    (optind != argc || (x.a.node_id != 0) != (x.a.ip != NULL) ||
	     (x.a.reconcile && (!add || x.a.node_id != 0)))) {
		cmd_usage(stderr, cmd);
		r = EXIT_USAGE;
	}
	if (r >= 0) {
		cr_close(&x);
		return r;
	}
	if (cr_open(&x, CMD_FRAME_API_IF_TOKEN) != 0)
		return cr_close(&x);
	if (x.a.reconcile) {
		cr_reconcile(&x);
		return cr_close(&x);
	}
	if (cr_node(&x, &n) != 0)
		return cr_close(&x);
	r = add ? rotation_register(x.rot, &n, cr_on_rotation, &x)
		: rotation_deregister(x.rot, &n, cr_on_rotation, &x);
	if (r != 0) {
		x.err = r;
		snprintf(x.why, sizeof(x.why), "%s", strerror(-r));
	} else {
		cr_wait(&x);
	}
	cr_report(&x, add ? "registered" : "deregistered", &n);
	if (x.err != 0)
		x.f.rc = 1;
	return cr_close(&x);
}

static int
cmd_register_main(int argc, char **argv)
{
	return cr_node_main(&cmd_register_entry, argc, argv, true);
}

static int
cmd_deregister_main(int argc, char **argv)
{
	return cr_node_main(&cmd_deregister_entry, argc, argv, false);
}

/* --- retire ------------------------------------------------------------- */

static void
cr_on_list(int err, const char *error, cJSON *items, void *arg)
{
	struct cr *x = arg;

	x->err = err;
	x->resp.status = err == 0 ? 200 : 0;
	cJSON_Delete(x->resp.json);
	x->resp.json = items != NULL ? cJSON_Duplicate(items, true) : NULL;
	snprintf(x->why, sizeof(x->why), "%s", error != NULL ? error : "");
	cmd_frame_end(&x->f);
}

/* Asks for NODE: GET /v2/droplets/ID, or a listing by name. 0 or 1 (said why). */
static int
cr_ask_droplet(struct cr *x, const char *node)
{
	char *end, *path;
	uint64_t id;
	int r;

	errno = 0;
	id = strtoull(node, &end, 10);
	if (errno == 0 && *end == '\0' && id != 0) {
		path = xasprintf("/v2/droplets/%" PRIu64, id);
		r = cloud_call(x->f.cloud, "GET", path, NULL, 0, cr_on_cloud, x);
	} else if (node[0] != '\0' && doapi_name_valid(node)) {
		path = xasprintf("/v2/droplets?name=%s", node);
		r = cloud_list(x->f.cloud, path, "droplets", cr_on_list, x);
	} else {
		cmd_frame_fail(&x->f, "not a droplet id or name: %s", node);
		return 1;
	}
	free(path);
	if (r != 0) {
		cmd_frame_fail(&x->f, "droplet %s: %s", node, strerror(-r));
		return 1;
	}
	return cr_wait(x) ? 0 : 1;
}

/* NODE (an id or a name) as the API knows it, parsed into *d. 0 or 1 (said why). */
static int
cr_find_droplet(struct cr *x, const char *node, struct doapi_droplet *d)
{
	const cJSON *obj;
	char why[200];

	if (cr_ask_droplet(x, node) != 0)
		return 1;
	if (x->err != 0 || x->resp.status != 200) {
		cmd_frame_fail(&x->f, "droplet %s: %s", node,
			       x->resp.status == 404 ? "no such droplet" : x->why);
		return 1;
	}
	if (cJSON_IsArray(x->resp.json) && cJSON_GetArraySize(x->resp.json) != 1) {
		cmd_frame_fail(&x->f, "droplet %s: %d droplets have this name", node,
			       cJSON_GetArraySize(x->resp.json));
		return 1;
	}
	obj = cJSON_IsArray(x->resp.json)
		      ? cJSON_GetArrayItem(x->resp.json, 0)
		      : cJSON_GetObjectItemCaseSensitive(x->resp.json, "droplet");
	if (!doapi_droplet_parse(obj, d, why, sizeof(why))) {
		cmd_frame_fail(&x->f, "droplet %s: the API's answer: %s", node, why);
		return 1;
	}
	return 0;
}

static void
cr_on_timer(uv_timer_t *t)
{
	struct cr *x = t->data;

	cmd_frame_end(&x->f);
}

/* Sleeps on the loop (pending API work keeps running meanwhile). */
static void
cr_sleep(struct cr *x, uint64_t ms)
{
	uv_timer_t t;

	uv_timer_init(&x->f.loop, &t);
	t.data = x;
	uv_timer_start(&t, cr_on_timer, ms, 0);
	cr_wait(x);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&x->f.loop, UV_RUN_NOWAIT);
}

static void
cr_retire_report(struct cr *x, const struct registrar_node *n, const char *stage, uint64_t waited,
		 bool deleted, bool gone)
{
	uint64_t requests = x->f.cloud != NULL ? cloud_requests_sent(x->f.cloud) : 0;
	cJSON *o;

	if (x->f.gave_up)
		return; /* the frame has said why */
	if (stage != NULL)
		x->f.rc = 1;
	if (!x->f.json) {
		if (stage != NULL)
			cmd_frame_fail(&x->f, "%s: %s", stage, x->why);
		else
			printf("%sretired node %" PRIu64 " (%s): out of %s, waited %" PRIu64 " ms, "
			       "droplet %s; %" PRIu64 " API request(s)\n",
			       x->f.dry_run ? "would have " : "", n->id, n->name,
			       rotation_names(x->rot)[0] ? rotation_names(x->rot) : "no registrar",
			       waited, gone ? "was already gone" : "deleted", requests);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "action", "retire");
	cJSON_AddItemToObject(o, "node", cr_node_json(x->f.cfg, n));
	cJSON_AddStringToObject(o, "registrars", rotation_names(x->rot));
	cJSON_AddBoolToObject(o, "ok", stage == NULL);
	cJSON_AddBoolToObject(o, "deregistered", stage == NULL || strcmp(stage, "delete") == 0);
	cJSON_AddNumberToObject(o, "waited_ms", (double)waited);
	cJSON_AddBoolToObject(o, "deleted", deleted);
	cJSON_AddBoolToObject(o, "already_gone", gone);
	if (stage != NULL)
		cJSON_AddStringToObject(o, "error", x->why);
	else
		cJSON_AddNullToObject(o, "error");
	cJSON_AddBoolToObject(o, "dry_run", x->f.dry_run);
	cJSON_AddNumberToObject(o, "api_requests", (double)requests);
	cr_print_json(o);
}

static void
cr_on_deleted(int err, const char *error, const struct cloud_delete_result *res, void *arg)
{
	struct cr *x = arg;

	x->err = err;
	x->gone = res->already_gone;
	snprintf(x->why, sizeof(x->why), "%s", error != NULL ? error : "");
	cmd_frame_end(&x->f);
}

static void
cr_on_others(int err, const char *why, size_t healthy, size_t n, void *arg)
{
	struct cr *x = arg;

	x->err = err;
	x->healthy = healthy;
	x->others = n;
	snprintf(x->why, sizeof(x->why), "%s", why != NULL ? why : "");
	cmd_frame_end(&x->f);
}

/*
 * With do-lb: the load balancer must keep a member that serves, so retiring a
 * node first waits (health_timeout) until another member passes the
 * balancer's health check, and refuses when none does. A balancer that holds
 * no other member is left empty, with a warning. 0 to go on, or 1 (said why).
 */
static int
cr_retire_capacity(struct cr *x, const struct registrar_node *n)
{
	const struct cfg *cfg = x->f.cfg;
	bool lb = false;
	int r;

	for (size_t i = 0; i < cfg->nregistrars; i++)
		lb = lb || strcmp(cfg->registrars[i], "do-lb") == 0;
	if (!lb || cfg->lb_id == NULL || cfg->health_timeout_ms == 0 || x->f.dry_run)
		return 0;
	if ((r = lbhealth_others_start(x->f.cloud, cfg->lb_id, n->id, cfg->health_timeout_ms,
				       cr_on_others, x)) != 0)
		snprintf(x->why, sizeof(x->why), "%s", strerror(-(x->err = r)));
	else
		cr_wait(x);
	if (x->err != 0) {
		cr_retire_report(x, n,
				 "the load balancer would have no member that serves (the "
				 "droplet was not deleted)",
				 0, false, false);
		return 1;
	}
	if (x->others == 0)
		log_warnx("load balancer %s holds no other member: retiring node %" PRIu64
			  " leaves it empty",
			  cfg->lb_id, n->id);
	else if (!x->f.json)
		printf("load balancer %s: %zu of %zu other member(s) pass its health check\n",
		       cfg->lb_id, x->healthy, x->others);
	return 0;
}

/* Keeps a serving member on the balancer, deregisters, waits dns_ttl +
 * drain_timeout, deletes and waits for the 404. */
static void
cr_retire(struct cr *x, const struct registrar_node *n)
{
	uint64_t wait_ms = x->f.cfg->dns_ttl * 1000 + x->f.cfg->drain_timeout_ms;
	int r;

	if (cr_retire_capacity(x, n) != 0)
		return;
	if ((r = rotation_deregister(x->rot, n, cr_on_rotation, x)) != 0)
		snprintf(x->why, sizeof(x->why), "%s", strerror(-r));
	else
		cr_wait(x);
	if (r != 0 || x->err != 0) {
		cr_retire_report(x, n, "deregister (the droplet was not deleted)", 0, false, false);
		return;
	}
	if (x->a.no_wait || x->f.dry_run)
		wait_ms = 0;
	if (wait_ms > 0 && !x->f.json)
		printf("node %" PRIu64 " is out of rotation; waiting %" PRIu64 " ms (dns_ttl + "
		       "drain_timeout) before deleting it\n",
		       n->id, wait_ms);
	fflush(stdout);
	if (wait_ms > 0)
		cr_sleep(x, wait_ms);
	r = cloud_delete_start(x->f.cloud, n->id, x->f.cfg->delete_timeout_ms, cr_on_deleted, x);
	if (r == 0)
		cr_wait(x);
	else
		snprintf(x->why, sizeof(x->why), "%s", strerror(-(x->err = r)));
	if (x->err != 0) {
		cr_retire_report(x, n, "delete", wait_ms, false, false);
		return;
	}
	cr_retire_report(x, n, NULL, wait_ms, !x->gone, x->gone);
}

static int
cmd_retire_main(int argc, char **argv)
{
	struct cr x = { 0 };
	struct doapi_droplet d;
	struct registrar_node n;
	int r;

	if ((r = cr_parse(&x, &cmd_retire_entry, argc, argv)) < 0 && optind + 1 != argc) {
		cmd_usage(stderr, &cmd_retire_entry);
		r = EXIT_USAGE;
	}
	if (r >= 0) {
		cr_close(&x);
		return r;
	}
	if (cr_open(&x, CMD_FRAME_API) == 0 && cr_find_droplet(&x, argv[optind], &d) == 0) {
		n = (struct registrar_node){ d.id, d.name, d.public_ipv4, d.private_ipv4 };
		cr_retire(&x, &n);
	}
	return cr_close(&x);
}

/* --- haproxy-config ------------------------------------------------------- */

/* Members as {id, name, ip}: from --nodes FILE, or the agent's alive members. */
static cJSON *
cr_members(const struct cr_args *a, const struct cfg *cfg)
{
	const char *sock = a->sock != NULL ? a->sock : cfg->control_socket;
	char *text = NULL;
	cJSON *doc;
	int r;

	if (a->nodes_file != NULL) {
		FILE *f = fopen(a->nodes_file, "r");
		size_t len = 0, cap = 0;

		if (f == NULL) {
			fprintf(stderr, "mitosis haproxy-config: %s: %s\n", a->nodes_file,
				strerror(errno));
			return NULL;
		}
		for (;;) {
			text = xrealloc(text, cap += 65536);
			len += fread(text + len, 1, cap - len - 1, f);
			if (len < cap - 1)
				break;
		}
		text[len] = '\0';
		fclose(f);
	} else if ((r = control_query(sock != NULL ? sock : CONTROL_DEFAULT_PATH, "members json",
				      CONTROL_TIMEOUT_MS, &text)) != 0) {
		fprintf(stderr,
			"mitosis haproxy-config: the agent on %s: %s (use --nodes FILE "
			"without an agent)\n",
			sock != NULL ? sock : CONTROL_DEFAULT_PATH, strerror(-r));
		return NULL;
	}
	doc = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsArray(doc)) {
		fprintf(stderr, "mitosis haproxy-config: members: not a JSON array\n");
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/* One member's address: "ip", else the host of "addr"; alive (or no state) only. */
static bool
cr_member(const cJSON *m, struct haproxy_member *out, char *ip, size_t ipsize)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(m, "state");
	const cJSON *addr = cJSON_GetObjectItemCaseSensitive(m, "ip");

	if (cJSON_IsString(state) && strcmp(state->valuestring, "alive") != 0)
		return false;
	if (!cJSON_IsString(addr))
		addr = cJSON_GetObjectItemCaseSensitive(m, "addr");
	if (!cJSON_IsNumber(id) || id->valuedouble < 1 || !cJSON_IsString(addr))
		return false;
	snprintf(ip, ipsize, "%.*s", (int)strcspn(addr->valuestring, ":"), addr->valuestring);
	*out = (struct haproxy_member){ (uint64_t)id->valuedouble,
					cJSON_IsString(name) ? name->valuestring : NULL, ip };
	return true;
}

static int
cr_haproxy_print(bool json, const char *backend, unsigned port, const cJSON *doc)
{
	size_t n = 0, cap = (size_t)cJSON_GetArraySize(doc) + 1;
	struct haproxy_member *m = xcalloc(cap, sizeof(*m));
	char(*ips)[16] = xcalloc(cap, sizeof(*ips));
	const cJSON *it;
	char *text = NULL;
	int r;

	cJSON_ArrayForEach(it, doc) if (cr_member(it, &m[n], ips[n], sizeof(ips[n]))) n++;
	r = haproxy_cfg_backend(backend, m, n, port, &text);
	if (r != 0) {
		fprintf(stderr, "mitosis haproxy-config: %s\n",
			r == -EINVAL ? "a bad backend name, port or member address" : strerror(-r));
	} else if (json) {
		cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "servers");
		char name[HAPROXY_CFG_NAME_MAX];

		cJSON_AddStringToObject(o, "backend", backend);
		for (size_t i = 0; i < n; i++) {
			cJSON *s = cJSON_CreateObject();

			haproxy_cfg_server_name(m[i].id, name, sizeof(name));
			cJSON_AddStringToObject(s, "name", name);
			cJSON_AddStringToObject(s, "addr", m[i].ip);
			cJSON_AddNumberToObject(s, "port", port);
			cJSON_AddItemToArray(arr, s);
		}
		cJSON_AddStringToObject(o, "config", text);
		cr_print_json(o);
	} else {
		fputs(text, stdout);
	}
	free(text);
	free(ips);
	free(m);
	return r == 0 ? 0 : 1;
}

static int
cmd_haproxy_config_main(int argc, char **argv)
{
	struct cr x = { 0 };
	const char *backend;
	struct stat st;
	cJSON *doc;
	int r;

	if ((r = cr_parse(&x, &cmd_haproxy_config_entry, argc, argv)) < 0 && optind != argc) {
		cmd_usage(stderr, &cmd_haproxy_config_entry);
		r = EXIT_USAGE;
	}
	if (r >= 0) {
		cr_close(&x);
		return r;
	}
	/* Without -c and without the default file, the flags alone are enough. */
	x.f.cfg = cmd_load_config(
		x.f.config == NULL && stat(CMD_DEFAULT_CONFIG, &st) != 0 ? "" : x.f.config,
		x.f.flags, x.f.nflags, false);
	if (x.f.cfg == NULL || (doc = cr_members(&x.a, x.f.cfg)) == NULL) {
		cr_close(&x);
		return 1;
	}
	backend = x.a.backend != NULL		     ? x.a.backend
		  : x.f.cfg->haproxy_backend != NULL ? x.f.cfg->haproxy_backend
						     : "mitosis";
	r = cr_haproxy_print(x.f.json, backend,
			     x.a.port != 0 ? x.a.port : (unsigned)x.f.cfg->haproxy_server_port,
			     doc);
	cJSON_Delete(doc);
	cr_close(&x);
	return r;
}

/* --- register --reconcile --------------------------------------------------- */

static const char *
cr_json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Alive members as nodes: "ip" (or the host of "addr") is both addresses
 * unless "public_ipv4"/"private_ipv4" are given. Strings borrowed from doc
 * and ips. */
static size_t
cr_nodes_from(const cJSON *doc, struct registrar_node *nodes, char (*ips)[16])
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, doc)
	{
		const char *pub = cr_json_str(it, "public_ipv4"),
			   *priv = cr_json_str(it, "private_ipv4");
		const char *state = cr_json_str(it, "state"), *name = cr_json_str(it, "name");
		double id = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "id"));
		struct haproxy_member m;

		ips[n][0] = '\0';
		if (!cr_member(it, &m, ips[n], sizeof(ips[n])) &&
		    (pub == NULL || (state != NULL && strcmp(state, "alive") != 0) || !(id >= 1)))
			continue;
		nodes[n] = (struct registrar_node){ (uint64_t)id, name != NULL ? name : "",
						    pub != NULL ? pub : ips[n],
						    priv != NULL ? priv : ips[n] };
		n++;
	}
	return n;
}

/* Makes every registrar hold exactly the alive members (--nodes FILE or the agent's). */
static void
cr_reconcile(struct cr *x)
{
	cJSON *doc = cr_members(&x->a, x->f.cfg), *o;
	size_t cap, n;
	struct registrar_node *nodes;
	char(*ips)[16];
	int r;

	if (doc == NULL) {
		x->f.rc = 1;
		return;
	}
	cap = (size_t)cJSON_GetArraySize(doc) + 1;
	nodes = xcalloc(cap, sizeof(*nodes));
	ips = xcalloc(cap, sizeof(*ips));
	n = cr_nodes_from(doc, nodes, ips);
	if ((r = rotation_reconcile(x->rot, nodes, n, cr_on_rotation, x)) != 0)
		snprintf(x->why, sizeof(x->why), "%s", strerror(-(x->err = r)));
	else
		cr_wait(x);
	if (x->f.gave_up) {
		/* The frame has said why. */
	} else if (x->f.json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "action", "reconcile");
		cJSON_AddNumberToObject(o, "nodes", (double)n);
		cr_print_result(x, o);
	} else if (x->err == 0) {
		printf("%sreconciled %zu node(s) with %s: %" PRIu64 " API request(s)\n",
		       x->f.dry_run ? "would have " : "", n, rotation_names(x->rot),
		       rotation_requests(x->rot));
	} else {
		cmd_frame_fail(&x->f, "--reconcile: %s", x->why);
	}
	if (x->err != 0)
		x->f.rc = 1;
	free(ips);
	free(nodes);
	cJSON_Delete(doc);
}
