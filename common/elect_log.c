/*
 * elect_log: voter sets and the election's small log: a committed snapshot
 * and a tail of uncommitted entries (include/elect_log.h, docs/election.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "elect_log.h"

uint32_t
elect_quorum(uint32_t n)
{
	return n / 2 + 1;
}

int
elect_voters_find(const struct elect_voters *v, uint64_t id)
{
	for (uint32_t i = 0; i < v->n && i < ELECT_VOTERS_MAX; i++)
		if (v->v[i].id == id)
			return (int)i;
	return -1;
}

bool
elect_voters_has(const struct elect_voters *v, uint64_t id, uint64_t sid)
{
	int i = elect_voters_find(v, id);

	return i >= 0 && v->v[i].sid == sid && sid != 0;
}

bool
elect_voters_equal(const struct elect_voters *a, const struct elect_voters *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (!elect_voters_has(b, a->v[i].id, a->v[i].sid))
			return false;
	return true;
}

bool
elect_voters_valid(const struct elect_voters *v, bool allow_zero_sid)
{
	if (v->n == 0 || v->n > ELECT_VOTERS_MAX)
		return false;
	for (uint32_t i = 0; i < v->n; i++) {
		if (v->v[i].id == 0 || (v->v[i].sid == 0 && !allow_zero_sid))
			return false;
		for (uint32_t j = 0; j < i; j++)
			if (v->v[j].id == v->v[i].id)
				return false;
	}
	return true;
}

char *
elect_voters_format(const struct elect_voters *v, char *buf, size_t size)
{
	size_t off = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (uint32_t i = 0; i < v->n && off < size; i++) {
		int k = snprintf(buf + off, size - off, "%s%" PRIu64 "/%08" PRIx64, i ? "," : "",
				 v->v[i].id, v->v[i].sid >> 32);

		if (k < 0)
			break;
		off += (size_t)k;
	}
	return buf;
}

uint64_t
elect_log_last_index(const struct elect_log *l)
{
	return l->snap_index + l->n;
}

uint64_t
elect_log_last_term(const struct elect_log *l)
{
	return l->n ? l->e[l->n - 1].term : l->snap_term;
}

bool
elect_log_term_at(const struct elect_log *l, uint64_t idx, uint64_t *term)
{
	if (idx == l->snap_index) {
		*term = l->snap_term;
		return true;
	}
	if (idx < l->snap_index || idx > elect_log_last_index(l))
		return false;
	*term = l->e[idx - l->snap_index - 1].term;
	return true;
}

const struct elect_entry *
elect_log_entry(const struct elect_log *l, uint64_t idx)
{
	if (idx <= l->snap_index || idx > elect_log_last_index(l))
		return NULL;
	return &l->e[idx - l->snap_index - 1];
}

const struct elect_voters *
elect_log_voters(const struct elect_log *l)
{
	for (uint32_t i = l->n; i > 0; i--)
		if (l->e[i - 1].type == ELECT_ENTRY_CONFIG)
			return &l->e[i - 1].voters;
	return &l->snap_voters;
}

bool
elect_log_config_pending(const struct elect_log *l)
{
	return elect_log_voters(l) != &l->snap_voters;
}

bool
elect_log_up_to_date(const struct elect_log *l, uint64_t last_index, uint64_t last_term)
{
	uint64_t t = elect_log_last_term(l);

	if (last_term != t)
		return last_term > t;
	return last_index >= elect_log_last_index(l);
}

int
elect_log_append(struct elect_log *l, const struct elect_entry *e)
{
	if (l->n == ELECT_TAIL_MAX)
		return -ENOSPC;
	l->e[l->n++] = *e;
	return 0;
}

bool
elect_log_commit(struct elect_log *l, uint64_t idx)
{
	uint64_t last = elect_log_last_index(l);
	uint32_t k;
	bool changed = false;

	if (idx > last)
		idx = last;
	if (idx <= l->snap_index)
		return false;
	k = (uint32_t)(idx - l->snap_index);
	for (uint32_t i = 0; i < k; i++) {
		if (l->e[i].type == ELECT_ENTRY_CONFIG) {
			changed = changed || !elect_voters_equal(&l->snap_voters, &l->e[i].voters);
			l->snap_voters = l->e[i].voters;
		}
	}
	l->snap_term = l->e[k - 1].term;
	l->snap_index = idx;
	memmove(l->e, l->e + k, (l->n - k) * sizeof(l->e[0]));
	l->n -= k;
	return changed;
}

void
elect_log_install(struct elect_log *l, uint64_t index, uint64_t term,
		  const struct elect_voters *voters)
{
	memset(l, 0, sizeof(*l));
	l->snap_index = index;
	l->snap_term = term;
	l->snap_voters = *voters;
}

/* Drops the tail from index idx on (idx > snap_index). */
static void
elect_log_truncate(struct elect_log *l, uint64_t idx)
{
	l->n = (uint32_t)(idx - l->snap_index - 1);
}

enum elect_merge
elect_log_merge(struct elect_log *l, uint64_t prev_index, uint64_t prev_term,
		const struct elect_entry *entries, uint32_t n, uint64_t *match, bool *changed)
{
	uint64_t t, idx;

	*changed = false;
	/* Below the snapshot everything is committed, so it matches the leader
	 * (Log Matching); only a prev inside the tail or at the snapshot is checked. */
	if (prev_index >= l->snap_index) {
		if (!elect_log_term_at(l, prev_index, &t) || t != prev_term) {
			uint64_t last = elect_log_last_index(l);

			/* Retry from our last entry, or from before the one that differs. */
			*match = prev_index > last ? last : (prev_index ? prev_index - 1 : 0);
			if (*match < l->snap_index)
				*match = l->snap_index;
			return ELECT_MERGE_MISMATCH;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		idx = prev_index + 1 + i;
		if (idx <= l->snap_index)
			continue;
		if (elect_log_term_at(l, idx, &t)) {
			if (t == entries[i].term)
				continue;
			elect_log_truncate(l, idx);
			*changed = true;
		}
		if (elect_log_append(l, &entries[i]) < 0)
			return ELECT_MERGE_NO_ROOM;
		*changed = true;
	}
	*match = prev_index + n;
	return ELECT_MERGE_OK;
}
