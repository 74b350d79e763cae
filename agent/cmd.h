/*
 * cmd: the subcommands of the one `mitosis` binary (wireguard-tools' wg.c,
 * tmux's cmd_entry). Each cmd_<name>.c exports its `const struct cmd_entry`
 * (name, usage, summary, help, main) through cmd_<name>.h; main.c lists them. Each
 * main() takes argv with argv[0] = the subcommand name, and returns the
 * process exit code (docs/cli.md): 0 success, 1 failure, 2 usage error.
 *
 * cmd.c holds what every verb shares: usage lines, the flags that mirror
 * configuration keys, and the words for an option getopt refused;
 * cmd_config.c reads the configuration.
 */
#ifndef CMD_H
#define CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define EXIT_USAGE	   2
#define CMD_DEFAULT_CONFIG "/etc/mitosis/mitosis.conf"

struct cfg;
struct option;

/* One KEY=VALUE from the command line; `where` names the flag in messages. */
struct cmd_setting {
	const char *key;
	char *where; /* owned: "--metadata-url", "-T" */
	const char *value;
};

struct cmd_entry {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *usage;	 /* one line, without "usage: mitosis " */
	const char *summary;	 /* one line */
	void (*help)(FILE *out); /* longer help, may be NULL */
};

/* The entry called `name` in a NULL-terminated table, or NULL. */
const struct cmd_entry *cmd_find(const struct cmd_entry *const *table, const char *name);

/* The entry whose name is closest to `name` (a typo), or NULL when none is close. */
const struct cmd_entry *cmd_closest(const struct cmd_entry *const *table, const char *name);

/* Prints "usage: mitosis <usage>" to out. */
void cmd_usage(FILE *out, const struct cmd_entry *cmd);

/*
 * getopt_long options: `extra` (NULL-terminated, copied first), then one
 * --flag per configuration key ("--token-file") with required_argument and
 * val = key_base + the key's index in cfg_keys(), then the terminator. The
 * caller frees with cmd_options_free().
 */
struct option *cmd_options(const struct option *extra, int key_base);
void cmd_options_free(struct option *opts);

/* The setting for the key with index `i` in cfg_keys(), given as its flag
 * ("--metadata-url") with value `value` (borrowed). */
void cmd_setting_key(struct cmd_setting *s, size_t i, const char *value);

/* Frees the `where` of n settings, and the array. Accepts NULL. */
void cmd_settings_free(struct cmd_setting *s, size_t n);

/*
 * Reports what getopt_long (called with opterr = 0 and a ':' first in the
 * short options) refused, as it returned `c` ('?' or ':'): a missing value,
 * or an unknown option with "did you mean" when a known one is close; then
 * the usage line. opts may be NULL (short options only). Returns EXIT_USAGE.
 */
int cmd_bad_option(const struct cmd_entry *cmd, int c, char **argv, const struct option *opts);

/*
 * Reads the configuration at path (NULL: CMD_DEFAULT_CONFIG, "": none) and its
 * drop-ins (cfg_parse_dropins), applies the settings over them, and with
 * `finish` runs the checks that need every key. Prints every error on stderr as "FILE:LINE:
 * message" and returns NULL, or returns the config (caller frees with cfg_free). A file that cannot
 * be read is one error, without the missing keys that follow from it.
 */
struct cfg *cmd_load_config(const char *path, const struct cmd_setting *set, size_t nset,
			    bool finish);

/* The same with finish, and when all is well, every key's value and where it
 * came from printed to `out` (`agent -n --show-origin`). */
struct cfg *cmd_show_config(const char *path, const struct cmd_setting *set, size_t nset,
			    FILE *out);

/* The same, for a running agent's reload (SIGHUP): every error is logged as
 * "reload: FILE:LINE: message". */
struct cfg *cmd_reload_config(const char *path, const struct cmd_setting *set, size_t nset);

#endif
