/*
 * cmd_bootstrap: `mitosis cloud bootstrap` (cmd_bootstrap.h). One state
 * machine on the command frame (cmd_frame.h):
 *
 *   CHECK   GET the droplets under the cluster tag: a tag that carries any
 *           is an existing cluster, refused (grow it with `mitosis clone`;
 *           founding a second group beside it would split it)
 *   FIRST   the first founder (cloud_clone, no seeds): its private address
 *           and region are the others' seed and region
 *   OTHERS  the other N - 1 founders, seeded with it
 *   LEADER  with do-dns or do-lb among the registrars: the zone's A records
 *           under dns_name (or the balancer's droplets) until every founder
 *           is there, which only an elected leader does; else done at once
 *   UNDO    a create failed: every founder made is deleted (a cluster with
 *           fewer than bootstrap_expect founders would never found itself)
 *   DONE
 *
 * Every founder's user-data is a clone's (doapi_clone_user_data: the drop-in
 * written whole) plus `bootstrap_expect = E`: only the first nodes ever carry
 * it, never the snapshot (docs/election.md, "Founding").
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "cloud.h"
#include "cloud_clone.h"
#include "cloud_ops.h"
#include "cmd.h"
#include "cmd_bootstrap.h"
#include "cmd_frame.h"
#include "container.h"
#include "doapi.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define BOOT_MAX	   DOAPI_MAX_NAMES /* one create of the others */
#define BOOT_LEADER_MS	   (10 * 60 * 1000)
#define BOOT_POLL_FIRST_MS 2000

enum { BOOT_OPT_COUNT = 300, BOOT_OPT_EXPECT, BOOT_OPT_IMAGE, BOOT_OPT_TIMEOUT, BOOT_OPT_NO_WAIT };

enum boot_state { BOOT_CHECK, BOOT_FIRST, BOOT_OTHERS, BOOT_LEADER, BOOT_UNDO, BOOT_DONE };

struct boot {
	struct cmd_frame f;
	enum boot_state state;
	unsigned count, expect;
	uint64_t image, timeout_ms;
	bool no_wait;
	char *user_data;
	struct doapi_droplet made[BOOT_MAX];
	size_t nmade, undone;
	char seed[DOAPI_IPV4_LEN], region[32];
	/* LEADER */
	const char *watch; /* "do-dns" or "do-lb": what shows the leader's work */
	char fqdn[300];
	uint64_t leader_by, started_ms, leader_after_ms;
	bool led;
	struct cloud_ops_pace pace;
	uv_timer_t timer;
	bool timer_open;
};

static void cmd_bootstrap_help(FILE *out);
static void boot_enter(struct boot *b, enum boot_state st);

const struct cmd_entry cmd_bootstrap_entry = {
	"cloud bootstrap",
	cmd_bootstrap_main,
	"cloud bootstrap [--count N] [--expect E] [--image ID] [--timeout DURATION] [--no-wait]\n"
	"       [--json] [--dry-run] [-c FILE] [--KEY VALUE ...]",
	"start the first droplets of a new cluster; wait until its leader serves them",
	cmd_bootstrap_help,
};

static void
cmd_bootstrap_help(FILE *out)
{
	fprintf(out,
		"Creates N droplets (default 3, at most %d) from clone_image (or --image)\n"
		"with clone_size, clone_region, clone_vpc_uuid, clone_ssh_keys, the cluster\n"
		"tag and clone_tags, each with user-data that sets bootstrap_expect = E\n"
		"(default N): the first one alone, then the others seeded with its private\n"
		"address, in its region. They elect a leader among themselves. With do-dns\n"
		"or do-lb among the registrars, it then waits until the leader has put every\n"
		"one into rotation (the A records under dns_name, or the balancer's\n"
		"droplets), at most --timeout (default 10m). A cluster tag that already\n"
		"carries droplets is refused: grow a cluster with `mitosis clone`. If a\n"
		"create fails, every droplet made is deleted.\n\n"
		"  --count N     founders, 1..%d\n"
		"  --expect E    bootstrap_expect, more than half of N (default N)\n"
		"  --image ID    the snapshot (default clone_image)\n"
		"  --timeout D   how long to wait for the leader's registrations\n"
		"  --no-wait     end once every founder is active\n"
		"  -c FILE, --json, --dry-run, --KEY VALUE: as `mitosis clone`.\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n",
		BOOT_MAX, BOOT_MAX);
}

