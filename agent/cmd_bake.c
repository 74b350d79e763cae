/*
 * cmd_bake: `mitosis bake` (cmd_bake.h; docs/operations.md, "Baking a
 * snapshot"). One state machine on the command frame (cmd_frame.h):
 *
 *   IMAGE    the base image's id (a slug is looked up: GET /v2/images/SLUG)
 *   CREATE   the builder, through cloud_clone (never created twice, deleted
 *            when not active by active_timeout), tagged mitosis-bake only:
 *            never the cluster tag, so no leader and no discovery sees it
 *   WAIT_OFF GET /v2/droplets/ID until its status is "off": cloud-init's
 *            power_state, the sign that the user-data ran to its end; with
 *            --ssh the keyring is copied in meanwhile (ssh, retried)
 *   SNAPSHOT cloud_snapshot_start, waited for, its image id found
 *   DELETE   cloud_delete_start, until GET says 404
 *   DONE
 *
 * Any failure after the create, the --timeout, SIGINT and SIGTERM lead to
 * DELETE (a snapshot action already running is waited for first: DigitalOcean
 * refuses to delete a droplet with a pending event). Only an API that stops
 * answering altogether leaves the builder, and the last words name it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "cloud.h"
#include "cloud_clone.h"
#include "cloud_ops.h"
#include "cmd.h"
#include "cmd_bake.h"
#include "cmd_frame.h"
#include "container.h"
#include "doapi.h"
#include "util.h"
#include "xmalloc.h"

#define BAKE_TAG	    "mitosis-bake"
#define BAKE_BASE	    "debian-12-x64"
#define BAKE_SIZE	    "s-1vcpu-1gb"
#define BAKE_TIMEOUT_MS	    (20 * 60 * 1000)
#define BAKE_POLL_FIRST_MS  2000
#define BAKE_SSH_RETRY_MS   5000
#define BAKE_USER_DATA_MAX  65536 /* DigitalOcean's limit on user_data */
#define BAKE_REMOTE_KEYRING "/etc/mitosis/cluster.key"
#define BAKE_REMOTE_TOKEN   "/etc/mitosis/token"
#define BAKE_SSH_DEST	    11 /* root@IP in ssh's argv, then the remote command */

enum {
	BAKE_OPT_USER_DATA = 300,
	BAKE_OPT_DEB_URL,
	BAKE_OPT_BASE,
	BAKE_OPT_NAME,
	BAKE_OPT_SIZE,
	BAKE_OPT_REGION,
	BAKE_OPT_TIMEOUT,
	BAKE_OPT_SSH,
	BAKE_OPT_SSH_TOKEN,
	BAKE_OPT_PRINT
};

enum bake_state { BAKE_IMAGE, BAKE_CREATE, BAKE_WAIT_OFF, BAKE_SNAPSHOT, BAKE_DELETE, BAKE_DONE };

struct cmd_bake {
	struct cmd_frame f;
	enum bake_state state;
	/* Options. */
	const char *user_data_file, *deb_url, *base, *name_arg, *size, *region;
	uint64_t timeout_ms;
	bool ssh, print_user_data;
	/* The work. */
	char *user_data;
	char name[160];
	char why[512];	   /* the first failure, said once DELETE is done */
	bool failed, stop; /* stop: SIGINT/SIGTERM or a failure: go to DELETE */
	uint64_t image;
	struct doapi_droplet builder;
	bool have_builder, builder_gone;
	uint64_t off_by, off_after_ms, created_ms;
	uint64_t snapshot_id;
	struct cloud_ops_pace pace;
	uv_timer_t timer; /* the next poll of the builder */
	bool timer_armed;
	uv_signal_t sigint, sigterm;
	bool handles_open;
	/* --ssh: the keyring copy. */
	uv_process_t ssh_proc;
	uv_timer_t ssh_timer;
	bool ssh_token;	   /* --ssh-token: the token first, then the keyring */
	unsigned ssh_step; /* 0: the token (when asked), 1: the keyring, 2: done */
	bool ssh_running, ssh_armed;
	bool ssh_open;	    /* the process handle is open (until its close callback) */
	int64_t ssh_status; /* the last try's exit status ... */
	int ssh_sig;	    /* ... or signal */
	unsigned ssh_tries;
};

static int cmd_bake_main(int argc, char **argv);
static void cmd_bake_help(FILE *out);
static void bake_enter(struct cmd_bake *b, enum bake_state st);

