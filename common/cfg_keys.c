/*
 * cfg_keys: the configuration keys, one row of cfg__table each, and what a row
 * points at: the value checks and the setters that parse a value into struct
 * cfg. The parser (cfg.c) knows no key by name except in its whole-config
 * checks; everything else about a key is here.
 *
 * Each row holds the key's name, type, default and range as text (for --help,
 * the flag parser and docs/config.md, through cfg_keys()), the setter, and the
 * field offsets and bounds that setter uses. Adding a key is adding a row (and,
 * when it owns a string or a list, a line in cfg__clear()).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_priv.h"
#include "actuate.h"
#include "elect.h"
#include "policy.h"
#include "statedir.h"
#include "swim.h"
#include "util.h"

#define CFG_LIST_MAX		 64
#define CFG_URL_MAX		 512
#define CFG_DEFAULT_METADATA_URL "http://169.254.169.254"
#define CFG_TRACE_NAMES		 "wire, meta, http, gossip, cloud, control, elect, all"

static cfg_set_fn cfg_set_string, cfg_set_u64, cfg_set_bool, cfg_set_duration, cfg_set_list,
	cfg_set_hostport, cfg_set_level, cfg_set_traces, cfg_set_fixed;
static cfg_check_fn cfg_check_cluster, cfg_check_path, cfg_check_url, cfg_check_hostname,
	cfg_check_region, cfg_check_ipv4, cfg_check_tag, cfg_check_hostport, cfg_check_command,
	cfg_check_uuid, cfg_check_slug, cfg_check_registrar, cfg_check_dns_name,
	cfg_check_address_kind, cfg_check_haproxy_runtime, cfg_check_metric;

#define OFF(field) offsetof(struct cfg, field)

/* Aligned by hand: a key in three lines reads better than one field a line. */
/* clang-format off */
const struct cfg_key cfg__table[] = {
	{ { "cluster", "string", "", "[a-z0-9-], 1..63 chars, no '-' at either end",
	    "Name of the cluster this node belongs to. Required." },
	  cfg_set_string, cfg_check_cluster, OFF(cluster), 0, 0, 0 },
	{ { "key_file", "path", "", "a file owned by the agent's user, mode 0600",
	    "Cluster keyring: seals and checks every gossip message. Required." },
	  cfg_set_string, cfg_check_path, OFF(key_file), 0, 0, 0 },
	{ { "token_file", "path", "", "a file owned by the agent's user, mode 0600",
	    "DigitalOcean API token: peer discovery by tag, the do-dns and do-lb registrars, "
	    "the cloud verbs." },
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
	{ { "sign_datagrams", "boolean", "no", "yes or no (true/false, on/off, 1/0; any case)",
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
	{ { "metrics_listen", "hostport", "", "IPV4[:PORT] or [IPV6][:PORT]; the port defaults to 9950",
	    "Serve GET /metrics (Prometheus) and GET /health on this TCP address; off when unset." },
	  cfg_set_hostport, NULL, OFF(metrics_host), OFF(metrics_port), CFG_DEFAULT_METRICS_PORT, 0 },
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
	{ { "delete_timeout", "duration", "2m", "1s..1h",
	    "A deleted droplet must answer 404 by then; else it is deleted again, and after "
	    "a second wait reported as still billed." },
	  cfg_set_duration, NULL, OFF(delete_timeout_ms), 0, 1000, 3600 * 1000 },
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
	{ { "health_timeout", "duration", "2m", "0..1h",
	    "do-lb: register waits this long for a new member to pass the load balancer's "
	    "health check (probed as the balancer does); retire for a remaining member to; 0 = "
	    "no wait." },
	  cfg_set_duration, NULL, OFF(health_timeout_ms), 0, 0, 3600 * 1000 },
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
	{ { "voters", "integer", "5", "1, 3, 5 or 7",
	    "Election: how many members vote; the others learn the leader from its announcements." },
	  cfg_set_u64, NULL, OFF(voters), 0, 1, 7 },
	{ { "heartbeat", "duration", "500ms", "10ms..60s",
	    "Election: the leader's round period (six rounds a lease)." },
	  cfg_set_duration, NULL, OFF(heartbeat_ms), 0, 10, 60 * 1000 },
	{ { "lease", "duration", "3s", "2 heartbeats..600s",
	    "Election: how long a majority's ack lets the leader act." },
	  cfg_set_duration, NULL, OFF(lease_ms), 0, 20, 600 * 1000 },
	{ { "drift_ppm", "integer", "10000", "0..99999",
	    "Election: the bound on clock rate error, in parts per million (10000 = 1%)." },
	  cfg_set_u64, NULL, OFF(drift_ppm), 0, 0, 99999 },
	{ { "election_min", "duration", "3.3s", "above lease x (1 + drift) / (1 - drift)",
	    "Election: a follower campaigns after a random time in [election_min, election_max)." },
	  cfg_set_duration, NULL, OFF(election_min_ms), 0, 10, 3600 * 1000 },
	{ { "election_max", "duration", "4.5s", "above election_min, at most 1h",
	    "Election: the upper end of the follower's timeout (the failover bound)." },
	  cfg_set_duration, NULL, OFF(election_max_ms), 0, 10, 3600 * 1000 },
	{ { "voter_replace_after", "duration", "30s", "1s..1d",
	    "Election: a voter dead this long is replaced by a healthy non-voter." },
	  cfg_set_duration, NULL, OFF(voter_replace_after_ms), 0, 1000, 24 * 3600 * 1000ULL },
	{ { "voter_stable", "duration", "10s", "0..1h",
	    "Election: a member alive this long may be promoted to voter." },
	  cfg_set_duration, NULL, OFF(voter_stable_ms), 0, 0, 3600 * 1000 },
	{ { "bootstrap_expect", "integer", "0", "0..7",
	    "Election: the first nodes of a new cluster found it once this many see each other "
	    "(0: never; set it in the first nodes' user-data only)." },
	  cfg_set_u64, NULL, OFF(bootstrap_expect), 0, 0, 7 },
	{ { "bootstrap_settle", "duration", "5s", "0..10m",
	    "Election: bootstrap_expect members must be seen this long before founding." },
	  cfg_set_duration, NULL, OFF(bootstrap_settle_ms), 0, 0, 600 * 1000 },
	{ { "announce", "duration", "30s", "1s..1h",
	    "Election: the leader re-announces itself (leader, term, lease) this often." },
	  cfg_set_duration, NULL, OFF(announce_ms), 0, 1000, 3600 * 1000 },
	{ { "reconcile_interval", "duration", "60s", "1s..1d",
	    "Leader: how often it reads the inventory and makes every registrar hold the alive members." },
	  cfg_set_duration, NULL, OFF(reconcile_interval_ms), 0, 1000, 24 * 3600 * 1000ULL },
	{ { "on_event", "path", "", "an executable",
	    "Hooks: run as `SCRIPT EVENT` with MITOSIS_EVENT and the node in the environment, on "
	    "scale_out, scale_in, node_dead, node_replaced, leader_changed, limit_reached and the "
	    "lifecycle hook scale_in_pending." },
	  cfg_set_string, cfg_check_path, OFF(on_event), 0, 0, 0 },
	{ { "webhook_url", "url", "", "http:// or https://, <= 512 chars",
	    "Hooks: the same events as a JSON POST, retried with backoff; only its scheme://host is "
	    "logged (the rest may be a secret)." },
	  cfg_set_string, cfg_check_url, OFF(webhook_url), 0, 0, 0 },
	{ { "hook_timeout", "duration", "30s", "1s..10m",
	    "Hooks: a script run or one webhook attempt is given up (the script killed) past this." },
	  cfg_set_duration, NULL, OFF(hook_timeout_ms), 0, 1000, 600 * 1000 },
	{ { "policy_metrics", "list", "cpu", "cpu, load1, memory, custom",
	    "Scaling policy: the gossiped metrics it tracks; the largest desired size wins." },
	  cfg_set_list, cfg_check_metric, OFF(policy_metrics), OFF(npolicy_metrics), 0, 4 },
	{ { "target_cpu", "percent", "60%", "1%..99.9%",
	    "Scaling policy: the mean CPU utilisation per node it keeps." },
	  cfg_set_fixed, NULL, OFF(target_cpu), 1, 1, 999 },
	{ { "target_load1", "decimal", "0.8", "0.001..65.535",
	    "Scaling policy: the mean load1 per CPU it keeps." },
	  cfg_set_fixed, NULL, OFF(target_load1), 3, 1, 65535 },
	{ { "target_memory", "percent", "70%", "1%..99.9%",
	    "Scaling policy: the mean memory use per node it keeps." },
	  cfg_set_fixed, NULL, OFF(target_memory), 1, 1, 999 },
	{ { "target_custom", "decimal", "", "0.001..1000000000",
	    "Scaling policy: the custom metric per node it keeps (required with custom)." },
	  cfg_set_fixed, NULL, OFF(target_custom), 3, 1, POLICY_CUSTOM_MAX },
	{ { "load1_max", "decimal", "2 x target_load1", "above the target, at most 65.535",
	    "Scaling policy: one node's load1 is clamped to this before it is averaged." },
	  cfg_set_fixed, NULL, OFF(load1_max), 3, 1, 65535 },
	{ { "custom_max", "decimal", "2 x target_custom", "above the target, at most 1000000000",
	    "Scaling policy: one node's custom metric is clamped to this before it is averaged." },
	  cfg_set_fixed, NULL, OFF(custom_max), 3, 1, POLICY_CUSTOM_MAX },
	{ { "policy_tolerance", "percent", "10%", "0..50%",
	    "Scaling policy: no change while the metric is within the target +- this." },
	  cfg_set_fixed, NULL, OFF(policy_tolerance), 1, 0, 500 },
	{ { "policy_interval", "duration", "1s", "100ms..1m",
	    "Scaling policy: how often the leader decides." },
	  cfg_set_duration, NULL, OFF(policy_interval_ms), 0, 100, 60 * 1000 },
	{ { "scale_out_window", "duration", "60s", "0..1d",
	    "Scaling policy: the metric must be above the band this long before a scale-out." },
	  cfg_set_duration, NULL, OFF(scale_out_window_ms), 0, 0, 24 * 3600 * 1000ULL },
	{ { "scale_in_window", "duration", "10m", "0..1d",
	    "Scaling policy: the metric must be below the band this long before a scale-in." },
	  cfg_set_duration, NULL, OFF(scale_in_window_ms), 0, 0, 24 * 3600 * 1000ULL },
	{ { "scale_out_cooldown", "duration", "3m", "0..1d",
	    "Scaling policy: the least time between two scale-outs." },
	  cfg_set_duration, NULL, OFF(scale_out_cooldown_ms), 0, 0, 24 * 3600 * 1000ULL },
	{ { "scale_in_cooldown", "duration", "5m", "0..1d",
	    "Scaling policy: the least time from any scaling to a scale-in." },
	  cfg_set_duration, NULL, OFF(scale_in_cooldown_ms), 0, 0, 24 * 3600 * 1000ULL },
	{ { "warmup", "duration", "3m", "0..1d",
	    "Scaling policy: droplets younger than this count as capacity, not in the load." },
	  cfg_set_duration, NULL, OFF(warmup_ms), 0, 0, 24 * 3600 * 1000ULL },
	{ { "min_nodes", "integer", "2", "1..max_nodes",
	    "Scaling policy: never fewer nodes than this." },
	  cfg_set_u64, NULL, OFF(min_nodes), 0, 1, 10000 },
	{ { "max_nodes", "integer", "10", "min_nodes..10000",
	    "Scaling policy: never more droplets than this." },
	  cfg_set_u64, NULL, OFF(max_nodes), 0, 1, 10000 },
	{ { "max_step", "integer", "4", "1..50",
	    "Scaling policy: nodes added or retired by one decision at most." },
	  cfg_set_u64, NULL, OFF(max_step), 0, 1, POLICY_STEP_MAX },
	{ { "max_hourly_cost", "money", "", "$0..$1000000 (dollars an hour, e.g. 0.05)",
	    "Scaling policy: every droplet of the cluster tag, billed, stays under this." },
	  cfg_set_fixed, NULL, OFF(max_hourly_cost), 6, 0, 1000000000000ULL },
	{ { "billing_hold", "boolean", "yes", "yes or no",
	    "Scaling policy: a scale-in waits until a victim's minimum charge is used." },
	  cfg_set_bool, NULL, OFF(billing_hold), 0, 0, 0 },
	{ { "policy_dry_run", "boolean", "no", "yes or no",
	    "Scaling policy: decide and record, never act (no mutating call)." },
	  cfg_set_bool, NULL, OFF(policy_dry_run), 0, 0, 0 },
	{ { "protect", "boolean", "no", "yes or no",
	    "This node is never a scale-in victim (gossiped to the leader)." },
	  cfg_set_bool, NULL, OFF(protect), 0, 0, 0 },
	{ { "replace_after", "duration", "3m", "0..1d",
	    "Leader: a dead node's droplet is looked up (and replaced) after this." },
	  cfg_set_duration, NULL, OFF(replace_after_ms), 0, 0, 24 * 3600 * 1000ULL },
	{ { "powercycle_wait", "duration", "3m", "0..1d",
	    "Leader: after power-cycling a silent droplet, wait this for it to rejoin." },
	  cfg_set_duration, NULL, OFF(powercycle_wait_ms), 0, 0, 24 * 3600 * 1000ULL },
	{ { "retire_leave_timeout", "duration", "30s", "1s..1h",
	    "Leader: a scale-in victim asked to leave the gossip has this long before deletion." },
	  cfg_set_duration, NULL, OFF(retire_leave_timeout_ms), 0, 1000, 3600 * 1000 },
	{ { "hook_max_wait", "duration", "10m", "0..1d",
	    "Leader: all the extra time the lifecycle hook may ask for." },
	  cfg_set_duration, NULL, OFF(hook_max_wait_ms), 0, 0, 24 * 3600 * 1000ULL },
	{ { "log_level", "level", "info", "error, warn, info, debug",
	    "Least severe level that is logged." },
	  cfg_set_level, NULL, OFF(log_level), 0, 0, 0 },
	{ { "trace", "traces", "", CFG_TRACE_NAMES,
	    "Subsystems whose trace messages are logged, comma-separated (as -T)." },
	  cfg_set_traces, NULL, OFF(traces), 0, 0, 0 },
};
/* clang-format on */

#define CFG_NKEYS (sizeof(cfg__table) / sizeof(cfg__table[0]))

const size_t cfg__nkeys = CFG_NKEYS;

/* Quotes untrusted text for a message: escaped, and cut when long. */
const char *
cfg__show(char *buf, size_t size, const char *s)
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

void
cfg__clear(struct cfg *cfg)
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
		&cfg->state_dir,
		&cfg->metrics_host,
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
		&cfg->on_event,
		&cfg->webhook_url,
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	cfg_list_free(cfg->tags, cfg->ntags);
	cfg_list_free(cfg->seeds, cfg->nseeds);
	cfg_list_free(cfg->clone_ssh_keys, cfg->nclone_ssh_keys);
	cfg_list_free(cfg->clone_tags, cfg->nclone_tags);
	cfg_list_free(cfg->registrars, cfg->nregistrars);
	cfg_list_free(cfg->policy_metrics, cfg->npolicy_metrics);
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

/* The election's defaults are the core's own, likewise. */
static void
cfg_set_election_defaults(struct cfg *cfg)
{
	struct elect_config ec;

	elect_config_default(&ec);
	cfg->voters = ec.voters;
	cfg->heartbeat_ms = ec.heartbeat_ms;
	cfg->lease_ms = ec.lease_ms;
	cfg->drift_ppm = ec.drift_ppm;
	cfg->election_min_ms = ec.election_min_ms;
	cfg->election_max_ms = ec.election_max_ms;
	cfg->voter_replace_after_ms = ec.voter_replace_after_ms;
	cfg->voter_stable_ms = ec.voter_stable_ms;
	cfg->bootstrap_expect = ec.bootstrap_expect;
	cfg->bootstrap_settle_ms = ec.bootstrap_settle_ms;
	cfg->announce_ms = ec.announce_ms;
}

void
cfg_election(const struct cfg *cfg, struct elect_config *out)
{
	elect_config_default(out);
	out->voters = (uint32_t)cfg->voters;
	out->heartbeat_ms = cfg->heartbeat_ms;
	out->lease_ms = cfg->lease_ms;
	out->drift_ppm = (uint32_t)cfg->drift_ppm;
	out->election_min_ms = cfg->election_min_ms;
	out->election_max_ms = cfg->election_max_ms;
	out->voter_replace_after_ms = cfg->voter_replace_after_ms;
	out->voter_stable_ms = cfg->voter_stable_ms;
	out->bootstrap_expect = (uint32_t)cfg->bootstrap_expect;
	out->bootstrap_settle_ms = cfg->bootstrap_settle_ms;
	out->announce_ms = cfg->announce_ms;
}

/* The policy's and the operations' defaults are the cores' own. */
static void
cfg_set_policy_defaults(struct cfg *cfg)
{
	struct policy_config pc;
	struct actuate_config ac;

	policy_config_default(&pc);
	actuate_config_default(&ac);
	cfg->target_cpu = (uint64_t)pc.target[POLICY_METRIC_CPU];
	cfg->target_load1 = (uint64_t)pc.target[POLICY_METRIC_LOAD1];
	cfg->target_memory = (uint64_t)pc.target[POLICY_METRIC_MEMORY];
	cfg->target_custom = (uint64_t)pc.target[POLICY_METRIC_CUSTOM];
	cfg->policy_tolerance = pc.tolerance_permille;
	cfg->policy_interval_ms = pc.interval_ms;
	cfg->scale_out_window_ms = pc.scale_out_window_ms;
	cfg->scale_in_window_ms = pc.scale_in_window_ms;
	cfg->scale_out_cooldown_ms = pc.scale_out_cooldown_ms;
	cfg->scale_in_cooldown_ms = pc.scale_in_cooldown_ms;
	cfg->warmup_ms = pc.warmup_ms;
	cfg->min_nodes = pc.min_nodes;
	cfg->max_nodes = pc.max_nodes;
	cfg->max_step = pc.max_step;
	cfg->billing_hold = pc.billing_hold;
	cfg->replace_after_ms = ac.replace_after_ms;
	cfg->powercycle_wait_ms = ac.powercycle_wait_ms;
	cfg->retire_leave_timeout_ms = ac.leave_timeout_ms;
	cfg->hook_max_wait_ms = ac.hook_max_ms; /* hook_timeout: the hooks' own default */
}

/* policy_metrics as the core's bits: names were checked when parsed. */
static unsigned
cfg_policy_metrics(const struct cfg *cfg)
{
	unsigned bits = 0;

	for (size_t i = 0; i < cfg->npolicy_metrics; i++)
		for (int m = 0; m < POLICY_METRIC_COUNT; m++)
			if (strcmp(cfg->policy_metrics[i], policy_metric_name(m)) == 0)
				bits |= POLICY_METRIC_BIT(m);
	return bits != 0 ? bits : POLICY_METRIC_BIT(POLICY_METRIC_CPU);
}

int
cfg_policy(const struct cfg *cfg, struct policy_config *pc, struct actuate_config *ac, char *err,
	   size_t errsize)
{
	int r;

	policy_config_default(pc);
	pc->metrics = cfg_policy_metrics(cfg);
	pc->target[POLICY_METRIC_CPU] = (int64_t)cfg->target_cpu;
	pc->target[POLICY_METRIC_LOAD1] = (int64_t)cfg->target_load1;
	pc->target[POLICY_METRIC_MEMORY] = (int64_t)cfg->target_memory;
	pc->target[POLICY_METRIC_CUSTOM] = (int64_t)cfg->target_custom;
	pc->max[POLICY_METRIC_LOAD1] = (int64_t)cfg->load1_max;
	pc->max[POLICY_METRIC_CUSTOM] = (int64_t)cfg->custom_max;
	pc->tolerance_permille = (uint32_t)cfg->policy_tolerance;
	pc->interval_ms = cfg->policy_interval_ms;
	pc->scale_out_window_ms = cfg->scale_out_window_ms;
	pc->scale_in_window_ms = cfg->scale_in_window_ms;
	pc->scale_out_cooldown_ms = cfg->scale_out_cooldown_ms;
	pc->scale_in_cooldown_ms = cfg->scale_in_cooldown_ms;
	pc->warmup_ms = cfg->warmup_ms;
	pc->min_nodes = (uint32_t)cfg->min_nodes;
	pc->max_nodes = (uint32_t)cfg->max_nodes;
	pc->max_step = (uint32_t)cfg->max_step;
	pc->max_hourly_cost_uusd = cfg->max_hourly_cost;
	pc->retire_delay_ms = cfg->dns_ttl * 1000 + cfg->drain_timeout_ms;
	pc->billing_hold = cfg->billing_hold;
	pc->dry_run = cfg->policy_dry_run;
	actuate_config_default(ac);
	snprintf(ac->cluster, sizeof(ac->cluster), "%s", cfg->cluster != NULL ? cfg->cluster : "");
	ac->active_timeout_ms = cfg->active_timeout_ms;
	ac->drain_ms = pc->retire_delay_ms;
	/* The lifecycle hook is the event hooks' (on_event decides, else the webhook). */
	ac->hook = cfg->on_event != NULL || cfg->webhook_url != NULL;
	ac->hook_timeout_ms = cfg->hook_timeout_ms;
	ac->hook_max_ms = cfg->hook_max_wait_ms;
	ac->leave_timeout_ms = cfg->retire_leave_timeout_ms;
	ac->replace_after_ms = cfg->replace_after_ms;
	ac->powercycle_wait_ms = cfg->powercycle_wait_ms;
	ac->dry_run = cfg->policy_dry_run;
	r = policy_config_validate(pc, err, errsize);
	if (r == 0)
		r = actuate_config_validate(ac, err, errsize);
	return r;
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
	cfg->delete_timeout_ms = 120000;
	cfg->health_timeout_ms = 120000;
	cfg->dns_ttl = 60;
	cfg->haproxy_server_port = 80;
	cfg->drain_timeout_ms = 30000;
	cfg_set_election_defaults(cfg);
	cfg->reconcile_interval_ms = 60000;
	cfg_set_policy_defaults(cfg);
	cfg->hook_timeout_ms = 30000;
	return cfg;
}

void
cfg_free(struct cfg *cfg)
{
	if (cfg == NULL)
		return;
	cfg__clear(cfg);
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
cfg_check_metric(const char *v)
{
	for (int m = 0; m < POLICY_METRIC_COUNT; m++)
		if (strcmp(v, policy_metric_name(m)) == 0)
			return NULL;
	return "is not a metric (cpu, load1, memory or custom)";
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
		snprintf(msg, msgsize, "\"%s\" %s", cfg__show(show, sizeof(show), v), why);
		return -EINVAL;
	}
	dup = strdup(v);
	if (dup == NULL)
		return -ENOMEM;
	free(*field);
	*field = dup;
	return 0;
}

/*
 * Stores a number that util_parse_u64 or util_parse_duration_ms returned with
 * rc; `what` names the expected shape for the message when it was not one.
 */
static int
cfg_store_u64(struct cfg *cfg, const struct cfg_key *k, const char *v, int rc, uint64_t n,
	      const char *what, char *msg, size_t msgsize)
{
	char show[CFG_SHOW];

	cfg__show(show, sizeof(show), v);
	if (rc == -EINVAL) {
		snprintf(msg, msgsize, "\"%s\" is not %s", show, what);
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
cfg_set_u64(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	uint64_t n = 0;
	int rc = util_parse_u64(v, k->min, k->max, &n);

	return cfg_store_u64(cfg, k, v, rc, n, "a whole number", msg, msgsize);
}

static int
cfg_set_duration(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	uint64_t ms = 0;
	int rc = util_parse_duration_ms(v, k->min, k->max, &ms);

	return cfg_store_u64(cfg, k, v, rc, ms, "a duration (use e.g. 250ms, 2s, 1m)", msg,
			     msgsize);
}

/*
 * A fixed-point number: at most k->off2 decimals (1 for a percentage, which
 * may end in '%'; 3 for a decimal; 6 for dollars, which may start with '$'),
 * stored as an integer in those units (60% = 600 permille, 0.8 = 800 milli,
 * $0.05 = 50000 micro-dollars), within [k->min, k->max].
 */
static int
cfg_set_fixed(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	const char *p = v;
	unsigned digits = 0, decimals = (unsigned)k->off2;
	uint64_t n = 0;
	bool frac = false;
	int rc = 0;

	if (decimals == 6 && *p == '$')
		p++;
	for (; *p != '\0' && rc == 0; p++) {
		if (*p == '.' && !frac)
			frac = true;
		else if (*p >= '0' && *p <= '9' && (!frac || digits < decimals) &&
			 n <= (UINT64_MAX - 9) / 10)
			n = n * 10 + (uint64_t)(*p - '0'), digits += frac;
		else if (!(*p == '%' && decimals == 1 && p[1] == '\0' && p != v))
			rc = -EINVAL;
	}
	for (; digits < decimals && rc == 0; digits++)
		n = n <= UINT64_MAX / 10 ? n * 10 : (rc = -ERANGE, 0);
	if (rc == 0 && (p == v || (n < k->min || n > k->max)))
		rc = p == v ? -EINVAL : -ERANGE;
	return cfg_store_u64(cfg, k, v, rc, n,
			     decimals == 1   ? "a percentage (e.g. 60% or 62.5)"
			     : decimals == 3 ? "a number with at most 3 decimals (e.g. 0.8)"
					     : "an amount of dollars (e.g. 0.05)",
			     msg, msgsize);
}

/* One boolean parser for the file, the flags and the CLI: util_parse_bool. */
static int
cfg_set_bool(struct cfg *cfg, const struct cfg_key *k, const char *v, char *msg, size_t msgsize)
{
	char show[CFG_SHOW];

	if (util_parse_bool(v, (bool *)(void *)((char *)cfg + k->off)) == 0)
		return 0;
	snprintf(msg, msgsize, "\"%s\" is not yes or no (nor true/false, on/off, 1/0)",
		 cfg__show(show, sizeof(show), v));
	return -EINVAL;
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

	cfg__show(show, sizeof(show), v);
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
			snprintf(msg, msgsize, "\"%s\" %s", cfg__show(show, sizeof(show), items[i]),
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
		snprintf(msg, msgsize, "\"%s\" %s", cfg__show(show, sizeof(show), v),
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
			 cfg__show(show, sizeof(show), v));
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
				 cfg__show(show, sizeof(show), items[i]), CFG_TRACE_NAMES);
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

/* --- lookup and the key table, for --help, flags and docs ------------------ */

const struct cfg_key *
cfg__lookup(const char *name)
{
	for (size_t i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg__table[i].info.name, name) == 0)
			return &cfg__table[i];
	return NULL;
}

static bool
cfg_str_equal(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether a and b hold the same value for key k; the setter says its type. */
static bool
cfg_key_equal(const struct cfg_key *k, const struct cfg *a, const struct cfg *b)
{
#define CFG_AT(c, type, off) (*(type const *)(const void *)((const char *)(c) + (off)))
	if (k->set == cfg_set_string)
		return cfg_str_equal(CFG_AT(a, char *, k->off), CFG_AT(b, char *, k->off));
	if (k->set == cfg_set_u64 || k->set == cfg_set_duration || k->set == cfg_set_fixed)
		return CFG_AT(a, uint64_t, k->off) == CFG_AT(b, uint64_t, k->off);
	if (k->set == cfg_set_bool)
		return CFG_AT(a, bool, k->off) == CFG_AT(b, bool, k->off);
	if (k->set == cfg_set_level)
		return a->log_level == b->log_level;
	if (k->set == cfg_set_traces)
		return a->traces == b->traces;
	if (k->set == cfg_set_hostport)
		return cfg_str_equal(CFG_AT(a, char *, k->off), CFG_AT(b, char *, k->off)) &&
		       CFG_AT(a, uint16_t, k->off2) == CFG_AT(b, uint16_t, k->off2);
	/* A list: the same items in the same order. */
	if (CFG_AT(a, size_t, k->off2) != CFG_AT(b, size_t, k->off2))
		return false;
	for (size_t i = 0; i < CFG_AT(a, size_t, k->off2); i++)
		if (strcmp(CFG_AT(a, char **, k->off)[i], CFG_AT(b, char **, k->off)[i]) != 0)
			return false;
	return true;
#undef CFG_AT
}

size_t
cfg_diff(const struct cfg *a, const struct cfg *b, const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < CFG_NKEYS; i++) {
		if (cfg_key_equal(&cfg__table[i], a, b))
			continue;
		if (n < max)
			names[n] = cfg__table[i].info.name;
		n++;
	}
	return n;
}

static struct cfg_key_info cfg_infos[CFG_NKEYS];
static pthread_once_t cfg_infos_once = PTHREAD_ONCE_INIT;

static void
cfg_infos_init(void)
{
	for (size_t i = 0; i < CFG_NKEYS; i++)
		cfg_infos[i] = cfg__table[i].info;
}

const struct cfg_key_info *
cfg_keys(size_t *n)
{
	pthread_once(&cfg_infos_once, cfg_infos_init);
	if (n != NULL)
		*n = CFG_NKEYS;
	return cfg_infos;
}
