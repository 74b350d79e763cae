/*
 * swim_digest: push-pull by digests (docs/membership.md, "Push-pull"), in the
 * manner of Scuttlebutt and Cassandra's gossip: instead of its whole table, a
 * node sends what it holds of each member, 21 bytes apiece (id, incarnation,
 * state, load version), sorted by id and cut into DIGEST chunks that each
 * name the range of ids they cover. The peer answers each chunk with the
 * records the sender lacks in that range (whole signed records, the key too
 * when the member is new to it) and, when asked, with its own digest, to
 * which the first node answers the same way. When the two tables agree, a
 * push-pull costs the digests alone; signed records (a MEMBER record is ~100
 * bytes, a LOAD ~83) travel only where they are news.
 *
 * Records that answer a digest go only to a member we know at the address
 * the digest came from (it answered our ping there): a stranger gets our own
 * record, one datagram, and its ping; nobody can make us send our table to an
 * address of its choosing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "swim_priv.h"

/* Entries of one DIGEST chunk: what fits after its 19 header bytes. */
#define SWIM_DIGEST_PER_CHUNK(cap) (((cap)-19) / SWIM_DIGEST_LEN)

static int
swim_digest_cmp(const void *a, const void *b)
{
	uint64_t x = (*(const struct swim_member *const *)a)->id;
	uint64_t y = (*(const struct swim_member *const *)b)->id;

	return x < y ? -1 : x > y;
}

/* Our members (self included), sorted by id; caller frees. NULL on ENOMEM. */
static const struct swim_member **
swim_digest_sorted(const struct swim *s)
{
	const struct swim_member **v = malloc((size_t)s->tab.count * sizeof(*v));

	if (v == NULL)
		return NULL;
	for (uint32_t i = 0; i < s->tab.count; i++)
		v[i] = &s->tab.members[i];
	qsort(v, s->tab.count, sizeof(*v), swim_digest_cmp);
	return v;
}

static void
swim_digest_entry(const struct swim_member *m, struct swim_record *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = SWIM_REC_DIGEST;
	r->id = m->id;
	r->incarnation = m->incarnation;
	r->state = m->state;
	r->load.version = m->load.version;
}

/* The push-pull claims (registered with `pushpull`), as APP records. */
static void
swim_digest_claims(struct swim *s, uint64_t to_id, const struct swim_addr *to)
{
	struct swim_msg h = { .type = SWIM_MSG_STATE };
	struct swim_writer w;
	struct swim_record r;

	if (swim_codec_begin(&w, s->buf, s->cfg.max_payload, &h) != 0)
		return;
	for (uint32_t i = 0; i < s->claims.n; i++) {
		const struct swim_claim_entry *e = swim_claims_at(&s->claims, i);
		const struct swim_claim_kind *k;

		if (e == NULL || (k = swim_claims_kind(&s->claims, e->c.kind)) == NULL ||
		    !k->pushpull)
			continue;
		memset(&r, 0, sizeof(r));
		r.kind = SWIM_REC_APP;
		r.id = e->c.subject;
		r.app = e->c;
		memcpy(r.sig, e->sig, sizeof(r.sig));
		if (swim_codec_add(&w, &r) == -EMSGSIZE) {
			swim__send(s, to_id, to, SWIM_MSG_STATE, swim_codec_end(&w));
			(void)swim_codec_begin(&w, s->buf, s->cfg.max_payload, &h);
			(void)swim_codec_add(&w, &r);
		}
	}
	if (w.count > 0)
		swim__send(s, to_id, to, SWIM_MSG_STATE, swim_codec_end(&w));
}

void
swim__pushpull_to(struct swim *s, uint64_t to_id, const struct swim_addr *to, uint8_t flags)
{
	const struct swim_member **v = swim_digest_sorted(s);
	uint32_t per = SWIM_DIGEST_PER_CHUNK(s->cfg.max_payload), i = 0;
	struct swim_msg h = { .type = SWIM_MSG_DIGEST, .flags = flags, .lo = 1 };
	struct swim_writer w;
	struct swim_record r;

	if (v == NULL)
		return;
	while (i < s->tab.count) {
		uint32_t end = swim__min(i + per, s->tab.count);

		/* Contiguous ranges: the last chunk runs to the top of the id space. */
		h.hi = end == s->tab.count ? UINT64_MAX : v[end - 1]->id;
		if (swim_codec_begin(&w, s->buf, s->cfg.max_payload, &h) != 0)
			break;
		for (; i < end; i++) {
			swim_digest_entry(v[i], &r);
			(void)swim_codec_add(&w, &r);
		}
		swim__send(s, to_id, to, SWIM_MSG_DIGEST, swim_codec_end(&w));
		h.lo = h.hi + 1;
	}
	free(v);
	swim_digest_claims(s, to_id, to);
}

bool
swim__known_at(const struct swim *s, uint64_t id, const struct swim_addr *addr)
{
	const struct swim_member *m = swim_table_cfind(&s->tab, id);

	return m != NULL && m != &s->tab.members[0] && swim__addr_eq(&m->addr, addr);
}

/* What the answer needs of a peer's digest entry: a chunk's entries are
 * kept like this, not as whole records (512 bytes each, 128 kB of stack for
 * a full chunk, resident for good once touched). */
