//! The vector side: cosine HNSW (hnsw_rs, dot product over unit vectors) keyed by vector ids.
//!
//! A vector id (`Vid`) names one embedded text of one document. Vectors are immutable per id,
//! so an update that changes a document's text gets a new id and the old one becomes a
//! tombstone: it stays in the graph but no snapshot that has moved past it treats it as live.
//! `rebuilt` compacts the graph when tombstones pile up. Vectors are also kept flat, which
//! serves exact search for small filtered sets and recall checks, and is the persistent form
//! (`vectors.f32`, append-only, one record per id, all zeros for "no vector"). The graph holds
//! half-precision copies and the frozen walk 8-bit ones (see `walk.rs`): a walk is bound by
//! memory traffic, and its candidates are re-scored exactly from the flat f32 store, so scores
//! and the final order are full precision.

use crate::error::{Error, Result};
use crate::point::to_half;
pub use crate::point::{Half, UnitDot, Vid};
use crate::walk::{self, Walk};
use hnsw_rs::prelude::*;
use parking_lot::RwLock;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// HNSW tuning knobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HnswParams {
    /// Links per node (`M`).
    pub m: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
}

impl Default for HnswParams {
    /// M = 16 and ef_construction = 200; ef_search = 64 is twice the smallest ef that reached
    /// recall@10 = 0.999 against exact search on the 100k synthetic fixture (`benches/`), as a
    /// margin for real embeddings.
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            ef_search: 64,
        }
    }
}

/// Candidates per result that [`VectorIndex::scan_search`] re-scores exactly, so that
/// neighbours the 8-bit distances ordered a little wrongly are still put right.
pub const SCAN_RESCORE: usize = 4;

/// HNSW graph plus the flat vector store behind it.
pub struct VectorIndex {
    dim: usize,
    params: HnswParams,
    /// The graph holds half-precision copies (half the memory and memory traffic of the
    /// walk); results are re-scored from the exact `flat` store.
    hnsw: Arc<Hnsw<'static, Half, UnitDot>>,
    /// The graph's links frozen for the query walk (see [`Frozen`] for when it is refreshed).
    frozen: Arc<Frozen>,
    /// False while the graph of a reopened index is still being built in the background;
    /// until then searches walk the persisted walk (or are exact without one), so a restart is
    /// ready without waiting for the graph.
    graph_ready: Arc<AtomicBool>,
    flat: Arc<RwLock<Vec<f32>>>,
    file: Option<parking_lot::Mutex<File>>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("dim", &self.dim)
            .field("params", &self.params)
            .field("records", &self.len())
            .finish()
    }
}

fn new_hnsw(params: &HnswParams, capacity: usize) -> Hnsw<'static, Half, UnitDot> {
    Hnsw::new(
        params.m,
        capacity.max(1024),
        16,
        params.ef_construction,
        UnitDot,
    )
}

/// Vectors appended since the last freeze that make a new one worth its cost (a freeze reads
/// the whole graph: hundreds of milliseconds at 100k vectors). Until then they are scanned
/// exactly beside the walk: ~20 ns each.
const REFREEZE_AFTER: usize = 1024;

/// The latest walk of an on-disk index, beside `vectors.f32`.
pub(crate) const WALK_FILE: &str = "walk.links";

/// How a graph search walks: the frozen [`Walk`] that production uses, or hnsw_rs's own
/// search, the reference that differential tests and benchmarks compare it with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(not(any(test, feature = "oracle")), allow(dead_code))]
pub enum GraphWalk {
    #[default]
    Frozen,
    HnswRs,
}

/// The latest [`Walk`] of a graph, and which vids it may be missing.
///
/// A walk covers every vid below its `upto` (vids whose insertion had finished when the freeze
/// began); vids from `upto` on are searched exactly and merged in, so a walk is never stale,
/// only incomplete, and an append costs the writer nothing here. Once `REFREEZE_AFTER` vids
/// are pending, a background thread freezes again. Freezes are serialised.
#[derive(Default)]
struct Frozen {
    lock: parking_lot::Mutex<()>,
    /// Where each new walk is persisted (on-disk indexes), so a restart walks at once.
    store: Option<WalkStore>,
    walk: RwLock<Option<Arc<Walk>>>,
    /// Vids below this are fully inserted into the graph (appends are serialised).
    inserted: std::sync::atomic::AtomicUsize,
    refreezing: AtomicBool,
}

/// The persisted walk's file and the vector records its checksum covers.
struct WalkStore {
    path: PathBuf,
    flat: Arc<RwLock<Vec<f32>>>,
    dim: usize,
}

