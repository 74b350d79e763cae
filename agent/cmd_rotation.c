/*
 * cmd_rotation: `mitosis register`, `deregister`, `retire` and
 * `haproxy-config` (agent/cmd_rotation.h). The first three drive the same
 * rotation the agent uses (rotation.c) on a loop of their own and wait for it;
 * with --dry-run every mutating API call and HAProxy command is printed
 * instead of made (GETs still run, so the plan shown is the real one).
 *
 * retire NODE: deregister the droplet from every registrar, wait dns_ttl +
 * drain_timeout so that resolvers forget the record and connections drain,
 * then DELETE /v2/droplets/ID (a 404 means it is already gone). If
 * deregistering fails the droplet is not deleted.
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
#include "control.h"
#include "haproxy_cfg.h"
#include "http.h"
#include "log.h"
#include "meta.h"
#include "metadata.h"
#include "rotation.h"
#include "xmalloc.h"

struct cr_args {
	const char *config, *node_arg, *ip, *name, *nodes_file, *sock, *backend;
	uint64_t node_id;
	unsigned port;
	bool json, dry_run, no_wait, reconcile;
};

struct cr {
	uv_loop_t loop;
	struct http *http;
	struct cfg *cfg;
	struct rotation *rot;
	struct cloud *own_cloud; /* retire without a do-* registrar */
	struct cr_args a;
	bool done;
	int err;
	char why[600];
	struct cloud_resp_copy {
		long status;
		cJSON *json;
	} resp;
	struct meta_identity *self;
};

/* --- options and set-up -------------------------------------------------- */

static void
cr_help_common(FILE *out)
{
	fprintf(out, "Options:\n"
		     "  -c FILE      configuration (default " CMD_DEFAULT_CONFIG ")\n"
		     "  --json       print one JSON object instead of text\n"
		     "  --dry-run    print the API calls and HAProxy commands that would change\n"
		     "               something, instead of making them (reads still happen)\n");
}

void
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
		"\nPuts the node into every registrar of `registrars`. Idempotent.\n");
}

void
cmd_deregister_help(FILE *out)
{
	cmd_register_help(out);
}

void
cmd_retire_help(FILE *out)
{
	cr_help_common(out);
	fprintf(out, "  --no-wait    do not wait dns_ttl + drain_timeout before deleting\n"
		     "\nNODE is a droplet id or name. Deregisters it from every registrar, waits\n"
		     "dns_ttl + drain_timeout (skipped with --dry-run), then deletes the droplet.\n"
		     "A droplet that cannot be deregistered is not deleted.\n");
}

void
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

