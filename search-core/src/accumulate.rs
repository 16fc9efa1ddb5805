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
//! one pass over it, a bitset word at a time, applies filters and deletes, feeds the
//! [`MatchSetCollector`] (count, facets, vids, top k) and zeroes what was touched, so the
//! scratch arrays are clean for the next query without a memset of the whole segment.
//!
//! Match-only parts (constants, filters, the word groups of synonym expansions) are evaluated
//! as per-segment bitsets: term postings set bits, unions and intersections combine them word
//! by word, and only match-only queries of other shapes (filters) go through their unscored
//! tantivy weight.
//!
//! The scores are those of [`crate::text::LexicalQuery::query`] under tantivy, summed in
//! clause order; tantivy's union sums in an order that changes as its clauses run out, so the
//! two may differ in the last bit of a float (never in what matches).

use crate::bits;
use crate::text::{Exec, Match, MatchSet, MatchSetCollector, MatchSetSegment, NumericFilter, Word};
use crate::word_cache::{Cached, Impacts, Key, WordCache};
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

/// The query made ready for one searcher, term-major: every distinct scored term once, with
/// the clauses that use it, so a term the query names several times (in a word group, a
/// synonym's group and alone) is decoded and scored once per segment.
struct Prepared<'a> {
    terms: Vec<TermUses<'a>>,
    /// Distinct words, read from their impacts (when a [`WordCache`] is given; otherwise a
    /// word's terms are among `terms`).
    words: Vec<WordUses<'a>>,
    /// Match-only clauses and their constant scores.
    consts: Vec<(MatchPlan, Score)>,
    /// The documents each `AllOf` clause may score: the intersection of its groups' `body`
    /// terms. A use of a term under `Some(i)` counts only where mask `i` holds.
    masks: Vec<MatchPlan>,
}

/// A scored term (BM25 unboosted) and its uses: which `AllOf` mask, if any, restricts each,
/// and its boost.
struct TermUses<'a> {
    scored: Scored<'a>,
    uses: Vec<(Option<usize>, Score)>,
}

/// A word read from its impacts, and its uses as [`TermUses::uses`].
struct WordUses<'a> {
    word: &'a Word,
    uses: Vec<(Option<usize>, Score)>,
    /// The word's terms with their BM25 weights and field weights, looked up on the first
    /// segment whose impacts are not cached and shared by the others.
    scored: std::cell::OnceCell<Vec<(Scored<'a>, Score)>>,
}

/// Adds `(mask, boost)` to `uses`, unrestricted uses into one.
fn add_use(uses: &mut Vec<(Option<usize>, Score)>, mask: Option<usize>, boost: Score) {
    match uses.iter_mut().find(|u| mask.is_none() && u.0.is_none()) {
        Some(u) => u.1 += boost,
        None => uses.push((mask, boost)),
    }
}

/// The summed boost of the uses whose mask holds `doc`.
#[inline]
fn boost_at(uses: &[(Option<&[u64]>, Score)], doc: DocId) -> Score {
    uses.iter()
        .filter(|(mask, _)| mask.is_none_or(|m| bits::contains(m, doc)))
        .map(|(_, boost)| boost)
        .sum()
}

/// The uses whose mask holds documents of this segment, with their masks.
fn live_uses<'m>(
    uses: &[(Option<usize>, Score)],
    masks: &'m [Option<Vec<u64>>],
) -> Vec<(Option<&'m [u64]>, Score)> {
    uses.iter()
        .filter_map(|&(mask, boost)| match mask {
            None => Some((None, boost)),
            Some(i) => masks[i].as_deref().map(|m| (Some(m), boost)),
        })
        .collect()
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
    fn from_match(m: &Match) -> MatchPlan {
        match m {
            Match::Term(t) => MatchPlan::Term(t.clone()),
            Match::Any(v) => MatchPlan::Any(v.iter().map(MatchPlan::from_match).collect()),
            Match::All(v) => MatchPlan::All(v.iter().map(MatchPlan::from_match).collect()),
        }
    }

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

    fn bm25<'t>(&mut self, term: &'t Term) -> tantivy::Result<Scored<'t>> {
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
            bm25: Box::new(Bm25Weight::for_one_term_without_explain(
                doc_freq,
                self.total_docs,
                avg,
            )),
            infos,
        })
    }
}

