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
//! Match-only parts (constants, filters, the word groups of synonym expansions) are evaluated
//! as per-segment bitsets: term postings set bits, unions and intersections combine them word
//! by word, and only queries of other shapes go through their tantivy weight.
//!
//! The scores are those of [`crate::text::LexicalQuery::query`] under tantivy, summed in
//! clause order; tantivy's union sums in an order that changes as its clauses run out, so the
//! two may differ in the last bit of a float (never in what matches).

use crate::text::{Exec, MatchSet, MatchSetCollector, MatchSetSegment, NumericFilter};
use std::cell::RefCell;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{BlockSegmentPostings, TermInfo};
use tantivy::query::Bm25StatisticsProvider;
use tantivy::query::{Bm25Weight, BooleanQuery, EnableScoring, Occur, Query, TermQuery, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Score, Searcher, SegmentReader, Term};

/// Per-thread scratch, sized to the largest segment seen. Invariant between queries: every
/// score is 0 and every bit of `touched` clear, unless `dirty` says a segment's walk did not
/// finish (an error or a panic), in which case the next one clears everything first.
#[derive(Default)]
struct Scratch {
    scores: Vec<Score>,
    touched: Vec<u64>,
    pool: Pool,
    dirty: bool,
}

/// Bitsets lent out while match plans and filters are evaluated, kept for the next query.
#[derive(Default)]
struct Pool(Vec<Vec<u64>>);

impl Pool {
    /// A zeroed bitset of `words` words.
    fn take(&mut self, words: usize) -> Vec<u64> {
        let mut bits = self.0.pop().unwrap_or_default();
        bits.clear();
        bits.resize(words, 0);
        bits
    }

    fn give(&mut self, bits: Vec<u64>) {
        self.0.push(bits);
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A clause made ready for one searcher: weights carry the searcher-wide statistics.
enum Prepared<'a> {
    Term(Scored<'a>),
    Const {
        plan: MatchPlan,
        score: Score,
    },
    AllOf {
        groups: Vec<Vec<Scored<'a>>>,
        /// Which documents hold every group: the intersection of the groups' `body` terms.
        all: Vec<MatchPlan>,
    },
    Scored(Box<dyn Weight>),
}

/// A term with its BM25 weight and where its postings are in each segment.
struct Scored<'a> {
    term: &'a Term,
    /// Boxed: its tf-norm cache makes it 1 KiB, against a few pointers for the others.
    bm25: Box<Bm25Weight>,
    /// The term's dictionary entry per segment (by ordinal), looked up once for both its
    /// document frequency and its postings.
    infos: Vec<Option<TermInfo>>,
}

/// A match-only query as bitset operations: term postings, unions and intersections are
/// evaluated here a segment's bitset at a time, anything else by its tantivy weight.
enum MatchPlan {
    Term(Term),
    Any(Vec<MatchPlan>),
    All(Vec<MatchPlan>),
    Weight(Box<dyn Weight>),
}

impl MatchPlan {
    fn of(query: &dyn Query, unscored: EnableScoring<'_>) -> tantivy::Result<MatchPlan> {
        if let Some(t) = query.downcast_ref::<TermQuery>() {
            return Ok(MatchPlan::Term(t.term().clone()));
        }
        if let Some(b) = query.downcast_ref::<BooleanQuery>() {
            let clauses = b.clauses();
            let all = |occur: Occur| !clauses.is_empty() && clauses.iter().all(|c| c.0 == occur);
            let children = || {
                clauses
                    .iter()
                    .map(|(_, q)| MatchPlan::of(q.as_ref(), unscored))
                    .collect::<tantivy::Result<Vec<_>>>()
            };
            // A union that asks for more than one of its clauses is left to tantivy.
            if all(Occur::Should) && b.get_minimum_number_should_match() <= 1 {
                return Ok(MatchPlan::Any(children()?));
            }
            if all(Occur::Must) {
                return Ok(MatchPlan::All(children()?));
            }
        }
        Ok(MatchPlan::Weight(query.weight(unscored)?))
    }
}

/// BM25 weights of single terms with the searcher's statistics, as `Bm25Weight::for_terms`
/// computes them, without its explanation (strings built per term and thrown away) and with
/// each field's token total summed over the segments once per query.
struct Stats<'a> {
    searcher: &'a Searcher,
    total_docs: u64,
    avg_norm: std::collections::HashMap<Field, Score>,
}

