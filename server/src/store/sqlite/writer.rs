//! The SQLite store's one writer: a thread that owns the write connection
//! and commits whatever writes are waiting together (group commit).
//!
//! # Why a thread, and why batches
//!
//! SQLite has one writer at a time, and the cost of a small write is
//! mostly the commit: appending the changed pages to the write-ahead log
//! and publishing them in its index. Writes queued while a commit runs
//! share the next one: the thread takes every waiting write (up to
//! [`MAX_BATCH`]), runs each inside its own `SAVEPOINT` of one
//! `BEGIN IMMEDIATE` transaction, commits once, and only then answers
//! each caller. A lone write is committed at once: nothing waits for a
//! batch to fill.
//!
//! Each write is atomic on its own: one that fails is rolled back to its
//! savepoint and answered with its error, and the others in the batch
//! still commit. A write that panics is rolled back the same way and
//! answered with an internal error; the thread carries on. No caller is
//! told its write succeeded before the commit that holds it did: if the
//! commit fails, every write of the batch gets the commit's error.
//!
//! Callers await the answer instead of blocking on a lock, so a request
//! task waiting for the writer does not hold a runtime worker thread.
//!
//! # Durability
//!
//! The writer's connection runs with `synchronous = FULL`: a batch's commit
//! is synced to disk before any of its writes is answered, so an answered
//! write (a revocation, say) survives a power cut, not only a crash of the
//! process. With group commit that is one sync per batch, not per write:
//! in the benchmark, creates and interactions ran within 3–6% of
//! `synchronous = NORMAL`.
//!
//! # Checkpoints, off the request path
//!
//! The writer connection never checkpoints (`wal_autocheckpoint = 0`): a
//! checkpoint copies the log back into the database file and syncs it,
//! which took tens of milliseconds inside whichever commit crossed the
//! threshold. A second thread, with its own connection, runs a `PASSIVE`
//! checkpoint (it never blocks readers or the writer) [`CHECKPOINT_EVERY`]
//! after a commit, covering every commit made meanwhile. The log restarts
//! from its beginning once a checkpoint has copied all of it; when steady
//! writes keep that from happening and the log file passes
//! [`RESTART_LOG_BYTES`], the writer runs the passive checkpoint itself
//! between two batches, when nothing is being appended: it copies the rest
//! (the checkpoints before copied most of it) and the next write starts
//! the log over.
//!
//! That last copy stops the writes for its length (tens of milliseconds
//! at a million sessions), so the threshold sets how many writes wait for
//! it. At 1,000,000 sessions under 32 connections creating sessions, a
//! 16 MiB threshold was crossed every 130 ms and the p99 of a create was
//! 11–16 times its p50; at 256 MiB it is crossed every couple of seconds
//! and the p99 was 3–6 times the p50 (`docs/benchmark.md`). Asking the
//! checkpointer to catch up first, so that the writer's copy was shorter,
//! made it worse: the extra syncs of the database file slowed the
//! commits' syncs of the log more than the shorter copy saved. The log
//! file keeps its size when the log starts over (`journal_size_limit`),
//! instead of being cut back and grown again every cycle: under steady
//! writes it stays at about [`RESTART_LOG_BYTES`] on disk; under light
//! writes the log starts over by itself after each checkpoint and the
//! file stays small.
//!
//! # Metrics
//!
//! Each batch's size and the time from its `BEGIN IMMEDIATE` to the end
//! of its `COMMIT` (what each of its writes waits for once the thread
//! takes it) are recorded, and failed batches counted
//! (`sqlite_writer_*`, see `crate::metrics`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::store::StoreError;

use super::db_error;
use super::identity::FileIdentity;
use super::location::Location;

/// The most writes one transaction holds.
const MAX_BATCH: usize = 256;

/// How long the checkpointer lets commits gather before it checkpoints
/// them.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The size of the log file past which the writer checkpoints it itself.
/// Passive checkpoints copy the log into the database without stopping
/// anyone, but the log can only start over from its beginning when a
/// checkpoint has copied all of it, which writes arriving all the time
/// prevent: without this the log grew by gigabytes under a steady load of
/// writes.
pub(super) const RESTART_LOG_BYTES: u64 = 256 << 20;

/// One write waiting for the thread: run inside a savepoint, then answered
/// once the batch's commit is known.
trait Write: Send {
    /// Runs the write on the connection, inside an open transaction.
    fn run(&mut self, connection: &Connection);
    /// Answers the caller: with the write's own result if it failed, the
    /// commit's error if the commit failed, its result otherwise.
    fn finish(self: Box<Self>, commit: Result<(), &StoreError>);
}

