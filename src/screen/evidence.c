/*
 * evidence.c - what a query says besides the name (docs/screening.md,
 * "More than a name"): the party's country, city, street address, type and
 * identifiers weigh on the score of each candidate, and the filters
 * `sources`, `types` and `countries` (as the trade.gov CSL search API has
 * them) narrow the entries screened.
 *
 *  - country: +0.03 when the entry lists it, -0.05 when it lists only
 *    others (a party's country rarely changes; lists give it for most
 *    entries);
 *  - type: -0.10 when the entry's type (Entity, Individual, Vessel,
 *    Aircraft) is another: a company is not the person or the ship of the
 *    same name; nothing when it agrees, as most entries are entities;
 *  - city: +0.03 when the city's words are in one of the entry's addresses;
 *  - address: +0.05 when two thirds (and at least two) of the street
 *    address's words are in one of the entry's addresses;
 *    neither lowers the score when absent: lists give few addresses of a
 *    party's many offices;
 *  - identifiers: one that the entry lists (CSL `ids`, OFAC remarks:
 *    registration, tax, IMO, passport numbers, SWIFT/BIC) adds 0.10 and
 *    raises the candidate to at least 0.95 (confident), and finds the entry even when the name
 *    has changed (a renamed vessel keeps its IMO number). A different
 *    identifier is not evidence against: lists give only some of a party's.
 */
#include "screen_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const types[] = {"Entity", "Individual", "Vessel", "Aircraft"};
#define NTYPES (sizeof types / sizeof *types)

static const char *const codes[] = {"CAP", "CMIC", "DPL", "DTC", "EL",  "FSE", "ISN",
                                    "MEU", "NS-MBS", "PLC", "SDN", "SSI", "UVL"};
#define NCODES (sizeof codes / sizeof *codes)

static int type_index(const char *s, size_t n) {
  for (size_t i = 0; i < NTYPES; i++)
    if (strlen(types[i]) == n && !strncasecmp(s, types[i], n))
      return (int)i;
  return -1;
}

/* Lower-case words of letters and digits, space-separated: the form city
 * and address words are compared in ("Tehran," = "TEHRAN"). */
static char *words_form(ag_arena *a, const char *s) {
  size_t n = strlen(s);
  char *o = ag_arena_alloc(a, n + 2);
  if (!o)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (isalnum(c) || c >= 0x80)
      o[k++] = (char)tolower(c);
    else if (k && o[k - 1] != ' ')
      o[k++] = ' ';
  }
  while (k && o[k - 1] == ' ')
    k--;
  o[k] = '\0';
  return o;
}

/* An identifier as compared: its letters and digits, upper case
 * ("CHE-267.936.404" = "CHE267936404"); core drops a leading label of
 * letters ("IMO9187629" -> "9187629") when at least six characters with a
 * digit first remain. */
static size_t id_form(const char *s, size_t n, char *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < cap; i++)
    if (isalnum((unsigned char)s[i]))
      out[k++] = (char)toupper((unsigned char)s[i]);
  out[k] = '\0';
  return k;
}

static const char *id_core(const char *f) {
  const char *p = f;
  while (isalpha((unsigned char)*p))
    p++;
  return p != f && isdigit((unsigned char)*p) && strlen(p) >= 6 ? p : f;
}

/* Splits "A,B, C" and calls one(item, len) for each; an empty item is an
 * error naming the field. */
typedef ag_status (*item_fn)(sx_evidence *ev, const char *s, size_t n, const char *field,
                             ag_error *err);

