/*
 * Unit tests for common/cfg.c: defaults, every key with a good value, every
 * error path with its exact message, the cross-key checks of cfg_finish(),
 * flags over the file, and the syntax corners (comments, quoting, CRLF, BOM).
 * Tests that read tests/data/ expect to run from the repository root, as
 * `make unit` does.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include "actuate.h"
#include "cfg.h"
#include "policy.h"
#include "elect.h"
#include "harness.h"
#include "swim.h"

/* The two required keys, so that a test of one more line gets no other error. */
#define BASE "cluster = web\nkey_file = /etc/mitosis/key\n"

struct fixture {
	struct cfg *cfg;
	struct cfg_parser *p;
	bool ok;
};

static struct fixture
parse(const char *text)
{
	struct fixture f;

	f.cfg = cfg_new();
	ASSERT_NOT_NULL(f.cfg);
	f.p = cfg_parser_new(f.cfg);
	ASSERT_NOT_NULL(f.p);
	f.ok = cfg_parse_buffer(f.p, "agent.conf", text, strlen(text));
	return f;
}

static void
done(struct fixture *f)
{
	cfg_parser_free(f->p);
	cfg_free(f->cfg);
}

/* Parses text (no cfg_finish) and expects exactly one error, the one given. */
static void
expect_error(const char *text, const char *want)
{
	struct fixture f = parse(text);

	ASSERT_FALSE(f.ok);
	ASSERT_EQ(cfg_error_count(f.p), 1);
	ASSERT_STR_EQ(cfg_error(f.p, 0), want);
	done(&f);
}

/* Parses BASE + text and cfg_finish(); expects success. */
static struct fixture
parse_ok(const char *text)
{
	char buf[8192];
	struct fixture f;

	snprintf(buf, sizeof(buf), "%s%s", BASE, text);
	f = parse(buf);
	if (cfg_error_count(f.p) > 0)
		harness_fail(__FILE__, __LINE__, "unexpected error: %s", cfg_error(f.p, 0));
	ASSERT_TRUE(f.ok);
	ASSERT_TRUE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 0);
	return f;
}

/* ---- defaults and good values ---- */

TEST(cfg_defaults)
{
	struct cfg *cfg = cfg_new();

	ASSERT_NOT_NULL(cfg);
	ASSERT_NULL(cfg->cluster);
	ASSERT_NULL(cfg->key_file);
	ASSERT_NULL(cfg->token_file);
	ASSERT_STR_EQ(cfg->metadata_url, "http://169.254.169.254");
	ASSERT_U64_EQ(cfg->metadata_timeout_ms, 2000);
	ASSERT_U64_EQ(cfg->metadata_attempts, 3);
	ASSERT_U64_EQ(cfg->node_id, 0);
	ASSERT_NULL(cfg->hostname);
	ASSERT_NULL(cfg->region);
	ASSERT_NULL(cfg->public_ipv4);
	ASSERT_NULL(cfg->private_ipv4);
	ASSERT_NULL(cfg->tags);
	ASSERT_EQ(cfg->ntags, 0);
	ASSERT_NULL(cfg->bind_host);
	ASSERT_EQ(cfg->bind_port, CFG_DEFAULT_PORT);
	ASSERT_NULL(cfg->advertise_host);
	ASSERT_EQ(cfg->advertise_port, 0);
	ASSERT_NULL(cfg->seeds);
	ASSERT_EQ(cfg->nseeds, 0);
	ASSERT_EQ(cfg->log_level, LOG_LEVEL_INFO);
	ASSERT_EQ(cfg->traces, 0);
	cfg_free(cfg);
	cfg_free(NULL);
	cfg_parser_free(NULL);
}

TEST(cfg_minimal_config_keeps_defaults)
{
	struct fixture f = parse_ok("");

	ASSERT_STR_EQ(f.cfg->cluster, "web");
	ASSERT_STR_EQ(f.cfg->key_file, "/etc/mitosis/key");
	ASSERT_STR_EQ(f.cfg->metadata_url, "http://169.254.169.254");
	ASSERT_U64_EQ(f.cfg->metadata_timeout_ms, 2000);
	ASSERT_EQ(f.cfg->bind_port, 7950);
	done(&f);
}

TEST(cfg_every_key_accepted)
{
	struct fixture f = parse_ok("token_file = /etc/mitosis/token\n"
				    "metadata_url = https://meta.example:8443/v1\n"
				    "metadata_timeout = 250ms\n"
				    "metadata_attempts = 30\n"
				    "node_id = 9223372036854775807\n"
				    "hostname = Web-1.example.com\n"
				    "region = nyc3\n"
				    "public_ipv4 = 203.0.113.7\n"
				    "private_ipv4 = 10.0.0.7\n"
				    "tags = web , mitosis:web_tier,env-prod\n"
				    "bind = [fd00::7]:8000\n"
				    "advertise = 198.51.100.7:9000\n"
				    "seeds = 10.0.0.8,  10.0.0.9:7951 ,[fd00::10]\n"
				    "log_level = debug\n"
				    "metrics_listen = 127.0.0.1\n"
				    "trace = wire, meta\n");
	struct cfg *c = f.cfg;

	ASSERT_STR_EQ(c->token_file, "/etc/mitosis/token");
	ASSERT_STR_EQ(c->metadata_url, "https://meta.example:8443/v1");
	ASSERT_U64_EQ(c->metadata_timeout_ms, 250);
	ASSERT_U64_EQ(c->metadata_attempts, 30);
	ASSERT_U64_EQ(c->node_id, INT64_MAX);
	ASSERT_STR_EQ(c->hostname, "Web-1.example.com");
	ASSERT_STR_EQ(c->region, "nyc3");
	ASSERT_STR_EQ(c->public_ipv4, "203.0.113.7");
	ASSERT_STR_EQ(c->private_ipv4, "10.0.0.7");
	ASSERT_EQ(c->ntags, 3);
	ASSERT_STR_EQ(c->tags[0], "web");
	ASSERT_STR_EQ(c->tags[1], "mitosis:web_tier");
	ASSERT_STR_EQ(c->tags[2], "env-prod");
	ASSERT_STR_EQ(c->bind_host, "fd00::7");
	ASSERT_EQ(c->bind_port, 8000);
	ASSERT_STR_EQ(c->advertise_host, "198.51.100.7");
	ASSERT_EQ(c->advertise_port, 9000);
	ASSERT_EQ(c->nseeds, 3);
	ASSERT_STR_EQ(c->seeds[0], "10.0.0.8");
	ASSERT_STR_EQ(c->seeds[1], "10.0.0.9:7951");
	ASSERT_STR_EQ(c->seeds[2], "[fd00::10]");
	ASSERT_EQ(c->log_level, LOG_LEVEL_DEBUG);
	ASSERT_EQ(c->traces, TRACE_WIRE | TRACE_META);
	ASSERT_STR_EQ(c->metrics_host, "127.0.0.1");
	ASSERT_EQ(c->metrics_port, CFG_DEFAULT_METRICS_PORT);
	done(&f);
}

TEST(cfg_bind_and_advertise_default_ports)
{
	struct fixture f = parse_ok("bind = 10.0.0.1\nadvertise = 192.0.2.1\n");

	ASSERT_STR_EQ(f.cfg->bind_host, "10.0.0.1");
	ASSERT_EQ(f.cfg->bind_port, CFG_DEFAULT_PORT);
	ASSERT_STR_EQ(f.cfg->advertise_host, "192.0.2.1");
	/* 0 means "the bind port", decided by the agent. */
	ASSERT_EQ(f.cfg->advertise_port, 0);
	done(&f);
}

TEST(cfg_trace_all_and_level_case)
{
	struct fixture f = parse_ok("trace = all\nlog_level = WARN\n");

	ASSERT_EQ(f.cfg->traces, TRACE_ALL);
	ASSERT_EQ(f.cfg->log_level, LOG_LEVEL_WARN);
	done(&f);
}

TEST(cfg_boundary_values_accepted)
{
	char text[128];
	struct fixture f;

	f = parse_ok("metadata_timeout = 100ms\nmetadata_attempts = 1\n");
	ASSERT_U64_EQ(f.cfg->metadata_timeout_ms, 100);
	ASSERT_U64_EQ(f.cfg->metadata_attempts, 1);
	done(&f);
	f = parse_ok("metadata_timeout = 60s\nregion = a-32-chars-region-slug-012345678\n"
		     "node_id = 1\nhostname = h\nprivate_ipv4 = 10.0.0.1\n");
	ASSERT_U64_EQ(f.cfg->metadata_timeout_ms, 60000);
	done(&f);

	f = parse("cluster = 0-a-b\nkey_file = k\n");
	ASSERT_TRUE(cfg_finish(f.p));
	ASSERT_STR_EQ(f.cfg->cluster, "0-a-b");
	done(&f);
	snprintf(text, sizeof(text), "cluster = %063d\nkey_file = k\n", 0);
	f = parse(text);
	ASSERT_TRUE(cfg_finish(f.p));
	ASSERT_EQ(strlen(f.cfg->cluster), 63);
	done(&f);
}

