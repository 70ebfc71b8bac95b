#!/usr/bin/env bash
# check-seams.sh LIB: the library stands without the command line.
#   - libbookpipe.a has no undefined cli_ symbol (the tool links the
#     library, never the other way round)
#   - nothing outside src/cli includes cli/cli.h
#   - no target's name is compared outside src/wh (and the CLI's flags):
#     what differs between targets is a field of wh_ops
#   - nothing outside src/wh calls a warehouse's ops table directly
#   - every external name of the library starts with its module's prefix
#     (the list below), so a program linking it meets no bare names
#   - library code does not print its messages: they go through the log
#     sink (core/log.h); only what a caller asked to watch prints (the run
#     view, load and download progress, dbt's console)
set -euo pipefail
cd "$(dirname "$0")/.."
lib=${1:-build/libbookpipe.a}
bad=0
if nm "$lib" 2>/dev/null | grep -E ' U cli_' | sort -u | grep .; then
    echo "check-seams: $lib calls into the command line (src/cli); move that code into the library" >&2
    bad=1
fi
if grep -rln 'cli/cli\.h' src --include='*.c' --include='*.h' | grep -v '^src/cli/'; then
    echo "check-seams: only src/cli includes cli/cli.h" >&2
    bad=1
fi
if grep -rnE 'str(n)?(case)?cmp\([^;]*"(duckdb|postgres|postgresql|redshift)"' src --include='*.c' |
   grep -vE '^src/(wh|cli)/' | grep .; then
    echo "check-seams: a target named outside src/wh; ask its wh_ops (wh_ops_named) instead" >&2
    bad=1
fi
if grep -rn --include='*.c' -e '->ops->' src | grep -vE '^src/wh/' | grep .; then
    echo "check-seams: call the warehouse through the wh_* functions (wh.h), not its ops table" >&2
    bad=1
fi
# external names: module folder -> the prefixes its names may take
prefixes='aws:aws clean:clean|isbn|isbn10|isbn13|loc|text
core:arena|batch|buf|curlx|bp|fp|fs|keyset|num|rx|strmap|yml csv:csv dbt:dbt
extract:kaggle|src gen:gen ingest:ingest jinja:jinja|jv lake:lake|s3
orch:blk|cron|meta|orch|pl|rs|view rec:rec web:web|gf wh:wh|pg'
objdir=$(dirname "$lib")
for c in src/*/*.c; do
    mod=${c#src/}; mod=${mod%%/*}
    [ "$mod" = cli ] && continue
    obj=$objdir/${c%.c}.o
    [ -f "$obj" ] || continue
    allow=$(printf '%s\n' $prefixes | awk -F: -v m="$mod" '$1 == m { print $2 }')
    if nm "$obj" | awk '$2 ~ /^[TDRB]$/ { print $3 }' | grep -vE "^(${allow:-NONE})_" |
       sed "s|^|check-seams: $c defines |" | grep .; then
        echo "check-seams: give it the module's prefix (src/$mod: ${allow:-none listed})" >&2
        bad=1
    fi
done
# printing to stderr/stdout, outside the presenters named above
if grep -rnE '(fprintf|vfprintf|fputs|fputc)\([^;]*\bstderr\b|(^|[^a-z_])printf\(' src --include='*.c' |
   grep -vE '^src/(cli/|orch/view\.c)' | grep -vE '"\\r|fputc\('"'"'\\n'"'"', stderr\)' |
   grep -vE '//|^\S+: *\*' | grep .; then
    echo "check-seams: library code prints; send the message through bp_log (core/log.h)" >&2
    bad=1
fi
exit $bad
