/*
 * libFuzzer harness for haproxy_cfg_parse_state(): any bytes must either
 * parse into rows whose strings are NUL-terminated within their arrays and
 * whose numbers are in range, or fail with -EINVAL (and a message) or
 * -ENOMEM; never crash, leak or read past the input. The first byte picks a
 * backend filter, so both the filtered and unfiltered paths run. Seeds:
 * tests/fuzz/corpus/haproxy/.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_server(const struct haproxy_server *s)
{
	if (memchr(s->name, '\0', sizeof(s->name)) == NULL || s->name[0] == '\0')
		abort();
	if (memchr(s->addr, '\0', sizeof(s->addr)) == NULL || s->addr[0] == '\0')
		abort();
	if (s->op_state > 3 || s->admin_state > 0xff || s->port > 65535)
		abort();
	(void)haproxy_cfg_server_ready(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct haproxy_server *s = NULL;
	const char *backend = size > 0 && (data[0] & 1) ? "web" : NULL;
	size_t n = 0;
	char err[128];
	int rc;

	err[0] = '\0';
	rc = haproxy_cfg_parse_state((const char *)data, size, backend, &s, &n, err, sizeof(err));
	if (rc == 0) {
		if ((n == 0) != (s == NULL))
			abort();
		for (size_t i = 0; i < n; i++)
			check_server(&s[i]);
	} else if (rc == -EINVAL) {
		if (s != NULL || n != 0 || err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
	} else if (rc != -ENOMEM) {
		abort();
	}
	free(s);
	return 0;
}
