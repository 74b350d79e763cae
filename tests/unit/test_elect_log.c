/*
 * Unit tests for common/elect_log.c: voter sets, the up-to-date rule, commit
 * folding into the snapshot, and a follower's merge (Raft §5.3).
 */
#include <errno.h>

#include "elect_log.h"
#include "harness.h"

static struct elect_entry
ent(uint64_t term, uint32_t nvoters)
{
	struct elect_entry e;

	memset(&e, 0, sizeof(e));
	e.term = term;
	e.type = nvoters ? ELECT_ENTRY_CONFIG : ELECT_ENTRY_NOOP;
	for (uint32_t i = 0; i < nvoters; i++)
		e.voters.v[e.voters.n++] = (struct elect_voter){ i + 1, 100 + i };
	return e;
}

static struct elect_log
log3(void)
{
	struct elect_log l;
	struct elect_voters v = { 3, { { 1, 100 }, { 2, 101 }, { 3, 102 } } };

	elect_log_install(&l, 5, 2, &v);
	return l;
}

TEST(elect_log_voters_and_quorum)
{
	struct elect_voters v = { 3, { { 1, 100 }, { 2, 101 }, { 3, 102 } } }, w = v;
	char buf[128];

	ASSERT_EQ(elect_quorum(1), 1);
	ASSERT_EQ(elect_quorum(4), 3);
	ASSERT_EQ(elect_quorum(5), 3);
	ASSERT_EQ(elect_voters_find(&v, 3), 2);
	ASSERT_EQ(elect_voters_find(&v, 4), -1);
	ASSERT_TRUE(elect_voters_has(&v, 2, 101));
	ASSERT_FALSE(elect_voters_has(&v, 2, 102)); /* same node, another state */
	ASSERT_TRUE(elect_voters_valid(&v, false));
	w.v[2].id = 1;
	ASSERT_FALSE(elect_voters_valid(&w, false));
	w = v;
	w.v[1].sid = 0;
	ASSERT_FALSE(elect_voters_valid(&w, false));
	ASSERT_TRUE(elect_voters_valid(&w, true));
	w.n = 0;
	ASSERT_FALSE(elect_voters_valid(&w, true));
	w = v;
	w.v[0] = v.v[2];
	w.v[2] = v.v[0];
	ASSERT_TRUE(elect_voters_equal(&v, &w)); /* order does not matter */
	ASSERT_STR_EQ(elect_voters_format(&v, buf, sizeof(buf)),
		      "1/00000000,2/00000000,3/00000000");
}

TEST(elect_log_up_to_date_rule)
{
	struct elect_log l = log3();
	struct elect_entry e = ent(4, 0);

	ASSERT_OK(elect_log_append(&l, &e));
	ASSERT_U64_EQ(elect_log_last_index(&l), 6);
	ASSERT_U64_EQ(elect_log_last_term(&l), 4);
	ASSERT_TRUE(elect_log_up_to_date(&l, 6, 4));
	ASSERT_TRUE(elect_log_up_to_date(&l, 2, 5)); /* a later term wins */
	ASSERT_FALSE(elect_log_up_to_date(&l, 9, 3));
	ASSERT_FALSE(elect_log_up_to_date(&l, 5, 4));
}

TEST(elect_log_commit_folds_and_reports_new_voters)
{
	struct elect_log l = log3();
	struct elect_entry a = ent(3, 0), b = ent(3, 5);
	uint64_t t;

	ASSERT_OK(elect_log_append(&l, &a));
	ASSERT_OK(elect_log_append(&l, &b));
	ASSERT_TRUE(elect_log_config_pending(&l));
	ASSERT_EQ(elect_log_voters(&l)->n, 5);
	ASSERT_FALSE(elect_log_commit(&l, 6)); /* the no-op: same voters */
	ASSERT_U64_EQ(l.snap_index, 6);
	ASSERT_EQ(l.n, 1);
	ASSERT_TRUE(elect_log_commit(&l, 99)); /* capped at the last entry */
	ASSERT_U64_EQ(l.snap_index, 7);
	ASSERT_U64_EQ(l.snap_term, 3);
	ASSERT_EQ(l.snap_voters.n, 5);
	ASSERT_FALSE(elect_log_config_pending(&l));
	ASSERT_FALSE(elect_log_commit(&l, 4)); /* never backwards */
	ASSERT_TRUE(elect_log_term_at(&l, 7, &t));
	ASSERT_FALSE(elect_log_term_at(&l, 6, &t)); /* folded away */
	ASSERT_NULL(elect_log_entry(&l, 7));
	for (int i = 0; i < ELECT_TAIL_MAX; i++)
		ASSERT_OK(elect_log_append(&l, &a));
	ASSERT_EQ(elect_log_append(&l, &a), -ENOSPC);
}

