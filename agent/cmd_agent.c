/*
 * cmd_agent: `mitosis agent`. Reads the config file and its drop-ins, applies
 * every --KEY VALUE flag over them (flags win), checks the secret files, then either says
 * "configuration OK" (-n) or runs the daemon in the foreground.
 *
 * Config errors print one per line as "FILE:LINE: message" on stderr, all of
 * them rather than the first, and exit 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent.h"
#include "cfg.h"
#include "cmd.h"
#include "cmd_agent.h"
#include "keyring.h"
#include "log.h"
#include "secfile.h"
#include "xmalloc.h"

#define OPT_KEY_BASE	1000
#define OPT_SHOW_ORIGIN 999

struct agent_args {
	const char *config;
	bool check;
	bool show_origin;
	int verbose;
	struct cmd_setting *flags;
	size_t nflags;
};

static int cmd_agent_main(int argc, char **argv);
static void cmd_agent_help(FILE *out);

const struct cmd_entry cmd_agent_entry = {
	"agent",
	cmd_agent_main,
	"agent [-n [--show-origin]] [-v] [-T TRACES] [-c FILE] [--KEY VALUE ...]",
	"run the agent in the foreground, or check its configuration (-n)",
	cmd_agent_help,
};

static void
cmd_agent_help(FILE *out)
{
	const struct cfg_key_info *keys;
	size_t n;

	fprintf(out, "Options:\n"
		     "  -c FILE     configuration file (default " CMD_DEFAULT_CONFIG "); then\n"
		     "              every NAME.conf of the conf.d directory beside it, in\n"
		     "              name order (a later file overrides an earlier one)\n"
		     "  -n          check the configuration and the secret files, then exit\n"
		     "  --show-origin\n"
		     "              with -n: print every key's value and the file:line or\n"
		     "              flag that set it\n"
		     "  -v          more output (debug level); -T NAME[,NAME] enables traces of\n"
		     "              wire, meta, http, gossip, cloud, control, elect, or all\n"
		     "\nEvery configuration key is also a flag, which overrides the file:\n");
	keys = cfg_keys(&n);
	for (size_t i = 0; i < n; i++) {
		char flag[64];
		size_t j;

		for (j = 0; keys[i].name[j] != '\0' && j < sizeof(flag) - 1; j++)
			flag[j] = keys[i].name[j] == '_' ? '-' : keys[i].name[j];
		flag[j] = '\0';
		fprintf(out, "  --%-20s %s%s%s%s\n", flag, keys[i].help,
			keys[i].def[0] != '\0' ? " (default " : "", keys[i].def,
			keys[i].def[0] != '\0' ? ")" : "");
	}
}

/* Returns -1 to go on, or an exit code. */
static int
agent_parse_args(int argc, char **argv, struct agent_args *args)
{
	static const struct option extra[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "show-origin", no_argument, NULL, OPT_SHOW_ORIGIN },
		{ NULL, 0, NULL, 0 },
	};
	struct option *opts = cmd_options(extra, OPT_KEY_BASE);
	int c, rc = -1;

	args->flags = xcalloc((size_t)argc + 1, sizeof(*args->flags));
	optind = 1;
	opterr = 0;
	while (rc < 0 && (c = getopt_long(argc, argv, ":c:nvT:h", opts, NULL)) != -1) {
		struct cmd_setting *f = &args->flags[args->nflags];

		if (c == 'c') {
			args->config = optarg;
		} else if (c == 'n') {
			args->check = true;
		} else if (c == OPT_SHOW_ORIGIN) {
			args->show_origin = true;
		} else if (c == 'v') {
			args->verbose++;
		} else if (c == 'T') {
			f->key = "trace";
			f->where = xstrdup("-T");
			f->value = optarg;
			args->nflags++;
		} else if (c == 'h') {
			cmd_usage(stdout, &cmd_agent_entry);
			cmd_agent_help(stdout);
			rc = 0;
		} else if (c >= OPT_KEY_BASE) {
			cmd_setting_key(f, (size_t)(c - OPT_KEY_BASE), optarg);
			args->nflags++;
		} else {
			rc = cmd_bad_option(&cmd_agent_entry, c, argv, opts);
		}
	}
	if (rc < 0 && args->show_origin && !args->check) {
		fprintf(stderr, "mitosis agent: --show-origin goes with -n\n");
		cmd_usage(stderr, &cmd_agent_entry);
		rc = EXIT_USAGE;
	}
	if (rc < 0 && optind < argc) {
		fprintf(stderr, "mitosis agent: unexpected argument '%s'\n", argv[optind]);
		cmd_usage(stderr, &cmd_agent_entry);
		rc = EXIT_USAGE;
	}
	cmd_options_free(opts);
	return rc;
}

/* The keyring, and the token file's ownership and mode. Prints what is wrong. */
static struct keyring *
agent_load_secrets(const struct cfg *cfg)
{
	struct keyring *kr = NULL;
	char err[512];
	bool ok = true;

	if (keyring_load(cfg->key_file, &kr, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		ok = false;
	}
	if (cfg->token_file != NULL && secfile_check(cfg->token_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		ok = false;
	}
	if (!ok) {
		keyring_free(kr);
		return NULL;
	}
	return kr;
}

/* SIGHUP: the same file and flags as at start, -v still winning over log_level. */
static struct cfg *
agent_reload(void *arg)
{
	const struct agent_args *args = arg;
	struct cfg *cfg = cmd_reload_config(args->config, args->flags, args->nflags);

	if (cfg != NULL && args->verbose > 0)
		cfg->log_level = LOG_LEVEL_DEBUG;
	return cfg;
}

static int
cmd_agent_main(int argc, char **argv)
{
	struct agent_args args;
	struct keyring *kr = NULL;
	struct cfg *cfg = NULL;
	int rc;

	memset(&args, 0, sizeof(args));
	rc = agent_parse_args(argc, argv, &args);
	if (rc >= 0)
		goto out;
	rc = 1;
	if (args.show_origin)
		cfg = cmd_show_config(args.config, args.flags, args.nflags, stdout);
	else
		cfg = cmd_load_config(args.config, args.flags, args.nflags, true);
	if (cfg == NULL)
		goto out;
	kr = agent_load_secrets(cfg);
	if (kr == NULL)
		goto out;
	if (args.check) {
		printf("configuration OK\n");
		rc = 0;
		goto out;
	}
	log_init("mitosis", args.verbose > 0 ? LOG_LEVEL_DEBUG : cfg->log_level, cfg->traces);
	rc = agent_run(cfg, kr, agent_reload, &args);
out:
	keyring_free(kr);
	cfg_free(cfg);
	cmd_settings_free(args.flags, args.nflags);
	return rc;
}
