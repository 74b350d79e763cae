/*
 * Tests for common/meta.c: every canned body in tests/data/metadata/ (read
 * relative to the repository root, where the tests run), then inline bodies
 * for each rejection path, each with its exact message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "meta.h"

#define DATA_DIR "tests/data/metadata/"

static char *
load(const char *name, size_t *len)
{
	char path[256];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), DATA_DIR "%s", name);
	f = fopen(path, "rb");
	if (f == NULL)
		harness_fail(__FILE__, __LINE__, "cannot open %s (run from the repo root)", path);
	ASSERT_OK(fseek(f, 0, SEEK_END));
	n = ftell(f);
	ASSERT_GE(n, 0);
	ASSERT_OK(fseek(f, 0, SEEK_SET));
	buf = malloc((size_t)n + 1);
	ASSERT_NOT_NULL(buf);
	ASSERT_EQ(fread(buf, 1, (size_t)n, f), n);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Parses a canned file; returns the rc, with *id and err filled. */
static int
parse_file(const char *name, struct meta_identity **id, char *err, size_t errsize)
{
	size_t len;
	char *body = load(name, &len);
	int r = meta_parse(body, len, id, err, errsize);

	free(body);
	return r;
}

static struct meta_identity *
parse_file_ok(const char *name)
{
	struct meta_identity *id = NULL;
	char err[256] = "untouched";
	int r = parse_file(name, &id, err, sizeof(err));

	if (r != 0)
		harness_fail(__FILE__, __LINE__, "%s: rc %d, err \"%s\"", name, r, err);
	ASSERT_STR_EQ(err, "");
	ASSERT_NOT_NULL(id);
	return id;
}

static void
expect_file_error(const char *name, const char *msg)
{
	struct meta_identity *id = (struct meta_identity *)&id;
	char err[256] = "";

	ASSERT_EQ(parse_file(name, &id, err, sizeof(err)), -EINVAL);
	ASSERT_NULL(id);
	ASSERT_STR_EQ(err, msg);
}

static void
expect_error(const char *body, const char *msg)
{
	struct meta_identity *id = (struct meta_identity *)&id;
	char err[256] = "";
	int r = meta_parse(body, strlen(body), &id, err, sizeof(err));

	if (r != -EINVAL)
		harness_fail(__FILE__, __LINE__, "body %s: rc %d, err \"%s\"", body, r, err);
	ASSERT_NULL(id);
	ASSERT_STR_EQ(err, msg);
}

static struct meta_identity *
parse_ok(const char *body)
{
	struct meta_identity *id = NULL;
	char err[256] = "";
	int r = meta_parse(body, strlen(body), &id, err, sizeof(err));

	if (r != 0)
		harness_fail(__FILE__, __LINE__, "body %s: rc %d, err \"%s\"", body, r, err);
	ASSERT_NOT_NULL(id);
	return id;
}

/* A valid body with one field replaced: droplet_id, hostname, then the rest. */
#define BODY(id, host, rest)                                                                       \
	"{\"droplet_id\": " id ", \"hostname\": " host rest                                        \
	", \"interfaces\": {\"public\": [{\"ipv4\": {\"ip_address\": \"192.0.2.1\"}}]}}"

TEST(meta_full_reference_body)
{
	struct meta_identity *id = parse_file_ok("full.json");

	ASSERT_U64_EQ(id->droplet_id, 2756294);
	ASSERT_STR_EQ(id->hostname, "web-7");
	ASSERT_STR_EQ(id->region, "nyc3");
	ASSERT_STR_EQ(id->public_ipv4, "203.0.113.10");
	ASSERT_STR_EQ(id->private_ipv4, "10.124.0.2");
	ASSERT_EQ(id->ntags, 2);
	ASSERT_STR_EQ(id->tags[0], "autoscale");
	ASSERT_STR_EQ(id->tags[1], "svc:web");
	ASSERT_STR_EQ(id->user_data, "#cloud-config\nruncmd:\n  - systemctl start mitosis\n");
	ASSERT_EQ(meta_has_tag(id, "autoscale"), 1);
	ASSERT_EQ(meta_has_tag(id, "svc:web"), 1);
	ASSERT_EQ(meta_has_tag(id, "svc:db"), 0);
	ASSERT_EQ(meta_has_tag(id, "Autoscale"), 0);
	ASSERT_EQ(meta_has_tag(id, "autoscal"), 0);
	meta_identity_free(id);
}

