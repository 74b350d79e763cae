/*
 * history: the decision/outcome record, its codec, its ring and its file
 * body (include/history.h). The layout of one record (version 1):
 *
 *   u8 version = 1 | u8 kind | u8 action | u8 reason | u8 flags
 *   varint seq, time_ms, term, op_id (< 2^48), droplet,
 *          count, capacity, desired, total (< 2^32), limits, holds (< 2^16),
 *          cost_uusd
 *   u8 nmetrics (<= 4), then per metric: u8 metric (increasing),
 *          zigzag varint value, zigzag varint target
 *   varint text length (< HISTORY_TEXT_MAX), text (0x20..0x7e)
 *
 * Varints are LEB128, at most 10 bytes, with no overlong form. The largest
 * record: 5 + 5 x 10 (seq, time, term, droplet, cost) + 7 (op_id) + 4 x 5
 * (u32s) + 2 x 3 (u16s) + 1 + 4 x 21 (metrics) + 2 + 191 (text) = 366
 * bytes, under HISTORY_RECORD_MAX (400): one record fits any datagram.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "history.h"

/* ---- varints ---------------------------------------------------------- */

struct history_wr {
	uint8_t *p;
	size_t size, len;
	bool full;
};

static void
history_put_u8(struct history_wr *w, uint8_t v)
{
	if (w->len >= w->size) {
		w->full = true;
		return;
	}
	w->p[w->len++] = v;
}

static void
history_put_varint(struct history_wr *w, uint64_t v)
{
	while (v >= 0x80) {
		history_put_u8(w, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	history_put_u8(w, (uint8_t)v);
}

static uint64_t
history_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t
history_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

struct history_rd {
	const uint8_t *p;
	size_t len, off;
	const char *why;
};

static bool
history_get_u8(struct history_rd *r, uint8_t *v, const char *what)
{
	if (r->off >= r->len) {
		r->why = what;
		return false;
	}
	*v = r->p[r->off++];
	return true;
}

/* A LEB128 varint no larger than max, in its shortest form. */
static bool
history_get_varint(struct history_rd *r, uint64_t max, uint64_t *v, const char *what)
{
	uint64_t out = 0;
	uint8_t b = 0;

	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (!history_get_u8(r, &b, what))
			return false;
		if (shift == 63 && b > 1)
			break; /* past 64 bits */
		out |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			if (b == 0 && shift > 0)
				break; /* overlong: a trailing zero group */
			if (out > max)
				break;
			*v = out;
			return true;
		}
	}
	r->why = what;
	return false;
}

/* ---- records ---------------------------------------------------------- */

static void
history_copy_text(char *dst, const char *src)
{
	size_t i = 0;

	for (; src[i] != '\0' && i < HISTORY_TEXT_MAX - 1; i++)
		dst[i] = src[i] >= 0x20 && src[i] <= 0x7e ? src[i] : '?';
	dst[i] = '\0';
}

void
history_from_decision(struct history_record *r, const struct policy_decision *d, uint64_t term,
		      uint64_t seq, uint64_t unix_ms)
{
	memset(r, 0, sizeof(*r));
	r->kind = HISTORY_DECISION;
	r->action = (uint8_t)d->action;
	r->reason = (uint8_t)d->reason;
	r->flags = (d->dry_run ? HISTORY_F_DRY_RUN : 0) |
		   (d->limit_events != 0 ? HISTORY_F_LIMIT_EVENT : 0);
	r->seq = seq;
	r->time_ms = unix_ms;
	r->term = term;
	r->count = d->count;
	r->capacity = d->capacity;
	r->desired = d->desired;
	r->total = d->total;
	r->limits = (uint16_t)d->limits;
	r->holds = (uint16_t)d->holds;
	r->cost_uusd = d->cost_uusd;
	for (int m = 0; m < POLICY_METRIC_COUNT; m++) {
		if (!d->metrics[m].valid)
			continue;
		r->metrics[r->nmetrics].metric = (uint8_t)m;
		r->metrics[r->nmetrics].value = d->metrics[m].mean;
		r->metrics[r->nmetrics].target = d->metrics[m].target;
		r->nmetrics++;
	}
	history_copy_text(r->text, d->text);
}

void
history_from_event(struct history_record *r, const struct actuate_event *ev, uint64_t seq,
		   uint64_t unix_ms)
{
	memset(r, 0, sizeof(*r));
	r->kind = HISTORY_OUTCOME;
	r->action = (uint8_t)ev->kind;
	r->reason = (uint8_t)ev->op_kind;
	r->flags = ev->kind == ACTUATE_EV_DRY_RUN ? HISTORY_F_DRY_RUN : 0;
	r->seq = seq;
	r->time_ms = unix_ms;
	r->term = ev->term;
	r->op_id = ev->op_id;
	r->droplet = ev->droplet;
	history_copy_text(r->text, ev->text);
}

