/*
 * cfg: the configuration file and the flags that mirror it.
 *
 * Everything about a key lives in one row of cfg_table: its name, type,
 * default and range as text (for --help, the flag parser and docs/config.md,
 * through cfg_keys()), the setter that parses a value into struct cfg, and the
 * field offsets and bounds that setter uses. Adding a key is adding a row.
 *
 * The parser records every error instead of stopping at the first one, so that
 * `mitosis agent -n` lists all of them. It also remembers where each key was
 * set (file and line, or flag): that is what detects a key given twice in one
 * file, lets a flag win over the file in either order, and lets cfg_finish()
 * point at the offending line of a cross-key mistake.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "statedir.h"
#include "swim.h"
#include "util.h"

#define CFG_LINE_MAX		 4096
#define CFG_FILE_MAX		 (1024 * 1024)
#define CFG_LIST_MAX		 64
#define CFG_MAX_ERRORS		 100
#define CFG_URL_MAX		 512
#define CFG_DEFAULT_METADATA_URL "http://169.254.169.254"
/* Room for a value or key quoted in a message; longer ones are cut with "...". */
#define CFG_SHOW	80
#define CFG_MSG		1024
#define CFG_BLANKS	" \t"
#define CFG_TRACE_NAMES "wire, meta, http, gossip, elect, cloud, control, all"

struct cfg_key;

/* Parses value into cfg; 0, -EINVAL with a message (no key name), or -ENOMEM. */
typedef int cfg_set_fn(struct cfg *cfg, const struct cfg_key *k, const char *value, char *msg,
		       size_t msgsize);
/* NULL when value is acceptable, else the reason, phrased to follow the value. */
typedef const char *cfg_check_fn(const char *value);

struct cfg_key {
	struct cfg_key_info info;
	cfg_set_fn *set;
	cfg_check_fn *check; /* strings and list items */
	size_t off;	     /* the field (for a list: the array; host:port: the host) */
	size_t off2;	     /* a list's count, or a host:port's port */
	uint64_t min, max;   /* numbers and durations; max items of a list; default port */
};

/* Where a key was last set. */
struct cfg_origin {
	char *file;    /* source of the last file line that set it, or NULL */
	unsigned line; /* its line */
	char *flag;    /* the flag that set it, or NULL */
	bool bad;      /* the last value given was rejected (and reported) */
};

static cfg_set_fn cfg_set_string, cfg_set_u64, cfg_set_bool, cfg_set_duration, cfg_set_list,
	cfg_set_hostport, cfg_set_level, cfg_set_traces;
static cfg_check_fn cfg_check_cluster, cfg_check_path, cfg_check_url, cfg_check_hostname,
	cfg_check_region, cfg_check_ipv4, cfg_check_tag, cfg_check_hostport, cfg_check_command,
	cfg_check_uuid, cfg_check_slug, cfg_check_registrar, cfg_check_dns_name,
	cfg_check_address_kind, cfg_check_haproxy_runtime;

#define OFF(field) offsetof(struct cfg, field)

