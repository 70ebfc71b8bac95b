#!/usr/bin/env bash
# check-banned.sh: fail when the C sources use functions we do not use
# (unbounded string writes, unchecked number parsing).
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|atof)\s*\(' -r src tests --include='*.c' --include='*.h'; then
    echo "check-banned: use snprintf/buf_* and num_parse_* instead" >&2
    exit 1
fi
