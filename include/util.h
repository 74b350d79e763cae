/*
 * util: strict parsing of numbers, durations, booleans and addresses, shared by
 * the config parser, the CLI and the agent. Pure: no I/O, no allocation.
 * Every parser rejects leading/trailing junk, signs on unsigned values and
 * empty strings.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal unsigned integer in [min, max]. Returns 0, -EINVAL (not a number)
 * or -ERANGE (outside the range, or overflow). */
int util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A duration with a unit: "250ms", "2s", "1.5s", "5m", "1h". A bare "0" is
 * accepted; any other number without a unit is -EINVAL (so "2" cannot mean
 * two milliseconds to one reader and two seconds to another). Result in
 * milliseconds, which must lie in [min_ms, max_ms] or -ERANGE. */
int util_parse_duration_ms(const char *s, uint64_t min_ms, uint64_t max_ms, uint64_t *out_ms);

/* "yes/no", "true/false", "on/off", "1/0" (case-insensitive). 0 or -EINVAL. */
int util_parse_bool(const char *s, bool *out);

/* Dotted-quad IPv4 only ("10.0.0.1"); no shorthand forms. */
bool util_is_ipv4(const char *s);

/* "HOST:PORT", "HOST" (port = default_port), "[V6]:PORT" or "[V6]". HOST must be
 * an IPv4 or IPv6 literal. Writes the host without brackets into `host`.
 * Returns 0, -EINVAL (bad shape or port 0) or -ENAMETOOLONG. */
int util_parse_hostport(const char *s, uint16_t default_port, char *host, size_t hostsize,
			uint16_t *port);

/* Formats a duration in ms the way util_parse_duration_ms reads it ("2s",
 * "250ms", "5m"). Returns buf. */
char *util_format_duration(uint64_t ms, char *buf, size_t size);

/* Levenshtein distance between a and b, for "did you mean"; SIZE_MAX when
 * either is longer than 64 characters (long words are never close). */
size_t util_distance(const char *a, const char *b);

#endif
