/*
 * report: renders the member table and this node's status for the control
 * socket, as JSON for programs and as text for people.
 *
 * Integers that may pass 2^53 (ids, incarnations, counters) and the fixed
 * point loads go into the JSON as raw number text printed here, so they are
 * exact: cJSON would route them through a double. The text table is built in
 * two passes over the cells, the first to measure the columns, so that it
 * needs no per-cell allocation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "elect_report.h"
#include "log.h"
#include "report.h"

#define REPORT_CELL 288 /* an escaped name (63 x 4 bytes) and then some */
#define REPORT_COLS 10
#define REPORT_ADDR 64 /* "[v6]:port" */

/* A growing text buffer; after a failed append it stays failed. */
struct report_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void __attribute__((format(printf, 2, 3)))
report_printf(struct report_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p != NULL ? b->p + b->len : NULL, b->p != NULL ? b->cap - b->len : 0, fmt,
		      ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (b->p == NULL || b->len + (size_t)n >= b->cap) {
		size_t cap = b->cap == 0 ? 1024 : b->cap;
		char *p;

		while (cap <= b->len + (size_t)n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* Hands over the text, or frees it and returns NULL after a failure. */
static char *
report_buf_take(struct report_buf *b)
{
	if (b->failed || b->p == NULL) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

/* Writes a milli-unit value as a decimal without trailing zeros: "-12.5". */
static char *
report_fmt_milli(int64_t v, char *buf, size_t size)
{
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	unsigned frac = (unsigned)(mag % 1000);
	int digits = 3;

	while (frac != 0 && frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	if (frac == 0)
		snprintf(buf, size, "%s%" PRIu64, v < 0 ? "-" : "", mag / 1000);
	else
		snprintf(buf, size, "%s%" PRIu64 ".%0*u", v < 0 ? "-" : "", mag / 1000, digits,
			 frac);
	return buf;
}

static char *
report_fmt_addr(const struct swim_addr *a, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->family == 4 && inet_ntop(AF_INET, a->ip, ip, sizeof(ip)) != NULL)
		snprintf(buf, size, "%s:%u", ip, a->port);
	else if (a->family == 6 && inet_ntop(AF_INET6, a->ip, ip, sizeof(ip)) != NULL)
		snprintf(buf, size, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, size, "-");
	return buf;
}

char *
report_fmt_age(uint64_t ms, char *buf, size_t size)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, size, "%" PRIu64 "ms", ms);
	else if (ms < 60000)
		snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "s", s, ms % 1000 / 100);
	else if (s < 3600)
		snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
	return buf;
}

static uint64_t
report_since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* True when the `len` bytes at s are well-formed UTF-8 without NUL. */
static bool
report_is_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], n, cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if (len - i <= n)
			return false;
		for (unsigned k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and values past U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

const char *
report_json_str(const char *s, size_t maxlen, char *buf, size_t size)
{
	size_t len = strnlen(s, maxlen);

	if (len < maxlen && report_is_utf8((const unsigned char *)s, len))
		return s;
	return log_escape(buf, size, s, len);
}

bool
report_add_u64(cJSON *obj, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_AddRawToObject(obj, key, buf) != NULL;
}

/* A fixed-point value x 1000, or null when !known. */
static bool
report_add_milli(cJSON *obj, const char *key, int64_t v, bool known)
{
	char buf[32];

	if (!known)
		return cJSON_AddNullToObject(obj, key) != NULL;
	return cJSON_AddRawToObject(obj, key, report_fmt_milli(v, buf, sizeof(buf))) != NULL;
}

static int
report_cmp_member(const void *a, const void *b)
{
	const struct swim_member *x = *(const struct swim_member *const *)a;
	const struct swim_member *y = *(const struct swim_member *const *)b;
	int c = strncmp(x->name, y->name, SWIM_NAME_MAX);

	if (c != 0)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* A sorted copy of the member pointers (caller frees); NULL on ENOMEM. */
static const struct swim_member **
report_sorted(const struct swim_member *const *members, size_t n)
{
	const struct swim_member **v = malloc((n > 0 ? n : 1) * sizeof(*v));

	if (v == NULL)
		return NULL;
	if (n > 0) {
		memcpy(v, members, n * sizeof(*v));
		qsort(v, n, sizeof(*v), report_cmp_member);
	}
	return v;
}

static bool
report_member_load_json(cJSON *obj, const struct swim_load *l)
{
	cJSON *load = cJSON_AddObjectToObject(obj, "load");
	bool known = l->version != 0, ok = load != NULL;

	if (!ok)
		return false;
	ok &= report_add_u64(load, "version", l->version);
	ok &= report_add_milli(load, "cpu", l->cpu_permille, known);
	ok &= report_add_milli(load, "load1_per_cpu", l->load1_permille, known);
	ok &= report_add_milli(load, "mem", l->mem_permille, known);
	ok &= report_add_milli(load, "custom", l->custom_milli, known && l->has_custom);
	return ok;
}

static cJSON *
report_member_json(const struct swim_member *m, uint64_t self_id, uint64_t now)
{
	cJSON *obj = cJSON_CreateObject();
	char name[REPORT_CELL], addr[REPORT_ADDR];
	bool ok = obj != NULL;

	if (!ok)
		return NULL;
	ok &= report_add_u64(obj, "id", m->id);
	ok &= cJSON_AddStringToObject(
		      obj, "name", report_json_str(m->name, SWIM_NAME_MAX, name, sizeof(name))) !=
	      NULL;
	ok &= cJSON_AddStringToObject(obj, "addr", report_fmt_addr(&m->addr, addr, sizeof(addr))) !=
	      NULL;
	ok &= cJSON_AddStringToObject(obj, "state", swim_state_name(m->state)) != NULL;
	ok &= report_add_u64(obj, "incarnation", m->incarnation);
	ok &= cJSON_AddBoolToObject(obj, "self", m->id == self_id) != NULL;
	ok &= report_member_load_json(obj, &m->load);
	ok &= report_add_u64(obj, "age_ms", report_since(now, m->updated));
	if (m->load.version != 0)
		ok &= report_add_u64(obj, "load_age_ms", report_since(now, m->load_updated));
	else
		ok &= cJSON_AddNullToObject(obj, "load_age_ms") != NULL;
	if (!ok) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/* Prints and frees the document; NULL on ENOMEM (the document is freed). */
static char *
report_print(cJSON *doc, bool ok)
{
	char *out = ok ? cJSON_PrintUnformatted(doc) : NULL;

	cJSON_Delete(doc);
	return out;
}

char *
report_members_json(const struct swim_member *const *members, size_t n, uint64_t self_id,
		    uint64_t now)
{
	const struct swim_member **v = report_sorted(members, n);
	cJSON *arr = cJSON_CreateArray();
	bool ok = v != NULL && arr != NULL;

	for (size_t i = 0; ok && i < n; i++) {
		cJSON *obj = report_member_json(v[i], self_id, now);

		ok = obj != NULL && cJSON_AddItemToArray(arr, obj);
		if (!ok)
			cJSON_Delete(obj);
	}
	free(v);
	return report_print(arr, ok);
}

static const char *const report_headers[REPORT_COLS] = {
	"ID", "NAME", "ADDRESS", "STATE", "INC", "CPU", "LOAD1", "MEM", "CUSTOM", "AGE",
};

/* Numbers are right-aligned, words left-aligned. */
static bool
report_col_right(int col)
{
	return col >= 4;
}

/* "12.3%" from permille. */
static char *
report_fmt_pct(uint16_t permille, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u%%", permille / 10U, permille % 10U);
	return buf;
}

/* Renders one cell of the member table. */
static const char *
report_member_cell(const struct swim_member *m, int col, uint64_t self_id, uint64_t now, char *buf,
		   size_t size)
{
	const struct swim_load *l = &m->load;
	unsigned v;

	if (col >= 5 && col <= 8 && (l->version == 0 || (col == 8 && !l->has_custom)))
		return "-";
	switch (col) {
	case 0:
		snprintf(buf, size, "%" PRIu64 "%s", m->id, m->id == self_id ? "*" : "");
		return buf;
	case 1:
		return log_escape(buf, size, m->name, strnlen(m->name, SWIM_NAME_MAX));
	case 2:
		return report_fmt_addr(&m->addr, buf, size);
	case 3:
		return swim_state_name(m->state);
	case 4:
		snprintf(buf, size, "%" PRIu64, m->incarnation);
		return buf;
	case 5:
		return report_fmt_pct(l->cpu_permille, buf, size);
	case 6:
		v = (l->load1_permille + 5U) / 10U;
		snprintf(buf, size, "%u.%02u", v / 100, v % 100);
		return buf;
	case 7:
		return report_fmt_pct(l->mem_permille, buf, size);
	case 8:
		return report_fmt_milli(l->custom_milli, buf, size);
	default:
		return report_fmt_age(report_since(now, m->updated), buf, size);
	}
}

static void
report_table_row(struct report_buf *b, const char *const *cells, const size_t *width)
{
	for (int c = 0; c < REPORT_COLS; c++) {
		int w = (int)width[c];

		report_printf(b, report_col_right(c) ? "%s%*s" : "%s%-*s", c > 0 ? "  " : "", w,
			      cells[c]);
	}
	report_printf(b, "\n");
}

char *
report_members_text(const struct swim_member *const *members, size_t n, uint64_t self_id,
		    uint64_t now)
{
	const struct swim_member **v = report_sorted(members, n);
	struct report_buf b = { 0 };
	size_t width[REPORT_COLS];
	char cellbuf[REPORT_COLS][REPORT_CELL];
	const char *cells[REPORT_COLS];

	if (v == NULL)
		return NULL;
	for (int c = 0; c < REPORT_COLS; c++)
		width[c] = strlen(report_headers[c]);
	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < REPORT_COLS; c++) {
			size_t w = strlen(
				report_member_cell(v[i], c, self_id, now, cellbuf[c], REPORT_CELL));

			width[c] = w > width[c] ? w : width[c];
		}
	}
	report_table_row(&b, report_headers, width);
	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < REPORT_COLS; c++)
			cells[c] =
				report_member_cell(v[i], c, self_id, now, cellbuf[c], REPORT_CELL);
		report_table_row(&b, cells, width);
	}
	free(v);
	return report_buf_take(&b);
}