/// Runs `clauses` (summed) restricted to documents every filter matches (the term filters as
/// queries, the numeric ones on the segment tables), into `collector`. Without clauses every
/// document passing the filters matches with score 1 (a browse request, or the filter set of
/// the semantic side).
pub fn search<'t>(
    searcher: &Searcher,
    clauses: &'t [Exec],
    filters: &[Box<dyn Query>],
    numeric: Option<&NumericFilter>,
    collector: &MatchSetCollector,
    words: Option<&WordCache>,
) -> tantivy::Result<MatchSet> {
    let unscored = EnableScoring::disabled_from_searcher(searcher);
    let mut stats = Stats::new(searcher)?;
    let mut prepared = Prepared {
        terms: Vec::new(),
        words: Vec::new(),
        consts: Vec::new(),
        masks: Vec::new(),
    };
    let mut term_index: std::collections::HashMap<&Term, usize> = Default::default();
    let mut use_term = |term: &'t Term, mask: Option<usize>, boost: Score, p: &mut Prepared<'t>| {
        let i = match term_index.get(term) {
            Some(&i) => i,
            None => {
                p.terms.push(TermUses {
                    scored: stats.bm25(term)?,
                    uses: Vec::new(),
                });
                term_index.insert(term, p.terms.len() - 1);
                p.terms.len() - 1
            }
        };
        add_use(&mut p.terms[i].uses, mask, boost);
        Ok::<(), tantivy::TantivyError>(())
    };
    let mut word_index: std::collections::HashMap<&str, usize> = Default::default();
    let mut use_word = |word: &'t Word, mask: Option<usize>, p: &mut Prepared<'t>| {
        let i = *word_index.entry(&word.text).or_insert_with(|| {
            p.words.push(WordUses {
                word,
                uses: Vec::new(),
                scored: Default::default(),
            });
            p.words.len() - 1
        });
        add_use(&mut p.words[i].uses, mask, word.boost);
    };
    let mut mask_of: Vec<&Vec<Term>> = Vec::new();
    for c in clauses {
        match c {
            Exec::Term { term, boost } => use_term(term, None, *boost, &mut prepared)?,
            Exec::Word(word) if words.is_some() => use_word(word, None, &mut prepared),
            Exec::Word(word) => {
                for (term, weight) in &word.terms {
                    use_term(term, None, weight * word.boost, &mut prepared)?;
                }
            }
            Exec::Const { matches, score } => prepared
                .consts
                .push((MatchPlan::from_match(matches), *score)),
            Exec::AllOf { groups, body } => {
                // One group restricts nothing: its terms' documents all hold its `body` term.
                // Clauses over the same words share one mask.
                let mask = match &body[..] {
                    [_] => None,
                    _ => Some(match mask_of.iter().position(|b| *b == body) {
                        Some(i) => i,
                        None => {
                            mask_of.push(body);
                            prepared.masks.push(MatchPlan::All(
                                body.iter().map(|t| MatchPlan::Term(t.clone())).collect(),
                            ));
                            mask_of.len() - 1
                        }
                    }),
                };
                for word in groups {
                    if words.is_some() {
                        use_word(word, mask, &mut prepared);
                        continue;
                    }
                    for (term, weight) in &word.terms {
                        use_term(term, mask, weight * word.boost, &mut prepared)?;
                    }
                }
            }
        }
    }
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
    let ctx = Ctx {
        searcher,
        words,
        query: &prepared,
        filter: filter.as_ref(),
        numeric,
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
            segment(&mut scratch, &ctx, reader, ord, &mut seg)?;
            scratch.dirty = false;
            fruits.push(seg.harvest());
        }
        Ok::<(), tantivy::TantivyError>(())
    })?;
    collector.merge_fruits(fruits)
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
/// it, once per use: times the use's boost, where the use's mask (if any) holds.
fn add_term(
    reader: &SegmentReader,
    ord: usize,
    scored: &Scored,
    uses: &[(Option<usize>, Score)],
    masks: &[Option<Vec<u64>>],
    scores: &mut [Score],
    touched: &mut [u64],
) -> tantivy::Result<()> {
    let Some(Some(info)) = scored.infos.get(ord) else {
        return Ok(());
    };
    // Uses under an empty mask add nothing.
    let uses = live_uses(uses, masks);
    if uses.is_empty() {
        return Ok(());
    }
    let field = scored.term.field();
    let bm25 = &scored.bm25;
    let norms = reader
        .fieldnorms_readers()
        .get_field(field)?
        .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1));
    let mut block = reader
        .inverted_index(field)?
        .read_block_postings_from_terminfo(info, IndexRecordOption::WithFreqs)?;
    // A term indexed without frequencies occurs once.
    let tf = |freqs: &[u32], i: usize| freqs.get(i).copied().unwrap_or(1);
    match uses[..] {
        [(None, boost)] => blocks(&mut block, |docs, freqs| {
            for (i, &doc) in docs.iter().enumerate() {
                scores[doc as usize] += boost * bm25.score(norms.fieldnorm_id(doc), tf(freqs, i));
                bits::mark(touched, doc);
            }
        }),
        _ => blocks(&mut block, |docs, freqs| {
            for (i, &doc) in docs.iter().enumerate() {
                let add = boost_at(&uses, doc);
                if add != 0.0 {
                    scores[doc as usize] += add * bm25.score(norms.fieldnorm_id(doc), tf(freqs, i));
                    bits::mark(touched, doc);
                }
            }
        }),
    }
    Ok(())
}

