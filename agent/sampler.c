/*
 * sampler: reads this node's load on a uv_timer and hands it to the agent.
 *
 * procfs is read synchronously: its files are generated in memory and never
 * block. The custom metric comes from a file (read the same way) or from a
 * command, run as "/bin/sh -c CMD" in its own session (UV_PROCESS_DETACHED,
 * so it leads a process group) with stdout on a pipe and a deadline timer:
 * past the deadline the whole group gets SIGKILL, so a pipeline or a
 * grandchild holding stdout cannot outlive it. There is never more than one
 * run; a run ends once the shell has exited and its stdout is closed, and
 * only then is that round's sample handed over.
 *
 * Failures of the custom metric are logged once per change of condition
 * ("exit status 3" -> "timed out" -> ok), not every round. The command text
 * itself is never logged: it may carry a credential.
 *
 * Handles: the tick and deadline timers for the sampler's life, the process
 * and the pipe for each run. They are embedded; sampler_close() closes them
 * and the last close callback frees the sampler.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "load.h"
#include "log.h"
#include "sampler.h"
#include "xmalloc.h"

#define SAMPLER_PROC_MAX   8192 /* the aggregate cpu line is first in /proc/stat */
#define SAMPLER_CUSTOM_MAX 4096

#define SAMPLER_BAD_STAT    (1U << 0)
#define SAMPLER_BAD_LOADAVG (1U << 1)
#define SAMPLER_BAD_MEMINFO (1U << 2)

enum sampler_cond {
	SAMPLER_COND_NONE = 0, /* nothing happened yet */
	SAMPLER_COND_OK,
	SAMPLER_COND_READ,    /* the file could not be read */
	SAMPLER_COND_SPAWN,   /* the shell could not be started */
	SAMPLER_COND_EXIT,    /* exit status != 0 */
	SAMPLER_COND_SIGNAL,  /* killed by a signal not ours */
	SAMPLER_COND_TIMEOUT, /* killed at the deadline */
	SAMPLER_COND_BUSY,    /* a killed run had not ended by the next tick */
	SAMPLER_COND_JUNK,    /* output is not a number */
	SAMPLER_COND_RANGE,   /* a number too large */
};

struct sampler {
	uv_loop_t *loop;
	uv_timer_t tick;
	uv_timer_t deadline;
	uv_process_t proc;
	uv_pipe_t out;
	uint64_t interval_ms, window_ms, timeout_ms;
	char *custom_file, *custom_command, *proc_dir;
	sampler_fn *fn;
	void *arg;

	struct load_cpu prev_cpu;
	uint64_t prev_cpu_ms;
	bool have_cpu;
	struct load_ewma ewma;
	struct swim_load pending; /* this round's sample, custom not yet set */
	unsigned bad_proc;	  /* SAMPLER_BAD_* now failing */
	enum sampler_cond cond;

	/* The current run of the command. */
	bool running; /* handles of a run are open */
	bool proc_open, out_open;
	bool exited, out_done, finished, timed_out;
	int pid;
	int64_t exit_status;
	int term_signal;
	size_t outlen;
	char outbuf[SAMPLER_CUSTOM_MAX];
	char readbuf[1024];

	unsigned open_handles;
	bool closing;
};

/* Logs a change of the custom metric's condition; the same one again is quiet. */
static void __attribute__((format(printf, 3, 4)))
sampler_note(struct sampler *s, enum sampler_cond cond, const char *fmt, ...)
{
	const char *what = s->custom_file != NULL ? "custom_metric_file" : "custom_metric_command";
	char msg[256];
	va_list ap;

	if (cond == s->cond)
		return;
	if (cond == SAMPLER_COND_OK) {
		if (s->cond != SAMPLER_COND_NONE)
			log_info("%s: a value again", what);
		s->cond = cond;
		return;
	}
	s->cond = cond;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s: %s; no custom value until this changes", what, msg);
}

