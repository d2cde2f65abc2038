/*
 * build.c - builds the binary index image from loaded lists.
 *
 * The image (layout in screen_int.h, described in docs/screening.md) holds
 * everything a query needs, as flat arrays addressed by 32-bit offsets, so
 * it loads with one mmap and no parsing:
 *   - entries and their list data, names (primary name and aliases) with
 *     their normalised words as token ids;
 *   - the word dictionary (hash-bucketed), each word's weight and postings
 *     (the names that contain it);
 *   - one-letter deletions of every word, for finding words one typo away
 *     from a query word without scanning the dictionary (symmetric deletion).
 *
 * Word weights: inverse document frequency over all indexed names,
 * w = max(1, ln((N + 1) / (df + 0.5))), so rare words (Hikvision, Candiru)
 * decide a match and common ones (China, Technology) only support it;
 * legal forms, connectives and single letters get small fixed weights
 * (docs/screening.md, "Weights"). Words of at least 0.5 % of the names,
 * nearly all organisations', are flagged common (SX_TOK_GENERIC): the
 * matcher weighs them down where a name's distinctive words match.
 *
 * Names: each as listed and, where it ends in parentheses, without them;
 * a parenthesised acronym or an explicit alias ("(SSI)", "(AKA: ...)")
 * becomes an alias of its own (add_name_forms).
 */
#include "screen_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- string -> u32 map over a byte pool ---- */

typedef struct {
  char *pool;
  size_t pool_len, pool_cap;
  uint32_t *slot_off; /* pool offset + 1, 0 = empty */
  uint32_t *slot_val;
  uint32_t *slot_hash;
  size_t cap, n;
} strmap;

static void strmap_free(strmap *m) {
  free(m->pool);
  free(m->slot_off);
  free(m->slot_val);
  free(m->slot_hash);
  memset(m, 0, sizeof *m);
}

static bool strmap_rehash(strmap *m, size_t cap) {
  uint32_t *o = calloc(cap, 4), *v = calloc(cap, 4), *h = calloc(cap, 4);
  if (!o || !v || !h) {
    free(o);
    free(v);
    free(h);
    return false;
  }
  for (size_t i = 0; i < m->cap; i++)
    if (m->slot_off[i]) {
      size_t j = m->slot_hash[i] & (cap - 1);
      while (o[j])
        j = (j + 1) & (cap - 1);
      o[j] = m->slot_off[i];
      v[j] = m->slot_val[i];
      h[j] = m->slot_hash[i];
    }
  free(m->slot_off);
  free(m->slot_val);
  free(m->slot_hash);
  m->slot_off = o;
  m->slot_val = v;
  m->slot_hash = h;
  m->cap = cap;
  return true;
}

/* Finds s; if absent inserts it with value val. Returns the slot index, or
 * SIZE_MAX on out of memory. *added tells which. */
static size_t strmap_put(strmap *m, const char *s, size_t n, uint32_t val, bool *added) {
  if ((m->n + 1) * 2 > m->cap && !strmap_rehash(m, m->cap ? m->cap * 2 : 4096))
    return SIZE_MAX;
  uint32_t h = sx_hash(s, n);
  size_t j = h & (m->cap - 1);
  while (m->slot_off[j]) {
    if (m->slot_hash[j] == h) {
      const char *t = m->pool + m->slot_off[j] - 1;
      if (!memcmp(t, s, n) && t[n] == '\0') {
        *added = false;
        return j;
      }
    }
    j = (j + 1) & (m->cap - 1);
  }
  if (m->pool_len + n + 1 >= UINT32_MAX - 1 ||
      !sx_grow((void **)&m->pool, &m->pool_cap, m->pool_len + n + 1, 1))
    return SIZE_MAX;
  memcpy(m->pool + m->pool_len, s, n);
  m->pool[m->pool_len + n] = '\0';
  m->slot_off[j] = (uint32_t)m->pool_len + 1;
  m->slot_val[j] = val;
  m->slot_hash[j] = h;
  m->pool_len += n + 1;
  m->n++;
  *added = true;
  return j;
}

/* ---- the builder ---- */

typedef struct {
  uint32_t entry, display, simple, tok_off;
  uint16_t ntok;
  uint8_t kind;
  uint8_t flags;
} bname;

