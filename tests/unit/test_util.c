/*
 * Unit tests for common/util.c: each parser with good input, its bounds, and
 * each kind of junk it must refuse (signs, blanks, shorthand, overflow).
 */
#include <errno.h>

#include "harness.h"
#include "util.h"

TEST(util_u64_accepts_plain_decimal)
{
	uint64_t v = 0;

	ASSERT_OK(util_parse_u64("0", 0, 10, &v));
	ASSERT_U64_EQ(v, 0);
	ASSERT_OK(util_parse_u64("30", 1, 30, &v));
	ASSERT_U64_EQ(v, 30);
	ASSERT_OK(util_parse_u64("18446744073709551615", 0, UINT64_MAX, &v));
	ASSERT_U64_EQ(v, UINT64_MAX);
}

TEST(util_u64_rejects_junk)
{
	static const char *const bad[] = { "", " 1", "1 ", "+1", "-1", "1x", "0x10", "1.0", "one" };
	uint64_t v = 77;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(util_parse_u64(bad[i], 0, UINT64_MAX, &v), -EINVAL);
	ASSERT_EQ(util_parse_u64(NULL, 0, 1, &v), -EINVAL);
	ASSERT_U64_EQ(v, 77);
}

TEST(util_u64_range_and_overflow)
{
	uint64_t v = 77;

	ASSERT_EQ(util_parse_u64("0", 1, 30, &v), -ERANGE);
	ASSERT_EQ(util_parse_u64("31", 1, 30, &v), -ERANGE);
	ASSERT_EQ(util_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	ASSERT_EQ(util_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	ASSERT_U64_EQ(v, 77);
}

TEST(util_duration_units)
{
	uint64_t ms = 0;

	ASSERT_OK(util_parse_duration_ms("250ms", 0, UINT64_MAX, &ms));
	ASSERT_U64_EQ(ms, 250);
	ASSERT_OK(util_parse_duration_ms("2s", 0, UINT64_MAX, &ms));
	ASSERT_U64_EQ(ms, 2000);
	ASSERT_OK(util_parse_duration_ms("1.5s", 0, UINT64_MAX, &ms));
	ASSERT_U64_EQ(ms, 1500);
	ASSERT_OK(util_parse_duration_ms("5m", 0, UINT64_MAX, &ms));
	ASSERT_U64_EQ(ms, 300000);
	ASSERT_OK(util_parse_duration_ms("1h", 0, UINT64_MAX, &ms));
	ASSERT_U64_EQ(ms, 3600000);
	ASSERT_OK(util_parse_duration_ms("0.25h", 0, UINT64_MAX, &ms));
	ASSERT_U64_EQ(ms, 900000);
	ASSERT_OK(util_parse_duration_ms("1.500000000s", 0, UINT64_MAX, &ms));
	ASSERT_U64_EQ(ms, 1500);
	ASSERT_OK(util_parse_duration_ms("0", 0, UINT64_MAX, &ms));
	ASSERT_U64_EQ(ms, 0);
	ASSERT_OK(util_parse_duration_ms("0s", 0, UINT64_MAX, &ms));
	ASSERT_U64_EQ(ms, 0);
}

TEST(util_duration_rejects_junk)
{
	static const char *const bad[] = {
		"",    "2",   "2 s", " 2s", "2s ", "-1s", "+1s", "1.5ms", "1.0005s",
		".5s", "1.s", "2S",  "2d",  "s",   "ms",  "00",	 "1e3ms", "1s2",
	};
	uint64_t ms = 77;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(util_parse_duration_ms(bad[i], 0, UINT64_MAX, &ms), -EINVAL);
	ASSERT_U64_EQ(ms, 77);
}

TEST(util_duration_range)
{
	uint64_t ms = 77;

	ASSERT_EQ(util_parse_duration_ms("99ms", 100, 60000, &ms), -ERANGE);
	ASSERT_EQ(util_parse_duration_ms("61s", 100, 60000, &ms), -ERANGE);
	ASSERT_EQ(util_parse_duration_ms("0", 100, 60000, &ms), -ERANGE);
	ASSERT_EQ(util_parse_duration_ms("99999999999999999999h", 0, UINT64_MAX, &ms), -ERANGE);
	ASSERT_EQ(util_parse_duration_ms("5124095576030432h", 0, UINT64_MAX, &ms), -ERANGE);
	ASSERT_U64_EQ(ms, 77);
	ASSERT_OK(util_parse_duration_ms("100ms", 100, 60000, &ms));
	ASSERT_U64_EQ(ms, 100);
	ASSERT_OK(util_parse_duration_ms("1m", 100, 60000, &ms));
	ASSERT_U64_EQ(ms, 60000);
}

TEST(util_bool)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True" };
	static const char *const no[] = { "no", "false", "off", "0", "OFF" };
	bool b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		ASSERT_OK(util_parse_bool(yes[i], &b));
		ASSERT_TRUE(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		ASSERT_OK(util_parse_bool(no[i], &b));
		ASSERT_FALSE(b);
	}
	ASSERT_EQ(util_parse_bool("", &b), -EINVAL);
	ASSERT_EQ(util_parse_bool("y", &b), -EINVAL);
	ASSERT_EQ(util_parse_bool("2", &b), -EINVAL);
	ASSERT_EQ(util_parse_bool(" yes", &b), -EINVAL);
}

TEST(util_ipv4)
{
	static const char *const good[] = { "0.0.0.0", "10.0.0.1", "255.255.255.255",
					    "192.168.100.7" };
	static const char *const bad[] = {
		"",	     "10.0.0",	   "10.0.0.1.", "10.0.0.256", "10.1",
		"010.0.0.1", "10.0.0.01",  " 10.0.0.1", "10.0.0.1 ",  "10..0.1",
		"a.b.c.d",   "1000.0.0.1", "::1",	"10.0.0.-1",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ASSERT_TRUE(util_is_ipv4(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_FALSE(util_is_ipv4(bad[i]));
	ASSERT_FALSE(util_is_ipv4(NULL));
}

TEST(util_hostport_forms)
{
	char host[64];
	uint16_t port = 0;

	ASSERT_OK(util_parse_hostport("10.0.0.1:8000", 7950, host, sizeof(host), &port));
	ASSERT_STR_EQ(host, "10.0.0.1");
	ASSERT_EQ(port, 8000);
	ASSERT_OK(util_parse_hostport("10.0.0.2", 7950, host, sizeof(host), &port));
	ASSERT_STR_EQ(host, "10.0.0.2");
	ASSERT_EQ(port, 7950);
	ASSERT_OK(util_parse_hostport("[fd00::1]:65535", 7950, host, sizeof(host), &port));
	ASSERT_STR_EQ(host, "fd00::1");
	ASSERT_EQ(port, 65535);
	ASSERT_OK(util_parse_hostport("[::]", 7950, host, sizeof(host), &port));
	ASSERT_STR_EQ(host, "::");
	ASSERT_EQ(port, 7950);
	/* A default of 0 is passed through: "no port given". */
	ASSERT_OK(util_parse_hostport("10.0.0.3", 0, host, sizeof(host), &port));
	ASSERT_EQ(port, 0);
}

TEST(util_hostport_rejects)
{
	static const char *const bad[] = {
		"",
		":7950",
		"10.0.0.1:",
		"10.0.0.1:0",
		"10.0.0.1:65536",
		"node1:7950",
		"node1",
		"fd00::1",
		"::1:7950",
		"[fd00::1",
		"[fd00::1]x",
		"[]:7950",
		"[10.0.0.1]",
		"[zz::1]",
		"10.0.0.1:+80",
		"10.0.0.1: 80",
		"10.0.0.1:80:80",
	};
	char host[64] = "unchanged";
	uint16_t port = 1;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(util_parse_hostport(bad[i], 7950, host, sizeof(host), &port), -EINVAL);
	ASSERT_STR_EQ(host, "unchanged");
	ASSERT_EQ(port, 1);
}

TEST(util_hostport_host_too_long)
{
	char host[8];
	uint16_t port;

	ASSERT_EQ(util_parse_hostport("10.0.0.100:80", 1, host, sizeof(host), &port),
		  -ENAMETOOLONG);
	ASSERT_EQ(util_parse_hostport("[fd00::1234]", 1, host, sizeof(host), &port), -ENAMETOOLONG);
	ASSERT_OK(util_parse_hostport("1.2.3.4", 1, host, sizeof(host), &port));
	ASSERT_STR_EQ(host, "1.2.3.4");
}

TEST(util_format_duration_round_trips)
{
	static const uint64_t values[] = { 0, 1, 250, 1000, 1500, 60000, 90000, 3600000, 7200000 };
	static const char *const text[] = { "0",  "1ms", "250ms", "1s", "1500ms",
					    "1m", "90s", "1h",	  "2h" };
	char buf[32];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint64_t back = 77;

		ASSERT_STR_EQ(util_format_duration(values[i], buf, sizeof(buf)), text[i]);
		ASSERT_OK(util_parse_duration_ms(buf, 0, UINT64_MAX, &back));
		ASSERT_U64_EQ(back, values[i]);
	}
}

TEST(util_distance_for_did_you_mean)
{
	ASSERT_EQ(util_distance("json", "json"), 0);
	ASSERT_EQ(util_distance("jsn", "json"), 1);
	ASSERT_EQ(util_distance("token-flie", "token-file"), 2);
	ASSERT_EQ(util_distance("", "abc"), 3);
	ASSERT_EQ(util_distance("metdata_url", "metadata_url"), 1);
	ASSERT_EQ(util_distance("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				"a"),
		  SIZE_MAX);
}
