/*
 * match.c - screening one name: retrieval through the index, then scoring
 * of the plausible candidates by word alignment (docs/screening.md,
 * "Matching").
 *
 *  1. The query is normalised into words (normalize.c). Each word is
 *     looked up exactly, and its neighbours one typo away (two for words of
 *     eight letters or more) are found through the one-letter-deletion
 *     table; adjacent query words are also tried joined ("hik vision" ->
 *     hikvision) and a long unknown word split in two.
 *  2. Retrieval: the postings of those words add weight x similarity to an
 *     accumulator per listed name. A name's accumulated weight over its
 *     total weight bounds the share of it the query can cover; names whose
 *     bound cannot reach the threshold are never scored.
 *  3. Scoring: query and listed words are aligned greedily, best pairs
 *     first (identical, one typo apart by Jaro-Winkler, joined/split, an
 *     initial against a full word). Coverage is measured on both sides with
 *     the words' weights: cov_listed (how much of the listed name the query
 *     accounts for) and cov_query (how much of the query the listed name
 *     accounts for). score = cov_listed^0.58 * cov_query^0.42: a token-set
 *     measure, weighted so rare words decide, order-free, forgiving of
 *     dropped legal forms and of a dropped middle word, stricter on a query
 *     that mostly consists of other words. Where a distinctive word is
 *     matched and everything else either side lacks is a place name
 *     (Hangzhou) or a common word (Technology, Group), those weigh little:
 *     "Hikvision Digital Technology" is "Hangzhou Hikvision Digital
 *     Technology Co., Ltd." (align).
 *  4. Country, city, street address, type and identifiers, when given, are
 *     evidence (evidence.c); the filters sources, types and countries
 *     leave out the entries they do not admit.
 *  5. The best name of each entry is kept; matches at or above the minimum
 *     score are returned best first.
 */
#include "screen_int.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALPHA 0.58 /* exponent of listed-name coverage (docs/screening.md, "The decoy rate") */
#define FUZZY_K 2.5 /* cost multiplier of a spelling difference */
#define FUZZY_MAX 6      /* typo neighbours kept per query word */
#define CAND_MAX 256     /* names fully scored per query */
#define TYPO1_SIM 0.85   /* least similarity of four-letter words one edit apart */
#define TYPO2_SIM 0.75   /* ... of eight-letter words two edits apart */
#define TYPO_SIM_STEP 0.01 /* ... more by this for each letter more */
#define TYPO_SIM_MAX 0.92
#define INITIAL_SIM 0.5f /* "I." against "Ivan" */
#define INITIAL_W SX_W_INITIAL
#define RARE_IDF 7.0   /* a distinctive word: in at most about 1 name in 1,000 */
#define RARE_SIM 0.95f /* ... matched this closely (a typo at most) */
#define NONE UINT32_MAX

enum { X_EXACT, X_FUZZY, X_JOIN, X_SPLIT };

typedef struct {
  uint32_t tok;
  float sim;
  uint8_t qi; /* query word (first of two for X_JOIN) */
  uint8_t kind;
} qexp;

typedef struct {
  const char *s;
  uint16_t len;
  uint8_t flags;
  uint32_t tok; /* exact token id or NONE */
  float w;
  uint16_t xs, xe;  /* its expansions [xs, xe) */
  uint64_t letters; /* sx_letter_set of s */
} qword;

typedef struct {
  uint32_t name;
  float ub;
} cand;

typedef struct {
  uint32_t name, entry;
  double score;
  const char *others; /* the entry's other matching names (arena), or NULL */
} scored;

typedef struct {
  float sim;
  float weight;
  uint64_t qm, cm;
  uint8_t qi, cj, type;
} edge;

enum { E_WORD, E_QJOIN, E_CJOIN, E_INITIAL, E_QJOIN3, E_CJOIN3 };

/* How Arabic compound names run together: "Salah al-Din" is also
 * "Salahaldin", "Salahuddin", "Salahidin"; the article is written al, ul,
 * ud, ad, ed, a vowel, or nothing. */
static const char *const links[] = {"", "al", "ul", "ud", "ad", "ed", "u", "i", "e", "a"};
#define NLINKS (sizeof links / sizeof *links)
#define LINKS_KEPT 4

static bool compound_like(const char *s, size_t n) {
  return (n > 6 && (!memcmp(s + n - 3, "din", 3) || !memcmp(s + n - 4, "deen", 4))) ||
         !memcmp(s, "abd", 3);
}

static bool is_article(const char *s, size_t n) {
  return n == 2 && (!memcmp(s, "al", 2) || !memcmp(s, "ul", 2) || !memcmp(s, "ud", 2) ||
                    !memcmp(s, "ad", 2) || !memcmp(s, "ed", 2));
}

/* A listed word's row of word_sim values (work->memo, by token id). */
typedef struct {
  uint32_t query; /* the query the row is for */
  uint32_t row;   /* into work->sims */
} tok_memo;

struct ag_screen_work {
  sx_norm norm;
  qword q[SX_NORM_TOKENS_MAX];
  size_t nq;
  float wq;   /* total query weight */
  float rare; /* the weight from which a word is distinctive */
  /* the least align's query total can be: weak words weighed down or not
   * (below_floor) */
  double wq_least[2];
  uint64_t len_mask; /* bit n: a query word has n letters (n < 64) */
  bool splits;       /* a query word has X_SPLIT expansions */
  qexp *x;
  size_t nx, x_cap;
  uint32_t join_tok[SX_NORM_TOKENS_MAX]; /* exact token of q[i] q[i+1] joined */
  /* listed words q[i] and q[i+1] (or q[i+2] after an article) make when
   * run together with a link (links[]): Salah al Din = salahuddin */
  uint32_t link_tok[SX_NORM_TOKENS_MAX][LINKS_KEPT];
  bool link_art[SX_NORM_TOKENS_MAX];
  float *acc;
  uint8_t *distinct; /* a name was reached through a distinctive word */
  uint32_t *touched;
  size_t acc_n;
  cand *c;
  size_t nc, c_cap;
  scored *sc;
  size_t nsc, sc_cap;
  edge *e;
  size_t e_cap;
  ag_screen_match *m;
  size_t m_cap;
  tok_memo *memo;
  size_t memo_n;
  uint32_t query; /* the current query's number (memo) */
  float *sims;    /* rows of nq word_sim values (sim_row) */
  size_t nsims, sims_cap;
  ag_arena arena;
  ag_buf tmp;
};

void ag_screen_result_init(ag_screen_result *r) {
  memset(r, 0, sizeof *r);
}

void ag_screen_result_free(ag_screen_result *r) {
  ag_screen_work *w = r->work;
  if (w) {
    sx_norm_free(&w->norm);
    free(w->x);
    free(w->acc);
    free(w->distinct);
    free(w->touched);
    free(w->c);
    free(w->sc);
    free(w->e);
    free(w->m);
    free(w->memo);
    free(w->sims);
    ag_arena_free(&w->arena);
    ag_buf_free(&w->tmp);
    free(w);
  }
  memset(r, 0, sizeof *r);
}

static ag_status nomem(ag_error *err) {
  return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory while screening");
}

static ag_screen_work *work_for(ag_screen_result *r, size_t n_names, size_t n_tokens) {
  ag_screen_work *w = r->work;
  if (!w) {
    w = calloc(1, sizeof *w);
    if (!w)
      return NULL;
    sx_norm_init(&w->norm);
    ag_arena_init(&w->arena, 16384);
    ag_buf_init(&w->tmp);
    r->work = w;
  }
  if (w->acc_n < n_names) {
    free(w->acc);
    free(w->distinct);
    free(w->touched);
    w->acc = calloc(n_names, sizeof *w->acc);
    w->distinct = calloc(n_names, sizeof *w->distinct);
    w->touched = malloc(n_names * sizeof *w->touched);
    if (!w->acc || !w->distinct || !w->touched) {
      free(w->acc);
      free(w->distinct);
      free(w->touched);
      w->acc = NULL;
      w->distinct = NULL;
      w->touched = NULL;
      w->acc_n = 0;
      return NULL;
    }
    w->acc_n = n_names;
  }
  if (w->memo_n < n_tokens) {
    free(w->memo);
    w->memo = calloc(n_tokens, sizeof *w->memo);
    w->memo_n = w->memo ? n_tokens : 0;
    w->query = 0;
    if (!w->memo)
      return NULL;
  }
  return w;
}

/* ---- query words and their expansions ---- */

static bool add_x(ag_screen_work *w, uint32_t tok, float sim, size_t qi, int kind) {
  qexp x = {tok, sim, (uint8_t)qi, (uint8_t)kind};
  return SX_PUSH(w->x, w->nx, w->x_cap, x);
}