const struct cmd_entry cmd_bake_entry = {
	"bake",
	cmd_bake_main,
	"bake --user-data FILE | --deb-url URL [--ssh | --ssh-token] [--base-image IMAGE]\n"
	"       [--name NAME] [--size SIZE] [--region REGION] [--timeout DURATION]\n"
	"       [--print-user-data] [--json] [--dry-run] [-c FILE] [--KEY VALUE ...]",
	"bake the snapshot the cluster's droplets boot from; print its image id",
	cmd_bake_help,
};

static void
cmd_bake_help(FILE *out)
{
	fprintf(out,
		"Creates a builder droplet from IMAGE (default " BAKE_BASE ") with the bake\n"
		"user-data, tagged " BAKE_TAG " (never the cluster tag), waits until cloud-init\n"
		"has powered it off (power_state: the user-data ran to its end), snapshots it\n"
		"as NAME (default CLUSTER-UNIXTIME), deletes it and prints the image id, the\n"
		"value for clone_image. The builder is deleted on any failure, on the timeout\n"
		"and on SIGINT or SIGTERM.\n\n"
		"  --user-data FILE  the builder's user-data as is (cloud-init/bake.yaml, "
		"edited);\n"
		"                    a #cloud-config needs power_state, at most 64 KiB\n"
		"  --deb-url URL     or: user-data that installs the package from URL, writes\n"
		"                    conf.d/10-image.conf (cluster) and powers off once the\n"
		"                    keyring is in " BAKE_REMOTE_KEYRING "\n"
		"  --ssh             copy key_file into the builder over ssh as root (the\n"
		"                    droplet gets clone_ssh_keys), retried until it takes it\n"
		"  --ssh-token       --ssh, and token_file first as " BAKE_REMOTE_TOKEN ":\n"
		"                    the image's leader then reads the inventory, registers\n"
		"                    and clones (docs/metadata.md: bake secrets, never\n"
		"                    put them in user-data)\n"
		"  --base-image IMG  a slug or an image id (default " BAKE_BASE ")\n"
		"  --name NAME       the snapshot's name\n"
		"  --size, --region  the builder's (default clone_size or " BAKE_SIZE ",\n"
		"                    clone_region or DigitalOcean's choice)\n"
		"  --timeout D       from active to powered off (default 20m)\n"
		"  --print-user-data print the user-data and exit (no API call)\n"
		"  -c FILE, --json, --dry-run, --KEY VALUE: as the cloud verbs ('mitosis help\n"
		"                    clone'). Exit status: 0 success, 1 failure, 2 usage.\n");
}

/* ---- options and user-data ---- */

static int
bake_option(struct cmd_frame *f, int val, const char *arg, void *ctx)
{
	struct cmd_bake *b = ctx;

	switch (val) {
	case BAKE_OPT_USER_DATA:
		b->user_data_file = arg;
		break;
	case BAKE_OPT_DEB_URL:
		b->deb_url = arg;
		break;
	case BAKE_OPT_BASE:
		b->base = arg;
		break;
	case BAKE_OPT_NAME:
		b->name_arg = arg;
		break;
	case BAKE_OPT_SIZE:
		b->size = arg;
		break;
	case BAKE_OPT_REGION:
		b->region = arg;
		break;
	case BAKE_OPT_SSH_TOKEN:
		b->ssh_token = true;
		/* fall through */
	case BAKE_OPT_SSH:
		b->ssh = true;
		break;
	case BAKE_OPT_PRINT:
		b->print_user_data = true;
		break;
	case BAKE_OPT_TIMEOUT:
		if (util_parse_duration_ms(arg, 1000, 24ULL * 3600 * 1000, &b->timeout_ms) != 0) {
			fprintf(stderr,
				"mitosis bake: --timeout takes a duration from 1s to 24h\n");
			return EXIT_USAGE;
		}
		break;
	default:
		cmd_usage(stderr, f->cmd);
		return EXIT_USAGE;
	}
	return -1;
}