/// Adds `word`'s impacts in segment `ord` to the documents' scores, once per use.
fn add_word(
    ctx: &Ctx,
    reader: &SegmentReader,
    ord: usize,
    word: &WordUses,
    masks: &[Option<Vec<u64>>],
    scores: &mut [Score],
    touched: &mut [u64],
) -> tantivy::Result<()> {
    let uses = live_uses(&word.uses, masks);
    if uses.is_empty() {
        return Ok(());
    }
    let text = &word.word.text;
    let impacts = match ctx.words.and_then(|c| c.impacts(ord, text)) {
        Some(i) => i,
        None => {
            let terms = match word.scored.get() {
                Some(terms) => terms,
                None => {
                    let mut stats = Stats::new(ctx.searcher)?;
                    let terms = word
                        .word
                        .terms
                        .iter()
                        .map(|(term, weight)| Ok((stats.bm25(term)?, *weight)))
                        .collect::<tantivy::Result<Vec<_>>>()?;
                    word.scored.get_or_init(|| terms)
                }
            };
            let i = std::sync::Arc::new(word_impacts(reader, ord, terms)?);
            if let Some(c) = ctx.words {
                c.put(Key::Word(ord, text.clone()), Cached::Impacts(i.clone()));
            }
            i
        }
    };
    let pairs = impacts.docs.iter().zip(&impacts.scores);
    match uses[..] {
        [(None, boost)] => {
            for (&doc, &s) in pairs {
                scores[doc as usize] += boost * s;
            }
            match &impacts.bits {
                Some(bits) => touched.iter_mut().zip(bits).for_each(|(t, b)| *t |= *b),
                None => impacts
                    .docs
                    .iter()
                    .for_each(|&doc| bits::mark(touched, doc)),
            }
        }
        _ => {
            for (&doc, &s) in pairs {
                let add = boost_at(&uses, doc);
                if add != 0.0 {
                    scores[doc as usize] += add * s;
                    bits::mark(touched, doc);
                }
            }
        }
    }
    Ok(())
}

/// The [`Impacts`] in segment `ord` of a word whose terms and field weights are `terms`.
fn word_impacts(
    reader: &SegmentReader,
    ord: usize,
    terms: &[(Scored, Score)],
) -> tantivy::Result<Impacts> {
    let max_doc = reader.max_doc() as usize;
    let mut sums = vec![0.0 as Score; max_doc];
    let mut held = vec![0u64; max_doc.div_ceil(64)];
    for (scored, weight) in terms {
        add_term(
            reader,
            ord,
            scored,
            &[(None, *weight)],
            &[],
            &mut sums,
            &mut held,
        )?;
    }
    let mut impacts = Impacts {
        docs: Vec::new(),
        scores: Vec::new(),
        bits: None,
    };
    for (wi, &bits) in held.iter().enumerate() {
        for bit in bits::ones(bits) {
            let doc = wi * 64 + bit;
            impacts.docs.push(doc as DocId);
            impacts.scores.push(sums[doc]);
        }
    }
    if impacts.docs.len() >= held.len() {
        impacts.bits = Some(held);
    }
    Ok(impacts)
}

