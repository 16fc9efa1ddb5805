//! Term-at-a-time execution of the lexical query.
//!
//! The lexical query is a flat sum of `Should` clauses, and every query needs its whole match
//! set (the total and the facets are over it), so nothing can be skipped the way block-max
//! pruning skips postings for a top-k alone. tantivy's union walks the clauses document at a
//! time: each matched document goes through a window bitset, a per-document score combiner
//! and a dynamically dispatched `score()` of every clause on it. Here each clause is walked on
//! its own instead, into a dense score array of the segment: a term clause straight from its
//! block postings (docs, term frequencies and field norms as slices, BM25 from tantivy's own
//! `Bm25Weight`), a constant clause from its unscored blocks. A bitset records what matched;
//! one pass over it applies filters and deletes, feeds the [`MatchSetCollector`] (count,
//! facets, vids, top k) and zeroes what was touched, so the scratch arrays are clean for the
//! next query without a memset of the whole segment.
//!
//! The scores are those of [`crate::text::LexicalQuery::query`] under tantivy, summed in
//! clause order; tantivy's union sums in an order that changes as its clauses run out, so the
//! two may differ in the last bit of a float (never in what matches).

use crate::text::{Exec, MatchSet, MatchSetCollector, MatchSetSegment};
use std::cell::RefCell;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::fieldnorm::FieldNormReader;
use tantivy::query::{Bm25Weight, EnableScoring, Query, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, Searcher, SegmentReader, Term};

/// Per-thread scratch, sized to the largest segment seen. Invariant between queries: every
/// score is 0 and every bit clear.
#[derive(Default)]
struct Scratch {
    scores: Vec<Score>,
    touched: Vec<u64>,
    keep: Vec<u64>,
    tmp: Vec<u64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A clause made ready for one searcher: weights carry the searcher-wide statistics.
enum Prepared<'a> {
    Term {
        term: &'a Term,
        /// Boxed: its tf-norm cache makes it 1 KiB, against two pointers for the others.
        bm25: Box<Bm25Weight>,
    },
    Const {
        weight: Box<dyn Weight>,
        score: Score,
    },
    Scored(Box<dyn Weight>),
}

/// Runs `clauses` (summed) restricted to documents every filter matches, into `collector`.
pub fn search(
    searcher: &Searcher,
    clauses: &[Exec],
    filters: &[Box<dyn Query>],
    collector: &MatchSetCollector,
) -> tantivy::Result<MatchSet> {
    let scoring = EnableScoring::enabled_from_searcher(searcher);
    let unscored = EnableScoring::disabled_from_searcher(searcher);
    let prepared: Vec<Prepared> = clauses
        .iter()
        .map(|c| {
            Ok(match c {
                Exec::Term { term, boost } => Prepared::Term {
                    term,
                    bm25: Box::new(
                        Bm25Weight::for_terms(searcher, std::slice::from_ref(term))?
                            .boost_by(*boost),
                    ),
                },
                Exec::Const { query, score } => Prepared::Const {
                    weight: query.weight(unscored)?,
                    score: *score,
                },
                Exec::Scored(q) => Prepared::Scored(q.weight(scoring)?),
            })
        })
        .collect::<tantivy::Result<_>>()?;
    let filters: Vec<Box<dyn Weight>> = filters
        .iter()
        .map(|q| q.weight(unscored))
        .collect::<tantivy::Result<_>>()?;
    let mut fruits = Vec::with_capacity(searcher.segment_readers().len());
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        for (ord, reader) in searcher.segment_readers().iter().enumerate() {
            let mut seg = collector.for_segment(ord as u32, reader)?;
            let done = segment(&mut scratch, reader, &prepared, &filters, &mut seg);
            if done.is_err() {
                // Restore the invariant: the walk stopped with scores and bits set.
                scratch.scores.iter_mut().for_each(|s| *s = 0.0);
                scratch.touched.iter_mut().for_each(|w| *w = 0);
            }
            done?;
            fruits.push(seg.harvest());
        }
        Ok::<(), tantivy::TantivyError>(())
    })?;
    collector.merge_fruits(fruits)
}

fn mark(touched: &mut [u64], doc: DocId) {
    touched[doc as usize / 64] |= 1 << (doc % 64);
}

/// Accumulates every clause over one segment, then hands the matches to `seg`.
fn segment(
    scratch: &mut Scratch,
    reader: &SegmentReader,
    clauses: &[Prepared],
    filters: &[Box<dyn Weight>],
    seg: &mut MatchSetSegment,
) -> tantivy::Result<()> {
    let max_doc = reader.max_doc() as usize;
    let words = max_doc.div_ceil(64);
    if scratch.scores.len() < max_doc {
        scratch.scores.resize(max_doc, 0.0);
    }
    if scratch.touched.len() < words {
        scratch.touched.resize(words, 0);
    }
    let Scratch {
        scores,
        touched,
        keep,
        tmp,
    } = scratch;
    let scores = &mut scores[..max_doc];
    let touched = &mut touched[..words];

    for clause in clauses {
        match clause {
            Prepared::Term { term, bm25 } => {
                let field = term.field();
                let Some(mut block) = reader
                    .inverted_index(field)?
                    .read_block_postings(term, IndexRecordOption::WithFreqs)?
                else {
                    continue;
                };
                let norms = reader
                    .fieldnorms_readers()
                    .get_field(field)?
                    .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1));
                loop {
                    let docs = block.docs();
                    if docs.is_empty() {
                        break;
                    }
                    let freqs = block.freqs();
                    if freqs.len() == docs.len() {
                        for (&doc, &tf) in docs.iter().zip(freqs) {
                            scores[doc as usize] += bm25.score(norms.fieldnorm_id(doc), tf);
                            mark(touched, doc);
                        }
                    } else {
                        // A term indexed without frequencies: each occurs once.
                        for &doc in docs {
                            scores[doc as usize] += bm25.score(norms.fieldnorm_id(doc), 1);
                            mark(touched, doc);
                        }
                    }
                    block.advance();
                }
            }
            Prepared::Const { weight, score } => {
                let score = *score;
                weight.for_each_no_score(reader, &mut |docs| {
                    for &doc in docs {
                        scores[doc as usize] += score;
                        mark(touched, doc);
                    }
                })?;
            }
            Prepared::Scored(weight) => {
                weight.for_each(reader, &mut |doc, score| {
                    scores[doc as usize] += score;
                    mark(touched, doc);
                })?;
            }
        }
    }

    // Documents every filter matches.
    let filtered = !filters.is_empty();
    if filtered {
        for (i, weight) in filters.iter().enumerate() {
            let target = if i == 0 { &mut *keep } else { &mut *tmp };
            target.clear();
            target.resize(words, 0);
            weight.for_each_no_score(reader, &mut |docs| {
                for &doc in docs {
                    mark(target, doc);
                }
            })?;
            if i > 0 {
                for (k, t) in keep.iter_mut().zip(tmp.iter()) {
                    *k &= *t;
                }
            }
        }
    }

    let alive = reader.alive_bitset();
    for (wi, word) in touched.iter_mut().enumerate() {
        let mut bits = *word;
        if bits == 0 {
            continue;
        }
        *word = 0;
        let pass = if filtered { keep[wi] } else { u64::MAX };
        while bits != 0 {
            let bit = bits.trailing_zeros();
            bits &= bits - 1;
            let doc = (wi * 64) as DocId + bit;
            let score = std::mem::take(&mut scores[doc as usize]);
            if pass & (1 << bit) != 0 && alive.is_none_or(|a| a.is_alive(doc)) {
                seg.collect(doc, score);
            }
        }
    }
    Ok(())
}