/* ---- syntax ---- */

TEST(cfg_comments_and_blank_lines)
{
	struct fixture f = parse_ok("# a comment\n"
				    "   # an indented comment\n"
				    "\n"
				    " \t \n"
				    "region = nyc3 # trailing comment\n"
				    "hostname = h\t# after a tab\n"
				    "metadata_url = http://x/#fragment\n"
				    "node_id = 5\nprivate_ipv4 = 10.0.0.1\n");

	ASSERT_STR_EQ(f.cfg->region, "nyc3");
	ASSERT_STR_EQ(f.cfg->hostname, "h");
	/* A '#' inside a word is not a comment. */
	ASSERT_STR_EQ(f.cfg->metadata_url, "http://x/#fragment");
	done(&f);
}

TEST(cfg_quoted_values)
{
	struct fixture f = parse("cluster = \"web\"   # quoted, then a comment\n"
				 "key_file = \"/srv/keys/a b#c \\\"q\\\" \\\\ end\"\n"
				 "token_file=\"/t\"#tight\n");
	ASSERT_TRUE(f.ok);
	ASSERT_STR_EQ(f.cfg->cluster, "web");
	ASSERT_STR_EQ(f.cfg->key_file, "/srv/keys/a b#c \"q\" \\ end");
	ASSERT_STR_EQ(f.cfg->token_file, "/t");
	ASSERT_TRUE(cfg_finish(f.p));
	done(&f);
}

TEST(cfg_blanks_around_key_and_value)
{
	struct fixture f = parse("  cluster=web\t\n\tkey_file\t=\t/k  \n");

	ASSERT_TRUE(f.ok);
	ASSERT_STR_EQ(f.cfg->cluster, "web");
	ASSERT_STR_EQ(f.cfg->key_file, "/k");
	done(&f);
}

TEST(cfg_crlf_and_bom)
{
	static const char text[] = "\xef\xbb\xbf"
				   "cluster = web\r\n"
				   "key_file = /k\r\n"
				   "\r\n"
				   "# comment\r\n"
				   "metadata_attempts = 4\r\n"
				   "region = bad region\r\n";
	struct fixture f = parse(text);

	ASSERT_FALSE(f.ok);
	ASSERT_STR_EQ(f.cfg->cluster, "web");
	ASSERT_STR_EQ(f.cfg->key_file, "/k");
	ASSERT_U64_EQ(f.cfg->metadata_attempts, 4);
	/* Line numbers count from the BOM line, and the \r is not part of the value. */
	ASSERT_EQ(cfg_error_count(f.p), 1);
	ASSERT_STR_EQ(cfg_error(f.p, 0), "agent.conf:6: region: \"bad region\" is not a region "
					 "slug (lowercase letters, digits and '-', 1..32 chars)");
	done(&f);
}

TEST(cfg_last_line_without_newline)
{
	struct fixture f = parse("cluster = web\nkey_file = /k");

	ASSERT_TRUE(f.ok);
	ASSERT_STR_EQ(f.cfg->key_file, "/k");
	done(&f);
}

TEST(cfg_parse_line_not_nul_terminated)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);
	static const char line[] = "cluster = webXXXX";

	ASSERT_TRUE(cfg_parse_line(p, "x.conf", 1, line, 13));
	ASSERT_STR_EQ(cfg->cluster, "web");
	ASSERT_FALSE(cfg_parse_line(p, "x.conf", 2, "cluster = web2", 14));
	ASSERT_STR_EQ(cfg_error(p, 0), "x.conf:2: key 'cluster' already set at line 1");
	cfg_parser_free(p);
	cfg_free(cfg);
}

/* ---- line errors, each with its exact message ---- */

TEST(cfg_error_not_a_duration)
{
	expect_error(BASE "#3\n#4\n#5\n#6\nmetadata_timeout = 2 s\n",
		     "agent.conf:7: metadata_timeout: \"2 s\" is not a duration "
		     "(use e.g. 250ms, 2s, 1m)");
	expect_error("metadata_timeout = 2\n", "agent.conf:1: metadata_timeout: \"2\" is not a "
					       "duration (use e.g. 250ms, 2s, 1m)");
}

TEST(cfg_error_duration_out_of_range)
{
	expect_error("metadata_timeout = 61s\n",
		     "agent.conf:1: metadata_timeout: 61s is out of range 100ms..60s");
	expect_error("metadata_timeout = 99ms\n",
		     "agent.conf:1: metadata_timeout: 99ms is out of range 100ms..60s");
}

TEST(cfg_error_integer_out_of_range)
{
	expect_error(BASE "#3\n#4\n#5\n#6\n#7\n#8\nmetadata_attempts = 45\n",
		     "agent.conf:9: metadata_attempts: 45 is out of range 1..30");
	expect_error("metadata_attempts = 0\n",
		     "agent.conf:1: metadata_attempts: 0 is out of range 1..30");
	expect_error("node_id = 0\n", "agent.conf:1: node_id: 0 is out of range "
				      "1..9223372036854775807");
	expect_error("node_id = 9223372036854775808\n",
		     "agent.conf:1: node_id: 9223372036854775808 is out of range "
		     "1..9223372036854775807");
}

TEST(cfg_error_not_a_number)
{
	expect_error("metadata_attempts = three\n",
		     "agent.conf:1: metadata_attempts: \"three\" is not a whole number");
	expect_error("metadata_attempts = -1\n",
		     "agent.conf:1: metadata_attempts: \"-1\" is not a whole number");
	expect_error("node_id = \" 7\"\n", "agent.conf:1: node_id: \" 7\" is not a whole number");
}

TEST(cfg_error_unknown_key)
{
	expect_error(BASE "metdata_url = http://x\n",
		     "agent.conf:3: unknown key 'metdata_url' (did you mean 'metadata_url'?)");
	expect_error("metadata-url = http://x\n",
		     "agent.conf:1: unknown key 'metadata-url' (did you mean 'metadata_url'?)");
	expect_error("Cluster = web\n", "agent.conf:1: unknown key 'Cluster' (did you mean "
					"'cluster'?)");
	expect_error("colour = blue\n", "agent.conf:1: unknown key 'colour'");
	/* Distance 2 still gets a suggestion; distance 3 does not. */
	expect_error("clstr = web\n",
		     "agent.conf:1: unknown key 'clstr' (did you mean 'cluster'?)");
	expect_error("clst = web\n", "agent.conf:1: unknown key 'clst'");
	expect_error("a\x01 = 1\n", "agent.conf:1: unknown key 'a\\x01'");
}

TEST(cfg_error_missing_equals)
{
	expect_error("#1\n#2\n#3\ncluster web\n", "agent.conf:4: missing '=' after key 'cluster'");
	expect_error("cluster\n", "agent.conf:1: missing '=' after key 'cluster'");
	expect_error("= web\n", "agent.conf:1: expected 'key = value'");
}

TEST(cfg_error_duplicate_key)
{
	expect_error("#1\ncluster = a\nkey_file = /k\n#4\ncluster = b\n",
		     "agent.conf:5: key 'cluster' already set at line 2");
}

TEST(cfg_duplicate_keeps_first_value)
{
	struct fixture f = parse("cluster = a\ncluster = b\n");

	ASSERT_STR_EQ(f.cfg->cluster, "a");
	done(&f);
}

TEST(cfg_error_quoting)
{
	expect_error("#1\n#2\n#3\n#4\n#5\ncluster = \"web\n",
		     "agent.conf:6: unterminated quoted value");
	expect_error("cluster = \"web\\\"\n", "agent.conf:1: unterminated quoted value");
	expect_error("cluster = \"web\\\n", "agent.conf:1: unterminated quoted value");
	expect_error("cluster = \"w\\eb\"\n",
		     "agent.conf:1: unknown escape '\\e' in quoted value (only \\\" and \\\\ are "
		     "known)");
	expect_error("cluster = \"web\" x\n", "agent.conf:1: unexpected text after the quoted "
					      "value");
}

TEST(cfg_error_empty_value)
{
	expect_error("#1\n#2\n#3\n#4\n#5\n#6\n#7\nregion =\n",
		     "agent.conf:8: empty value for 'region'");
	expect_error("region =    \n", "agent.conf:1: empty value for 'region'");
	expect_error("region = \"\"\n", "agent.conf:1: empty value for 'region'");
	expect_error("region = # only a comment\n", "agent.conf:1: empty value for 'region'");
	expect_error("cluster =\n", "agent.conf:1: empty value for 'cluster'");
}

