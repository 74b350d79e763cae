/*
 * cmd_config: the one way every subcommand reads the agent configuration:
 * the file, then command-line settings over it, then the checks that need
 * every key; every error printed as "FILE:LINE: message".
 */
#include <stdio.h>

#include "cfg.h"
#include "cmd.h"
#include "log.h"

/* The one parse; `logged` sends the errors to the log (a running agent) instead of stderr. */
static struct cfg *
cmd_parse_config(const char *path, const struct cmd_setting *set, size_t nset, bool finish,
		 bool logged)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg != NULL ? cfg_parser_new(cfg) : NULL;
	bool ok;

	if (p == NULL)
		fatalx("out of memory");
	/* "" reads no file: the settings alone (haproxy-config without a configuration). */
	ok = path != NULL && path[0] == '\0'
		     ? true
		     : cfg_parse_file(p, path != NULL ? path : CMD_DEFAULT_CONFIG);
	for (size_t i = 0; i < nset; i++)
		ok = cfg_set(p, set[i].where, set[i].key, set[i].value) && ok;
	if (finish)
		ok = cfg_finish(p);
	for (size_t i = 0; i < cfg_error_count(p); i++) {
		if (logged)
			log_warnx("reload: %s", cfg_error(p, i));
		else
			fprintf(stderr, "%s\n", cfg_error(p, i));
	}
	cfg_parser_free(p);
	if (!ok) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

struct cfg *
cmd_load_config(const char *path, const struct cmd_setting *set, size_t nset, bool finish)
{
	return cmd_parse_config(path, set, nset, finish, false);
}

struct cfg *
cmd_reload_config(const char *path, const struct cmd_setting *set, size_t nset)
{
	return cmd_parse_config(path, set, nset, true, true);
}
