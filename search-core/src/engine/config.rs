//! Engine settings and the caches they size.

use crate::fusion::RrfParams;
use crate::synonyms::Synonyms;
use crate::vector::HnswParams;
use std::sync::Arc;

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
    /// postings lists (see [`crate::word_cache::WordCache`]). 8 bytes per document holding the
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

pub(super) fn word_cache(bytes: usize) -> Option<crate::word_cache::WordCache> {
    (bytes > 0).then(|| crate::word_cache::WordCache::new(bytes))
}

/// A shared LRU of `size` entries; `None` (no cache) for 0.
pub(super) fn lru_cache<K: std::hash::Hash + Eq, V>(
    size: usize,
) -> Option<Arc<parking_lot::Mutex<lru::LruCache<K, V>>>> {
    std::num::NonZeroUsize::new(size)
        .map(|n| Arc::new(parking_lot::Mutex::new(lru::LruCache::new(n))))
}
