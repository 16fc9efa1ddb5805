//! The engine: one writer, many snapshot readers, over a text index and a vector index kept in
//! step.
//!
//! Every write batch is applied under the writer lock: vectors are appended (and synced) first,
//! then the text index commits with a payload naming the change-log position it reflects, then
//! a new `Snapshot` is published. A search takes the current snapshot (an `Arc` clone) and never
//! waits for a writer. A snapshot knows which vector ids are live, so vectors added or
//! tombstoned after it was taken do not leak into its results.

use crate::doc::CatalogDoc;
use crate::embed::CachedEmbedder;
use crate::error::{Error, Result};
use crate::fusion::{rrf, RrfParams};
use crate::highlight::Highlighter;
use crate::synonyms::Synonyms;
use crate::text::{self, Fields, Filters, MatchSet, MatchSetCollector, SegmentTable};
use crate::vector::{HnswParams, VectorIndex, Vid};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::query::{Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Term};

/// Bumped whenever the schema or the analysis changes; older indexes are rebuilt.
const FORMAT_VERSION: u32 = 3;

type Pending = (CatalogDoc, String, Option<Vec<f32>>, Option<Vid>);
/// Semantic candidates that take part in fusion (and in `total`).
pub const SEMANTIC_DEPTH: usize = 100;
/// Lexical candidates that take part in fusion; lexical matches beyond it follow in BM25 order.
pub const LEXICAL_DEPTH: usize = 200;
/// Filtered sets at most this large are searched exactly instead of through the graph.
const EXACT_SEARCH_MAX: u64 = 3000;
/// Catalogs at most this large are searched exactly on the semantic side, unfiltered too. On
/// the 6,311-document dev catalog the graph (built in parallel, so a little differently on
/// every start) moved semantic nDCG@10 of one query type by up to 0.04 between runs.
const EXACT_CATALOG_MAX: u64 = 10_000;
/// Filtered sets holding less than this share of the live documents are searched exactly too:
/// the graph walk would need about `k / share` neighbours to keep `k` of them, which costs
/// more than scanning the set's vectors.
const EXACT_SEARCH_SHARE: f64 = 0.2;
/// Longest accepted query, in characters.
pub const MAX_QUERY_CHARS: usize = 512;

/// Search mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Hybrid,
    Lexical,
    Semantic,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "hybrid" => Some(Mode::Hybrid),
            "lexical" => Some(Mode::Lexical),
            "semantic" => Some(Mode::Semantic),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Hybrid => "hybrid",
            Mode::Lexical => "lexical",
            Mode::Semantic => "semantic",
        }
    }
}

/// One search request.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub text: String,
    pub mode: Mode,
    pub filters: Filters,
    pub limit: usize,
    pub offset: usize,
    pub highlight: bool,
}

impl SearchRequest {
    pub fn new(text: impl Into<String>, mode: Mode) -> SearchRequest {
        SearchRequest {
            text: text.into(),
            mode,
            filters: Filters::default(),
            limit: 10,
            offset: 0,
            highlight: false,
        }
    }
}

/// One ranked hit.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Shared with the doc cache: a hit costs no copy of the card's text.
    pub doc: Arc<CatalogDoc>,
    pub score: f32,
    /// Matched a part number or model exactly (pinned above fusion).
    pub exact: bool,
    /// `(field, html)` with `<em>` around matched words.
    pub highlights: Vec<(&'static str, String)>,
}

/// Facet counts over the whole filtered match set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facets {
    pub kind: Vec<(String, u64)>,
    pub category: Vec<(String, u64)>,
    pub brand: Vec<(String, u64)>,
}

/// Results of one search.
#[derive(Debug, Clone)]
pub struct SearchResults {
    pub total: u64,
    pub hits: Vec<Hit>,
    pub facets: Facets,
    /// The mode that ran: hybrid degrades to lexical when no query vector can be had.
    pub mode: Mode,
}

/// Search-as-you-type completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub id: String,
    pub name: String,
    pub sku: String,
    pub model: String,
}

/// Engine settings.
#[derive(Clone)]
pub struct EngineConfig {
    pub hnsw: HnswParams,
    pub rrf: RrfParams,
    pub synonyms: Arc<Synonyms>,
    /// Model id and dimension the vectors belong to; a persisted index for another model is
    /// rebuilt.
    pub model_id: String,
    pub dim: usize,
    pub writer_heap_bytes: usize,
    /// Results kept per snapshot for repeated identical requests (0 turns the cache off). A
    /// new snapshot (any applied change) starts with an empty cache, so a cached answer is
    /// never staler than the snapshot it was computed on.
    pub result_cache: usize,
    /// Stored documents kept decoded, shared by all snapshots (0 turns the cache off). A
    /// segment's stored documents never change, so an entry (keyed by segment id and doc id)
    /// is never stale; reading one from the doc store decompresses a 16 KiB block and parses
    /// its JSON, a tenth of the cost of a search. About 1–2 KiB per entry.
    pub doc_cache: usize,
    /// Bytes of word impacts kept per snapshot (0 turns the cache off): a word's score in
    /// every document holding it, its six weighted fields' BM25 summed, computed on the
    /// word's first use in a snapshot and read as one array after that instead of six
    /// postings lists (see [`crate::accumulate::WordCache`]). 8 bytes per document holding the
    /// word; every word of the 100,000-card load catalog takes 21 MiB.
    pub word_cache_bytes: usize,
    /// Pseudo-relevance feedback of hybrid mode: the semantic query is the query's embedding
    /// plus `feedback_weight` times the mean vector of the first `feedback_docs` lexical hits
    /// (0 turns it off). See [`Snapshot::search`].
    pub feedback_docs: usize,
    pub feedback_weight: f32,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("hnsw", &self.hnsw)
            .field("rrf", &self.rrf)
            .field("model_id", &self.model_id)
            .field("dim", &self.dim)
            .field("feedback_docs", &self.feedback_docs)
            .field("feedback_weight", &self.feedback_weight)
            .finish()
    }
}

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

fn word_cache(bytes: usize) -> Option<crate::accumulate::WordCache> {
    (bytes > 0).then(|| crate::accumulate::WordCache::new(bytes))
}

type ResultCache = Option<Arc<parking_lot::Mutex<lru::LruCache<String, SearchResults>>>>;

type DocCache =
    Option<Arc<parking_lot::Mutex<lru::LruCache<(tantivy::index::SegmentId, DocId), Arc<Stored>>>>>;

/// A stored document, decoded, with the analysis of its highlighted fields made on first use.
struct Stored {
    doc: Arc<CatalogDoc>,
    /// Tokens of the name and the description (see [`crate::highlight`]).
    tokens: std::sync::OnceLock<[crate::highlight::Tokens; 2]>,
}

impl Stored {
    fn tokens(&self) -> &[crate::highlight::Tokens; 2] {
        self.tokens.get_or_init(|| {
            [
                crate::highlight::tokens(&self.doc.name),
                crate::highlight::tokens(&self.doc.description),
            ]
        })
    }
}

/// A shared LRU of `size` entries; `None` (no cache) for 0.
fn lru_cache<K: std::hash::Hash + Eq, V>(
    size: usize,
) -> Option<Arc<parking_lot::Mutex<lru::LruCache<K, V>>>> {
    std::num::NonZeroUsize::new(size)
        .map(|n| Arc::new(parking_lot::Mutex::new(lru::LruCache::new(n))))
}

#[derive(Debug, Serialize, Deserialize)]
struct CommitPayload {
    format: u32,
    applied_seq: i64,
    model_id: String,
    dim: usize,
}

