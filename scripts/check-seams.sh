#!/usr/bin/env bash
# check-seams.sh LIB: the library stands without the command line.
#   - libbookpipe.a has no undefined cli_ symbol (the tool links the
#     library, never the other way round)
#   - nothing outside src/cli includes cli/cli.h
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
exit $bad