impl WalkStore {
    fn save(&self, walk: &Walk) {
        let crc = {
            let flat = self.flat.read();
            walk::records_crc(&flat[..(walk.slots() * self.dim).min(flat.len())])
        };
        if let Err(e) = walk.save(&self.path, crc) {
            // Only the next restart's speed depends on it: it would search exactly until the
            // graph is rebuilt, as without a persisted walk.
            tracing::warn!(path = %self.path.display(), error = %e, "could not persist the vector walk");
        }
    }
}

impl Frozen {
    fn with_store(store: Option<WalkStore>) -> Frozen {
        Frozen {
            store,
            ..Frozen::default()
        }
    }

    /// Freezes the graph as it is now; false when it holds no point yet (every vid so far a
    /// document without a vector), so there is no walk to search.
    fn refresh(&self, graph: &Hnsw<'static, Half, UnitDot>) -> bool {
        let _one_at_a_time = self.lock.lock();
        let upto = self.inserted.load(Ordering::Acquire);
        let walk = Walk::freeze(graph, upto).map(Arc::new);
        if let (Some(store), Some(walk)) = (&self.store, &walk) {
            store.save(walk);
        }
        let froze = walk.is_some();
        *self.walk.write() = walk;
        froze
    }

    fn walk(&self) -> Option<Arc<Walk>> {
        self.walk.read().clone()
    }

    /// The walk a search `by` walks: none when it asks for hnsw_rs's own search.
    fn walk_for(&self, by: GraphWalk) -> Option<Arc<Walk>> {
        match by {
            GraphWalk::Frozen => self.walk(),
            GraphWalk::HnswRs => None,
        }
    }

    fn pending(&self) -> usize {
        let upto = self.walk.read().as_ref().map_or(0, |w| w.upto());
        self.inserted.load(Ordering::Acquire).saturating_sub(upto)
    }

    /// Freezes again in the background when enough vids are pending and no freeze runs.
    fn refresh_soon(self: &Arc<Self>, graph: &Arc<Hnsw<'static, Half, UnitDot>>) {
        if self.pending() < REFREEZE_AFTER || self.refreezing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (frozen, graph) = (self.clone(), graph.clone());
        let spawned = std::thread::Builder::new()
            .name("hnsw-freeze".into())
            .spawn(move || loop {
                let froze = frozen.refresh(&graph);
                frozen.refreezing.store(false, Ordering::Release);
                // An append that came in meanwhile saw `refreezing` and left it to us. An empty
                // graph leaves every vid pending: the next append with a vector tries again
                // (looping here spun a core forever in a server without the model).
                if !froze
                    || frozen.pending() < REFREEZE_AFTER
                    || frozen.refreezing.swap(true, Ordering::AcqRel)
                {
                    break;
                }
            });
        if spawned.is_err() {
            // No thread: the pending vids stay on the exact path until the next append.
            self.refreezing.store(false, Ordering::Release);
        }
    }
}

/// Inserts `(vector, vid)` pairs into `graph` in half precision, in parallel for batches.
fn insert_all(graph: &Hnsw<'static, Half, UnitDot>, items: &[(&[f32], usize)]) {
    let halves: Vec<(Vec<Half>, usize)> = items.iter().map(|(v, id)| (to_half(v), *id)).collect();
    let batch: Vec<(&[Half], usize)> = halves.iter().map(|(v, id)| (v.as_slice(), *id)).collect();
    if batch.len() > 16 {
        graph.parallel_insert_slice(&batch);
    } else {
        for item in batch {
            graph.insert_slice(item);
        }
    }
}

impl VectorIndex {
    /// An in-memory index (tests, benches).
    pub fn in_memory(dim: usize, params: HnswParams) -> VectorIndex {
        VectorIndex {
            dim,
            params,
            hnsw: Arc::new(new_hnsw(&params, 1024)),
            frozen: Arc::default(),
            graph_ready: Arc::new(AtomicBool::new(true)),
            flat: Arc::new(RwLock::new(Vec::new())),
            file: None,
            path: None,
        }
    }

