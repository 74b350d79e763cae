/*
 * Tests for common/doapi.c: the canned bodies in tests/data/doapi/ (shapes
 * from the DigitalOcean reference), each rejection with its message, the
 * rate-limit headers, the create body, names and user-data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "doapi.h"
#include "harness.h"

#define DATA_DIR "tests/data/doapi/"

/* Parses a canned file; the caller deletes the tree. */
static cJSON *
doapi_load(const char *name)
{
	char path[256], buf[8192];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), DATA_DIR "%s", name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return cJSON_ParseWithLength(buf, n);
}

/* Parses the droplet under "droplet" of a canned file into d. */
static bool
doapi_load_droplet(const char *name, struct doapi_droplet *d, char *err, size_t errsize)
{
	cJSON *root = doapi_load(name);
	bool ok = doapi_droplet_parse(cJSON_GetObjectItemCaseSensitive(root, "droplet"), d, err,
				      errsize);

	cJSON_Delete(root);
	return ok;
}

TEST(doapi_droplet_full)
{
	struct doapi_droplet d;
	char err[256] = "";

	ASSERT_TRUE(doapi_load_droplet("droplet.json", &d, err, sizeof(err)));
	ASSERT_U64_EQ(d.id, 3164444);
	ASSERT_STR_EQ(d.name, "web-1");
	ASSERT_STR_EQ(d.status, "active");
	/* first match by type, whatever the order */
	ASSERT_STR_EQ(d.private_ipv4, "10.124.0.2");
	ASSERT_STR_EQ(d.public_ipv4, "203.0.113.10");
	ASSERT_STR_EQ(d.region, "nyc3");
	ASSERT_STR_EQ(d.size_slug, "s-2vcpu-4gb");
	ASSERT_U64_EQ(d.image_id, 162345678);
	ASSERT_STR_EQ(d.created_at, "2024-05-01T10:00:00Z");
	ASSERT_EQ(d.ntags, 2);
	ASSERT_STR_EQ(d.tags[1], "svc:web");
	ASSERT_TRUE(doapi_droplet_has_tag(&d, "autoscale"));
	ASSERT_FALSE(doapi_droplet_has_tag(&d, "svc"));
}

TEST(doapi_droplet_new_without_networks)
{
	struct doapi_droplet d;
	char err[256] = "";

	ASSERT_TRUE(doapi_load_droplet("droplet_new.json", &d, err, sizeof(err)));
	ASSERT_STR_EQ(d.status, "new");
	ASSERT_STR_EQ(d.public_ipv4, "");
	ASSERT_STR_EQ(d.private_ipv4, "");
	ASSERT_EQ(d.ntags, 0);
	ASSERT_U64_EQ(d.image_id, 5);
}

TEST(doapi_droplet_rejections)
{
	struct doapi_droplet d;
	char err[256];

	ASSERT_FALSE(doapi_load_droplet("bad_droplet_id_string.json", &d, err, sizeof(err)));
	ASSERT_STR_EQ(err, "droplet.id: missing or not an id");
	ASSERT_FALSE(doapi_load_droplet("bad_network_type.json", &d, err, sizeof(err)));
	ASSERT_STR_EQ(err, "droplet.networks.v4[0].type: not a string");
	ASSERT_FALSE(doapi_load_droplet("bad_ipv4.json", &d, err, sizeof(err)));
	ASSERT_STR_EQ(err, "droplet.networks.v4[0].ip_address: not an IPv4 address");
	ASSERT_FALSE(doapi_droplet_parse(NULL, &d, err, sizeof(err)));
	ASSERT_STR_EQ(err, "droplet: not an object");
}