/* Aligned by hand: a key in three lines reads better than one field a line. */
/* clang-format off */
static const struct cfg_key cfg_table[] = {
	{ { "cluster", "string", "", "[a-z0-9-], 1..63 chars, no '-' at either end",
	    "Name of the cluster this node belongs to. Required." },
	  cfg_set_string, cfg_check_cluster, OFF(cluster), 0, 0, 0 },
	{ { "key_file", "path", "", "a file owned by the agent's user, mode 0600",
	    "Cluster keyring: seals and checks every gossip message. Required." },
	  cfg_set_string, cfg_check_path, OFF(key_file), 0, 0, 0 },
	{ { "token_file", "path", "", "a file owned by the agent's user, mode 0600",
	    "DigitalOcean API token, used by the elected leader to call the cloud API." },
	  cfg_set_string, cfg_check_path, OFF(token_file), 0, 0, 0 },
	{ { "metadata_url", "url", CFG_DEFAULT_METADATA_URL, "http:// or https://, <= 512 chars",
	    "Base URL of the droplet metadata service." },
	  cfg_set_string, cfg_check_url, OFF(metadata_url), 0, 0, 0 },
	{ { "metadata_timeout", "duration", "2s", "100ms..60s",
	    "Time allowed for one request to the metadata service." },
	  cfg_set_duration, NULL, OFF(metadata_timeout_ms), 0, 100, 60 * 1000 },
	{ { "metadata_attempts", "integer", "3", "1..30",
	    "Requests made to the metadata service before giving up." },
	  cfg_set_u64, NULL, OFF(metadata_attempts), 0, 1, 30 },
	{ { "node_id", "integer", "", "1..9223372036854775807",
	    "Static identity: this node's id. When set, the metadata service is not asked." },
	  cfg_set_u64, NULL, OFF(node_id), 0, 1, INT64_MAX },
	{ { "hostname", "string", "", "1..253 chars: letters, digits, '-', '.'",
	    "Static identity: host name. Required with node_id." },
	  cfg_set_string, cfg_check_hostname, OFF(hostname), 0, 0, 0 },
	{ { "region", "string", "", "[a-z0-9-], 1..32 chars", "Static identity: region slug." },
	  cfg_set_string, cfg_check_region, OFF(region), 0, 0, 0 },
	{ { "public_ipv4", "ipv4", "", "dotted quad", "Static identity: public IPv4 address." },
	  cfg_set_string, cfg_check_ipv4, OFF(public_ipv4), 0, 0, 0 },
	{ { "private_ipv4", "ipv4", "", "dotted quad",
	    "Static identity: private IPv4 address. Required with node_id." },
	  cfg_set_string, cfg_check_ipv4, OFF(private_ipv4), 0, 0, 0 },
	{ { "tags", "list", "", "up to 64 tags of [A-Za-z0-9:_-], 1..255 chars each",
	    "Static identity: droplet tags, comma-separated." },
	  cfg_set_list, cfg_check_tag, OFF(tags), OFF(ntags), 0, CFG_LIST_MAX },
	{ { "bind", "hostport", "private_ipv4:7950", "IPV4[:PORT] or [IPV6][:PORT]",
	    "Address the gossip socket binds to; the port defaults to 7950." },
	  cfg_set_hostport, NULL, OFF(bind_host), OFF(bind_port), CFG_DEFAULT_PORT, 0 },
	{ { "advertise", "hostport", "the bind address", "IPV4[:PORT] or [IPV6][:PORT]",
	    "Address peers are told to reach this node at; the port defaults to bind's." },
	  cfg_set_hostport, NULL, OFF(advertise_host), OFF(advertise_port), 0, 0 },
	{ { "seeds", "list", "", "up to 64 entries of IPV4[:PORT] or [IPV6][:PORT]",
	    "Peers to contact when joining, comma-separated; the port defaults to 7950." },
	  cfg_set_list, cfg_check_hostport, OFF(seeds), OFF(nseeds), 0, CFG_LIST_MAX },
	{ { "probe_interval", "duration", "1s", "50ms..60s",
	    "Base period between two probes of this node (Lifeguard may lengthen it)." },
	  cfg_set_duration, NULL, OFF(probe_interval_ms), 0, 50, 60 * 1000 },
	{ { "probe_timeout", "duration", "200ms", "10ms..30s, less than probe_interval",
	    "Time allowed for a direct ack before indirect probes are sent." },
	  cfg_set_duration, NULL, OFF(probe_timeout_ms), 0, 10, 30 * 1000 },
	{ { "gossip_interval", "duration", "200ms", "10ms..60s",
	    "Period of the gossip round that spreads pending updates." },
	  cfg_set_duration, NULL, OFF(gossip_interval_ms), 0, 10, 60 * 1000 },
	{ { "gossip_fanout", "integer", "3", "1..16", "Peers sent each gossip round." },
	  cfg_set_u64, NULL, OFF(gossip_fanout), 0, 1, 16 },
	{ { "indirect_checks", "integer", "4", "0..16",
	    "Peers asked to probe a node that missed its direct ack." },
	  cfg_set_u64, NULL, OFF(indirect_checks), 0, 0, 16 },
	{ { "suspicion_mult", "integer", "1", "1..20",
	    "Shortest suspicion: this x log10(members) x suspicion_unit." },
	  cfg_set_u64, NULL, OFF(suspicion_mult), 0, 1, 20 },
	{ { "suspicion_max_mult", "integer", "6", "1..20",
	    "Longest suspicion, as a multiple of the shortest." },
	  cfg_set_u64, NULL, OFF(suspicion_max_mult), 0, 1, 20 },
	{ { "suspicion_unit", "duration", "400ms", "10ms..60s",
	    "Time unit of the suspicion timeout (Lifeguard uses the probe interval)." },
	  cfg_set_duration, NULL, OFF(suspicion_unit_ms), 0, 10, 60 * 1000 },
	{ { "sign_datagrams", "boolean", "no", "yes or no",
	    "Add an Ed25519 signature to every gossip datagram (64 bytes each)." },
	  cfg_set_bool, NULL, OFF(sign_datagrams), 0, 0, 0 },
	{ { "pushpull_interval", "duration", "60s", "1s..1h",
	    "Full state exchange with one random member (scaled up past 32 members)." },
	  cfg_set_duration, NULL, OFF(pushpull_interval_ms), 0, 1000, 3600 * 1000 },
	{ { "reap_after", "duration", "60s", "1s..7d",
	    "Dead and departed members are forgotten after this." },
	  cfg_set_duration, NULL, OFF(reap_after_ms), 0, 1000, 7 * 24 * 3600 * 1000ULL },
	{ { "leave_timeout", "duration", "1s", "0..30s",
	    "On SIGTERM, how long the departure is gossiped before the agent exits." },
	  cfg_set_duration, NULL, OFF(leave_timeout_ms), 0, 0, 30 * 1000 },
	{ { "load_interval", "duration", "2s", "100ms..10m", "Period of the load sampler." },
	  cfg_set_duration, NULL, OFF(load_interval_ms), 0, 100, 600 * 1000 },
	{ { "load_window", "duration", "30s", "1s..1h",
	    "Time constant of the CPU utilisation EWMA." },
	  cfg_set_duration, NULL, OFF(load_window_ms), 0, 1000, 3600 * 1000 },
	{ { "load_change", "integer", "5", "0..100",
	    "Percent points of change that make a new sample worth gossiping (0 = any change)." },
	  cfg_set_u64, NULL, OFF(load_change), 0, 0, 100 },
	{ { "load_refresh", "duration", "5m", "1s..1h",
	    "A sample is gossiped at least this often, changed or not." },
	  cfg_set_duration, NULL, OFF(load_refresh_ms), 0, 1000, 3600 * 1000 },
	{ { "custom_metric_file", "path", "", "a readable file",
	    "Custom load metric: the number on the first line of this file." },
	  cfg_set_string, cfg_check_path, OFF(custom_metric_file), 0, 0, 0 },
	{ { "custom_metric_command", "string", "", "a shell command line",
	    "Custom load metric: the number this command prints (run with /bin/sh -c)." },
	  cfg_set_string, cfg_check_command, OFF(custom_metric_command), 0, 0, 0 },
	{ { "custom_metric_timeout", "duration", "1s", "100ms..60s",
	    "Time allowed for custom_metric_command; it is killed past it." },
	  cfg_set_duration, NULL, OFF(custom_metric_timeout_ms), 0, 100, 60 * 1000 },
	{ { "control_socket", "path", CFG_DEFAULT_CONTROL_SOCKET, "a path; its directory is created 0700",
	    "Unix socket for `mitosis members` and `mitosis status` (owner-only)." },
	  cfg_set_string, cfg_check_path, OFF(control_socket), 0, 0, 0 },
	{ { "state_dir", "path", STATEDIR_DEFAULT, "a directory of the agent's user, mode 0700",
	    "Durable state: this node's key (made at first boot); wiped when the droplet id changes." },
	  cfg_set_string, cfg_check_path, OFF(state_dir), 0, 0, 0 },
	{ { "api_url", "url", CFG_DEFAULT_API_URL, "http:// or https://, <= 512 chars",
	    "Base URL of the DigitalOcean API (tests point it at tests/cloudsim)." },
	  cfg_set_string, cfg_check_url, OFF(api_url), 0, 0, 0 },
	{ { "api_timeout", "duration", "15s", "1s..5m", "Time allowed for one API request." },
	  cfg_set_duration, NULL, OFF(api_timeout_ms), 0, 1000, 300 * 1000 },
	{ { "cluster_tag", "string", "mitosis-CLUSTER", "[A-Za-z0-9:_-], 1..255 chars",
	    "Tag every droplet of the cluster carries; clones get it, peers are found by it." },
	  cfg_set_string, cfg_check_tag, OFF(cluster_tag), 0, 0, 0 },
	{ { "clone_image", "integer", "", "a snapshot id, 1..9223372036854775807",
	    "Snapshot that clones are created from." },
	  cfg_set_u64, NULL, OFF(clone_image), 0, 1, INT64_MAX },
	{ { "clone_size", "string", "", "a size slug, e.g. s-1vcpu-1gb", "Size of new clones." },
	  cfg_set_string, cfg_check_slug, OFF(clone_size), 0, 0, 0 },
	{ { "clone_region", "string", "this droplet's region", "a region slug",
	    "Region of new clones." },
	  cfg_set_string, cfg_check_region, OFF(clone_region), 0, 0, 0 },
	{ { "clone_vpc_uuid", "string", "", "a uuid", "VPC of new clones (default: the region's)." },
	  cfg_set_string, cfg_check_uuid, OFF(clone_vpc_uuid), 0, 0, 0 },
	{ { "clone_ssh_keys", "list", "", "up to 64 key ids or fingerprints",
	    "SSH keys installed on new clones." },
	  cfg_set_list, cfg_check_tag, OFF(clone_ssh_keys), OFF(nclone_ssh_keys), 0, CFG_LIST_MAX },
	{ { "clone_tags", "list", "", "up to 64 tags", "Extra tags on new clones." },
	  cfg_set_list, cfg_check_tag, OFF(clone_tags), OFF(nclone_tags), 0, CFG_LIST_MAX },
	{ { "active_timeout", "duration", "5m", "10s..1h",
	    "A clone that is not active by then is deleted." },
	  cfg_set_duration, NULL, OFF(active_timeout_ms), 0, 10 * 1000, 3600 * 1000 },
	{ { "registrars", "list", "", "do-dns, do-lb, haproxy, exec",
	    "How nodes are put into rotation; several may be used at once." },
	  cfg_set_list, cfg_check_registrar, OFF(registrars), OFF(nregistrars), 0, 4 },
	{ { "dns_domain", "string", "", "a domain name", "do-dns: the DigitalOcean domain (zone)." },
	  cfg_set_string, cfg_check_hostname, OFF(dns_domain), 0, 0, 0 },
	{ { "dns_name", "string", "", "relative name or @",
	    "do-dns: the round-robin record name, relative to the zone." },
	  cfg_set_string, cfg_check_dns_name, OFF(dns_name), 0, 0, 0 },
	{ { "dns_ttl", "integer", "60", "30..86400", "do-dns: TTL of each A record, in seconds." },
	  cfg_set_u64, NULL, OFF(dns_ttl), 0, 30, 86400 },
	{ { "lb_id", "string", "", "a uuid", "do-lb: the DigitalOcean load balancer." },
	  cfg_set_string, cfg_check_uuid, OFF(lb_id), 0, 0, 0 },
	{ { "haproxy_runtime", "string", "", "unix:/PATH or IP:PORT",
	    "haproxy: where HAProxy's runtime API listens." },
	  cfg_set_string, cfg_check_haproxy_runtime, OFF(haproxy_runtime), 0, 0, 0 },
	{ { "haproxy_backend", "string", "", "a backend name", "haproxy: the backend nodes join." },
	  cfg_set_string, cfg_check_tag, OFF(haproxy_backend), 0, 0, 0 },
	{ { "haproxy_server_port", "integer", "80", "1..65535",
	    "haproxy: the port the application listens on, on each node." },
	  cfg_set_u64, NULL, OFF(haproxy_server_port), 0, 1, 65535 },
	{ { "exec_command", "path", "", "an executable",
	    "exec: run as `CMD register` or `CMD deregister` with MITOSIS_NODE_* set." },
	  cfg_set_string, cfg_check_path, OFF(exec_command), 0, 0, 0 },
	{ { "register_address", "string", "public", "public or private",
	    "Which IPv4 of a node is put into rotation." },
	  cfg_set_string, cfg_check_address_kind, OFF(register_address), 0, 0, 0 },
	{ { "drain_timeout", "duration", "30s", "0..1h",
	    "Retiring a node waits this (after the DNS TTL) before deleting it." },
	  cfg_set_duration, NULL, OFF(drain_timeout_ms), 0, 0, 3600 * 1000 },
	{ { "log_level", "level", "info", "error, warn, info, debug",
	    "Least severe level that is logged." },
	  cfg_set_level, NULL, OFF(log_level), 0, 0, 0 },
	{ { "trace", "traces", "", CFG_TRACE_NAMES,
	    "Subsystems whose trace messages are logged, comma-separated (as -T)." },
	  cfg_set_traces, NULL, OFF(traces), 0, 0, 0 },
};
/* clang-format on */

