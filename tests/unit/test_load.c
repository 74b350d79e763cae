/*
 * Unit tests for common/load.c: the /proc/stat, /proc/loadavg and
 * /proc/meminfo parsers on canned texts (real ones, old kernels, odd and
 * broken ones), counter resets, the EWMA, the custom metric and the cluster
 * mean. Inputs are copied into exact-size heap buffers without a NUL, so
 * that a read past the length is caught by ASan.
 */
#include <errno.h>

#include "harness.h"
#include "load.h"

/* A heap copy of the first len bytes of s, with no terminator after them. */
static char *
copy(const char *s, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);

	ASSERT_NOT_NULL(p);
	memcpy(p, s, len);
	return p;
}

static int
stat_of(const char *s, struct load_cpu *out)
{
	char *p = copy(s, strlen(s));
	int r = load_parse_stat(p, strlen(s), out);

	free(p);
	return r;
}

static int
loadavg_of(const char *s, uint32_t ncpu, uint16_t *out)
{
	char *p = copy(s, strlen(s));
	int r = load_parse_loadavg(p, strlen(s), ncpu, out);

	free(p);
	return r;
}

static int
meminfo_of(const char *s, uint16_t *out)
{
	char *p = copy(s, strlen(s));
	int r = load_parse_meminfo(p, strlen(s), out);

	free(p);
	return r;
}

static int
custom_of(const char *s, size_t len, int64_t *out)
{
	char *p = copy(s, len);
	int r = load_parse_custom(p, len, out);

	free(p);
	return r;
}

#define CUSTOM(s, out) custom_of((s), strlen(s), (out))

static const char stat_real[] = "cpu  95153 0 2869 122102 357 0 295 61 0 0\n"
				"cpu0 38810 0 1542 69693 107 0 191 28 0 0\n"
				"cpu1 56342 0 1327 52409 249 0 103 32 0 0\n"
				"intr 1234 0 0 0\n"
				"ctxt 5555\n";

TEST(load_stat_real_text)
{
	struct load_cpu c;

	ASSERT_OK(stat_of(stat_real, &c));
	ASSERT_U64_EQ(c.user, 95153);
	ASSERT_U64_EQ(c.nice, 0);
	ASSERT_U64_EQ(c.system, 2869);
	ASSERT_U64_EQ(c.idle, 122102);
	ASSERT_U64_EQ(c.iowait, 357);
	ASSERT_U64_EQ(c.irq, 0);
	ASSERT_U64_EQ(c.softirq, 295);
	ASSERT_U64_EQ(c.steal, 61);
}

TEST(load_stat_odd_but_valid)
{
	struct load_cpu c;

	/* A 2.4 kernel: four fields only; the rest read as zero. */
	ASSERT_OK(stat_of("cpu  10 20 30 40\n", &c));
	ASSERT_U64_EQ(c.system, 30);
	ASSERT_U64_EQ(c.idle, 40);
	ASSERT_U64_EQ(c.iowait, 0);
	ASSERT_U64_EQ(c.steal, 0);
	/* Not the first line, tabs, no final newline, extra future fields. */
	ASSERT_OK(stat_of("cpu0 1 1 1 1\ncpu\t1 2 3 4 5 6 7 8 9 10 11 12", &c));
	ASSERT_U64_EQ(c.user, 1);
	ASSERT_U64_EQ(c.idle, 4);
	ASSERT_U64_EQ(c.steal, 8);
	ASSERT_OK(stat_of("cpu 18446744073709551615 0 0 0\n", &c));
	ASSERT_U64_EQ(c.user, UINT64_MAX);
}

TEST(load_stat_rejects_junk)
{
	static const char *const bad[] = {
		"",
		"\n\n",
		"cpu\n",
		"cpu  1 2 3\n",
		"cpu  1 2 x 4\n",
		"cpu  1 2 -3 4\n",
		"cpu  1 2 +3 4\n",
		"cpu  1 2 3 4x\n",
		"cpu  1 2 3 4\r\n",
		"cpu  1 2 3 0x4\n",
		"cpu  18446744073709551616 0 0 0\n",
		"cpu0 1 2 3 4\ncpu1 1 2 3 4\n",
		"CPU  1 2 3 4\n",
		"cpuX 1 2 3 4\n",
	};
	struct load_cpu c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (stat_of(bad[i], &c) != -EINVAL)
			harness_fail(__FILE__, __LINE__, "accepted bad stat #%zu", i);
	}
}

