/*
 * cfg: the agent's configuration file, parsed line by line in the manner of
 * wireguard-tools' config_read_init/line/finish.
 *
 * Syntax (docs/config.md): one `key = value` per line; blank lines and lines
 * whose first non-blank character is '#' are comments; a value may be written
 * in double quotes (escapes \" and \\), otherwise it runs to the end of the
 * line, or to a " #" comment, with surrounding blanks trimmed. Keys are
 * lower_snake_case. Unknown keys, a key given twice in one source, bad values
 * and out-of-range numbers are errors. The parser never stops at the first
 * error: every error is recorded as "SOURCE:LINE: message" so that
 * `mitosis agent -n` can list them all.
 *
 * Every key can also be set from the command line (`--metadata-url URL` sets
 * metadata_url): cfg_set() records it with the flag as its source, and a flag
 * overrides the file.
 */
#ifndef CFG_H
#define CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CFG_DEFAULT_PORT	   7950
#define CFG_DEFAULT_CONTROL_SOCKET "/run/mitosis/mitosis.sock"
#define CFG_DEFAULT_METRICS_PORT   9950
#define CFG_DEFAULT_API_URL	   "https://api.digitalocean.com"

struct cfg {
	char *cluster;	  /* cluster name: [a-z0-9-], 1..63 chars; required */
	char *key_file;	  /* cluster keyring path; required */
	char *token_file; /* DigitalOcean API token path; optional (NULL) */

	char *metadata_url;	      /* default "http://169.254.169.254" */
	uint64_t metadata_timeout_ms; /* per try; default 2000 (100ms..60s) */
	uint64_t metadata_attempts;   /* tries before giving up; default 3 (1..30) */

	/*
	 * Static identity, for hosts that are not droplets and for tests: when
	 * node_id is set the metadata service is not asked, and hostname and
	 * private_ipv4 become required.
	 */
	uint64_t node_id; /* 0 = unset (droplet ids start at 1) */
	char *hostname;
	char *region;
	char *public_ipv4;
	char *private_ipv4;
	char **tags; /* comma-separated in the file */
	size_t ntags;

	/* Gossip addresses. bind_host NULL = the private IPv4 from the identity. */
	char *bind_host;
	uint16_t bind_port;	 /* default CFG_DEFAULT_PORT */
	char *advertise_host;	 /* NULL = the bind address */
	uint16_t advertise_port; /* 0 = the bind port */
	char **seeds;		 /* "HOST[:PORT]" entries, comma-separated */
	size_t nseeds;

	/* Membership timing (docs/membership.md); defaults from swim_config_default(). */
	uint64_t probe_interval_ms;
	uint64_t probe_timeout_ms;
	uint64_t gossip_interval_ms;
	uint64_t gossip_fanout;
	uint64_t indirect_checks;
	uint64_t suspicion_mult;
	uint64_t suspicion_unit_ms;
	bool sign_datagrams; /* Ed25519 on every gossip datagram */
	uint64_t suspicion_max_mult;
	uint64_t pushpull_interval_ms;
	uint64_t reap_after_ms;
	uint64_t leave_timeout_ms; /* how long a graceful leave gossips before exit */

	/* Load sampling (docs/load.md). */
	uint64_t load_interval_ms;
	uint64_t load_window_ms;
	uint64_t load_change;	  /* percent points that make a sample worth gossiping */
	uint64_t load_refresh_ms; /* a sample is gossiped at least this often */
	char *custom_metric_file;
	char *custom_metric_command;
	uint64_t custom_metric_timeout_ms;

	char *control_socket;  /* default CFG_DEFAULT_CONTROL_SOCKET */
	char *state_dir;       /* default STATEDIR_DEFAULT (include/statedir.h) */
	char *metrics_host;    /* metrics_listen: NULL = no metrics server */
	uint16_t metrics_port; /* default CFG_DEFAULT_METRICS_PORT */

	/* The DigitalOcean API and cloning (docs/cloud.md). */
	char *api_url;		 /* default CFG_DEFAULT_API_URL */
	uint64_t api_timeout_ms; /* per request; default 15 s */
	char *cluster_tag;	 /* cfg_finish sets "mitosis-" + cluster when not given */
	uint64_t clone_image;	 /* snapshot id; 0 = unset */
	char *clone_size;	 /* size slug */
	char *clone_region;	 /* NULL = this droplet's region */
	char *clone_vpc_uuid;
	char **clone_ssh_keys; /* ids or fingerprints */
	size_t nclone_ssh_keys;
	char **clone_tags; /* extra tags on clones (the cluster tag is always added) */
	size_t nclone_tags;
	uint64_t active_timeout_ms; /* a clone not active by then is deleted; default 5 m */
	uint64_t delete_timeout_ms; /* a delete must reach 404 by then, twice; default 2 m */

