/* Unit tests for common/haproxy_cfg.c: names, commands, the state parser and
 * the backend generator. */
#include <errno.h>

#include "harness.h"
#include "haproxy_cfg.h"

/* Real output of HAProxy 2.6 `show servers state web` (columns as 2.6 prints them). */
static const char state_26[] =
	"1\n"
	"# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
	"srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
	"srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
	"srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
	"srv_agent_port\n"
	"3 web 1 mitosis-1001 127.0.40.1 2 0 1 1 12 6 3 4 6 0 0 0 - 8080 - 0 0 - - 0\n"
	"3 web 2 mitosis-1002 127.0.40.2 0 1 1 1 3 1 0 0 14 0 0 0 - 8080 - 0 0 - - 0\n"
	"3 web 3 static1 10.0.0.9 2 8 1 1 40 6 3 4 6 0 0 0 - 80 - 0 0 - - 0\n"
	"4 other 1 x 10.0.0.1 2 0 1 1 40 6 3 4 6 0 0 0 - 80 - 0 0 - - 0\n"
	"\n";

TEST(haproxy_names)
{
	char buf[HAPROXY_CFG_NAME_MAX];
	uint64_t id = 0;

	ASSERT_OK(haproxy_cfg_server_name(1001, buf, sizeof(buf)));
	ASSERT_STR_EQ(buf, "mitosis-1001");
	ASSERT_EQ(haproxy_cfg_server_name(1001, buf, 8), -ENOSPC);
	ASSERT_TRUE(haproxy_cfg_server_id("mitosis-1001", &id));
	ASSERT_U64_EQ(id, 1001);
	ASSERT_TRUE(haproxy_cfg_server_id("mitosis-18446744073709551615", &id));
	ASSERT_U64_EQ(id, UINT64_MAX);
	ASSERT_FALSE(haproxy_cfg_server_id("mitosis-", &id));
	ASSERT_FALSE(haproxy_cfg_server_id("mitosis-0", &id));
	ASSERT_FALSE(haproxy_cfg_server_id("mitosis-012", &id));
	ASSERT_FALSE(haproxy_cfg_server_id("mitosis-12a", &id));
	ASSERT_FALSE(haproxy_cfg_server_id("mitosis-18446744073709551616", &id));
	ASSERT_FALSE(haproxy_cfg_server_id("static1", &id));
}

TEST(haproxy_validators)
{
	ASSERT_TRUE(haproxy_cfg_name_valid("be_app.web-1:x"));
	ASSERT_FALSE(haproxy_cfg_name_valid(""));
	ASSERT_FALSE(haproxy_cfg_name_valid(NULL));
	ASSERT_FALSE(haproxy_cfg_name_valid("web;shutdown sessions"));
	ASSERT_FALSE(haproxy_cfg_name_valid("web\nshow info"));
	ASSERT_FALSE(haproxy_cfg_name_valid("a/b"));
	ASSERT_TRUE(haproxy_cfg_ipv4_valid("127.0.40.1"));
	ASSERT_FALSE(haproxy_cfg_ipv4_valid("127.0.40"));
	ASSERT_FALSE(haproxy_cfg_ipv4_valid("127.0.40.1;x"));
	ASSERT_FALSE(haproxy_cfg_ipv4_valid("::1"));
}

TEST(haproxy_commands)
{
	char buf[HAPROXY_CFG_CMD_MAX];

	ASSERT_OK(haproxy_cfg_cmd_add("web", "mitosis-7", "10.0.0.7", 8080, buf, sizeof(buf)));
	ASSERT_STR_EQ(buf, "add server web/mitosis-7 10.0.0.7:8080 check\n");
	ASSERT_OK(haproxy_cfg_cmd_state("web", "mitosis-7", HAPROXY_STATE_READY, buf, sizeof(buf)));
	ASSERT_STR_EQ(buf, "set server web/mitosis-7 state ready\n");
	ASSERT_OK(haproxy_cfg_cmd_state("web", "mitosis-7", HAPROXY_STATE_DRAIN, buf, sizeof(buf)));
	ASSERT_STR_EQ(buf, "set server web/mitosis-7 state drain\n");
	ASSERT_OK(haproxy_cfg_cmd_state("web", "mitosis-7", HAPROXY_STATE_MAINT, buf, sizeof(buf)));
	ASSERT_STR_EQ(buf, "set server web/mitosis-7 state maint\n");
	ASSERT_OK(haproxy_cfg_cmd_health("web", "mitosis-7", buf, sizeof(buf)));
	ASSERT_STR_EQ(buf, "enable health web/mitosis-7\n");
	ASSERT_OK(haproxy_cfg_cmd_del("web", "mitosis-7", buf, sizeof(buf)));
	ASSERT_STR_EQ(buf, "del server web/mitosis-7\n");
	ASSERT_OK(haproxy_cfg_cmd_show("web", buf, sizeof(buf)));
	ASSERT_STR_EQ(buf, "show servers state web\n");
}

