# mitosis: one non-recursive GNU Makefile.
#
#   make            build build/mitosis and its HTTP helper build/mitosis-http
#   make test       install missing deps, then run every test layer (tests/run.sh)
#   make demo       install missing deps, then run the local simulated cluster
#   make bench      benchmarks that print figures
#   make fuzz       build the libFuzzer harnesses (clang) into build/fuzz/
#   make unit       build and run the unit tests only
#   make man        the man pages mitosis(8) and mitosis.conf(5) into build/man/
#   make install    PREFIX=/usr/local DESTDIR=: binaries, man pages, unit, sysusers
#   make deb        the Debian package into build/deb/ (docs/packaging.md)
#   make check-boundaries   common/ must not include libuv or libcurl
#   make dst SEEDS=N        the election and cloud campaigns in the simulator (default 10000, 1000)
#
# Variables: V=1 shows compiler lines, SANITIZE=address,undefined builds with
# sanitizers, WERROR=1 (set by CI=true) turns warnings into errors, BUILD=dir
# picks the output folder so sanitized and plain builds never mix.

PKG_CONFIG ?= pkg-config
CC ?= cc
BUILD ?= build
FUZZ_CC ?= clang

# The agent does not link libcurl: its HTTP requests run in mitosis-http, a
# helper process it starts on demand (docs/architecture.md, "HTTP helper").
AGENT_PC := libuv libsodium libcjson
HELPER_PC := libuv libsodium libcurl
COMMON_PC := libsodium libcjson

WARNINGS := -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wcast-qual \
	-Wwrite-strings -Wstrict-prototypes -Wmissing-prototypes \
	-Wmissing-declarations -Wvla -Wno-unused-parameter

ifeq ($(CI),true)
WERROR ?= 1
endif
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

OPT ?= -O2 -g
SANFLAGS :=
ifneq ($(SANITIZE),)
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# A machine without the -dev packages gets one clear message instead of a
# compiler error: which Debian packages are missing, and what installs them.
# Goals that install them first (deps, test, demo, bench) or need none pass.
deb_pkg = $(or $(word 2,$(subst =, ,$(filter $(1)=%,libuv=libuv1-dev libsodium=libsodium-dev \
	libcurl=libcurl4-openssl-dev libcjson=libcjson-dev))),$(1))
MISSING_PKGS := $(if $(shell command -v $(PKG_CONFIG) 2>/dev/null),,pkg-config) \
	$(if $(shell command -v $(firstword $(CC)) 2>/dev/null),,gcc) \
	$(foreach m,$(sort $(AGENT_PC) $(HELPER_PC)),$(if $(shell $(PKG_CONFIG) --exists $(m) \
	2>/dev/null && echo y),,$(call deb_pkg,$(m))))