static int
boot_option(struct cmd_frame *f, int val, const char *arg, void *ctx)
{
	struct boot *b = ctx;
	uint64_t v;

	(void)f;
	if (val == BOOT_OPT_NO_WAIT) {
		b->no_wait = true;
		return -1;
	}
	if (val == BOOT_OPT_TIMEOUT &&
	    util_parse_duration_ms(arg, 1000, 24ULL * 3600 * 1000, &b->timeout_ms) == 0)
		return -1;
	if (val == BOOT_OPT_COUNT && util_parse_u64(arg, 1, BOOT_MAX, &v) == 0) {
		b->count = (unsigned)v;
		return -1;
	}
	if (val == BOOT_OPT_EXPECT && util_parse_u64(arg, 1, 7, &v) == 0) {
		b->expect = (unsigned)v;
		return -1;
	}
	if (val == BOOT_OPT_IMAGE && util_parse_u64(arg, 1, UINT64_MAX, &b->image) == 0)
		return -1;
	fprintf(stderr,
		"mitosis cloud bootstrap: bad value '%s' (--count 1..%d, --expect 1..7, "
		"--image an id, --timeout a duration)\n",
		arg, BOOT_MAX);
	return EXIT_USAGE;
}

static int
boot_parse(struct boot *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, BOOT_OPT_COUNT },
		{ "expect", required_argument, NULL, BOOT_OPT_EXPECT },
		{ "image", required_argument, NULL, BOOT_OPT_IMAGE },
		{ "timeout", required_argument, NULL, BOOT_OPT_TIMEOUT },
		{ "no-wait", no_argument, NULL, BOOT_OPT_NO_WAIT },
		{ NULL, 0, NULL, 0 },
	};
	int r;

	b->count = 3;
	b->timeout_ms = BOOT_LEADER_MS;
	r = cmd_frame_parse(&b->f, &cmd_bootstrap_entry, argc, argv, NULL, opts, boot_option, b);
	if (r < 0 && optind < argc) {
		cmd_usage(stderr, &cmd_bootstrap_entry);
		r = EXIT_USAGE;
	}
	if (r < 0 && b->expect == 0)
		b->expect = b->count;
	/* A founding group smaller than a majority of the founders could found
	 * twice; one larger than the founders never founds. */
	if (r < 0 && (b->expect > b->count || 2 * b->expect <= b->count)) {
		fprintf(stderr,
			"mitosis cloud bootstrap: --expect %u with --count %u: it must be more "
			"than half of the founders and at most all of them\n",
			b->expect, b->count);
		r = EXIT_USAGE;
	}
	return r;
}

/*
 * The founders' user-data: a clone's (its drop-in, written whole), with
 * bootstrap_expect added to the drop-in. NULL after saying why.
 */
static char *
boot_user_data(struct boot *b)
{
	const char *seeds[1] = { b->seed };
	char *ud = NULL, *out, *run;

	if (doapi_clone_user_data(b->f.cfg->cluster, seeds, b->seed[0] != '\0', &ud) != 0 ||
	    (run = strstr(ud, "\nruncmd:")) == NULL) {
		free(ud);
		cmd_frame_fail(&b->f, "cannot write the founders' user-data (cluster %s)",
			       b->f.cfg->cluster);
		return NULL;
	}
	out = xasprintf("%.*s\n      bootstrap_expect = %u%s", (int)(run - ud), ud, b->expect, run);
	free(ud);
	return out;
}

/* ---- the machine ---- */

static const char *
boot_state_name(enum boot_state st)
{
	static const char *const names[] = { "check", "first", "others", "leader", "undo", "done" };

	return names[st];
}

static void
boot_on_listed(int err, const char *error, const struct doapi_droplet *d, size_t n, void *arg)
{
	struct boot *b = arg;

	cmd_frame_end(&b->f);
	if (err != 0) {
		cmd_frame_fail(&b->f, "listing the tag %s: %s", b->f.cfg->cluster_tag, error);
		boot_enter(b, BOOT_DONE);
		return;
	}
	if (n > 0) {
		cmd_frame_fail(
			&b->f,
			"the cluster tag %s already carries %zu droplet%s (the first: %" PRIu64
			" %s): that cluster exists; grow it with `mitosis clone`, or "
			"choose another cluster name",
			b->f.cfg->cluster_tag, n, n == 1 ? "" : "s", d[0].id, d[0].name);
		boot_enter(b, BOOT_DONE);
		return;
	}
	boot_enter(b, BOOT_FIRST);
}

