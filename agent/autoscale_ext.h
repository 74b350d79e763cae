/*
 * autoscale_ext: the history log and the event hooks autoscale.c calls,
 * built on another branch (agent/histlog.h, agent/hooks.h). Declared weak
 * here so this branch builds and runs without them: autoscale.c calls one
 * only with a non-NULL histlog or hooks pointer, which only an agent linked
 * with the real module can hand it. Remove this header once both are
 * merged, and include the real ones in autoscale.c instead.
 */
#ifndef AUTOSCALE_EXT_H
#define AUTOSCALE_EXT_H

#include <stdint.h>

struct histlog;
struct history_record;
struct hooks;

/* Appends one of the leader's records (history_from_decision / _event). */
void histlog_append(struct histlog *h, const struct history_record *r) __attribute__((weak));
/* Fires an event hook: scale_out, scale_in, node_dead, node_replaced,
 * leader_changed, limit_reached. */
void hooks_fire(struct hooks *h, const char *event, uint64_t node_id, const char *detail)
	__attribute__((weak));
/* Runs the lifecycle hook for a scale-in victim; cb's status: 0 go on, 1 more
 * time (more_ms), < 0 failed. 0 when started (cb runs later), else -errno. */
int hooks_lifecycle(struct hooks *h, uint64_t node_id,
		    void (*cb)(int status, uint64_t more_ms, void *arg), void *arg)
	__attribute__((weak));

#endif