static ag_status each_item(sx_evidence *ev, const char *list, const char *field, item_fn one,
                           ag_error *err) {
  const char *p = list;
  for (;;) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    const char *s = p;
    while (n && *s == ' ') {
      s++;
      n--;
    }
    while (n && s[n - 1] == ' ')
      n--;
    if (!n)
      return ag_error_set(err, AG_ERR_INPUT, field,
                          "has an empty item; give comma-separated values such as %s",
                          !strcmp(field, "sources")  ? "SDN,EL"
                          : !strcmp(field, "types") ? "Entity,Vessel"
                                                    : "CN,RU");
    ag_status st = one(ev, s, n, field, err);
    if (st)
      return st;
    if (!e)
      return AG_OK;
    p = e + 1;
  }
}

static ag_status one_source(sx_evidence *ev, const char *s, size_t n, const char *field,
                            ag_error *err) {
  for (size_t i = 0; i < NCODES; i++)
    if (strlen(codes[i]) == n && !strncasecmp(s, codes[i], n)) {
      ev->sources_mask |= 1u << i;
      return AG_OK;
    }
  return ag_error_set(err, AG_ERR_INPUT, field,
                      "'%.*s' is not a list code (CAP, CMIC, DPL, DTC, EL, FSE, ISN, MEU, NS-MBS, "
                      "PLC, SDN, SSI, UVL)",
                      (int)(n > 32 ? 32 : n), s);
}

static ag_status one_type(sx_evidence *ev, const char *s, size_t n, const char *field,
                          ag_error *err) {
  int t = type_index(s, n);
  if (t < 0)
    return ag_error_set(err, AG_ERR_INPUT, field,
                        "'%.*s' is not a type (Entity, Individual, Vessel, Aircraft)",
                        (int)(n > 32 ? 32 : n), s);
  ev->types_mask |= 1u << t;
  return AG_OK;
}

static ag_status one_country(sx_evidence *ev, const char *s, size_t n, const char *field,
                             ag_error *err) {
  char cc[3] = {0};
  if (n == 2) {
    cc[0] = (char)toupper((unsigned char)s[0]);
    cc[1] = (char)toupper((unsigned char)s[1]);
  }
  if (n != 2 || !sx_country_valid(cc, 2))
    return ag_error_set(err, AG_ERR_INPUT, field,
                        "'%.*s' is not an ISO 3166-1 alpha-2 country code",
                        (int)(n > 16 ? 16 : n), s);
  if (ev->n_countries < SX_EV_COUNTRIES_MAX) {
    memcpy(ev->countries[ev->n_countries++], cc, 3);
    return AG_OK;
  }
  return ag_error_set(err, AG_ERR_LIMIT, field, "names more than %d countries",
                      SX_EV_COUNTRIES_MAX);
}

static bool blank(const char *s) {
  for (; s && *s; s++)
    if (*s != ' ')
      return false;
  return true;
}

static ag_status text_field(const char *s, const char *field, ag_error *err) {
  size_t n = strlen(s);
  if (blank(s))
    return ag_error_set(err, AG_ERR_INPUT, field, "is empty (leave it out)");
  if (n > SX_EV_TEXT_MAX)
    return ag_error_set(err, AG_ERR_LIMIT, field, "is %zu bytes long; the limit is %d", n,
                        SX_EV_TEXT_MAX);
  if (!ag_utf8_valid(s, n))
    return ag_error_set(err, AG_ERR_INPUT, field, "is not valid UTF-8");
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return ag_error_set(err, AG_ERR_INPUT, field, "contains control characters");
  return AG_OK;
}

