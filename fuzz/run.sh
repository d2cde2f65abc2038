#!/bin/sh
# Builds every fuzz/fuzz_*.c as a libFuzzer target (clang, ASan, UBSan)
# against the library sources and runs each for FUZZ_SECONDS (default 30)
# on its corpus in fuzz/corpus/<target>/. New inputs that grow coverage go
# to a scratch directory, not the repository corpus.
set -e
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-30}
OUT=build-fuzz
mkdir -p $OUT/gen
make -s build/gen/rules_embedded.c build/gen/audit_dict.c build/gen/web_files.c >/dev/null
cp build/gen/rules_embedded.c build/gen/audit_dict.c build/gen/web_files.c $OUT/gen/
CFLAGS="-std=c17 -g -O1 -D_GNU_SOURCE -Iinclude -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(pkg-config --cflags jansson icu-uc icu-i18n sqlite3 libpq libcrypto libmicrohttpd libzstd libcurl)"
LIBS="$(pkg-config --libs jansson icu-uc icu-i18n sqlite3 libpq libcrypto libmicrohttpd libzstd libcurl) -lm -lpthread"
LIB_SRC=$(ls src/*/*.c | grep -v '^src/cli/')
# library objects once, with fuzzer instrumentation but no main
objs=""
# an object is stale when its source or any header is newer
newest_h=$(ls -t include/acegate/*.h src/*/*.h | head -1)
for s in $LIB_SRC $OUT/gen/rules_embedded.c $OUT/gen/audit_dict.c $OUT/gen/web_files.c; do
  o=$OUT/obj/$(echo "$s" | tr '/' '_' | sed 's/\.c$/.o/')
  mkdir -p $OUT/obj
  if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ "$newest_h" -nt "$o" ]; then
    clang $CFLAGS -fsanitize=fuzzer-no-link -c -o "$o" "$s"
  fi
  objs="$objs $o"
done
rm -f $OUT/libacegate-fuzz.a
ar rcs $OUT/libacegate-fuzz.a $objs
status=0
for f in fuzz/fuzz_*.c; do
  name=$(basename "$f" .c)
  clang $CFLAGS -o $OUT/$name "$f" $OUT/libacegate-fuzz.a $LIBS
  mkdir -p fuzz/corpus/$name $OUT/new-$name
  echo "fuzz: $name for ${SECONDS_EACH}s"
  if ! $OUT/$name -max_total_time=$SECONDS_EACH -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix=$OUT/$name- $OUT/new-$name fuzz/corpus/$name > $OUT/$name.log 2>&1; then
    tail -40 $OUT/$name.log
    echo "fuzz: $name FAILED"
    status=1
  else
    grep -E "stat::number_of_executed_units|Done" $OUT/$name.log | tail -2
  fi
done
exit $status
