/*
 * cmd_cloud: `mitosis cloud ls`, `clone`, `snapshot` and `resize`.
 *
 * Each verb loads the agent's configuration (-c FILE), reads the token file,
 * makes a private loop with an http client and a cloud client, starts one
 * operation from cloud_ops.c and runs the loop until it has ended and every
 * handle is closed. Output is a table or --json on stdout; the last line (or
 * the "cloud_requests_sent" member) is the number of API requests sent. With
 * --dry-run the mutating calls are printed ("dry-run: POST /v2/... BODY", on
 * stderr under --json) and not sent. The token is never printed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cfg.h"
#include "cloud.h"
#include "cloud_clone.h"
#include "cloud_ops.h"
#include "cmd.h"
#include "cmd_cloud.h"
#include "doapi.h"
#include "http.h"
#include "meta.h"
#include "metadata.h"
#include "xmalloc.h"

#define CMD_CLOUD_MAX_COUNT 50
#define CMD_CLOUD_MAX_SEEDS 5

struct cmd_cloud_args {
	const char *config;
	bool json;
	bool dry_run;
	unsigned count;
	const char *arg; /* SIZE for resize, NAME for snapshot */
};

struct cmd_cloud {
	const char *verb;
	struct cmd_cloud_args a;
	uv_loop_t loop;
	struct http *http;
	struct cloud *cloud;
	struct cfg *cfg;
	char *tag;
	int rc;
	unsigned pending;
	/* clone */
	char *seeds[CMD_CLOUD_MAX_SEEDS];
	size_t nseeds;
	char region[32];
	cJSON *out; /* the --json document being built */
	struct doapi_droplet *made;
	size_t nmade;
	size_t ndeleted;
	unsigned creates;
	/* snapshot / resize */
	uint64_t droplet_id;
	struct metadata_fetch *mf;
};

static void
cmd_cloud_common_help(FILE *out)
{
	fprintf(out, "Options:\n"
		     "  -c FILE     agent configuration (default " CMD_DEFAULT_CONFIG ")\n"
		     "  --json      print a JSON document\n"
		     "  --dry-run   print the calls that would change something; send only GETs\n"
		     "\nThe API token is read from token_file, the API from api_url. Exit status:\n"
		     "0 success, 1 failure, 2 usage error.\n");
}

void
cmd_cloud_help(FILE *out)
{
	fprintf(out,
		"`cloud ls` lists the droplets carrying the cluster tag (one request per\n"
		"200 droplets): id, name, status, addresses, region, size, creation time.\n\n");
	cmd_cloud_common_help(out);
}

void
cmd_clone_help(FILE *out)
{
	fprintf(out,
		"Creates N droplets (default 1, at most %d) from clone_image with clone_size,\n"
		"clone_region, clone_vpc_uuid, clone_ssh_keys and the cluster tag plus\n"
		"clone_tags, seeded with the private addresses of current members, and waits\n"
		"until each is active with its addresses; one not active by active_timeout\n"
		"is deleted.\n\n  --count N   how many droplets\n",
		CMD_CLOUD_MAX_COUNT);
	cmd_cloud_common_help(out);
}

void
cmd_snapshot_help(FILE *out)
{
	fprintf(out, "Snapshots this droplet (node_id, else the metadata service) as NAME\n"
		     "(default CLUSTER-UNIXTIME), waits for it and prints the new image id, the\n"
		     "value for clone_image.\n\n");
	cmd_cloud_common_help(out);
}

void
cmd_resize_help(FILE *out)
{
	fprintf(out, "Resizes this droplet to SIZE (a size slug): power_off, resize with disk\n"
		     "false (so it can shrink again), power_on, each waited for.\n\n");
	cmd_cloud_common_help(out);
}

/* getopt: -c, --json, --dry-run, --count (clone), -h. -1 to go on, else exit code. */
static int
cmd_cloud_parse(const char *verb, int argc, char **argv, struct cmd_cloud_args *a,
		void (*help)(FILE *))
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	optind = 1;
	a->count = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			a->json = true;
			break;
		case 'd':
			a->dry_run = true;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 'n':
			v = strtol(optarg, &end, 10);
			if (strcmp(verb, "clone") != 0 || *end != '\0' || v < 1 ||
			    v > CMD_CLOUD_MAX_COUNT) {
				fprintf(stderr, "mitosis %s: --count takes 1..%d\n", verb,
					CMD_CLOUD_MAX_COUNT);
				return EXIT_USAGE;
			}
			a->count = (unsigned)v;
			break;
		case 'h':
			cmd_usage(stdout, verb);
			help(stdout);
			return 0;
		default:
			cmd_usage(stderr, verb);
			return EXIT_USAGE;
		}
	}
	return -1;
}

