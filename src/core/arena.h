/* arena.h: a region allocator for data that lives and dies together (a
 * parsed YAML file, a template render, a loaded dbt project).
 * arena_free releases everything at once; a zeroed arena is empty. */
#ifndef BP_ARENA_H
#define BP_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct {
    arena_block *head;
} arena;

/* n zeroed bytes, 16-aligned; NULL when memory runs out. */
void *arena_alloc(arena *a, size_t n);
/* A NUL-terminated copy of s[0..n). */
char *arena_strndup(arena *a, const char *s, size_t n);
void arena_free(arena *a);

#endif
