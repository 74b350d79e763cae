/*
 * libFuzzer harness for the history replication messages
 * (common/histwire.c): any bytes go to histwire_decode(). A PULL that decodes
 * must encode back to the same bytes; RECORDS that decode must hold records
 * that re-pack, in order, into the same bytes (one encoding per message);
 * every refusal names what. Seeds: tests/fuzz/corpus/histwire/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "histwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_records(const struct histwire_msg *m, const uint8_t *data, size_t size)
{
	struct history *h = history_new();
	uint8_t again[HISTWIRE_MAX];
	size_t next = 0;
	int n;

	if (h == NULL)
		return;
	for (uint8_t i = 0; i < m->n; i++)
		if (history_append(h, &m->records[i]) != 0) {
			history_free(h); /* out of order: legal on the wire, dropped by the ring */
			return;
		}
	n = histwire_pack(h, 0, &next, again, sizeof(again));
	/* `more` is the sender's to say; everything else must match. */
	if (n < 0 || (size_t)n != size || next != m->n || memcmp(again, data, 3) != 0 ||
	    memcmp(again + 4, data + 4, size - 4) != 0)
		abort();
	history_free(h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct histwire_msg m;
	const char *why = NULL;
	uint8_t again[HISTWIRE_MAX];
	int e = histwire_decode(data, size, &m, &why), n;

	if (e != 0 && e != -EINVAL && e != -EPROTONOSUPPORT)
		abort();
	if (e != 0 && why == NULL)
		abort();
	if (e != 0)
		return 0;
	if (m.op == HISTWIRE_PULL) {
		n = histwire_pull(m.term, m.seq, again, sizeof(again));
		if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
			abort();
	} else if (m.op == HISTWIRE_RECORDS) {
		if (m.n == 0 || m.n > HISTWIRE_BATCH)
			abort();
		check_records(&m, data, size);
	} else {
		abort();
	}
	return 0;
}