#define CFG_NKEYS (sizeof(cfg_table) / sizeof(cfg_table[0]))

struct cfg_parser {
	struct cfg *cfg;
	char *first_source; /* the first file parsed, named by missing-key errors */
	struct cfg_origin origin[CFG_NKEYS];
	char **errors;
	size_t nerrors;
	size_t dropped; /* errors past CFG_MAX_ERRORS */
	bool oom;	/* an error could not be recorded */
	bool failed;	/* any error at all */
	bool finished;
	char summary[96]; /* the last line when errors were dropped */
};

/* Quotes untrusted text for a message: escaped, and cut when long. */
static const char *
cfg_show(char *buf, size_t size, const char *s)
{
	return log_escape(buf, size, s, strlen(s));
}

static char **
cfg_str_field(struct cfg *cfg, size_t off)
{
	return (char **)(void *)((char *)cfg + off);
}

static void
cfg_list_free(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

/* Frees every string of cfg and zeroes it. */
static void
cfg_clear(struct cfg *cfg)
{
	char **strs[] = {
		&cfg->cluster,
		&cfg->key_file,
		&cfg->token_file,
		&cfg->metadata_url,
		&cfg->hostname,
		&cfg->region,
		&cfg->public_ipv4,
		&cfg->private_ipv4,
		&cfg->bind_host,
		&cfg->advertise_host,
		&cfg->custom_metric_file,
		&cfg->custom_metric_command,
		&cfg->control_socket,
		&cfg->api_url,
		&cfg->cluster_tag,
		&cfg->clone_size,
		&cfg->clone_region,
		&cfg->clone_vpc_uuid,
		&cfg->dns_domain,
		&cfg->dns_name,
		&cfg->lb_id,
		&cfg->haproxy_runtime,
		&cfg->haproxy_backend,
		&cfg->exec_command,
		&cfg->register_address,
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	free(cfg->state_dir);
	cfg_list_free(cfg->tags, cfg->ntags);
	cfg_list_free(cfg->seeds, cfg->nseeds);
	cfg_list_free(cfg->clone_ssh_keys, cfg->nclone_ssh_keys);
	cfg_list_free(cfg->clone_tags, cfg->nclone_tags);
	cfg_list_free(cfg->registrars, cfg->nregistrars);
	memset(cfg, 0, sizeof(*cfg));
}

/* The membership defaults are the core's own, so the two cannot drift apart. */
static void
cfg_set_gossip_defaults(struct cfg *cfg)
{
	struct swim_config sc;

	swim_config_default(&sc);
	cfg->probe_interval_ms = sc.probe_interval_ms;
	cfg->probe_timeout_ms = sc.probe_timeout_ms;
	cfg->gossip_interval_ms = sc.gossip_interval_ms;
	cfg->gossip_fanout = sc.gossip_fanout;
	cfg->indirect_checks = sc.indirect_checks;
	cfg->suspicion_mult = sc.suspicion_min_mult;
	cfg->suspicion_max_mult = sc.suspicion_max_mult;
	cfg->suspicion_unit_ms = sc.suspicion_unit_ms;
	cfg->pushpull_interval_ms = sc.pushpull_interval_ms;
	cfg->reap_after_ms = sc.reap_after_ms;
}

struct cfg *
cfg_new(void)
{
	struct cfg *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	cfg->metadata_url = strdup(CFG_DEFAULT_METADATA_URL);
	if (cfg->metadata_url == NULL) {
		free(cfg);
		return NULL;
	}
	cfg->control_socket = strdup(CFG_DEFAULT_CONTROL_SOCKET);
	cfg->state_dir = strdup(STATEDIR_DEFAULT);
	cfg->api_url = strdup(CFG_DEFAULT_API_URL);
	cfg->register_address = strdup("public");
	if (cfg->control_socket == NULL || cfg->state_dir == NULL || cfg->api_url == NULL ||
	    cfg->register_address == NULL) {
		cfg_free(cfg);
		return NULL;
	}
	cfg->metadata_timeout_ms = 2000;
	cfg->metadata_attempts = 3;
	cfg->bind_port = CFG_DEFAULT_PORT;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg_set_gossip_defaults(cfg);
	cfg->leave_timeout_ms = 1000;
	cfg->load_interval_ms = 2000;
	cfg->load_window_ms = 30000;
	cfg->load_change = 5;
	cfg->load_refresh_ms = 300000;
	cfg->custom_metric_timeout_ms = 1000;
	cfg->api_timeout_ms = 15000;
	cfg->active_timeout_ms = 300000;
	cfg->dns_ttl = 60;
	cfg->haproxy_server_port = 80;
	cfg->drain_timeout_ms = 30000;
	return cfg;
}

void
cfg_free(struct cfg *cfg)
{
	if (cfg == NULL)
		return;
	cfg_clear(cfg);
	free(cfg);
}

/* --- value checks ------------------------------------------------------ */

static bool
cfg_is_slug(const char *v, size_t max)
{
	size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-");

	return n > 0 && n <= max && v[n] == '\0';
}

static const char *
cfg_check_cluster(const char *v)
{
	size_t n = strlen(v);

	if (!cfg_is_slug(v, 63) || v[0] == '-' || v[n - 1] == '-')
		return "is not a valid cluster name (lowercase letters, digits and '-', "
		       "1..63 chars, no '-' at either end)";
	return NULL;
}

static const char *
cfg_check_region(const char *v)
{
	if (!cfg_is_slug(v, 32))
		return "is not a region slug (lowercase letters, digits and '-', 1..32 chars)";
	return NULL;
}

static const char *
cfg_check_hostname(const char *v)
{
	size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.");

	if (n == 0 || n > 253 || v[n] != '\0')
		return "is not a valid host name (letters, digits, '-' and '.', 1..253 chars)";
	return NULL;
}

static bool
cfg_has_control(const char *v)
{
	for (const unsigned char *s = (const unsigned char *)v; *s != '\0'; s++)
		if (*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static const char *
cfg_check_path(const char *v)
{
	if (cfg_has_control(v))
		return "is not a usable path (it holds control characters)";
	return NULL;
}

static const char *
cfg_check_uuid(const char *v)
{
	/* 8-4-4-4-12 hex digits, as DigitalOcean writes VPC and load balancer ids. */
	static const int groups[] = { 8, 4, 4, 4, 12 };
	const char *p = v;

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		size_t n = strspn(p, "0123456789abcdefABCDEF");

		if ((int)n != groups[g] || (g < 4 && p[n] != '-') || (g == 4 && p[n] != '\0'))
			return "is not a uuid (8-4-4-4-12 hex digits)";
		p += n + (g < 4 ? 1 : 0);
	}
	return NULL;
}

static const char *
cfg_check_slug(const char *v)
{
	if (!cfg_is_slug(v, 64))
		return "is not a slug (lowercase letters, digits and '-', 1..64 chars)";
	return NULL;
}

static const char *
cfg_check_registrar(const char *v)
{
	static const char *const known[] = { "do-dns", "do-lb", "haproxy", "exec" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(v, known[i]) == 0)
			return NULL;
	return "is not a registrar (do-dns, do-lb, haproxy, exec)";
}

static const char *
cfg_check_dns_name(const char *v)
{
	if (strcmp(v, "@") == 0)
		return NULL;
	if (cfg_check_hostname(v) != NULL || v[strlen(v) - 1] == '.')
		return "is not a record name relative to the zone (\"www\", \"api.eu\" or \"@\")";
	return NULL;
}

static const char *
cfg_check_address_kind(const char *v)
{
	if (strcmp(v, "public") != 0 && strcmp(v, "private") != 0)
		return "is not \"public\" or \"private\"";
	return NULL;
}

static const char *
cfg_check_haproxy_runtime(const char *v)
{
	if (strncmp(v, "unix:", 5) == 0)
		return v[5] == '/' && !cfg_has_control(v) ? NULL : "is not unix:/ABSOLUTE/PATH";
	return cfg_check_hostport(v) == NULL
		       ? NULL
		       : "is not unix:/PATH or IP:PORT of HAProxy's runtime API";
}

static const char *
cfg_check_command(const char *v)
{
	if (cfg_has_control(v))
		return "is not a usable command line (it holds control characters)";
	if (strlen(v) > 1024)
		return "is longer than 1024 characters";
	return NULL;
}

static const char *
cfg_check_url(const char *v)
{
	size_t scheme;

	if (strncmp(v, "http://", 7) == 0)
		scheme = 7;
	else if (strncmp(v, "https://", 8) == 0)
		scheme = 8;
	else
		return "does not start with http:// or https://";
	for (const unsigned char *s = (const unsigned char *)v; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return "holds a space, control or non-ASCII character (percent-encode it)";
	if (strlen(v) > CFG_URL_MAX)
		return "is longer than 512 characters";
	if (v[scheme] == '\0' || v[scheme] == '/')
		return "has no host after the scheme";
	return NULL;
}

static const char *
cfg_check_ipv4(const char *v)
{
	if (!util_is_ipv4(v))
		return "is not an IPv4 address (use a dotted quad, e.g. 10.0.0.5)";
	return NULL;
}

static const char *
cfg_check_tag(const char *v)
{
	size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-");

	if (n == 0 || n > 255 || v[n] != '\0')
		return "is not a valid tag (letters, digits, ':', '_' and '-', 1..255 chars)";
	return NULL;
}

static const char *
cfg_check_hostport(const char *v)
{
	char host[64];
	uint16_t port;

	if (util_parse_hostport(v, CFG_DEFAULT_PORT, host, sizeof(host), &port) < 0)
		return "is not IP[:PORT] (e.g. 10.0.0.5, 10.0.0.5:7950 or [fd00::1]:7950)";
	return NULL;
}

/* --- setters ----------------------------------------------------------- */

static int
cfg_set_string(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	char show[CFG_SHOW];
	const char *why = k->check(v);
	char **field = cfg_str_field(cfg, k->off);
	char *dup;

	if (why != NULL) {
		snprintf(msg, msgsize, "\"%s\" %s", cfg_show(show, sizeof(show), v), why);
		return -EINVAL;
	}
	dup = strdup(v);
	if (dup == NULL)
		return -ENOMEM;
	free(*field);
	*field = dup;
	return 0;
}

static int
cfg_set_u64(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	char show[CFG_SHOW];
	uint64_t n;
	int rc = util_parse_u64(v, k->min, k->max, &n);

	cfg_show(show, sizeof(show), v);
	if (rc == -EINVAL) {
		snprintf(msg, msgsize, "\"%s\" is not a whole number", show);
		return rc;
	}
	if (rc < 0) {
		snprintf(msg, msgsize, "%s is out of range %s", show, k->info.range);
		return -EINVAL;
	}
	*(uint64_t *)(void *)((char *)cfg + k->off) = n;
	return 0;
}

static int
cfg_set_bool(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	char show[CFG_SHOW];

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
			*(bool *)(void *)((char *)cfg + k->off) = strcmp(v, yes[i]) == 0;
			return 0;
		}
	}
	cfg_show(show, sizeof(show), v);
	snprintf(msg, msgsize, "\"%s\" is not yes or no", show);
	return -EINVAL;
}

static int
cfg_set_duration(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	char show[CFG_SHOW];
	uint64_t ms;
	int rc = util_parse_duration_ms(v, k->min, k->max, &ms);

	cfg_show(show, sizeof(show), v);
	if (rc == -EINVAL) {
		snprintf(msg, msgsize, "\"%s\" is not a duration (use e.g. 250ms, 2s, 1m)", show);
		return rc;
	}
	if (rc < 0) {
		snprintf(msg, msgsize, "%s is out of range %s", show, k->info.range);
		return -EINVAL;
	}
	*(uint64_t *)(void *)((char *)cfg + k->off) = ms;
	return 0;
}

/* Counts the comma-separated items of v. */
static size_t
cfg_list_count(const char *v)
{
	size_t n = 1;

	for (; *v != '\0'; v++)
		if (*v == ',')
			n++;
	return n;
}

/* Copies item [s, s+len) with its surrounding blanks trimmed; NULL on ENOMEM. */
static char *
cfg_trim_dup(const char *s, size_t len)
{
	while (len > 0 && strchr(CFG_BLANKS, *s) != NULL) {
		s++;
		len--;
	}
	while (len > 0 && strchr(CFG_BLANKS, s[len - 1]) != NULL)
		len--;
	return strndup(s, len);
}

/*
 * Splits a comma-separated list into trimmed items. An empty item is an error
 * (a stray comma is more likely a mistake than a wish), as are more than max.
 */
static int
cfg_split(const char *v, size_t max, char ***out, size_t *nout, char *msg, size_t msgsize)
{
	char show[CFG_SHOW];
	size_t n = cfg_list_count(v), i = 0;
	char **items;

	cfg_show(show, sizeof(show), v);
	if (n > max) {
		snprintf(msg, msgsize, "\"%s\" has %zu items, at most %zu are allowed", show, n,
			 max);
		return -EINVAL;
	}
	items = calloc(n, sizeof(*items));
	if (items == NULL)
		return -ENOMEM;
	for (const char *s = v; i < n; i++) {
		size_t len = strcspn(s, ",");

		items[i] = cfg_trim_dup(s, len);
		if (items[i] == NULL) {
			cfg_list_free(items, i);
			return -ENOMEM;
		}
		if (items[i][0] == '\0') {
			snprintf(msg, msgsize, "item %zu of \"%s\" is empty", i + 1, show);
			cfg_list_free(items, i + 1);
			return -EINVAL;
		}
		s += len + 1;
	}
	*out = items;
	*nout = n;
	return 0;
}

static int
cfg_set_list(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	char ***field = (char ***)(void *)((char *)cfg + k->off);
	size_t *count = (size_t *)(void *)((char *)cfg + k->off2);
	char show[CFG_SHOW], **items = NULL;
	size_t n = 0;
	int rc = cfg_split(v, k->max, &items, &n, msg, msgsize);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *why = k->check(items[i]);

		if (why != NULL) {
			snprintf(msg, msgsize, "\"%s\" %s", cfg_show(show, sizeof(show), items[i]),
				 why);
			rc = -EINVAL;
		}
	}
	if (rc < 0) {
		cfg_list_free(items, n);
		return rc;
	}
	cfg_list_free(*field, *count);
	*field = items;
	*count = n;
	return 0;
}

static int
cfg_set_hostport(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	char show[CFG_SHOW], host[64], *dup;
	char **field = cfg_str_field(cfg, k->off);
	uint16_t port;

	if (util_parse_hostport(v, (uint16_t)k->min, host, sizeof(host), &port) < 0) {
		snprintf(msg, msgsize, "\"%s\" %s", cfg_show(show, sizeof(show), v),
			 cfg_check_hostport(v));
		return -EINVAL;
	}
	dup = strdup(host);
	if (dup == NULL)
		return -ENOMEM;
	free(*field);
	*field = dup;
	*(uint16_t *)(void *)((char *)cfg + k->off2) = port;
	return 0;
}

static int
cfg_set_level(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	char show[CFG_SHOW];

	if (log_parse_level(v, &cfg->log_level) < 0) {
		snprintf(msg, msgsize, "\"%s\" is not a log level (use error, warn, info or debug)",
			 cfg_show(show, sizeof(show), v));
		return -EINVAL;
	}
	return 0;
}

static int
cfg_set_traces(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	char show[CFG_SHOW], **items = NULL;
	unsigned bits = 0, one;
	size_t n = 0;
	int rc = cfg_split(v, CFG_LIST_MAX, &items, &n, msg, msgsize);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (log_parse_traces(items[i], &one, NULL) < 0) {
			snprintf(msg, msgsize, "unknown trace subsystem \"%s\" (known: %s)",
				 cfg_show(show, sizeof(show), items[i]), CFG_TRACE_NAMES);
			rc = -EINVAL;
		} else {
			bits |= one;
		}
	}
	cfg_list_free(items, n);
	if (rc == 0)
		cfg->traces = bits;
	return rc;
}