TEST(meta_minimal_body)
{
	struct meta_identity *id = parse_file_ok("minimal.json");

	ASSERT_U64_EQ(id->droplet_id, 1);
	ASSERT_STR_EQ(id->hostname, "a");
	ASSERT_NULL(id->region);
	ASSERT_STR_EQ(id->public_ipv4, "");
	ASSERT_STR_EQ(id->private_ipv4, "10.0.0.1");
	ASSERT_NULL(id->tags);
	ASSERT_EQ(id->ntags, 0);
	ASSERT_NULL(id->user_data);
	ASSERT_EQ(meta_has_tag(id, "autoscale"), 0);
	meta_identity_free(id);
}

TEST(meta_tags_null)
{
	struct meta_identity *id = parse_file_ok("tags_null.json");

	ASSERT_U64_EQ(id->droplet_id, 3164444);
	ASSERT_STR_EQ(id->hostname, "db-1");
	ASSERT_STR_EQ(id->region, "ams3");
	ASSERT_STR_EQ(id->public_ipv4, "198.51.100.20");
	ASSERT_STR_EQ(id->private_ipv4, "10.110.0.4");
	ASSERT_NULL(id->tags);
	ASSERT_EQ(id->ntags, 0);
	ASSERT_NULL(id->user_data);
	meta_identity_free(id);
}

TEST(meta_tags_missing)
{
	struct meta_identity *id = parse_file_ok("tags_missing.json");

	ASSERT_U64_EQ(id->droplet_id, 3164445);
	ASSERT_STR_EQ(id->hostname, "db-2");
	ASSERT_STR_EQ(id->region, "ams3");
	ASSERT_STR_EQ(id->public_ipv4, "198.51.100.21");
	ASSERT_STR_EQ(id->private_ipv4, "10.110.0.5");
	ASSERT_NULL(id->tags);
	ASSERT_EQ(id->ntags, 0);
	meta_identity_free(id);
}

TEST(meta_no_private_interface)
{
	struct meta_identity *id = parse_file_ok("no_private.json");

	ASSERT_U64_EQ(id->droplet_id, 4000001);
	ASSERT_STR_EQ(id->hostname, "edge-1");
	ASSERT_STR_EQ(id->region, "fra1");
	ASSERT_STR_EQ(id->public_ipv4, "192.0.2.44");
	ASSERT_STR_EQ(id->private_ipv4, "");
	ASSERT_EQ(id->ntags, 1);
	ASSERT_STR_EQ(id->tags[0], "autoscale");
	meta_identity_free(id);
}

TEST(meta_private_only)
{
	struct meta_identity *id = parse_file_ok("private_only.json");

	ASSERT_U64_EQ(id->droplet_id, 4000002);
	ASSERT_STR_EQ(id->hostname, "worker-3");
	ASSERT_STR_EQ(id->region, "sfo3");
	ASSERT_STR_EQ(id->public_ipv4, "");
	ASSERT_STR_EQ(id->private_ipv4, "10.116.0.9");
	ASSERT_EQ(id->ntags, 2);
	ASSERT_STR_EQ(id->tags[0], "autoscale");
	ASSERT_STR_EQ(id->tags[1], "svc:worker");
	meta_identity_free(id);
}

TEST(meta_ipv6_and_anchor_take_first_public_ipv4)
{
	struct meta_identity *id = parse_file_ok("ipv6_anchor.json");

	ASSERT_U64_EQ(id->droplet_id, 4000003);
	ASSERT_STR_EQ(id->hostname, "web-v6");
	ASSERT_STR_EQ(id->region, "lon1");
	/* Not the anchor (10.16.0.7) and not the second element (.78). */
	ASSERT_STR_EQ(id->public_ipv4, "203.0.113.77");
	ASSERT_STR_EQ(id->private_ipv4, "10.106.0.3");
	ASSERT_EQ(id->ntags, 1);
	ASSERT_STR_EQ(id->tags[0], "svc:web");
	meta_identity_free(id);
}

