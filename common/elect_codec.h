/*
 * elect_codec: the byte cursors the election's two codecs share (messages in
 * elect_msg.c, durable state in elect_state.c). Big-endian integers; a
 * writer that runs out of room and a reader that runs out of bytes latch the
 * fault and turn every later call into a no-op, so a codec checks once at
 * the end. Private to the elect module.
 */
#ifndef ELECT_CODEC_H
#define ELECT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elect_log.h"

struct elect__w {
	uint8_t *p;
	size_t size, off;
	bool over; /* ran out of room */
};

struct elect__r {
	const uint8_t *p;
	size_t len, off;
	bool short_; /* ran out of bytes */
};

void elect__put(struct elect__w *w, uint64_t v, size_t n);
void elect__put_bytes(struct elect__w *w, const void *src, size_t n);
/* u8 count, then count x (u64 id, u64 sid). */
void elect__put_voters(struct elect__w *w, const struct elect_voters *v);
/* u64 term, u8 type, then the voters of a CONFIG entry. */
void elect__put_entry(struct elect__w *w, const struct elect_entry *e);

uint64_t elect__get(struct elect__r *r, size_t n);
/* The next n bytes in place (NULL and r->short_ when there are fewer). */
const uint8_t *elect__get_ref(struct elect__r *r, size_t n);
/* Reads voters; false when the count is over ELECT_VOTERS_MAX or the set is
 * not valid (elect_voters_valid). A short read is reported by r->short_. */
bool elect__get_voters(struct elect__r *r, struct elect_voters *v, bool allow_zero_sid);
/* Reads one entry; false for an unknown type or invalid voters. */
bool elect__get_entry(struct elect__r *r, struct elect_entry *e);

#endif