TEST(doapi_droplet_field_types)
{
	static const struct {
		const char *body, *err;
	} cases[] = {
		{ "{\"id\":1.5,\"name\":\"a\",\"status\":\"new\"}",
		  "droplet.id: missing or not an id" },
		{ "{\"id\":0,\"name\":\"a\",\"status\":\"new\"}",
		  "droplet.id: missing or not an id" },
		{ "{\"id\":1,\"status\":\"new\"}", "droplet.name: missing" },
		{ "{\"id\":1,\"name\":\"a\",\"status\":5}", "droplet.status: not a string" },
		{ "{\"id\":1,\"name\":\"a\",\"status\":\"a-very-long-status-value\"}",
		  "droplet.status: too long" },
		{ "{\"id\":1,\"name\":\"a\",\"status\":\"new\",\"tags\":[1]}",
		  "droplet.tags: an item is not a string" },
		{ "{\"id\":1,\"name\":\"a\",\"status\":\"new\",\"networks\":{\"v4\":{}}}",
		  "droplet.networks.v4: not an array" },
		{ "{\"id\":1,\"name\":\"a\",\"status\":\"new\",\"region\":\"nyc3\"}",
		  "droplet.region: not an object" },
		{ "{\"id\":1,\"name\":\"a\",\"status\":\"new\",\"image\":{\"id\":\"5\"}}",
		  "droplet.image.id: not an id" },
		{ "{\"id\":1,\"name\":\"a\",\"status\":\"new\",\"locked\":\"yes\"}",
		  "droplet.locked: not a boolean" },
	};
	struct doapi_droplet d;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *o = cJSON_Parse(cases[i].body);

		ASSERT_FALSE(doapi_droplet_parse(o, &d, err, sizeof(err)));
		ASSERT_STR_EQ(err, cases[i].err);
		cJSON_Delete(o);
	}
}

TEST(doapi_page_next_and_last)
{
	struct doapi_page pg;
	char err[256] = "";
	cJSON *p1 = doapi_load("list_page1.json"), *p2 = doapi_load("list_last.json");
	cJSON *p3 = doapi_load("list_nolinks.json");

	ASSERT_TRUE(doapi_page_parse(p1, "droplets", &pg, err, sizeof(err)));
	ASSERT_TRUE(pg.has_next);
	ASSERT_STR_EQ(pg.next,
		      "https://api.digitalocean.com/v2/droplets?page=2&per_page=2&tag_name=x");
	ASSERT_EQ(pg.total, 3);
	ASSERT_EQ(cJSON_GetArraySize(pg.items), 2);
	ASSERT_TRUE(doapi_page_parse(p2, "droplets", &pg, err, sizeof(err)));
	ASSERT_FALSE(pg.has_next);
	ASSERT_NULL(pg.next);
	ASSERT_TRUE(doapi_page_parse(p3, "droplets", &pg, err, sizeof(err)));
	ASSERT_FALSE(pg.has_next);
	ASSERT_EQ(pg.total, 0);
	ASSERT_FALSE(doapi_page_parse(p3, "snapshots", &pg, err, sizeof(err)));
	ASSERT_STR_EQ(err, "snapshots: missing or not an array");
	cJSON_Delete(p1);
	cJSON_Delete(p2);
	cJSON_Delete(p3);
}

TEST(doapi_page_rejections)
{
	static const struct {
		const char *body, *err;
	} cases[] = {
		{ "[]", "page: body is not an object" },
		{ "{\"droplets\":[],\"links\":[]}", "links: not an object" },
		{ "{\"droplets\":[],\"links\":{\"pages\":1}}", "links.pages: not an object" },
		{ "{\"droplets\":[],\"links\":{\"pages\":{\"next\":3}}}",
		  "links.pages.next: not a URL" },
		{ "{\"droplets\":[],\"meta\":{\"total\":-1}}", "meta.total: not a count" },
	};
	struct doapi_page pg;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *o = cJSON_Parse(cases[i].body);

		ASSERT_FALSE(doapi_page_parse(o, "droplets", &pg, err, sizeof(err)));
		ASSERT_STR_EQ(err, cases[i].err);
		cJSON_Delete(o);
	}
}