TEST(meta_unknown_keys_ignored)
{
	struct meta_identity *id = parse_file_ok("unknown_keys.json");

	ASSERT_U64_EQ(id->droplet_id, 4000004);
	ASSERT_STR_EQ(id->hostname, "odd-1");
	ASSERT_STR_EQ(id->region, "blr1");
	ASSERT_STR_EQ(id->public_ipv4, "192.0.2.10");
	ASSERT_STR_EQ(id->private_ipv4, "10.10.0.10");
	ASSERT_EQ(id->ntags, 1);
	ASSERT_STR_EQ(id->tags[0], "autoscale");
	ASSERT_NULL(id->user_data);
	meta_identity_free(id);
}

TEST(meta_user_data_empty_is_kept_empty)
{
	struct meta_identity *id = parse_file_ok("user_data_empty.json");

	ASSERT_U64_EQ(id->droplet_id, 4000005);
	ASSERT_STR_EQ(id->hostname, "blank-ud");
	ASSERT_STR_EQ(id->region, "nyc1");
	ASSERT_STR_EQ(id->user_data, "");
	ASSERT_NULL(id->tags);
	ASSERT_EQ(id->ntags, 0);
	ASSERT_STR_EQ(id->public_ipv4, "192.0.2.55");
	ASSERT_STR_EQ(id->private_ipv4, "");
	meta_identity_free(id);
}

TEST(meta_user_data_cloud_config)
{
	struct meta_identity *id = parse_file_ok("user_data_cloud_config.json");

	ASSERT_U64_EQ(id->droplet_id, 4000006);
	ASSERT_STR_EQ(id->hostname, "web-cc");
	ASSERT_STR_EQ(id->region, "tor1");
	ASSERT_STR_EQ(id->user_data, "#cloud-config\n"
				     "write_files:\n"
				     "  - path: /etc/mitosis/mitosis.conf\n"
				     "    permissions: \"0600\"\n"
				     "    content: |\n"
				     "      cluster = web\n"
				     "      key_file = /etc/mitosis/cluster.key\n"
				     "runcmd:\n"
				     "  - [systemctl, enable, --now, mitosis]\n");
	ASSERT_EQ(id->ntags, 3);
	ASSERT_STR_EQ(id->tags[2], "mitosis:web");
	ASSERT_STR_EQ(id->public_ipv4, "203.0.113.200");
	ASSERT_STR_EQ(id->private_ipv4, "10.20.0.200");
	meta_identity_free(id);
}

TEST(meta_broken_files)
{
	expect_file_error("bad_array_body.json", "body: expected a JSON object, got an array");
	expect_file_error("bad_invalid_json.json", "body: not valid JSON near byte 35");
	expect_file_error("bad_droplet_id_string.json",
			  "droplet_id: expected a number, got a string");
	expect_file_error("bad_droplet_id_float.json", "droplet_id: not a positive integer");
	expect_file_error("bad_droplet_id_negative.json", "droplet_id: not a positive integer");
	expect_file_error("bad_hostname_missing.json", "hostname: missing");
	expect_file_error("bad_tag_number.json", "tags[2]: not a string");
	expect_file_error(
		"bad_ipv4.json",
		"interfaces.public[0].ipv4.ip_address: \"999.1.1.1\" is not an IPv4 address");
	expect_file_error("bad_no_ipv4.json", "interfaces: no IPv4 address (public or private)");
}

TEST(meta_body_not_an_object)
{
	expect_error("[]", "body: expected a JSON object, got an array");
	expect_error("\"x\"", "body: expected a JSON object, got a string");
	expect_error("42", "body: expected a JSON object, got a number");
	expect_error("null", "body: expected a JSON object, got null");
	expect_error("true", "body: expected a JSON object, got a boolean");
	expect_error("{}", "droplet_id: missing");
}

