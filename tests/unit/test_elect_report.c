/*
 * Unit tests for common/elect_report.c: the election's lines of `mitosis
 * status` and `mitosis leader` (docs/election.md, "Status") for a leader, a
 * follower, a non-voter, a lost quorum and a bootstrap; the JSON parsed back
 * with every field the tests and the CLI read; and status with and without it.
 */
#include <cjson/cJSON.h>

#include "elect_report.h"
#include "harness.h"
#include "report.h"

/* A follower of node 1002 in term 7 with five voters, 1005 suspect. */
static struct elect_report
follower(void)
{
	static const char *const names[] = { "web-1", "web-2", "web-3", "web-4", "web-5" };
	static const char *const states[] = { "alive", "alive", "alive", "alive", "suspect" };
	struct elect_report r;

	memset(&r, 0, sizeof(r));
	r.st.role = ELECT_FOLLOWER;
	r.st.self = 1001;
	r.st.term = 7;
	r.st.leader = 1002;
	r.st.lease_left_ms = 2900;
	r.st.commit = 12;
	r.st.voters.n = 5;
	for (uint32_t i = 0; i < 5; i++) {
		r.st.voters.v[i].id = 1001 + i;
		r.st.voters.v[i].sid = 0xabc0000000000000ULL + i;
		r.voters[i].id = 1001 + i;
		r.voters[i].sid = r.st.voters.v[i].sid;
		r.voters[i].name = names[i];
		r.voters[i].state = states[i];
	}
	r.st.voters_alive = 5;
	r.st.boot_phase = "configured";
	r.voters_wanted = 5;
	r.admission = "inventory";
	r.leader_name = "web-2";
	r.stats.refused[ELECT_REFUSE_BAD_SIGNATURE] = 3;
	r.stats.persist_failures = 2;
	r.claims_taken = 4;
	return r;
}

TEST(elect_report_follower_text)
{
	struct elect_report r = follower();
	char *t = elect_report_text(&r);

	ASSERT_NOT_NULL(t);
	ASSERT_STR_EQ(t,
		      "election: node 1002 \"web-2\" leads term 7 (lease 2.9s left); this node: "
		      "voter (follower)\n"
		      "voters: 5 of 5 alive (wanted 5): 1001 \"web-1\" alive, 1002 \"web-2\" "
		      "alive, 1003 \"web-3\" alive, 1004 \"web-4\" alive, 1005 \"web-5\" suspect\n"
		      "admission: inventory (a voter's droplet must carry the cluster tag)\n");
	free(t);
}

TEST(elect_report_leader_shows_its_work)
{
	struct elect_report r = follower();
	char *t;

	r.st.role = ELECT_LEADER;
	r.st.leading = true;
	r.work.active = true;
	r.work.term = 7;
	r.work.inventory_known = true;
	r.work.inventory_n = 10;
	r.work.registered = 9;
	r.work.pending = 1;
	r.work.last_reconcile = 12000;
	r.work.api_calls = 31;
	t = elect_report_text(&r);
	ASSERT_STR_CONTAINS(t, "leads term 7 (lease 2.9s left); this node: leader\n");
	ASSERT_STR_CONTAINS(
		t, "leader's work in term 7: 9 in rotation, 1 changes running, 10 droplets "
		   "under the cluster tag, last reconcile 12.0s ago, 31 API calls\n");
	free(t);
}

TEST(elect_report_quorum_lost_names_the_recovery)
{
	struct elect_report r = follower();
	char *t;

	r.st.leader = 0;
	r.st.lease_left_ms = 0;
	r.st.voters_alive = 2;
	r.st.quorum_lost = true;
	r.st.recovery = "run `mitosis leader force-recover` on ONE surviving voter";
	r.admission = "cluster-key";
	t = elect_report_text(&r);
	ASSERT_STR_CONTAINS(t, "election: QUORUM LOST in term 7: 2 of 5 voters alive, no leader; "
			       "this node: voter (follower)\n");
	ASSERT_STR_CONTAINS(t, "admission: cluster key only (no API token: any node holding the "
			       "cluster key may become a voter)\n");
	ASSERT_STR_CONTAINS(
		t, "recovery: run `mitosis leader force-recover` on ONE surviving voter\n");
	free(t);
}