TEST(load_stat_stops_at_length)
{
	static const char text[] = "cpu  1 2 3 45 99";
	struct load_cpu c;
	char *p = copy(text, 12); /* "cpu  1 2 3 4" */

	ASSERT_OK(load_parse_stat(p, 12, &c));
	ASSERT_U64_EQ(c.idle, 4);
	ASSERT_U64_EQ(c.iowait, 0);
	ASSERT_EQ(load_parse_stat(p, 10, &c), -EINVAL); /* "cpu  1 2 3": three fields */
	free(p);
}

TEST(load_cpu_permille_values)
{
	struct load_cpu a = { .user = 100, .idle = 900 }, b = a;
	uint16_t pm = 7;

	b.user += 100;
	b.system += 50;
	b.idle += 300;
	b.iowait += 50;
	ASSERT_OK(load_cpu_permille(&a, &b, &pm));
	ASSERT_EQ(pm, 300); /* busy 150 of 500 */
	b = a;
	b.steal += 1;
	b.idle += 2;
	ASSERT_OK(load_cpu_permille(&a, &b, &pm));
	ASSERT_EQ(pm, 333);
	b = a;
	b.irq += 2;
	b.idle += 1;
	ASSERT_OK(load_cpu_permille(&a, &b, &pm));
	ASSERT_EQ(pm, 667);
	b = a;
	b.idle += 10;
	ASSERT_OK(load_cpu_permille(&a, &b, &pm));
	ASSERT_EQ(pm, 0);
	b = a;
	b.softirq += 10;
	b.nice += 10;
	ASSERT_OK(load_cpu_permille(&a, &b, &pm));
	ASSERT_EQ(pm, 1000);
}

TEST(load_cpu_permille_reset_and_idle)
{
	struct load_cpu a = { .user = 100, .system = 10, .idle = 900, .iowait = 50, .steal = 5 };
	struct load_cpu b = a;
	uint16_t pm = 7;

	ASSERT_EQ(load_cpu_permille(&a, &b, &pm), -EAGAIN);
	b.user = 99;
	b.idle += 100;
	ASSERT_EQ(load_cpu_permille(&a, &b, &pm), -ERANGE);
	b = a;
	b.steal = 4;
	b.user += 10;
	ASSERT_EQ(load_cpu_permille(&a, &b, &pm), -ERANGE);
	b = a;
	b.idle = 0; /* a reboot-like reset of everything */
	b.user = 0;
	ASSERT_EQ(load_cpu_permille(&a, &b, &pm), -ERANGE);
	ASSERT_EQ(pm, 7);
	/* iowait may go down alone as long as idle + iowait does not. */
	b = a;
	b.iowait -= 20;
	b.idle += 30;
	b.user += 10;
	ASSERT_OK(load_cpu_permille(&a, &b, &pm));
	ASSERT_EQ(pm, 500);
	b = a;
	b.iowait -= 20;
	b.idle += 10;
	ASSERT_EQ(load_cpu_permille(&a, &b, &pm), -ERANGE);
	/* Counters that would overflow a sum are a reset too. */
	b = a;
	b.idle = UINT64_MAX;
	ASSERT_EQ(load_cpu_permille(&a, &b, &pm), -ERANGE);
}