TEST(haproxy_commands_refuse_injection_and_bad_values)
{
	char buf[HAPROXY_CFG_CMD_MAX];

	ASSERT_EQ(haproxy_cfg_cmd_add("web;del server web/x", "mitosis-7", "10.0.0.7", 80, buf,
				      sizeof(buf)),
		  -EINVAL);
	ASSERT_EQ(haproxy_cfg_cmd_add("web", "mitosis-7", "10.0.0.7\nshow info", 80, buf,
				      sizeof(buf)),
		  -EINVAL);
	ASSERT_EQ(haproxy_cfg_cmd_add("web", "mitosis-7", "10.0.0.7", 0, buf, sizeof(buf)),
		  -EINVAL);
	ASSERT_EQ(haproxy_cfg_cmd_add("web", "mitosis-7", "10.0.0.7", 65536, buf, sizeof(buf)),
		  -EINVAL);
	ASSERT_EQ(haproxy_cfg_cmd_state("web", "m 7", HAPROXY_STATE_READY, buf, sizeof(buf)),
		  -EINVAL);
	ASSERT_EQ(haproxy_cfg_cmd_state("web", "m7", (enum haproxy_cfg_state)9, buf, sizeof(buf)),
		  -EINVAL);
	ASSERT_EQ(haproxy_cfg_cmd_del("", "m7", buf, sizeof(buf)), -EINVAL);
	ASSERT_EQ(haproxy_cfg_cmd_show("a b", buf, sizeof(buf)), -EINVAL);
	ASSERT_EQ(haproxy_cfg_cmd_add("web", "mitosis-7", "10.0.0.7", 80, buf, 10), -ENOSPC);
}

TEST(haproxy_reply_ok)
{
	ASSERT_TRUE(haproxy_cfg_reply_ok(""));
	ASSERT_TRUE(haproxy_cfg_reply_ok("\n"));
	ASSERT_TRUE(haproxy_cfg_reply_ok("New server registered.\n\n"));
	ASSERT_TRUE(haproxy_cfg_reply_ok("Server deleted.\n"));
	ASSERT_FALSE(haproxy_cfg_reply_ok("No such backend.\n"));
	ASSERT_FALSE(
		haproxy_cfg_reply_ok("Already exists a server with the same name in backend.\n"));
	ASSERT_FALSE(haproxy_cfg_reply_ok("Permission denied\n"));
}

TEST(haproxy_parse_state_26)
{
	struct haproxy_server *s;
	size_t n;
	char err[128];

	ASSERT_OK(haproxy_cfg_parse_state(state_26, sizeof(state_26) - 1, "web", &s, &n, err,
					  sizeof(err)));
	ASSERT_EQ(n, 3);
	ASSERT_STR_EQ(s[0].name, "mitosis-1001");
	ASSERT_STR_EQ(s[0].addr, "127.0.40.1");
	ASSERT_EQ(s[0].port, 8080);
	ASSERT_EQ(s[0].op_state, 2);
	ASSERT_EQ(s[0].admin_state, 0);
	ASSERT_TRUE(haproxy_cfg_server_ready(&s[0]));
	ASSERT_STR_EQ(s[1].name, "mitosis-1002");
	ASSERT_EQ(s[1].admin_state, HAPROXY_ADMF_FMAINT);
	ASSERT_FALSE(haproxy_cfg_server_ready(&s[1]));
	ASSERT_STR_EQ(s[2].name, "static1");
	ASSERT_EQ(s[2].admin_state, HAPROXY_ADMF_FDRAIN);
	ASSERT_FALSE(haproxy_cfg_server_ready(&s[2]));
	free(s);
	/* without a backend filter the other backend's row is kept */
	ASSERT_OK(haproxy_cfg_parse_state(state_26, sizeof(state_26) - 1, NULL, &s, &n, err,
					  sizeof(err)));
	ASSERT_EQ(n, 4);
	ASSERT_STR_EQ(s[3].name, "x");
	free(s);
}

TEST(haproxy_parse_state_empty_backend)
{
	static const char text[] = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
				   "srv_admin_state\n";
	struct haproxy_server *s = (struct haproxy_server *)1;
	size_t n = 5;

	ASSERT_OK(haproxy_cfg_parse_state(text, sizeof(text) - 1, "web", &s, &n, NULL, 0));
	ASSERT_NULL(s);
	ASSERT_EQ(n, 0);
}

static void
expect_parse_error(const char *text, const char *msg)
{
	struct haproxy_server *s;
	size_t n;
	char err[160] = "";

	ASSERT_EQ(haproxy_cfg_parse_state(text, strlen(text), NULL, &s, &n, err, sizeof(err)),
		  -EINVAL);
	ASSERT_NULL(s);
	ASSERT_STR_EQ(err, msg);
}

