/*
 * policy_window: the recent recommendations of the scaling policy, so that a
 * scale-out happens only after the cluster has wanted more nodes for the
 * whole scale_out_window, and a scale-in only after it has wanted fewer for
 * the whole scale_in_window (Kubernetes HPA's stabilization window).
 *
 * Samples (time, desired size) go into a ring of slots. Samples closer than
 * span / 128 to the start of the newest slot share it, which keeps its
 * lowest and highest value, so the ring holds any call rate in bounded
 * memory; merging only makes the answer more cautious (a shared slot counts
 * as both its low and its high). Slots older than the span are dropped,
 * except the one that covers the window's start.
 */
#ifndef POLICY_WINDOW_H
#define POLICY_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#define POLICY_WINDOW_SLOTS 256

struct policy_window_slot {
	uint64_t t0, t1; /* first and last sample */
	uint32_t lo, hi; /* lowest and highest sample */
};

struct policy_window {
	uint64_t span_ms;
	uint64_t width_ms; /* samples closer than this to a slot's t0 share it */
	uint32_t head, len;
	struct policy_window_slot slot[POLICY_WINDOW_SLOTS];
};

/* What a window says about the recent samples against a threshold. */
struct policy_window_run {
	bool active;	 /* the newest sample is beyond the threshold */
	bool ready;	 /* ... and every sample has been for the whole span */
	uint64_t for_ms; /* how long the samples have been beyond it */
	uint32_t value;	 /* UP: the lowest such sample within the span; DOWN: the highest */
};

/* An empty window over `span_ms` (0: only the newest sample counts). */
void policy_window_init(struct policy_window *w, uint64_t span_ms);
/* Forgets every sample (a new leader, a gap, no data). */
void policy_window_clear(struct policy_window *w);
/* Adds the sample `desired` taken at `now` (non-decreasing). */
void policy_window_add(struct policy_window *w, uint64_t now, uint32_t desired);

/*
 * Scans back from the newest sample while samples stay above `threshold`
 * (up) or below it (!up). ready when that run began at least span ago (the
 * window is covered, not merely the last sample); value is the most cautious
 * sample of the run within the span: its lowest when up, its highest when
 * down. A window with no sample gives active = false.
 */
void policy_window_scan(const struct policy_window *w, uint64_t now, bool up, uint32_t threshold,
			struct policy_window_run *out);

#endif
