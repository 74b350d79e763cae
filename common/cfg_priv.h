/*
 * cfg_priv: what the two files of the cfg module share, and nothing outside
 * common/cfg.c and common/cfg_keys.c includes: the row type of the key table
 * and the few cfg__ helpers the parser needs from the table's file.
 */
#ifndef CFG_PRIV_H
#define CFG_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

/* Room for a value or key quoted in a message; longer ones are cut with "...". */
#define CFG_SHOW   80
#define CFG_BLANKS " \t"

struct cfg_key;

/* Parses value into cfg; 0, -EINVAL with a message (no key name), or -ENOMEM. */
typedef int cfg_set_fn(struct cfg *cfg, const struct cfg_key *k, const char *value, char *msg,
		       size_t msgsize);
/* NULL when value is acceptable, else the reason, phrased to follow the value. */
typedef const char *cfg_check_fn(const char *value);

struct cfg_key {
	struct cfg_key_info info;
	cfg_set_fn *set;
	cfg_check_fn *check; /* strings and list items */
	size_t off;	     /* the field (for a list: the array; host:port: the host) */
	size_t off2;	     /* a list's count, or a host:port's port */
	uint64_t min, max;   /* numbers and durations; max items of a list; default port */
};

/* Every key, in the order of docs/config.md; cfg__nkeys rows. */
extern const struct cfg_key cfg__table[];
extern const size_t cfg__nkeys;

/* The row of key `name` (underscores, as in the file), or NULL. */
const struct cfg_key *cfg__lookup(const char *name);

/* Quotes untrusted text s into buf for a message: escaped, cut when long. Returns buf. */
const char *cfg__show(char *buf, size_t size, const char *s);

/* Frees every string and list of cfg and zeroes it (cfg itself is the caller's). */
void cfg__clear(struct cfg *cfg);

#endif /* CFG_PRIV_H */
