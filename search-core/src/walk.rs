//! A read-only, flat copy of the HNSW graph's links for the query walk.
//!
//! hnsw_rs builds the graph (insertion is the hard part and stays with it), but its search
//! pays per visited node for a `HashMap` insert, an `Arc` clone per candidate and a lock per
//! expanded node. A [`Walk`] copies the links into compressed rows (layer 0) and small maps
//! (upper layers) keyed by vid, marks visits in a reused per-thread stamp array, and keeps its
//! own contiguous copy of the half-precision vectors, indexed by vid, so a distance is one
//! load from a computed address instead of a chain of pointers (the walk is bound by memory
//! latency; 2 × 384 bytes more per vector). When a walk is frozen again, and how vids appended
//! after it are found, is `vector::Frozen`'s business. It runs the same algorithm: a greedy
//! descent through the upper layers, then a best-first search with `ef` candidates on layer 0.

use crate::vector::{Half, UnitDot, Vid};
use hnsw_rs::anndists::dist::Distance;
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
    /// Half-precision vectors by vid (`vid * dim..`); zeros for vids not in the graph, which
    /// no link points at.
    vectors: Vec<Half>,
    /// Number of vid slots (`vectors.len() / dim`).
    slots: usize,
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
        let mut vectors: Vec<Half> = vec![Half::from_f32(0.0); (max_vid + 1) * dim];
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
            vectors[vid * dim..(vid + 1) * dim].copy_from_slice(p.get_v());
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
            slots: max_vid + 1,
        })
    }

    /// Vids below this are covered by the walk; later ones must be searched another way.
    pub(crate) fn upto(&self) -> usize {
        self.upto
    }

    fn dist(&self, query: &[Half], vid: Vid) -> f32 {
        let start = vid as usize * self.dim;
        match self.vectors.get(start..start + self.dim) {
            Some(v) => UnitDot.eval(query, v),
            None => f32::INFINITY,
        }
    }

    /// Touches one component per cache line of the vectors of `vids`: plain independent loads
    /// the CPU overlaps, so the lines are on their way before the distances need them (the
    /// workspace forbids `unsafe`, and with it the prefetch intrinsic).
    #[inline]
    fn touch(&self, vids: &[Vid]) {
        let step = (64 / std::mem::size_of::<Half>()).max(1);
        let mut sink = 0u16;
        for &vid in vids {
            let start = vid as usize * self.dim;
            if let Some(v) = self.vectors.get(start..start + self.dim) {
                for x in v.iter().step_by(step) {
                    sink ^= x.0;
                }
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

    /// The `ef` nearest vids to `query` the walk finds, nearest first, with their distances.
    pub(crate) fn search(&self, query: &[Half], ef: usize) -> Vec<(Vid, f32)> {
        let ef = ef.max(1);
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
    use crate::vector::{tests::random_unit, to_half};

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
        let zero = vec![Half::from_f32(0.0); dim];
        let mut freezes = 0;
        while !writer.is_finished() || freezes == 0 {
            let Some(walk) = Walk::freeze(&graph, 0) else {
                continue;
            };
            freezes += 1;
            for v in 0..walk.slots {
                for &l in walk.layer0(v as Vid) {
                    let start = l as usize * dim;
                    let held = walk.vectors.get(start..start + dim);
                    assert!(
                        held.is_some_and(|h| h != zero.as_slice()),
                        "freeze {freezes}: {v} links to {l}, which the walk does not hold"
                    );
                }
            }
            for layer in &walk.upper {
                for l in layer.values().flatten() {
                    assert!((*l as usize) < walk.slots, "upper link to {l} not held");
                }
            }
            for (vid, _) in walk.search(&vecs[freezes % n], 10) {
                assert!((vid as usize) < walk.slots);
            }
        }
        writer.join().unwrap();
        assert!(freezes > 1, "the writer finished before a second freeze");
    }
}