TEST(doapi_action)
{
	struct doapi_action a;
	char err[256] = "";
	cJSON *ok = doapi_load("action.json"), *bad = doapi_load("bad_action_status.json");

	ASSERT_TRUE(doapi_action_parse(cJSON_GetObjectItemCaseSensitive(ok, "action"), &a, err,
				       sizeof(err)));
	ASSERT_U64_EQ(a.id, 36804636);
	ASSERT_STR_EQ(a.status, "in-progress");
	ASSERT_STR_EQ(a.type, "snapshot");
	ASSERT_FALSE(doapi_action_parse(cJSON_GetObjectItemCaseSensitive(bad, "action"), &a, err,
					sizeof(err)));
	ASSERT_STR_EQ(err, "action.status: unknown value");
	ASSERT_FALSE(doapi_action_parse(ok, &a, err, sizeof(err)));
	ASSERT_STR_EQ(err, "action.id: missing or not an id");
	cJSON_Delete(ok);
	cJSON_Delete(bad);
}

TEST(doapi_error_lines)
{
	char out[256];
	const char *ctl = "{\"id\":\"x\",\"message\":\"a\\nb\"}";
	cJSON *e404 = doapi_load("error_404.json"), *etag = doapi_load("error_tags.json");
	char *s404 = cJSON_PrintUnformatted(e404), *stag = cJSON_PrintUnformatted(etag);

	doapi_error_line(404, s404, strlen(s404), out, sizeof(out));
	ASSERT_STR_EQ(out, "404 not_found: The resource you were accessing could not be found.");
	doapi_error_line(400, stag, strlen(stag), out, sizeof(out));
	ASSERT_STR_EQ(out, "400: tag name is invalid");
	doapi_error_line(502, "<html>bad gateway</html>", 24, out, sizeof(out));
	ASSERT_STR_EQ(out, "HTTP 502");
	doapi_error_line(500, NULL, 0, out, sizeof(out));
	ASSERT_STR_EQ(out, "HTTP 500");
	doapi_error_line(422, ctl, strlen(ctl), out, sizeof(out));
	ASSERT_STR_EQ(out, "422 x: a?b");
	doapi_error_line(404, s404, strlen(s404), out, 12);
	ASSERT_STR_EQ(out, "404 not_fou");
	free(s404);
	free(stag);
	cJSON_Delete(e404);
	cJSON_Delete(etag);
}

TEST(doapi_ratelimit_headers)
{
	struct doapi_ratelimit rl;

	memset(&rl, 0, sizeof(rl));
	ASSERT_TRUE(doapi_ratelimit_header(&rl, "RateLimit-Remaining", "0"));
	ASSERT_TRUE(doapi_ratelimit_header(&rl, "rateLimit-reset", " 1700000000\r"));
	ASSERT_TRUE(doapi_ratelimit_header(&rl, "Retry-After", "3"));
	ASSERT_TRUE(doapi_ratelimit_header(&rl, "ratelimit-limit", "5000"));
	ASSERT_FALSE(doapi_ratelimit_header(&rl, "x-request-id", "5"));
	ASSERT_FALSE(doapi_ratelimit_header(&rl, "retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"));
	ASSERT_FALSE(doapi_ratelimit_header(&rl, "ratelimit-remaining", "-1"));
	ASSERT_TRUE(rl.has_remaining && rl.has_reset && rl.has_retry_after && rl.has_limit);
	ASSERT_EQ(rl.remaining, 0);
	ASSERT_EQ(rl.reset, 1700000000);
	ASSERT_EQ(rl.retry_after, 3);
	ASSERT_EQ(rl.limit, 5000);
}