typedef struct {
  uint32_t str; /* offset in the token map's pool */
  uint32_t len;
  uint32_t hash;
  uint32_t df;
  uint32_t df_person; /* of those, names of individuals */
  uint32_t last_name; /* to count a word once per name */
  uint8_t flags;
} btok;

typedef struct {
  sx_set *set;
  strmap strings; /* interned output strings; value = offset in out pool */
  ag_buf strpool;
  strmap words; /* token strings; value = temporary token id */
  strmap seen;  /* "ENTRY:word word ..." of every name added, to skip repeats */
  btok *toks;
  size_t ntoks, toks_cap;
  bname *names;
  size_t nnames, names_cap;
  uint32_t *nametoks;
  size_t nnametoks, nametoks_cap;
  sx_norm norm;
  sx_norm norm2; /* for looking inside a name's parentheses */
  ag_buf tmp;
  ag_buf form; /* a name being taken apart */
  bool person; /* the entry being added is an individual */
  bool vessel; /* ... a vessel */
} builder;

static ag_status nomem(ag_error *err) {
  return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory building the index");
}

/* Interns s into the output string pool; returns its offset (0 is ""). */
static bool intern(builder *b, const char *s, uint32_t *off) {
  size_t n = strlen(s);
  if (!n) {
    *off = 0;
    return true;
  }
  bool added;
  size_t j = strmap_put(&b->strings, s, n, (uint32_t)b->strpool.len, &added);
  if (j == SIZE_MAX)
    return false;
  if (added) {
    if (b->strpool.len + n + 1 >= UINT32_MAX)
      return false;
    ag_buf_append(&b->strpool, s, n + 1);
    if (b->strpool.failed)
      return false;
  }
  *off = b->strings.slot_val[j];
  return true;
}

/* Adds one name of entry e. Names whose words equal an earlier name of the
 * same entry are skipped. */
static ag_status add_name(builder *b, uint32_t e, unsigned kind, const char *name,
                          ag_error *err) {
  ag_error nerr;
  const char *index_text = name;
  size_t index_len = strlen(name);
  if (sx_normalize(&b->norm, index_text, index_len, false, "name", &nerr) != AG_OK) {
    if (nerr.status == AG_ERR_NOMEM)
      return nomem(err);
    b->norm.ntok = 0; /* unreadable: kept for display, never matched */
    b->norm.folded_len = 0;
  }
  sx_norm *n = &b->norm;
  /* duplicate of an earlier name of this entry (the same words in the same
   * order)? One look-up of "ENTRY:word word ..." in a set of every name
   * added, so an entry's names cost linear time however many it has. */
  if (n->ntok) {
    ag_buf_reset(&b->tmp);
    ag_buf_printf(&b->tmp, "%u:", e);
    for (size_t k = 0; k < n->ntok; k++) {
      ag_buf_append(&b->tmp, sx_norm_tok(n, k), n->tok[k].len);
      ag_buf_putc(&b->tmp, '\x1f');
    }
    bool added;
    if (b->tmp.failed || strmap_put(&b->seen, b->tmp.data, b->tmp.len, 0, &added) == SIZE_MAX)
      return nomem(err);
    if (!added)
      return AG_OK;
  }
  bname bn = {.entry = e,
              .kind = (uint8_t)kind,
              .flags = (uint8_t)((b->person ? SX_NAME_PERSON : 0) |
                                 (b->vessel ? SX_NAME_VESSEL : 0)),
              .ntok = (uint16_t)n->ntok,
              .tok_off = (uint32_t)b->nnametoks};
  ag_buf_reset(&b->tmp);
  sx_simple_form(n->folded ? n->folded : "", n->folded_len, &b->tmp);
  if (b->tmp.failed || !intern(b, name, &bn.display) || !intern(b, b->tmp.data, &bn.simple))
    return nomem(err);
  uint32_t name_id = (uint32_t)b->nnames + 1; /* +1: 0 means "no name yet" */
  for (size_t k = 0; k < n->ntok; k++) {
    const char *w = sx_norm_tok(n, k);
    size_t wl = n->tok[k].len;
    bool added;
    size_t j = strmap_put(&b->words, w, wl, (uint32_t)b->ntoks, &added);
    if (j == SIZE_MAX)
      return nomem(err);
    if (added) {
      btok t = {.str = b->words.slot_off[j] - 1,
                .len = (uint32_t)wl,
                .hash = b->words.slot_hash[j],
                .flags = n->tok[k].flags};
      if (!SX_PUSH(b->toks, b->ntoks, b->toks_cap, t))
        return nomem(err);
    }
    uint32_t id = b->words.slot_val[j];
    if (b->toks[id].last_name != name_id) {
      b->toks[id].last_name = name_id;
      b->toks[id].df++;
      if (b->person)
        b->toks[id].df_person++;
    }
    if (!SX_PUSH(b->nametoks, b->nnametoks, b->nametoks_cap, id))
      return nomem(err);
  }
  if (b->nnames >= UINT32_MAX / 2 || !SX_PUSH(b->names, b->nnames, b->names_cap, bn))
    return nomem(err);
  b->set->lists[b->set->entries[e].list].names++;
  return AG_OK;
}

