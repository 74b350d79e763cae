/*
 * Tests for common/log.c: escaping of untrusted bytes (including cuts at tiny
 * buffer sizes), level and trace-list parsing, and the lines written to
 * stderr, captured by pointing fd 2 at a file inside the forked test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "log.h"

static char *
esc(char *dst, size_t dstsize, const char *src)
{
	return log_escape(dst, dstsize, src, strlen(src));
}

TEST(log_escape_printable_passthrough)
{
	char out[128];
	char all[96];

	ASSERT_STR_EQ(esc(out, sizeof(out), "web-7 svc:web ~{}[]'"), "web-7 svc:web ~{}[]'");
	ASSERT_STR_EQ(esc(out, sizeof(out), ""), "");
	for (int c = 0x20; c <= 0x7e; c++)
		all[c - 0x20] = (char)c;
	all[0x7f - 0x20] = '\0';
	esc(out, sizeof(out), all);
	ASSERT_EQ(strlen(out), 95 + 2);
	ASSERT_STR_CONTAINS(out, "!\\\"#");
	ASSERT_STR_CONTAINS(out, "[\\\\]");
	ASSERT_EQ(log_escape(out, sizeof(out), "abc", 3), out);
}

TEST(log_escape_quotes_and_backslashes)
{
	char out[64];

	ASSERT_STR_EQ(esc(out, sizeof(out), "a\"b"), "a\\\"b");
	ASSERT_STR_EQ(esc(out, sizeof(out), "a\\b"), "a\\\\b");
	ASSERT_STR_EQ(esc(out, sizeof(out), "\\\"\\"), "\\\\\\\"\\\\");
	ASSERT_STR_EQ(esc(out, sizeof(out), "'single'"), "'single'");
}

TEST(log_escape_control_and_high_bytes)
{
	static const unsigned char raw[] = { 0x00, 0x01, '\t', '\n', '\r', 0x1b,
					     0x1f, 0x7f, 0x80, 0xc3, 0xa9, 0xff };
	char out[128];

	log_escape(out, sizeof(out), raw, sizeof(raw));
	ASSERT_STR_EQ(out, "\\x00\\x01\\x09\\x0a\\x0d\\x1b\\x1f\\x7f\\x80\\xc3\\xa9\\xff");
	/* The length is honoured: an embedded NUL is escaped, not a terminator. */
	log_escape(out, sizeof(out), "a\0b", 3);
	ASSERT_STR_EQ(out, "a\\x00b");
	log_escape(out, sizeof(out), "abc", 1);
	ASSERT_STR_EQ(out, "a");
}

TEST(log_escape_cut_at_small_sizes)
{
	static const char *const want[] = { "",	    ".",     "..",     "...",
					    "a...", "ab...", "abc...", "abcdefghi" };
	char out[16];

	for (size_t size = 1; size <= 7; size++) {
		memset(out, 'Z', sizeof(out));
		log_escape(out, size, "abcdefghi", 9);
		ASSERT_STR_EQ(out, want[size - 1]);
		ASSERT_EQ(strlen(out), size - 1);
		/* Nothing written past dstsize. */
		ASSERT_EQ(out[size], 'Z');
	}
	ASSERT_STR_EQ(esc(out, 10, "abcdefghi"), want[7]);
	/* Exactly fitting input is not cut. */
	ASSERT_STR_EQ(esc(out, 4, "abc"), "abc");
	ASSERT_STR_EQ(esc(out, 2, "a"), "a");
	ASSERT_STR_EQ(esc(out, 1, ""), "");
}

TEST(log_escape_size_zero_writes_nothing)
{
	char out[4] = { 'Z', 'Z', 'Z', 'Z' };

	ASSERT_EQ(log_escape(out, 0, "abc", 3), out);
	ASSERT_EQ(out[0], 'Z');
}

/* A cut never leaves half an escape ("\x0" or a lone "\") before the dots:
 * the output stays unambiguous for whoever reads the log. */
static void
assert_whole_escapes(const char *s)
{
	const char *dots = strstr(s, "...");
	size_t end = dots != NULL ? (size_t)(dots - s) : strlen(s);

	for (size_t i = 0; i < end; i++) {
		if (s[i] != '\\')
			continue;
		if (i + 1 < end && (s[i + 1] == '\\' || s[i + 1] == '"')) {
			i++;
			continue;
		}
		if (i + 3 < end && s[i + 1] == 'x') {
			i += 3;
			continue;
		}
		harness_fail(__FILE__, __LINE__, "half escape at %zu in \"%s\"", i, s);
	}
}