TEST(doapi_create_body_shape)
{
	const char *names[] = { "c-1700000000-00af", "c-1700000000-beef" };
	const char *keys[] = { "41234567", "3b:16:bf:e4:8b:00" };
	const char *tags[] = { "mitosis-c", "mitosis-op-0123456789ab" };
	struct doapi_create c = { .names = names,
				  .nnames = 2,
				  .image = 162345678,
				  .size = "s-1vcpu-1gb",
				  .region = "nyc3",
				  .vpc_uuid = "760e",
				  .ssh_keys = keys,
				  .nssh_keys = 2,
				  .tags = tags,
				  .ntags = 2,
				  .user_data = "#cloud-config\n" };
	char *body = NULL, err[256] = "";

	ASSERT_OK(doapi_create_body(&c, &body, err, sizeof(err)));
	ASSERT_STR_EQ(body, "{\"names\":[\"c-1700000000-00af\",\"c-1700000000-beef\"],"
			    "\"image\":162345678,\"size\":\"s-1vcpu-1gb\",\"region\":\"nyc3\","
			    "\"vpc_uuid\":\"760e\",\"ssh_keys\":[41234567,\"3b:16:bf:e4:8b:00\"],"
			    "\"tags\":[\"mitosis-c\",\"mitosis-op-0123456789ab\"],"
			    "\"user_data\":\"#cloud-config\\n\",\"monitoring\":true}");
	free(body);
	c.nnames = 1;
	c.region = NULL;
	c.vpc_uuid = NULL;
	c.nssh_keys = 0;
	c.user_data = NULL;
	ASSERT_OK(doapi_create_body(&c, &body, err, sizeof(err)));
	ASSERT_STR_EQ(body, "{\"name\":\"c-1700000000-00af\",\"image\":162345678,"
			    "\"size\":\"s-1vcpu-1gb\",\"tags\":[\"mitosis-c\","
			    "\"mitosis-op-0123456789ab\"],\"monitoring\":true}");
	free(body);
}

TEST(doapi_create_body_rejections)
{
	const char *names[] = { "bad_name" }, *ok[] = { "ok-1" };
	struct doapi_create c = { .names = names, .nnames = 1, .image = 5, .size = "s" };
	char *body = NULL, err[256];

	ASSERT_EQ(doapi_create_body(&c, &body, err, sizeof(err)), -EINVAL);
	ASSERT_STR_EQ(err, "names: a name does not match DigitalOcean's pattern");
	ASSERT_NULL(body);
	c.names = ok;
	c.nnames = 11;
	ASSERT_EQ(doapi_create_body(&c, &body, err, sizeof(err)), -EINVAL);
	ASSERT_STR_EQ(err, "names: 1 to 10 names");
	c.nnames = 1;
	c.image = 0;
	ASSERT_EQ(doapi_create_body(&c, &body, err, sizeof(err)), -EINVAL);
	ASSERT_STR_EQ(err, "image: no snapshot id");
	c.image = 5;
	c.size = NULL;
	ASSERT_EQ(doapi_create_body(&c, &body, err, sizeof(err)), -EINVAL);
	ASSERT_STR_EQ(err, "size: missing");
}

TEST(doapi_names_and_tags)
{
	char name[300], tag[DOAPI_OP_TAG_LEN];
	const uint8_t rnd[6] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab };

	ASSERT_OK(doapi_clone_name("web", 1700000000, 0x0a1f, name, sizeof(name)));
	ASSERT_STR_EQ(name, "web-1700000000-0a1f");
	ASSERT_TRUE(doapi_name_valid(name));
	ASSERT_EQ(doapi_clone_name("my_cluster", 1, 2, name, sizeof(name)), -EINVAL);
	ASSERT_EQ(doapi_clone_name("web", 1, 2, name, 8), -EINVAL);
	ASSERT_EQ(doapi_clone_name("", 1, 2, name, sizeof(name)), -EINVAL);
	ASSERT_FALSE(doapi_name_valid("web-"));
	ASSERT_FALSE(doapi_name_valid(""));
	ASSERT_TRUE(doapi_name_valid("a"));
	ASSERT_TRUE(doapi_name_valid("web.example.com"));
	doapi_op_tag(rnd, tag);
	ASSERT_STR_EQ(tag, "mitosis-op-0123456789ab");
}

TEST(doapi_user_data)
{
	const char *seeds[] = { "10.124.0.2", "10.124.0.3" }, *bad[] = { "10.0.0.1\nruncmd" };
	char *ud = NULL;

	ASSERT_OK(doapi_clone_user_data("web", seeds, 2, &ud));
	ASSERT_STR_EQ(ud, "#cloud-config\n# mitosis cluster: web\nwrite_files:\n"
			  "  - path: /etc/mitosis/conf.d/50-user-data.conf\n"
			  "    permissions: '0644'\n    content: |\n"
			  "      # written by cloud-init from the clone's user-data\n"
			  "      seeds = 10.124.0.2, 10.124.0.3\n"
			  "runcmd:\n  - [systemctl, restart, mitosis]\n");
	free(ud);
	/* No seeds: the drop-in is still written, so a parent's seeds do not linger. */
	ASSERT_OK(doapi_clone_user_data("web", NULL, 0, &ud));
	ASSERT_STR_EQ(ud, "#cloud-config\n# mitosis cluster: web\nwrite_files:\n"
			  "  - path: /etc/mitosis/conf.d/50-user-data.conf\n"
			  "    permissions: '0644'\n    content: |\n"
			  "      # written by cloud-init from the clone's user-data\n"
			  "runcmd:\n  - [systemctl, restart, mitosis]\n");
	free(ud);
	ASSERT_EQ(doapi_clone_user_data("web", bad, 1, &ud), -EINVAL);
	ASSERT_NULL(ud);
	ASSERT_EQ(doapi_clone_user_data("we b", NULL, 0, &ud), -EINVAL);
}

