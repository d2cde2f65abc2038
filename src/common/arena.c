/*
 * arena.c - bump allocator: per-request allocations are freed in one call.
 * Invariant: every block is at least block_size bytes of payload; the
 * first block survives ag_arena_reset so a steady stream of requests
 * allocates nothing after warm-up.
 */
#include "acegate/common.h"

#include <stdlib.h>
#include <string.h>

struct ag_arena_block {
  ag_arena_block *next;
  size_t cap;
  size_t used;
  _Alignas(16) unsigned char data[];
};

void ag_arena_init(ag_arena *a, size_t block_size) {
  a->head = NULL;
  a->block_size = block_size ? block_size : 8192;
}

void *ag_arena_alloc(ag_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  ag_arena_block *b = a->head;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > a->block_size ? n : a->block_size;
    ag_arena_block *nb = malloc(sizeof *nb + cap);
    if (!nb)
      return NULL;
    nb->cap = cap;
    nb->used = 0;
    nb->next = b;
    a->head = nb;
    b = nb;
  }
  void *p = b->data + b->used;
  b->used += n;
  return p;
}

char *ag_arena_strndup(ag_arena *a, const char *s, size_t n) {
  char *p = ag_arena_alloc(a, n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

void ag_arena_reset(ag_arena *a) {
  ag_arena_block *b = a->head;
  if (!b)
    return;
  /* keep the oldest block (the last in the list): it is the base size */
  ag_arena_block *keep = b;
  while (keep->next)
    keep = keep->next;
  while (b != keep) {
    ag_arena_block *next = b->next;
    free(b);
    b = next;
  }
  keep->used = 0;
  a->head = keep;
}

void ag_arena_free(ag_arena *a) {
  ag_arena_block *b = a->head;
  while (b) {
    ag_arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
}