ag_status sx_evidence_init(sx_evidence *ev, const ag_screen_request *req, ag_arena *a,
                           ag_error *err) {
  memset(ev, 0, sizeof *ev);
  ag_status st;
  if (req->country && *req->country) {
    const char *c = req->country;
    size_t cl = strlen(c);
    if (cl == 2) {
      ev->cc[0] = (char)toupper((unsigned char)c[0]);
      ev->cc[1] = (char)toupper((unsigned char)c[1]);
    }
    if (cl != 2 || !sx_country_valid(ev->cc, 2))
      return ag_error_set(err, AG_ERR_INPUT, "country",
                          "'%.16s' is not an ISO 3166-1 alpha-2 country code", c);
  }
  if (req->type) {
    int t = type_index(req->type, strlen(req->type));
    if (t < 0)
      return ag_error_set(err, AG_ERR_INPUT, "type",
                          "'%.32s' is not a type (entity, individual, vessel, aircraft)",
                          req->type);
    ev->type = types[t];
  }
  if (req->city) {
    if ((st = text_field(req->city, "city", err)))
      return st;
    ev->city_shown = req->city;
    if (!(ev->city = words_form(a, req->city)))
      return ag_error_set(err, AG_ERR_NOMEM, "city", "out of memory");
    if (!*ev->city)
      return ag_error_set(err, AG_ERR_INPUT, "city", "has no letters or digits");
  }
  if (req->address) {
    if ((st = text_field(req->address, "address", err)))
      return st;
    if (!(ev->address = words_form(a, req->address)))
      return ag_error_set(err, AG_ERR_NOMEM, "address", "out of memory");
    if (!*ev->address)
      return ag_error_set(err, AG_ERR_INPUT, "address", "has no letters or digits");
  }
  if (req->n_ids > AG_SCREEN_IDS_MAX)
    return ag_error_set(err, AG_ERR_LIMIT, "ids", "has %zu identifiers; the limit is %d",
                        req->n_ids, AG_SCREEN_IDS_MAX);
  for (size_t i = 0; i < req->n_ids; i++) {
    char field[32]; /* room for any size_t */
    snprintf(field, sizeof field, "ids[%zu]", i);
    const char *s = req->ids[i] ? req->ids[i] : "";
    if ((st = text_field(s, field, err)))
      return st;
    char *f = ev->ids[i];
    size_t n = id_form(s, strlen(s), f, sizeof ev->ids[i]);
    size_t digits = 0;
    for (size_t k = 0; k < n; k++)
      digits += isdigit((unsigned char)f[k]) != 0;
    /* short numbers (a year, a section of a regulation) would match by
     * chance; a SWIFT/BIC code has 8 or 11 characters and may have none */
    if (n < 6 || (digits < 3 && n != 8 && n != 11))
      return ag_error_set(err, AG_ERR_INPUT, field,
                          "'%.32s' is too short to identify a party (at least 6 letters or "
                          "digits, 3 of them digits, or a SWIFT/BIC code)",
                          s);
    ev->ids_shown[i] = s;
  }
  ev->n_ids = req->n_ids;
  if (req->sources && (st = each_item(ev, req->sources, "sources", one_source, err)))
    return st;
  if (req->types && (st = each_item(ev, req->types, "types", one_type, err)))
    return st;
  if (req->countries && (st = each_item(ev, req->countries, "countries", one_country, err)))
    return st;
  ev->entries = req->entries;
  ev->filtered = ev->sources_mask || ev->types_mask || ev->n_countries || ev->entries;
  return AG_OK;
}

/* The country's share is counted whether or not a country is given: the
 * candidate bound keeps that margin (the figures in docs/screening.md were
 * measured with it). */
double sx_evidence_max_bonus(const sx_evidence *ev) {
  return SX_EV_COUNTRY_BONUS + (ev->city ? SX_EV_CITY_BONUS : 0) +
         (ev->address ? SX_EV_ADDRESS_BONUS : 0);
}

bool sx_evidence_has_country(const char *list, const char *cc) {
  for (const char *p = list; *p;) {
    if (p[0] == cc[0] && p[1] == cc[1] && (p[2] == ';' || p[2] == '\0'))
      return true;
    const char *q = strchr(p, ';');
    if (!q)
      break;
    p = q + 1;
    while (*p == ' ')
      p++;
  }
  return false;
}

/* The filters: an entry whose list gives no type (the DPL) or no country
 * is kept, as a filter narrows a screening and must not hide a party the
 * list does not classify. */
