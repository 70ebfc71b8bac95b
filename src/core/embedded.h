/* embedded.h: files built into the binary by tools/embed.c (the web
 * front end, dbt's built-in macros), as tables of these. */
#ifndef BP_EMBEDDED_H
#define BP_EMBEDDED_H

typedef struct {
    const char *name;          /* "/assets/app.js", "cross_db.sql" */
    const char *type;          /* a Content-Type */
    const unsigned char *data; /* NUL-terminated (not counted in len) */
    long len;
} bp_embedded;

#endif
