/*
 * acegate/rules.h - the regulation tables: destinations, Country Groups
 * (Supp. 1 to part 740), the Commerce Country Chart (Supp. 1 to part 738),
 * the CCL paragraphs acegate determines (Supp. 1 to part 774), the Part 746
 * embargoes, and the 740.22(c) restrictions with their exceptions.
 *
 * Every row carries its source and the dates it is in force (inclusive),
 * so a determination can be made as of any date. The tables are plain TSV
 * files in data/rules; the build compiles them into the binary as the
 * default, and ag_rules_load_dir() reads an edited copy instead.
 *
 * Loading validates everything and reports "file:line: reason" in
 * ag_error.field / ag_error.reason. Once loaded, an ag_rules is read-only
 * and may be shared between threads.
 *
 * Ownership: ag_rules_load_* allocate the ag_rules; ag_rules_free releases
 * it and every string and row reachable from it.
 */
#ifndef ACEGATE_RULES_H
#define ACEGATE_RULES_H

#include "acegate/common.h"

extern const ag_embedded_file ag_rules_embedded[];
extern const size_t ag_rules_embedded_count;

/* ---- vocabularies shared by the tables and the transaction ---- */

typedef enum {
  AG_GROUP_A1, AG_GROUP_A2, AG_GROUP_A3, AG_GROUP_A4, AG_GROUP_A5, AG_GROUP_A6,
  AG_GROUP_B,
  AG_GROUP_D1, AG_GROUP_D2, AG_GROUP_D3, AG_GROUP_D4, AG_GROUP_D5,
  AG_GROUP_E1, AG_GROUP_E2,
  AG_GROUP_COUNT
} ag_group;
typedef uint32_t ag_groupset; /* bit (1u << ag_group) */
const char *ag_group_name(ag_group g); /* "D:1" */

/* Country Chart columns (and EI, 742.15) used by the carried items. */
typedef enum { AG_COL_NS1, AG_COL_NS2, AG_COL_AT1, AG_COL_EI, AG_COL_COUNT } ag_column;
const char *ag_column_name(ag_column c); /* "NS1" */

typedef enum { AG_MARK_NONE, AG_MARK_X, AG_MARK_PART746 } ag_mark;

typedef enum {
  AG_TXN_EXPORT, AG_TXN_REEXPORT, AG_TXN_TRANSFER, AG_TXN_DEEMED_EXPORT,
  AG_TXN_DEEMED_REEXPORT, AG_TXN_COUNT
} ag_txn_kind;

typedef enum {
  AG_EU_GOVERNMENT, AG_EU_NON_GOVERNMENT, AG_EU_FAVORABLE_TREATMENT, AG_EU_INDIVIDUAL,
  AG_EU_COUNT
} ag_end_user_type;

typedef enum {
  AG_USE_NONE, AG_USE_VULNERABILITY_DISCLOSURE, AG_USE_CYBER_INCIDENT_RESPONSE,
  AG_USE_DIGITAL_ARTIFACTS_INVESTIGATION, AG_USE_INCIDENT_INVESTIGATION, AG_USE_COUNT
} ag_end_use;

/* Request flags a restriction or exception row can require. */
enum {
  AG_FLAG_POLICE_OR_JUDICIAL = 1u << 0,
  AG_FLAG_NATIONAL_CSIRT = 1u << 1,
  AG_FLAG_KNOWS_UNAUTHORIZED_USE = 1u << 2
};

typedef enum {
  AG_FAMILY_INTRUSION, AG_FAMILY_IP_SURVEILLANCE, AG_FAMILY_FORENSIC, AG_FAMILY_LE_MONITORING,
  AG_FAMILY_COUNT
} ag_family;

typedef enum { AG_EXC_ACE, AG_EXC_ENC } ag_exception_kind;

/* How a row's text is known (docs/rule-coverage.md). */
typedef enum {
  AG_TEXT_VERIFIED, AG_TEXT_EXTRACTED, AG_TEXT_SECONDARY, AG_TEXT_RECONSTRUCTED,
  AG_TEXT_READING /* the text is silent; the row holds acegate's reading of it */
} ag_text_status;

