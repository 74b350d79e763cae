/*
 * Unit tests for common/swim_table.c and common/swim_idmap.c: lookups through
 * adds and swap-removals, per-state counts, the randomized round-robin probe
 * order (each live member once per round, never self, never the dead), the
 * reap queue (order, stale entries), the member cap, and the id index
 * against a naive model.
 */
#include "harness.h"
#include "swim_idmap.h"
#include "swim_table.h"

static uint64_t rs = 88172645463325252ULL;

static uint32_t
rnd(void *arg)
{
	(void)arg;
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)rs;
}

static struct swim_member
member(uint64_t id, enum swim_state st)
{
	struct swim_member m;

	memset(&m, 0, sizeof(m));
	m.id = id;
	m.state = st;
	m.addr.family = 4;
	m.addr.port = (uint16_t)id;
	return m;
}

static void
table_with(struct swim_table *t, uint32_t n)
{
	struct swim_member m;

	ASSERT_OK(swim_table_init(t, 1000, 7));
	for (uint32_t i = 1; i <= n; i++) {
		m = member(i, SWIM_ALIVE);
		ASSERT_NOT_NULL(swim_table_add(t, &m, rnd, NULL));
	}
}

TEST(swim_table_add_find_remove)
{
	struct swim_table t;

	table_with(&t, 50);
	ASSERT_EQ(t.count, 50);
	ASSERT_EQ(t.nstate[SWIM_ALIVE], 50);
	for (uint64_t i = 1; i <= 50; i++)
		ASSERT_U64_EQ(swim_table_find(&t, i)->id, i);
	ASSERT_NULL(swim_table_find(&t, 51));
	ASSERT_U64_EQ(t.members[0].id, 1);
	swim_table_remove(&t, 1); /* self (index 0) is never removed */
	ASSERT_EQ(t.count, 50);
	swim_table_remove(&t, 10);
	swim_table_remove(&t, 50);
	swim_table_remove(&t, 99);
	ASSERT_EQ(t.count, 48);
	ASSERT_NULL(swim_table_cfind(&t, 10));
	for (uint64_t i = 1; i <= 49; i++)
		if (i != 10)
			ASSERT_U64_EQ(swim_table_cfind(&t, i)->id, i);
	ASSERT_EQ(t.nstate[SWIM_ALIVE], 48);
	swim_table_fini(&t);
}

TEST(swim_table_cap)
{
	struct swim_table t;
	struct swim_member m = member(1, SWIM_ALIVE);

	ASSERT_OK(swim_table_init(&t, 3, 1));
	for (uint64_t i = 1; i <= 3; i++) {
		m.id = i;
		ASSERT_NOT_NULL(swim_table_add(&t, &m, rnd, NULL));
	}
	m.id = 4;
	ASSERT_NULL(swim_table_add(&t, &m, rnd, NULL));
	ASSERT_EQ(t.count, 3);
	swim_table_fini(&t);
}

TEST(swim_table_probe_round_robin)
{
	struct swim_table t;
	int seen[21];
	uint32_t i;

	table_with(&t, 20);
	swim_table_set_state(&t, swim_table_find(&t, 5), SWIM_DEAD, 100);
	swim_table_set_state(&t, swim_table_find(&t, 6), SWIM_LEFT, 100);
	swim_table_set_state(&t, swim_table_find(&t, 7), SWIM_SUSPECT, 100);
	ASSERT_EQ(t.nstate[SWIM_ALIVE], 17);
	ASSERT_EQ(t.nstate[SWIM_DEAD], 1);
	for (int round = 0; round < 5; round++) {
		memset(seen, 0, sizeof(seen));
		for (int k = 0; k < 17; k++) {
			i = swim_table_next_probe(&t, rnd, NULL);
			ASSERT_NE(i, SWIM_TABLE_NONE);
			seen[t.members[i].id]++;
		}
		ASSERT_EQ(seen[1], 0); /* self */
		ASSERT_EQ(seen[5], 0);
		ASSERT_EQ(seen[6], 0);
		for (int id = 2; id <= 20; id++)
			if (id != 5 && id != 6)
				ASSERT_EQ(seen[id], 1);
	}
	swim_table_fini(&t);
}