/* ---- a name's trailing parentheses ----
 *
 * Listed names often end in a parenthesised acronym or short form
 * ("SEMICONDUCTOR SYSTEMS INTL., INC. (SSI)", "... Consultancy PTE. LTD.
 * (COSEINC)"), an explicit alias ("KOLOKOL (AKA: ALDRICH AMES)", "(f.k.a.
 * ...)") or a qualifier ("Enerquip Ltd. (UAE)", "(Private)", "(Russian
 * individual)", "(a subsidiary of ...)"). Left in the name, such a word is
 * one the query lacks. The name is indexed as listed and, without the
 * parentheses, as another name of the same kind; a short form or an
 * explicit alias becomes an alias of its own. Anything else in parentheses
 * ("(PRESIDENT OF TAK COMPONENTS)") stays part of the name only. */

typedef enum { PAREN_NONE, PAREN_QUALIFIER, PAREN_SHORT, PAREN_MARKED } paren_kind;

static bool is_alnum_ascii(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static size_t alnum_count(const char *p, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += is_alnum_ascii(p[i]);
  return k;
}

/* "a.k.a.", "AKA:", "f.k.a.,", "formerly known as", ... at the start of p:
 * the alias kind and where the alias starts, or false. */
static bool alias_marker(const char *p, size_t n, unsigned *kind, size_t *skip) {
  static const struct {
    const char *m;
    unsigned kind;
  } marks[] = {{"also known as", SX_KIND_AKA}, {"a.k.a", SX_KIND_AKA},
               {"aka", SX_KIND_AKA},           {"formerly known as", SX_KIND_FKA},
               {"formerly", SX_KIND_FKA},      {"f.k.a", SX_KIND_FKA},
               {"fka", SX_KIND_FKA},           {"now known as", SX_KIND_NKA},
               {"n.k.a", SX_KIND_NKA},         {"nka", SX_KIND_NKA}};
  for (size_t k = 0; k < sizeof marks / sizeof *marks; k++) {
    size_t ml = strlen(marks[k].m);
    if (n <= ml || strncasecmp(p, marks[k].m, ml) != 0)
      continue;
    /* the marker is a word of its own */
    if (is_alnum_ascii(p[ml]))
      continue;
    size_t i = ml;
    while (i < n && (p[i] == '.' || p[i] == ',' || p[i] == ':' || p[i] == ';' || p[i] == ' '))
      i++;
    if (alnum_count(p + i, n - i) < 2)
      return false;
    *kind = marks[k].kind;
    *skip = i;
    return true;
  }
  return false;
}

/* letters of the name (lower case) and whether each starts a word */
typedef struct {
  char c[256];
  bool start[256];
  size_t n;
} letters;

static void name_letters(const sx_norm *nm, letters *L) {
  L->n = 0;
  for (size_t t = 0; t < nm->ntok; t++) {
    const char *w = sx_norm_tok(nm, t);
    if (nm->tok[t].flags & SX_TOK_NUMBER)
      continue;
    for (size_t i = 0; w[i] && L->n < sizeof L->c; i++) {
      L->c[L->n] = w[i];
      L->start[L->n] = i == 0;
      L->n++;
    }
  }
}

/* The most word initials with which acronym a[i..] can be read off the
 * name's letters from position j on (-1: it cannot): each letter is a
 * later letter of the word being read, or the first letter of a later
 * word. memo[i][j] caches the answers (-2: not known yet). */
static int acro_from(const char *a, size_t na, size_t i, const letters *L, size_t j,
                     int memo[][257]) {
  if (i == na)
    return 0;
  if (j >= L->n)
    return -1;
  if (memo[i][j] != -2)
    return memo[i][j];
  int best = -1;
  bool crossed = false; /* passed the start of another word */
  for (size_t k = j; k < L->n; k++) {
    if (L->start[k])
      crossed = true;
    else if (crossed)
      continue; /* only the first letter of a later word */
    if (L->c[k] != a[i])
      continue;
    int r = acro_from(a, na, i + 1, L, k + 1, memo);
    if (r >= 0 && r + L->start[k] > best)
      best = r + L->start[k];
  }
  memo[i][j] = best;
  return best;
}

/* The letters of a short form are the name's initials (SSI: Semiconductor
 * Systems Intl; NSCC-CS: National Supercomputing Center ChangSha), at
 * least half of them first letters of words. */
static bool is_acronym_of(const char *a, size_t na, const letters *L) {
  if (na < 3 || na > 12)
    return false;
  static _Thread_local int memo[12][257];
  for (size_t i = 0; i < na; i++)
    for (size_t j = 0; j <= L->n; j++)
      memo[i][j] = -2;
  int best = -1;
  for (size_t k = 0; k < L->n; k++)
    if (L->start[k] && L->c[k] == a[0]) {
      int r = acro_from(a, na, 1, L, k + 1, memo);
      if (r >= 0 && r + 1 > best)
        best = r + 1;
    }
  return best >= 0 && (size_t)best * 2 >= na;
}

static paren_kind classify_paren(builder *b, const char *base, size_t bl, const char *in, size_t il,
                                 unsigned *kind, size_t *skip) {
  if (alias_marker(in, il, kind, skip))
    return PAREN_MARKED;
  ag_error e;
  if (sx_normalize(&b->norm2, in, il, false, "name", &e) != AG_OK || !b->norm2.ntok)
    return PAREN_NONE;
  const sx_norm *cn = &b->norm2;
  /* qualifiers: a country or place, a legal form, "(Russian individual)",
   * "(off-shore)", a description "(a subsidiary of ...)" */
  const char *last = sx_norm_tok(cn, cn->ntok - 1);
  if (sx_country_code(in, il) || !strcmp(last, "individual") || !strcmp(last, "national") ||
      !strcmp(sx_norm_tok(cn, 0), "a") || !strcmp(sx_norm_tok(cn, 0), "an"))
    return PAREN_QUALIFIER;
  bool qualifier = true, place = false;
  size_t content = 0, letters_n = 0;
  char acr[16];
  for (size_t t = 0; t < cn->ntok; t++) {
    const char *w = sx_norm_tok(cn, t);
    uint8_t f = cn->tok[t].flags;
    bool geo = (f & SX_TOK_PLACE) || sx_country_code(w, strlen(w));
    if (!geo && !(f & (SX_TOK_LEGAL | SX_TOK_STOP)) && strcmp(w, "offshore") != 0 &&
        strcmp(w, "off") != 0 && strcmp(w, "shore") != 0)
      qualifier = false;
    if (f & (SX_TOK_LEGAL | SX_TOK_STOP | SX_TOK_NUMBER))
      continue;
    place |= geo;
    content++;
    for (size_t i = 0; w[i] && letters_n < sizeof acr; i++)
      if (w[i] >= 'a' && w[i] <= 'z')
        acr[letters_n++] = w[i];
  }
  if (qualifier)
    return PAREN_QUALIFIER;
  if (place)
    return PAREN_NONE; /* "(Chitron-Shenzhen)": not a bare short form */
  if (!content || content > 3 || il > 32 || alnum_count(in, il) < 3)
    return PAREN_NONE;
  /* a short form: the name's initials, a capitalised acronym in a name
   * written in mixed case, or a spelling of one of the name's words */
  if (sx_normalize(&b->norm, base, bl, false, "name", &e) != AG_OK)
    return PAREN_NONE;
  letters L;
  name_letters(&b->norm, &L);
  if (content == 1 && letters_n < sizeof acr && is_acronym_of(acr, letters_n, &L))
    return PAREN_SHORT;
  bool base_lower = false;
  for (size_t i = 0; i < bl && !base_lower; i++)
    base_lower = base[i] >= 'a' && base[i] <= 'z';
  size_t upper = 0;
  for (size_t i = 0; i < il; i++)
    upper += in[i] >= 'A' && in[i] <= 'Z';
  if (base_lower && upper >= 2)
    return PAREN_SHORT;
  for (size_t t = 0; t < cn->ntok; t++) {
    const char *w = sx_norm_tok(cn, t);
    size_t wl = cn->tok[t].len;
    if (wl < 4 || (cn->tok[t].flags & (SX_TOK_LEGAL | SX_TOK_STOP | SX_TOK_NUMBER)))
      continue;
    for (size_t u = 0; u < b->norm.ntok; u++) {
      const char *x = sx_norm_tok(&b->norm, u);
      size_t xl = b->norm.tok[u].len;
      if ((wl == xl && !memcmp(w, x, wl)) ||
          (wl >= 5 && xl >= 5 && sx_jaro_winkler(w, wl, x, xl) >= 0.9))
        return PAREN_SHORT;
    }
  }
  return PAREN_NONE;
}

/* Adds a name as listed, then the forms its trailing parentheses give. */
static ag_status add_name_forms(builder *b, uint32_t e, unsigned kind, const char *name,
                                ag_error *err) {
  ag_status st = add_name(b, e, kind, name, err);
  size_t n = strlen(name);
  if (st || !n || n > (size_t)AG_SCREEN_NAME_MAX * 4)
    return st;
  ag_buf_reset(&b->form);
  ag_buf_append(&b->form, name, n + 1);
  if (b->form.failed)
    return nomem(err);
  char *s = b->form.data;
  for (int round = 0; round < 4; round++) {
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '.' || s[n - 1] == ','))
      n--;
    if (!n || s[n - 1] != ')')
      break;
    size_t close = n - 1, open = close;
    int depth = 0;
    for (size_t i = close + 1; i-- > 0;) {
      if (s[i] == ')')
        depth++;
      else if (s[i] == '(' && --depth == 0) {
        open = i;
        break;
      }
    }
    if (depth != 0 || open == close || open == 0)
      break;
    const char *in = s + open + 1;
    size_t il = close - open - 1;
    while (il && *in == ' ') {
      in++;
      il--;
    }
    while (il && in[il - 1] == ' ')
      il--;
    size_t bl = open;
    while (bl && (s[bl - 1] == ' ' || s[bl - 1] == ','))
      bl--;
    if (alnum_count(s, bl) < 3 || !il)
      break;
    unsigned akind = SX_KIND_AKA;
    size_t skip = 0;
    paren_kind pk = classify_paren(b, s, bl, in, il, &akind, &skip);
    if (pk == PAREN_NONE)
      break;
    if (pk == PAREN_SHORT || pk == PAREN_MARKED) {
      char save = in[il];
      ((char *)in)[il] = '\0';
      st = add_name(b, e, akind, in + skip, err);
      ((char *)in)[il] = save;
      if (st)
        return st;
    }
    s[bl] = '\0';
    n = bl;
    if ((st = add_name(b, e, kind, s, err)))
      return st;
  }
  return AG_OK;
}

