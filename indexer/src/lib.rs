//! `indexer`: keeps the search core in step with PostgreSQL, the source of truth.
//!
//! Initial load streams the catalog, reusing embeddings cached in Postgres by (model id,
//! content hash). Incremental sync follows the ordered change log the catalog triggers write;
//! `LISTEN` is only a wake-up. The applied position is committed inside the index itself, so a
//! restart resumes exactly where the index is. This crate is the only writer of the engine.
//!
//! Boundary: Postgres and tokio live here; `search-core` stays synchronous and is called from
//! `spawn_blocking`. HTTP is the server's business.

use futures::TryStreamExt;
use search_core::{CatalogDoc, Change, Embedder, Engine, Kind, TextKind};
use sqlx::postgres::{PgListener, PgPool};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod live;
pub use live::{IndexDirs, Live, ReindexReport};

/// Errors of the indexer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Postgres failed or is unreachable (retried by the sync loop).
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The engine rejected a write.
    #[error("search core: {0}")]
    Core(#[from] search_core::Error),
    /// A blocking task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(String),
    /// The index directory could not be prepared or swapped.
    #[error("index directory: {0}")]
    Io(#[from] std::io::Error),
    /// A reindex is already running in this process.
    #[error("a reindex is already running")]
    ReindexRunning,
    /// The serving loop is not running, so a rebuilt index cannot be handed over.
    #[error("the sync loop is not running")]
    NotServing,
}

pub type Result<T> = std::result::Result<T, Error>;

/// Change-log channel the triggers notify.
pub const CHANNEL: &str = "catalog_changes";
/// Documents per load batch.
const LOAD_BATCH: usize = 256;
/// Change-log entries per sync batch.
const SYNC_BATCH: i64 = 2000;
/// How long a gap in the change-log sequence may stay open before it is taken as a rolled-back
/// transaction. Sequence values are taken before commit, so a lower seq can become visible
/// after a higher one.
const GAP_TIMEOUT: Duration = Duration::from_secs(3);

/// What the status endpoint shows.
#[derive(Debug, Default)]
pub struct Status {
    pub ready: AtomicBool,
    pub applied_seq: AtomicI64,
    pub pending_changes: AtomicI64,
    pub documents: AtomicU64,
    pub without_vector: AtomicU64,
    pub last_batch_ms: AtomicU64,
    pub batches: AtomicU64,
    pub changes_applied: AtomicU64,
    pub embedded: AtomicU64,
    pub embed_cache_hits: AtomicU64,
    /// Milliseconds between the newest applied change's commit and its application.
    pub lag_ms: AtomicI64,
}

/// The indexer: one per server process.
pub struct Indexer {
    pool: PgPool,
    engine: Arc<Engine>,
    embedder: Option<Arc<dyn Embedder>>,
    replica_id: String,
    pub status: Arc<Status>,
    /// A passive indexer (a rebuild not yet swapped in) records no replica position, so the
    /// change log is never pruned on its account.
    passive: AtomicBool,
}

/// Reads a catalog row selected with `DOC_COLUMNS`.
pub fn row_to_doc(row: &sqlx::postgres::PgRow) -> std::result::Result<CatalogDoc, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(CatalogDoc {
        id: row.try_get("id")?,
        kind: Kind::parse(&kind).unwrap_or(Kind::SparePart),
        sku: row.try_get("sku")?,
        name: row.try_get("name")?,
        brand: row.try_get("brand")?,
        model: row.try_get("model")?,
        category: row.try_get("category")?,
        description: row.try_get("description")?,
        attributes: row.try_get("attributes")?,
        compatible_models: row.try_get("compatible_models")?,
        price_rub: row.try_get("price_rub")?,
        in_stock: row.try_get::<i32, _>("in_stock")? as i64,
    })
}

/// Columns of `catalog_items` as `row_to_doc` reads them.
pub const DOC_COLUMNS: &str = "id, kind::text AS kind, sku, name, brand, model, category, \
     description, attributes, compatible_models, price_rub::float8 AS price_rub, in_stock";

