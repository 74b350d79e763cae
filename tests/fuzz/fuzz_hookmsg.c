/*
 * libFuzzer harness for what a hook answers and what a webhook URL shows
 * (common/hookmsg.c): any bytes as a lifecycle answer (a script's stdout, a
 * webhook's body) must give go on, more time within the cap, or -EINVAL;
 * as a URL, the logged origin must never hold its path, query or user part.
 * Seeds: tests/fuzz/corpus/hookmsg/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hookmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t ms = 0;
	int r = hookmsg_answer((const char *)data, size, &ms);
	char url[512], out[300];
	const char *p;

	if (r != 0 && r != 1 && r != -EINVAL)
		abort();
	if (r == 1 ? ms > HOOKMSG_MORE_MAX_MS : ms != 0)
		abort();
	if (size >= sizeof(url))
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	hookmsg_origin(url, out, sizeof(out));
	p = strstr(out, "://");
	if (p != NULL && strpbrk(p + 3, "/?#@") != NULL)
		abort();
	return 0;
}