/* By entry, then in file order. qsort is not stable and moves elements as
 * it sorts, so their addresses say nothing: the order is the alias's own
 * recorded place (seq). */
static int cmp_alias(const void *a, const void *b) {
  const sx_alias_in *x = a, *y = b;
  if (x->entry != y->entry)
    return x->entry < y->entry ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef struct {
  uint32_t hash, id;
  const char *s;
} tokkey;

static int cmp_tokkey(const void *a, const void *b) {
  const tokkey *x = a, *y = b;
  if (x->hash != y->hash)
    return x->hash < y->hash ? -1 : 1;
  return strcmp(x->s, y->s);
}

static int cmp_del(const void *a, const void *b) {
  const sx_del *x = a, *y = b;
  if (x->hash != y->hash)
    return x->hash < y->hash ? -1 : 1;
  return x->token < y->token ? -1 : x->token > y->token;
}

static uint32_t bits_for(size_t n, size_t per_bucket) {
  uint32_t bits = 4;
  while (bits < 24 && ((size_t)1 << bits) * per_bucket < n)
    bits++;
  return bits;
}

/* bucket_start[b] = first element whose hash >> (32 - bits) >= b */
static uint32_t *buckets(const uint32_t *hashes, size_t stride_words, size_t n, uint32_t bits) {
  size_t nb = (size_t)1 << bits;
  uint32_t *bs = malloc((nb + 1) * sizeof *bs);
  if (!bs)
    return NULL;
  size_t i = 0;
  for (size_t bk = 0; bk <= nb; bk++) {
    while (i < n && (size_t)(hashes[i * stride_words] >> (32 - bits)) < bk)
      i++;
    bs[bk] = (uint32_t)i;
  }
  bs[nb] = (uint32_t)n;
  return bs;
}

static void put_section(ag_buf *out, sx_header *h, int sec, const void *data, size_t size) {
  while (out->len % 8)
    ag_buf_putc(out, 0);
  h->sec[sec].off = out->len;
  h->sec[sec].size = size;
  if (size)
    ag_buf_append(out, data, size);
}

ag_status sx_build_image(sx_set *s, ag_buf *out, ag_error *err) {
  builder b;
  memset(&b, 0, sizeof b);
  b.set = s;
  ag_buf_init(&b.strpool);
  ag_buf_init(&b.tmp);
  sx_norm_init(&b.norm);
  sx_norm_init(&b.norm2);
  ag_buf_init(&b.form);
  ag_buf_putc(&b.strpool, '\0'); /* offset 0: the empty string */
  ag_status st = AG_OK;
  sx_entry *entries = NULL;
  sx_list *lists = NULL;
  sx_name *names = NULL;
  sx_token *tokens = NULL;
  tokkey *keys = NULL;
  uint32_t *remap = NULL, *postings = NULL, *tokb = NULL, *delb = NULL, *fill = NULL;
  sx_del *dels = NULL;
  size_t ndels = 0, dels_cap = 0;

  if (!s->nentries) {
    st = ag_error_set(err, AG_ERR_LIST, "", "no list entries to index");
    goto out;
  }
  for (size_t i = 0; i < s->nlists; i++)
    s->lists[i].names = 0;
  if (s->naliases)
    qsort(s->aliases, s->naliases, sizeof *s->aliases, cmp_alias);

  /* names, entry by entry: primary name first */
  entries = calloc(s->nentries, sizeof *entries);
  if (!entries) {
    st = nomem(err);
    goto out;
  }
  size_t ai = 0;
  for (size_t e = 0; e < s->nentries && !st; e++) {
    const sx_entry_in *ei = &s->entries[e];
    sx_entry *eo = &entries[e];
    eo->list = ei->list;
    for (int f = 0; f < SX_F_COUNT; f++)
      if (!intern(&b, ei->f[f], &eo->f[f])) {
        st = nomem(err);
        break;
      }
    eo->first_name = (uint32_t)b.nnames;
    b.person = !strcasecmp(ei->f[SX_F_TYPE], "individual");
    b.vessel = !strcasecmp(ei->f[SX_F_TYPE], "vessel");
    if (!st)
      st = add_name_forms(&b, (uint32_t)e, SX_KIND_NAME, ei->f[SX_F_NAME], err);
    for (; !st && ai < s->naliases && s->aliases[ai].entry == e; ai++)
      st = add_name_forms(&b, (uint32_t)e, s->aliases[ai].kind, s->aliases[ai].name, err);
    eo->name_count = (uint32_t)(b.nnames - eo->first_name);
  }
  if (st)
    goto out;

  /* the dictionary in hash order; token ids remapped */
  size_t nt = b.ntoks;
  keys = malloc((nt ? nt : 1) * sizeof *keys);
  remap = malloc((nt ? nt : 1) * sizeof *remap);
  tokens = calloc(nt ? nt : 1, sizeof *tokens);
  if (!keys || !remap || !tokens) {
    st = nomem(err);
    goto out;
  }
  for (size_t i = 0; i < nt; i++)
    keys[i] = (tokkey){b.toks[i].hash, (uint32_t)i, b.words.pool + b.toks[i].str};
  qsort(keys, nt, sizeof *keys, cmp_tokkey);
  double N = (double)b.nnames;
  for (size_t i = 0; i < nt; i++) {
    const btok *t = &b.toks[keys[i].id];
    remap[keys[i].id] = (uint32_t)i;
    sx_token *o = &tokens[i];
    o->hash = t->hash;
    o->len = (uint16_t)t->len;
    o->flags = t->flags;
    float w = (float)log((N + 1.0) / ((double)t->df + 0.5));
    if (w < 1.0f)
      w = 1.0f;
    /* a word of thousands of organisations' names (technology, group,
     * international): common, weighted down where a name has distinctive
     * words (match.c) */
    if (!(t->flags &
          (SX_TOK_LEGAL | SX_TOK_STOP | SX_TOK_INITIAL | SX_TOK_NUMBER | SX_TOK_PLACE)) &&
        t->df >= SX_GENERIC_MIN_DF && (double)t->df >= SX_GENERIC_SHARE * N &&
        t->df_person * 10 < t->df)
      o->flags |= SX_TOK_GENERIC;
    if (t->flags & SX_TOK_LEGAL)
      w = SX_W_LEGAL;
    else if (t->flags & SX_TOK_STOP)
      w = SX_W_STOP;
    else if (t->flags & SX_TOK_INITIAL)
      w = SX_W_INITIAL;
    o->weight = w;
    if (!intern(&b, keys[i].s, &o->str)) {
      st = nomem(err);
      goto out;
    }
  }
  for (size_t i = 0; i < b.nnametoks; i++)
    b.nametoks[i] = remap[b.nametoks[i]];

  /* postings: names per token, ascending, each name once */
  size_t npost = 0;
  for (size_t i = 0; i < nt; i++) {
    tokens[i].post_off = (uint32_t)npost;
    npost += b.toks[keys[i].id].df;
  }
  postings = malloc((npost ? npost : 1) * sizeof *postings);
  fill = calloc(nt ? nt : 1, sizeof *fill);
  names = calloc(b.nnames ? b.nnames : 1, sizeof *names);
  if (!postings || !fill || !names) {
    st = nomem(err);
    goto out;
  }
  for (size_t i = 0; i < b.nnames; i++) {
    const bname *bn = &b.names[i];
    sx_name *o = &names[i];
    o->entry = bn->entry;
    o->display = bn->display;
    o->simple = bn->simple;
    o->tok_off = bn->tok_off;
    o->ntok = bn->ntok;
    o->kind = bn->kind;
    o->flags = bn->flags;
    float w = 0;
    for (size_t k = 0; k < bn->ntok; k++) {
      uint32_t t = b.nametoks[bn->tok_off + k];
      w += tokens[t].weight;
      bool seen = false;
      for (size_t j = 0; j < k && !seen; j++)
        seen = b.nametoks[bn->tok_off + j] == t;
      if (!seen)
        postings[tokens[t].post_off + fill[t]++] = (uint32_t)i;
    }
    o->weight = w;
  }
  for (size_t i = 0; i < nt; i++)
    tokens[i].post_len = fill[i];

  /* one-letter deletions of every word of three letters or more, and
   * two-letter deletions of words of SX_TWO_EDITS_LEN letters or more (two
   * typos in one word: the query's deletions meet these) */
  for (size_t i = 0; i < nt; i++) {
    const char *w = b.strpool.data + tokens[i].str;
    size_t wl = tokens[i].len;
    if (wl < 3 || (tokens[i].flags & SX_TOK_NUMBER))
      continue;
    char d[72], d2[72];
    for (size_t k = 0; k < wl; k++) {
      if (k > 0 && w[k] == w[k - 1])
        continue; /* same deletion as the previous position */
      memcpy(d, w, k);
      memcpy(d + k, w + k + 1, wl - k - 1);
      sx_del x = {sx_hash(d, wl - 1), (uint32_t)i};
      if (!SX_PUSH(dels, ndels, dels_cap, x)) {
        st = nomem(err);
        goto out;
      }
      for (size_t m = k; wl >= SX_TWO_EDITS_LEN && wl <= 40 && m < wl - 1; m++) {
        if (m > k && d[m] == d[m - 1])
          continue;
        memcpy(d2, d, m);
        memcpy(d2 + m, d + m + 1, wl - 2 - m);
        sx_del y = {sx_hash(d2, wl - 2), (uint32_t)i};
        if (!SX_PUSH(dels, ndels, dels_cap, y)) {
          st = nomem(err);
          goto out;
        }
      }
    }
  }
  if (ndels)
    qsort(dels, ndels, sizeof *dels, cmp_del);
  { /* the same deletion reached twice is kept once */
    size_t u = 0;
    for (size_t i = 0; i < ndels; i++)
      if (!u || dels[u - 1].hash != dels[i].hash || dels[u - 1].token != dels[i].token)
        dels[u++] = dels[i];
    ndels = u;
  }

  sx_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, SX_MAGIC, 8);
  h.version = SX_VERSION;
  h.header_size = sizeof h;
  h.built = (int64_t)time(NULL);
  h.n_lists = (uint32_t)s->nlists;
  h.n_entries = (uint32_t)s->nentries;
  h.n_names = (uint32_t)b.nnames;
  h.n_nametoks = (uint32_t)b.nnametoks;
  h.n_tokens = (uint32_t)nt;
  h.n_postings = (uint32_t)npost;
  h.n_dels = (uint32_t)ndels;
  h.tok_bits = bits_for(nt, 2);
  h.del_bits = bits_for(ndels, 4);
  tokb = buckets(&tokens[0].hash, sizeof(sx_token) / 4, nt, h.tok_bits);
  delb = buckets(ndels ? &dels[0].hash : &h.version, sizeof(sx_del) / 4, ndels, h.del_bits);
  lists = calloc(s->nlists ? s->nlists : 1, sizeof *lists);
  if (!tokb || !delb || !lists) {
    st = nomem(err);
    goto out;
  }
  for (size_t i = 0; i < s->nlists; i++) {
    const sx_list_in *l = &s->lists[i];
    sx_list *o = &lists[i];
    o->entries = l->entries;
    o->names = l->names;
    if (!intern(&b, l->code, &o->code) || !intern(&b, l->name, &o->name) ||
        !intern(&b, l->files, &o->files) || !intern(&b, l->format, &o->format) ||
        !intern(&b, l->date, &o->date) || !intern(&b, l->sha256, &o->sha256)) {
      st = nomem(err);
      goto out;
    }
  }
  ag_buf_putc(&b.strpool, '\0'); /* the pool ends in NUL (validated on load) */
  if (b.strpool.failed) {
    st = nomem(err);
    goto out;
  }

  ag_buf_reset(out);
  ag_buf_append(out, (const char *)&h, sizeof h);
  put_section(out, &h, SX_SEC_STR, b.strpool.data, b.strpool.len);
  put_section(out, &h, SX_SEC_LISTS, lists, s->nlists * sizeof *lists);
  put_section(out, &h, SX_SEC_ENTRIES, entries, s->nentries * sizeof *entries);
  put_section(out, &h, SX_SEC_NAMES, names, b.nnames * sizeof *names);
  put_section(out, &h, SX_SEC_NAMETOKS, b.nametoks, b.nnametoks * sizeof *b.nametoks);
  put_section(out, &h, SX_SEC_TOKENS, tokens, nt * sizeof *tokens);
  put_section(out, &h, SX_SEC_TOKBUCKETS, tokb, (((size_t)1 << h.tok_bits) + 1) * sizeof *tokb);
  put_section(out, &h, SX_SEC_POSTINGS, postings, npost * sizeof *postings);
  put_section(out, &h, SX_SEC_DELS, dels, ndels * sizeof *dels);
  put_section(out, &h, SX_SEC_DELBUCKETS, delb, (((size_t)1 << h.del_bits) + 1) * sizeof *delb);
  while (out->len % 8)
    ag_buf_putc(out, 0);
  if (out->failed) {
    st = nomem(err);
    goto out;
  }
  h.file_size = out->len;
  sx_sha256(out->data + sizeof h, out->len - sizeof h, h.sha256);
  memcpy(out->data, &h, sizeof h);

out:
  strmap_free(&b.strings);
  strmap_free(&b.words);
  strmap_free(&b.seen);
  ag_buf_free(&b.strpool);
  ag_buf_free(&b.tmp);
  sx_norm_free(&b.norm);
  sx_norm_free(&b.norm2);
  ag_buf_free(&b.form);
  free(b.toks);
  free(b.names);
  free(b.nametoks);
  free(entries);
  free(lists);
  free(names);
  free(tokens);
  free(keys);
  free(remap);
  free(postings);
  free(fill);
  free(tokb);
  free(delb);
  free(dels);
  return st;
}