TEST(load_ewma_values)
{
	struct load_ewma e = { 0 };

	ASSERT_EQ(load_ewma_update(&e, 0, 0, 30000), 0); /* primes */
	ASSERT_TRUE(e.primed);
	/* alpha = 1 - exp(-2/30) = 0.0645: 64.49, then 124.83, then 116.78 */
	ASSERT_EQ(load_ewma_update(&e, 1000, 2000, 30000), 64);
	ASSERT_EQ(load_ewma_update(&e, 1000, 2000, 30000), 125);
	ASSERT_EQ(load_ewma_update(&e, 0, 2000, 30000), 117);
	/* No time passed: no change. */
	ASSERT_EQ(load_ewma_update(&e, 1000, 0, 30000), 117);
	/* dt == window: alpha = 1 - 1/e = 0.632 */
	e.primed = false;
	ASSERT_EQ(load_ewma_update(&e, 0, 5000, 30000), 0);
	ASSERT_EQ(load_ewma_update(&e, 1000, 30000, 30000), 632);
	/* The first sample is taken as is; window 0 means no smoothing. */
	e.primed = false;
	ASSERT_EQ(load_ewma_update(&e, 500, 2000, 30000), 500);
	ASSERT_EQ(load_ewma_update(&e, 900, 2000, 0), 900);
	/* A very long gap: the old value is forgotten. */
	ASSERT_EQ(load_ewma_update(&e, 10, 3600000, 30000), 10);
}

TEST(load_loadavg_values)
{
	uint16_t pm = 7;

	ASSERT_OK(loadavg_of("1.97 1.72 1.04 1/114 27578\n", 2, &pm));
	ASSERT_EQ(pm, 985);
	ASSERT_OK(loadavg_of("1.97 1.72 1.04 1/114 27578\n", 1, &pm));
	ASSERT_EQ(pm, 1970);
	ASSERT_OK(loadavg_of("1.97 1.72 1.04 1/114 27578\n", 4, &pm));
	ASSERT_EQ(pm, 493); /* 492.5 rounds up */
	ASSERT_OK(loadavg_of("1.97 1.72 1.04 1/114 27578\n", 3, &pm));
	ASSERT_EQ(pm, 657); /* 656.67 */
	ASSERT_OK(loadavg_of("0.00 0.00 0.00 1/80 1\n", 64, &pm));
	ASSERT_EQ(pm, 0);
	ASSERT_OK(loadavg_of("0.52", 1, &pm));
	ASSERT_EQ(pm, 520);
	ASSERT_OK(loadavg_of("7\n", 1, &pm));
	ASSERT_EQ(pm, 7000);
	/* Capped, including a value too long for any integer. */
	ASSERT_OK(loadavg_of("65.54 1 1 1/1 1\n", 1, &pm));
	ASSERT_EQ(pm, 65535);
	ASSERT_OK(loadavg_of("123456.00 1 1 1/1 1\n", 1, &pm));
	ASSERT_EQ(pm, 65535);
	ASSERT_OK(loadavg_of("99999999999999999999999.5 1 1\n", 1, &pm));
	ASSERT_EQ(pm, 65535);
}

TEST(load_loadavg_rejects_junk)
{
	static const char *const bad[] = { "",	     " 1.0 1 1", "abc",	   "1. 1 1", "1.x 1",
					   "-1.0 1", "1,5 1 1",	 ".5 1 1", "1.5x 1", "\n" };
	uint16_t pm = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (loadavg_of(bad[i], 1, &pm) != -EINVAL)
			harness_fail(__FILE__, __LINE__, "accepted bad loadavg \"%s\"", bad[i]);
	}
	ASSERT_EQ(loadavg_of("1.00 1 1", 0, &pm), -EINVAL);
	ASSERT_EQ(pm, 7);
}

static const char meminfo_real[] = "MemTotal:       24684096 kB\n"
				   "MemFree:        23662360 kB\n"
				   "MemAvailable:   24009172 kB\n"
				   "Buffers:            8148 kB\n"
				   "Cached:           514664 kB\n"
				   "SwapCached:            0 kB\n"
				   "HugePages_Total:       0\n"
				   "Hugepagesize:       2048 kB\n";

