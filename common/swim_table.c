/*
 * swim_table: members of one swim instance (include/swim_table.h).
 *
 * The probe order holds member indices. A removal swaps the last member into
 * the hole, which leaves the order slightly off (the moved member inherits
 * the removed one's turn; an index past the end is skipped) until the next
 * reshuffle rebuilds it; removals are rare (reaping) and the order is only a
 * bound on time-to-first-probe, so that is cheaper than keeping a reverse
 * map. Arrays grow by a quarter so that ten thousand full tables in one
 * simulator process do not carry a doubling's slack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "swim_table.h"

static uint64_t
swim_table_key(const void *ctx, uint32_t v)
{
	const struct swim_member *members = ctx;

	return members[v].id;
}

int
swim_table_init(struct swim_table *t, uint32_t max, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	return swim_idmap_init(&t->index, 16, seed, swim_table_key);
}

void
swim_table_fini(struct swim_table *t)
{
	swim_idmap_fini(&t->index);
	free(t->members);
	free(t->order);
	free(t->gone);
	memset(t, 0, sizeof(*t));
}

struct swim_member *
swim_table_find(struct swim_table *t, uint64_t id)
{
	uint32_t i = swim_idmap_get(&t->index, t->members, id);

	return i == SWIM_IDMAP_NONE ? NULL : &t->members[i];
}

const struct swim_member *
swim_table_cfind(const struct swim_table *t, uint64_t id)
{
	uint32_t i = swim_idmap_get(&t->index, t->members, id);

	return i == SWIM_IDMAP_NONE ? NULL : &t->members[i];
}

static uint32_t
swim_table_grown(uint32_t cap)
{
	return cap + cap / 4 + 16;
}

static int
swim_table_reserve(struct swim_table *t)
{
	uint32_t cap;
	void *p;

	if (t->count == t->cap) {
		cap = swim_table_grown(t->cap);
		if ((p = realloc(t->members, (size_t)cap * sizeof(*t->members))) == NULL)
			return -ENOMEM;
		t->members = p;
		t->cap = cap;
	}
	if (t->norder == t->order_cap) {
		cap = swim_table_grown(t->order_cap);
		if ((p = realloc(t->order, (size_t)cap * sizeof(*t->order))) == NULL)
			return -ENOMEM;
		t->order = p;
		t->order_cap = cap;
	}
	return 0;
}

static int
swim_table_push_gone(struct swim_table *t, uint64_t id, uint64_t since)
{
	struct swim_table_gone *p;
	uint32_t cap;

	if (t->gone_len == t->gone_cap) {
		cap = swim_table_grown(t->gone_cap);
		if ((p = malloc((size_t)cap * sizeof(*p))) == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < t->gone_len; i++)
			p[i] = t->gone[(t->gone_head + i) % t->gone_cap];
		free(t->gone);
		t->gone = p;
		t->gone_cap = cap;
		t->gone_head = 0;
	}
	t->gone[(t->gone_head + t->gone_len) % t->gone_cap] = (struct swim_table_gone){ id, since };
	t->gone_len++;
	return 0;
}

struct swim_member *
swim_table_add(struct swim_table *t, const struct swim_member *m, swim_table_rand_fn *rnd,
	       void *arg)
{
	uint32_t i = t->count, j;

	if (t->count >= t->max || swim_table_reserve(t) != 0)
		return NULL;
	t->members[i] = *m;
	if (swim_idmap_put(&t->index, t->members, m->id, i) != 0)
		return NULL;
	t->count++;
	t->nstate[m->state & 3]++;
	if (i != 0) {
		/* Like memberlist: a random place, so a newcomer is neither
		 * always probed first nor always last. */
		t->order[t->norder] = i;
		j = rnd(arg) % (t->norder + 1);
		t->order[t->norder] = t->order[j];
		t->order[j] = i;
		t->norder++;
	}
	/* Out of memory here only means this member is never reaped. */
	if (m->state == SWIM_DEAD || m->state == SWIM_LEFT)
		(void)swim_table_push_gone(t, m->id, m->state_since);
	return &t->members[i];
}

void
swim_table_remove(struct swim_table *t, uint64_t id)
{
	uint32_t i = swim_idmap_get(&t->index, t->members, id), last;

	if (i == SWIM_IDMAP_NONE || i == 0)
		return;
	last = t->count - 1;
	t->nstate[t->members[i].state & 3]--;
	swim_idmap_del(&t->index, t->members, id);
	if (i != last) {
		t->members[i] = t->members[last];
		swim_idmap_move(&t->index, t->members, t->members[i].id, i);
	}
	t->count--;
}

int
swim_table_set_state(struct swim_table *t, struct swim_member *m, enum swim_state st, uint64_t now)
{
	t->nstate[m->state & 3]--;
	t->nstate[st & 3]++;
	m->state = st;
	m->state_since = now;
	m->updated = now;
	if (st == SWIM_DEAD || st == SWIM_LEFT)
		return swim_table_push_gone(t, m->id, now);
	return 0;
}

static void
swim_table_shuffle(struct swim_table *t, swim_table_rand_fn *rnd, void *arg)
{
	uint32_t j, tmp;

	t->norder = 0;
	for (uint32_t i = 1; i < t->count; i++)
		t->order[t->norder++] = i;
	for (uint32_t i = t->norder; i > 1; i--) {
		j = rnd(arg) % i;
		tmp = t->order[i - 1];
		t->order[i - 1] = t->order[j];
		t->order[j] = tmp;
	}
	t->order_pos = 0;
}

uint32_t
swim_table_next_probe(struct swim_table *t, swim_table_rand_fn *rnd, void *arg)
{
	uint32_t i, tries = t->norder + t->count + 1;
	enum swim_state st;

	while (tries-- > 0) {
		if (t->order_pos >= t->norder) {
			swim_table_shuffle(t, rnd, arg);
			if (t->norder == 0)
				return SWIM_TABLE_NONE;
		}
		i = t->order[t->order_pos++];
		if (i == 0 || i >= t->count)
			continue;
		st = t->members[i].state;
		if (st == SWIM_ALIVE || st == SWIM_SUSPECT)
			return i;
	}
	return SWIM_TABLE_NONE;
}

/* Drops stale entries at the head; returns the live head or NULL. */
static const struct swim_table_gone *
swim_table_gone_head(struct swim_table *t)
{
	const struct swim_table_gone *g;
	const struct swim_member *m;

	while (t->gone_len > 0) {
		g = &t->gone[t->gone_head];
		m = swim_table_cfind(t, g->id);
		if (m != NULL && m != &t->members[0] &&
		    (m->state == SWIM_DEAD || m->state == SWIM_LEFT) && m->state_since == g->since)
			return g;
		t->gone_head = (t->gone_head + 1) % t->gone_cap;
		t->gone_len--;
	}
	return NULL;
}

uint64_t
swim_table_reapable(struct swim_table *t, uint64_t now, uint64_t after)
{
	const struct swim_table_gone *g = swim_table_gone_head(t);
	uint64_t id;

	if (g == NULL || now < g->since || now - g->since < after)
		return 0;
	id = g->id;
	t->gone_head = (t->gone_head + 1) % t->gone_cap;
	t->gone_len--;
	return id;
}

uint64_t
swim_table_next_reap(struct swim_table *t, uint64_t after)
{
	const struct swim_table_gone *g = swim_table_gone_head(t);

	if (g == NULL)
		return UINT64_MAX;
	return g->since > UINT64_MAX - after ? UINT64_MAX : g->since + after;
}