/* Token tables, for the JSON codec and the tables alike. */
const char *ag_txn_kind_name(ag_txn_kind k);
const char *ag_end_user_type_name(ag_end_user_type t);
const char *ag_end_use_name(ag_end_use u);
const char *ag_family_name(ag_family f);
const char *ag_text_status_name(ag_text_status s);
bool ag_txn_kind_parse(const char *s, size_t n, ag_txn_kind *out);
bool ag_end_user_type_parse(const char *s, size_t n, ag_end_user_type *out);
bool ag_end_use_parse(const char *s, size_t n, ag_end_use *out);

/* ---- rows. Strings point into storage owned by the ag_rules. ---- */

typedef struct {
  const char *file; /* table file name */
  int line;
  ag_date from, to; /* inclusive; AG_DATE_NONE / AG_DATE_MAX when open */
  ag_text_status status;
  const char *source;
} ag_row_meta;

/* AG_DEST_UNITED_STATES: the country exports are made from. It is never a
 * destination, only a party's country (a U.S. agency abroad, 740.22(a)). */
typedef enum {
  AG_DEST_COUNTRY, AG_DEST_TERRITORY, AG_DEST_REGION, AG_DEST_UNITED_STATES
} ag_dest_kind;

typedef struct {
  ag_row_meta meta;
  char code[8];          /* "CN", "UA-43" */
  const char *name;
  ag_dest_kind kind;
  int chart_as;          /* destination index whose chart row and groups govern */
  const char *chart_as_code;
  /* indexes into the tables below, filled at load time */
  uint32_t groups_first, groups_count;
  uint32_t chart_first, chart_count;
  uint32_t embargo_first, embargo_count;
} ag_destination;

typedef struct {
  ag_row_meta meta;
  ag_group group;
  int dest;
  bool state_list; /* D:5 taken from the State Department's list (d5-state-list.tsv) */
} ag_group_row;

typedef struct {
  ag_row_meta meta;
  int dest;
  ag_mark mark[AG_COL_COUNT];
  const char *footnotes;
} ag_chart_row;

typedef struct {
  ag_row_meta meta;
  const char *paragraph;   /* "4D001.a" */
  const char *for_;        /* "4A005", or NULL */
  ag_family family;
  bool cyber_item;         /* a 740.22(b)(1) cybersecurity item */
  uint32_t controls;       /* bit (1u << ag_column) */
  uint32_t decontrol_uses; /* bit (1u << ag_end_use): Note 1 to 4E001 */
  const char *other_exceptions;
  const char *text;
  /* from ccl-new-items.tsv: the first day the item had a CCL entry at all,
   * or AG_DATE_NONE when the tables know of no such day */
  ag_date on_ccl_from;
  const char *on_ccl_source;
} ag_item;

/* An item acegate does not decide (outside-scope.tsv): what decides that
 * ACE does not reach it, and where its licence requirement is to be read. */
typedef struct {
  ag_row_meta meta;
  const char *match;      /* "5A002" entry, ".z" sub-paragraph, "EAR99", "*" any other */
  const char *decided_by; /* "740.22(b)(1)" */
  const char *refer_to;   /* "740.17" */
  const char *text;
} ag_scope_row;

/* What a confident match on a restricted-party list means (list-meanings.tsv). */
typedef struct {
  ag_row_meta meta;
  const char *list;    /* screening list code: "EL", "DPL", "SDN", "UVL", "MEU" */
  const char *program; /* SDN program ("NPWMD"), or NULL for the list as a whole */
  int outcome;         /* an ag_outcome (acegate/decide.h) */
  bool suspends_exceptions; /* blocks every licence exception, ACE included */
  const char *cite;    /* "744.11" */
  const char *text;
} ag_list_row;

typedef struct {
  ag_row_meta meta;
  const char *paragraph;
  const char *entry;
} ag_ccl_paragraph;

