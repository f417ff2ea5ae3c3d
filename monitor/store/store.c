/*
 * store.c: the sqlite state file (see store.h for what it keeps and the
 * invariants it enforces).  The only file that includes <sqlite3.h>.
 *
 * Every statement that touches data is prepared once at open (which also
 * proves the schema is the one this build expects) and run with bound
 * parameters; only constant DDL and pragmas go through sqlite3_exec.
 * Every write runs in one BEGIN IMMEDIATE transaction (store_txn_*), so a
 * failure at any step rolls the whole operation back.  Values read back
 * from the file are checked (lengths of blobs, ranges of integers) before
 * they are copied anywhere: a corrupt or tampered file is an error, never
 * a crash.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "monitor/store/store.h"

#define STORE_BUSY_TIMEOUT_MS 5000

/*
 * Forward migrations: store_migrations[v], a NULL-terminated list of
 * statements, takes user_version v to v + 1 and sets it, in one
 * transaction with the schema change.  Existing entries
 * never change once released; a new version appends one (ALTER TABLE ...
 * ADD COLUMN, new tables) and bumps STORE_SCHEMA_VERSION.
 *
 * Version 1 holds every table the design names, including those that
 * later modules fill (signings, deliveries, reports), so that later work
 * only adds columns.  The application id 1414285143 is 0x544c4757
 * (STORE_APPLICATION_ID, checked after migrating).
 */
static const char *const store_v1[] = {
    "PRAGMA application_id = 1414285143;\n",
    "CREATE TABLE meta (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value TEXT NOT NULL\n"
    ") WITHOUT ROWID;\n",
    /* One row per (configured log name, checkpoint origin): a shard. */
    "CREATE TABLE logs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  origin TEXT NOT NULL,\n"
    "  created_at INTEGER NOT NULL,\n"
    /* cursor: NULL until seeded; the compact range at it holds
     * popcount(next_shard_index) hashes of 32 bytes, concatenated */
    "  next_index INTEGER CHECK (next_index >= 0),\n"
    "  next_shard_index INTEGER CHECK (next_shard_index >= 0\n"
    "    AND next_shard_index <= next_index),\n"
    "  range_hashes BLOB CHECK (length(range_hashes) % 32 = 0),\n"
    "  last_success_at INTEGER,\n"
    "  last_error TEXT,\n"
    "  last_error_at INTEGER,\n"
    "  entries_scanned INTEGER NOT NULL DEFAULT 0,\n"
    "  checkpoints_verified INTEGER NOT NULL DEFAULT 0,\n"
    "  proofs_verified INTEGER NOT NULL DEFAULT 0,\n"
    "  root_checks_passed INTEGER NOT NULL DEFAULT 0,\n"
    "  UNIQUE (name, origin)\n"
    ");\n",
    /* Verified checkpoints, kept as evidence; the largest is current.
     * link: 0 none (first), 1 consistency proof, 2 tiles. */
    "CREATE TABLE checkpoints (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  log_id INTEGER NOT NULL REFERENCES logs(id),\n"
    "  size INTEGER NOT NULL CHECK (size >= 0),\n"
    "  root BLOB NOT NULL CHECK (length(root) = 32),\n"
    "  note TEXT NOT NULL,\n"
    "  verified_at INTEGER NOT NULL,\n"
    "  link INTEGER NOT NULL CHECK (link IN (0, 1, 2)),\n"
    "  prev_size INTEGER CHECK (prev_size < size),\n"
    "  proof BLOB CHECK (length(proof) % 32 = 0),\n"
    "  UNIQUE (log_id, size)\n"
    ");\n",
    "CREATE INDEX checkpoints_time ON checkpoints(verified_at);\n",
    "CREATE TRIGGER checkpoints_immutable BEFORE UPDATE ON checkpoints\n"
    "BEGIN SELECT RAISE(ABORT, 'verified checkpoints are immutable'); END;\n",
    "CREATE TRIGGER checkpoints_kept BEFORE DELETE ON checkpoints\n"
    "BEGIN SELECT RAISE(ABORT, 'verified checkpoints are kept'); END;\n",
    /* Final checkpoints of inactive shards: written once. */
    "CREATE TABLE frozen_shards (\n"
    "  log_name TEXT NOT NULL,\n"
    "  origin TEXT NOT NULL,\n"
    "  size INTEGER NOT NULL CHECK (size >= 0),\n"
    "  root BLOB NOT NULL CHECK (length(root) = 32),\n"
    "  note TEXT NOT NULL,\n"
    "  recorded_at INTEGER NOT NULL,\n"
    "  checked_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (log_name, origin)\n"
    ") WITHOUT ROWID;\n",
    "CREATE TRIGGER frozen_shards_immutable\n"
    "BEFORE UPDATE OF log_name, origin, size, root, note ON frozen_shards\n"
    "BEGIN SELECT RAISE(ABORT, 'frozen shard checkpoints are immutable');"
    " END;\n",
    "CREATE TRIGGER frozen_shards_kept BEFORE DELETE ON frozen_shards\n"
    "BEGIN SELECT RAISE(ABORT, 'frozen shard checkpoints are kept'); END;\n",
    "CREATE TABLE log_errors (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  log_id INTEGER NOT NULL REFERENCES logs(id),\n"
    "  at INTEGER NOT NULL,\n"
    "  message TEXT NOT NULL\n"
    ");\n",
    "CREATE INDEX log_errors_log ON log_errors(log_id, seq);\n",
    /* Alerts: id is the stable dedupe key; body the rendered JSON. */
    "CREATE TABLE alerts (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  id TEXT NOT NULL UNIQUE,\n"
    "  type TEXT NOT NULL,\n"
    "  severity INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 2),\n"
    "  detected_at INTEGER NOT NULL,\n"
    "  log_id INTEGER REFERENCES logs(id),\n"
    "  log_index INTEGER CHECK (log_index >= 0),\n"
    "  rule TEXT,\n"
    "  body TEXT NOT NULL\n"
    ");\n",
    "CREATE INDEX alerts_time ON alerts(detected_at);\n",
    "CREATE INDEX alerts_type ON alerts(type, detected_at);\n",
    "CREATE INDEX alerts_entry ON alerts(log_id, log_index);\n",
    /* Watched signings: one per entry, certificate and rule.  pcrs_state
     * and pcrs_deadline drive the asynchronous PCR lookup. */
    "CREATE TABLE signings (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  log_id INTEGER NOT NULL REFERENCES logs(id),\n"
    "  log_index INTEGER NOT NULL CHECK (log_index >= 0),\n"
    "  shard_index INTEGER NOT NULL CHECK (shard_index >= 0),\n"
    "  uuid TEXT NOT NULL,\n"
    "  kind TEXT,\n"
    "  integrated_time INTEGER,\n"
    "  cert_sha256 TEXT NOT NULL,\n"
    "  san TEXT,\n"
    "  issuer TEXT,\n"
    "  repository TEXT,\n"
    "  repository_id TEXT,\n"
    "  workflow_path TEXT,\n"
    "  ref TEXT,\n"
    "  workflow_sha TEXT,\n"
    "  runner_environment TEXT,\n"
    "  trigger TEXT,\n"
    "  run_invocation_uri TEXT,\n"
    "  build_signer_uri TEXT,\n"
    "  rule TEXT NOT NULL,\n"
    "  verdict TEXT NOT NULL,\n"
    "  artifact_digest TEXT,\n"
    "  pcr0 TEXT,\n"
    "  pcr1 TEXT,\n"
    "  pcr2 TEXT,\n"
    "  pcrs_state TEXT NOT NULL DEFAULT 'none' CHECK (pcrs_state IN\n"
    "    ('none', 'pending', 'found', 'unavailable')),\n"
    "  pcrs_deadline INTEGER,\n"
    "  recorded_at INTEGER NOT NULL,\n"
    "  UNIQUE (log_id, log_index, cert_sha256, rule)\n"
    ");\n",
    "CREATE INDEX signings_rule ON signings(rule, seq);\n",
    "CREATE INDEX signings_time ON signings(recorded_at);\n",
    /* The outbox: one delivery per alert and sink. */
    "CREATE TABLE deliveries (\n"
    "  alert_seq INTEGER NOT NULL REFERENCES alerts(seq),\n"
    "  sink TEXT NOT NULL,\n"
    "  status TEXT NOT NULL DEFAULT 'pending'\n"
    "    CHECK (status IN ('pending', 'sent', 'failed')),\n"
    "  attempts INTEGER NOT NULL DEFAULT 0,\n"
    "  next_attempt_at INTEGER NOT NULL,\n"
    "  last_attempt_at INTEGER,\n"
    "  last_error TEXT,\n"
    "  PRIMARY KEY (alert_seq, sink)\n"
    ") WITHOUT ROWID;\n",
    "CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);\n",
    "CREATE TABLE reports (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  range_start INTEGER NOT NULL,\n"
    "  range_end INTEGER NOT NULL,\n"
    "  format TEXT NOT NULL,\n"
    "  path TEXT\n"
    ");\n",
    "PRAGMA user_version = 1;\n",
    NULL,
};

/*
 * Version 2 (issue 7): PCR8 (a signed EIF), where the PCRs of a signing
 * come from (pcrs_source: "signature" = cosign's .sig manifest found by
 * the payload digest, "attestation" = the in-toto statement of the entry
 * itself, "subject" = the manifest its statement's subject names, "att" =
 * the statement found among cosign's .att manifests), and a
 * note (why a lookup has not succeeded or why it ended unavailable).
 */
static const char *const store_v2[] = {
    "ALTER TABLE signings ADD COLUMN pcr8 TEXT;\n",
    "ALTER TABLE signings ADD COLUMN pcrs_source TEXT CHECK (pcrs_source IN\n"
    "  ('signature', 'attestation', 'subject', 'att'));\n",
    "ALTER TABLE signings ADD COLUMN pcrs_note TEXT;\n",
    "PRAGMA user_version = 2;\n",
    NULL,
};

/*
 * Version 3 (retention): rows may be pruned (store_prune), within rules
 * the schema itself enforces, whatever the statement: a checkpoint is
 * kept while it is the verified (largest) one of its log, while the
 * cursor has not passed its size (the follower still checks its root
 * there; a log without a cursor keeps them all), or while it is the
 * final checkpoint of a frozen shard; a pending delivery and a signing
 * pending a PCR lookup are never deleted (and the foreign key keeps an
 * alert while it has any delivery).  The existing indexes serve the
 * prune: checkpoints_time, alerts_time and signings_time find the old
 * rows, UNIQUE (log_id, size) the largest checkpoint of a log and the
 * deliveries' primary key the deliveries of an alert.
 */
static const char *const store_v3[] = {
    "DROP TRIGGER checkpoints_kept;\n",
    "CREATE TRIGGER checkpoints_kept BEFORE DELETE ON checkpoints\n"
    "WHEN old.size >= (SELECT max(m.size) FROM checkpoints m\n"
    "                  WHERE m.log_id = old.log_id)\n"
    "  OR old.size >= COALESCE((SELECT l.next_shard_index FROM logs l\n"
    "                           WHERE l.id = old.log_id), -1)\n"
    "  OR EXISTS (SELECT 1 FROM logs l JOIN frozen_shards f\n"
    "             ON f.log_name = l.name AND f.origin = l.origin\n"
    "             WHERE l.id = old.log_id AND f.size = old.size)\n"
    "BEGIN SELECT RAISE(ABORT, 'this verified checkpoint is kept'); END;\n",
    "CREATE TRIGGER deliveries_pending_kept BEFORE DELETE ON deliveries\n"
    "WHEN old.status = 'pending'\n"
    "BEGIN SELECT RAISE(ABORT, 'pending deliveries are kept'); END;\n",
    "CREATE TRIGGER signings_pending_kept BEFORE DELETE ON signings\n"
    "WHEN old.pcrs_state = 'pending'\n"
    "BEGIN SELECT RAISE(ABORT, 'signings pending a PCR lookup are kept');"
    " END;\n",
    "PRAGMA user_version = 3;\n",
    NULL,
};

/*
 * Version 4 (issue 12, the read model): errors of a configured log that
 * has no shard row yet (never reached: no checkpoint, so no origin),
 * kept per log name like log_errors; a sampled history of each shard
 * (verified size and entries scanned, one sample per
 * STORE_HISTORY_EVERY at most, the newest STORE_HISTORY_MAX kept) for
 * the status chart; and an index on signings (rule, recorded_at) so a
 * report period reads its own signings only.
 */
static const char *const store_v4[] = {
    "CREATE TABLE name_errors (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  log_name TEXT NOT NULL,\n"
    "  at INTEGER NOT NULL,\n"
    "  message TEXT NOT NULL\n"
    ");\n",
    "CREATE INDEX name_errors_name ON name_errors(log_name, seq);\n",
    "CREATE TABLE log_history (\n"
    "  log_id INTEGER NOT NULL REFERENCES logs(id),\n"
    "  at INTEGER NOT NULL,\n"
    "  verified_size INTEGER NOT NULL CHECK (verified_size >= 0),\n"
    "  entries_scanned INTEGER NOT NULL CHECK (entries_scanned >= 0),\n"
    "  PRIMARY KEY (log_id, at)\n"
    ") WITHOUT ROWID;\n",
    "CREATE INDEX signings_rule_time ON signings(rule, recorded_at);\n",
    "PRAGMA user_version = 4;\n",
    NULL,
};

/*
 * Version 5 (issue 12, reads on every /metrics scrape): alerts counted by
 * (type, severity) over all time read a covering index in group order
 * (no sort, no table row), and the signings pending a PCR lookup are
 * found through a partial index (the few pending rows, not the table).
 */
static const char *const store_v5[] = {
    "CREATE INDEX alerts_type_severity ON alerts(type, severity);\n",
    "CREATE INDEX signings_pending ON signings(seq)\n"
    "  WHERE pcrs_state = 'pending';\n",
    "PRAGMA user_version = 5;\n",
    NULL,
};

/*
 * Version 6 (issue 13, Fulcio's CT log): a signing keeps its
 * certificate's link id (SHA-256 of issuer || serial, ctleaf.h), and
 * ct_certs holds each certificate for a watched repository seen in a CT
 * log, per rule, until a signing with the same link id logs it or its
 * deadline (NotBefore + unlogged_after) passes without one
 * (signing.unlogged_certificate, recorded once: state "unlogged").  The
 * partial indexes hold the rows that are looked up: signings with a
 * link id, pending certificates by deadline.
 */
static const char *const store_v6[] = {
    "ALTER TABLE signings ADD COLUMN link_id TEXT;\n",
    "CREATE INDEX signings_link ON signings(link_id)\n"
    "  WHERE link_id IS NOT NULL;\n",
    "CREATE TABLE ct_certs (\n"
    "  link_id TEXT NOT NULL,\n"
    "  rule TEXT NOT NULL,\n"
    "  log_id INTEGER NOT NULL REFERENCES logs(id),\n"
    "  log_index INTEGER NOT NULL CHECK (log_index >= 0),\n"
    "  leaf_hash TEXT NOT NULL,\n"
    "  entry_type TEXT NOT NULL CHECK (entry_type IN ('precert', 'x509')),\n"
    "  cert_sha256 TEXT NOT NULL,\n"
    "  not_before INTEGER NOT NULL,\n"
    "  deadline INTEGER NOT NULL,\n"
    "  verdict TEXT NOT NULL,\n"
    "  state TEXT NOT NULL CHECK (state IN\n"
    "    ('pending', 'logged', 'unlogged')),\n"
    "  alert TEXT NOT NULL,\n"
    "  recorded_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (link_id, rule)\n"
    ") WITHOUT ROWID;\n",
    "CREATE INDEX ct_certs_due ON ct_certs(deadline)\n"
    "  WHERE state = 'pending';\n",
    "PRAGMA user_version = 6;\n",
    NULL,
};

/*
 * Version 7 (the read model shows CT sightings): a CT certificate keeps
 * when it was judged (judged_at: logged or unlogged; NULL while
 * pending), so that a report lists the certificates found unlogged in
 * its period.  Rows judged before: an unlogged one takes its alert's
 * detected_at (NULL when that alert was pruned), a logged one stays
 * NULL.  The indexes serve the read model: a rule's latest
 * certificates, the count per (rule, state), and the unlogged ones by
 * judged_at.
 */
static const char *const store_v7[] = {
    "ALTER TABLE ct_certs ADD COLUMN judged_at INTEGER;\n",
    "UPDATE ct_certs SET judged_at = (SELECT a.detected_at FROM alerts a\n"
    "  WHERE a.id = json_extract(ct_certs.alert, '$.id'))\n"
    "  WHERE state = 'unlogged' AND json_valid(alert);\n",
    "CREATE INDEX ct_certs_rule ON ct_certs(rule, recorded_at);\n",
    "CREATE INDEX ct_certs_state ON ct_certs(rule, state);\n",
    "CREATE INDEX ct_certs_unlogged ON ct_certs(judged_at)\n"
    "  WHERE state = 'unlogged';\n",
    "PRAGMA user_version = 7;\n",
    NULL,
};

static const char *const *const store_migrations[STORE_SCHEMA_VERSION] = {
    store_v1, /* 0 -> 1 */
    store_v2, /* 1 -> 2 */
    store_v3, /* 2 -> 3 */
    store_v4, /* 3 -> 4 */
    store_v5, /* 4 -> 5 */
    store_v6, /* 5 -> 6 */
    store_v7, /* 6 -> 7 */
};

