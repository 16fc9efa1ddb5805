//! The single writer: opening, creating and rebuilding the index directory, applying
//! change batches, housekeeping (vector compaction, segment merges) and publishing snapshots.

use super::config::lru_cache;
use super::config::word_cache;
use super::config::EngineConfig;
use super::snapshot::vid_addresses;
use super::snapshot::Snapshot;
use super::snapshot::VidAddrs;
use crate::bits;
use crate::doc::CatalogDoc;
use crate::embed::CachedEmbedder;
use crate::error::{Error, Result};
use crate::fusion::RrfParams;
use crate::synonyms::Synonyms;
use crate::text::{self, Fields, SegmentTable};
use crate::vector::{HnswParams, VectorIndex, Vid};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};

/// Bumped whenever the schema or the analysis changes; older indexes are rebuilt.
const FORMAT_VERSION: u32 = 7;

type Pending = (CatalogDoc, String, Option<Vec<f32>>, Option<Vid>);

impl EngineConfig {
    pub fn new(model_id: impl Into<String>, dim: usize) -> EngineConfig {
        EngineConfig {
            hnsw: HnswParams::default(),
            rrf: RrfParams::default(),
            synonyms: Arc::new(Synonyms::default()),
            model_id: model_id.into(),
            dim,
            writer_heap_bytes: 64 << 20,
            result_cache: 1024,
            doc_cache: 16_384,
            word_cache_bytes: 64 << 20,
            // Dev set, hybrid nDCG@10 (with RRF k 5): off, semantic weight 0.5 → 0.796;
            // 1 doc × 1.0 → 0.801; 2 × 1.0, semantic 0.7 → 0.802; 3 × 0.5 / 1 / 2 → 0.798 /
            // 0.800 / 0.799 (semantic 0.5). Later, with quantities no longer taken for codes:
            // 2 × 1 / 2 / 3 → 0.803 / 0.803 / 0.803 (semantic 0.7), 2 × 2 with semantic 0.6 /
            // 0.8 / 1.0 → 0.802 / 0.804 / 0.802; 2 × 2 is above lexical on the most types.
            feedback_docs: 2,
            feedback_weight: 2.0,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct CommitPayload {
    format: u32,
    applied_seq: i64,
    model_id: String,
    dim: usize,
}

/// Counters an operator wants to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineStats {
    pub documents: u64,
    pub without_vector: u64,
    pub applied_seq: i64,
    pub vector_records: u64,
    pub model_id: String,
    /// Segments of the text index (see [`Engine::merge_segments_if_needed`]).
    pub text_segments: u64,
}

/// A document change for the writer. Upserts dominate, so the size difference to `Delete` is
/// not worth a box per document.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Change {
    /// Insert or replace; the vector is the embedding of `doc.embedding_text()` if one could
    /// be computed.
    Upsert {
        doc: CatalogDoc,
        vector: Option<Vec<f32>>,
    },
    Delete {
        id: String,
    },
}

/// How `Engine::open` found the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    Created,
    Loaded,
    /// The directory held a corrupt or incompatible index; it was wiped and recreated.
    Recreated(String),
}

/// The search engine: single writer, snapshot readers.
pub struct Engine {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    config: EngineConfig,
    vectors: RwLock<Arc<VectorIndex>>,
    snapshot: RwLock<Arc<Snapshot>>,
    embedder: RwLock<Option<Arc<CachedEmbedder>>>,
    /// The synonym dictionary of later snapshots (starts as `config.synonyms`; replaced by
    /// [`Engine::set_synonyms`] when an operator edits it).
    synonyms: RwLock<Arc<Synonyms>>,
    /// Segment tables by segment id, so a publish decodes only new segments.
    tables: Mutex<HashMap<tantivy::index::SegmentId, Arc<SegmentTable>>>,
    dir: Option<PathBuf>,
}

impl Engine {
    /// An engine in RAM (tests, benches).
    pub fn in_memory(config: EngineConfig) -> Result<Engine> {
        let (schema, fields) = text::schema();
        let index = Index::create_in_ram(schema);
        let vectors = VectorIndex::in_memory(config.dim, config.hnsw);
        Engine::assemble(index, fields, config, vectors, None)
    }

