/*
 * haproxy_cfg: names, runtime API commands, the `show servers state` parser
 * and the backend generator for HAProxy (include/haproxy_cfg.h). The parser
 * reads HAProxy's own output, but that output carries names an operator typed,
 * so it is bounded and fuzzed like any input.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "haproxy_cfg.h"

#define HAPROXY_MAX_COLS 64

static int haproxy_cfg_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void haproxy_err(char *err, size_t errsize, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool haproxy_append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

bool
haproxy_cfg_name_valid(const char *s)
{
	size_t n;

	if (s == NULL || s[0] == '\0')
		return false;
	n = strlen(s);
	if (n >= HAPROXY_CFG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

bool
haproxy_cfg_ipv4_valid(const char *s)
{
	struct in_addr a;

	return s != NULL && strlen(s) < 16 && inet_pton(AF_INET, s, &a) == 1;
}

int
haproxy_cfg_server_name(uint64_t id, char *buf, size_t size)
{
	int n = snprintf(buf, size, HAPROXY_CFG_PREFIX "%" PRIu64, id);

	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

bool
haproxy_cfg_server_id(const char *name, uint64_t *id)
{
	size_t plen = strlen(HAPROXY_CFG_PREFIX);
	uint64_t v = 0;
	const char *p;

	if (strncmp(name, HAPROXY_CFG_PREFIX, plen) != 0 || name[plen] == '\0' ||
	    (name[plen] == '0' && name[plen + 1] != '\0'))
		return false;
	for (p = name + plen; *p != '\0'; p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (*p < '0' || *p > '9' || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*id = v;
	return v != 0;
}

static int
haproxy_cfg_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

int
haproxy_cfg_cmd_add(const char *backend, const char *name, const char *ip, unsigned port, char *buf,
		    size_t size)
{
	if (!haproxy_cfg_name_valid(backend) || !haproxy_cfg_name_valid(name) ||
	    !haproxy_cfg_ipv4_valid(ip) || port == 0 || port > 65535)
		return -EINVAL;
	return haproxy_cfg_fmt(buf, size, "add server %s/%s %s:%u check\n", backend, name, ip,
			       port);
}

int
haproxy_cfg_cmd_state(const char *backend, const char *name, enum haproxy_cfg_state st, char *buf,
		      size_t size)
{
	static const char *const names[] = { "ready", "drain", "maint" };

	if (!haproxy_cfg_name_valid(backend) || !haproxy_cfg_name_valid(name) ||
	    (unsigned)st > HAPROXY_STATE_MAINT)
		return -EINVAL;
	return haproxy_cfg_fmt(buf, size, "set server %s/%s state %s\n", backend, name, names[st]);
}

int
haproxy_cfg_cmd_health(const char *backend, const char *name, char *buf, size_t size)
{
	if (!haproxy_cfg_name_valid(backend) || !haproxy_cfg_name_valid(name))
		return -EINVAL;
	return haproxy_cfg_fmt(buf, size, "enable health %s/%s\n", backend, name);
}

int
haproxy_cfg_cmd_del(const char *backend, const char *name, char *buf, size_t size)
{
	if (!haproxy_cfg_name_valid(backend) || !haproxy_cfg_name_valid(name))
		return -EINVAL;
	return haproxy_cfg_fmt(buf, size, "del server %s/%s\n", backend, name);
}

int
haproxy_cfg_cmd_show(const char *backend, char *buf, size_t size)
{
	if (!haproxy_cfg_name_valid(backend))
		return -EINVAL;
	return haproxy_cfg_fmt(buf, size, "show servers state %s\n", backend);
}

bool
haproxy_cfg_reply_ok(const char *reply)
{
	const char *p = reply;

	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	return *p == '\0' || strncmp(p, "New server registered.", 22) == 0 ||
	       strncmp(p, "Server deleted.", 15) == 0;
}

bool
haproxy_cfg_server_ready(const struct haproxy_server *s)
{
	return (s->admin_state & (HAPROXY_ADMF_MAINT | HAPROXY_ADMF_DRAIN)) == 0;
}

/* --- the `show servers state` parser --------------------------------- */

struct haproxy_line {
	const char *p;
	size_t len;
};

struct haproxy_cols {
	int be_name, srv_name, srv_addr, srv_op_state, srv_admin_state, srv_port;
};

static void
haproxy_err(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errsize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
}

/* Next line of the text; false at the end. */
static bool
haproxy_next_line(const char **cur, const char *end, struct haproxy_line *l)
{
	const char *nl;

	if (*cur >= end)
		return false;
	nl = memchr(*cur, '\n', (size_t)(end - *cur));
	l->p = *cur;
	l->len = nl != NULL ? (size_t)(nl - *cur) : (size_t)(end - *cur);
	*cur = nl != NULL ? nl + 1 : end;
	if (l->len > 0 && l->p[l->len - 1] == '\r')
		l->len--;
	return true;
}

