/*
 * cfg: the parser of the configuration file and of the flags that mirror it,
 * and the checks that span several keys. The keys themselves (names, types,
 * defaults, ranges, setters) are rows of the table in cfg_keys.c.
 *
 * The parser records every error instead of stopping at the first one, so that
 * `mitosis agent -n` lists all of them. It also remembers where each key was
 * set (file and line, or flag): that is what detects a key given twice in one
 * file, lets a flag win over the file in either order, and lets cfg_finish()
 * point at the offending line of a cross-key mistake.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actuate.h"
#include "cfg.h"
#include "policy.h"
#include "cfg_priv.h"
#include "elect.h"
#include "util.h"

#define CFG_LINE_MAX	4096
#define CFG_FILE_MAX	(1024 * 1024)
#define CFG_MAX_ERRORS	100
#define CFG_MSG		1024
#define CFG_DROPINS_MAX 128 /* drop-in files read from one conf.d */

/* Where a key was last set. */
struct cfg_origin {
	char *file;    /* source of the last file line that set it, or NULL */
	unsigned line; /* its line */
	char *flag;    /* the flag that set it, or NULL */
	char *value;   /* the text of the value in force, for --show-origin; NULL = default */
	bool bad;      /* the last value given was rejected (and reported) */
};

struct cfg_parser {
	struct cfg *cfg;
	char *first_source;	   /* the first file parsed, named by missing-key errors */
	struct cfg_origin *origin; /* one per row of cfg__table */
	char **errors;
	size_t nerrors;
	size_t dropped; /* errors past CFG_MAX_ERRORS */
	bool oom;	/* an error could not be recorded */
	bool failed;	/* any error at all */
	bool finished;
	bool unreadable;  /* a file could not be read: its keys are not "missing" */
	char summary[96]; /* the last line when errors were dropped */
};

/* --- errors ------------------------------------------------------------ */

static bool cfg_verror(struct cfg_parser *p, const char *source, unsigned line, const char *fmt,
		       va_list ap) __attribute__((format(printf, 4, 0)));

/* Records "SOURCE:LINE: message" (or "SOURCE: message" for line 0). Returns false. */
static bool
cfg_verror(struct cfg_parser *p, const char *source, unsigned line, const char *fmt, va_list ap)
{
	char msg[CFG_MSG], src[CFG_SHOW * 4], where[16] = "";
	size_t size;
	char *e;

	p->failed = true;
	if (p->nerrors >= CFG_MAX_ERRORS) {
		p->dropped++;
		snprintf(p->summary, sizeof(p->summary), "too many errors: %zu more not shown",
			 p->dropped);
		return false;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	cfg__show(src, sizeof(src), source);
	if (line > 0)
		snprintf(where, sizeof(where), ":%u", line);
	size = strlen(src) + strlen(where) + strlen(msg) + 3;
	e = malloc(size);
	if (e == NULL) {
		p->oom = true;
		return false;
	}
	snprintf(e, size, "%s%s: %s", src, where, msg);
	p->errors[p->nerrors++] = e;
	return false;
}

static bool cfg_error_at(struct cfg_parser *p, const char *source, unsigned line, const char *fmt,
			 ...) __attribute__((format(printf, 4, 5)));

static bool
cfg_error_at(struct cfg_parser *p, const char *source, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_verror(p, source, line, fmt, ap);
	va_end(ap);
	return false;
}

/* True when source is the flag of key k ("--metadata-url"), which then need not be named twice. */
static bool
cfg_is_own_flag(const struct cfg_key *k, const char *source)
{
	const char *name = k->info.name;

	if (strncmp(source, "--", 2) != 0)
		return false;
	for (source += 2; *name != '\0'; name++, source++)
		if (*source != (*name == '_' ? '-' : *name))
			return false;
	return *source == '\0';
}

/* An error about key k: "SOURCE:LINE: key: message". */
static bool
cfg_key_error(struct cfg_parser *p, const struct cfg_key *k, const char *source, unsigned line,
	      const char *msg)
{
	if (cfg_is_own_flag(k, source))
		return cfg_error_at(p, source, line, "%s", msg);
	return cfg_error_at(p, source, line, "%s: %s", k->info.name, msg);
}

size_t
cfg_error_count(const struct cfg_parser *p)
{
	return p->nerrors + (p->dropped > 0 || p->oom ? 1 : 0);
}

const char *
cfg_error(const struct cfg_parser *p, size_t i)
{
	if (i < p->nerrors)
		return p->errors[i];
	if (i == p->nerrors && p->oom)
		return "out of memory: some configuration errors were not recorded";
	if (i == p->nerrors && p->dropped > 0)
		return p->summary;
	return NULL;
}

/* --- the parser -------------------------------------------------------- */

struct cfg_parser *
cfg_parser_new(struct cfg *cfg)
{
	struct cfg_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->errors = calloc(CFG_MAX_ERRORS, sizeof(*p->errors));
	p->origin = calloc(cfg__nkeys, sizeof(*p->origin));
	if (p->errors == NULL || p->origin == NULL) {
		free(p->errors);
		free(p->origin);
		free(p);
		return NULL;
	}
	p->cfg = cfg;
	return p;
}

void
cfg_parser_free(struct cfg_parser *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < cfg__nkeys; i++) {
		free(p->origin[i].file);
		free(p->origin[i].flag);
		free(p->origin[i].value);
	}
	for (size_t i = 0; i < p->nerrors; i++)
		free(p->errors[i]);
	free(p->errors);
	free(p->origin);
	free(p->first_source);
	free(p);
}