/// One consistent view of both indexes.
pub struct Snapshot {
    text: tantivy::Searcher,
    vectors: Arc<VectorIndex>,
    live: Arc<Vec<u64>>,
    /// vid → (segment ordinal, doc id) of the live document holding it.
    addrs: Arc<VidAddrs>,
    /// Decoded fast fields per segment, in segment-ordinal order (shared across snapshots).
    cols: Arc<Vec<Arc<SegmentTable>>>,
    applied_seq: i64,
    docs: u64,
    without_vector: u64,
    fields: Fields,
    config: EngineConfig,
    embedder: Option<Arc<CachedEmbedder>>,
    /// Results of this snapshot by request (see [`EngineConfig::result_cache`]).
    cache: ResultCache,
    /// Word impacts of this snapshot (see [`EngineConfig::word_cache_bytes`]).
    words: Option<crate::accumulate::WordCache>,
    /// Decoded stored documents, shared with every snapshot (see [`EngineConfig::doc_cache`]).
    doc_cache: DocCache,
    /// Run lexical queries through tantivy's union instead of [`crate::accumulate`] (benches
    /// and the equivalence test compare the two).
    tantivy_union: std::sync::atomic::AtomicBool,
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

fn bit_set(bits: &mut Vec<u64>, v: Vid, on: bool) {
    let w = v as usize / 64;
    if bits.len() <= w {
        bits.resize(w + 1, 0);
    }
    if on {
        bits[w] |= 1 << (v % 64);
    } else {
        bits[w] &= !(1 << (v % 64));
    }
}

/// The set bits of a bitset as vids, in order.
fn iter_bits(bits: &[u64]) -> impl Iterator<Item = Vid> + '_ {
    bits.iter().enumerate().flat_map(|(w, word)| {
        let word = *word;
        (0..64)
            .filter(move |b| word & (1u64 << b) != 0)
            .map(move |b| (w * 64 + b) as Vid)
    })
}

fn bit_get(bits: &[u64], v: Vid) -> bool {
    bits.get(v as usize / 64)
        .is_some_and(|w| w & (1 << (v % 64)) != 0)
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
        let vectors = VectorIndex::open(dir, config.dim, config.hnsw, &|v| bit_get(&live, v))?;
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
            tantivy_union: Default::default(),
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
        let mut writer = self.writer.lock();
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
        let first = if slices.is_empty() {
            0
        } else {
            vectors.append(&slices)?
        };
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
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&serde_json::to_string(&payload).unwrap_or_default());
        prepared.commit()?;
        self.reader.reload()?;
        drop(writer);
        self.publish(applied_seq)
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
        let rebuilt = snap.vectors.rebuilt(&|v| bit_get(&live, v))?;
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
        let with_vector = iter_bits(&live).filter(|&v| vectors.has_vector(v)).count() as u64;
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
            tantivy_union: Default::default(),
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
                bit_set(&mut bits, v as Vid, true);
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

/// vid → address of the live document holding it, as a dense array (vids are dense: a
/// hash map lookup per semantic candidate showed in hybrid profiles).
#[derive(Default)]
struct VidAddrs(Vec<DocAddress>);

/// Marks a vid no live document holds.
const NO_ADDR: DocAddress = DocAddress {
    segment_ord: u32::MAX,
    doc_id: u32::MAX,
};

impl VidAddrs {
    fn get(&self, vid: Vid) -> Option<DocAddress> {
        self.0
            .get(vid as usize)
            .copied()
            .filter(|a| a.segment_ord != u32::MAX)
    }
}

fn vid_addresses(searcher: &tantivy::Searcher, cols: &[Arc<SegmentTable>]) -> VidAddrs {
    let mut out = Vec::with_capacity(searcher.num_docs() as usize);
    for (ord, seg) in searcher.segment_readers().iter().enumerate() {
        for doc in seg.doc_ids_alive() {
            if let Some(v) = cols[ord].vid(doc) {
                let v = v as usize;
                if out.len() <= v {
                    out.resize(v + 1, NO_ADDR);
                }
                out[v] = DocAddress::new(ord as u32, doc);
            }
        }
    }
    VidAddrs(out)
}

struct Candidate {
    vid: Vid,
    addr: Option<DocAddress>,
}

impl Snapshot {
    /// The text index's searcher of this snapshot (tests and benches look inside).
    #[doc(hidden)]
    pub fn searcher(&self) -> &tantivy::Searcher {
        &self.text
    }

    /// The text index's fields.
    #[doc(hidden)]
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The configuration this snapshot searches with.
    #[doc(hidden)]
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// `query` plus `feedback_weight` times the mean of the vectors of `docs`, unit length;
    /// `None` when none of them has a vector.
    fn feedback_query(&self, query: &[f32], docs: &[Vid]) -> Option<Vec<f32>> {
        let mut sum = vec![0.0f32; query.len()];
        let mut found = 0usize;
        for v in docs.iter().filter_map(|v| self.vectors.vector(*v)) {
            sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
            found += 1;
        }
        if found == 0 {
            return None;
        }
        let share = self.config.feedback_weight / found as f32;
        let mut out: Vec<f32> = query.iter().zip(&sum).map(|(q, s)| q + share * s).collect();
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm <= f32::EPSILON {
            return None;
        }
        out.iter_mut().for_each(|x| *x /= norm);
        Some(out)
    }

    /// Size of a vid bitset covering every vid of this snapshot, in 64-bit words.
    fn vid_words(&self) -> usize {
        self.live.len()
    }

    pub fn applied_seq(&self) -> i64 {
        self.applied_seq
    }

    pub fn num_docs(&self) -> u64 {
        self.docs
    }

    pub fn is_live(&self, vid: Vid) -> bool {
        bit_get(&self.live, vid)
    }

    /// One document by id.
    pub fn get(&self, id: &str) -> Result<Option<CatalogDoc>> {
        let q = TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        let top = self.text.search(&q, &TopDocs::with_limit(1))?;
        match top.first() {
            Some((_, addr)) => Ok(Some(self.load(*addr)?)),
            None => Ok(None),
        }
    }

    /// Documents matching the filters (up to `limit`), e.g. parts compatible with a machine.
    pub fn browse(&self, filters: &Filters, limit: usize) -> Result<Vec<CatalogDoc>> {
        let q = text::with_filters(
            Box::new(tantivy::query::AllQuery),
            filters.clauses(&self.fields),
        );
        let top = self.text.search(&*q, &TopDocs::with_limit(limit.max(1)))?;
        top.into_iter().map(|(_, a)| self.load(a)).collect()
    }

    fn load(&self, addr: DocAddress) -> Result<CatalogDoc> {
        Ok(CatalogDoc::clone(&self.stored(addr)?.doc))
    }

    /// The decoded stored document at `addr`, from the doc cache if it holds it.
    fn stored(&self, addr: DocAddress) -> Result<Arc<Stored>> {
        let read = || -> Result<Arc<Stored>> {
            Ok(Arc::new(Stored {
                doc: Arc::new(self.read_stored(addr)?),
                tokens: Default::default(),
            }))
        };
        let Some(cache) = &self.doc_cache else {
            return read();
        };
        let key = (
            self.text.segment_reader(addr.segment_ord).segment_id(),
            addr.doc_id,
        );
        if let Some(doc) = cache.lock().get(&key) {
            return Ok(doc.clone());
        }
        let doc = read()?;
        cache.lock().put(key, doc.clone());
        Ok(doc)
    }

    /// Reads and decodes a stored document from the doc store.
    fn read_stored(&self, addr: DocAddress) -> Result<CatalogDoc> {
        let doc: tantivy::TantivyDocument = self.text.doc(addr)?;
        let json = doc
            .get_first(self.fields.doc_json)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        serde_json::from_str(json).map_err(|e| Error::CorruptIndex {
            path: PathBuf::from("<stored document>"),
            reason: e.to_string(),
        })
    }

    fn vid_of(&self, addr: DocAddress) -> Result<Vid> {
        Ok(self.cols[addr.segment_ord as usize]
            .vid(addr.doc_id)
            .unwrap_or(0) as Vid)
    }

    /// The match set of `clauses` (summed; none: every document, score 1) under the filters,
    /// by the accumulating executor, or by tantivy running `query()` (the same clauses with
    /// the filters) when [`Snapshot::use_tantivy_union`] asks for it.
    fn match_set(
        &self,
        query: impl FnOnce() -> Box<dyn Query>,
        clauses: &[text::Exec],
        term_filters: &[Box<dyn Query>],
        numeric: Option<&text::NumericFilter>,
        collector: &MatchSetCollector,
    ) -> Result<MatchSet> {
        Ok(if self.tantivy_union.load(Ordering::Relaxed) {
            self.text.search(&*query(), collector)?
        } else {
            crate::accumulate::search(
                &self.text,
                clauses,
                term_filters,
                numeric,
                collector,
                self.words.as_ref(),
            )?
        })
    }

