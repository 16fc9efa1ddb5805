//! An immutable view of both indexes at one change-log position: document access, the
//! per-snapshot caches and the vid ↔ address maps.

use super::config::EngineConfig;
use super::request::LexicalExecutor;
use super::request::SearchResults;
use crate::bits;
use crate::doc::CatalogDoc;
use crate::embed::CachedEmbedder;
use crate::error::{Error, Result};
use crate::text::{self, Fields, Filters, MatchSet, MatchSetCollector, SegmentTable};
use crate::vector::{VectorIndex, Vid};
use std::path::PathBuf;
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::query::{Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, DocId, Term};

type ResultCache = Option<Arc<parking_lot::Mutex<lru::LruCache<String, SearchResults>>>>;

type DocCache =
    Option<Arc<parking_lot::Mutex<lru::LruCache<(tantivy::index::SegmentId, DocId), Arc<Stored>>>>>;

/// A stored document, decoded, with the analysis of its highlighted fields made on first use.
pub(super) struct Stored {
    pub(super) doc: Arc<CatalogDoc>,
    /// Tokens of the name and the description (see [`crate::highlight`]).
    pub(super) tokens: std::sync::OnceLock<[crate::highlight::Tokens; 2]>,
}

impl Stored {
    pub(super) fn tokens(&self) -> &[crate::highlight::Tokens; 2] {
        self.tokens.get_or_init(|| {
            [
                crate::highlight::tokens(&self.doc.name),
                crate::highlight::tokens(&self.doc.description),
            ]
        })
    }
}

/// One consistent view of both indexes.
pub struct Snapshot {
    pub(super) text: tantivy::Searcher,
    pub(super) vectors: Arc<VectorIndex>,
    pub(super) live: Arc<Vec<u64>>,
    /// vid → (segment ordinal, doc id) of the live document holding it.
    pub(super) addrs: Arc<VidAddrs>,
    /// Decoded fast fields per segment, in segment-ordinal order (shared across snapshots).
    pub(super) cols: Arc<Vec<Arc<SegmentTable>>>,
    pub(super) applied_seq: i64,
    pub(super) docs: u64,
    pub(super) without_vector: u64,
    pub(super) fields: Fields,
    pub(super) config: EngineConfig,
    pub(super) embedder: Option<Arc<CachedEmbedder>>,
    /// Results of this snapshot by request (see [`EngineConfig::result_cache`]).
    pub(super) cache: ResultCache,
    /// Word impacts of this snapshot (see [`EngineConfig::word_cache_bytes`]).
    pub(super) words: Option<crate::word_cache::WordCache>,
    /// Decoded stored documents, shared with every snapshot (see [`EngineConfig::doc_cache`]).
    pub(super) doc_cache: DocCache,
}

/// vid → address of the live document holding it, as a dense array (vids are dense: a
/// hash map lookup per semantic candidate showed in hybrid profiles).
#[derive(Default)]
pub(super) struct VidAddrs(Vec<DocAddress>);

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

pub(super) fn vid_addresses(searcher: &tantivy::Searcher, cols: &[Arc<SegmentTable>]) -> VidAddrs {
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

    /// Size of a vid bitset covering every vid of this snapshot, in 64-bit words.
    pub(super) fn vid_words(&self) -> usize {
        self.live.len()
    }

    pub fn applied_seq(&self) -> i64 {
        self.applied_seq
    }

    pub fn num_docs(&self) -> u64 {
        self.docs
    }

    pub fn is_live(&self, vid: Vid) -> bool {
        bits::contains(&self.live, vid)
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

    pub(super) fn load(&self, addr: DocAddress) -> Result<CatalogDoc> {
        Ok(CatalogDoc::clone(&self.stored(addr)?.doc))
    }

    /// The decoded stored document at `addr`, from the doc cache if it holds it.
    pub(super) fn stored(&self, addr: DocAddress) -> Result<Arc<Stored>> {
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

    pub(super) fn vid_of(&self, addr: DocAddress) -> Result<Vid> {
        // Every indexed document has a vid (`to_tantivy` writes one); a document without one
        // is a broken index, never vid 0, which names another document's vector.
        self.cols[addr.segment_ord as usize]
            .vid(addr.doc_id)
            .map(|v| v as Vid)
            .ok_or_else(|| Error::CorruptIndex {
                path: std::path::PathBuf::new(),
                reason: format!("document {addr:?} has no vector id"),
            })
    }

    /// The match set of `clauses` (summed; none: every document, score 1) under the filters,
    /// by the accumulating executor, or by tantivy running `query()` (the same clauses with
    /// the filters) when `by` asks for it.
    pub(super) fn match_set(
        &self,
        query: impl FnOnce() -> Box<dyn Query>,
        clauses: &[text::Exec],
        term_filters: &[Box<dyn Query>],
        numeric: Option<&text::NumericFilter>,
        collector: &MatchSetCollector,
        by: LexicalExecutor,
    ) -> Result<MatchSet> {
        Ok(if by == LexicalExecutor::TantivyUnion {
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

    pub(super) fn addr_of(&self, vid: Vid) -> Result<Option<DocAddress>> {
        Ok(self.addrs.get(vid))
    }

    /// This snapshot's dictionary, typo lookups cached in its word cache.
    pub(super) fn vocab(&self) -> text::CachedVocab<'_> {
        text::CachedVocab {
            searcher: &self.text,
            cache: self.words.as_ref(),
        }
    }

    /// All live vids (recall checks, diagnostics).
    pub fn live_vids(&self) -> impl Iterator<Item = Vid> + '_ {
        bits::iter(&self.live)
    }

    /// Number of segments of the text index in this snapshot.
    pub fn text_segments(&self) -> usize {
        self.text.segment_readers().len()
    }

    pub fn vectors(&self) -> &VectorIndex {
        &self.vectors
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
