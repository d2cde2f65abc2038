#!/bin/sh
# test_man.sh - the man pages (man/) and the bash completion
# (dist/bash-completion/acegate): a page for acegate and for each command it
# lists, naming exactly the options that command's --help names; every page
# formats without a warning (groff, from groff-base); completion offers the commands, subcommands,
# each command's options and the values of the enumerated options.
. "$(dirname "$0")/lib.sh"

opts() { grep -o -- '--[a-z][a-z-]*' | sort -u; }
# the options a roff page names (\-\- in the source)
man_opts() { sed 's/\\-/-/g' "$1" | opts | grep -vx -e '--help' -e '--version'; }

"$ACEGATE" --help >"$TMPD/main.help"
commands=$(sed -n 's/^  \([a-z][a-z]*\)  *[a-z].*/\1/p' "$TMPD/main.help")
# the pages every SEE ALSO names
refs=$(sed -n 's/^\.BR \(acegate[a-z\\.-]*\) (\([15]\)).*/\1.\2/p' man/* | sed 's/\\-/-/g' | sort -u)
n_completions=$(grep -c '^complete_has ' "$0")
plan $((1 + 3 * $(echo "$commands" | wc -w) + 1 + $(ls man/*.1 man/*.5 | wc -l) + \
  $(echo "$refs" | wc -w) + n_completions))
if [ -n "$commands" ]; then echo "ok main_help_lists_commands"; else
  echo "not ok main_help_lists_commands: none in acegate --help"; fi
for c in $commands; do
  page=man/acegate-$c.1
  if [ ! -f "$page" ]; then
    echo "not ok man_page_$c: no $page"
    echo "not ok main_page_names_$c: no $page"
    echo "not ok man_options_match_help_$c: no $page"
    continue
  fi
  echo "ok man_page_$c"
  expect_grep "main_page_names_$c" "\\.B $c\$" man/acegate.1
  "$ACEGATE" "$c" --help 2>&1 | opts >"$TMPD/help.opts"
  man_opts "$page" >"$TMPD/man.opts"
  missing=$(comm -23 "$TMPD/help.opts" "$TMPD/man.opts" | tr '\n' ' ')
  extra=$(comm -13 "$TMPD/help.opts" "$TMPD/man.opts" | tr '\n' ' ')
  if [ -z "$missing" ] && [ -z "$extra" ]; then
    echo "ok man_options_match_help_$c"
  else
    echo "not ok man_options_match_help_$c: not in the page: $missing; not in --help: $extra"
  fi
done
# acegate.conf(5) names every option of serve as a key, and no other
"$ACEGATE" serve --help | opts | sed 's/^--//' | grep -vx -e config -e no-config | sort >"$TMPD/serve.keys"
sed -n '/^\.RB ( listen ,$/,/^\.BR access\\-log )$/p' man/acegate.conf.5 |
  sed -n 's/^\.R*BR* (* *\([a-z\\-]*\) *[,)]*$/\1/p' |
  sed 's/\\-/-/g' | sort -u >"$TMPD/conf.keys"
if [ -s "$TMPD/conf.keys" ] && cmp -s "$TMPD/serve.keys" "$TMPD/conf.keys"; then
  echo "ok conf_page_keys_match_serve"
else
  echo "not ok conf_page_keys_match_serve: $(diff "$TMPD/serve.keys" "$TMPD/conf.keys" | tr '\n' ' ')"
fi
for p in man/*.1 man/*.5; do
  name=$(basename "$p")
  if groff -man -ww -z "$p" >"$TMPD/groff.out" 2>&1 && [ ! -s "$TMPD/groff.out" ]; then
    echo "ok man_formats_$name"
  else
    echo "not ok man_formats_$name: $(head -3 "$TMPD/groff.out")"
  fi
done
# every page named in a SEE ALSO exists
for ref in $refs; do
  if [ -f "man/$ref" ]; then echo "ok man_reference_$ref"; else echo "not ok man_reference_$ref: no man/$ref"; fi
done

# ---- bash completion ----
# complete NAME WANT WORD...: completing the last WORD offers WANT
complete_has() {
  name=$1 want=$2
  shift 2
  got=$(bash -c '. dist/bash-completion/acegate
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _acegate; printf "%s\n" "${COMPREPLY[@]}"' \
    complete "$ACEGATE" "$@" 2>&1)
  if printf '%s\n' "$got" | grep -qx -- "$want"; then echo "ok completion_$name"; else
    echo "not ok completion_$name: '$want' not offered: $(printf '%s' "$got" | tr '\n' ' ')"; fi
}
complete_has command check ch
complete_has command_serve serve s
complete_has lists_update update lists up
complete_has audit_backup backup audit b
complete_has keys_revoke revoke keys r
complete_has serve_config --config serve --con
complete_has serve_no_config --no-config serve --no-c
complete_has check_option --end-user-type check --end-u
complete_has check_value favorable_treatment_cybersecurity check --end-user-type fav
complete_has end_use_value cyber_incident_response check --end-use cyber
complete_has role_value auditor keys add --role au
complete_has format_value jsonl audit export --format j
complete_has table_value country-chart rules --table country-c
complete_has screen_option --min-score screen --min
complete_has config_file dist/acegate.conf serve --config dist/acegate.c
complete_has backup_file man audit backup --to ma
complete_has check_to_no_files "" check --eccn 4D004 --to ma
