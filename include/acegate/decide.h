/*
 * acegate/decide.h - the determination engine: may this cybersecurity item
 * go to this party, in this country, for this use, on this date, without a
 * licence, and why?
 *
 * ag_decide() is a pure function of the tables and the transaction: no
 * I/O, no allocation, no global state. It walks the regulation in the
 * order of docs/decision-model.md and records each step with the paragraph
 * that decides it. Explanatory text is rendered on demand
 * (ag_decision_step_text), so a decision costs no string formatting.
 *
 * Ownership: the caller owns the ag_txn and the ag_decision. A decision
 * points into the ag_rules it was made with (rows, citations) and into
 * the transaction's screening results; it is valid while both live.
 */
#ifndef ACEGATE_DECIDE_H
#define ACEGATE_DECIDE_H

#include "acegate/common.h"
#include "acegate/diligence.h"
#include "acegate/rules.h"

/* ---- the transaction (JSON contract v1, docs/decision-model.md) ---- */

typedef enum {
  AG_PARTY_END_USER, AG_PARTY_CONSIGNEE, AG_PARTY_INTERMEDIATE_CONSIGNEE, AG_PARTY_PURCHASER,
  AG_PARTY_COUNT
} ag_party_role;
const char *ag_party_role_name(ag_party_role r); /* "end_user" */

/* Restricted-party screening of one party, as the caller found it. The
 * engine reads these; it does not screen (see acegate/screen.h). */
typedef enum {
  AG_LIST_NONE,
  AG_LIST_ENTITY,      /* Entity List, 744.11 */
  AG_LIST_DENIED,      /* Denied Persons List, 764.3 / 736.2(b)(4) */
  AG_LIST_SDN,         /* OFAC SDN */
  AG_LIST_UNVERIFIED,  /* Unverified List, 744.15 */
  AG_LIST_MEU,         /* Military End-User List, 744.21 */
  AG_LIST_OTHER        /* another CSL source list */
} ag_list_kind;

/* A reviewer's earlier decision on this party and this listed entry,
 * remembered (acegate/remember.h, docs/review.md): a clearance takes the
 * hit out of the outcome, a confirmation makes it a match whatever its
 * score. The check fills it; the engine only reads it. */
typedef enum {
  AG_REMEMBERED_NONE = 0,
  AG_REMEMBERED_CLEARED,
  AG_REMEMBERED_CONFIRMED
} ag_remembered_kind;
const char *ag_remembered_kind_name(ag_remembered_kind k); /* "cleared" */

typedef struct {
  ag_remembered_kind kind;
  char audit_id[40]; /* the review record that decided it */
  char reviewer[16]; /* its key id ("" from the command line) */
  char date[11];     /* YYYY-MM-DD of the review */
} ag_remembered;

#define AG_ENTRY_HASH_HEX 33 /* 32 hex digits of the entry's content digest, NUL */

/* What is known of one screening match beyond the matcher's score: the
 * content hash of its entry and a remembered decision about it. */
typedef struct {
  char entry_hash[AG_ENTRY_HASH_HEX];
  ag_remembered remembered;
} ag_match_note;

typedef struct {
  ag_list_kind list;
  bool confident;          /* at or above the confident threshold */
  double score;
  const char *list_name;   /* "Entity List" */
  const char *list_code;   /* "EL": the list-meanings.tsv key; NULL to use list's */
  const char *source_id;
  const char *matched_name;
  const char *programs;    /* OFAC programs, or NULL */
  const char *license_requirement;
  const char *license_policy;
  const char *federal_register_notice;
  char entry_hash[AG_ENTRY_HASH_HEX]; /* the listed entry's content, "" when unknown */
  ag_remembered remembered;
} ag_party_hit;

#define AG_MAX_HITS 4

#define AG_PARTY_IDS_MAX 8

typedef struct {
  const char *name; /* NULL when the role is not given; caller-owned */
  size_t name_len;
  char country[8];  /* optional ISO code */
  /* more than a name, evidence for screening (docs/screening.md); NULL
   * when not given; caller-owned */
  const char *address, *city;
  const char *ids[AG_PARTY_IDS_MAX];
  size_t n_ids;
  bool screened;
  char screened_country[8]; /* the country screened with ("" for none): the party's, or the
                               destination for the end user and consignee */
  int n_hits;
  ag_party_hit hits[AG_MAX_HITS];
} ag_party;

/* Due-diligence answers (docs/due-diligence.md): each question of
 * due-diligence.tsv answered at most once, with the note that resolved a
 * raised flag (NULL when not resolved). The engine checks ids, dates and
 * resolutions against the tables (errors "due_diligence.answers.ID"). */
typedef struct {
  char id[AG_DD_ID_MAX + 1];
  ag_dd_value answer;
  const char *resolution; /* caller-owned (the decoder's arena) */
  size_t resolution_len;
} ag_dd_answer;