impl<'a> Stats<'a> {
    fn new(searcher: &'a Searcher) -> tantivy::Result<Stats<'a>> {
        Ok(Stats {
            searcher,
            total_docs: searcher.total_num_docs()?,
            avg_norm: Default::default(),
        })
    }

    fn bm25<'t>(&mut self, term: &'t Term, boost: Score) -> tantivy::Result<Scored<'t>> {
        let field = term.field();
        let avg = match self.avg_norm.get(&field) {
            Some(a) => *a,
            None => {
                let tokens = self.searcher.total_num_tokens(field)?;
                let a = tokens as Score / self.total_docs as Score;
                self.avg_norm.insert(field, a);
                a
            }
        };
        // The document frequency as `Searcher::doc_freq` sums it, from entries kept for the
        // postings.
        let mut doc_freq = 0u64;
        let mut infos = Vec::with_capacity(self.searcher.segment_readers().len());
        for reader in self.searcher.segment_readers() {
            let info = reader.inverted_index(field)?.get_term_info(term)?;
            doc_freq += info.as_ref().map_or(0, |i| u64::from(i.doc_freq));
            infos.push(info);
        }
        Ok(Scored {
            term,
            bm25: Box::new(
                Bm25Weight::for_one_term_without_explain(doc_freq, self.total_docs, avg)
                    .boost_by(boost),
            ),
            infos,
        })
    }
}

/// Runs `clauses` (summed) restricted to documents every filter matches (the term filters as
/// queries, the numeric ones on the segment tables), into `collector`. Without clauses every
/// document passing the filters matches with score 1 (a browse request, or the filter set of
/// the semantic side).
pub fn search(
    searcher: &Searcher,
    clauses: &[Exec],
    filters: &[Box<dyn Query>],
    numeric: Option<&NumericFilter>,
    collector: &MatchSetCollector,
) -> tantivy::Result<MatchSet> {
    let scoring = EnableScoring::enabled_from_searcher(searcher);
    let unscored = EnableScoring::disabled_from_searcher(searcher);
    let mut stats = Stats::new(searcher)?;
    let prepared: Vec<Prepared> = clauses
        .iter()
        .map(|c| {
            Ok(match c {
                Exec::Term { term, boost } => Prepared::Term(stats.bm25(term, *boost)?),
                Exec::Const { query, score } => Prepared::Const {
                    plan: MatchPlan::of(query.as_ref(), unscored)?,
                    score: *score,
                },
                Exec::AllOf { groups, body } => Prepared::AllOf {
                    all: body.iter().map(|t| MatchPlan::Term(t.clone())).collect(),
                    groups: groups
                        .iter()
                        .map(|g| {
                            g.iter()
                                .map(|(t, b)| stats.bm25(t, *b))
                                .collect::<tantivy::Result<Vec<_>>>()
                        })
                        .collect::<tantivy::Result<_>>()?,
                },
                Exec::Scored(q) => Prepared::Scored(q.weight(scoring)?),
            })
        })
        .collect::<tantivy::Result<_>>()?;
    // Every filter must match: one intersection, evaluated as bitsets.
    let filter = if filters.is_empty() {
        None
    } else {
        Some(MatchPlan::All(
            filters
                .iter()
                .map(|q| MatchPlan::of(q.as_ref(), unscored))
                .collect::<tantivy::Result<_>>()?,
        ))
    };
    let mut fruits = Vec::with_capacity(searcher.segment_readers().len());
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        for (ord, reader) in searcher.segment_readers().iter().enumerate() {
            let mut seg = collector.for_segment(ord as u32, reader)?;
            if scratch.dirty {
                scratch.scores.iter_mut().for_each(|s| *s = 0.0);
                scratch.touched.iter_mut().for_each(|w| *w = 0);
            }
            scratch.dirty = true;
            segment(
                &mut scratch,
                reader,
                ord,
                &prepared,
                filter.as_ref(),
                numeric,
                &mut seg,
            )?;
            scratch.dirty = false;
            fruits.push(seg.harvest());
        }
        Ok::<(), tantivy::TantivyError>(())
    })?;
    collector.merge_fruits(fruits)
}

fn mark(bits: &mut [u64], doc: DocId) {
    bits[doc as usize / 64] |= 1 << (doc % 64);
}

fn is_set(bits: &[u64], doc: DocId) -> bool {
    bits[doc as usize / 64] & (1 << (doc % 64)) != 0
}