/* Splits a line on blanks into at most `max` fields. */
static size_t
haproxy_split(const struct haproxy_line *l, struct haproxy_line *f, size_t max)
{
	size_t n = 0, i = 0;

	while (i < l->len && n < max) {
		while (i < l->len && (l->p[i] == ' ' || l->p[i] == '\t'))
			i++;
		if (i == l->len)
			break;
		f[n].p = l->p + i;
		while (i < l->len && l->p[i] != ' ' && l->p[i] != '\t')
			i++;
		f[n].len = (size_t)(l->p + i - f[n].p);
		n++;
	}
	return n;
}

static bool
haproxy_field_is(const struct haproxy_line *f, const char *s)
{
	return f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

static bool
haproxy_field_uint(const struct haproxy_line *f, unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (f->len == 0 || f->len > 10)
		return false;
	for (size_t i = 0; i < f->len; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(f->p[i] - '0');
	}
	if (v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool
haproxy_field_copy(const struct haproxy_line *f, char *dst, size_t size)
{
	if (f->len == 0 || f->len >= size || memchr(f->p, '\0', f->len) != NULL)
		return false;
	memcpy(dst, f->p, f->len);
	dst[f->len] = '\0';
	return true;
}

/* Finds the columns we need in the "# be_id be_name ..." header. */
static int
haproxy_parse_header(const struct haproxy_line *l, struct haproxy_cols *c, int *ncols, char *err,
		     size_t errsize)
{
	struct haproxy_line f[HAPROXY_MAX_COLS + 1];
	size_t n;

	*c = (struct haproxy_cols){ -1, -1, -1, -1, -1, -1 };
	n = haproxy_split(l, f, HAPROXY_MAX_COLS + 1);
	if (n < 2 || !haproxy_field_is(&f[0], "#")) {
		haproxy_err(err, errsize, "line 2: expected the '# be_id be_name ...' header");
		return -EINVAL;
	}
	for (size_t i = 1; i < n; i++) {
		int col = (int)i - 1;

		if (haproxy_field_is(&f[i], "be_name"))
			c->be_name = col;
		else if (haproxy_field_is(&f[i], "srv_name"))
			c->srv_name = col;
		else if (haproxy_field_is(&f[i], "srv_addr"))
			c->srv_addr = col;
		else if (haproxy_field_is(&f[i], "srv_op_state"))
			c->srv_op_state = col;
		else if (haproxy_field_is(&f[i], "srv_admin_state"))
			c->srv_admin_state = col;
		else if (haproxy_field_is(&f[i], "srv_port"))
			c->srv_port = col;
	}
	if (c->be_name < 0 || c->srv_name < 0 || c->srv_addr < 0 || c->srv_op_state < 0 ||
	    c->srv_admin_state < 0) {
		haproxy_err(err, errsize,
			    "header: a needed column (be_name, srv_name, srv_addr, "
			    "srv_op_state, srv_admin_state) is missing");
		return -EINVAL;
	}
	*ncols = (int)n - 1;
	return 0;
}

static int
haproxy_parse_row(const struct haproxy_line *l, const struct haproxy_cols *c, unsigned lineno,
		  struct haproxy_server *s, const char *backend, char *err, size_t errsize)
{
	struct haproxy_line f[HAPROXY_MAX_COLS];
	char be[HAPROXY_CFG_NAME_MAX];
	size_t n = haproxy_split(l, f, HAPROXY_MAX_COLS);
	int need = c->srv_port;

	memset(s, 0, sizeof(*s));
	need = need > c->be_name ? need : c->be_name;
	need = need > c->srv_name ? need : c->srv_name;
	need = need > c->srv_addr ? need : c->srv_addr;
	need = need > c->srv_op_state ? need : c->srv_op_state;
	need = need > c->srv_admin_state ? need : c->srv_admin_state;
	if ((int)n <= need) {
		haproxy_err(err, errsize, "line %u: %zu fields, expected at least %d", lineno, n,
			    need + 1);
		return -EINVAL;
	}
	if (!haproxy_field_copy(&f[c->be_name], be, sizeof(be)) ||
	    !haproxy_field_copy(&f[c->srv_name], s->name, sizeof(s->name)) ||
	    !haproxy_field_copy(&f[c->srv_addr], s->addr, sizeof(s->addr))) {
		haproxy_err(err, errsize, "line %u: a name or address is too long", lineno);
		return -EINVAL;
	}
	if (!haproxy_field_uint(&f[c->srv_op_state], 3, &s->op_state) ||
	    !haproxy_field_uint(&f[c->srv_admin_state], 0xff, &s->admin_state) ||
	    (c->srv_port >= 0 && !haproxy_field_uint(&f[c->srv_port], 65535, &s->port))) {
		haproxy_err(err, errsize, "line %u: bad state or port number", lineno);
		return -EINVAL;
	}
	return backend != NULL && strcmp(be, backend) != 0 ? 1 : 0;
}

int
haproxy_cfg_parse_state(const char *text, size_t len, const char *backend,
			struct haproxy_server **out, size_t *n, char *err, size_t errsize)
{
	const char *cur = text, *end = text + len;
	struct haproxy_server *v = NULL, *nv;
	struct haproxy_line l;
	struct haproxy_cols c;
	size_t cap = 0, cnt = 0;
	unsigned lineno = 2, version;
	int ncols, rc = -EINVAL;

	*out = NULL;
	*n = 0;
	if (!haproxy_next_line(&cur, end, &l) || !haproxy_field_uint(&l, 1000, &version) ||
	    version != 1) {
		haproxy_err(err, errsize, "line 1: expected format version 1");
		return -EINVAL;
	}
	if (!haproxy_next_line(&cur, end, &l)) {
		haproxy_err(err, errsize, "line 2: expected the '# be_id be_name ...' header");
		return -EINVAL;
	}
	if ((rc = haproxy_parse_header(&l, &c, &ncols, err, errsize)) != 0)
		return rc;
	while (haproxy_next_line(&cur, end, &l)) {
		lineno++;
		if (l.len == 0)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		rc = haproxy_parse_row(&l, &c, lineno, &v[cnt], backend, err, errsize);
		if (rc < 0)
			goto out;
		if (rc == 0)
			cnt++;
	}
	rc = 0;
	if (cnt > 0) {
		*out = v;
		*n = cnt;
		v = NULL;
	}
out:
	free(v);
	return rc;
}

/* --- the backend generator -------------------------------------------- */

static int
haproxy_member_cmp(const void *a, const void *b)
{
	const struct haproxy_member *x = *(const struct haproxy_member *const *)a;
	const struct haproxy_member *y = *(const struct haproxy_member *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Appends to a malloc'd buffer; false on ENOMEM. */
static bool
haproxy_append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return false;
		if ((size_t)n < *cap - *len)
			break;
		char *nb = realloc(*buf, *cap * 2 + (size_t)n);

		if (nb == NULL)
			return false;
		*buf = nb;
		*cap = *cap * 2 + (size_t)n;
	}
	*len += (size_t)n;
	return true;
}

/* A node name is shown in a comment only when it is printable and short. */
static const char *
haproxy_comment_name(const char *s)
{
	if (s == NULL || strlen(s) > 63)
		return "-";
	for (const char *p = s; *p != '\0'; p++)
		if (*p < 0x21 || *p > 0x7e)
			return "-";
	return s;
}

int
haproxy_cfg_backend(const char *backend, const struct haproxy_member *m, size_t n, unsigned port,
		    char **out)
{
	const struct haproxy_member **v = NULL;
	size_t len = 0, cap = 1024;
	char *buf = NULL, name[HAPROXY_CFG_NAME_MAX];
	bool ok;
	int rc = -EINVAL;

	*out = NULL;
	if (!haproxy_cfg_name_valid(backend) || port == 0 || port > 65535)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!haproxy_cfg_ipv4_valid(m[i].ip) || m[i].id == 0)
			return -EINVAL;
	rc = -ENOMEM;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL || (buf = malloc(cap)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		v[i] = &m[i];
	qsort(v, n, sizeof(*v), haproxy_member_cmp);
	ok = haproxy_append(&buf, &len, &cap,
			    "# Generated by `mitosis haproxy-config`: %zu member%s.\n"
			    "# Servers named " HAPROXY_CFG_PREFIX
			    "<id> are managed by mitosis at run "
			    "time\n# through the runtime API (stats socket ... level admin).\n"
			    "backend %s\n"
			    "\tmode http\n"
			    "\tbalance roundrobin\n"
			    "\toption httpchk\n"
			    "\tdefault-server inter 2s fall 3 rise 2\n",
			    n, n == 1 ? "" : "s", backend);
	for (size_t i = 0; ok && i < n; i++) {
		haproxy_cfg_server_name(v[i]->id, name, sizeof(name));
		ok = haproxy_append(&buf, &len, &cap, "\tserver %s %s:%u check # %s\n", name,
				    v[i]->ip, port, haproxy_comment_name(v[i]->name));
	}
	if (!ok)
		goto out;
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	free(v);
	return rc;
}