NO_DEPS_GOALS := deps test demo bench clean check-boundaries
ifneq ($(strip $(MISSING_PKGS)),)
ifneq ($(filter-out $(NO_DEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
$(error missing build packages: $(strip $(MISSING_PKGS)). Install them with `make deps` (as root), \
or run `make test` or `make demo`, which install them first)
endif
endif

PC_CFLAGS_AGENT := $(shell $(PKG_CONFIG) --cflags $(AGENT_PC) 2>/dev/null)
PC_LIBS_AGENT := $(shell $(PKG_CONFIG) --libs $(AGENT_PC) 2>/dev/null)
PC_CFLAGS_HELPER := $(shell $(PKG_CONFIG) --cflags $(HELPER_PC) 2>/dev/null)
PC_LIBS_HELPER := $(shell $(PKG_CONFIG) --libs $(HELPER_PC) 2>/dev/null)
PC_CFLAGS_COMMON := $(shell $(PKG_CONFIG) --cflags $(COMMON_PC) 2>/dev/null)
PC_LIBS_COMMON := $(shell $(PKG_CONFIG) --libs $(COMMON_PC) 2>/dev/null)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
# A source tree without .git (the copy `make deb` builds from) carries its
# revision in a file.
GITREV := $(shell cat GITREV 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)

BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(CPPFLAGS) $(OPT) $(WARNINGS) $(SANFLAGS) -MMD -MP -Iinclude \
	-DMITOSIS_VERSION='"$(VERSION)"' -DMITOSIS_GITREV='"$(GITREV)"'
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)

COMMON_SRC := $(sort $(wildcard common/*.c))
# mitosis-http: the libcurl engine and its main(); xmalloc.c is shared.
HELPER_SRC := agent/http_curl.c agent/http_helper.c agent/xmalloc.c
AGENT_SRC := $(filter-out agent/http_curl.c agent/http_helper.c,$(sort $(wildcard agent/*.c)))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
DST_SRC := $(sort $(wildcard tests/dst/*.c))

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
AGENT_OBJ := $(AGENT_SRC:%.c=$(BUILD)/%.o)
HELPER_OBJ := $(HELPER_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

.PHONY: all unit tools test demo bench fuzz deps clean check-boundaries install dst-build dst man deb
all: $(BUILD)/mitosis $(BUILD)/mitosis-http

$(BUILD)/common/%.o: common/%.c
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) $(PC_CFLAGS_COMMON) $(CFLAGS) -c -o $@ $<

$(BUILD)/agent/%.o: agent/%.c
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) -Iagent $(PC_CFLAGS_AGENT) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%.o: tests/unit/%.c
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) -Itests/unit -Icommon $(PC_CFLAGS_COMMON) $(CFLAGS) -c -o $@ $<

$(BUILD)/libmitosis-common.a: $(COMMON_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# Only the helper's own objects see curl's flags.
$(BUILD)/agent/http_curl.o $(BUILD)/agent/http_helper.o: PC_CFLAGS_AGENT += $(PC_CFLAGS_HELPER)

# The three objects that print the revision are rebuilt when it changes: the
# stamp is rewritten only when its content differs, so a commit alone does
# not rebuild the rest.
$(BUILD)/gitrev.stamp: FORCE
	$(Q)mkdir -p $(@D) && echo '$(GITREV)' | cmp -s - $@ || echo '$(GITREV)' >$@
$(BUILD)/agent/agent.o $(BUILD)/agent/main.o $(BUILD)/agent/http_helper.o: $(BUILD)/gitrev.stamp
.PHONY: FORCE
FORCE:

# Whatever builds the agent builds its helper too (order-only: relinking one
# does not relink the other), so tests, demo and bench always get both.
# No -lm: common/fmath.c has the two functions the cores need, and a library
# mapped costs resident pages even when little of it is called.
$(BUILD)/mitosis: $(AGENT_OBJ) $(BUILD)/libmitosis-common.a | $(BUILD)/mitosis-http
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $^ $(LDFLAGS_ALL) $(PC_LIBS_AGENT)

$(BUILD)/mitosis-http: $(HELPER_OBJ) $(BUILD)/libmitosis-common.a
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $^ $(LDFLAGS_ALL) $(PC_LIBS_HELPER) -lm

# Unit tests link only common/: that is the boundary the layout promises.
$(BUILD)/unit-tests: $(UNIT_OBJ) $(BUILD)/libmitosis-common.a
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $^ $(LDFLAGS_ALL) $(PC_LIBS_COMMON) -lm

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libmitosis-common.a
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) -Icommon $(PC_CFLAGS_COMMON) $(CFLAGS) -o $@ $^ $(LDFLAGS_ALL) $(PC_LIBS_COMMON) -lm

# Test tools (tests/tools/*.c): small programs the integration tests drive.
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libmitosis-common.a
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) -Icommon $(PC_CFLAGS_COMMON) $(CFLAGS) -o $@ $^ $(LDFLAGS_ALL) $(PC_LIBS_COMMON) -lm

tools: $(TOOL_BIN)

# The deterministic simulator (DST): the real common/ cores, N nodes in
# one process, virtual time, a simulated network (tests/dst/).
$(BUILD)/dst: $(DST_SRC) $(BUILD)/libmitosis-common.a
	$(call say,LD,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -Itests/dst -Icommon $(PC_CFLAGS_COMMON) $(CFLAGS) -o $@ $^ $(LDFLAGS_ALL) $(PC_LIBS_COMMON) -lm

dst-build: $(BUILD)/dst

# The checker's own test: the same simulator over a core broken on purpose
# (docs/dst.md, "Break switches"): dst-break-lease and dst-break-vote define
# ELECT_BREAK_LEASE / _VOTE (common/elect.c); dst-break-policy-max defines
# POLICY_BREAK_MAX, dst-break-actuate-leak ACTUATE_BREAK_LEAK, and so on.
# The broken objects are linked ahead of the library, so the archive's stay out.
ELECT_SRC := $(filter common/elect%.c,$(COMMON_SRC))
BREAK_SRC := $(ELECT_SRC) $(filter common/policy%.c common/actuate%.c,$(COMMON_SRC))
dst_break_def = $(if $(filter actuate-% policy-%,$(1)),$(shell echo $(1) | sed 's/-/_BREAK_/' | tr a-z- A-Z_),ELECT_BREAK_$(shell echo $(1) | tr a-z- A-Z_))
$(BUILD)/dst-break-%: $(DST_SRC) $(BREAK_SRC) $(BUILD)/libmitosis-common.a
	$(call say,LD,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -D$(call dst_break_def,$*) -Itests/dst -Icommon \
		$(PC_CFLAGS_COMMON) $(CFLAGS) -o $@ $^ $(LDFLAGS_ALL) $(PC_LIBS_COMMON) -lm

# The election campaign, SEEDS random fault schedules, then the cloud
# campaign (election, policy and actuation against a simulated cloud),
# CLOUD_SEEDS of them: SEEDS when given, else 1000 (about 0.6 s a seed;
# docs/dst.md, "The cloud").
ifeq ($(origin SEEDS),command line)
CLOUD_SEEDS ?= $(SEEDS)
endif
SEEDS ?= 10000
CLOUD_SEEDS ?= 1000
dst: $(BUILD)/dst
	$(Q)$(BUILD)/dst elect campaign --seeds $(SEEDS) --wall
	$(Q)$(BUILD)/dst cloud campaign --seeds $(CLOUD_SEEDS) --wall

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# libFuzzer harnesses: clang, ASan+UBSan, each links the common sources directly.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude -Icommon -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all $(PC_CFLAGS_COMMON)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(COMMON_SRC)
	$(call say,FUZZ,$<)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(PC_LIBS_COMMON) -lm

fuzz: $(FUZZ_BIN)

bench: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/mitosis $(BENCH_BIN) $(if $(DST_SRC),$(BUILD)/dst) tools
	$(Q)BUILD=$(BUILD) tests/bench/run.sh

# make chaos: clone/retire rounds through the CLI on the simulator's realism profile with 20% faults
# (tests/cloudsim/chaos.py; CHAOS_ARGS="--rounds 10" etc.). It starts a simulator: run it under
# flock /tmp/mitosis-it.lock on a shared machine.
.PHONY: chaos
chaos: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/mitosis $(BUILD)/mitosis-http
	$(Q)python3 tests/cloudsim/chaos.py --mitosis $(BUILD)/mitosis $(CHAOS_ARGS)

check-boundaries:
	@tests/tools/check-boundaries.sh

deps:
	@scripts/deps.sh

test: deps
	@tests/run.sh

demo: deps
	@DEMO_MISSION=$${DEMO_MISSION:-1} scripts/demo.sh

# make man: mitosis(8) and mitosis.conf(5), written by the binary from its own
# verb and key tables (agent/cmd_man.c).
MAN_PAGES := $(BUILD)/man/mitosis.8 $(BUILD)/man/mitosis.conf.5
$(BUILD)/man/mitosis.8: $(BUILD)/mitosis
	$(call say,MAN,$@)
	@mkdir -p $(@D)
	$(Q)$(BUILD)/mitosis _man 8 >$@.tmp && mv $@.tmp $@
$(BUILD)/man/mitosis.conf.5: $(BUILD)/mitosis
	$(call say,MAN,$@)
	@mkdir -p $(@D)
	$(Q)$(BUILD)/mitosis _man 5 >$@.tmp && mv $@.tmp $@
man: $(MAN_PAGES)

# make install: binaries, man pages, the systemd unit (its paths rewritten to
# $(BINDIR)), the sysusers.d entry that makes the `mitosis` user, and the
# commented /etc/mitosis/mitosis.conf unless one is there. PREFIX and DESTDIR
# are honoured (tests/integration/install.sh checks both).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR ?= /etc
# The helper must sit beside the agent: mitosis finds it through /proc/self/exe.
install: $(BUILD)/mitosis $(BUILD)/mitosis-http $(MAN_PAGES)
	install -D -m 0755 $(BUILD)/mitosis $(DESTDIR)$(BINDIR)/mitosis
	install -D -m 0755 $(BUILD)/mitosis-http $(DESTDIR)$(BINDIR)/mitosis-http
	install -D -m 0644 $(BUILD)/man/mitosis.8 $(DESTDIR)$(MANDIR)/man8/mitosis.8
	install -D -m 0644 $(BUILD)/man/mitosis.conf.5 $(DESTDIR)$(MANDIR)/man5/mitosis.conf.5
	echo '.so man8/mitosis.8' >$(DESTDIR)$(MANDIR)/man8/mitosis-http.8
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed 's|/usr/bin/mitosis|$(BINDIR)/mitosis|g' cloud-init/mitosis.service \
		>$(DESTDIR)$(UNITDIR)/mitosis.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mitosis.service
	install -D -m 0644 packaging/mitosis.sysusers $(DESTDIR)$(SYSUSERSDIR)/mitosis.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/mitosis/mitosis.conf || \
		install -D -m 0644 packaging/mitosis.conf $(DESTDIR)$(SYSCONFDIR)/mitosis/mitosis.conf

# make deb: the Debian package, built by dpkg-buildpackage from a copy of the
# tracked files (build/deb/mitosis-VERSION), so the tree stays clean; the
# result is build/deb/mitosis_VERSION_ARCH.deb. docs/packaging.md.
DEB_DIR := build/deb
deb: deps
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/mitosis-$(VERSION)
	$(Q)git ls-files -z --cached --others --exclude-standard | \
		xargs -0 -I{} cp -P --parents {} $(DEB_DIR)/mitosis-$(VERSION)/ 2>/dev/null; \
		echo $(GITREV) >$(DEB_DIR)/mitosis-$(VERSION)/GITREV
	$(Q)cd $(DEB_DIR)/mitosis-$(VERSION) && DEB_BUILD_OPTIONS="parallel=$(or $(JOBS),2) nocheck" \
		dpkg-buildpackage -b -us -uc >../build.log 2>&1 || { tail -n 30 ../build.log; exit 1; }
	$(Q)ls $(DEB_DIR)/*.deb

clean:
	rm -rf $(BUILD)

-include $(COMMON_OBJ:.o=.d) $(AGENT_OBJ:.o=.d) $(HELPER_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)
