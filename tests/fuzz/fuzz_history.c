/*
 * libFuzzer harness for the history codec (common/history.c): any bytes go
 * to history_decode() and, as a file body, to history_load(). A record that
 * decodes must encode back to exactly the same bytes (the codec is
 * canonical: no two encodings of one record), must hold printable text, and
 * must format and turn into JSON without trouble. Seeds:
 * tests/fuzz/corpus/history/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_record(const struct history_record *r, const uint8_t *data, size_t size)
{
	uint8_t again[HISTORY_RECORD_MAX];
	char line[1024];
	cJSON *j;
	int n = history_encode(r, again, sizeof(again));

	if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
		abort();
	for (const char *p = r->text; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
	history_format(r, line, sizeof(line));
	j = history_to_json(r);
	cJSON_Delete(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct history_record r;
	struct history *h;
	const char *why = NULL;
	size_t bad = 0;
	uint8_t *saved = NULL;
	size_t saved_len = 0;
	int e = history_decode(data, size, &r, &why);

	if (e != 0 && e != -EINVAL && e != -EPROTONOSUPPORT)
		abort();
	if (e == 0)
		check_record(&r, data, size);
	if (e == -EINVAL && why == NULL)
		abort(); /* every refusal names its field */
	h = history_new();
	if (h == NULL)
		return 0;
	e = history_load(h, data, size, &bad, &why);
	if (e != 0 && e != -EINVAL && e != -EPROTONOSUPPORT)
		abort();
	if (bad > size || history_count(h) > HISTORY_KEEP)
		abort();
	/* What was loaded saves and loads back to the same records. */
	if (history_save(h, &saved, &saved_len) == 0) {
		struct history *g = history_new();

		if (g != NULL && (history_load(g, saved, saved_len, &bad, &why) != 0 ||
				  history_count(g) != history_count(h)))
			abort();
		history_free(g);
	}
	free(saved);
	history_free(h);
	return 0;
}
