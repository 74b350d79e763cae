/*
 * scen: the simulator's scenarios. The benchmark (`dst bench`) prints the
 * membership figures as machine-readable lines; the tests (`dst test
 * NAME`) each print one PASS or FAIL line. Both are deterministic for a seed.
 */
#ifndef SCEN_H
#define SCEN_H

#include <stdbool.h>
#include <stdint.h>

#include "netsim.h"

struct scen_opts {
	struct netsim_params p;
	uint32_t trials;	  /* dissemination and crash trials */
	uint32_t nseeds;	  /* a joining node asks the first nseeds nodes */
	uint32_t view;		  /* 0: join through seeds; else prime views of this many */
	uint64_t join_spread_ms;  /* nodes boot evenly over this span */
	uint64_t converge_max_ms; /* give up bootstrapping after this */
	uint64_t settle_ms;	  /* quiet time after convergence */
	uint64_t fp_seconds;	  /* virtual seconds under loss */
	uint32_t fp_loss_ppm;
	uint64_t bytes_seconds; /* window for the bytes figure */
	uint64_t load_every_ms; /* load sample period in the second bytes window */
	uint64_t pause_ms;	/* the pause test's pause (0: derived from the config) */
	bool wall;		/* print wall time and memory (not deterministic) */
	const char *figures;	/* comma list: boot,dissem,bytes,fp,crash (NULL: all) */
};

void scen_opts_default(struct scen_opts *o);
/* Prints the figures for o->p.nodes. 0, or 1 when the cluster never formed
 * or the simulator failed. */
int scen_bench(const struct scen_opts *o);
/* Runs one named test (or "all"); prints PASS/FAIL lines. Returns the number
 * of failures, or -1 for an unknown name. */
int scen_test(const char *name, const struct scen_opts *o);
/* Lists the test names on stdout. */
void scen_list(void);

#endif
