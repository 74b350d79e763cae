/*
 * Unit tests for common/prom.c: the exposition text of a known view (exact
 * lines, exact numbers from permille), the conventions every family keeps
 * (HELP and TYPE first, counters end in _total), the API request classes and
 * rate-limit gauges, and the /health answer.
 */
#include "harness.h"
#include "elect_report.h"
#include "prom.h"

static struct prom_view
view(void)
{
	static struct swim_load self = {
		.version = 3, .cpu_permille = 125, .load1_permille = 1500, .mem_permille = 400
	};
	struct prom_view v;

	memset(&v, 0, sizeof(v));
	v.version = "1.2.3";
	v.revision = "ab\"c";
	v.st.cluster = "web";
	v.st.node_id = 4242;
	v.st.by_state[SWIM_ALIVE] = 3;
	v.st.by_state[SWIM_DEAD] = 1;
	v.st.mean.members = 3;
	v.st.mean.cpu_permille = 7;
	v.st.mean.load1_permille = 1000;
	v.st.mean.mem_permille = 999;
	v.st.mean.custom_members = 1;
	v.st.mean.custom_milli = -2500;
	v.st.dgrams_in = 10;
	v.st.bytes_in = 1000;
	v.st.verdicts[WIRE_ACCEPT] = 8;
	v.st.verdicts[WIRE_DROP_BAD_TAG] = 2;
	v.st.swim.probes = 5;
	v.st.swim.refutations = 1;
	v.self_load = &self;
	v.start_time_ms = 1700000000123ULL;
	v.joined = true;
	return v;
}

static void
has_line(const char *text, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s\n", line);
	if (strstr(text, want) == NULL)
		harness_fail(__FILE__, __LINE__, "no line \"%s\" in:\n%s", line, text);
}

TEST(prom_render_known_view)
{
	struct prom_view v = view();
	char *t = prom_render(&v);

	ASSERT_NOT_NULL(t);
	ASSERT(strncmp(t, "# HELP mitosis_build_info ", 26) == 0);
	has_line(t, "mitosis_build_info{version=\"1.2.3\",revision=\"ab\\\"c\"} 1");
	has_line(t, "mitosis_node_info{cluster=\"web\",node_id=\"4242\"} 1");
	has_line(t, "process_start_time_seconds 1700000000.123");
	has_line(t, "mitosis_joined 1");
	has_line(t, "mitosis_members{state=\"alive\"} 3");
	has_line(t, "mitosis_members{state=\"suspect\"} 0");
	has_line(t, "mitosis_members{state=\"dead\"} 1");
	has_line(t, "mitosis_members{state=\"left\"} 0");
	has_line(t, "mitosis_gossip_datagrams_received_total 10");
	has_line(t, "mitosis_gossip_received_bytes_total 1000");
	has_line(t, "mitosis_gossip_datagrams_accepted_total 8");
	has_line(t, "mitosis_gossip_datagrams_dropped_total{reason=\"bad-tag\"} 2");
	has_line(t, "mitosis_gossip_datagrams_dropped_total{reason=\"replay\"} 0");
	has_line(t, "mitosis_swim_probes_total 5");
	has_line(t, "mitosis_swim_refutations_total 1");
	has_line(t, "mitosis_node_cpu_ratio 0.125");
	has_line(t, "mitosis_node_load1_per_cpu 1.500");
	has_line(t, "mitosis_node_memory_ratio 0.400");
	has_line(t, "mitosis_cluster_cpu_ratio 0.007");
	has_line(t, "mitosis_cluster_memory_ratio 0.999");
	has_line(t, "mitosis_cluster_custom_metric -2.500");
	has_line(t, "mitosis_cluster_load_members 3");
	/* No custom metric on this node, no API client, no registrars: no such families. */
	ASSERT_NULL(strstr(t, "mitosis_node_custom_metric"));
	ASSERT_NULL(strstr(t, "mitosis_http_requests_total"));
	ASSERT_NULL(strstr(t, "mitosis_registrar"));
	free(t);
}

/* Every sample belongs to the family announced just before it, and every
 * counter's name ends in _total (Prometheus' naming rules). */
TEST(prom_every_family_has_help_and_type)
{
	struct prom_view v = view();
	struct prom_api api;
	char *t, *line, *save = NULL, family[128] = "", type[16] = "";
	size_t samples = 0;

	prom_api_init(&api);
	prom_api_observe(&api, "https://api", "https://api/v2/droplets", 200, 0, "4999", "5000");
	struct elect_report er = { 0 };

	struct prom_scaling sc = { .decided = true, .desired = 3 };

	v.api = &api;
	v.registrars = true;
	v.election = &er;
	v.scaling = &sc;
	t = prom_render(&v);
	ASSERT_NOT_NULL(t);
	for (line = strtok_r(t, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			sscanf(line + 7, "%127s", family);
			type[0] = '\0';
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[128];

			ASSERT_EQ(sscanf(line + 7, "%127s %15s", name, type), 2);
			ASSERT_STR_EQ(name, family);
			ASSERT(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0);
			if (strcmp(type, "counter") == 0)
				ASSERT(strstr(family, "_total") == family + strlen(family) - 6);
			continue;
		}
		ASSERT(type[0] != '\0');
		ASSERT(strncmp(line, family, strlen(family)) == 0);
		ASSERT(line[strlen(family)] == ' ' || line[strlen(family)] == '{');
		samples++;
	}
	ASSERT_GT(samples, 40);
	free(t);
}