static int
bake_parse(struct cmd_bake *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user-data", required_argument, NULL, BAKE_OPT_USER_DATA },
		{ "deb-url", required_argument, NULL, BAKE_OPT_DEB_URL },
		{ "base-image", required_argument, NULL, BAKE_OPT_BASE },
		{ "name", required_argument, NULL, BAKE_OPT_NAME },
		{ "size", required_argument, NULL, BAKE_OPT_SIZE },
		{ "region", required_argument, NULL, BAKE_OPT_REGION },
		{ "timeout", required_argument, NULL, BAKE_OPT_TIMEOUT },
		{ "ssh", no_argument, NULL, BAKE_OPT_SSH },
		{ "ssh-token", no_argument, NULL, BAKE_OPT_SSH_TOKEN },
		{ "print-user-data", no_argument, NULL, BAKE_OPT_PRINT },
		{ NULL, 0, NULL, 0 },
	};
	int r;

	b->timeout_ms = BAKE_TIMEOUT_MS;
	b->base = BAKE_BASE;
	r = cmd_frame_parse(&b->f, &cmd_bake_entry, argc, argv, NULL, opts, bake_option, b);
	if (r >= 0)
		return r;
	if (optind < argc || (b->user_data_file == NULL) == (b->deb_url == NULL)) {
		fprintf(stderr, "mitosis bake: give the builder's user-data: --user-data FILE "
				"or --deb-url URL (one of them)\n");
		cmd_usage(stderr, &cmd_bake_entry);
		return EXIT_USAGE;
	}
	return -1;
}

/*
 * The user-data of --deb-url, as cloud-init/bake.yaml: the package from the
 * URL, the image's drop-in, the keyring waited for (it never travels in
 * user-data: docs/metadata.md) and given to the agent's user, then power_state.
 */
static char *
bake_user_data_gen(const char *cluster, const char *url, bool token)
{
	return xasprintf(
		"#cloud-config\n"
		"# mitosis bake: the builder of cluster %s's snapshot (cloud-init/bake.yaml)\n"
		"package_update: true\n"
		"packages:\n  - curl\n"
		"write_files:\n"
		"  - path: /etc/mitosis/conf.d/10-image.conf\n"
		"    permissions: '0644'\n"
		"    content: |\n"
		"      # baked into the image by mitosis bake\n"
		"      cluster = %s\n"
		"      key_file = " BAKE_REMOTE_KEYRING "\n"
		"%s"
		"runcmd:\n"
		"  - [mkdir, -p, /var/cache/mitosis]\n"
		"  - [curl, -fsSL, --retry, '5', -o, /var/cache/mitosis/mitosis.deb, '%s']\n"
		"  - [env, DEBIAN_FRONTEND=noninteractive, apt-get, install, -y, "
		"/var/cache/mitosis/mitosis.deb]\n"
		"  - [rm, -f, /var/cache/mitosis/mitosis.deb]\n"
		"  - [systemctl, enable, mitosis.service]\n"
		"  - [sh, -c, 'for i in $(seq 1 180); do [ -s " BAKE_REMOTE_KEYRING " ] && break; "
		"sleep 5; done; for f in " BAKE_REMOTE_KEYRING " " BAKE_REMOTE_TOKEN
		"; do [ -e $f ] && "
		"chown mitosis:mitosis $f && chmod 600 $f; done; true']\n"
		"power_state:\n"
		"  mode: poweroff\n"
		"  message: mitosis is installed; powering off for the snapshot\n"
		"  timeout: 60\n"
		"  condition: true\n",
		cluster, cluster, token ? "      token_file = " BAKE_REMOTE_TOKEN "\n" : "", url);
}

/* A URL we put in single quotes in YAML: printable, no quote, no blank. */
static bool
bake_url_ok(const char *url)
{
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return false;
	for (const char *p = url; *p != '\0'; p++)
		if (*p <= ' ' || *p == '\'' || *p == 0x7f)
			return false;
	return true;
}

/* Reads --user-data FILE and refuses what cannot bake: too big, not
 * cloud-init's, or never powering off. 0, or 1 after saying why. */
static int
bake_read_user_data(struct cmd_bake *b, const char *path)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL) {
		cmd_frame_fail(&b->f, "--user-data %s: %s", path, strerror(errno));
		return 1;
	}
	b->user_data = xmalloc(BAKE_USER_DATA_MAX + 2);
	n = fread(b->user_data, 1, BAKE_USER_DATA_MAX + 1, fp);
	fclose(fp);
	b->user_data[n] = '\0';
	if (n > BAKE_USER_DATA_MAX) {
		cmd_frame_fail(&b->f,
			       "--user-data %s: larger than DigitalOcean's 64 KiB limit "
			       "(serve the package at a URL instead of embedding it)",
			       path);
		return 1;
	}
	if (strlen(b->user_data) != n) {
		cmd_frame_fail(&b->f, "--user-data %s: holds a NUL byte", path);
		return 1;
	}
	if (strncmp(b->user_data, "#cloud-config", 13) == 0 &&
	    strstr(b->user_data, "\npower_state:") == NULL) {
		cmd_frame_fail(&b->f,
			       "--user-data %s: no power_state: the builder would never power "
			       "off and the bake would wait for nothing (cloud-init/bake.yaml "
			       "ends with one)",
			       path);
		return 1;
	}
	if (strncmp(b->user_data, "#cloud-config", 13) != 0 &&
	    strncmp(b->user_data, "#!", 2) != 0) {
		cmd_frame_fail(&b->f, "--user-data %s: neither #cloud-config nor a #! script",
			       path);
		return 1;
	}
	return 0;
}

