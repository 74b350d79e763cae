/*
 * libFuzzer harness for the parsers of common/load.c: every input goes to the
 * /proc/stat, /proc/loadavg and /proc/meminfo parsers and to the custom
 * metric parser. Each must return one of its documented codes, keep its
 * result in range, and never read past the input (libFuzzer's buffer is
 * exactly `size` bytes, so ASan sees any overread). The custom value must
 * also survive a round trip through its decimal text, and must not depend on
 * anything after the first newline. Seeds: tests/fuzz/corpus/load/.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_stat(const char *s, size_t n)
{
	struct load_cpu zero, c;
	uint16_t pm = 0;
	int r = load_parse_stat(s, n, &c);

	memset(&zero, 0, sizeof(zero));
	if (r != 0 && r != -EINVAL)
		abort();
	if (r != 0)
		return;
	r = load_cpu_permille(&zero, &c, &pm);
	if ((r != 0 && r != -EAGAIN && r != -ERANGE) || pm > 1000)
		abort();
	if (load_cpu_permille(&c, &zero, &pm) == 0 && pm != 0)
		abort(); /* a decrease must never yield a sample, unless nothing moved */
}

static void
check_custom(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);
	int64_t v = 0, w = 0;
	uint64_t mag;
	char text[48];
	int r = load_parse_custom(s, n, &v);

	if (r != 0 && r != -EINVAL && r != -ERANGE)
		abort();
	if (nl != NULL && load_parse_custom(s, (size_t)(nl - s), &w) != r)
		abort();
	if (r != 0)
		return;
	mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	snprintf(text, sizeof(text), "%s%" PRIu64 ".%03u", v < 0 ? "-" : "", mag / 1000,
		 (unsigned)(mag % 1000));
	if (load_parse_custom(text, strlen(text), &w) != 0 || w != v)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	uint16_t pm = 0;
	int r;

	check_stat(s, size);
	r = load_parse_loadavg(s, size, size > 0 ? (uint32_t)data[0] : 0, &pm);
	if (r != 0 && r != -EINVAL)
		abort();
	r = load_parse_meminfo(s, size, &pm);
	if ((r != 0 && r != -EINVAL) || (r == 0 && pm > 1000))
		abort();
	check_custom(s, size);
	return 0;
}
