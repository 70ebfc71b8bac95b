/* fuzz_csv.c: libFuzzer target: the CSV reader and the cleaner of a table.
 * The first byte picks the dialect and the table, the rest is the file.
 * Properties: no crash, no leak, every record is loaded or quarantined. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clean/clean.h"
#include "csv/csv.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 1)
        return 0;
    const csv_dialect d = (data[0] & 1) ? (csv_dialect){';', true} : (csv_dialect){',', false};
    src_table t = (src_table)((data[0] >> 1) % SRC_NTABLES);
    char path[64];
    int fd = fuzz_file(data + 1, n - 1, path, sizeof path);
    if (fd < 0)
        return 0;
    src_set set;
    memset(&set, 0, sizeof set);
    set.file[t].found = true;
    snprintf(set.file[t].name, sizeof set.file[t].name, "%s", path);
    snprintf(set.file[t].label, sizeof set.file[t].label, "fuzz.csv");
    src_stream *s = NULL;
    if (src_open(&set, t, &s, NULL) != BP_OK) {
        close(fd);
        return 0;
    }
    csv_reader *r = csv_new(s, d);
    clean_config cfg;
    clean_config_default(&cfg);
    cleaner *c = clean_new(t, &cfg, "fuzz.csv", 0);
    batch *out = batch_new(clean_table_def(t)), *q = batch_new(&clean_quarantine_def);
    if (r && c && out && q && csv_next(r, NULL) == 1) {
        csv_expect_fields(r, csv_nfields(r));
        while (csv_next(r, NULL) == 1) {
            if (clean_record(c, r, 1, out, q) != BP_OK)
                abort();
            if (batch_full(out))
                batch_clear(out);
            if (batch_full(q))
                batch_clear(q);
        }
        const clean_stats *st = clean_get_stats(c);
        if (st->read != st->loaded + st->quarantined)
            abort();
    }
    batch_free(out);
    batch_free(q);
    clean_free(c);
    csv_free(r);
    src_close(s);
    close(fd);
    return 0;
}