TEST(load_meminfo_values)
{
	uint16_t pm = 7;

	ASSERT_OK(meminfo_of(meminfo_real, &pm));
	ASSERT_EQ(pm, 27); /* 674924 of 24684096 kB */
	/* Before Linux 3.14: MemFree + Buffers + Cached. */
	ASSERT_OK(meminfo_of("MemTotal:       24684096 kB\nMemFree:        23662360 kB\n"
			     "Buffers:            8148 kB\nCached:           514664 kB\n",
			     &pm));
	ASSERT_EQ(pm, 20);
	ASSERT_OK(meminfo_of("MemTotal: 1000 kB\nMemAvailable: 1 kB", &pm));
	ASSERT_EQ(pm, 999);
	ASSERT_OK(meminfo_of("MemTotal: 1000 kB\nMemAvailable: 0 kB\n", &pm));
	ASSERT_EQ(pm, 1000);
	/* More available than total: none in use, not an underflow. */
	ASSERT_OK(meminfo_of("MemTotal: 1000 kB\nMemAvailable: 2000 kB\n", &pm));
	ASSERT_EQ(pm, 0);
	/* Similar names are not confused; blank lines are skipped. */
	ASSERT_OK(meminfo_of("MemTotalX: 5 kB\nMemTotal:\t400\tkB\n\nMemAvailable: 300 kB\n", &pm));
	ASSERT_EQ(pm, 250);
	ASSERT_OK(meminfo_of("MemTotal: 18446744073709551615 kB\nMemAvailable: 0 kB\n", &pm));
	ASSERT_EQ(pm, 1000);
	ASSERT_OK(meminfo_of("MemTotal: 100 kB\nMemFree: 18446744073709551615 kB\n"
			     "Buffers: 18446744073709551615 kB\nCached: 1 kB\n",
			     &pm));
	ASSERT_EQ(pm, 0);
}

TEST(load_meminfo_rejects_junk)
{
	static const char *const bad[] = {
		"",
		"MemAvailable: 10 kB\n",
		"MemTotal: 0 kB\nMemAvailable: 0 kB\n",
		"MemTotal: 100 kB\nMemTotal: 100 kB\nMemAvailable: 1 kB\n",
		"MemTotal: 100\nMemAvailable: 1 kB\n",
		"MemTotal: 100 MB\nMemAvailable: 1 kB\n",
		"MemTotal: x kB\nMemAvailable: 1 kB\n",
		"MemTotal: -100 kB\nMemAvailable: 1 kB\n",
		"MemTotal: 100 kB junk\nMemAvailable: 1 kB\n",
		"MemTotal: 100 kB\nMemAvailable 1 kB\n",
		"MemTotal: 100 kB\ngarbage\nMemAvailable: 1 kB\n",
		"MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 1 kB\n",
		"MemTotal: 18446744073709551616 kB\nMemAvailable: 1 kB\n",
	};
	uint16_t pm = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (meminfo_of(bad[i], &pm) != -EINVAL)
			harness_fail(__FILE__, __LINE__, "accepted bad meminfo #%zu", i);
	}
	ASSERT_EQ(pm, 7);
}

TEST(load_meminfo_stops_at_length)
{
	static const char text[] = "MemTotal: 1000 kB\nMemAvailable: 500 kB\n";
	char *p = copy(text, strlen(text));
	uint16_t pm = 7;

	/* Cut inside "500": "50" is read, and then " kB" is missing. */
	ASSERT_EQ(load_parse_meminfo(p, strlen(text) - 5, &pm), -EINVAL);
	ASSERT_OK(load_parse_meminfo(p, strlen(text) - 1, &pm));
	ASSERT_EQ(pm, 500);
	/* Cut before MemAvailable: no available figure at all. */
	ASSERT_EQ(load_parse_meminfo(p, 18, &pm), -EINVAL);
	free(p);
}