	/* Registration in rotation (docs/registrars.md). */
	char **registrars; /* "do-dns", "do-lb", "haproxy", "exec" */
	size_t nregistrars;
	char *dns_domain;	      /* zone, e.g. example.com */
	char *dns_name;		      /* record name relative to the zone, "www" or "@" */
	uint64_t dns_ttl;	      /* seconds; default 60 */
	char *lb_id;		      /* load balancer uuid */
	uint64_t health_timeout_ms;   /* do-lb: wait for a member's health check; 0 = none */
	char *haproxy_runtime;	      /* "unix:/run/haproxy/admin.sock" or "127.0.0.1:9999" */
	char *haproxy_backend;	      /* backend name */
	uint64_t haproxy_server_port; /* port of the app on each node; default 80 */
	char *exec_command;	      /* run as `CMD register|deregister` with MITOSIS_NODE_* env */
	char *register_address;	      /* "public" (default) or "private": the IP put in rotation */
	uint64_t drain_timeout_ms;    /* retire waits this after deregistering; default 30 s */

	/* The election and the leader's work (docs/election.md); defaults from
	 * elect_config_default(), checked together by elect_config_check(). */
	uint64_t voters;	  /* voter set size: 1, 3, 5 or 7 */
	uint64_t heartbeat_ms;	  /* the leader's round period */
	uint64_t lease_ms;	  /* L */
	uint64_t drift_ppm;	  /* clock drift bound, parts per million */
	uint64_t election_min_ms; /* a follower's timeout: uniform in [min, max) */
	uint64_t election_max_ms;
	uint64_t voter_replace_after_ms; /* a voter dead this long is replaced */
	uint64_t voter_stable_ms;	 /* a member alive this long may become a voter */
	uint64_t bootstrap_expect;	 /* 0: never bootstrap; N: with N members seen */
	uint64_t bootstrap_settle_ms;	 /* ... for this long */
	uint64_t announce_ms;		 /* the leader re-announces itself this often */
	uint64_t reconcile_interval_ms;	 /* the leader's inventory read and registrars' reconcile */

	/* Event hooks (docs/policy.md, "Event hooks"). */
	char *on_event;		  /* a script run as `SCRIPT EVENT`; NULL = none */
	char *webhook_url;	  /* JSON POST target; may hold a secret: never logged whole */
	uint64_t hook_timeout_ms; /* a script run or one webhook attempt; default 30 s */
	/* The scaling policy and the leader's operations (docs/policy.md);
	 * defaults from policy_config_default() and actuate_config_default(),
	 * mapped and checked together by cfg_policy(). Fixed-point values are
	 * in the cores' units: permille for percentages, milli for decimals,
	 * micro-dollars for money. */
	char **policy_metrics; /* "cpu", "load1", "memory", "custom" */
	size_t npolicy_metrics;
	uint64_t target_cpu;	   /* permille */
	uint64_t target_load1;	   /* milli (load1 per CPU) */
	uint64_t target_memory;	   /* permille */
	uint64_t target_custom;	   /* milli; 0 = unset */
	uint64_t load1_max;	   /* milli; 0 = 2 x target_load1 */
	uint64_t custom_max;	   /* milli; 0 = 2 x target_custom */
	uint64_t policy_tolerance; /* permille */
	uint64_t policy_interval_ms;
	uint64_t scale_out_window_ms;
	uint64_t scale_in_window_ms;
	uint64_t scale_out_cooldown_ms;
	uint64_t scale_in_cooldown_ms;
	uint64_t warmup_ms;
	uint64_t min_nodes, max_nodes, max_step;
	uint64_t max_hourly_cost; /* micro-dollars an hour; 0 = no limit */
	bool billing_hold;
	bool policy_dry_run;
	bool protect;			  /* never a scale-in victim (gossiped) */
	uint64_t replace_after_ms;	  /* a dead node's droplet is looked up after this */
	uint64_t powercycle_wait_ms;	  /* after the one power cycle */
	uint64_t retire_leave_timeout_ms; /* a victim asked to leave has this long */
	uint64_t hook_max_wait_ms;