TEST(swim_table_probe_none)
{
	struct swim_table t;

	table_with(&t, 1);
	ASSERT_EQ(swim_table_next_probe(&t, rnd, NULL), SWIM_TABLE_NONE);
	swim_table_fini(&t);
	table_with(&t, 3);
	swim_table_set_state(&t, swim_table_find(&t, 2), SWIM_DEAD, 1);
	swim_table_set_state(&t, swim_table_find(&t, 3), SWIM_DEAD, 1);
	ASSERT_EQ(swim_table_next_probe(&t, rnd, NULL), SWIM_TABLE_NONE);
	swim_table_fini(&t);
}

TEST(swim_table_newcomer_probed_within_two_rounds)
{
	struct swim_table t;
	struct swim_member m = member(100, SWIM_ALIVE);
	uint32_t i;
	int found = 0;

	table_with(&t, 10);
	for (int k = 0; k < 4; k++)
		(void)swim_table_next_probe(&t, rnd, NULL);
	ASSERT_NOT_NULL(swim_table_add(&t, &m, rnd, NULL));
	for (int k = 0; k < 20; k++) {
		i = swim_table_next_probe(&t, rnd, NULL);
		found += t.members[i].id == 100;
	}
	ASSERT_GE(found, 1);
	ASSERT_LE(found, 2);
	swim_table_fini(&t);
}

TEST(swim_table_reap_queue)
{
	struct swim_table t;
	struct swim_member *m;

	table_with(&t, 6);
	swim_table_set_state(&t, swim_table_find(&t, 2), SWIM_DEAD, 100);
	swim_table_set_state(&t, swim_table_find(&t, 3), SWIM_LEFT, 150);
	swim_table_set_state(&t, swim_table_find(&t, 4), SWIM_DEAD, 200);
	/* 4 comes back: its entry goes stale */
	swim_table_set_state(&t, swim_table_find(&t, 4), SWIM_ALIVE, 250);
	swim_table_set_state(&t, swim_table_find(&t, 1), SWIM_LEFT, 260); /* self: never reaped */
	ASSERT_U64_EQ(swim_table_next_reap(&t, 1000), 1100);
	ASSERT_U64_EQ(swim_table_reapable(&t, 1099, 1000), 0);
	ASSERT_U64_EQ(swim_table_reapable(&t, 1100, 1000), 2);
	swim_table_remove(&t, 2);
	ASSERT_U64_EQ(swim_table_next_reap(&t, 1000), 1150);
	ASSERT_U64_EQ(swim_table_reapable(&t, 5000, 1000), 3);
	swim_table_remove(&t, 3);
	ASSERT_U64_EQ(swim_table_reapable(&t, 5000, 1000), 0);
	ASSERT_U64_EQ(swim_table_next_reap(&t, 1000), UINT64_MAX);
	m = swim_table_find(&t, 5);
	swim_table_set_state(&t, m, SWIM_DEAD, 6000);
	swim_table_set_state(&t, m, SWIM_LEFT, 6001); /* DEAD -> LEFT restarts the clock */
	ASSERT_U64_EQ(swim_table_next_reap(&t, 1000), 7001);
	ASSERT_EQ(t.count, 4);
	swim_table_fini(&t);
}

static uint64_t
key_of(const void *ctx, uint32_t v)
{
	const uint64_t *keys = ctx;

	return keys[v];
}

TEST(swim_idmap_matches_model)
{
	struct swim_idmap m;
	uint64_t keys[512];
	uint32_t n = 0, v;

	ASSERT_OK(swim_idmap_init(&m, 0, 42, key_of));
	for (int step = 0; step < 40000; step++) {
		/* few distinct ids, many collisions in a small table */
		uint64_t id = 1 + (rnd(NULL) % 700) * 0x100000000ULL;

		v = swim_idmap_get(&m, keys, id);
		if (v == SWIM_IDMAP_NONE && n < 512 && rnd(NULL) % 2) {
			keys[n] = id;
			ASSERT_OK(swim_idmap_put(&m, keys, id, n));
			n++;
		} else if (v != SWIM_IDMAP_NONE) {
			ASSERT_U64_EQ(keys[v], id);
			/* swap-remove like the owners do */
			swim_idmap_del(&m, keys, id);
			if (v != n - 1) {
				keys[v] = keys[n - 1];
				swim_idmap_move(&m, keys, keys[v], v);
			}
			n--;
		}
		ASSERT_EQ(m.count, n);
		if (step % 97 == 0)
			for (uint32_t i = 0; i < n; i++)
				ASSERT_EQ(swim_idmap_get(&m, keys, keys[i]), i);
	}
	swim_idmap_fini(&m);
	swim_idmap_fini(&m);
}