TEST(cfg_error_nul_byte)
{
	static const char text[] = "cluster = web\nkey_file = /k\0evil\n";
	struct fixture f;

	f.cfg = cfg_new();
	f.p = cfg_parser_new(f.cfg);
	ASSERT_FALSE(cfg_parse_buffer(f.p, "agent.conf", text, sizeof(text) - 1));
	ASSERT_EQ(cfg_error_count(f.p), 1);
	ASSERT_STR_EQ(cfg_error(f.p, 0), "agent.conf:2: NUL byte in line (is this a text file?)");
	ASSERT_NULL(f.cfg->key_file);
	done(&f);
}

TEST(cfg_error_long_line)
{
	char *text = malloc(2 * 4097 + 64);
	struct fixture f;
	size_t n;

	ASSERT_NOT_NULL(text);
	/* Exactly 4096 bytes (plus \r\n) is still fine; 4097 is not. */
	memset(text, '#', 4096);
	n = 4096;
	memcpy(text + n, "\r\n", 2);
	n += 2;
	memset(text + n, '#', 4097);
	n += 4097;
	memcpy(text + n, "\n", 2);
	f = parse(text);
	ASSERT_FALSE(f.ok);
	ASSERT_EQ(cfg_error_count(f.p), 1);
	ASSERT_STR_EQ(cfg_error(f.p, 0), "agent.conf:2: line is longer than 4096 bytes");
	done(&f);
	free(text);
}

/* ---- value checks per key ---- */

TEST(cfg_error_cluster_name)
{
	static const char *const bad[] = { "Web", "web_1", "-web", "web-", "we b" };
	char line[128], want[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "cluster = \"%s\"\n", bad[i]);
		snprintf(want, sizeof(want),
			 "agent.conf:1: cluster: \"%s\" is not a valid cluster name (lowercase "
			 "letters, digits and '-', 1..63 chars, no '-' at either end)",
			 bad[i]);
		expect_error(line, want);
	}
	expect_error(
		"cluster = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		"agent.conf:1: cluster: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaa\" is not a valid cluster name (lowercase letters, digits and '-', "
		"1..63 chars, no '-' at either end)");
}

TEST(cfg_error_path_control_char)
{
	expect_error("key_file = \"/etc/a\tb\"\n",
		     "agent.conf:1: key_file: \"/etc/a\\x09b\" is not "
		     "a usable path (it holds control characters)");
}

TEST(cfg_error_url)
{
	char line[700];

	expect_error("metadata_url = ftp://x\n", "agent.conf:1: metadata_url: \"ftp://x\" does not "
						 "start with http:// or https://");
	expect_error("metadata_url = \"http://a b\"\n",
		     "agent.conf:1: metadata_url: \"http://a b\" holds a space, control or "
		     "non-ASCII character (percent-encode it)");
	expect_error("metadata_url = http://\n",
		     "agent.conf:1: metadata_url: \"http://\" has no host after the scheme");
	expect_error("metadata_url = https:///x\n",
		     "agent.conf:1: metadata_url: \"https:///x\" has no host after the scheme");
	snprintf(line, sizeof(line), "metadata_url = http://%0506d\n", 0);
	expect_error(line, "agent.conf:1: metadata_url: \"http://000000000000000000000000000000000"
			   "000000000000000000000000000000000000...\" is longer than 512 "
			   "characters");
}

TEST(cfg_url_of_512_chars_accepted)
{
	char line[700];
	struct fixture f;

	snprintf(line, sizeof(line), "metadata_url = http://%0505d\n", 0);
	f = parse_ok(line);
	ASSERT_EQ(strlen(f.cfg->metadata_url), 512);
	done(&f);
}

TEST(cfg_error_hostname_region_ipv4)
{
	expect_error("hostname = web_1\n", "agent.conf:1: hostname: \"web_1\" is not a valid host "
					   "name (letters, digits, '-' and '.', 1..253 chars)");
	expect_error("region = NYC3\n", "agent.conf:1: region: \"NYC3\" is not a region slug "
					"(lowercase letters, digits and '-', 1..32 chars)");
	expect_error(
		"region = a-33-chars-region-slug-0123456789\n",
		"agent.conf:1: region: \"a-33-chars-region-slug-0123456789\" is not a region slug "
		"(lowercase letters, digits and '-', 1..32 chars)");
	expect_error("public_ipv4 = 10.0.0.256\n",
		     "agent.conf:1: public_ipv4: \"10.0.0.256\" is not an IPv4 address (use a "
		     "dotted quad, e.g. 10.0.0.5)");
	expect_error("private_ipv4 = 10.1\n", "agent.conf:1: private_ipv4: \"10.1\" is not an IPv4 "
					      "address (use a dotted quad, e.g. 10.0.0.5)");
}

TEST(cfg_error_hostname_too_long)
{
	char line[400];
	struct fixture f;

	snprintf(line, sizeof(line), "hostname = %0253d\n", 0);
	f = parse(line);
	ASSERT_TRUE(f.ok);
	done(&f);
	snprintf(line, sizeof(line), "hostname = %0254d\n", 0);
	f = parse(line);
	ASSERT_FALSE(f.ok);
	ASSERT_STR_CONTAINS(cfg_error(f.p, 0), "is not a valid host name");
	done(&f);
}

TEST(cfg_error_tags)
{
	char line[1024];
	size_t n;

	expect_error("tags = a,,b\n", "agent.conf:1: tags: item 2 of \"a,,b\" is empty");
	expect_error("tags = a, ,b\n", "agent.conf:1: tags: item 2 of \"a, ,b\" is empty");
	expect_error("tags = a,\n", "agent.conf:1: tags: item 2 of \"a,\" is empty");
	expect_error("tags = \"a, b c\"\n", "agent.conf:1: tags: \"b c\" is not a valid tag "
					    "(letters, digits, ':', '_' and '-', 1..255 chars)");
	n = (size_t)snprintf(line, sizeof(line), "tags = t");
	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, ",t");
	snprintf(line + n, sizeof(line) - n, "\n");
	expect_error(line, "agent.conf:1: tags: \"t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,"
			   "t,t,t,t,t,t,t,t,t,t,t,t,t,t,...\" has 65 items, at most 64 are "
			   "allowed");
}

TEST(cfg_tags_at_limits_accepted)
{
	char line[1024];
	size_t n = (size_t)snprintf(line, sizeof(line), "tags = t");
	struct fixture f;

	for (int i = 0; i < 63; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, ",t%d", i);
	snprintf(line + n, sizeof(line) - n,
		 "\nnode_id = 1\nhostname = h\nprivate_ipv4 = 10.0.0.1\n");
	f = parse_ok(line);
	ASSERT_EQ(f.cfg->ntags, 64);
	ASSERT_STR_EQ(f.cfg->tags[63], "t62");
	done(&f);
}

TEST(cfg_error_hostports)
{
	expect_error("bind = node1:7950\n", "agent.conf:1: bind: \"node1:7950\" is not IP[:PORT] "
					    "(e.g. 10.0.0.5, 10.0.0.5:7950 or [fd00::1]:7950)");
	expect_error("advertise = 10.0.0.1:0\n",
		     "agent.conf:1: advertise: \"10.0.0.1:0\" is not IP[:PORT] (e.g. 10.0.0.5, "
		     "10.0.0.5:7950 or [fd00::1]:7950)");
	expect_error("seeds = 10.0.0.1, 10.0.0.2:99999\n",
		     "agent.conf:1: seeds: \"10.0.0.2:99999\" is not IP[:PORT] (e.g. 10.0.0.5, "
		     "10.0.0.5:7950 or [fd00::1]:7950)");
	expect_error("seeds = 10.0.0.1,,10.0.0.2\n",
		     "agent.conf:1: seeds: item 2 of \"10.0.0.1,,10.0.0.2\" is empty");
}

TEST(cfg_error_level_and_trace)
{
	expect_error("log_level = verbose\n", "agent.conf:1: log_level: \"verbose\" is not a log "
					      "level (use error, warn, info or debug)");
	expect_error("trace = wire, bogus\n",
		     "agent.conf:1: trace: unknown trace subsystem \"bogus\" (known: wire, meta, "
		     "http, gossip, cloud, control, elect, all)");
	expect_error("trace = wire,,meta\n", "agent.conf:1: trace: item 2 of \"wire,,meta\" is "
					     "empty");
}

TEST(cfg_bad_value_keeps_previous)
{
	struct fixture f = parse("metadata_attempts = 99\nlog_level = loud\nseeds = 1.2.3.4,x\n");

	ASSERT_U64_EQ(f.cfg->metadata_attempts, 3);
	ASSERT_EQ(f.cfg->log_level, LOG_LEVEL_INFO);
	ASSERT_EQ(f.cfg->nseeds, 0);
	ASSERT_EQ(cfg_error_count(f.p), 3);
	done(&f);
}

