/*
 * elect_report: the election's part of `mitosis status` and `mitosis
 * leader` (include/elect_report.h). The text is written for the operator
 * who must act on it: who leads and for how long, what this node is, which
 * voters are alive, whether the cloud is reachable only by inventory or by
 * the cluster key alone, and, when the quorum is lost, the one step that
 * recovers it (docs/election.md, "Lost quorum and force-recover").
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "elect_report.h"
#include "log.h"
#include "report.h"

#define ELECT_REPORT_NAME 288 /* an escaped member name and then some */
#define ELECT_REPORT_TEXT 4096

const char *
elect_report_role(enum elect_role r)
{
	if (r == ELECT_LEADER)
		return "leader";
	if (r == ELECT_NONVOTER)
		return "non-voter";
	return "voter";
}

static const char *
elect_report_admission_text(const char *admission)
{
	if (admission != NULL && strcmp(admission, "inventory") == 0)
		return "inventory (a voter's droplet must carry the cluster tag)";
	return "cluster key only (no API token: any node holding the cluster key may "
	       "become a voter)";
}

/* ---- JSON ---- */

static bool
elect_report_voters_json(cJSON *obj, const struct elect_report *r)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, "voters");
	char name[ELECT_REPORT_NAME], sid[24];
	bool ok = arr != NULL;

	for (uint32_t i = 0; ok && i < r->st.voters.n; i++) {
		const struct elect_report_voter *v = &r->voters[i];
		cJSON *o = cJSON_CreateObject();

		ok = o != NULL && cJSON_AddItemToArray(arr, o);
		if (!ok) {
			cJSON_Delete(o);
			break;
		}
		snprintf(sid, sizeof(sid), "%016" PRIx64, v->sid);
		ok &= report_add_u64(o, "id", v->id);
		ok &= cJSON_AddStringToObject(o, "sid", sid) != NULL;
		if (v->name != NULL)
			ok &= cJSON_AddStringToObject(
				      o, "name",
				      report_json_str(v->name, 256, name, sizeof(name))) != NULL;
		else
			ok &= cJSON_AddNullToObject(o, "name") != NULL;
		ok &= cJSON_AddStringToObject(o, "state",
					      v->state != NULL ? v->state : "unknown") != NULL;
	}
	return ok;
}

static bool
elect_report_counts_json(cJSON *obj, const struct elect_report *r)
{
	const struct elect_stats *s = &r->stats;
	cJSON *ref = cJSON_AddObjectToObject(obj, "refused");
	cJSON *st = cJSON_AddObjectToObject(obj, "stats");
	bool ok = ref != NULL && st != NULL;

	for (int i = 0; ok && i < ELECT_REFUSE_COUNT; i++)
		ok &= report_add_u64(ref, elect_refuse_name((enum elect_refuse)i), s->refused[i]);
	if (!ok)
		return false;
	ok &= report_add_u64(st, "msgs_in", s->msgs_in);
	ok &= report_add_u64(st, "msgs_out", s->msgs_out);
	ok &= report_add_u64(st, "bytes_out", s->bytes_out);
	ok &= report_add_u64(st, "elections", s->elections);
	ok &= report_add_u64(st, "campaigns", s->campaigns);
	ok &= report_add_u64(st, "won", s->won);
	ok &= report_add_u64(st, "votes_granted", s->votes_granted);
	ok &= report_add_u64(st, "votes_denied", s->votes_denied);
	ok &= report_add_u64(st, "persists", s->persists);
	ok &= report_add_u64(st, "persist_failures", s->persist_failures);
	ok &= report_add_u64(st, "config_changes", s->config_changes);
	ok &= report_add_u64(st, "snapshots_sent", s->snapshots_sent);
	ok &= report_add_u64(st, "claims_taken", r->claims_taken);
	ok &= report_add_u64(st, "claims_refused", r->claims_refused);
	ok &= report_add_u64(st, "send_failures", r->send_failures);
	return ok;
}

