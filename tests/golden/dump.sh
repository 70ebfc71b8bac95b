#!/usr/bin/env bash
# dump.sh BOOKPIPE WAREHOUSE OUTDIR: write the tables a golden case compares,
# as sorted CSV, leaving out what changes from run to run (run ids, times).
set -euo pipefail
bp=$1 wh=$2 out=$3
mkdir -p "$out"
q() { "$bp" query --csv --warehouse "$wh" "$1" > "$out/$2"; }
q "SELECT * FROM books ORDER BY isbn" books.csv
q "SELECT * FROM users ORDER BY user_id" users.csv
q "SELECT * FROM ratings ORDER BY user_id, isbn" ratings.csv
q "SELECT source, line, reason, raw FROM quarantine ORDER BY source, line" quarantine.csv
q "SELECT source, table_name, format, rows_read, rows_loaded, rows_quarantined, rows_repaired,
          values_nulled, repairs, quarantined_by_reason, bytes_read
   FROM load_audit ORDER BY table_name" audit.csv
