/*
 * libFuzzer harness for meta_parse(): any byte string must either parse into
 * an identity that keeps the documented invariants, or fail with -EINVAL or
 * -ENOMEM and a NUL-terminated message; never crash, leak or read outside
 * the body. Seeds: tests/fuzz/corpus/meta/ (copies of tests/data/metadata/).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_identity(const struct meta_identity *id)
{
	if (id->droplet_id == 0 || id->droplet_id > (1ULL << 53) - 1)
		abort();
	if (id->hostname == NULL || id->hostname[0] == '\0' || strlen(id->hostname) > 255)
		abort();
	if (memchr(id->public_ipv4, '\0', sizeof(id->public_ipv4)) == NULL ||
	    memchr(id->private_ipv4, '\0', sizeof(id->private_ipv4)) == NULL)
		abort();
	if (id->public_ipv4[0] == '\0' && id->private_ipv4[0] == '\0')
		abort();
	if ((id->ntags == 0) != (id->tags == NULL))
		abort();
	for (size_t i = 0; i < id->ntags; i++) {
		if (id->tags[i] == NULL || !meta_has_tag(id, id->tags[i]))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meta_identity *id = NULL;
	char err[128];
	int r;

	memset(err, 'X', sizeof(err));
	r = meta_parse((const char *)data, size, &id, err, sizeof(err));
	if (r == 0) {
		if (id == NULL || err[0] != '\0')
			abort();
		check_identity(id);
	} else {
		if ((r != -EINVAL && r != -ENOMEM) || id != NULL)
			abort();
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			abort();
	}
	meta_identity_free(id);
	return 0;
}