TEST(cfg_long_value_is_cut_and_escaped)
{
	char line[600];
	struct fixture f;

	snprintf(line, sizeof(line), "region = \"\\\"%0200d\"\n", 0);
	f = parse(line);
	ASSERT_EQ(cfg_error_count(f.p), 1);
	ASSERT_STR_EQ(cfg_error(f.p, 0), "agent.conf:1: region: \"\\\"00000000000000000000000000"
					 "000000000000000000000000000000000000000000000000...\" is"
					 " not a region slug (lowercase letters, digits and '-', "
					 "1..32 chars)");
	done(&f);
}

TEST(cfg_all_errors_are_listed)
{
	struct fixture f = parse("cluster = A\nbogus = 1\nmetadata_attempts = 0\nregion\n");

	ASSERT_EQ(cfg_error_count(f.p), 4);
	ASSERT_STR_CONTAINS(cfg_error(f.p, 0), "agent.conf:1: cluster:");
	ASSERT_STR_CONTAINS(cfg_error(f.p, 1), "agent.conf:2: unknown key");
	ASSERT_STR_CONTAINS(cfg_error(f.p, 2), "agent.conf:3: metadata_attempts:");
	ASSERT_STR_CONTAINS(cfg_error(f.p, 3), "agent.conf:4: missing '='");
	ASSERT_NULL(cfg_error(f.p, 4));
	done(&f);
}

TEST(cfg_too_many_errors_are_summarised)
{
	char *text = malloc(150 * 8 + 1);
	struct fixture f;
	size_t n = 0;

	ASSERT_NOT_NULL(text);
	for (int i = 0; i < 150; i++)
		n += (size_t)sprintf(text + n, "bogus\n");
	f = parse(text);
	ASSERT_FALSE(f.ok);
	ASSERT_EQ(cfg_error_count(f.p), 101);
	ASSERT_STR_EQ(cfg_error(f.p, 99), "agent.conf:100: missing '=' after key 'bogus'");
	ASSERT_STR_EQ(cfg_error(f.p, 100), "too many errors: 50 more not shown");
	ASSERT_FALSE(cfg_finish(f.p));
	done(&f);
	free(text);
}

/* ---- cfg_finish: required keys and static identity ---- */

TEST(cfg_finish_missing_required_keys)
{
	struct fixture f = parse("region = nyc3\n");

	ASSERT_TRUE(f.ok);
	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 3);
	ASSERT_STR_EQ(cfg_error(f.p, 0), "agent.conf: missing required key 'cluster'");
	ASSERT_STR_EQ(cfg_error(f.p, 1), "agent.conf: missing required key 'key_file'");
	ASSERT_STR_EQ(cfg_error(f.p, 2), "agent.conf:1: region: static identity keys need node_id "
					 "(set node_id, or remove this key to read the identity "
					 "from the metadata service)");
	/* A second call adds nothing and gives the same verdict. */
	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 3);
	done(&f);
}

TEST(cfg_finish_without_any_file)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);

	ASSERT_TRUE(cfg_set(p, "--key-file", "key_file", "/k"));
	ASSERT_FALSE(cfg_finish(p));
	ASSERT_EQ(cfg_error_count(p), 1);
	ASSERT_STR_EQ(cfg_error(p, 0), "configuration: missing required key 'cluster'");
	cfg_parser_free(p);
	cfg_free(cfg);
}

TEST(cfg_finish_bad_required_value_is_not_also_missing)
{
	struct fixture f = parse("cluster = Web\nkey_file = /k\n");

	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 1);
	ASSERT_STR_CONTAINS(cfg_error(f.p, 0), "agent.conf:1: cluster: \"Web\"");
	done(&f);
}

TEST(cfg_finish_node_id_needs_hostname_and_private_ipv4)
{
	struct fixture f = parse(BASE "#3\nnode_id = 12\n");

	ASSERT_TRUE(f.ok);
	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 2);
	ASSERT_STR_EQ(cfg_error(f.p, 0),
		      "agent.conf:4: static identity: node_id is set, so 'hostname' is required");
	ASSERT_STR_EQ(cfg_error(f.p, 1),
		      "agent.conf:4: static identity: node_id is set, so 'private_ipv4' is "
		      "required");
	done(&f);
}

TEST(cfg_finish_identity_keys_need_node_id)
{
	struct fixture f = parse(BASE "hostname = h\nregion = nyc3\npublic_ipv4 = 1.2.3.4\n"
				      "private_ipv4 = 10.0.0.1\ntags = a\n");
	static const char *const keys[] = { "hostname", "region", "public_ipv4", "private_ipv4",
					    "tags" };
	char want[256];

	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 5);
	for (size_t i = 0; i < 5; i++) {
		snprintf(want, sizeof(want),
			 "agent.conf:%zu: %s: static identity keys need node_id (set node_id, or "
			 "remove this key to read the identity from the metadata service)",
			 i + 3, keys[i]);
		ASSERT_STR_EQ(cfg_error(f.p, i), want);
	}
	done(&f);
}

TEST(cfg_finish_bad_node_id_skips_identity_checks)
{
	struct fixture f = parse(BASE "node_id = zero\nregion = nyc3\n");

	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 1);
	ASSERT_STR_EQ(cfg_error(f.p, 0), "agent.conf:3: node_id: \"zero\" is not a whole number");
	done(&f);
}

/* ---- flags ---- */

TEST(cfg_flag_overrides_file_in_either_order)
{
	struct fixture f = parse(BASE "metadata_url = http://file\n");

	ASSERT_TRUE(cfg_set(f.p, "--metadata-url", "metadata_url", "http://flag"));
	ASSERT_STR_EQ(f.cfg->metadata_url, "http://flag");
	ASSERT_TRUE(cfg_finish(f.p));
	done(&f);

	f.cfg = cfg_new();
	f.p = cfg_parser_new(f.cfg);
	ASSERT_TRUE(cfg_set(f.p, "--metadata-attempts", "metadata_attempts", "7"));
	ASSERT_TRUE(cfg_parse_buffer(f.p, "agent.conf", BASE "metadata_attempts = 9\n",
				     strlen(BASE "metadata_attempts = 9\n")));
	ASSERT_U64_EQ(f.cfg->metadata_attempts, 7);
	ASSERT_TRUE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 0);
	done(&f);
}

TEST(cfg_flag_twice_last_wins)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);

	ASSERT_TRUE(cfg_set(p, "--cluster", "cluster", "one"));
	ASSERT_TRUE(cfg_set(p, "--cluster", "cluster", "two"));
	ASSERT_TRUE(cfg_set(p, "--key-file", "key-file", "/k"));
	ASSERT_TRUE(cfg_set(p, "--tags", "tags", "a,b"));
	ASSERT_TRUE(cfg_set(p, "--tags", "tags", "c"));
	ASSERT_TRUE(cfg_set(p, "--node-id", "node_id", "3"));
	ASSERT_TRUE(cfg_set(p, "--hostname", "hostname", "h"));
	ASSERT_TRUE(cfg_set(p, "--private-ipv4", "private_ipv4", "10.0.0.3"));
	ASSERT_TRUE(cfg_finish(p));
	ASSERT_STR_EQ(cfg->cluster, "two");
	ASSERT_STR_EQ(cfg->key_file, "/k");
	ASSERT_EQ(cfg->ntags, 1);
	ASSERT_STR_EQ(cfg->tags[0], "c");
	cfg_parser_free(p);
	cfg_free(cfg);
}

TEST(cfg_flag_errors)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);

	ASSERT_FALSE(cfg_set(p, "--metadata-timeout", "metadata_timeout", "2 s"));
	ASSERT_FALSE(cfg_set(p, "--metdata-url", "metdata_url", "http://x"));
	ASSERT_FALSE(cfg_set(p, "--region", "region", ""));
	ASSERT_FALSE(cfg_set(p, "-r", "region", "NYC"));
	ASSERT_TRUE(cfg_set(p, "--region", "region", "nyc3"));
	ASSERT_EQ(cfg_error_count(p), 4);
	ASSERT_STR_EQ(cfg_error(p, 0), "--metadata-timeout: \"2 s\" is not a duration (use e.g. "
				       "250ms, 2s, 1m)");
	ASSERT_STR_EQ(cfg_error(p, 1),
		      "--metdata-url: unknown key 'metdata_url' (did you mean 'metadata_url'?)");
	ASSERT_STR_EQ(cfg_error(p, 2), "--region: empty value for 'region'");
	ASSERT_STR_EQ(cfg_error(p, 3), "-r: region: \"NYC\" is not a region slug (lowercase "
				       "letters, digits and '-', 1..32 chars)");
	ASSERT_FALSE(cfg_finish(p));
	ASSERT_EQ(cfg_error_count(p), 7);
	ASSERT_STR_EQ(cfg_error(p, 6), "--region: static identity keys need node_id (set node_id, "
				       "or remove this key to read the identity from the "
				       "metadata service)");
	cfg_parser_free(p);
	cfg_free(cfg);
}