struct PendingWrite<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Write for PendingWrite<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, connection: &Connection) {
        if let Some(work) = self.work.take() {
            self.result = Some(in_savepoint(connection, work));
        }
    }

    fn finish(self: Box<Self>, commit: Result<(), &StoreError>) {
        let answer = match (self.result, commit) {
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(error)) | (None, Err(error)) => Err(error.clone()),
            (None, Ok(())) => Err(StoreError::Internal(
                "a write was committed without being run".into(),
            )),
        };
        // The caller may have gone away (a cancelled request): the write
        // stands either way.
        let _ = self.reply.send(answer);
    }
}

/// Runs `work` inside a savepoint: kept if it succeeds, undone if it fails
/// or panics.
fn in_savepoint<T>(
    connection: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    connection
        .execute_batch("SAVEPOINT write")
        .map_err(db_error)?;
    let result = catch_unwind(AssertUnwindSafe(|| work(connection))).unwrap_or_else(|_| {
        Err(StoreError::Internal(
            "a write failed unexpectedly and was rolled back".into(),
        ))
    });
    let ended = match &result {
        Ok(_) => connection.execute_batch("RELEASE write"),
        Err(_) => connection.execute_batch("ROLLBACK TO write; RELEASE write"),
    };
    match (result, ended) {
        (Ok(value), Ok(())) => Ok(value),
        (Err(error), Ok(())) => Err(error),
        (result, Err(ended)) => {
            // The write's changes could be neither kept apart nor undone:
            // give up the whole transaction rather than commit a part of
            // it. The batch sees the transaction gone and fails every write.
            let _ = connection.execute_batch("ROLLBACK");
            Err(result.err().unwrap_or_else(|| db_error(ended)))
        }
    }
}

/// The handle requests write through. Dropping the last handle stops both
/// threads once the writes already queued are done.
pub(super) struct Writer {
    queue: Sender<Box<dyn Write>>,
}

impl Writer {
    /// Starts the writer thread on `connection` to the database at
    /// `location` and the checkpointer on `checkpoints` (a second
    /// connection to it); the log is made to start over once its file
    /// passes `restart_log_bytes` ([`RESTART_LOG_BYTES`] but in tests).
    /// An in-memory database has no log to checkpoint nor file to check.
    pub(super) fn start(
        mut connection: Connection,
        location: &Location,
        checkpoints: Connection,
        restart_log_bytes: u64,
    ) -> Result<Writer, StoreError> {
        let log = location.file().map(|path| {
            let mut log = path.as_os_str().to_owned();
            log.push("-wal");
            LogFile {
                path: PathBuf::from(log),
                restart_bytes: restart_log_bytes,
            }
        });
        connection
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(db_error)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(db_error)?;
        connection
            .pragma_update(
                None,
                "journal_size_limit",
                i64::try_from(restart_log_bytes).unwrap_or(i64::MAX),
            )
            .map_err(db_error)?;
        let checkpointer = Checkpointer::start(checkpoints)?;
        let identity = location.file().map(FileIdentity::of).transpose()?;
        let (queue, writes) = mpsc::channel();
        thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_batches(&mut connection, &identity, &log, &writes, &checkpointer))
            .map_err(|error| StoreError::Internal(format!("cannot start the writer: {error}")))?;
        Ok(Writer { queue })
    }

    /// Runs `work` as one atomic write, committed (possibly together with
    /// other writes) before this returns.
    pub(super) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let pending = PendingWrite {
            work: Some(work),
            result: None,
            reply,
        };
        self.queue
            .send(Box::new(pending))
            .map_err(|_| StoreError::Unavailable("the database writer has stopped".into()))?;
        answer.await.map_err(|_| {
            StoreError::Internal("the database writer stopped before answering".into())
        })?
    }
}

/// The writer thread: one transaction per batch of waiting writes.
fn write_batches(
    connection: &mut Connection,
    identity: &Option<FileIdentity>,
    log: &Option<LogFile>,
    writes: &Receiver<Box<dyn Write>>,
    checkpointer: &Checkpointer,
) {
    let mut batch: Vec<Box<dyn Write>> = Vec::with_capacity(MAX_BATCH);
    let mut last_checkpoint = Instant::now();
    while let Ok(first) = writes.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match writes.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        // Nothing is acknowledged into a file the path no longer names.
        let started = Instant::now();
        let commit = identity
            .as_ref()
            .map_or(Ok(()), FileIdentity::check)
            .and_then(|()| run_batch(connection, &mut batch));
        if let Some(metrics) = crate::metrics::recording() {
            metrics
                .sqlite_writer
                .batch_completed(batch.len(), started.elapsed(), commit.is_ok());
        }
        if commit.is_ok() {
            checkpointer.note_commit();
        }
        for write in batch.drain(..) {
            write.finish(commit.as_ref().map(|_| ()));
        }
        if log.as_ref().is_some_and(LogFile::needs_restart)
            && last_checkpoint.elapsed() >= CHECKPOINT_EVERY
        {
            // Between two batches no write is appended to the log, so this
            // passive checkpoint can copy all of it (it never waits for
            // readers), and the next write starts the log over. At most
            // one per CHECKPOINT_EVERY: a long read can keep the log from
            // starting over, and checkpointing after every batch meanwhile
            // would only slow the writes.
            checkpoint(connection);
            last_checkpoint = Instant::now();
        }
    }
}