/* The cached statements; ids index store_sql[] and s->stmt[]. */
enum store_stmt {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_LOG_FIND,
    S_LOG_INSERT,
    S_LOG_STATUS,
    S_LOG_ONE,
    S_LOG_SUCCESS,
    S_LOG_ERROR,
    S_ERR_INSERT,
    S_ERR_PRUNE,
    S_ERR_LIST,
    S_NAME_ERR_INSERT,
    S_NAME_ERR_PRUNE,
    S_NAME_ERR_LIST,
    S_HISTORY_SAMPLE,
    S_HISTORY_PRUNE,
    S_HISTORY_LIST,
    S_CP_LATEST,
    S_CP_MAX,
    S_CP_ROOT_AT,
    S_CP_INSERT,
    S_CP_HISTORY,
    S_CP_COUNT,
    S_FROZEN_GET,
    S_FROZEN_INSERT,
    S_FROZEN_TOUCH,
    S_CURSOR_GET,
    S_CURSOR_SET,
    S_ALERT_INSERT,
    S_DELIVERY_INSERT,
    S_SIGNING_INSERT,
    S_ALERTS_QUERY,
    S_SIGNINGS_LATEST,
    S_SIGNINGS_BETWEEN,
    S_ENTRY_ALERTS,
    S_SINKS,
    S_SIGNINGS_PENDING,
    S_SIGNINGS_BY_PCRS,
    S_SIGNING_SET_PCRS,
    S_DUE,
    S_DELIVERY_SENT,
    S_DELIVERY_FAILED,
    S_COUNT_ALERTS,
    S_COUNT_SIGNINGS,
    S_COUNT_CPS,
    S_COUNT_DELIVERIES,
    S_ALERT_TYPE_COUNTS,
    S_ALERT_TYPE_COUNTS_ALL,
    S_SIGNING_COUNTS,
    S_REPORT_INSERT,
    S_REPORT_LAST,
    S_META_SET,
    S_META_GET,
    S_PRUNE_CPS,
    S_PRUNE_DELIVERIES,
    S_PRUNE_ALERTS,
    S_PRUNE_SIGNINGS,
    S_CT_INSERT,
    S_CT_LOGGED,
    S_CT_DUE,
    S_CT_FIRE,
    S_CT_GET,
    S_PRUNE_CT,
    S_CT_LATEST,
    S_CT_COUNTS,
    S_CT_UNLOGGED,
    S_SIGNING_BY_LINK,
    S_COUNT_
};

#define STORE_LOG_COLUMNS                                                      \
    "SELECT l.id, l.name, l.origin, l.created_at, l.next_index,"               \
    " l.next_shard_index, l.last_success_at, l.last_error_at, l.last_error,"   \
    " l.entries_scanned, l.checkpoints_verified, l.proofs_verified,"           \
    " l.root_checks_passed, EXISTS (SELECT 1 FROM frozen_shards f"             \
    " WHERE f.log_name = l.name AND f.origin = l.origin),"                     \
    " c.size, c.root, c.verified_at FROM logs l LEFT JOIN checkpoints c"       \
    " ON c.seq = (SELECT seq FROM checkpoints WHERE log_id = l.id"             \
    " ORDER BY size DESC LIMIT 1)"

#define STORE_CP_COLUMNS                                                       \
    "SELECT size, root, verified_at, note, link, prev_size, proof"             \
    " FROM checkpoints"

#define STORE_SIGNING_COLUMNS                                                  \
    "SELECT log_id, log_index, shard_index, uuid, kind, integrated_time,"      \
    " cert_sha256, san, issuer, repository, repository_id, workflow_path,"     \
    " ref, workflow_sha, runner_environment, trigger, run_invocation_uri,"     \
    " build_signer_uri, rule, verdict, artifact_digest, pcr0, pcr1, pcr2,"     \
    " recorded_at, pcrs_state, pcrs_deadline, pcr8, pcrs_source, pcrs_note,"   \
    " link_id FROM signings"

/* Alerts detected before ?1 none of whose deliveries is pending, the
 * oldest ?2.  "+d.status" keeps the planner on the deliveries' primary
 * key (the alert's few rows) rather than on deliveries_due (every
 * pending row of every alert). */
#define STORE_PRUNE_ALERTS_PICK                                                \
    "SELECT a.seq FROM alerts a WHERE a.detected_at < ?1"                      \
    " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_seq = a.seq"    \
    " AND +d.status = 'pending') ORDER BY a.detected_at, a.seq LIMIT ?2"

static const char *const store_sql[S_COUNT_] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_LOG_FIND] = "SELECT id FROM logs WHERE name = ?1 AND origin = ?2",
    [S_LOG_INSERT] =
        "INSERT INTO logs (name, origin, created_at) VALUES (?1, ?2, ?3)",
    [S_LOG_STATUS] = STORE_LOG_COLUMNS " ORDER BY l.name, l.id",
    [S_LOG_ONE] = STORE_LOG_COLUMNS " WHERE l.id = ?1",
    [S_LOG_SUCCESS] = "UPDATE logs SET last_success_at = ?2 WHERE id = ?1",
    [S_LOG_ERROR] =
        "UPDATE logs SET last_error = ?2, last_error_at = ?3 WHERE id = ?1",
    [S_ERR_INSERT] =
        "INSERT INTO log_errors (log_id, at, message) VALUES (?1, ?2, ?3)",
    [S_ERR_PRUNE] = "DELETE FROM log_errors WHERE log_id = ?1 AND seq NOT IN"
                    " (SELECT seq FROM log_errors WHERE log_id = ?1"
                    " ORDER BY seq DESC LIMIT ?2)",
    [S_ERR_LIST] = "SELECT at, message FROM log_errors WHERE log_id = ?1"
                   " ORDER BY seq DESC",
    [S_NAME_ERR_INSERT] = "INSERT INTO name_errors (log_name, at, message)"
                          " VALUES (?1, ?2, ?3)",
    [S_NAME_ERR_PRUNE] =
        "DELETE FROM name_errors WHERE log_name = ?1 AND seq NOT IN"
        " (SELECT seq FROM name_errors WHERE log_name = ?1"
        " ORDER BY seq DESC LIMIT ?2)",
    [S_NAME_ERR_LIST] = "SELECT at, message FROM name_errors"
                        " WHERE log_name = ?1 ORDER BY seq DESC LIMIT ?2",
    /* ?1 log, ?2 now, ?3 STORE_HISTORY_EVERY: one sample per period. */
    [S_HISTORY_SAMPLE] =
        "INSERT INTO log_history (log_id, at, verified_size, entries_scanned)"
        " SELECT l.id, ?2, COALESCE((SELECT max(size) FROM checkpoints"
        " WHERE log_id = l.id), 0), l.entries_scanned FROM logs l"
        " WHERE l.id = ?1 AND NOT EXISTS (SELECT 1 FROM log_history h"
        " WHERE h.log_id = l.id AND h.at > ?2 - ?3)"
        " ON CONFLICT (log_id, at) DO NOTHING",
    [S_HISTORY_PRUNE] =
        "DELETE FROM log_history WHERE log_id = ?1 AND at < (SELECT at"
        " FROM log_history WHERE log_id = ?1 ORDER BY at DESC"
        " LIMIT 1 OFFSET ?2)",
    [S_HISTORY_LIST] = "SELECT at, verified_size, entries_scanned"
                       " FROM log_history WHERE log_id = ?1 AND at >= ?2"
                       " ORDER BY at DESC LIMIT ?3",
    [S_CP_LATEST] =
        STORE_CP_COLUMNS " WHERE log_id = ?1 ORDER BY size DESC LIMIT 1",
    [S_CP_MAX] = "SELECT max(size) FROM checkpoints WHERE log_id = ?1",
    [S_CP_ROOT_AT] = "SELECT root FROM checkpoints"
                     " WHERE log_id = ?1 AND size = ?2",
    [S_CP_INSERT] = "INSERT INTO checkpoints (log_id, size, root, note,"
                    " verified_at, link, prev_size, proof)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_CP_HISTORY] = STORE_CP_COLUMNS
    " WHERE log_id = ?1 AND verified_at >= ?2 AND verified_at < ?3"
    " ORDER BY size",
    [S_CP_COUNT] = "UPDATE logs SET"
                   " checkpoints_verified = checkpoints_verified + 1,"
                   " proofs_verified = proofs_verified + ?2 WHERE id = ?1",
    [S_FROZEN_GET] = "SELECT size, root, note, recorded_at FROM frozen_shards"
                     " WHERE log_name = ?1 AND origin = ?2",
    [S_FROZEN_INSERT] = "INSERT INTO frozen_shards (log_name, origin, size,"
                        " root, note, recorded_at, checked_at)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    [S_FROZEN_TOUCH] = "UPDATE frozen_shards SET checked_at = ?3"
                       " WHERE log_name = ?1 AND origin = ?2",
    [S_CURSOR_GET] = "SELECT next_index, next_shard_index, range_hashes"
                     " FROM logs WHERE id = ?1",
    [S_CURSOR_SET] = "UPDATE logs SET next_index = ?2, next_shard_index = ?3,"
                     " range_hashes = ?4,"
                     " entries_scanned = entries_scanned + ?5,"
                     " root_checks_passed = root_checks_passed + ?6"
                     " WHERE id = ?1",
    [S_ALERT_INSERT] =
        "INSERT INTO alerts (id, type, severity, detected_at, log_id,"
        " log_index, rule, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT (id) DO NOTHING",
    [S_DELIVERY_INSERT] =
        "INSERT INTO deliveries (alert_seq, sink, next_attempt_at)"
        " VALUES (?1, ?2, ?3) ON CONFLICT (alert_seq, sink) DO NOTHING",
    [S_SIGNING_INSERT] =
        "INSERT INTO signings (log_id, log_index, shard_index, uuid, kind,"
        " integrated_time, cert_sha256, san, issuer, repository,"
        " repository_id, workflow_path, ref, workflow_sha,"
        " runner_environment, trigger, run_invocation_uri,"
        " build_signer_uri, rule, verdict, artifact_digest, pcr0, pcr1,"
        " pcr2, pcrs_state, recorded_at, pcrs_deadline, pcr8, pcrs_source,"
        " pcrs_note, link_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
        " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
        " ?20, ?21, ?22, ?23, ?24, COALESCE(?26, CASE WHEN ?22 IS NULL"
        " THEN 'none' ELSE 'found' END), ?25, ?27, ?28, ?29, ?30, ?31)"
        " ON CONFLICT (log_id, log_index, cert_sha256, rule) DO NOTHING",
    [S_ALERTS_QUERY] =
        "SELECT id, type, severity, detected_at, log_id, log_index, rule,"
        " body FROM alerts WHERE detected_at >= ?1 AND detected_at < ?2"
        " AND (?3 IS NULL OR type = ?3) AND (?4 = 0 OR log_id = ?4)"
        " AND severity >= ?5 ORDER BY detected_at DESC, seq DESC LIMIT ?6",
    [S_SIGNINGS_LATEST] =
        STORE_SIGNING_COLUMNS " WHERE rule = ?1 ORDER BY seq DESC LIMIT ?2",
    [S_SIGNINGS_BETWEEN] = STORE_SIGNING_COLUMNS
    " WHERE rule = ?1 AND recorded_at >= ?2 AND recorded_at < ?3"
    " ORDER BY recorded_at DESC, seq DESC LIMIT ?4",
    [S_ENTRY_ALERTS] =
        "SELECT id, type, severity, detected_at, log_id, log_index, rule,"
        " body FROM alerts WHERE log_id = ?1 AND log_index = ?2"
        " AND (?3 IS NULL OR rule IS NULL OR rule = ?3) AND severity >= ?4"
        " ORDER BY severity DESC, detected_at, seq LIMIT ?5",
    [S_SINKS] =
        "SELECT d.sink, sum(d.status = 'pending'), sum(d.status = 'failed'),"
        " (SELECT e.last_error FROM deliveries e WHERE e.sink = d.sink"
        " AND e.status IN ('pending', 'failed') AND e.last_error IS NOT NULL"
        " ORDER BY e.last_attempt_at DESC LIMIT 1)"
        " FROM deliveries d WHERE d.status IN ('pending', 'failed')"
        " GROUP BY d.sink ORDER BY d.sink LIMIT ?1",
    [S_SIGNINGS_PENDING] =
        STORE_SIGNING_COLUMNS " WHERE recorded_at >= ?1"
                              " AND pcrs_state = 'pending' ORDER BY seq",
    /* A scan of the signings (one row per watched signing); lower():
     * the PCRs are written lowercase, but a comparison never depends on
     * it. */
    [S_SIGNINGS_BY_PCRS] =
        STORE_SIGNING_COLUMNS " WHERE lower(pcr0) = ?1 AND lower(pcr1) = ?2"
                              " AND lower(pcr2) = ?3 AND (?4 IS NULL OR"
                              " pcr8 IS NULL OR lower(pcr8) = ?4)"
                              " ORDER BY seq LIMIT ?5",
    [S_SIGNING_SET_PCRS] =
        "UPDATE signings SET pcr0 = ?5, pcr1 = ?6, pcr2 = ?7,"
        " pcrs_state = ?8, pcrs_deadline = ?9, pcr8 = ?10,"
        " pcrs_source = COALESCE(?11, pcrs_source), pcrs_note = ?12,"
        " artifact_digest = COALESCE(?13, artifact_digest) WHERE log_id = ?1"
        " AND log_index = ?2 AND cert_sha256 = ?3 AND rule = ?4",
    [S_DUE] = "SELECT a.id, d.sink, a.body, a.severity, d.status,"
              " d.attempts, d.next_attempt_at, d.last_error"
              " FROM deliveries d JOIN alerts a ON a.seq = d.alert_seq"
              " WHERE d.status = 'pending' AND d.next_attempt_at <= ?1"
              " ORDER BY d.next_attempt_at, d.alert_seq, d.sink LIMIT ?2",
    [S_DELIVERY_SENT] =
        "UPDATE deliveries SET status = 'sent', attempts = attempts + 1,"
        " last_attempt_at = ?3 WHERE alert_seq = (SELECT seq FROM alerts"
        " WHERE id = ?1) AND sink = ?2 AND status = 'pending'",
    [S_DELIVERY_FAILED] =
        "UPDATE deliveries SET status = CASE WHEN ?4 = 0 THEN 'failed'"
        " ELSE 'pending' END, attempts = attempts + 1,"
        " next_attempt_at = CASE WHEN ?4 = 0 THEN next_attempt_at ELSE ?4"
        " END, last_attempt_at = ?3, last_error = ?5"
        " WHERE alert_seq = (SELECT seq FROM alerts WHERE id = ?1)"
        " AND sink = ?2 AND status = 'pending'",
    [S_COUNT_ALERTS] = "SELECT severity, count(*) FROM alerts"
                       " WHERE detected_at >= ?1 AND detected_at < ?2"
                       " GROUP BY severity",
    [S_COUNT_SIGNINGS] = "SELECT count(*) FROM signings"
                         " WHERE recorded_at >= ?1 AND recorded_at < ?2",
    [S_COUNT_CPS] = "SELECT count(*) FROM checkpoints"
                    " WHERE verified_at >= ?1 AND verified_at < ?2",
    /* All rows by page counts (no row is read), the few pending and
     * failed ones by the deliveries_due index: sent is the rest.  The
     * status server reads it on every scrape. */
    [S_COUNT_DELIVERIES] =
        "SELECT (SELECT count(*) FROM deliveries), (SELECT count(*)"
        " FROM deliveries WHERE status = 'pending'), (SELECT count(*)"
        " FROM deliveries WHERE status = 'failed')",
    [S_ALERT_TYPE_COUNTS] = "SELECT type, severity, count(*) FROM alerts"
                            " WHERE detected_at >= ?1 AND detected_at < ?2"
                            " GROUP BY type, severity ORDER BY type, severity",
    [S_ALERT_TYPE_COUNTS_ALL] = "SELECT type, severity, count(*) FROM alerts"
                                " GROUP BY type, severity"
                                " ORDER BY type, severity",
    [S_SIGNING_COUNTS] = "SELECT rule, verdict, count(*) FROM signings"
                         " WHERE recorded_at >= ?1 AND recorded_at < ?2"
                         " GROUP BY rule, verdict ORDER BY rule, verdict",
    [S_REPORT_INSERT] = "INSERT INTO reports (created_at, range_start,"
                        " range_end, format, path)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_REPORT_LAST] =
        "SELECT range_end FROM reports ORDER BY range_end DESC LIMIT 1",
    [S_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                   " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    /* ?1 the cutoff (older is pruned), ?2 the batch size.  The rules
     * repeat those of the v3 triggers, which refuse the rest. */
    [S_PRUNE_CPS] = "DELETE FROM checkpoints WHERE seq IN (SELECT c.seq"
                    " FROM checkpoints c JOIN logs l ON l.id = c.log_id"
                    " WHERE c.verified_at < ?1 AND c.size < l.next_shard_index"
                    " AND c.size < (SELECT max(m.size) FROM checkpoints m"
                    " WHERE m.log_id = c.log_id)"
                    " AND NOT EXISTS (SELECT 1 FROM frozen_shards f"
                    " WHERE f.log_name = l.name AND f.origin = l.origin"
                    " AND f.size = c.size)"
                    " ORDER BY c.verified_at, c.seq LIMIT ?2)",
    /* The same alerts, chosen again in the same transaction: removing
     * their (sent or failed) deliveries does not change the choice. */
    [S_PRUNE_DELIVERIES] = "DELETE FROM deliveries WHERE alert_seq IN"
                           " (" STORE_PRUNE_ALERTS_PICK ")",
    [S_PRUNE_ALERTS] = "DELETE FROM alerts WHERE seq IN"
                       " (" STORE_PRUNE_ALERTS_PICK ")",
    [S_PRUNE_SIGNINGS] =
        "DELETE FROM signings WHERE seq IN (SELECT seq FROM signings"
        " WHERE recorded_at < ?1 AND pcrs_state <> 'pending'"
        " ORDER BY recorded_at, seq LIMIT ?2)",
    [S_CT_INSERT] =
        "INSERT INTO ct_certs (link_id, rule, log_id, log_index, leaf_hash,"
        " entry_type, cert_sha256, not_before, deadline, verdict, state,"
        " alert, recorded_at, judged_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
        " ?8, ?9,"
        " ?10, CASE WHEN EXISTS (SELECT 1 FROM signings WHERE link_id = ?1)"
        " THEN 'logged' ELSE 'pending' END, ?11, ?12, CASE WHEN EXISTS"
        " (SELECT 1 FROM signings WHERE link_id = ?1) THEN ?12 END)"
        " ON CONFLICT (link_id, rule) DO NOTHING",
    [S_CT_LOGGED] = "UPDATE ct_certs SET state = 'logged', judged_at = ?2"
                    " WHERE link_id = ?1 AND state = 'pending'",
    [S_CT_DUE] =
        "SELECT c.link_id, c.rule, c.log_id, c.log_index, c.leaf_hash,"
        " c.entry_type, c.cert_sha256, c.not_before, c.deadline, c.verdict,"
        " c.state, c.alert, c.recorded_at, c.judged_at FROM ct_certs c"
        " WHERE c.state = 'pending' AND c.deadline <= ?1"
        " AND c.not_before >= ?3 AND NOT EXISTS (SELECT 1 FROM signings g"
        " WHERE g.link_id = c.link_id) ORDER BY c.deadline LIMIT ?2",
    [S_CT_FIRE] =
        "UPDATE ct_certs SET state = CASE WHEN EXISTS (SELECT 1 FROM"
        " signings WHERE link_id = ?1) THEN 'logged' ELSE 'unlogged' END,"
        " judged_at = ?3 WHERE link_id = ?1 AND rule = ?2"
        " AND state = 'pending'",
    [S_CT_GET] =
        "SELECT link_id, rule, log_id, log_index, leaf_hash, entry_type,"
        " cert_sha256, not_before, deadline, verdict, state, alert,"
        " recorded_at, judged_at FROM ct_certs WHERE link_id = ?1"
        " AND rule = ?2",
    [S_PRUNE_CT] = "DELETE FROM ct_certs WHERE (link_id, rule) IN"
                   " (SELECT link_id, rule FROM ct_certs WHERE recorded_at < ?1"
                   " AND state <> 'pending' ORDER BY recorded_at LIMIT ?2)",
    [S_CT_LATEST] =
        "SELECT link_id, rule, log_id, log_index, leaf_hash, entry_type,"
        " cert_sha256, not_before, deadline, verdict, state, alert,"
        " recorded_at, judged_at FROM ct_certs WHERE rule = ?1"
        " ORDER BY recorded_at DESC, log_index DESC LIMIT ?2",
    [S_CT_COUNTS] = "SELECT rule, state, count(*) FROM ct_certs"
                    " GROUP BY rule, state ORDER BY rule, state",
    [S_CT_UNLOGGED] =
        "SELECT link_id, rule, log_id, log_index, leaf_hash, entry_type,"
        " cert_sha256, not_before, deadline, verdict, state, alert,"
        " recorded_at, judged_at FROM ct_certs WHERE state = 'unlogged'"
        " AND judged_at >= ?1 AND judged_at < ?2"
        " ORDER BY judged_at DESC LIMIT ?3",
    [S_SIGNING_BY_LINK] = STORE_SIGNING_COLUMNS
    " WHERE link_id = ?1 AND rule = ?2 ORDER BY seq LIMIT 1",
};

