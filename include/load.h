/*
 * load: the arithmetic of a node's load sample (docs/load.md), with no I/O.
 *
 * The agent's sampler reads /proc/stat, /proc/loadavg, /proc/meminfo and an
 * optional custom metric, and hands the text to these parsers; they take
 * (buffer, length), never read past the length and need no NUL. Junk is
 * refused with -EINVAL, never half-parsed. Results are fixed point (permille,
 * milli-units) because that is what struct swim_load gossips.
 */
#ifndef LOAD_H
#define LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swim.h"

/* The aggregate "cpu" line of /proc/stat, in USER_HZ ticks. guest and
 * guest_nice are not kept: the kernel already counts them in user and nice. */
struct load_cpu {
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};

/* Exponentially weighted moving average of the CPU utilisation. */
struct load_ewma {
	double value; /* permille */
	bool primed;  /* false until the first sample */
};

/* Means over the ALIVE members that have a load sample (version != 0). */
struct load_mean {
	uint32_t members; /* members averaged for cpu, load1 and mem; 0 = no mean */
	uint16_t cpu_permille;
	uint16_t load1_permille;
	uint16_t mem_permille;
	uint32_t custom_members; /* of those, how many report a custom metric */
	int64_t custom_milli;	 /* meaningful when custom_members > 0 */
};

/*
 * Finds the aggregate "cpu " line in /proc/stat text and reads its counters.
 * At least user, nice, system and idle must be there (older kernels stop
 * there); missing later fields read as 0, extra numeric fields are ignored.
 * Returns 0, or -EINVAL when there is no such line or it holds anything but
 * decimal counters (including one above UINT64_MAX).
 */
int load_parse_stat(const char *buf, size_t len, struct load_cpu *out);

/*
 * CPU utilisation between two readings, 1000 x (1 - d_idle / d_total), where
 * idle counts idle + iowait. Returns 0 and *permille in 0..1000; -ERANGE when a
 * counter went backwards (a reset or a wrap: there is no sample this time,
 * start again from `cur`); -EAGAIN when no tick passed between the two.
 * idle and iowait are checked as a sum: the kernel documents that iowait
 * alone can decrease (Documentation/filesystems/proc.rst).
 */
int load_cpu_permille(const struct load_cpu *prev, const struct load_cpu *cur, uint16_t *permille);

/*
 * Feeds one sample taken dt_ms after the previous one into the average, with
 * alpha = 1 - exp(-dt / window): a sample counts for more the longer it
 * covers, so an irregular timer does not skew the mean. The first sample is
 * taken as is. window_ms == 0 disables smoothing. Returns the new value,
 * rounded to permille.
 */
uint16_t load_ewma_update(struct load_ewma *e, uint16_t sample, uint64_t dt_ms, uint64_t window_ms);

/*
 * Reads load1 (the first field of /proc/loadavg, "0.52 0.58 0.59 1/467 123")
 * and divides it by ncpu: *permille = 1000 x load1 / ncpu, rounded, capped at
 * 65535. Returns 0, or -EINVAL on junk or ncpu == 0.
 */
int load_parse_loadavg(const char *buf, size_t len, uint32_t ncpu, uint16_t *permille);

/*
 * Memory in use from /proc/meminfo: 1000 x (MemTotal - MemAvailable) /
 * MemTotal, rounded. Without MemAvailable (kernels before 3.14) the available
 * memory is MemFree + Buffers + Cached. Available above total reads as 0.
 * Returns 0, or -EINVAL when MemTotal is missing or 0, a needed field is
 * missing, repeated or not "<number> kB", or a line has no ':'.
 */
int load_parse_meminfo(const char *buf, size_t len, uint16_t *permille);

/*
 * The custom metric: the first line of a file or of a command's output, a
 * decimal number with an optional sign and fraction ("153", "-0.25",
 * "+12.5"), blanks around it allowed. Digits past the third decimal are
 * rounded half away from zero. Returns 0 and *milli (the value x 1000),
 * -EINVAL on anything else (empty, "1e3", ".5", "5.", "0x10", "nan", a NUL),
 * or -ERANGE when the value x 1000 does not fit an int64.
 */
int load_parse_custom(const char *buf, size_t len, int64_t *milli);

/* Means of the loads of the members in state SWIM_ALIVE that have a sample,
 * in integers rounded down, so every node computes the same from the same
 * table. */
void load_mean(const struct swim_member *const *members, size_t n, struct load_mean *out);

/*
 * Whether a new sample is worth gossiping: true when cpu, load1 per CPU or
 * memory moved by at least threshold_permille from the last published
 * sample, or the custom metric appeared, vanished, or moved by at least
 * threshold_permille of the larger of its two values (and of 1.0). A
 * threshold of 0 publishes every sample that differs at all.
 */
bool load_differs(const struct swim_load *last, const struct swim_load *cur,
		  uint16_t threshold_permille);

#endif