	enum log_level log_level; /* `log_level`, default info */
	unsigned traces;	  /* `trace`, e.g. "wire,meta" */
};

struct elect_config;
struct policy_config;
struct actuate_config;

/* The election settings of cfg as the core takes them. */
void cfg_election(const struct cfg *cfg, struct elect_config *out);

/*
 * The policy and actuation settings of cfg as the cores take them
 * (docs/policy.md, "Configuration"), checked by policy_config_validate() and
 * actuate_config_validate(): 0, or -EINVAL with err naming the key.
 */
int cfg_policy(const struct cfg *cfg, struct policy_config *pc, struct actuate_config *ac,
	       char *err, size_t errsize);

/* One row of the key table: name, value type, default, range and help, for
 * --help, the flag parser and docs/config.md. */
struct cfg_key_info {
	const char *name;
	const char *type;  /* "string", "path", "url", "duration", "integer", "ipv4", "list",
			      "hostport", "level", "traces" */
	const char *def;   /* default as text, "" when none */
	const char *range; /* allowed values as text */
	const char *help;
};

struct cfg_parser;

/* New config holding every default. Returns NULL on ENOMEM. Free with cfg_free. */
struct cfg *cfg_new(void);
/* Frees the config and every string in it. Accepts NULL. */
void cfg_free(struct cfg *cfg);

/* A parser that fills `cfg` (borrowed; must outlive the parser). NULL on ENOMEM. */
struct cfg_parser *cfg_parser_new(struct cfg *cfg);
void cfg_parser_free(struct cfg_parser *p);

/* Parses one line (`len` bytes, no newline needed, need not be NUL-terminated).
 * Returns false when the line held an error (recorded). */
bool cfg_parse_line(struct cfg_parser *p, const char *source, unsigned lineno, const char *line,
		    size_t len);
/* Parses a whole file image; line numbers start at 1. NUL bytes are errors. */
bool cfg_parse_buffer(struct cfg_parser *p, const char *source, const char *buf, size_t len);
/* Reads and parses a file; an unreadable file is recorded as "PATH: ...", and
 * cfg_finish() then does not also report the keys it would have held. */
bool cfg_parse_file(struct cfg_parser *p, const char *path);
/*
 * Reads the drop-ins of the main file at main_path: every NAME.conf of the
 * directory conf.d beside it (/etc/mitosis/conf.d for /etc/mitosis/mitosis.conf)
 * in bytewise name order, hidden files and other names skipped, each as
 * cfg_parse_file() reads one. A key may be set once per file; a later file
 * overrides an earlier one. A missing conf.d is no error. Returns false when
 * any error was recorded (named FILE:LINE as in the main file).
 */
bool cfg_parse_dropins(struct cfg_parser *p, const char *main_path);
/* Sets one key from the command line; `where` names the flag in messages
 * ("--metadata-url"). Overrides an earlier value from any source. */
bool cfg_set(struct cfg_parser *p, const char *where, const char *key, const char *value);
/* Checks that need every key at once (required keys, static identity
 * completeness). Call after all input. Returns true when no error at all was
 * recorded, by this or any earlier call. */
bool cfg_finish(struct cfg_parser *p);

size_t cfg_error_count(const struct cfg_parser *p);
/* The i-th error as "SOURCE:LINE: message" (or "SOURCE: message"). Borrowed. */
const char *cfg_error(const struct cfg_parser *p, size_t i);

/*
 * Where the value in force of the key with index i in cfg_keys() came from:
 * true with *source the file (and *line its line) or the flag (*line 0), and
 * *value the text as written; false when the key holds its default. All
 * borrowed from the parser.
 */
bool cfg_origin(const struct cfg_parser *p, size_t i, const char **source, unsigned *line,
		const char **value);

/* The key table, in documentation order. */
const struct cfg_key_info *cfg_keys(size_t *n);

/*
 * Compares two configurations key by key (a reload against the running one).
 * Writes the names of the keys whose values differ, in table order, into
 * names[0..max) (static strings) and returns how many differ, which may be
 * more than max.
 */
size_t cfg_diff(const struct cfg *a, const struct cfg *b, const char **names, size_t max);

#endif
