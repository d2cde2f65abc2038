/*
 * cmd_keys.c - `acegate keys`: create, list and revoke the API keys the
 * HTTP service accepts. Keys live in the audit database (acegate/audit.h);
 * only their hashes are stored, so a new key is printed once, as the last
 * line of stdout, and never again.
 */
#include "cli.h"
#include "cli_common.h"

#include "acegate/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: acegate keys add --role checker|auditor|reviewer|admin [--name LABEL] [--db FILE]\n"
    "       acegate keys list [--json] [--db FILE]\n"
    "       acegate keys revoke ID [--db FILE]\n"
    "\n"
    "  add     create a key; it is printed once, as the last line of stdout\n"
    "  list    show every key: id, role, created, status, name (tab-separated)\n"
    "  revoke  stop accepting a key; keys are never deleted\n"
    "\n"
    "Roles: checker may request checks and screenings; auditor may read and export\n"
    "the audit log; admin may do both and manage keys.\n"
    "--db defaults to $ACEGATE_DB, else $XDG_STATE_HOME/acegate/audit.db, else\n"
    "~/.local/state/acegate/audit.db (created 0600).\n";

static int fail(const char *sub, const ag_error *e) {
  static const ag_cli_flag_name flags[] = {{"db", "--db"}, {"name", "--name"}, {"role", "--role"}};
  return ag_cli_fail("keys", sub, e, flags, sizeof flags / sizeof flags[0]);
}

static int usage_error(const char *sub, const char *field, const char *reason) {
  fprintf(stderr, "acegate keys %s: %s: %s\n%s", sub, field, reason, usage_text);
  return AG_EXIT_INPUT;
}

typedef struct {
  const char *db, *role, *name, *id;
  bool db_default, json;
  char dbbuf[AG_CLI_PATH_MAX];
} keys_args;

/* Returns an exit status, or -1 to go on. */
static int parse(const char *sub, int argc, char **argv, bool want_id, bool want_role,
                 keys_args *a) {
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i], *eq = strchr(arg, '=');
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      fputs(usage_text, stdout);
      return AG_EXIT_OK;
    }
    if (!strcmp(arg, "--json") && !want_id && !want_role) { /* keys list */
      a->json = true;
      continue;
    }
    if (strncmp(arg, "--", 2) != 0) {
      if (!want_id || a->id)
        return usage_error(sub, arg, a->id ? "one ID at a time" : "unexpected argument");
      a->id = arg;
      continue;
    }
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const char **slot = NULL;
    if (len == 4 && !strncmp(arg, "--db", len))
      slot = &a->db;
    else if (want_role && len == 6 && !strncmp(arg, "--role", len))
      slot = &a->role;
    else if (want_role && len == 6 && !strncmp(arg, "--name", len))
      slot = &a->name;
    if (!slot)
      return usage_error(sub, arg, "unknown option");
    if (*slot) {
      char flag[16];
      snprintf(flag, sizeof flag, "%.*s", (int)len, arg);
      return usage_error(sub, flag, "given more than once");
    }
    if (eq)
      *slot = eq + 1;
    else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
      *slot = argv[++i];
    else
      return usage_error(sub, arg, "needs a value");
  }
  ag_error e;
  a->db_default = !a->db;
  if (ag_cli_db_path(a->db, false, a->dbbuf, sizeof a->dbbuf, &e) != AG_OK)
    return fail(sub, &e);
  a->db = a->dbbuf;
  return -1;
}