static void
boot_on_cloned(int err, const char *error, const struct cloud_clone_result *res, void *arg)
{
	struct boot *b = arg;

	cmd_frame_end(&b->f);
	for (size_t i = 0; i < res->ndroplets && b->nmade < BOOT_MAX; i++)
		b->made[b->nmade++] = res->droplets[i];
	if (err != 0) {
		cmd_frame_fail(&b->f, "%s: %s", res->op_tag, error);
		boot_enter(b, b->nmade > 0 ? BOOT_UNDO : BOOT_DONE);
		return;
	}
	if (b->nmade == 0) { /* a dry run: nothing was made */
		boot_enter(b, BOOT_DONE);
		return;
	}
	fprintf(stderr, "mitosis cloud bootstrap: %zu of %u founders active (%s)\n", b->nmade,
		b->count, res->op_tag);
	if (b->state == BOOT_FIRST && b->count > 1) {
		snprintf(b->seed, sizeof(b->seed), "%s", b->made[0].private_ipv4);
		snprintf(b->region, sizeof(b->region), "%s", b->made[0].region);
		boot_enter(b, BOOT_OTHERS);
	} else {
		boot_enter(b, b->watch != NULL && !b->no_wait ? BOOT_LEADER : BOOT_DONE);
	}
}

/* FIRST and OTHERS: founders from the snapshot, all of a batch at once. */
static void
boot_create(struct boot *b, unsigned n)
{
	const struct cfg *cfg = b->f.cfg;
	struct cloud_clone_opts o = {
		.cluster = cfg->cluster,
		.cluster_tag = cfg->cluster_tag,
		.image = b->image,
		.size = cfg->clone_size,
		.region = b->region[0] != '\0' ? b->region : cfg->clone_region,
		.vpc_uuid = cfg->clone_vpc_uuid,
		.ssh_keys = (const char *const *)cfg->clone_ssh_keys,
		.nssh_keys = cfg->nclone_ssh_keys,
		.tags = (const char *const *)cfg->clone_tags,
		.ntags = cfg->nclone_tags,
		.count = n,
		.active_timeout_ms = cfg->active_timeout_ms,
		.delete_timeout_ms = cfg->delete_timeout_ms,
		.need_public = cfg->register_address == NULL ||
			       strcmp(cfg->register_address, "private") != 0,
	};
	int r;

	free(b->user_data);
	if ((b->user_data = boot_user_data(b)) == NULL) {
		boot_enter(b, b->nmade > 0 ? BOOT_UNDO : BOOT_DONE);
		return;
	}
	o.user_data = b->user_data;
	r = cloud_clone_start(b->f.cloud, &o, boot_on_cloned, b);
	if (r != 0) {
		cmd_frame_fail(&b->f, "cannot create the founders: %s", strerror(-r));
		boot_enter(b, b->nmade > 0 ? BOOT_UNDO : BOOT_DONE);
		return;
	}
	cmd_frame_begin(&b->f);
}

/* ---- LEADER: the registrar shows every founder ---- */

/* The address a registrar puts in rotation for founder i. */
static const char *
boot_address(const struct boot *b, size_t i)
{
	const char *ra = b->f.cfg->register_address;

	return ra != NULL && strcmp(ra, "private") == 0 ? b->made[i].private_ipv4
							: b->made[i].public_ipv4;
}

/* How many founders the answer holds: A records' data, or the balancer's ids. */
static size_t
boot_served(const struct boot *b, const cJSON *root)
{
	const cJSON *lb = cJSON_GetObjectItemCaseSensitive(root, "load_balancer");
	const cJSON *arr = lb != NULL ? cJSON_GetObjectItemCaseSensitive(lb, "droplet_ids")
				      : cJSON_GetObjectItemCaseSensitive(root, "domain_records");
	const cJSON *it;
	size_t k = 0;

	for (size_t i = 0; i < b->nmade; i++) {
		bool in = false;

		cJSON_ArrayForEach(it, arr)
		{
			const cJSON *data = cJSON_GetObjectItemCaseSensitive(it, "data");

			in = in ||
			     (cJSON_IsNumber(it) && (uint64_t)it->valuedouble == b->made[i].id) ||
			     (cJSON_IsString(data) &&
			      strcmp(data->valuestring, boot_address(b, i)) == 0);
		}
		k += in;
	}
	return k;
}

