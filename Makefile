# bookpipe: one C program for the Book-Crossing data pipeline.
#
#   make            build ./bookpipe (fetches DuckDB on first use)
#   make demo       generate a dataset and run the pipeline on it
#   make test       unit, golden and end-to-end tests
#   make sanitize   the tests again under ASan + UBSan
#   make bench      throughput and memory figures (BENCHMARKS.md)

CC      ?= cc
CFLAGS  ?= -O2 -g
#: snprintf into fixed message buffers truncates on
# purpose (bounded by design); gcc flags every such call.
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP $(SANFLAGS)
BUILD   ?= build

ifdef DUCKDB_DIR
  DUCKDB_INC := $(if $(wildcard $(DUCKDB_DIR)/include/duckdb.h),$(DUCKDB_DIR)/include,$(DUCKDB_DIR))
  DUCKDB_LIB := $(if $(wildcard $(DUCKDB_DIR)/lib/libduckdb.so),$(DUCKDB_DIR)/lib,$(DUCKDB_DIR))
else
  DUCKDB_INC := deps/duckdb/include
  DUCKDB_LIB := $(abspath deps/duckdb/lib)
endif

# The Debian libraries, through pkg-config. Expanded on first use (not when
# the Makefile is read) so that `make demo` on a fresh machine can install
# pkg-config and the -dev packages first (the deps prerequisite).
PKGS       := libpq libarchive jansson yaml-0.1 libmicrohttpd libcurl libcrypto lapacke openblas
PKG_CFLAGS  = $(eval PKG_CFLAGS := $(call pkgconf,--cflags))$(PKG_CFLAGS)
PKG_LIBS    = $(eval PKG_LIBS := $(call pkgconf,--libs))$(PKG_LIBS)
pkgconf     = $(if $(shell pkg-config --exists $(PKGS) && echo ok),$(shell pkg-config $(1) $(PKGS)),$(error \
              pkg-config does not find $(PKGS): run scripts/deps.sh build))

CPPFLAGS += -I$(DUCKDB_INC) $(PKG_CFLAGS)
LDLIBS   += -L$(DUCKDB_LIB) -Wl,-rpath,$(DUCKDB_LIB) -lduckdb $(PKG_LIBS) -lm -lpthread