/* --- errors ------------------------------------------------------------ */

static bool cfg_verror(struct cfg_parser *p, const char *source, unsigned line, const char *fmt,
		       va_list ap) __attribute__((format(printf, 4, 0)));

/* Records "SOURCE:LINE: message" (or "SOURCE: message" for line 0). Returns false. */
static bool
cfg_verror(struct cfg_parser *p, const char *source, unsigned line, const char *fmt, va_list ap)
{
	char msg[CFG_MSG], src[CFG_SHOW * 4], where[16] = "";
	size_t size;
	char *e;

	p->failed = true;
	if (p->nerrors >= CFG_MAX_ERRORS) {
		p->dropped++;
		snprintf(p->summary, sizeof(p->summary), "too many errors: %zu more not shown",
			 p->dropped);
		return false;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	cfg_show(src, sizeof(src), source);
	if (line > 0)
		snprintf(where, sizeof(where), ":%u", line);
	size = strlen(src) + strlen(where) + strlen(msg) + 3;
	e = malloc(size);
	if (e == NULL) {
		p->oom = true;
		return false;
	}
	snprintf(e, size, "%s%s: %s", src, where, msg);
	p->errors[p->nerrors++] = e;
	return false;
}

static bool cfg_error_at(struct cfg_parser *p, const char *source, unsigned line, const char *fmt,
			 ...) __attribute__((format(printf, 4, 5)));

static bool
cfg_error_at(struct cfg_parser *p, const char *source, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_verror(p, source, line, fmt, ap);
	va_end(ap);
	return false;
}

/* True when source is the flag of key k ("--metadata-url"), which then need not be named twice. */
static bool
cfg_is_own_flag(const struct cfg_key *k, const char *source)
{
	const char *name = k->info.name;

	if (strncmp(source, "--", 2) != 0)
		return false;
	for (source += 2; *name != '\0'; name++, source++)
		if (*source != (*name == '_' ? '-' : *name))
			return false;
	return *source == '\0';
}

/* An error about key k: "SOURCE:LINE: key: message". */
static bool
cfg_key_error(struct cfg_parser *p, const struct cfg_key *k, const char *source, unsigned line,
	      const char *msg)
{
	if (cfg_is_own_flag(k, source))
		return cfg_error_at(p, source, line, "%s", msg);
	return cfg_error_at(p, source, line, "%s: %s", k->info.name, msg);
}

size_t
cfg_error_count(const struct cfg_parser *p)
{
	return p->nerrors + (p->dropped > 0 || p->oom ? 1 : 0);
}

const char *
cfg_error(const struct cfg_parser *p, size_t i)
{
	if (i < p->nerrors)
		return p->errors[i];
	if (i == p->nerrors && p->oom)
		return "out of memory: some configuration errors were not recorded";
	if (i == p->nerrors && p->dropped > 0)
		return p->summary;
	return NULL;
}

/* --- the parser -------------------------------------------------------- */

struct cfg_parser *
cfg_parser_new(struct cfg *cfg)
{
	struct cfg_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->errors = calloc(CFG_MAX_ERRORS, sizeof(*p->errors));
	if (p->errors == NULL) {
		free(p);
		return NULL;
	}
	p->cfg = cfg;
	return p;
}

void
cfg_parser_free(struct cfg_parser *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		free(p->origin[i].file);
		free(p->origin[i].flag);
	}
	for (size_t i = 0; i < p->nerrors; i++)
		free(p->errors[i]);
	free(p->errors);
	free(p->first_source);
	free(p);
}

