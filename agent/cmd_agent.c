/*
 * cmd_agent: `mitosis agent`. Reads the config file, applies every --KEY VALUE
 * flag over it (flags win), checks the secret files, then either says
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
#include "keyring.h"
#include "log.h"
#include "secfile.h"
#include "xmalloc.h"

#define OPT_KEY_BASE 1000

struct agent_args {
	const char *config;
	bool check;
	int verbose;
	struct cmd_setting *flags;
	size_t nflags;
};

void
cmd_agent_help(FILE *out)
{
	const struct cfg_key_info *keys;
	size_t n;

	fprintf(out, "Options:\n"
		     "  -c FILE     configuration file (default " CMD_DEFAULT_CONFIG ")\n"
		     "  -n          check the configuration and the secret files, then exit\n"
		     "  -v          more output (debug level); -T NAME[,NAME] enables traces of\n"
		     "              wire, meta, http, gossip, cloud, control, or all\n"
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

/* getopt_long options: -c/-n/-v/-T/-h, plus one --flag per config key. */
static struct option *
agent_build_options(const struct cfg_key_info *keys, size_t nkeys)
{
	struct option *o = xcalloc(nkeys + 2, sizeof(*o));

	for (size_t i = 0; i < nkeys; i++) {
		char *name = xstrdup(keys[i].name);

		for (char *p = name; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		o[i].name = name;
		o[i].has_arg = required_argument;
		o[i].val = OPT_KEY_BASE + (int)i;
	}
	o[nkeys].name = "help";
	o[nkeys].has_arg = no_argument;
	o[nkeys].val = 'h';
	return o;
}

static void
agent_free_options(struct option *o, size_t nkeys)
{
	for (size_t i = 0; i < nkeys; i++)
		free((char *)(uintptr_t)o[i].name);
	free(o);
}

/* Returns -1 to go on, or an exit code. */
static int
agent_parse_args(int argc, char **argv, struct agent_args *args)
{
	size_t nkeys;
	const struct cfg_key_info *keys = cfg_keys(&nkeys);
	struct option *opts = agent_build_options(keys, nkeys);
	int c, rc = -1;

	args->flags = xcalloc(nkeys + (size_t)argc, sizeof(*args->flags));
	optind = 1;
	while (rc < 0 && (c = getopt_long(argc, argv, "c:nvT:h", opts, NULL)) != -1) {
		struct cmd_setting *f = &args->flags[args->nflags];

		if (c == 'c') {
			args->config = optarg;
		} else if (c == 'n') {
			args->check = true;
		} else if (c == 'v') {
			args->verbose++;
		} else if (c == 'T') {
			f->key = "trace";
			f->where = xstrdup("-T");
			f->value = optarg;
			args->nflags++;
		} else if (c == 'h') {
			cmd_usage(stdout, "agent");
			cmd_agent_help(stdout);
			rc = 0;
		} else if (c >= OPT_KEY_BASE && (size_t)(c - OPT_KEY_BASE) < nkeys) {
			f->key = keys[c - OPT_KEY_BASE].name;
			f->where = xasprintf("--%s", opts[c - OPT_KEY_BASE].name);
			f->value = optarg;
			args->nflags++;
		} else {
			cmd_usage(stderr, "agent");
			rc = EXIT_USAGE;
		}
	}
	if (rc < 0 && optind < argc) {
		fprintf(stderr, "mitosis agent: unexpected argument '%s'\n", argv[optind]);
		cmd_usage(stderr, "agent");
		rc = EXIT_USAGE;
	}
	agent_free_options(opts, nkeys);
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

int
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
	for (size_t i = 0; i < args.nflags; i++)
		free(args.flags[i].where);
	free(args.flags);
	return rc;
}