/// Runs every write of the batch in one transaction and commits it.
fn run_batch(connection: &Connection, batch: &mut [Box<dyn Write>]) -> Result<(), StoreError> {
    if !connection.is_autocommit() {
        // A transaction an earlier batch could neither commit nor roll
        // back: undo it now, or no batch could ever begin again.
        connection.execute_batch("ROLLBACK").map_err(db_error)?;
    }
    connection
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(db_error)?;
    for write in batch.iter_mut() {
        write.run(connection);
        if connection.is_autocommit() {
            // SQLite rolled the whole transaction back (a full disk, an
            // I/O error): the writes before this one are gone too.
            return Err(StoreError::Unavailable(
                "the database rolled back a transaction; try again".into(),
            ));
        }
    }
    connection.execute_batch("COMMIT").map_err(|error| {
        // Best effort: if this fails too, the next BEGIN reports it.
        let _ = connection.execute_batch("ROLLBACK");
        db_error(error)
    })
}

/// What the checkpointer thread is told: whether commits happened since
/// its last checkpoint, and whether to stop.
#[derive(Default)]
struct CheckpointState {
    pending: bool,
    stopping: bool,
}

/// Runs `PASSIVE` checkpoints on its own thread and connection.
struct Checkpointer {
    state: Arc<(Mutex<CheckpointState>, Condvar)>,
}

impl Checkpointer {
    fn start(connection: Connection) -> Result<Checkpointer, StoreError> {
        let state = Arc::new((Mutex::new(CheckpointState::default()), Condvar::new()));
        let shared = Arc::clone(&state);
        thread::Builder::new()
            .name("sqlite-checkpointer".into())
            .spawn(move || checkpoint_after_commits(&connection, &shared))
            .map_err(|error| {
                StoreError::Internal(format!("cannot start the checkpointer: {error}"))
            })?;
        Ok(Checkpointer { state })
    }

    /// After a commit: wakes the checkpointer.
    fn note_commit(&self) {
        self.update(|state| state.pending = true);
    }

    fn stop(&self) {
        self.update(|state| state.stopping = true);
    }

    fn update(&self, change: impl FnOnce(&mut CheckpointState)) {
        let (lock, wake) = &*self.state;
        change(&mut lock.lock().unwrap_or_else(PoisonError::into_inner));
        wake.notify_one();
    }
}

impl Drop for Checkpointer {
    /// Stops the checkpointer thread when the writer thread ends (or never
    /// started).
    fn drop(&mut self) {
        self.stop();
    }
}

/// The checkpointer thread: waits for a commit, lets [`CHECKPOINT_EVERY`]
/// of further commits gather, checkpoints them all, and so on.
fn checkpoint_after_commits(connection: &Connection, state: &(Mutex<CheckpointState>, Condvar)) {
    let (lock, wake) = state;
    loop {
        {
            let mut guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
            while !guard.pending && !guard.stopping {
                guard = wake.wait(guard).unwrap_or_else(PoisonError::into_inner);
            }
            if guard.stopping {
                break;
            }
        }
        thread::sleep(CHECKPOINT_EVERY);
        lock.lock().unwrap_or_else(PoisonError::into_inner).pending = false;
        checkpoint(connection);
    }
    // What the last commits wrote, so a clean shutdown leaves a short log.
    checkpoint(connection);
}

/// One `PASSIVE` checkpoint. A failed one (another process keeps the
/// database busy) is retried after the next commit; the log only grows
/// meanwhile.
fn checkpoint(connection: &Connection) {
    let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
}

/// The database's write-ahead log file, and the size past which the
/// writer makes the log start over.
struct LogFile {
    path: PathBuf,
    restart_bytes: u64,
}

impl LogFile {
    /// Whether the file has grown past the threshold. Its size is an upper
    /// bound of the log's length, since the file is cut back to the
    /// threshold when the log starts over.
    fn needs_restart(&self) -> bool {
        std::fs::metadata(&self.path).map_or(0, |m| m.len()) > self.restart_bytes
    }
}