bool sx_evidence_admits(const sx_view *v, uint32_t entry, const sx_evidence *ev) {
  if (!ev->filtered)
    return true;
  if (ev->entries && !ev->entries[entry])
    return false;
  const sx_entry *e = &v->entries[entry];
  if (ev->sources_mask) {
    const char *code = sx_str(v, v->lists[e->list].code);
    bool in = false;
    for (size_t i = 0; i < NCODES && !in; i++)
      in = (ev->sources_mask >> i & 1) && !strcmp(code, codes[i]);
    if (!in)
      return false;
  }
  if (ev->types_mask) {
    const char *t = sx_str(v, e->f[SX_F_TYPE]);
    int k = type_index(t, strlen(t));
    if (*t && (k < 0 || !(ev->types_mask >> k & 1)))
      return false;
  }
  if (ev->n_countries) {
    const char *cl = sx_str(v, e->f[SX_F_COUNTRIES]);
    bool in = !*cl;
    for (size_t i = 0; i < ev->n_countries && !in; i++)
      in = sx_evidence_has_country(cl, ev->countries[i]);
    if (!in)
      return false;
  }
  return true;
}

/* Whether the words of `needle` ("tehran") occur, in order and whole, in
 * hay's words. */
static bool has_words(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (const char *p = hay; (p = strstr(p, needle)); p++)
    if ((p == hay || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
      return true;
  return false;
}

/* Calls fn on each "; "-separated address of the entry in compared form;
 * stops when it returns true. */
static bool any_address(const sx_view *v, uint32_t entry, ag_arena *a,
                        bool (*fn)(const char *words, const sx_evidence *ev),
                        const sx_evidence *ev) {
  const char *all = sx_str(v, v->entries[entry].f[SX_F_ADDRESSES]);
  char one[1024];
  while (*all) {
    const char *e = strchr(all, ';');
    size_t n = e ? (size_t)(e - all) : strlen(all);
    snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), all);
    char *w = words_form(a, one);
    if (w && fn(w, ev))
      return true;
    all += n + (e ? 1 : 0);
  }
  return false;
}

static bool city_in(const char *words, const sx_evidence *ev) {
  return has_words(words, ev->city);
}

static bool address_in(const char *words, const sx_evidence *ev) {
  size_t total = 0, found = 0;
  char w[256];
  for (const char *p = ev->address; *p;) {
    const char *e = strchr(p, ' ');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n >= 2 && n < sizeof w) {
      memcpy(w, p, n);
      w[n] = '\0';
      total++;
      found += has_words(words, w);
    }
    p += n + (e ? 1 : 0);
  }
  return found >= 2 && 3 * found >= 2 * total;
}

/* The identifiers in an entry's text: runs of letters and digits joined by
 * '-', '.' or '/' ("CHE-267.936.404", "1027700092661", "RUDVRUMM"). */
static int id_in_text(const char *t, const sx_evidence *ev) {
  char f[SX_EV_ID_BYTES];
  for (const char *p = t; *p;) {
    while (*p && !isalnum((unsigned char)*p))
      p++;
    const char *s = p;
    while (*p && (isalnum((unsigned char)*p) ||
                  ((*p == '-' || *p == '.' || *p == '/') && isalnum((unsigned char)p[1]))))
      p++;
    size_t n = (size_t)(p - s);
    if (n < 6 || n >= sizeof f)
      continue;
    id_form(s, n, f, sizeof f);
    for (size_t i = 0; i < ev->n_ids; i++)
      if (!strcmp(f, ev->ids[i]) || !strcmp(id_core(f), id_core(ev->ids[i])))
        return (int)i;
  }
  return -1;
}

int sx_evidence_id(const sx_view *v, uint32_t entry, const sx_evidence *ev) {
  if (!ev->n_ids)
    return -1;
  const sx_entry *e = &v->entries[entry];
  int k = id_in_text(sx_str(v, e->f[SX_F_IDS]), ev);
  return k >= 0 ? k : id_in_text(sx_str(v, e->f[SX_F_REMARKS]), ev);
}

