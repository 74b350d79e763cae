/*
 * log: the one place that writes diagnostic lines. See include/log.h.
 *
 * Everything goes to stderr: in the foreground that is the terminal, and under
 * systemd it is the journal, which adds its own timestamp and priority. A line
 * is assembled in one buffer and written with one write(2) so that lines of
 * concurrent processes (the integration tests run many agents) never interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 2048

static const char *log_progname = "mitosis";
static enum log_level log_level = LOG_LEVEL_INFO;
static unsigned log_traces;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static const struct {
	const char *name;
	unsigned bit;
} trace_names[] = {
	{ "wire", TRACE_WIRE },	    { "meta", TRACE_META },   { "http", TRACE_HTTP },
	{ "gossip", TRACE_GOSSIP }, { "cloud", TRACE_CLOUD }, { "control", TRACE_CONTROL },
	{ "elect", TRACE_ELECT },
};

void
log_init(const char *progname, enum log_level level, unsigned traces)
{
	if (progname != NULL)
		log_progname = progname;
	log_level = level;
	log_traces = traces;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

void
log_set_traces(unsigned traces)
{
	log_traces = traces;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

unsigned
log_get_traces(void)
{
	return log_traces;
}

bool
log_trace_enabled(unsigned subsystem)
{
	return (log_traces & subsystem) != 0;
}

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[level];
	return "?";
}

int
log_parse_level(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int
log_parse_traces(const char *list, unsigned *out, const char **bad)
{
	const char *p = list;
	unsigned bits = 0;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		bool found = false;

		if (n == 3 && strncasecmp(p, "all", 3) == 0) {
			bits |= TRACE_ALL;
			found = true;
		}
		for (size_t i = 0; !found && i < sizeof(trace_names) / sizeof(trace_names[0]);
		     i++) {
			if (strlen(trace_names[i].name) == n &&
			    strncasecmp(p, trace_names[i].name, n) == 0) {
				bits |= trace_names[i].bit;
				found = true;
			}
		}
		if (!found && n > 0) {
			if (bad != NULL)
				*bad = p;
			return -EINVAL;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	*out = bits;
	return 0;
}

/* Writes the escaped form of byte c into tmp; returns its length (1, 2 or 4). */
static size_t
log_escape_byte(unsigned char c, char tmp[5])
{
	if (c == '\\' || c == '"') {
		tmp[0] = '\\';
		tmp[1] = (char)c;
		return 2;
	}
	if (c >= 0x20 && c <= 0x7e) {
		tmp[0] = (char)c;
		return 1;
	}
	snprintf(tmp, 5, "\\x%02x", c);
	return 4;
}

char *
log_escape(char *dst, size_t dstsize, const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t need = 0, limit, o = 0;
	char tmp[5];

	if (dstsize == 0)
		return dst;
	for (size_t i = 0; i < len && need < dstsize; i++)
		need += log_escape_byte(s[i], tmp);
	/*
	 * When it does not fit, room is kept for "..." first and only whole
	 * escapes go before it: cutting after the fact could leave "\x0" or a
	 * lone "\" in front of the dots, which a reader would misread.
	 */
	if (need < dstsize)
		limit = dstsize - 1;
	else
		limit = dstsize - 1 < 3 ? 0 : dstsize - 4;
	for (size_t i = 0; i < len; i++) {
		size_t n = log_escape_byte(s[i], tmp);

		if (o + n > limit)
			break;
		memcpy(dst + o, tmp, n);
		o += n;
	}
	if (need >= dstsize) {
		size_t dots = dstsize - 1 < 3 ? dstsize - 1 : 3;

		memset(dst + o, '.', dots);
		o += dots;
	}
	dst[o] = '\0';
	return dst;
}

/* Appends to a line buffer, keeping room for the final newline. */
static void __attribute__((format(printf, 4, 0)))
log_vappend(char *line, size_t size, size_t *n, const char *fmt, va_list ap)
{
	int r;

	if (*n >= size - 1)
		return;
	r = vsnprintf(line + *n, size - 1 - *n, fmt, ap);
	if (r > 0)
		*n += (size_t)r < size - 1 - *n ? (size_t)r : size - 2 - *n;
}

static void __attribute__((format(printf, 4, 5)))
log_append(char *line, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vappend(line, size, n, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 0)))
log_vwrite(const char *level, const char *fmt, va_list ap, int errnum)
{
	char line[LOG_LINE_MAX], stamp[32];
	struct timeval tv;
	struct tm tm;
	size_t n = 0;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	log_append(line, sizeof(line), &n, "%s.%03ldZ %s[%ld] %s: ", stamp, (long)tv.tv_usec / 1000,
		   log_progname, (long)getpid(), level);
	log_vappend(line, sizeof(line), &n, fmt, ap);
	if (errnum != 0)
		log_append(line, sizeof(line), &n, ": %s", strerror(errnum));
	line[n++] = '\n';
	/* One write per line; a short write to stderr is not worth a retry loop. */
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it. */
	}
}

#define LOG_BODY(lvl, name, errnum)                                                                \
	do {                                                                                       \
		int saved_errno = errno;                                                           \
		va_list ap;                                                                        \
		if (log_level < (lvl)) {                                                           \
			errno = saved_errno;                                                       \
			return;                                                                    \
		}                                                                                  \
		va_start(ap, fmt);                                                                 \
		log_vwrite(name, fmt, ap, (errnum));                                               \
		va_end(ap);                                                                        \
		errno = saved_errno;                                                               \
	} while (0)

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, "error", 0);
}

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, "warn", saved_errno);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, "warn", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, "info", 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, "debug", 0);
}

void
log_trace(unsigned subsystem, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if ((log_traces & subsystem) == 0)
		return;
	va_start(ap, fmt);
	log_vwrite("trace", fmt, ap, 0);
	va_end(ap);
	errno = saved_errno;
}

void
fatal(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("fatal", fmt, ap, saved_errno);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