/* Reads up to size bytes of a file. 0 and *len, or -errno. */
static int
sampler_read(const char *path, char *buf, size_t size, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	size_t n = 0;
	int r = 0;

	if (fd < 0)
		return -errno;
	while (n < size) {
		ssize_t k = read(fd, buf + n, size - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	*len = n;
	return r;
}

static int
sampler_read_proc(const struct sampler *s, const char *name, char *buf, size_t size, size_t *len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", s->proc_dir, name);
	return sampler_read(path, buf, size, len);
}

/* A new /proc/stat reading: one more CPU sample into the average. */
static int
sampler_update_cpu(struct sampler *s, const char *buf, size_t len, uint64_t now)
{
	struct load_cpu c;
	uint16_t pm;
	int r;

	if (load_parse_stat(buf, len, &c) != 0)
		return -EINVAL;
	if (!s->have_cpu) {
		s->have_cpu = true;
		s->prev_cpu = c;
		s->prev_cpu_ms = now;
		return 0;
	}
	r = load_cpu_permille(&s->prev_cpu, &c, &pm);
	if (r == -EAGAIN)
		return 0; /* no tick yet: keep the older reading as the base */
	if (r == 0)
		s->pending.cpu_permille =
			load_ewma_update(&s->ewma, pm, now - s->prev_cpu_ms, s->window_ms);
	else
		log_debug("load: /proc/stat counters went backwards; starting again from here");
	s->prev_cpu = c;
	s->prev_cpu_ms = now;
	return 0;
}

static uint32_t
sampler_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 && n < (long)UINT32_MAX ? (uint32_t)n : 1;
}

/* Logs /proc files that start or stop failing (once per change). */
static void
sampler_note_proc(struct sampler *s, unsigned bad)
{
	static const char *const names[] = { "stat", "loadavg", "meminfo" };

	for (unsigned i = 0; i < 3; i++) {
		unsigned bit = 1U << i;

		if ((bad & bit) && !(s->bad_proc & bit))
			log_warnx("load: %s/%s cannot be read or parsed; keeping the last value",
				  s->proc_dir, names[i]);
		else if (!(bad & bit) && (s->bad_proc & bit))
			log_info("load: %s/%s reads again", s->proc_dir, names[i]);
	}
	s->bad_proc = bad;
}

/* Refreshes cpu, load1 and mem in s->pending; failures keep the last value. */
static void
sampler_sample_proc(struct sampler *s)
{
	char buf[SAMPLER_PROC_MAX];
	size_t len;
	unsigned bad = 0;
	uint16_t pm;

	if (sampler_read_proc(s, "stat", buf, sizeof(buf), &len) != 0 ||
	    sampler_update_cpu(s, buf, len, uv_now(s->loop)) != 0)
		bad |= SAMPLER_BAD_STAT;
	if (sampler_read_proc(s, "loadavg", buf, sizeof(buf), &len) == 0 &&
	    load_parse_loadavg(buf, len, sampler_ncpu(), &pm) == 0)
		s->pending.load1_permille = pm;
	else
		bad |= SAMPLER_BAD_LOADAVG;
	if (sampler_read_proc(s, "meminfo", buf, sizeof(buf), &len) == 0 &&
	    load_parse_meminfo(buf, len, &pm) == 0)
		s->pending.mem_permille = pm;
	else
		bad |= SAMPLER_BAD_MEMINFO;
	sampler_note_proc(s, bad);
}

static void
sampler_publish(struct sampler *s, bool has_custom, int64_t custom)
{
	struct swim_load l = s->pending;

	if (s->closing)
		return;
	l.version = 0;
	l.has_custom = has_custom;
	l.custom_milli = has_custom ? custom : 0;
	log_trace(TRACE_GOSSIP,
		  "load: cpu %u mem %u load1/cpu %u custom %s%" PRId64 " (permille, milli)",
		  l.cpu_permille, l.mem_permille, l.load1_permille, has_custom ? "" : "none ",
		  l.custom_milli);
	s->fn(&l, s->arg);
}

/*
 * Parses the first line of a file or of a command's output. Returns true and
 * *v, or notes why not.
 */
static bool
sampler_parse_custom(struct sampler *s, const char *buf, size_t len, int64_t *v)
{
	const char *nl;
	char esc[64];
	int r;

	if (len == SAMPLER_CUSTOM_MAX && memchr(buf, '\n', len) == NULL) {
		sampler_note(s, SAMPLER_COND_JUNK, "first line longer than %d bytes",
			     SAMPLER_CUSTOM_MAX);
		return false;
	}
	r = load_parse_custom(buf, len, v);
	if (r == 0) {
		sampler_note(s, SAMPLER_COND_OK, "ok");
		return true;
	}
	if (r == -ERANGE) {
		sampler_note(s, SAMPLER_COND_RANGE, "value out of range");
		return false;
	}
	nl = memchr(buf, '\n', len);
	log_escape(esc, sizeof(esc), buf, nl != NULL ? (size_t)(nl - buf) : len);
	sampler_note(s, SAMPLER_COND_JUNK, "not a number: \"%s\"", esc);
	return false;
}

static void
sampler_custom_file(struct sampler *s)
{
	char buf[SAMPLER_CUSTOM_MAX];
	size_t len = 0;
	int64_t v;
	int r = sampler_read(s->custom_file, buf, sizeof(buf), &len);

	if (r != 0) {
		sampler_note(s, SAMPLER_COND_READ, "%s: %s", s->custom_file, strerror(-r));
		sampler_publish(s, false, 0);
		return;
	}
	if (sampler_parse_custom(s, buf, len, &v))
		sampler_publish(s, true, v);
	else
		sampler_publish(s, false, 0);
}

static void
sampler_on_close(uv_handle_t *h)
{
	struct sampler *s = h->data;

	if (h == (uv_handle_t *)&s->proc)
		s->proc_open = false;
	else if (h == (uv_handle_t *)&s->out)
		s->out_open = false;
	if (!s->proc_open && !s->out_open)
		s->running = false;
	if (--s->open_handles == 0 && s->closing) {
		free(s->custom_file);
		free(s->custom_command);
		free(s->proc_dir);
		free(s);
	}
}

static void
sampler_close_handle(struct sampler *s, uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, sampler_on_close);
}

