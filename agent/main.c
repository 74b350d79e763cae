/*
 * main: the `mitosis` binary. A table of the verbs, each a cmd_entry of its
 * own cmd_<name>.c; `help` and `version` live here because they speak of
 * them all. Global set-up that every subcommand shares (SIGPIPE ignored,
 * logging, libsodium) happens here, once. libcurl is not linked here: HTTP
 * runs in the mitosis-http helper (http.c).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>
#include <uv.h>

#include "cmd.h"
#include "cmd_agent.h"
#include "cmd_bake.h"
#include "cmd_bootstrap.h"
#include "cmd_cloud.h"
#include "cmd_control.h"
#include "cmd_keygen.h"
#include "cmd_man.h"
#include "cmd_rotation.h"
#include "http.h"
#include "log.h"

static int main_version(int argc, char **argv);
static int main_help(int argc, char **argv);
static int main_man(int argc, char **argv);

static const struct cmd_entry main_version_entry = {
	"version", main_version, "version", "print the version and library versions", NULL,
};
static const struct cmd_entry main_help_entry = {
	"help", main_help, "help [COMMAND]", "show help for mitosis or a command", NULL,
};
/* Hidden (a name starting with '_' is not listed): the build writes the man pages with it. */
static const struct cmd_entry main_man_entry = {
	"_man", main_man, "_man 8|5", "write the manual page mitosis(8) or mitosis.conf(5)", NULL,
};

static const struct cmd_entry *const main_table[] = {
	&cmd_agent_entry,	   &cmd_keygen_entry,
	&cmd_members_entry,	   &cmd_status_entry,
	&cmd_leader_entry,	   &cmd_policy_entry,
	&cmd_history_entry,	   &cmd_cloud_entry,
	&cmd_bootstrap_entry,	   &cmd_clone_entry,
	&cmd_snapshot_entry,	   &cmd_resize_entry,
	&cmd_bake_entry,	   &cmd_register_entry,
	&cmd_deregister_entry,	   &cmd_retire_entry,
	&cmd_haproxy_config_entry, &main_version_entry,
	&main_help_entry,	   &main_man_entry,
	&cmd_history_append_entry, NULL,
};

static void
main_usage(FILE *out)
{
	fprintf(out,
		"usage: mitosis COMMAND [ARGS]\n\n"
		"mitosis joins droplets into a cluster: every node gossips its membership and\n"
		"load over authenticated UDP. The cloud verbs clone, snapshot, resize and\n"
		"retire droplets, and registrars keep DNS, load balancers and HAProxy in step.\n\n"
		"Commands:\n");
	for (size_t i = 0; main_table[i] != NULL; i++)
		if (main_table[i]->name[0] != '_')
			fprintf(out, "  %-15s %s\n", main_table[i]->name, main_table[i]->summary);
	fprintf(out, "\nRun 'mitosis help COMMAND' for a command's options; mitosis(8) has them "
		     "all.\n");
}

/* "unknown command 'x'", with the verb it most likely meant. */
static int
main_unknown(const char *name)
{
	const struct cmd_entry *near = cmd_closest(main_table, name);

	if (near != NULL)
		fprintf(stderr, "mitosis: unknown command '%s' (did you mean '%s'?)\n", name,
			near->name);
	else
		fprintf(stderr, "mitosis: unknown command '%s'; 'mitosis help' lists them\n", name);
	return EXIT_USAGE;
}

static int
main_version(int argc, char **argv)
{
	char helper[256];

	if (argc > 1) {
		cmd_usage(stderr, &main_version_entry);
		return EXIT_USAGE;
	}
	printf("mitosis %s (%s)\n", MITOSIS_VERSION, MITOSIS_GITREV);
	printf("libuv %s, libsodium %s, cJSON %s\n", uv_version_string(), sodium_version_string(),
	       cJSON_Version());
	/* HTTP runs in the helper: its libcurl is the one that matters. */
	if (http_version(helper, sizeof(helper)) == 0)
		printf("%s\n", helper);
	else
		printf("mitosis-http: %s\n", helper);
	return 0;
}

static int
main_man(int argc, char **argv)
{
	if (argc != 2 || cmd_man_page(main_table, argv[1], stdout) != 0) {
		cmd_usage(stderr, &main_man_entry);
		return EXIT_USAGE;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
main_help(int argc, char **argv)
{
	const struct cmd_entry *c;

	if (argc < 2) {
		main_usage(stdout);
		return 0;
	}
	if (argc > 2) {
		cmd_usage(stderr, &main_help_entry);
		return EXIT_USAGE;
	}
	if ((c = cmd_find(main_table, argv[1])) == NULL)
		return main_unknown(argv[1]);
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

	signal(SIGPIPE, SIG_IGN);
	log_init("mitosis", LOG_LEVEL_INFO, 0);
	if (argc < 2) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return main_help(1, argv);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return main_version(1, argv);
	if ((c = cmd_find(main_table, argv[1])) == NULL)
		return main_unknown(argv[1]);
	if (sodium_init() < 0) {
		fprintf(stderr, "mitosis: libsodium initialisation failed\n");
		return 1;
	}
	return c->main(argc - 1, argv + 1);
}