static int cmd_add(int argc, char **argv) {
  keys_args a = {0};
  int rc = parse("add", argc, argv, false, true, &a);
  if (rc >= 0)
    return rc;
  ag_keys_role role;
  if (!a.role)
    return usage_error("add", "--role", "required");
  if (!ag_keys_role_parse(a.role, &role))
    return usage_error("add", "--role", "must be checker, auditor, reviewer or admin");
  ag_audit_db *db;
  ag_error e;
  if (ag_audit_prepare_path(a.db, a.db_default, &e) != AG_OK ||
      ag_audit_open(a.db, NULL, &db, &e) != AG_OK)
    return fail("add", &e);
  char token[AG_KEYS_TOKEN_MAX], audit_id[AG_AUDIT_ID_MAX];
  ag_keys_info k;
  /* the key and its record in one transaction: both, or neither */
  ag_status st = ag_keys_add_recorded(db, role, a.name, "", "", token, &k, audit_id, &e);
  if (st != AG_OK) {
    ag_audit_close(db);
    return fail("add", &e);
  }
  printf("id: %s\nrole: %s\nname: %s\n%s\n", k.id, ag_keys_role_name(k.role), k.name, token);
  if (fflush(stdout) != 0) {
    /* a key nobody has seen must not stay usable */
    ag_error ignored;
    if (ag_keys_revoke(db, k.id, NULL, &ignored) == AG_OK)
      ag_audit_key_event(db, true, k.id, NULL, NULL, "", "", audit_id, &ignored);
    ag_audit_close(db);
    ag_error_set(&e, AG_ERR_IO, "output",
                 "writing the key to stdout failed; key %s was revoked at once", k.id);
    return fail("add", &e);
  }
  ag_audit_close(db);
  fprintf(stderr, "acegate keys add: the key is the last line above; store it now, it cannot be "
                  "shown again\n");
  return AG_EXIT_OK;
}

static int cmd_list(int argc, char **argv) {
  keys_args a = {0};
  int rc = parse("list", argc, argv, false, false, &a);
  if (rc >= 0)
    return rc;
  ag_audit_db *db;
  ag_error e;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_READONLY};
  if (ag_audit_open(a.db, &o, &db, &e) != AG_OK)
    return fail("list", &e);
  ag_keys_info *keys;
  size_t n;
  ag_status st = ag_keys_list(db, &keys, &n, &e);
  ag_audit_close(db);
  if (st != AG_OK)
    return fail("list", &e);
  if (a.json) {
    ag_buf b;
    ag_buf_init(&b);
    ag_keys_list_json(keys, n, &b);
    ag_buf_putc(&b, '\n');
    bool ok = !b.failed && fwrite(b.data, 1, b.len, stdout) == b.len;
    ag_buf_free(&b);
    free(keys);
    return ok && fflush(stdout) == 0 ? AG_EXIT_OK : AG_EXIT_IO;
  }
  printf("id\trole\tcreated\tstatus\tname\n");
  for (size_t i = 0; i < n; i++) {
    char created[32], revoked[32];
    ag_audit_format_time(keys[i].created_ms, created);
    ag_audit_format_time(keys[i].revoked_ms, revoked);
    printf("%s\t%s\t%s\t%s%s\t%s\n", keys[i].id, ag_keys_role_name(keys[i].role), created,
           keys[i].revoked_ms ? "revoked " : "active", keys[i].revoked_ms ? revoked : "",
           keys[i].name);
  }
  free(keys);
  return fflush(stdout) == 0 ? AG_EXIT_OK : AG_EXIT_IO;
}

static int cmd_revoke(int argc, char **argv) {
  keys_args a = {0};
  int rc = parse("revoke", argc, argv, true, false, &a);
  if (rc >= 0)
    return rc;
  if (!a.id)
    return usage_error("revoke", "ID", "required");
  ag_audit_db *db;
  ag_error e;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_EXISTING};
  if (ag_audit_open(a.db, &o, &db, &e) != AG_OK)
    return fail("revoke", &e);
  char audit_id[AG_AUDIT_ID_MAX];
  bool revoked_now;
  ag_status st = ag_keys_revoke(db, a.id, &revoked_now, &e);
  if (st == AG_OK && revoked_now)
    st = ag_audit_key_event(db, true, a.id, NULL, NULL, "", "", audit_id, &e);
  ag_audit_close(db);
  if (st != AG_OK)
    return fail("revoke", &e);
  printf(revoked_now ? "revoked %s\n" : "%s was already revoked; nothing changed\n", a.id);
  return AG_EXIT_OK;
}

int ag_cmd_keys(int argc, char **argv) {
  static const ag_cli_sub subs[] = {{"add", cmd_add}, {"list", cmd_list}, {"revoke", cmd_revoke}};
  return ag_cli_dispatch("keys", argc, argv, subs, sizeof subs / sizeof subs[0], usage_text);
}