/* The run is over once the shell has exited and its stdout is closed. */
static void
sampler_run_finish(struct sampler *s)
{
	int64_t v;

	if (!s->exited || !s->out_done || s->finished)
		return;
	s->finished = true;
	uv_timer_stop(&s->deadline);
	if (s->timed_out)
		sampler_note(s, SAMPLER_COND_TIMEOUT,
			     "killed after %" PRIu64 " ms (custom_metric_timeout)", s->timeout_ms);
	else if (s->term_signal != 0)
		sampler_note(s, SAMPLER_COND_SIGNAL, "killed by signal %d", s->term_signal);
	else if (s->exit_status != 0)
		sampler_note(s, SAMPLER_COND_EXIT, "exit status %" PRId64, s->exit_status);
	else if (sampler_parse_custom(s, s->outbuf, s->outlen, &v)) {
		sampler_publish(s, true, v);
		return;
	}
	sampler_publish(s, false, 0);
}

static void
sampler_on_exit(uv_process_t *p, int64_t exit_status, int term_signal)
{
	struct sampler *s = container_of(p, struct sampler, proc);

	s->exited = true;
	s->exit_status = exit_status;
	s->term_signal = term_signal;
	sampler_close_handle(s, (uv_handle_t *)&s->proc);
	sampler_run_finish(s);
}

static void
sampler_out_done(struct sampler *s)
{
	s->out_done = true;
	uv_read_stop((uv_stream_t *)&s->out);
	sampler_close_handle(s, (uv_handle_t *)&s->out);
}

static void
sampler_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct sampler *s = container_of((uv_pipe_t *)(void *)h, struct sampler, out);

	*buf = uv_buf_init(s->readbuf, sizeof(s->readbuf));
}

/* Keeps the first SAMPLER_CUSTOM_MAX bytes; the rest is read and dropped so
 * that a chatty command does not block on a full pipe. */
static void
sampler_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct sampler *s = container_of((uv_pipe_t *)(void *)st, struct sampler, out);

	if (nread > 0) {
		size_t n = (size_t)nread, room = sizeof(s->outbuf) - s->outlen;

		memcpy(s->outbuf + s->outlen, buf->base, n < room ? n : room);
		s->outlen += n < room ? n : room;
		return;
	}
	if (nread < 0) {
		sampler_out_done(s);
		sampler_run_finish(s);
	}
}

static void
sampler_on_deadline(uv_timer_t *t)
{
	struct sampler *s = container_of(t, struct sampler, deadline);

	s->timed_out = true;
	/* The whole group: sh may have forked the real work. */
	uv_kill(-s->pid, SIGKILL);
	if (!s->out_done)
		sampler_out_done(s);
	sampler_run_finish(s);
}

static int
sampler_spawn(struct sampler *s)
{
	char *args[] = { (char *)(uintptr_t) "/bin/sh", (char *)(uintptr_t) "-c", s->custom_command,
			 NULL };
	uv_stdio_container_t io[3];
	uv_process_options_t o;

	memset(&o, 0, sizeof(o));
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&s->out;
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = STDERR_FILENO;
	o.file = args[0];
	o.args = args;
	o.cwd = "/";
	o.flags = UV_PROCESS_DETACHED;
	o.stdio = io;
	o.stdio_count = 3;
	o.exit_cb = sampler_on_exit;
	return uv_spawn(s->loop, &s->proc, &o);
}

