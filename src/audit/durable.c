/*
 * durable.c - making commits durable off the writer's critical section, and
 * checkpointing the WAL in the background.
 *
 * 15 CFR 762.2: a record is acknowledged only once it is on stable storage.
 * SQLite's synchronous=FULL gets there by fsyncing the WAL inside COMMIT,
 * with the write lock held, so no other batch can be written during the
 * fsync. Here the writer connection runs synchronous=NORMAL (the same WAL
 * format, and SQLite still syncs the WAL header on a reset and both files
 * around every checkpoint) and the WAL is fsynced after the write lock is
 * released. fsync works on the file, not the descriptor, so one fdatasync of
 * the WAL makes every commit that returned before it began durable: callers
 * waiting at the same time share one, and the next batch is written while it
 * runs. An acknowledged record has the same guarantee as under FULL.
 *
 * A failed fsync leaves the state of the page cache unknown (the kernel may
 * have dropped the dirty pages), so it is sticky: every later append fails
 * until the log is reopened, and the caller answers 503 rather than
 * acknowledging a record that may not be on disk.
 *
 * Checkpoints copy WAL frames back into the database file so the WAL can
 * start over. SQLite's automatic checkpoint runs inside the COMMIT that
 * crosses its threshold, on the writer's critical path. Here a thread with
 * its own connection runs PASSIVE checkpoints, which never wait for and never
 * block the writer, and copy the bulk. They cannot finish the job alone: a
 * checkpoint stops at the snapshot of the writer's open transaction and the
 * WAL starts over only when a new transaction finds every frame copied. So
 * once the thread has copied all but a short tail, the writer copies the
 * tail itself right after a commit (between its transactions), and its next
 * transaction starts the WAL over. If the WAL grows past a hard bound all
 * the same, the writer checkpoints whatever is left.
 */
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* WAL size (frames of one page) that wakes the checkpointer: SQLite's own
 * default for automatic checkpoints. */
#define CKPT_FRAMES 1000
/* WAL size past which the writer checkpoints itself (64 MiB of 4 KiB
 * pages): the WAL stays bounded even if the thread falls behind. */
#define CKPT_HARD_FRAMES 16384
/* Frames the writer copies itself once the thread has done the rest. */
#define CKPT_TAIL_FRAMES 256
/* A WAL that grew large in a burst is cut back to this size once it is
 * reset (PRAGMA journal_size_limit). */
#define WAL_KEEP_BYTES "16777216"

/* ---- the checkpointer ---- */

static void *ckpt_main(void *arg) {
  ag_audit_db *db = arg;
  pthread_setname_np(pthread_self(), "audit-ckpt");
  pthread_mutex_lock(&db->cmu);
  for (;;) {
    while (!db->ckpt_due && !db->ckpt_stop)
      pthread_cond_wait(&db->ccv, &db->cmu);
    if (db->ckpt_stop)
      break;
    db->ckpt_due = false;
    uint64_t gen = db->wal_gen;
    pthread_mutex_unlock(&db->cmu);
    ag_error err;
    /* a new connection knows the file is in WAL mode once it has read it */
    if (!db->ck.h && (audit_conn_open(db, &db->ck, SQLITE_OPEN_READWRITE, &err) != AG_OK ||
                      audit_exec(db->ck.h, "SELECT count(*) FROM audit_head", &err) != AG_OK))
      audit_conn_close(&db->ck); /* tried again at the next wake-up */
    /* PASSIVE: copies what it can without waiting; SQLITE_BUSY (another
     * checkpoint running, e.g. a backup's) just means later */
    int copied = -1;
    if (db->ck.h && sqlite3_wal_checkpoint_v2(db->ck.h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
                                              &copied) == SQLITE_OK)
      atomic_fetch_add_explicit(&db->checkpoints, 1, memory_order_relaxed);
    pthread_mutex_lock(&db->cmu);
    if (gen == db->wal_gen && copied > db->wal_copied)
      db->wal_copied = copied;
  }
  pthread_mutex_unlock(&db->cmu);
  return NULL;
}

/* Called by SQLite after each commit of the writer connection, with wmu
 * held; frames is the WAL's size. */