/* Remembers the first file source, which names the file in missing-key errors. */
static void
cfg_note_source(struct cfg_parser *p, const char *source)
{
	if (p->first_source != NULL)
		return;
	p->first_source = strdup(source);
	if (p->first_source == NULL)
		cfg_error_at(p, source, 0, "out of memory");
}

static const struct cfg_key *
cfg_lookup(const char *name)
{
	for (size_t i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_table[i].info.name, name) == 0)
			return &cfg_table[i];
	return NULL;
}

/* Levenshtein distance, for "did you mean"; long words are never close. */
static size_t
cfg_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static bool
cfg_unknown_key(struct cfg_parser *p, const char *source, unsigned line, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	char show[CFG_SHOW];

	for (size_t i = 0; i < CFG_NKEYS; i++) {
		size_t d = cfg_distance(name, cfg_table[i].info.name);

		if (d < best_d) {
			best_d = d;
			best = cfg_table[i].info.name;
		}
	}
	cfg_show(show, sizeof(show), name);
	if (best != NULL)
		return cfg_error_at(p, source, line, "unknown key '%s' (did you mean '%s'?)", show,
				    best);
	return cfg_error_at(p, source, line, "unknown key '%s'", show);
}

/* Takes the new origin string, replacing the old one; false on ENOMEM. */
static bool
cfg_replace(char **slot, const char *s)
{
	char *dup = strdup(s);

	if (dup == NULL)
		return false;
	free(*slot);
	*slot = dup;
	return true;
}