/* Edits tolerated between two words: one from SX_ONE_EDIT_LEN letters,
 * two from SX_TWO_EDITS_LEN (the longer word decides: a letter dropped from
 * an eight-letter word leaves seven), none below. */
static int typo_edits(size_t la, size_t lb) {
  size_t hi = la > lb ? la : lb;
  if (hi < SX_ONE_EDIT_LEN || (la < 2 || lb < 2))
    return 0;
  return hi >= SX_TWO_EDITS_LEN ? 2 : 1;
}

/* Similarity credited to two spellings d edits apart (optimal string
 * alignment, within typo_edits): Jaro-Winkler with its shortfall from 1
 * counted FUZZY_K times, since one letter can turn a name into another
 * name (Sophos, Sophon), but never under TYPO1_SIM / TYPO2_SIM, so that a
 * short word with one typo ("Aqa" for "Aqsa") or a long one with two is
 * still read as that word. */
static float typo_sim(const char *a, size_t la, const char *b, size_t lb, int d) {
  double s = 1.0 - FUZZY_K * (1.0 - sx_jaro_winkler(a, la, b, lb));
  /* the longer the word, the surer a typo is one: the floor rises by
   * TYPO_SIM_STEP a letter, up to TYPO_SIM_MAX */
  size_t hi = la > lb ? la : lb;
  double floor = d <= 1 ? TYPO1_SIM + TYPO_SIM_STEP * ((double)hi - 4)
                        : TYPO2_SIM + TYPO_SIM_STEP * ((double)hi - SX_TWO_EDITS_LEN);
  floor = floor < (d <= 1 ? TYPO1_SIM : TYPO2_SIM) ? (d <= 1 ? TYPO1_SIM : TYPO2_SIM) : floor;
  if (floor > TYPO_SIM_MAX)
    floor = TYPO_SIM_MAX;
  return (float)(s > floor ? s : floor);
}

/* The distance between two words if it is within typo_edits, else -1. A
 * two-letter word is only a three-letter one with a letter dropped after
 * its first ("Kl" for "Kal"). */
static int typo_distance(const char *a, size_t la, uint64_t a_letters, const char *b, size_t lb) {
  int maxd = typo_edits(la, lb);
  if (!maxd || ((la < 3 || lb < 3) && a[0] != b[0]))
    return -1;
  /* an edit adds or removes at most two letters from the set of letters */
  if (sx_popcount(a_letters ^ sx_letter_set(b, lb)) > 2 * maxd)
    return -1;
  int d = sx_osa_distance(a, la, b, lb, maxd);
  return d <= maxd ? d : -1;
}

static float unknown_weight(const sx_view *v) {
  return (float)log(((double)v->h->n_names + 1.0) / 1.5);
}

/* A query word whose typo neighbours are looked for. */
typedef struct {
  size_t qi;     /* the query word */
  size_t from;   /* its neighbours are w->x[from..] */
  const char *s; /* spelt so: the word, or the word without a plural's -s */
  size_t len;
  uint64_t letters; /* sx_letter_set of s */
} probe_word;

/* Adds listed word t as a typo neighbour of the query word. */
static bool add_fuzzy(ag_screen_work *w, const sx_view *v, const probe_word *q, uint32_t t) {
  if (t == w->q[q->qi].tok)
    return true;
  for (size_t j = q->from; j < w->nx; j++)
    if (w->x[j].tok == t)
      return true;
  const sx_token *tk = &v->tokens[t];
  const char *ts = sx_str(v, tk->str);
  int d = typo_distance(q->s, q->len, q->letters, ts, tk->len);
  if (d < 1)
    return true;
  return add_x(w, t, typo_sim(q->s, q->len, ts, tk->len, d), q->qi, X_FUZZY);
}

/* Looks up deletion string p (its sx_hash h) among the listed words and
 * their deletions. */
static bool probe(const sx_view *v, ag_screen_work *w, const probe_word *q, const char *p,
                  size_t pl, uint32_t h) {
  uint32_t t = sx_view_find_hashed(v, h, p, pl);
  if (t != NONE && !add_fuzzy(w, v, q, t))
    return false;
  uint32_t b = h >> (32 - v->h->del_bits);
  for (uint32_t i = v->delbuckets[b]; i < v->delbuckets[b + 1]; i++)
    if (v->dels[i].hash == h && !add_fuzzy(w, v, q, v->dels[i].token))
      return false;
  return true;
}

/* The word itself (the listed word has a letter more, or two), its
 * one-letter deletions (substitution, transposition, or the query has one
 * letter more) and, for long words, its two-letter deletions: the index
 * holds the listed words' one- and two-letter deletions. */
static bool probe_all(const sx_view *v, ag_screen_work *w, size_t qi, size_t from, const char *qs,
                      size_t ql) {
  char d[72], d2[72];
  const probe_word q = {qi, from, qs, ql, sx_letter_set(qs, ql)};
  if (!probe(v, w, &q, qs, ql, sx_hash(qs, ql)))
    return false;
  if (ql < 2 || ql > 64)
    return true; /* fuzzy asks for two to 64 letters */
  bool two = ql + 1 >= SX_TWO_EDITS_LEN;
  /* d is qs without letter k, d2 is d without letter m: each next one
   * differs from the last in one letter, and its hash continues the hash
   * of the prefix it shares with qs (hk) or d (hm) */
  memcpy(d, qs + 1, ql - 1);
  uint32_t hk = SX_HASH_SEED;
  for (size_t k = 0; k < ql; k++) {
    if (k > 0) {
      d[k - 1] = qs[k - 1];
      hk = sx_hash_more(hk, qs + k - 1, 1);
    }
    if (k > 0 && qs[k] == qs[k - 1])
      continue;
    if (!probe(v, w, &q, d, ql - 1, sx_hash_more(hk, d + k, ql - 1 - k)))
      return false;
    if (!two || k + 1 >= ql)
      continue;
    memcpy(d2, d, k);
    memcpy(d2 + k, d + k + 1, ql - 2 - k);
    uint32_t hm = hk;
    for (size_t m = k; m + 1 < ql; m++) {
      if (m > k) {
        d2[m - 1] = d[m - 1];
        hm = sx_hash_more(hm, d + m - 1, 1);
      }
      if (m > k && d[m] == d[m - 1])
        continue;
      if (!probe(v, w, &q, d2, ql - 2, sx_hash_more(hm, d + m + 1, ql - 2 - m)))
        return false;
    }
  }
  return true;
}

/* Typo neighbours of word q through the deletion table; kept in
 * w->x[from..] sorted by similarity, at most FUZZY_MAX. */
static bool fuzzy(const sx_view *v, ag_screen_work *w, size_t qi) {
  const qword *q = &w->q[qi];
  if (q->len < 2 || q->len > 64 || (q->flags & SX_TOK_NUMBER))
    return true;
  size_t from = w->nx;
  if (!probe_all(v, w, qi, from, q->s, q->len))
    return false;
  /* a typo in a plural's ending escapes the stemming the listed word had
   * ("Parnteys" is "partner" two edits away once its -s goes) */
  if (q->tok == NONE && q->len >= 5 && q->s[q->len - 1] == 's' &&
      !probe_all(v, w, qi, from, q->s, q->len - 1u))
    return false;
  /* a typo in a spelling the romanisation table maps ("Mohamemd" is
   * muhammad, which "mohammed" was turned into) */
  const char *sp;
  int rd;
  const char *canon = q->tok == NONE ? sx_romanisation_typo(q->s, q->len, &sp, &rd) : NULL;
  if (canon) {
    uint32_t t = sx_view_find(v, canon, strlen(canon));
    bool dup = t == NONE;
    for (size_t j = from; j < w->nx && !dup; j++)
      dup = w->x[j].tok == t;
    if (!dup && !add_x(w, t, typo_sim(q->s, q->len, sp, strlen(sp), rd), qi, X_FUZZY))
      return false;
  }
  /* a letter mistyped or two swapped in an abbreviation the normaliser
   * would have written out: "Tehc" is "Tech", that is "Technology" (not a
   * letter more or less: "Intel" is not "Intl") */
  const char *ab, *word;
  for (size_t a = 0; q->tok == NONE && sx_abbrev(a, &ab, &word); a++) {
    size_t al = strlen(ab);
    if (al != q->len || al < 4 || q->s[0] != ab[0] || sx_osa_distance(q->s, q->len, ab, al, 1) > 1)
      continue;
    uint32_t t = sx_view_find(v, word, strlen(word));
    bool dup = t == NONE;
    for (size_t j = from; j < w->nx && !dup; j++)
      dup = w->x[j].tok == t;
    if (!dup && !add_x(w, t, typo_sim(q->s, q->len, ab, al, 1), qi, X_FUZZY))
      return false;
  }
  /* keep the best FUZZY_MAX (insertion sort: few elements) */
  for (size_t i = from + 1; i < w->nx; i++) {
    qexp t = w->x[i];
    size_t j = i;
    while (j > from &&
           (w->x[j - 1].sim < t.sim || (w->x[j - 1].sim == t.sim && w->x[j - 1].tok > t.tok))) {
      w->x[j] = w->x[j - 1];
      j--;
    }
    w->x[j] = t;
  }
  if (w->nx - from > FUZZY_MAX)
    w->nx = from + FUZZY_MAX;
  return true;
}

