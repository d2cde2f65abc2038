#!/bin/sh
# test_server_docs.sh - runs every ```sh example of docs/api.md, in order, in
# one shell, against a real `acegate serve` on 127.0.0.1 with the built-in
# lists; each block must succeed and print something.
. "$(dirname "$0")/lib.sh"
# each example of docs/api.md, and eight checks of what they claim
plan $(($(grep -c '^```sh$' docs/api.md) + 8))
DOC="$PWD/docs/api.md"
DB="$TMPD/docs.db"
key() { "$ACEGATE" keys add --role "$1" --db "$DB" 2>/dev/null | tail -n 1; }
CHECKER_KEY=$(key checker)
AUDITOR_KEY=$(key auditor)
ADMIN_KEY=$(key admin)
REVIEWER_KEY=$(key reviewer)
serve_start --listen 127.0.0.1:0 --db "$DB" --access-log off
if [ -z "$PORT" ]; then
  echo "not ok docs_server_starts"
  cat "$TMPD/srv.log"
  exit 1
fi

# One script: each block runs in the same shell (variables carry over), its
# output to its own file, and reports ok / not ok.
awk '
  /^```sh$/ { inblock = 1; n++; print "{"; next }
  /^```$/ && inblock {
    inblock = 0
    printf "} >\"$TMPD/block%d.out\" 2>&1; rc=$?\n", n
    printf "if [ $rc -eq 0 ] && [ -s \"$TMPD/block%d.out\" ]; then echo \"ok docs_example_%d\"; ", n, n
    printf "else echo \"not ok docs_example_%d: exit $rc\"; sed \"s/^/  | /\" \"$TMPD/block%d.out\" | head -5; fi\n", n, n
    next
  }
  inblock { print }
  END { printf "echo \"# %d examples\"\n", n }
' "$DOC" >"$TMPD/examples.sh"
n=$(grep -c '^```sh$' "$DOC")
if [ "$n" -ge 10 ]; then echo "ok docs_has_examples"; else echo "not ok docs_has_examples: $n"; fi

export ACEGATE_URL="http://127.0.0.1:$PORT" CHECKER_KEY AUDITOR_KEY ADMIN_KEY REVIEWER_KEY TMPD
mkdir -p "$TMPD/work"
(cd "$TMPD/work" && . "$TMPD/examples.sh")

# What the examples claim
if grep -q '^byte-identical$' "$TMPD"/block*.out; then echo "ok docs_get_is_byte_identical"; else
  echo "not ok docs_get_is_byte_identical"; fi
expect_grep docs_named_party_blocked '744.11' "$TMPD/block2.out"
expect_grep docs_error_names_field '"field":"destination"' "$TMPD/block3.out"
expect_grep docs_ref_echoed '"ref": "SO-2026-0042"' "$TMPD/block4.out"
# the search by ref finds that check, and only it
if [ "$(grep -c '"ref": "SO-2026-0042"' "$TMPD/block10.out")" -eq 1 ]; then echo "ok docs_search_by_ref"; else
  echo "not ok docs_search_by_ref"; sed 's/^/  | /' "$TMPD/block10.out" | head -20; fi
[ -n "$SHOW" ] && head -c 600 "$TMPD"/block*.out
serve_stop
if [ "$SRV_RC" -eq 0 ]; then echo "ok docs_server_clean_exit"; else echo "not ok docs_server_clean_exit: $rc"; fi
expect_exit docs_log_verifies 0 "$ACEGATE" audit verify --db "$DB"