static int
bake_user_data(struct cmd_bake *b)
{
	if (b->user_data_file != NULL)
		return bake_read_user_data(b, b->user_data_file);
	if (!bake_url_ok(b->deb_url)) {
		cmd_frame_fail(&b->f, "--deb-url %s: not an http(s) URL without blanks or quotes",
			       b->deb_url);
		return 1;
	}
	b->user_data = bake_user_data_gen(b->f.cfg->cluster, b->deb_url, b->ssh_token);
	return 0;
}

/* ---- the machine ---- */

static const char *
bake_state_name(enum bake_state st)
{
	static const char *const names[] = { "image",	 "create", "wait-off",
					     "snapshot", "delete", "done" };

	return names[st];
}

/* The first failure is the one said; each later one only adds to the log. */
static void bake_fail(struct cmd_bake *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void
bake_fail(struct cmd_bake *b, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!b->failed)
		snprintf(b->why, sizeof(b->why), "%s", msg);
	b->failed = true;
	b->stop = true;
	cmd_frame_fail(&b->f, "%s", msg);
}

/* After a failure or a signal: delete the builder if there is one, else end. */
static void
bake_abort(struct cmd_bake *b)
{
	bake_enter(b, b->have_builder && !b->builder_gone ? BAKE_DELETE : BAKE_DONE);
}

static void
bake_on_image(const struct cloud_resp *r, void *arg)
{
	struct cmd_bake *b = arg;
	const cJSON *img = cJSON_GetObjectItemCaseSensitive(r->json, "image");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(img, "id");

	cmd_frame_end(&b->f);
	if (r->err == 0 && r->status == 200 && cJSON_IsNumber(id) && id->valuedouble >= 1)
		b->image = (uint64_t)id->valuedouble;
	else
		bake_fail(b, "base image %s: %s", b->base,
			  r->err == 0 && r->status == 200 ? "no image id in the answer" : r->error);
	if (b->stop)
		bake_abort(b);
	else
		bake_enter(b, BAKE_CREATE);
}

/* IMAGE: an id is used as is; a slug is asked for its id. */
static void
bake_image(struct cmd_bake *b)
{
	char path[300];
	uint64_t v;

	if (util_parse_u64(b->base, 1, UINT64_MAX, &v) == 0) {
		b->image = v;
		bake_enter(b, BAKE_CREATE);
		return;
	}
	if (!doapi_name_valid(b->base)) {
		bake_fail(b, "--base-image %s: neither an image id nor a slug", b->base);
		bake_abort(b);
		return;
	}
	snprintf(path, sizeof(path), "/v2/images/%s", b->base);
	if (cloud_call(b->f.cloud, "GET", path, NULL, 0, bake_on_image, b) != 0) {
		bake_fail(b, "cannot ask for the base image %s", b->base);
		bake_abort(b);
		return;
	}
	cmd_frame_begin(&b->f);
}

static void bake_ssh_start(struct cmd_bake *b);

static void
bake_on_cloned(int err, const char *error, const struct cloud_clone_result *res, void *arg)
{
	struct cmd_bake *b = arg;

	cmd_frame_end(&b->f);
	if (res->ndroplets > 0) {
		b->builder = res->droplets[0];
		b->have_builder = true;
	}
	if (err != 0) {
		bake_fail(b, "the builder: %s", error);
		bake_abort(b);
		return;
	}
	if (!b->have_builder) { /* a dry run: the create was printed, not sent */
		fprintf(stderr,
			"dry-run: then wait up to %" PRIu64 " s for the builder to power off, "
			"snapshot it as %s (POST /v2/droplets/ID/actions) and delete it\n",
			b->timeout_ms / 1000, b->name);
		bake_enter(b, BAKE_DONE);
		return;
	}
	fprintf(stderr,
		"mitosis bake: builder %" PRIu64 " (%s) is active at %s; waiting up to %" PRIu64
		" s for cloud-init to power it off\n",
		b->builder.id, b->builder.name,
		b->builder.public_ipv4[0] != '\0' ? b->builder.public_ipv4
						  : b->builder.private_ipv4,
		b->timeout_ms / 1000);
	if (!b->ssh)
		fprintf(stderr,
			"mitosis bake: if its user-data waits for the keyring, copy it now: "
			"scp KEYRING root@%s:" BAKE_REMOTE_KEYRING "\n",
			b->builder.public_ipv4);
	if (b->stop) {
		bake_abort(b);
		return;
	}
	b->off_by = uv_now(&b->f.loop) + b->timeout_ms;
	b->created_ms = uv_now(&b->f.loop);
	if (b->ssh) {
		b->ssh_step = b->ssh_token ? 0 : 1;
		bake_ssh_start(b);
	}
	bake_enter(b, BAKE_WAIT_OFF);
}

