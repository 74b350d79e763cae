/*
 * policy_victim: the candidates of a scale-in and their order
 * (include/policy_victim.h states the order and why).
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "policy_victim.h"

enum policy_victim_why
policy_victim_check(const struct policy_node *n)
{
	const unsigned busy = POLICY_NODE_DRAINING | POLICY_NODE_RETIRING | POLICY_NODE_DEAD_OP |
			      POLICY_NODE_DELETING | POLICY_NODE_CLONING;

	if ((n->flags & POLICY_NODE_LISTED) == 0 || n->status != POLICY_ST_ACTIVE ||
	    (n->flags & POLICY_NODE_MEMBER) == 0 || n->member_state != SWIM_ALIVE)
		return POLICY_VICTIM_NOT_SERVING;
	if ((n->flags & busy) != 0)
		return POLICY_VICTIM_BUSY;
	if ((n->flags & POLICY_NODE_PROTECTED) != 0)
		return POLICY_VICTIM_PROTECTED;
	return POLICY_VICTIM_OK;
}

/* The clamped value of the first configured metric, INT64_MAX when the node
 * has no valid sample of it (kept: its load is unknown). */
static int64_t
policy_victim_load(const struct policy_config *cfg, const struct policy_node *n)
{
	int m = 0;
	int64_t v, clamp;

	while (m < POLICY_METRIC_COUNT && (cfg->metrics & POLICY_METRIC_BIT(m)) == 0)
		m++;
	if (m == POLICY_METRIC_COUNT || (n->flags & POLICY_NODE_LOAD_VALID) == 0 ||
	    n->load.version == 0 || (m == POLICY_METRIC_CUSTOM && !n->load.has_custom))
		return INT64_MAX;
	v = m == POLICY_METRIC_CPU	? n->load.cpu_permille
	    : m == POLICY_METRIC_LOAD1	? n->load.load1_permille
	    : m == POLICY_METRIC_MEMORY ? n->load.mem_permille
					: n->load.custom_milli;
	clamp = policy_config_clamp(cfg, (enum policy_metric)m);
	return v < 0 ? 0 : v > clamp ? clamp : v;
}

static void
policy_victim_fill(const struct policy_config *cfg, const struct policy_input *in,
		   const struct policy_node *n, struct policy_victim *v)
{
	uint64_t price = n->price_uusd != 0 ? n->price_uusd : in->clone_price_uusd;
	uint64_t min_s = (policy_min_charge_ms(price) + 999) / 1000;

	memset(v, 0, sizeof(*v));
	v->id = n->id;
	v->price_uusd = price;
	v->created_s = n->created_s;
	/* An unknown creation time reads as long ago: the minimum is used. */
	v->min_end_s = n->created_s != 0 ? n->created_s + min_s : 0;
	v->past_min = v->min_end_s <= in->unix_s + cfg->retire_delay_ms / 1000;
	v->load = policy_victim_load(cfg, n);
	v->leader = (n->flags & POLICY_NODE_LEADER) != 0;
}

void
policy_victim_list(const struct policy_config *cfg, const struct policy_input *in,
		   struct policy_victim *v, size_t *nv)
{
	size_t k = 0;

	for (size_t i = 0; i < in->n; i++)
		if (policy_victim_check(&in->nodes[i]) == POLICY_VICTIM_OK)
			policy_victim_fill(cfg, in, &in->nodes[i], &v[k++]);
	if (k > 1)
		qsort(v, k, sizeof(*v), policy_victim_cmp);
	*nv = k;
}

/* -1 when a sorts before b on a key where lower is first. */
#define POLICY_CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

int
policy_victim_cmp(const void *pa, const void *pb)
{
	const struct policy_victim *a = pa, *b = pb;
	int c;

	if (a->past_min != b->past_min)
		return a->past_min ? -1 : 1;
	if (!a->past_min && (c = POLICY_CMP(a->min_end_s, b->min_end_s)) != 0)
		return c;
	if ((c = POLICY_CMP(b->price_uusd, a->price_uusd)) != 0)
		return c;
	if ((c = POLICY_CMP(a->load, b->load)) != 0)
		return c;
	if ((c = POLICY_CMP(b->created_s, a->created_s)) != 0)
		return c;
	return POLICY_CMP(b->id, a->id);
}