static bool
elect_report_work_json(cJSON *obj, const struct elect_report_work *w)
{
	cJSON *o;
	bool ok;

	if (!w->active)
		return cJSON_AddNullToObject(obj, "work") != NULL;
	if ((o = cJSON_AddObjectToObject(obj, "work")) == NULL)
		return false;
	ok = report_add_u64(o, "term", w->term);
	if (w->inventory_known)
		ok &= report_add_u64(o, "inventory", w->inventory_n);
	else
		ok &= cJSON_AddNullToObject(o, "inventory") != NULL;
	ok &= report_add_u64(o, "registered", w->registered);
	ok &= report_add_u64(o, "pending", w->pending);
	ok &= report_add_u64(o, "reconciles", w->reconciles);
	if (w->last_reconcile >= 0)
		ok &= report_add_u64(o, "last_reconcile_ms", (uint64_t)w->last_reconcile);
	else
		ok &= cJSON_AddNullToObject(o, "last_reconcile_ms") != NULL;
	ok &= report_add_u64(o, "api_calls", w->api_calls);
	ok &= report_add_u64(o, "refused_calls", w->refused_calls);
	return ok;
}

/* The leader, its term and lease, and what this node is. */
static bool
elect_report_head_json(cJSON *o, const struct elect_report *r)
{
	const struct elect_status *st = &r->st;
	char name[ELECT_REPORT_NAME];
	bool ok = true;

	ok &= cJSON_AddStringToObject(o, "role", elect_report_role(st->role)) != NULL;
	ok &= cJSON_AddStringToObject(o, "state", elect_role_name(st->role)) != NULL;
	ok &= report_add_u64(o, "term", st->term);
	if (st->leader != 0)
		ok &= report_add_u64(o, "leader", st->leader);
	else
		ok &= cJSON_AddNullToObject(o, "leader") != NULL;
	if (r->leader_name != NULL)
		ok &= cJSON_AddStringToObject(
			      o, "leader_name",
			      report_json_str(r->leader_name, 256, name, sizeof(name))) != NULL;
	else
		ok &= cJSON_AddNullToObject(o, "leader_name") != NULL;
	ok &= cJSON_AddBoolToObject(o, "leading", st->leading) != NULL;
	ok &= report_add_u64(o, "lease_left_ms", st->lease_left_ms);
	ok &= report_add_u64(o, "commit", st->commit);
	return ok;
}