TEST(load_custom_values)
{
	int64_t v = 7;

	ASSERT_OK(CUSTOM("153\n", &v));
	ASSERT_EQ(v, 153000);
	ASSERT_OK(CUSTOM(" -0.25 \n", &v));
	ASSERT_EQ(v, -250);
	ASSERT_OK(CUSTOM("+12.5", &v));
	ASSERT_EQ(v, 12500);
	ASSERT_OK(CUSTOM("\t7\r\n", &v));
	ASSERT_EQ(v, 7000);
	ASSERT_OK(CUSTOM("42\nnot a number\n", &v));
	ASSERT_EQ(v, 42000);
	ASSERT_OK(CUSTOM("-0", &v));
	ASSERT_EQ(v, 0);
	ASSERT_OK(CUSTOM("0.001", &v));
	ASSERT_EQ(v, 1);
	/* Rounded half away from zero on the fourth decimal. */
	ASSERT_OK(CUSTOM("1.0005", &v));
	ASSERT_EQ(v, 1001);
	ASSERT_OK(CUSTOM("1.00049999", &v));
	ASSERT_EQ(v, 1000);
	ASSERT_OK(CUSTOM("-1.0005", &v));
	ASSERT_EQ(v, -1001);
	ASSERT_OK(CUSTOM("0.9995", &v));
	ASSERT_EQ(v, 1000);
	ASSERT_OK(CUSTOM("9223372036854775.807", &v));
	ASSERT_EQ(v, INT64_MAX);
	ASSERT_OK(CUSTOM("-9223372036854775.808", &v));
	ASSERT_TRUE(v == INT64_MIN);
}

TEST(load_custom_rejects_junk_and_overflow)
{
	static const char *const bad[] = { "",	   "\n42",  "   ",   "1e3",   ".5",  "5.",
					   "0x10", "nan",   "inf",   "1 2",   "--1", "+-1",
					   "- 1",  "1.2.3", "one\n", "1_000", "١٢" };
	int64_t v = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (CUSTOM(bad[i], &v) != -EINVAL)
			harness_fail(__FILE__, __LINE__, "accepted bad custom \"%s\"", bad[i]);
	}
	ASSERT_EQ(custom_of("1\0", 2, &v), -EINVAL);
	ASSERT_EQ(custom_of("12", 0, &v), -EINVAL);
	ASSERT_EQ(CUSTOM("9223372036854775.808", &v), -ERANGE);
	ASSERT_EQ(CUSTOM("-9223372036854775.809", &v), -ERANGE);
	ASSERT_EQ(CUSTOM("9223372036854775.8075", &v), -ERANGE); /* rounds past the max */
	ASSERT_EQ(CUSTOM("99999999999999999999999", &v), -ERANGE);
	ASSERT_EQ(v, 7);
	/* The length bounds the read: "12" of "123". */
	ASSERT_OK(custom_of("123", 2, &v));
	ASSERT_EQ(v, 12000);
}

static struct swim_member
member(uint64_t id, enum swim_state st, uint32_t version, uint16_t cpu, bool has_custom,
       int64_t custom)
{
	struct swim_member m;

	memset(&m, 0, sizeof(m));
	m.id = id;
	m.state = st;
	m.load.version = version;
	m.load.cpu_permille = cpu;
	m.load.load1_permille = (uint16_t)(cpu * 2);
	m.load.mem_permille = (uint16_t)(cpu + 1);
	m.load.has_custom = has_custom;
	m.load.custom_milli = custom;
	return m;
}

TEST(load_mean_over_alive_members_with_samples)
{
	struct swim_member m[5] = {
		member(1, SWIM_ALIVE, 3, 100, true, 1000),
		member(2, SWIM_ALIVE, 1, 201, false, 0),
		member(3, SWIM_SUSPECT, 9, 999, true, 99000),
		member(4, SWIM_ALIVE, 0, 999, true, 99000), /* no sample yet */
		member(5, SWIM_DEAD, 9, 999, false, 0),
	};
	const struct swim_member *p[5] = { &m[0], &m[1], &m[2], &m[3], &m[4] };
	struct load_mean lm;

	load_mean(p, 5, &lm);
	ASSERT_EQ(lm.members, 2);
	ASSERT_EQ(lm.cpu_permille, 150);   /* 301 / 2, rounded down */
	ASSERT_EQ(lm.load1_permille, 301); /* (200 + 402) / 2 */
	ASSERT_EQ(lm.mem_permille, 151);   /* (101 + 202) / 2 */
	ASSERT_EQ(lm.custom_members, 1);
	ASSERT_EQ(lm.custom_milli, 1000);
	load_mean(p, 0, &lm);
	ASSERT_EQ(lm.members, 0);
	ASSERT_EQ(lm.custom_members, 0);
	load_mean(p + 2, 3, &lm);
	ASSERT_EQ(lm.members, 0);
}