TEST(haproxy_parse_state_rejections)
{
	expect_parse_error("", "line 1: expected format version 1");
	expect_parse_error("No such backend.\n", "line 1: expected format version 1");
	expect_parse_error("2\n# be_id\n", "line 1: expected format version 1");
	expect_parse_error("1\n", "line 2: expected the '# be_id be_name ...' header");
	expect_parse_error("1\nbe_id be_name\n",
			   "line 2: expected the '# be_id be_name ...' header");
	expect_parse_error("1\n# be_id be_name srv_name srv_addr srv_op_state\n",
			   "header: a needed column (be_name, srv_name, srv_addr, srv_op_state, "
			   "srv_admin_state) is missing");
	expect_parse_error("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
			   "srv_admin_state\n3 web 1 s1 10.0.0.1 2\n",
			   "line 3: 6 fields, expected at least 7");
	expect_parse_error("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
			   "srv_admin_state\n3 web 1 s1 10.0.0.1 9 0\n",
			   "line 3: bad state or port number");
	expect_parse_error("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
			   "srv_admin_state srv_port\n3 web 1 s1 10.0.0.1 2 0 70000\n",
			   "line 3: bad state or port number");
	expect_parse_error("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
			   "srv_admin_state\n3 web 1 "
			   "s123456789012345678901234567890123456789012345678901234567890123456789 "
			   "10.0.0.1 2 0\n",
			   "line 3: a name or address is too long");
}

TEST(haproxy_backend_text)
{
	struct haproxy_member m[] = {
		{ .id = 1003, .name = "web-c", .ip = "10.0.0.3" },
		{ .id = 1001, .name = "web-a", .ip = "10.0.0.1" },
		{ .id = 1002, .name = "bad name\n", .ip = "10.0.0.2" },
	};
	char *out;

	ASSERT_OK(haproxy_cfg_backend("web", m, 3, 8080, &out));
	ASSERT_STR_EQ(out, "# Generated by `mitosis haproxy-config`: 3 members.\n"
			   "# Servers named mitosis-<id> are managed by mitosis at run time\n"
			   "# through the runtime API (stats socket ... level admin).\n"
			   "backend web\n"
			   "\tmode http\n"
			   "\tbalance roundrobin\n"
			   "\toption httpchk\n"
			   "\tdefault-server inter 2s fall 3 rise 2\n"
			   "\tserver mitosis-1001 10.0.0.1:8080 check # web-a\n"
			   "\tserver mitosis-1002 10.0.0.2:8080 check # -\n"
			   "\tserver mitosis-1003 10.0.0.3:8080 check # web-c\n");
	free(out);
	ASSERT_OK(haproxy_cfg_backend("web", NULL, 0, 80, &out));
	ASSERT_STR_CONTAINS(out, ": 0 members.\n");
	ASSERT_STR_CONTAINS(out, "option httpchk\n\tdefault-server inter 2s fall 3 rise 2\n");
	free(out);
}

TEST(haproxy_backend_rejections)
{
	struct haproxy_member bad_ip[] = { { .id = 1, .ip = "10.0.0.1 backup" } };
	struct haproxy_member zero[] = { { .id = 0, .ip = "10.0.0.1" } };
	char *out = (char *)1;

	ASSERT_EQ(haproxy_cfg_backend("web", bad_ip, 1, 80, &out), -EINVAL);
	ASSERT_NULL(out);
	ASSERT_EQ(haproxy_cfg_backend("web", zero, 1, 80, &out), -EINVAL);
	ASSERT_EQ(haproxy_cfg_backend("web app", NULL, 0, 80, &out), -EINVAL);
	ASSERT_EQ(haproxy_cfg_backend("web", NULL, 0, 0, &out), -EINVAL);
}

TEST(haproxy_backend_many_members_grows_buffer)
{
	static struct haproxy_member m[300];
	static char ips[300][24]; /* room for any two ints, which gcc -O1 cannot bound */
	char *out;

	for (int i = 0; i < 300; i++) {
		snprintf(ips[i], sizeof(ips[i]), "10.0.%d.%d", i / 250, i % 250 + 1);
		m[i] = (struct haproxy_member){ .id = (uint64_t)(5000 - i),
						.name = "n",
						.ip = ips[i] };
	}
	ASSERT_OK(haproxy_cfg_backend("web", m, 300, 80, &out));
	ASSERT_STR_CONTAINS(out, ": 300 members.\n");
	ASSERT_STR_CONTAINS(out, "\tserver mitosis-4701 10.0.1.50:80 check # n\n"
				 "\tserver mitosis-4702 10.0.1.49:80 check # n\n");
	ASSERT_STR_CONTAINS(out, "\tserver mitosis-5000 10.0.0.1:80 check # n\n");
	free(out);
}
