/*
 * registrar: picks a registrar kind by name (OpenSMTPD's queue_backend.c),
 * and what the kinds share: the address to register and dry-run output.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "registrar.h"

struct registrar_kind {
	const char *name;
	int (*make)(const struct registrar_env *, struct registrar **, char *, size_t);
};

static const struct registrar_kind registrar_kinds[] = {
	{ "do-dns", registrar_dns_new },
	{ "do-lb", registrar_lb_new },
	{ "haproxy", registrar_haproxy_new },
	{ "exec", registrar_exec_new },
};

int
registrar_new(const char *name, const struct registrar_env *env, struct registrar **out, char *err,
	      size_t errsize)
{
	*out = NULL;
	for (size_t i = 0; i < sizeof(registrar_kinds) / sizeof(registrar_kinds[0]); i++)
		if (strcmp(registrar_kinds[i].name, name) == 0)
			return registrar_kinds[i].make(env, out, err, errsize);
	snprintf(err, errsize,
		 "registrars: unknown registrar \"%s\" (do-dns, do-lb, haproxy, exec)", name);
	return -EINVAL;
}

void
registrar_free(struct registrar *r)
{
	if (r != NULL)
		r->ops->free(r);
}

const char *
registrar_address(const struct cfg *cfg, const struct registrar_node *n)
{
	bool priv = cfg->register_address != NULL && strcmp(cfg->register_address, "private") == 0;
	const char *ip = priv ? n->private_ipv4 : n->public_ipv4;

	return ip != NULL && ip[0] != '\0' ? ip : NULL;
}

void
registrar_dry(const struct registrar_env *env, const char *fmt, ...)
{
	FILE *out = env->out != NULL ? env->out : stdout;
	va_list ap;

	fputs("dry-run: ", out);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}
