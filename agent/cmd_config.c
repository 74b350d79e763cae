/*
 * cmd_config: the one way every subcommand reads the agent configuration:
 * the file, its drop-ins (conf.d beside it), then command-line settings over
 * them, then the checks that need every key; every error printed as
 * "FILE:LINE: message".
 */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cmd.h"
#include "log.h"

/* The value as a configuration line would hold it: quoted when the plain form
 * would lose blanks, a '#' comment or a quote. */
static void
cmd_print_value(FILE *out, const char *v)
{
	size_t n = strlen(v);

	if (n > 0 && v[0] != ' ' && v[0] != '\t' && v[0] != '"' && v[n - 1] != ' ' &&
	    v[n - 1] != '\t' && strchr(v, '#') == NULL) {
		fputs(v, out);
		return;
	}
	fputc('"', out);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', out);
		fputc(*v, out);
	}
	fputc('"', out);
}

/*
 * Every key with its value and where it came from (--show-origin), as lines
 * of a configuration file: "key = value  # FILE:LINE" or "# --flag"; a key
 * at its default is a comment, "# key = DEFAULT  (default)".
 */
static void
cmd_print_origins(FILE *out, const struct cfg_parser *p)
{
	size_t n;
	const struct cfg_key_info *keys = cfg_keys(&n);

	for (size_t i = 0; i < n; i++) {
		const char *src, *value;
		unsigned line;

		if (!cfg_origin(p, i, &src, &line, &value)) {
			if (keys[i].def[0] != '\0')
				fprintf(out, "# %s = %s  (default)\n", keys[i].name, keys[i].def);
			continue;
		}
		fprintf(out, "%s = ", keys[i].name);
		cmd_print_value(out, value);
		if (line > 0)
			fprintf(out, "  # %s:%u\n", src, line);
		else
			fprintf(out, "  # %s\n", src);
	}
}

/*
 * The one parse: the file, its drop-ins (conf.d beside it), then the flags.
 * `logged` sends the errors to the log (a running agent) instead of stderr;
 * `origins`, when not NULL, gets every key's origin once all is read.
 */
static struct cfg *
cmd_parse_config(const char *path, const struct cmd_setting *set, size_t nset, bool finish,
		 bool logged, FILE *origins)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg != NULL ? cfg_parser_new(cfg) : NULL;
	bool ok = true;

	if (p == NULL)
		fatalx("out of memory");
	/* "" reads no file: the settings alone (haproxy-config without a configuration). */
	if (path == NULL || path[0] != '\0') {
		path = path != NULL ? path : CMD_DEFAULT_CONFIG;
		ok = cfg_parse_file(p, path);
		ok = cfg_parse_dropins(p, path) && ok;
	}
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
	if (ok && origins != NULL)
		cmd_print_origins(origins, p);
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
	return cmd_parse_config(path, set, nset, finish, false, NULL);
}

struct cfg *
cmd_show_config(const char *path, const struct cmd_setting *set, size_t nset, FILE *out)
{
	return cmd_parse_config(path, set, nset, true, false, out);
}

struct cfg *
cmd_reload_config(const char *path, const struct cmd_setting *set, size_t nset)
{
	return cmd_parse_config(path, set, nset, true, true, NULL);
}