TEST(cfg_file_mistakes_still_reported_under_a_flag)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);
	static const char text[] = BASE "region = BAD\nregion = nyc1\n";

	ASSERT_TRUE(cfg_set(p, "--region", "region", "nyc3"));
	ASSERT_FALSE(cfg_parse_buffer(p, "agent.conf", text, strlen(text)));
	ASSERT_STR_EQ(cfg->region, "nyc3");
	ASSERT_EQ(cfg_error_count(p), 2);
	ASSERT_STR_CONTAINS(cfg_error(p, 0), "agent.conf:3: region: \"BAD\" is not a region slug");
	ASSERT_STR_EQ(cfg_error(p, 1), "agent.conf:4: key 'region' already set at line 3");
	cfg_parser_free(p);
	cfg_free(cfg);
}

TEST(cfg_second_file_overrides_first)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);

	ASSERT_TRUE(cfg_parse_buffer(p, "a.conf", BASE, strlen(BASE)));
	ASSERT_TRUE(cfg_parse_buffer(p, "b.conf", "cluster = api\n", 14));
	ASSERT_STR_EQ(cfg->cluster, "api");
	ASSERT_TRUE(cfg_finish(p));
	cfg_parser_free(p);
	cfg_free(cfg);
}

/* ---- the key table ---- */

TEST(cfg_keys_table)
{
	static const char *const names[] = {
		"cluster",
		"key_file",
		"token_file",
		"metadata_url",
		"metadata_timeout",
		"metadata_attempts",
		"node_id",
		"hostname",
		"region",
		"public_ipv4",
		"private_ipv4",
		"tags",
		"bind",
		"advertise",
		"seeds",
		"probe_interval",
		"probe_timeout",
		"gossip_interval",
		"gossip_fanout",
		"indirect_checks",
		"suspicion_mult",
		"suspicion_max_mult",
		"suspicion_unit",
		"sign_datagrams",
		"pushpull_interval",
		"reap_after",
		"leave_timeout",
		"load_interval",
		"load_window",
		"load_change",
		"load_refresh",
		"custom_metric_file",
		"custom_metric_command",
		"custom_metric_timeout",
		"control_socket",
		"state_dir",
		"metrics_listen",
		"api_url",
		"api_timeout",
		"cluster_tag",
		"clone_image",
		"clone_size",
		"clone_region",
		"clone_vpc_uuid",
		"clone_ssh_keys",
		"clone_tags",
		"active_timeout",
		"delete_timeout",
		"registrars",
		"dns_domain",
		"dns_name",
		"dns_ttl",
		"lb_id",
		"health_timeout",
		"haproxy_runtime",
		"haproxy_backend",
		"haproxy_server_port",
		"exec_command",
		"register_address",
		"drain_timeout",
		"voters",
		"heartbeat",
		"lease",
		"drift_ppm",
		"election_min",
		"election_max",
		"voter_replace_after",
		"voter_stable",
		"bootstrap_expect",
		"bootstrap_settle",
		"announce",
		"reconcile_interval",
		"on_event",
		"webhook_url",
		"hook_timeout",
		"policy_metrics",
		"target_cpu",
		"target_load1",
		"target_memory",
		"target_custom",
		"load1_max",
		"custom_max",
		"policy_tolerance",
		"policy_interval",
		"scale_out_window",
		"scale_in_window",
		"scale_out_cooldown",
		"scale_in_cooldown",
		"warmup",
		"min_nodes",
		"max_nodes",
		"max_step",
		"max_hourly_cost",
		"billing_hold",
		"policy_dry_run",
		"protect",
		"replace_after",
		"powercycle_wait",
		"retire_leave_timeout",
		"hook_max_wait",
		"log_level",
		"trace",
	};
	static const char *const good[] = {
		"web",
		"/k",
		"/t",
		"http://m",
		"3s",
		"4",
		"17",
		"h",
		"nyc3",
		"1.2.3.4",
		"10.0.0.1",
		"a,b",
		"10.0.0.1",
		"10.0.0.2",
		"10.0.0.3",
		"1s",
		"300ms",
		"200ms",
		"3",
		"3",
		"2",
		"5",
		"250ms",
		"yes",
		"30s",
		"60s",
		"1s",
		"2s",
		"30s",
		"5",
		"2m",
		"/m",
		"echo 1",
		"1s",
		"/s",
		"/var/lib/m",
		"127.0.0.1:9950",
		"http://a",
		"20s",
		"web",
		"42",
		"s-1vcpu-1gb",
		"nyc3",
		"760e09ef-dc84-11e8-981e-3cfdfeaae000",
		"1,ab:cd",
		"a,b",
		"2m",
		"90s",
		"exec",
		"example.com",
		"www",
		"60",
		"4de7ac8b-495b-4884-9a69-1050c6793cd6",
		"45s",
		"unix:/run/h.sock",
		"app",
		"8080",
		"/bin/true",
		"private",
		"10s",
		"3",
		"400ms",
		"3s",
		"5000",
		"3.5s",
		"5s",
		"1m",
		"20s",
		"3",
		"2s",
		"10s",
		"5m",
		"/bin/true",
		"https://hooks.example.com/T0/secret",
		"10s",
		"cpu, load1",
		"65%",
		"0.9",
		"75.5%",
		"120",
		"1.8",
		"300",
		"15%",
		"2s",
		"30s",
		"5m",
		"1m",
		"2m",
		"1m",
		"2",
		"8",
		"3",
		"0.25",
		"no",
		"yes",
		"no",
		"2m",
		"2m",
		"20s",
		"5m",
		"debug",
		"all",
	};
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);
	const struct cfg_key_info *keys;
	size_t n = 0;

	keys = cfg_keys(&n);
	ASSERT_EQ(n, sizeof(names) / sizeof(names[0]));
	for (size_t i = 0; i < n; i++) {
		char flag[64];

		ASSERT_STR_EQ(keys[i].name, names[i]);
		ASSERT_NOT_NULL(keys[i].type);
		ASSERT_NOT_NULL(keys[i].def);
		ASSERT_NOT_NULL(keys[i].range);
		ASSERT_TRUE(keys[i].help != NULL && keys[i].help[0] != '\0');
		snprintf(flag, sizeof(flag), "--%s", keys[i].name);
		for (char *c = flag; *c != '\0'; c++)
			if (*c == '_')
				*c = '-';
		if (!cfg_set(p, flag, keys[i].name, good[i]))
			harness_fail(__FILE__, __LINE__, "%s", cfg_error(p, 0));
	}
	/* A file and a command for the custom metric exclude each other. */
	ASSERT_FALSE(cfg_finish(p));
	ASSERT_EQ(cfg_error_count(p), 1);
	ASSERT_STR_CONTAINS(cfg_error(p, 0), "exclude each other");
	ASSERT_STR_EQ(keys[3].def, "http://169.254.169.254");
	ASSERT_STR_EQ(keys[4].def, "2s");
	ASSERT_STR_EQ(keys[4].range, "100ms..60s");
	ASSERT_STR_EQ(keys[4].type, "duration");
	ASSERT_TRUE(keys == cfg_keys(NULL));
	cfg_parser_free(p);
	cfg_free(cfg);
}

/* ---- files ---- */

TEST(cfg_file_missing)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);
	char path[512], want[600];

	snprintf(path, sizeof(path), "%s/none.conf", harness_tmpdir());
	ASSERT_FALSE(cfg_parse_file(p, path));
	ASSERT_FALSE(cfg_finish(p));
	/* One error: "missing required key" after "cannot read" would only repeat it. */
	ASSERT_EQ(cfg_error_count(p), 1);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
	ASSERT_STR_EQ(cfg_error(p, 0), want);
	cfg_parser_free(p);
	cfg_free(cfg);
}

TEST(cfg_file_too_big)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);
	char path[512], want[600];
	int fd;

	snprintf(path, sizeof(path), "%s/big.conf", harness_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	ASSERT(fd >= 0);
	ASSERT_OK(ftruncate(fd, 1024 * 1024 + 1));
	ASSERT_OK(close(fd));
	ASSERT_FALSE(cfg_parse_file(p, path));
	ASSERT_EQ(cfg_error_count(p), 1);
	snprintf(want, sizeof(want), "%s: larger than 1 MiB; is this the right file?", path);
	ASSERT_STR_EQ(cfg_error(p, 0), want);
	cfg_parser_free(p);
	cfg_free(cfg);
}