static void boot_poll(struct boot *b);

static void
boot_on_rotation(const struct cloud_resp *r, void *arg)
{
	struct boot *b = arg;
	size_t k = r->err == 0 && r->status == 200 ? boot_served(b, r->json) : 0;

	cmd_frame_end(&b->f);
	if (k == b->nmade) {
		b->led = true;
		b->leader_after_ms = uv_now(&b->f.loop) - b->started_ms;
		fprintf(stderr, "mitosis cloud bootstrap: a leader serves all %zu founders (%s)\n",
			b->nmade, b->watch);
		boot_enter(b, BOOT_DONE);
	} else if (uv_now(&b->f.loop) >= b->leader_by) {
		cmd_frame_fail(&b->f,
			       "%zu of %zu founders in rotation (%s) after %" PRIu64
			       " s: no leader has served them all; the droplets are kept: on one, "
			       "`mitosis leader` says why",
			       k, b->nmade, b->watch, b->timeout_ms / 1000);
		boot_enter(b, BOOT_DONE);
	} else {
		boot_poll(b);
	}
}

static void
boot_on_timer(uv_timer_t *t)
{
	struct boot *b = container_of(t, struct boot, timer);
	char *path = strcmp(b->watch, "do-lb") == 0
			     ? xasprintf("/v2/load_balancers/%s", b->f.cfg->lb_id)
			     : xasprintf("/v2/domains/%s/records?type=A&name=%s",
					 b->f.cfg->dns_domain, b->fqdn);

	if (cloud_call(b->f.cloud, "GET", path, NULL, 0, boot_on_rotation, b) == 0) {
		cmd_frame_begin(&b->f);
	} else {
		cmd_frame_fail(&b->f, "cannot ask %s", path);
		boot_enter(b, BOOT_DONE);
	}
	free(path);
	cmd_frame_end(&b->f);
}

static void
boot_poll(struct boot *b)
{
	uv_timer_start(&b->timer, boot_on_timer, cloud_ops_pace_next(&b->pace), 0);
	cmd_frame_begin(&b->f);
}

/* ---- UNDO ---- */

static void
boot_on_deleted(int err, const char *error, const struct cloud_delete_result *res, void *arg)
{
	struct boot *b = arg;

	(void)res;
	cmd_frame_end(&b->f);
	if (err != 0)
		cmd_frame_fail(&b->f, "could not delete a founder: %s; it may still bill", error);
	else
		b->undone++;
}

static void
boot_undo(struct boot *b)
{
	fprintf(stderr, "mitosis cloud bootstrap: deleting the %zu founder%s made\n", b->nmade,
		b->nmade == 1 ? "" : "s");
	for (size_t i = 0; i < b->nmade; i++) {
		if (cloud_delete_start(b->f.cloud, b->made[i].id, b->f.cfg->delete_timeout_ms,
				       boot_on_deleted, b) == 0)
			cmd_frame_begin(&b->f);
		else
			cmd_frame_fail(&b->f,
				       "cannot delete founder %" PRIu64 "; delete it yourself",
				       b->made[i].id);
	}
}

static void
boot_enter(struct boot *b, enum boot_state st)
{
	log_debug("cloud bootstrap: %s -> %s", boot_state_name(b->state), boot_state_name(st));
	b->state = st;
	switch (st) {
	case BOOT_CHECK:
		if (cloud_list_tag_start(b->f.cloud, b->f.cfg->cluster_tag, boot_on_listed, b) == 0)
			cmd_frame_begin(&b->f);
		else
			cmd_frame_fail(&b->f, "bad cluster tag %s", b->f.cfg->cluster_tag);
		break;
	case BOOT_FIRST:
		boot_create(b, 1);
		break;
	case BOOT_OTHERS:
		boot_create(b, b->count - 1);
		break;
	case BOOT_LEADER:
		b->leader_by = uv_now(&b->f.loop) + b->timeout_ms;
		cloud_ops_pace_init(&b->pace, BOOT_POLL_FIRST_MS);
		boot_poll(b);
		break;
	case BOOT_UNDO:
		boot_undo(b);
		break;
	case BOOT_DONE:
		break;
	}
}