void
report_status_tally(struct report_status *st, const struct swim_member *const *members, size_t n)
{
	memset(st->by_state, 0, sizeof(st->by_state));
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)members[i]->state < REPORT_STATES)
			st->by_state[members[i]->state]++;
	}
	load_mean(members, n, &st->mean);
}

static uint32_t
report_total(const struct report_status *st)
{
	uint32_t total = 0;

	for (int s = 0; s < REPORT_STATES; s++)
		total += st->by_state[s];
	return total;
}

static bool
report_status_node_json(cJSON *doc, const struct report_status *st)
{
	char name[REPORT_CELL], cluster[REPORT_CELL], addr[REPORT_ADDR];
	const char *nm = st->name != NULL ? st->name : "";
	const char *cl = st->cluster != NULL ? st->cluster : "";
	bool ok = true;

	ok &= report_add_u64(doc, "id", st->node_id);
	ok &= cJSON_AddStringToObject(doc, "name", report_json_str(nm, 256, name, sizeof(name))) !=
	      NULL;
	ok &= cJSON_AddStringToObject(doc, "cluster",
				      report_json_str(cl, 256, cluster, sizeof(cluster))) != NULL;
	ok &= cJSON_AddStringToObject(doc, "addr",
				      report_fmt_addr(&st->addr, addr, sizeof(addr))) != NULL;
	ok &= report_add_u64(doc, "incarnation", st->incarnation);
	ok &= report_add_u64(doc, "uptime_ms", st->uptime_ms);
	return ok;
}