/* CREATE: one builder, through the clone machinery (no double, no leak). */
static void
bake_create(struct cmd_bake *b)
{
	const struct cfg *cfg = b->f.cfg;
	char prefix[64];
	struct cloud_clone_opts o = {
		.cluster = prefix,
		.cluster_tag = BAKE_TAG,
		.image = b->image,
		.size = b->size != NULL		  ? b->size
			: cfg->clone_size != NULL ? cfg->clone_size
						  : BAKE_SIZE,
		.region = b->region != NULL ? b->region : cfg->clone_region,
		.vpc_uuid = cfg->clone_vpc_uuid,
		.ssh_keys = (const char *const *)cfg->clone_ssh_keys,
		.nssh_keys = cfg->nclone_ssh_keys,
		.user_data = b->user_data,
		.count = 1,
		.active_timeout_ms = cfg->active_timeout_ms,
		.delete_timeout_ms = cfg->delete_timeout_ms,
		.need_public = b->ssh,
	};
	int r;

	snprintf(prefix, sizeof(prefix), "%.40s-bake", cfg->cluster);
	r = cloud_clone_start(b->f.cloud, &o, bake_on_cloned, b);
	if (r != 0) {
		bake_fail(b, "cannot create the builder: %s", strerror(-r));
		bake_abort(b);
		return;
	}
	cmd_frame_begin(&b->f);
}

/* ---- WAIT_OFF ---- */

static void bake_poll(struct cmd_bake *b);

static void
bake_on_builder(const struct cloud_resp *r, void *arg)
{
	struct cmd_bake *b = arg;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(r->json, "droplet");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(d, "status");
	bool late = uv_now(&b->f.loop) >= b->off_by;

	cmd_frame_end(&b->f);
	if (b->stop) {
		bake_abort(b);
	} else if (r->err == 0 && r->status == 404) {
		b->builder_gone = true;
		bake_fail(b, "the builder %" PRIu64 " is gone (404) before it powered off",
			  b->builder.id);
		bake_abort(b);
	} else if (r->err == 0 && r->status == 200 && cJSON_IsString(st) &&
		   strcmp(st->valuestring, "off") == 0) {
		b->off_after_ms = uv_now(&b->f.loop) - b->created_ms;
		fprintf(stderr,
			"mitosis bake: the builder powered itself off after %" PRIu64 " s\n",
			b->off_after_ms / 1000);
		bake_enter(b, BAKE_SNAPSHOT);
	} else if (late) {
		bake_fail(b,
			  "the builder %" PRIu64 " (%s) did not power off within %" PRIu64
			  " s: its user-data did not finish (cloud-init's log on the builder: "
			  "/var/log/cloud-init-output.log); deleting it",
			  b->builder.id, b->builder.name, b->timeout_ms / 1000);
		bake_abort(b);
	} else {
		bake_poll(b); /* not off yet, or an answer we cannot read: ask again */
	}
}

static void
bake_on_timer(uv_timer_t *t)
{
	struct cmd_bake *b = container_of(t, struct cmd_bake, timer);
	char path[64];

	b->timer_armed = false;
	snprintf(path, sizeof(path), "/v2/droplets/%" PRIu64, b->builder.id);
	if (!b->stop && cloud_call(b->f.cloud, "GET", path, NULL, 0, bake_on_builder, b) == 0) {
		cmd_frame_begin(&b->f);
	} else {
		if (!b->stop)
			bake_fail(b, "cannot ask for the builder");
		bake_abort(b);
	}
	cmd_frame_end(&b->f);
}

/* The next look at the builder, paced (2 s growing to 10 s, jittered), and
 * never later than the deadline. */