LIB_SRC := $(wildcard src/core/*.c src/extract/*.c src/csv/*.c src/clean/*.c src/wh/*.c \
             src/lake/*.c src/ingest/*.c src/gen/*.c src/jinja/*.c src/dbt/*.c \
             src/orch/*.c src/web/*.c src/aws/*.c src/rec/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/assets.o $(BUILD)/gen/dbt_macros.o

# The front end, embedded into the binary: our page, script and styles, and
# the chart library from npm (web/package-lock.json, fetched by deps.sh).
CHART_JS := web/node_modules/chart.js/dist/chart.umd.min.js
# app.js and the modules it imports (plain ES modules: no build step)
JS_MODS  := $(notdir $(wildcard src/web/assets/*.js))
ASSETS   := index.html=src/web/assets/index.html app.css=src/web/assets/app.css \
            icon.svg=src/web/assets/icon.svg chart.js=$(CHART_JS) \
            $(foreach m,$(JS_MODS),$(m)=src/web/assets/$(m))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: FORCE all deps deps-test deps-fuzz demo test unit sanitize fuzz bench clean

all: bookpipe

FORCE:

# One stamp for everything `deps.sh build` provides (DuckDB, the chart
# library), so that `make -j` runs it once; deps.sh also takes a lock.
DEPS_STAMP := deps/.build-ready
# (run again when the library has gone missing)
$(DEPS_STAMP): scripts/deps.sh web/package-lock.json $(if $(wildcard $(DUCKDB_LIB)/libduckdb.so),,FORCE)
	scripts/deps.sh build
	@mkdir -p $(dir $@) && touch $@

deps:
	scripts/deps.sh build

deps-test:
	scripts/deps.sh test

deps-fuzz:
	scripts/deps.sh fuzz

bookpipe: $(BUILD)/bookpipe
	rm -f $@ && cp $< $@

$(BUILD)/bookpipe: $(CLI_OBJ) $(BUILD)/libbookpipe.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libbookpipe.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# npm gives its files a fixed old mtime: the stamp says when they changed
$(CHART_JS): $(DEPS_STAMP)

$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/gen/assets.c: $(BUILD)/tools/embed $(DEPS_STAMP) $(foreach a,$(ASSETS),$(word 2,$(subst =, ,$(a))))
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed $@ $(addprefix /assets/,$(ASSETS))

$(BUILD)/gen/assets.o: $(BUILD)/gen/assets.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -Isrc -c -o $@ $<

# dbt's own macros, written here in Jinja (src/dbt/macros), built in
DBT_MACROS := $(sort $(wildcard src/dbt/macros/*.sql))
$(BUILD)/gen/dbt_macros.c: $(BUILD)/tools/embed $(DBT_MACROS)
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed $@ -t dbt_builtin_macros -i dbt/builtin.h \
	  $(foreach f,$(DBT_MACROS),$(notdir $(f))=$(f))

$(BUILD)/gen/dbt_macros.o: $(BUILD)/gen/dbt_macros.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -Isrc -c -o $@ $<

# fault injection for the tests: an LD_PRELOAD library (tests/fault)
$(BUILD)/tests/failshim.so: tests/fault/failshim.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O1 -Wall -Wextra -Werror -o $@ $< -ldl

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libbookpipe.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Isrc -o $@ $^ $(LDLIBS) -lcmocka

demo: deps bookpipe
	scripts/demo.sh $(DATA)

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "== $$t"; $$t || exit 1; done

test: deps-test
	scripts/check-banned.sh
	$(MAKE) bookpipe unit build/tests/failshim.so
	scripts/check-seams.sh $(BUILD)/libbookpipe.a
	tests/run.sh ./bookpipe

# SANFLAGS, not CFLAGS: a CFLAGS on make's command line would drop the
# warning and dependency flags above
SAN := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
sanitize: deps-test
	$(MAKE) BUILD=build-san SANFLAGS="$(SAN)" \
	  build-san/bookpipe $(patsubst $(BUILD)/%,build-san/%,$(UNIT_BIN))
	ASAN_OPTIONS=detect_leaks=1 $(MAKE) BUILD=build-san SANFLAGS="$(SAN)" unit
	$(MAKE) build/tests/failshim.so
	ASAN_OPTIONS=detect_leaks=1 tests/run.sh build-san/bookpipe

# Coverage-guided fuzzing (libFuzzer, clang from Debian): the CSV reader and
# cleaners, the YAML loader, pipeline.yml, the Jinja renderer, the regex
# engine and the dashboards' SQL (macros, variables, ranges, the statement
# splitter), each from its corpus in tests/fuzz/corpus (copied: the run's
# finds stay in build-fuzz/). FUZZ_SECONDS per target (CI runs a short pass).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := csv yml pipeline jinja regex interp
FUZZ_SAN     := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
                -Wno-unknown-warning-option
fuzz: deps-fuzz
	$(MAKE) BUILD=build-fuzz CC=$(FUZZ_CC) SANFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	  build-fuzz/libbookpipe.a
	@for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_CC) $(CPPFLAGS) -std=c11 -D_GNU_SOURCE $(FUZZ_SAN) -fsanitize=fuzzer -Isrc \
	    -o build-fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c build-fuzz/libbookpipe.a $(LDLIBS) || exit 1; \
	done
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf build-fuzz/corpus/$$t && mkdir -p build-fuzz/corpus/$$t build-fuzz/crashes && \
	  cp tests/fuzz/corpus/$$t/* build-fuzz/corpus/$$t/ && \
	  echo "== fuzz_$$t ($(FUZZ_SECONDS) s)" && \
	  ASAN_OPTIONS=detect_leaks=1 build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/crashes/$$t- build-fuzz/corpus/$$t > build-fuzz/fuzz_$$t.log 2>&1; \
	  rc=$$?; grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|SUMMARY|==[0-9]+==ERROR)' \
	    build-fuzz/fuzz_$$t.log; \
	  test $$rc -eq 0 || { echo "fuzz_$$t found a crash: see build-fuzz/fuzz_$$t.log and build-fuzz/crashes/"; exit 1; }; \
	done

bench: bookpipe
	scripts/deps.sh bench
	bench/bench.sh ./bookpipe
	bench/dbt_bench.sh ./bookpipe
	bench/pg_bench.sh ./bookpipe
	bench/orch_bench.sh ./bookpipe
	bench/web_bench.sh ./bookpipe
	bench/rec_bench.sh ./bookpipe
	bench/peers_bench.sh ./bookpipe
	bench/scale_bench.sh ./bookpipe
	bench/s3_bench.sh ./bookpipe

clean:
	rm -rf build build-san build-fuzz bookpipe

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
