//! A read-only, flat copy of the HNSW graph's links for the query walk.
//!
//! hnsw_rs builds the graph (insertion is the hard part and stays with it), but its search
//! pays per visited node for a `HashMap` insert, an `Arc` clone per candidate and a lock per
//! expanded node. A [`Walk`] copies the links into compressed rows (layer 0) and small maps
//! (upper layers) keyed by vid, marks visits in a reused per-thread stamp array, and keeps its
//! own contiguous copy of the vectors, indexed by vid, so a distance is one load from a
//! computed address instead of a chain of pointers. The walk is bound by memory latency, so
//! that copy is quantised to 8 bits per component with one scale per vector (388 bytes a
//! vector at 384 dimensions, half the lines of the graph's half precision); the caller
//! re-scores what the walk returns with the exact vectors, so the coarser distances only
//! steer the walk. When a walk is frozen again, and how vids appended
//! after it are found, is `vector::Frozen`'s business. It runs the same algorithm: a greedy
//! descent through the upper layers, then a best-first search with `ef` candidates on layer 0.

use crate::point::{Half, UnitDot, Vid};
use hnsw_rs::prelude::*;
use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

type Graph = Hnsw<'static, Half, UnitDot>;
type PointRef = Arc<hnsw_rs::hnsw::Point<'static, Half>>;

/// The links of one frozen graph.
pub(crate) struct Walk {
    /// Every vid below this was in the graph when it was frozen.
    upto: usize,
    entry: Vid,
    /// Layer-0 links of `v`: `links[offsets[v]..offsets[v + 1]]`.
    offsets: Vec<u32>,
    links: Vec<Vid>,
    /// Links on layers 1.. (`upper[l - 1]`); few points live there.
    upper: Vec<HashMap<Vid, Vec<Vid>>>,
    dim: usize,
    /// Quantised vectors by vid, `stride` bytes each (see [`quantise`]); zeros for vids not in
    /// the graph, which no link points at.
    vectors: Vec<i8>,
    /// Bytes per vector: `dim` components and the 4 bytes of its scale.
    stride: usize,
    /// Number of vid slots (`vectors.len() / stride`).
    slots: usize,
}

/// Writes `v` into `out` (`v.len() + 4` bytes) as components `round(x / s)` in −127..=127
/// followed by the little-endian bytes of the scale `s = max |x| / 127`; so
/// `dot(a, b) ≈ s_a · s_b · Σ qa·qb`. A per-vector scale keeps the error relative to each
/// vector's own largest component.
fn quantise(v: impl Iterator<Item = f32> + Clone, out: &mut [i8]) {
    let dim = out.len() - 4;
    let max = v.clone().fold(0.0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 0.0 };
    for (o, x) in out[..dim].iter_mut().zip(v) {
        *o = if scale > 0.0 {
            (x / scale).round().clamp(-127.0, 127.0) as i8
        } else {
            0
        };
    }
    for (o, b) in out[dim..].iter_mut().zip(scale.to_le_bytes()) {
        *o = b as i8;
    }
}

/// The scale [`quantise`] stored after the components.
fn scale_of(q: &[i8], dim: usize) -> f32 {
    let mut b = [0u8; 4];
    for (o, x) in b.iter_mut().zip(&q[dim..dim + 4]) {
        *o = *x as u8;
    }
    f32::from_le_bytes(b)
}

/// `1 − dot` of two quantised vectors (`dim` components each, scales after them).
fn quantised_distance(a: &[i8], b: &[i8], dim: usize) -> f32 {
    let dot = <i8 as simsimd::SpatialSimilarity>::dot(&a[..dim], &b[..dim]).unwrap_or_else(|| {
        a[..dim]
            .iter()
            .zip(&b[..dim])
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum()
    }) as f32;
    (1.0 - dot * scale_of(a, dim) * scale_of(b, dim)).max(0.0)
}

