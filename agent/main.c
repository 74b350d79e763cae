/*
 * main: the `mitosis` binary. A table of subcommands; everything else lives
 * in cmd_<name>.c. Global set-up that every subcommand shares (locale-free
 * output, SIGPIPE ignored) happens here, once. libcurl is not linked here:
 * HTTP runs in the mitosis-http helper (http.c).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>
#include <uv.h>

#include "cmd.h"
#include "cmd_cloud.h"
#include "cmd_control.h"
#include "cmd_rotation.h"
#include "log.h"

static int cmd_version_main(int argc, char **argv);
static int cmd_help_main(int argc, char **argv);

const struct cmd_entry cmd_table[] = {
	{ "agent", cmd_agent_main, "agent [-n] [-v] [-T TRACES] [-c FILE] [--KEY VALUE ...]",
	  "run the agent in the foreground, or check its configuration (-n)", cmd_agent_help },
	{ "keygen", cmd_keygen_main, "keygen -o FILE [-f]", "write a new cluster signing key",
	  cmd_keygen_help },
	{ "members", cmd_members_main, "members [--json] [-s PATH]",
	  "list the cluster's members as this node's agent sees them", cmd_members_help },
	{ "status", cmd_status_main, "status [--json] [-s PATH]",
	  "show this node's view: members by state, mean load, traffic, drops", cmd_status_help },
	{ "cloud", cmd_cloud_main, "cloud ls [--json] [--dry-run] [-c FILE]",
	  "list the cluster's droplets (by the cluster tag)", cmd_cloud_help },
	{ "clone", cmd_clone_main, "clone [--count N] [--json] [--dry-run] [-c FILE]",
	  "create N droplets from clone_image and wait until they are active", cmd_clone_help },
	{ "snapshot", cmd_snapshot_main, "snapshot [NAME] [--json] [--dry-run] [-c FILE]",
	  "snapshot this droplet and print the new image id", cmd_snapshot_help },
	{ "resize", cmd_resize_main, "resize SIZE [--json] [--dry-run] [-c FILE]",
	  "resize this droplet (power off, resize without disk, power on)", cmd_resize_help },
	{ "register", cmd_register_main,
	  "register [-c FILE] [--json] [--dry-run] [--node ID --ip IP [--name NAME]]",
	  "put this node (or --node) into every configured registrar", cmd_register_help },
	{ "deregister", cmd_deregister_main,
	  "deregister [-c FILE] [--json] [--dry-run] [--node ID --ip IP [--name NAME]]",
	  "take this node (or --node) out of every configured registrar", cmd_deregister_help },
	{ "retire", cmd_retire_main, "retire NODE [-c FILE] [--json] [--dry-run] [--no-wait]",
	  "deregister a droplet, wait for drain, delete it", cmd_retire_help },
	{ "haproxy-config", cmd_haproxy_config_main,
	  "haproxy-config [-c FILE] [--json] [--nodes FILE | -s PATH] [--backend NAME] [--port N]",
	  "print a haproxy.cfg backend for the current members", cmd_haproxy_config_help },
	{ "version", cmd_version_main, "version", "print the version and library versions", NULL },
	{ "help", cmd_help_main, "help [COMMAND]", "show help for mitosis or a command", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static const struct cmd_entry *
cmd_find(const char *name)
{
	for (const struct cmd_entry *c = cmd_table; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void
cmd_usage(FILE *out, const char *name)
{
	const struct cmd_entry *c = cmd_find(name);

	if (c != NULL)
		fprintf(out, "usage: mitosis %s\n", c->usage);
}

static void
main_usage(FILE *out)
{
	fprintf(out,
		"usage: mitosis COMMAND [ARGS]\n\n"
		"mitosis joins droplets into a cluster: every node gossips its membership and\n"
		"load over authenticated UDP. The cloud verbs clone, snapshot, resize and\n"
		"retire droplets, and registrars keep DNS, load balancers and HAProxy in step.\n\n"
		"Commands:\n");
	for (const struct cmd_entry *c = cmd_table; c->name != NULL; c++)
		fprintf(out, "  %-15s %s\n", c->name, c->summary);
	fprintf(out, "\nRun 'mitosis help COMMAND' for a command's options. docs/cli.md has them "
		     "all.\n");
}

static int
cmd_version_main(int argc, char **argv)
{
	if (argc > 1) {
		cmd_usage(stderr, "version");
		return EXIT_USAGE;
	}
	printf("mitosis %s (%s)\n", MITOSIS_VERSION, MITOSIS_GITREV);
	printf("libuv %s, libsodium %s, cJSON %s; HTTP through mitosis-http "
	       "(mitosis-http --version)\n",
	       uv_version_string(), sodium_version_string(), cJSON_Version());
	return 0;
}

static int
cmd_help_main(int argc, char **argv)
{
	const struct cmd_entry *c;

	if (argc < 2) {
		main_usage(stdout);
		return 0;
	}
	if (argc > 2) {
		cmd_usage(stderr, "help");
		return EXIT_USAGE;
	}
	c = cmd_find(argv[1]);
	if (c == NULL) {
		fprintf(stderr, "mitosis: unknown command '%s'; 'mitosis help' lists them\n",
			argv[1]);
		return EXIT_USAGE;
	}
	printf("usage: mitosis %s\n\n%s\n", c->usage, c->summary);
	if (c->help != NULL) {
		putchar('\n');
		c->help(stdout);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const struct cmd_entry *c;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	log_init("mitosis", LOG_LEVEL_INFO, 0);
	if (argc < 2) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return cmd_help_main(1, argv);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return cmd_version_main(1, argv);
	c = cmd_find(argv[1]);
	if (c == NULL) {
		fprintf(stderr, "mitosis: unknown command '%s'; 'mitosis help' lists them\n",
			argv[1]);
		return EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "mitosis: libsodium initialisation failed\n");
		return 1;
	}
	rc = c->main(argc - 1, argv + 1);
	return rc;
}
