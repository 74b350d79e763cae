/*
 * elect_state: encoding and decoding of the election's durable state
 * (include/elect_state.h has the layout). The checksum is checked before
 * anything else, so a torn or bit-rotted file is named as such and not as
 * whatever field happened to look wrong first.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "elect_codec.h"
#include "elect_state.h"

#define ELECT_STATE_MAGIC "mels"
#define ELECT_STATE_SUM	  16
#define ELECT_STATE_MIN	  (56 + 1 + 1 + 4 + 4 + 8 + 8 + 1 + ELECT_STATE_SUM)

_Static_assert(56 + 1 + 16 * ELECT_VOTERS_MAX + 1 +
			       ELECT_TAIL_MAX * (9 + 1 + 16 * ELECT_VOTERS_MAX) + 24 + 1 +
			       16 * ELECT_VOTERS_MAX + ELECT_STATE_SUM <=
		       ELECT_STATE_MAX,
	       "the largest state fits ELECT_STATE_MAX");

static const char *const elect_state_err_texts[ELECT_STATE_ERR_COUNT] = {
	[ELECT_STATE_OK] = "ok",
	[ELECT_STATE_TRUNCATED] = "truncated: shorter than its fields",
	[ELECT_STATE_BAD_MAGIC] = "not an election state file (bad magic)",
	[ELECT_STATE_BAD_VERSION] = "unsupported state version",
	[ELECT_STATE_BAD_CHECKSUM] = "checksum mismatch: the file is corrupt",
	[ELECT_STATE_TRAILING] = "trailing bytes before the checksum",
	[ELECT_STATE_BAD_SID] = "state id is 0",
	[ELECT_STATE_BAD_VOTERS] = "invalid voter set",
	[ELECT_STATE_BAD_ENTRY] = "invalid log entry",
	[ELECT_STATE_BAD_VOTE] = "vote without a term, or half a vote",
	[ELECT_STATE_BAD_BOOT] = "invalid bootstrap state",
	[ELECT_STATE_BAD_TERM] = "term over 2^62: corrupt or not written by mitosis",
};

const char *
elect_state_err_text(enum elect_state_err e)
{
	if ((unsigned)e >= ELECT_STATE_ERR_COUNT)
		return "unknown error";
	return elect_state_err_texts[e];
}

void
elect_state_init(struct elect_hard *h, uint64_t sid)
{
	memset(h, 0, sizeof(*h));
	h->sid = sid;
}

/* A voter set that may be empty (count 0). */
static void
elect_state_put_set(struct elect__w *w, const struct elect_voters *v)
{
	if (v->n == 0)
		elect__put(w, 0, 1);
	else
		elect__put_voters(w, v);
}

static bool
elect_state_get_set(struct elect__r *r, struct elect_voters *v, bool allow_zero_sid)
{
	if (!r->short_ && r->off < r->len && r->p[r->off] == 0) {
		r->off++;
		memset(v, 0, sizeof(*v));
		return true;
	}
	return elect__get_voters(r, v, allow_zero_sid);
}

/* What decode would refuse, checked before writing. */
static bool
elect_state_valid(const struct elect_hard *h)
{
	const struct elect_log *l = &h->log;

	if (h->sid == 0 || (h->vote_id == 0) != (h->vote_sid == 0) || l->n > ELECT_TAIL_MAX ||
	    h->term > ELECT_TERM_MAX)
		return false;
	if (l->snap_voters.n ? !elect_voters_valid(&l->snap_voters, false) : l->snap_index != 0)
		return false;
	for (uint32_t i = 0; i < l->n; i++)
		if (l->e[i].type == ELECT_ENTRY_CONFIG &&
		    !elect_voters_valid(&l->e[i].voters, false))
			return false;
	return h->boot.phase <= ELECT_BOOT_DONE &&
	       (h->boot.members.n == 0 || elect_voters_valid(&h->boot.members, true));
}

int
elect_state_encode(const struct elect_hard *h, uint8_t *out, size_t size, size_t *len)
{
	struct elect__w w = { out, size, 0, false };

	if (!elect_state_valid(h))
		return -EINVAL;
	elect__put_bytes(&w, ELECT_STATE_MAGIC, 4);
	elect__put(&w, ELECT_STATE_VERSION, 1);
	elect__put(&w, h->boot.phase, 1);
	elect__put(&w, h->flags, 2);
	elect__put(&w, h->sid, 8);
	elect__put(&w, h->term, 8);
	elect__put(&w, h->vote_id, 8);
	elect__put(&w, h->vote_sid, 8);
	elect__put(&w, h->log.snap_index, 8);
	elect__put(&w, h->log.snap_term, 8);
	elect_state_put_set(&w, &h->log.snap_voters);
	elect__put(&w, h->log.n, 1);
	for (uint32_t i = 0; i < h->log.n; i++)
		elect__put_entry(&w, &h->log.e[i]);
	elect__put(&w, h->boot.own_gen, 4);
	elect__put(&w, h->boot.gen, 4);
	elect__put(&w, h->boot.proposer, 8);
	elect__put(&w, h->boot.proposer_sid, 8);
	elect_state_put_set(&w, &h->boot.members);
	if (w.over || w.size - w.off < ELECT_STATE_SUM)
		return -EMSGSIZE;
	crypto_generichash(out + w.off, ELECT_STATE_SUM, out, w.off, NULL, 0);
	*len = w.off + ELECT_STATE_SUM;
	return 0;
}

