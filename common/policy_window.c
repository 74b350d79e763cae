/*
 * policy_window: a ring of (time, desired size) slots over one window span
 * (include/policy_window.h). Bounded: 256 slots whatever the call rate.
 */
#include <string.h>

#include "policy_window.h"

/* Slots per span: a slot is at most span / this wide, so the window's start
 * is known to within 1/128 of the span (0.47 s of a 60 s window). */
#define POLICY_WINDOW_RESOLUTION (POLICY_WINDOW_SLOTS / 2)

static struct policy_window_slot *
policy_window_at(struct policy_window *w, uint32_t i)
{
	return &w->slot[(w->head + i) % POLICY_WINDOW_SLOTS];
}

static const struct policy_window_slot *
policy_window_cat(const struct policy_window *w, uint32_t i)
{
	return &w->slot[(w->head + i) % POLICY_WINDOW_SLOTS];
}

static void
policy_window_drop_oldest(struct policy_window *w)
{
	w->head = (w->head + 1) % POLICY_WINDOW_SLOTS;
	w->len--;
}

void
policy_window_init(struct policy_window *w, uint64_t span_ms)
{
	/* Only the ring's bounds: a slot is read only once it was written, and
	 * writing all 256 would make a follower's unused windows resident. */
	w->head = w->len = 0;
	w->span_ms = span_ms;
	w->width_ms = span_ms / POLICY_WINDOW_RESOLUTION;
}

void
policy_window_clear(struct policy_window *w)
{
	w->head = 0;
	w->len = 0;
}

void
policy_window_add(struct policy_window *w, uint64_t now, uint32_t desired)
{
	struct policy_window_slot *s;

	if (w->len > 0) {
		s = policy_window_at(w, w->len - 1);
		if (now >= s->t0 && now - s->t0 < w->width_ms) {
			s->t1 = now;
			s->lo = desired < s->lo ? desired : s->lo;
			s->hi = desired > s->hi ? desired : s->hi;
			return;
		}
	}
	if (w->len == POLICY_WINDOW_SLOTS)
		policy_window_drop_oldest(w);
	s = policy_window_at(w, w->len++);
	s->t0 = s->t1 = now;
	s->lo = s->hi = desired;
	/* Keep the slot that covers the window's start (now - span): the one
	 * before it is no longer needed once the next one began by then. */
	while (w->len >= 2 && policy_window_at(w, 1)->t0 + w->span_ms <= now)
		policy_window_drop_oldest(w);
}

void
policy_window_scan(const struct policy_window *w, uint64_t now, bool up, uint32_t threshold,
		   struct policy_window_run *out)
{
	uint64_t start = now;

	memset(out, 0, sizeof(*out));
	out->value = up ? UINT32_MAX : 0;
	for (uint32_t i = w->len; i-- > 0;) {
		const struct policy_window_slot *s = policy_window_cat(w, i);
		bool beyond = up ? s->lo > threshold : s->hi < threshold;

		if (!beyond)
			break;
		out->active = true;
		start = s->t0;
		if (up && s->lo < out->value)
			out->value = s->lo;
		if (!up && s->hi > out->value)
			out->value = s->hi;
	}
	if (!out->active) {
		out->value = 0;
		return;
	}
	out->for_ms = now >= start ? now - start : 0;
	out->ready = out->for_ms >= w->span_ms;
}