#define AG_MAX_DD_ANSWERS 64

/* The classification record a check takes its item from
 * (item.classification_id, docs/classification.md): the pipeline looks it
 * up in the audit log and fills this; the engine only cites it. */
#define AG_TXN_CLASSIFICATION_ID_MAX 40 /* an audit id and NUL */
typedef struct {
  char audit_id[AG_TXN_CLASSIFICATION_ID_MAX];
  char as_of[11];         /* the date the questionnaire was answered for */
  char questionnaire[96]; /* "classification.tsv+HASH" */
  char cite[96];          /* the CCL paragraph the chosen candidate cites */
  int n_candidates;       /* paragraphs the classification found */
  /* the answers that decided it, by the provenance of the text they rest on */
  int n_verbatim, n_summary, n_reconstructed;
  bool reconstructed;           /* a reconstructed criterion decided it */
  char reconstructed_items[96]; /* which, comma-separated */
} ag_txn_classification;

typedef struct {
  ag_date as_of;
  char eccn[32];
  char for_[32]; /* "" when not given */
  char destination[8];
  ag_txn_kind transaction;
  ag_end_user_type end_user_type;
  bool police_or_judicial;
  bool national_csirt;
  ag_end_use end_use;
  bool knows_unauthorized_use;
  ag_party parties[AG_PARTY_COUNT];
  bool has_due_diligence; /* "due_diligence" was given (red_flags is then listed) */
  int n_dd;
  ag_dd_answer *dd;         /* n_dd answers; caller-owned (the decoder's arena) */
  const ag_policy *policy;  /* NULL: no company policy */
  /* item.classification_id as given ("" when not), and the record it
   * names once looked up (NULL until then; caller-owned) */
  char classification_id[AG_TXN_CLASSIFICATION_ID_MAX];
  const ag_txn_classification *classification;
} ag_txn;

/* Sets the contract's defaults: as_of today, export, non_government, end
 * use none, no flags, no parties. */
void ag_txn_init(ag_txn *t);

/* ---- the decision ---- */

typedef enum {
  AG_OUTCOME_NLR,
  AG_OUTCOME_LICENSE_EXCEPTION_ACE,
  AG_OUTCOME_LICENSE_REQUIRED,
  AG_OUTCOME_PROHIBITED,
  AG_OUTCOME_REVIEW,
  /* acegate does not decide the item (not a 740.22(b)(1) cybersecurity
   * item nor a neighbour it carries): never a permission; the trace says
   * where its licence requirement is to be read (outside-scope.tsv) */
  AG_OUTCOME_OUT_OF_SCOPE,
  AG_OUTCOME_COUNT
} ag_outcome;
const char *ag_outcome_name(ag_outcome o); /* "LICENSE_EXCEPTION_ACE" */

typedef enum {
  AG_STEP_VALIDATE,
  AG_STEP_RULE_IN_FORCE,
  AG_STEP_RULE_TEXT,      /* which text of 740.22 is in force */
  AG_STEP_CLASSIFY,
  AG_STEP_DECONTROL,      /* Note 1 to 4E001 */
  AG_STEP_SCREENING,
  AG_STEP_EMBARGO,
  AG_STEP_GROUPS,
  AG_STEP_CHART,
  AG_STEP_RESTRICTION,
  AG_STEP_EXCEPTION,      /* an exception row lifted a restriction */
  AG_STEP_ENC,
  AG_STEP_OUTCOME,
  AG_STEP_SCOPE,          /* row: ag_scope_row; an item acegate does not decide */
  AG_STEP_GOV,            /* a U.S. government end user: GOV (740.11), 740.22(a) */
  AG_STEP_DUE_DILIGENCE,  /* arg: index into red_flags */
  AG_STEP_CLASSIFICATION, /* row: ag_txn_classification; where the item's ECCN came from */
  AG_STEP_COUNT
} ag_step_kind;
const char *ag_step_kind_name(ag_step_kind k); /* "country_chart" */

typedef enum {
  AG_RESULT_PASS,            /* checked, nothing in the way */
  AG_RESULT_INFO,
  AG_RESULT_NOT_APPLICABLE,
  AG_RESULT_APPLIES,         /* a requirement or restriction applies */
  AG_RESULT_BLOCKED,         /* ACE (or ENC) unavailable because of this */
  AG_RESULT_LIFTED,          /* an exception lifts the restriction */
  AG_RESULT_LICENSE_REQUIRED,
  AG_RESULT_NO_LICENSE_REQUIRED,
  AG_RESULT_REVIEW,
  AG_RESULT_PROHIBITED
} ag_step_result;
const char *ag_step_result_name(ag_step_result r); /* "blocked" */

