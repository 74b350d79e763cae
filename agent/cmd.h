/*
 * cmd: the subcommands of the one `mitosis` binary (wireguard-tools' wg.c and
 * subcommands.h). Each cmd_<name>_main() takes argv with argv[0] = the
 * subcommand name, and returns the process exit code (docs/cli.md):
 * 0 success, 1 failure, 2 usage error.
 */
#ifndef CMD_H
#define CMD_H

#include <stdio.h>

#include <stdbool.h>
#include <stddef.h>

#define EXIT_USAGE	   2
#define CMD_DEFAULT_CONFIG "/etc/mitosis/mitosis.conf"

struct cfg;

/* One KEY=VALUE from the command line; `where` names the flag in messages. */
struct cmd_setting {
	const char *key;
	char *where;
	const char *value;
};

struct cmd_entry {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *usage;	 /* one line, without "usage: " */
	const char *summary;	 /* one line */
	void (*help)(FILE *out); /* longer help, may be NULL */
};

/* The command table, ending with a NULL name. */
extern const struct cmd_entry cmd_table[];

int cmd_agent_main(int argc, char **argv);
void cmd_agent_help(FILE *out);
int cmd_keygen_main(int argc, char **argv);
void cmd_keygen_help(FILE *out);

/*
 * Reads the configuration at path (NULL: CMD_DEFAULT_CONFIG), applies the
 * settings over it, and with `finish` runs the checks that need every key.
 * Prints every error on stderr as "FILE:LINE: message" and returns NULL, or
 * returns the config (caller frees with cfg_free).
 */
struct cfg *cmd_load_config(const char *path, const struct cmd_setting *set, size_t nset,
			    bool finish);

/* The same, for a running agent's reload (SIGHUP): every error is logged as
 * "reload: FILE:LINE: message". */
struct cfg *cmd_reload_config(const char *path, const struct cmd_setting *set, size_t nset);

/* Prints "usage: mitosis <usage of NAME>" to out. */
void cmd_usage(FILE *out, const char *name);

#endif