static ag_status prepare_query(const sx_view *v, ag_screen_work *w, ag_error *err) {
  sx_norm *n = &w->norm;
  w->nq = n->ntok;
  w->nx = 0;
  /* a new query number: rows of earlier queries no longer count (on
   * wrap-around the memo is cleared) */
  if (++w->query == 0) {
    memset(w->memo, 0, w->memo_n * sizeof *w->memo);
    w->query = 1;
  }
  w->nsims = 0;
  w->wq = 0;
  float wu = unknown_weight(v);
  /* distinctive: rarer than about 1 name in 1,000 (in small lists: close to
   * the rarest) */
  w->rare = wu - 1.5f < (float)RARE_IDF ? wu - 1.5f : (float)RARE_IDF;
  for (size_t i = 0; i < w->nq; i++) {
    qword *q = &w->q[i];
    q->s = sx_norm_tok(n, i);
    q->len = n->tok[i].len;
    q->flags = n->tok[i].flags;
    q->tok = sx_view_find(v, q->s, q->len);
    /* a legal-form word with a typo ("Compmany") is that legal form */
    const char *lf = NULL;
    if (q->tok == NONE && !(q->flags & (SX_TOK_LEGAL | SX_TOK_STOP | SX_TOK_NUMBER)) &&
        (lf = sx_legal_typo(q->s, q->len)) != NULL) {
      q->s = lf;
      q->len = (uint16_t)strlen(lf);
      q->flags = sx_word_flags(lf, q->len);
      q->tok = sx_view_find(v, q->s, q->len);
    }
    if (q->tok != NONE)
      q->flags |= v->tokens[q->tok].flags & SX_TOK_GENERIC; /* from the lists' words */
    q->letters = sx_letter_set(q->s, q->len);
    q->xs = (uint16_t)w->nx;
    if (q->tok != NONE && !add_x(w, q->tok, 1.0f, i, X_EXACT))
      return nomem(err);
    if (!(q->flags & (SX_TOK_LEGAL | SX_TOK_STOP | SX_TOK_INITIAL)) && !fuzzy(v, w, i))
      return nomem(err);
    /* a long unknown word may be two listed words run together */
    if (q->tok == NONE && q->len >= 5 && !(q->flags & SX_TOK_NUMBER)) {
      for (size_t k = 2; k + 2 <= q->len; k++) {
        char ha[96], hb[96];
        if ((size_t)q->len + 24 >= sizeof ha)
          break;
        memcpy(ha, q->s, k);
        uint32_t a = sx_view_find(v, ha, sx_canon(ha, k));
        if (a == NONE)
          continue; /* the second half matters only with the first */
        memcpy(hb, q->s + k, q->len - k);
        uint32_t b = sx_view_find(v, hb, sx_canon(hb, q->len - k));
        if (b != NONE) {
          /* a pair: X_SPLIT entries always come two by two */
          if (!add_x(w, a, 1.0f, i, X_SPLIT) || !add_x(w, b, 1.0f, i, X_SPLIT))
            return nomem(err);
          break;
        }
      }
    }
    /* ... or a compound name with its article run in ("Salahidin" is
     * salah + din, listed as "Salah al-Din"): any unknown word, and a
     * listed one that looks like such a name (... al-Din, Abd al-...) */
    if (!(q->flags & SX_TOK_NUMBER) && q->len >= 7 &&
        (q->tok == NONE || compound_like(q->s, q->len))) {
      size_t found = 0;
      for (size_t k = 3; found < 3 && k + 4 <= q->len; k++)
        for (size_t l = 1; l < NLINKS && found < 3; l++) {
          size_t ll = strlen(links[l]);
          if (k + ll + 3 > q->len || memcmp(q->s + k, links[l], ll))
            continue;
          uint32_t a = sx_view_find(v, q->s, k),
                   b = sx_view_find(v, q->s + k + ll, q->len - k - ll);
          if (a != NONE && b != NONE) {
            if (!add_x(w, a, 1.0f, i, X_SPLIT) || !add_x(w, b, 1.0f, i, X_SPLIT))
              return nomem(err);
            found++;
          }
        }
    }
    q->xe = (uint16_t)w->nx;
    if (q->tok != NONE)
      q->w = v->tokens[q->tok].weight;
    else if (q->flags & SX_TOK_LEGAL)
      q->w = SX_W_LEGAL;
    else if (q->flags & SX_TOK_STOP)
      q->w = SX_W_STOP;
    else if (q->flags & SX_TOK_INITIAL)
      q->w = SX_W_INITIAL;
    else {
      q->w = wu;
      for (size_t j = q->xs; j < q->xe; j++)
        if (w->x[j].kind == X_FUZZY) {
          q->w = v->tokens[w->x[j].tok].weight; /* the best neighbour's */
          break;
        }
    }
    w->wq += q->w;
  }
  /* as align sums them, each word at its least */
  w->wq_least[0] = w->wq_least[1] = 0;
  w->len_mask = 0;
  w->splits = false;
  for (size_t i = 0; i < w->nq; i++) {
    const qword *q = &w->q[i];
    if (q->len < 64)
      w->len_mask |= 1ull << q->len;
    for (size_t x = q->xs; x < q->xe; x++)
      w->splits |= w->x[x].kind == X_SPLIT;
    w->wq_least[0] += q->w;
    w->wq_least[1] += (q->flags & SX_TOK_WEAK) ? sx_weak_weight(q->flags, q->w) : q->w;
  }
  /* adjacent words joined */
  for (size_t i = 0; i + 1 < w->nq; i++) {
    w->join_tok[i] = NONE;
    const qword *a = &w->q[i], *b = &w->q[i + 1];
    char j[160];
    if ((size_t)a->len + b->len + 24 >= sizeof j)
      continue;
    memcpy(j, a->s, a->len);
    memcpy(j + a->len, b->s, b->len);
    size_t jl = sx_canon(j, (size_t)a->len + b->len); /* "enterpr ises" -> enterprise */
    uint32_t t = sx_view_find(v, j, jl);
    /* ... or as written: "tech nology" -> technology, not "technology nology" */
    size_t ra = n->tok[i].raw_len, rb = n->tok[i + 1].raw_len;
    if (t == NONE &&
        (ra != a->len || rb != b->len || n->tok[i].raw_off != n->tok[i].off ||
         n->tok[i + 1].raw_off != n->tok[i + 1].off) &&
        ra + rb + 24 < sizeof j) {
      memcpy(j, sx_norm_raw(n, i), ra);
      memcpy(j + ra, sx_norm_raw(n, i + 1), rb);
      jl = sx_canon(j, ra + rb);
      t = sx_view_find(v, j, jl);
    }
    /* a compound name written apart: "Salah Din", "Salah al Din" is
     * "Salahuddin" */
    bool art = i + 2 < w->nq && is_article(b->s, b->len);
    const qword *c = art ? &w->q[i + 2] : b;
    size_t nl = 0;
    w->link_art[i] = art;
    for (size_t l = art ? 0 : 1; l < NLINKS && nl < LINKS_KEPT; l++) {
      size_t ll = strlen(links[l]);
      if (a->len < 3 || c->len < 3 || (size_t)a->len + ll + c->len >= sizeof j)
        break;
      memcpy(j, a->s, a->len);
      memcpy(j + a->len, links[l], ll);
      memcpy(j + a->len + ll, c->s, c->len);
      uint32_t u = sx_view_find(v, j, a->len + ll + c->len);
      if (u == NONE || u == t)
        continue;
      w->link_tok[i][nl++] = u;
      if (!add_x(w, u, 1.0f, i, X_JOIN))
        return nomem(err);
    }
    for (; nl < LINKS_KEPT; nl++)
      w->link_tok[i][nl] = NONE;
    w->join_tok[i] = t;
    if (t != NONE && !add_x(w, t, 1.0f, i, X_JOIN))
      return nomem(err);
  }
  return AG_OK;
}

/* ---- scoring one listed name ---- */