double sx_evidence_score(const sx_view *v, uint32_t entry, const sx_evidence *ev, ag_arena *a,
                         double s) {
  const sx_entry *e = &v->entries[entry];
  if (ev->cc[0]) {
    const char *cl = sx_str(v, e->f[SX_F_COUNTRIES]);
    if (*cl)
      s += sx_evidence_has_country(cl, ev->cc) ? SX_EV_COUNTRY_BONUS : -SX_EV_COUNTRY_PENALTY;
  }
  if (ev->type) {
    const char *t = sx_str(v, e->f[SX_F_TYPE]);
    if (*t && strcasecmp(t, ev->type))
      s -= SX_EV_TYPE_PENALTY;
  }
  if (ev->city && any_address(v, entry, a, city_in, ev))
    s += SX_EV_CITY_BONUS;
  if (ev->address && any_address(v, entry, a, address_in, ev))
    s += SX_EV_ADDRESS_BONUS;
  if (s > 1)
    s = 1;
  if (s < 0)
    s = 0;
  if (sx_evidence_id(v, entry, ev) >= 0) {
    s += SX_EV_ID_BONUS;
    if (s < SX_EV_ID_FLOOR)
      s = SX_EV_ID_FLOOR;
    if (s > 1)
      s = 1;
  }
  return s;
}

void sx_evidence_explain(const sx_view *v, uint32_t entry, const sx_evidence *ev, ag_arena *a,
                         ag_buf *b) {
  const sx_entry *e = &v->entries[entry];
  if (ev->cc[0]) {
    const char *cl = sx_str(v, e->f[SX_F_COUNTRIES]);
    if (!*cl)
      ag_buf_printf(b, "; the entry gives no country to compare with %s", ev->cc);
    else if (sx_evidence_has_country(cl, ev->cc))
      ag_buf_printf(b, "; country %s is the entry's (+%.2f)", ev->cc, SX_EV_COUNTRY_BONUS);
    else
      ag_buf_printf(b, "; country %s is not the entry's (%s) (-%.2f)", ev->cc, cl,
                    SX_EV_COUNTRY_PENALTY);
  }
  if (ev->type) {
    const char *t = sx_str(v, e->f[SX_F_TYPE]);
    if (!*t)
      ag_buf_printf(b, "; the entry gives no type to compare with %s", ev->type);
    else if (!strcasecmp(t, ev->type))
      ag_buf_printf(b, "; type %s is the entry's", ev->type);
    else
      ag_buf_printf(b, "; type %s is not the entry's (%s) (-%.2f)", ev->type, t,
                    SX_EV_TYPE_PENALTY);
  }
  bool addresses = *sx_str(v, e->f[SX_F_ADDRESSES]) != '\0';
  if (ev->city) {
    if (any_address(v, entry, a, city_in, ev))
      ag_buf_printf(b, "; city %s is in the entry's address (+%.2f)", ev->city_shown,
                    SX_EV_CITY_BONUS);
    else
      ag_buf_printf(b, "; city %s is not in the entry's addresses%s (no change)", ev->city_shown,
                    addresses ? "" : " (none listed)");
  }
  if (ev->address) {
    if (any_address(v, entry, a, address_in, ev))
      ag_buf_printf(b, "; street address matches the entry's (+%.2f)", SX_EV_ADDRESS_BONUS);
    else
      ag_buf_printf(b, "; street address is not the entry's%s (no change)",
                    addresses ? "" : " (none listed)");
  }
  if (ev->n_ids) {
    int k = sx_evidence_id(v, entry, ev);
    if (k >= 0)
      ag_buf_printf(b, "; identifier %s is the entry's (at least confident)", ev->ids_shown[k]);
    else
      ag_buf_puts(b, "; no identifier given is listed for the entry (no change)");
  }
}