/*
 * Sets key k from a file line or a flag. A file value under a flag is still
 * checked (its mistakes are still mistakes) but not stored.
 */
static bool
cfg_apply(struct cfg_parser *p, const struct cfg_key *k, const char *source, unsigned line,
	  bool flag, const char *value)
{
	struct cfg_origin *o = &p->origin[k - cfg_table];
	char msg[CFG_MSG];
	struct cfg scratch;
	int rc;

	if (!flag && o->file != NULL && strcmp(o->file, source) == 0)
		return cfg_error_at(p, source, line, "key '%s' already set at line %u",
				    k->info.name, o->line);
	if (!cfg_replace(flag ? &o->flag : &o->file, source))
		return cfg_key_error(p, k, source, line, "out of memory");
	if (!flag)
		o->line = line;
	if (flag || o->flag == NULL) {
		rc = k->set(p->cfg, k, value, msg, sizeof(msg));
	} else {
		memset(&scratch, 0, sizeof(scratch));
		rc = k->set(&scratch, k, value, msg, sizeof(msg));
		cfg_clear(&scratch);
	}
	/* A flag's verdict stands for the key; a file line under a flag does not change it. */
	if (flag || o->flag == NULL)
		o->bad = rc < 0;
	if (rc == -ENOMEM)
		return cfg_key_error(p, k, source, line, "out of memory");
	if (rc < 0)
		return cfg_key_error(p, k, source, line, msg);
	return true;
}

