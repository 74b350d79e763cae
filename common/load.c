/*
 * load: parsers for the procfs texts the sampler reads, the CPU utilisation
 * between two /proc/stat readings, its moving average, the custom metric,
 * and the cluster mean of the gossiped samples.
 *
 * Every parser walks (buffer, length) by hand: procfs text is not
 * NUL-terminated when read into a buffer, and strtoull() would accept
 * blanks, signs and hex that a real /proc file never holds. Numbers that
 * overflow are junk, not silently clamped, except load1, whose result is
 * capped anyway.
 */
#include <errno.h>
#include <string.h>

#include "fmath.h"
#include "load.h"

#define LOAD_PERMILLE_MAX 65535U

/* One line of text: the next [*pos, eol) of buf, without the '\n'. */
static bool
load_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *linelen)
{
	const char *nl;

	if (*pos >= len)
		return false;
	*line = buf + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*linelen = nl != NULL ? (size_t)(nl - *line) : len - *pos;
	*pos += *linelen + (nl != NULL ? 1 : 0);
	return true;
}

static bool
load_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
load_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static size_t
load_skip_blanks(const char *p, size_t n, size_t i)
{
	while (i < n && load_is_blank(p[i]))
		i++;
	return i;
}

/*
 * Reads the decimal digits at p[*i] (bounded by n) into *out. Returns 0,
 * -EINVAL when there is no digit, -ERANGE on overflow (digits consumed).
 */
static int
load_scan_u64(const char *p, size_t n, size_t *i, uint64_t *out)
{
	uint64_t v = 0;
	size_t j = *i;
	int rc = 0;

	if (j >= n || !load_is_digit(p[j]))
		return -EINVAL;
	for (; j < n && load_is_digit(p[j]); j++) {
		unsigned d = (unsigned)(p[j] - '0');

		if (v > (UINT64_MAX - d) / 10)
			rc = -ERANGE;
		else
			v = v * 10 + d;
	}
	*i = j;
	*out = v;
	return rc;
}

/* The counters after "cpu" on the aggregate line. */
static int
load_parse_cpu_fields(const char *p, size_t n, struct load_cpu *out)
{
	uint64_t *const fields[] = { &out->user,   &out->nice, &out->system,  &out->idle,
				     &out->iowait, &out->irq,  &out->softirq, &out->steal };
	size_t i = 0, count = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		uint64_t v;

		i = load_skip_blanks(p, n, i);
		if (i == n)
			break;
		if (load_scan_u64(p, n, &i, &v) != 0)
			return -EINVAL;
		if (i < n && !load_is_blank(p[i]))
			return -EINVAL;
		if (count < sizeof(fields) / sizeof(fields[0]))
			*fields[count] = v;
		count++;
	}
	return count >= 4 ? 0 : -EINVAL;
}

int
load_parse_stat(const char *buf, size_t len, struct load_cpu *out)
{
	const char *line;
	size_t linelen, pos = 0;

	while (load_next_line(buf, len, &pos, &line, &linelen)) {
		if (linelen >= 4 && memcmp(line, "cpu", 3) == 0 && load_is_blank(line[3]))
			return load_parse_cpu_fields(line + 3, linelen - 3, out);
	}
	return -EINVAL;
}

int
load_cpu_permille(const struct load_cpu *prev, const struct load_cpu *cur, uint16_t *permille)
{
	uint64_t busy0[] = { prev->user, prev->nice,	prev->system,
			     prev->irq,	 prev->softirq, prev->steal };
	uint64_t busy1[] = {
		cur->user, cur->nice, cur->system, cur->irq, cur->softirq, cur->steal
	};
	uint64_t idle0, idle1, dbusy = 0, dtotal;

	/* Sums past 2^64 cannot come from a running kernel: treat them as a reset. */
	if (__builtin_add_overflow(prev->idle, prev->iowait, &idle0) ||
	    __builtin_add_overflow(cur->idle, cur->iowait, &idle1) || idle1 < idle0)
		return -ERANGE;
	for (size_t i = 0; i < sizeof(busy0) / sizeof(busy0[0]); i++) {
		if (busy1[i] < busy0[i] ||
		    __builtin_add_overflow(dbusy, busy1[i] - busy0[i], &dbusy))
			return -ERANGE;
	}
	if (__builtin_add_overflow(dbusy, idle1 - idle0, &dtotal))
		return -ERANGE;
	if (dtotal == 0)
		return -EAGAIN;
	while (dtotal > UINT64_MAX / 1000) {
		dbusy >>= 1;
		dtotal >>= 1;
	}
	*permille = (uint16_t)((dbusy * 1000 + dtotal / 2) / dtotal);
	return 0;
}