/* Remembers the first file source, which names the file in missing-key errors. */
static void
cfg_note_source(struct cfg_parser *p, const char *source)
{
	if (p->first_source != NULL)
		return;
	p->first_source = strdup(source);
	if (p->first_source == NULL)
		cfg_error_at(p, source, 0, "out of memory");
}

static bool
cfg_unknown_key(struct cfg_parser *p, const char *source, unsigned line, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	char show[CFG_SHOW];

	for (size_t i = 0; i < cfg__nkeys; i++) {
		size_t d = util_distance(name, cfg__table[i].info.name);

		if (d < best_d) {
			best_d = d;
			best = cfg__table[i].info.name;
		}
	}
	cfg__show(show, sizeof(show), name);
	if (best != NULL)
		return cfg_error_at(p, source, line, "unknown key '%s' (did you mean '%s'?)", show,
				    best);
	return cfg_error_at(p, source, line, "unknown key '%s'", show);
}

/* Takes the new origin string, replacing the old one; false on ENOMEM. */
static bool
cfg_replace(char **slot, const char *s)
{
	char *dup = strdup(s);

	if (dup == NULL)
		return false;
	free(*slot);
	*slot = dup;
	return true;
}

/*
 * Sets key k from a file line or a flag. A file value under a flag is still
 * checked (its mistakes are still mistakes) but not stored.
 */
static bool
cfg_apply(struct cfg_parser *p, const struct cfg_key *k, const char *source, unsigned line,
	  bool flag, const char *value)
{
	struct cfg_origin *o = &p->origin[k - cfg__table];
	char msg[CFG_MSG];
	struct cfg scratch;
	int rc;

	if (!flag && o->file != NULL && strcmp(o->file, source) == 0)
		return cfg_error_at(p, source, line, "key '%s' already set at line %u",
				    k->info.name, o->line);
	if (!cfg_replace(flag ? &o->flag : &o->file, source))
		return cfg_key_error(p, k, source, line, "out of memory");
	if (!flag)
		o->line = line;
	if (flag || o->flag == NULL) {
		rc = k->set(p->cfg, k, value, msg, sizeof(msg));
	} else {
		memset(&scratch, 0, sizeof(scratch));
		rc = k->set(&scratch, k, value, msg, sizeof(msg));
		cfg__clear(&scratch);
	}
	/* A flag's verdict stands for the key; a file line under a flag does not change it. */
	if (flag || o->flag == NULL) {
		o->bad = rc < 0;
		if (rc == 0 && !cfg_replace(&o->value, value))
			rc = -ENOMEM;
	}
	if (rc == -ENOMEM)
		return cfg_key_error(p, k, source, line, "out of memory");
	if (rc < 0)
		return cfg_key_error(p, k, source, line, msg);
	return true;
}

