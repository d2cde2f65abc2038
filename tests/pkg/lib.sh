# Shared helpers for the install and package tests (run by `make test-install`
# and `make test-deb`, not by `make test`): "ok NAME" / "not ok NAME: why"
# lines and a closing "NAME: N passed, N failed" line; exit 1 on a failure.
PASSED=0
FAILED=0
T=$(mktemp -d /tmp/acegate-pkg.XXXXXX)
trap 'rm -rf "$T"' EXIT
ok() {
  echo "ok $1"
  PASSED=$((PASSED + 1))
}
notok() {
  echo "not ok $1: $2"
  FAILED=$((FAILED + 1))
}
check() { # NAME CMD...: ok when CMD succeeds
  _n=$1
  shift
  if "$@" >"$T/check.out" 2>&1; then ok "$_n"; else
    notok "$_n" "failed: $*"
    sed 's/^/  | /' "$T/check.out" | head -8
  fi
}
summary() { # NAME
  echo "$1: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
}

# verify_unit NAME UNIT MANDIR: systemd-analyze verify prints nothing and exits
# 0; the pages the unit's Documentation= names are looked up in MANDIR
verify_unit() {
  _man=""
  command -v man >/dev/null 2>&1 || _man="--man=no"
  if MANPATH="$3" systemd-analyze verify $_man "$2" >"$T/verify.out" 2>&1 &&
    [ ! -s "$T/verify.out" ]; then
    ok "$1"
  else
    notok "$1" "systemd-analyze verify $2:"
    sed 's/^/  | /' "$T/verify.out" | head -8
  fi
}

# golden_cases DECIDE...: for each golden case (tests/cases/), the decision
# DECIDE writes for its request (JSON on stdin, JSON out) meets the case's
# expectations as tests/unit/test_cases.c reads them: the outcome, the
# booleans and blocked_by it gives, and its decided_by, exactly, cited in the
# trace. A case decided under a company policy ("policy": the questions it
# makes REVIEW) gets that policy as a file, "--policy FILE" after DECIDE's
# arguments, as `acegate check` and decide_one take it.
golden_cases() {
  _bad=""
  _n=0
  for _c in tests/cases/*.json; do
    _pol=""
    if jq -e 'has("policy")' "$_c" >/dev/null; then
      _pol="$T/policy-$(basename "$_c" .json)"
      jq -r '"review " + (.policy | join(" "))' "$_c" >"$_pol"
    fi
    if ! jq -c .request "$_c" | "$@" ${_pol:+--policy "$_pol"} >"$T/decision.json" 2>"$T/decision.err"; then
      _bad="$_bad $(basename "$_c")(failed: $(head -c 200 "$T/decision.err"))"
      continue
    fi
    jq -e --slurpfile c "$_c" '$c[0] as $c | $c.expect as $e
      | .outcome == $e.outcome
      and .decided_by == $c.decided_by
      and (($e | has("license_required_by_chart") | not)
           or .license_required_by_chart == $e.license_required_by_chart)
      and (($e | has("ace_available") | not) or .ace.available == $e.ace_available)
      and (($e | has("cyber_rule_in_force") | not) or .cyber_rule_in_force == $e.cyber_rule_in_force)
      and (($e | has("ace_blocked_by") | not) or (.ace.blocked_by | sort) == ($e.ace_blocked_by | sort))
      and ([.trace[].cite] | index($c.decided_by) != null)' "$T/decision.json" >/dev/null ||
      _bad="$_bad $(basename "$_c")"
    _n=$((_n + 1))
  done
  if [ -z "$_bad" ] && [ "$_n" -gt 0 ]; then ok "golden_cases_through_$GOLDEN_NAME ($_n cases)"; else
    notok "golden_cases_through_$GOLDEN_NAME" "$_bad"; fi
}