    /// Opens the index under `dir` (`dir/text`, `dir/vectors.f32`), creating it when missing and
    /// recreating it when it is corrupt or was built for another model.
    pub fn open(dir: &Path, config: EngineConfig) -> Result<(Engine, OpenOutcome)> {
        std::fs::create_dir_all(dir)?;
        match Engine::try_open(dir, config.clone()) {
            Ok(Some(engine)) => Ok((engine, OpenOutcome::Loaded)),
            Ok(None) => Ok((Engine::create(dir, config)?, OpenOutcome::Created)),
            Err(e @ Error::CorruptIndex { .. }) => {
                let reason = e.to_string();
                tracing::warn!(dir = %dir.display(), %reason, "index unusable; recreating");
                Ok((Engine::create(dir, config)?, OpenOutcome::Recreated(reason)))
            }
            // Anything else (another process holds the writer lock, disk errors) is not
            // corruption: never wipe an index for it.
            Err(e) => Err(e),
        }
    }

    fn create(dir: &Path, config: EngineConfig) -> Result<Engine> {
        let text_dir = dir.join("text");
        if text_dir.exists() {
            std::fs::remove_dir_all(&text_dir)?;
        }
        for file in ["vectors.f32", crate::vector::WALK_FILE] {
            let path = dir.join(file);
            if path.exists() {
                std::fs::remove_file(&path)?;
            }
        }
        std::fs::create_dir_all(&text_dir)?;
        let (schema, fields) = text::schema();
        let index = Index::create_in_dir(&text_dir, schema)?;
        let vectors = VectorIndex::open(dir, config.dim, config.hnsw, &|_| false)?;
        let engine = Engine::assemble(index, fields, config, vectors, Some(dir.to_path_buf()))?;
        // An initial commit carries the payload, so an empty index opens as "loaded".
        engine.apply(Vec::new(), 0)?;
        Ok(engine)
    }