/* An unquoted value ends at a '#' that starts it or follows a blank; blanks are trimmed. */
static void
cfg_value_plain(const char *s, char *out)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (s[n] == '#' && (n == 0 || s[n - 1] == ' ' || s[n - 1] == '\t'))
			break;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* A quoted value knows only the escapes \" and \\, and only a comment may follow it. */
static int
cfg_value_quoted(const char *s, char *out, char *msg, size_t msgsize)
{
	char show[8];
	size_t n = 0;

	for (s++; *s != '"'; s++) {
		if (*s == '\\' && s[1] != '\0') {
			if (s[1] != '"' && s[1] != '\\') {
				log_escape(show, sizeof(show), s + 1, 1);
				snprintf(msg, msgsize,
					 "unknown escape '\\%s' in quoted value "
					 "(only \\\" and \\\\ are known)",
					 show);
				return -EINVAL;
			}
			s++;
		} else if (*s == '\0' || *s == '\\') {
			snprintf(msg, msgsize, "unterminated quoted value");
			return -EINVAL;
		}
		out[n++] = *s;
	}
	out[n] = '\0';
	s += 1 + strspn(s + 1, CFG_BLANKS);
	if (*s != '\0' && *s != '#') {
		snprintf(msg, msgsize, "unexpected text after the quoted value");
		return -EINVAL;
	}
	return 0;
}

/* Parses "key = value" (a copy, NUL-terminated, not a comment) and applies it. */
static bool
cfg_parse_assignment(struct cfg_parser *p, const char *source, unsigned lineno, char *s)
{
	char value[CFG_LINE_MAX + 1], show[CFG_SHOW], msg[CFG_MSG];
	const struct cfg_key *k;
	size_t keylen = strcspn(s, " \t=\"#");
	char *eq = s + keylen + strspn(s + keylen, CFG_BLANKS);

	if (keylen == 0)
		return cfg_error_at(p, source, lineno, "expected 'key = value'");
	if (*eq != '=') {
		s[keylen] = '\0';
		return cfg_error_at(p, source, lineno, "missing '=' after key '%s'",
				    cfg__show(show, sizeof(show), s));
	}
	s[keylen] = '\0';
	k = cfg__lookup(s);
	if (k == NULL)
		return cfg_unknown_key(p, source, lineno, s);
	eq += 1 + strspn(eq + 1, CFG_BLANKS);
	if (*eq != '"')
		cfg_value_plain(eq, value);
	else if (cfg_value_quoted(eq, value, msg, sizeof(msg)) < 0)
		return cfg_error_at(p, source, lineno, "%s", msg);
	if (value[0] == '\0')
		return cfg_error_at(p, source, lineno, "empty value for '%s'", k->info.name);
	return cfg_apply(p, k, source, lineno, false, value);
}

bool
cfg_parse_line(struct cfg_parser *p, const char *source, unsigned lineno, const char *line,
	       size_t len)
{
	char buf[CFG_LINE_MAX + 1];
	char *s;

	cfg_note_source(p, source);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CFG_LINE_MAX)
		return cfg_error_at(p, source, lineno, "line is longer than %d bytes",
				    CFG_LINE_MAX);
	if (memchr(line, '\0', len) != NULL)
		return cfg_error_at(p, source, lineno, "NUL byte in line (is this a text file?)");
	memcpy(buf, line, len);
	buf[len] = '\0';
	s = buf + strspn(buf, CFG_BLANKS);
	if (*s == '\0' || *s == '#')
		return true;
	return cfg_parse_assignment(p, source, lineno, s);
}