TEST(cfg_example_file_is_valid)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);

	ASSERT_TRUE(cfg_parse_file(p, "tests/data/agent-example.conf"));
	if (!cfg_finish(p))
		harness_fail(__FILE__, __LINE__, "%s", cfg_error(p, 0));
	ASSERT_STR_EQ(cfg->cluster, "web-tier");
	ASSERT_U64_EQ(cfg->metadata_timeout_ms, 1500);
	ASSERT_U64_EQ(cfg->node_id, 4242);
	ASSERT_EQ(cfg->ntags, 3);
	ASSERT_EQ(cfg->nseeds, 3);
	ASSERT_EQ(cfg->advertise_port, 0);
	ASSERT_EQ(cfg->traces, TRACE_GOSSIP | TRACE_CLOUD);
	cfg_parser_free(p);
	cfg_free(cfg);
}

TEST(cfg_broken_file_lists_each_mistake)
{
	static const char *const want[] = {
		"tests/data/broken.conf:15: unknown key 'metdata_url' (did you mean "
		"'metadata_url'?)",
		"tests/data/broken.conf:16: metadata_timeout: \"2\" is not a duration (use e.g. "
		"250ms, 2s, 1m)",
		"tests/data/broken.conf:17: metadata_attempts: 45 is out of range 1..30",
		"tests/data/broken.conf:18: missing '=' after key 'token_file'",
		"tests/data/broken.conf:19: key 'cluster' already set at line 13",
		"tests/data/broken.conf:20: empty value for 'log_level'",
		"tests/data/broken.conf:21: unterminated quoted value",
		"tests/data/broken.conf:22: seeds: \"node3:7950\" is not IP[:PORT] (e.g. 10.0.0.5, "
		"10.0.0.5:7950 or [fd00::1]:7950)",
		"tests/data/broken.conf:23: trace: unknown trace subsystem \"verbose\" (known: "
		"wire, "
		"meta, http, gossip, cloud, control, elect, all)",
	};
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);

	ASSERT_FALSE(cfg_parse_file(p, "tests/data/broken.conf"));
	ASSERT_FALSE(cfg_finish(p));
	ASSERT_EQ(cfg_error_count(p), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ASSERT_STR_EQ(cfg_error(p, i), want[i]);
	cfg_parser_free(p);
	cfg_free(cfg);
}

/* ---- membership, load and control keys ---- */

TEST(cfg_gossip_defaults_are_the_cores)
{
	struct cfg *cfg = cfg_new();
	struct swim_config sc;

	swim_config_default(&sc);
	ASSERT_U64_EQ(cfg->probe_interval_ms, sc.probe_interval_ms);
	ASSERT_U64_EQ(cfg->probe_timeout_ms, sc.probe_timeout_ms);
	ASSERT_U64_EQ(cfg->gossip_interval_ms, sc.gossip_interval_ms);
	ASSERT_U64_EQ(cfg->gossip_fanout, sc.gossip_fanout);
	ASSERT_U64_EQ(cfg->indirect_checks, sc.indirect_checks);
	ASSERT_U64_EQ(cfg->suspicion_mult, sc.suspicion_min_mult);
	ASSERT_U64_EQ(cfg->suspicion_max_mult, sc.suspicion_max_mult);
	ASSERT_U64_EQ(cfg->suspicion_unit_ms, sc.suspicion_unit_ms);
	ASSERT_U64_EQ(cfg->pushpull_interval_ms, sc.pushpull_interval_ms);
	ASSERT_U64_EQ(cfg->reap_after_ms, sc.reap_after_ms);
	ASSERT_STR_EQ(cfg->control_socket, CFG_DEFAULT_CONTROL_SOCKET);
	ASSERT_STR_EQ(cfg->state_dir, "/var/lib/mitosis");
	ASSERT_U64_EQ(cfg->load_interval_ms, 2000);
	ASSERT_U64_EQ(cfg->load_window_ms, 30000);
	ASSERT_U64_EQ(cfg->leave_timeout_ms, 1000);
	cfg_free(cfg);
}

/* The default text shown by --help and docs/config.md is the value cfg_new() sets. */
TEST(cfg_documented_defaults_match)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "probe_interval", offsetof(struct cfg, probe_interval_ms) },
		{ "probe_timeout", offsetof(struct cfg, probe_timeout_ms) },
		{ "gossip_interval", offsetof(struct cfg, gossip_interval_ms) },
		{ "gossip_fanout", offsetof(struct cfg, gossip_fanout) },
		{ "indirect_checks", offsetof(struct cfg, indirect_checks) },
		{ "suspicion_mult", offsetof(struct cfg, suspicion_mult) },
		{ "suspicion_max_mult", offsetof(struct cfg, suspicion_max_mult) },
		{ "suspicion_unit", offsetof(struct cfg, suspicion_unit_ms) },
		{ "pushpull_interval", offsetof(struct cfg, pushpull_interval_ms) },
		{ "reap_after", offsetof(struct cfg, reap_after_ms) },
		{ "leave_timeout", offsetof(struct cfg, leave_timeout_ms) },
		{ "load_interval", offsetof(struct cfg, load_interval_ms) },
		{ "load_window", offsetof(struct cfg, load_window_ms) },
		{ "load_change", offsetof(struct cfg, load_change) },
		{ "load_refresh", offsetof(struct cfg, load_refresh_ms) },
		{ "custom_metric_timeout", offsetof(struct cfg, custom_metric_timeout_ms) },
		{ "metadata_timeout", offsetof(struct cfg, metadata_timeout_ms) },
		{ "metadata_attempts", offsetof(struct cfg, metadata_attempts) },
		{ "api_timeout", offsetof(struct cfg, api_timeout_ms) },
		{ "active_timeout", offsetof(struct cfg, active_timeout_ms) },
		{ "dns_ttl", offsetof(struct cfg, dns_ttl) },
		{ "haproxy_server_port", offsetof(struct cfg, haproxy_server_port) },
		{ "drain_timeout", offsetof(struct cfg, drain_timeout_ms) },
		{ "voters", offsetof(struct cfg, voters) },
		{ "heartbeat", offsetof(struct cfg, heartbeat_ms) },
		{ "lease", offsetof(struct cfg, lease_ms) },
		{ "drift_ppm", offsetof(struct cfg, drift_ppm) },
		{ "election_min", offsetof(struct cfg, election_min_ms) },
		{ "election_max", offsetof(struct cfg, election_max_ms) },
		{ "voter_replace_after", offsetof(struct cfg, voter_replace_after_ms) },
		{ "voter_stable", offsetof(struct cfg, voter_stable_ms) },
		{ "bootstrap_expect", offsetof(struct cfg, bootstrap_expect) },
		{ "bootstrap_settle", offsetof(struct cfg, bootstrap_settle_ms) },
		{ "announce", offsetof(struct cfg, announce_ms) },
		{ "reconcile_interval", offsetof(struct cfg, reconcile_interval_ms) },
		{ "target_cpu", offsetof(struct cfg, target_cpu) },
		{ "target_load1", offsetof(struct cfg, target_load1) },
		{ "target_memory", offsetof(struct cfg, target_memory) },
		{ "policy_tolerance", offsetof(struct cfg, policy_tolerance) },
		{ "policy_interval", offsetof(struct cfg, policy_interval_ms) },
		{ "scale_out_window", offsetof(struct cfg, scale_out_window_ms) },
		{ "scale_in_window", offsetof(struct cfg, scale_in_window_ms) },
		{ "scale_out_cooldown", offsetof(struct cfg, scale_out_cooldown_ms) },
		{ "scale_in_cooldown", offsetof(struct cfg, scale_in_cooldown_ms) },
		{ "warmup", offsetof(struct cfg, warmup_ms) },
		{ "min_nodes", offsetof(struct cfg, min_nodes) },
		{ "max_nodes", offsetof(struct cfg, max_nodes) },
		{ "max_step", offsetof(struct cfg, max_step) },
		{ "replace_after", offsetof(struct cfg, replace_after_ms) },
		{ "powercycle_wait", offsetof(struct cfg, powercycle_wait_ms) },
		{ "retire_leave_timeout", offsetof(struct cfg, retire_leave_timeout_ms) },
		{ "hook_timeout", offsetof(struct cfg, hook_timeout_ms) },
		{ "hook_max_wait", offsetof(struct cfg, hook_max_wait_ms) },
	};
	size_t n;
	const struct cfg_key_info *info = cfg_keys(&n);

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct cfg *a = cfg_new(), *b = cfg_new();
		struct cfg_parser *p = cfg_parser_new(b);
		const char *def = NULL;

		for (size_t j = 0; j < n; j++)
			if (strcmp(info[j].name, keys[i].key) == 0)
				def = info[j].def;
		ASSERT_NOT_NULL(def);
		ASSERT_TRUE(cfg_set(p, "--test", keys[i].key, def));
		if (*(uint64_t *)(void *)((char *)a + keys[i].off) !=
		    *(uint64_t *)(void *)((char *)b + keys[i].off))
			harness_fail(__FILE__, __LINE__, "%s: documented default %s differs",
				     keys[i].key, def);
		cfg_parser_free(p);
		cfg_free(a);
		cfg_free(b);
	}
}