static float word_sim(const sx_view *v, const ag_screen_work *w, size_t qi, uint32_t t) {
  const qword *q = &w->q[qi];
  if (q->tok == t)
    return 1.0f;
  for (size_t j = q->xs; j < q->xe; j++)
    if (w->x[j].tok == t && w->x[j].kind == X_FUZZY)
      return w->x[j].sim;
  const sx_token *tk = &v->tokens[t];
  const char *ts = sx_str(v, tk->str);
  /* an initial against a full word */
  if ((q->flags & SX_TOK_INITIAL) && tk->len > 1 && ts[0] == q->s[0] &&
      !(tk->flags & (SX_TOK_LEGAL | SX_TOK_STOP)))
    return INITIAL_SIM;
  if ((tk->flags & SX_TOK_INITIAL) && q->len > 1 && ts[0] == q->s[0] &&
      !(q->flags & (SX_TOK_LEGAL | SX_TOK_STOP)))
    return INITIAL_SIM;
  /* close spellings retrieval did not keep (beyond FUZZY_MAX) */
  if (!(q->flags & (SX_TOK_NUMBER | SX_TOK_LEGAL | SX_TOK_STOP)) &&
      !(tk->flags & (SX_TOK_LEGAL | SX_TOK_STOP)) && abs((int)q->len - (int)tk->len) <= 2) {
    int d = typo_distance(q->s, q->len, q->letters, ts, tk->len);
    if (d >= 1)
      return typo_sim(q->s, q->len, ts, tk->len, d);
  }
  return 0.0f;
}

/* word_sim of listed word t against each query word, remembered for the
 * query: the candidates of one query share most of their words (legal
 * forms, common words, the word searched for). Returns the row's index in
 * w->sims, or NONE without memory for it. */
static uint32_t sim_row(const sx_view *v, ag_screen_work *w, uint32_t t) {
  tok_memo *m = &w->memo[t];
  if (m->query == w->query)
    return m->row;
  if (!sx_grow((void **)&w->sims, &w->sims_cap, (w->nsims + 1) * w->nq, sizeof *w->sims))
    return NONE;
  m->query = w->query;
  m->row = (uint32_t)w->nsims++;
  for (size_t i = 0; i < w->nq; i++)
    w->sims[m->row * w->nq + i] = word_sim(v, w, i, t);
  return m->row;
}

static int cmp_edge(const void *a, const void *b) {
  const edge *x = a, *y = b;
  if (x->sim != y->sim)
    return x->sim > y->sim ? -1 : 1;
  if (x->weight != y->weight)
    return x->weight > y->weight ? -1 : 1;
  if (x->qi != y->qi)
    return x->qi < y->qi ? -1 : 1;
  return x->cj < y->cj ? -1 : x->cj > y->cj;
}

typedef struct {
  double cov_c, cov_q;
  uint64_t weak_c, weak_q; /* unmatched words weighted down (place, common) */
  edge used[SX_NORM_TOKENS_MAX];
  size_t nused;
} align_info;

static bool push_edge(ag_screen_work *w, size_t *ne, edge e) {
  if (!sx_grow((void **)&w->e, &w->e_cap, *ne + 1, sizeof *w->e))
    return false;
  w->e[(*ne)++] = e;
  return true;
}

/* A distinctive word: rare, and not a legal form, connective, initial,
 * number, place name or common word. */
static bool is_distinctive(const ag_screen_work *w, const sx_token *t) {
  return t->weight >= w->rare &&
         !(t->flags & (SX_TOK_LEGAL | SX_TOK_STOP | SX_TOK_INITIAL | SX_TOK_NUMBER | SX_TOK_WEAK));
}

/* Listed word t is one the query reached in retrieval, closely enough to
 * count as distinctive evidence (run_index marks the same names). */
static bool reached(const ag_screen_work *w, uint32_t t) {
  for (size_t k = 0; k < w->nx; k++)
    if (w->x[k].tok == t && w->x[k].sim >= RARE_SIM)
      return true;
  return false;
}

/* The least name nm can weigh: its place names and common words weighted
 * down (see align). */
static float least_weight(const sx_view *v, const sx_name *nm) {
  if (nm->flags & SX_NAME_NO_DISCOUNT)
    return nm->weight;
  const uint32_t *ct = v->nametoks + nm->tok_off;
  float sum = 0;
  for (size_t j = 0; j < nm->ntok; j++) {
    const sx_token *t = &v->tokens[ct[j]];
    sum += (t->flags & SX_TOK_WEAK) ? sx_weak_weight(t->flags, t->weight) : t->weight;
  }
  return sum;
}

/* Whether align's score for name nm, with edges w->e[0..ne), is surely
 * below floor, before they are sorted and chosen. Proof: the chosen edges
 * share no word, so each listed word j adds at most its weight times the
 * best similarity of an edge holding it (an initial's capped weight is
 * less): mc <= sum_j w_j * best_j; likewise mq. The totals tc and tq are
 * at least the sums of each word's least weight (weak words weighed down,
 * which align does only for names it may discount), summed in align's
 * order, so no rounding makes them larger than align's. Then the score
 * cov_c^ALPHA * cov_q^(1-ALPHA) is at most ALPHA * cov_c + (1-ALPHA) *
 * cov_q (weighted means: geometric <= arithmetic). The margin covers
 * rounding in sums taken in another order (relative error below 1e-13
 * for 64 words) and in pow. */
static bool below_floor(const sx_view *v, const ag_screen_work *w, const sx_name *nm, size_t ne,
                        double floor) {
  const uint32_t *ct = v->nametoks + nm->tok_off;
  float best_q[SX_NORM_TOKENS_MAX] = {0}, best_c[SX_NORM_TOKENS_MAX] = {0};
  for (size_t k = 0; k < ne; k++) {
    const edge *e = &w->e[k];
    for (uint64_t m = e->qm; m; m &= m - 1)
      if (best_q[__builtin_ctzll(m)] < e->sim)
        best_q[__builtin_ctzll(m)] = e->sim;
    for (uint64_t m = e->cm; m; m &= m - 1)
      if (best_c[__builtin_ctzll(m)] < e->sim)
        best_c[__builtin_ctzll(m)] = e->sim;
  }
  bool may_discount = !(nm->flags & SX_NAME_NO_DISCOUNT);
  double mq = 0, mc = 0, tc = 0, tq = w->wq_least[may_discount];
  for (size_t i = 0; i < w->nq; i++)
    mq += w->q[i].w * best_q[i];
  for (size_t j = 0; j < nm->ntok; j++) {
    const sx_token *t = &v->tokens[ct[j]];
    mc += t->weight * best_c[j];
    float least = t->weight;
    if (may_discount && (t->flags & SX_TOK_WEAK))
      least = sx_weak_weight(t->flags, t->weight);
    tc += least;
  }
  if (tc <= 0 || tq <= 0)
    return false;
  double cov_c = mc / tc > 1 ? 1 : mc / tc, cov_q = mq / tq > 1 ? 1 : mq / tq;
  return ALPHA * cov_c + (1.0 - ALPHA) * cov_q + 1e-9 < floor;
}

/* Aligns the query with name nm; returns the score (0 on out of memory).
 * With floor > 0, 0 also where the score is surely below floor. */