uint16_t
load_ewma_update(struct load_ewma *e, uint16_t sample, uint64_t dt_ms, uint64_t window_ms)
{
	double alpha;

	if (!e->primed || window_ms == 0) {
		e->value = sample;
		e->primed = true;
	} else {
		alpha = 1.0 - fmath_exp(-(double)dt_ms / (double)window_ms);
		e->value += alpha * ((double)sample - e->value);
	}
	if (e->value < 0)
		e->value = 0;
	return (uint16_t)(e->value + 0.5);
}

/*
 * Reads "DIGITS[.DIGITS]" at p[*i] as a value x 1000, rounding half up on
 * the fourth decimal. Returns 0, -EINVAL on a bad shape, -ERANGE when the
 * result does not fit in `max`.
 */
static int
load_scan_milli(const char *p, size_t n, size_t *i, uint64_t max, uint64_t *out)
{
	uint64_t whole, frac = 0;
	size_t j = *i;
	int rc = load_scan_u64(p, n, &j, &whole);
	bool overflow = rc == -ERANGE;

	if (rc == -EINVAL)
		return -EINVAL;
	if (j < n && p[j] == '.') {
		size_t digits = 0;

		for (j++; j < n && load_is_digit(p[j]); j++, digits++) {
			if (digits < 3)
				frac = frac * 10 + (uint64_t)(p[j] - '0');
			else if (digits == 3 && p[j] >= '5')
				frac++; /* may reach 1000: carried below */
		}
		if (digits == 0)
			return -EINVAL;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	*i = j;
	if (overflow || whole > (max - frac) / 1000)
		return -ERANGE;
	*out = whole * 1000 + frac;
	return 0;
}

int
load_parse_loadavg(const char *buf, size_t len, uint32_t ncpu, uint16_t *permille)
{
	uint64_t milli, v;
	size_t i = 0;
	int rc;

	if (ncpu == 0)
		return -EINVAL;
	rc = load_scan_milli(buf, len, &i, UINT64_MAX, &milli);
	if (rc == -EINVAL)
		return -EINVAL;
	if (i < len && !load_is_blank(buf[i]) && buf[i] != '\n')
		return -EINVAL;
	if (rc == -ERANGE) {
		*permille = LOAD_PERMILLE_MAX; /* an absurd load is still a full load */
		return 0;
	}
	v = milli / ncpu + (milli % ncpu >= (ncpu + 1) / 2 ? 1 : 0);
	*permille = (uint16_t)(v > LOAD_PERMILLE_MAX ? LOAD_PERMILLE_MAX : v);
	return 0;
}

enum load_mem_key {
	LOAD_MEM_TOTAL,
	LOAD_MEM_AVAILABLE,
	LOAD_MEM_FREE,
	LOAD_MEM_BUFFERS,
	LOAD_MEM_CACHED,
	LOAD_MEM_KEYS
};

static const char *const load_mem_names[LOAD_MEM_KEYS] = {
	"MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached",
};

/* "   16310276 kB" after the colon: the number of kB, blanks allowed around. */
static int
load_parse_kb(const char *p, size_t n, uint64_t *out)
{
	size_t i = load_skip_blanks(p, n, 0);

	if (load_scan_u64(p, n, &i, out) != 0)
		return -EINVAL;
	i = load_skip_blanks(p, n, i);
	if (n - i < 2 || memcmp(p + i, "kB", 2) != 0)
		return -EINVAL;
	return load_skip_blanks(p, n, i + 2) == n ? 0 : -EINVAL;
}

/* Reads the fields we use; the rest are only checked for a colon. */
static int
load_scan_meminfo(const char *buf, size_t len, uint64_t *val, bool *seen)
{
	const char *line, *colon;
	size_t linelen, pos = 0;

	while (load_next_line(buf, len, &pos, &line, &linelen)) {
		if (linelen == 0)
			continue;
		colon = memchr(line, ':', linelen);
		if (colon == NULL)
			return -EINVAL;
		for (int k = 0; k < LOAD_MEM_KEYS; k++) {
			size_t klen = strlen(load_mem_names[k]);

			if ((size_t)(colon - line) != klen ||
			    memcmp(line, load_mem_names[k], klen) != 0)
				continue;
			if (seen[k] || load_parse_kb(colon + 1, linelen - klen - 1, &val[k]) != 0)
				return -EINVAL;
			seen[k] = true;
		}
	}
	return 0;
}

int
load_parse_meminfo(const char *buf, size_t len, uint16_t *permille)
{
	uint64_t val[LOAD_MEM_KEYS] = { 0 }, total, avail, used;
	bool seen[LOAD_MEM_KEYS] = { false };

	if (load_scan_meminfo(buf, len, val, seen) != 0)
		return -EINVAL;
	total = val[LOAD_MEM_TOTAL];
	if (!seen[LOAD_MEM_TOTAL] || total == 0)
		return -EINVAL;
	if (seen[LOAD_MEM_AVAILABLE]) {
		avail = val[LOAD_MEM_AVAILABLE];
	} else {
		if (!seen[LOAD_MEM_FREE] || !seen[LOAD_MEM_BUFFERS] || !seen[LOAD_MEM_CACHED])
			return -EINVAL;
		avail = val[LOAD_MEM_FREE];
		/* A sum past UINT64_MAX is surely more than the total: none in use. */
		if (__builtin_add_overflow(avail, val[LOAD_MEM_BUFFERS], &avail) ||
		    __builtin_add_overflow(avail, val[LOAD_MEM_CACHED], &avail))
			avail = total;
	}
	used = avail >= total ? 0 : total - avail;
	while (used > UINT64_MAX / 1000) {
		used >>= 1;
		total >>= 1;
	}
	*permille = (uint16_t)((used * 1000 + total / 2) / total);
	return 0;
}

static bool
load_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int
load_parse_custom(const char *buf, size_t len, int64_t *milli)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl != NULL ? (size_t)(nl - buf) : len, i = 0;
	bool neg = false;
	uint64_t mag;
	int rc;

	while (i < n && load_is_space(buf[i]))
		i++;
	if (i < n && (buf[i] == '+' || buf[i] == '-'))
		neg = buf[i++] == '-';
	rc = load_scan_milli(buf, n, &i, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag);
	if (rc == -EINVAL)
		return -EINVAL;
	while (i < n && load_is_space(buf[i]))
		i++;
	if (i != n)
		return -EINVAL;
	if (rc != 0)
		return rc;
	/* -(2^63) is representable; negate in unsigned arithmetic to get it. */
	*milli = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return 0;
}