static int
cr_options(const char *name, int argc, char **argv, struct cr_args *a)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "node", required_argument, NULL, 'N' },
		{ "ip", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'm' },
		{ "nodes", required_argument, NULL, 'f' },
		{ "backend", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "reconcile", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 's':
			a->sock = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'n':
			a->dry_run = true;
			break;
		case 'W':
			a->no_wait = true;
			break;
		case 'R':
			a->reconcile = true;
			break;
		case 'i':
			a->ip = optarg;
			break;
		case 'm':
			a->name = optarg;
			break;
		case 'f':
			a->nodes_file = optarg;
			break;
		case 'b':
			a->backend = optarg;
			break;
		case 'N':
			errno = 0;
			a->node_id = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || a->node_id == 0) {
				fprintf(stderr, "mitosis %s: --node: not a droplet id: %s\n", name,
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			a->port = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || a->port == 0 || a->port > 65535) {
				fprintf(stderr, "mitosis %s: --port: not a port: %s\n", name,
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			cmd_usage(stdout, name);
			return 0;
		default:
			cmd_usage(stderr, name);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* Reads the configuration; with `finish` its whole-file checks too. */
static struct cfg *
cr_load_cfg(const char *path, bool finish)
{
	struct cfg *cfg = cmd_load_config(path, NULL, 0, finish);

	if (cfg != NULL)
		log_set_level(cfg->log_level);
	return cfg;
}

static int
cr_open(struct cr *x, const char *name)
{
	struct rotation_opts o = { .dry_run = x->a.dry_run,
				   .dry_run_out = x->a.json ? stderr : stdout };

	if ((x->cfg = cr_load_cfg(x->a.config, true)) == NULL)
		return -EINVAL;
	uv_loop_init(&x->loop);
	if ((x->http = http_new(&x->loop)) == NULL) {
		fprintf(stderr, "mitosis %s: cannot set up HTTP\n", name);
		return -EIO;
	}
	if (rotation_new_opts(&x->loop, x->http, x->cfg, NULL, &o, &x->rot) != 0) {
		fprintf(stderr, "mitosis %s: cannot set up the registrars (see above)\n", name);
		return -EINVAL;
	}
	return 0;
}

static void
cr_close(struct cr *x)
{
	rotation_close(x->rot);
	cloud_close(x->own_cloud);
	if (x->http != NULL) {
		http_close(x->http, NULL, NULL);
		uv_run(&x->loop, UV_RUN_DEFAULT);
	}
	if (x->cfg != NULL) {
		uv_run(&x->loop, UV_RUN_DEFAULT);
		uv_loop_close(&x->loop);
	}
	meta_identity_free(x->self);
	cJSON_Delete(x->resp.json);
	cfg_free(x->cfg);
}

/* Runs the loop until the pending step reports. */
static void
cr_wait(struct cr *x)
{
	while (!x->done)
		uv_run(&x->loop, UV_RUN_ONCE);
	x->done = false;
}

static void
cr_on_rotation(int err, const char *why, void *arg)
{
	struct cr *x = arg;

	x->err = err;
	snprintf(x->why, sizeof(x->why), "%s", why != NULL ? why : "");
	x->done = true;
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
	x->done = true;
}

/* --- this node's identity ------------------------------------------------ */

static void
cr_on_metadata(int err, struct meta_identity *id, const char *why, void *arg)
{
	struct cr *x = arg;

	x->err = err;
	x->self = id;
	snprintf(x->why, sizeof(x->why), "%s", why != NULL ? why : "");
	x->done = true;
}

/* Fills the node: --node/--ip, else the static identity, else metadata. */
static int
cr_node(struct cr *x, const char *name, struct registrar_node *n)
{
	const struct cfg *c = x->cfg;
	struct metadata_opts mo = { .base_url = c->metadata_url,
				    .timeout_ms = c->metadata_timeout_ms,
				    .attempts = (unsigned)c->metadata_attempts,
				    .backoff_ms = 200 };
	struct metadata_fetch *mf;

	if (x->a.node_id != 0) {
		*n = (struct registrar_node){ x->a.node_id, x->a.name != NULL ? x->a.name : "",
					      x->a.ip, x->a.ip };
		return 0;
	}
	if (c->node_id != 0) {
		*n = (struct registrar_node){ c->node_id, c->hostname, c->public_ipv4,
					      c->private_ipv4 != NULL ? c->private_ipv4 : "" };
		return 0;
	}
	if (metadata_fetch_start(&x->loop, x->http, &mo, cr_on_metadata, x, &mf) != 0)
		return -EIO;
	cr_wait(x);
	if (x->err != 0) {
		fprintf(stderr, "mitosis %s: this node's identity: %s\n", name, x->why);
		return x->err;
	}
	*n = (struct registrar_node){ x->self->droplet_id, x->self->hostname, x->self->public_ipv4,
				      x->self->private_ipv4 };
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
	cJSON_AddBoolToObject(o, "dry_run", x->a.dry_run);
	cJSON_AddNumberToObject(o, "api_requests", (double)rotation_requests(x->rot));
	cr_print_json(o);
}

static void
cr_report(struct cr *x, const char *verb, const struct registrar_node *n)
{
	cJSON *o;

	if (!x->a.json) {
		if (x->err == 0)
			printf("%s%s node %" PRIu64 " (%s, %s) with %s: %" PRIu64
			       " API request(s)\n",
			       x->a.dry_run ? "would have " : "", verb, n->id,
			       n->name != NULL && n->name[0] != '\0' ? n->name : "-",
			       registrar_address(x->cfg, n) ? registrar_address(x->cfg, n) : "-",
			       rotation_names(x->rot)[0] ? rotation_names(x->rot) : "no registrar",
			       rotation_requests(x->rot));
		else
			fprintf(stderr, "mitosis: %s node %" PRIu64 ": %s\n", verb, n->id, x->why);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "action", verb);
	cJSON_AddItemToObject(o, "node", cr_node_json(x->cfg, n));
	cr_print_result(x, o);
}

static cJSON *cr_members(const struct cr_args *a, const struct cfg *cfg);
static int cr_reconcile(struct cr *x);

/* --- register / deregister ----------------------------------------------- */

static int
cr_node_main(const char *name, int argc, char **argv, bool add)
{
	struct cr x = { 0 };
	struct registrar_node n;
	int r;

	if ((r = cr_options(name, argc, argv, &x.a)) >= 0)
		return r;
	if (optind != argc || (x.a.node_id != 0) != (x.a.ip != NULL) ||
	    (x.a.reconcile && (!add || x.a.node_id != 0))) {
		cmd_usage(stderr, name);
		return EXIT_USAGE;
	}
	if (x.a.reconcile) {
		r = cr_open(&x, name) == 0 ? cr_reconcile(&x) : 1;
		cr_close(&x);
		return r;
	}
	if ((r = cr_open(&x, name)) != 0 || (r = cr_node(&x, name, &n)) != 0) {
		cr_close(&x);
		return 1;
	}
	r = add ? rotation_register(x.rot, &n, cr_on_rotation, &x)
		: rotation_deregister(x.rot, &n, cr_on_rotation, &x);
	if (r != 0) {
		x.err = r;
		snprintf(x.why, sizeof(x.why), "%s", strerror(-r));
	} else {
		cr_wait(&x);
	}
	cr_report(&x, add ? "registered" : "deregistered", &n);
	r = x.err == 0 ? 0 : 1;
	cr_close(&x);
	return r;
}

int
cmd_register_main(int argc, char **argv)
{
	return cr_node_main("register", argc, argv, true);
}

int
cmd_deregister_main(int argc, char **argv)
{
	return cr_node_main("deregister", argc, argv, false);
}

/* --- retire ------------------------------------------------------------- */

static struct cloud *
cr_cloud(struct cr *x)
{
	struct cloud_opts co = { .base_url = x->cfg->api_url,
				 .timeout_ms = x->cfg->api_timeout_ms,
				 .dry_run = x->a.dry_run,
				 .dry_run_out = x->a.json ? stderr : stdout };
	char *token = NULL, err[256];

	if (rotation_cloud(x->rot) != NULL)
		return rotation_cloud(x->rot);
	if (x->own_cloud != NULL)
		return x->own_cloud;
	if (x->cfg->token_file == NULL) {
		fprintf(stderr, "mitosis retire: needs token_file\n");
		return NULL;
	}
	if (cloud_read_token(x->cfg->token_file, &token, err, sizeof(err)) != 0) {
		fprintf(stderr, "mitosis retire: %s\n", err);
		return NULL;
	}
	co.token = token;
	if (cloud_new(&x->loop, x->http, &co, &x->own_cloud) != 0)
		x->own_cloud = NULL;
	sodium_memzero(token, strlen(token));
	free(token);
	return x->own_cloud;
}

static void
cr_on_list(int err, const char *error, cJSON *items, void *arg)
{
	struct cr *x = arg;

	x->err = err;
	x->resp.status = err == 0 ? 200 : 0;
	cJSON_Delete(x->resp.json);
	x->resp.json = items != NULL ? cJSON_Duplicate(items, true) : NULL;
	snprintf(x->why, sizeof(x->why), "%s", error != NULL ? error : "");
	x->done = true;
}

/* The droplet object for NODE (id or name), borrowed from x->resp.json. */
static const cJSON *
cr_find_droplet(struct cr *x, struct cloud *c, const char *node)
{
	char *end, *path;
	uint64_t id;
	int r;

	errno = 0;
	id = strtoull(node, &end, 10);
	if (errno == 0 && *end == '\0' && id != 0) {
		path = xasprintf("/v2/droplets/%" PRIu64, id);
		r = cloud_call(c, "GET", path, NULL, 0, cr_on_cloud, x);
	} else if (node[strspn(node, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789.-_")] == '\0' &&
		   node[0] != '\0') {
		path = xasprintf("/v2/droplets?name=%s", node);
		r = cloud_list(c, path, "droplets", cr_on_list, x);
	} else {
		fprintf(stderr, "mitosis retire: not a droplet id or name: %s\n", node);
		return NULL;
	}
	free(path);
	if (r != 0)
		return NULL;
	cr_wait(x);
	if (x->err != 0 || x->resp.status != 200) {
		fprintf(stderr, "mitosis retire: droplet %s: %s\n", node,
			x->resp.status == 404 ? "no such droplet" : x->why);
		return NULL;
	}
	if (cJSON_IsArray(x->resp.json)) {
		if (cJSON_GetArraySize(x->resp.json) != 1) {
			fprintf(stderr, "mitosis retire: droplet %s: %d droplets have this name\n",
				node, cJSON_GetArraySize(x->resp.json));
			return NULL;
		}
		return cJSON_GetArrayItem(x->resp.json, 0);
	}
	return cJSON_GetObjectItemCaseSensitive(x->resp.json, "droplet");
}

/* The droplet's id, name and v4 addresses; strings borrowed from d. */
static int
cr_droplet_node(const cJSON *d, struct registrar_node *n)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(d, "name");
	const cJSON *nets = cJSON_GetObjectItemCaseSensitive(d, "networks");
	const cJSON *v4 = cJSON_GetObjectItemCaseSensitive(nets, "v4");
	const cJSON *it;

	if (!cJSON_IsNumber(id) || id->valuedouble < 1)
		return -EINVAL;
	*n = (struct registrar_node){ (uint64_t)id->valuedouble,
				      cJSON_IsString(name) ? name->valuestring : "", "", "" };
	cJSON_ArrayForEach(it, v4)
	{
		const cJSON *ip = cJSON_GetObjectItemCaseSensitive(it, "ip_address");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");

		if (!cJSON_IsString(ip) || !cJSON_IsString(type))
			continue;
		if (strcmp(type->valuestring, "public") == 0)
			n->public_ipv4 = ip->valuestring;
		else if (strcmp(type->valuestring, "private") == 0)
			n->private_ipv4 = ip->valuestring;
	}
	return 0;
}

static void
cr_on_timer(uv_timer_t *t)
{
	struct cr *x = t->data;

	x->done = true;
}

/* Sleeps on the loop (pending API work keeps running meanwhile). */
static void
cr_sleep(struct cr *x, uint64_t ms)
{
	uv_timer_t t;

	uv_timer_init(&x->loop, &t);
	t.data = x;
	uv_timer_start(&t, cr_on_timer, ms, 0);
	cr_wait(x);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&x->loop, UV_RUN_NOWAIT);
}

static void
cr_retire_report(struct cr *x, const struct registrar_node *n, const char *stage, uint64_t waited,
		 bool deleted, bool gone)
{
	cJSON *o;

	if (!x->a.json) {
		if (stage != NULL)
			fprintf(stderr, "mitosis retire: %s: %s\n", stage, x->why);
		else
			printf("%sretired node %" PRIu64 " (%s): out of %s, waited %" PRIu64 " ms, "
			       "droplet %s; %" PRIu64 " API request(s)\n",
			       x->a.dry_run ? "would have " : "", n->id, n->name,
			       rotation_names(x->rot)[0] ? rotation_names(x->rot) : "no registrar",
			       waited, gone ? "was already gone" : "deleted",
			       rotation_requests(x->rot) +
				       (x->own_cloud ? cloud_requests_sent(x->own_cloud) : 0));
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "action", "retire");
	cJSON_AddItemToObject(o, "node", cr_node_json(x->cfg, n));
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
	cJSON_AddBoolToObject(o, "dry_run", x->a.dry_run);
	cJSON_AddNumberToObject(o, "api_requests",
				(double)(rotation_requests(x->rot) +
					 (x->own_cloud ? cloud_requests_sent(x->own_cloud) : 0)));
	cr_print_json(o);
}

/* Deregisters, waits, deletes. 0 or 1 (the exit code). */
static int
cr_retire(struct cr *x, struct cloud *c, cJSON *droplet)
{
	struct registrar_node n;
	uint64_t wait_ms = x->cfg->dns_ttl * 1000 + x->cfg->drain_timeout_ms;
	char *path;
	int r;

	if (cr_droplet_node(droplet, &n) != 0) {
		snprintf(x->why, sizeof(x->why), "the API's droplet has no id");
		cr_retire_report(x, &n, "lookup", 0, false, false);
		return 1;
	}
	if ((r = rotation_deregister(x->rot, &n, cr_on_rotation, x)) != 0)
		snprintf(x->why, sizeof(x->why), "%s", strerror(-r));
	else
		cr_wait(x);
	if (r != 0 || x->err != 0) {
		cr_retire_report(x, &n, "deregister (the droplet was not deleted)", 0, false,
				 false);
		return 1;
	}
	if (x->a.no_wait || x->a.dry_run)
		wait_ms = 0;
	if (wait_ms > 0 && !x->a.json)
		printf("node %" PRIu64 " is out of rotation; waiting %" PRIu64 " ms (dns_ttl + "
		       "drain_timeout) before deleting it\n",
		       n.id, wait_ms);
	fflush(stdout);
	if (wait_ms > 0)
		cr_sleep(x, wait_ms);
	path = xasprintf("/v2/droplets/%" PRIu64, n.id);
	r = cloud_call(c, "DELETE", path, NULL, 0, cr_on_cloud, x);
	free(path);
	if (r == 0)
		cr_wait(x);
	if (r != 0 || x->err != 0 ||
	    (x->resp.status != 204 && x->resp.status != 404 &&
	     (x->resp.status < 200 || x->resp.status > 299))) {
		if (r != 0)
			snprintf(x->why, sizeof(x->why), "%s", strerror(-r));
		cr_retire_report(x, &n, "delete", wait_ms, false, false);
		return 1;
	}
	cr_retire_report(x, &n, NULL, wait_ms, x->resp.status != 404, x->resp.status == 404);
	return 0;
}

int
cmd_retire_main(int argc, char **argv)
{
	struct cr x = { 0 };
	const cJSON *d;
	cJSON *droplet = NULL;
	struct cloud *c;
	int r;

	if ((r = cr_options("retire", argc, argv, &x.a)) >= 0)
		return r;
	if (optind + 1 != argc) {
		cmd_usage(stderr, "retire");
		return EXIT_USAGE;
	}
	r = 1;
	if (cr_open(&x, "retire") != 0 || (c = cr_cloud(&x)) == NULL)
		goto out;
	if ((d = cr_find_droplet(&x, c, argv[optind])) == NULL)
		goto out;
	droplet = cJSON_Duplicate(d, true);
	r = cr_retire(&x, c, droplet);
out:
	cJSON_Delete(droplet);
	cr_close(&x);
	return r;
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
cr_haproxy_print(const struct cr_args *a, const char *backend, unsigned port, const cJSON *doc)
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
	} else if (a->json) {
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

int
cmd_haproxy_config_main(int argc, char **argv)
{
	struct cr_args a = { 0 };
	struct stat st;
	struct cfg *cfg;
	cJSON *doc;
	int r;

	if ((r = cr_options("haproxy-config", argc, argv, &a)) >= 0)
		return r;
	if (optind != argc) {
		cmd_usage(stderr, "haproxy-config");
		return EXIT_USAGE;
	}
	/* Without -c and without the default file, flags alone are enough. */
	if (a.config == NULL && stat(CMD_DEFAULT_CONFIG, &st) != 0)
		cfg = cfg_new();
	else
		cfg = cr_load_cfg(a.config, false);
	if (cfg == NULL)
		return 1;
	r = 1;
	if ((doc = cr_members(&a, cfg)) != NULL)
		r = cr_haproxy_print(&a,
				     a.backend != NULL		    ? a.backend
				     : cfg->haproxy_backend != NULL ? cfg->haproxy_backend
								    : "mitosis",
				     a.port != 0 ? a.port : (unsigned)cfg->haproxy_server_port,
				     doc);
	cJSON_Delete(doc);
	cfg_free(cfg);
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

static int
cr_reconcile(struct cr *x)
{
	cJSON *doc = cr_members(&x->a, x->cfg), *o;
	size_t cap, n;
	struct registrar_node *nodes;
	char(*ips)[16];
	int r;

	if (doc == NULL)
		return 1;
	cap = (size_t)cJSON_GetArraySize(doc) + 1;
	nodes = xcalloc(cap, sizeof(*nodes));
	ips = xcalloc(cap, sizeof(*ips));
	n = cr_nodes_from(doc, nodes, ips);
	if ((r = rotation_reconcile(x->rot, nodes, n, cr_on_rotation, x)) != 0)
		snprintf(x->why, sizeof(x->why), "%s", strerror(-(x->err = r)));
	else
		cr_wait(x);
	if (x->a.json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "action", "reconcile");
		cJSON_AddNumberToObject(o, "nodes", (double)n);
		cr_print_result(x, o);
	} else if (x->err == 0) {
		printf("%sreconciled %zu node(s) with %s: %" PRIu64 " API request(s)\n",
		       x->a.dry_run ? "would have " : "", n, rotation_names(x->rot),
		       rotation_requests(x->rot));
	} else {
		fprintf(stderr, "mitosis register --reconcile: %s\n", x->why);
	}
	free(ips);
	free(nodes);
	cJSON_Delete(doc);
	return x->err == 0 ? 0 : 1;
}