static double align(const sx_view *v, ag_screen_work *w, const sx_name *nm, align_info *ai,
                    double floor) {
  const uint32_t *ct = v->nametoks + nm->tok_off;
  size_t nc = nm->ntok, nq = w->nq, ne = 0;
  if (ai)
    memset(ai, 0, offsetof(align_info, used));
  if (!nc || !nq || nm->weight <= 0 || w->wq <= 0)
    return 0;
  uint32_t rows[SX_NORM_TOKENS_MAX];
  for (size_t j = 0; j < nc; j++)
    rows[j] = sim_row(v, w, ct[j]);
  for (size_t i = 0; i < nq; i++)
    for (size_t j = 0; j < nc; j++) {
      float s = rows[j] != NONE ? w->sims[rows[j] * nq + i] : word_sim(v, w, i, ct[j]);
      if (s <= 0)
        continue;
      bool initial = s == INITIAL_SIM &&
                     ((w->q[i].flags | v->tokens[ct[j]].flags) & SX_TOK_INITIAL) &&
                     w->q[i].tok != ct[j];
      edge e = {s,          w->q[i].w + v->tokens[ct[j]].weight, 1ull << i, 1ull << j, (uint8_t)i,
                (uint8_t)j, initial ? E_INITIAL : E_WORD};
      if (!push_edge(w, &ne, e))
        return 0;
    }
  /* query words joined = one listed word */
  for (size_t i = 0; i + 1 < nq; i++) {
    if (w->join_tok[i] == NONE)
      continue;
    for (size_t j = 0; j < nc; j++)
      if (ct[j] == w->join_tok[i]) {
        edge e = {1.0f,       w->q[i].w + w->q[i + 1].w + v->tokens[ct[j]].weight,
                  3ull << i,  1ull << j,
                  (uint8_t)i, (uint8_t)j,
                  E_QJOIN};
        if (!push_edge(w, &ne, e))
          return 0;
      }
  }
  /* two query words run together with a link, or three with an article
   * in the middle, = one listed word */
  for (size_t i = 0; i + 1 < nq; i++)
    for (size_t k = 0; k < LINKS_KEPT && w->link_tok[i][k] != NONE; k++)
      for (size_t j = 0; j < nc; j++)
        if (ct[j] == w->link_tok[i][k]) {
          bool art = w->link_art[i];
          edge e = {1.0f,
                    w->q[i].w + w->q[i + 1].w + (art ? w->q[i + 2].w : 0) + v->tokens[ct[j]].weight,
                    (art ? 7ull : 3ull) << i,
                    1ull << j,
                    (uint8_t)i,
                    (uint8_t)j,
                    art ? E_QJOIN3 : E_QJOIN};
          if (!push_edge(w, &ne, e))
            return 0;
        }
  /* a query word = two listed words joined: split pairs found in the
   * dictionary ("exportersand" = exporter + and), with or without an
   * article between them ("Salahidin" = "Salah al-Din") */
  for (size_t i = 0; i < nq && w->splits; i++)
    for (size_t x = w->q[i].xs; x + 1 < w->q[i].xe; x++) {
      if (w->x[x].kind != X_SPLIT)
        continue;
      uint32_t a = w->x[x].tok, b = w->x[x + 1].tok;
      x++;
      for (size_t j = 0; j + 1 < nc; j++) {
        if (ct[j] == a && ct[j + 1] == b) {
          edge e = {1.0f,       w->q[i].w + v->tokens[a].weight + v->tokens[b].weight,
                    1ull << i,  3ull << j,
                    (uint8_t)i, (uint8_t)j,
                    E_CJOIN};
          if (!push_edge(w, &ne, e))
            return 0;
        }
        const sx_token *m = &v->tokens[ct[j + 1]];
        if (ct[j] == a && j + 2 < nc && ct[j + 2] == b && is_article(sx_str(v, m->str), m->len)) {
          edge e = {1.0f,       w->q[i].w + v->tokens[a].weight + m->weight + v->tokens[b].weight,
                    1ull << i,  7ull << j,
                    (uint8_t)i, (uint8_t)j,
                    E_CJOIN3};
          if (!push_edge(w, &ne, e))
            return 0;
        }
      }
    }
  /* ... and the same by spelling, for a query word that is itself listed */
  for (size_t j = 0; j + 1 < nc; j++) {
    const sx_token *a = &v->tokens[ct[j]], *b = &v->tokens[ct[j + 1]];
    size_t ab = (size_t)a->len + b->len;
    if (ab < 64 && !(w->len_mask >> ab & 1))
      continue; /* no query word that long */
    for (size_t i = 0; i < nq; i++) {
      const qword *q = &w->q[i];
      if (q->len != a->len + b->len || memcmp(q->s, sx_str(v, a->str), a->len) ||
          memcmp(q->s + a->len, sx_str(v, b->str), b->len))
        continue;
      edge e = {1.0f,   q->w + a->weight + b->weight, 1ull << i, 3ull << j, (uint8_t)i, (uint8_t)j,
                E_CJOIN};
      if (!push_edge(w, &ne, e))
        return 0;
    }
  }
  if (floor > 0 && below_floor(v, w, nm, ne, floor))
    return 0;
  if (ne > 1)
    qsort(w->e, ne, sizeof *w->e, cmp_edge);
  uint64_t qm = 0, cm = 0;
  double mq = 0, mc = 0;
  bool distinct = false; /* a distinctive listed word is matched */
  if (ai)
    ai->nused = 0;
  for (size_t k = 0; k < ne; k++) {
    const edge *e = &w->e[k];
    if ((e->qm & qm) || (e->cm & cm))
      continue;
    qm |= e->qm;
    cm |= e->cm;
    if (e->type != E_INITIAL && e->sim >= RARE_SIM)
      for (size_t j = 0; j < nc && !distinct; j++)
        distinct =
            (e->cm & (1ull << j)) && is_distinctive(w, &v->tokens[ct[j]]) && reached(w, ct[j]);
    /* an initial vouches for a full word only as much as an initial weighs */
    for (size_t i = 0; i < nq; i++)
      if (e->qm & (1ull << i)) {
        float wi = w->q[i].w;
        if (e->type == E_INITIAL && wi > INITIAL_W)
          wi = INITIAL_W;
        mq += wi * e->sim;
      }
    for (size_t j = 0; j < nc; j++)
      if (e->cm & (1ull << j)) {
        float wj = v->tokens[ct[j]].weight;
        if (e->type == E_INITIAL && wj > INITIAL_W)
          wj = INITIAL_W;
        mc += wj * e->sim;
      }
    if (ai && ai->nused < SX_NORM_TOKENS_MAX)
      ai->used[ai->nused++] = *e;
  }
  /* Where the name's distinctive words are matched, a place name or a
   * common word that one side lacks weighs little: "Hikvision Digital
   * Technology" is "Hangzhou Hikvision Digital Technology Co., Ltd.". Only
   * when everything either side lacks is such a word (or a legal form or
   * connective): a query with a word of its own ("Arcadia Data Systems"),
   * or a name with one the query lacks, is another party as often as not.
   * A listed place or common word also counts in full when the query has
   * another word of the same kind instead (a different city). Not for
   * individuals or vessels (SX_NAME_NO_DISCOUNT). */
  double tc = 0, tq = 0;
  uint64_t weak_c = 0, weak_q = 0;
  bool discount = distinct && !(nm->flags & SX_NAME_NO_DISCOUNT);
  uint8_t q_weak = 0; /* kinds of weak words the query has unmatched */
  const uint8_t minor = SX_TOK_LEGAL | SX_TOK_STOP | SX_TOK_WEAK;
  for (size_t i = 0; i < nq && discount; i++)
    if (!(qm & (1ull << i))) {
      if (!(w->q[i].flags & minor))
        discount = false;
      q_weak |= w->q[i].flags & SX_TOK_WEAK;
    }
  for (size_t j = 0; j < nc && discount; j++)
    if (!(cm & (1ull << j)) && !(v->tokens[ct[j]].flags & minor))
      discount = false;
  for (size_t i = 0; i < nq; i++) {
    float wi = w->q[i].w;
    if (discount && !(qm & (1ull << i)) && (w->q[i].flags & SX_TOK_WEAK)) {
      float d = sx_weak_weight(w->q[i].flags, wi);
      if (d < wi) {
        wi = d;
        weak_q |= 1ull << i;
      }
    }
    tq += wi;
  }
  for (size_t j = 0; j < nc; j++) {
    const sx_token *t = &v->tokens[ct[j]];
    float wj = t->weight;
    if (discount && !(cm & (1ull << j)) && (t->flags & SX_TOK_WEAK) &&
        !(t->flags & q_weak & SX_TOK_WEAK)) {
      float d = sx_weak_weight(t->flags, wj);
      if (d < wj) {
        wj = d;
        weak_c |= 1ull << j;
      }
    }
    tc += wj;
  }
  if (ai) {
    ai->weak_c = weak_c;
    ai->weak_q = weak_q;
  }
  if (tc <= 0 || tq <= 0)
    return 0;
  double cov_c = mc / tc, cov_q = mq / tq;
  if (cov_c > 1)
    cov_c = 1;
  if (cov_q > 1)
    cov_q = 1;
  if (ai) {
    ai->cov_c = cov_c;
    ai->cov_q = cov_q;
  }
  if (cov_c <= 0 || cov_q <= 0)
    return 0;
  return pow(cov_c, ALPHA) * pow(cov_q, 1.0 - ALPHA);
}

/* ---- candidates ---- */

/* Keeps (about) the k highest bounds, in O(n): a histogram of the bounds
 * gives the cut-off; ties at the cut-off are taken in order. */
static size_t select_top(cand *c, size_t n, size_t k) {
  enum { NB = 256 };
  size_t hist[NB] = {0};
  for (size_t i = 0; i < n; i++)
    hist[(size_t)(c[i].ub * (NB - 1))]++;
  size_t cut = NB, above = 0;
  while (cut > 0 && above + hist[cut - 1] <= k)
    above += hist[--cut];
  size_t m = 0, at_cut = 0;
  for (size_t i = 0; i < n; i++) {
    size_t bk = (size_t)(c[i].ub * (NB - 1));
    if (bk >= cut || (cut > 0 && bk == cut - 1 && at_cut++ < k - above))
      c[m++] = c[i];
  }
  return m;
}