TEST(doapi_next_paths)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "https://api.digitalocean.com/v2/droplets?page=2&per_page=200&tag_name=x",
		  "/v2/droplets?page=2&per_page=200&tag_name=x" },
		{ "https://evil.example/v2/droplets?page=2", "/v2/droplets?page=2&per_page=200" },
		{ "http://127.0.0.1:8080/v2/images", "/v2/images?per_page=200" },
		{ "/v2/droplets?page=3", "/v2/droplets?page=3&per_page=200" },
		{ "https://host-without-path", NULL },
		{ "v2/droplets", NULL },
		{ "//evil.example/v2", NULL },
		{ "/v2/droplets?page=2\r\nX-Evil: 1", NULL },
		{ "", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = doapi_next_path(cases[i].in);

		if (cases[i].out == NULL) {
			ASSERT_NULL(p);
		} else {
			ASSERT_NOT_NULL(p);
			ASSERT_STR_EQ(p, cases[i].out);
		}
		free(p);
	}
	ASSERT_NULL(doapi_next_path(NULL));
}

TEST(doapi_droplet_arrays)
{
	cJSON *root = doapi_load("create_many.json"), *one = doapi_load("droplet_new.json");
	cJSON *bad = cJSON_Parse("{\"droplets\":[{\"id\":1,\"name\":\"a\",\"status\":\"new\"},"
				 "{\"id\":\"2\",\"name\":\"b\",\"status\":\"new\"}]}");
	cJSON *empty = cJSON_Parse("{\"droplets\":[]}");
	struct doapi_droplet *d = NULL;
	char err[128];
	size_t n = 99;

	ASSERT_NOT_NULL(root);
	ASSERT_OK(doapi_droplets_parse(cJSON_GetObjectItemCaseSensitive(root, "droplets"), &d, &n,
				       err, sizeof(err)));
	ASSERT_EQ(n, 2);
	ASSERT_U64_EQ(d[1].id, 3164495);
	ASSERT_STR_EQ(d[1].name, "web-1700000000-c2d3");
	free(d);
	/* A create's answer: several droplets, or one under "droplet". */
	ASSERT_OK(doapi_create_reply(root, &d, &n, err, sizeof(err)));
	ASSERT_EQ(n, 2);
	ASSERT_STR_EQ(d[0].name, "web-1700000000-0a1b");
	free(d);
	ASSERT_OK(doapi_create_reply(one, &d, &n, err, sizeof(err)));
	ASSERT_EQ(n, 1);
	ASSERT_U64_EQ(d[0].id, 3164450);
	free(d);
	/* The bad item is named by its index. */
	ASSERT_EQ(doapi_droplets_parse(cJSON_GetObjectItemCaseSensitive(bad, "droplets"), &d, &n,
				       err, sizeof(err)),
		  -EBADMSG);
	ASSERT_STR_EQ(err, "droplets[1]: droplet.id: missing or not an id");
	ASSERT_NULL(d);
	ASSERT_EQ(n, 0);
	ASSERT_EQ(doapi_create_reply(bad, &d, &n, err, sizeof(err)), -EBADMSG);
	ASSERT_EQ(doapi_create_reply(empty, &d, &n, err, sizeof(err)), -EBADMSG);
	ASSERT_STR_EQ(err, "droplets: empty");
	ASSERT_EQ(doapi_droplets_parse(empty, &d, &n, err, sizeof(err)), -EBADMSG);
	ASSERT_STR_EQ(err, "droplets: not an array");
	ASSERT_EQ(doapi_create_reply(NULL, &d, &n, err, sizeof(err)), -EBADMSG);
	cJSON_Delete(root);
	cJSON_Delete(one);
	cJSON_Delete(bad);
	cJSON_Delete(empty);
}

