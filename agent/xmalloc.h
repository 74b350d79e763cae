/*
 * xmalloc: allocation that cannot fail, for agent/ only. Running out of memory
 * in the daemon is not a state worth surviving; common/ returns -ENOMEM
 * instead so that it stays testable and fuzzable.
 */
#ifndef XMALLOC_H
#define XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
/* printf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
