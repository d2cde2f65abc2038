# acegate - top-level build.
#   make            build build/acegate and build/libacegate.a
#   make demo       install missing packages, build, run a determination
#   make test       run the whole suite: normal build, then ASan+UBSan build
#   make bench      run the benchmarks in bench/
#   make fuzz       build the libFuzzer targets (clang) and run each briefly
#   make lint       clang-tidy (.clang-tidy) and cppcheck over the sources
# Sources are found by wildcard: src/<module>/*.c go into libacegate
# (src/cli is the command-line front end), tests/unit/test_*.c are
# one cmocka program each, bench/*.c and fuzz/*.c one program each.

CC      ?= cc
PKGS    := jansson icu-uc icu-i18n sqlite3 libpq libcrypto libmicrohttpd libzstd libcurl
BUILD   ?= build
SAN     ?= 0
OPT     ?= -O2

ifeq ($(SAN),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT     := -O1
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += -std=c17 -Wall -Wextra -Werror -g $(OPT) -D_GNU_SOURCE -Iinclude \
           -I$(BUILD)/gen $(PKG_CFLAGS) $(SANFLAGS) -MMD -MP
LDFLAGS += $(SANFLAGS)
LDLIBS  += $(PKG_LIBS) -lm -lpthread

LIB_SRC   := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC   := $(sort $(wildcard src/cli/*.c))
TEST_SRC  := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
GEN_SRC   := $(BUILD)/gen/rules_embedded.c
RULE_TSV  := $(sort $(wildcard data/rules/*.tsv))

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/rules_embedded.o $(BUILD)/gen/audit_dict.o \
             $(BUILD)/gen/web_files.o
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC  := $(sort $(wildcard fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps demo test test-one test-web bench fuzz clean format lint
all: $(BUILD)/acegate $(BUILD)/libacegate.a

deps:
	@scripts/install-deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/acegate check --eccn 4D004 --to CN --end-user-type government
	$(BUILD)/acegate check --eccn 5A001.j --to DE --end-user-type non_government
	$(BUILD)/acegate check --eccn 4D004 --to IL --end-user "Saito Tech Ltd"
	$(BUILD)/acegate screen "Hikvision Digital Technology" --country CN

$(BUILD)/libacegate.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/acegate: $(CLI_OBJ) $(BUILD)/libacegate.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# `acegate --version` prints VERSION.
$(BUILD)/src/cli/main.o: VERSION
$(BUILD)/src/cli/main.o: private CFLAGS += -DAG_VERSION='"$(shell cat VERSION)"'

# The regulation tables are compiled in as the default rule set.
$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(@D)
	$(CC) -std=c17 -Wall -Wextra -Werror -O1 -o $@ $<

$(GEN_SRC): $(BUILD)/tools/embed $(RULE_TSV)
	@mkdir -p $(@D)
	$(BUILD)/tools/embed ag_rules_embedded $(RULE_TSV) > $@

$(BUILD)/gen/rules_embedded.o: $(GEN_SRC)
	$(CC) $(CFLAGS) -c -o $@ $<

# ...and so is the dictionary stored decisions are compressed with.
$(BUILD)/gen/audit_dict.c: $(BUILD)/tools/embed data/audit/decisions.dict
	@mkdir -p $(@D)
	$(BUILD)/tools/embed ag_audit_dict_embedded data/audit/decisions.dict > $@

$(BUILD)/gen/audit_dict.o: $(BUILD)/gen/audit_dict.c
	$(CC) $(CFLAGS) -c -o $@ $<

# ...and so is the web workbench (web/), with the rule tables its forms
# describe, served by `acegate serve` at / and /ui/.
WEB_FILES := $(sort $(wildcard web/*.html web/*.css web/*.js web/*.svg)) \
             $(addprefix data/rules/,ccl-items.tsv destinations.tsv due-diligence.tsv classification.tsv)
$(BUILD)/gen/web_files.c: $(BUILD)/tools/embed $(WEB_FILES)
	@mkdir -p $(@D)
	$(BUILD)/tools/embed ag_web_files $(WEB_FILES) > $@

$(BUILD)/gen/web_files.o: $(BUILD)/gen/web_files.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libacegate.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libacegate.a $(LDLIBS) -lcmocka

# Each fuzz target with a main that replays its corpus (fuzz/replay.c).
$(BUILD)/fuzz/%: fuzz/%.c fuzz/replay.c $(BUILD)/libacegate.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< fuzz/replay.c $(BUILD)/libacegate.a $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libacegate.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libacegate.a $(LDLIBS)

# One run of the suite against one build (BUILD/SAN select it).
test-one: all $(TEST_BIN) $(REPLAY_BIN)
	@tests/run.sh $(BUILD)

# the whole suite: both builds, then the workbench in a browser
test:
	@$(MAKE) --no-print-directory test-one SAN=0
	@$(MAKE) --no-print-directory test-one SAN=1
	@$(MAKE) --no-print-directory test-web

# The workbench in headless Chromium against a server on loopback (tests/web).
test-web: all
	@tests/web/run.sh $(BUILD)

bench: all $(BENCH_BIN)
	@bench/run.sh $(BUILD)

fuzz:
	@fuzz/run.sh

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) include/acegate/*.h

# Static analysis of the library and the CLI; both must be quiet.
# clang-tidy one file at a time, as many at once as there are cores
lint: $(GEN_SRC)
	printf '%s\n' $(LIB_SRC) $(CLI_SRC) | xargs -P "$$(nproc)" -I{} \
	  clang-tidy --quiet --warnings-as-errors='*' {} -- $(filter-out -MMD -MP -Werror,$(CFLAGS))
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
	  -D_GNU_SOURCE -Iinclude --inline-suppr --suppress=missingIncludeSystem \
	  $(LIB_SRC) $(CLI_SRC)

clean:
	rm -rf build build-san build-fuzz

# ---- screening: the bundled list snapshot, indexed at build time ----
# data/lists/ (published list files) is indexed by a small program made of
# the screening module alone (tools/acegate-lists.c); src/screen/builtin.c
# then assembles the index into
# the library (.incbin), so `acegate screen` starts by mapping it, without
# parsing any list. `acegate lists update` writes a newer index into the
# data directory, which then takes precedence.
SCREEN_LISTS    := $(sort $(wildcard data/lists/*.csv data/lists/*.json data/lists/*.txt))
SCREEN_INDEX    := $(BUILD)/gen/screen-default.agx
SCREEN_TOOL     := $(BUILD)/tools/acegate-lists
SCREEN_TOOL_SRC := $(sort $(wildcard src/screen/*.c src/common/*.c)) tools/acegate-lists.c

# the romanisation table is compiled in (.incbin) by src/screen/romanisation.c
SCREEN_ROMAN    := data/screening/romanisation.tsv
$(BUILD)/src/screen/romanisation.o: $(SCREEN_ROMAN)

$(SCREEN_TOOL): $(SCREEN_TOOL_SRC) $(SCREEN_ROMAN) $(wildcard src/screen/*.h include/acegate/*.h)
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $(SCREEN_TOOL_SRC) $(LDLIBS)

$(SCREEN_INDEX): $(SCREEN_TOOL) $(SCREEN_LISTS)
	@mkdir -p $(@D)
	$(SCREEN_TOOL) build --out $@ $(SCREEN_LISTS)

$(BUILD)/src/screen/builtin.o: $(SCREEN_INDEX)
$(BUILD)/src/screen/builtin.o: private CFLAGS += -DAG_SCREEN_BUILTIN_INDEX='"$(SCREEN_INDEX)"'
# ---- end of screening block ----

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

# ---- install: the command, libacegate (static and shared), headers, ----
# ---- pkg-config file, man pages, bash completion, systemd unit      ----
# `make install PREFIX=/usr DESTDIR=...`; the shared library is built from
# position-independent objects of its own under $(BUILD)/pic, so the static
# library the tests link stays as it is. docs/deployment.md describes it.
VERSION        := $(shell cat VERSION)
SOVERSION      := 0
PREFIX         ?= /usr/local
BINDIR         ?= $(PREFIX)/bin
LIBDIR         ?= $(PREFIX)/lib
INCLUDEDIR     ?= $(PREFIX)/include
MANDIR         ?= $(PREFIX)/share/man
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR     ?= /etc

SHLIB      := $(BUILD)/libacegate.so.$(VERSION)
PIC_OBJ    := $(LIB_OBJ:$(BUILD)/%.o=$(BUILD)/pic/%.o)
MAN1       := $(sort $(wildcard man/*.1))
MAN5       := $(sort $(wildcard man/*.5))

.PHONY: shared install uninstall test-install test-deb
shared: $(SHLIB)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

$(BUILD)/pic/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

$(BUILD)/pic/src/screen/builtin.o: $(SCREEN_INDEX)
$(BUILD)/pic/src/screen/builtin.o: private CFLAGS += -DAG_SCREEN_BUILTIN_INDEX='"$(SCREEN_INDEX)"'

$(SHLIB): $(PIC_OBJ)
	$(CC) -shared -Wl,-soname,libacegate.so.$(SOVERSION) -Wl,--no-undefined $(LDFLAGS) -o $@ $^ $(LDLIBS)
	ln -sf libacegate.so.$(VERSION) $(BUILD)/libacegate.so.$(SOVERSION)
	ln -sf libacegate.so.$(SOVERSION) $(BUILD)/libacegate.so

# Paths are written into the pkg-config file and the unit when they are made.
$(BUILD)/acegate.pc: dist/acegate.pc.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@PKGS@|$(PKGS)|g' $< > $@

$(BUILD)/acegate.service: dist/acegate.service.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@

$(BUILD)/acegate-lists-fetch.service: dist/acegate-lists-fetch.service.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@

# The .pc file and the unit are remade on every install: PREFIX may differ.
install: all shared
	@rm -f $(BUILD)/acegate.pc $(BUILD)/acegate.service $(BUILD)/acegate-lists-fetch.service
	@$(MAKE) --no-print-directory $(BUILD)/acegate.pc $(BUILD)/acegate.service \
	  $(BUILD)/acegate-lists-fetch.service
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
	  $(DESTDIR)$(INCLUDEDIR)/acegate $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/acegate
	install -m 0755 $(BUILD)/acegate $(DESTDIR)$(BINDIR)/acegate
	install -m 0644 $(BUILD)/libacegate.a $(DESTDIR)$(LIBDIR)/libacegate.a
	install -m 0755 $(SHLIB) $(DESTDIR)$(LIBDIR)/libacegate.so.$(VERSION)
	ln -sf libacegate.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libacegate.so.$(SOVERSION)
	ln -sf libacegate.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libacegate.so
	install -m 0644 include/acegate/*.h $(DESTDIR)$(INCLUDEDIR)/acegate/
	install -m 0644 $(BUILD)/acegate.pc $(DESTDIR)$(LIBDIR)/pkgconfig/acegate.pc
	install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 dist/bash-completion/acegate $(DESTDIR)$(BASHCOMPDIR)/acegate
	install -m 0644 $(BUILD)/acegate.service $(DESTDIR)$(SYSTEMDUNITDIR)/acegate.service
	install -m 0644 $(BUILD)/acegate-lists-fetch.service \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/acegate-lists-fetch.service
	install -m 0644 dist/acegate-lists-fetch.timer $(DESTDIR)$(SYSTEMDUNITDIR)/acegate-lists-fetch.timer
	@# an operator's configuration is never overwritten
	[ -e $(DESTDIR)$(SYSCONFDIR)/acegate/acegate.conf ] || \
	  install -m 0644 dist/acegate.conf $(DESTDIR)$(SYSCONFDIR)/acegate/acegate.conf

# Removes what install wrote, except the configuration file.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/acegate $(DESTDIR)$(LIBDIR)/libacegate.a \
	  $(DESTDIR)$(LIBDIR)/libacegate.so $(DESTDIR)$(LIBDIR)/libacegate.so.$(SOVERSION) \
	  $(DESTDIR)$(LIBDIR)/libacegate.so.$(VERSION) $(DESTDIR)$(LIBDIR)/pkgconfig/acegate.pc \
	  $(addprefix $(DESTDIR)$(INCLUDEDIR)/acegate/,$(notdir $(wildcard include/acegate/*.h))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
	  $(DESTDIR)$(BASHCOMPDIR)/acegate $(DESTDIR)$(SYSTEMDUNITDIR)/acegate.service \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/acegate-lists-fetch.service \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/acegate-lists-fetch.timer
	-rmdir $(DESTDIR)$(INCLUDEDIR)/acegate

# Outside `make test`: they build the shared library, or the Debian package.
test-install: all
	@sh tests/pkg/test_install.sh; rc=$$?; sh tests/pkg/test_haproxy.sh && exit $$rc

test-deb:
	@sh tests/pkg/test_deb.sh

-include $(PIC_OBJ:.o=.d)