TEST(elect_report_nonvoter_and_bootstrap)
{
	struct elect_report r;
	char *t;

	memset(&r, 0, sizeof(r));
	r.st.role = ELECT_NONVOTER;
	r.st.bootstrapping = true;
	r.st.boot_phase = "waiting for 3 members";
	r.voters_wanted = 5;
	t = elect_report_text(&r);
	ASSERT_STR_EQ(t, "election: no leader yet, bootstrap waiting for 3 members; this node: "
			 "non-voter\n"
			 "voters: none known yet (wanted 5)\n"
			 "admission: cluster key only (no API token: any node holding the cluster "
			 "key may become a voter)\n");
	free(t);
	/* A name from a peer is escaped, never printed raw. */
	r = follower();
	r.leader_name = "evil\n\x1b[2J";
	t = elect_report_text(&r);
	ASSERT_STR_CONTAINS(t, "node 1002 \"evil\\x0a\\x1b[2J\" leads");
	free(t);
}

static const cJSON *
get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v == NULL)
		harness_fail(__FILE__, __LINE__, "no member %s", k);
	return v;
}

/* The object as a client reads it: printed, then parsed (exact integers are raw text). */
static cJSON *
parsed(const struct elect_report *r)
{
	cJSON *o = elect_report_json(r);
	char *text = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
	cJSON *back = text != NULL ? cJSON_Parse(text) : NULL;

	cJSON_Delete(o);
	free(text);
	return back;
}

TEST(elect_report_json_fields)
{
	struct elect_report r = follower();
	cJSON *o = parsed(&r);
	const cJSON *v, *refused;

	ASSERT_NOT_NULL(o);
	ASSERT_STR_EQ(get(o, "role")->valuestring, "voter");
	ASSERT_STR_EQ(get(o, "state")->valuestring, "follower");
	ASSERT_EQ(get(o, "term")->valuedouble, 7);
	ASSERT_EQ(get(o, "leader")->valuedouble, 1002);
	ASSERT_STR_EQ(get(o, "leader_name")->valuestring, "web-2");
	ASSERT_TRUE(cJSON_IsFalse(get(o, "leading")));
	ASSERT_EQ(get(o, "lease_left_ms")->valuedouble, 2900);
	ASSERT_EQ(cJSON_GetArraySize(get(o, "voters")), 5);
	v = cJSON_GetArrayItem(get(o, "voters"), 4);
	ASSERT_EQ(get(v, "id")->valuedouble, 1005);
	ASSERT_STR_EQ(get(v, "sid")->valuestring, "abc0000000000004");
	ASSERT_STR_EQ(get(v, "state")->valuestring, "suspect");
	ASSERT_EQ(get(o, "voters_alive")->valuedouble, 5);
	ASSERT_TRUE(cJSON_IsFalse(get(o, "quorum_lost")));
	ASSERT_TRUE(cJSON_IsNull(get(o, "recovery")));
	ASSERT_STR_EQ(get(o, "admission")->valuestring, "inventory");
	refused = get(o, "refused");
	ASSERT_EQ(cJSON_GetArraySize(refused), ELECT_REFUSE_COUNT);
	ASSERT_EQ(get(refused, "bad-signature")->valuedouble, 3);
	ASSERT_EQ(get(refused, "not-voter")->valuedouble, 0);
	ASSERT_EQ(get(get(o, "stats"), "persist_failures")->valuedouble, 2);
	ASSERT_EQ(get(get(o, "stats"), "claims_taken")->valuedouble, 4);
	ASSERT_TRUE(cJSON_IsNull(get(o, "work")));
	cJSON_Delete(o);
	/* No leader known: null, not 0. */
	r.st.leader = 0;
	r.leader_name = NULL;
	o = parsed(&r);
	ASSERT_TRUE(cJSON_IsNull(get(o, "leader")));
	ASSERT_TRUE(cJSON_IsNull(get(o, "leader_name")));
	cJSON_Delete(o);
}

TEST(elect_report_in_status)
{
	struct elect_report r = follower();
	struct report_status st;
	char *text, *json;
	cJSON *doc;

	memset(&st, 0, sizeof(st));
	st.node_id = 1001;
	st.name = "web-1";
	st.cluster = "web";
	text = report_status_text(&st);
	json = report_status_json(&st);
	ASSERT_TRUE(strstr(text, "election:") == NULL);
	ASSERT_TRUE(strstr(json, "\"election\"") == NULL);
	free(text);
	free(json);
	st.elect = &r;
	text = report_status_text(&st);
	json = report_status_json(&st);
	ASSERT_STR_CONTAINS(text, "\nelection: node 1002 \"web-2\" leads term 7");
	doc = cJSON_Parse(json);
	ASSERT_EQ(get(get(doc, "election"), "leader")->valuedouble, 1002);
	cJSON_Delete(doc);
	free(text);
	free(json);
}
