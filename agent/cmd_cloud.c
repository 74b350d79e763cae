/*
 * cmd_cloud: `mitosis cloud ls`, `clone`, `snapshot` and `resize`
 * (docs/cloud.md), each on the command frame (cmd_frame.h): the options,
 * the configuration with its flags, a private loop, the API client, and
 * waiting with a word to the user. Each verb starts one operation from
 * cloud_clone.c or cloud_ops.c and waits for it.
 *
 * Output is a table or --json on stdout; the last line (or the
 * "cloud_requests_sent" member) is the number of API requests sent. With
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

#include "cfg.h"
#include "cloud.h"
#include "cloud_clone.h"
#include "cloud_ops.h"
#include "cmd.h"
#include "cmd_bootstrap.h"
#include "cmd_cloud.h"
#include "cmd_frame.h"
#include "container.h"
#include "doapi.h"
#include "meta.h"
#include "xmalloc.h"

#define CMD_CLOUD_MAX_COUNT 50
#define CMD_CLOUD_MAX_SEEDS 5

enum { CMD_CLOUD_COUNT = 300 };

/* One cloud verb: the frame, and what the verb builds its answer from. */
struct cmd_cloud {
	struct cmd_frame f;
	unsigned count;	 /* clone --count */
	const char *arg; /* SIZE for resize, NAME for snapshot */
	char name[128];	 /* the default snapshot name */
	cJSON *out;	 /* the --json document being built */
	/* clone */
	char *seeds[CMD_CLOUD_MAX_SEEDS];
	size_t nseeds;
	char region[32];
	struct doapi_droplet *made;
	size_t nmade;
	size_t ndeleted;
};

static int cmd_cloud_main(int argc, char **argv);
static int cmd_clone_main(int argc, char **argv);
static int cmd_snapshot_main(int argc, char **argv);
static int cmd_resize_main(int argc, char **argv);
static void cmd_cloud_help(FILE *out);
static void cmd_clone_help(FILE *out);
static void cmd_snapshot_help(FILE *out);
static void cmd_resize_help(FILE *out);

const struct cmd_entry cmd_cloud_entry = {
	"cloud",
	cmd_cloud_main,
	"cloud ls|bootstrap [--json] [--dry-run] [-c FILE] [--KEY VALUE ...]",
	"list the cluster's droplets (by the cluster tag); bootstrap a new cluster",
	cmd_cloud_help,
};
const struct cmd_entry cmd_clone_entry = {
	"clone",
	cmd_clone_main,
	"clone [--count N] [--json] [--dry-run] [-c FILE] [--KEY VALUE ...]",
	"create N droplets from clone_image and wait until they are active",
	cmd_clone_help,
};
const struct cmd_entry cmd_snapshot_entry = {
	"snapshot",
	cmd_snapshot_main,
	"snapshot [NAME] [--json] [--dry-run] [-c FILE] [--KEY VALUE ...]",
	"snapshot this droplet and print the new image id",
	cmd_snapshot_help,
};
const struct cmd_entry cmd_resize_entry = {
	"resize",
	cmd_resize_main,
	"resize SIZE [--json] [--dry-run] [-c FILE] [--KEY VALUE ...]",
	"resize this droplet (power off, resize without disk, power on)",
	cmd_resize_help,
};

