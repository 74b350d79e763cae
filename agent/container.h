/*
 * container: container_of(), which recovers the struct that embeds a libuv
 * handle (STYLE.md rule 8: subsystems embed handles by value).
 */
#ifndef CONTAINER_H
#define CONTAINER_H

#include <stddef.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