bool
cfg_parse_buffer(struct cfg_parser *p, const char *source, const char *buf, size_t len)
{
	size_t pos = 0;
	unsigned lineno = 1;
	bool ok = true;

	cfg_note_source(p, source);
	/* Some editors start a UTF-8 file with a byte order mark. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;

		if (!cfg_parse_line(p, source, lineno, buf + pos, n))
			ok = false;
		pos += n + 1;
		lineno++;
	}
	return ok;
}

/* Reads at most CFG_FILE_MAX bytes of path into a new buffer. 0 or -errno. */
static int
cfg_read_file(const char *path, char **out, size_t *len)
{
	char *buf = malloc(CFG_FILE_MAX + 1);
	size_t n = 0;
	int fd = -1, rc = 0;

	if (buf == NULL)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	while (n <= CFG_FILE_MAX) {
		ssize_t r = read(fd, buf + n, CFG_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : 0;
			break;
		}
		n += (size_t)r;
	}
	if (rc == 0 && n > CFG_FILE_MAX)
		rc = -EFBIG;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return 0;
}

bool
cfg_parse_file(struct cfg_parser *p, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	bool ok;
	int rc;

	cfg_note_source(p, path);
	rc = cfg_read_file(path, &buf, &len);
	if (rc < 0)
		p->unreadable = true;
	if (rc == -EFBIG)
		return cfg_error_at(p, path, 0, "larger than 1 MiB; is this the right file?");
	if (rc < 0)
		return cfg_error_at(p, path, 0, "cannot read: %s", strerror(-rc));
	ok = cfg_parse_buffer(p, path, buf, len);
	free(buf);
	return ok;
}

/* A drop-in's name: NAME.conf, not hidden (editors' and dpkg's leftovers are
 * .name.swp, name.conf.dpkg-old, name.conf~, which this refuses too). */
static bool
cfg_is_dropin_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

static int
cfg_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The drop-in names of dir, sorted bytewise (as systemd sorts its drop-ins).
 * 0, or -errno (-ENOENT: no such directory; -E2BIG: over CFG_DROPINS_MAX). */
static int
cfg_list_dropins(const char *dir, char ***out, size_t *nout)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc = 0;

	if (d == NULL)
		return -errno;
	names = calloc(CFG_DROPINS_MAX, sizeof(*names));
	while (names != NULL && rc == 0 && (e = readdir(d)) != NULL) {
		if (!cfg_is_dropin_name(e->d_name))
			continue;
		if (n == CFG_DROPINS_MAX)
			rc = -E2BIG;
		else if ((names[n++] = strdup(e->d_name)) == NULL)
			rc = -ENOMEM;
	}
	closedir(d);
	if (names == NULL)
		return -ENOMEM;
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return rc;
	}
	qsort(names, n, sizeof(*names), cfg_name_cmp);
	*out = names;
	*nout = n;
	return 0;
}

/* "DIR/conf.d" for the main file at path; NULL on ENOMEM. */
static char *
cfg_dropin_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	if (slash == NULL)
		return strdup("conf.d");
	if (asprintf(&dir, "%.*s/conf.d", (int)(slash - path), path) < 0)
		return NULL;
	return dir;
}

bool
cfg_parse_dropins(struct cfg_parser *p, const char *main_path)
{
	char *dir = cfg_dropin_dir(main_path), **names = NULL, *path;
	size_t n = 0;
	bool ok = true;
	int rc;

	if (dir == NULL)
		return cfg_error_at(p, main_path, 0, "out of memory");
	rc = cfg_list_dropins(dir, &names, &n);
	if (rc == -ENOENT || rc == -ENOTDIR)
		rc = 0; /* no conf.d: nothing to add */
	else if (rc == -E2BIG)
		ok = cfg_error_at(p, dir, 0, "more than %d drop-in files; merge some",
				  CFG_DROPINS_MAX);
	else if (rc < 0)
		ok = cfg_error_at(p, dir, 0, "cannot read: %s", strerror(-rc));
	for (size_t i = 0; i < n; i++) {
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			ok = cfg_error_at(p, dir, 0, "out of memory");
		} else {
			ok = cfg_parse_file(p, path) && ok;
			free(path);
		}
		free(names[i]);
	}
	free(names);
	free(dir);
	return ok;
}

bool
cfg_set(struct cfg_parser *p, const char *where, const char *key, const char *value)
{
	char name[64];
	const struct cfg_key *k = NULL;
	size_t i;

	if (where == NULL)
		where = "command line";
	/* Accept "metadata-url" too: it is how the flag spells the key. */
	for (i = 0; key[i] != '\0' && i < sizeof(name) - 1; i++)
		name[i] = key[i] == '-' ? '_' : key[i];
	name[i] = '\0';
	if (key[i] == '\0')
		k = cfg__lookup(name);
	if (k == NULL)
		return cfg_unknown_key(p, where, 0, key);
	if (value == NULL || value[0] == '\0')
		return cfg_error_at(p, where, 0, "empty value for '%s'", k->info.name);
	return cfg_apply(p, k, where, 0, true, value);
}

