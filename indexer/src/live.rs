//! The serving index behind one swappable pointer, its generations on disk, and the
//! rebuild-and-swap (`reindex`) that never takes search down.
//!
//! On disk, `DATA_DIR/index` is a symbolic link to the live generation under
//! `DATA_DIR/indexes/`. A reindex builds a new generation next to the live one while the live
//! indexer keeps following the change log; when the rebuild has caught up, the live sync loop
//! is stopped between two batches, the rebuild applies the last changes, the pointer is
//! swapped (in memory and on disk, each atomically) and the sync loop continues on the new
//! engine. Searches read whichever engine the pointer holds when they start, so every search
//! sees a complete index.
//!
//! Engines are always opened by their resolved generation path, never through the link, so a
//! replaced engine can never write into its successor's directory.

use crate::{Error, Indexer, Result, Status};
use search_core::{Engine, EngineConfig};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};

const LINK: &str = "index";
const GENERATIONS: &str = "indexes";

/// The index generations under a data directory.
#[derive(Debug, Clone)]
pub struct IndexDirs {
    data_dir: PathBuf,
}

impl IndexDirs {
    pub fn new(data_dir: impl Into<PathBuf>) -> IndexDirs {
        IndexDirs {
            data_dir: data_dir.into(),
        }
    }

    fn link(&self) -> PathBuf {
        self.data_dir.join(LINK)
    }

    /// The live generation's directory. A data directory from before generations (a plain
    /// `index/` directory) is moved into `indexes/` once; a missing or dangling link gets a
    /// fresh, empty generation.
    pub fn live(&self) -> io::Result<PathBuf> {
        std::fs::create_dir_all(self.data_dir.join(GENERATIONS))?;
        let link = self.link();
        match std::fs::symlink_metadata(&link) {
            Ok(meta) if meta.file_type().is_symlink() => match std::fs::canonicalize(&link) {
                Ok(target) => Ok(target),
                Err(e) if e.kind() == io::ErrorKind::NotFound => self.fresh_live(),
                Err(e) => Err(e),
            },
            Ok(meta) if meta.is_dir() => {
                let generation = self.generation_path();
                std::fs::rename(&link, &generation)?;
                self.publish(&generation)?;
                tracing::info!(dir = %generation.display(), "moved the index into its first generation");
                Ok(generation)
            }
            Ok(_) => Err(io::Error::other(format!(
                "{} is neither a directory nor a link",
                link.display()
            ))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.fresh_live(),
            Err(e) => Err(e),
        }
    }

    fn fresh_live(&self) -> io::Result<PathBuf> {
        let generation = self.new_generation()?;
        self.publish(&generation)?;
        Ok(generation)
    }

    fn generation_path(&self) -> PathBuf {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.data_dir
            .join(GENERATIONS)
            .join(format!("g{millis}-{}-{n}", std::process::id()))
    }

    /// A new, empty generation directory (not yet live).
    pub fn new_generation(&self) -> io::Result<PathBuf> {
        let dir = self.generation_path();
        std::fs::create_dir_all(&dir)?;
        std::fs::canonicalize(dir)
    }

    /// Makes `generation` the live one: a new link renamed over the old one (atomic), then the
    /// directory entry is synced so the switch survives a crash.
    pub fn publish(&self, generation: &Path) -> io::Result<()> {
        let name = generation
            .file_name()
            .ok_or_else(|| io::Error::other("generation path has no name"))?;
        let tmp = self
            .data_dir
            .join(format!("{LINK}.link-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(Path::new(GENERATIONS).join(name), &tmp)?;
        std::fs::rename(&tmp, self.link())?;
        std::fs::File::open(&self.data_dir)?.sync_all()
    }

    /// Removes every generation except `keep` (the live one and, usually, the one it just
    /// replaced, which in-flight readers may still map). Failures are logged, not fatal.
    pub fn remove_stale(&self, keep: &[&Path]) {
        let Ok(entries) = std::fs::read_dir(self.data_dir.join(GENERATIONS)) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let canonical = std::fs::canonicalize(&path).unwrap_or(path.clone());
            if keep.iter().any(|k| *k == canonical) {
                continue;
            }
            if let Err(e) = std::fs::remove_dir_all(&path) {
                tracing::warn!(dir = %path.display(), error = %e, "cannot remove an old index generation");
            }
        }
    }
}

/// What a finished reindex reports.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReindexReport {
    pub documents: u64,
    pub applied_seq: i64,
    pub seconds: f64,
    pub generation: String,
}

/// The state of the last reindex, for the status endpoint.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReindexState {
    #[default]
    Idle,
    Running {
        started_unix: u64,
    },
    Done(ReindexReport),
    Failed {
        error: String,
    },
}