typedef struct {
  ag_row_meta meta;
  int dest;
  const char *section;         /* "746.8" */
  const char *exceptions_cite; /* "746.8(c)(2)" */
  bool partial;                /* only part of the region is covered */
  bool all_items;              /* all items subject to the EAR, not only CCL items */
  /* reach by reasons for control (746.3(a)(1)): the Country Chart columns
   * of those reasons (bit 1u << ag_column); 0 when the reach is all items
   * or every CCL item. reach_reasons is the list as written ("NS,MT,..."). */
  uint32_t reach_columns;
  const char *reach_reasons;
  bool deemed_excluded;        /* the section excludes deemed exports ... */
  const char *deemed_cite;     /* ... by this paragraph (746.8(a)(12)(i)), else NULL */
  bool numbering_current;      /* cites use today's numbering, not that of the row's dates */
  bool lists_enc;              /* ENC is among the exceptions the section allows */
  /* Who may use ENC under the section (746.8(c)(2)(vi)): any party when
   * enc_any, else these end-user types (bit 1u << ag_end_user_type), and a
   * government end user only when its country is in enc_government_groups. */
  bool enc_any;
  uint32_t enc_end_users;
  ag_groupset enc_government_groups;
  const char *exceptions;      /* the exceptions the section allows, e.g. "TMP,GOV" */
  const char *text;
} ag_embargo;

/* Which items a restriction or exception row covers. */
typedef struct {
  bool all;               /* "*" */
  uint32_t families;      /* bit (1u << ag_family) */
  const char *paragraphs; /* comma-separated paragraphs, or NULL */
} ag_item_selector;

typedef struct {
  ag_row_meta meta;
  const char *id;
  ag_exception_kind exception;
  const char *paragraph;
  ag_groupset dest_groups; /* 0 = any destination */
  /* dest_groups (and its exceptions' dest_groups_also) are the end user's
   * country's groups, not the destination's: 740.22(c)(1)(ii) */
  bool groups_of_end_user;
  uint32_t end_users;      /* bit (1u << ag_end_user_type) */
  uint32_t transactions;   /* bit (1u << ag_txn_kind) */
  ag_item_selector items;
  uint32_t flags;          /* AG_FLAG_* that must be set */
  const char *text;
  uint32_t exceptions_first, exceptions_count; /* into exceptions[] */
} ag_restriction;

typedef struct {
  ag_row_meta meta;
  int restriction;            /* index into restrictions[] */
  const char *paragraph;
  ag_groupset dest_groups_also; /* 0 = any */
  uint32_t end_users;
  uint32_t end_user_flags;
  uint32_t end_uses;          /* bit (1u << ag_end_use) */
  uint32_t transactions;
  ag_item_selector items;
  const char *text;
} ag_exception;

typedef struct ag_rules {
  char version[64];  /* edition + content hash, e.g. "2026-11-27+1a2b3c4d" */
  const char *name;
  const char *edition;
  const char *ecfr_issue;
  ag_date rule_in_force_from;
  const char *rule_in_force_source;
  ag_date final_rule_from;
  const char *final_rule_source;
  const char *rule_in_force_cite; /* "87 FR 1670" */
  const char *interim_rule_cite;  /* "86 FR 58205" */
  const char *final_rule_cite;    /* "87 FR 31948" */

  ag_destination *destinations; size_t n_destinations;
  ag_group_row *groups;         size_t n_groups;   /* sorted by dest */
  ag_chart_row *chart;          size_t n_chart;    /* sorted by dest */
  ag_item *items;               size_t n_items;
  ag_ccl_paragraph *paragraphs; size_t n_paragraphs;
  ag_embargo *embargoes;        size_t n_embargoes; /* sorted by dest */
  ag_restriction *restrictions; size_t n_restrictions;
  ag_exception *exceptions;     size_t n_exceptions; /* grouped by restriction */
  ag_scope_row *scope;          size_t n_scope;
  ag_list_row *list_rows;       size_t n_list_rows;
  const char *screening_cite;   /* the lists' own citations joined, for a screening
                                   step no single list decides ("736.2(b)(4); ...") */

  /* private: lookup index and owned storage */
  int16_t dest_index2[26 * 26]; /* two-letter code -> destination, -1 none */
  char **storage;
  size_t n_storage;
} ag_rules;