TEST(doapi_snapshot_ids)
{
	cJSON *root = doapi_load("snapshots.json");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "snapshots");

	ASSERT_NOT_NULL(items);
	/* The newest of two with the name; the one with a string id is not counted. */
	ASSERT_U64_EQ(doapi_snapshot_id(items, "web-1700000000"), 6372400);
	ASSERT_U64_EQ(doapi_snapshot_id(items, "other"), 6372500);
	ASSERT_U64_EQ(doapi_snapshot_id(items, "none"), 0);
	ASSERT_U64_EQ(doapi_snapshot_id(NULL, "web-1700000000"), 0);
	cJSON_Delete(root);
}

TEST(doapi_action_bodies)
{
	char *s = NULL;

	ASSERT_OK(doapi_action_body(DOAPI_ACTION_RESIZE, "s-2vcpu-2gb", &s));
	ASSERT_STR_EQ(s, "{\"type\":\"resize\",\"size\":\"s-2vcpu-2gb\",\"disk\":false}");
	free(s);
	ASSERT_OK(doapi_action_body(DOAPI_ACTION_POWER_OFF, NULL, &s));
	ASSERT_STR_EQ(s, "{\"type\":\"power_off\"}");
	free(s);
	/* A name is escaped, never pasted. */
	ASSERT_OK(doapi_action_body(DOAPI_ACTION_SNAPSHOT, "a\"b", &s));
	ASSERT_STR_EQ(s, "{\"type\":\"snapshot\",\"name\":\"a\\\"b\"}");
	free(s);
	ASSERT_EQ(doapi_action_body(DOAPI_ACTION_RESIZE, "", &s), -EINVAL);
	ASSERT_EQ(doapi_action_body(DOAPI_ACTION_SNAPSHOT, NULL, &s), -EINVAL);
	ASSERT_NULL(s);
	ASSERT_STR_EQ(doapi_action_name(DOAPI_ACTION_POWER_ON), "power_on");
	ASSERT_STR_EQ(doapi_action_name((enum doapi_action_type)42), "?");
}

TEST(doapi_droplet_locked)
{
	cJSON *o = cJSON_Parse("{\"id\":1,\"name\":\"a\",\"status\":\"off\",\"locked\":true}");
	struct doapi_droplet d;
	char err[256] = "";

	ASSERT_TRUE(doapi_droplet_parse(o, &d, err, sizeof(err)));
	ASSERT_TRUE(d.locked);
	cJSON_Delete(o);
	ASSERT_TRUE(doapi_load_droplet("droplet.json", &d, err, sizeof(err)));
	ASSERT_FALSE(d.locked); /* "locked": false */
	ASSERT_TRUE(doapi_load_droplet("droplet_new.json", &d, err, sizeof(err)));
	ASSERT_FALSE(d.locked); /* absent */
}