/* The election's timings are checked together, at the line of a key set. */
TEST(cfg_election_timings_checked)
{
	struct fixture f = parse(BASE "lease = 5s\n");
	struct elect_config ec;

	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 1);
	ASSERT_STR_EQ(cfg_error(f.p, 0),
		      "agent.conf:3: election_min must exceed lease x (1 + drift) / (1 - drift)");
	done(&f);
	f = parse(BASE "voters = 4\n");
	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_STR_EQ(cfg_error(f.p, 0), "agent.conf:3: voters must be 1, 3, 5 or 7");
	done(&f);
	f = parse_ok("lease = 1s\nheartbeat = 200ms\nelection_min = 1100ms\nelection_max = 2s\n"
		     "voters = 3\nbootstrap_expect = 3\n");
	cfg_election(f.cfg, &ec);
	ASSERT_EQ(ec.voters, 3);
	ASSERT_EQ(ec.bootstrap_expect, 3);
	ASSERT_U64_EQ(ec.lease_ms, 1000);
	ASSERT_U64_EQ(ec.heartbeat_ms, 200);
	ASSERT_U64_EQ(ec.election_min_ms, 1100);
	ASSERT_OK(elect_config_check(&ec, NULL, 0));
	done(&f);
}

TEST(cfg_probe_timeout_must_be_shorter)
{
	struct fixture f = parse(BASE "probe_interval = 100ms\n");

	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 1);
	ASSERT_STR_EQ(cfg_error(f.p, 0),
		      "agent.conf:3: probe_timeout must be shorter than probe_interval");
	done(&f);
	f = parse(BASE "probe_timeout = 1s\n");
	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_STR_EQ(cfg_error(f.p, 0),
		      "agent.conf:3: probe_timeout must be shorter than probe_interval");
	done(&f);
	f = parse_ok("probe_interval = 1s\nprobe_timeout = 600ms\n");
	ASSERT_U64_EQ(f.cfg->probe_interval_ms, 1000);
	ASSERT_U64_EQ(f.cfg->probe_timeout_ms, 600);
	done(&f);
}

TEST(cfg_custom_metric_one_source)
{
	struct fixture f = parse(BASE "custom_metric_file = /run/rps\n"
				      "custom_metric_command = \"cat /run/rps\"\n");

	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 1);
	ASSERT_STR_EQ(cfg_error(f.p, 0),
		      "agent.conf:4: custom_metric_file and custom_metric_command exclude each "
		      "other; keep one");
	done(&f);
	f = parse_ok("custom_metric_command = \"curl -s localhost/rps | cut -f1\"\n"
		     "control_socket = /tmp/m.sock\nload_interval = 500ms\n");
	ASSERT_STR_EQ(f.cfg->custom_metric_command, "curl -s localhost/rps | cut -f1");
	ASSERT_STR_EQ(f.cfg->control_socket, "/tmp/m.sock");
	ASSERT_U64_EQ(f.cfg->load_interval_ms, 500);
	done(&f);
}

TEST(cfg_registrars_need_their_keys)
{
	struct fixture f = parse(BASE "registrars = do-dns, haproxy\ndns_domain = example.com\n");

	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 4);
	ASSERT_STR_EQ(cfg_error(f.p, 0), "agent.conf:3: registrar do-dns needs 'dns_name'");
	ASSERT_STR_EQ(cfg_error(f.p, 1), "agent.conf:3: registrar do-dns needs 'token_file'");
	ASSERT_STR_EQ(cfg_error(f.p, 2), "agent.conf:3: registrar haproxy needs 'haproxy_runtime'");
	ASSERT_STR_EQ(cfg_error(f.p, 3), "agent.conf:3: registrar haproxy needs 'haproxy_backend'");
	done(&f);
	expect_error(BASE "registrars = do-dns, route53\n",
		     "agent.conf:3: registrars: \"route53\" is not a registrar (do-dns, do-lb, "
		     "haproxy, exec)");
	expect_error(BASE "lb_id = 4de7ac8b-495b-4884-9a69\n",
		     "agent.conf:3: lb_id: \"4de7ac8b-495b-4884-9a69\" is not a uuid (8-4-4-4-12 "
		     "hex digits)");
	expect_error(BASE "haproxy_runtime = /run/h.sock\n",
		     "agent.conf:3: haproxy_runtime: \"/run/h.sock\" is not unix:/PATH or IP:PORT "
		     "of HAProxy's runtime API");
	expect_error(BASE "dns_name = www.example.com.\n",
		     "agent.conf:3: dns_name: \"www.example.com.\" is not a record name relative "
		     "to the zone (\"www\", \"api.eu\" or \"@\")");
	f = parse_ok("registrars = do-lb, exec\nlb_id = 4de7ac8b-495b-4884-9a69-1050c6793cd6\n"
		     "token_file = /t\nexec_command = /usr/local/bin/rotate\ndns_name = @\n");
	ASSERT_EQ(f.cfg->nregistrars, 2);
	ASSERT_STR_EQ(f.cfg->registrars[1], "exec");
	ASSERT_STR_EQ(f.cfg->register_address, "public");
	ASSERT_U64_EQ(f.cfg->dns_ttl, 60);
	done(&f);
}

TEST(cfg_cluster_tag_defaults_to_the_cluster)
{
	struct fixture f = parse_ok("");

	ASSERT_STR_EQ(f.cfg->cluster_tag, "mitosis-web");
	done(&f);
	f = parse_ok("cluster_tag = fleet:web\n");
	ASSERT_STR_EQ(f.cfg->cluster_tag, "fleet:web");
	done(&f);
}

TEST(cfg_boolean_values)
{
	/* One parser for every boolean (util_parse_bool): the usual spellings, any case. */
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "Yes", "TRUE", "On" };
	static const char *const no[] = { "no", "false", "off", "0", "NO", "False", "OFF" };
	struct fixture f;
	char text[64];

	f = parse_ok("");
	ASSERT_FALSE(f.cfg->sign_datagrams);
	done(&f);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "sign_datagrams = %s\n", yes[i]);
		f = parse_ok(text);
		ASSERT_TRUE(f.cfg->sign_datagrams);
		done(&f);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(text, sizeof(text), "sign_datagrams = %s\n", no[i]);
		f = parse_ok(text);
		ASSERT_FALSE(f.cfg->sign_datagrams);
		done(&f);
	}
	/* The flag goes through the same parser. */
	f = parse(BASE);
	ASSERT_TRUE(cfg_set(f.p, "--sign-datagrams", "sign_datagrams", "YES"));
	ASSERT_TRUE(cfg_finish(f.p));
	ASSERT_TRUE(f.cfg->sign_datagrams);
	done(&f);
	f = parse(BASE "sign_datagrams = maybe\n");
	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_STR_EQ(cfg_error(f.p, 0), "agent.conf:3: sign_datagrams: \"maybe\" is not yes or no "
					 "(nor true/false, on/off, 1/0)");
	done(&f);
}

/* A reload names exactly the keys whose values changed, of every type. */
TEST(cfg_diff_names_changed_keys)
{
	struct fixture a = parse_ok("seeds = 10.0.0.1, 10.0.0.2\nbind = 10.0.0.9:7000\n"
				    "log_level = info\nsign_datagrams = no\n");
	struct fixture b = parse_ok("seeds = 10.0.0.1, 10.0.0.3\nbind = 10.0.0.9:7001\n"
				    "log_level = debug\nsign_datagrams = yes\ntrace = wire\n"
				    "probe_interval = 2s\ntoken_file = /t\n");
	struct fixture c = parse_ok("seeds = 10.0.0.1,10.0.0.2\nbind = 10.0.0.9:7000\n");
	const char *names[3];

	ASSERT_EQ(cfg_diff(a.cfg, a.cfg, names, 3), 0);
	/* Spelling differences that parse to the same value are no change. */
	ASSERT_EQ(cfg_diff(a.cfg, c.cfg, names, 3), 0);
	ASSERT_EQ(cfg_diff(a.cfg, b.cfg, names, 3), 7);
	/* Table order, and only as many as there is room for. */
	ASSERT_STR_EQ(names[0], "token_file");
	ASSERT_STR_EQ(names[1], "bind");
	ASSERT_STR_EQ(names[2], "seeds");
	ASSERT_EQ(cfg_diff(b.cfg, a.cfg, NULL, 0), 7);
	done(&a);
	done(&b);
	done(&c);
}