    fn try_open(dir: &Path, config: EngineConfig) -> Result<Option<Engine>> {
        let text_dir = dir.join("text");
        if !text_dir.join("meta.json").exists() {
            return Ok(None);
        }
        let corrupt = |reason: String| Error::CorruptIndex {
            path: dir.to_path_buf(),
            reason,
        };
        let index = Index::open_in_dir(&text_dir).map_err(|e| corrupt(e.to_string()))?;
        let (expected, fields) = text::schema();
        if index.schema() != expected {
            return Err(corrupt("schema differs from this build".into()));
        }
        let payload = index
            .load_metas()
            .map_err(|e| corrupt(e.to_string()))?
            .payload
            .ok_or_else(|| corrupt("no commit payload".into()))?;
        let payload: CommitPayload =
            serde_json::from_str(&payload).map_err(|e| corrupt(e.to_string()))?;
        if payload.format != FORMAT_VERSION
            || payload.model_id != config.model_id
            || payload.dim != config.dim
        {
            return Err(corrupt(format!(
                "index built for format {} model {} dim {}",
                payload.format, payload.model_id, payload.dim
            )));
        }
        text::register_tokenizers(&index);
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e: tantivy::TantivyError| corrupt(e.to_string()))?;
        let live = live_vids(&reader.searcher()).map_err(|e| corrupt(e.to_string()))?;
        let vectors =
            VectorIndex::open(dir, config.dim, config.hnsw, &|v| bits::contains(&live, v))?;
        if let Some(max) = live.iter().enumerate().rev().find(|(_, w)| **w != 0) {
            let max_vid = max.0 * 64 + 63 - max.1.leading_zeros() as usize;
            if max_vid >= vectors.len() {
                return Err(corrupt(
                    "text index refers to missing vector records".into(),
                ));
            }
        }
        drop(reader);
        let engine = Engine::assemble(index, fields, config, vectors, Some(dir.to_path_buf()))?;
        engine.publish(payload.applied_seq)?;
        Ok(Some(engine))
    }

    fn assemble(
        index: Index,
        fields: Fields,
        config: EngineConfig,
        vectors: VectorIndex,
        dir: Option<PathBuf>,
    ) -> Result<Engine> {
        text::register_tokenizers(&index);
        let writer: IndexWriter = index.writer_with_num_threads(1, config.writer_heap_bytes)?;
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let vectors = Arc::new(vectors);
        let synonyms = config.synonyms.clone();
        let snapshot = Arc::new(Snapshot {
            text: reader.searcher(),
            vectors: vectors.clone(),
            live: Arc::new(Vec::new()),
            addrs: Arc::new(VidAddrs::default()),
            cols: Arc::new(Vec::new()),
            applied_seq: 0,
            docs: 0,
            without_vector: 0,
            fields,
            config: config.clone(),
            embedder: None,
            cache: lru_cache(config.result_cache),
            words: word_cache(config.word_cache_bytes),
            doc_cache: lru_cache(config.doc_cache),
        });
        Ok(Engine {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            config,
            vectors: RwLock::new(vectors),
            snapshot: RwLock::new(snapshot),
            embedder: RwLock::new(None),
            synonyms: RwLock::new(synonyms),
            tables: Mutex::new(HashMap::new()),
            dir,
        })
    }

    /// Sets the query embedder used by searches of later snapshots.
    pub fn set_embedder(&self, embedder: Option<Arc<CachedEmbedder>>) {
        *self.embedder.write() = embedder;
        let seq = self.snapshot.read().applied_seq;
        let _ = self.publish(seq);
    }

    /// The configuration the engine was opened with (its `synonyms` are the initial ones; see
    /// [`Engine::synonyms`]).
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The synonym dictionary searches use now.
    pub fn synonyms(&self) -> Arc<Synonyms> {
        self.synonyms.read().clone()
    }

    /// Replaces the synonym dictionary; searches on the next snapshot (published here, with
    /// an empty result cache) use it. Documents need no reindexing: synonyms expand queries.
    pub fn set_synonyms(&self, synonyms: Arc<Synonyms>) {
        *self.synonyms.write() = synonyms;
        let seq = self.snapshot.read().applied_seq;
        let _ = self.publish(seq);
    }

    /// The query embedder searches use (shared by a rebuilt engine that replaces this one).
    pub fn query_embedder(&self) -> Option<Arc<CachedEmbedder>> {
        self.embedder.read().clone()
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The current snapshot. Cheap; never blocks on the writer.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().clone()
    }

    pub fn stats(&self) -> EngineStats {
        let s = self.snapshot();
        EngineStats {
            documents: s.docs,
            without_vector: s.without_vector,
            applied_seq: s.applied_seq,
            vector_records: s.vectors.len() as u64,
            model_id: self.config.model_id.clone(),
            text_segments: s.text_segments() as u64,
        }
    }

    /// Applies a batch of changes and commits them together with `applied_seq`, the change-log
    /// position they bring the index to. Changes of one document apply in order.
    pub fn apply(&self, changes: Vec<Change>, applied_seq: i64) -> Result<()> {
        let t0 = std::time::Instant::now();
        let mut writer = self.writer.lock();
        let locked = t0.elapsed();
        let current = self.reader.searcher();
        // The vid and content hash each touched id has before this batch (or after earlier
        // changes in it).
        let mut state: HashMap<String, Option<(Vid, String, bool)>> = HashMap::new();
        let vectors = self.vectors.read().clone();
        // (document, content hash, vector, vid once known)
        let mut pending: Vec<Pending> = Vec::new();
        let mut deletes: Vec<String> = Vec::new();
        for change in changes {
            match change {
                Change::Delete { id } => {
                    state.insert(id.clone(), None);
                    pending.retain(|p| p.0.id != id);
                    deletes.push(id);
                }
                Change::Upsert { doc, vector } => {
                    doc.validate().map_err(|reason| Error::InvalidDocument {
                        id: doc.id.clone(),
                        reason,
                    })?;
                    if let Some(v) = &vector {
                        if v.len() != self.config.dim {
                            return Err(Error::Embedding(format!(
                                "vector for {} has {} dims, expected {}",
                                doc.id,
                                v.len(),
                                self.config.dim
                            )));
                        }
                    }
                    let prev = match state.get(&doc.id) {
                        Some(p) => p.clone(),
                        None => lookup(&current, &self.fields, &doc.id)?
                            .map(|(vid, h)| (vid, h, vectors.has_vector(vid))),
                    };
                    let hash = doc.content_hash();
                    // Same text and the old record already has its vector (or we have none
                    // to offer): keep the vid, nothing to embed or insert.
                    let reuse = prev
                        .as_ref()
                        .filter(|(_, h, has)| *h == hash && (*has || vector.is_none()))
                        .map(|(vid, _, _)| *vid);
                    pending.retain(|p| p.0.id != doc.id);
                    deletes.push(doc.id.clone());
                    state.insert(doc.id.clone(), reuse.map(|v| (v, hash.clone(), true)));
                    pending.push((doc, hash, vector, reuse));
                }
            }
        }
        // Append vectors for the documents that need a new vid, in one synced write.
        let fresh: Vec<usize> = (0..pending.len())
            .filter(|&i| pending[i].3.is_none())
            .collect();
        let slices: Vec<Option<&[f32]>> = fresh.iter().map(|&i| pending[i].2.as_deref()).collect();
        let t1 = std::time::Instant::now();
        let first = if slices.is_empty() {
            0
        } else {
            vectors.append(&slices)?
        };
        let appended = t1.elapsed();
        for (n, &i) in fresh.iter().enumerate() {
            pending[i].3 = Some(first + n as Vid);
        }
        for id in &deletes {
            writer.delete_term(Term::from_field_text(self.fields.id, id));
        }
        for (doc, hash, _, vid) in &pending {
            let vid = vid.expect("every pending document has a vid by now");
            writer.add_document(text::to_tantivy(&self.fields, doc, vid, hash))?;
        }
        let payload = CommitPayload {
            format: FORMAT_VERSION,
            applied_seq,
            model_id: self.config.model_id.clone(),
            dim: self.config.dim,
        };
        let t2 = std::time::Instant::now();
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&serde_json::to_string(&payload).unwrap_or_default());
        prepared.commit()?;
        let committed = t2.elapsed();
        let t3 = std::time::Instant::now();
        self.reader.reload()?;
        drop(writer);
        let r = self.publish(applied_seq);
        tracing::debug!(
            lock_ms = locked.as_millis() as u64,
            vectors_ms = appended.as_millis() as u64,
            commit_ms = committed.as_millis() as u64,
            publish_ms = t3.elapsed().as_millis() as u64,
            total_ms = t0.elapsed().as_millis() as u64,
            "batch applied"
        );
        r
    }

    /// Replaces the vector graph with a compacted one when tombstones exceed a third of it.
    pub fn compact_vectors_if_needed(&self) -> Result<bool> {
        let snap = self.snapshot();
        let records = snap.vectors.len() as u64;
        if records < 1000 || snap.docs * 3 > records * 2 {
            return Ok(false);
        }
        let _writer = self.writer.lock();
        let snap = self.snapshot();
        let live = snap.live.clone();
        let rebuilt = snap.vectors.rebuilt(&|v| bits::contains(&live, v))?;
        *self.vectors.write() = Arc::new(rebuilt);
        self.publish(snap.applied_seq)?;
        Ok(true)
    }

    /// Merges text segments once they pile up. Every search pays per segment for each term's
    /// dictionary lookup and scorer, and tantivy's own merge policy waits for eight segments of
    /// a size, so a bulk load leaves one large segment and a tail of small ones. Segments besides
    /// the largest merge together once there are two of them; all merge into one once those hold
    /// a twentieth as many documents as the largest (so a full rewrite of the index comes at
    /// most once per twentieth of it changed). The merge runs without the writer lock (changes
    /// go on applying); the merged segment is published under it.
    pub fn merge_segments_if_needed(&self) -> Result<bool> {
        let merge = {
            let mut writer = self.writer.lock();
            let mut metas = self.index.searchable_segment_metas()?;
            if metas.len() < 2 {
                return Ok(false);
            }
            metas.sort_by_key(|m| std::cmp::Reverse(m.num_docs()));
            let largest = metas[0].num_docs() as u64;
            let rest: u64 = metas[1..].iter().map(|m| m.num_docs() as u64).sum();
            let ids: Vec<tantivy::index::SegmentId> = if rest * 20 >= largest {
                metas.iter().map(|m| m.id()).collect()
            } else if metas.len() > 2 {
                metas[1..].iter().map(|m| m.id()).collect()
            } else {
                return Ok(false);
            };
            writer.merge(&ids)
        };
        // A segment tantivy is merging already cannot merge again: try at the next call.
        if merge.wait().is_err() {
            return Ok(false);
        }
        let _writer = self.writer.lock();
        self.reader.reload()?;
        self.publish(self.snapshot().applied_seq)?;
        Ok(true)
    }

    fn publish(&self, applied_seq: i64) -> Result<()> {
        let text = self.reader.searcher();
        let live = live_vids(&text)?;
        let vectors = self.vectors.read().clone();
        let docs = text.num_docs();
        let with_vector = bits::iter(&live).filter(|&v| vectors.has_vector(v)).count() as u64;
        let cols = self.segment_tables(&text)?;
        let addrs = vid_addresses(&text, &cols);
        let snap = Snapshot {
            text,
            vectors,
            live: Arc::new(live),
            addrs: Arc::new(addrs),
            cols: Arc::new(cols),
            applied_seq,
            docs,
            without_vector: docs.saturating_sub(with_vector),
            fields: self.fields,
            config: EngineConfig {
                synonyms: self.synonyms.read().clone(),
                ..self.config.clone()
            },
            embedder: self.embedder.read().clone(),
            cache: lru_cache(self.config.result_cache),
            words: word_cache(self.config.word_cache_bytes),
            doc_cache: self.snapshot.read().doc_cache.clone(),
        };
        *self.snapshot.write() = Arc::new(snap);
        Ok(())
    }

    /// One table per segment of `searcher`, decoding only segments not seen before.
    fn segment_tables(&self, searcher: &tantivy::Searcher) -> Result<Vec<Arc<SegmentTable>>> {
        let mut cache = self.tables.lock();
        let mut out = Vec::with_capacity(searcher.segment_readers().len());
        for r in searcher.segment_readers() {
            let id = r.segment_id();
            let t = match cache.get(&id) {
                Some(t) => t.clone(),
                None => Arc::new(SegmentTable::build(r)?),
            };
            out.push(t);
        }
        cache.clear();
        for (r, t) in searcher.segment_readers().iter().zip(&out) {
            cache.insert(r.segment_id(), t.clone());
        }
        Ok(out)
    }

    /// The tantivy index (for diagnostics).
    pub fn text_index(&self) -> &Index {
        &self.index
    }
}

fn live_vids(searcher: &tantivy::Searcher) -> Result<Vec<u64>> {
    let mut bits = Vec::new();
    for seg in searcher.segment_readers() {
        let col = seg.fast_fields().u64("vid")?;
        for doc in seg.doc_ids_alive() {
            if let Some(v) = col.first(doc) {
                bits::assign(&mut bits, v as Vid, true);
            }
        }
    }
    Ok(bits)
}

fn lookup(searcher: &tantivy::Searcher, f: &Fields, id: &str) -> Result<Option<(Vid, String)>> {
    let q = TermQuery::new(Term::from_field_text(f.id, id), IndexRecordOption::Basic);
    let top = searcher.search(&q, &TopDocs::with_limit(1))?;
    let Some((_, addr)) = top.first() else {
        return Ok(None);
    };
    let doc: tantivy::TantivyDocument = searcher.doc(*addr)?;
    let vid = doc.get_first(f.vid).and_then(|v| v.as_u64()).unwrap_or(0) as Vid;
    let hash = doc
        .get_first(f.chash)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    Ok(Some((vid, hash)))
}