/* DO's own wording of each 422 an action can meet, and what it means. */
TEST(doapi_refusals)
{
	static const struct {
		const char *body;
		enum doapi_refusal kind;
	} cases[] = {
		{ "{\"id\":\"unprocessable_entity\",\"message\":\"Droplet already has a pending "
		  "event.\"}",
		  DOAPI_REFUSAL_PENDING },
		{ "{\"id\":\"unprocessable_entity\",\"message\":\"Droplet is already powered "
		  "off.\"}",
		  DOAPI_REFUSAL_ALREADY_OFF },
		{ "{\"id\":\"unprocessable_entity\",\"message\":\"Droplet is already powered "
		  "on.\"}",
		  DOAPI_REFUSAL_ALREADY_ON },
		{ "{\"id\":\"unprocessable_entity\",\"message\":\"Droplet is currently on. Please "
		  "power it off to run this event.\"}",
		  DOAPI_REFUSAL_STATE },
		{ "{\"id\":\"unprocessable_entity\",\"message\":\"You specified an invalid size "
		  "for the resize.\"}",
		  DOAPI_REFUSAL_PERMANENT },
		{ "{\"id\":\"unprocessable_entity\",\"message\":\"Size can not be smaller than "
		  "the Droplet's original size.\"}",
		  DOAPI_REFUSAL_PERMANENT },
		{ "{\"id\":\"unprocessable_entity\",\"message\":\"DROPLET ALREADY HAS A PENDING "
		  "EVENT\"}",
		  DOAPI_REFUSAL_PENDING },
		{ "{\"id\":\"unprocessable_entity\"}", DOAPI_REFUSAL_PERMANENT },
		{ "{\"message\":5}", DOAPI_REFUSAL_PERMANENT },
		{ "[]", DOAPI_REFUSAL_PERMANENT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *o = cJSON_Parse(cases[i].body);

		ASSERT_EQ(doapi_refusal_kind(o), cases[i].kind);
		cJSON_Delete(o);
	}
	ASSERT_EQ(doapi_refusal_kind(NULL), DOAPI_REFUSAL_PERMANENT);
}

TEST(doapi_health_checks)
{
	static const struct {
		const char *lb, *err;
	} bad[] = {
		{ "{\"health_check\":[]}", "health_check: not an object" },
		{ "{\"health_check\":{\"protocol\":\"udp\"}}",
		  "health_check.protocol: not http, https or tcp" },
		{ "{\"health_check\":{\"port\":0}}",
		  "health_check.port: not a whole number in range" },
		{ "{\"health_check\":{\"port\":70000}}",
		  "health_check.port: not a whole number in range" },
		{ "{\"health_check\":{\"healthy_threshold\":2.5}}",
		  "health_check.healthy_threshold: not a whole number in range" },
		{ "{\"health_check\":{\"path\":\"x y\"}}",
		  "health_check.path: not an absolute path" },
		{ "{\"health_check\":{\"path\":\"/a\\r\\nHost: x\"}}",
		  "health_check.path: not an absolute path" },
	};
	struct doapi_health_check hc;
	char err[256] = "";
	cJSON *o;

	/* Absent: DigitalOcean's defaults. */
	ASSERT_TRUE(doapi_health_check_parse(NULL, &hc, err, sizeof(err)));
	ASSERT_STR_EQ(hc.protocol, "http");
	ASSERT_EQ(hc.port, 80);
	ASSERT_STR_EQ(hc.path, "/");
	ASSERT_EQ(hc.interval_s, 10);
	ASSERT_EQ(hc.timeout_s, 5);
	ASSERT_EQ(hc.healthy_after, 3);
	ASSERT_EQ(hc.unhealthy_after, 5);
	o = cJSON_Parse("{\"health_check\":{\"protocol\":\"tcp\",\"port\":18080,"
			"\"check_interval_seconds\":3,\"response_timeout_seconds\":2,"
			"\"healthy_threshold\":2,\"unhealthy_threshold\":4,\"path\":null}}");
	ASSERT_TRUE(doapi_health_check_parse(o, &hc, err, sizeof(err)));
	ASSERT_STR_EQ(hc.protocol, "tcp");
	ASSERT_EQ(hc.port, 18080);
	ASSERT_STR_EQ(hc.path, "/");
	ASSERT_EQ(hc.interval_s, 3);
	ASSERT_EQ(hc.timeout_s, 2);
	ASSERT_EQ(hc.healthy_after, 2);
	ASSERT_EQ(hc.unhealthy_after, 4);
	cJSON_Delete(o);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = cJSON_Parse(bad[i].lb);
		ASSERT_FALSE(doapi_health_check_parse(o, &hc, err, sizeof(err)));
		ASSERT_STR_EQ(err, bad[i].err);
		cJSON_Delete(o);
	}
}