/// The bitsets of the terms match plans name in one segment, each decoded once per snapshot
/// (kept in its [`WordCache`]) or, without one, once per query: coordination constants,
/// word-group intersections and filters name the same `body` terms again and again. And the
/// pool the scratch bitsets come from.
struct TermBits<'p> {
    pool: &'p mut Pool,
    words: usize,
    ord: usize,
    cache: Option<&'p WordCache>,
    bits: std::collections::HashMap<Term, std::sync::Arc<Vec<u64>>>,
}

impl TermBits<'_> {
    fn take(&mut self) -> Vec<u64> {
        self.pool.take(self.words)
    }

    fn give(&mut self, bits: Vec<u64>) {
        self.pool.give(bits);
    }

    /// `term`'s documents in `reader`.
    fn of(&mut self, reader: &SegmentReader, term: &Term) -> tantivy::Result<&[u64]> {
        if !self.bits.contains_key(term) {
            let bits = match self.cache.and_then(|c| c.bits(self.ord, term)) {
                Some(bits) => bits,
                None => {
                    let mut bits = vec![0u64; self.words];
                    for_each_block(reader, term, IndexRecordOption::Basic, |docs, _| {
                        for &doc in docs {
                            bits::mark(&mut bits, doc);
                        }
                    })?;
                    let bits = std::sync::Arc::new(bits);
                    if let Some(c) = self.cache {
                        c.put(
                            Key::Bits(self.ord, term.clone()),
                            Cached::Bits(bits.clone()),
                        );
                    }
                    bits
                }
            };
            self.bits.insert(term.clone(), bits);
        }
        Ok(&self.bits[term])
    }
}

/// Sets in `out` the documents `plan` matches.
fn or_matches(
    plan: &MatchPlan,
    reader: &SegmentReader,
    out: &mut [u64],
    memo: &mut TermBits,
) -> tantivy::Result<()> {
    match plan {
        MatchPlan::Term(term) => {
            for (o, b) in out.iter_mut().zip(memo.of(reader, term)?) {
                *o |= *b;
            }
            Ok(())
        }
        MatchPlan::Any(plans) => plans
            .iter()
            .try_for_each(|p| or_matches(p, reader, out, memo)),
        MatchPlan::All(plans) => {
            let mut all = memo.take();
            let done = and_matches(plans, reader, &mut all, memo);
            for (o, a) in out.iter_mut().zip(&all) {
                *o |= *a;
            }
            memo.give(all);
            done
        }
        MatchPlan::Weight(weight) => weight.for_each_no_score(reader, &mut |docs| {
            for &doc in docs {
                bits::mark(out, doc);
            }
        }),
    }
}

/// Sets in `out` (zeroed) the documents every one of `plans` matches.
fn and_matches(
    plans: &[MatchPlan],
    reader: &SegmentReader,
    out: &mut [u64],
    memo: &mut TermBits,
) -> tantivy::Result<()> {
    let Some((first, rest)) = plans.split_first() else {
        return Ok(());
    };
    or_matches(first, reader, out, memo)?;
    for plan in rest {
        if out.iter().all(|w| *w == 0) {
            break;
        }
        if let MatchPlan::Term(term) = plan {
            for (o, b) in out.iter_mut().zip(memo.of(reader, term)?) {
                *o &= *b;
            }
            continue;
        }
        let mut more = memo.take();
        let done = or_matches(plan, reader, &mut more, memo);
        for (o, m) in out.iter_mut().zip(&more) {
            *o &= *m;
        }
        memo.give(more);
        done?;
    }
    Ok(())
}

/// Accumulates every clause over one segment, then hands the matches to `seg`.
fn segment(
    scratch: &mut Scratch,
    ctx: &Ctx,
    reader: &SegmentReader,
    ord: usize,
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
    let mut memo = TermBits {
        pool,
        words,
        ord,
        cache: ctx.words,
        bits: Default::default(),
    };
    accumulate(ctx, reader, ord, seg, scores, touched, &mut memo)
}

/// What one query's segment walks share.
struct Ctx<'q, 't> {
    searcher: &'q Searcher,
    words: Option<&'q WordCache>,
    query: &'q Prepared<'t>,
    filter: Option<&'q MatchPlan>,
    numeric: Option<&'q NumericFilter>,
}