struct swim_digest_entry {
	uint64_t id, incarnation;
	uint32_t load_version;
	enum swim_state state;
};

/* The peer's entry for `id` in the chunk (sorted by id), or NULL. */
static const struct swim_digest_entry *
swim_digest_find(const struct swim_digest_entry *e, uint32_t n, uint64_t id)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (e[mid].id == id)
			return &e[mid];
		if (e[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Not sorted after all (a liar): a linear look, still bounded by n. */
	for (uint32_t i = 0; i < n; i++)
		if (e[i].id == id)
			return &e[i];
	return NULL;
}

struct swim_push {
	struct swim *s;
	uint64_t to_id;
	const struct swim_addr *to;
	struct swim_writer w;
	bool open;
};

/* Adds m's records to the push, sending a full message first if need be. */
static void
swim_push_member(struct swim_push *p, const struct swim_member *m, bool claim, bool key, bool load)
{
	struct swim_msg h = { .type = SWIM_MSG_STATE };
	struct swim *s = p->s;
	int rc;

	for (int tries = 0; tries < 2; tries++) {
		if (!p->open && swim_codec_begin(&p->w, s->buf, s->cfg.max_payload, &h) != 0)
			return;
		p->open = true;
		rc = swim__put_member(s, &p->w, m, 0, claim, key, load);
		if (rc != -EMSGSIZE || p->w.count == 0)
			return;
		swim__send(s, p->to_id, p->to, SWIM_MSG_STATE, swim_codec_end(&p->w));
		p->open = false;
	}
}

/* What the peer lacks of m, from its entry e (NULL: it lacks m altogether). */
static void
swim_push_if_newer(struct swim_push *p, const struct swim_member *m,
		   const struct swim_digest_entry *e)
{
	bool claim = e == NULL || e->incarnation < m->incarnation ||
		     (e->incarnation == m->incarnation && (int)e->state < (int)m->state);
	bool load = m->load.version > (e != NULL ? e->load_version : 0);

	if (claim)
		swim_push_member(p, m, true, e == NULL, load);
	else if (load)
		swim_push_member(p, m, false, false, true);
}

/* The peer holds us SUSPECT or DEAD (a healed partition): that is an
 * accusation, which we refute before we answer, so the answer carries it. */
static void
swim_digest_self(struct swim *s, uint64_t from_id, const struct swim_digest_entry *e, uint32_t n,
		 uint64_t now)
{
	const struct swim_digest_entry *me = swim_digest_find(e, n, swim__me(s)->id);

	if (me != NULL && (me->state == SWIM_SUSPECT || me->state == SWIM_DEAD))
		swim__refute(s, me->incarnation, from_id, now);
}

/* Walks our members in [lo, hi] against the chunk's entries. */
static void
swim_digest_answer(struct swim *s, uint64_t from_id, const struct swim_addr *from,
		   const struct swim_msg *msg, uint64_t now)
{
	struct swim_digest_entry e[UINT8_MAX];
	struct swim_record rec;
	struct swim_push p = { s, from_id, from, { 0 }, false };
	size_t off = 0;
	uint32_t n = 0;

	for (unsigned i = 0; i < msg->count && i < UINT8_MAX; i++) {
		if (swim_codec_record(msg->rec, msg->rec_len, &off, &rec) != SWIM_CODEC_OK)
			break; /* decode checked them all: not reached */
		e[n++] = (struct swim_digest_entry){ rec.id, rec.incarnation, rec.load.version,
						     rec.state };
	}
	swim_digest_self(s, from_id, e, n, now);
	for (uint32_t i = 0; i < s->tab.count; i++) {
		const struct swim_member *m = &s->tab.members[i];

		if (m->id >= msg->lo && m->id <= msg->hi)
			swim_push_if_newer(&p, m, swim_digest_find(e, n, m->id));
	}
	if (p.open && p.w.count > 0)
		swim__send(s, from_id, from, SWIM_MSG_STATE, swim_codec_end(&p.w));
}

void
swim__on_digest(struct swim *s, uint64_t from_id, const struct swim_addr *from,
		const struct swim_msg *msg, uint64_t now)
{
	if (!swim__known_at(s, from_id, from)) {
		/* A stranger (or a member at an address we do not know it at):
		 * our own record, so it can check us; ours to check it comes
		 * when it answers our "who are you". */
		if ((msg->flags & SWIM_DIGEST_ANSWER) && msg->lo == 1 &&
		    swim__reply_ok(s, SWIM_REPLY_WHO, from_id, from, now))
			swim__send_self(s, from_id, from, 0);
		return;
	}
	/* A push-pull is charged once, at its first chunk; later chunks ride
	 * on it. A liar sending later chunks alone still meets the bucket of
	 * all requests together. */
	if (!swim__reply_ok(s, SWIM_REPLY_ANSWER, msg->lo == 1 ? from_id : 0,
			    msg->lo == 1 ? from : NULL, now))
		return;
	swim_digest_answer(s, from_id, from, msg, now);
	s->nfix = 0; /* the records sent carry it all */
	if ((msg->flags & SWIM_DIGEST_ANSWER) && msg->hi == UINT64_MAX)
		swim__pushpull_to(s, from_id, from, 0);
}