#define STORE_ITER_WORDS 2 /* s->iterating: 128 statements */

struct store {
    sqlite3 *db;
    int version;  /* user_version once open */
    int readonly; /* STORE_OPEN_READONLY */
    int in_txn;   /* inside store_txn_begin .. commit/rollback */
    /* Bit id % 64 of word id / 64 set while statement id's callback
     * runs. */
    uint64_t iterating[STORE_ITER_WORDS];
    sqlite3_stmt *stmt[S_COUNT_];
    char errmsg[STORE_ERRMSG_MAX];
};

/* ---- errors --------------------------------------------------------- */

static void store_err(struct store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
store_err(struct store *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
    va_end(ap);
}

/* "what: sqlite's message" */
static void
store_dberr(struct store *s, const char *what)
{
    store_err(s, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* ---- statements ----------------------------------------------------- */

/*
 * The cached statement id, reset and unbound, ready to bind.  NULL (with
 * the error set) when a callback of that very statement is running: a
 * reset would restart the listing under it (an endless loop).  Other
 * statements may run from a callback; every helper below fails on NULL.
 */
static sqlite3_stmt *
store_stmt(struct store *s, enum store_stmt id)
{
    sqlite3_stmt *st = s->stmt[id];

    if (s->iterating[id / 64] & ((uint64_t)1 << (id % 64))) {
        store_err(s, "a store listing was called again from its own "
                     "callback");
        return NULL;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

_Static_assert(S_COUNT_ <= 64 * STORE_ITER_WORDS,
               "s->iterating has one bit per statement");

/* Release a statement after use (ends its read, keeps it cached). */
static void
store_done(sqlite3_stmt *st)
{
    if (st != NULL) {
        sqlite3_reset(st);
    }
}

static int
store_bind_i64(struct store *s, sqlite3_stmt *st, int i, int64_t v)
{
    if (st == NULL) {
        return -1;
    }
    if (sqlite3_bind_int64(st, i, v) != SQLITE_OK) {
        store_dberr(s, "bind");
        return -1;
    }
    return 0;
}

/* Indexes and sizes: refused above INT64_MAX (sqlite is signed). */
static int
store_bind_u64(struct store *s, sqlite3_stmt *st, int i, uint64_t v)
{
    if (v > (uint64_t)INT64_MAX) {
        store_err(s, "value %" PRIu64 " is out of range (> INT64_MAX)", v);
        return -1;
    }
    return store_bind_i64(s, st, i, (int64_t)v);
}

/* NULL binds SQL NULL. */
static int
store_bind_text(struct store *s, sqlite3_stmt *st, int i, const char *v,
                size_t len)
{
    int rc;

    if (st == NULL) {
        return -1;
    }
    if (v == NULL) {
        rc = sqlite3_bind_null(st, i);
    } else {
        rc = sqlite3_bind_text64(st, i, v, len, SQLITE_STATIC, SQLITE_UTF8);
    }
    if (rc != SQLITE_OK) {
        store_dberr(s, "bind");
        return -1;
    }
    return 0;
}

static int
store_bind_str(struct store *s, sqlite3_stmt *st, int i, const char *v)
{
    return store_bind_text(s, st, i, v, v == NULL ? 0 : strlen(v));
}

/* A zero-length blob binds an empty blob, not NULL. */
static int
store_bind_blob(struct store *s, sqlite3_stmt *st, int i, const void *v,
                size_t len)
{
    static const uint8_t empty[1];
    int rc;

    if (st == NULL) {
        return -1;
    }
    rc = sqlite3_bind_blob64(st, i, len == 0 ? empty : v, len, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        store_dberr(s, "bind");
        return -1;
    }
    return 0;
}

/* Step a statement that returns no row (or whose rows are ignored). */
static int
store_exec_stmt(struct store *s, sqlite3_stmt *st, const char *what)
{
    int rc;

    if (st == NULL) {
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
        store_dberr(s, what);
        store_done(st);
        return -1;
    }
    store_done(st);
    return 0;
}

/* Step for at most one row: 1 row, 0 none, -1 error (statement reset). */
static int
store_step(struct store *s, sqlite3_stmt *st, const char *what)
{
    int rc;

    if (st == NULL) {
        return -1;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        return 1;
    }
    if (rc != SQLITE_DONE) {
        store_dberr(s, what);
    }
    store_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Read a column that must be a non-negative integer (a corrupt file may
 * hold anything). */
static int
store_col_u64(struct store *s, sqlite3_stmt *st, int i, uint64_t *out)
{
    int64_t v;

    if (sqlite3_column_type(st, i) != SQLITE_INTEGER) {
        store_err(s, "corrupt state: %s is not an integer",
                  sqlite3_column_name(st, i));
        return -1;
    }
    v = sqlite3_column_int64(st, i);
    if (v < 0) {
        store_err(s, "corrupt state: %s is negative",
                  sqlite3_column_name(st, i));
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* An optional integer column: 0 when NULL. */
static int64_t
store_col_i64(sqlite3_stmt *st, int i)
{
    return sqlite3_column_int64(st, i);
}

/* A 32-byte hash column. */
static int
store_col_hash(struct store *s, sqlite3_stmt *st, int i,
               uint8_t out[MERKLE_HASH_LEN])
{
    const void *p = sqlite3_column_blob(st, i);

    if (p == NULL || sqlite3_column_bytes(st, i) != MERKLE_HASH_LEN) {
        store_err(s, "corrupt state: %s is not a 32-byte hash",
                  sqlite3_column_name(st, i));
        return -1;
    }
    memcpy(out, p, MERKLE_HASH_LEN);
    return 0;
}

/* Copy a text column (NULL as "") into buf; too long is corrupt. */
static int
store_col_copy(struct store *s, sqlite3_stmt *st, int i, char *buf, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);

    if (t == NULL) {
        buf[0] = '\0';
        return 0;
    }
    if (n >= cap) {
        store_err(s, "corrupt state: %s is too long",
                  sqlite3_column_name(st, i));
        return -1;
    }
    memcpy(buf, t, n);
    buf[n] = '\0';
    return 0;
}

/* A text column, borrowed; NULL when SQL NULL. */
static const char *
store_col_str(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        return NULL;
    }
    return (const char *)sqlite3_column_text(st, i);
}

/* ---- transactions --------------------------------------------------- */

static int
store_txn_begin(struct store *s)
{
    if (s->readonly) {
        store_err(s, "the state file is open read-only");
        return -1;
    }
    if (store_exec_stmt(s, store_stmt(s, S_BEGIN), "begin") != 0) {
        return -1;
    }
    s->in_txn = 1;
    return 0;
}

static int
store_txn_commit(struct store *s)
{
    if (store_exec_stmt(s, store_stmt(s, S_COMMIT), "commit") != 0) {
        char keep[STORE_ERRMSG_MAX];

        /* A failed COMMIT may leave the transaction open: roll back,
         * keeping the first message. */
        memcpy(keep, s->errmsg, sizeof(keep));
        if (!sqlite3_get_autocommit(s->db)) {
            (void)store_exec_stmt(s, store_stmt(s, S_ROLLBACK), "rollback");
        }
        memcpy(s->errmsg, keep, sizeof(keep));
        s->in_txn = 0;
        return -1;
    }
    s->in_txn = 0;
    return 0;
}

/* Roll back after an error; keeps the error message already set. */
static void
store_txn_rollback(struct store *s)
{
    char keep[STORE_ERRMSG_MAX];

    if (!s->in_txn) {
        return;
    }
    memcpy(keep, s->errmsg, sizeof(keep));
    if (!sqlite3_get_autocommit(s->db)) {
        (void)store_exec_stmt(s, store_stmt(s, S_ROLLBACK), "rollback");
    }
    memcpy(s->errmsg, keep, sizeof(keep));
    s->in_txn = 0;
}

/* ---- argument checks ------------------------------------------------ */

/* A required string of 1..max bytes. */
static int
store_check_str(struct store *s, const char *what, const char *v, size_t max)
{
    size_t n;

    if (v == NULL) {
        store_err(s, "%s is missing", what);
        return -1;
    }
    n = strlen(v);
    if (n == 0 || n > max) {
        store_err(s, "%s must be 1 to %zu bytes long", what, max);
        return -1;
    }
    return 0;
}

/* An optional string of at most max bytes. */
static int
store_check_opt(struct store *s, const char *what, const char *v, size_t max)
{
    if (v != NULL && strlen(v) > max) {
        store_err(s, "%s is longer than %zu bytes", what, max);
        return -1;
    }
    return 0;
}

static unsigned
store_popcount(uint64_t x)
{
    unsigned n = 0;

    while (x != 0) {
        x &= x - 1;
        n++;
    }
    return n;
}

static int
store_check_range(struct store *s, const struct merkle_range *r)
{
    if (r == NULL) {
        store_err(s, "compact range is missing");
        return -1;
    }
    if (r->size > (uint64_t)INT64_MAX) {
        store_err(s, "compact range size is out of range");
        return -1;
    }
    if (r->nhashes != store_popcount(r->size)) {
        store_err(s,
                  "compact range of size %" PRIu64 " has %u hashes, "
                  "not %u",
                  r->size, r->nhashes, store_popcount(r->size));
        return -1;
    }
    return 0;
}

static int
store_check_alert(struct store *s, const struct store_alert *a)
{
    size_t i;

    if (store_check_str(s, "alert id", a->id, STORE_NAME_MAX) != 0 ||
        store_check_str(s, "alert type", a->type, STORE_NAME_MAX) != 0 ||
        store_check_opt(s, "alert rule", a->rule, STORE_NAME_MAX) != 0 ||
        store_check_str(s, "alert body", a->body, STORE_ALERT_MAX) != 0) {
        return -1;
    }
    if ((int)a->severity < NOTIFY_INFO || a->severity > NOTIFY_CRITICAL) {
        store_err(s, "alert %s: unknown severity %d", a->id, (int)a->severity);
        return -1;
    }
    if (a->has_index && a->log_index > (uint64_t)INT64_MAX) {
        store_err(s, "alert %s: log index is out of range", a->id);
        return -1;
    }
    if (a->nsinks > 0 && a->sinks == NULL) {
        store_err(s, "alert %s: sinks missing", a->id);
        return -1;
    }
    for (i = 0; i < a->nsinks; i++) {
        if (store_check_str(s, "sink name", a->sinks[i], STORE_NAME_MAX) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
store_check_signing(struct store *s, const struct store_signing *g)
{
    const char *opt[] = {g->kind,
                         g->san,
                         g->issuer,
                         g->repository,
                         g->repository_id,
                         g->workflow_path,
                         g->ref,
                         g->workflow_sha,
                         g->runner_environment,
                         g->trigger,
                         g->run_invocation_uri,
                         g->build_signer_uri,
                         g->artifact_digest,
                         g->pcr0,
                         g->pcr1,
                         g->pcr2,
                         g->pcr8,
                         g->pcrs_source,
                         g->pcrs_note};
    size_t i;

    if (store_check_str(s, "signing uuid", g->uuid, STORE_FIELD_MAX) != 0 ||
        store_check_str(s, "signing cert_sha256", g->cert_sha256,
                        STORE_FIELD_MAX) != 0 ||
        store_check_str(s, "signing rule", g->rule, STORE_NAME_MAX) != 0 ||
        store_check_str(s, "signing verdict", g->verdict, STORE_NAME_MAX) !=
            0) {
        return -1;
    }
    for (i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
        if (store_check_opt(s, "signing field", opt[i], STORE_FIELD_MAX) != 0) {
            return -1;
        }
    }
    if (g->log_index > (uint64_t)INT64_MAX ||
        g->shard_index > (uint64_t)INT64_MAX) {
        store_err(s, "signing %s: index is out of range", g->uuid);
        return -1;
    }
    return 0;
}

/* ---- open / close --------------------------------------------------- */

/* Run a one-row integer pragma or query. */
static int
store_query_int(struct store *s, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        store_dberr(s, sql);
        return -1;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        store_dberr(s, sql);
        sqlite3_finalize(st);
        return -1;
    }
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* Run a one-row text pragma and compare its value (case-insensitive). */
static int
store_pragma_expect(struct store *s, const char *sql, const char *want)
{
    sqlite3_stmt *st = NULL;
    const char *v;
    int rc, ok;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        store_dberr(s, sql);
        return -1;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        store_dberr(s, sql);
        sqlite3_finalize(st);
        return -1;
    }
    v = (const char *)sqlite3_column_text(st, 0);
    ok = v != NULL && sqlite3_stricmp(v, want) == 0;
    if (!ok) {
        store_err(s, "%s: got '%s', want '%s'", sql, v ? v : "(null)", want);
    }
    sqlite3_finalize(st);
    return ok ? 0 : -1;
}

static int
store_exec(struct store *s, const char *sql, const char *what)
{
    char *msg = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        store_err(s, "%s: %s", what, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/*
 * Identify the file: an empty database (version 0, no schema) is ours to
 * create; otherwise it must carry our application id and a version this
 * build knows.
 */
static int
store_identify(struct store *s, int64_t *version)
{
    int64_t appid, nobjects;

    if (store_query_int(s, "PRAGMA user_version", version) != 0) {
        return -1;
    }
    if (store_query_int(s, "PRAGMA application_id", &appid) != 0) {
        return -1;
    }
    if (*version == 0) {
        if (store_query_int(s, "SELECT count(*) FROM sqlite_master",
                            &nobjects) != 0) {
            return -1;
        }
        if (nobjects != 0 || appid != 0) {
            store_err(s, "not a tlogwatch state file (a database of "
                         "another application)");
            return -1;
        }
        return 0;
    }
    if (appid != STORE_APPLICATION_ID) {
        store_err(s, "not a tlogwatch state file (application id %" PRId64 ")",
                  appid);
        return -1;
    }
    if (*version < 0 || *version > STORE_SCHEMA_VERSION) {
        store_err(s,
                  "state file schema version %" PRId64
                  " is newer than this tlogwatch supports (%d); "
                  "upgrade tlogwatch or use another state file",
                  *version, STORE_SCHEMA_VERSION);
        return -1;
    }
    return 0;
}

/* Apply migrations from *version up, one transaction each.  The version
 * is read again inside the transaction: another process may have
 * migrated meanwhile. */
static int
store_migrate(struct store *s, int64_t *version)
{
    while (*version < STORE_SCHEMA_VERSION) {
        int64_t v;
        size_t i;

        if (store_exec(s, "BEGIN IMMEDIATE", "migrate") != 0) {
            return -1;
        }
        if (store_query_int(s, "PRAGMA user_version", &v) != 0) {
            goto fail;
        }
        if (v < 0 || v > STORE_SCHEMA_VERSION) {
            store_err(s,
                      "state file schema version %" PRId64
                      " changed during migration",
                      v);
            goto fail;
        }
        for (i = 0; v == *version && store_migrations[v][i] != NULL; i++) {
            if (store_exec(s, store_migrations[v][i], "migrate schema") != 0) {
                goto fail;
            }
        }
        if (store_exec(s, "COMMIT", "migrate") != 0) {
            goto fail;
        }
        if (store_query_int(s, "PRAGMA user_version", version) != 0) {
            return -1;
        }
        if (*version <= v) {
            store_err(s,
                      "migration from version %" PRId64 " did not "
                      "advance the schema",
                      v);
            return -1;
        }
    }
    return 0;
fail:
    if (!sqlite3_get_autocommit(s->db)) {
        char keep[STORE_ERRMSG_MAX];

        memcpy(keep, s->errmsg, sizeof(keep));
        (void)store_exec(s, "ROLLBACK", "rollback");
        memcpy(s->errmsg, keep, sizeof(keep));
    }
    return -1;
}

static int
store_prepare_all(struct store *s)
{
    int i;

    for (i = 0; i < S_COUNT_; i++) {
        if (sqlite3_prepare_v3(s->db, store_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                               NULL) != SQLITE_OK) {
            store_err(s, "state file schema is not the expected one: %s",
                      sqlite3_errmsg(s->db));
            return -1;
        }
    }
    return 0;
}

struct store *
store_open(const char *path, unsigned flags, char *err, size_t errcap)
{
    struct store *s;
    int64_t version = 0, appid = 0;
    int oflags;

    if (err != NULL && errcap > 0) {
        err[0] = '\0';
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        if (err != NULL && errcap > 0) {
            snprintf(err, errcap, "out of memory");
        }
        return NULL;
    }
    if (path == NULL || path[0] == '\0') {
        store_err(s, "no state file path");
        goto fail;
    }
    s->readonly = (flags & STORE_OPEN_READONLY) != 0;
    oflags = s->readonly ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
        if (s->db != NULL) {
            store_err(s, "%s: %s", path, sqlite3_errmsg(s->db));
        } else {
            store_err(s, "%s: out of memory", path);
        }
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* A state file is data, never code: no schema-borne functions, no
     * writes to the schema by statements. */
    if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) !=
            SQLITE_OK ||
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK) {
        store_dberr(s, path);
        goto fail;
    }
    if (store_identify(s, &version) != 0) {
        goto prefix;
    }
    if (s->readonly && version != STORE_SCHEMA_VERSION) {
        store_err(s,
                  "schema version %" PRId64 " needs migrating to %d; "
                  "open it read-write (run the daemon) first",
                  version, STORE_SCHEMA_VERSION);
        goto prefix;
    }
    if (!s->readonly) {
        if (store_pragma_expect(s, "PRAGMA journal_mode = WAL", "wal") != 0) {
            goto prefix;
        }
    }
    if (store_exec(s,
                   (flags & STORE_OPEN_SYNC_NORMAL)
                       ? "PRAGMA synchronous = NORMAL"
                       : "PRAGMA synchronous = FULL",
                   "synchronous") != 0 ||
        store_exec(s, "PRAGMA foreign_keys = ON", "foreign_keys") != 0) {
        goto prefix;
    }
    if (!s->readonly && store_migrate(s, &version) != 0) {
        goto prefix;
    }
    if (store_query_int(s, "PRAGMA application_id", &appid) != 0) {
        goto prefix;
    }
    if (appid != STORE_APPLICATION_ID) {
        store_err(s, "application id is not set after migration");
        goto prefix;
    }
    s->version = (int)version;
    if (store_prepare_all(s) != 0) {
        goto prefix;
    }
    return s;

prefix:
    /* Name the file in the message. */
    if (err != NULL && errcap > 0) {
        snprintf(err, errcap, "%s: %s", path, s->errmsg);
    }
    store_close(s);
    return NULL;
fail:
    if (err != NULL && errcap > 0) {
        snprintf(err, errcap, "%s", s->errmsg);
    }
    store_close(s);
    return NULL;
}

void
store_close(struct store *s)
{
    int i;

    if (s == NULL) {
        return;
    }
    for (i = 0; i < S_COUNT_; i++) {
        sqlite3_finalize(s->stmt[i]);
    }
    /* sqlite3_close_v2 never fails for a connection whose statements
     * are finalized; it checkpoints and removes the WAL when last. */
    sqlite3_close_v2(s->db);
    free(s);
}

const char *
store_errmsg(const struct store *s)
{
    if (s == NULL) {
        return "no store";
    }
    return s->errmsg;
}

int
store_schema_version(const struct store *s)
{
    return s->version;
}

/* ---- logs ------------------------------------------------------------ */

int
store_log_find(struct store *s, const char *name, const char *origin,
               int64_t *log_id)
{
    sqlite3_stmt *st;
    int r;

    *log_id = 0;
    if (store_check_str(s, "log name", name, STORE_NAME_MAX) != 0 ||
        store_check_str(s, "log origin", origin, STORE_ORIGIN_MAX) != 0) {
        return -1;
    }
    st = store_stmt(s, S_LOG_FIND);
    if (store_bind_str(s, st, 1, name) != 0 ||
        store_bind_str(s, st, 2, origin) != 0) {
        return -1;
    }
    r = store_step(s, st, "find log");
    if (r < 0) {
        return -1;
    }
    if (r == 1) {
        *log_id = sqlite3_column_int64(st, 0);
        store_done(st);
    }
    return 0;
}

int
store_log_open(struct store *s, const char *name, const char *origin,
               int64_t now, int64_t *log_id)
{
    sqlite3_stmt *st;

    *log_id = 0;
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    if (store_log_find(s, name, origin, log_id) != 0) {
        goto fail;
    }
    if (*log_id == 0) {
        st = store_stmt(s, S_LOG_INSERT);
        if (store_bind_str(s, st, 1, name) != 0 ||
            store_bind_str(s, st, 2, origin) != 0 ||
            store_bind_i64(s, st, 3, now) != 0 ||
            store_exec_stmt(s, st, "create log") != 0) {
            goto fail;
        }
        *log_id = sqlite3_last_insert_rowid(s->db);
    }
    if (store_txn_commit(s) != 0) {
        *log_id = 0;
        return -1;
    }
    return 0;
fail:
    *log_id = 0;
    store_txn_rollback(s);
    return -1;
}

/* Fill *out from the current row of S_LOG_STATUS. */
static int
store_log_row(struct store *s, sqlite3_stmt *st, struct store_log_status *out)
{
    memset(out, 0, sizeof(*out));
    out->log_id = sqlite3_column_int64(st, 0);
    if (store_col_copy(s, st, 1, out->name, sizeof(out->name)) != 0 ||
        store_col_copy(s, st, 2, out->origin, sizeof(out->origin)) != 0) {
        return -1;
    }
    out->created_at = store_col_i64(st, 3);
    if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
        out->has_cursor = 1;
        if (store_col_u64(s, st, 4, &out->next_index) != 0 ||
            store_col_u64(s, st, 5, &out->next_shard_index) != 0) {
            return -1;
        }
    }
    out->last_success_at = store_col_i64(st, 6);
    out->last_error_at = store_col_i64(st, 7);
    if (store_col_copy(s, st, 8, out->last_error, sizeof(out->last_error)) !=
            0 ||
        store_col_u64(s, st, 9, &out->entries_scanned) != 0 ||
        store_col_u64(s, st, 10, &out->checkpoints_verified) != 0 ||
        store_col_u64(s, st, 11, &out->proofs_verified) != 0 ||
        store_col_u64(s, st, 12, &out->root_checks_passed) != 0) {
        return -1;
    }
    out->frozen = sqlite3_column_int(st, 13) != 0;
    if (sqlite3_column_type(st, 14) != SQLITE_NULL) {
        out->has_checkpoint = 1;
        if (store_col_u64(s, st, 14, &out->verified_size) != 0 ||
            store_col_hash(s, st, 15, out->verified_root) != 0) {
            return -1;
        }
        out->verified_at = store_col_i64(st, 16);
    }
    return 0;
}

int
store_log_status(struct store *s, int64_t log_id, struct store_log_status *out)
{
    sqlite3_stmt *st;
    int r;

    if (log_id <= 0) {
        store_err(s, "no log %" PRId64, log_id);
        return -1;
    }
    st = store_stmt(s, S_LOG_ONE);
    if (store_bind_i64(s, st, 1, log_id) != 0) {
        return -1;
    }
    r = store_step(s, st, "log status");
    if (r <= 0) {
        if (r == 0) {
            store_err(s, "no log %" PRId64, log_id);
        }
        return -1;
    }
    r = store_log_row(s, st, out);
    store_done(st);
    return r;
}

int
store_logs_each(struct store *s, store_log_fn fn, void *arg)
{
    struct store_log_status row;
    sqlite3_stmt *st;
    int r, stop;

    st = store_stmt(s, S_LOG_STATUS);
    if (st == NULL) {
        return -1;
    }
    while ((r = store_step(s, st, "list logs")) == 1) {
        if (store_log_row(s, st, &row) != 0) {
            store_done(st);
            return -1;
        }
        s->iterating[S_LOG_STATUS / 64] |= (uint64_t)1 << (S_LOG_STATUS % 64);
        stop = fn(arg, &row);
        s->iterating[S_LOG_STATUS / 64] &=
            ~((uint64_t)1 << (S_LOG_STATUS % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* Run an UPDATE of one log row; a missing log is an error. */
static int
store_update_log(struct store *s, sqlite3_stmt *st, int64_t log_id,
                 const char *what)
{
    if (store_exec_stmt(s, st, what) != 0) {
        return -1;
    }
    if (sqlite3_changes(s->db) != 1) {
        store_err(s, "%s: no log %" PRId64, what, log_id);
        return -1;
    }
    return 0;
}

int
store_log_success(struct store *s, int64_t log_id, int64_t now)
{
    sqlite3_stmt *st;

    if (store_txn_begin(s) != 0) {
        return -1;
    }
    st = store_stmt(s, S_LOG_SUCCESS);
    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_i64(s, st, 2, now) != 0 ||
        store_update_log(s, st, log_id, "log success") != 0) {
        goto fail;
    }
    st = store_stmt(s, S_HISTORY_SAMPLE);
    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_i64(s, st, 2, now) != 0 ||
        store_bind_i64(s, st, 3, STORE_HISTORY_EVERY) != 0 ||
        store_exec_stmt(s, st, "sample history") != 0) {
        goto fail;
    }
    st = store_stmt(s, S_HISTORY_PRUNE);
    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_i64(s, st, 2, STORE_HISTORY_MAX - 1) != 0 ||
        store_exec_stmt(s, st, "prune history") != 0) {
        goto fail;
    }
    return store_txn_commit(s);
fail:
    store_txn_rollback(s);
    return -1;
}

/* Length of at most max bytes of m, not cutting a UTF-8 sequence. */
static size_t
store_truncate(const char *m, size_t max)
{
    size_t n = strlen(m);

    if (n <= max) {
        return n;
    }
    n = max;
    while (n > 0 && ((unsigned char)m[n] & 0xc0) == 0x80) {
        n--;
    }
    return n;
}

int
store_log_error(struct store *s, int64_t log_id, int64_t now,
                const char *message)
{
    sqlite3_stmt *st;
    size_t n;

    if (message == NULL) {
        store_err(s, "error message is missing");
        return -1;
    }
    n = store_truncate(message, STORE_ERROR_MAX);
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    st = store_stmt(s, S_LOG_ERROR);
    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_text(s, st, 2, message, n) != 0 ||
        store_bind_i64(s, st, 3, now) != 0 ||
        store_update_log(s, st, log_id, "log error") != 0) {
        goto fail;
    }
    st = store_stmt(s, S_ERR_INSERT);
    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_i64(s, st, 2, now) != 0 ||
        store_bind_text(s, st, 3, message, n) != 0 ||
        store_exec_stmt(s, st, "record error") != 0) {
        goto fail;
    }
    st = store_stmt(s, S_ERR_PRUNE);
    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_i64(s, st, 2, STORE_RECENT_ERRORS) != 0 ||
        store_exec_stmt(s, st, "prune errors") != 0) {
        goto fail;
    }
    return store_txn_commit(s);
fail:
    store_txn_rollback(s);
    return -1;
}

int
store_log_errors_each(struct store *s, int64_t log_id, store_error_fn fn,
                      void *arg)
{
    sqlite3_stmt *st;
    int r, stop;

    st = store_stmt(s, S_ERR_LIST);
    if (store_bind_i64(s, st, 1, log_id) != 0) {
        return -1;
    }
    while ((r = store_step(s, st, "list errors")) == 1) {
        const char *m = store_col_str(st, 1);

        s->iterating[S_ERR_LIST / 64] |= (uint64_t)1 << (S_ERR_LIST % 64);
        stop = fn(arg, store_col_i64(st, 0), m != NULL ? m : "");
        s->iterating[S_ERR_LIST / 64] &= ~((uint64_t)1 << (S_ERR_LIST % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* LIMIT value: 0 means none (-1 to sqlite). */
static int64_t
store_limit(size_t n)
{
    if (n == 0 || n > (size_t)INT64_MAX) {
        return -1;
    }
    return (int64_t)n;
}

int
store_name_error(struct store *s, const char *log_name, int64_t now,
                 const char *message)
{
    sqlite3_stmt *st;
    size_t n;

    if (store_check_str(s, "log name", log_name, STORE_NAME_MAX) != 0) {
        return -1;
    }
    if (message == NULL) {
        store_err(s, "error message is missing");
        return -1;
    }
    n = store_truncate(message, STORE_ERROR_MAX);
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    st = store_stmt(s, S_NAME_ERR_INSERT);
    if (store_bind_str(s, st, 1, log_name) != 0 ||
        store_bind_i64(s, st, 2, now) != 0 ||
        store_bind_text(s, st, 3, message, n) != 0 ||
        store_exec_stmt(s, st, "record error") != 0) {
        goto fail;
    }
    st = store_stmt(s, S_NAME_ERR_PRUNE);
    if (store_bind_str(s, st, 1, log_name) != 0 ||
        store_bind_i64(s, st, 2, STORE_RECENT_ERRORS) != 0 ||
        store_exec_stmt(s, st, "prune errors") != 0) {
        goto fail;
    }
    return store_txn_commit(s);
fail:
    store_txn_rollback(s);
    return -1;
}

int
store_name_errors_each(struct store *s, const char *log_name, size_t limit,
                       store_error_fn fn, void *arg)
{
    sqlite3_stmt *st;
    int r, stop;

    if (store_check_str(s, "log name", log_name, STORE_NAME_MAX) != 0) {
        return -1;
    }
    st = store_stmt(s, S_NAME_ERR_LIST);
    if (store_bind_str(s, st, 1, log_name) != 0 ||
        store_bind_i64(s, st, 2, store_limit(limit)) != 0) {
        return -1;
    }
    while ((r = store_step(s, st, "list errors")) == 1) {
        const char *m = store_col_str(st, 1);

        s->iterating[S_NAME_ERR_LIST / 64] |= (uint64_t)1
                                              << (S_NAME_ERR_LIST % 64);
        stop = fn(arg, store_col_i64(st, 0), m != NULL ? m : "");
        s->iterating[S_NAME_ERR_LIST / 64] &=
            ~((uint64_t)1 << (S_NAME_ERR_LIST % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int
store_history_each(struct store *s, int64_t log_id, int64_t since, size_t limit,
                   store_history_fn fn, void *arg)
{
    sqlite3_stmt *st = store_stmt(s, S_HISTORY_LIST);
    uint64_t size, scanned;
    int r, stop;

    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_i64(s, st, 2, since) != 0 ||
        store_bind_i64(s, st, 3, store_limit(limit)) != 0) {
        return -1;
    }
    while ((r = store_step(s, st, "list history")) == 1) {
        if (store_col_u64(s, st, 1, &size) != 0 ||
            store_col_u64(s, st, 2, &scanned) != 0) {
            store_done(st);
            return -1;
        }
        s->iterating[S_HISTORY_LIST / 64] |= (uint64_t)1
                                             << (S_HISTORY_LIST % 64);
        stop = fn(arg, store_col_i64(st, 0), size, scanned);
        s->iterating[S_HISTORY_LIST / 64] &=
            ~((uint64_t)1 << (S_HISTORY_LIST % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* ---- checkpoints ----------------------------------------------------- */

/* Fill a borrowed row from STORE_CP_COLUMNS. */
static int
store_cp_row(struct store *s, sqlite3_stmt *st,
             struct store_checkpoint_row *row)
{
    const void *proof;
    size_t plen;
    int64_t link;

    memset(row, 0, sizeof(*row));
    if (store_col_u64(s, st, 0, &row->size) != 0 ||
        store_col_hash(s, st, 1, row->root) != 0) {
        return -1;
    }
    row->verified_at = store_col_i64(st, 2);
    row->note = (char *)sqlite3_column_text(st, 3);
    row->note_len = (size_t)sqlite3_column_bytes(st, 3);
    if (row->note == NULL || row->note_len > STORE_NOTE_MAX) {
        store_err(s, "corrupt state: checkpoint note");
        return -1;
    }
    link = sqlite3_column_int64(st, 4);
    if (link < STORE_LINK_NONE || link > STORE_LINK_TILES) {
        store_err(s, "corrupt state: checkpoint link %" PRId64, link);
        return -1;
    }
    row->link = (enum store_link)link;
    if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
        row->has_prev = 1;
        if (store_col_u64(s, st, 5, &row->prev_size) != 0) {
            return -1;
        }
    }
    proof = sqlite3_column_blob(st, 6);
    plen = (size_t)sqlite3_column_bytes(st, 6);
    if (plen % MERKLE_HASH_LEN != 0 ||
        plen / MERKLE_HASH_LEN > MERKLE_MAX_PROOF) {
        store_err(s, "corrupt state: checkpoint proof");
        return -1;
    }
    row->nproof = plen / MERKLE_HASH_LEN;
    row->proof = row->nproof ? (uint8_t(*)[MERKLE_HASH_LEN])proof : NULL;
    return 0;
}

/* Make the borrowed pointers of row owned copies. */
static int
store_cp_own(struct store *s, struct store_checkpoint_row *row)
{
    char *note;
    uint8_t(*proof)[MERKLE_HASH_LEN] = NULL;

    note = malloc(row->note_len + 1);
    if (note == NULL) {
        store_err(s, "out of memory");
        return -1;
    }
    memcpy(note, row->note, row->note_len);
    note[row->note_len] = '\0';
    if (row->nproof > 0) {
        proof = malloc(row->nproof * MERKLE_HASH_LEN);
        if (proof == NULL) {
            free(note);
            store_err(s, "out of memory");
            return -1;
        }
        memcpy(proof, row->proof, row->nproof * MERKLE_HASH_LEN);
    }
    row->note = note;
    row->proof = proof;
    return 0;
}

void
store_checkpoint_row_free(struct store_checkpoint_row *row)
{
    if (row == NULL) {
        return;
    }
    free(row->note);
    free(row->proof);
    memset(row, 0, sizeof(*row));
}

/* The latest checkpoint as a borrowed row: 1 found, 0 none, -1 error.
 * The statement stays on the row until store_done. */
static int
store_cp_latest_row(struct store *s, int64_t log_id,
                    struct store_checkpoint_row *row, sqlite3_stmt **stp)
{
    sqlite3_stmt *st = store_stmt(s, S_CP_LATEST);
    int r;

    *stp = st;
    if (store_bind_i64(s, st, 1, log_id) != 0) {
        return -1;
    }
    r = store_step(s, st, "latest checkpoint");
    if (r == 1 && store_cp_row(s, st, row) != 0) {
        store_done(st);
        return -1;
    }
    return r;
}

int
store_checkpoint_latest(struct store *s, int64_t log_id, int *found,
                        struct store_checkpoint_row *out)
{
    sqlite3_stmt *st;
    int r;

    *found = 0;
    memset(out, 0, sizeof(*out));
    r = store_cp_latest_row(s, log_id, out, &st);
    if (r <= 0) {
        return r;
    }
    r = store_cp_own(s, out);
    store_done(st);
    if (r != 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    *found = 1;
    return 0;
}

int
store_checkpoints_each(struct store *s, int64_t log_id, int64_t since,
                       int64_t until, store_checkpoint_fn fn, void *arg)
{
    struct store_checkpoint_row row;
    sqlite3_stmt *st;
    int r, stop;

    st = store_stmt(s, S_CP_HISTORY);
    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_i64(s, st, 2, since) != 0 ||
        store_bind_i64(s, st, 3, until) != 0) {
        return -1;
    }
    while ((r = store_step(s, st, "checkpoint history")) == 1) {
        if (store_cp_row(s, st, &row) != 0) {
            store_done(st);
            return -1;
        }
        s->iterating[S_CP_HISTORY / 64] |= (uint64_t)1 << (S_CP_HISTORY % 64);
        stop = fn(arg, &row);
        s->iterating[S_CP_HISTORY / 64] &=
            ~((uint64_t)1 << (S_CP_HISTORY % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

static int
store_check_cp(struct store *s, const struct store_checkpoint *cp)
{
    if (cp == NULL || cp->note == NULL || cp->note_len == 0 ||
        cp->note_len > STORE_NOTE_MAX) {
        store_err(s, "checkpoint note must be 1 to %d bytes", STORE_NOTE_MAX);
        return -1;
    }
    if (memchr(cp->note, '\0', cp->note_len) != NULL) {
        store_err(s, "checkpoint note holds a NUL byte");
        return -1;
    }
    if (cp->size > (uint64_t)INT64_MAX) {
        store_err(s, "checkpoint size %" PRIu64 " is out of range", cp->size);
        return -1;
    }
    return 0;
}

/* Does log_id exist?  1 yes, 0 no (error set), -1 error. */
static int
store_log_exists(struct store *s, int64_t log_id)
{
    sqlite3_stmt *st = store_stmt(s, S_CURSOR_GET);
    int r;

    if (store_bind_i64(s, st, 1, log_id) != 0) {
        return -1;
    }
    r = store_step(s, st, "find log");
    if (r == 1) {
        store_done(st);
    } else if (r == 0) {
        store_err(s, "no log %" PRId64, log_id);
    }
    return r;
}

int
store_checkpoint_record(struct store *s, int64_t log_id,
                        const struct store_checkpoint *cp, int64_t now)
{
    struct store_checkpoint_row latest;
    uint64_t prev_size = 0, proofs = 0;
    uint8_t prev_root[MERKLE_HASH_LEN];
    sqlite3_stmt *st;
    enum merkle_result mr;
    int r, has_prev;

    if (store_check_cp(s, cp) != 0) {
        return -1;
    }
    if (cp->link != STORE_LINK_NONE && cp->link != STORE_LINK_CONSISTENCY &&
        cp->link != STORE_LINK_TILES) {
        store_err(s, "unknown checkpoint link %d", (int)cp->link);
        return -1;
    }
    if (cp->link == STORE_LINK_CONSISTENCY
            ? (cp->proof == NULL || cp->nproof == 0 ||
               cp->nproof > MERKLE_MAX_PROOF)
            : cp->nproof != 0) {
        store_err(s,
                  "a consistency link needs 1 to %d proof hashes, "
                  "other links none",
                  MERKLE_MAX_PROOF);
        return -1;
    }
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    if (store_log_exists(s, log_id) != 1) {
        goto fail;
    }
    r = store_cp_latest_row(s, log_id, &latest, &st);
    if (r < 0) {
        goto fail;
    }
    has_prev = r;
    if (has_prev) {
        prev_size = latest.size;
        memcpy(prev_root, latest.root, MERKLE_HASH_LEN);
        store_done(st);
    }
    if (has_prev && cp->size < prev_size) {
        store_err(s,
                  "rollback: checkpoint size %" PRIu64
                  " is smaller than the verified size %" PRIu64,
                  cp->size, prev_size);
        goto fail;
    }
    if (has_prev && cp->size == prev_size) {
        if (!merkle_hash_equal(cp->root, prev_root)) {
            store_err(s,
                      "inconsistent: checkpoint of size %" PRIu64
                      " has another root than the verified one",
                      cp->size);
            goto fail;
        }
        /* Verified again: nothing new to keep as evidence. */
    } else {
        if (!has_prev && cp->link != STORE_LINK_NONE) {
            store_err(s, "the first checkpoint of a log has no link");
            goto fail;
        }
        if (has_prev && cp->link == STORE_LINK_NONE && prev_size != 0) {
            store_err(s,
                      "checkpoint of size %" PRIu64
                      " needs a proof from the verified size %" PRIu64,
                      cp->size, prev_size);
            goto fail;
        }
        if (cp->link == STORE_LINK_CONSISTENCY) {
            mr = merkle_verify_consistency(prev_size, cp->size, prev_root,
                                           cp->root, cp->proof, cp->nproof);
            if (mr != MERKLE_OK) {
                store_err(s,
                          "inconsistent: consistency proof %" PRIu64
                          " -> %" PRIu64 " does not verify: %s",
                          prev_size, cp->size, merkle_strerror(mr));
                goto fail;
            }
            proofs = 1;
        }
        st = store_stmt(s, S_CP_INSERT);
        if (store_bind_i64(s, st, 1, log_id) != 0 ||
            store_bind_u64(s, st, 2, cp->size) != 0 ||
            store_bind_blob(s, st, 3, cp->root, MERKLE_HASH_LEN) != 0 ||
            store_bind_text(s, st, 4, cp->note, cp->note_len) != 0 ||
            store_bind_i64(s, st, 5, now) != 0 ||
            store_bind_i64(s, st, 6, cp->link) != 0 ||
            (has_prev && store_bind_u64(s, st, 7, prev_size) != 0) ||
            (cp->link == STORE_LINK_CONSISTENCY &&
             store_bind_blob(s, st, 8, cp->proof,
                             cp->nproof * MERKLE_HASH_LEN) != 0) ||
            store_exec_stmt(s, st, "record checkpoint") != 0) {
            goto fail;
        }
    }
    st = store_stmt(s, S_CP_COUNT);
    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_u64(s, st, 2, proofs) != 0 ||
        store_update_log(s, st, log_id, "count checkpoint") != 0) {
        goto fail;
    }
    return store_txn_commit(s);
fail:
    store_txn_rollback(s);
    return -1;
}

/* ---- frozen shards ---------------------------------------------------- */

int
store_frozen_check(struct store *s, const char *log_name, const char *origin,
                   const struct store_checkpoint *cp, int64_t now,
                   enum store_frozen_result *result,
                   struct store_checkpoint_row *stored)
{
    struct store_checkpoint_row row;
    sqlite3_stmt *st;
    int64_t log_id = 0;
    int r;

    *result = STORE_FROZEN_SAME;
    if (stored != NULL) {
        memset(stored, 0, sizeof(*stored));
    }
    if (store_check_cp(s, cp) != 0 ||
        store_check_str(s, "log name", log_name, STORE_NAME_MAX) != 0 ||
        store_check_str(s, "log origin", origin, STORE_ORIGIN_MAX) != 0) {
        return -1;
    }
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    st = store_stmt(s, S_FROZEN_GET);
    if (store_bind_str(s, st, 1, log_name) != 0 ||
        store_bind_str(s, st, 2, origin) != 0) {
        goto fail;
    }
    r = store_step(s, st, "frozen shard");
    if (r < 0) {
        goto fail;
    }
    if (r == 1) {
        memset(&row, 0, sizeof(row));
        if (store_col_u64(s, st, 0, &row.size) != 0 ||
            store_col_hash(s, st, 1, row.root) != 0) {
            store_done(st);
            goto fail;
        }
        row.note = (char *)sqlite3_column_text(st, 2);
        row.note_len = (size_t)sqlite3_column_bytes(st, 2);
        row.verified_at = store_col_i64(st, 3);
        if (row.note == NULL || row.note_len > STORE_NOTE_MAX) {
            store_err(s, "corrupt state: frozen shard note");
            store_done(st);
            goto fail;
        }
        if (row.size == cp->size && merkle_hash_equal(row.root, cp->root)) {
            store_done(st);
            st = store_stmt(s, S_FROZEN_TOUCH);
            if (store_bind_str(s, st, 1, log_name) != 0 ||
                store_bind_str(s, st, 2, origin) != 0 ||
                store_bind_i64(s, st, 3, now) != 0 ||
                store_exec_stmt(s, st, "frozen shard") != 0) {
                goto fail;
            }
            *result = STORE_FROZEN_SAME;
            return store_txn_commit(s);
        }
        *result = STORE_FROZEN_DIFFERENT;
        if (stored != NULL && store_cp_own(s, &row) != 0) {
            store_done(st);
            goto fail;
        }
        store_done(st);
        if (stored != NULL) {
            *stored = row;
        }
        return store_txn_commit(s);
    }
    /* First sight: it must not contradict what we verified of the same
     * shard while it was active. */
    if (store_log_find(s, log_name, origin, &log_id) != 0) {
        goto fail;
    }
    if (log_id != 0) {
        r = store_cp_latest_row(s, log_id, &row, &st);
        if (r < 0) {
            goto fail;
        }
        if (r == 1 &&
            (row.size > cp->size || (row.size == cp->size &&
                                     !merkle_hash_equal(row.root, cp->root)))) {
            *result = STORE_FROZEN_DIFFERENT;
            if (stored != NULL && store_cp_own(s, &row) != 0) {
                store_done(st);
                goto fail;
            }
            store_done(st);
            if (stored != NULL) {
                *stored = row;
            }
            return store_txn_commit(s);
        }
        if (r == 1) {
            store_done(st);
        }
    }
    st = store_stmt(s, S_FROZEN_INSERT);
    if (store_bind_str(s, st, 1, log_name) != 0 ||
        store_bind_str(s, st, 2, origin) != 0 ||
        store_bind_u64(s, st, 3, cp->size) != 0 ||
        store_bind_blob(s, st, 4, cp->root, MERKLE_HASH_LEN) != 0 ||
        store_bind_text(s, st, 5, cp->note, cp->note_len) != 0 ||
        store_bind_i64(s, st, 6, now) != 0 ||
        store_exec_stmt(s, st, "record frozen shard") != 0) {
        goto fail;
    }
    *result = STORE_FROZEN_RECORDED;
    return store_txn_commit(s);
fail:
    if (stored != NULL) {
        store_checkpoint_row_free(stored);
    }
    store_txn_rollback(s);
    return -1;
}

/* ---- cursor ----------------------------------------------------------- */

struct store_cursor {
    int has;
    uint64_t next_index;
    uint64_t next_shard_index;
};

/* Read the cursor row; range (may be NULL) gets the compact range. */
static int
store_cursor_read(struct store *s, int64_t log_id, struct store_cursor *c,
                  struct merkle_range *range)
{
    sqlite3_stmt *st = store_stmt(s, S_CURSOR_GET);
    const void *blob;
    size_t blen;
    int r;

    memset(c, 0, sizeof(*c));
    if (store_bind_i64(s, st, 1, log_id) != 0) {
        return -1;
    }
    r = store_step(s, st, "cursor");
    if (r <= 0) {
        if (r == 0) {
            store_err(s, "no log %" PRId64, log_id);
        }
        return -1;
    }
    if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
        store_done(st);
        if (range != NULL) {
            merkle_range_init(range);
        }
        return 0;
    }
    c->has = 1;
    if (store_col_u64(s, st, 0, &c->next_index) != 0 ||
        store_col_u64(s, st, 1, &c->next_shard_index) != 0) {
        goto fail;
    }
    if (c->next_shard_index > c->next_index) {
        store_err(s, "corrupt state: shard cursor beyond virtual cursor");
        goto fail;
    }
    blob = sqlite3_column_blob(st, 2);
    blen = (size_t)sqlite3_column_bytes(st, 2);
    if (blen % MERKLE_HASH_LEN != 0 ||
        blen / MERKLE_HASH_LEN != store_popcount(c->next_shard_index)) {
        store_err(s, "corrupt state: compact range does not match cursor");
        goto fail;
    }
    if (range != NULL &&
        merkle_range_load(range, c->next_shard_index,
                          (const uint8_t(*)[MERKLE_HASH_LEN])blob,
                          blen / MERKLE_HASH_LEN) != MERKLE_OK) {
        store_err(s, "corrupt state: compact range does not load");
        goto fail;
    }
    store_done(st);
    return 0;
fail:
    store_done(st);
    return -1;
}

int
store_cursor_get(struct store *s, int64_t log_id, int *has_cursor,
                 uint64_t *next_index, struct merkle_range *range)
{
    struct store_cursor c;

    *has_cursor = 0;
    *next_index = 0;
    if (store_cursor_read(s, log_id, &c, range) != 0) {
        return -1;
    }
    *has_cursor = c.has;
    *next_index = c.next_index;
    return 0;
}

/*
 * The cursor may stand at shard-local size n only if n <= the verified
 * size, and, when a verified checkpoint has size n, only with a compact
 * range whose root is that checkpoint's root.
 */
static int
store_check_against_checkpoints(struct store *s, int64_t log_id,
                                const struct merkle_range *range)
{
    uint8_t want[MERKLE_HASH_LEN], got[MERKLE_HASH_LEN];
    sqlite3_stmt *st;
    uint64_t verified = 0;
    int r;

    st = store_stmt(s, S_CP_MAX);
    if (store_bind_i64(s, st, 1, log_id) != 0) {
        return -1;
    }
    r = store_step(s, st, "verified size");
    if (r <= 0) {
        if (r == 0) {
            store_err(s, "verified size: no row");
        }
        return -1;
    }
    /* max() of no rows is NULL: no verified checkpoint, size 0. */
    r = sqlite3_column_type(st, 0) == SQLITE_NULL
            ? 0
            : store_col_u64(s, st, 0, &verified);
    store_done(st);
    if (r != 0) {
        return -1;
    }
    if (range->size > verified) {
        store_err(s, "cursor %" PRIu64 " would pass the verified size %" PRIu64,
                  range->size, verified);
        return -1;
    }
    st = store_stmt(s, S_CP_ROOT_AT);
    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_u64(s, st, 2, range->size) != 0) {
        return -1;
    }
    r = store_step(s, st, "checkpoint root");
    if (r < 0) {
        return -1;
    }
    if (r == 1) {
        r = store_col_hash(s, st, 0, want);
        store_done(st);
        if (r != 0) {
            return -1;
        }
        merkle_range_root(range, got);
        if (!merkle_hash_equal(got, want)) {
            store_err(s,
                      "entries mismatch: the compact range root at %" PRIu64
                      " differs from the verified checkpoint root",
                      range->size);
            return -1;
        }
    }
    return 0;
}

static int
store_cursor_write(struct store *s, int64_t log_id, uint64_t next_index,
                   const struct merkle_range *range, uint64_t entries,
                   uint64_t root_checks)
{
    sqlite3_stmt *st = store_stmt(s, S_CURSOR_SET);

    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_u64(s, st, 2, next_index) != 0 ||
        store_bind_u64(s, st, 3, range->size) != 0 ||
        store_bind_blob(s, st, 4, range->hashes,
                        (size_t)range->nhashes * MERKLE_HASH_LEN) != 0 ||
        store_bind_u64(s, st, 5, entries) != 0 ||
        store_bind_u64(s, st, 6, root_checks) != 0) {
        return -1;
    }
    return store_update_log(s, st, log_id, "move cursor");
}

int
store_cursor_seed(struct store *s, int64_t log_id, uint64_t next_index,
                  const struct merkle_range *range, int64_t now)
{
    struct store_cursor c;

    (void)now; /* not stored in schema 1 */
    if (store_check_range(s, range) != 0) {
        return -1;
    }
    if (next_index > (uint64_t)INT64_MAX || range->size > next_index) {
        store_err(s,
                  "cursor %" PRIu64 " is below its shard-local index %" PRIu64
                  " or out of range",
                  next_index, range->size);
        return -1;
    }
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    if (store_cursor_read(s, log_id, &c, NULL) != 0) {
        goto fail;
    }
    if (c.has) {
        store_err(s, "log %" PRId64 " already has a cursor (%" PRIu64 ")",
                  log_id, c.next_index);
        goto fail;
    }
    if (store_check_against_checkpoints(s, log_id, range) != 0 ||
        store_cursor_write(s, log_id, next_index, range, 0, 0) != 0) {
        goto fail;
    }
    return store_txn_commit(s);
fail:
    store_txn_rollback(s);
    return -1;
}

/* ---- alerts and signings ---------------------------------------------- */

/* Insert one alert (and its deliveries when new); *inserted 1 if new. */
static int
store_alert_insert(struct store *s, int64_t log_id, const struct store_alert *a,
                   int *inserted)
{
    sqlite3_stmt *st = store_stmt(s, S_ALERT_INSERT);
    int64_t seq;
    size_t i;

    *inserted = 0;
    if (store_bind_str(s, st, 1, a->id) != 0 ||
        store_bind_str(s, st, 2, a->type) != 0 ||
        store_bind_i64(s, st, 3, (int64_t)a->severity) != 0 ||
        store_bind_i64(s, st, 4, a->detected_at) != 0 ||
        (log_id != 0 && store_bind_i64(s, st, 5, log_id) != 0) ||
        (a->has_index && store_bind_u64(s, st, 6, a->log_index) != 0) ||
        store_bind_str(s, st, 7, a->rule) != 0 ||
        store_bind_str(s, st, 8, a->body) != 0 ||
        store_exec_stmt(s, st, "record alert") != 0) {
        return -1;
    }
    if (sqlite3_changes(s->db) == 0) {
        return 0; /* already there: a replay */
    }
    *inserted = 1;
    seq = sqlite3_last_insert_rowid(s->db);
    for (i = 0; i < a->nsinks; i++) {
        st = store_stmt(s, S_DELIVERY_INSERT);
        if (store_bind_i64(s, st, 1, seq) != 0 ||
            store_bind_str(s, st, 2, a->sinks[i]) != 0 ||
            store_bind_i64(s, st, 3, a->detected_at) != 0 ||
            store_exec_stmt(s, st, "queue delivery") != 0) {
            return -1;
        }
    }
    return 0;
}

static int
store_signing_insert(struct store *s, int64_t log_id,
                     const struct store_signing *g, int64_t now)
{
    sqlite3_stmt *st = store_stmt(s, S_SIGNING_INSERT);
    const char *text[] = {
        g->uuid,
        g->kind,
        NULL, /* 4, 5, (6) */
        g->cert_sha256,
        g->san,
        g->issuer,
        g->repository,
        g->repository_id,
        g->workflow_path,
        g->ref,
        g->workflow_sha,
        g->runner_environment,
        g->trigger,
        g->run_invocation_uri,
        g->build_signer_uri,
        g->rule,
        g->verdict,
        g->artifact_digest,
        g->pcr0,
        g->pcr1,
        g->pcr2, /* ... 24 */
    };
    size_t i;

    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_u64(s, st, 2, g->log_index) != 0 ||
        store_bind_u64(s, st, 3, g->shard_index) != 0) {
        return -1;
    }
    for (i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
        int col = (int)i + 4;

        if (col == 6) {
            if (store_bind_i64(s, st, col, g->integrated_time) != 0) {
                return -1;
            }
        } else if (store_bind_str(s, st, col, text[i]) != 0) {
            return -1;
        }
    }
    if (store_bind_i64(s, st, 25, now) != 0 ||
        store_bind_str(s, st, 26, g->pcrs_state) != 0 ||
        (g->pcrs_deadline != 0 &&
         store_bind_i64(s, st, 27, g->pcrs_deadline) != 0) ||
        store_bind_str(s, st, 28, g->pcr8) != 0 ||
        store_bind_str(s, st, 29, g->pcrs_source) != 0 ||
        store_bind_str(s, st, 30, g->pcrs_note) != 0 ||
        store_bind_str(s, st, 31, g->link_id) != 0) {
        return -1;
    }
    if (store_exec_stmt(s, st, "record signing") != 0) {
        return -1;
    }
    if (g->link_id == NULL) {
        return 0;
    }
    /* Its CT certificates are logged now (any log, any rule). */
    st = store_stmt(s, S_CT_LOGGED);
    if (store_bind_str(s, st, 1, g->link_id) != 0 ||
        store_bind_i64(s, st, 2, now) != 0) {
        return -1;
    }
    return store_exec_stmt(s, st, "mark CT certificates logged");
}

static int
store_check_ct_cert(struct store *s, const struct store_ct_cert *c)
{
    if (store_check_str(s, "CT certificate link_id", c->link_id,
                        STORE_NAME_MAX) != 0 ||
        store_check_str(s, "CT certificate rule", c->rule, STORE_NAME_MAX) !=
            0 ||
        store_check_str(s, "CT certificate leaf_hash", c->leaf_hash,
                        STORE_NAME_MAX) != 0 ||
        store_check_str(s, "CT certificate entry_type", c->entry_type,
                        STORE_NAME_MAX) != 0 ||
        store_check_str(s, "CT certificate cert_sha256", c->cert_sha256,
                        STORE_NAME_MAX) != 0 ||
        store_check_str(s, "CT certificate verdict", c->verdict,
                        STORE_NAME_MAX) != 0 ||
        store_check_str(s, "CT certificate alert", c->alert, STORE_ALERT_MAX) !=
            0) {
        return -1;
    }
    if (c->log_index > (uint64_t)INT64_MAX) {
        store_err(s, "CT certificate %s: index is out of range", c->link_id);
        return -1;
    }
    return 0;
}

static int
store_ct_cert_insert(struct store *s, int64_t log_id,
                     const struct store_ct_cert *c, int64_t now)
{
    sqlite3_stmt *st = store_stmt(s, S_CT_INSERT);

    if (store_bind_str(s, st, 1, c->link_id) != 0 ||
        store_bind_str(s, st, 2, c->rule) != 0 ||
        store_bind_i64(s, st, 3, log_id) != 0 ||
        store_bind_u64(s, st, 4, c->log_index) != 0 ||
        store_bind_str(s, st, 5, c->leaf_hash) != 0 ||
        store_bind_str(s, st, 6, c->entry_type) != 0 ||
        store_bind_str(s, st, 7, c->cert_sha256) != 0 ||
        store_bind_i64(s, st, 8, c->not_before) != 0 ||
        store_bind_i64(s, st, 9, c->deadline) != 0 ||
        store_bind_str(s, st, 10, c->verdict) != 0 ||
        store_bind_str(s, st, 11, c->alert) != 0 ||
        store_bind_i64(s, st, 12, now) != 0) {
        return -1;
    }
    return store_exec_stmt(s, st, "record CT certificate");
}

int
store_record_ahead(struct store *s, int64_t log_id,
                   const struct store_alert *alerts, size_t nalerts,
                   const struct store_signing *signings, size_t nsignings,
                   int64_t now, size_t *new_alerts)
{
    struct store_cursor c;
    size_t i, nnew = 0;
    int inserted;

    if (new_alerts != NULL) {
        *new_alerts = 0;
    }
    if ((nalerts > 0 && alerts == NULL) ||
        (nsignings > 0 && signings == NULL)) {
        store_err(s, "record ahead: alerts or signings missing");
        return -1;
    }
    for (i = 0; i < nalerts; i++) {
        if (store_check_alert(s, &alerts[i]) != 0) {
            return -1;
        }
        if (!alerts[i].has_index) {
            store_err(s, "alert %s: ahead of the cursor but no index",
                      alerts[i].id);
            return -1;
        }
    }
    for (i = 0; i < nsignings; i++) {
        if (store_check_signing(s, &signings[i]) != 0) {
            return -1;
        }
    }
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    if (store_cursor_read(s, log_id, &c, NULL) != 0) {
        goto fail;
    }
    if (!c.has) {
        store_err(s, "log %" PRId64 " has no cursor yet (seed it first)",
                  log_id);
        goto fail;
    }
    for (i = 0; i < nalerts; i++) {
        if (alerts[i].log_index < c.next_index) {
            store_err(s, "alert %s: index %" PRIu64 " is behind the cursor",
                      alerts[i].id, alerts[i].log_index);
            goto fail;
        }
        if (store_alert_insert(s, log_id, &alerts[i], &inserted) != 0) {
            goto fail;
        }
        nnew += (size_t)inserted;
    }
    for (i = 0; i < nsignings; i++) {
        if (signings[i].log_index < c.next_index) {
            store_err(s, "signing %s: index %" PRIu64 " is behind the cursor",
                      signings[i].uuid, signings[i].log_index);
            goto fail;
        }
        if (store_signing_insert(s, log_id, &signings[i], now) != 0) {
            goto fail;
        }
    }
    if (store_txn_commit(s) != 0) {
        return -1;
    }
    if (new_alerts != NULL) {
        *new_alerts = nnew;
    }
    return 0;
fail:
    store_txn_rollback(s);
    return -1;
}

int
store_commit_progress(struct store *s, int64_t log_id,
                      const struct store_progress *p, int64_t now,
                      size_t *new_alerts)
{
    struct store_cursor c;
    uint64_t entries;
    size_t i, nnew = 0;
    int inserted;

    if (new_alerts != NULL) {
        *new_alerts = 0;
    }
    if (p == NULL || store_check_range(s, p->range) != 0) {
        if (p == NULL) {
            store_err(s, "no progress");
        }
        return -1;
    }
    if (p->to_index < p->from_index || p->to_index > (uint64_t)INT64_MAX) {
        store_err(s,
                  "progress %" PRIu64 " -> %" PRIu64 " goes backward or "
                  "out of range",
                  p->from_index, p->to_index);
        return -1;
    }
    if ((p->nalerts > 0 && p->alerts == NULL) ||
        (p->nsignings > 0 && p->signings == NULL)) {
        store_err(s, "progress: alerts or signings missing");
        return -1;
    }
    for (i = 0; i < p->nalerts; i++) {
        const struct store_alert *a = &p->alerts[i];

        if (store_check_alert(s, a) != 0) {
            return -1;
        }
        if (a->has_index &&
            (a->log_index < p->from_index || a->log_index >= p->to_index)) {
            store_err(s,
                      "alert %s: index %" PRIu64
                      " is outside the batch [%" PRIu64 ", %" PRIu64 ")",
                      a->id, a->log_index, p->from_index, p->to_index);
            return -1;
        }
    }
    for (i = 0; i < p->nsignings; i++) {
        const struct store_signing *g = &p->signings[i];

        if (store_check_signing(s, g) != 0) {
            return -1;
        }
        if (g->log_index < p->from_index || g->log_index >= p->to_index) {
            store_err(s,
                      "signing %s: index %" PRIu64
                      " is outside the batch [%" PRIu64 ", %" PRIu64 ")",
                      g->uuid, g->log_index, p->from_index, p->to_index);
            return -1;
        }
    }
    if (p->nct_certs > 0 && p->ct_certs == NULL) {
        store_err(s, "progress: CT certificates missing");
        return -1;
    }
    for (i = 0; i < p->nct_certs; i++) {
        const struct store_ct_cert *g = &p->ct_certs[i];

        if (store_check_ct_cert(s, g) != 0) {
            return -1;
        }
        if (g->log_index < p->from_index || g->log_index >= p->to_index) {
            store_err(s,
                      "CT certificate %s: index %" PRIu64
                      " is outside the batch [%" PRIu64 ", %" PRIu64 ")",
                      g->link_id, g->log_index, p->from_index, p->to_index);
            return -1;
        }
    }
    entries = p->to_index - p->from_index;

    if (store_txn_begin(s) != 0) {
        return -1;
    }
    if (store_cursor_read(s, log_id, &c, NULL) != 0) {
        goto fail;
    }
    if (!c.has) {
        store_err(s, "log %" PRId64 " has no cursor yet (seed it first)",
                  log_id);
        goto fail;
    }
    if (c.next_index != p->from_index) {
        store_err(s, "progress from %" PRIu64 " but the cursor is at %" PRIu64,
                  p->from_index, c.next_index);
        goto fail;
    }
    /* The shard-local cursor moves by as many entries as the virtual
     * one: same offset, compact range of the right size. */
    if (p->range->size < c.next_shard_index ||
        p->range->size - c.next_shard_index != entries) {
        store_err(s,
                  "compact range size %" PRIu64 " does not match the "
                  "shard cursor %" PRIu64 " + %" PRIu64 " entries",
                  p->range->size, c.next_shard_index, entries);
        goto fail;
    }
    if (store_check_against_checkpoints(s, log_id, p->range) != 0) {
        goto fail;
    }
    for (i = 0; i < p->nalerts; i++) {
        if (store_alert_insert(s, log_id, &p->alerts[i], &inserted) != 0) {
            goto fail;
        }
        nnew += (size_t)inserted;
    }
    for (i = 0; i < p->nsignings; i++) {
        if (store_signing_insert(s, log_id, &p->signings[i], now) != 0) {
            goto fail;
        }
    }
    for (i = 0; i < p->nct_certs; i++) {
        if (store_ct_cert_insert(s, log_id, &p->ct_certs[i], now) != 0) {
            goto fail;
        }
    }
    if (store_cursor_write(s, log_id, p->to_index, p->range, entries,
                           p->root_checks_passed) != 0) {
        goto fail;
    }
    if (store_txn_commit(s) != 0) {
        return -1;
    }
    if (new_alerts != NULL) {
        *new_alerts = nnew;
    }
    return 0;
fail:
    store_txn_rollback(s);
    return -1;
}

int
store_alert_record(struct store *s, int64_t log_id, const struct store_alert *a,
                   int *inserted)
{
    int ins = 0;

    if (inserted != NULL) {
        *inserted = 0;
    }
    if (a == NULL) {
        store_err(s, "no alert");
        return -1;
    }
    if (store_check_alert(s, a) != 0) {
        return -1;
    }
    if (a->has_index && log_id == 0) {
        store_err(s, "alert %s: an entry alert needs its log", a->id);
        return -1;
    }
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    if (log_id != 0 && store_log_exists(s, log_id) != 1) {
        goto fail;
    }
    if (store_alert_insert(s, log_id, a, &ins) != 0) {
        goto fail;
    }
    if (store_txn_commit(s) != 0) {
        return -1;
    }
    if (inserted != NULL) {
        *inserted = ins;
    }
    return 0;
fail:
    store_txn_rollback(s);
    return -1;
}

/* Severity column to enum; out of range is corrupt. */
static int
store_col_severity(struct store *s, sqlite3_stmt *st, int i,
                   enum notify_severity *out)
{
    int64_t v = sqlite3_column_int64(st, i);

    if (v < NOTIFY_INFO || v > NOTIFY_CRITICAL) {
        store_err(s, "corrupt state: severity %" PRId64, v);
        return -1;
    }
    *out = (enum notify_severity)v;
    return 0;
}

/* A required text column, borrowed; NULL (with error) when absent. */
static const char *
store_col_req(struct store *s, sqlite3_stmt *st, int i)
{
    const char *v = store_col_str(st, i);

    if (v == NULL) {
        store_err(s, "corrupt state: %s is NULL", sqlite3_column_name(st, i));
    }
    return v;
}

/* Call fn for each row of the bound alert listing id (the columns of
 * S_ALERTS_QUERY). */
static int
store_alert_rows(struct store *s, enum store_stmt id, sqlite3_stmt *st,
                 store_alert_fn fn, void *arg)
{
    struct store_alert_row row;
    int r, stop;

    while ((r = store_step(s, st, "list alerts")) == 1) {
        memset(&row, 0, sizeof(row));
        row.id = store_col_req(s, st, 0);
        row.type = store_col_req(s, st, 1);
        row.body = store_col_req(s, st, 7);
        if (row.id == NULL || row.type == NULL || row.body == NULL ||
            store_col_severity(s, st, 2, &row.severity) != 0) {
            store_done(st);
            return -1;
        }
        row.detected_at = store_col_i64(st, 3);
        row.log_id = store_col_i64(st, 4);
        if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
            row.has_index = 1;
            if (store_col_u64(s, st, 5, &row.log_index) != 0) {
                store_done(st);
                return -1;
            }
        }
        row.rule = store_col_str(st, 6);
        s->iterating[id / 64] |= (uint64_t)1 << (id % 64);
        stop = fn(arg, &row);
        s->iterating[id / 64] &= ~((uint64_t)1 << (id % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int
store_alerts_each(struct store *s, const struct store_alert_query *q,
                  store_alert_fn fn, void *arg)
{
    sqlite3_stmt *st;

    if (q == NULL) {
        store_err(s, "no alert query");
        return -1;
    }
    st = store_stmt(s, S_ALERTS_QUERY);
    if (store_bind_i64(s, st, 1, q->since) != 0 ||
        store_bind_i64(s, st, 2, q->until) != 0 ||
        store_bind_str(s, st, 3, q->type) != 0 ||
        store_bind_i64(s, st, 4, q->log_id) != 0 ||
        store_bind_i64(s, st, 5, (int64_t)q->min_severity) != 0 ||
        store_bind_i64(s, st, 6, store_limit(q->limit)) != 0) {
        return -1;
    }
    return store_alert_rows(s, S_ALERTS_QUERY, st, fn, arg);
}

int
store_entry_alerts_each(struct store *s, int64_t log_id, uint64_t log_index,
                        const char *rule, enum notify_severity min_severity,
                        size_t limit, store_alert_fn fn, void *arg)
{
    sqlite3_stmt *st = store_stmt(s, S_ENTRY_ALERTS);

    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_u64(s, st, 2, log_index) != 0 ||
        store_bind_str(s, st, 3, rule) != 0 ||
        store_bind_i64(s, st, 4, (int64_t)min_severity) != 0 ||
        store_bind_i64(s, st, 5, store_limit(limit)) != 0) {
        return -1;
    }
    return store_alert_rows(s, S_ENTRY_ALERTS, st, fn, arg);
}

/* Read one STORE_SIGNING_COLUMNS row into *g (strings borrowed until
 * the next step).  0 or -1. */
static int
store_signing_row(struct store *s, sqlite3_stmt *st, struct store_signing *g)
{
    memset(g, 0, sizeof(*g));
    g->log_id = store_col_i64(st, 0);
    if (store_col_u64(s, st, 1, &g->log_index) != 0 ||
        store_col_u64(s, st, 2, &g->shard_index) != 0 ||
        (g->uuid = store_col_req(s, st, 3)) == NULL ||
        (g->cert_sha256 = store_col_req(s, st, 6)) == NULL ||
        (g->rule = store_col_req(s, st, 18)) == NULL ||
        (g->verdict = store_col_req(s, st, 19)) == NULL ||
        (g->pcrs_state = store_col_req(s, st, 25)) == NULL) {
        return -1;
    }
    g->kind = store_col_str(st, 4);
    g->integrated_time = store_col_i64(st, 5);
    g->san = store_col_str(st, 7);
    g->issuer = store_col_str(st, 8);
    g->repository = store_col_str(st, 9);
    g->repository_id = store_col_str(st, 10);
    g->workflow_path = store_col_str(st, 11);
    g->ref = store_col_str(st, 12);
    g->workflow_sha = store_col_str(st, 13);
    g->runner_environment = store_col_str(st, 14);
    g->trigger = store_col_str(st, 15);
    g->run_invocation_uri = store_col_str(st, 16);
    g->build_signer_uri = store_col_str(st, 17);
    g->artifact_digest = store_col_str(st, 20);
    g->pcr0 = store_col_str(st, 21);
    g->pcr1 = store_col_str(st, 22);
    g->pcr2 = store_col_str(st, 23);
    g->recorded_at = store_col_i64(st, 24);
    g->pcrs_deadline = store_col_i64(st, 26); /* NULL reads 0 */
    g->pcr8 = store_col_str(st, 27);
    g->pcrs_source = store_col_str(st, 28);
    g->pcrs_note = store_col_str(st, 29);
    g->link_id = store_col_str(st, 30);
    return 0;
}

/* Call fn for each row of the bound listing id. */
static int
store_signings_each(struct store *s, enum store_stmt id, sqlite3_stmt *st,
                    const char *what, store_signing_fn fn, void *arg)
{
    struct store_signing g;
    int r, stop;

    while ((r = store_step(s, st, what)) == 1) {
        if (store_signing_row(s, st, &g) != 0) {
            store_done(st);
            return -1;
        }
        s->iterating[id / 64] |= (uint64_t)1 << (id % 64);
        stop = fn(arg, &g);
        s->iterating[id / 64] &= ~((uint64_t)1 << (id % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int
store_signings_latest(struct store *s, const char *rule, size_t n,
                      store_signing_fn fn, void *arg)
{
    sqlite3_stmt *st;

    if (store_check_str(s, "rule", rule, STORE_NAME_MAX) != 0) {
        return -1;
    }
    st = store_stmt(s, S_SIGNINGS_LATEST);
    if (store_bind_str(s, st, 1, rule) != 0 ||
        store_bind_i64(s, st, 2, store_limit(n)) != 0) {
        return -1;
    }
    return store_signings_each(s, S_SIGNINGS_LATEST, st, "list signings", fn,
                               arg);
}

int
store_signing_by_link(struct store *s, const char *link_id, const char *rule,
                      store_signing_fn fn, void *arg)
{
    sqlite3_stmt *st;

    if (store_check_str(s, "link_id", link_id, STORE_NAME_MAX) != 0 ||
        store_check_str(s, "rule", rule, STORE_NAME_MAX) != 0) {
        return -1;
    }
    st = store_stmt(s, S_SIGNING_BY_LINK);
    if (st == NULL || store_bind_str(s, st, 1, link_id) != 0 ||
        store_bind_str(s, st, 2, rule) != 0) {
        return -1;
    }
    return store_signings_each(s, S_SIGNING_BY_LINK, st,
                               "read the signing of a certificate", fn, arg);
}

int
store_signings_between(struct store *s, const char *rule, int64_t since,
                       int64_t until, size_t n, store_signing_fn fn, void *arg)
{
    sqlite3_stmt *st;

    if (store_check_str(s, "rule", rule, STORE_NAME_MAX) != 0) {
        return -1;
    }
    st = store_stmt(s, S_SIGNINGS_BETWEEN);
    if (store_bind_str(s, st, 1, rule) != 0 ||
        store_bind_i64(s, st, 2, since) != 0 ||
        store_bind_i64(s, st, 3, until) != 0 ||
        store_bind_i64(s, st, 4, store_limit(n)) != 0) {
        return -1;
    }
    return store_signings_each(s, S_SIGNINGS_BETWEEN, st, "list signings", fn,
                               arg);
}

int
store_signings_pending(struct store *s, int64_t since, store_signing_fn fn,
                       void *arg)
{
    sqlite3_stmt *st = store_stmt(s, S_SIGNINGS_PENDING);

    if (store_bind_i64(s, st, 1, since) != 0) {
        return -1;
    }
    return store_signings_each(s, S_SIGNINGS_PENDING, st,
                               "list pending signings", fn, arg);
}

/* A PCR value for store_signings_by_pcrs: 96 hex digits, lowercased into
 * out.  0 or -1. */
static int
store_pcr_arg(struct store *s, const char *what, const char *v, char out[97])
{
    size_t i;

    if (v == NULL || strlen(v) != 96) {
        store_err(s, "signings by PCRs: %s is not 96 hex digits", what);
        return -1;
    }
    for (i = 0; i < 96; i++) {
        char c = v[i];

        if (c >= 'A' && c <= 'F') {
            c = (char)(c - 'A' + 'a');
        }
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            store_err(s, "signings by PCRs: %s is not 96 hex digits", what);
            return -1;
        }
        out[i] = c;
    }
    out[96] = '\0';
    return 0;
}

int
store_signings_by_pcrs(struct store *s, const char *pcr0, const char *pcr1,
                       const char *pcr2, const char *pcr8, size_t n,
                       store_signing_fn fn, void *arg)
{
    char p[4][97];
    sqlite3_stmt *st;

    if (store_pcr_arg(s, "PCR0", pcr0, p[0]) != 0 ||
        store_pcr_arg(s, "PCR1", pcr1, p[1]) != 0 ||
        store_pcr_arg(s, "PCR2", pcr2, p[2]) != 0 ||
        (pcr8 != NULL && store_pcr_arg(s, "PCR8", pcr8, p[3]) != 0)) {
        return -1;
    }
    st = store_stmt(s, S_SIGNINGS_BY_PCRS);
    if (store_bind_str(s, st, 1, p[0]) != 0 ||
        store_bind_str(s, st, 2, p[1]) != 0 ||
        store_bind_str(s, st, 3, p[2]) != 0 ||
        store_bind_str(s, st, 4, pcr8 != NULL ? p[3] : NULL) != 0 ||
        store_bind_i64(s, st, 5, store_limit(n)) != 0) {
        return -1;
    }
    return store_signings_each(s, S_SIGNINGS_BY_PCRS, st,
                               "list signings by PCRs", fn, arg);
}

int
store_signing_set_pcrs(struct store *s, int64_t log_id, uint64_t log_index,
                       const char *cert_sha256, const char *rule,
                       const struct store_pcrs_update *u,
                       const struct store_alert *alert, int64_t now,
                       int *new_alert)
{
    sqlite3_stmt *st;
    int inserted = 0;

    (void)now;
    if (new_alert != NULL) {
        *new_alert = 0;
    }
    if (u == NULL ||
        store_check_str(s, "signing cert_sha256", cert_sha256,
                        STORE_FIELD_MAX) != 0 ||
        store_check_str(s, "signing rule", rule, STORE_NAME_MAX) != 0 ||
        store_check_str(s, "pcrs state", u->state, STORE_NAME_MAX) != 0 ||
        store_check_opt(s, "pcr0", u->pcr0, STORE_FIELD_MAX) != 0 ||
        store_check_opt(s, "pcr1", u->pcr1, STORE_FIELD_MAX) != 0 ||
        store_check_opt(s, "pcr2", u->pcr2, STORE_FIELD_MAX) != 0 ||
        store_check_opt(s, "pcr8", u->pcr8, STORE_FIELD_MAX) != 0 ||
        store_check_opt(s, "pcrs source", u->source, STORE_NAME_MAX) != 0 ||
        store_check_opt(s, "pcrs note", u->note, STORE_FIELD_MAX) != 0 ||
        store_check_opt(s, "artifact digest", u->artifact_digest,
                        STORE_FIELD_MAX) != 0 ||
        (alert != NULL && store_check_alert(s, alert) != 0)) {
        if (u == NULL) {
            store_err(s, "set pcrs: no update");
        }
        return -1;
    }
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    st = store_stmt(s, S_SIGNING_SET_PCRS);
    if (store_bind_i64(s, st, 1, log_id) != 0 ||
        store_bind_u64(s, st, 2, log_index) != 0 ||
        store_bind_str(s, st, 3, cert_sha256) != 0 ||
        store_bind_str(s, st, 4, rule) != 0 ||
        store_bind_str(s, st, 5, u->pcr0) != 0 ||
        store_bind_str(s, st, 6, u->pcr1) != 0 ||
        store_bind_str(s, st, 7, u->pcr2) != 0 ||
        store_bind_str(s, st, 8, u->state) != 0 ||
        (strcmp(u->state, "pending") == 0 && u->deadline != 0 &&
         store_bind_i64(s, st, 9, u->deadline) != 0) ||
        store_bind_str(s, st, 10, u->pcr8) != 0 ||
        store_bind_str(s, st, 11, u->source) != 0 ||
        store_bind_str(s, st, 12, u->note) != 0 ||
        store_bind_str(s, st, 13, u->artifact_digest) != 0 ||
        store_exec_stmt(s, st, "set signing pcrs") != 0) {
        goto fail;
    }
    if (sqlite3_changes(s->db) == 0) {
        store_err(s, "set pcrs: no signing at index %" PRIu64 " for rule %s",
                  log_index, rule);
        goto fail;
    }
    if (alert != NULL && store_alert_insert(s, log_id, alert, &inserted) != 0) {
        goto fail;
    }
    if (store_txn_commit(s) != 0) {
        return -1;
    }
    if (new_alert != NULL) {
        *new_alert = inserted;
    }
    return 0;
fail:
    store_txn_rollback(s);
    return -1;
}

/* ---- CT certificates ------------------------------------------------- */

/* A ct_certs row (S_CT_DUE / S_CT_GET / S_CT_LATEST / S_CT_UNLOGGED
 * column order); strings borrowed. */
static int
store_ct_row(struct store *s, sqlite3_stmt *st, struct store_ct_cert *c)
{
    memset(c, 0, sizeof(*c));
    if ((c->link_id = store_col_req(s, st, 0)) == NULL ||
        (c->rule = store_col_req(s, st, 1)) == NULL ||
        store_col_u64(s, st, 3, &c->log_index) != 0 ||
        (c->leaf_hash = store_col_req(s, st, 4)) == NULL ||
        (c->entry_type = store_col_req(s, st, 5)) == NULL ||
        (c->cert_sha256 = store_col_req(s, st, 6)) == NULL ||
        (c->verdict = store_col_req(s, st, 9)) == NULL ||
        (c->state = store_col_req(s, st, 10)) == NULL ||
        (c->alert = store_col_req(s, st, 11)) == NULL) {
        return -1;
    }
    c->log_id = store_col_i64(st, 2);
    c->not_before = store_col_i64(st, 7);
    c->deadline = store_col_i64(st, 8);
    c->recorded_at = store_col_i64(st, 12);
    c->judged_at = store_col_i64(st, 13); /* NULL reads 0 */
    return 0;
}

/* Call fn for each row of the bound ct_certs listing id. */
static int
store_ct_each(struct store *s, enum store_stmt id, sqlite3_stmt *st,
              const char *what, store_ct_cert_fn fn, void *arg)
{
    struct store_ct_cert c;
    int r, stop;

    while ((r = store_step(s, st, what)) == 1) {
        if (store_ct_row(s, st, &c) != 0) {
            store_done(st);
            return -1;
        }
        s->iterating[id / 64] |= (uint64_t)1 << (id % 64);
        stop = fn(arg, &c);
        s->iterating[id / 64] &= ~((uint64_t)1 << (id % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int
store_ct_certs_latest(struct store *s, const char *rule, size_t n,
                      store_ct_cert_fn fn, void *arg)
{
    sqlite3_stmt *st;

    if (store_check_str(s, "rule", rule, STORE_NAME_MAX) != 0) {
        return -1;
    }
    st = store_stmt(s, S_CT_LATEST);
    if (st == NULL || store_bind_str(s, st, 1, rule) != 0 ||
        store_bind_i64(s, st, 2, store_limit(n)) != 0) {
        return -1;
    }
    return store_ct_each(s, S_CT_LATEST, st, "list CT certificates", fn, arg);
}

int
store_ct_certs_unlogged(struct store *s, int64_t since, int64_t until, size_t n,
                        store_ct_cert_fn fn, void *arg)
{
    sqlite3_stmt *st = store_stmt(s, S_CT_UNLOGGED);

    if (st == NULL || store_bind_i64(s, st, 1, since) != 0 ||
        store_bind_i64(s, st, 2, until) != 0 ||
        store_bind_i64(s, st, 3, store_limit(n)) != 0) {
        return -1;
    }
    return store_ct_each(s, S_CT_UNLOGGED, st, "list unlogged certificates", fn,
                         arg);
}

int
store_ct_cert_counts_each(struct store *s, store_ct_count_fn fn, void *arg)
{
    sqlite3_stmt *st = store_stmt(s, S_CT_COUNTS);
    const char *rule, *state;
    int r, stop;

    if (st == NULL) {
        return -1;
    }
    while ((r = store_step(s, st, "count CT certificates")) == 1) {
        if ((rule = store_col_req(s, st, 0)) == NULL ||
            (state = store_col_req(s, st, 1)) == NULL) {
            store_done(st);
            return -1;
        }
        s->iterating[S_CT_COUNTS / 64] |= (uint64_t)1 << (S_CT_COUNTS % 64);
        stop = fn(arg, rule, state, (uint64_t)store_col_i64(st, 2));
        s->iterating[S_CT_COUNTS / 64] &= ~((uint64_t)1 << (S_CT_COUNTS % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int
store_ct_certs_due(struct store *s, int64_t since, int64_t until, size_t limit,
                   store_ct_cert_fn fn, void *arg)
{
    sqlite3_stmt *st = store_stmt(s, S_CT_DUE);
    struct store_ct_cert c;
    int r, stop;

    if (st == NULL || store_bind_i64(s, st, 1, until) != 0 ||
        store_bind_i64(s, st, 2, store_limit(limit)) != 0 ||
        store_bind_i64(s, st, 3, since) != 0) {
        return -1;
    }
    while ((r = store_step(s, st, "list due CT certificates")) == 1) {
        if (store_ct_row(s, st, &c) != 0) {
            store_done(st);
            return -1;
        }
        s->iterating[S_CT_DUE / 64] |= (uint64_t)1 << (S_CT_DUE % 64);
        stop = fn(arg, &c);
        s->iterating[S_CT_DUE / 64] &= ~((uint64_t)1 << (S_CT_DUE % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* The state of (link_id, rule) into state (cap bytes): 0, -1; "" when
 * absent. */
static int
store_ct_state(struct store *s, const char *link_id, const char *rule,
               char *state, size_t cap)
{
    sqlite3_stmt *st = store_stmt(s, S_CT_GET);
    int r;

    state[0] = '\0';
    if (st == NULL || store_bind_str(s, st, 1, link_id) != 0 ||
        store_bind_str(s, st, 2, rule) != 0) {
        return -1;
    }
    r = store_step(s, st, "read CT certificate");
    if (r == 1 && store_col_copy(s, st, 10, state, cap) != 0) {
        r = -1;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int
store_ct_cert_fire(struct store *s, const char *link_id, const char *rule,
                   int64_t log_id, const struct store_alert *alert, int *fired)
{
    sqlite3_stmt *st;
    char state[16];
    int inserted = 0;

    *fired = 0;
    if (store_check_str(s, "CT certificate link_id", link_id, STORE_NAME_MAX) !=
            0 ||
        store_check_str(s, "CT certificate rule", rule, STORE_NAME_MAX) != 0 ||
        alert == NULL || store_check_alert(s, alert) != 0) {
        if (alert == NULL) {
            store_err(s, "no alert");
        }
        return -1;
    }
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    st = store_stmt(s, S_CT_FIRE);
    if (st == NULL || store_bind_str(s, st, 1, link_id) != 0 ||
        store_bind_str(s, st, 2, rule) != 0 ||
        store_bind_i64(s, st, 3, alert->detected_at) != 0 ||
        store_exec_stmt(s, st, "fire CT certificate") != 0) {
        goto fail;
    }
    if (sqlite3_changes(s->db) == 1) {
        if (store_ct_state(s, link_id, rule, state, sizeof(state)) != 0) {
            goto fail;
        }
        if (strcmp(state, "unlogged") == 0) {
            if ((log_id != 0 && store_log_exists(s, log_id) != 1) ||
                store_alert_insert(s, log_id, alert, &inserted) != 0) {
                goto fail;
            }
            *fired = 1;
        }
    }
    if (store_txn_commit(s) != 0) {
        *fired = 0;
        return -1;
    }
    return 0;
fail:
    *fired = 0;
    store_txn_rollback(s);
    return -1;
}

int
store_ct_cert_get(struct store *s, const char *link_id, const char *rule,
                  int *found, struct store_ct_cert *out, char *buf, size_t cap)
{
    sqlite3_stmt *st = store_stmt(s, S_CT_GET);
    struct store_ct_cert c;
    const char **str[] = {&out->link_id,     &out->rule,    &out->leaf_hash,
                          &out->entry_type,  &out->verdict, &out->state,
                          &out->cert_sha256, &out->alert};
    size_t i, used = 0;
    int r;

    *found = 0;
    if (st == NULL || store_bind_str(s, st, 1, link_id) != 0 ||
        store_bind_str(s, st, 2, rule) != 0) {
        return -1;
    }
    r = store_step(s, st, "read CT certificate");
    if (r == 1) {
        if (store_ct_row(s, st, &c) != 0) {
            store_done(st);
            return -1;
        }
        *out = c;
        for (i = 0; i < sizeof(str) / sizeof(str[0]); i++) {
            size_t n = strlen(*str[i]) + 1;
            if (cap - used < n) {
                store_done(st);
                store_err(s, "CT certificate: buffer too small");
                return -1;
            }
            memcpy(buf + used, *str[i], n);
            *str[i] = buf + used;
            used += n;
        }
        *found = 1;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* ---- outbox ------------------------------------------------------------ */

static int
store_status_parse(struct store *s, const char *v,
                   enum store_delivery_status *out)
{
    if (v != NULL && strcmp(v, "pending") == 0) {
        *out = STORE_DELIVERY_PENDING;
    } else if (v != NULL && strcmp(v, "sent") == 0) {
        *out = STORE_DELIVERY_SENT;
    } else if (v != NULL && strcmp(v, "failed") == 0) {
        *out = STORE_DELIVERY_FAILED;
    } else {
        store_err(s, "corrupt state: delivery status");
        return -1;
    }
    return 0;
}

int
store_deliveries_due(struct store *s, int64_t now, size_t limit,
                     store_delivery_fn fn, void *arg)
{
    struct store_delivery d;
    sqlite3_stmt *st;
    int r, stop;

    st = store_stmt(s, S_DUE);
    if (store_bind_i64(s, st, 1, now) != 0 ||
        store_bind_i64(s, st, 2, store_limit(limit)) != 0) {
        return -1;
    }
    while ((r = store_step(s, st, "due deliveries")) == 1) {
        memset(&d, 0, sizeof(d));
        if ((d.alert_id = store_col_req(s, st, 0)) == NULL ||
            (d.sink = store_col_req(s, st, 1)) == NULL ||
            (d.body = store_col_req(s, st, 2)) == NULL ||
            store_col_severity(s, st, 3, &d.severity) != 0 ||
            store_status_parse(s, store_col_str(st, 4), &d.status) != 0 ||
            store_col_u64(s, st, 5, &d.attempts) != 0) {
            store_done(st);
            return -1;
        }
        d.next_attempt_at = store_col_i64(st, 6);
        d.last_error = store_col_str(st, 7);
        s->iterating[S_DUE / 64] |= (uint64_t)1 << (S_DUE % 64);
        stop = fn(arg, &d);
        s->iterating[S_DUE / 64] &= ~((uint64_t)1 << (S_DUE % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* Run a delivery UPDATE; exactly one pending row must change. */
static int
store_delivery_update(struct store *s, sqlite3_stmt *st, const char *alert_id,
                      const char *sink)
{
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    if (store_exec_stmt(s, st, "update delivery") != 0) {
        goto fail;
    }
    if (sqlite3_changes(s->db) != 1) {
        store_err(s, "no pending delivery of alert %s to %s", alert_id, sink);
        goto fail;
    }
    return store_txn_commit(s);
fail:
    store_txn_rollback(s);
    return -1;
}

int
store_delivery_sent(struct store *s, const char *alert_id, const char *sink,
                    int64_t now)
{
    sqlite3_stmt *st;

    if (store_check_str(s, "alert id", alert_id, STORE_NAME_MAX) != 0 ||
        store_check_str(s, "sink name", sink, STORE_NAME_MAX) != 0) {
        return -1;
    }
    st = store_stmt(s, S_DELIVERY_SENT);
    if (store_bind_str(s, st, 1, alert_id) != 0 ||
        store_bind_str(s, st, 2, sink) != 0 ||
        store_bind_i64(s, st, 3, now) != 0) {
        return -1;
    }
    return store_delivery_update(s, st, alert_id, sink);
}

int
store_delivery_failed(struct store *s, const char *alert_id, const char *sink,
                      int64_t now, int64_t retry_at, const char *error)
{
    sqlite3_stmt *st;

    if (store_check_str(s, "alert id", alert_id, STORE_NAME_MAX) != 0 ||
        store_check_str(s, "sink name", sink, STORE_NAME_MAX) != 0) {
        return -1;
    }
    if (retry_at < 0) {
        store_err(s, "retry time is negative");
        return -1;
    }
    st = store_stmt(s, S_DELIVERY_FAILED);
    if (store_bind_str(s, st, 1, alert_id) != 0 ||
        store_bind_str(s, st, 2, sink) != 0 ||
        store_bind_i64(s, st, 3, now) != 0 ||
        store_bind_i64(s, st, 4, retry_at) != 0 ||
        store_bind_text(s, st, 5, error,
                        error ? store_truncate(error, STORE_ERROR_MAX) : 0) !=
            0) {
        return -1;
    }
    return store_delivery_update(s, st, alert_id, sink);
}

int
store_sinks_each(struct store *s, size_t limit, store_sink_fn fn, void *arg)
{
    sqlite3_stmt *st = store_stmt(s, S_SINKS);
    uint64_t pending, failed;
    int r, stop;

    if (store_bind_i64(s, st, 1, store_limit(limit)) != 0) {
        return -1;
    }
    while ((r = store_step(s, st, "list sinks")) == 1) {
        const char *sink = store_col_req(s, st, 0);

        if (sink == NULL || store_col_u64(s, st, 1, &pending) != 0 ||
            store_col_u64(s, st, 2, &failed) != 0) {
            store_done(st);
            return -1;
        }
        s->iterating[S_SINKS / 64] |= (uint64_t)1 << (S_SINKS % 64);
        stop = fn(arg, sink, pending, failed, store_col_str(st, 3));
        s->iterating[S_SINKS / 64] &= ~((uint64_t)1 << (S_SINKS % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* ---- counts ------------------------------------------------------------ */

static int
store_count1(struct store *s, enum store_stmt id, int64_t since, int64_t until,
             uint64_t *out)
{
    sqlite3_stmt *st = store_stmt(s, id);
    int r;

    if (store_bind_i64(s, st, 1, since) != 0 ||
        store_bind_i64(s, st, 2, until) != 0) {
        return -1;
    }
    r = store_step(s, st, "count");
    if (r <= 0) {
        if (r == 0) {
            store_err(s, "count: no row");
        }
        return -1;
    }
    r = store_col_u64(s, st, 0, out);
    store_done(st);
    return r;
}

int
store_counts(struct store *s, int64_t since, int64_t until,
             struct store_counts *out)
{
    enum notify_severity sev;
    sqlite3_stmt *st;
    uint64_t n;
    int r;

    memset(out, 0, sizeof(*out));
    st = store_stmt(s, S_COUNT_ALERTS);
    if (store_bind_i64(s, st, 1, since) != 0 ||
        store_bind_i64(s, st, 2, until) != 0) {
        return -1;
    }
    while ((r = store_step(s, st, "count alerts")) == 1) {
        if (store_col_severity(s, st, 0, &sev) != 0 ||
            store_col_u64(s, st, 1, &n) != 0) {
            store_done(st);
            return -1;
        }
        out->alerts[sev] = n;
    }
    if (r < 0) {
        return -1;
    }
    if (store_count1(s, S_COUNT_SIGNINGS, since, until, &out->signings) != 0 ||
        store_count1(s, S_COUNT_CPS, since, until, &out->checkpoints) != 0) {
        return -1;
    }
    st = store_stmt(s, S_COUNT_DELIVERIES);
    r = store_step(s, st, "count deliveries");
    if (r == 1) {
        uint64_t all, pending, failed;

        if (store_col_u64(s, st, 0, &all) != 0 ||
            store_col_u64(s, st, 1, &pending) != 0 ||
            store_col_u64(s, st, 2, &failed) != 0) {
            store_done(st);
            return -1;
        }
        if (pending + failed > all) {
            store_err(s, "corrupt state: delivery counts");
            store_done(st);
            return -1;
        }
        out->deliveries[STORE_DELIVERY_PENDING] = pending;
        out->deliveries[STORE_DELIVERY_FAILED] = failed;
        out->deliveries[STORE_DELIVERY_SENT] = all - pending - failed;
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

/* Rows of (text, text-or-severity, count) to fn. */
static int
store_counts_each(struct store *s, enum store_stmt id, int64_t since,
                  int64_t until, int second_is_severity, store_count_fn fn,
                  void *arg)
{
    enum notify_severity sev;
    const char *k1, *k2;
    sqlite3_stmt *st = store_stmt(s, id);
    uint64_t n;
    int r, stop;

    if (st != NULL && sqlite3_bind_parameter_count(st) > 0 &&
        (store_bind_i64(s, st, 1, since) != 0 ||
         store_bind_i64(s, st, 2, until) != 0)) {
        return -1;
    }
    while ((r = store_step(s, st, "counts")) == 1) {
        k1 = store_col_req(s, st, 0);
        if (second_is_severity) {
            k2 = store_col_severity(s, st, 1, &sev) == 0
                     ? notify_severity_name(sev)
                     : NULL;
        } else {
            k2 = store_col_req(s, st, 1);
        }
        if (k1 == NULL || k2 == NULL || store_col_u64(s, st, 2, &n) != 0) {
            store_done(st);
            return -1;
        }
        s->iterating[id / 64] |= (uint64_t)1 << (id % 64);
        stop = fn(arg, k1, k2, n);
        s->iterating[id / 64] &= ~((uint64_t)1 << (id % 64));
        if (stop != 0) {
            break;
        }
    }
    store_done(st);
    return r < 0 ? -1 : 0;
}

int
store_alert_counts_each(struct store *s, int64_t since, int64_t until,
                        store_count_fn fn, void *arg)
{
    /* All of them: the (type, severity) index in order, no sort. */
    return store_counts_each(s,
                             since == INT64_MIN && until == INT64_MAX
                                 ? S_ALERT_TYPE_COUNTS_ALL
                                 : S_ALERT_TYPE_COUNTS,
                             since, until, 1, fn, arg);
}

int
store_signing_counts_each(struct store *s, int64_t since, int64_t until,
                          store_count_fn fn, void *arg)
{
    return store_counts_each(s, S_SIGNING_COUNTS, since, until, 0, fn, arg);
}

/* ---- reports and meta -------------------------------------------------- */

int
store_report_record(struct store *s, int64_t now, int64_t since, int64_t until,
                    const char *format, const char *path)
{
    sqlite3_stmt *st;

    if (store_check_str(s, "report format", format, STORE_NAME_MAX) != 0 ||
        store_check_opt(s, "report path", path, STORE_FIELD_MAX) != 0) {
        return -1;
    }
    if (until < since) {
        store_err(s, "report range ends before it starts");
        return -1;
    }
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    st = store_stmt(s, S_REPORT_INSERT);
    if (store_bind_i64(s, st, 1, now) != 0 ||
        store_bind_i64(s, st, 2, since) != 0 ||
        store_bind_i64(s, st, 3, until) != 0 ||
        store_bind_str(s, st, 4, format) != 0 ||
        store_bind_str(s, st, 5, path) != 0 ||
        store_exec_stmt(s, st, "record report") != 0) {
        store_txn_rollback(s);
        return -1;
    }
    return store_txn_commit(s);
}

int
store_report_last(struct store *s, int *found, int64_t *until)
{
    sqlite3_stmt *st = store_stmt(s, S_REPORT_LAST);
    int r;

    *found = 0;
    *until = 0;
    r = store_step(s, st, "last report");
    if (r <= 0) {
        return r;
    }
    *found = 1;
    *until = store_col_i64(st, 0);
    store_done(st);
    return 0;
}

int
store_meta_set(struct store *s, const char *key, const char *value)
{
    sqlite3_stmt *st;

    if (store_check_str(s, "meta key", key, STORE_NAME_MAX) != 0) {
        return -1;
    }
    if (value == NULL || strlen(value) > STORE_META_MAX) {
        store_err(s, "meta value for %s is missing or longer than %d bytes",
                  key, STORE_META_MAX);
        return -1;
    }
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    st = store_stmt(s, S_META_SET);
    if (store_bind_str(s, st, 1, key) != 0 ||
        store_bind_str(s, st, 2, value) != 0 ||
        store_exec_stmt(s, st, "set meta") != 0) {
        store_txn_rollback(s);
        return -1;
    }
    return store_txn_commit(s);
}

int
store_meta_get(struct store *s, const char *key, char **value)
{
    sqlite3_stmt *st;
    const char *v;
    size_t n;
    int r;

    *value = NULL;
    if (store_check_str(s, "meta key", key, STORE_NAME_MAX) != 0) {
        return -1;
    }
    st = store_stmt(s, S_META_GET);
    if (store_bind_str(s, st, 1, key) != 0) {
        return -1;
    }
    r = store_step(s, st, "get meta");
    if (r <= 0) {
        return r;
    }
    v = store_col_str(st, 0);
    n = (size_t)sqlite3_column_bytes(st, 0);
    if (v == NULL || n > STORE_META_MAX) {
        store_err(s, "corrupt state: meta value of %s", key);
        store_done(st);
        return -1;
    }
    *value = malloc(n + 1);
    if (*value == NULL) {
        store_err(s, "out of memory");
        store_done(st);
        return -1;
    }
    memcpy(*value, v, n);
    (*value)[n] = '\0';
    store_done(st);
    return 0;
}

int
store_meta_set_int(struct store *s, const char *key, int64_t value)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRId64, value);
    return store_meta_set(s, key, buf);
}

int
store_meta_get_int(struct store *s, const char *key, int *found, int64_t *value)
{
    char *v = NULL, *end = NULL;
    long long n;

    *found = 0;
    *value = 0;
    if (store_meta_get(s, key, &v) != 0) {
        return -1;
    }
    if (v == NULL) {
        return 0;
    }
    errno = 0;
    n = strtoll(v, &end, 10);
    if (v[0] == '\0' || *end != '\0' || errno != 0) {
        store_err(s, "meta value of %s is not an integer", key);
        free(v);
        return -1;
    }
    free(v);
    *found = 1;
    *value = (int64_t)n;
    return 0;
}

/* ---- retention ------------------------------------------------------ */

/* now - keep, or INT64_MIN (nothing is older) when keep is 0. */
static int
store_cutoff(struct store *s, const char *what, int64_t keep, int64_t now,
             int64_t *cutoff)
{
    if (keep < 0) {
        store_err(s, "retention of %s is negative", what);
        return -1;
    }
    if (keep == 0) {
        *cutoff = INT64_MIN;
        return 0;
    }
    if (now < INT64_MIN + keep) {
        store_err(s, "retention of %s is out of range", what);
        return -1;
    }
    *cutoff = now - keep;
    return 0;
}

/*
 * One batch: in one transaction, run the statements ids[0..n) with the
 * cutoff and the batch size bound; *changed[i] += the rows each deleted.
 * *full = 1 when the last statement deleted a full batch (there may be
 * more to prune); *any = 1 when anything was deleted.
 */
static int
store_prune_batch(struct store *s, const enum store_stmt *ids, size_t n,
                  int64_t cutoff, size_t batch, uint64_t *const *changed,
                  int *full, int *any)
{
    uint64_t got[2] = {0, 0};
    size_t i;

    *full = 0;
    *any = 0;
    if (store_txn_begin(s) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        sqlite3_stmt *st = store_stmt(s, ids[i]);

        if (store_bind_i64(s, st, 1, cutoff) != 0 ||
            store_bind_i64(s, st, 2, (int64_t)batch) != 0 ||
            store_exec_stmt(s, st, "prune") != 0) {
            store_txn_rollback(s);
            return -1;
        }
        got[i] = (uint64_t)sqlite3_changes64(s->db);
    }
    if (store_txn_commit(s) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        *changed[i] += got[i];
        *any |= got[i] > 0;
    }
    *full = got[n - 1] >= batch;
    return 0;
}

/* Where store_prune stands: its limits and what it did. */
struct store_pruning {
    size_t batch;
    size_t max_batches; /* 0: no limit */
    size_t done;        /* batches that deleted rows */
    struct store_prune_stats st;
};

/*
 * Batches of one kind until a batch is not full, or until max_batches
 * batches deleted rows (then st.more = 1: this kind or a later one may
 * have more).
 */
static int
store_prune_kind(struct store *s, struct store_pruning *p,
                 const enum store_stmt *ids, size_t n, int64_t cutoff,
                 uint64_t *const *changed)
{
    int full = 1, any;

    if (cutoff == INT64_MIN) {
        return 0;
    }
    while (full) {
        if (p->max_batches != 0 && p->done >= p->max_batches) {
            p->st.more = 1;
            return 0;
        }
        if (store_prune_batch(s, ids, n, cutoff, p->batch, changed, &full,
                              &any) != 0) {
            return -1;
        }
        p->st.transactions++;
        p->done += any ? 1 : 0;
    }
    return 0;
}

int
store_prune(struct store *s, const struct store_retention *r, int64_t now,
            struct store_prune_stats *out)
{
    static const enum store_stmt cps[] = {S_PRUNE_CPS};
    static const enum store_stmt alerts[] = {S_PRUNE_DELIVERIES,
                                             S_PRUNE_ALERTS};
    static const enum store_stmt signings[] = {S_PRUNE_SIGNINGS};
    static const enum store_stmt ct[] = {S_PRUNE_CT};
    struct store_pruning p;
    int64_t c_cp, c_alert, c_sign;
    int rc = -1;

    memset(&p, 0, sizeof(p));
    if (r == NULL) {
        store_err(s, "no retention given");
        goto out;
    }
    p.batch = r->batch == 0 ? STORE_PRUNE_BATCH : r->batch;
    p.max_batches = r->max_batches;
    if (p.batch > STORE_PRUNE_BATCH) {
        store_err(s, "prune batch of %zu rows is above %d", p.batch,
                  STORE_PRUNE_BATCH);
        goto out;
    }
    if (store_cutoff(s, "checkpoints", r->checkpoints, now, &c_cp) != 0 ||
        store_cutoff(s, "alerts", r->alerts, now, &c_alert) != 0 ||
        store_cutoff(s, "signings", r->signings, now, &c_sign) != 0) {
        goto out;
    }
    if (s->in_txn || s->iterating[0] != 0 || s->iterating[1] != 0) {
        store_err(s, "store_prune cannot run inside another store call");
        goto out;
    }
    {
        uint64_t *const cp_out[] = {&p.st.checkpoints};
        uint64_t *const alert_out[] = {&p.st.deliveries, &p.st.alerts};
        uint64_t *const sign_out[] = {&p.st.signings};
        uint64_t *const ct_out[] = {&p.st.ct_certs};

        if (store_prune_kind(s, &p, cps, 1, c_cp, cp_out) != 0 ||
            store_prune_kind(s, &p, alerts, 2, c_alert, alert_out) != 0 ||
            store_prune_kind(s, &p, signings, 1, c_sign, sign_out) != 0 ||
            store_prune_kind(s, &p, ct, 1, c_sign, ct_out) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    if (out != NULL) {
        *out = p.st;
    }
    return rc;
}