    fn addr_of(&self, vid: Vid) -> Result<Option<DocAddress>> {
        Ok(self.addrs.get(vid))
    }

    /// Runs a search. The query vector is computed with the engine's embedder.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults> {
        self.search_embedded(req, None)
    }

    /// Runs a search through the result cache, with the query vector when the caller computed
    /// it already (the server embeds concurrent queries in batches, off the search threads);
    /// `None` embeds here if the mode needs it.
    pub fn search_embedded(
        &self,
        req: &SearchRequest,
        query_vec: Option<&[f32]>,
    ) -> Result<SearchResults> {
        Ok(self
            .through_result_cache(req, || self.search_vectored(req, query_vec, false))?
            .expect("a search that may embed always answers"))
    }

    /// `search`'s answer from the result cache, or computed and kept there (a deferred search,
    /// `None`, is not kept).
    fn through_result_cache(
        &self,
        req: &SearchRequest,
        search: impl FnOnce() -> Result<Option<SearchResults>>,
    ) -> Result<Option<SearchResults>> {
        let Some(cache) = &self.cache else {
            return search();
        };
        let key = format!("{req:?}");
        if let Some(hit) = cache.lock().get(&key) {
            return Ok(Some(hit.clone()));
        }
        let res = search()?;
        if let Some(res) = &res {
            cache.lock().put(key, res.clone());
        }
        Ok(res)
    }

    /// The query embedder of this snapshot, if a model is loaded.
    pub fn query_embedder(&self) -> Option<&Arc<CachedEmbedder>> {
        self.embedder.as_ref()
    }

    /// Runs a search with a precomputed query vector (benches, eval).
    pub fn search_with_vector(
        &self,
        req: &SearchRequest,
        query_vec: Option<&[f32]>,
    ) -> Result<SearchResults> {
        Ok(self
            .search_vectored(req, query_vec, false)?
            .expect("a search that may embed always answers"))
    }

    /// Runs a search unless it needs a query vector that is not at hand: `None` then, and the
    /// caller computes the vector (in a batch, off the search threads) and searches again with
    /// it. A query the lexical side pins by an exact code needs none (the pinned document's own
    /// vector stands in), nor does a lexical or browsing request, nor a text already cached.
    pub fn search_unless_embedding(&self, req: &SearchRequest) -> Result<Option<SearchResults>> {
        self.through_result_cache(req, || self.search_vectored(req, None, true))
    }

    /// The search. With `defer`, returns `None` where it would run the model.
    fn search_vectored(
        &self,
        req: &SearchRequest,
        query_vec: Option<&[f32]>,
        defer: bool,
    ) -> Result<Option<SearchResults>> {
        if req.text.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::InvalidRequest(format!(
                "query is longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        if let (Some(lo), Some(hi)) = (req.filters.price_min, req.filters.price_max) {
            if lo > hi {
                return Err(Error::InvalidRequest(
                    "price_min is greater than price_max".into(),
                ));
            }
        }
        let text = req.text.trim();
        let f = &self.fields;
        let filter_clauses = req.filters.clauses(f);
        let term_filters = req.filters.term_clauses(f);
        let numeric = req.filters.numeric();
        let lex = text::build_query(f, &self.vocab(), &self.config.synonyms, text);
        let browse = lex.is_browse;
        let mut mode = req.mode;
        if browse {
            mode = Mode::Lexical;
        }
        let want = req.offset + req.limit;
        let pin_codes = lex.pin_codes;
        // The filters add no terms of the highlighted fields, so the filtered query also
        // serves the snippet generators below.
        let filtered_text = text::with_filters(
            lex.query,
            filter_clauses.iter().map(|q| q.box_clone()).collect(),
        );

        // Lexical side: ranked candidates plus the whole match set (facets, total, vids).
        let (lex_top, lex_set) = if mode == Mode::Semantic {
            (Vec::new(), MatchSet::default())
        } else {
            // Pinning looks at the top LEXICAL_DEPTH in every mode, so what is pinned never
            // depends on the page asked for.
            let depth = LEXICAL_DEPTH.max(want);
            let collector = MatchSetCollector {
                with_facets: true,
                with_vids: mode == Mode::Hybrid,
                vid_words: self.vid_words(),
                tables: self.cols.clone(),
                top: depth,
                part_boost: lex.part_boost,
            };
            let mut set = self.match_set(
                || filtered_text.box_clone(),
                &lex.clauses,
                &term_filters,
                numeric.as_ref(),
                &collector,
            )?;
            (std::mem::take(&mut set.top), set)
        };
        let lex_cands: Vec<Candidate> = lex_top
            .iter()
            .map(|(_, addr)| {
                let vid = self.vid_of(*addr)?;
                Ok(Candidate {
                    vid,
                    addr: Some(*addr),
                })
            })
            .collect::<Result<_>>()?;

        // Exact code matches, best tier first: sku, then a machine of that model, then a part
        // of that series; lexical order within a tier.
        let pinned: Vec<Vid> = {
            let codes: Vec<text::SegmentCodes> = if pin_codes.is_empty() {
                Vec::new()
            } else {
                self.cols
                    .iter()
                    .map(|t| t.resolve_codes(&pin_codes))
                    .collect()
            };
            let mut p: Vec<(u8, usize, Vid)> = Vec::new();
            for (rank, (c, (score, _))) in lex_cands
                .iter()
                .zip(&lex_top)
                .enumerate()
                .take(LEXICAL_DEPTH)
            {
                let tier = match c.addr {
                    Some(addr) if !codes.is_empty() => self.cols[addr.segment_ord as usize]
                        .pin_tier(addr.doc_id, &codes[addr.segment_ord as usize]),
                    _ => None,
                };
                // Documents meeting a query's hard constraint (a part declared for the named
                // machine that matches the need) follow the exact codes.
                let tier = tier.or((*score >= text::CONSTRAINT_SCORE).then_some(3));
                if let Some(t) = tier {
                    p.push((t, rank, c.vid));
                }
            }
            p.sort();
            p.into_iter().map(|x| x.2).collect()
        };
        // Each pinned document's place in `pinned` (up to LEXICAL_DEPTH of them).
        let mut pin_rank: HashMap<Vid, usize> = HashMap::with_capacity(pinned.len());
        for (i, v) in pinned.iter().enumerate() {
            pin_rank.entry(*v).or_insert(i);
        }
        let code_pinned = !pinned.is_empty() && !pin_codes.is_empty();

        // The vector the semantic side searches with; hybrid degrades to lexical without one.
        // A query that names a part number or model exactly says little in words (an embedding
        // of `0903573` is noise); what is like it is what is like the document it names, so
        // that document's own vector stands in for the query's (and nothing is embedded).
        let (doc_vec, owned_vec);
        let qvec: Option<&[f32]> = if mode == Mode::Lexical {
            None
        } else if let Some(v) = (mode == Mode::Hybrid && code_pinned)
            .then(|| self.vectors.vector(pinned[0]))
            .flatten()
        {
            doc_vec = v;
            Some(doc_vec.as_slice())
        } else if let Some(v) = query_vec {
            Some(v)
        } else {
            // Deferred, a vector not in the cache is the caller's to compute.
            let vector = match &self.embedder {
                Some(e) if defer => match e.cached(&self.semantic_text(text)) {
                    Some(v) => Some(Ok(v)),
                    None => return Ok(None),
                },
                Some(e) => Some(e.embed_query(&self.semantic_text(text))),
                None => None,
            };
            match vector {
                Some(Ok(v)) => {
                    owned_vec = v;
                    Some(owned_vec.as_slice())
                }
                Some(Err(e)) if mode == Mode::Semantic => return Err(e),
                None if mode == Mode::Semantic => {
                    return Err(Error::Embedding("no embedding model loaded".into()))
                }
                _ => None,
            }
        };
        if qvec.is_none() {
            mode = Mode::Lexical;
        }

        // Pseudo-relevance feedback: the embedding model reads specs and codes poorly, so in
        // hybrid mode the semantic query leans toward the first lexical hits, and the semantic
        // list brings what is like them (cross-brand equivalents, re-worded cards) instead of
        // what merely sounds like the query.
        let feedback_vec;
        let qvec: Option<&[f32]> = match qvec {
            Some(qv)
                if mode == Mode::Hybrid
                    && !code_pinned
                    && self.config.feedback_docs > 0
                    && self.config.feedback_weight > 0.0 =>
            {
                let firsts: Vec<Vid> = lex_cands
                    .iter()
                    .take(self.config.feedback_docs)
                    .map(|c| c.vid)
                    .collect();
                match self.feedback_query(qv, &firsts) {
                    Some(v) => {
                        feedback_vec = v;
                        Some(&feedback_vec[..])
                    }
                    None => Some(qv),
                }
            }
            q => q,
        };

        // Semantic side: top SEMANTIC_DEPTH among live documents passing the filters.
        let mut sem: Vec<(Vid, f32)> = Vec::new();
        if let Some(qv) = qvec {
            let k = if mode == Mode::Semantic {
                SEMANTIC_DEPTH.max(want)
            } else {
                SEMANTIC_DEPTH
            };
            if req.filters.is_empty() && self.docs <= EXACT_CATALOG_MAX {
                // A catalog this small is scanned: a fraction of a millisecond, exact, and its
                // ranking does not depend on the graph's (thread-timing dependent) shape.
                sem = self.vectors.exact_search(qv, k, &mut iter_bits(&self.live));
            } else if req.filters.is_empty() {
                sem = self
                    .vectors
                    .search(qv, k, None, 1.0, &|v| bit_get(&self.live, v));
            } else {
                let collector = MatchSetCollector {
                    with_facets: mode == Mode::Semantic,
                    with_vids: true,
                    vid_words: self.vid_words(),
                    tables: self.cols.clone(),
                    top: 0,
                    part_boost: 0.0,
                };
                let set = self.match_set(
                    || {
                        text::with_filters(
                            Box::new(tantivy::query::AllQuery),
                            req.filters.clauses(f),
                        )
                    },
                    &[],
                    &term_filters,
                    numeric.as_ref(),
                    &collector,
                )?;
                let share = set.count as f64 / self.docs.max(1) as f64;
                sem = if set.count <= EXACT_SEARCH_MAX || share < EXACT_SEARCH_SHARE {
                    let mut it = iter_bits(&set.vids);
                    self.vectors.scan_search(qv, k, &mut it)
                } else {
                    self.vectors.search(qv, k, None, share, &|v| {
                        bit_get(&self.live, v) && set.contains(v)
                    })
                };
            }
        }

        // Fuse.
        let mut ordered: Vec<(Vid, f32, Option<DocAddress>)> = Vec::new();
        let mut total = lex_set.count;
        let mut facets = Facets {
            kind: lex_set.kind.clone(),
            category: lex_set.category.clone(),
            brand: lex_set.brand.clone(),
        };
        match mode {
            Mode::Lexical => {
                for (c, (score, _)) in lex_cands.iter().zip(&lex_top) {
                    ordered.push((c.vid, *score, c.addr));
                }
            }
            Mode::Semantic => {
                total = sem.len() as u64;
                facets = facets_of(self, &sem)?;
                for (vid, score) in &sem {
                    ordered.push((*vid, *score, None));
                }
            }
            Mode::Hybrid => {
                let addr_by_vid: HashMap<Vid, DocAddress> = lex_cands
                    .iter()
                    .filter_map(|c| c.addr.map(|a| (c.vid, a)))
                    .collect();
                let lex_ids: Vec<Vid> = lex_cands
                    .iter()
                    .take(LEXICAL_DEPTH)
                    .map(|c| c.vid)
                    .collect();
                let sem_ids: Vec<Vid> = sem.iter().map(|x| x.0).collect();
                // The embedding model is much weaker on English queries over this Russian
                // catalog (dev set: semantic nDCG@10 0.17 vs 0.42 overall), so its vote counts
                // less when the query's words are Latin.
                let mut sem_weight = self.config.rrf.semantic_weight;
                if latin_words_query(text) {
                    sem_weight *= self.config.rrf.latin_semantic_factor;
                }
                // A part-number query has found its target; neighbours by meaning matter less
                // than neighbours by code.
                if code_pinned {
                    sem_weight *= self.config.rrf.code_semantic_factor;
                }
                let fused = rrf(
                    &[
                        (&lex_ids, self.config.rrf.lexical_weight),
                        (&sem_ids, sem_weight),
                    ],
                    self.config.rrf.k,
                );
                let extra: Vec<(Vid, f32)> = sem
                    .iter()
                    .filter(|(v, _)| !lex_set.contains(*v))
                    .copied()
                    .collect();
                total += extra.len() as u64;
                if !extra.is_empty() {
                    let add = facets_of(self, &extra)?;
                    facets = merge_facets(facets, add);
                }
                let max = fused.first().map_or(0.0, |x| x.1);
                for vid in &pinned {
                    ordered.push((*vid, max + 1.0, addr_by_vid.get(vid).copied()));
                }
                for (vid, score) in fused {
                    if !pin_rank.contains_key(&vid) {
                        ordered.push((vid, score, addr_by_vid.get(&vid).copied()));
                    }
                }
                // Lexical matches beyond the fusion depth follow in BM25 order.
                for c in lex_cands.iter().skip(LEXICAL_DEPTH) {
                    ordered.push((c.vid, 0.0, c.addr));
                }
            }
        }
        if mode == Mode::Lexical && !pinned.is_empty() {
            // Pinned documents in tier order, as in hybrid, then the rest in BM25 order.
            let (mut head, tail): (Vec<_>, Vec<_>) = ordered
                .into_iter()
                .partition(|item| pin_rank.contains_key(&item.0));
            head.sort_by_key(|item| pin_rank.get(&item.0).copied());
            head.extend(tail);
            ordered = head;
        }

        let mut hits = Vec::new();
        let gens = if req.highlight && !browse {
            Some((
                Highlighter::create(&self.text, &*filtered_text, f.name)?,
                Highlighter::create(&self.text, &*filtered_text, f.description)?,
            ))
        } else {
            None
        };
        for (vid, score, addr) in ordered.into_iter().skip(req.offset).take(req.limit) {
            let addr = match addr {
                Some(a) => a,
                None => match self.addr_of(vid)? {
                    Some(a) => a,
                    None => continue,
                },
            };
            let stored = self.stored(addr)?;
            let mut highlights = Vec::new();
            if let Some((gn, gd)) = gens
                .as_ref()
                .filter(|(n, d)| !n.is_empty() || !d.is_empty())
            {
                let doc = &stored.doc;
                let [name, description] = stored.tokens();
                if let Some(h) = gn.highlight(&doc.name, name) {
                    highlights.push(("name", h));
                }
                if let Some(h) = gd.highlight(&doc.description, description) {
                    highlights.push(("description", h));
                }
            }
            hits.push(Hit {
                exact: pin_rank.contains_key(&vid),
                doc: stored.doc.clone(),
                score,
                highlights,
            });
        }
        Ok(Some(SearchResults {
            total,
            hits,
            facets,
            mode,
        }))
    }

    /// Makes lexical queries of this snapshot run through tantivy's union (`true`) or the
    /// accumulating executor (`false`, the default), for side-by-side measurement.
    #[doc(hidden)]
    pub fn use_tantivy_union(&self, on: bool) {
        self.tantivy_union.store(on, Ordering::Relaxed);
    }

    /// This snapshot's dictionary, typo lookups cached in its word cache.
    fn vocab(&self) -> text::CachedVocab<'_> {
        text::CachedVocab {
            searcher: &self.text,
            cache: self.words.as_ref(),
        }
    }

    /// The text the query embedding is computed from (see [`text::semantic_text`]).
    pub fn semantic_text(&self, text: &str) -> String {
        text::semantic_text(
            &self.fields,
            &self.vocab(),
            &self.config.synonyms,
            text.trim(),
        )
    }

    /// Prefix completion over names, models and part numbers.
    pub fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>> {
        let words: Vec<&str> = prefix.split_whitespace().collect();
        let Some(last) = words.last() else {
            return Ok(Vec::new());
        };
        let f = &self.fields;
        let mut clauses: Vec<(tantivy::query::Occur, Box<dyn Query>)> = Vec::new();
        for w in &words[..words.len() - 1] {
            let t = crate::analysis::normalize(w);
            clauses.push((
                tantivy::query::Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.suggest, &t),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        let last_norm = crate::analysis::normalize(last);
        let last_code = crate::analysis::fold_code(last);
        let mut alts: Vec<(tantivy::query::Occur, Box<dyn Query>)> = Vec::new();
        for t in [last_norm, last_code] {
            if !t.is_empty() {
                alts.push((
                    tantivy::query::Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.suggest, &t),
                        IndexRecordOption::WithFreqs,
                    )),
                ));
            }
        }
        if alts.is_empty() {
            return Ok(Vec::new());
        }
        clauses.push((
            tantivy::query::Occur::Must,
            Box::new(tantivy::query::BooleanQuery::new(alts)),
        ));
        let q = tantivy::query::BooleanQuery::new(clauses);
        let top = self.text.search(&q, &TopDocs::with_limit(limit * 3))?;
        let mut out: Vec<Suggestion> = Vec::new();
        for (_, addr) in top {
            let d = self.load(addr)?;
            if out.iter().any(|s| s.name == d.name) {
                continue;
            }
            out.push(Suggestion {
                id: d.id,
                name: d.name,
                sku: d.sku,
                model: d.model,
            });
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// All live vids (recall checks, diagnostics).
    pub fn live_vids(&self) -> impl Iterator<Item = Vid> + '_ {
        iter_bits(&self.live)
    }

    /// Number of segments of the text index in this snapshot.
    pub fn text_segments(&self) -> usize {
        self.text.segment_readers().len()
    }

    pub fn vectors(&self) -> &VectorIndex {
        &self.vectors
    }

    /// The lexical query a text turns into, for diagnostics.
    pub fn explain(&self, text: &str) -> String {
        let lex = text::build_query(&self.fields, &self.vocab(), &self.config.synonyms, text);
        format!(
            "{:?}\npinned codes: {:?}\nspare-part boost: {}",
            lex.query, lex.pin_codes, lex.part_boost
        )
    }

    /// Up to `limit` live documents that have no vector yet.
    pub fn docs_without_vector(&self, limit: usize) -> Result<Vec<CatalogDoc>> {
        let mut out = Vec::new();
        for vid in self.live_vids() {
            if out.len() >= limit {
                break;
            }
            if !self.vectors.has_vector(vid) {
                if let Some(addr) = self.addr_of(vid)? {
                    out.push(self.load(addr)?);
                }
            }
        }
        Ok(out)
    }
}