/* The fields after the fixed header: log and bootstrap. */
static enum elect_state_err
elect_state_get_rest(struct elect__r *r, struct elect_hard *h)
{
	uint64_t n;

	if (!elect_state_get_set(r, &h->log.snap_voters, false))
		return ELECT_STATE_BAD_VOTERS;
	if (h->log.snap_voters.n == 0 && h->log.snap_index != 0 && !r->short_)
		return ELECT_STATE_BAD_VOTERS;
	n = elect__get(r, 1);
	if (n > ELECT_TAIL_MAX)
		return ELECT_STATE_BAD_ENTRY;
	h->log.n = (uint32_t)n;
	for (uint32_t i = 0; i < h->log.n; i++)
		if (!elect__get_entry(r, &h->log.e[i]))
			return ELECT_STATE_BAD_ENTRY;
	if (h->log.snap_index > UINT64_MAX - ELECT_TAIL_MAX)
		return ELECT_STATE_BAD_ENTRY;
	h->boot.own_gen = (uint32_t)elect__get(r, 4);
	h->boot.gen = (uint32_t)elect__get(r, 4);
	h->boot.proposer = elect__get(r, 8);
	h->boot.proposer_sid = elect__get(r, 8);
	if (!elect_state_get_set(r, &h->boot.members, true))
		return ELECT_STATE_BAD_BOOT;
	return ELECT_STATE_OK;
}

static enum elect_state_err
elect_state_parse(const uint8_t *buf, size_t len, struct elect_hard *h)
{
	struct elect__r r = { buf, len - ELECT_STATE_SUM, 4, false };
	enum elect_state_err e;

	if (elect__get(&r, 1) != ELECT_STATE_VERSION)
		return ELECT_STATE_BAD_VERSION;
	h->boot.phase = (uint8_t)elect__get(&r, 1);
	h->flags = (uint32_t)elect__get(&r, 2);
	h->sid = elect__get(&r, 8);
	h->term = elect__get(&r, 8);
	h->vote_id = elect__get(&r, 8);
	h->vote_sid = elect__get(&r, 8);
	h->log.snap_index = elect__get(&r, 8);
	h->log.snap_term = elect__get(&r, 8);
	if (h->sid == 0)
		return ELECT_STATE_BAD_SID;
	if ((h->vote_id == 0) != (h->vote_sid == 0) || (h->vote_id != 0 && h->term == 0))
		return ELECT_STATE_BAD_VOTE;
	if (h->term > ELECT_TERM_MAX)
		return ELECT_STATE_BAD_TERM;
	if (h->boot.phase > ELECT_BOOT_DONE)
		return ELECT_STATE_BAD_BOOT;
	e = elect_state_get_rest(&r, h);
	if (r.short_)
		return ELECT_STATE_TRUNCATED;
	if (e != ELECT_STATE_OK)
		return e;
	return r.off == r.len ? ELECT_STATE_OK : ELECT_STATE_TRAILING;
}

enum elect_state_err
elect_state_decode(const uint8_t *buf, size_t len, struct elect_hard *h)
{
	uint8_t sum[ELECT_STATE_SUM];
	enum elect_state_err e;

	memset(h, 0, sizeof(*h));
	if (len >= 4 && memcmp(buf, ELECT_STATE_MAGIC, 4) != 0)
		return ELECT_STATE_BAD_MAGIC;
	if (len < ELECT_STATE_MIN)
		return ELECT_STATE_TRUNCATED;
	if (len > ELECT_STATE_MAX)
		return ELECT_STATE_TRAILING;
	crypto_generichash(sum, sizeof(sum), buf, len - ELECT_STATE_SUM, NULL, 0);
	if (sodium_memcmp(sum, buf + len - ELECT_STATE_SUM, ELECT_STATE_SUM) != 0)
		return ELECT_STATE_BAD_CHECKSUM;
	e = elect_state_parse(buf, len, h);
	if (e != ELECT_STATE_OK)
		memset(h, 0, sizeof(*h));
	return e;
}