static int list_rank(const sx_view *v, uint32_t entry) {
  const char *code = sx_str(v, v->lists[v->entries[entry].list].code);
  static const char *const order[] = {"EL", "DPL", "SDN", "MEU", "UVL", "ISN", "DTC"};
  for (int i = 0; i < 7; i++)
    if (!strcmp(code, order[i]))
      return i;
  return 7;
}

/* A listed entry is its list and its id: the same entry loaded from two
 * files (the SDN file and the CSL) is one entry. Strings are pooled, so
 * equal offsets are equal strings. */
static uint64_t entry_key(const sx_view *v, uint32_t entry) {
  const sx_entry *e = &v->entries[entry];
  if (!e->f[SX_F_SOURCE_ID])
    return (uint64_t)1 << 63 | entry;
  return (uint64_t)v->lists[e->list].code << 32 | e->f[SX_F_SOURCE_ID];
}

static int cmp_scored_entry(const void *a, const void *b, void *ctx) {
  const sx_view *v = ctx;
  const scored *x = a, *y = b;
  uint64_t kx = entry_key(v, x->entry), ky = entry_key(v, y->entry);
  if (kx != ky)
    return kx < ky ? -1 : 1;
  if (x->entry != y->entry && x->score == y->score)
    return x->entry < y->entry ? -1 : 1;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return x->name < y->name ? -1 : x->name > y->name;
}