/// [`segment`]'s walk, with its term bitsets in `memo`.
fn accumulate(
    ctx: &Ctx,
    reader: &SegmentReader,
    ord: usize,
    seg: &mut MatchSetSegment,
    scores: &mut [Score],
    touched: &mut [u64],
    memo: &mut TermBits,
) -> tantivy::Result<()> {
    let Ctx {
        query,
        filter,
        numeric,
        ..
    } = *ctx;
    let max_doc = scores.len();
    let words = touched.len();
    let empty_query = query.terms.is_empty() && query.words.is_empty() && query.consts.is_empty();

    // Each `AllOf` clause's documents (`None` where it has none).
    let mut masks = Vec::with_capacity(query.masks.len());
    for plan in &query.masks {
        let mut mask = memo.take();
        let done = or_matches(plan, reader, &mut mask, memo);
        if done.is_err() || mask.iter().all(|w| *w == 0) {
            memo.give(mask);
            masks.push(None);
        } else {
            masks.push(Some(mask));
        }
        done?;
    }
    let scored = query
        .terms
        .iter()
        .try_for_each(|t| add_term(reader, ord, &t.scored, &t.uses, &masks, scores, touched))
        .and_then(|()| {
            query
                .words
                .iter()
                .try_for_each(|w| add_word(ctx, reader, ord, w, &masks, scores, touched))
        });
    for mask in masks.into_iter().flatten() {
        memo.give(mask);
    }
    scored?;
    for (plan, score) in &query.consts {
        let mut bits = memo.take();
        let done = or_matches(plan, reader, &mut bits, memo);
        if done.is_ok() {
            for (wi, &word) in bits.iter().enumerate() {
                touched[wi] |= word;
                for bit in bits::ones(word) {
                    scores[wi * 64 + bit] += *score;
                }
            }
        }
        memo.give(bits);
        done?;
    }

    // Documents every filter matches.
    let keep = match filter {
        Some(plan) => {
            let mut keep = memo.take();
            if let Err(e) = or_matches(plan, reader, &mut keep, memo) {
                memo.give(keep);
                return Err(e);
            }
            Some(keep)
        }
        None => None,
    };

    let alive = reader.alive_bitset();
    let per_doc_checks = alive.is_some() || numeric.is_some();
    // Clears from `live` (bit-word `wi`) the deleted documents and those the numeric filters
    // reject.
    let checked = |seg: &MatchSetSegment, wi: usize, mut live: u64| {
        if per_doc_checks {
            for bit in bits::ones(live) {
                let doc = (wi * 64 + bit) as DocId;
                if !(alive.is_none_or(|a| a.is_alive(doc))
                    && numeric.is_none_or(|n| seg.passes(n, doc)))
                {
                    live &= !(1 << bit);
                }
            }
        }
        live
    };
    if empty_query {
        // A browse request: every document passing the filters, each scoring 1 as under
        // tantivy's `AllQuery`.
        const ONES: [Score; 64] = [1.0; 64];
        for wi in 0..words {
            let mut bits = keep.as_ref().map_or(u64::MAX, |k| k[wi]);
            if wi == words - 1 && !max_doc.is_multiple_of(64) {
                bits &= (1u64 << (max_doc % 64)) - 1;
            }
            let live = checked(seg, wi, bits);
            seg.collect_word(wi, live, &ONES);
        }
        if let Some(keep) = keep {
            memo.give(keep);
        }
        return Ok(());
    }
    for (wi, word) in touched.iter_mut().enumerate() {
        let bits = std::mem::take(word);
        if bits == 0 {
            continue;
        }
        let live = checked(seg, wi, bits & keep.as_ref().map_or(u64::MAX, |k| k[wi]));
        let chunk = &mut scores[wi * 64..(wi * 64 + 64).min(max_doc)];
        seg.collect_word(wi, live, chunk);
        if bits.count_ones() > 16 {
            chunk.fill(0.0);
        } else {
            for bit in bits::ones(bits) {
                chunk[bit] = 0.0;
            }
        }
    }
    if let Some(keep) = keep {
        memo.give(keep);
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
                r.hits.iter().map(|h| (h.doc.id.clone(), h.score)).collect();
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
