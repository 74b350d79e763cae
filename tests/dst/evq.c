/*
 * evq: binary min-heap of simulator events keyed by (at_us, seq). See evq.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evq.h"

static bool
evq_less(const struct evq_item *a, const struct evq_item *b)
{
	if (a->at_us != b->at_us)
		return a->at_us < b->at_us;
	return a->seq < b->seq;
}

void
evq_init(struct evq *q)
{
	memset(q, 0, sizeof(*q));
}

void
evq_fini(struct evq *q)
{
	free(q->items);
	memset(q, 0, sizeof(*q));
}

int
evq_push(struct evq *q, const struct evq_item *it)
{
	struct evq_item tmp;
	size_t i;

	if (q->len == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 1024;
		struct evq_item *n = realloc(q->items, ncap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		q->items = n;
		q->cap = ncap;
	}
	tmp = *it;
	tmp.seq = q->next_seq++;
	i = q->len++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!evq_less(&tmp, &q->items[parent]))
			break;
		q->items[i] = q->items[parent];
		i = parent;
	}
	q->items[i] = tmp;
	return 0;
}

bool
evq_pop(struct evq *q, struct evq_item *out)
{
	struct evq_item last;
	size_t i = 0;

	if (q->len == 0)
		return false;
	*out = q->items[0];
	last = q->items[--q->len];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->len)
			break;
		if (c + 1 < q->len && evq_less(&q->items[c + 1], &q->items[c]))
			c++;
		if (!evq_less(&q->items[c], &last))
			break;
		q->items[i] = q->items[c];
		i = c;
	}
	if (q->len > 0)
		q->items[i] = last;
	return true;
}

uint64_t
evq_peek_time(const struct evq *q)
{
	return q->len ? q->items[0].at_us : UINT64_MAX;
}