    /// Opens (or creates) `dir/vectors.f32`, keeps only whole records, and builds the graph
    /// from the records `is_live` accepts.
    pub fn open(
        dir: &Path,
        dim: usize,
        params: HnswParams,
        is_live: &dyn Fn(Vid) -> bool,
    ) -> Result<VectorIndex> {
        let path = dir.join("vectors.f32");
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let rec = dim * 4;
        let whole = bytes.len() / rec * rec;
        if whole != bytes.len() {
            // A crash mid-append left a partial record: it was never committed, drop it.
            file.set_len(whole as u64)?;
            bytes.truncate(whole);
        }
        let flat: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if flat.iter().any(|x| !x.is_finite()) {
            return Err(Error::CorruptIndex {
                path,
                reason: "non-finite value in vectors".into(),
            });
        }
        let n = flat.len() / dim.max(1);
        let hnsw = Arc::new(new_hnsw(&params, n));
        let live: Vec<usize> = (0..n)
            .filter(|&i| is_live(i as Vid))
            .filter(|&i| flat[i * dim..(i + 1) * dim].iter().any(|x| *x != 0.0))
            .collect();
        let graph_ready = Arc::new(AtomicBool::new(live.is_empty()));
        // The walk persisted with the graph it was frozen from serves while the graph is
        // rebuilt: vids it does not cover are scanned exactly beside it.
        let walk_path = dir.join(WALK_FILE);
        let persisted = match std::fs::read(&walk_path) {
            Ok(bytes) if !live.is_empty() => match Walk::load(&bytes, &flat, dim) {
                Ok(w) => Some(Arc::new(w)),
                Err(reason) => {
                    tracing::warn!(path = %walk_path.display(), %reason, "persisted vector walk unusable; searching exactly until the graph is rebuilt");
                    None
                }
            },
            _ => None,
        };
        let flat = Arc::new(RwLock::new(flat));
        let frozen = Arc::new(Frozen::with_store(Some(WalkStore {
            path: walk_path,
            flat: flat.clone(),
            dim,
        })));
        *frozen.walk.write() = persisted;
        if !live.is_empty() {
            // Build the graph off the caller's thread; vectors appended meanwhile go straight
            // into the same graph (hnsw_rs inserts concurrently).
            let (graph, ready, data) = (hnsw.clone(), graph_ready.clone(), flat.read().clone());
            let walk = frozen.clone();
            std::thread::Builder::new()
                .name("hnsw-build".into())
                .spawn(move || {
                    let started = std::time::Instant::now();
                    let batch: Vec<(&[f32], usize)> = live
                        .iter()
                        .map(|&i| (&data[i * dim..(i + 1) * dim], i))
                        .collect();
                    insert_all(&graph, &batch);
                    // Vids below `n` are all in now; appends meanwhile only moved it past `n`.
                    walk.inserted.fetch_max(n, Ordering::AcqRel);
                    walk.refresh(&graph);
                    ready.store(true, Ordering::Release);
                    tracing::info!(
                        vectors = batch.len(),
                        seconds = started.elapsed().as_secs_f64(),
                        "vector graph built"
                    );
                })?;
        }
        Ok(VectorIndex {
            dim,
            params,
            hnsw,
            frozen,
            graph_ready,
            flat,
            file: Some(parking_lot::Mutex::new(file)),
            path: Some(path),
        })
    }

    /// Freezes the walk now if any vid is pending (benchmarks and tests, for a steady state).
    #[doc(hidden)]
    pub fn freeze_now(&self) {
        if self.frozen.pending() > 0 || self.frozen.walk.read().is_none() {
            self.frozen.refresh(&self.hnsw);
        }
    }

    /// True once the HNSW graph holds every vector (searches before that are exact).
    pub fn graph_ready(&self) -> bool {
        self.graph_ready.load(Ordering::Acquire)
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Number of records (vids ever assigned), live or not.
    pub fn len(&self) -> usize {
        self.flat.read().len() / self.dim.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends records for new vids in order (`None` = no vector yet) and indexes the vectors.
    /// Returns the first vid assigned. The file is synced before the caller commits the text
    /// side, so a committed text index never points at a missing vector record.
    pub fn append(&self, vectors: &[Option<&[f32]>]) -> Result<Vid> {
        let zeros = vec![0f32; self.dim];
        let mut buf = Vec::with_capacity(vectors.len() * self.dim * 4);
        for v in vectors {
            let v = v.unwrap_or(&zeros);
            if v.len() != self.dim {
                return Err(Error::Embedding(format!(
                    "vector has {} dims, index has {}",
                    v.len(),
                    self.dim
                )));
            }
            for x in v {
                buf.extend_from_slice(&x.to_le_bytes());
            }
        }
        if let Some(file) = &self.file {
            let mut f = file.lock();
            f.write_all(&buf)?;
            f.sync_data()?;
        }
        let first = {
            let mut flat = self.flat.write();
            let first = flat.len() / self.dim;
            for v in vectors {
                flat.extend_from_slice(v.unwrap_or(&zeros));
            }
            first
        };
        let batch: Vec<(&[f32], usize)> = vectors
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (v, first + i)))
            .collect();
        if !batch.is_empty() {
            insert_all(&self.hnsw, &batch);
        }
        self.frozen
            .inserted
            .fetch_max(first + vectors.len(), Ordering::AcqRel);
        if self.graph_ready() {
            self.frozen.refresh_soon(&self.hnsw);
        }
        Ok(first as Vid)
    }