static void
bake_poll(struct cmd_bake *b)
{
	uint64_t now = uv_now(&b->f.loop), wait = cloud_ops_pace_next(&b->pace);

	if (now + wait > b->off_by)
		wait = b->off_by > now ? b->off_by - now : 0;
	uv_timer_start(&b->timer, bake_on_timer, wait, 0);
	b->timer_armed = true;
	cmd_frame_begin(&b->f);
}

/* ---- --ssh: the keyring into the builder ---- */

static void
bake_on_ssh_timer(uv_timer_t *t)
{
	struct cmd_bake *b = container_of(t, struct cmd_bake, ssh_timer);

	b->ssh_armed = false;
	if (b->state == BAKE_WAIT_OFF && !b->stop)
		bake_ssh_start(b);
}

/* The try's handle is closed: go on with the next step, or try again later
 * (the handle may be spawned again only now). */
static void
bake_on_ssh_closed(uv_handle_t *h)
{
	struct cmd_bake *b = container_of((uv_process_t *)h, struct cmd_bake, ssh_proc);
	bool go = b->state == BAKE_WAIT_OFF && !b->stop;

	b->ssh_open = false;
	if (b->ssh_status == 0 && b->ssh_sig == 0) {
		fprintf(stderr, "mitosis bake: %s copied into the builder (%s:%s)\n",
			b->ssh_step == 0 ? "token" : "keyring", b->builder.public_ipv4,
			b->ssh_step == 0 ? BAKE_REMOTE_TOKEN : BAKE_REMOTE_KEYRING);
		if (++b->ssh_step < 2 && go)
			bake_ssh_start(b);
		return;
	}
	if (b->ssh_tries % 6 == 1)
		fprintf(stderr,
			"mitosis bake: ssh root@%s failed (%u tries so far, the last %s %d); "
			"trying again every %d s\n",
			b->builder.public_ipv4, b->ssh_tries,
			b->ssh_sig != 0 ? "by signal" : "with status",
			b->ssh_sig != 0 ? b->ssh_sig : (int)b->ssh_status,
			BAKE_SSH_RETRY_MS / 1000);
	if (go) {
		uv_timer_start(&b->ssh_timer, bake_on_ssh_timer, BAKE_SSH_RETRY_MS, 0);
		b->ssh_armed = true;
	}
}

static void
bake_on_ssh_exit(uv_process_t *p, int64_t status, int sig)
{
	struct cmd_bake *b = container_of(p, struct cmd_bake, ssh_proc);

	b->ssh_running = false;
	b->ssh_status = status;
	b->ssh_sig = sig;
	uv_close((uv_handle_t *)p, bake_on_ssh_closed);
}

/* One try of the current step: the file on ssh's stdin (never in an
 * argument), written atomically and mode 0600 on the builder. The token goes
 * first: bake.yaml powers off once the keyring is there. */
static void
bake_ssh_start(struct cmd_bake *b)
{
	static const char *const argv[] = {
		"ssh",
		"-o",
		"BatchMode=yes",
		"-o",
		"StrictHostKeyChecking=no",
		"-o",
		"UserKnownHostsFile=/dev/null",
		"-o",
		"ConnectTimeout=10",
		"-o",
		"LogLevel=ERROR",
		"root@IP", /* BAKE_SSH_DEST */
		"the remote command",
		NULL,
	};
	static const char *const remote[2] = {
		"umask 077 && mkdir -p /etc/mitosis && cat >/etc/mitosis/.token.new && "
		"mv -f /etc/mitosis/.token.new " BAKE_REMOTE_TOKEN,
		"umask 077 && mkdir -p /etc/mitosis && cat >/etc/mitosis/.cluster.key.new && "
		"mv -f /etc/mitosis/.cluster.key.new " BAKE_REMOTE_KEYRING,
	};
	const char *local = b->ssh_step == 0 ? b->f.cfg->token_file : b->f.cfg->key_file;
	char dest[DOAPI_IPV4_LEN + 8], *args[sizeof(argv) / sizeof(argv[0])];
	uv_stdio_container_t io[3] = { { .flags = UV_INHERIT_FD },
				       { .flags = UV_IGNORE },
				       { .flags = UV_IGNORE } };
	uv_process_options_t po = { .exit_cb = bake_on_ssh_exit,
				    .file = "ssh",
				    .args = args,
				    .stdio_count = 3,
				    .stdio = io };
	int fd, r;

	for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
		args[i] = (char *)(uintptr_t)argv[i];
	snprintf(dest, sizeof(dest), "root@%s", b->builder.public_ipv4);
	args[BAKE_SSH_DEST] = dest;
	args[BAKE_SSH_DEST + 1] = (char *)(uintptr_t)remote[b->ssh_step];
	fd = open(local, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		bake_fail(b, "--ssh: %s: %s", local, strerror(errno));
		return;
	}
	io[0].data.fd = fd;
	b->ssh_tries++;
	r = uv_spawn(&b->f.loop, &b->ssh_proc, &po);
	close(fd);
	b->ssh_open = true;
	if (r != 0) {
		b->ssh_status = -1; /* the close callback must not go on */
		b->stop = true;
		uv_close((uv_handle_t *)&b->ssh_proc, bake_on_ssh_closed);
		bake_fail(b, "--ssh: cannot run ssh: %s", uv_strerror(r));
		return;
	}
	b->ssh_running = true;
}