static bool
report_status_members_json(cJSON *doc, const struct report_status *st)
{
	cJSON *m = cJSON_AddObjectToObject(doc, "members");
	cJSON *mean = cJSON_AddObjectToObject(doc, "mean_load");
	const struct load_mean *lm = &st->mean;
	bool ok = m != NULL && mean != NULL, known = lm->members > 0;

	for (int s = 0; ok && s < REPORT_STATES; s++)
		ok &= report_add_u64(m, swim_state_name((enum swim_state)s), st->by_state[s]);
	if (!ok)
		return false;
	ok &= report_add_u64(m, "total", report_total(st));
	ok &= report_add_u64(mean, "members", lm->members);
	ok &= report_add_milli(mean, "cpu", lm->cpu_permille, known);
	ok &= report_add_milli(mean, "load1_per_cpu", lm->load1_permille, known);
	ok &= report_add_milli(mean, "mem", lm->mem_permille, known);
	ok &= report_add_milli(mean, "custom", lm->custom_milli, lm->custom_members > 0);
	ok &= report_add_u64(mean, "custom_members", lm->custom_members);
	return ok;
}

static bool
report_status_io_json(cJSON *doc, const struct report_status *st)
{
	cJSON *d = cJSON_AddObjectToObject(doc, "datagrams"), *drops;
	bool ok = d != NULL;

	if (!ok)
		return false;
	ok &= report_add_u64(d, "in", st->dgrams_in);
	ok &= report_add_u64(d, "out", st->dgrams_out);
	ok &= report_add_u64(d, "bytes_in", st->bytes_in);
	ok &= report_add_u64(d, "bytes_out", st->bytes_out);
	ok &= report_add_u64(d, "accepted", st->verdicts[WIRE_ACCEPT]);
	drops = cJSON_AddObjectToObject(d, "drops");
	if (drops == NULL)
		return false;
	for (int v = WIRE_ACCEPT + 1; v < WIRE_VERDICT_COUNT; v++)
		ok &= report_add_u64(drops, wire_verdict_name((enum wire_verdict)v),
				     st->verdicts[v]);
	return ok;
}

