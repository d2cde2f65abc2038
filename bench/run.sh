#!/bin/sh
# Runs every benchmark against one build and prints its figures.
# Usage: bench/run.sh BUILD_DIR
BUILD=${1:-build}
set -e
echo "== determination engine (in process, one core)"
$BUILD/bench/decide_bench 3
echo
echo "== check --batch beside jq"
bench/check_batch.sh "$BUILD"
for b in bench/*.sh; do
  case "$b" in bench/run.sh|bench/check_batch.sh) continue ;; esac
  echo
  echo "== $b"
  sh "$b" "$BUILD"
done
if [ -x "$BUILD/bench/audit_bench" ]; then
  echo
  echo "== audit log group commit"
  $BUILD/bench/audit_bench
fi
