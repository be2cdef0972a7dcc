//! Copying SQLite's write-ahead log back into the database off the writer's path.
//!
//! In WAL mode every commit appends whole pages to the log; a checkpoint copies them into the
//! database file and fsyncs it. Left to the writer alone (SQLite's auto-checkpoint), that copy
//! and fsync stall the next commit: a million-person sync spent about a third of its time
//! there. Here a connection of its own runs passive checkpoints in the background, which never
//! block the writer. The writer keeps its auto-checkpoint at [`WRITER_CHECKPOINT_FRAMES`]: by
//! the time it runs, the background has copied most of the log, so it is short, and as it runs
//! between two of the writer's transactions it completes and lets the next write start the log
//! over. The log stays bounded under a constant stream of writes; a restarting checkpoint from
//! this side would instead race the writer's read-to-write upgrade and fail it as busy.

use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use tokio_util::task::AbortOnDropHandle;

/// How often the log is looked at.
const INTERVAL: Duration = Duration::from_millis(200);
/// The writer's own auto-checkpoint, in pages (256 MiB of 4 KiB pages): it bounds the log.
pub(crate) const WRITER_CHECKPOINT_FRAMES: &str = "65536";

/// The background checkpointer of one SQLite file. Clones share it; it stops when the last
/// clone is dropped or [`Checkpointer::close`] is called.
#[derive(Debug, Clone)]
pub struct Checkpointer {
    pool: SqlitePool,
    task: Arc<AbortOnDropHandle<()>>,
}

impl Checkpointer {
    /// Open a connection of its own to the database of `options` and start checkpointing.
    pub(crate) async fn start(options: SqliteConnectOptions) -> Result<Self, sqlx::Error> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        let task = tokio::spawn(run(pool.clone()));
        Ok(Self {
            pool,
            task: Arc::new(AbortOnDropHandle::new(task)),
        })
    }

    /// Stop checkpointing and close the connection.
    pub(crate) async fn close(&self) {
        self.task.abort();
        self.pool.close().await;
    }
}

async fn run(pool: SqlitePool) {
    loop {
        tokio::time::sleep(INTERVAL).await;
        let passive: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await;
        match passive {
            Ok(_) => {}
            Err(sqlx::Error::PoolClosed) => return,
            // A full disk, say: the writer's own checkpoints still bound the log.
            Err(e) => tracing::debug!(error = %e, "SQLite background checkpoint did not run"),
        }
    }
}
