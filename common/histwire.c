/*
 * histwire: the history replication messages (include/histwire.h). The
 * varints are LEB128 in their shortest form, as in history.c: one encoding
 * per message, so decode(encode(m)) == m and the fuzzer can check the
 * reverse.
 */
#include <errno.h>
#include <string.h>

#include "histwire.h"

_Static_assert(HISTWIRE_BATCH *(2 + HISTORY_RECORD_MAX) + 4 <= HISTWIRE_MAX,
	       "a full batch fits one message");

static size_t
histwire_put_varint(uint8_t *buf, size_t size, size_t off, uint64_t v, bool *full)
{
	do {
		if (off >= size) {
			*full = true;
			return off;
		}
		buf[off++] = (uint8_t)(v >= 0x80 ? (v & 0x7f) | 0x80 : v);
		v >>= 7;
	} while (v != 0);
	return off;
}

/* A shortest-form LEB128 varint no larger than max at *off. */
static bool
histwire_get_varint(const uint8_t *buf, size_t len, size_t *off, uint64_t max, uint64_t *v)
{
	uint64_t out = 0;

	for (unsigned shift = 0; shift < 70 && *off < len; shift += 7) {
		uint8_t b = buf[(*off)++];

		if (shift == 63 && b > 1)
			return false;
		out |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			if ((b == 0 && shift > 0) || out > max)
				return false;
			*v = out;
			return true;
		}
	}
	return false;
}

int
histwire_pull(uint64_t term, uint64_t seq, uint8_t *buf, size_t size)
{
	bool full = size < 2;
	size_t off = 2;

	if (full)
		return -ENOBUFS;
	buf[0] = HISTWIRE_VERSION;
	buf[1] = HISTWIRE_PULL;
	off = histwire_put_varint(buf, size, off, term, &full);
	off = histwire_put_varint(buf, size, off, seq, &full);
	return full ? -ENOBUFS : (int)off;
}

int
histwire_pack(const struct history *h, size_t from, size_t *next, uint8_t *buf, size_t size)
{
	uint8_t one[HISTORY_RECORD_MAX];
	size_t off = 4, i = from, count = history_count(h);
	uint8_t n = 0;

	*next = from;
	if (from >= count)
		return 0;
	if (size < 4)
		return -ENOBUFS;
	for (; i < count && n < HISTWIRE_BATCH; i++) {
		int len = history_encode(history_at(h, i), one, sizeof(one));
		bool full = false;
		size_t at;

		if (len < 0)
			continue; /* never sent: the receiver would refuse the message */
		at = histwire_put_varint(buf, size, off, (uint64_t)len, &full);
		if (full || size - at < (size_t)len)
			break;
		memcpy(buf + at, one, (size_t)len);
		off = at + (size_t)len;
		n++;
	}
	if (n == 0)
		return i >= count ? 0 : -ENOBUFS;
	buf[0] = HISTWIRE_VERSION;
	buf[1] = HISTWIRE_RECORDS;
	buf[2] = n;
	buf[3] = i < count;
	*next = i;
	return (int)off;
}

size_t
histwire_first_after(const struct history *h, uint64_t term, uint64_t seq)
{
	size_t count = history_count(h), i = count;

	/* Records are in (term, seq) order: walk back from the newest. */
	while (i > 0) {
		const struct history_record *r = history_at(h, i - 1);

		if (r->term < term || (r->term == term && r->seq <= seq))
			break;
		i--;
	}
	return i;
}

static int
histwire_records(const uint8_t *buf, size_t len, struct histwire_msg *m, const char **why)
{
	size_t off = 4;
	uint64_t rlen;

	if (len < 4) {
		*why = "records header";
		return -EINVAL;
	}
	m->n = buf[2];
	if (m->n == 0 || m->n > HISTWIRE_BATCH || buf[3] > 1) {
		*why = buf[3] > 1 ? "more flag" : "record count";
		return -EINVAL;
	}
	m->more = buf[3] == 1;
	for (uint8_t i = 0; i < m->n; i++) {
		if (!histwire_get_varint(buf, len, &off, HISTORY_RECORD_MAX, &rlen) ||
		    len - off < rlen) {
			*why = "record length";
			return -EINVAL;
		}
		if (history_decode(buf + off, (size_t)rlen, &m->records[i], why) != 0)
			return -EINVAL; /* another record version is as unreadable here */
		off += (size_t)rlen;
	}
	if (off != len) {
		*why = "trailing bytes";
		return -EINVAL;
	}
	return 0;
}

int
histwire_decode(const uint8_t *buf, size_t len, struct histwire_msg *m, const char **why)
{
	const char *w = NULL;
	size_t off = 2;
	int e = -EINVAL;

	memset(m, 0, sizeof(*m));
	if (len < 2) {
		w = "header";
		goto out;
	}
	if (buf[0] != HISTWIRE_VERSION) {
		w = "version";
		e = -EPROTONOSUPPORT;
		goto out;
	}
	m->op = buf[1];
	if (m->op == HISTWIRE_RECORDS) {
		e = histwire_records(buf, len, m, &w);
	} else if (m->op == HISTWIRE_PULL) {
		if (!histwire_get_varint(buf, len, &off, UINT64_MAX, &m->term) ||
		    !histwire_get_varint(buf, len, &off, UINT64_MAX, &m->seq))
			w = "pull position";
		else if (off != len)
			w = "trailing bytes";
		else
			e = 0;
	} else {
		w = "op";
	}
out:
	if (e != 0 && why != NULL)
		*why = w;
	return e;
}
