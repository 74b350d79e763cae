/*
 * elect_state: the election's durable ("hard") state and its byte format
 * (docs/election.md, "Durable state"). The core encodes it and hands the
 * bytes to ops->persist, which must make them durable before returning 0
 * (the shell writes state_dir/election with write, fsync, rename). At start
 * the shell reads the file and decodes it here; anything refused (corrupt,
 * truncated, another version) makes the node start as a non-voter with a
 * new state id rather than guess (elect_new with no state).
 *
 *   off  len  field
 *     0    4  magic "mels"
 *     4    1  version (1)
 *     5    1  bootstrap phase (enum elect_boot_phase)
 *     6    2  flags (ELECT_HARD_*)
 *     8    8  state id (random, made with the file; never 0)
 *    16    8  current term
 *    24    8  voted for: node id (0: nobody in this term)
 *    32    8  voted for: its state id
 *    40    8  snapshot index (= commit index)
 *    48    8  snapshot term
 *    56    V  committed voter set: u8 count (0 only while snapshot index is 0),
 *             count x (u64 id, u64 sid)
 *     .    1  tail count (0..8), then the entries: u64 term, u8 type, [voters]
 *     .    4  bootstrap: our last proposal generation
 *     .    4  bootstrap: the generation of the offer (ours or accepted)
 *     .    8  bootstrap: its proposer's node id (0: none)
 *     .    8  bootstrap: its proposer's state id
 *     .    V  bootstrap: PROPOSING: the founding group (sids as they accept);
 *             ACCEPTED: the group offered; DONE: the voter set it made
 *   end   16  BLAKE2b-128 (unkeyed) of every byte before it
 */
#ifndef ELECT_STATE_H
#define ELECT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elect_log.h"

#define ELECT_STATE_VERSION 1
#define ELECT_STATE_MAX	    1536 /* the largest encoding, rounded up */

/* Flags */
#define ELECT_HARD_CLUSTER (1U << 0) /* learned of a cluster: never bootstrap */
#define ELECT_HARD_LOST	   (1U << 1) /* started without the state it had: never bootstrap */

/* An offer is named by (proposer, proposer_sid, gen): a proposer that
 * lost its state is another proposer, and cannot release or complete the
 * offers of its previous life. */
enum elect_boot_phase {
	ELECT_BOOT_NONE = 0,	  /* not bootstrapping */
	ELECT_BOOT_PROPOSING = 1, /* our offer is out to the group in `members` */
	ELECT_BOOT_ACCEPTED = 2,  /* we accepted the offer; `members` is its group */
	ELECT_BOOT_DONE = 3,	  /* the offer made the voter set in `members` */
};

struct elect_boot {
	uint8_t phase;
	uint32_t own_gen; /* the last generation we proposed */
	uint32_t gen;
	uint64_t proposer, proposer_sid;
	struct elect_voters members;
};

struct elect_hard {
	uint64_t sid;
	uint64_t term;
	uint64_t vote_id, vote_sid;
	uint32_t flags;
	struct elect_log log;
	struct elect_boot boot;
};

enum elect_state_err {
	ELECT_STATE_OK = 0,
	ELECT_STATE_TRUNCATED,
	ELECT_STATE_BAD_MAGIC,
	ELECT_STATE_BAD_VERSION,
	ELECT_STATE_BAD_CHECKSUM,
	ELECT_STATE_TRAILING,
	ELECT_STATE_BAD_SID,
	ELECT_STATE_BAD_VOTERS,
	ELECT_STATE_BAD_ENTRY,
	ELECT_STATE_BAD_VOTE,
	ELECT_STATE_BAD_BOOT,
	ELECT_STATE_BAD_TERM,
	ELECT_STATE_ERR_COUNT,
};

/* A one-line reason ("checksum mismatch: the file is corrupt") for
 * "FILE: reason" messages. */
const char *elect_state_err_text(enum elect_state_err e);

/* A fresh state: state id `sid` (non-zero), term 0, no vote, no voters. */
void elect_state_init(struct elect_hard *h, uint64_t sid);

/* Encodes h. 0 and *len, -EINVAL when h would not decode (sid 0, a voter
 * set or entry out of range), or -EMSGSIZE when size is too small
 * (ELECT_STATE_MAX always suffices). */
int elect_state_encode(const struct elect_hard *h, uint8_t *out, size_t size, size_t *len);

/* Decodes buf into h: the checksum first, then every field with its range.
 * Returns ELECT_STATE_OK or the first fault; h is zeroed on a fault. */
enum elect_state_err elect_state_decode(const uint8_t *buf, size_t len, struct elect_hard *h);

#endif
