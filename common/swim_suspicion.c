/*
 * swim_suspicion: timeouts and the SUSPECT side table
 * (include/swim_suspicion.h). The table is a dense array indexed by id;
 * expiry scans it, which is cheap because only suspects are in it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fmath.h"
#include "swim_suspicion.h"

uint64_t
swim_suspicion_min_ms(uint32_t min_mult, uint64_t n, uint64_t probe_interval_ms)
{
	double scale = fmath_log10(n < 1 ? 1.0 : (double)n);
	uint64_t scale_milli;

	if (scale < 1.0)
		scale = 1.0;
	/* memberlist keeps three decimals of the log scale (util.go). */
	scale_milli = (uint64_t)(scale * 1000.0 + 1e-9); /* log10(100) is 2, not 1.999... */
	return (uint64_t)min_mult * scale_milli * probe_interval_ms / 1000;
}

uint32_t
swim_suspicion_k(uint32_t k, uint64_t n)
{
	return n < 2 || n - 2 < k ? 0 : k;
}

uint64_t
swim_suspicion_timeout_ms(uint32_t c, uint32_t k, uint64_t min_ms, uint64_t max_ms)
{
	double frac, raw;
	uint64_t t;

	if (k < 1 || max_ms <= min_ms)
		return min_ms;
	frac = fmath_ln((double)c + 1.0) / fmath_ln((double)k + 1.0);
	raw = (double)max_ms - frac * (double)(max_ms - min_ms);
	t = raw <= (double)min_ms ? min_ms : (uint64_t)raw; /* raw > 0: truncation is floor */
	return t < min_ms ? min_ms : t;
}

static uint64_t
swim_suspicions_key(const void *ctx, uint32_t v)
{
	const struct swim_suspicion *s = ctx;

	return s[v].id;
}

int
swim_suspicions_init(struct swim_suspicions *t, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	return swim_idmap_init(&t->index, 16, seed, swim_suspicions_key);
}

void
swim_suspicions_fini(struct swim_suspicions *t)
{
	swim_idmap_fini(&t->index);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static struct swim_suspicion *
swim_suspicions_get(const struct swim_suspicions *t, uint64_t id)
{
	uint32_t i = swim_idmap_get(&t->index, t->v, id);

	return i == SWIM_IDMAP_NONE ? NULL : &t->v[i];
}

static uint64_t
swim_suspicion_deadline(const struct swim_suspicion *s)
{
	uint64_t d = swim_suspicion_timeout_ms(s->confirmations, s->k, s->min_ms, s->max_ms);

	return s->start > UINT64_MAX - d ? UINT64_MAX : s->start + d;
}

int
swim_suspicions_start(struct swim_suspicions *t, uint64_t id, uint64_t from, uint64_t now,
		      uint32_t k, uint64_t min_ms, uint64_t max_ms)
{
	struct swim_suspicion *s = swim_suspicions_get(t, id), *p;
	uint32_t cap;

	if (s == NULL) {
		if (t->count == t->cap) {
			cap = t->cap + t->cap / 2 + 8;
			if ((p = realloc(t->v, (size_t)cap * sizeof(*p))) == NULL)
				return -ENOMEM;
			t->v = p;
			t->cap = cap;
		}
		s = &t->v[t->count];
		s->id = id;
		if (swim_idmap_put(&t->index, t->v, id, t->count) != 0)
			return -ENOMEM;
		t->count++;
	}
	memset(s->accusers, 0, sizeof(s->accusers));
	s->start = now;
	s->min_ms = min_ms;
	s->max_ms = max_ms < min_ms ? min_ms : max_ms;
	s->k = k > SWIM_SUSPICION_K_MAX ? SWIM_SUSPICION_K_MAX : k;
	s->confirmations = 0;
	s->deferrals = 0;
	s->accusers[0] = from;
	s->deadline = swim_suspicion_deadline(s);
	return 0;
}

bool
swim_suspicions_confirm(struct swim_suspicions *t, uint64_t id, uint64_t from)
{
	struct swim_suspicion *s = swim_suspicions_get(t, id);

	if (s == NULL || s->confirmations >= s->k)
		return false;
	for (uint32_t i = 0; i <= s->confirmations; i++)
		if (s->accusers[i] == from)
			return false;
	s->accusers[++s->confirmations] = from;
	s->deadline = swim_suspicion_deadline(s);
	return true;
}

void
swim_suspicions_set_sig(struct swim_suspicions *t, uint64_t id, uint64_t from,
			const uint8_t sig[64])
{
	struct swim_suspicion *s = swim_suspicions_get(t, id);

	for (uint32_t i = 0; s != NULL && i <= s->confirmations; i++)
		if (s->accusers[i] == from)
			memcpy(s->sigs[i], sig, 64);
}

const uint8_t *
swim_suspicions_sig(const struct swim_suspicions *t, uint64_t id, uint64_t from)
{
	const struct swim_suspicion *s = swim_suspicions_find(t, id);

	for (uint32_t i = 0; s != NULL && i <= s->confirmations; i++)
		if (s->accusers[i] == from)
			return s->sigs[i];
	return NULL;
}

void
swim_suspicions_defer(struct swim_suspicions *t, uint64_t id, uint64_t until)
{
	struct swim_suspicion *s = swim_suspicions_get(t, id);

	if (s == NULL)
		return;
	s->deadline = until;
	s->deferrals++;
}

void
swim_suspicions_stop(struct swim_suspicions *t, uint64_t id)
{
	uint32_t i = swim_idmap_get(&t->index, t->v, id), last;

	if (i == SWIM_IDMAP_NONE)
		return;
	last = t->count - 1;
	swim_idmap_del(&t->index, t->v, id);
	if (i != last) {
		t->v[i] = t->v[last];
		swim_idmap_move(&t->index, t->v, t->v[i].id, i);
	}
	t->count--;
}

const struct swim_suspicion *
swim_suspicions_find(const struct swim_suspicions *t, uint64_t id)
{
	return swim_suspicions_get(t, id);
}

uint64_t
swim_suspicions_next(const struct swim_suspicions *t)
{
	uint64_t next = UINT64_MAX;

	for (uint32_t i = 0; i < t->count; i++)
		if (t->v[i].deadline < next)
			next = t->v[i].deadline;
	return next;
}

uint64_t
swim_suspicions_expired(const struct swim_suspicions *t, uint64_t now)
{
	for (uint32_t i = 0; i < t->count; i++)
		if (t->v[i].deadline <= now)
			return t->v[i].id;
	return 0;
}