/* The rate-limit rule: only a truly spent hour holds until ratelimit-reset. */
TEST(doapi_limit_rule)
{
	struct doapi_ratelimit burst = { .has_remaining = true,
					 .has_reset = true,
					 .has_retry_after = true,
					 .remaining = 0,
					 .reset = 1000 + 3500,
					 .retry_after = 8 };
	struct doapi_ratelimit ok = {
		.has_remaining = true, .has_reset = true, .remaining = 4000, .reset = 1000 + 3000
	};
	struct doapi_ratelimit last = ok, hourly = ok;
	struct doapi_limit lim;

	/* DO's burst 429 says remaining 0 with the hourly reset: retry-after wins. */
	doapi_limit_decide(429, &burst, -1, 0, 1000, &lim);
	ASSERT_U64_EQ(lim.hold_ms, 8000);
	ASSERT_FALSE(lim.hourly);
	ASSERT_STR_EQ(lim.why, "burst limit: 429 with retry-after: 8 s");
	burst.retry_after = 600; /* capped */
	doapi_limit_decide(429, &burst, -1, 0, 1000, &lim);
	ASSERT_U64_EQ(lim.hold_ms, 60000);
	/* An answer that did the work: no hold while something is left... */
	doapi_limit_decide(200, &ok, -1, 0, 1000, &lim);
	ASSERT_U64_EQ(lim.hold_ms, 0);
	/* ...and until the reset when it was the hour's last request. */
	last.remaining = 0;
	doapi_limit_decide(200, &last, -1, 0, 1000, &lim);
	ASSERT_U64_EQ(lim.hold_ms, 3000 * 1000);
	ASSERT_TRUE(lim.hourly);
	ASSERT_STR_EQ(lim.why, "hourly quota is spent (ratelimit-remaining: 0 on an HTTP 200)");
	/* A 429 without retry-after: spent, unless the count seen cannot have run out. */
	hourly.remaining = 0;
	doapi_limit_decide(429, &hourly, -1, 0, 1000, &lim);
	ASSERT_TRUE(lim.hourly);
	ASSERT_U64_EQ(lim.hold_ms, 3000 * 1000);
	doapi_limit_decide(429, &hourly, 4000, 30000, 1000, &lim);
	ASSERT_FALSE(lim.hourly);
	ASSERT_U64_EQ(lim.hold_ms, 0);
	ASSERT_STR_EQ(lim.why,
		      "429 without retry-after, but 4000 requests were left 30 s ago: a burst");
	/* 251 left 10 s ago could all be gone, at 250 a minute, within that minute... */
	doapi_limit_decide(429, &hourly, 250, 10000, 1000, &lim);
	ASSERT_TRUE(lim.hourly);
	/* ...and 4000 left 20 minutes ago could be gone too. */
	doapi_limit_decide(429, &hourly, 4000, 20 * 60000, 1000, &lim);
	ASSERT_TRUE(lim.hourly);
	/* The hold is bounded: at least 1 s, at most an hour. */
	hourly.reset = 900;
	doapi_limit_decide(429, &hourly, -1, 0, 1000, &lim);
	ASSERT_U64_EQ(lim.hold_ms, 1000);
	hourly.reset = 1000 + 86400;
	doapi_limit_decide(429, &hourly, -1, 0, 1000, &lim);
	ASSERT_U64_EQ(lim.hold_ms, 3600 * 1000);
	/* No reset header: nothing to hold until (the caller backs off). */
	hourly.has_reset = false;
	doapi_limit_decide(429, &hourly, -1, 0, 1000, &lim);
	ASSERT_U64_EQ(lim.hold_ms, 0);
	ASSERT_FALSE(lim.hourly);
}

TEST(doapi_health_replies)
{
	static const struct {
		const char *head;
		bool ok;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\n", true },    { "HTTP/1.0 302 Found\r\n", true },
		{ "HTTP/1.1 204", true },	    { "HTTP/1.1 404 Not Found\r\n", false },
		{ "HTTP/1.1 500 Oops\r\n", false }, { "HTTP/1.1 20", false },
		{ "HTTP/1.1 2000 x", false },	    { "SSH-2.0-OpenSSH_9.2\r\n", false },
		{ "HTTP/x.1 200 OK", false },	    { "", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ASSERT_EQ(doapi_health_reply_ok(cases[i].head, strlen(cases[i].head)), cases[i].ok);
}