/// Calls `f` with every block of `term`'s postings in `reader`: its docs, and its term
/// frequencies when `option` asks for them (empty or shorter otherwise).
fn for_each_block(
    reader: &SegmentReader,
    term: &Term,
    option: IndexRecordOption,
    f: impl FnMut(&[DocId], &[u32]),
) -> tantivy::Result<()> {
    if let Some(mut block) = reader
        .inverted_index(term.field())?
        .read_block_postings(term, option)?
    {
        blocks(&mut block, f);
    }
    Ok(())
}

/// Calls `f` with every block of `block`'s postings.
fn blocks(block: &mut BlockSegmentPostings, mut f: impl FnMut(&[DocId], &[u32])) {
    loop {
        let docs = block.docs();
        if docs.is_empty() {
            return;
        }
        f(docs, block.freqs());
        block.advance();
    }
}

/// Adds the BM25 of `scored`'s term to the score of every document of segment `ord` holding
/// it (only those in `mask`, if given).
fn add_term(
    reader: &SegmentReader,
    ord: usize,
    scored: &Scored,
    scores: &mut [Score],
    touched: &mut [u64],
    mask: Option<&[u64]>,
) -> tantivy::Result<()> {
    let Some(Some(info)) = scored.infos.get(ord) else {
        return Ok(());
    };
    let field = scored.term.field();
    let bm25 = &scored.bm25;
    let norms = reader
        .fieldnorms_readers()
        .get_field(field)?
        .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1));
    let mut block = reader
        .inverted_index(field)?
        .read_block_postings_from_terminfo(info, IndexRecordOption::WithFreqs)?;
    blocks(&mut block, |docs, freqs| {
        for (i, &doc) in docs.iter().enumerate() {
            if mask.is_some_and(|m| !is_set(m, doc)) {
                continue;
            }
            // A term indexed without frequencies occurs once.
            let tf = freqs.get(i).copied().unwrap_or(1);
            scores[doc as usize] += bm25.score(norms.fieldnorm_id(doc), tf);
            mark(touched, doc);
        }
    });
    Ok(())
}

/// Sets in `out` the documents `plan` matches.
fn or_matches(
    plan: &MatchPlan,
    reader: &SegmentReader,
    out: &mut [u64],
    pool: &mut Pool,
) -> tantivy::Result<()> {
    match plan {
        MatchPlan::Term(term) => {
            for_each_block(reader, term, IndexRecordOption::Basic, |docs, _| {
                for &doc in docs {
                    mark(out, doc);
                }
            })
        }
        MatchPlan::Any(plans) => plans
            .iter()
            .try_for_each(|p| or_matches(p, reader, out, pool)),
        MatchPlan::All(plans) => {
            let mut all = pool.take(out.len());
            let done = and_matches(plans, reader, &mut all, pool);
            for (o, a) in out.iter_mut().zip(&all) {
                *o |= *a;
            }
            pool.give(all);
            done
        }
        MatchPlan::Weight(weight) => weight.for_each_no_score(reader, &mut |docs| {
            for &doc in docs {
                mark(out, doc);
            }
        }),
    }
}

/// Sets in `out` (zeroed) the documents every one of `plans` matches.
fn and_matches(
    plans: &[MatchPlan],
    reader: &SegmentReader,
    out: &mut [u64],
    pool: &mut Pool,
) -> tantivy::Result<()> {
    let Some((first, rest)) = plans.split_first() else {
        return Ok(());
    };
    or_matches(first, reader, out, pool)?;
    for plan in rest {
        if out.iter().all(|w| *w == 0) {
            break;
        }
        let mut more = pool.take(out.len());
        let done = or_matches(plan, reader, &mut more, pool);
        for (o, m) in out.iter_mut().zip(&more) {
            *o &= *m;
        }
        pool.give(more);
        done?;
    }
    Ok(())
}

