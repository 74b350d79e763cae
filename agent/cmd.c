/*
 * cmd: what every subcommand shares (agent/cmd.h): finding a verb, its usage
 * line, the --flags that mirror the configuration keys, and one clear
 * sentence for an option getopt refused, with "did you mean" as a mistyped
 * configuration key gets.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cmd.h"
#include "util.h"
#include "xmalloc.h"

/* A name at most this far from a known one is taken for a typo of it. */
#define CMD_CLOSE 3

const struct cmd_entry *
cmd_find(const struct cmd_entry *const *table, const char *name)
{
	for (size_t i = 0; table[i] != NULL; i++)
		if (strcmp(table[i]->name, name) == 0)
			return table[i];
	return NULL;
}

const struct cmd_entry *
cmd_closest(const struct cmd_entry *const *table, const char *name)
{
	const struct cmd_entry *best = NULL;
	size_t best_d = CMD_CLOSE;

	for (size_t i = 0; table[i] != NULL; i++) {
		size_t d = util_distance(name, table[i]->name);

		if (d < best_d) {
			best_d = d;
			best = table[i];
		}
	}
	return best;
}

void
cmd_usage(FILE *out, const struct cmd_entry *cmd)
{
	fprintf(out, "usage: mitosis %s\n", cmd->usage);
}

struct option *
cmd_options(const struct option *extra, int key_base)
{
	size_t nkeys, nextra = 0, n = 0;
	const struct cfg_key_info *keys = cfg_keys(&nkeys);
	struct option *o;

	while (extra != NULL && extra[nextra].name != NULL)
		nextra++;
	o = xcalloc(nextra + nkeys + 1, sizeof(*o));
	for (; n < nextra; n++) {
		o[n] = extra[n];
		o[n].name = xstrdup(extra[n].name);
	}
	for (size_t i = 0; i < nkeys; i++, n++) {
		char *name = xstrdup(keys[i].name);

		for (char *p = name; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		o[n].name = name;
		o[n].has_arg = required_argument;
		o[n].val = key_base + (int)i;
	}
	return o;
}

void
cmd_options_free(struct option *opts)
{
	if (opts == NULL)
		return;
	for (size_t i = 0; opts[i].name != NULL; i++)
		free((char *)(uintptr_t)opts[i].name);
	free(opts);
}

void
cmd_setting_key(struct cmd_setting *s, size_t i, const char *value)
{
	s->key = cfg_keys(NULL)[i].name;
	s->where = xasprintf("--%s", s->key);
	for (char *p = s->where; *p != '\0'; p++)
		if (*p == '_')
			*p = '-';
	s->value = value;
}

void
cmd_settings_free(struct cmd_setting *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i].where);
	free(s);
}

/* The long option closest to `name` (without its dashes and any "=VALUE"). */
static const char *
cmd_closest_option(const struct option *opts, const char *name)
{
	const char *best = NULL;
	size_t best_d = CMD_CLOSE;
	char word[80];

	snprintf(word, sizeof(word), "%.*s", (int)strcspn(name, "="), name);
	for (size_t i = 0; opts != NULL && opts[i].name != NULL; i++) {
		size_t d = util_distance(word, opts[i].name);

		if (d < best_d) {
			best_d = d;
			best = opts[i].name;
		}
	}
	return best;
}

int
cmd_bad_option(const struct cmd_entry *cmd, int c, char **argv, const struct option *opts)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const char *near;

	if (c == ':')
		fprintf(stderr, "mitosis %s: option '%s' needs a value\n", cmd->name,
			optopt != 0 ? (char[]){ '-', (char)optopt, '\0' } : arg);
	else if (optopt != 0)
		fprintf(stderr, "mitosis %s: unknown option '-%c'\n", cmd->name, optopt);
	else if (strncmp(arg, "--", 2) == 0 && (near = cmd_closest_option(opts, arg + 2)) != NULL)
		fprintf(stderr, "mitosis %s: unknown option '%s' (did you mean '--%s'?)\n",
			cmd->name, arg, near);
	else
		fprintf(stderr, "mitosis %s: unknown option '%s'\n", cmd->name, arg);
	cmd_usage(stderr, cmd);
	return EXIT_USAGE;
}