TEST(log_escape_cut_keeps_escapes_whole)
{
	static const char *const inputs[] = { "\x01\x02\x03\x04\x05",
					      "a\x01"
					      "b\x02"
					      "c\x03",
					      "\"\"\"\"\"\"", "\\\\\\\\\\", "ab\x7f\"\\cd\xfe" };
	char out[32];

	for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++) {
		for (size_t size = 1; size <= sizeof(out); size++) {
			memset(out, 'Z', sizeof(out));
			esc(out, size, inputs[k]);
			ASSERT_LT(strlen(out), size);
			assert_whole_escapes(out);
		}
	}
	ASSERT_STR_EQ(esc(out, 8,
			  "a\x01"
			  "b\x02"),
		      "a...");
	ASSERT_STR_EQ(esc(out, 9, "\x01\x02\x03"), "\\x01...");
	ASSERT_STR_EQ(esc(out, 6, "\"\"\""), "\\\"...");
}

TEST(log_parse_level_names)
{
	enum log_level l = LOG_LEVEL_ERROR;

	ASSERT_OK(log_parse_level("debug", &l));
	ASSERT_EQ(l, LOG_LEVEL_DEBUG);
	ASSERT_OK(log_parse_level("info", &l));
	ASSERT_EQ(l, LOG_LEVEL_INFO);
	ASSERT_OK(log_parse_level("WARN", &l));
	ASSERT_EQ(l, LOG_LEVEL_WARN);
	ASSERT_OK(log_parse_level("error", &l));
	ASSERT_EQ(l, LOG_LEVEL_ERROR);
	l = LOG_LEVEL_INFO;
	ASSERT_EQ(log_parse_level("verbose", &l), -EINVAL);
	ASSERT_EQ(log_parse_level("", &l), -EINVAL);
	ASSERT_EQ(log_parse_level("info ", &l), -EINVAL);
	ASSERT_EQ(l, LOG_LEVEL_INFO);
	ASSERT_STR_EQ(log_level_name(LOG_LEVEL_WARN), "warn");
	ASSERT_STR_EQ(log_level_name(LOG_LEVEL_DEBUG), "debug");
	ASSERT_STR_EQ(log_level_name((enum log_level)9), "?");
}

TEST(log_parse_traces_lists)
{
	const char *bad = NULL;
	unsigned t = 12345;

	ASSERT_OK(log_parse_traces("wire", &t, &bad));
	ASSERT_EQ(t, TRACE_WIRE);
	ASSERT_OK(log_parse_traces("meta,gossip,cloud", &t, &bad));
	ASSERT_EQ(t, TRACE_META | TRACE_GOSSIP | TRACE_CLOUD);
	ASSERT_OK(log_parse_traces("http,cloud,control,wire", &t, &bad));
	ASSERT_EQ(t, TRACE_HTTP | TRACE_CLOUD | TRACE_CONTROL | TRACE_WIRE);
	ASSERT_OK(log_parse_traces("all", &t, &bad));
	ASSERT_EQ(t, TRACE_ALL);
	ASSERT_OK(log_parse_traces("wire,all", &t, &bad));
	ASSERT_EQ(t, TRACE_ALL);
	ASSERT_OK(log_parse_traces("GOSSIP", &t, &bad));
	ASSERT_EQ(t, TRACE_GOSSIP);
	ASSERT_OK(log_parse_traces("", &t, &bad));
	ASSERT_EQ(t, 0);
	ASSERT_OK(log_parse_traces("wire,,meta,", &t, &bad));
	ASSERT_EQ(t, TRACE_WIRE | TRACE_META);
	ASSERT_NULL(bad);
	/* The election traces its role changes and messages. */
	ASSERT_OK(log_parse_traces("elect,cloud", &t, &bad));
	ASSERT_EQ(t, TRACE_ELECT | TRACE_CLOUD);
}

TEST(log_parse_traces_unknown_name)
{
	const char *list = "wire,gosip,meta";
	const char *bad = NULL;
	unsigned t = 77;

	ASSERT_EQ(log_parse_traces(list, &t, &bad), -EINVAL);
	ASSERT_EQ(bad, list + 5);
	ASSERT_EQ(t, 77);
	ASSERT_EQ(log_parse_traces("wires", &t, NULL), -EINVAL);
	list = "alll";
	ASSERT_EQ(log_parse_traces(list, &t, &bad), -EINVAL);
	ASSERT_EQ(bad, list);
	list = "meta, wire";
	ASSERT_EQ(log_parse_traces(list, &t, &bad), -EINVAL);
	ASSERT_EQ(bad, list + 5);
}

TEST(log_trace_bits)
{
	log_init(NULL, LOG_LEVEL_INFO, TRACE_META | TRACE_WIRE);
	ASSERT_EQ(log_get_traces(), TRACE_META | TRACE_WIRE);
	ASSERT_TRUE(log_trace_enabled(TRACE_META));
	ASSERT_FALSE(log_trace_enabled(TRACE_GOSSIP));
	log_set_traces(0);
	ASSERT_FALSE(log_trace_enabled(TRACE_META));
	log_set_level(LOG_LEVEL_DEBUG);
	ASSERT_EQ(log_get_level(), LOG_LEVEL_DEBUG);
}

