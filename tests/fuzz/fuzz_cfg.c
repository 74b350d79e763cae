/*
 * libFuzzer harness for common/cfg.c (wireguard-tools' fuzz/config.c in
 * spirit): the input is a config file image. It is parsed as a file, then
 * handed once more, NUL-terminated, to cfg_set() as the value of the key its
 * first byte selects, so the setters run on flag input too. Every error string
 * is read to the end, and everything is freed: under ASan a leak is a failure.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cfg_key_info *keys;
	struct cfg_parser *p = NULL;
	struct cfg *cfg = cfg_new();
	size_t nkeys, total = 0;
	char *value = NULL;

	if (cfg == NULL)
		return 0;
	p = cfg_parser_new(cfg);
	if (p == NULL)
		goto out;
	cfg_parse_buffer(p, "fuzz.conf", (const char *)data, size);
	keys = cfg_keys(&nkeys);
	value = malloc(size + 1);
	if (value != NULL && size > 1) {
		memcpy(value, data + 1, size - 1);
		value[size - 1] = '\0';
		cfg_set(p, "--fuzz", keys[data[0] % nkeys].name, value);
	}
	cfg_finish(p);
	for (size_t i = 0; i < cfg_error_count(p); i++)
		total += strlen(cfg_error(p, i));
	/* Keep the loop from being optimised away. */
	if (total == SIZE_MAX)
		abort();
out:
	free(value);
	cfg_parser_free(p);
	cfg_free(cfg);
	return 0;
}