/// Accumulates every clause over one segment, then hands the matches to `seg`.
fn segment(
    scratch: &mut Scratch,
    reader: &SegmentReader,
    ord: usize,
    clauses: &[Prepared],
    filter: Option<&MatchPlan>,
    numeric: Option<&NumericFilter>,
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
        pool,
        ..
    } = scratch;
    let scores = &mut scores[..max_doc];
    let touched = &mut touched[..words];

    for clause in clauses {
        match clause {
            Prepared::Term(scored) => add_term(reader, ord, scored, scores, touched, None)?,
            Prepared::Const {
                plan: MatchPlan::Term(term),
                score,
            } => for_each_block(reader, term, IndexRecordOption::Basic, |docs, _| {
                for &doc in docs {
                    scores[doc as usize] += *score;
                    mark(touched, doc);
                }
            })?,
            Prepared::Const { plan, score } => {
                let mut bits = pool.take(words);
                let done = or_matches(plan, reader, &mut bits, pool);
                if done.is_ok() {
                    for (wi, &word) in bits.iter().enumerate() {
                        touched[wi] |= word;
                        let mut rest = word;
                        while rest != 0 {
                            scores[wi * 64 + rest.trailing_zeros() as usize] += *score;
                            rest &= rest - 1;
                        }
                    }
                }
                pool.give(bits);
                done?;
            }
            Prepared::AllOf { groups, all } => {
                // Which documents hold every group, then the terms' scores there.
                let mut mask = pool.take(words);
                let done = and_matches(all, reader, &mut mask, pool).and_then(|()| {
                    if mask.iter().all(|w| *w == 0) {
                        return Ok(());
                    }
                    groups.iter().flatten().try_for_each(|scored| {
                        add_term(reader, ord, scored, scores, touched, Some(&mask))
                    })
                });
                pool.give(mask);
                done?;
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
    let keep = match filter {
        Some(plan) => {
            let mut keep = pool.take(words);
            if let Err(e) = or_matches(plan, reader, &mut keep, pool) {
                pool.give(keep);
                return Err(e);
            }
            Some(keep)
        }
        None => None,
    };

    let alive = reader.alive_bitset();
    if clauses.is_empty() {
        // A browse request: every document passing the filters, each scoring 1 as under
        // tantivy's `AllQuery`.
        for wi in 0..words {
            let mut bits = keep.as_ref().map_or(u64::MAX, |k| k[wi]);
            if wi == words - 1 && !max_doc.is_multiple_of(64) {
                bits &= (1u64 << (max_doc % 64)) - 1;
            }
            while bits != 0 {
                let doc = (wi * 64) as DocId + bits.trailing_zeros();
                bits &= bits - 1;
                if alive.is_none_or(|a| a.is_alive(doc))
                    && numeric.is_none_or(|n| seg.passes(n, doc))
                {
                    seg.collect(doc, 1.0);
                }
            }
        }
        if let Some(keep) = keep {
            pool.give(keep);
        }
        return Ok(());
    }
    for (wi, word) in touched.iter_mut().enumerate() {
        let mut bits = *word;
        if bits == 0 {
            continue;
        }
        *word = 0;
        let pass = keep.as_ref().map_or(u64::MAX, |k| k[wi]);
        while bits != 0 {
            let bit = bits.trailing_zeros();
            bits &= bits - 1;
            let doc = (wi * 64) as DocId + bit;
            let score = std::mem::take(&mut scores[doc as usize]);
            if pass & (1 << bit) != 0
                && alive.is_none_or(|a| a.is_alive(doc))
                && numeric.is_none_or(|n| seg.passes(n, doc))
            {
                seg.collect(doc, score);
            }
        }
    }
    if let Some(keep) = keep {
        pool.give(keep);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::SCRATCH;
    use crate::{Change, Engine, EngineConfig, Mode, SearchRequest};

    /// A segment walk that stopped half way (an error, or a panic caught by the caller's
    /// thread pool) leaves scores and bits behind in the thread's scratch; the next query on
    /// that thread clears them before it walks, so its answer is the same.
    #[test]
    fn an_unfinished_walk_does_not_leak_into_the_next_query() {
        let engine = Engine::in_memory(EngineConfig::new("t", 8)).unwrap();
        let changes = crate::fixture::catalog(500, 3)
            .into_iter()
            .map(|doc| Change::Upsert { doc, vector: None })
            .collect();
        engine.apply(changes, 1).unwrap();
        let snap = engine.snapshot();
        let req = SearchRequest::new("подшипник шпинделя", Mode::Lexical);
        let answer = |r: crate::SearchResults| {
            let hits: Vec<(String, f32)> =
                r.hits.into_iter().map(|h| (h.doc.id, h.score)).collect();
            (r.total, hits)
        };
        let clean = answer(snap.search_with_vector(&req, None).unwrap());
        assert!(clean.0 > 0, "the query matches");
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            s.scores.iter_mut().for_each(|x| *x = 7.0);
            s.touched.iter_mut().for_each(|w| *w = u64::MAX);
            s.dirty = true;
        });
        assert_eq!(answer(snap.search_with_vector(&req, None).unwrap()), clean);
    }
}
