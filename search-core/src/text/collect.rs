//! The match-set collector: count, facets, the vid bitset and the best matches of a query.

use super::filters::NumericFilter;
use crate::bits;
use crate::doc::Kind;
use std::collections::{HashMap, HashSet};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Facet value counts of one field.
pub type FacetCounts = Vec<(String, u64)>;

/// What the match-set collector gathers: count, facets and the vids of all matches.
#[derive(Debug, Default, Clone)]
pub struct MatchSet {
    pub count: u64,
    pub kind: FacetCounts,
    pub category: FacetCounts,
    pub brand: FacetCounts,
    /// Bitset over vids.
    pub vids: Vec<u64>,
    /// The best `MatchSetCollector::top` matches, best first (ties by address, as tantivy's
    /// `TopDocs` orders them).
    pub top: Vec<(Score, tantivy::DocAddress)>,
}

impl MatchSet {
    pub fn contains(&self, vid: u32) -> bool {
        bits::contains(&self.vids, vid)
    }
}

/// Marks a missing vid or ordinal in a [`SegmentTable`] row.
pub const NO_ORD: u32 = u32::MAX;
/// Stock of a document without one in a [`SegmentTable`].
const NO_STOCK: i64 = i64::MIN;

/// The fast fields of one segment that the hot path reads, decoded once into a flat table.
///
/// Segments are immutable (deletes only change the alive bitset), so a table built for a
/// segment stays valid in every later snapshot holding that segment: the engine caches tables
/// by segment id. Reading `facets[doc]` replaces column decodes per matched document, and
/// facet values and code keys are compared by ordinal: a string column's dictionary is an
/// sstable whose every lookup decompresses a block. The columns are apart because every match
/// of a query reads the facets, hybrid ones the vid too, and only the few top candidates the
/// codes: a match's read touches 12 bytes instead of one 24-byte row (no latency difference
/// beyond this machine's noise was measured for it).
pub struct SegmentTable {
    /// Per doc id: kind / category / brand ordinals; [`NO_ORD`] if absent.
    facets: Vec<[u32; 3]>,
    /// Per doc id: the vid; [`NO_ORD`] if absent.
    vids: Vec<u32>,
    /// Per doc id: sku_key / model_key ordinals; [`NO_ORD`] if absent.
    codes: Vec<[u32; 2]>,
    /// Per doc id: units in stock; [`NO_STOCK`] if absent.
    pub(super) stock: Vec<i64>,
    /// Per doc id: the price in roubles; NaN if absent.
    pub(super) price: Vec<f64>,
    /// Kind, category and brand values by ordinal (small dictionaries, decoded once).
    facet_values: [Vec<String>; 3],
    /// Per kind ordinal (two kinds), the bitset of its documents: the kind facet is counted a
    /// bitset word at a time, not a document at a time.
    kind_bits: Vec<Vec<u64>>,
    /// Ordinal of the kind `product`.
    product_ord: u32,
    /// Ordinal of the kind `spare_part`.
    spare_ord: u32,
    /// The sku_key and model_key dictionaries (term → ordinal), for resolving query codes.
    /// Decoded once: a lookup in the column's sstable decompresses a zstd block each time,
    /// and creating the decompression context alone dominated the cost of short queries.
    code_maps: [HashMap<Box<[u8]>, u32>; 2],
    /// The model_key dictionary the other way: ordinal → term.
    model_keys: Vec<Box<[u8]>>,
}

/// Query codes resolved to the ordinals of one segment's sku_key and model_key dictionaries.
#[derive(Debug, Default)]
pub struct SegmentCodes {
    sku: Vec<u32>,
    model: Vec<u32>,
}