TEST(meta_invalid_json_offsets)
{
	expect_error("", "body: empty");
	expect_error("{", "body: not valid JSON near byte 0");
	expect_error("{\"droplet_id\": tru}", "body: not valid JSON near byte 15");
	expect_error("   x", "body: not valid JSON near byte 3");
	expect_error(BODY("1", "\"a\"", "") " trailing",
		     "body: unexpected data after the JSON value at byte 102");
	expect_error(BODY("1", "\"a\"", "") "}",
		     "body: unexpected data after the JSON value at byte 101");
}

TEST(meta_trailing_whitespace_accepted)
{
	struct meta_identity *id = parse_ok(" \r\n\t" BODY("5", "\"h\"", "") " \n\t\r ");

	ASSERT_U64_EQ(id->droplet_id, 5);
	meta_identity_free(id);
}

/* Every strict prefix of a valid body is an error and never a crash; the
 * offset in the message never points past the prefix. */
TEST(meta_truncated_bodies)
{
	size_t len, last;
	char *full = load("full.json", &len);

	last = (size_t)(strrchr(full, '}') - full);
	for (size_t n = 0; n <= last; n++) {
		struct meta_identity *id = (struct meta_identity *)&id;
		char err[128] = "";
		char *cut = malloc(n == 0 ? 1 : n);
		unsigned long at;

		ASSERT_NOT_NULL(cut);
		memcpy(cut, full, n);
		ASSERT_EQ(meta_parse(cut, n, &id, err, sizeof(err)), -EINVAL);
		ASSERT_NULL(id);
		if (n == 0) {
			ASSERT_STR_EQ(err, "body: empty");
		} else {
			ASSERT_EQ(sscanf(err, "body: not valid JSON near byte %lu", &at), 1);
			ASSERT_LE(at, n);
		}
		free(cut);
	}
	free(full);
}

TEST(meta_body_size_limit)
{
	size_t max = 1024 * 1024;
	const char *core = BODY("9", "\"big\"", "");
	char *buf = malloc(max + 1);
	struct meta_identity *id = NULL;
	char err[128] = "";

	ASSERT_NOT_NULL(buf);
	memset(buf, ' ', max + 1);
	memcpy(buf, core, strlen(core));
	ASSERT_OK(meta_parse(buf, max, &id, err, sizeof(err)));
	ASSERT_U64_EQ(id->droplet_id, 9);
	meta_identity_free(id);
	id = (struct meta_identity *)&id;
	ASSERT_EQ(meta_parse(buf, max + 1, &id, err, sizeof(err)), -EINVAL);
	ASSERT_NULL(id);
	ASSERT_STR_EQ(err, "body: larger than 1 MiB");
	free(buf);
}

TEST(meta_nul_bytes)
{
	static const char body[] = "{\"droplet_id\": 1,\0 \"hostname\": \"a\"}";
	static const char esc[] = BODY("1", "\"web\\u0000x\"", "");
	struct meta_identity *id = (struct meta_identity *)&id;
	char err[128] = "";

	ASSERT_EQ(meta_parse(body, sizeof(body) - 1, &id, err, sizeof(err)), -EINVAL);
	ASSERT_NULL(id);
	ASSERT_STR_EQ(err, "body: NUL byte at byte 17");
	/* A NUL just past `len` is not part of the body. */
	expect_error(esc, "body: \\u0000 in a string at byte 34");
	/* An escaped backslash followed by the text u0000 is fine. */
	id = parse_ok(BODY("1", "\"web\\\\u0000x\"", ""));
	ASSERT_STR_EQ(id->hostname, "web\\u0000x");
	meta_identity_free(id);
}

TEST(meta_body_need_not_be_terminated)
{
	const char *core = BODY("77", "\"t\"", "");
	size_t n = strlen(core);
	char *buf = malloc(n);
	struct meta_identity *id = NULL;
	char err[64];

	ASSERT_NOT_NULL(buf);
	memcpy(buf, core, n);
	ASSERT_OK(meta_parse(buf, n, &id, err, sizeof(err)));
	ASSERT_U64_EQ(id->droplet_id, 77);
	meta_identity_free(id);
	free(buf);
}