    /// True when the record of `vid` holds a vector.
    pub fn has_vector(&self, vid: Vid) -> bool {
        let flat = self.flat.read();
        let start = vid as usize * self.dim;
        flat.get(start..start + self.dim)
            .is_some_and(|v| v.iter().any(|x| *x != 0.0))
    }

    /// Copy of the vector of `vid`, if it has one.
    pub fn vector(&self, vid: Vid) -> Option<Vec<f32>> {
        let flat = self.flat.read();
        let start = vid as usize * self.dim;
        flat.get(start..start + self.dim)
            .filter(|v| v.iter().any(|x| *x != 0.0))
            .map(|v| v.to_vec())
    }

    /// Approximate top-k among the vids `accept` admits, best first, as (vid, cosine).
    /// `pass_rate` is the share of vids `accept` is expected to admit (1.0 without a filter).
    ///
    /// hnsw_rs's filtered search gives up its early exit and walks much of the graph, so the
    /// graph is searched unfiltered for a k large enough that `pass_rate` of it is `k`
    /// (growing if that was not enough) and the rejects are dropped afterwards; only a very
    /// selective filter falls back to the filtered walk. Callers rank small or selective
    /// filtered sets with [`VectorIndex::exact_search`] instead.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: Option<usize>,
        pass_rate: f64,
        accept: &(dyn Fn(Vid) -> bool + Sync),
    ) -> Vec<(Vid, f32)> {
        self.search_by(query, k, ef, pass_rate, accept, GraphWalk::Frozen)
    }

    /// [`VectorIndex::search`] walking the graph `by` the given walk (the reference
    /// implementation for differential tests and benchmarks).
    #[cfg(any(test, feature = "oracle"))]
    pub fn search_walking(
        &self,
        query: &[f32],
        k: usize,
        ef: Option<usize>,
        pass_rate: f64,
        accept: &(dyn Fn(Vid) -> bool + Sync),
        by: GraphWalk,
    ) -> Vec<(Vid, f32)> {
        self.search_by(query, k, ef, pass_rate, accept, by)
    }

    pub(crate) fn search_by(
        &self,
        query: &[f32],
        k: usize,
        ef: Option<usize>,
        pass_rate: f64,
        accept: &(dyn Fn(Vid) -> bool + Sync),
        by: GraphWalk,
    ) -> Vec<(Vid, f32)> {
        if k == 0 {
            return Vec::new();
        }
        let n = self.len();
        let exact = || self.exact_search(query, k, &mut (0..n as Vid).filter(|v| accept(*v)));
        // A reopened index walks its persisted walk while the graph is rebuilt, and searches
        // exactly when it has none.
        if !self.graph_ready() && self.frozen.walk_for(by).is_none() {
            return exact();
        }
        let ef = ef.unwrap_or(self.params.ef_search);
        let mut want = if pass_rate >= 1.0 {
            k
        } else {
            // A quarter more than the expected share, so one walk usually suffices.
            ((k as f64 * 1.25 / pass_rate.max(0.01)).ceil() as usize).min(n.max(k))
        };
        // Only hnsw_rs's own search takes the half-precision query; the frozen walk quantises
        // the f32 one itself.
        let half = std::cell::OnceCell::new();
        let half = || half.get_or_init(|| to_half(query));
        loop {
            // The walk keeps `ef` candidates anyway; taking all of them costs nothing and lets
            // the exact re-scoring repair near-ties that half precision ordered wrongly.
            let take = want.max(ef);
            let found: Vec<Vid> = match self.frozen.walk_for(by) {
                Some(walk) => {
                    let mut found: Vec<Vid> = walk
                        .search(query, take)
                        .into_iter()
                        .map(|(v, _)| v)
                        .collect();
                    // Vids appended since the freeze, exactly.
                    let (upto, end) = (walk.upto() as Vid, n as Vid);
                    if upto < end {
                        let seen: std::collections::HashSet<Vid> = found.iter().copied().collect();
                        let recent = self.exact_search(query, take, &mut (upto..end));
                        found.extend(
                            recent
                                .into_iter()
                                .map(|(v, _)| v)
                                .filter(|v| !seen.contains(v)),
                        );
                    }
                    found
                }
                None => self
                    .hnsw
                    .search(half(), take, take)
                    .into_iter()
                    .map(|n| n.d_id as Vid)
                    .collect(),
            };
            let got = found.len();
            let kept: Vec<Vid> = found.into_iter().filter(|v| accept(*v)).collect();
            if kept.len() >= k || got < take || want >= n {
                let mut best = self.rescored(query, kept);
                best.truncate(k);
                return best;
            }
            if want >= 1024 {
                break;
            }
            want *= 4;
        }
        if !self.graph_ready() {
            // The filtered walk below is hnsw_rs's, over a graph still being built.
            return exact();
        }
        let filter = |id: &usize| accept(*id as Vid);
        let take = ef.max(k);
        let found = self
            .hnsw
            .search_filter(half(), take, take, Some(&filter))
            .into_iter()
            .map(|n| n.d_id as Vid)
            .collect();
        let mut best = self.rescored(query, found);
        best.truncate(k);
        best
    }

    /// `vids` with their exact cosine to `query` (from the f32 store), best first.
    fn rescored(&self, query: &[f32], vids: Vec<Vid>) -> Vec<(Vid, f32)> {
        let flat = self.flat.read();
        let mut out: Vec<(Vid, f32)> = vids
            .into_iter()
            .map(|v| {
                let start = v as usize * self.dim;
                let score = flat
                    .get(start..start + self.dim)
                    .map_or(0.0, |x| dot(query, x));
                (v, score)
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// Exact top-k over the given candidate vids (used when a filter leaves few documents, and
    /// as ground truth for recall).
    pub fn exact_search(
        &self,
        query: &[f32],
        k: usize,
        candidates: &mut dyn Iterator<Item = Vid>,
    ) -> Vec<(Vid, f32)> {
        let flat = self.flat.read();
        let mut scored: Vec<(Vid, f32)> = candidates
            .filter_map(|vid| {
                let start = vid as usize * self.dim;
                let v = flat.get(start..start + self.dim)?;
                if v.iter().all(|x| *x == 0.0) {
                    return None;
                }
                Some((vid, dot(query, v)))
            })
            .collect();
        let k = k.min(scored.len());
        if k == 0 {
            return Vec::new();
        }
        scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        scored.truncate(k);
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored
    }

    /// Top-k over the given candidate vids, for a filtered search that scans its set: the
    /// candidates are ranked by the frozen walk's 8-bit copies (a quarter of the memory to
    /// read), and the best [`SCAN_RESCORE`] × k of them, with every vid appended since the
    /// freeze, by the exact cosine. Exactly [`VectorIndex::exact_search`] when there is no walk.
    pub fn scan_search(
        &self,
        query: &[f32],
        k: usize,
        candidates: &mut dyn Iterator<Item = Vid>,
    ) -> Vec<(Vid, f32)> {
        self.scan_search_by(query, k, candidates, GraphWalk::Frozen)
    }

    /// [`VectorIndex::scan_search`]; without the frozen walk (`GraphWalk::HnswRs`), exact.
    pub(crate) fn scan_search_by(
        &self,
        query: &[f32],
        k: usize,
        candidates: &mut dyn Iterator<Item = Vid>,
        by: GraphWalk,
    ) -> Vec<(Vid, f32)> {
        let Some(walk) = self.frozen.walk_for(by) else {
            return self.exact_search(query, k, candidates);
        };
        let mut near = Vec::new();
        let mut rest = Vec::new();
        walk.scan(query, candidates, &mut near, &mut rest);
        let keep = k.saturating_mul(SCAN_RESCORE);
        if near.len() > keep && keep > 0 {
            near.select_nth_unstable_by(keep - 1, |a, b| a.1.total_cmp(&b.1));
            near.truncate(keep);
        }
        let mut shortlist = near.into_iter().map(|(v, _)| v).chain(rest);
        self.exact_search(query, k, &mut shortlist)
    }

    /// A compacted copy holding only the live vids (same ids, fresh graph).
    pub fn rebuilt(&self, is_live: &dyn Fn(Vid) -> bool) -> Result<VectorIndex> {
        let flat = self.flat.read().clone();
        let n = flat.len() / self.dim;
        let hnsw = Arc::new(new_hnsw(&self.params, n));
        let batch: Vec<(&[f32], usize)> = (0..n)
            .filter(|&i| is_live(i as Vid))
            .map(|i| (&flat[i * self.dim..(i + 1) * self.dim], i))
            .filter(|(v, _)| v.iter().any(|x| *x != 0.0))
            .collect();
        insert_all(&hnsw, &batch);
        drop(batch);
        let flat = Arc::new(RwLock::new(flat));
        let frozen = Arc::new(Frozen::with_store(self.path.as_ref().map(|p| WalkStore {
            path: p.with_file_name(WALK_FILE),
            flat: flat.clone(),
            dim: self.dim,
        })));
        frozen.inserted.store(n, Ordering::Release);
        frozen.refresh(&hnsw);
        let file = match &self.path {
            Some(p) => Some(parking_lot::Mutex::new(
                OpenOptions::new().append(true).read(true).open(p)?,
            )),
            None => None,
        };
        Ok(VectorIndex {
            dim: self.dim,
            params: self.params,
            hnsw,
            frozen,
            graph_ready: Arc::new(AtomicBool::new(true)),
            flat,
            file,
            path: self.path.clone(),
        })
    }
}

/// Dot product (cosine for unit vectors): the hot loop of every vector search. simsimd picks
/// the widest kernel the CPU offers at run time (the portable build target has only SSE2).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    match <f32 as simsimd::SpatialSimilarity>::dot(a, b) {
        Some(d) => d as f32,
        None => dot_portable(a, b),
    }
}

