/*
 * util: strict parsers for the small values that config files, flags and the
 * CLI carry: unsigned integers, durations, booleans, IPv4 literals and
 * host:port pairs. strtoul() and inet_aton() are too forgiving for this
 * (leading blanks, signs, octal, "10.1" shorthand), so the digits are walked
 * by hand and every byte of the input must be accounted for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* Longest text form of an IPv6 address, plus the terminating NUL. */
#define UTIL_V6_MAX 46

static bool
util_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Reads the digits at *sp into *out, advancing *sp past them. Returns 0,
 * -EINVAL when there is no digit, or -ERANGE on overflow (the digits are
 * still consumed, so the caller can tell "too big" from "not a number").
 */
static int
util_scan_digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	int rc = 0;

	if (!util_is_digit(*s))
		return -EINVAL;
	for (; util_is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			rc = -ERANGE;
		else
			v = v * 10 + d;
	}
	*sp = s;
	*out = v;
	return rc;
}

int
util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int rc;

	if (s == NULL)
		return -EINVAL;
	rc = util_scan_digits(&s, &v);
	if (rc == -EINVAL || *s != '\0')
		return -EINVAL;
	if (rc == -ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Milliseconds per unit, or 0 for an unknown unit. */
static uint64_t
util_unit_ms(const char *unit)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60 * 1000 },
		{ "h", 60 * 60 * 1000 },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].name) == 0)
			return units[i].ms;
	return 0;
}

/*
 * Reads an optional ".DIGITS" fraction. *num / *den is the fraction (den a
 * power of ten); trailing zeros are dropped, and more than six significant
 * fractional digits cannot be a whole number of milliseconds for any unit.
 */
static int
util_scan_fraction(const char **sp, uint64_t *num, uint64_t *den)
{
	const char *s = *sp, *end;
	size_t ndig;

	*num = 0;
	*den = 1;
	if (*s != '.')
		return 0;
	s++;
	for (end = s; util_is_digit(*end); end++)
		;
	if (end == s)
		return -EINVAL;
	*sp = end;
	while (end > s && end[-1] == '0')
		end--;
	ndig = (size_t)(end - s);
	if (ndig > 6)
		return -EINVAL;
	for (; s < end; s++) {
		*num = *num * 10 + (uint64_t)(*s - '0');
		*den *= 10;
	}
	return 0;
}

int
util_parse_duration_ms(const char *s, uint64_t min_ms, uint64_t max_ms, uint64_t *out_ms)
{
	uint64_t whole, num, den, unit, ms;
	int rc;

	if (s == NULL)
		return -EINVAL;
	if (strcmp(s, "0") == 0) {
		ms = 0;
		goto check;
	}
	rc = util_scan_digits(&s, &whole);
	if (rc == -EINVAL || util_scan_fraction(&s, &num, &den) < 0)
		return -EINVAL;
	unit = util_unit_ms(s);
	if (unit == 0)
		return -EINVAL;
	if (rc == -ERANGE)
		return -ERANGE;
	/* "1.5s" is 1500ms; "1.0005s" has no exact millisecond value. */
	if ((num * unit) % den != 0)
		return -EINVAL;
	if (whole > (UINT64_MAX - num * unit / den) / unit)
		return -ERANGE;
	ms = whole * unit + num * unit / den;
check:
	if (ms < min_ms || ms > max_ms)
		return -ERANGE;
	*out_ms = ms;
	return 0;
}

int
util_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	if (s == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

bool
util_is_ipv4(const char *s)
{
	if (s == NULL)
		return false;
	for (int octet = 0; octet < 4; octet++) {
		const char *start;
		uint64_t v;

		if (octet > 0 && *s++ != '.')
			return false;
		start = s;
		if (util_scan_digits(&s, &v) < 0 || v > 255 || s - start > 3)
			return false;
		/* "010" is octal to inet_aton() and decimal to a human: refuse it. */
		if (*start == '0' && s - start > 1)
			return false;
	}
	return *s == '\0';
}

/* Parses the ":PORT" suffix (or nothing) that follows a host. */
static int
util_parse_port_suffix(const char *s, uint16_t default_port, uint16_t *port)
{
	uint64_t v;

	if (*s == '\0') {
		*port = default_port;
		return 0;
	}
	if (*s != ':' || util_parse_u64(s + 1, 1, 65535, &v) < 0)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* Copies the host [start, start+len) into host, if it fits. */
static int
util_copy_host(const char *start, size_t len, char *host, size_t hostsize)
{
	if (len + 1 > hostsize)
		return -ENAMETOOLONG;
	memcpy(host, start, len);
	host[len] = '\0';
	return 0;
}

int
util_parse_hostport(const char *s, uint16_t default_port, char *host, size_t hostsize,
		    uint16_t *port)
{
	char tmp[UTIL_V6_MAX];
	const char *end;
	struct in6_addr a6;
	size_t len;

	if (s == NULL)
		return -EINVAL;
	if (*s == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return -EINVAL;
		len = (size_t)(end - s - 1);
		if (len == 0 || len >= sizeof(tmp))
			return -EINVAL;
		memcpy(tmp, s + 1, len);
		tmp[len] = '\0';
		if (inet_pton(AF_INET6, tmp, &a6) != 1)
			return -EINVAL;
		if (util_parse_port_suffix(end + 1, default_port, port) < 0)
			return -EINVAL;
		return util_copy_host(tmp, len, host, hostsize);
	}
	len = strcspn(s, ":");
	/* A bare IPv6 literal would make the port ambiguous: brackets are required. */
	if (len >= sizeof(tmp) || (s[len] == ':' && strchr(s + len + 1, ':') != NULL))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (!util_is_ipv4(tmp) || util_parse_port_suffix(s + len, default_port, port) < 0)
		return -EINVAL;
	return util_copy_host(tmp, len, host, hostsize);
}

char *
util_format_duration(uint64_t ms, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	if (ms == 0)
		snprintf(buf, size, "0");
	else if (ms % (60 * 60 * 1000) == 0)
		snprintf(buf, size, "%lluh", (unsigned long long)(ms / (60 * 60 * 1000)));
	else if (ms % (60 * 1000) == 0)
		snprintf(buf, size, "%llum", (unsigned long long)(ms / (60 * 1000)));
	else if (ms % 1000 == 0)
		snprintf(buf, size, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, size, "%llums", (unsigned long long)ms);
	return buf;
}

/* Levenshtein distance, for "did you mean"; long words are never close. */
size_t
util_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}