TEST(meta_droplet_id_values)
{
	struct meta_identity *id;

	expect_error(BODY("0", "\"a\"", ""), "droplet_id: not a positive integer");
	expect_error(BODY("-1", "\"a\"", ""), "droplet_id: not a positive integer");
	expect_error(BODY("0.5", "\"a\"", ""), "droplet_id: not a positive integer");
	expect_error(BODY("2.000001", "\"a\"", ""), "droplet_id: not a positive integer");
	expect_error(BODY("9007199254740992", "\"a\"", ""), "droplet_id: larger than 2^53 - 1");
	expect_error(BODY("9007199254740993", "\"a\"", ""), "droplet_id: larger than 2^53 - 1");
	expect_error(BODY("1e400", "\"a\"", ""), "droplet_id: larger than 2^53 - 1");
	expect_error(BODY("-1e400", "\"a\"", ""), "droplet_id: not a positive integer");
	expect_error(BODY("\"7\"", "\"a\"", ""), "droplet_id: expected a number, got a string");
	expect_error(BODY("true", "\"a\"", ""), "droplet_id: expected a number, got a boolean");
	expect_error(BODY("null", "\"a\"", ""), "droplet_id: expected a number, got null");
	expect_error(BODY("[1]", "\"a\"", ""), "droplet_id: expected a number, got an array");
	id = parse_ok(BODY("9007199254740991", "\"a\"", ""));
	ASSERT_U64_EQ(id->droplet_id, 9007199254740991ULL);
	meta_identity_free(id);
	id = parse_ok(BODY("3e2", "\"a\"", ""));
	ASSERT_U64_EQ(id->droplet_id, 300);
	meta_identity_free(id);
	id = parse_ok(BODY("2.0", "\"a\"", ""));
	ASSERT_U64_EQ(id->droplet_id, 2);
	meta_identity_free(id);
}

TEST(meta_hostname_values)
{
	char host[300], body[600];
	struct meta_identity *id;

	expect_error(BODY("1", "\"\"", ""), "hostname: empty");
	expect_error(BODY("1", "7", ""), "hostname: expected a string, got a number");
	expect_error(BODY("1", "{}", ""), "hostname: expected a string, got an object");
	expect_error(BODY("1", "null", ""), "hostname: missing");
	memset(host, 'h', 256);
	host[256] = '\0';
	snprintf(body, sizeof(body), BODY("1", "\"%s\"", ""), host);
	expect_error(body, "hostname: longer than 255 bytes");
	host[255] = '\0';
	snprintf(body, sizeof(body), BODY("1", "\"%s\"", ""), host);
	id = parse_ok(body);
	ASSERT_EQ(strlen(id->hostname), 255);
	meta_identity_free(id);
	/* Kept as sent; printing escapes it. */
	id = parse_ok(BODY("1", "\"a\\nb\\\"c\"", ""));
	ASSERT_STR_EQ(id->hostname, "a\nb\"c");
	meta_identity_free(id);
}

TEST(meta_optional_strings)
{
	struct meta_identity *id;

	expect_error(BODY("1", "\"a\"", ", \"user_data\": 5"),
		     "user_data: expected a string, got a number");
	expect_error(BODY("1", "\"a\"", ", \"user_data\": [\"x\"]"),
		     "user_data: expected a string, got an array");
	expect_error(BODY("1", "\"a\"", ", \"region\": {}"),
		     "region: expected a string, got an object");
	id = parse_ok(BODY("1", "\"a\"", ", \"user_data\": null, \"region\": null"));
	ASSERT_NULL(id->user_data);
	ASSERT_NULL(id->region);
	meta_identity_free(id);
}

TEST(meta_tags_values)
{
	struct meta_identity *id;

	expect_error(BODY("1", "\"a\"", ", \"tags\": [7]"), "tags[0]: not a string");
	expect_error(BODY("1", "\"a\"", ", \"tags\": [\"a\", null]"), "tags[1]: not a string");
	expect_error(BODY("1", "\"a\"", ", \"tags\": [\"a\", \"b\", [\"c\"]]"),
		     "tags[2]: not a string");
	expect_error(BODY("1", "\"a\"", ", \"tags\": \"autoscale\""),
		     "tags: expected an array, got a string");
	expect_error(BODY("1", "\"a\"", ", \"tags\": {}"),
		     "tags: expected an array, got an object");
	id = parse_ok(BODY("1", "\"a\"", ", \"tags\": []"));
	ASSERT_NULL(id->tags);
	ASSERT_EQ(id->ntags, 0);
	ASSERT_EQ(meta_has_tag(id, ""), 0);
	meta_identity_free(id);
}