struct SwapRequest {
    indexer: Arc<Indexer>,
    generation: PathBuf,
    done: oneshot::Sender<Result<()>>,
}

/// The live engine and its indexer, swappable as one.
pub struct Live {
    current: RwLock<(Arc<Indexer>, PathBuf)>,
    dirs: IndexDirs,
    swap_tx: mpsc::Sender<SwapRequest>,
    swap_rx: Mutex<Option<mpsc::Receiver<SwapRequest>>>,
    rebuilding: Arc<tokio::sync::Mutex<()>>,
    state: Mutex<ReindexState>,
}

impl Live {
    /// Wraps the indexer of the live generation `generation` (as returned by
    /// [`IndexDirs::live`]).
    pub fn new(indexer: Arc<Indexer>, dirs: IndexDirs, generation: PathBuf) -> Arc<Live> {
        let (swap_tx, swap_rx) = mpsc::channel(1);
        Arc::new(Live {
            current: RwLock::new((indexer, generation)),
            dirs,
            swap_tx,
            swap_rx: Mutex::new(Some(swap_rx)),
            rebuilding: Arc::new(tokio::sync::Mutex::new(())),
            state: Mutex::new(ReindexState::Idle),
        })
    }

    pub fn indexer(&self) -> Arc<Indexer> {
        self.current
            .read()
            .expect("live pointer poisoned")
            .0
            .clone()
    }

    pub fn engine(&self) -> Arc<Engine> {
        self.indexer().engine().clone()
    }

    pub fn status(&self) -> Arc<Status> {
        self.indexer().status.clone()
    }

    pub fn generation(&self) -> PathBuf {
        self.current
            .read()
            .expect("live pointer poisoned")
            .1
            .clone()
    }

    pub fn reindex_state(&self) -> ReindexState {
        self.state.lock().expect("reindex state poisoned").clone()
    }

    fn set_state(&self, s: ReindexState) {
        *self.state.lock().expect("reindex state poisoned") = s;
    }