fn facets_of(snap: &Snapshot, vids: &[(Vid, f32)]) -> Result<Facets> {
    // Count by segment and ordinal first and resolve each counted ordinal to its string once:
    // dictionary lookups cost far more than counting.
    let mut ords: Vec<[Vec<u64>; 3]> = snap
        .cols
        .iter()
        .map(|c| std::array::from_fn(|i| vec![0; c.facet_len(i)]))
        .collect();
    for (vid, _) in vids {
        if let Some(addr) = snap.addr_of(*vid)? {
            let seg = addr.segment_ord as usize;
            for (i, counts) in ords[seg].iter_mut().enumerate() {
                if let Some(c) = snap.cols[seg]
                    .facet_ord(addr.doc_id, i)
                    .and_then(|o| counts.get_mut(o as usize))
                {
                    *c += 1;
                }
            }
        }
    }
    let resolve = |i: usize| {
        let mut m: HashMap<&str, u64> = HashMap::new();
        for (seg, counts) in ords.iter().enumerate() {
            for (ord, &n) in counts[i].iter().enumerate() {
                if n > 0 {
                    if let Some(s) = snap.cols[seg].facet_str(i, ord as u32) {
                        *m.entry(s).or_default() += n;
                    }
                }
            }
        }
        let mut v: Vec<(String, u64)> = m.into_iter().map(|(s, n)| (s.to_string(), n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    Ok(Facets {
        kind: resolve(0),
        category: resolve(1),
        brand: resolve(2),
    })
}

/// True when most letter-bearing words of the query are Latin and not codes (an English query).
fn latin_words_query(text: &str) -> bool {
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic) && !crate::analysis::is_code_like(w))
        .collect();
    let latin = words
        .iter()
        .filter(|w| {
            w.chars()
                .filter(|c| c.is_alphabetic())
                .all(|c| c.is_ascii_alphabetic())
        })
        .count();
    words.len() >= 2 && latin * 3 >= words.len() * 2
}

fn merge_facets(a: Facets, b: Facets) -> Facets {
    let merge = |x: Vec<(String, u64)>, y: Vec<(String, u64)>| {
        let mut m: HashMap<String, u64> = x.into_iter().collect();
        for (k, v) in y {
            *m.entry(k).or_default() += v;
        }
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    Facets {
        kind: merge(a.kind, b.kind),
        category: merge(a.category, b.category),
        brand: merge(a.brand, b.brand),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::doc::Kind;
    use crate::Embedder;
    use std::collections::HashSet;

    fn doc(id: &str, name: &str) -> CatalogDoc {
        serde_json::from_value(serde_json::json!({"id": id, "kind": "spare_part", "name": name}))
            .expect("a valid document")
    }

    /// An in-memory engine (no vectors) with the synonym dictionary `synonyms`, holding `docs`
    /// in one commit.
    pub(crate) fn engine_with(synonyms: &str, docs: Vec<CatalogDoc>) -> Engine {
        let mut config = EngineConfig::new("t", 8);
        config.synonyms = Arc::new(Synonyms::parse(synonyms).expect("synonyms parse"));
        let engine = Engine::in_memory(config).unwrap();
        let changes = docs
            .into_iter()
            .map(|doc| Change::Upsert { doc, vector: None })
            .collect();
        engine.apply(changes, 1).unwrap();
        engine
    }

    /// Applies one upsert (without a vector) as change `seq`.
    fn upsert(engine: &Engine, doc: CatalogDoc, seq: i64) {
        let change = Change::Upsert { doc, vector: None };
        engine.apply(vec![change], seq).unwrap();
    }

    /// Spare parts named `names`, with ids `d0`, `d1`, …
    fn named(names: &[&str]) -> Vec<CatalogDoc> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| doc(&format!("d{i}"), n))
            .collect()
    }

    /// The lexical answer to `q`, past the result cache.
    fn lexical(snap: &Snapshot, q: &str) -> SearchResults {
        snap.search_with_vector(&SearchRequest::new(q, Mode::Lexical), None)
            .unwrap()
    }

    /// A brand typed in Cyrillic that does not transliterate letter for letter (`трумф` for
    /// Trumpf) finds the brand's cards through the near stems of its transliteration, and
    /// only them; the executor and tantivy's union agree on it.
    #[test]
    fn a_loosely_transliterated_brand_finds_its_cards() {
        let engine = engine_with(
            "",
            named(&[
                "Лазерный станок Trumpf TruLaser",
                "Сопло Trumpf 1.5 мм",
                "Сопло Bystronic 1.5 мм",
                "Насос смазки",
            ]),
        );
        let snap = engine.snapshot();
        let ids = |r: &SearchResults| -> HashSet<String> {
            r.hits.iter().map(|h| h.doc.id.clone()).collect()
        };
        let res = lexical(&snap, "трумф");
        assert_eq!(ids(&res), HashSet::from(["d0".into(), "d1".into()]));
        snap.use_tantivy_union(true);
        let union = lexical(&snap, "трумф");
        snap.use_tantivy_union(false);
        assert_eq!(ids(&union), ids(&res));
        let res = lexical(&snap, "сопло трумф");
        assert_eq!(res.hits[0].doc.id, "d1", "both words beat one");
        assert_eq!(lexical(&snap, "тромбон").total, 0, "out of reach");
    }

    /// A query whose words the index does not know (a part number nobody stocks) finds
    /// nothing lexically; only a query without words browses the catalog.
    #[test]
    fn an_unknown_part_number_matches_nothing_instead_of_browsing() {
        let engine = engine_with(
            "",
            named(&[
                "Подшипник 6205-2RS",
                "Ремень клиновой A-1250",
                "Насос смазки",
            ]),
        );
        let snap = engine.snapshot();
        for q in ["NN3018K", "qqzx 99x77"] {
            let res = lexical(&snap, q);
            assert_eq!((res.total, res.hits.len()), (0, 0), "{q}");
            snap.use_tantivy_union(true);
            assert_eq!(lexical(&snap, q).total, 0, "{q} under tantivy");
            snap.use_tantivy_union(false);
        }
        assert_eq!(lexical(&snap, "").total, 3, "an empty query browses");
        assert_eq!(
            lexical(&snap, "для").total,
            3,
            "so does one of stopwords only"
        );
        assert_eq!(lexical(&snap, "6205-2RS").total, 1);
    }

    /// A hashing embedder that counts the texts it embeds.
    struct Counting {
        inner: crate::HashingEmbedder,
        texts: std::sync::atomic::AtomicUsize,
    }

    impl Embedder for Counting {
        fn model_id(&self) -> &str {
            "counting"
        }
        fn dim(&self) -> usize {
            self.inner.dim()
        }
        fn embed(&self, texts: &[&str], kind: crate::TextKind) -> Result<Vec<Vec<f32>>> {
            self.texts.fetch_add(texts.len(), Ordering::SeqCst);
            self.inner.embed(texts, kind)
        }
    }

    /// The match-set collector's own top-k (which replaced a second `TopDocs` collector) ranks
    /// as `TopDocs` does, ties by address included, across segments and for any depth; the part
    /// boost lifts spare parts by exactly its amount.
    #[test]
    fn the_collector_top_ranks_as_top_docs() {
        let engine = Engine::in_memory(EngineConfig::new("t", 8)).unwrap();
        let words = ["подшипник", "шпиндель", "ремень", "насос", "фильтр"];
        for batch in 0..3 {
            let changes = (0..60)
                .map(|i| {
                    let n = batch * 60 + i;
                    // Repeated names give many equal scores.
                    let name = format!("{} {}", words[n % 5], words[(n / 5) % 5]);
                    let mut d = doc(&format!("d{n}"), &name);
                    if n % 3 == 0 {
                        d.kind = Kind::Product;
                    }
                    Change::Upsert {
                        doc: d,
                        vector: None,
                    }
                })
                .collect();
            engine.apply(changes, batch as i64 + 1).unwrap();
        }
        let snap = engine.snapshot();
        assert!(snap.text.segment_readers().len() > 1, "several segments");
        for q in ["подшипник шпиндель", "ремень", "насос фильтр подшипник"]
        {
            let lex = text::build_query(&snap.fields, &snap.text, &snap.config.synonyms, q);
            for k in [1, 3, 7, 50, 500] {
                let expected = snap
                    .text
                    .search(&*lex.query, &TopDocs::with_limit(k))
                    .unwrap();
                let collector = |part_boost| MatchSetCollector {
                    with_facets: false,
                    with_vids: false,
                    vid_words: snap.vid_words(),
                    tables: snap.cols.clone(),
                    top: k,
                    part_boost,
                };
                let got = snap.text.search(&*lex.query, &collector(0.0)).unwrap();
                assert_eq!(got.top, expected, "{q} k={k}");
                if k == 500 {
                    assert_eq!(
                        got.top.len() as u64,
                        got.count,
                        "{q}: every match is ranked"
                    );
                    let boosted = snap.text.search(&*lex.query, &collector(2.5)).unwrap();
                    let score_of = |top: &[(f32, DocAddress)], a: DocAddress| {
                        top.iter().find(|x| x.1 == a).map(|x| x.0).unwrap()
                    };
                    for (score, addr) in &got.top {
                        let part = snap.load(*addr).unwrap().kind == Kind::SparePart;
                        let lift = score_of(&boosted.top, *addr) - score;
                        assert!((lift - if part { 2.5 } else { 0.0 }).abs() < 1e-4, "{q}");
                    }
                }
            }
        }
    }

    /// An exact part-number query ranks by the pinned document's own vector and embeds
    /// nothing; a descriptive query is embedded once.
    #[test]
    fn an_exact_code_hybrid_query_embeds_nothing() {
        let counting = Arc::new(Counting {
            inner: crate::HashingEmbedder::new(16),
            texts: Default::default(),
        });
        let engine = Engine::in_memory(EngineConfig::new("counting", 16)).unwrap();
        engine.set_embedder(Some(Arc::new(CachedEmbedder::new(counting.clone(), 8))));
        let docs: Vec<CatalogDoc> = [
            ("P-1", "6205-2RS", "Подшипник шариковый 6205-2RS"),
            ("P-2", "B-1600", "Ремень клиновой B-1600"),
            ("P-3", "6206-ZZ", "Подшипник шариковый 6206-ZZ"),
        ]
        .iter()
        .map(|(id, sku, name)| {
            serde_json::from_value(serde_json::json!(
                {"id": id, "kind": "spare_part", "sku": sku, "name": name}))
            .unwrap()
        })
        .collect();
        let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
        let vectors = counting
            .inner
            .embed(&names, crate::TextKind::Passage)
            .unwrap();
        let changes = docs
            .into_iter()
            .zip(vectors)
            .map(|(doc, v)| Change::Upsert {
                doc,
                vector: Some(v),
            })
            .collect();
        engine.apply(changes, 1).unwrap();
        let embedded = || counting.texts.load(Ordering::SeqCst);
        let res = engine
            .snapshot()
            .search(&SearchRequest::new("6205-2RS", Mode::Hybrid))
            .unwrap();
        assert_eq!(res.mode, Mode::Hybrid);
        assert_eq!(res.hits[0].doc.id, "P-1");
        assert!(res.hits[0].exact);
        assert_eq!(embedded(), 0, "the code query was embedded");
        let res = engine
            .snapshot()
            .search(&SearchRequest::new("ремень для станка", Mode::Hybrid))
            .unwrap();
        assert_eq!(res.mode, Mode::Hybrid);
        assert_eq!(embedded(), 1);
    }

    /// Embeds every query as the first axis.
    struct AxisQuery;

    impl Embedder for AxisQuery {
        fn model_id(&self) -> &str {
            "axis"
        }
        fn dim(&self) -> usize {
            4
        }
        fn embed(&self, texts: &[&str], _kind: crate::TextKind) -> Result<Vec<Vec<f32>>> {
            Ok(texts.iter().map(|_| vec![1.0, 0.0, 0.0, 0.0]).collect())
        }
    }

    /// With feedback, the semantic side of hybrid brings a card like the lexical hit (and
    /// sharing no word with the query) before a card that is only like the query's embedding.
    #[test]
    fn feedback_brings_what_is_like_the_first_lexical_hits() {
        let order = |feedback_docs: usize| -> Vec<String> {
            let mut cfg = EngineConfig::new("axis", 4);
            cfg.feedback_docs = feedback_docs;
            cfg.result_cache = 0;
            let engine = Engine::in_memory(cfg).unwrap();
            engine.set_embedder(Some(Arc::new(CachedEmbedder::new(Arc::new(AxisQuery), 8))));
            let changes = [
                ("X", "Винт шариковый SFU1605", [0.0, 1.0, 0.0, 0.0]),
                ("Y", "Пара качения HIWIN R16", [0.0, 0.96, 0.28, 0.0]),
                ("Z", "Ремень клиновой A-1250", [0.8, 0.0, 0.0, 0.6]),
            ]
            .into_iter()
            .map(|(id, name, v)| Change::Upsert {
                doc: doc(id, name),
                vector: Some(v.to_vec()),
            })
            .collect();
            engine.apply(changes, 1).unwrap();
            let res = engine
                .snapshot()
                .search(&SearchRequest::new("винт", Mode::Hybrid))
                .unwrap();
            res.hits.iter().map(|h| h.doc.id.clone()).collect()
        };
        assert_eq!(order(2), ["X", "Y", "Z"]);
        assert_eq!(order(0), ["X", "Z", "Y"]);
    }

    #[test]
    fn cached_results_never_outlive_their_snapshot() {
        let engine = Engine::in_memory(EngineConfig::new("none", 8)).unwrap();
        let upsert = |d: CatalogDoc| Change::Upsert {
            doc: d,
            vector: None,
        };
        engine
            .apply(vec![upsert(doc("A", "Подшипник 6205"))], 1)
            .unwrap();
        let req = SearchRequest::new("подшипник", Mode::Lexical);
        let first = engine.snapshot().search(&req).unwrap();
        assert_eq!(first.total, 1);
        // Served from the cache: same answer.
        assert_eq!(engine.snapshot().search(&req).unwrap().total, 1);
        engine
            .apply(vec![upsert(doc("A", "Ремень клиновой"))], 2)
            .unwrap();
        let after = engine.snapshot().search(&req).unwrap();
        assert_eq!(
            after.total, 0,
            "a new snapshot does not reuse the old answers"
        );
    }

    /// The accumulating executor answers as tantivy's union of the same query: the same total
    /// and facets, and the same ranked scores up to float rounding (the union sums clauses in
    /// an order that shifts as its scorers run out), across segments, deletes and filters, for
    /// queries that take every kind of clause (terms, codes, constants, synonyms, typo and
    /// transliteration repairs, quantities, layout repair); with words read from their
    /// impacts and, without the word cache, from their six postings lists.
    #[test]
    fn the_accumulating_executor_answers_as_tantivys_union() {
        executor_answers_as_tantivys_union(EngineConfig::new("t", 8).word_cache_bytes);
        executor_answers_as_tantivys_union(0);
    }

    fn executor_answers_as_tantivys_union(word_cache_bytes: usize) {
        let mut config = EngineConfig::new("t", 8);
        config.word_cache_bytes = word_cache_bytes;
        config.synonyms = Arc::new(
            Synonyms::parse(include_str!("../../server/synonyms.txt")).expect("synonyms parse"),
        );
        let engine = Engine::in_memory(config).unwrap();
        let docs = crate::fixture::catalog(3000, 5);
        for (i, chunk) in docs.chunks(1000).enumerate() {
            let changes = chunk
                .iter()
                .map(|d| Change::Upsert {
                    doc: d.clone(),
                    vector: None,
                })
                .collect();
            engine.apply(changes, i as i64 + 1).unwrap();
        }
        let deletes = docs
            .iter()
            .step_by(7)
            .map(|d| Change::Delete { id: d.id.clone() })
            .collect();
        engine.apply(deletes, 10).unwrap();
        let snap = engine.snapshot();
        assert!(snap.text.segment_readers().len() > 1, "several segments");
        let deleted: u32 = snap
            .text
            .segment_readers()
            .iter()
            .map(|r| r.num_deleted_docs())
            .sum();
        assert!(
            deleted > 400,
            "deletes are in the alive bitsets ({deleted})"
        );
        let queries: Vec<&str> = crate::fixture::QUERIES
            .iter()
            .copied()
            .chain([
                "подшибник шпинделя",
                "хаас",
                "сименс серводвигатель",
                "насос 370 Вт",
                "ремень на станок 16К20",
                "ghjdjl",
                "ball screw 16 mm",
                // Browsing: every document passing the filters (the semantic side's filter
                // set is computed the same way).
                "",
            ])
            .collect();
        let brand = docs[0].brand.clone();
        let mut prices: Vec<f64> = docs.iter().filter_map(|d| d.price_rub).collect();
        prices.sort_by(f64::total_cmp);
        assert!(
            docs.iter().any(|d| d.price_rub.is_none()) && docs.iter().any(|d| d.in_stock == 0),
            "the fixture has unpriced and out-of-stock cards"
        );
        let filter_sets = [
            Filters::default(),
            Filters {
                kind: Some(Kind::SparePart),
                ..Filters::default()
            },
            Filters {
                in_stock: Some(true),
                brand: Some(brand),
                ..Filters::default()
            },
            // The numeric filters run on the segment tables here, as range queries there.
            Filters {
                in_stock: Some(false),
                price_min: Some(prices[prices.len() / 4]),
                ..Filters::default()
            },
            Filters {
                kind: Some(Kind::SparePart),
                price_min: Some(prices[prices.len() / 4]),
                price_max: Some(prices[prices.len() / 2]),
                ..Filters::default()
            },
        ];
        let mut compared = 0;
        for q in &queries {
            for filters in &filter_sets {
                let mut req = SearchRequest::new(*q, Mode::Lexical);
                req.filters = filters.clone();
                req.limit = 60;
                // Past the result cache, which would answer the second from the first.
                snap.use_tantivy_union(true);
                let union = snap.search_with_vector(&req, None).unwrap();
                snap.use_tantivy_union(false);
                let accum = snap.search_with_vector(&req, None).unwrap();
                assert_eq!(union.total, accum.total, "total of {q} {filters:?}");
                assert_eq!(union.facets, accum.facets, "facets of {q} {filters:?}");
                assert_eq!(union.hits.len(), accum.hits.len(), "hits of {q}");
                let close = |a: f32, b: f32| (a - b).abs() <= 1e-4 * a.abs().max(1.0);
                for (u, a) in union.hits.iter().zip(&accum.hits) {
                    assert!(close(u.score, a.score), "{q}: {} vs {}", u.score, a.score);
                }
                // Documents scored clearly above the last one returned are the same documents.
                if let Some(last) = accum.hits.last().map(|h| h.score) {
                    let above = |r: &SearchResults| -> HashSet<String> {
                        r.hits
                            .iter()
                            .filter(|h| h.score > last && !close(h.score, last))
                            .map(|h| h.doc.id.clone())
                            .collect()
                    };
                    assert_eq!(above(&union), above(&accum), "{q} {filters:?}");
                }
                compared += usize::from(union.total > 0);
            }
        }
        assert!(compared >= 50, "most queries match something ({compared})");
        let cached = snap.words.as_ref().map_or(0, |w| w.bytes());
        assert_eq!(
            cached > 0,
            word_cache_bytes > 0,
            "impacts cached: {cached} bytes"
        );
    }

    /// Word impacts carry the statistics of the snapshot they were computed on (BM25's idf and
    /// average length): the next snapshot computes its own, so a card scores as tantivy scores
    /// it there, not as it scored before the catalog changed.
    #[test]
    fn word_impacts_never_outlive_their_snapshot() {
        let engine = engine_with(
            "",
            named(&["Подшипник 6205", "Ремень клиновой", "Насос смазки"]),
        );
        let score = |snap: &Snapshot, union: bool| {
            snap.use_tantivy_union(union);
            let res = lexical(snap, "подшипник");
            snap.use_tantivy_union(false);
            let hit = res
                .hits
                .iter()
                .find(|h| h.doc.id == "d0")
                .expect("d0 matches");
            hit.score
        };
        let before = engine.snapshot();
        let first = score(&before, false);
        assert!(before.words.as_ref().is_some_and(|w| w.bytes() > 0));
        // More cards with the word: its idf falls.
        let more = (0..5)
            .map(|i| Change::Upsert {
                doc: doc(&format!("p{i}"), &format!("Подшипник {i}")),
                vector: None,
            })
            .collect();
        engine.apply(more, 2).unwrap();
        let after = engine.snapshot();
        let (accum, union) = (score(&after, false), score(&after, true));
        assert!(
            (accum - union).abs() <= 1e-4 * union.abs(),
            "{accum} vs {union}"
        );
        assert!(accum < first - 1e-3, "{accum} after, {first} before");
        assert_eq!(
            score(&before, false),
            first,
            "the old snapshot keeps its own"
        );
    }

    /// A typo's near terms are looked up once per snapshot and kept in its word cache; a
    /// snapshot whose dictionary gained the word finds it, the old one still does not.
    #[test]
    fn typo_lookups_belong_to_their_snapshot() {
        let engine = engine_with("", named(&["Ремень клиновой", "Насос смазки"]));
        let before = engine.snapshot();
        assert_eq!(before.words.as_ref().map(|w| w.bytes()), Some(0));
        assert_eq!(lexical(&before, "подшибник").total, 0);
        assert!(
            before.words.as_ref().is_some_and(|w| w.bytes() > 0),
            "the empty lookup is kept"
        );
        upsert(&engine, doc("p1", "Подшипник 6205"), 2);
        let after = engine.snapshot();
        let res = lexical(&after, "подшибник");
        assert_eq!(res.total, 1);
        assert_eq!(res.hits[0].doc.id, "p1");
        assert_eq!(
            lexical(&before, "подшибник").total,
            0,
            "the old snapshot keeps its own"
        );
    }

    /// Multi-word synonym expansions and the compat/need constraint score only where every
    /// part matches: cards holding part of an expansion (`винтовая пара`, `пара колёс`) are not
    /// matched by it, as under tantivy's intersection, in both executors.
    #[test]
    fn partial_expansions_match_in_neither_executor() {
        let mut docs = named(&[
            "Шарико-винтовая пара SFU1605",
            "Винтовая пара трапецеидальная",
            "Пара колёс зубчатых",
            "Шарико-винтовая пара SFU2005 для 16К20",
            "Манжета армированная 25x47x7",
            "Манжета резиновая",
            "Уплотнение вала",
            "Швп в сборе",
        ]);
        docs[3].compatible_models = vec!["16К20".into()];
        let engine = engine_with(
            "швп = шарико-винтовая пара\nуплотнение = манжета армированная",
            docs,
        );
        upsert(&engine, doc("machine", "Станок токарный 16К20"), 2);
        let snap = engine.snapshot();
        let ids = |r: &SearchResults| -> Vec<String> {
            let mut v: Vec<String> = r.hits.iter().map(|h| h.doc.id.clone()).collect();
            v.sort();
            v
        };
        for (q, expected) in [
            ("швп", vec!["d0", "d3", "d7"]),
            ("уплотнение", vec!["d4", "d6"]),
            ("швп для 16К20", vec!["d0", "d3", "d7", "machine"]),
        ] {
            let mut answers = Vec::new();
            for union in [true, false] {
                snap.use_tantivy_union(union);
                let r = lexical(&snap, q);
                assert_eq!(ids(&r), expected, "{q}, tantivy union: {union}");
                answers.push(r);
            }
            for (u, a) in answers[0].hits.iter().zip(&answers[1].hits) {
                assert_eq!(u.doc.id, a.doc.id, "{q}: same order");
                assert!(
                    (u.score - a.score).abs() <= 1e-4 * u.score.abs().max(1.0),
                    "{q}"
                );
            }
        }
        snap.use_tantivy_union(false);
    }

    /// `4Г721М расходники` names a machine and only says "parts": every part declared for that
    /// machine meets it and comes before the machine itself and before parts that merely say
    /// "consumables" for no machine (dev set q0063 found none of its parts before).
    #[test]
    fn a_machine_and_a_bare_parts_word_ask_for_its_declared_parts() {
        let mut machine = doc("machine", "Станок электроэрозионный 4Г721М");
        machine.kind = Kind::Product;
        machine.model = "4Г721М".into();
        let mut fluid = doc("fluid", "Жидкость диэлектрическая EDM-1, 208 л");
        fluid.compatible_models = vec!["4Г721М".into(), "AG40L".into()];
        let resin = doc(
            "resin",
            "Смола ионообменная, расходные материалы для электроэрозии",
        );
        let engine = engine_with(
            "расходники = расходные материалы",
            vec![machine, fluid, resin],
        );
        let snap = engine.snapshot();
        for q in ["4Г721М расходники", "запчасти для 4Г721М"] {
            let r = lexical(&snap, q);
            let ids: Vec<&str> = r.hits.iter().map(|h| h.doc.id.as_str()).collect();
            assert_eq!(ids.first(), Some(&"fluid"), "{q}: {ids:?}");
        }
    }

    /// A misspelt need word (`потрон` for `патрон`) weighs as the word it meant: its nearest
    /// indexed stem scores BM25 like any word, so the chuck is not outranked by cards that
    /// only match the query's other word (dev set q0254 `потрон для токарного с ЧПУ CLX 450`).
    #[test]
    fn a_misspelt_word_weighs_as_the_word_it_meant() {
        let docs = named(&[
            "Патрон трехкулачковый",
            "Панель ЧПУ",
            "Ремень клиновой",
            "Насос смазки",
            "Фильтр масляный",
            "Кабель энкодера",
        ]);
        let snap = engine_with("", docs).snapshot();
        for q in ["потрон ЧПУ", "патрон ЧПУ"] {
            assert_eq!(lexical(&snap, q).hits[0].doc.id, "d0", "{q}");
        }
    }

    /// Small segments merge (then all of them, once the tail is large enough), and searches
    /// answer the same before and after.
    #[test]
    fn piled_up_segments_merge_without_changing_answers() {
        let mut cfg = EngineConfig::new("none", 8);
        cfg.result_cache = 0;
        let engine = Engine::in_memory(cfg).unwrap();
        let words = [
            "подшипник",
            "шпиндель",
            "ремень",
            "насос",
            "фильтр",
            "муфта",
        ];
        let upsert = |n: usize| Change::Upsert {
            doc: doc(
                &format!("d{n}"),
                &format!("{} {} {n}", words[n % 6], words[(n / 6) % 6]),
            ),
            vector: None,
        };
        engine.apply((0..100).map(upsert).collect(), 1).unwrap();
        for n in 100..102 {
            engine.apply(vec![upsert(n)], n as i64 - 98).unwrap();
        }
        let segments = |e: &Engine| e.snapshot().text_segments();
        let answers = |e: &Engine| -> Vec<(u64, Vec<(String, i64)>)> {
            ["подшипник", "ремень насос", "муфта фильтр шпиндель"]
                .iter()
                .map(|q| {
                    let mut req = SearchRequest::new(*q, Mode::Lexical);
                    req.limit = 100;
                    let r = e.snapshot().search(&req).unwrap();
                    let mut hits: Vec<(String, i64)> = r
                        .hits
                        .iter()
                        .map(|h| (h.doc.id.clone(), (h.score * 1e4).round() as i64))
                        .collect();
                    hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                    (r.total, hits)
                })
                .collect()
        };
        assert_eq!(segments(&engine), 3);
        let before = answers(&engine);
        assert!(engine.merge_segments_if_needed().unwrap());
        assert_eq!(segments(&engine), 2, "the two small segments merged");
        assert_eq!(answers(&engine), before);
        assert!(
            !engine.merge_segments_if_needed().unwrap(),
            "100 + 2: nothing to do"
        );
        engine.apply((102..105).map(upsert).collect(), 4).unwrap();
        let before = answers(&engine);
        assert!(engine.merge_segments_if_needed().unwrap());
        assert_eq!(
            segments(&engine),
            1,
            "a tail of 5 against 100 merges everything"
        );
        assert_eq!(answers(&engine), before);
        assert_eq!(engine.stats().applied_seq, 4);
        assert_eq!(engine.stats().documents, 105);
        // The merged index takes changes as before.
        let merged = answers(&engine);
        engine
            .apply(vec![Change::Delete { id: "d0".into() }], 5)
            .unwrap();
        let after = answers(&engine);
        assert_eq!(after[0].0, merged[0].0 - 1, "d0 (подшипник) deleted");
        assert!(after[0].1.iter().all(|(id, _)| id != "d0"));
    }
}