static bool
load_counts(const struct swim_member *m)
{
	return m->state == SWIM_ALIVE && m->load.version != 0;
}

/*
 * Mean of the custom values, rounded down. Each value is split as
 * x = q * count + r with C's truncating division: the partial sums of q then
 * stay within the range of the values themselves, so nothing overflows, and
 * the remainders (|r| < count) are divided last, rounding down.
 */
static int64_t
load_custom_mean(const struct swim_member *const *members, size_t n, int64_t count)
{
	int64_t qsum = 0, rsum = 0, adj;

	for (size_t i = 0; i < n; i++) {
		int64_t x;

		if (!load_counts(members[i]) || !members[i]->load.has_custom)
			continue;
		x = members[i]->load.custom_milli;
		qsum += x / count;
		rsum += x % count; /* |rsum| < count^2, and count is a member count */
	}
	adj = rsum / count;
	if (rsum % count < 0)
		adj--;
	return qsum + adj;
}

static bool
load_moved(uint32_t a, uint32_t b, uint32_t threshold)
{
	uint32_t d = a > b ? a - b : b - a;

	return threshold == 0 ? d != 0 : d >= threshold;
}

/* |x| without libm (the agent does not link it: common/fmath.c). */
static double
load_abs(double x)
{
	return x < 0 ? -x : x;
}

bool
load_differs(const struct swim_load *last, const struct swim_load *cur, uint16_t threshold_permille)
{
	double a, b, big, d;

	if (load_moved(last->cpu_permille, cur->cpu_permille, threshold_permille) ||
	    load_moved(last->load1_permille, cur->load1_permille, threshold_permille) ||
	    load_moved(last->mem_permille, cur->mem_permille, threshold_permille))
		return true;
	if (last->has_custom != cur->has_custom)
		return true;
	if (!cur->has_custom)
		return false;
	if (threshold_permille == 0)
		return last->custom_milli != cur->custom_milli;
	/* Doubles: the two may sit at opposite ends of int64, and a relative
	 * threshold needs no more than double's precision. */
	a = (double)last->custom_milli;
	b = (double)cur->custom_milli;
	d = load_abs(a - b);
	big = load_abs(a) > load_abs(b) ? load_abs(a) : load_abs(b);
	if (big < 1000.0)
		big = 1000.0;
	return d * 1000.0 >= big * threshold_permille;
}

void
load_mean(const struct swim_member *const *members, size_t n, struct load_mean *out)
{
	uint64_t cpu = 0, load1 = 0, mem = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const struct swim_load *l = &members[i]->load;

		if (!load_counts(members[i]))
			continue;
		out->members++;
		cpu += l->cpu_permille;
		load1 += l->load1_permille;
		mem += l->mem_permille;
		if (l->has_custom)
			out->custom_members++;
	}
	if (out->members == 0)
		return;
	out->cpu_permille = (uint16_t)(cpu / out->members);
	out->load1_permille = (uint16_t)(load1 / out->members);
	out->mem_permille = (uint16_t)(mem / out->members);
	if (out->custom_members > 0)
		out->custom_milli = load_custom_mean(members, n, out->custom_members);
}