static void
cmd_cloud_common_help(FILE *out)
{
	fprintf(out,
		"Options:\n"
		"  -c FILE      agent configuration (default " CMD_DEFAULT_CONFIG ")\n"
		"  --json       print a JSON document\n"
		"  --dry-run    print the calls that would change something; send only GETs\n"
		"  --KEY VALUE  any configuration key, over the file (--token-file PATH,\n"
		"               --api-url URL, --api-timeout 5s, ...; 'mitosis help agent')\n"
		"\nThe API token is read from token_file, the API from api_url. After a second\n"
		"without an answer the verb says what it waits for; after api_timeout it gives\n"
		"up. Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static void
cmd_cloud_help(FILE *out)
{
	fprintf(out,
		"`cloud ls` lists the droplets carrying the cluster tag (one request per\n"
		"200 droplets): id, name, status, addresses, region, size, creation time.\n\n");
	cmd_cloud_common_help(out);
}

static void
cmd_clone_help(FILE *out)
{
	fprintf(out,
		"Creates N droplets (default 1, at most %d) from clone_image with clone_size,\n"
		"clone_region, clone_vpc_uuid, clone_ssh_keys and the cluster tag plus\n"
		"clone_tags, seeded with the private addresses of current members, and waits\n"
		"until each is active with its addresses; one not active by active_timeout\n"
		"is deleted.\n\n  --count N    how many droplets\n",
		CMD_CLOUD_MAX_COUNT);
	cmd_cloud_common_help(out);
}

static void
cmd_snapshot_help(FILE *out)
{
	fprintf(out, "Snapshots this droplet (node_id, else the metadata service) as NAME\n"
		     "(default CLUSTER-UNIXTIME), waits for it and prints the new image id, the\n"
		     "value for clone_image.\n\n");
	cmd_cloud_common_help(out);
}

static void
cmd_resize_help(FILE *out)
{
	fprintf(out, "Resizes this droplet to SIZE (a size slug): power_off, resize with disk\n"
		     "false (so it can shrink again), power_on, each waited for.\n\n");
	cmd_cloud_common_help(out);
}

/* clone's --count; the other verbs have no option of their own. */
static int
cmd_cloud_option(struct cmd_frame *f, int val, const char *arg, void *ctx)
{
	struct cmd_cloud *x = ctx;
	char *end;
	long v = strtol(arg, &end, 10);

	if (val != CMD_CLOUD_COUNT || *end != '\0' || v < 1 || v > CMD_CLOUD_MAX_COUNT) {
		fprintf(stderr, "mitosis %s: --count takes 1..%d\n", f->cmd->name,
			CMD_CLOUD_MAX_COUNT);
		return EXIT_USAGE;
	}
	x->count = (unsigned)v;
	return -1;
}

/* Parses argv with `nargs` operands allowed (min..max). -1 to go on, else an exit code. */
static int
cmd_cloud_parse(struct cmd_cloud *x, const struct cmd_entry *cmd, int argc, char **argv, int min,
		int max)
{
	static const struct option clone_opts[] = {
		{ "count", required_argument, NULL, CMD_CLOUD_COUNT },
		{ NULL, 0, NULL, 0 },
	};
	int r;

	x->count = 1;
	r = cmd_frame_parse(&x->f, cmd, argc, argv, NULL,
			    cmd == &cmd_clone_entry ? clone_opts : NULL, cmd_cloud_option, x);
	if (r < 0 && (argc - optind < min || argc - optind > max)) {
		cmd_usage(stderr, cmd);
		r = EXIT_USAGE;
	}
	return r;
}

/* Ends a verb: frees what it built and returns its exit code. */
static int
cmd_cloud_close(struct cmd_cloud *x)
{
	int rc = cmd_frame_close(&x->f);

	for (size_t i = 0; i < x->nseeds; i++)
		free(x->seeds[i]);
	free(x->made);
	cJSON_Delete(x->out);
	return rc;
}

static uint64_t
cmd_cloud_requests(const struct cmd_cloud *x)
{
	return x->f.cloud != NULL ? cloud_requests_sent(x->f.cloud) : 0;
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

/* The last word of every verb: the --json document, or the request count. */
static void
cmd_cloud_print(struct cmd_cloud *x)
{
	char *s;

	if (!x->f.json || x->out == NULL) {
		printf("cloud_requests_sent: %llu\n", (unsigned long long)cmd_cloud_requests(x));
		return;
	}
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

	cmd_frame_end(&x->f);
	if (err != 0) {
		cmd_frame_fail(&x->f, "%s", error);
		return;
	}
	if (!x->f.json) {
		cmd_cloud_table(d, n);
		return;
	}
	x->out = cJSON_CreateObject();
	cJSON_AddStringToObject(x->out, "tag", x->f.cfg->cluster_tag);
	arr = cJSON_AddArrayToObject(x->out, "droplets");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cmd_cloud_droplet_json(&d[i]));
}

/* Lists the cluster by its tag, into cb. 0, or 1 after saying why. */
static int
cmd_cloud_list(struct cmd_cloud *x, cloud_droplets_fn *cb)
{
	if (cloud_list_tag_start(x->f.cloud, x->f.cfg->cluster_tag, cb, x) != 0) {
		cmd_frame_fail(&x->f, "bad cluster tag %s", x->f.cfg->cluster_tag);
		return 1;
	}
	cmd_frame_begin(&x->f);
	return 0;
}

static int
cmd_cloud_main(int argc, char **argv)
{
	struct cmd_cloud x = { 0 };
	int r;

	if (argc > 1 && strcmp(argv[1], "bootstrap") == 0)
		return cmd_bootstrap_main(argc - 1, argv + 1);
	r = cmd_cloud_parse(&x, &cmd_cloud_entry, argc, argv, 1, 1);

	if (r < 0 && strcmp(argv[optind], "ls") != 0) {
		cmd_usage(stderr, &cmd_cloud_entry);
		r = EXIT_USAGE;
	}
	if (r >= 0) {
		cmd_cloud_close(&x);
		return r;
	}
	if (cmd_frame_open(&x.f, CMD_FRAME_API) == 0 && cmd_cloud_list(&x, cmd_cloud_on_ls) == 0 &&
	    cmd_frame_wait(&x.f) && x.f.rc == 0)
		cmd_cloud_print(&x);
	return cmd_cloud_close(&x);
}

/* ---- clone ---- */

static void
cmd_cloud_on_cloned(int err, const char *error, const struct cloud_clone_result *res, void *arg)
{
	struct cmd_cloud *x = arg;
	cJSON *ops = cJSON_GetObjectItemCaseSensitive(x->out, "operations"), *op;

	cmd_frame_end(&x->f);
	if (err != 0)
		cmd_frame_fail(&x->f, "%s: %s", res->op_tag, error);
	x->made = xrealloc(x->made, (x->nmade + res->ndroplets + 1) * sizeof(*x->made));
	if (res->ndroplets > 0)
		memcpy(x->made + x->nmade, res->droplets, res->ndroplets * sizeof(*x->made));
	x->nmade += res->ndroplets;
	x->ndeleted += res->ndeleted;
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
	const struct cfg *cfg = x->f.cfg;
	struct cloud_clone_opts o = {
		.cluster = cfg->cluster,
		.cluster_tag = cfg->cluster_tag,
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
		.delete_timeout_ms = cfg->delete_timeout_ms,
		/* The address rotation uses must be there too (the private one always is). */
		.need_public = cfg->register_address == NULL ||
			       strcmp(cfg->register_address, "private") != 0,
	};
	unsigned left = x->count;
	int r;

	while (left > 0) {
		o.count = left > DOAPI_MAX_NAMES ? DOAPI_MAX_NAMES : left;
		left -= o.count;
		r = cloud_clone_start(x->f.cloud, &o, cmd_cloud_on_cloned, x);
		if (r != 0) {
			cmd_frame_fail(&x->f, "cannot start: %s", strerror(-r));
			return;
		}
		cmd_frame_begin(&x->f);
	}
}

/* The current members give the seeds and, when clone_region is unset, the region. */
static void
cmd_cloud_on_members(int err, const char *error, const struct doapi_droplet *d, size_t n, void *arg)
{
	struct cmd_cloud *x = arg;

	cmd_frame_end(&x->f);
	if (err != 0) {
		cmd_frame_fail(&x->f, "listing the cluster: %s", error);
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

	if (!x->f.json) {
		if (x->nmade > 0)
			cmd_cloud_table(x->made, x->nmade);
		if (x->ndeleted > 0)
			printf("deleted (never active): %zu\n", x->ndeleted);
		cmd_cloud_print(x);
		return;
	}
	arr = cJSON_AddArrayToObject(x->out, "droplets");
	for (size_t i = 0; i < x->nmade; i++)
		cJSON_AddItemToArray(arr, cmd_cloud_droplet_json(&x->made[i]));
	cJSON_AddNumberToObject(x->out, "deleted", (double)x->ndeleted);
	cJSON_AddBoolToObject(x->out, "dry_run", x->f.dry_run);
	cmd_cloud_print(x);
}

static int
cmd_clone_main(int argc, char **argv)
{
	struct cmd_cloud x = { 0 };
	int r = cmd_cloud_parse(&x, &cmd_clone_entry, argc, argv, 0, 0);

	if (r >= 0) {
		cmd_cloud_close(&x);
		return r;
	}
	if (cmd_frame_open(&x.f, CMD_FRAME_API) != 0)
		return cmd_cloud_close(&x);
	if (x.f.cfg->clone_image == 0 || x.f.cfg->clone_size == NULL) {
		cmd_frame_fail(&x.f, "clone_image and clone_size must be set");
		return cmd_cloud_close(&x);
	}
	x.out = cJSON_CreateObject();
	cJSON_AddArrayToObject(x.out, "operations");
	/* What was made is printed even when a batch failed. */
	if (cmd_cloud_list(&x, cmd_cloud_on_members) == 0 && cmd_frame_wait(&x.f))
		cmd_cloud_clone_print(&x);
	return cmd_cloud_close(&x);
}

/* ---- snapshot and resize: "this droplet" ---- */

static void
cmd_cloud_on_snapshot(int err, const char *error, uint64_t image_id, void *arg)
{
	struct cmd_cloud *x = arg;

	cmd_frame_end(&x->f);
	if (err != 0)
		cmd_frame_fail(&x->f, "%s", error);
	x->out = cJSON_CreateObject();
	cJSON_AddNumberToObject(x->out, "droplet_id", (double)x->f.self->droplet_id);
	cJSON_AddStringToObject(x->out, "name", x->arg);
	cJSON_AddNumberToObject(x->out, "image_id", (double)image_id);
	cJSON_AddBoolToObject(x->out, "dry_run", x->f.dry_run);
	if (!x->f.json && err == 0 && !x->f.dry_run)
		printf("snapshot %s of droplet %llu: image %llu (clone_image = %llu)\n", x->arg,
		       (unsigned long long)x->f.self->droplet_id, (unsigned long long)image_id,
		       (unsigned long long)image_id);
}

static void
cmd_cloud_on_resized(int err, const char *error, void *arg)
{
	struct cmd_cloud *x = arg;

	cmd_frame_end(&x->f);
	if (err != 0)
		cmd_frame_fail(&x->f, "%s", error);
	x->out = cJSON_CreateObject();
	cJSON_AddNumberToObject(x->out, "droplet_id", (double)x->f.self->droplet_id);
	cJSON_AddStringToObject(x->out, "size", x->arg);
	cJSON_AddBoolToObject(x->out, "ok", err == 0);
	cJSON_AddBoolToObject(x->out, "dry_run", x->f.dry_run);
	if (!x->f.json && err == 0 && !x->f.dry_run)
		printf("droplet %llu resized to %s and powered on\n",
		       (unsigned long long)x->f.self->droplet_id, x->arg);
}

/* snapshot [NAME] and resize SIZE: this droplet, one action machine, waited for. */
static int
cmd_cloud_act_main(const struct cmd_entry *cmd, int argc, char **argv)
{
	bool resize = cmd == &cmd_resize_entry;
	struct cmd_cloud x = { 0 };
	int r = cmd_cloud_parse(&x, cmd, argc, argv, resize ? 1 : 0, 1);

	if (r >= 0) {
		cmd_cloud_close(&x);
		return r;
	}
	x.arg = optind < argc ? argv[optind] : NULL;
	if (cmd_frame_open(&x.f, CMD_FRAME_API) != 0 || cmd_frame_self(&x.f) == NULL)
		return cmd_cloud_close(&x);
	if (x.arg == NULL) {
		snprintf(x.name, sizeof(x.name), "%s-%llu", x.f.cfg->cluster,
			 (unsigned long long)time(NULL));
		x.arg = x.name;
	}
	r = resize ? cloud_resize_start(x.f.cloud, x.f.self->droplet_id, x.arg, 0, 0,
					cmd_cloud_on_resized, &x)
		   : cloud_snapshot_start(x.f.cloud, x.f.self->droplet_id, x.arg, 0, 0,
					  cmd_cloud_on_snapshot, &x);
	if (r != 0)
		cmd_frame_fail(&x.f, "cannot start: %s", strerror(-r));
	else
		cmd_frame_begin(&x.f);
	if (r == 0 && cmd_frame_wait(&x.f))
		cmd_cloud_print(&x);
	return cmd_cloud_close(&x);
}

static int
cmd_snapshot_main(int argc, char **argv)
{
	return cmd_cloud_act_main(&cmd_snapshot_entry, argc, argv);
}

static int
cmd_resize_main(int argc, char **argv)
{
	return cmd_cloud_act_main(&cmd_resize_entry, argc, argv);
}