impl SegmentTable {
    pub fn build(reader: &SegmentReader) -> tantivy::Result<SegmentTable> {
        let ff = reader.fast_fields();
        let vid = ff.u64("vid")?;
        let facets = [ff.str("kind")?, ff.str("category")?, ff.str("brand")?];
        let code_dicts = [ff.str("sku_key")?, ff.str("model_key")?];
        let ord = |col: &Option<StrColumn>, doc: DocId| {
            col.as_ref()
                .and_then(|c| c.term_ords(doc).next())
                .map_or(NO_ORD, |o| o as u32)
        };
        let docs = 0..reader.max_doc();
        let facet_rows: Vec<[u32; 3]> = docs
            .clone()
            .map(|doc| {
                [
                    ord(&facets[0], doc),
                    ord(&facets[1], doc),
                    ord(&facets[2], doc),
                ]
            })
            .collect();
        let vids = docs
            .clone()
            .map(|doc| vid.first(doc).map_or(NO_ORD, |v| v as u32))
            .collect();
        let codes = docs
            .clone()
            .map(|doc| [ord(&code_dicts[0], doc), ord(&code_dicts[1], doc)])
            .collect();
        let stock_col = ff.i64("in_stock")?;
        let stock = docs
            .clone()
            .map(|doc| stock_col.first(doc).unwrap_or(NO_STOCK))
            .collect();
        let price_col = ff.f64("price")?;
        let price = docs
            .map(|doc| price_col.first(doc).unwrap_or(f64::NAN))
            .collect();
        let mut facet_values: [Vec<String>; 3] = Default::default();
        for (values, col) in facet_values.iter_mut().zip(&facets) {
            if let Some(col) = col {
                for o in 0..col.num_terms() as u64 {
                    let mut s = String::new();
                    col.ord_to_str(o, &mut s)?;
                    values.push(s);
                }
            }
        }
        let product_ord = facet_values[0]
            .iter()
            .position(|k| k == Kind::Product.as_str())
            .map_or(NO_ORD, |o| o as u32);
        let spare_ord = facet_values[0]
            .iter()
            .position(|k| k == Kind::SparePart.as_str())
            .map_or(NO_ORD, |o| o as u32);
        let words = (reader.max_doc() as usize).div_ceil(64);
        let mut kind_bits = vec![vec![0u64; words]; facet_values[0].len()];
        for (doc, row) in facet_rows.iter().enumerate() {
            if let Some(bits) = kind_bits.get_mut(row[0] as usize) {
                bits::mark(bits, doc as u32);
            }
        }
        let mut code_maps: [HashMap<Box<[u8]>, u32>; 2] = Default::default();
        for (map, col) in code_maps.iter_mut().zip(&code_dicts) {
            if let Some(col) = col {
                let mut terms = col.dictionary().stream()?;
                map.reserve(col.num_terms());
                while terms.advance() {
                    map.insert(terms.key().into(), terms.term_ord() as u32);
                }
            }
        }
        let mut model_keys: Vec<Box<[u8]>> = vec![Box::default(); code_maps[1].len()];
        for (key, &ord) in &code_maps[1] {
            if let Some(slot) = model_keys.get_mut(ord as usize) {
                *slot = key.clone();
            }
        }
        Ok(SegmentTable {
            model_keys,
            facets: facet_rows,
            vids,
            codes,
            stock,
            price,
            facet_values,
            kind_bits,
            product_ord,
            spare_ord,
            code_maps,
        })
    }

    /// Number of doc ids (alive or not) the table covers.
    pub fn max_doc(&self) -> usize {
        self.facets.len()
    }

    /// The vid stored in `doc`.
    pub fn vid(&self, doc: DocId) -> Option<u32> {
        let v = *self.vids.get(doc as usize)?;
        (v != NO_ORD).then_some(v)
    }

    /// Facet ordinal of `doc` in facet `i` (0 kind, 1 category, 2 brand).
    pub fn facet_ord(&self, doc: DocId, i: usize) -> Option<u32> {
        let o = *self.facets.get(doc as usize)?.get(i)?;
        (o != NO_ORD).then_some(o)
    }

    /// Number of distinct values of facet `i` in this segment.
    pub fn facet_len(&self, i: usize) -> usize {
        self.facet_values[i].len()
    }

    /// The value of ordinal `ord` in facet `i`.
    pub fn facet_str(&self, i: usize, ord: u32) -> Option<&str> {
        self.facet_values[i].get(ord as usize).map(String::as_str)
    }

    /// Resolves folded query codes to this segment's sku and model ordinals.
    pub fn resolve_codes(&self, codes: &HashSet<String>) -> SegmentCodes {
        let resolve = |map: &HashMap<Box<[u8]>, u32>| -> Vec<u32> {
            codes
                .iter()
                .filter_map(|c| map.get(c.as_bytes()).copied())
                .collect()
        };
        SegmentCodes {
            sku: resolve(&self.code_maps[0]),
            model: resolve(&self.code_maps[1]),
        }
    }

    /// Pin tier of `doc` for the resolved codes: 0 its sku is one of them, 1 it is a machine
    /// of such a model, 2 a part of such a series; `None` otherwise.
    /// The folded model (series) of `doc`, if it has one.
    pub fn model_key(&self, doc: DocId) -> Option<&str> {
        let [_, model] = *self.codes.get(doc as usize)?;
        let key = self.model_keys.get(model as usize)?;
        std::str::from_utf8(key).ok().filter(|k| !k.is_empty())
    }

    pub fn pin_tier(&self, doc: DocId, codes: &SegmentCodes) -> Option<u8> {
        let [sku, model] = *self.codes.get(doc as usize)?;
        if sku != NO_ORD && codes.sku.contains(&sku) {
            return Some(0);
        }
        if model != NO_ORD && codes.model.contains(&model) {
            let kind = self.facets.get(doc as usize)?[0];
            let product = kind != NO_ORD && kind == self.product_ord;
            return Some(if product { 1 } else { 2 });
        }
        None
    }
}