/* Points fd 2 at a fresh file; returns the saved fd. */
static int
capture_begin(char *path, size_t size)
{
	int fd, saved;

	snprintf(path, size, "%s/stderr", harness_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ASSERT_GE(saved, 0);
	ASSERT_EQ(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	return saved;
}

/* Restores fd 2 and returns what was written (caller frees). */
static char *
capture_end(int saved, const char *path)
{
	static char buf[8192];
	FILE *f;
	size_t n;

	ASSERT_EQ(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	f = fopen(path, "r");
	ASSERT_NOT_NULL(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

TEST(log_info_goes_to_stderr_with_level)
{
	char path[512], want[64];
	int saved;
	char *out;

	log_init("logtest", LOG_LEVEL_INFO, 0);
	saved = capture_begin(path, sizeof(path));
	log_info("hello %d %s", 42, "world");
	out = capture_end(saved, path);
	snprintf(want, sizeof(want), " logtest[%ld] info: hello 42 world\n", (long)getpid());
	ASSERT_STR_CONTAINS(out, want);
	/* "YYYY-MM-DDTHH:MM:SS.mmmZ " then the rest, and exactly one line. */
	ASSERT_EQ(strlen(out), 24 + strlen(want));
	ASSERT_EQ(out[4], '-');
	ASSERT_EQ(out[10], 'T');
	ASSERT_EQ(out[19], '.');
	ASSERT_EQ(out[23], 'Z');
	free(out);
}

TEST(log_levels_filter)
{
	char path[512];
	int saved;
	char *out;

	log_init("logtest", LOG_LEVEL_INFO, 0);
	saved = capture_begin(path, sizeof(path));
	log_debug("hidden debug");
	log_trace(TRACE_GOSSIP, "hidden trace");
	out = capture_end(saved, path);
	ASSERT_STR_EQ(out, "");
	free(out);

	log_init("logtest", LOG_LEVEL_WARN, TRACE_GOSSIP);
	saved = capture_begin(path, sizeof(path));
	log_info("hidden info");
	log_warnx("shown warn");
	log_error("shown error");
	log_trace(TRACE_GOSSIP, "shown trace");
	log_trace(TRACE_CLOUD, "hidden trace");
	out = capture_end(saved, path);
	ASSERT_TRUE(strstr(out, "hidden") == NULL);
	ASSERT_STR_CONTAINS(out, " warn: shown warn\n");
	ASSERT_STR_CONTAINS(out, " error: shown error\n");
	ASSERT_STR_CONTAINS(out, " trace: shown trace\n");
	free(out);

	log_init("logtest", LOG_LEVEL_DEBUG, 0);
	saved = capture_begin(path, sizeof(path));
	log_debug("shown debug");
	out = capture_end(saved, path);
	ASSERT_STR_CONTAINS(out, " debug: shown debug\n");
	free(out);
}

TEST(log_warn_appends_strerror_and_keeps_errno)
{
	char path[512], want[128];
	int saved;
	char *out;

	log_init("logtest", LOG_LEVEL_INFO, 0);
	saved = capture_begin(path, sizeof(path));
	errno = ENOENT;
	log_warn("open %s", "/etc/mitosis/cluster.key");
	ASSERT_EQ(errno, ENOENT);
	errno = EACCES;
	log_warnx("plain");
	ASSERT_EQ(errno, EACCES);
	log_info("info");
	ASSERT_EQ(errno, EACCES);
	errno = EPERM;
	log_debug("filtered");
	ASSERT_EQ(errno, EPERM);
	out = capture_end(saved, path);
	snprintf(want, sizeof(want), " warn: open /etc/mitosis/cluster.key: %s\n",
		 strerror(ENOENT));
	ASSERT_STR_CONTAINS(out, want);
	ASSERT_STR_CONTAINS(out, " warn: plain\n");
	ASSERT_TRUE(strstr(out, "plain:") == NULL);
	free(out);
}

TEST(log_long_line_is_cut_to_one_line)
{
	char path[512];
	char *big = malloc(5000);
	int saved;
	char *out;

	ASSERT_NOT_NULL(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	log_init("logtest", LOG_LEVEL_INFO, 0);
	saved = capture_begin(path, sizeof(path));
	errno = EIO;
	log_warn("%s", big);
	out = capture_end(saved, path);
	ASSERT_EQ(strlen(out), 2047);
	ASSERT_EQ(out[2046], '\n');
	ASSERT_TRUE(strchr(out, '\n') == out + 2046);
	free(out);
	free(big);
}