/* --- whole-config checks ------------------------------------------------ */

static const struct cfg_origin *
cfg_origin_of(const struct cfg_parser *p, const char *name)
{
	return &p->origin[cfg__lookup(name) - cfg__table];
}

/* Where a key was set, for messages: its flag, or its file and line. */
static void
cfg_where(const struct cfg_origin *o, const char **source, unsigned *line)
{
	*source = o->flag != NULL ? o->flag : o->file;
	*line = o->flag != NULL ? 0 : o->line;
}

static bool
cfg_given(const struct cfg_origin *o)
{
	return o->flag != NULL || o->file != NULL;
}

static void
cfg_check_identity(struct cfg_parser *p)
{
	static const char *const identity[] = { "hostname", "region", "public_ipv4", "private_ipv4",
						"tags" };
	static const char *const required[] = { "hostname", "private_ipv4" };
	const struct cfg_origin *id = cfg_origin_of(p, "node_id");
	const char *src;
	unsigned line;

	if (id->bad)
		return;
	if (cfg_given(id)) {
		cfg_where(id, &src, &line);
		for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
			if (!cfg_given(cfg_origin_of(p, required[i])))
				cfg_error_at(p, src, line,
					     "static identity: node_id is set, so '%s' is required",
					     required[i]);
		return;
	}
	for (size_t i = 0; i < sizeof(identity) / sizeof(identity[0]); i++) {
		const struct cfg_origin *o = cfg_origin_of(p, identity[i]);

		if (!cfg_given(o) || o->bad)
			continue;
		cfg_where(o, &src, &line);
		cfg_key_error(p, cfg__lookup(identity[i]), src, line,
			      "static identity keys need node_id (set node_id, or remove this key "
			      "to read the identity from the metadata service)");
	}
}

/* Reports `msg` at whichever of two keys was set last in the input (or the
 * first that was set at all), so the message points at a line to change. */
static void
cfg_pair_error(struct cfg_parser *p, const char *a, const char *b, const char *msg)
{
	const struct cfg_origin *oa = cfg_origin_of(p, a), *ob = cfg_origin_of(p, b);
	const struct cfg_origin *o = cfg_given(ob) ? ob : oa;
	const char *src;
	unsigned line;

	if (!cfg_given(o))
		return;
	cfg_where(o, &src, &line);
	cfg_error_at(p, src, line, "%s", msg);
}

/* The election's timings hold together (elect_config_check): the error
 * points at the last election key set, which is the likeliest culprit. */
static void
cfg_check_election(struct cfg_parser *p)
{
	static const char *const keys[] = { "voters",	 "heartbeat",	    "lease",
					    "drift_ppm", "election_min",    "election_max",
					    "announce",	 "bootstrap_expect" };
	struct elect_config ec;
	const char *last = NULL;
	char why[256];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (cfg_origin_of(p, keys[i])->bad)
			return; /* already reported */
		if (cfg_given(cfg_origin_of(p, keys[i])))
			last = keys[i];
	}
	cfg_election(p->cfg, &ec);
	if (last != NULL && elect_config_check(&ec, why, sizeof(why)) != 0)
		cfg_pair_error(p, last, last, why);
}

/* The policy's settings hold together (policy_config_validate and
 * actuate_config_validate name the key in their message): the error points
 * at the last policy key set. */
static void
cfg_check_policy(struct cfg_parser *p)
{
	static const char *const keys[] = {
		"policy_metrics",    "target_cpu",	 "target_load1",
		"target_memory",     "target_custom",	 "load1_max",
		"custom_max",	     "policy_tolerance", "policy_interval",
		"scale_out_window",  "scale_in_window",	 "scale_out_cooldown",
		"scale_in_cooldown", "warmup",		 "min_nodes",
		"max_nodes",	     "max_step",	 "max_hourly_cost",
		"replace_after",     "powercycle_wait",	 "retire_leave_timeout",
		"hook_timeout",	     "hook_max_wait",	 "active_timeout",
		"dns_ttl",	     "drain_timeout",
	};
	struct policy_config pc;
	struct actuate_config ac;
	const char *last = NULL;
	char why[256];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (cfg_origin_of(p, keys[i])->bad)
			return; /* already reported */
		if (cfg_given(cfg_origin_of(p, keys[i])))
			last = keys[i];
	}
	if (p->cfg->cluster == NULL)
		return; /* reported as missing */
	if (last != NULL && cfg_policy(p->cfg, &pc, &ac, why, sizeof(why)) != 0)
		cfg_pair_error(p, last, last, why);
}