TEST(prom_api_classes)
{
	struct prom_api api;
	const char *base = "https://api.digitalocean.com";
	char *t;
	struct prom_view v = view();

	prom_api_init(&api);
	prom_api_observe(&api, base, "https://api.digitalocean.com/v2/droplets?tag_name=x", 200, 0,
			 "4999", "5000");
	prom_api_observe(&api, base, "https://api.digitalocean.com/v2/droplets/1/actions", 201, 0,
			 NULL, NULL);
	prom_api_observe(&api, base, "https://api.digitalocean.com/v2/snapshots/9", 404, 0, "4997",
			 NULL);
	prom_api_observe(&api, base, "https://api.digitalocean.com/v2/domains/x/records", 429, 0,
			 "0", "5000");
	prom_api_observe(&api, base, "https://api.digitalocean.com/v2/load_balancers/u", 503, 0,
			 "x", NULL);
	prom_api_observe(&api, base, "https://api.digitalocean.com/v2/account", 0, -110, NULL,
			 NULL);
	prom_api_observe(&api, base, "https://api.digitalocean.com/v2/dropletsfoo", 200, 0, NULL,
			 NULL);
	/* Not under the API's base: the metadata service; its headers are not the API's. */
	prom_api_observe(&api, base, "http://169.254.169.254/metadata/v1.json", 200, 0, "7", "7");
	prom_api_observe(&api, NULL, "http://169.254.169.254/metadata/v1.json", 0, -111, NULL,
			 NULL);
	ASSERT_EQ(api.requests[PROM_EP_DROPLETS][PROM_CODE_2XX], 2);
	ASSERT_EQ(api.requests[PROM_EP_IMAGES][PROM_CODE_4XX], 1);
	ASSERT_EQ(api.requests[PROM_EP_DOMAINS][PROM_CODE_429], 1);
	ASSERT_EQ(api.requests[PROM_EP_LOAD_BALANCERS][PROM_CODE_5XX], 1);
	ASSERT_EQ(api.requests[PROM_EP_OTHER][PROM_CODE_ERROR], 1);
	ASSERT_EQ(api.requests[PROM_EP_OTHER][PROM_CODE_2XX], 1);
	ASSERT_EQ(api.requests[PROM_EP_METADATA][PROM_CODE_2XX], 1);
	ASSERT_EQ(api.requests[PROM_EP_METADATA][PROM_CODE_ERROR], 1);
	/* The last number the API said ("x" is not one). */
	ASSERT_EQ(api.ratelimit_remaining, 0);
	ASSERT_EQ(api.ratelimit_limit, 5000);
	v.api = &api;
	t = prom_render(&v);
	has_line(t, "mitosis_http_requests_total{endpoint=\"droplets\",code=\"2xx\"} 2");
	has_line(t, "mitosis_http_requests_total{endpoint=\"metadata\",code=\"error\"} 1");
	has_line(t, "mitosis_api_ratelimit_remaining 0");
	has_line(t, "mitosis_api_ratelimit_limit 5000");
	/* Classes never seen are not written. */
	ASSERT_NULL(strstr(t, "endpoint=\"tags\""));
	free(t);
}

TEST(prom_rate_limit_unknown_is_absent)
{
	struct prom_api api;
	struct prom_view v = view();
	char *t;

	prom_api_init(&api);
	v.api = &api;
	t = prom_render(&v);
	ASSERT_NULL(strstr(t, "ratelimit"));
	has_line(t, "# TYPE mitosis_http_requests_total counter");
	free(t);
}

TEST(prom_registrars_and_health)
{
	struct prom_view v = view();
	char *t;
	int status;

	v.registrars = true;
	v.reg_ops[PROM_REG_REGISTER] = 2;
	v.reg_errors[PROM_REG_DEREGISTER] = 1;
	v.reg_ops[PROM_REG_RECONCILE] = 5;
	t = prom_render(&v);
	has_line(t, "mitosis_registrar_operations_total{operation=\"register\"} 2");
	has_line(t, "mitosis_registrar_errors_total{operation=\"deregister\"} 1");
	has_line(t, "mitosis_registrar_operations_total{operation=\"reconcile\"} 5");
	has_line(t, "mitosis_registrar_errors_total{operation=\"reconcile\"} 0");
	ASSERT_NULL(strstr(t, "Times the agent put this node"));
	free(t);
	t = prom_health(&v, &status);
	ASSERT_EQ(status, 200);
	ASSERT_STR_EQ(t,
		      "{\"status\":\"ok\",\"members\":3,\"cluster\":\"web\",\"node_id\":4242}\n");
	free(t);
	v.joined = false;
	t = prom_health(&v, &status);
	ASSERT_EQ(status, 503);
	ASSERT_STR_EQ(
		t, "{\"status\":\"joining\",\"members\":3,\"cluster\":\"web\",\"node_id\":4242}\n");
	free(t);
}