TEST(load_mean_custom_rounds_down_and_never_overflows)
{
	struct swim_member m[3] = {
		member(1, SWIM_ALIVE, 1, 0, true, -1),
		member(2, SWIM_ALIVE, 1, 0, true, 0),
		member(3, SWIM_ALIVE, 1, 0, true, 0),
	};
	const struct swim_member *p[3] = { &m[0], &m[1], &m[2] };
	struct load_mean lm;

	load_mean(p, 2, &lm);
	ASSERT_EQ(lm.custom_milli, -1); /* -0.5 rounds down */
	m[0].load.custom_milli = m[1].load.custom_milli = INT64_MAX;
	m[2].load.custom_milli = INT64_MAX - 1;
	load_mean(p, 3, &lm);
	ASSERT_TRUE(lm.custom_milli == INT64_MAX - 1);
	m[0].load.custom_milli = m[1].load.custom_milli = m[2].load.custom_milli = INT64_MIN;
	load_mean(p, 3, &lm);
	ASSERT_TRUE(lm.custom_milli == INT64_MIN);
	m[0].load.custom_milli = INT64_MIN;
	m[1].load.custom_milli = INT64_MAX;
	m[2].load.custom_milli = 3;
	load_mean(p, 3, &lm);
	ASSERT_EQ(lm.custom_milli, 0); /* (-1 + 3) / 3 = 0.67, rounded down */
}

TEST(load_differs_thresholds)
{
	struct swim_load a = { 0, 500, 800, 300, false, 0 }, b;

	b = a;
	ASSERT_FALSE(load_differs(&a, &b, 20));
	ASSERT_FALSE(load_differs(&a, &b, 0));
	b.cpu_permille = 519; /* 1.9 points */
	ASSERT_FALSE(load_differs(&a, &b, 20));
	ASSERT_TRUE(load_differs(&a, &b, 0));
	b.cpu_permille = 480; /* 2 points down */
	ASSERT_TRUE(load_differs(&a, &b, 20));
	b = a;
	b.mem_permille = 320;
	ASSERT_TRUE(load_differs(&a, &b, 20));
	b = a;
	b.load1_permille = 781;
	ASSERT_FALSE(load_differs(&a, &b, 20));
	/* The custom metric: appearing or vanishing is news; then 2% of the larger. */
	b = a;
	b.has_custom = true;
	b.custom_milli = 100000; /* 100.0 */
	ASSERT_TRUE(load_differs(&a, &b, 20));
	a = b;
	b.custom_milli = 101999;
	ASSERT_FALSE(load_differs(&a, &b, 20));
	b.custom_milli = 102020; /* 2% of the smaller (2000) would call it news */
	ASSERT_FALSE(load_differs(&a, &b, 20));
	b.custom_milli = 102100;
	ASSERT_TRUE(load_differs(&a, &b, 20));
	/* Near zero, 2% of 1.0 is the floor: 0.01 -> 0.015 is not news. */
	a.custom_milli = 10;
	b.custom_milli = 15;
	ASSERT_FALSE(load_differs(&a, &b, 20));
	b.custom_milli = 40;
	ASSERT_TRUE(load_differs(&a, &b, 20));
	/* Extremes neither overflow nor compare wrong. */
	a.custom_milli = INT64_MIN;
	b.custom_milli = INT64_MAX;
	ASSERT_TRUE(load_differs(&a, &b, 20));
	b.custom_milli = INT64_MIN;
	ASSERT_FALSE(load_differs(&a, &b, 20));
	b.has_custom = false;
	ASSERT_TRUE(load_differs(&a, &b, 20));
}
