/*
 * log: levelled, printf-attributed logging to stderr, with per-subsystem traces
 * (OpenSMTPD's log.h and -T, tmux's escaping of untrusted bytes).
 *
 * Lines read "2026-11-21T20:57:15.123Z mitosis[PID] LEVEL: message". The level
 * is checked before any formatting. errno is preserved by every call.
 * Peer-supplied strings must go through log_escape() before they are printed;
 * secrets are never passed here at all (print "(hidden)").
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/* Subsystem trace bits, enabled by -T NAME[,NAME] or the `trace` config key. */
#define TRACE_WIRE    (1U << 0)
#define TRACE_META    (1U << 1)
#define TRACE_HTTP    (1U << 2)
#define TRACE_GOSSIP  (1U << 3)
#define TRACE_CLOUD   (1U << 4)
#define TRACE_CONTROL (1U << 5)
/* The election: the core's role changes and the shell's messages (`-T elect`). */
#define TRACE_ELECT (1U << 6)
#define TRACE_ALL   ((1U << 7) - 1)

/* Sets the program name shown in each line (borrowed; must outlive logging). */
void log_init(const char *progname, enum log_level level, unsigned traces);
void log_set_level(enum log_level level);
void log_set_traces(unsigned traces);
enum log_level log_get_level(void);
unsigned log_get_traces(void);
bool log_trace_enabled(unsigned subsystem);

/* Parses "info" etc. Returns 0, or -EINVAL for an unknown name. */
int log_parse_level(const char *name, enum log_level *out);
/* Parses "wire,gossip" or "all" into trace bits. Returns 0, or -EINVAL and
 * points *bad at the first unknown name (inside `list`). */
int log_parse_traces(const char *list, unsigned *out, const char **bad);
const char *log_level_name(enum log_level level);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_trace(unsigned subsystem, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Startup failures and broken invariants only: log, then exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copies `len` untrusted bytes into `dst` as printable ASCII: backslash, double
 * quote and every byte outside 0x20..0x7e become \\, \" or \xNN. The result is
 * always NUL-terminated and cut (ending in "...") when it does not fit.
 * Returns dst, so it can sit inside a log call.
 */
char *log_escape(char *dst, size_t dstsize, const void *src, size_t len);

#endif