static int cmp_scored_rank(const void *a, const void *b, void *ctx) {
  const sx_view *v = ctx;
  const scored *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  int rx = list_rank(v, x->entry), ry = list_rank(v, y->entry);
  if (rx != ry)
    return rx < ry ? -1 : 1;
  return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static bool push_scored(ag_screen_work *w, uint32_t name, uint32_t entry, double score) {
  scored s = {name, entry, score, NULL};
  return SX_PUSH(w->sc, w->nsc, w->sc_cap, s);
}

/* Entries that list one of the query's identifiers are candidates whatever
 * their names: a renamed vessel keeps its IMO number. Each is scored with
 * its best name; the evidence then raises it to at least confident. */
static ag_status run_ids(const sx_view *v, ag_screen_work *w, const sx_evidence *ev,
                         double min, ag_error *err) {
  for (uint32_t e = 0; e < v->h->n_entries; e++) {
    if (!sx_evidence_admits(v, e, ev) || sx_evidence_id(v, e, ev) < 0)
      continue;
    const sx_entry *en = &v->entries[e];
    uint32_t best = en->first_name;
    double bs = -1;
    for (uint32_t k = 0; k < en->name_count; k++) {
      double s = align(v, w, &v->names[en->first_name + k], NULL, 0);
      if (s > bs) {
        bs = s;
        best = en->first_name + k;
      }
    }
    double s = sx_evidence_score(v, e, ev, &w->arena, bs > 0 ? bs : 0);
    if (s >= min && !push_scored(w, best, e, s))
      return nomem(err);
  }
  return AG_OK;
}

static ag_status run_index(const sx_view *v, ag_screen_work *w, const sx_evidence *ev,
                           double min, ag_error *err) {
  size_t nt = 0;
  for (size_t k = 0; k < w->nx; k++) {
    const sx_token *t = &v->tokens[w->x[k].tok];
    if (t->flags & (SX_TOK_LEGAL | SX_TOK_STOP | SX_TOK_INITIAL))
      continue;
    /* a listed word counts once, at its best similarity: "Tech nology" is
     * technology as one word and as two joined, not twice; but a word the
     * query spells out twice counts twice ("Sun and Sun Limited" lists sun
     * twice, and its weight counts both) */
    bool again = false;
    for (size_t j = 0; j < w->nx && !again; j++) {
      bool apart = w->x[j].qi != w->x[k].qi && w->x[j].kind == X_EXACT && w->x[k].kind == X_EXACT;
      again = j != k && !apart && w->x[j].tok == w->x[k].tok &&
              // cppcheck-suppress arrayIndexThenCheck ; j < k orders two entries, not a bound
              (w->x[j].sim > w->x[k].sim || (w->x[j].sim == w->x[k].sim && j < k));
    }
    if (again)
      continue;
    float add = t->weight * w->x[k].sim;
    bool dist = w->x[k].sim >= RARE_SIM && is_distinctive(w, t);
    const uint32_t *p = v->postings + t->post_off;
    for (uint32_t i = 0; i < t->post_len; i++) {
      uint32_t nm = p[i];
      if (w->acc[nm] == 0)
        w->touched[nt++] = nm;
      w->acc[nm] += add;
    }
    for (uint32_t i = 0; dist && i < t->post_len; i++)
      w->distinct[p[i]] = 1;
  }
  double need = min - sx_evidence_max_bonus(ev);
  double ub_min = need > 0 ? 0.85 * pow(need, 1.0 / ALPHA) : 0;
  w->nc = 0;
  for (size_t i = 0; i < nt; i++) {
    uint32_t nm = w->touched[i];
    /* where a distinctive word is matched, place names and common words
     * the query lacks may weigh little (align): bound with the least the
     * name can weigh */
    float wt = v->names[nm].weight;
    if (w->distinct[nm]) {
      wt = least_weight(v, &v->names[nm]);
      w->distinct[nm] = 0;
    }
    float ub = w->acc[nm] / (wt > 0 ? wt : 1);
    w->acc[nm] = 0;
    if (ub < ub_min || !sx_evidence_admits(v, v->names[nm].entry, ev))
      continue;
    cand c = {nm, ub > 1 ? 1 : ub};
    if (!SX_PUSH(w->c, w->nc, w->c_cap, c)) {
      for (size_t j = i + 1; j < nt; j++) {
        w->acc[w->touched[j]] = 0;
        w->distinct[w->touched[j]] = 0;
      }
      return nomem(err);
    }
  }
  size_t nc = w->nc;
  if (nc > CAND_MAX)
    nc = select_top(w->c, nc, CAND_MAX);
  /* a name is kept from a score of min on, and the evidence adds at most
   * its bonus, except a listed identifier (its floor): scores surely below
   * min less the bonus need not be worked out */
  double floor = ev->n_ids ? 0 : need;
  for (size_t i = 0; i < nc; i++) {
    const sx_name *nm = &v->names[w->c[i].name];
    double s = align(v, w, nm, NULL, floor);
    if (s <= 0)
      continue;
    s = sx_evidence_score(v, nm->entry, ev, &w->arena, s);
    if (s >= min && !push_scored(w, w->c[i].name, nm->entry, s))
      return nomem(err);
  }
  return ev->n_ids ? run_ids(v, w, ev, min, err) : AG_OK;
}

static ag_status run_brute(const sx_view *v, ag_screen_work *w, const sx_evidence *ev, double min,
                           ag_error *err) {
  /* the query as the baseline sees it */
  ag_buf_reset(&w->tmp);
  sx_simple_form(w->norm.folded ? w->norm.folded : "", w->norm.folded_len, &w->tmp);
  if (w->tmp.failed)
    return nomem(err);
  const char *qs = w->tmp.data;
  size_t ql = strlen(qs);
  for (uint32_t i = 0; i < v->h->n_names; i++) {
    const char *ns = sx_str(v, v->names[i].simple);
    double s = sx_jaro_winkler(qs, ql, ns, strlen(ns));
    if (s >= min && sx_evidence_admits(v, v->names[i].entry, ev) && !push_scored(w, i, v->names[i].entry, s))
      return nomem(err);
  }
  return AG_OK;
}

/* ---- reasons ---- */

static void list_words(ag_buf *b, const char *label, const char *const *ws, size_t n) {
  if (!n)
    return;
  ag_buf_puts(b, "; ");
  ag_buf_puts(b, label);
  ag_buf_puts(b, ": ");
  for (size_t i = 0; i < n && i < 4; i++) {
    if (i)
      ag_buf_puts(b, ", ");
    ag_buf_puts(b, ws[i]);
  }
  if (n > 4)
    ag_buf_printf(b, " and %zu more", n - 4);
}

static void join_words(ag_buf *b, const char *a, const char *c) {
  ag_buf_puts(b, a);
  if (c) {
    ag_buf_putc(b, ' ');
    ag_buf_puts(b, c);
  }
}

static ag_status explain(const sx_view *v, ag_screen_work *w, ag_screen_match *m, const sx_name *nm,
                         const sx_evidence *ev, bool brute, ag_error *err) {
  ag_buf *b = &w->tmp;
  ag_buf_reset(b);
  const char *kind = nm->kind == SX_KIND_NAME ? "listed name" : "alias";
  m->tokens = NULL;
  m->token_count = 0;
  if (brute) {
    ag_buf_printf(b, "Jaro-Winkler %.3f against the %s", m->score, kind);
  } else {
    align_info ai;
    align(v, w, nm, &ai, 0);
    const uint32_t *ct = v->nametoks + nm->tok_off;
    ag_screen_token_match *tm = ag_arena_alloc(&w->arena, (ai.nused ? ai.nused : 1) * sizeof *tm);
    if (!tm)
      return nomem(err);
    /* in query order, for reading */
    for (size_t a = 1; a < ai.nused; a++) {
      edge t = ai.used[a];
      size_t b = a;
      while (b > 0 && ai.used[b - 1].qi > t.qi) {
        ai.used[b] = ai.used[b - 1];
        b--;
      }
      ai.used[b] = t;
    }
    uint64_t qm = 0, cm = 0;
    bool all_exact = true;
    const char *fuzzy_w[8], *joined_w[8];
    size_t nf = 0, nj = 0, nini = 0;
    for (size_t k = 0; k < ai.nused; k++) {
      const edge *e = &ai.used[k];
      qm |= e->qm;
      cm |= e->cm;
      ag_buf one;
      ag_buf_init(&one);
      join_words(&one, w->q[e->qi].s,
                 e->type == E_QJOIN || e->type == E_QJOIN3 ? w->q[e->qi + 1].s : NULL);
      if (e->type == E_QJOIN3)
        join_words(&one, "", w->q[e->qi + 2].s);
      const char *qtext = ag_arena_strndup(&w->arena, one.data ? one.data : "", one.len);
      ag_buf_reset(&one);
      join_words(&one, sx_str(v, v->tokens[ct[e->cj]].str),
                 e->type == E_CJOIN || e->type == E_CJOIN3 ? sx_str(v, v->tokens[ct[e->cj + 1]].str)
                                                           : NULL);
      if (e->type == E_CJOIN3)
        join_words(&one, "", sx_str(v, v->tokens[ct[e->cj + 2]].str));
      const char *ltext = ag_arena_strndup(&w->arena, one.data ? one.data : "", one.len);
      ag_buf_free(&one);
      if (!qtext || !ltext)
        return nomem(err);
      tm[k] = (ag_screen_token_match){qtext, ltext, e->sim};
      if (e->sim < 1.0f || e->type != E_WORD)
        all_exact = false;
      if (e->type == E_INITIAL)
        nini++;
      else if (e->type == E_QJOIN || e->type == E_CJOIN || e->type == E_QJOIN3 ||
               e->type == E_CJOIN3) {
        if (nj < 8) {
          char *s = ag_arena_alloc(&w->arena, strlen(qtext) + strlen(ltext) + 4);
          if (!s)
            return nomem(err);
          sprintf(s, "%s=%s", qtext, ltext);
          joined_w[nj++] = s;
        }
      } else if (e->sim < 1.0f && nf < 8) {
        char *s = ag_arena_alloc(&w->arena, strlen(qtext) + strlen(ltext) + 4);
        if (!s)
          return nomem(err);
        sprintf(s, "%s~%s", qtext, ltext);
        fuzzy_w[nf++] = s;
      }
    }
    m->tokens = tm;
    m->token_count = ai.nused;
    const char *miss_c[SX_NORM_TOKENS_MAX], *miss_q[SX_NORM_TOKENS_MAX];
    const char *weak_c[SX_NORM_TOKENS_MAX], *weak_q[SX_NORM_TOKENS_MAX];
    size_t nmc = 0, nmq = 0, nwc = 0, nwq = 0, legal_only = 0, nmc_legal = 0, nmq_legal = 0;
    for (size_t j = 0; j < nm->ntok; j++)
      if (!(cm & (1ull << j))) {
        const sx_token *t = &v->tokens[ct[j]];
        if (t->flags & (SX_TOK_LEGAL | SX_TOK_STOP))
          nmc_legal++;
        else if (ai.weak_c & (1ull << j))
          weak_c[nwc++] = sx_str(v, t->str);
        else
          miss_c[nmc++] = sx_str(v, t->str);
      }
    for (size_t i = 0; i < w->nq; i++)
      if (!(qm & (1ull << i))) {
        if (w->q[i].flags & (SX_TOK_LEGAL | SX_TOK_STOP))
          nmq_legal++;
        else if (ai.weak_q & (1ull << i))
          weak_q[nwq++] = w->q[i].s;
        else
          miss_q[nmq++] = w->q[i].s;
      }
    legal_only = nmc_legal + nmq_legal;
    if (all_exact && !nmc && !nmq && !nwc && !nwq && !legal_only)
      ag_buf_printf(b, "every word matches the %s", kind);
    else {
      size_t matched = 0;
      for (size_t j = 0; j < nm->ntok; j++)
        matched += (cm >> j) & 1;
      ag_buf_printf(b, "%zu of %u words of the %s matched", matched, (unsigned)nm->ntok, kind);
      list_words(b, "spelling differs", fuzzy_w, nf);
      list_words(b, "written together/apart", joined_w, nj);
      if (nini)
        ag_buf_printf(b, "; %zu initial(s) matched full names", nini);
      list_words(b, "listed words not in the query", miss_c, nmc);
      list_words(b, "query words not listed", miss_q, nmq);
      list_words(b, "listed place names or common words not in the query (weighted down)", weak_c,
                 nwc);
      list_words(b, "query place names or common words not listed (weighted down)", weak_q, nwq);
      if (legal_only)
        ag_buf_puts(b, "; legal-form or connective words differ (weighted down)");
    }
    ag_buf_printf(b, " (coverage %.2f of the listed name, %.2f of the query)", ai.cov_c, ai.cov_q);
  }
  if (m->other_names[0])
    ag_buf_printf(b, "; also matched: %s", m->other_names);
  sx_evidence_explain(v, nm->entry, ev, &w->arena, b);
  if (b->failed)
    return nomem(err);
  m->reason = ag_arena_strndup(&w->arena, b->data ? b->data : "", b->len);
  return m->reason ? AG_OK : nomem(err);
}

/* ---- the query ---- */

static void fill_match(const sx_view *v, ag_screen_match *m, const scored *s) {
  const sx_name *nm = &v->names[s->name];
  const sx_entry *e = &v->entries[nm->entry];
  const sx_list *l = &v->lists[e->list];
  memset(m, 0, sizeof *m);
  m->list_code = sx_str(v, l->code);
  m->list_name = sx_str(v, l->name);
  m->source_id = sx_str(v, e->f[SX_F_SOURCE_ID]);
  m->entry_name = sx_str(v, e->f[SX_F_NAME]);
  m->entry_type = sx_str(v, e->f[SX_F_TYPE]);
  m->programs = sx_str(v, e->f[SX_F_PROGRAMS]);
  m->countries = sx_str(v, e->f[SX_F_COUNTRIES]);
  m->addresses = sx_str(v, e->f[SX_F_ADDRESSES]);
  m->federal_register_notice = sx_str(v, e->f[SX_F_FR]);
  m->license_requirement = sx_str(v, e->f[SX_F_LIC_REQ]);
  m->license_policy = sx_str(v, e->f[SX_F_LIC_POL]);
  m->start_date = sx_str(v, e->f[SX_F_START]);
  m->remarks = sx_str(v, e->f[SX_F_REMARKS]);
  m->source_url = sx_str(v, e->f[SX_F_URL]);
  m->entry = nm->entry;
  m->matched_name = sx_str(v, nm->display);
  m->name_kind = sx_kind_name(nm->kind);
  m->other_names = s->others ? s->others : "";
  m->score = s->score;
  /* below the review threshold (a caller's lower min_score) is "none" */
  m->level = s->score >= AG_SCREEN_CONFIDENT  ? AG_SCREEN_LEVEL_CONFIDENT
             : s->score >= AG_SCREEN_POSSIBLE ? AG_SCREEN_LEVEL_POSSIBLE
                                              : AG_SCREEN_LEVEL_NONE;
}

ag_status ag_screen_query(const ag_screen *s, const char *name, size_t len, const char *country,
                          ag_screen_result *out, ag_error *err) {
  ag_screen_request rq = {.name = name, .len = len, .country = country};
  return ag_screen_query_ex(s, &rq, out, err);
}

ag_status ag_screen_query_ex(const ag_screen *s, const ag_screen_request *req,
                             ag_screen_result *out, ag_error *err) {
  out->matches = NULL;
  out->count = 0;
  out->normalized = "";
  if (!s || !req)
    return ag_error_set(err, AG_ERR_INPUT, "lists", "no lists to screen against");
  const sx_view *v = sx_handle_view(s);
  if (!req->name || !req->len)
    return ag_error_set(err, AG_ERR_INPUT, "name", "is empty");
  if (req->len > AG_SCREEN_NAME_MAX)
    return ag_error_set(err, AG_ERR_LIMIT, "name", "is %zu bytes long; the limit is %d", req->len,
                        AG_SCREEN_NAME_MAX);
  double min = req->min_score > 0 ? req->min_score : AG_SCREEN_POSSIBLE;
  if (!(req->min_score >= 0 && req->min_score <= 1))
    return ag_error_set(err, AG_ERR_INPUT, "min_score", "must be between 0 and 1");
  size_t maxm = req->max_matches ? req->max_matches : AG_SCREEN_MATCHES_DEFAULT;
  if (maxm > AG_SCREEN_MATCHES_MAX)
    return ag_error_set(err, AG_ERR_INPUT, "max_matches", "must be at most %d",
                        AG_SCREEN_MATCHES_MAX);
  ag_screen_work *w = work_for(out, v->h->n_names, v->h->n_tokens);
  if (!w)
    return nomem(err);
  ag_arena_reset(&w->arena);
  w->nsc = 0;
  sx_evidence ev;
  ag_status st = sx_evidence_init(&ev, req, &w->arena, err);
  if (st)
    return st;
  st = sx_normalize(&w->norm, req->name, req->len, true, "name", err);
  if (st)
    return st;
  if (!w->norm.ntok) {
    bool blank = true;
    for (size_t i = 0; i < req->len && blank; i++)
      blank = req->name[i] == ' ';
    return ag_error_set(err, AG_ERR_INPUT, "name",
                        blank ? "is empty" : "has no letters or digits to match");
  }
  if (w->norm.truncated || w->norm.ntok > AG_SCREEN_WORDS_MAX)
    return ag_error_set(err, AG_ERR_LIMIT, "name", "has more than %d words", AG_SCREEN_WORDS_MAX);
  /* the normalised query, for display */
  ag_buf_reset(&w->tmp);
  for (size_t i = 0; i < w->norm.ntok; i++) {
    if (i)
      ag_buf_putc(&w->tmp, ' ');
    ag_buf_puts(&w->tmp, sx_norm_tok(&w->norm, i));
  }
  char *normalized = ag_arena_strndup(&w->arena, w->tmp.data ? w->tmp.data : "", w->tmp.len);
  if (w->tmp.failed || !normalized)
    return nomem(err);
  out->normalized = normalized;

  bool brute = req->mode == AG_SCREEN_MODE_BRUTE_JW;
  if (brute)
    st = run_brute(v, w, &ev, min, err);
  else {
    st = prepare_query(v, w, err);
    if (!st)
      st = run_index(v, w, &ev, min, err);
  }
  if (st)
    return st;

  /* best name per listed entry, the others named, then rank */
  if (w->nsc > 1)
    qsort_r(w->sc, w->nsc, sizeof *w->sc, cmp_scored_entry, (void *)v);
  size_t k = 0;
  for (size_t i = 0; i < w->nsc;) {
    size_t j = i + 1;
    uint64_t key = entry_key(v, w->sc[i].entry);
    ag_buf_reset(&w->tmp);
    const char *best = sx_str(v, v->names[w->sc[i].name].display);
    for (; j < w->nsc && entry_key(v, w->sc[j].entry) == key; j++) {
      const char *o = sx_str(v, v->names[w->sc[j].name].display);
      bool seen = !strcmp(o, best);
      for (size_t m = i + 1; m < j && !seen; m++)
        seen = !strcmp(o, sx_str(v, v->names[w->sc[m].name].display));
      if (!seen && brute == false) {
        if (w->tmp.len)
          ag_buf_puts(&w->tmp, "; ");
        ag_buf_puts(&w->tmp, o);
      }
    }
    w->sc[k] = w->sc[i];
    if (w->tmp.len) {
      w->sc[k].others = ag_arena_strndup(&w->arena, w->tmp.data, w->tmp.len);
      if (w->tmp.failed || !w->sc[k].others)
        return nomem(err);
    }
    k++;
    i = j;
  }
  w->nsc = k;
  if (k > 1)
    qsort_r(w->sc, k, sizeof *w->sc, cmp_scored_rank, (void *)v);
  if (k > maxm)
    k = maxm;
  if (!sx_grow((void **)&w->m, &w->m_cap, k ? k : 1, sizeof *w->m))
    return nomem(err);
  for (size_t i = 0; i < k; i++) {
    fill_match(v, &w->m[i], &w->sc[i]);
    st = explain(v, w, &w->m[i], &v->names[w->sc[i].name], &ev, brute, err);
    if (st)
      return st;
  }
  out->matches = w->m;
  out->count = k;
  return AG_OK;
}

ag_status ag_screen_normalize(const char *name, size_t len, ag_buf *out, ag_error *err) {
  sx_norm n;
  sx_norm_init(&n);
  ag_status st = AG_OK;
  if (!name || !len)
    st = ag_error_set(err, AG_ERR_INPUT, "name", "is empty");
  else if (len > AG_SCREEN_NAME_MAX)
    st = ag_error_set(err, AG_ERR_LIMIT, "name", "is %zu bytes long; the limit is %d", len,
                      AG_SCREEN_NAME_MAX);
  else
    st = sx_normalize(&n, name, len, true, "name", err);
  if (!st)
    for (size_t i = 0; i < n.ntok; i++) {
      if (i)
        ag_buf_putc(out, ' ');
      ag_buf_puts(out, sx_norm_tok(&n, i));
    }
  sx_norm_free(&n);
  if (!st && out->failed)
    st = nomem(err);
  return st;
}

/* ---- JSON ---- */

void sx_json_list(ag_buf *b, const char *s) {
  ag_buf_putc(b, '[');
  bool first = true;
  while (*s) {
    const char *e = strchr(s, ';');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    const char *p = s;
    size_t pn = n;
    while (pn && *p == ' ') {
      p++;
      pn--;
    }
    while (pn && p[pn - 1] == ' ')
      pn--;
    if (pn) {
      if (!first)
        ag_buf_putc(b, ',');
      ag_buf_json_str(b, p, pn);
      first = false;
    }
    s += n + (e ? 1 : 0);
  }
  ag_buf_putc(b, ']');
}

static void json_field(ag_buf *b, const char *key, const char *val) {
  ag_buf_puts(b, ",\""); /* not printf: a dozen fields a match */
  ag_buf_puts(b, key);
  ag_buf_puts(b, "\":");
  ag_buf_json_cstr(b, val);
}

void ag_screen_match_json(const ag_screen_match *m, bool full, ag_buf *b) {
  ag_buf_puts(b, "{\"list\":");
  ag_buf_json_str(b, m->list_name, strlen(m->list_name));
  json_field(b, "list_code", m->list_code);
  json_field(b, "source_id", m->source_id);
  json_field(b, "name", m->matched_name);
  json_field(b, "entry_name", m->entry_name);
  /* two decimals, rounded down so a displayed score never reaches a
   * threshold the real one does not */
  ag_buf_printf(b, ",\"score\":%.2f", floor(m->score * 100.0 + 1e-9) / 100.0);
  json_field(b, "level", ag_screen_level_name(m->level));
  json_field(b, "reason", m->reason ? m->reason : "");
  if (full) {
    json_field(b, "name_kind", m->name_kind);
    if (m->other_names && m->other_names[0])
      json_field(b, "other_names", m->other_names);
    json_field(b, "entry_type", m->entry_type);
    ag_buf_puts(b, ",\"matched_tokens\":[");
    for (size_t i = 0; i < m->token_count; i++) {
      ag_buf_puts(b, i ? ",{\"query\":" : "{\"query\":");
      ag_buf_json_str(b, m->tokens[i].query, strlen(m->tokens[i].query));
      json_field(b, "listed", m->tokens[i].listed);
      ag_buf_printf(b, ",\"similarity\":%.3f}", m->tokens[i].similarity);
    }
    ag_buf_puts(b, "],\"programs\":");
    sx_json_list(b, m->programs);
    ag_buf_puts(b, ",\"countries\":");
    sx_json_list(b, m->countries);
    json_field(b, "federal_register_notice", m->federal_register_notice);
    json_field(b, "license_requirement", m->license_requirement);
    json_field(b, "license_policy", m->license_policy);
    json_field(b, "start_date", m->start_date);
    json_field(b, "addresses", m->addresses);
    json_field(b, "source_url", m->source_url);
  }
  ag_buf_putc(b, '}');
}