/* ---- SNAPSHOT, DELETE ---- */

static void
bake_on_snapshot(int err, const char *error, uint64_t image_id, void *arg)
{
	struct cmd_bake *b = arg;

	cmd_frame_end(&b->f);
	if (err != 0)
		bake_fail(b, "snapshot %s of the builder %" PRIu64 ": %s", b->name, b->builder.id,
			  error);
	else
		b->snapshot_id = image_id;
	bake_enter(b, BAKE_DELETE);
}

static void
bake_on_deleted(int err, const char *error, const struct cloud_delete_result *res, void *arg)
{
	struct cmd_bake *b = arg;

	(void)res;
	cmd_frame_end(&b->f);
	if (err != 0)
		bake_fail(b,
			  "could not delete the builder %" PRIu64 " (%s): %s; it may still "
			  "bill: delete it yourself",
			  b->builder.id, b->builder.name, error);
	else
		b->builder_gone = true;
	bake_enter(b, BAKE_DONE);
}

static void
bake_delete(struct cmd_bake *b)
{
	int r;

	if (b->ssh_running)
		uv_process_kill(&b->ssh_proc, SIGTERM);
	if (b->ssh_armed)
		uv_timer_stop(&b->ssh_timer);
	b->ssh_armed = false;
	r = cloud_delete_start(b->f.cloud, b->builder.id, b->f.cfg->delete_timeout_ms,
			       bake_on_deleted, b);
	if (r != 0) {
		bake_fail(b, "cannot delete the builder %" PRIu64 ": %s", b->builder.id,
			  strerror(-r));
		bake_enter(b, BAKE_DONE);
		return;
	}
	cmd_frame_begin(&b->f);
}

static void
bake_enter(struct cmd_bake *b, enum bake_state st)
{
	int r;

	log_debug("bake: %s -> %s", bake_state_name(b->state), bake_state_name(st));
	b->state = st;
	switch (st) {
	case BAKE_IMAGE:
		bake_image(b);
		break;
	case BAKE_CREATE:
		bake_create(b);
		break;
	case BAKE_WAIT_OFF:
		cloud_ops_pace_init(&b->pace, BAKE_POLL_FIRST_MS);
		bake_poll(b);
		break;
	case BAKE_SNAPSHOT:
		r = cloud_snapshot_start(b->f.cloud, b->builder.id, b->name, 0, 0, bake_on_snapshot,
					 b);
		if (r == 0) {
			cmd_frame_begin(&b->f);
			break;
		}
		bake_fail(b, "cannot snapshot the builder: %s", strerror(-r));
		bake_enter(b, BAKE_DELETE);
		break;
	case BAKE_DELETE:
		bake_delete(b);
		break;
	case BAKE_DONE:
		break;
	}
}

/* SIGINT, SIGTERM: stop, and delete the builder (a snapshot running ends
 * first: DigitalOcean refuses a delete while an action is pending). */
static void
bake_on_signal(uv_signal_t *s, int signum)
{
	struct cmd_bake *b = s->data;

	if (b->stop)
		return;
	bake_fail(b, "interrupted (%s)%s", strsignal(signum),
		  b->have_builder || b->state == BAKE_CREATE ? "; deleting the builder" : "");
	if (b->state == BAKE_WAIT_OFF && b->timer_armed) {
		uv_timer_stop(&b->timer);
		b->timer_armed = false;
		cmd_frame_end(&b->f);
		bake_abort(b);
	}
}

/* ---- the verb ---- */