/// Counts facets over the whole match set and records every matched vid.
pub struct MatchSetCollector {
    pub with_facets: bool,
    /// Record the matched vids (hybrid fusion and filters need them; plain lexical does not).
    pub with_vids: bool,
    /// Vid bitset size in 64-bit words, so segments never grow it while collecting.
    pub vid_words: usize,
    /// One table per segment of the searcher, in segment-ordinal order.
    pub tables: std::sync::Arc<Vec<std::sync::Arc<SegmentTable>>>,
    /// Keep this many best-scored matches (0: do not score).
    pub top: usize,
    /// Added to the score of spare parts ([`LexicalQuery::part_boost`]).
    pub part_boost: Score,
}

pub struct MatchSetSegment {
    with_facets: bool,
    with_vids: bool,
    ord: SegmentOrdinal,
    k: usize,
    part_boost: Score,
    /// Up to `2 * k` candidates; scores at or below `threshold` cannot enter once it is set.
    top: Vec<(Score, DocId)>,
    threshold: Score,
    count: u64,
    table: std::sync::Arc<SegmentTable>,
    /// Per facet, [`LANES`] counters per ordinal (`ord * LANES + doc % LANES`), summed at
    /// harvest: consecutive matches of one category then add to different counters, instead
    /// of each increment waiting for the previous one's store.
    counts: [Vec<u64>; 3],
    vids: Vec<u64>,
}

/// Counter lanes per facet value in [`MatchSetSegment`].
const LANES: usize = 4;

/// Facet counts resolved to strings, per segment.
pub struct SegmentMatches {
    ord: SegmentOrdinal,
    top: Vec<(Score, DocId)>,
    count: u64,
    facets: Vec<Vec<(String, u64)>>,
    vids: Vec<u64>,
}

impl Collector for MatchSetCollector {
    type Fruit = MatchSet;
    type Child = MatchSetSegment;

