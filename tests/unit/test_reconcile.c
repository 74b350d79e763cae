/* Unit tests for common/reconcile.c: the plan rules of include/reconcile.h. */
#include <errno.h>

#include "harness.h"
#include "reconcile.h"

/* The plan as text, "c0 u1<-2 d3", for exact comparison. */
static char *
plan_text(const struct reconcile_item *d, size_t nd, const struct reconcile_item *a, size_t na,
	  unsigned flags)
{
	static char buf[512];
	struct reconcile_op *ops;
	size_t n, len = 0;

	ASSERT_OK(reconcile_plan(d, nd, a, na, flags, &ops, &n));
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *sep = i ? " " : "";

		if (ops[i].kind == RECONCILE_CREATE)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%sc%zu", sep,
						ops[i].desired);
		else if (ops[i].kind == RECONCILE_UPDATE)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%su%zu<-%zu", sep,
						ops[i].desired, ops[i].actual);
		else
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%sd%zu", sep,
						ops[i].actual);
	}
	free(ops);
	return buf;
}

#define R(k)                                                                                       \
	{                                                                                          \
		.key = (k), .ready = true                                                          \
	}

TEST(reconcile_empty_both)
{
	struct reconcile_op *ops = (struct reconcile_op *)1;
	size_t n = 7;

	ASSERT_OK(reconcile_plan(NULL, 0, NULL, 0, 0, &ops, &n));
	ASSERT_NULL(ops);
	ASSERT_EQ(n, 0);
}

TEST(reconcile_creates_missing)
{
	struct reconcile_item d[] = { R("10.0.0.1"), R("10.0.0.2"), R("10.0.0.3") };
	struct reconcile_item a[] = { R("10.0.0.2") };

	ASSERT_STR_EQ(plan_text(d, 3, a, 1, 0), "c0 c2");
}

TEST(reconcile_deletes_stale_and_duplicates)
{
	struct reconcile_item d[] = { R("10.0.0.1") };
	struct reconcile_item a[] = { R("10.0.0.9"), R("10.0.0.1"), R("10.0.0.1"), R("10.0.0.1") };

	/* keeps the first record for 10.0.0.1 (index 1) */
	ASSERT_STR_EQ(plan_text(d, 1, a, 4, 0), "d0 d2 d3");
}

TEST(reconcile_exact_set_is_noop)
{
	struct reconcile_item d[] = { R("1"), R("2"), R("3") };
	struct reconcile_item a[] = { R("3"), R("1"), R("2") };

	ASSERT_STR_EQ(plan_text(d, 3, a, 3, 0), "");
}

TEST(reconcile_desired_duplicates_count_once)
{
	struct reconcile_item d[] = { R("10.0.0.1"), R("10.0.0.1"), R("10.0.0.2") };

	ASSERT_STR_EQ(plan_text(d, 3, NULL, 0, 0), "c0 c2");
}

TEST(reconcile_pair_turns_create_delete_into_update)
{
	struct reconcile_item d[] = { R("10.0.0.1"), R("10.0.0.5"), R("10.0.0.6") };
	struct reconcile_item a[] = { R("10.0.0.8"), R("10.0.0.1"), R("10.0.0.1") };

	/* the duplicate of 10.0.0.1 is not reused: it is deleted */
	ASSERT_STR_EQ(plan_text(d, 3, a, 3, RECONCILE_PAIR), "u1<-0 c2 d2");
	ASSERT_STR_EQ(plan_text(d, 3, a, 3, 0), "c1 c2 d0 d2");
}

TEST(reconcile_value_change_and_not_ready_update)
{
	struct reconcile_item d[] = {
		{ .key = "mitosis-1", .value = "10.0.0.1:80" },
		{ .key = "mitosis-2", .value = "10.0.0.2:80" },
		{ .key = "mitosis-3", .value = "10.0.0.3:80" },
	};
	struct reconcile_item a[] = {
		{ .key = "mitosis-1", .value = "10.0.0.1:80", .ready = true },
		{ .key = "mitosis-2", .value = "10.0.0.7:80", .ready = true },
		{ .key = "mitosis-3", .value = "10.0.0.3:80", .ready = false },
	};

	ASSERT_STR_EQ(plan_text(d, 3, a, 3, 0), "u1<-1 u2<-2");
}

TEST(reconcile_foreign_items_are_left_alone)
{
	struct reconcile_item d[] = { R("mitosis-1") };
	struct reconcile_item a[] = {
		{ .key = "static-web", .ready = true, .foreign = true },
		{ .key = "mitosis-9", .ready = true },
	};

	ASSERT_STR_EQ(plan_text(d, 1, a, 2, 0), "c0 d1");
	/* a foreign item is never reused by a pairing either */
	ASSERT_STR_EQ(plan_text(d, 1, a, 2, RECONCILE_PAIR), "u0<-1");
}

TEST(reconcile_creates_come_before_deletes)
{
	struct reconcile_item d[] = { R("b") };
	struct reconcile_item a[] = { R("a") };
	struct reconcile_op *ops;
	size_t n;

	ASSERT_OK(reconcile_plan(d, 1, a, 1, 0, &ops, &n));
	ASSERT_EQ(n, 2);
	ASSERT_EQ(ops[0].kind, RECONCILE_CREATE);
	ASSERT_EQ(ops[0].actual, RECONCILE_NONE);
	ASSERT_EQ(ops[1].kind, RECONCILE_DELETE);
	ASSERT_EQ(ops[1].desired, RECONCILE_NONE);
	ASSERT_STR_EQ(reconcile_kind_name(ops[0].kind), "create");
	ASSERT_STR_EQ(reconcile_kind_name(ops[1].kind), "delete");
	ASSERT_STR_EQ(reconcile_kind_name(RECONCILE_UPDATE), "update");
	free(ops);
}

TEST(reconcile_null_key_rejected)
{
	struct reconcile_item d[] = { { .key = NULL } };
	struct reconcile_item a[] = { { .key = NULL } };
	struct reconcile_op *ops = (struct reconcile_op *)1;
	size_t n = 3;

	ASSERT_EQ(reconcile_plan(d, 1, NULL, 0, 0, &ops, &n), -EINVAL);
	ASSERT_NULL(ops);
	ASSERT_EQ(n, 0);
	ASSERT_EQ(reconcile_plan(NULL, 0, a, 1, 0, &ops, &n), -EINVAL);
}

TEST(reconcile_hundred_nodes_from_scratch_and_churn)
{
	static char keys[200][32]; /* room for any int, which gcc -O1 cannot bound */
	struct reconcile_item d[100], a[100];
	struct reconcile_op *ops;
	size_t n, creates = 0, deletes = 0;

	for (int i = 0; i < 100; i++) {
		snprintf(keys[i], sizeof(keys[i]), "10.1.0.%d", i);
		snprintf(keys[100 + i], sizeof(keys[100 + i]), "10.1.%d.%d", i < 10 ? 0 : 1, i);
		d[i] = (struct reconcile_item){ .key = keys[i] };
		a[i] = (struct reconcile_item){ .key = keys[100 + i], .ready = true };
	}
	/* actual: 10.1.0.0-9 match, 10.1.1.10-99 are stale */
	ASSERT_OK(reconcile_plan(d, 100, a, 100, 0, &ops, &n));
	for (size_t i = 0; i < n; i++) {
		creates += ops[i].kind == RECONCILE_CREATE;
		deletes += ops[i].kind == RECONCILE_DELETE;
	}
	ASSERT_EQ(creates, 90);
	ASSERT_EQ(deletes, 90);
	ASSERT_EQ(n, 180);
	free(ops);
}
