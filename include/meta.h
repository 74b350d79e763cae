/*
 * meta: the droplet's identity, parsed from the body of the metadata service's
 * GET /metadata/v1.json (../shared/do-api/REFERENCE.md section 1).
 *
 * Parsing is defensive: unknown keys are ignored, `tags` may be null or
 * missing, `user_data`, the private interface and IPv6 may be missing. What is
 * required: droplet_id (a positive integer), hostname (a string) and at least
 * one IPv4 address (public or private). Strings taken from the body are kept
 * as they are; whoever prints them escapes them (log_escape).
 */
#ifndef META_H
#define META_H

#include <stddef.h>
#include <stdint.h>

struct meta_identity {
	uint64_t droplet_id;
	char *hostname;	       /* never NULL */
	char *region;	       /* NULL when missing */
	char public_ipv4[16];  /* "" when missing */
	char private_ipv4[16]; /* "" when missing */
	char **tags;	       /* ntags entries; NULL when none */
	size_t ntags;
	char *user_data; /* NULL when missing */
};

/* An empty identity to be filled by hand (static identity). NULL on ENOMEM. */
struct meta_identity *meta_identity_new(void);
/* Frees it and every string in it. Accepts NULL. */
void meta_identity_free(struct meta_identity *id);

/*
 * Parses a v1.json body of `len` bytes (need not be NUL-terminated). Returns 0
 * and a new identity in *out (caller frees), or -EINVAL with a message naming
 * the field in err ("droplet_id: not a positive integer"), or -ENOMEM.
 */
int meta_parse(const char *body, size_t len, struct meta_identity **out, char *err, size_t errsize);

/* True when the droplet carries `tag`. */
int meta_has_tag(const struct meta_identity *id, const char *tag);

#endif