/* ---- drop-ins (conf.d beside the main file) and origins ---- */

static void
write_text(const char *dir, const char *name, const char *text)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ASSERT_NOT_NULL(f);
	fputs(text, f);
	ASSERT_OK(fclose(f));
}

/* A main file holding BASE and a conf.d beside it; returns the main file's path. */
static const char *
dropin_tree(char *main, size_t size, char *dropins, size_t dsize)
{
	snprintf(main, size, "%s/mitosis.conf", harness_tmpdir());
	snprintf(dropins, dsize, "%s/conf.d", harness_tmpdir());
	write_text(harness_tmpdir(), "mitosis.conf", BASE "seeds = 10.0.0.1\nlog_level = info\n");
	ASSERT_OK(mkdir(dropins, 0755));
	return main;
}

TEST(cfg_dropins_in_name_order_later_wins)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);
	char main[512], dir[512];

	dropin_tree(main, sizeof(main), dir, sizeof(dir));
	write_text(dir, "50-user-data.conf", "seeds = 10.0.0.2, 10.0.0.3\nlog_level = warn\n");
	write_text(dir, "90-local.conf", "log_level = debug\n");
	/* Not drop-ins: hidden, another suffix, a dpkg leftover, an editor's backup. */
	write_text(dir, ".hidden.conf", "nonsense\n");
	write_text(dir, "notes.txt", "nonsense\n");
	write_text(dir, "50-user-data.conf.dpkg-old", "nonsense\n");
	write_text(dir, "90-local.conf~", "nonsense\n");
	ASSERT_TRUE(cfg_parse_file(p, main));
	ASSERT_TRUE(cfg_parse_dropins(p, main));
	ASSERT_TRUE(cfg_finish(p));
	ASSERT_EQ(cfg->nseeds, 2);
	ASSERT_STR_EQ(cfg->seeds[1], "10.0.0.3");
	ASSERT_EQ(cfg->log_level, LOG_LEVEL_DEBUG);
	cfg_parser_free(p);
	cfg_free(cfg);
}

TEST(cfg_dropin_errors_name_their_file)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);
	char main[512], dir[512], want[1200];

	dropin_tree(main, sizeof(main), dir, sizeof(dir));
	write_text(dir, "50-user-data.conf",
		   "seeds = 10.0.0.2\nseeds = 10.0.0.3\nprobe_interval = 2\n");
	ASSERT_OK(mkdir(strcat(strcpy(want, dir), "/60-dir.conf"), 0755));
	ASSERT_TRUE(cfg_parse_file(p, main));
	ASSERT_FALSE(cfg_parse_dropins(p, main));
	ASSERT_EQ(cfg_error_count(p), 3);
	snprintf(want, sizeof(want), "%s/50-user-data.conf:2: key 'seeds' already set at line 1",
		 dir);
	ASSERT_STR_EQ(cfg_error(p, 0), want);
	snprintf(want, sizeof(want),
		 "%s/50-user-data.conf:3: probe_interval: \"2\" is not a duration "
		 "(use e.g. 250ms, 2s, 1m)",
		 dir);
	ASSERT_STR_EQ(cfg_error(p, 1), want);
	snprintf(want, sizeof(want), "%s/60-dir.conf: cannot read: Is a directory", dir);
	ASSERT_STR_EQ(cfg_error(p, 2), want);
	cfg_parser_free(p);
	cfg_free(cfg);
}

TEST(cfg_dropins_absent_is_no_error)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);
	char main[512];

	snprintf(main, sizeof(main), "%s/mitosis.conf", harness_tmpdir());
	write_text(harness_tmpdir(), "mitosis.conf", BASE);
	ASSERT_TRUE(cfg_parse_file(p, main));
	ASSERT_TRUE(cfg_parse_dropins(p, main));
	ASSERT_TRUE(cfg_finish(p));
	cfg_parser_free(p);
	cfg_free(cfg);
}

/* Where each key came from: the last file line, a flag over it, or the default. */
TEST(cfg_origin_of_each_key)
{
	struct cfg *cfg = cfg_new();
	struct cfg_parser *p = cfg_parser_new(cfg);
	char main[512], dir[512], want[600];
	const char *src, *value;
	size_t n, seeds = 0, level = 0, probe = 0;
	const struct cfg_key_info *keys = cfg_keys(&n);
	unsigned line;

	for (size_t i = 0; i < n; i++) {
		seeds = strcmp(keys[i].name, "seeds") == 0 ? i : seeds;
		level = strcmp(keys[i].name, "log_level") == 0 ? i : level;
		probe = strcmp(keys[i].name, "probe_interval") == 0 ? i : probe;
	}
	dropin_tree(main, sizeof(main), dir, sizeof(dir));
	write_text(dir, "50-user-data.conf", "# seeds of this clone\nseeds = 10.0.0.2\n");
	ASSERT_TRUE(cfg_parse_file(p, main));
	ASSERT_TRUE(cfg_parse_dropins(p, main));
	ASSERT_TRUE(cfg_set(p, "--log-level", "log_level", "warn"));
	ASSERT_TRUE(cfg_finish(p));
	ASSERT_TRUE(cfg_origin(p, seeds, &src, &line, &value));
	snprintf(want, sizeof(want), "%s/50-user-data.conf", dir);
	ASSERT_STR_EQ(src, want);
	ASSERT_EQ(line, 2);
	ASSERT_STR_EQ(value, "10.0.0.2");
	ASSERT_TRUE(cfg_origin(p, level, &src, &line, &value));
	ASSERT_STR_EQ(src, "--log-level");
	ASSERT_EQ(line, 0);
	ASSERT_STR_EQ(value, "warn");
	ASSERT_FALSE(cfg_origin(p, probe, &src, &line, &value));
	ASSERT_FALSE(cfg_origin(p, n, &src, &line, &value));
	cfg_parser_free(p);
	cfg_free(cfg);
}

/* The policy's fixed-point keys: percentages, decimals and dollars in the
 * cores' units, with the unit's own refusals. */
TEST(cfg_policy_fixed_point)
{
	struct fixture f = parse_ok("target_cpu = 62.5%\ntarget_load1 = 1.25\n"
				    "max_hourly_cost = $0.05\npolicy_metrics = cpu, custom\n"
				    "target_custom = 100\n");
	struct policy_config pc;
	struct actuate_config ac;
	char err[256];

	ASSERT_EQ(f.cfg->target_cpu, 625);
	ASSERT_EQ(f.cfg->target_load1, 1250);
	ASSERT_EQ(f.cfg->max_hourly_cost, 50000);
	ASSERT_EQ(f.cfg->target_custom, 100000);
	ASSERT_EQ(cfg_policy(f.cfg, &pc, &ac, err, sizeof(err)), 0);
	ASSERT_EQ(pc.metrics,
		  POLICY_METRIC_BIT(POLICY_METRIC_CPU) | POLICY_METRIC_BIT(POLICY_METRIC_CUSTOM));
	ASSERT_EQ(pc.target[POLICY_METRIC_CUSTOM], 100000);
	ASSERT_EQ(pc.retire_delay_ms, 90000);
	done(&f);
	expect_error("target_cpu = 60.25\n",
		     "agent.conf:1: target_cpu: \"60.25\" is not a percentage (e.g. 60% or 62.5)");
	expect_error("target_cpu = 100%\n",
		     "agent.conf:1: target_cpu: 100% is out of range 1%..99.9%");
	expect_error("target_load1 = 0.8x\n", "agent.conf:1: target_load1: \"0.8x\" is not a "
					      "number with at most 3 decimals (e.g. 0.8)");
	expect_error("max_hourly_cost = 1.0000001\n",
		     "agent.conf:1: max_hourly_cost: \"1.0000001\" is not an amount of dollars "
		     "(e.g. 0.05)");
	expect_error("policy_metrics = cpu, disk\n", "agent.conf:1: policy_metrics: \"disk\" is "
						     "not a metric (cpu, load1, memory or custom)");
}

/* The cores' own checks run at cfg_finish, pointing at the last policy key. */
TEST(cfg_policy_checked_together)
{
	struct fixture f = parse(BASE "min_nodes = 5\nmax_nodes = 3\n");

	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_EQ(cfg_error_count(f.p), 1);
	ASSERT_STR_EQ(cfg_error(f.p, 0), "agent.conf:4: max_nodes (3) is below min_nodes (5)");
	done(&f);
	f = parse(BASE "policy_metrics = custom\n");
	ASSERT_FALSE(cfg_finish(f.p));
	ASSERT_STR_EQ(cfg_error(f.p, 0),
		      "agent.conf:3: target_custom must be set when policy_metrics has custom");
	done(&f);
}