/* Starts one run of the command. 0, or a libuv error (the handles of the
 * failed run are closing). */
static int
sampler_run_start(struct sampler *s)
{
	int r;

	s->exited = s->out_done = s->finished = s->timed_out = false;
	s->exit_status = 0;
	s->term_signal = 0;
	s->outlen = 0;
	uv_pipe_init(s->loop, &s->out, 0);
	s->out.data = s;
	r = sampler_spawn(s);
	/* uv_spawn initialises the handle even when it fails: both need closing. */
	s->proc.data = s;
	s->open_handles += 2;
	s->proc_open = s->out_open = s->running = true;
	if (r != 0) {
		sampler_close_handle(s, (uv_handle_t *)&s->proc);
		sampler_close_handle(s, (uv_handle_t *)&s->out);
		return r;
	}
	s->pid = s->proc.pid;
	uv_read_start((uv_stream_t *)&s->out, sampler_on_alloc, sampler_on_read);
	uv_timer_start(&s->deadline, sampler_on_deadline, s->timeout_ms, 0);
	return 0;
}

static void
sampler_custom_command(struct sampler *s)
{
	int r;

	if (s->running) {
		/* A command slower than the interval: its end publishes this round.
		 * Only one that outlives its SIGKILL (stuck in the kernel) must not
		 * hold the other figures back. */
		if (!s->timed_out)
			return;
		sampler_note(s, SAMPLER_COND_BUSY, "killed at the deadline but has not exited");
		sampler_publish(s, false, 0);
		return;
	}
	r = sampler_run_start(s);
	if (r != 0) {
		sampler_note(s, SAMPLER_COND_SPAWN, "cannot start /bin/sh: %s", uv_strerror(r));
		sampler_publish(s, false, 0);
	}
}

static void
sampler_on_tick(uv_timer_t *t)
{
	struct sampler *s = container_of(t, struct sampler, tick);

	sampler_sample_proc(s);
	if (!s->ewma.primed)
		return; /* no CPU figure yet: nothing worth gossiping */
	if (s->custom_command != NULL)
		sampler_custom_command(s);
	else if (s->custom_file != NULL)
		sampler_custom_file(s);
	else
		sampler_publish(s, false, 0);
}

int
sampler_start(uv_loop_t *loop, const struct sampler_opts *opts, sampler_fn *fn, void *arg,
	      struct sampler **out)
{
	struct sampler *s;

	if (opts->interval_ms == 0 || fn == NULL ||
	    (opts->custom_file != NULL && opts->custom_command != NULL) ||
	    (opts->custom_command != NULL && opts->custom_timeout_ms == 0))
		return -EINVAL;
	s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->interval_ms = opts->interval_ms;
	s->window_ms = opts->window_ms;
	s->timeout_ms = opts->custom_timeout_ms;
	s->custom_file = opts->custom_file != NULL ? xstrdup(opts->custom_file) : NULL;
	s->custom_command = opts->custom_command != NULL ? xstrdup(opts->custom_command) : NULL;
	s->proc_dir = xstrdup(opts->proc_dir != NULL ? opts->proc_dir : "/proc");
	s->fn = fn;
	s->arg = arg;
	uv_timer_init(loop, &s->tick);
	uv_timer_init(loop, &s->deadline);
	s->tick.data = s->deadline.data = s;
	s->open_handles = 2;
	sampler_sample_proc(s); /* the first /proc/stat reading: the base */
	uv_timer_start(&s->tick, sampler_on_tick, s->interval_ms, s->interval_ms);
	*out = s;
	return 0;
}

void
sampler_close(struct sampler *s)
{
	if (s == NULL || s->closing)
		return;
	s->closing = true;
	uv_timer_stop(&s->tick);
	uv_timer_stop(&s->deadline);
	if (s->running && !s->exited && s->pid > 0)
		uv_kill(-s->pid, SIGKILL);
	if (s->proc_open)
		sampler_close_handle(s, (uv_handle_t *)&s->proc);
	if (s->out_open)
		sampler_close_handle(s, (uv_handle_t *)&s->out);
	sampler_close_handle(s, (uv_handle_t *)&s->tick);
	sampler_close_handle(s, (uv_handle_t *)&s->deadline);
}