static bool
report_status_swim_json(cJSON *doc, const struct swim_stats *s)
{
	const struct {
		const char *name;
		uint64_t v;
	} f[] = {
		{ "probes", s->probes },
		{ "probe_acks", s->probe_acks },
		{ "indirect_probes", s->indirect_probes },
		{ "nacks_sent", s->nacks_sent },
		{ "nacks_received", s->nacks_received },
		{ "suspicions", s->suspicions },
		{ "refutations", s->refutations },
		{ "deaths", s->deaths },
		{ "leaves", s->leaves },
		{ "joins", s->joins },
		{ "msgs_in", s->msgs_in },
		{ "msgs_out", s->msgs_out },
		{ "bytes_out", s->bytes_out },
		{ "decode_errors", s->decode_errors },
		{ "confirm_probes", s->confirm_probes },
		{ "awareness", s->awareness },
		{ "bad_signatures", s->bad_signatures },
		{ "key_mismatches", s->key_mismatches },
		{ "out_of_bounds", s->out_of_bounds },
		{ "unsigned_claims", s->unsigned_claims },
		{ "joining_full", s->joining_full },
		{ "joins_failed", s->joins_failed },
		{ "verify_dropped", s->verify_dropped },
		{ "replies_refused", s->replies_refused },
		{ "claims", s->claims },
	};
	cJSON *obj = cJSON_AddObjectToObject(doc, "swim");
	bool ok = obj != NULL;

	for (size_t i = 0; ok && i < sizeof(f) / sizeof(f[0]); i++)
		ok &= report_add_u64(obj, f[i].name, f[i].v);
	return ok;
}

char *
report_status_json(const struct report_status *st)
{
	cJSON *doc = cJSON_CreateObject();
	bool ok = doc != NULL;

	ok = ok && report_status_node_json(doc, st);
	ok = ok && report_status_members_json(doc, st);
	ok = ok && report_status_io_json(doc, st);
	ok = ok && report_status_swim_json(doc, &st->swim);
	if (ok && st->elect != NULL) {
		cJSON *el = elect_report_json(st->elect);

		ok = el != NULL && cJSON_AddItemToObject(doc, "election", el);
		if (!ok)
			cJSON_Delete(el);
	}
	return report_print(doc, ok);
}