/* An unquoted value ends at a '#' that starts it or follows a blank; blanks are trimmed. */
static void
cfg_value_plain(const char *s, char *out)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (s[n] == '#' && (n == 0 || s[n - 1] == ' ' || s[n - 1] == '\t'))
			break;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* A quoted value knows only the escapes \" and \\, and only a comment may follow it. */
static int
cfg_value_quoted(const char *s, char *out, char *msg, size_t msgsize)
{
	char show[8];
	size_t n = 0;

	for (s++; *s != '"'; s++) {
		if (*s == '\\' && s[1] != '\0') {
			if (s[1] != '"' && s[1] != '\\') {
				log_escape(show, sizeof(show), s + 1, 1);
				snprintf(msg, msgsize,
					 "unknown escape '\\%s' in quoted value "
					 "(only \\\" and \\\\ are known)",
					 show);
				return -EINVAL;
			}
			s++;
		} else if (*s == '\0' || *s == '\\') {
			snprintf(msg, msgsize, "unterminated quoted value");
			return -EINVAL;
		}
		out[n++] = *s;
	}
	out[n] = '\0';
	s += 1 + strspn(s + 1, CFG_BLANKS);
	if (*s != '\0' && *s != '#') {
		snprintf(msg, msgsize, "unexpected text after the quoted value");
		return -EINVAL;
	}
	return 0;
}

/* Parses "key = value" (a copy, NUL-terminated, not a comment) and applies it. */
static bool
cfg_parse_assignment(struct cfg_parser *p, const char *source, unsigned lineno, char *s)
{
	char value[CFG_LINE_MAX + 1], show[CFG_SHOW], msg[CFG_MSG];
	const struct cfg_key *k;
	size_t keylen = strcspn(s, " \t=\"#");
	char *eq = s + keylen + strspn(s + keylen, CFG_BLANKS);

	if (keylen == 0)
		return cfg_error_at(p, source, lineno, "expected 'key = value'");
	if (*eq != '=') {
		s[keylen] = '\0';
		return cfg_error_at(p, source, lineno, "missing '=' after key '%s'",
				    cfg_show(show, sizeof(show), s));
	}
	s[keylen] = '\0';
	k = cfg_lookup(s);
	if (k == NULL)
		return cfg_unknown_key(p, source, lineno, s);
	eq += 1 + strspn(eq + 1, CFG_BLANKS);
	if (*eq != '"')
		cfg_value_plain(eq, value);
	else if (cfg_value_quoted(eq, value, msg, sizeof(msg)) < 0)
		return cfg_error_at(p, source, lineno, "%s", msg);
	if (value[0] == '\0')
		return cfg_error_at(p, source, lineno, "empty value for '%s'", k->info.name);
	return cfg_apply(p, k, source, lineno, false, value);
}

bool
cfg_parse_line(struct cfg_parser *p, const char *source, unsigned lineno, const char *line,
	       size_t len)
{
	char buf[CFG_LINE_MAX + 1];
	char *s;

	cfg_note_source(p, source);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CFG_LINE_MAX)
		return cfg_error_at(p, source, lineno, "line is longer than %d bytes",
				    CFG_LINE_MAX);
	if (memchr(line, '\0', len) != NULL)
		return cfg_error_at(p, source, lineno, "NUL byte in line (is this a text file?)");
	memcpy(buf, line, len);
	buf[len] = '\0';
	s = buf + strspn(buf, CFG_BLANKS);
	if (*s == '\0' || *s == '#')
		return true;
	return cfg_parse_assignment(p, source, lineno, s);
}