    /// Runs the live indexer's sync loop until `shutdown`, handing over to rebuilt indexes as
    /// reindexes finish. Call once.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let Some(mut swaps) = self.swap_rx.lock().expect("swap channel poisoned").take() else {
            tracing::error!("Live::run called twice");
            return;
        };
        loop {
            let indexer = self.indexer();
            let (stop_tx, stop_rx) = watch::channel(false);
            let task = tokio::spawn(indexer.clone().run(stop_rx));
            tokio::select! {
                _ = shutdown.changed() => {
                    let _ = stop_tx.send(true);
                    let _ = task.await;
                    return;
                }
                Some(req) = swaps.recv() => {
                    // Stop the live loop between two batches; from here until the swap nobody
                    // writes the live engine, and the rebuild applies what is left.
                    let _ = stop_tx.send(true);
                    let _ = task.await;
                    let outcome = req.indexer.catch_up().await;
                    if outcome.is_ok() {
                        req.indexer.activate();
                        let old = {
                            let mut cur = self.current.write().expect("live pointer poisoned");
                            std::mem::replace(&mut *cur, (req.indexer.clone(), req.generation.clone()))
                        };
                        let published = self.dirs.publish(&req.generation);
                        if let Err(e) = &published {
                            tracing::error!(error = %e, "the rebuilt index serves, but the link was not updated; the next start opens the previous generation");
                        }
                        self.dirs.remove_stale(&[&req.generation, &old.1]);
                        let _ = req.done.send(published.map_err(Error::from));
                    } else {
                        let _ = req.done.send(outcome);
                    }
                }
            }
        }
    }

    /// Rebuilds the whole index from Postgres into a new generation while search keeps serving
    /// the live one, then swaps it in (requires [`Live::run`] to be running).
    pub async fn reindex(&self) -> Result<ReindexReport> {
        let guard = self
            .rebuilding
            .clone()
            .try_lock_owned()
            .map_err(|_| Error::ReindexRunning)?;
        self.reindex_locked(guard).await
    }

    /// Starts [`Live::reindex`] on a task; fails at once if one is already running.
    pub fn spawn_reindex(
        self: &Arc<Self>,
    ) -> Result<tokio::task::JoinHandle<Result<ReindexReport>>> {
        let guard = self
            .rebuilding
            .clone()
            .try_lock_owned()
            .map_err(|_| Error::ReindexRunning)?;
        self.set_state(ReindexState::Running {
            started_unix: unix_now(),
        });
        let live = self.clone();
        Ok(tokio::spawn(
            async move { live.reindex_locked(guard).await },
        ))
    }

    async fn reindex_locked(
        &self,
        _guard: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<ReindexReport> {
        self.set_state(ReindexState::Running {
            started_unix: unix_now(),
        });
        let outcome = self.rebuild_and_swap().await;
        self.set_state(match &outcome {
            Ok(report) => ReindexState::Done(report.clone()),
            Err(e) => ReindexState::Failed {
                error: e.to_string(),
            },
        });
        outcome
    }

    async fn rebuild_and_swap(&self) -> Result<ReindexReport> {
        let started = Instant::now();
        let live = self.indexer();
        let (indexer, generation) = build_generation(
            &self.dirs,
            EngineConfig {
                synonyms: live.engine().synonyms(),
                ..live.engine().config().clone()
            },
            |engine| live.sibling(engine),
            live.engine().query_embedder(),
        )
        .await?;
        let (done_tx, done_rx) = oneshot::channel();
        self.swap_tx
            .send(SwapRequest {
                indexer: indexer.clone(),
                generation: generation.clone(),
                done: done_tx,
            })
            .await
            .map_err(|_| Error::NotServing)?;
        done_rx.await.map_err(|_| Error::NotServing)??;
        let stats = indexer.engine().stats();
        tracing::info!(documents = stats.documents, dir = %generation.display(), "reindex swapped in");
        Ok(ReindexReport {
            documents: stats.documents,
            applied_seq: stats.applied_seq,
            seconds: started.elapsed().as_secs_f64(),
            generation: generation.display().to_string(),
        })
    }
}

/// Opens an empty generation, loads the catalog into it and catches up with the change log.
/// The returned indexer is passive (records no replica position) until activated.
pub async fn build_generation(
    dirs: &IndexDirs,
    config: EngineConfig,
    make_indexer: impl FnOnce(Arc<Engine>) -> Indexer,
    query_embedder: Option<Arc<search_core::CachedEmbedder>>,
) -> Result<(Arc<Indexer>, PathBuf)> {
    let generation = dirs.new_generation()?;
    let dir = generation.clone();
    let engine = tokio::task::spawn_blocking(move || Engine::open(&dir, config))
        .await
        .map_err(|e| Error::Task(e.to_string()))??
        .0;
    engine.set_embedder(query_embedder);
    let indexer = Arc::new(make_indexer(Arc::new(engine)));
    let loaded = async {
        indexer.full_load().await?;
        indexer.catch_up().await?;
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = loaded {
        drop(indexer);
        let _ = std::fs::remove_dir_all(&generation);
        return Err(e);
    }
    indexer
        .status
        .ready
        .store(true, std::sync::atomic::Ordering::Relaxed);
    Ok((indexer, generation))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