/* The largest action and reason of each kind. */
static bool
history_enums_ok(uint8_t kind, uint8_t action, uint8_t reason)
{
	if (kind == HISTORY_DECISION)
		return action <= POLICY_TRANSFER && reason <= POLICY_R_RESTORE;
	if (kind == HISTORY_OUTCOME)
		return action < ACTUATE_EV_COUNT && reason <= ACTUATE_DISCARD;
	return false;
}

static bool
history_text_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static bool
history_metrics_ok(const struct history_record *r)
{
	if (r->nmetrics > HISTORY_METRICS)
		return false;
	for (uint8_t i = 0; i < r->nmetrics; i++)
		if (r->metrics[i].metric >= POLICY_METRIC_COUNT ||
		    (i > 0 && r->metrics[i].metric <= r->metrics[i - 1].metric))
			return false;
	return true;
}

int
history_encode(const struct history_record *r, uint8_t *buf, size_t size)
{
	struct history_wr w = { buf, size, 0, false };
	size_t tlen = strnlen(r->text, HISTORY_TEXT_MAX);
	const uint64_t ints[] = { r->seq,     r->time_ms, r->term,     r->op_id,
				  r->droplet, r->count,	  r->capacity, r->desired,
				  r->total,   r->limits,  r->holds,    r->cost_uusd };

	if (!history_enums_ok(r->kind, r->action, r->reason) || (r->flags & ~HISTORY_F_ALL) != 0 ||
	    r->op_id >= (1ULL << 48) || tlen >= HISTORY_TEXT_MAX ||
	    !history_text_ok(r->text, tlen) || !history_metrics_ok(r))
		return -EINVAL;
	history_put_u8(&w, HISTORY_VERSION);
	history_put_u8(&w, r->kind);
	history_put_u8(&w, r->action);
	history_put_u8(&w, r->reason);
	history_put_u8(&w, r->flags);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		history_put_varint(&w, ints[i]);
	history_put_u8(&w, r->nmetrics);
	for (uint8_t i = 0; i < r->nmetrics; i++) {
		history_put_u8(&w, r->metrics[i].metric);
		history_put_varint(&w, history_zigzag(r->metrics[i].value));
		history_put_varint(&w, history_zigzag(r->metrics[i].target));
	}
	history_put_varint(&w, tlen);
	for (size_t i = 0; i < tlen; i++)
		history_put_u8(&w, (uint8_t)r->text[i]);
	return w.full ? -ENOBUFS : (int)w.len;
}