fn vec_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_to_vec(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl Indexer {
    pub fn new(
        pool: PgPool,
        engine: Arc<Engine>,
        embedder: Option<Arc<dyn Embedder>>,
        replica_id: impl Into<String>,
    ) -> Indexer {
        Indexer {
            pool,
            engine,
            embedder,
            replica_id: replica_id.into(),
            status: Arc::new(Status::default()),
            passive: AtomicBool::new(false),
        }
    }

    /// A passive indexer with the same database, embedder and replica id writing `engine`:
    /// the builder of a reindex. It becomes active when it is swapped in.
    pub fn sibling(&self, engine: Arc<Engine>) -> Indexer {
        let idx = Indexer::new(
            self.pool.clone(),
            engine,
            self.embedder.clone(),
            self.replica_id.clone(),
        );
        idx.passive.store(true, Ordering::Relaxed);
        idx
    }

    /// Lets this indexer record its position (after it was swapped in).
    pub fn activate(&self) {
        self.passive.store(false, Ordering::Relaxed);
    }

    /// Applies the change log until nothing is left.
    pub async fn catch_up(&self) -> Result<()> {
        let mut gap = None;
        while self.sync_once(&mut gap).await? > 0 {}
        Ok(())
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    fn model_id(&self) -> String {
        self.engine.config().model_id.clone()
    }

    /// Vectors for the documents: from the Postgres cache where the content hash matches,
    /// computed (and cached) otherwise. A failed embedding leaves `None`; lexical indexing goes
    /// on and the document is retried later.
    async fn vectors_for(&self, docs: &[CatalogDoc]) -> Result<Vec<Option<Vec<f32>>>> {
        let Some(embedder) = self.embedder.clone() else {
            return Ok(vec![None; docs.len()]);
        };
        let model = self.model_id();
        let hashes: Vec<String> = docs.iter().map(|d| d.content_hash()).collect();
        let rows = sqlx::query(
            "SELECT content_hash, vector FROM embedding_cache WHERE model_id = $1 AND content_hash = ANY($2)",
        )
        .bind(&model)
        .bind(&hashes)
        .fetch_all(&self.pool)
        .await?;
        let dim = self.engine.config().dim;
        let mut cached: HashMap<String, Vec<f32>> = HashMap::new();
        for r in rows {
            let h: String = r.try_get("content_hash")?;
            let b: Vec<u8> = r.try_get("vector")?;
            let v = bytes_to_vec(&b);
            if v.len() == dim {
                cached.insert(h, v);
            }
        }
        let mut out: Vec<Option<Vec<f32>>> =
            hashes.iter().map(|h| cached.get(h).cloned()).collect();
        self.status.embed_cache_hits.fetch_add(
            out.iter().filter(|v| v.is_some()).count() as u64,
            Ordering::Relaxed,
        );
        let missing: Vec<usize> = (0..docs.len()).filter(|&i| out[i].is_none()).collect();
        if missing.is_empty() {
            return Ok(out);
        }
        let texts: Vec<String> = missing.iter().map(|&i| docs[i].embedding_text()).collect();
        let result = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            embedder.embed(&refs, TextKind::Passage)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?;
        match result {
            Ok(vectors) => {
                let mut hs = Vec::new();
                let mut bs = Vec::new();
                for (&i, v) in missing.iter().zip(vectors) {
                    hs.push(hashes[i].clone());
                    bs.push(vec_to_bytes(&v));
                    out[i] = Some(v);
                }
                self.status
                    .embedded
                    .fetch_add(hs.len() as u64, Ordering::Relaxed);
                sqlx::query(
                    "INSERT INTO embedding_cache (model_id, content_hash, dim, vector)
                     SELECT $1, h, $2, v FROM unnest($3::text[], $4::bytea[]) AS t(h, v)
                     ON CONFLICT DO NOTHING",
                )
                .bind(&model)
                .bind(dim as i32)
                .bind(&hs)
                .bind(&bs)
                .execute(&self.pool)
                .await?;
            }
            Err(e) => {
                tracing::warn!(error = %e, docs = missing.len(), "embedding failed; indexing lexically, vector retried later");
            }
        }
        Ok(out)
    }

    async fn apply(&self, changes: Vec<Change>, seq: i64) -> Result<()> {
        let engine = self.engine.clone();
        let started = Instant::now();
        let n = changes.len() as u64;
        tokio::task::spawn_blocking(move || engine.apply(changes, seq))
            .await
            .map_err(|e| Error::Task(e.to_string()))??;
        self.status
            .last_batch_ms
            .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.status.batches.fetch_add(1, Ordering::Relaxed);
        self.status.changes_applied.fetch_add(n, Ordering::Relaxed);
        self.refresh_status();
        Ok(())
    }

    fn refresh_status(&self) {
        let s = self.engine.stats();
        self.status.documents.store(s.documents, Ordering::Relaxed);
        self.status
            .without_vector
            .store(s.without_vector, Ordering::Relaxed);
        self.status
            .applied_seq
            .store(s.applied_seq, Ordering::Relaxed);
    }

    /// Loads the whole catalog when the index is new (or was recreated), then marks ready.
    /// The change-log position is read in the same snapshot as the rows, so sync continues
    /// from exactly there.
    pub async fn initial_load(&self) -> Result<()> {
        let started = Instant::now();
        let applied = self.engine.stats().applied_seq;
        if applied > 0 || (applied == 0 && self.engine.stats().documents > 0) {
            // A restart: the index already reflects `applied`; check the log still covers it,
            // and is not behind it (the newest entry is never pruned, so a log that ends before
            // `applied` belongs to another database: a restored backup).
            let (min, max): (Option<i64>, Option<i64>) =
                sqlx::query_as("SELECT min(seq), max(seq) FROM catalog_changes")
                    .fetch_one(&self.pool)
                    .await?;
            let covered = min.is_none_or(|m| m <= applied + 1);
            let ahead = applied > max.unwrap_or(0);
            if covered && !ahead {
                self.refresh_status();
                return self.catch_up_then_ready(started).await;
            }
            if ahead {
                tracing::warn!(applied, max_seq = ?max, "this index is ahead of the database's change log (a restored backup?); reloading");
            } else {
                tracing::warn!(applied, min_seq = ?min, "change log was pruned past this index; reloading");
            }
        }
        self.full_load().await?;
        self.catch_up_then_ready(started).await
    }

    /// Applies what the log gained while this replica was away or loading, then marks it ready:
    /// a replica behind a load balancer must not answer from an index older than its peers'.
    async fn catch_up_then_ready(&self, started: Instant) -> Result<()> {
        let from = self.engine.stats().applied_seq;
        self.catch_up().await?;
        self.heartbeat().await?;
        let s = self.engine.stats();
        self.status.ready.store(true, Ordering::Relaxed);
        tracing::info!(
            documents = s.documents,
            from_seq = from,
            applied_seq = s.applied_seq,
            seconds = started.elapsed().as_secs_f64(),
            "caught up; ready"
        );
        Ok(())
    }

    /// Streams every catalog row into the engine (existing documents are replaced, documents no
    /// longer in Postgres are removed).
    pub async fn full_load(&self) -> Result<()> {
        let started = Instant::now();
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let seq: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM catalog_changes")
            .fetch_one(&mut *tx)
            .await?;
        // Hold the log from this position while loading: the other replicas prune only what
        // every live replica has applied, and a long load must find its changes still there.
        self.record_position(seq).await?;
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog_items")
            .fetch_one(&mut *tx)
            .await?;
        let before: HashSet<String> = {
            let snap = self.engine.snapshot();
            snap.browse(&search_core::Filters::default(), snap.num_docs() as usize)?
                .into_iter()
                .map(|d| d.id)
                .collect()
        };
        let sql = format!("SELECT {DOC_COLUMNS} FROM catalog_documents ORDER BY id");
        let mut seen: HashSet<String> = HashSet::new();
        let mut done = 0usize;
        let mut last_log = Instant::now();
        {
            let mut rows = sqlx::query(&sql).fetch(&mut *tx);
            let mut batch: Vec<CatalogDoc> = Vec::with_capacity(LOAD_BATCH);
            loop {
                let row = rows.try_next().await?;
                let end = row.is_none();
                if let Some(row) = row {
                    let doc = row_to_doc(&row)?;
                    seen.insert(doc.id.clone());
                    batch.push(doc);
                }
                if batch.len() >= LOAD_BATCH || (end && !batch.is_empty()) {
                    let docs = std::mem::take(&mut batch);
                    done += docs.len();
                    let vectors = self.vectors_for(&docs).await?;
                    let changes = docs
                        .into_iter()
                        .zip(vectors)
                        .map(|(doc, vector)| Change::Upsert { doc, vector })
                        .collect();
                    // -1 marks a load in progress: a crash here makes the next start reload.
                    self.apply(changes, -1).await?;
                    if last_log.elapsed() > Duration::from_secs(5) {
                        let rate = done as f64 / started.elapsed().as_secs_f64();
                        let eta = (total as f64 - done as f64).max(0.0) / rate.max(1e-9);
                        tracing::info!(
                            done,
                            total,
                            docs_per_s = rate as u64,
                            eta_s = eta as u64,
                            "initial load"
                        );
                        last_log = Instant::now();
                    }
                }
                if end {
                    break;
                }
            }
        }
        tx.commit().await?;
        let gone: Vec<Change> = before
            .into_iter()
            .filter(|id| !seen.contains(id))
            .map(|id| Change::Delete { id })
            .collect();
        self.apply(gone, seq).await?;
        self.heartbeat().await?;
        tracing::info!(
            docs = done,
            seconds = started.elapsed().as_secs_f64(),
            seq,
            "catalog loaded"
        );
        Ok(())
    }

    /// Applies the next batch of the change log. Returns how many entries were consumed.
    pub async fn sync_once(&self, gap_seen: &mut Option<(i64, Instant)>) -> Result<usize> {
        let started = Instant::now();
        let applied = self.engine.stats().applied_seq.max(0);
        let rows = sqlx::query(
            "SELECT seq, doc_id, op, (extract(epoch from now() - changed_at) * 1000)::bigint AS age_ms
             FROM catalog_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(applied)
        .bind(SYNC_BATCH)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            self.status.pending_changes.store(0, Ordering::Relaxed);
            return Ok(0);
        }
        // Take the gap-free prefix; wait a little for a missing seq before skipping it.
        let mut upto = applied;
        let mut entries: Vec<(i64, String, String, i64)> = Vec::new();
        for r in &rows {
            let seq: i64 = r.try_get("seq")?;
            if seq != upto + 1 {
                match gap_seen {
                    Some((at, since)) if *at == upto + 1 && since.elapsed() > GAP_TIMEOUT => {
                        tracing::warn!(
                            missing_from = upto + 1,
                            to = seq - 1,
                            "skipping change-log gap (rolled back)"
                        );
                    }
                    Some((at, _)) if *at == upto + 1 => break,
                    _ => {
                        *gap_seen = Some((upto + 1, Instant::now()));
                        break;
                    }
                }
            }
            entries.push((
                seq,
                r.try_get("doc_id")?,
                r.try_get("op")?,
                r.try_get("age_ms")?,
            ));
            upto = seq;
        }
        if entries.is_empty() {
            return Ok(0);
        }
        *gap_seen = None;
        // Coalesce: only each document's latest state matters; read it now.
        let mut ids: Vec<String> = entries.iter().map(|e| e.1.clone()).collect();
        ids.sort();
        ids.dedup();
        let sql = format!("SELECT {DOC_COLUMNS} FROM catalog_documents WHERE id = ANY($1)");
        let rows = sqlx::query(&sql).bind(&ids).fetch_all(&self.pool).await?;
        let mut current: HashMap<String, CatalogDoc> = HashMap::new();
        for r in &rows {
            let d = row_to_doc(r)?;
            current.insert(d.id.clone(), d);
        }
        let docs: Vec<CatalogDoc> = ids.iter().filter_map(|id| current.remove(id)).collect();
        let present: HashSet<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        let mut changes: Vec<Change> = ids
            .iter()
            .filter(|id| !present.contains(id.as_str()))
            .map(|id| Change::Delete { id: id.clone() })
            .collect();
        let vectors = self.vectors_for(&docs).await?;
        changes.extend(
            docs.into_iter()
                .zip(vectors)
                .map(|(doc, vector)| Change::Upsert { doc, vector }),
        );
        let n = entries.len();
        let newest_age = entries.last().map_or(0, |e| e.3);
        let read_ms = started.elapsed().as_millis() as u64;
        self.apply(changes, upto).await?;
        tracing::debug!(
            changes = n,
            age_at_read_ms = newest_age,
            read_ms,
            total_ms = started.elapsed().as_millis() as u64,
            "change batch synced"
        );
        self.status.lag_ms.store(newest_age, Ordering::Relaxed);
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM catalog_changes WHERE seq > $1")
                .bind(upto)
                .fetch_one(&self.pool)
                .await?;
        self.status
            .pending_changes
            .store(pending, Ordering::Relaxed);
        Ok(n)
    }

    /// Re-embeds documents that were indexed without a vector.
    pub async fn retry_missing_vectors(&self, limit: usize) -> Result<usize> {
        if self.embedder.is_none() || self.engine.stats().without_vector == 0 {
            return Ok(0);
        }
        let snap = self.engine.snapshot();
        let docs = snap.docs_without_vector(limit)?;
        if docs.is_empty() {
            return Ok(0);
        }
        let vectors = self.vectors_for(&docs).await?;
        let changes: Vec<Change> = docs
            .into_iter()
            .zip(vectors)
            .filter(|(_, v)| v.is_some())
            .map(|(doc, vector)| Change::Upsert { doc, vector })
            .collect();
        let n = changes.len();
        if n > 0 {
            self.apply(changes, snap.applied_seq()).await?;
        }
        Ok(n)
    }

    /// Records this replica's change-log position (nothing for a passive builder).
    async fn record_position(&self, applied: i64) -> Result<()> {
        if self.passive.load(Ordering::Relaxed) {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO indexer_replicas (replica_id, applied_seq, heartbeat_at) VALUES ($1, $2, now())
             ON CONFLICT (replica_id) DO UPDATE SET applied_seq = EXCLUDED.applied_seq, heartbeat_at = now()",
        )
        .bind(&self.replica_id)
        .bind(applied)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records this replica's position and prunes log entries every live replica has applied.
    pub async fn heartbeat(&self) -> Result<()> {
        if self.passive.load(Ordering::Relaxed) {
            return Ok(());
        }
        let applied = self.engine.stats().applied_seq.max(0);
        self.record_position(applied).await?;
        // Replicas silent for a day no longer hold the log back; they reload on return. The
        // newest entry always stays: a replica loading from scratch takes the log's newest seq
        // as its position, and an empty log would read as position 0 (the next change would
        // then look like a gap, held back until the gap timeout).
        sqlx::query(
            "DELETE FROM catalog_changes WHERE seq <= (
                SELECT min(applied_seq) FROM indexer_replicas
                WHERE heartbeat_at > now() - interval '1 day')
              AND seq < (SELECT max(seq) FROM catalog_changes)",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Follows the change log until `shutdown` resolves, reconnecting with backoff.
    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(200);
        loop {
            if *shutdown.borrow() {
                return;
            }
            if !self.status.ready.load(Ordering::Relaxed) {
                if let Err(e) = self.initial_load().await {
                    tracing::error!(error = %e, "initial load failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            }
            match self.follow(&mut shutdown).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "sync interrupted; reconnecting");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    async fn follow(&self, shutdown: &mut tokio::sync::watch::Receiver<bool>) -> Result<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        let mut gap = None;
        let mut last_beat = Instant::now();
        // Housekeeping runs beside the sync loop, never in it: a merge of a freshly loaded index
        // takes seconds, and changes must keep arriving within a second meanwhile.
        let mut housekeeping: Option<tokio::task::JoinHandle<search_core::Result<bool>>> = None;
        loop {
            // Drain everything there is, then wait for a wake-up (or poll every second).
            while self.sync_once(&mut gap).await? > 0 {}
            self.retry_missing_vectors(64).await?;
            if last_beat.elapsed() > Duration::from_secs(10) {
                self.heartbeat().await?;
                if housekeeping.as_ref().is_none_or(|h| h.is_finished()) {
                    if let Some(done) = housekeeping.take() {
                        match done.await {
                            Ok(Ok(true)) => tracing::info!("text segments merged"),
                            Ok(Err(e)) => tracing::warn!(error = %e, "segment merge failed"),
                            Err(e) => tracing::error!(error = %e, "index housekeeping panicked"),
                            Ok(Ok(false)) => {}
                        }
                    }
                    // Off the async threads; the writer lock is held only to start a merge.
                    let engine = self.engine.clone();
                    housekeeping = Some(tokio::task::spawn_blocking(move || {
                        let _ = engine.compact_vectors_if_needed();
                        engine.merge_segments_if_needed()
                    }));
                }
                last_beat = Instant::now();
            }
            let wait = if gap.is_some() {
                Duration::from_millis(100)
            } else {
                Duration::from_secs(1)
            };
            tokio::select! {
                n = listener.try_recv() => { n?; }
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_bytes_round_trip() {
        let v = vec![0.25f32, -1.5, 3.0];
        assert_eq!(bytes_to_vec(&vec_to_bytes(&v)), v);
    }
}