static int wal_hook(void *arg, sqlite3 *h, const char *name, int frames) {
  ag_audit_db *db = arg;
  pthread_mutex_lock(&db->cmu);
  if (frames < db->wal_frames) {
    /* the WAL started over: what the thread copied was of the old one */
    db->wal_gen++;
    db->wal_copied = 0;
  }
  bool tail = frames >= CKPT_HARD_FRAMES ||
              (frames >= CKPT_FRAMES && frames - db->wal_copied <= CKPT_TAIL_FRAMES);
  if (frames >= CKPT_FRAMES && !tail) {
    if (!db->ckpt_started && !db->ckpt_stop)
      db->ckpt_started = pthread_create(&db->ckpt_thread, NULL, ckpt_main, db) == 0;
    db->ckpt_due = true;
    pthread_cond_signal(&db->ccv);
  }
  pthread_mutex_unlock(&db->cmu);
  if (tail &&
      sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
    atomic_fetch_add_explicit(&db->checkpoints, 1, memory_order_relaxed);
  return SQLITE_OK;
}

/* ---- syncing the WAL ---- */

/* fsyncs the directory holding path, so a newly created file's name is
 * durable too. */
static int sync_dir(const char *path) {
  char *copy = strdup(path);
  if (!copy)
    return ENOMEM;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(copy);
  if (fd < 0)
    return errno;
  int rc = fsync(fd) == 0 ? 0 : errno;
  close(fd);
  return rc;
}

/* Whether the open WAL still has a name. Only the link count is asked for:
 * reading the file's times marks them as seen, and Linux (6.13+, multigrain
 * timestamps) then gives the next write a fresh fine-grained mtime, so the
 * inode would be dirty again at every fdatasync and each one would write it
 * too: one more I/O in series on the acknowledgement path. fstat where
 * statx is missing (an old kernel, a seccomp filter) or gives no count. */
static bool wal_named(int fd) {
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_NLINK, &sx) == 0 && (sx.stx_mask & STATX_NLINK))
    return sx.stx_nlink > 0;
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_nlink > 0;
}

/* fdatasync of the WAL; 0 or an errno. Runs with smu released. */
static int wal_sync(ag_audit_db *db) {
  if (db->wal_fd < 0) {
    int fd = open(db->wal_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return errno;
    int rc = sync_dir(db->wal_path);
    if (rc) {
      close(fd);
      return rc;
    }
    db->wal_fd = fd;
  }
  if (fdatasync(db->wal_fd) != 0)
    return errno;
  /* The writer connection keeps the WAL open, so SQLite never deletes it.
   * Once it has lost its name, the frames written since are in a file no
   * one will read again, even if another connection has since made a new
   * WAL under the same name: never sync that one instead. */
  return wal_named(db->wal_fd) ? 0 : ENOENT;
}

uint64_t audit_committed(ag_audit_db *db) {
  return atomic_fetch_add(&db->committed, 1) + 1;
}

ag_status audit_sync(ag_audit_db *db, uint64_t upto, ag_error *err) {
  if (!db->durable)
    return AG_OK;
  if (db->store->sync)
    return db->store->sync(db, upto, err);
  pthread_mutex_lock(&db->smu);
  while (db->sync_st == AG_OK && db->synced < upto) {
    if (db->syncing) {
      pthread_cond_wait(&db->scv, &db->smu);
      continue;
    }
    /* every commit counted so far has returned from COMMIT, so its frames
     * are in the WAL file and this one fdatasync covers them all */
    uint64_t target = atomic_load(&db->committed);
    db->syncing = true;
    pthread_mutex_unlock(&db->smu);
    int rc = wal_sync(db);
    pthread_mutex_lock(&db->smu);
    db->syncing = false;
    db->syncs++;
    if (rc == 0) {
      if (target > db->synced)
        db->synced = target;
    } else {
      db->sync_st = AG_ERR_DB;
      snprintf(db->sync_why, sizeof db->sync_why,
               "cannot fsync the write-ahead log: %s; records may not be durable, reopen the log",
               strerror(rc));
    }
    pthread_cond_broadcast(&db->scv);
  }
  ag_status st = db->sync_st;
  if (st != AG_OK)
    ag_error_set(err, st, "db", "%s", db->sync_why);
  pthread_mutex_unlock(&db->smu);
  return st;
}

/* ---- set-up ---- */

ag_status audit_durable_init(ag_audit_db *db, unsigned flags, ag_error *err) {
  if (db->memory)
    return AG_OK;
  const char *wal = sqlite3_filename_wal(sqlite3_db_filename(db->w.h, "main"));
  if (!wal || !*wal || !(db->wal_path = strdup(wal)))
    return ag_error_set(err, AG_ERR_DB, "db", "cannot locate the write-ahead log of '%s'",
                        db->path);
  ag_status st = audit_exec(db->w.h,
                            "PRAGMA synchronous = NORMAL;"
                            "PRAGMA journal_size_limit = " WAL_KEEP_BYTES,
                            err);
  if (st != AG_OK)
    return st;
  sqlite3_wal_hook(db->w.h, wal_hook, db);
  db->durable = !(flags & AG_AUDIT_OPEN_RELAXED);
  return AG_OK;
}

void audit_durable_close(ag_audit_db *db) {
  pthread_mutex_lock(&db->cmu);
  bool started = db->ckpt_started;
  db->ckpt_stop = true;
  pthread_cond_signal(&db->ccv);
  pthread_mutex_unlock(&db->cmu);
  if (started)
    pthread_join(db->ckpt_thread, NULL);
  audit_conn_close(&db->ck);
  if (db->w.h && !db->memory)
    sqlite3_wal_hook(db->w.h, NULL, NULL);
  if (db->wal_fd >= 0)
    close(db->wal_fd);
  db->wal_fd = -1;
  free(db->wal_path);
  db->wal_path = NULL;
}