static void
report_status_text_load(struct report_buf *b, const struct load_mean *lm)
{
	char c[16], m[16], x[32];
	unsigned v = (lm->load1_permille + 5U) / 10U;

	if (lm->members == 0) {
		report_printf(b, "mean load: no samples from alive members yet\n");
		return;
	}
	report_printf(b, "mean load over %u alive member%s: cpu %s, load1/cpu %u.%02u, mem %s",
		      lm->members, lm->members == 1 ? "" : "s",
		      report_fmt_pct(lm->cpu_permille, c, sizeof(c)), v / 100, v % 100,
		      report_fmt_pct(lm->mem_permille, m, sizeof(m)));
	if (lm->custom_members > 0)
		report_printf(b, ", custom %s (%u reporting)",
			      report_fmt_milli(lm->custom_milli, x, sizeof(x)), lm->custom_members);
	report_printf(b, "\n");
}

static void
report_status_text_io(struct report_buf *b, const struct report_status *st)
{
	int shown = 0;

	report_printf(b,
		      "datagrams: in %" PRIu64 " (%" PRIu64 " bytes), out %" PRIu64 " (%" PRIu64
		      " bytes), accepted %" PRIu64 "\n",
		      st->dgrams_in, st->bytes_in, st->dgrams_out, st->bytes_out,
		      st->verdicts[WIRE_ACCEPT]);
	report_printf(b, "drops:");
	for (int v = WIRE_ACCEPT + 1; v < WIRE_VERDICT_COUNT; v++) {
		if (st->verdicts[v] == 0)
			continue;
		report_printf(b, "%s %s %" PRIu64, shown++ ? "," : "",
			      wire_verdict_name((enum wire_verdict)v), st->verdicts[v]);
	}
	report_printf(b, "%s\n", shown ? "" : " none");
}

char *
report_status_text(const struct report_status *st)
{
	struct report_buf b = { 0 };
	char name[REPORT_CELL], cluster[REPORT_CELL], addr[REPORT_ADDR], up[32];
	const struct swim_stats *s = &st->swim;
	const char *nm = st->name != NULL ? st->name : "";
	const char *cl = st->cluster != NULL ? st->cluster : "";

	report_printf(&b,
		      "node %" PRIu64 " \"%s\" at %s, cluster \"%s\", incarnation %" PRIu64
		      ", up %s\n",
		      st->node_id, log_escape(name, sizeof(name), nm, strlen(nm)),
		      report_fmt_addr(&st->addr, addr, sizeof(addr)),
		      log_escape(cluster, sizeof(cluster), cl, strlen(cl)), st->incarnation,
		      report_fmt_age(st->uptime_ms, up, sizeof(up)));
	report_printf(&b, "members: %u", report_total(st));
	for (int i = 0; i < REPORT_STATES; i++)
		report_printf(&b, "%s%u %s", i ? ", " : " (", st->by_state[i],
			      swim_state_name((enum swim_state)i));
	report_printf(&b, ")\n");
	report_status_text_load(&b, &st->mean);
	report_status_text_io(&b, st);
	report_printf(&b,
		      "swim: probes %" PRIu64 " (%" PRIu64 " confirming), acks %" PRIu64
		      ", indirect %" PRIu64 ", nacks %" PRIu64 "/%" PRIu64
		      " sent/received, suspicions %" PRIu64 ", refutations %" PRIu64
		      ", deaths %" PRIu64 ", leaves %" PRIu64 ", joins %" PRIu64
		      ", decode errors %" PRIu64 ", awareness %u\n",
		      s->probes, s->confirm_probes, s->probe_acks, s->indirect_probes,
		      s->nacks_sent, s->nacks_received, s->suspicions, s->refutations, s->deaths,
		      s->leaves, s->joins, s->decode_errors, s->awareness);
	if (st->elect != NULL) {
		char *el = elect_report_text(st->elect);

		if (el == NULL)
			b.failed = true;
		else
			report_printf(&b, "%s", el);
		free(el);
	}
	return report_buf_take(&b);
}
