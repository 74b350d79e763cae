/*
 * Unit tests for common/histwire.c: the history replication messages (pull,
 * packed records, where a pull starts, every refusal).
 */
#include <errno.h>

#include "harness.h"
#include "histwire.h"

static struct history_record
rec(uint64_t term, uint64_t seq, size_t textlen)
{
	struct history_record r;

	memset(&r, 0, sizeof(r));
	r.kind = HISTORY_OUTCOME;
	r.action = ACTUATE_EV_CLONE_READY;
	r.term = term;
	r.seq = seq;
	r.time_ms = 1795298910123ULL + seq;
	r.droplet = 1000 + seq;
	memset(r.text, 'x', textlen < HISTORY_TEXT_MAX ? textlen : HISTORY_TEXT_MAX - 1);
	return r;
}

static struct history *
ring(size_t n, size_t textlen)
{
	struct history *h = history_new();

	ASSERT(h != NULL);
	for (size_t i = 0; i < n; i++) {
		struct history_record r = rec(2 + i / 4, 1 + i % 4, textlen);

		ASSERT_OK(history_append(h, &r));
	}
	return h;
}

TEST(histwire_pull_round_trip)
{
	uint8_t buf[HISTWIRE_MAX];
	struct histwire_msg m;
	int n = histwire_pull(7, 300, buf, sizeof(buf));

	ASSERT_GT(n, 0);
	ASSERT_OK(histwire_decode(buf, (size_t)n, &m, NULL));
	ASSERT_EQ(m.op, HISTWIRE_PULL);
	ASSERT_EQ(m.term, 7);
	ASSERT_EQ(m.seq, 300);
	ASSERT_EQ(histwire_pull(7, 300, buf, 3), -ENOBUFS);
}

TEST(histwire_pack_walks_the_ring_in_batches)
{
	struct history *h = ring(8, 40);
	uint8_t buf[HISTWIRE_MAX];
	struct histwire_msg m;
	size_t from = 0, next, seen = 0;

	while (from < history_count(h)) {
		int n = histwire_pack(h, from, &next, buf, sizeof(buf));

		ASSERT_GT(n, 0);
		ASSERT_OK(histwire_decode(buf, (size_t)n, &m, NULL));
		ASSERT_EQ(m.op, HISTWIRE_RECORDS);
		ASSERT_EQ(m.n, next - from);
		ASSERT_EQ(m.more, next < history_count(h));
		for (uint8_t i = 0; i < m.n; i++) {
			ASSERT_EQ(m.records[i].term, history_at(h, from + i)->term);
			ASSERT_EQ(m.records[i].seq, history_at(h, from + i)->seq);
			ASSERT(strcmp(m.records[i].text, history_at(h, from + i)->text) == 0);
		}
		seen += m.n;
		from = next;
	}
	ASSERT_EQ(seen, 8);
	ASSERT_EQ(histwire_pack(h, 8, &next, buf, sizeof(buf)), 0);
	history_free(h);
}

TEST(histwire_largest_records_fit_a_batch)
{
	struct history *h = ring(3, HISTORY_TEXT_MAX);
	uint8_t buf[HISTWIRE_MAX];
	size_t next;
	int n = histwire_pack(h, 0, &next, buf, sizeof(buf));

	ASSERT_GT(n, 0);
	ASSERT_EQ(next, 3);
	ASSERT_LE(n, HISTWIRE_MAX);
	/* A buffer too small for one record says so rather than sending nothing. */
	ASSERT_EQ(histwire_pack(h, 0, &next, buf, 100), -ENOBUFS);
	history_free(h);
}

TEST(histwire_first_after)
{
	struct history *h = ring(8, 10); /* (2,1..4), (3,1..4) */

	ASSERT_EQ(histwire_first_after(h, 0, 0), 0);
	ASSERT_EQ(histwire_first_after(h, 2, 2), 2);
	ASSERT_EQ(histwire_first_after(h, 2, 99), 4);
	ASSERT_EQ(histwire_first_after(h, 3, 4), 8);
	ASSERT_EQ(histwire_first_after(h, 9, 0), 8);
	history_free(h);
}

TEST(histwire_refusals_name_what)
{
	struct history *h = ring(2, 10);
	uint8_t buf[HISTWIRE_MAX];
	struct histwire_msg m;
	const char *why = NULL;
	size_t next;
	int n = histwire_pack(h, 0, &next, buf, sizeof(buf));

	ASSERT_EQ(histwire_decode(buf, 1, &m, &why), -EINVAL);
	ASSERT(why != NULL && strcmp(why, "header") == 0);
	buf[0] = 2;
	ASSERT_EQ(histwire_decode(buf, (size_t)n, &m, &why), -EPROTONOSUPPORT);
	buf[0] = HISTWIRE_VERSION;
	buf[1] = 9;
	ASSERT_EQ(histwire_decode(buf, (size_t)n, &m, &why), -EINVAL);
	ASSERT(strcmp(why, "op") == 0);
	buf[1] = HISTWIRE_RECORDS;
	ASSERT_EQ(histwire_decode(buf, (size_t)n - 1, &m, &why), -EINVAL);
	buf[n] = 0;
	ASSERT_EQ(histwire_decode(buf, (size_t)n + 1, &m, &why), -EINVAL);
	ASSERT(strcmp(why, "trailing bytes") == 0);
	buf[2] = 0;
	ASSERT_EQ(histwire_decode(buf, (size_t)n, &m, &why), -EINVAL);
	ASSERT(strcmp(why, "record count") == 0);
	buf[2] = 2;
	buf[3] = 2;
	ASSERT_EQ(histwire_decode(buf, (size_t)n, &m, &why), -EINVAL);
	ASSERT(strcmp(why, "more flag") == 0);
	buf[3] = 0;
	buf[5] = 9; /* the first record's version */
	ASSERT_EQ(histwire_decode(buf, (size_t)n, &m, &why), -EINVAL);
	history_free(h);
}