    fn for_segment(
        &self,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<MatchSetSegment> {
        let table = match self.tables.get(ord as usize) {
            Some(t) if t.max_doc() == reader.max_doc() as usize => t.clone(),
            _ => std::sync::Arc::new(SegmentTable::build(reader)?),
        };
        let counts = if self.with_facets {
            let n = |i: usize| table.facet_len(i) * LANES;
            [vec![0u64; n(0)], vec![0u64; n(1)], vec![0u64; n(2)]]
        } else {
            Default::default()
        };
        Ok(MatchSetSegment {
            with_facets: self.with_facets,
            with_vids: self.with_vids,
            ord,
            k: self.top,
            part_boost: self.part_boost,
            top: Vec::with_capacity(2 * self.top),
            threshold: Score::NEG_INFINITY,
            count: 0,
            table,
            counts,
            vids: if self.with_vids {
                vec![0; self.vid_words]
            } else {
                Vec::new()
            },
        })
    }

    fn requires_scoring(&self) -> bool {
        self.top > 0
    }

    fn merge_fruits(&self, fruits: Vec<SegmentMatches>) -> tantivy::Result<MatchSet> {
        let mut out = MatchSet::default();
        let mut maps: Vec<std::collections::HashMap<String, u64>> = vec![Default::default(); 3];
        for fr in fruits {
            out.top.extend(
                fr.top
                    .iter()
                    .map(|&(score, doc)| (score, tantivy::DocAddress::new(fr.ord, doc))),
            );
            out.count += fr.count;
            for (i, facet) in fr.facets.into_iter().enumerate() {
                for (v, c) in facet {
                    *maps[i].entry(v).or_default() += c;
                }
            }
            if out.vids.is_empty() {
                out.vids = fr.vids;
            } else {
                if out.vids.len() < fr.vids.len() {
                    out.vids.resize(fr.vids.len(), 0);
                }
                for (o, w) in out.vids.iter_mut().zip(fr.vids) {
                    *o |= w;
                }
            }
        }
        let sorted = |m: std::collections::HashMap<String, u64>| {
            let mut v: Vec<(String, u64)> = m.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            v
        };
        out.top.sort_unstable_by(by_rank);
        out.top.truncate(self.top);
        let mut it = maps.into_iter();
        out.kind = sorted(it.next().unwrap_or_default());
        out.category = sorted(it.next().unwrap_or_default());
        out.brand = sorted(it.next().unwrap_or_default());
        Ok(out)
    }
}

/// Keeps `doc` in `top` if it may be among the best `k`. Docs arrive in increasing id order,
/// so one that only ties `threshold` ranks below every kept doc of that score.
#[inline]
fn offer(top: &mut Vec<(Score, DocId)>, threshold: &mut Score, k: usize, doc: DocId, score: Score) {
    if score <= *threshold {
        return;
    }
    if top.len() == 2 * k {
        top.select_nth_unstable_by(k - 1, by_rank);
        top.truncate(k);
        *threshold = top[k - 1].0;
        if score <= *threshold {
            return;
        }
    }
    top.push((score, doc));
}

/// Counts `doc` for facet value `ord` in `counts` (laid out as [`MatchSetSegment::counts`]);
/// [`NO_ORD`] counts nothing.
#[inline]
fn count_facet(counts: &mut [u64], ord: u32, doc: usize) {
    if let Some(c) = counts.get_mut((ord as usize) * LANES + doc % LANES) {
        *c += 1;
    }
}

/// Best first: higher score, then lower doc id.
fn by_rank<D: Ord>(a: &(Score, D), b: &(Score, D)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

impl MatchSetSegment {
    /// True when `doc` passes `filter` (checked on this segment's table).
    #[inline]
    pub fn passes(&self, filter: &NumericFilter, doc: DocId) -> bool {
        filter.passes(&self.table, doc)
    }

    /// Collects the documents of bitset word `wi` (doc ids `64 * wi ..`) set in `live`, each
    /// scoring `scores[bit]`: what calling [`SegmentCollector::collect`] for each does, with the
    /// segment's tables looked up once per word and the kind facet counted by bitsets
    /// ([`SegmentTable::kind_bits`]).
    #[inline]
    pub fn collect_word(&mut self, wi: usize, live: u64, scores: &[Score]) {
        if live == 0 {
            return;
        }
        self.count += live.count_ones() as u64;
        let Self {
            with_facets,
            with_vids,
            k,
            part_boost,
            top,
            threshold,
            table,
            counts,
            vids,
            ..
        } = self;
        let table = &**table;
        if *with_facets {
            for (c, bits) in counts[0].iter_mut().step_by(LANES).zip(&table.kind_bits) {
                *c += (live & bits.get(wi).copied().unwrap_or(0)).count_ones() as u64;
            }
        }
        let base = wi * 64;
        // Separate passes over the word's documents, so the ranking does not wait on facet
        // rows: spare parts are known from the kind bitsets.
        if *k > 0 {
            let spare = table
                .kind_bits
                .get(table.spare_ord as usize)
                .and_then(|b| b.get(wi))
                .copied()
                .unwrap_or(0);
            for bit in bits::ones(live) {
                let boost = if spare >> bit & 1 != 0 {
                    *part_boost
                } else {
                    0.0
                };
                let score = scores.get(bit).copied().unwrap_or(0.0) + boost;
                if score > *threshold {
                    offer(top, threshold, *k, (base + bit) as DocId, score);
                }
            }
        }
        if *with_vids {
            for bit in bits::ones(live) {
                if let Some(vid) = table.vid((base + bit) as DocId) {
                    bits::insert(vids, vid);
                }
            }
        }
        if *with_facets {
            let [_, categories, brands] = counts;
            for bit in bits::ones(live) {
                let doc = base + bit;
                let Some(&[_, category, brand]) = table.facets.get(doc) else {
                    continue;
                };
                count_facet(categories, category, doc);
                count_facet(brands, brand, doc);
            }
        }
    }

    #[inline]
    fn add(&mut self, doc: DocId, score: Score) {
        let Some(&row) = self.table.facets.get(doc as usize) else {
            return;
        };
        if self.k > 0 {
            let boost = if row[0] == self.table.spare_ord && row[0] != NO_ORD {
                self.part_boost
            } else {
                0.0
            };
            offer(
                &mut self.top,
                &mut self.threshold,
                self.k,
                doc,
                score + boost,
            );
        }
        if let Some(vid) = self.table.vid(doc).filter(|_| self.with_vids) {
            bits::insert(&mut self.vids, vid);
        }
        if self.with_facets {
            for (counts, &ord) in self.counts.iter_mut().zip(&row) {
                count_facet(counts, ord, doc as usize);
            }
        }
    }
}

impl SegmentCollector for MatchSetSegment {
    type Fruit = SegmentMatches;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.count += 1;
        self.add(doc, score);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.count += docs.len() as u64;
        for &doc in docs {
            self.add(doc, 0.0);
        }
    }

    fn harvest(mut self) -> SegmentMatches {
        self.top.sort_unstable_by(by_rank);
        self.top.truncate(self.k);
        let mut facets = vec![Vec::new(); 3];
        if self.with_facets {
            for (i, counts) in self.counts.into_iter().enumerate() {
                for (ord, lanes) in counts.chunks(LANES).enumerate() {
                    let c: u64 = lanes.iter().sum();
                    if c > 0 {
                        if let Some(s) = self.table.facet_str(i, ord as u32) {
                            facets[i].push((s.to_string(), c));
                        }
                    }
                }
            }
        }
        SegmentMatches {
            ord: self.ord,
            top: self.top,
            count: self.count,
            facets,
            vids: self.vids,
        }
    }
}