/* The varint fields, in order, with their bounds. */
static bool
history_get_ints(struct history_rd *rd, struct history_record *r)
{
	static const struct {
		size_t off;
		unsigned bytes;
		uint64_t max;
		const char *name;
	} f[] = {
#define HF(field, max)                                                                             \
	{ offsetof(struct history_record, field), sizeof(((struct history_record *)0)->field),     \
	  max, #field }
		HF(seq, UINT64_MAX),	     HF(time_ms, UINT64_MAX), HF(term, UINT64_MAX),
		HF(op_id, (1ULL << 48) - 1), HF(droplet, UINT64_MAX), HF(count, UINT32_MAX),
		HF(capacity, UINT32_MAX),    HF(desired, UINT32_MAX), HF(total, UINT32_MAX),
		HF(limits, UINT16_MAX),	     HF(holds, UINT16_MAX),   HF(cost_uusd, UINT64_MAX),
#undef HF
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		uint8_t *dst = (uint8_t *)r + f[i].off;

		if (!history_get_varint(rd, f[i].max, &v, f[i].name))
			return false;
		if (f[i].bytes == 8) {
			memcpy(dst, &v, 8);
		} else if (f[i].bytes == 4) {
			uint32_t x = (uint32_t)v;
			memcpy(dst, &x, 4);
		} else {
			uint16_t x = (uint16_t)v;
			memcpy(dst, &x, 2);
		}
	}
	return true;
}

static bool
history_get_metrics(struct history_rd *rd, struct history_record *r)
{
	uint64_t v, t;

	if (!history_get_u8(rd, &r->nmetrics, "nmetrics"))
		return false;
	if (r->nmetrics > HISTORY_METRICS) {
		rd->why = "nmetrics";
		return false;
	}
	for (uint8_t i = 0; i < r->nmetrics; i++) {
		if (!history_get_u8(rd, &r->metrics[i].metric, "metric") ||
		    !history_get_varint(rd, UINT64_MAX, &v, "metric value") ||
		    !history_get_varint(rd, UINT64_MAX, &t, "metric target"))
			return false;
		r->metrics[i].value = history_unzigzag(v);
		r->metrics[i].target = history_unzigzag(t);
	}
	if (!history_metrics_ok(r)) {
		rd->why = "metric";
		return false;
	}
	return true;
}

static bool
history_get_text(struct history_rd *rd, struct history_record *r)
{
	uint64_t n;

	if (!history_get_varint(rd, HISTORY_TEXT_MAX - 1, &n, "text length"))
		return false;
	if (rd->len - rd->off < n) {
		rd->why = "text";
		return false;
	}
	if (!history_text_ok((const char *)rd->p + rd->off, (size_t)n)) {
		rd->why = "text: not printable ASCII";
		return false;
	}
	memcpy(r->text, rd->p + rd->off, (size_t)n);
	r->text[n] = '\0';
	rd->off += (size_t)n;
	return true;
}

int
history_decode(const uint8_t *buf, size_t len, struct history_record *r, const char **why)
{
	struct history_rd rd = { buf, len, 0, NULL };
	uint8_t version = 0;
	bool ok;

	memset(r, 0, sizeof(*r));
	if (!history_get_u8(&rd, &version, "version"))
		goto bad;
	if (version != HISTORY_VERSION) {
		if (why != NULL)
			*why = "version";
		return -EPROTONOSUPPORT;
	}
	ok = history_get_u8(&rd, &r->kind, "kind") && history_get_u8(&rd, &r->action, "action") &&
	     history_get_u8(&rd, &r->reason, "reason") && history_get_u8(&rd, &r->flags, "flags");
	if (ok && !history_enums_ok(r->kind, r->action, r->reason))
		rd.why = "kind, action or reason", ok = false;
	if (ok && (r->flags & ~HISTORY_F_ALL) != 0)
		rd.why = "flags", ok = false;
	ok = ok && history_get_ints(&rd, r) && history_get_metrics(&rd, r) &&
	     history_get_text(&rd, r);
	if (ok && rd.off != len)
		rd.why = "trailing bytes", ok = false;
	if (ok)
		return 0;
bad:
	if (why != NULL)
		*why = rd.why;
	return -EINVAL;
}

/* ---- text and JSON ----------------------------------------------------- */

static const char *
history_action_name(const struct history_record *r)
{
	if (r->kind == HISTORY_DECISION)
		return policy_action_name((enum policy_action)r->action);
	return actuate_event_name((enum actuate_event_kind)r->action);
}

/* "2026-11-21T22:08:30.123Z" from unix ms (civil_from_days). */
static void
history_time(uint64_t ms, char *out, size_t size)
{
	int64_t z = (int64_t)(ms / 86400000) + 719468, era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097), yoe, doy, mp, d, m;
	uint64_t sod = ms % 86400000;
	int64_t y;

	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(out, size, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m, d,
		 (unsigned)(sod / 3600000), (unsigned)(sod / 60000 % 60),
		 (unsigned)(sod / 1000 % 60), (unsigned)(sod % 1000));
}

void
history_format(const struct history_record *r, char *out, size_t size)
{
	char t[40], op[24] = "-";

	history_time(r->time_ms, t, sizeof(t));
	if (r->op_id != 0)
		snprintf(op, sizeof(op), "%012" PRIx64, r->op_id);
	snprintf(out, size, "%s term %" PRIu64 " op %s %s %s: %s", t, r->term, op,
		 r->kind == HISTORY_DECISION ? "decision" : "outcome", history_action_name(r),
		 r->text);
}

/* Integers go out as strings when a double cannot hold them exactly. */
static void
history_json_u64(cJSON *o, const char *name, uint64_t v)
{
	char buf[24];

	if (v <= (1ULL << 53)) {
		cJSON_AddNumberToObject(o, name, (double)v);
		return;
	}
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	cJSON_AddStringToObject(o, name, buf);
}

static cJSON *
history_json_metrics(const struct history_record *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (uint8_t i = 0; arr != NULL && i < r->nmetrics; i++) {
		cJSON *m = cJSON_CreateObject();

		if (m == NULL)
			break;
		cJSON_AddStringToObject(
			m, "metric", policy_metric_name((enum policy_metric)r->metrics[i].metric));
		cJSON_AddNumberToObject(m, "value", (double)r->metrics[i].value);
		cJSON_AddNumberToObject(m, "target", (double)r->metrics[i].target);
		cJSON_AddItemToArray(arr, m);
	}
	return arr;
}