/* The election's families: absent until the agent runs one, then the role,
 * term, voters and rounds as the report says. */
TEST(prom_election)
{
	struct prom_view v = view();
	struct elect_report er = { 0 };
	char *t;

	t = prom_render(&v);
	ASSERT_NULL(strstr(t, "mitosis_leader"));
	ASSERT_NULL(strstr(t, "mitosis_election"));
	free(t);
	er.st.role = ELECT_LEADER;
	er.st.leading = true;
	er.st.term = 7;
	er.st.leader = 4242;
	er.st.voters.n = 3;
	er.st.voters_alive = 2;
	er.stats.elections = 4;
	er.stats.campaigns = 3;
	er.stats.won = 2;
	v.election = &er;
	t = prom_render(&v);
	has_line(t, "# TYPE mitosis_leader gauge");
	has_line(t, "mitosis_leader 1");
	has_line(t, "mitosis_election_term 7");
	has_line(t, "mitosis_election_leader_known 1");
	has_line(t, "mitosis_election_voter 1");
	has_line(t, "mitosis_election_voters 3");
	has_line(t, "mitosis_election_voters_alive 2");
	has_line(t, "mitosis_election_quorum_lost 0");
	has_line(t, "# TYPE mitosis_elections_total counter");
	has_line(t, "mitosis_elections_total 4");
	has_line(t, "mitosis_election_campaigns_total 3");
	has_line(t, "mitosis_election_won_total 2");
	free(t);
	er.st = (struct elect_status){ .role = ELECT_NONVOTER, .term = 9, .quorum_lost = true };
	t = prom_render(&v);
	has_line(t, "mitosis_leader 0");
	has_line(t, "mitosis_election_leader_known 0");
	has_line(t, "mitosis_election_voter 0");
	has_line(t, "mitosis_election_quorum_lost 1");
	free(t);
}

TEST(prom_scaling)
{
	struct prom_view v = view();
	struct prom_scaling sc = { 0 };
	char *t;

	t = prom_render(&v);
	ASSERT_NULL(strstr(t, "mitosis_scaling"));
	free(t);
	/* A policy that has not decided yet: counters at 0, no sizes. */
	v.scaling = &sc;
	t = prom_render(&v);
	has_line(t, "mitosis_scaling_active 0");
	has_line(t, "mitosis_scaling_decisions_total{action=\"scale_out\"} 0");
	has_line(t, "mitosis_scaling_events_total{event=\"abandoned\"} 0");
	ASSERT_NULL(strstr(t, "mitosis_scaling_desired_nodes"));
	free(t);
	sc.active = true;
	sc.dry_run = true;
	sc.decided = true;
	sc.decisions[0] = 2; /* scale_out */
	sc.decisions[1] = 1; /* scale_in */
	sc.limits[1] = 1;    /* max_hourly_cost */
	sc.events[ACTUATE_EV_CLONE_READY] = 2;
	sc.events[ACTUATE_EV_LEAK] = 1;
	sc.desired = 4;
	sc.capacity = 3;
	sc.billed = 5;
	sc.cost_uusd = 44642; /* micro-USD: $0.044642 */
	t = prom_render(&v);
	has_line(t, "mitosis_scaling_active 1");
	has_line(t, "mitosis_scaling_dry_run 1");
	has_line(t, "# TYPE mitosis_scaling_decisions_total counter");
	has_line(t, "mitosis_scaling_decisions_total{action=\"scale_out\"} 2");
	has_line(t, "mitosis_scaling_decisions_total{action=\"scale_in\"} 1");
	has_line(t, "mitosis_scaling_decisions_total{action=\"transfer\"} 0");
	has_line(t, "mitosis_scaling_limit_reached_total{limit=\"max_nodes\"} 0");
	has_line(t, "mitosis_scaling_limit_reached_total{limit=\"max_hourly_cost\"} 1");
	has_line(t, "mitosis_scaling_events_total{event=\"clone_ready\"} 2");
	has_line(t, "mitosis_scaling_events_total{event=\"leak\"} 1");
	has_line(t, "mitosis_scaling_desired_nodes 4");
	has_line(t, "mitosis_scaling_capacity_nodes 3");
	has_line(t, "mitosis_scaling_billed_nodes 5");
	has_line(t, "mitosis_scaling_hourly_cost_dollars 0.044642");
	free(t);
}
