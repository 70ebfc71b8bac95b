/* clean.h: the cleaning contract (DESIGN.md section 3), one row at a time.
 *
 * A cleaner turns CSV records of one source into rows of the table's
 * column batch, or into quarantine rows with a reason. It counts what it
 * read, loaded, quarantined, repaired and nulled, so that every load
 * reconciles: read = loaded + quarantined. */
#ifndef BP_CLEAN_H
#define BP_CLEAN_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/batch.h"
#include "../core/keyspill.h"
#include "../core/err.h"
#include "../csv/csv.h"
#include "../extract/src.h"

/* The loaded tables. Column order is the contract with dbt projects and
 * dashboards written for the seed stack: keep the first ones first. */
extern const table_def clean_books_def, clean_users_def, clean_ratings_def;
extern const table_def clean_quarantine_def, clean_audit_def;
const table_def *clean_table_def(src_table t);

/* Why a row went to quarantine. */
typedef enum {
    Q_MALFORMED_ROW,
    Q_ISBN_MALFORMED,
    Q_USER_ID_INVALID,
    Q_RATING_INVALID,
    Q_DUPLICATE_KEY,
    Q_UNTERMINATED_QUOTE,   /* a quote left open: the line alone (see csv.h) */
    Q_NREASONS
} clean_qreason;

/* Why a value was set to NULL. */
typedef enum {
    N_YEAR_MISSING,
    N_YEAR_ZERO,
    N_YEAR_OUT_OF_RANGE,
    N_AGE_MISSING,
    N_AGE_INVALID,
    N_AGE_OUT_OF_RANGE,
    N_CITY_PLACEHOLDER,
    N_STATE_PLACEHOLDER,
    N_COUNTRY_MISSING,
    N_TITLE_EMPTY,
    N_AUTHOR_EMPTY,
    N_PUBLISHER_EMPTY,
    N_LOCATION_EMPTY,
    N_NREASONS
} clean_nreason;

/* What was repaired. */
typedef enum {
    R_ISBN_LEADING_ZERO,
    R_MOJIBAKE,
    R_ESCAPE_SCAR,
    R_SHIFTED_ROW,
    R_NKINDS
} clean_repair;

const char *clean_qreason_name(clean_qreason r);
const char *clean_nreason_name(clean_nreason r);
const char *clean_repair_name(clean_repair r);

typedef struct {
    uint64_t read, loaded, quarantined, repaired;
    uint64_t q[Q_NREASONS], nulled[N_NREASONS], repairs[R_NKINDS];
} clean_stats;

typedef struct {
    int age_min, age_max;   /* ages outside become NULL (default 5..100) */
    int max_year;           /* years after this become NULL (default: this year) */
    /* Load guards (a load that breaks one is refused, nothing changed):
     * a file with a header and no rows empties its table only with
     * allow_empty; a table shrinking to under half its rows, or a file with
     * more than half its rows quarantined, goes through only with
     * allow_shrink. */
    bool allow_empty, allow_shrink;
} clean_config;

void clean_config_default(clean_config *c);

typedef struct cleaner cleaner;

/* A cleaner for table t of a file in format fmt; label names the file in
 * quarantine rows. size_hint (bytes, 0 if unknown) presizes key sets. */
cleaner *clean_new(src_table t, const clean_config *cfg, const char *label, size_t size_hint);
void clean_free(cleaner *c);

/* Check the header record (the first record of the file); where names the
 * file in the message. */
BP_MUST bp_status clean_header(cleaner *c, const csv_reader *r, const char *where, bp_err *err);

/* Clean one data record into out (a row) or q (a quarantine row, with
 * run_id). Fails only on allocation failure. */
BP_MUST bp_status clean_record(cleaner *c, const csv_reader *r, int64_t run_id, batch *out, batch *q);

const clean_stats *clean_get_stats(const cleaner *c);

/* Exact duplicate keys either way: a key set in memory when the keys of a
 * file of size_hint bytes fit in CLEAN_KEYS_BUDGET (up to scale 10: the
 * ratings' set is 168 MB there), else two passes: the first with
 * clean_keys_to (keys spilled to disk, no rows out), the second with
 * clean_dups_from (the lines that repeat a key, from
 * keyset_spill_resolve). A cleaner of either pass is made with size_hint 0. */
#define CLEAN_KEYS_BUDGET (192u << 20)
bool clean_keys_fit(src_table t, size_t size_hint);
void clean_keys_to(cleaner *c, keyset_spill *s);
void clean_dups_from(cleaner *c, const keyset_lines *l);
/* Why clean_record failed ("out of memory", or the spill file's error). */
const char *clean_error(const cleaner *c);

/* The expected header, for messages: "User-ID,Location,Age". */
const char *clean_expected_header(src_table t);

#endif