/// Portable dot product over the common length; eight independent sums so it vectorises
/// (the fallback, and the reference the SIMD kernel is benchmarked against).
pub fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let chunks = n / 8;
    for i in 0..chunks {
        for (j, slot) in acc.iter_mut().enumerate() {
            *slot += a[i * 8 + j] * b[i * 8 + j];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..n {
        sum += a[i] * b[i];
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::random_unit;

    #[test]
    fn documents_without_vectors_leave_no_freeze_running() {
        let dim = 8;
        let idx = VectorIndex::in_memory(dim, HnswParams::default());
        let none: Vec<Option<&[f32]>> = vec![None; 256];
        for _ in 0..(2 * REFREEZE_AFTER / 256) {
            idx.append(&none).unwrap();
        }
        // Settled: no freeze thread claims the flag for 200 reads in a row.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut quiet = 0;
        while quiet < 200 {
            assert!(
                std::time::Instant::now() < deadline,
                "a freeze thread keeps running"
            );
            if idx.frozen.refreezing.load(Ordering::Acquire) {
                quiet = 0;
            } else {
                quiet += 1;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(idx.frozen.walk().is_none());
        // Vectors arriving later still get a walk.
        let mut seed = 9u64;
        let vecs: Vec<Vec<f32>> = (0..REFREEZE_AFTER)
            .map(|_| random_unit(&mut seed, dim))
            .collect();
        let refs: Vec<Option<&[f32]>> = vecs.iter().map(|v| Some(v.as_slice())).collect();
        idx.append(&refs).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while idx.frozen.walk().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "no walk after vectors arrived"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn simd_dot_agrees_with_the_portable_one() {
        let mut seed = 3u64;
        for dim in [1, 7, 8, 31, 384, 385] {
            let a = random_unit(&mut seed, dim);
            let b = random_unit(&mut seed, dim);
            let (fast, slow) = (dot(&a, &b), dot_portable(&a, &b));
            assert!((fast - slow).abs() < 1e-5, "dim {dim}: {fast} vs {slow}");
        }
        assert!((dot(&[1.0, 2.0], &[3.0, 4.0, 5.0]) - 11.0).abs() < 1e-6);
    }

    #[test]
    fn hnsw_agrees_with_exact_search_and_honours_the_filter() {
        let dim = 32;
        let idx = VectorIndex::in_memory(dim, HnswParams::default());
        let mut seed = 42u64;
        let vecs: Vec<Vec<f32>> = (0..2000).map(|_| random_unit(&mut seed, dim)).collect();
        let refs: Vec<Option<&[f32]>> = vecs.iter().map(|v| Some(v.as_slice())).collect();
        assert_eq!(idx.append(&refs).unwrap(), 0);
        let mut hits = 0;
        for q in vecs.iter().take(50) {
            let approx: Vec<Vid> = idx
                .search(q, 10, None, 1.0, &|_| true)
                .into_iter()
                .map(|x| x.0)
                .collect();
            let exact = idx.exact_search(q, 10, &mut (0..2000u32));
            hits += exact.iter().filter(|(v, _)| approx.contains(v)).count();
        }
        assert!(
            hits as f32 / 500.0 >= 0.95,
            "recall {}",
            hits as f32 / 500.0
        );
        // The walk's distances are approximate; the scores it returns are the exact cosines.
        for (v, score) in idx.search(&vecs[7], 10, None, 1.0, &|_| true) {
            assert!((score - dot(&vecs[7], &vecs[v as usize])).abs() < 1e-6);
        }
        let even = idx.search(&vecs[1], 10, None, 0.5, &|v| v % 2 == 0);
        assert!(!even.is_empty() && even.iter().all(|(v, _)| v % 2 == 0));
        // A selective filter with its pass rate: still k results, all admitted, and the
        // filtered exact top-k found.
        let mut hits = 0;
        for q in vecs.iter().take(20) {
            let tenth = idx.search(q, 10, None, 0.1, &|v| v % 10 == 3);
            assert_eq!(tenth.len(), 10);
            assert!(tenth.iter().all(|(v, _)| v % 10 == 3));
            let exact = idx.exact_search(q, 10, &mut (0..2000u32).filter(|v| v % 10 == 3));
            hits += exact
                .iter()
                .filter(|e| tenth.iter().any(|t| t.0 == e.0))
                .count();
        }
        assert!(hits >= 180, "filtered recall {hits}/200");
    }

    /// The frozen walk finds what hnsw_rs's own search finds; vectors appended after a freeze
    /// are found at once (exactly, beside the walk) and a background freeze takes them in
    /// once enough are pending; compaction freezes its new graph.
    /// A scan by the walk's 8-bit copies, re-scored, returns the exact top k of the filtered
    /// set, with the exact cosines, vids appended after the freeze included.
    #[test]
    fn the_quantised_scan_finds_the_exact_top_k() {
        let dim = 64;
        let idx = VectorIndex::in_memory(dim, HnswParams::default());
        let mut seed = 11u64;
        let vecs: Vec<Vec<f32>> = (0..3100).map(|_| random_unit(&mut seed, dim)).collect();
        let refs: Vec<Option<&[f32]>> = vecs[..3000].iter().map(|v| Some(v.as_slice())).collect();
        idx.append(&refs).unwrap();
        idx.freeze_now();
        assert_eq!(idx.frozen.walk().map(|w| w.upto()), Some(3000));
        // Later vectors are not in the walk; one of them is the query itself.
        for v in &vecs[3000..] {
            idx.append(&[Some(v.as_slice())]).unwrap();
        }
        let (mut same, mut total) = (0, 0);
        for (i, q) in vecs.iter().enumerate().step_by(31) {
            let filter = |v: &Vid| v % 3 != 1;
            let exact = idx.exact_search(q, 20, &mut (0..3100u32).filter(filter));
            let scan = idx.scan_search(q, 20, &mut (0..3100u32).filter(filter));
            assert_eq!(scan.len(), 20);
            assert!(scan.iter().all(|(v, _)| filter(v)));
            for (v, score) in &scan {
                assert!((score - dot(q, &vecs[*v as usize])).abs() < 1e-6);
            }
            if filter(&(i as Vid)) {
                assert_eq!(scan[0].0, i as Vid, "a vector is its own nearest");
            }
            total += exact.len();
            same += exact
                .iter()
                .filter(|e| scan.iter().any(|s| s.0 == e.0))
                .count();
        }
        assert_eq!(same, total, "the scan's top k is the exact one");
    }

    #[test]
    fn the_frozen_walk_matches_hnsw_rs_and_covers_later_appends() {
        let dim = 32;
        let idx = VectorIndex::in_memory(dim, HnswParams::default());
        let mut seed = 7u64;
        let vecs: Vec<Vec<f32>> = (0..4200).map(|_| random_unit(&mut seed, dim)).collect();
        let refs: Vec<Option<&[f32]>> = vecs[..2000].iter().map(|v| Some(v.as_slice())).collect();
        idx.append(&refs).unwrap();
        idx.freeze_now();
        assert_eq!(idx.frozen.walk().map(|w| w.upto()), Some(2000));
        let recall = |idx: &VectorIndex, n: u32, by: GraphWalk| {
            let mut hits = 0;
            for q in vecs.iter().skip(1).step_by(40).take(50) {
                let exact = idx.exact_search(q, 10, &mut (0..n));
                let approx = idx.search_walking(q, 10, Some(64), 1.0, &|_| true, by);
                hits += exact
                    .iter()
                    .filter(|e| approx.iter().any(|a| a.0 == e.0))
                    .count();
            }
            hits as f64 / 500.0
        };
        let ours = recall(&idx, 2000, GraphWalk::Frozen);
        let theirs = recall(&idx, 2000, GraphWalk::HnswRs);
        assert!(ours >= 0.97, "walk recall {ours}");
        assert!(ours >= theirs - 0.02, "walk {ours} vs hnsw_rs {theirs}");
        // Single appends (as upserts make them) leave the walk as it was and are found at once.
        for (i, v) in vecs[2000..2010].iter().enumerate() {
            let vid = idx.append(&[Some(v.as_slice())]).unwrap();
            assert_eq!(idx.frozen.pending(), i + 1);
            let top = idx.search(v, 1, None, 1.0, &|_| true);
            assert_eq!(top[0].0, vid, "a new vector is its own nearest");
        }
        idx.append(&[None]).unwrap();
        idx.freeze_now();
        assert_eq!(idx.frozen.pending(), 0);
        let top = idx.search(&vecs[2005], 1, None, 1.0, &|_| true);
        assert_eq!(top[0].0, 2005, "found through the walk after the freeze");
        // A large append makes a background freeze take the new vectors in.
        let refs: Vec<Option<&[f32]>> = vecs[2011..].iter().map(|v| Some(v.as_slice())).collect();
        idx.append(&refs).unwrap();
        let waited = std::time::Instant::now();
        while idx.frozen.pending() > 0 && waited.elapsed().as_secs() < 60 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(idx.frozen.pending(), 0, "background freeze");
        assert!(recall(&idx, 4200, GraphWalk::Frozen) >= 0.97);
        // Compaction freezes the new graph; tombstoned vids are gone from it.
        let compact = idx.rebuilt(&|v| v % 2 == 0).unwrap();
        assert_eq!(compact.frozen.pending(), 0);
        assert!(compact.frozen.walk().is_some());
        let found = compact.search(&vecs[3], 10, None, 1.0, &|_| true);
        assert_eq!(found.len(), 10);
        assert!(found.iter().all(|(v, _)| v % 2 == 0), "{found:?}");
    }

    /// A restart walks the walk persisted by the last freeze while hnsw_rs's graph is rebuilt
    /// (instead of scanning every vector), and finds what the graph would; a walk file that no
    /// longer matches the store is ignored and the index searches exactly until the rebuild.
    #[test]
    fn a_reopened_index_walks_its_persisted_walk_while_the_graph_rebuilds() {
        let dir = tempfile::tempdir().unwrap();
        let dim = 32;
        let n = 3000u32;
        let mut seed = 9u64;
        let vecs: Vec<Vec<f32>> = (0..n).map(|_| random_unit(&mut seed, dim)).collect();
        {
            let idx = VectorIndex::open(dir.path(), dim, HnswParams::default(), &|_| true).unwrap();
            let refs: Vec<Option<&[f32]>> = vecs.iter().map(|v| Some(v.as_slice())).collect();
            idx.append(&refs).unwrap();
            idx.freeze_now();
        }
        assert!(dir.path().join(WALK_FILE).exists());
        // Every third vid deleted since: the walk still links through them, searches skip them.
        let live = |v: Vid| !v.is_multiple_of(3) || v >= n;
        let idx = VectorIndex::open(dir.path(), dim, HnswParams::default(), &live).unwrap();
        assert!(!idx.graph_ready(), "{n} inserts cannot have finished yet");
        let walk = idx
            .frozen
            .walk()
            .expect("the persisted walk serves at once");
        assert_eq!(walk.upto(), n as usize);
        // A vector appended meanwhile is found beside the walk.
        let extra = random_unit(&mut seed, dim);
        let vid = idx.append(&[Some(&extra)]).unwrap();
        assert_eq!(idx.search(&extra, 1, None, 1.0, &live)[0].0, vid);
        let mut hits = 0;
        for q in vecs.iter().step_by(60) {
            let exact = idx.exact_search(q, 10, &mut (0..n).filter(|v| live(*v)));
            let approx = idx.search(q, 10, None, 1.0, &live);
            assert!(approx.iter().all(|(v, _)| live(*v)));
            hits += exact
                .iter()
                .filter(|e| approx.iter().any(|a| a.0 == e.0))
                .count();
        }
        assert!(hits >= 475, "recall {hits}/500 through the persisted walk");
        while !idx.graph_ready() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // The rebuilt graph's walk replaced the file; a damaged file is not walked.
        drop(idx);
        let path = dir.path().join(WALK_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let idx = VectorIndex::open(dir.path(), dim, HnswParams::default(), &live).unwrap();
        assert!(idx.frozen.walk().is_none());
        assert!(!idx.graph_ready());
        let top = idx.search(&vecs[4], 1, None, 1.0, &live);
        assert_eq!(top[0].0, 4, "exact while the graph is rebuilt");
    }

    #[test]
    fn persisted_vectors_reload_and_partial_records_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let dim = 8;
        let mut seed = 7u64;
        let a = random_unit(&mut seed, dim);
        let b = random_unit(&mut seed, dim);
        {
            let idx = VectorIndex::open(dir.path(), dim, HnswParams::default(), &|_| true).unwrap();
            idx.append(&[Some(&a), None, Some(&b)]).unwrap();
        }
        // Simulate a crash in the middle of an append.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("vectors.f32"))
            .unwrap();
        f.write_all(&[1, 2, 3]).unwrap();
        drop(f);
        let idx = VectorIndex::open(dir.path(), dim, HnswParams::default(), &|v| v != 2).unwrap();
        assert_eq!(idx.len(), 3);
        // Exact answers while the graph builds, the same answer after.
        assert_eq!(idx.search(&b, 1, None, 1.0, &|v| v != 2)[0].0, 0);
        while !idx.graph_ready() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(idx.has_vector(0) && !idx.has_vector(1) && idx.has_vector(2));
        let top = idx.search(&b, 1, None, 1.0, &|_| true);
        assert_eq!(top[0].0, 0, "vid 2 is not live, so it is not in the graph");
    }
}