cJSON *
history_to_json(const struct history_record *r)
{
	cJSON *o = cJSON_CreateObject();
	char t[40], op[32] = "";

	if (o == NULL)
		return NULL;
	history_time(r->time_ms, t, sizeof(t));
	if (r->op_id != 0)
		snprintf(op, sizeof(op), "mitosis-op-%012" PRIx64,
			 r->op_id & (uint64_t)0xffffffffffff);
	cJSON_AddStringToObject(o, "time", t);
	history_json_u64(o, "term", r->term);
	history_json_u64(o, "seq", r->seq);
	cJSON_AddStringToObject(o, "kind", r->kind == HISTORY_DECISION ? "decision" : "outcome");
	cJSON_AddStringToObject(o, "action", history_action_name(r));
	cJSON_AddStringToObject(o, "op", op);
	history_json_u64(o, "droplet", r->droplet);
	cJSON_AddBoolToObject(o, "dry_run", (r->flags & HISTORY_F_DRY_RUN) != 0);
	cJSON_AddBoolToObject(o, "limit_reached", (r->flags & HISTORY_F_LIMIT_EVENT) != 0);
	cJSON_AddNumberToObject(o, "count", r->count);
	cJSON_AddNumberToObject(o, "capacity", r->capacity);
	cJSON_AddNumberToObject(o, "desired", r->desired);
	cJSON_AddNumberToObject(o, "total", r->total);
	cJSON_AddNumberToObject(o, "limits", r->limits);
	cJSON_AddNumberToObject(o, "cost_per_hour", (double)r->cost_uusd / 1e6);
	cJSON_AddItemToObject(o, "metrics", history_json_metrics(r));
	cJSON_AddStringToObject(o, "text", r->text);
	return o;
}

/* ---- the ring and its file ---------------------------------------------- */

struct history {
	struct history_record rec[HISTORY_KEEP];
	size_t head, len;
};

struct history *
history_new(void)
{
	return calloc(1, sizeof(struct history));
}

void
history_free(struct history *h)
{
	free(h);
}

size_t
history_count(const struct history *h)
{
	return h->len;
}

const struct history_record *
history_at(const struct history *h, size_t i)
{
	return i < h->len ? &h->rec[(h->head + i) % HISTORY_KEEP] : NULL;
}

int
history_append(struct history *h, const struct history_record *r)
{
	const struct history_record *last = h->len > 0 ? history_at(h, h->len - 1) : NULL;

	if (last != NULL &&
	    (r->term < last->term || (r->term == last->term && r->seq <= last->seq)))
		return -EALREADY;
	if (h->len == HISTORY_KEEP) {
		h->head = (h->head + 1) % HISTORY_KEEP;
		h->len--;
	}
	h->rec[(h->head + h->len++) % HISTORY_KEEP] = *r;
	return 0;
}

int
history_save(const struct history *h, uint8_t **out, size_t *len)
{
	size_t cap = 5 + h->len * (HISTORY_RECORD_MAX + 2);
	struct history_wr w = { malloc(cap), cap, 0, false };
	uint8_t one[HISTORY_RECORD_MAX];

	*out = NULL;
	*len = 0;
	if (w.p == NULL)
		return -ENOMEM;
	memcpy(w.p, HISTORY_FILE_MAGIC, 4);
	w.len = 4;
	history_put_u8(&w, HISTORY_VERSION);
	for (size_t i = 0; i < h->len; i++) {
		int n = history_encode(history_at(h, i), one, sizeof(one));

		if (n < 0)
			continue; /* only records that decode are kept */
		history_put_varint(&w, (uint64_t)n);
		for (int k = 0; k < n; k++)
			history_put_u8(&w, one[k]);
	}
	*out = w.p;
	*len = w.len;
	return 0;
}

int
history_load(struct history *h, const uint8_t *buf, size_t len, size_t *bad_at, const char **why)
{
	struct history_rd rd = { buf, len, 5, NULL };
	struct history_record r;
	uint64_t n;
	int e;

	*bad_at = 0;
	if (len < 5 || memcmp(buf, HISTORY_FILE_MAGIC, 4) != 0) {
		*why = "not a history file";
		return -EINVAL;
	}
	if (buf[4] != HISTORY_VERSION) {
		*why = "file version";
		return -EPROTONOSUPPORT;
	}
	while (rd.off < len) {
		*bad_at = rd.off;
		if (!history_get_varint(&rd, HISTORY_RECORD_MAX, &n, "record length") ||
		    len - rd.off < n) {
			*why = rd.why != NULL ? rd.why : "record truncated";
			return -EINVAL;
		}
		e = history_decode(buf + rd.off, (size_t)n, &r, why);
		if (e != 0)
			return e;
		rd.off += (size_t)n;
		(void)history_append(h, &r); /* out of order: a straggler, dropped */
	}
	return 0;
}
