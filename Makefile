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
PKGS    := jansson icu-uc icu-i18n sqlite3 libcrypto libmicrohttpd libzstd
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

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/rules_embedded.o $(BUILD)/gen/audit_dict.o
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC  := $(sort $(wildcard fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps demo test test-one bench fuzz clean format lint
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

test:
	@$(MAKE) --no-print-directory test-one SAN=0
	@$(MAKE) --no-print-directory test-one SAN=1

bench: all $(BENCH_BIN)
	@bench/run.sh $(BUILD)

fuzz:
	@fuzz/run.sh

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) include/acegate/*.h

# Static analysis of the library and the CLI; both must be quiet.
lint: $(GEN_SRC)
	clang-tidy --quiet --warnings-as-errors='*' $(LIB_SRC) $(CLI_SRC) -- \
	  $(filter-out -MMD -MP -Werror,$(CFLAGS))
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

$(SCREEN_TOOL): $(SCREEN_TOOL_SRC) $(wildcard src/screen/*.h include/acegate/*.h)
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $(SCREEN_TOOL_SRC) $(LDLIBS)

$(SCREEN_INDEX): $(SCREEN_TOOL) $(SCREEN_LISTS)
	@mkdir -p $(@D)
	$(SCREEN_TOOL) build --out $@ $(SCREEN_LISTS)

$(BUILD)/src/screen/builtin.o: $(SCREEN_INDEX)
$(BUILD)/src/screen/builtin.o: private CFLAGS += -DAG_SCREEN_BUILTIN_INDEX='"$(SCREEN_INDEX)"'
# ---- end of screening block ----

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