typedef struct {
  ag_step_kind kind;
  ag_step_result result;
  const char *cite;
  const void *row;   /* the table row behind the step (type given by kind) */
  uint32_t arg;      /* kind-specific: party role, hit index, columns ... */
} ag_step;

/* the regulation's steps, and one per raised due-diligence flag */
#define AG_MAX_STEPS (48 + AG_MAX_DD_ANSWERS)
#define AG_MAX_BLOCKED 12
#define AG_MAX_ALTERNATIVES 12

typedef enum {
  AG_ALT_EXCEPTION,   /* row: ag_exception that would lift a blocking restriction */
  AG_ALT_GOV_TMP,     /* 740.22(a): GOV and TMP */
  AG_ALT_ENC,         /* 740.17 */
  AG_ALT_NOT_KNOWING, /* 740.22(c)(2) */
  AG_ALT_ADDRESS,     /* 746.6: outside the covered area */
  AG_ALT_CCL_EXCEPTIONS, /* row: ag_item whose CCL entry names other exceptions */
  AG_ALT_GOV_US          /* 740.22(a): GOV (740.11) for a U.S. government end user */
} ag_alt_kind;

typedef struct {
  ag_alt_kind kind;
  const void *row;
} ag_alternative;

/* What a raised flag did to the determination. */
typedef enum {
  AG_FLAG_REVIEW,        /* a reason to inquire, not resolved: REVIEW */
  AG_FLAG_KNOWLEDGE,     /* with its companion answer, 740.22(c)(2) knowledge */
  AG_FLAG_POLICY_REVIEW, /* recorded; the company policy makes it REVIEW */
  AG_FLAG_RECORDED,      /* recorded; no effect on the outcome */
  AG_FLAG_RESOLVED       /* resolved with a note: cleared */
} ag_flag_effect;
const char *ag_flag_effect_name(ag_flag_effect e); /* "review" */

typedef struct {
  const ag_diligence_item *row;
  int answer;            /* index into txn->dd */
  ag_flag_effect effect;
} ag_red_flag;

typedef struct {
  ag_outcome outcome;
  /* chart_read false: acegate did not read the Country Chart for this item
   * on this date (no CCL entry then, a date before the rule, or an item out
   * of scope), and license_required_by_chart means nothing (JSON null) */
  bool chart_read;
  bool license_required_by_chart;
  bool cyber_rule_in_force;
  bool ace_available;
  bool ace_reconstructed; /* a reconstructed row decides ACE availability */
  uint32_t controls;      /* bit (1u << ag_column) */
  int n_blocked;
  const char *blocked_by[AG_MAX_BLOCKED];
  int n_steps;
  ag_step steps[AG_MAX_STEPS];
  int n_alternatives;
  ag_alternative alternatives[AG_MAX_ALTERNATIVES];
  const char *decided_by; /* the paragraph that decides the outcome */
  /* due diligence: every raised flag, in table order */
  int n_red_flags;
  ag_red_flag red_flags[AG_MAX_DD_ANSWERS];
  bool dd_knowledge;          /* the answers state 740.22(c)(2) knowledge */
  /* a reconstructed question changes the outcome (REVIEW or knowledge) */
  bool red_flags_reconstructed;
  const char *dd_review_cite; /* the first due-diligence step that asks for REVIEW, or NULL */
  /* context for rendering the text */
  const ag_rules *rules;
  const ag_txn *txn;
  int dest;
  ag_groupset groups;
  int eu_dest;           /* the end user's country (end_user.country, else dest) */
  ag_groupset eu_groups; /* its Country Groups on the date */
  const ag_item *item;      /* NULL when the outcome is OUT_OF_SCOPE */
  const ag_scope_row *scope; /* the outside-scope row when the outcome is OUT_OF_SCOPE */
} ag_decision;

/*
 * Makes the determination. Returns AG_OK and fills *d, or AG_ERR_INPUT with
 * err naming the field ("destination", "item.eccn", "item.for", ...) when
 * the transaction cannot be decided (unknown destination, a malformed ECCN,
 * a paragraph not on the CCL). A well-formed item acegate does not carry
 * is a decision with outcome AG_OUTCOME_OUT_OF_SCOPE, not an error.
 */
ag_status ag_decide(const ag_rules *rules, const ag_txn *txn, ag_decision *d, ag_error *err);

/* What a party hit means (list-meanings.tsv) on the decision's date: NULL
 * for a possible match or a list the tables give no meaning. */
const ag_list_row *ag_decision_hit_meaning(const ag_decision *d, const ag_party_hit *hit);

/* Appends the plain-English text of step i, or of alternative i. */
void ag_decision_step_text(const ag_decision *d, int i, ag_buf *out);
void ag_decision_alternative_text(const ag_decision *d, int i, ag_buf *out);

#endif