/* Each registrar named in `registrars` needs its own keys. */
static void
cfg_check_registrars(struct cfg_parser *p)
{
	static const struct {
		const char *registrar;
		const char *keys[3];
	} needs[] = {
		{ "do-dns", { "dns_domain", "dns_name", "token_file" } },
		{ "do-lb", { "lb_id", "token_file", NULL } },
		{ "haproxy", { "haproxy_runtime", "haproxy_backend", NULL } },
		{ "exec", { "exec_command", NULL, NULL } },
	};
	const struct cfg_origin *o = cfg_origin_of(p, "registrars");
	const struct cfg *c = p->cfg;
	const char *src;
	unsigned line;

	if (!cfg_given(o) || o->bad)
		return;
	cfg_where(o, &src, &line);
	for (size_t i = 0; i < c->nregistrars; i++)
		for (size_t j = 0; j < sizeof(needs) / sizeof(needs[0]); j++) {
			if (strcmp(c->registrars[i], needs[j].registrar) != 0)
				continue;
			for (size_t k = 0; k < 3 && needs[j].keys[k] != NULL; k++)
				if (!cfg_given(cfg_origin_of(p, needs[j].keys[k])))
					cfg_error_at(p, src, line, "registrar %s needs '%s'",
						     needs[j].registrar, needs[j].keys[k]);
		}
}

/* Keys that are only valid together. */
static void
cfg_check_combinations(struct cfg_parser *p)
{
	const struct cfg *c = p->cfg;

	if (cfg_origin_of(p, "probe_timeout")->bad || cfg_origin_of(p, "probe_interval")->bad)
		return;
	if (c->probe_timeout_ms >= c->probe_interval_ms) {
		if (cfg_given(cfg_origin_of(p, "probe_timeout")) ||
		    cfg_given(cfg_origin_of(p, "probe_interval")))
			cfg_pair_error(p, "probe_interval", "probe_timeout",
				       "probe_timeout must be shorter than probe_interval");
	}
	if (c->custom_metric_file != NULL && c->custom_metric_command != NULL)
		cfg_pair_error(p, "custom_metric_file", "custom_metric_command",
			       "custom_metric_file and custom_metric_command exclude each other; "
			       "keep one");
	cfg_check_registrars(p);
	cfg_check_election(p);
	cfg_check_policy(p);
}

bool
cfg_finish(struct cfg_parser *p)
{
	static const char *const required[] = { "cluster", "key_file" };
	const char *source = p->first_source != NULL ? p->first_source : "configuration";

	if (p->finished)
		return !p->failed;
	p->finished = true;
	/* After "cannot read", "missing required key" would only repeat it. */
	for (size_t i = 0; !p->unreadable && i < sizeof(required) / sizeof(required[0]); i++)
		if (!cfg_given(cfg_origin_of(p, required[i])))
			cfg_error_at(p, source, 0, "missing required key '%s'", required[i]);
	cfg_check_identity(p);
	cfg_check_combinations(p);
	/* The documented default of cluster_tag depends on cluster. */
	if (!p->failed && p->cfg->cluster_tag == NULL && p->cfg->cluster != NULL &&
	    asprintf(&p->cfg->cluster_tag, "mitosis-%s", p->cfg->cluster) < 0) {
		p->cfg->cluster_tag = NULL;
		cfg_error_at(p, source, 0, "out of memory");
	}
	return !p->failed;
}

bool
cfg_origin(const struct cfg_parser *p, size_t i, const char **source, unsigned *line,
	   const char **value)
{
	const struct cfg_origin *o;

	if (i >= cfg__nkeys || p->origin[i].value == NULL)
		return false;
	o = &p->origin[i];
	cfg_where(o, source, line);
	*value = o->value;
	return true;
}