/* ---- the verb ---- */

/* What shows a leader from here: the first do-dns or do-lb registrar. */
static void
boot_pick_watch(struct boot *b)
{
	const struct cfg *cfg = b->f.cfg;

	for (size_t i = 0; i < cfg->nregistrars && b->watch == NULL; i++) {
		if (strcmp(cfg->registrars[i], "do-dns") == 0)
			b->watch = "do-dns";
		else if (strcmp(cfg->registrars[i], "do-lb") == 0)
			b->watch = "do-lb";
	}
	if (b->watch != NULL && strcmp(b->watch, "do-dns") == 0)
		snprintf(b->fqdn, sizeof(b->fqdn), "%s%s%s",
			 strcmp(cfg->dns_name, "@") == 0 ? "" : cfg->dns_name,
			 strcmp(cfg->dns_name, "@") == 0 ? "" : ".", cfg->dns_domain);
	if (b->watch == NULL && !b->no_wait)
		fprintf(stderr,
			"mitosis cloud bootstrap: no do-dns or do-lb registrar: the leader "
			"cannot be seen from outside the VPC, so this ends once every founder "
			"is active (on one of them, `mitosis leader` names it)\n");
}

static void
boot_print(struct boot *b)
{
	cJSON *o, *arr;
	char *s;

	if (!b->f.json) {
		for (size_t i = 0; i < b->nmade; i++)
			printf("founder %" PRIu64 " %s %s/%s %s\n", b->made[i].id, b->made[i].name,
			       b->made[i].public_ipv4, b->made[i].private_ipv4, b->made[i].region);
		if (b->led)
			printf("leader: serving all %zu founders after %" PRIu64 " s (%s)\n",
			       b->nmade, b->leader_after_ms / 1000, b->watch);
		printf("cloud_requests_sent: %" PRIu64 "\n", cloud_requests_sent(b->f.cloud));
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", b->f.rc == 0);
	cJSON_AddNumberToObject(o, "bootstrap_expect", b->expect);
	arr = cJSON_AddArrayToObject(o, "founders");
	for (size_t i = 0; i < b->nmade; i++) {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddNumberToObject(d, "id", (double)b->made[i].id);
		cJSON_AddStringToObject(d, "name", b->made[i].name);
		cJSON_AddStringToObject(d, "public_ipv4", b->made[i].public_ipv4);
		cJSON_AddStringToObject(d, "private_ipv4", b->made[i].private_ipv4);
		cJSON_AddStringToObject(d, "region", b->made[i].region);
		cJSON_AddItemToArray(arr, d);
	}
	cJSON_AddNumberToObject(o, "deleted", (double)b->undone);
	if (b->watch != NULL)
		cJSON_AddStringToObject(o, "leader_seen_by", b->watch);
	cJSON_AddBoolToObject(o, "leader_serves_all", b->led);
	cJSON_AddBoolToObject(o, "dry_run", b->f.dry_run);
	cJSON_AddNumberToObject(o, "cloud_requests_sent", (double)cloud_requests_sent(b->f.cloud));
	s = cJSON_PrintUnformatted(o);
	if (s != NULL)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
}

int
cmd_bootstrap_main(int argc, char **argv)
{
	struct boot b = { 0 };
	int r = boot_parse(&b, argc, argv);

	if (r >= 0) {
		cmd_frame_close(&b.f);
		return r;
	}
	if (cmd_frame_open(&b.f, CMD_FRAME_API) != 0)
		goto out;
	if (b.image == 0)
		b.image = b.f.cfg->clone_image;
	if (b.image == 0 || b.f.cfg->clone_size == NULL) {
		cmd_frame_fail(&b.f, "the snapshot (--image or clone_image) and clone_size must "
				     "be set");
		goto out;
	}
	boot_pick_watch(&b);
	uv_timer_init(&b.f.loop, &b.timer);
	b.timer_open = true;
	b.started_ms = uv_now(&b.f.loop);
	boot_enter(&b, BOOT_CHECK);
	if (cmd_frame_wait(&b.f))
		boot_print(&b);
out:
	if (b.timer_open)
		uv_close((uv_handle_t *)&b.timer, NULL);
	free(b.user_data);
	return cmd_frame_close(&b.f);
}