cJSON *
elect_report_json(const struct elect_report *r)
{
	const struct elect_status *st = &r->st;
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	ok = ok && elect_report_head_json(o, r);
	ok = ok && elect_report_voters_json(o, r);
	ok = ok && report_add_u64(o, "voters_alive", st->voters_alive);
	ok = ok && report_add_u64(o, "voters_wanted", r->voters_wanted);
	ok = ok && cJSON_AddBoolToObject(o, "quorum_lost", st->quorum_lost) != NULL;
	ok = ok && (st->recovery != NULL ? cJSON_AddStringToObject(o, "recovery", st->recovery)
					 : cJSON_AddNullToObject(o, "recovery")) != NULL;
	ok = ok && cJSON_AddStringToObject(o, "admission",
					   r->admission != NULL ? r->admission : "cluster-key");
	ok = ok && cJSON_AddBoolToObject(o, "bootstrapping", st->bootstrapping) != NULL;
	ok = ok && cJSON_AddStringToObject(o, "boot_phase",
					   st->boot_phase != NULL ? st->boot_phase : "") != NULL;
	ok = ok && elect_report_counts_json(o, r);
	ok = ok && elect_report_work_json(o, &r->work);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- text ---- */

struct elect_report_buf {
	char p[ELECT_REPORT_TEXT];
	size_t len;
};

static void __attribute__((format(printf, 2, 3)))
elect_report_printf(struct elect_report_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len >= sizeof(b->p) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, sizeof(b->p) - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < sizeof(b->p) - b->len ? (size_t)n : sizeof(b->p) - 1 - b->len;
}

static const char *
elect_report_name(const char *s, char *buf, size_t size)
{
	return s != NULL ? log_escape(buf, size, s, strlen(s)) : "?";
}

/* The first line: who leads, or why nobody does. */
static void
elect_report_text_head(struct elect_report_buf *b, const struct elect_report *r)
{
	const struct elect_status *st = &r->st;
	char name[ELECT_REPORT_NAME], left[32];

	if (st->quorum_lost)
		elect_report_printf(b,
				    "election: QUORUM LOST in term %" PRIu64
				    ": %u of %u voters alive, no leader",
				    st->term, st->voters_alive, st->voters.n);
	else if (st->leader != 0)
		elect_report_printf(
			b,
			"election: node %" PRIu64 " \"%s\" leads term %" PRIu64 " (lease %s left)",
			st->leader, elect_report_name(r->leader_name, name, sizeof(name)), st->term,
			report_fmt_age(st->lease_left_ms, left, sizeof(left)));
	else if (st->bootstrapping)
		elect_report_printf(b, "election: no leader yet, bootstrap %s", st->boot_phase);
	else
		elect_report_printf(b, "election: no leader known in term %" PRIu64, st->term);
	elect_report_printf(b, "; this node: %s", elect_report_role(st->role));
	if (st->role != ELECT_LEADER && st->role != ELECT_NONVOTER)
		elect_report_printf(b, " (%s)", elect_role_name(st->role));
	elect_report_printf(b, "\n");
}

static void
elect_report_text_voters(struct elect_report_buf *b, const struct elect_report *r)
{
	const struct elect_status *st = &r->st;
	char name[ELECT_REPORT_NAME];

	if (st->voters.n == 0) {
		elect_report_printf(b, "voters: none known yet (wanted %u)\n", r->voters_wanted);
	} else {
		elect_report_printf(b, "voters: %u of %u alive (wanted %u):", st->voters_alive,
				    st->voters.n, r->voters_wanted);
		for (uint32_t i = 0; i < st->voters.n; i++)
			elect_report_printf(
				b, "%s %" PRIu64 " \"%s\" %s", i ? "," : "", r->voters[i].id,
				elect_report_name(r->voters[i].name, name, sizeof(name)),
				r->voters[i].state != NULL ? r->voters[i].state : "unknown");
		elect_report_printf(b, "\n");
	}
	elect_report_printf(b, "admission: %s\n", elect_report_admission_text(r->admission));
	if (st->quorum_lost && st->recovery != NULL)
		elect_report_printf(b, "recovery: %s\n", st->recovery);
}

static void
elect_report_text_work(struct elect_report_buf *b, const struct elect_report_work *w)
{
	char age[32];

	if (!w->active)
		return;
	elect_report_printf(b, "leader's work in term %" PRIu64 ": %" PRIu64 " in rotation",
			    w->term, w->registered);
	if (w->pending > 0)
		elect_report_printf(b, ", %" PRIu64 " changes running", w->pending);
	if (w->inventory_known)
		elect_report_printf(b, ", %" PRIu64 " droplets under the cluster tag",
				    w->inventory_n);
	if (w->last_reconcile >= 0)
		elect_report_printf(b, ", last reconcile %s ago",
				    report_fmt_age((uint64_t)w->last_reconcile, age, sizeof(age)));
	elect_report_printf(b, ", %" PRIu64 " API calls\n", w->api_calls);
}

char *
elect_report_text(const struct elect_report *r)
{
	struct elect_report_buf *b = calloc(1, sizeof(*b));
	char *out;

	if (b == NULL)
		return NULL;
	elect_report_text_head(b, r);
	elect_report_text_voters(b, r);
	elect_report_text_work(b, &r->work);
	out = strdup(b->p);
	free(b);
	return out;
}