static void
bake_print(struct cmd_bake *b)
{
	cJSON *o, *bd;
	char *s;

	if (!b->f.json) {
		if (!b->failed && b->snapshot_id != 0)
			printf("image %" PRIu64 " (%s) baked by builder %" PRIu64
			       ", which is deleted; clone_image = %" PRIu64 "\n",
			       b->snapshot_id, b->name, b->builder.id, b->snapshot_id);
		printf("cloud_requests_sent: %" PRIu64 "\n", cloud_requests_sent(b->f.cloud));
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", !b->failed);
	cJSON_AddNumberToObject(o, "image_id", (double)b->snapshot_id);
	cJSON_AddStringToObject(o, "name", b->name);
	cJSON_AddNumberToObject(o, "base_image", (double)b->image);
	bd = cJSON_AddObjectToObject(o, "builder");
	cJSON_AddNumberToObject(bd, "id", (double)b->builder.id);
	cJSON_AddStringToObject(bd, "name", b->builder.name);
	cJSON_AddBoolToObject(bd, "deleted", b->have_builder && b->builder_gone);
	cJSON_AddNumberToObject(bd, "off_after_s", (double)(b->off_after_ms / 1000));
	if (b->failed)
		cJSON_AddStringToObject(o, "error", b->why);
	else
		cJSON_AddNullToObject(o, "error");
	cJSON_AddBoolToObject(o, "dry_run", b->f.dry_run);
	cJSON_AddNumberToObject(o, "cloud_requests_sent", (double)cloud_requests_sent(b->f.cloud));
	s = cJSON_PrintUnformatted(o);
	if (s != NULL)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
}

static void
bake_handles_open(struct cmd_bake *b)
{
	uv_timer_init(&b->f.loop, &b->timer);
	uv_timer_init(&b->f.loop, &b->ssh_timer);
	uv_signal_init(&b->f.loop, &b->sigint);
	uv_signal_init(&b->f.loop, &b->sigterm);
	b->sigint.data = b->sigterm.data = b;
	uv_signal_start(&b->sigint, bake_on_signal, SIGINT);
	uv_signal_start(&b->sigterm, bake_on_signal, SIGTERM);
	b->handles_open = true;
}

/* Closes the verb's own handles (an ssh still running is stopped), then the frame. */
static int
bake_close(struct cmd_bake *b)
{
	if (b->handles_open) {
		if (b->ssh_running) {
			uv_process_kill(&b->ssh_proc, SIGTERM);
			b->ssh_running = false;
			b->stop = true; /* its close callback must not go on */
			uv_close((uv_handle_t *)&b->ssh_proc, bake_on_ssh_closed);
		}
		uv_close((uv_handle_t *)&b->timer, NULL);
		uv_close((uv_handle_t *)&b->ssh_timer, NULL);
		uv_close((uv_handle_t *)&b->sigint, NULL);
		uv_close((uv_handle_t *)&b->sigterm, NULL);
	}
	free(b->user_data);
	return cmd_frame_close(&b->f);
}

static int
cmd_bake_main(int argc, char **argv)
{
	struct cmd_bake b = { 0 };
	int r = bake_parse(&b, argc, argv);

	if (r >= 0) {
		cmd_frame_close(&b.f);
		return r;
	}
	if (cmd_frame_open(&b.f, b.print_user_data ? 0 : CMD_FRAME_API) != 0 ||
	    bake_user_data(&b) != 0)
		return bake_close(&b);
	if (b.print_user_data) {
		fputs(b.user_data, stdout);
		return bake_close(&b);
	}
	if (b.ssh && b.f.cfg->nclone_ssh_keys == 0)
		fprintf(stderr,
			"mitosis bake: --ssh without clone_ssh_keys: the builder "
			"gets no SSH key of yours, so ssh can only work if the image has one\n");
	snprintf(b.name, sizeof(b.name), "%s", b.name_arg != NULL ? b.name_arg : "");
	if (b.name_arg == NULL)
		snprintf(b.name, sizeof(b.name), "%.100s-%llu", b.f.cfg->cluster,
			 (unsigned long long)time(NULL));
	bake_handles_open(&b);
	bake_enter(&b, BAKE_IMAGE);
	if (cmd_frame_wait(&b.f))
		bake_print(&b);
	else if (b.have_builder && !b.builder_gone)
		fprintf(stderr,
			"mitosis bake: the builder %" PRIu64 " (%s) may still exist: delete it "
			"(the control panel, or DELETE /v2/droplets/%" PRIu64 ")\n",
			b.builder.id, b.builder.name, b.builder.id);
	return bake_close(&b);
}