#define IFACES(v) "{\"droplet_id\": 1, \"hostname\": \"a\", \"interfaces\": " v "}"

TEST(meta_interfaces_shapes)
{
	struct meta_identity *id;

	expect_error("{\"droplet_id\": 1, \"hostname\": \"a\"}",
		     "interfaces: no IPv4 address (public or private)");
	expect_error(IFACES("null"), "interfaces: no IPv4 address (public or private)");
	expect_error(IFACES("{}"), "interfaces: no IPv4 address (public or private)");
	expect_error(IFACES("[]"), "interfaces: expected an object, got an array");
	expect_error(IFACES("{\"public\": {}}"),
		     "interfaces.public: expected an array, got an object");
	expect_error(IFACES("{\"private\": \"10.0.0.1\"}"),
		     "interfaces.private: expected an array, got a string");
	expect_error(IFACES("{\"public\": [], \"private\": []}"),
		     "interfaces: no IPv4 address (public or private)");
	expect_error(IFACES("{\"public\": [\"1.2.3.4\"]}"),
		     "interfaces.public[0]: expected an object, got a string");
	expect_error(IFACES("{\"private\": [null, {\"ipv4\": {\"ip_address\": \"10.0.0.1\"}}]}"),
		     "interfaces.private[0]: expected an object, got null");
	expect_error(IFACES("{\"public\": [{\"ipv4\": \"1.2.3.4\"}]}"),
		     "interfaces.public[0].ipv4: expected an object, got a string");
	expect_error(IFACES("{\"public\": [{\"ipv4\": {\"ip_address\": 16909060}}]}"),
		     "interfaces.public[0].ipv4.ip_address: expected a string, got a number");
	expect_error(IFACES("{\"public\": [{\"ipv4\": {}}], \"private\": [{\"ipv4\": null}]}"),
		     "interfaces: no IPv4 address (public or private)");
	id = parse_ok(IFACES(
		"{\"public\": [], \"private\": [{\"ipv4\": {\"ip_address\": \"10.9.8.7\"}}]}"));
	ASSERT_STR_EQ(id->public_ipv4, "");
	ASSERT_STR_EQ(id->private_ipv4, "10.9.8.7");
	meta_identity_free(id);
	/* The key picks the type, not the element's "type" field. */
	id = parse_ok(IFACES("{\"private\": [{\"type\": \"public\", \"ipv4\": {\"ip_address\": "
			     "\"10.1.1.1\"}}]}"));
	ASSERT_STR_EQ(id->public_ipv4, "");
	ASSERT_STR_EQ(id->private_ipv4, "10.1.1.1");
	meta_identity_free(id);
}

static void
expect_bad_ipv4(const char *json_value, const char *shown)
{
	char body[512], msg[256];

	snprintf(body, sizeof(body), IFACES("{\"private\": [{\"ipv4\": {\"ip_address\": %s}}]}"),
		 json_value);
	snprintf(msg, sizeof(msg),
		 "interfaces.private[0].ipv4.ip_address: \"%s\" is not an IPv4 address", shown);
	expect_error(body, msg);
}