static struct cfg *
cmd_cloud_load_config(const char *verb, const char *path)
{
	struct cfg *cfg = cmd_load_config(path, NULL, 0, true);

	if (cfg != NULL && cfg->token_file == NULL) {
		fprintf(stderr, "mitosis %s: no token_file in the configuration\n", verb);
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Config, token, loop, http and cloud clients. 0, or an exit code. */
static int
cmd_cloud_open(struct cmd_cloud *x)
{
	struct cloud_opts o = { 0 };
	char err[512], *token = NULL;
	int r;

	x->cfg = cmd_cloud_load_config(x->verb, x->a.config);
	if (x->cfg == NULL)
		return 1;
	if (cloud_read_token(x->cfg->token_file, &token, err, sizeof(err)) != 0) {
		fprintf(stderr, "mitosis %s: %s\n", x->verb, err);
		return 1;
	}
	x->tag = xstrdup(x->cfg->cluster_tag);
	uv_loop_init(&x->loop);
	x->http = http_new(&x->loop);
	o.base_url = x->cfg->api_url;
	o.token = token;
	o.timeout_ms = x->cfg->api_timeout_ms;
	o.dry_run = x->a.dry_run;
	o.dry_run_out = x->a.json ? stderr : stdout;
	r = x->http == NULL ? -ENOMEM : cloud_new(&x->loop, x->http, &o, &x->cloud);
	sodium_memzero(token, strlen(token));
	free(token);
	if (r != 0) {
		fprintf(stderr, "mitosis %s: cannot set up the API client: %s\n", x->verb,
			strerror(-r));
		return 1;
	}
	return 0;
}

static void
cmd_cloud_on_http_closed(void *arg)
{
	(void)arg;
}

/* Runs the loop until the operation ended, then tears everything down. */
static void
cmd_cloud_close(struct cmd_cloud *x)
{
	if (x->http != NULL) {
		uv_run(&x->loop, UV_RUN_DEFAULT);
		cloud_close(x->cloud);
		metadata_fetch_cancel(x->mf);
		http_close(x->http, cmd_cloud_on_http_closed, NULL);
		uv_run(&x->loop, UV_RUN_DEFAULT);
		uv_loop_close(&x->loop);
	}
	for (size_t i = 0; i < x->nseeds; i++)
		free(x->seeds[i]);
	free(x->made);
	free(x->tag);
	cJSON_Delete(x->out);
	cfg_free(x->cfg);
}

static uint64_t
cmd_cloud_requests(const struct cmd_cloud *x)
{
	return x->cloud != NULL ? cloud_requests_sent(x->cloud) : 0;
}

static cJSON *
cmd_cloud_droplet_json(const struct doapi_droplet *d)
{
	cJSON *o = cJSON_CreateObject(), *tags;

	cJSON_AddNumberToObject(o, "id", (double)d->id);
	cJSON_AddStringToObject(o, "name", d->name);
	cJSON_AddStringToObject(o, "status", d->status);
	cJSON_AddStringToObject(o, "public_ipv4", d->public_ipv4);
	cJSON_AddStringToObject(o, "private_ipv4", d->private_ipv4);
	cJSON_AddStringToObject(o, "region", d->region);
	cJSON_AddStringToObject(o, "size", d->size_slug);
	cJSON_AddNumberToObject(o, "image", (double)d->image_id);
	cJSON_AddStringToObject(o, "created_at", d->created_at);
	tags = cJSON_AddArrayToObject(o, "tags");
	for (size_t i = 0; i < d->ntags; i++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(d->tags[i]));
	return o;
}

static void
cmd_cloud_table(const struct doapi_droplet *d, size_t n)
{
	printf("%-12s %-32s %-7s %-15s %-15s %-6s %-14s %s\n", "ID", "NAME", "STATUS", "PUBLIC",
	       "PRIVATE", "REGION", "SIZE", "CREATED");
	for (size_t i = 0; i < n; i++)
		printf("%-12llu %-32s %-7s %-15s %-15s %-6s %-14s %s\n",
		       (unsigned long long)d[i].id, d[i].name, d[i].status,
		       d[i].public_ipv4[0] != '\0' ? d[i].public_ipv4 : "-",
		       d[i].private_ipv4[0] != '\0' ? d[i].private_ipv4 : "-",
		       d[i].region[0] != '\0' ? d[i].region : "-", d[i].size_slug, d[i].created_at);
}

/* Prints the --json document with the request count added. */
static void
cmd_cloud_print_json(struct cmd_cloud *x)
{
	char *s;

	cJSON_AddNumberToObject(x->out, "cloud_requests_sent", (double)cmd_cloud_requests(x));
	s = cJSON_Print(x->out);
	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

/* ---- cloud ls ---- */

static void
cmd_cloud_on_ls(int err, const char *error, const struct doapi_droplet *d, size_t n, void *arg)
{
	struct cmd_cloud *x = arg;
	cJSON *arr;

	if (err != 0) {
		fprintf(stderr, "mitosis cloud ls: %s\n", error);
		x->rc = 1;
		return;
	}
	x->rc = 0;
	if (!x->a.json) {
		cmd_cloud_table(d, n);
		return;
	}
	x->out = cJSON_CreateObject();
	cJSON_AddStringToObject(x->out, "tag", x->tag);
	arr = cJSON_AddArrayToObject(x->out, "droplets");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cmd_cloud_droplet_json(&d[i]));
}

int
cmd_cloud_main(int argc, char **argv)
{
	struct cmd_cloud x = { .verb = "cloud", .rc = 1 };
	int r = cmd_cloud_parse("cloud", argc, argv, &x.a, cmd_cloud_help);

	if (r >= 0)
		return r;
	if (optind + 1 != argc || strcmp(argv[optind], "ls") != 0) {
		cmd_usage(stderr, "cloud");
		return EXIT_USAGE;
	}
	x.verb = "cloud ls";
	if ((r = cmd_cloud_open(&x)) != 0)
		goto out;
	x.rc = 1;
	r = cloud_list_tag_start(x.cloud, x.tag, cmd_cloud_on_ls, &x);
	if (r != 0)
		fprintf(stderr, "mitosis cloud ls: bad cluster tag %s\n", x.tag);
	uv_run(&x.loop, UV_RUN_DEFAULT);
	if (x.rc == 0 && x.a.json)
		cmd_cloud_print_json(&x);
	else if (x.rc == 0)
		printf("cloud_requests_sent: %llu\n", (unsigned long long)cmd_cloud_requests(&x));
	r = x.rc;
out:
	cmd_cloud_close(&x);
	return r;
}

/* ---- clone ---- */

static void
cmd_cloud_on_cloned(int err, const char *error, const struct cloud_clone_result *res, void *arg)
{
	struct cmd_cloud *x = arg;
	cJSON *ops = cJSON_GetObjectItemCaseSensitive(x->out, "operations"), *op;

	if (err != 0) {
		fprintf(stderr, "mitosis clone: %s: %s\n", res->op_tag, error);
		x->rc = 1;
	}
	x->made = xrealloc(x->made, (x->nmade + res->ndroplets + 1) * sizeof(*x->made));
	if (res->ndroplets > 0)
		memcpy(x->made + x->nmade, res->droplets, res->ndroplets * sizeof(*x->made));
	x->nmade += res->ndroplets;
	x->ndeleted += res->ndeleted;
	x->creates += res->creates;
	op = cJSON_CreateObject();
	cJSON_AddStringToObject(op, "op_tag", res->op_tag);
	cJSON_AddNumberToObject(op, "active", (double)res->ndroplets);
	cJSON_AddNumberToObject(op, "deleted", (double)res->ndeleted);
	cJSON_AddNumberToObject(op, "creates_sent", res->creates);
	cJSON_AddBoolToObject(op, "adopted", res->adopted);
	if (err != 0)
		cJSON_AddStringToObject(op, "error", error);
	cJSON_AddItemToArray(ops, op);
}

/* Starts the clones in batches of up to 10 (DO's multiple-create limit). */
static void
cmd_cloud_clone_go(struct cmd_cloud *x)
{
	const struct cfg *cfg = x->cfg;
	struct cloud_clone_opts o = {
		.cluster = cfg->cluster,
		.cluster_tag = x->tag,
		.image = cfg->clone_image,
		.size = cfg->clone_size,
		.region = cfg->clone_region != NULL ? cfg->clone_region
			  : x->region[0] != '\0'    ? x->region
						    : NULL,
		.vpc_uuid = cfg->clone_vpc_uuid,
		.ssh_keys = (const char *const *)cfg->clone_ssh_keys,
		.nssh_keys = cfg->nclone_ssh_keys,
		.tags = (const char *const *)cfg->clone_tags,
		.ntags = cfg->nclone_tags,
		.seeds = (const char *const *)x->seeds,
		.nseeds = x->nseeds,
		.active_timeout_ms = cfg->active_timeout_ms,
	};
	unsigned left = x->a.count;
	int r;

	x->rc = 0;
	while (left > 0) {
		o.count = left > DOAPI_MAX_NAMES ? DOAPI_MAX_NAMES : left;
		left -= o.count;
		r = cloud_clone_start(x->cloud, &o, cmd_cloud_on_cloned, x);
		if (r != 0) {
			fprintf(stderr, "mitosis clone: cannot start: %s\n", strerror(-r));
			x->rc = 1;
			return;
		}
	}
}

/* The current members give the seeds and, when clone_region is unset, the region. */
static void
cmd_cloud_on_members(int err, const char *error, const struct doapi_droplet *d, size_t n, void *arg)
{
	struct cmd_cloud *x = arg;

	if (err != 0) {
		fprintf(stderr, "mitosis clone: listing the cluster: %s\n", error);
		x->rc = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(d[i].status, "active") != 0 || d[i].private_ipv4[0] == '\0')
			continue;
		if (x->region[0] == '\0')
			snprintf(x->region, sizeof(x->region), "%s", d[i].region);
		if (x->nseeds < CMD_CLOUD_MAX_SEEDS)
			x->seeds[x->nseeds++] = xstrdup(d[i].private_ipv4);
	}
	cmd_cloud_clone_go(x);
}

static void
cmd_cloud_clone_print(struct cmd_cloud *x)
{
	cJSON *arr;

	if (!x->a.json) {
		if (x->nmade > 0)
			cmd_cloud_table(x->made, x->nmade);
		if (x->ndeleted > 0)
			printf("deleted (never active): %zu\n", x->ndeleted);
		printf("cloud_requests_sent: %llu\n", (unsigned long long)cmd_cloud_requests(x));
		return;
	}
	arr = cJSON_AddArrayToObject(x->out, "droplets");
	for (size_t i = 0; i < x->nmade; i++)
		cJSON_AddItemToArray(arr, cmd_cloud_droplet_json(&x->made[i]));
	cJSON_AddNumberToObject(x->out, "deleted", (double)x->ndeleted);
	cJSON_AddBoolToObject(x->out, "dry_run", x->a.dry_run);
	cmd_cloud_print_json(x);
}

int
cmd_clone_main(int argc, char **argv)
{
	struct cmd_cloud x = { .verb = "clone", .rc = 1 };
	int r = cmd_cloud_parse("clone", argc, argv, &x.a, cmd_clone_help);

	if (r >= 0)
		return r;
	if (optind != argc) {
		cmd_usage(stderr, "clone");
		return EXIT_USAGE;
	}
	if ((r = cmd_cloud_open(&x)) != 0)
		goto out;
	if (x.cfg->clone_image == 0 || x.cfg->clone_size == NULL) {
		fprintf(stderr, "mitosis clone: clone_image and clone_size must be set\n");
		r = 1;
		goto out;
	}
	x.out = cJSON_CreateObject();
	cJSON_AddArrayToObject(x.out, "operations");
	r = cloud_list_tag_start(x.cloud, x.tag, cmd_cloud_on_members, &x);
	if (r != 0)
		fprintf(stderr, "mitosis clone: bad cluster tag %s\n", x.tag);
	uv_run(&x.loop, UV_RUN_DEFAULT);
	cmd_cloud_clone_print(&x);
	r = r != 0 ? 1 : x.rc;
out:
	cmd_cloud_close(&x);
	return r;
}

/* ---- snapshot and resize: "this droplet" ---- */

static void
cmd_cloud_on_snapshot(int err, const char *error, uint64_t image_id, void *arg)
{
	struct cmd_cloud *x = arg;

	x->rc = err == 0 ? 0 : 1;
	if (err != 0)
		fprintf(stderr, "mitosis snapshot: %s\n", error);
	x->out = cJSON_CreateObject();
	cJSON_AddNumberToObject(x->out, "droplet_id", (double)x->droplet_id);
	cJSON_AddStringToObject(x->out, "name", x->a.arg);
	cJSON_AddNumberToObject(x->out, "image_id", (double)image_id);
	cJSON_AddBoolToObject(x->out, "dry_run", x->a.dry_run);
	if (!x->a.json && err == 0 && !x->a.dry_run)
		printf("snapshot %s of droplet %llu: image %llu (clone_image = %llu)\n", x->a.arg,
		       (unsigned long long)x->droplet_id, (unsigned long long)image_id,
		       (unsigned long long)image_id);
}

static void
cmd_cloud_on_resized(int err, const char *error, void *arg)
{
	struct cmd_cloud *x = arg;

	x->rc = err == 0 ? 0 : 1;
	if (err != 0)
		fprintf(stderr, "mitosis resize: %s\n", error);
	x->out = cJSON_CreateObject();
	cJSON_AddNumberToObject(x->out, "droplet_id", (double)x->droplet_id);
	cJSON_AddStringToObject(x->out, "size", x->a.arg);
	cJSON_AddBoolToObject(x->out, "ok", err == 0);
	cJSON_AddBoolToObject(x->out, "dry_run", x->a.dry_run);
	if (!x->a.json && err == 0 && !x->a.dry_run)
		printf("droplet %llu resized to %s and powered on\n",
		       (unsigned long long)x->droplet_id, x->a.arg);
}

static void
cmd_cloud_act_go(struct cmd_cloud *x)
{
	int r;

	if (strcmp(x->verb, "snapshot") == 0)
		r = cloud_snapshot_start(x->cloud, x->droplet_id, x->a.arg, 0, 0,
					 cmd_cloud_on_snapshot, x);
	else
		r = cloud_resize_start(x->cloud, x->droplet_id, x->a.arg, 0, 0,
				       cmd_cloud_on_resized, x);
	if (r != 0) {
		fprintf(stderr, "mitosis %s: cannot start: %s\n", x->verb, strerror(-r));
		x->rc = 1;
	}
}

static void
cmd_cloud_on_identity(int err, struct meta_identity *id, const char *why, void *arg)
{
	struct cmd_cloud *x = arg;

	x->mf = NULL;
	if (err != 0) {
		fprintf(stderr, "mitosis %s: no node_id and no metadata service: %s\n", x->verb,
			why);
		x->rc = 1;
		return;
	}
	x->droplet_id = id->droplet_id;
	meta_identity_free(id);
	cmd_cloud_act_go(x);
}

static int
cmd_cloud_act_main(const char *verb, int argc, char **argv, void (*help)(FILE *))
{
	struct cmd_cloud x = { .verb = verb, .rc = 1 };
	struct metadata_opts mo = { 0 };
	char defname[128];
	int r = cmd_cloud_parse(verb, argc, argv, &x.a, help);

	if (r >= 0)
		return r;
	if (optind + 1 < argc || (strcmp(verb, "resize") == 0 && optind + 1 != argc)) {
		cmd_usage(stderr, verb);
		return EXIT_USAGE;
	}
	x.a.arg = optind < argc ? argv[optind] : NULL;
	if ((r = cmd_cloud_open(&x)) != 0)
		goto out;
	if (x.a.arg == NULL) {
		snprintf(defname, sizeof(defname), "%s-%llu", x.cfg->cluster,
			 (unsigned long long)time(NULL));
		x.a.arg = defname;
	}
	x.droplet_id = x.cfg->node_id;
	if (x.droplet_id != 0) {
		cmd_cloud_act_go(&x);
	} else {
		mo.base_url = x.cfg->metadata_url;
		mo.timeout_ms = x.cfg->metadata_timeout_ms;
		mo.attempts = (unsigned)x.cfg->metadata_attempts;
		r = metadata_fetch_start(&x.loop, x.http, &mo, cmd_cloud_on_identity, &x, &x.mf);
		if (r != 0)
			fprintf(stderr, "mitosis %s: metadata: %s\n", verb, strerror(-r));
	}
	uv_run(&x.loop, UV_RUN_DEFAULT);
	if (x.a.json && x.out != NULL)
		cmd_cloud_print_json(&x);
	else
		printf("cloud_requests_sent: %llu\n", (unsigned long long)cmd_cloud_requests(&x));
	r = x.rc;
out:
	cmd_cloud_close(&x);
	return r;
}

int
cmd_snapshot_main(int argc, char **argv)
{
	return cmd_cloud_act_main("snapshot", argc, argv, cmd_snapshot_help);
}

int
cmd_resize_main(int argc, char **argv)
{
	return cmd_cloud_act_main("resize", argc, argv, cmd_resize_help);
}