bool
cfg_parse_buffer(struct cfg_parser *p, const char *source, const char *buf, size_t len)
{
	size_t pos = 0;
	unsigned lineno = 1;
	bool ok = true;

	cfg_note_source(p, source);
	/* Some editors start a UTF-8 file with a byte order mark. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;

		if (!cfg_parse_line(p, source, lineno, buf + pos, n))
			ok = false;
		pos += n + 1;
		lineno++;
	}
	return ok;
}

/* Reads at most CFG_FILE_MAX bytes of path into a new buffer. 0 or -errno. */
static int
cfg_read_file(const char *path, char **out, size_t *len)
{
	char *buf = malloc(CFG_FILE_MAX + 1);
	size_t n = 0;
	int fd = -1, rc = 0;

	if (buf == NULL)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	while (n <= CFG_FILE_MAX) {
		ssize_t r = read(fd, buf + n, CFG_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : 0;
			break;
		}
		n += (size_t)r;
	}
	if (rc == 0 && n > CFG_FILE_MAX)
		rc = -EFBIG;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return 0;
}

bool
cfg_parse_file(struct cfg_parser *p, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	bool ok;
	int rc;

	cfg_note_source(p, path);
	rc = cfg_read_file(path, &buf, &len);
	if (rc == -EFBIG)
		return cfg_error_at(p, path, 0, "larger than 1 MiB; is this the right file?");
	if (rc < 0)
		return cfg_error_at(p, path, 0, "cannot read: %s", strerror(-rc));
	ok = cfg_parse_buffer(p, path, buf, len);
	free(buf);
	return ok;
}

bool
cfg_set(struct cfg_parser *p, const char *where, const char *key, const char *value)
{
	char name[64];
	const struct cfg_key *k = NULL;
	size_t i;

	if (where == NULL)
		where = "command line";
	/* Accept "metadata-url" too: it is how the flag spells the key. */
	for (i = 0; key[i] != '\0' && i < sizeof(name) - 1; i++)
		name[i] = key[i] == '-' ? '_' : key[i];
	name[i] = '\0';
	if (key[i] == '\0')
		k = cfg_lookup(name);
	if (k == NULL)
		return cfg_unknown_key(p, where, 0, key);
	if (value == NULL || value[0] == '\0')
		return cfg_error_at(p, where, 0, "empty value for '%s'", k->info.name);
	return cfg_apply(p, k, where, 0, true, value);
}

/* --- whole-config checks ------------------------------------------------ */

static const struct cfg_origin *
cfg_origin_of(const struct cfg_parser *p, const char *name)
{
	return &p->origin[cfg_lookup(name) - cfg_table];
}

/* Where a key was set, for messages: its flag, or its file and line. */
static void
cfg_where(const struct cfg_origin *o, const char **source, unsigned *line)
{
	*source = o->flag != NULL ? o->flag : o->file;
	*line = o->flag != NULL ? 0 : o->line;
}

static bool
cfg_given(const struct cfg_origin *o)
{
	return o->flag != NULL || o->file != NULL;
}

static void
cfg_check_identity(struct cfg_parser *p)
{
	static const char *const identity[] = { "hostname", "region", "public_ipv4", "private_ipv4",
						"tags" };
	static const char *const required[] = { "hostname", "private_ipv4" };
	const struct cfg_origin *id = cfg_origin_of(p, "node_id");
	const char *src;
	unsigned line;

	if (id->bad)
		return;
	if (cfg_given(id)) {
		cfg_where(id, &src, &line);
		for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
			if (!cfg_given(cfg_origin_of(p, required[i])))
				cfg_error_at(p, src, line,
					     "static identity: node_id is set, so '%s' is required",
					     required[i]);
		return;
	}
	for (size_t i = 0; i < sizeof(identity) / sizeof(identity[0]); i++) {
		const struct cfg_origin *o = cfg_origin_of(p, identity[i]);

		if (!cfg_given(o) || o->bad)
			continue;
		cfg_where(o, &src, &line);
		cfg_key_error(p, cfg_lookup(identity[i]), src, line,
			      "static identity keys need node_id (set node_id, or remove this key "
			      "to read the identity from the metadata service)");
	}
}

/* Reports `msg` at whichever of two keys was set last in the input (or the
 * first that was set at all), so the message points at a line to change. */
static void
cfg_pair_error(struct cfg_parser *p, const char *a, const char *b, const char *msg)
{
	const struct cfg_origin *oa = cfg_origin_of(p, a), *ob = cfg_origin_of(p, b);
	const struct cfg_origin *o = cfg_given(ob) ? ob : oa;
	const char *src;
	unsigned line;

	if (!cfg_given(o))
		return;
	cfg_where(o, &src, &line);
	cfg_error_at(p, src, line, "%s", msg);
}

/* Each registrar named in `registrars` needs its own keys. */
static void
cfg_check_registrars(struct cfg_parser *p)
{
	static const struct {
		const char *registrar;
		const char *keys[3];
	} needs[] = {
		{ "do-dns", { "dns_domain", "dns_name", "token_file" } },
		{ "do-lb", { "lb_id", "token_file", NULL } },
		{ "haproxy", { "haproxy_runtime", "haproxy_backend", NULL } },
		{ "exec", { "exec_command", NULL, NULL } },
	};
	const struct cfg_origin *o = cfg_origin_of(p, "registrars");
	const struct cfg *c = p->cfg;
	const char *src;
	unsigned line;

	if (!cfg_given(o) || o->bad)
		return;
	cfg_where(o, &src, &line);
	for (size_t i = 0; i < c->nregistrars; i++)
		for (size_t j = 0; j < sizeof(needs) / sizeof(needs[0]); j++) {
			if (strcmp(c->registrars[i], needs[j].registrar) != 0)
				continue;
			for (size_t k = 0; k < 3 && needs[j].keys[k] != NULL; k++)
				if (!cfg_given(cfg_origin_of(p, needs[j].keys[k])))
					cfg_error_at(p, src, line, "registrar %s needs '%s'",
						     needs[j].registrar, needs[j].keys[k]);
		}
}

/* Keys that are only valid together. */
static void
cfg_check_combinations(struct cfg_parser *p)
{
	const struct cfg *c = p->cfg;

	if (cfg_origin_of(p, "probe_timeout")->bad || cfg_origin_of(p, "probe_interval")->bad)
		return;
	if (c->probe_timeout_ms >= c->probe_interval_ms) {
		if (cfg_given(cfg_origin_of(p, "probe_timeout")) ||
		    cfg_given(cfg_origin_of(p, "probe_interval")))
			cfg_pair_error(p, "probe_interval", "probe_timeout",
				       "probe_timeout must be shorter than probe_interval");
	}
	if (c->custom_metric_file != NULL && c->custom_metric_command != NULL)
		cfg_pair_error(p, "custom_metric_file", "custom_metric_command",
			       "custom_metric_file and custom_metric_command exclude each other; "
			       "keep one");
	cfg_check_registrars(p);
}

bool
cfg_finish(struct cfg_parser *p)
{
	static const char *const required[] = { "cluster", "key_file" };
	const char *source = p->first_source != NULL ? p->first_source : "configuration";

	if (p->finished)
		return !p->failed;
	p->finished = true;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!cfg_given(cfg_origin_of(p, required[i])))
			cfg_error_at(p, source, 0, "missing required key '%s'", required[i]);
	cfg_check_identity(p);
	cfg_check_combinations(p);
	/* The documented default of cluster_tag depends on cluster. */
	if (!p->failed && p->cfg->cluster_tag == NULL && p->cfg->cluster != NULL &&
	    asprintf(&p->cfg->cluster_tag, "mitosis-%s", p->cfg->cluster) < 0) {
		p->cfg->cluster_tag = NULL;
		cfg_error_at(p, source, 0, "out of memory");
	}
	return !p->failed;
}

/* --- the key table, for --help, flags and docs -------------------------- */

static struct cfg_key_info cfg_infos[CFG_NKEYS];
static pthread_once_t cfg_infos_once = PTHREAD_ONCE_INIT;

static void
cfg_infos_init(void)
{
	for (size_t i = 0; i < CFG_NKEYS; i++)
		cfg_infos[i] = cfg_table[i].info;
}

const struct cfg_key_info *
cfg_keys(size_t *n)
{
	pthread_once(&cfg_infos_once, cfg_infos_init);
	if (n != NULL)
		*n = CFG_NKEYS;
	return cfg_infos;
}