TEST(meta_ipv4_syntax)
{
	static const char *const good[] = { "0.0.0.0", "255.255.255.255", "10.0.0.1",
					    "1.22.133.9" };
	struct meta_identity *id;
	char body[256];

	expect_bad_ipv4("\"999.1.1.1\"", "999.1.1.1");
	expect_bad_ipv4("\"256.0.0.1\"", "256.0.0.1");
	expect_bad_ipv4("\"1.2.3\"", "1.2.3");
	expect_bad_ipv4("\"1.2.3.4.5\"", "1.2.3.4.5");
	expect_bad_ipv4("\"01.2.3.4\"", "01.2.3.4");
	expect_bad_ipv4("\"1.2.3.00\"", "1.2.3.00");
	expect_bad_ipv4("\"1..2.3\"", "1..2.3");
	expect_bad_ipv4("\" 1.2.3.4\"", " 1.2.3.4");
	expect_bad_ipv4("\"1.2.3.4 \"", "1.2.3.4 ");
	expect_bad_ipv4("\"1.2.3.-4\"", "1.2.3.-4");
	expect_bad_ipv4("\"1.2.3.0004\"", "1.2.3.0004");
	expect_bad_ipv4("\"\"", "");
	expect_bad_ipv4("\"2604:a880::10\"", "2604:a880::10");
	expect_bad_ipv4("\"0x7f.0.0.1\"", "0x7f.0.0.1");
	/* The quoted value is escaped and cut. */
	expect_bad_ipv4("\"1.2.3.4\\n\\\"\"", "1.2.3.4\\x0a\\\"");
	expect_bad_ipv4("\"123456789012345678901234567890123456789012345678901234567890\"",
			"12345678901234567890123456789012345678901234...");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(body, sizeof(body),
			 IFACES("{\"private\": [{\"ipv4\": {\"ip_address\": \"%s\"}}]}"), good[i]);
		id = parse_ok(body);
		ASSERT_STR_EQ(id->private_ipv4, good[i]);
		meta_identity_free(id);
	}
}

TEST(meta_first_error_wins)
{
	/* droplet_id is checked before hostname, hostname before tags... */
	expect_error("{\"droplet_id\": 0, \"hostname\": 1, \"tags\": [1]}",
		     "droplet_id: not a positive integer");
	expect_error("{\"droplet_id\": 1, \"hostname\": 1, \"tags\": [1]}",
		     "hostname: expected a string, got a number");
	expect_error("{\"droplet_id\": 1, \"hostname\": \"a\", \"tags\": [1], \"interfaces\": 3}",
		     "tags[0]: not a string");
}

TEST(meta_duplicate_keys_take_first)
{
	struct meta_identity *id = parse_ok(BODY("1", "\"first\"", ", \"hostname\": \"second\""));

	ASSERT_STR_EQ(id->hostname, "first");
	meta_identity_free(id);
}

TEST(meta_error_buffer_handling)
{
	const char *body = "[]";
	struct meta_identity *id = (struct meta_identity *)&id;
	char err[8];

	memset(err, 'x', sizeof(err));
	ASSERT_EQ(meta_parse(body, 2, &id, err, sizeof(err)), -EINVAL);
	ASSERT_NULL(id);
	ASSERT_STR_EQ(err, "body: e");
	ASSERT_EQ(meta_parse(body, 2, &id, NULL, 0), -EINVAL);
	memset(err, 'x', sizeof(err));
	ASSERT_EQ(meta_parse(body, 2, &id, err, 0), -EINVAL);
	ASSERT_EQ(err[0], 'x');
}

TEST(meta_identity_new_and_free)
{
	struct meta_identity *id = meta_identity_new();

	ASSERT_NOT_NULL(id);
	ASSERT_U64_EQ(id->droplet_id, 0);
	ASSERT_NULL(id->hostname);
	ASSERT_NULL(id->region);
	ASSERT_STR_EQ(id->public_ipv4, "");
	ASSERT_STR_EQ(id->private_ipv4, "");
	ASSERT_NULL(id->tags);
	ASSERT_EQ(id->ntags, 0);
	ASSERT_NULL(id->user_data);
	ASSERT_EQ(meta_has_tag(id, "x"), 0);
	/* Filled by hand, as the static identity does. */
	id->hostname = strdup("static-1");
	id->tags = calloc(2, sizeof(char *));
	ASSERT_NOT_NULL(id->tags);
	id->tags[0] = strdup("a");
	id->tags[1] = strdup("b");
	id->ntags = 2;
	id->user_data = strdup("secret-ish");
	ASSERT_EQ(meta_has_tag(id, "b"), 1);
	ASSERT_EQ(meta_has_tag(id, NULL), 0);
	ASSERT_EQ(meta_has_tag(NULL, "b"), 0);
	meta_identity_free(id);
	meta_identity_free(NULL);
}