/* Loads the tables compiled into the binary. */
ag_status ag_rules_load_default(ag_rules **out, ag_error *err);
/* Loads every table from directory dir (the same file names as data/rules). */
ag_status ag_rules_load_dir(const char *dir, ag_rules **out, ag_error *err);
/* Loads from in-memory files (name, bytes); used by both of the above. */
ag_status ag_rules_load_files(const ag_embedded_file *files, size_t n, ag_rules **out,
                              ag_error *err);
void ag_rules_free(ag_rules *rules);

/* ---- lookups (all O(1) or over a handful of rows) ---- */

/* Destination index for a code ("CN", "UA-43"), or -1. */
int ag_rules_find_destination(const ag_rules *r, const char *code, size_t len);
/* Country Groups the destination (through chart_as) belongs to on date. */
ag_groupset ag_rules_groups_on(const ag_rules *r, int dest, ag_date on);
/* The chart row in force for the destination (through chart_as), or NULL. */
const ag_chart_row *ag_rules_chart_on(const ag_rules *r, int dest, ag_date on);
/* The embargo in force for the destination itself, or NULL. */
const ag_embargo *ag_rules_embargo_on(const ag_rules *r, int dest, ag_date on);
/* True if the embargo reaches an item controlled for these Country Chart
 * columns (bit 1u << ag_column): every item unless its reach is by reasons
 * for control (746.3(a)(1)), then only an item controlled for one of them. */
bool ag_rules_embargo_reaches(const ag_embargo *e, uint32_t controls);
/* True if the section keeps License Exception ENC for this end user, whose
 * country is in eu_groups (746.8(c)(2)(vi); 746.3(c) for any party). */
bool ag_rules_embargo_enc_for(const ag_embargo *e, ag_end_user_type type, ag_groupset eu_groups);

/* True if s is written as an ECCN or a paragraph of one: digit, letter
 * A-E, three digits, then ".x" parts of lower-case letters and digits
 * ("5A001.j.1"). The tables and the transaction are checked by this one test. */
bool ag_rules_eccn_syntax_ok(const char *s);

/* The outside-scope row for an item acegate does not decide (an ECCN, a
 * paragraph of one, or a designation such as EAR99), in force on date:
 * the designation itself, else a sub-paragraph pattern (".z"), else its
 * entry, else "*". NULL when no row answers (a malformed ECCN). */
const ag_scope_row *ag_rules_outside_scope(const ag_rules *r, const char *eccn, ag_date on);

/* The meaning of a confident match on list (and, for SDN, one of the
 * programs in programs) on date; NULL when the tables give none. */
const ag_list_row *ag_rules_list_meaning(const ag_rules *r, const char *list,
                                         const char *programs, ag_date on);

/* Item lookup result. */
typedef enum {
  AG_ITEM_FOUND,          /* *item set */
  AG_ITEM_NEEDS_FOR,      /* carried only with a "for" qualifier; none given */
  AG_ITEM_FOR_NOT_TAKEN,  /* carried without one, and one was given */
  AG_ITEM_OTHER_FOR,      /* carried, but not with this "for" qualifier */
  AG_ITEM_OUTSIDE_SCOPE,  /* on the CCL in a carried entry, but not a carried paragraph */
  AG_ITEM_Z_PARAGRAPH,    /* a sub-paragraph outside-scope.tsv names (".z": 740.2(a)(9)(ii)) */
  AG_ITEM_NOT_ON_CCL,     /* a carried entry that has no such paragraph */
  AG_ITEM_UNKNOWN_ENTRY,  /* a well-formed ECCN of an entry acegate does not carry */
  AG_ITEM_MALFORMED       /* not an ECCN paragraph at all */
} ag_item_lookup;

/* Finds the carried item for paragraph (and optional for_) in force on
 * date. A sub-paragraph of a carried paragraph (5A001.j.1) resolves to it. */
ag_item_lookup ag_rules_find_item(const ag_rules *r, const char *paragraph, const char *for_,
                                  ag_date on, const ag_item **item);

/* True if the item matches the selector. */
bool ag_rules_item_selected(const ag_item_selector *sel, const ag_item *item);

#endif