TEST(elect_log_merge_appends_and_is_idempotent)
{
	struct elect_log l = log3();
	struct elect_entry e[2] = { ent(3, 0), ent(3, 4) };
	uint64_t match;
	bool changed;

	ASSERT_EQ(elect_log_merge(&l, 5, 2, e, 2, &match, &changed), ELECT_MERGE_OK);
	ASSERT_TRUE(changed);
	ASSERT_U64_EQ(match, 7);
	ASSERT_EQ(elect_log_merge(&l, 5, 2, e, 2, &match, &changed), ELECT_MERGE_OK);
	ASSERT_FALSE(changed);
	/* A heartbeat with nothing new matches at prev. */
	ASSERT_EQ(elect_log_merge(&l, 7, 3, NULL, 0, &match, &changed), ELECT_MERGE_OK);
	ASSERT_U64_EQ(match, 7);
	ASSERT_FALSE(changed);
}

TEST(elect_log_merge_truncates_a_conflict)
{
	struct elect_log l = log3();
	struct elect_entry old[2] = { ent(3, 0), ent(3, 4) }, nw = ent(4, 0);
	uint64_t match;
	bool changed;

	ASSERT_EQ(elect_log_merge(&l, 5, 2, old, 2, &match, &changed), ELECT_MERGE_OK);
	/* A new leader's entry at index 7 replaces the old term's config. */
	ASSERT_EQ(elect_log_merge(&l, 6, 3, &nw, 1, &match, &changed), ELECT_MERGE_OK);
	ASSERT_TRUE(changed);
	ASSERT_U64_EQ(elect_log_last_index(&l), 7);
	ASSERT_U64_EQ(elect_log_last_term(&l), 4);
	ASSERT_EQ(elect_log_voters(&l)->n, 3); /* the uncommitted change is gone */
}

TEST(elect_log_merge_mismatch_hints)
{
	struct elect_log l = log3();
	struct elect_entry e = ent(3, 0);
	uint64_t match;
	bool changed;

	/* prev beyond our last: retry from our last. */
	ASSERT_EQ(elect_log_merge(&l, 9, 3, &e, 1, &match, &changed), ELECT_MERGE_MISMATCH);
	ASSERT_U64_EQ(match, 5);
	ASSERT_OK(elect_log_append(&l, &e));
	/* prev held with another term: retry from before it. */
	ASSERT_EQ(elect_log_merge(&l, 6, 9, NULL, 0, &match, &changed), ELECT_MERGE_MISMATCH);
	ASSERT_U64_EQ(match, 5);
	ASSERT_FALSE(changed);
	/* prev below our snapshot: committed, so it matches; entries up to
	 * the snapshot are skipped. */
	{
		struct elect_entry two[2] = { ent(2, 0), ent(3, 0) };

		ASSERT_EQ(elect_log_merge(&l, 4, 1, two, 2, &match, &changed), ELECT_MERGE_OK);
		ASSERT_U64_EQ(match, 6);
		ASSERT_FALSE(changed);
	}
}

TEST(elect_log_merge_no_room)
{
	struct elect_log l = log3();
	struct elect_entry e[ELECT_TAIL_MAX];
	uint64_t match;
	bool changed;

	for (int i = 0; i < ELECT_TAIL_MAX; i++)
		e[i] = ent(3, 0);
	ASSERT_EQ(elect_log_merge(&l, 5, 2, e, ELECT_TAIL_MAX, &match, &changed), ELECT_MERGE_OK);
	ASSERT_EQ(elect_log_merge(&l, 13, 3, e, 1, &match, &changed), ELECT_MERGE_NO_ROOM);
}