/// CRC-32 of the little-endian bytes of `flat` (the vector records a persisted walk was
/// frozen over), so a walk is never loaded beside vectors other than its own.
pub(crate) fn records_crc(flat: &[f32]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = Vec::with_capacity(4096 * 4);
    for chunk in flat.chunks(4096) {
        buf.clear();
        for x in chunk {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        hasher.update(&buf);
    }
    hasher.finalize()
}

const WALK_MAGIC: &[u8; 8] = b"STNKWALK";
const WALK_VERSION: u32 = 1;

/// Little-endian reader over a persisted walk; every read checks the length.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.0.len() < n {
            return Err("walk file is truncated".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// A length that must fit in what is left, `unit` bytes per element.
    fn len(&mut self, unit: usize) -> Result<usize, String> {
        let n = self.u64()? as usize;
        if n.saturating_mul(unit) > self.0.len() {
            return Err("walk file is truncated".into());
        }
        Ok(n)
    }
    fn u32s(&mut self, n: usize) -> Result<Vec<u32>, String> {
        Ok(self
            .take(n * 4)?
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

impl std::fmt::Debug for Walk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("upto", &self.upto)
            .field("layers", &(self.upper.len() + 1))
            .field("dim", &self.dim)
            .finish()
    }
}

/// A candidate: distance, then vid (ordered by distance, ties by vid).
#[derive(Clone, Copy, PartialEq)]
struct Cand(f32, Vid);

impl Eq for Cand {}

impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

thread_local! {
    /// Visit stamps by vid and the current stamp; reused across searches of this thread.
    static VISITED: RefCell<(Vec<u32>, u32)> = const { RefCell::new((Vec::new(), 0)) };
}

impl Walk {
    /// Freezes the current links of `graph`; `None` for an empty graph.
    /// `upto`: vids below it had finished their insertion before the freeze began.
    pub(crate) fn freeze(graph: &Graph, upto: usize) -> Option<Walk> {
        // One layer at a time: hnsw_rs's all-layers iterator takes a second read lock on the
        // layers while holding the first, which deadlocks against an insert waiting to write.
        let index = graph.get_point_indexation();
        let mut all: Vec<PointRef> = Vec::new();
        for layer in 0..=graph.get_max_level_observed() as usize {
            all.extend(index.get_layer_iterator(layer));
        }
        let top = all.iter().map(|p| p.get_point_id().0).max()? as usize;
        // Any point of the top layer is a valid entry; take the smallest vid, deterministically.
        let entry = all
            .iter()
            .filter(|p| p.get_point_id().0 as usize == top)
            .map(|p| p.get_origin_id() as Vid)
            .min()?;
        let max_vid = all.iter().map(|p| p.get_origin_id()).max()?;
        let dim = all[0].get_v().len();
        let stride = dim + 4;
        let mut vectors: Vec<i8> = vec![0; (max_vid + 1) * stride];
        let mut rows: Vec<Vec<Vid>> = vec![Vec::new(); max_vid + 1];
        let mut upper: Vec<HashMap<Vid, Vec<Vid>>> = vec![HashMap::new(); top];
        // Insertions go on while the links are copied: a point collected above may by now link
        // to one inserted after the collection (a vid beyond `max_vid`, or one without a copied
        // vector). The walk keeps only links to points it holds.
        let mut held = vec![false; max_vid + 1];
        for p in &all {
            held[p.get_origin_id()] = true;
        }
        for p in all {
            let vid = p.get_origin_id();
            for (layer, links) in p.get_neighborhood_id().into_iter().enumerate() {
                let links: Vec<Vid> = links
                    .iter()
                    .map(|n| n.get_origin_id())
                    .filter(|&n| held.get(n).copied().unwrap_or(false))
                    .map(|n| n as Vid)
                    .collect();
                match layer {
                    0 => rows[vid] = links,
                    l if l <= top => {
                        upper[l - 1].insert(vid as Vid, links);
                    }
                    _ => {}
                }
            }
            quantise(
                p.get_v().iter().map(|h| h.to_f32()),
                &mut vectors[vid * stride..(vid + 1) * stride],
            );
        }
        let mut offsets = Vec::with_capacity(rows.len() + 1);
        let mut links = Vec::with_capacity(rows.iter().map(Vec::len).sum());
        offsets.push(0u32);
        for row in rows {
            links.extend_from_slice(&row);
            offsets.push(links.len() as u32);
        }
        Some(Walk {
            upto,
            entry,
            offsets,
            links,
            upper,
            dim,
            vectors,
            stride,
            slots: max_vid + 1,
        })
    }

    /// The walk's links as a self-checking file: a header (dim, `upto`, entry, slots and the
    /// CRC of the vector records `0..slots` it was frozen over), the layer-0 rows, the upper
    /// layers, and a CRC of all of it. The quantised vectors are not written: they are the
    /// vector store's, re-quantised on load. Written to a temporary file and renamed, so a
    /// crash leaves the old walk or the new one, never half of one.
    pub(crate) fn save(&self, path: &std::path::Path, records_crc: u32) -> std::io::Result<()> {
        use std::io::Write;
        let mut out: Vec<u8> = Vec::with_capacity(64 + 4 * (self.offsets.len() + self.links.len()));
        let u32s = |out: &mut Vec<u8>, xs: &[u32]| {
            for x in xs {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
        out.extend_from_slice(WALK_MAGIC);
        out.extend_from_slice(&WALK_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        out.extend_from_slice(&(self.upto as u64).to_le_bytes());
        out.extend_from_slice(&self.entry.to_le_bytes());
        out.extend_from_slice(&(self.slots as u64).to_le_bytes());
        out.extend_from_slice(&records_crc.to_le_bytes());
        out.extend_from_slice(&(self.offsets.len() as u64).to_le_bytes());
        u32s(&mut out, &self.offsets);
        out.extend_from_slice(&(self.links.len() as u64).to_le_bytes());
        u32s(&mut out, &self.links);
        out.extend_from_slice(&(self.upper.len() as u32).to_le_bytes());
        for layer in &self.upper {
            let mut rows: Vec<(&Vid, &Vec<Vid>)> = layer.iter().collect();
            rows.sort_by_key(|r| *r.0);
            out.extend_from_slice(&(rows.len() as u64).to_le_bytes());
            for (vid, links) in rows {
                out.extend_from_slice(&vid.to_le_bytes());
                out.extend_from_slice(&(links.len() as u64).to_le_bytes());
                u32s(&mut out, links);
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        let tmp = path.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&out)?;
            f.sync_data()?;
        }
        std::fs::rename(&tmp, path)
    }

    /// Reads a walk [`Walk::save`] wrote, over the vector records `flat` (`dim` components
    /// each). `Err` says why the file cannot serve: truncated, damaged, another dimension, or
    /// frozen over vectors other than these (a recreated store).
    pub(crate) fn load(bytes: &[u8], flat: &[f32], dim: usize) -> Result<Walk, String> {
        if bytes.len() < 4 {
            return Err("walk file is truncated".into());
        }
        let (body, tail) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body).to_le_bytes() != tail {
            return Err("walk file checksum mismatch".into());
        }
        let mut r = Bytes(body);
        if r.take(8)? != WALK_MAGIC || r.u32()? != WALK_VERSION {
            return Err("not a walk file of this version".into());
        }
        if r.u32()? as usize != dim {
            return Err("walk file is for another dimension".into());
        }
        let records = flat.len() / dim.max(1);
        let upto = r.u64()? as usize;
        let entry = r.u32()?;
        let slots = r.u64()? as usize;
        let crc = r.u32()?;
        if slots == 0 || slots > records || upto > records || entry as usize >= slots {
            return Err("walk file does not fit the vector store".into());
        }
        if records_crc(&flat[..slots * dim]) != crc {
            return Err("walk file was frozen over other vectors".into());
        }
        let n = r.len(4)?;
        let offsets = r.u32s(n)?;
        let n = r.len(4)?;
        let links = r.u32s(n)?;
        if offsets.len() != slots + 1
            || offsets.first() != Some(&0)
            || offsets.last() != Some(&(links.len() as u32))
            || offsets.windows(2).any(|w| w[0] > w[1])
            || links.iter().any(|&l| l as usize >= slots)
        {
            return Err("walk file holds links out of range".into());
        }
        let layers = r.u32()? as usize;
        let mut upper = Vec::with_capacity(layers.min(64));
        for _ in 0..layers {
            let rows = r.len(12)?;
            let mut layer = HashMap::with_capacity(rows);
            for _ in 0..rows {
                let vid = r.u32()?;
                let n = r.len(4)?;
                let row = r.u32s(n)?;
                if vid as usize >= slots || row.iter().any(|&l| l as usize >= slots) {
                    return Err("walk file holds links out of range".into());
                }
                layer.insert(vid, row);
            }
            upper.push(layer);
        }
        if !r.0.is_empty() {
            return Err("walk file has trailing bytes".into());
        }
        let stride = dim + 4;
        let mut vectors = vec![0i8; slots * stride];
        for (v, out) in vectors.chunks_exact_mut(stride).enumerate() {
            quantise(flat[v * dim..(v + 1) * dim].iter().copied(), out);
        }
        Ok(Walk {
            upto,
            entry,
            offsets,
            links,
            upper,
            dim,
            vectors,
            stride,
            slots,
        })
    }

    /// Vids below this are covered by the walk; later ones must be searched another way.
    pub(crate) fn upto(&self) -> usize {
        self.upto
    }

    /// Vid slots the walk holds vectors for (one past its largest vid).
    pub(crate) fn slots(&self) -> usize {
        self.slots
    }

    fn dist(&self, query: &[i8], vid: Vid) -> f32 {
        match self.held(vid) {
            Some(v) => quantised_distance(query, v, self.dim),
            None => f32::INFINITY,
        }
    }

    /// The quantised vector (and scale) of `vid`.
    fn held(&self, vid: Vid) -> Option<&[i8]> {
        let start = vid as usize * self.stride;
        self.vectors.get(start..start + self.stride)
    }

    /// Touches one component per cache line of the vectors of `vids`: plain independent loads
    /// the CPU overlaps, so the lines are on their way before the distances need them (the
    /// workspace forbids `unsafe`, and with it the prefetch intrinsic).
    #[inline]
    fn touch(&self, vids: &[Vid]) {
        let mut sink = 0i8;
        for &vid in vids {
            if let Some(v) = self.held(vid) {
                for x in v.iter().step_by(64) {
                    sink ^= *x;
                }
                sink ^= v[v.len() - 1];
            }
        }
        std::hint::black_box(sink);
    }

    fn layer0(&self, vid: Vid) -> &[Vid] {
        let v = vid as usize;
        match (self.offsets.get(v), self.offsets.get(v + 1)) {
            (Some(&a), Some(&b)) => &self.links[a as usize..b as usize],
            _ => &[],
        }
    }

    /// `query` quantised as the walk's vectors are, for [`Walk::dist`].
    fn quantised(&self, query: &[f32]) -> Vec<i8> {
        let mut q = vec![0i8; self.stride];
        quantise(query.iter().copied(), &mut q);
        q
    }

    /// Quantised distances to the unit vector `query` of the `vids` this walk was frozen over
    /// (into `near`); the others, appended since, go to `rest` unscored.
    pub(crate) fn scan(
        &self,
        query: &[f32],
        vids: &mut dyn Iterator<Item = Vid>,
        near: &mut Vec<(Vid, f32)>,
        rest: &mut Vec<Vid>,
    ) {
        if query.len() != self.dim {
            rest.extend(vids);
            return;
        }
        let q = self.quantised(query);
        for vid in vids {
            if (vid as usize) < self.upto {
                near.push((vid, self.dist(&q, vid)));
            } else {
                rest.push(vid);
            }
        }
    }

    /// The `ef` nearest vids to the unit vector `query` the walk finds, nearest first, with
    /// their (quantised, approximate) distances.
    pub(crate) fn search(&self, query: &[f32], ef: usize) -> Vec<(Vid, f32)> {
        let ef = ef.max(1);
        if query.len() != self.dim {
            return Vec::new();
        }
        let q = self.quantised(query);
        let query = q.as_slice();
        let mut pivot = self.entry;
        let mut best = self.dist(query, pivot);
        for layer in self.upper.iter().rev() {
            loop {
                let mut moved = false;
                for &n in layer.get(&pivot).map_or(&[][..], Vec::as_slice) {
                    let d = self.dist(query, n);
                    if d < best {
                        (best, pivot, moved) = (d, n, true);
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        VISITED.with(|cell| {
            let (stamps, stamp) = &mut *cell.borrow_mut();
            if stamps.len() < self.slots {
                stamps.resize(self.slots, 0);
            }
            *stamp = stamp.wrapping_add(1);
            if *stamp == 0 {
                stamps.iter_mut().for_each(|s| *s = 0);
                *stamp = 1;
            }
            let stamp = *stamp;
            let mut candidates = BinaryHeap::with_capacity(ef * 2);
            let mut found: BinaryHeap<Cand> = BinaryHeap::with_capacity(ef + 1);
            let mut fresh: Vec<Vid> = Vec::with_capacity(64);
            let mut scored: Vec<(Vid, f32)> = Vec::with_capacity(64);
            stamps[pivot as usize] = stamp;
            candidates.push(Reverse(Cand(best, pivot)));
            found.push(Cand(best, pivot));
            while let Some(Reverse(Cand(d, v))) = candidates.pop() {
                if found.len() >= ef && found.peek().is_some_and(|f| d > f.0) {
                    break;
                }
                // Marks first, then the distances: independent loads the CPU can overlap.
                fresh.clear();
                for &n in self.layer0(v) {
                    let seen = &mut stamps[n as usize];
                    if *seen != stamp {
                        *seen = stamp;
                        fresh.push(n);
                    }
                }
                // The vectors are far apart and rarely cached: ask for all of them at once, so
                // their misses overlap instead of queueing behind each distance.
                self.touch(&fresh);
                scored.clear();
                scored.extend(fresh.iter().map(|&n| (n, self.dist(query, n))));
                for &(n, dn) in &scored {
                    if found.len() < ef || found.peek().is_some_and(|f| dn < f.0) {
                        candidates.push(Reverse(Cand(dn, n)));
                        found.push(Cand(dn, n));
                        if found.len() > ef {
                            found.pop();
                        }
                    }
                }
            }
            let mut out: Vec<(Vid, f32)> = found.into_iter().map(|c| (c.1, c.0)).collect();
            out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::random_unit;
    use crate::point::to_half;

    /// Regression: a freeze racing inserts used to keep links to points inserted after it
    /// collected the points, and a search then indexed past its vectors and stamps.
    #[test]
    fn a_walk_frozen_during_inserts_links_only_to_points_it_holds() {
        let dim = 8;
        let n = 6000;
        let mut seed = 11u64;
        let vecs: Arc<Vec<Vec<Half>>> = Arc::new(
            (0..n)
                .map(|_| to_half(&random_unit(&mut seed, dim)))
                .collect(),
        );
        let graph: Arc<Graph> = Arc::new(Hnsw::new(8, n, 16, 32, UnitDot));
        let writer = {
            let (graph, vecs) = (graph.clone(), vecs.clone());
            std::thread::spawn(move || {
                for (i, v) in vecs.iter().enumerate() {
                    graph.insert_slice((v, i));
                }
            })
        };
        let mut freezes = 0;
        while !writer.is_finished() || freezes == 0 {
            let Some(walk) = Walk::freeze(&graph, 0) else {
                continue;
            };
            freezes += 1;
            for v in 0..walk.slots {
                for &l in walk.layer0(v as Vid) {
                    assert!(
                        walk.held(l).is_some_and(|h| scale_of(h, dim) > 0.0),
                        "freeze {freezes}: {v} links to {l}, which the walk does not hold"
                    );
                }
            }
            for layer in &walk.upper {
                for l in layer.values().flatten() {
                    assert!((*l as usize) < walk.slots, "upper link to {l} not held");
                }
            }
            let query: Vec<f32> = vecs[freezes % n].iter().map(|h| h.to_f32()).collect();
            for (vid, _) in walk.search(&query, 10) {
                assert!((vid as usize) < walk.slots);
            }
        }
        writer.join().unwrap();
        assert!(freezes > 1, "the writer finished before a second freeze");
    }

    /// A saved walk loads back with the same links and walks to the same neighbours; a
    /// damaged, truncated or foreign file (another store's vectors, another dimension) is
    /// refused, never walked.
    #[test]
    fn a_saved_walk_loads_back_and_a_damaged_one_is_refused() {
        let dim = 16;
        let n = 1500;
        let mut seed = 5u64;
        let flat: Vec<f32> = (0..n).flat_map(|_| random_unit(&mut seed, dim)).collect();
        let graph: Graph = Hnsw::new(16, n, 16, 100, UnitDot);
        for i in 0..n {
            graph.insert_slice((&to_half(&flat[i * dim..(i + 1) * dim]), i));
        }
        let walk = Walk::freeze(&graph, n).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("walk.links");
        walk.save(&path, records_crc(&flat[..walk.slots * dim]))
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let back = Walk::load(&bytes, &flat, dim).unwrap();
        assert_eq!(back.upto, walk.upto);
        assert_eq!(back.entry, walk.entry);
        assert_eq!(back.slots, walk.slots);
        assert_eq!(back.offsets, walk.offsets);
        assert_eq!(back.links, walk.links);
        assert_eq!(back.upper, walk.upper);
        let mut same = 0;
        for q in (0..n).step_by(97) {
            let query = &flat[q * dim..(q + 1) * dim];
            let a: Vec<Vid> = walk.search(query, 10).into_iter().map(|x| x.0).collect();
            let b: Vec<Vid> = back.search(query, 10).into_iter().map(|x| x.0).collect();
            assert_eq!(b[0], q as Vid, "a stored vector is its own nearest");
            same += a.iter().filter(|v| b.contains(v)).count();
        }
        // Re-quantised from f32 rather than from the graph's halves: near-ties may differ.
        assert!(same >= 16 * 9, "{same} of 160 neighbours agree");

        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x40;
        let err = Walk::load(&flipped, &flat, dim).err().unwrap();
        assert!(err.contains("checksum"), "{err}");
        assert!(Walk::load(&bytes[..bytes.len() - 9], &flat, dim).is_err());
        assert!(Walk::load(&[], &flat, dim).is_err());
        let mut other = flat.clone();
        other[3 * dim] = -other[3 * dim];
        let err = Walk::load(&bytes, &other, dim).err().unwrap();
        assert!(err.contains("other vectors"), "{err}");
        let err = Walk::load(&bytes, &flat[..(n / 2) * dim], dim)
            .err()
            .unwrap();
        assert!(err.contains("does not fit"), "{err}");
        assert!(Walk::load(&bytes, &flat, dim * 2).is_err());
    }

    proptest::proptest! {
        /// The quantised distance stays within 0.02 of the exact `1 − dot` of unit vectors
        /// (384 dimensions, as the model's), so the walk's order only errs among near-ties,
        /// which the exact re-scoring after the walk repairs.
        #[test]
        fn quantised_distance_is_close_to_the_exact_one(seed in 1u64..u64::MAX / 2) {
            let mut seed = seed;
            let dim = 384;
            let a = random_unit(&mut seed, dim);
            let b = random_unit(&mut seed, dim);
            // A second vector near the first as well, where the order matters most.
            let near: Vec<f32> = {
                let v: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + 0.3 * y).collect();
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / n).collect()
            };
            let (mut qa, mut qb, mut qn) = (vec![0i8; dim + 4], vec![0i8; dim + 4], vec![0i8; dim + 4]);
            quantise(a.iter().copied(), &mut qa);
            quantise(b.iter().copied(), &mut qb);
            quantise(near.iter().copied(), &mut qn);
            let exact = |x: &[f32], y: &[f32]| 1.0 - x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
            proptest::prop_assert!((quantised_distance(&qa, &qb, dim) - exact(&a, &b)).abs() < 0.02);
            proptest::prop_assert!((quantised_distance(&qa, &qn, dim) - exact(&a, &near)).abs() < 0.02);
            proptest::prop_assert!(quantised_distance(&qa, &qa, dim) < 0.02);
        }
    }
}
