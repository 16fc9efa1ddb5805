//! The text side: tantivy schema, the catalog analyzer, query construction and the facet
//! collector.
//!
//! Queries are built here from analysed terms rather than by tantivy's query parser, because
//! what a query word becomes depends on the index vocabulary: a word the index knows is used as
//! is; an unknown one is tried through keyboard-layout repair, transliteration and, last,
//! fuzzy matching. That keeps typo handling off the hot path of ordinary queries.

use crate::analysis::{self, fold_code, normalize};
use crate::doc::{CatalogDoc, Kind};
use crate::synonyms::Synonyms;
use std::collections::{HashMap, HashSet};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScorer, EmptyQuery, EnableScoring, Explanation, Occur,
    Query, RangeQuery, Scorer, TermQuery, Weight,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{DocId, Score, Searcher, SegmentOrdinal, SegmentReader, Term};

/// Name of the catalog analyzer registered on every index.
pub const ANALYZER: &str = "catalog_ru_en";
/// Analyzer for pre-folded code tokens (whitespace-separated, taken as they are).
pub const CODE_ANALYZER: &str = "catalog_code";

/// The catalog analyzer as a tantivy tokenizer (see `analysis::analyze`).
#[derive(Clone, Default)]
pub struct CatalogTokenizer;

/// Tokens computed up front, handed out one by one.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    pos: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.pos < self.tokens.len() {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.pos - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.pos - 1]
    }
}

impl Tokenizer for CatalogTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = analysis::analyze(text)
            .into_iter()
            .enumerate()
            .map(|(position, (from, to, term))| Token {
                offset_from: from,
                offset_to: to,
                position,
                text: term,
                position_length: 1,
            })
            .collect();
        VecTokenStream { tokens, pos: 0 }
    }
}

/// Splits on whitespace only: code fields are folded before indexing.
#[derive(Clone, Default)]
pub struct CodeTokenizer;

impl Tokenizer for CodeTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut offset = 0;
        for (position, part) in text.split(' ').enumerate() {
            if !part.is_empty() {
                tokens.push(Token {
                    offset_from: offset,
                    offset_to: offset + part.len(),
                    position,
                    text: part.to_string(),
                    position_length: 1,
                });
            }
            offset += part.len() + 1;
        }
        VecTokenStream { tokens, pos: 0 }
    }
}

/// Field handles of the catalog schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub vid: Field,
    pub chash: Field,
    pub kind: Field,
    pub category: Field,
    pub brand: Field,
    pub compat: Field,
    pub in_stock: Field,
    pub price: Field,
    pub doc_json: Field,
    pub name: Field,
    pub description: Field,
    pub model_t: Field,
    pub brand_t: Field,
    pub category_t: Field,
    pub compat_t: Field,
    pub body: Field,
    pub code: Field,
    pub code_prefix: Field,
    pub suggest: Field,
    /// Folded sku and model, as fast fields for exact-code pinning.
    pub sku_key: Field,
    pub model_key: Field,
    /// Quantities of the card in canonical units (`2200w`, `15mm`; [`analysis::quantities`]).
    pub qty: Field,
}

/// Builds the schema and returns it with its field handles.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let analyzed = |stored: bool| {
        let idx = TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let o = TextOptions::default().set_indexing_options(idx);
        if stored {
            o.set_stored()
        } else {
            o
        }
    };
    let code = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(CODE_ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        vid: b.add_u64_field("vid", INDEXED | FAST | STORED),
        chash: b.add_text_field("chash", STRING | STORED),
        kind: b.add_text_field("kind", STRING | FAST),
        category: b.add_text_field("category", STRING | FAST),
        brand: b.add_text_field("brand", STRING | FAST),
        compat: b.add_text_field("compat", STRING | FAST),
        in_stock: b.add_i64_field("in_stock", INDEXED | FAST),
        price: b.add_f64_field("price", INDEXED | FAST),
        doc_json: b.add_text_field("doc_json", STORED),
        name: b.add_text_field("name", analyzed(true)),
        description: b.add_text_field("description", analyzed(true)),
        model_t: b.add_text_field("model_t", analyzed(false)),
        brand_t: b.add_text_field("brand_t", analyzed(false)),
        category_t: b.add_text_field("category_t", analyzed(false)),
        compat_t: b.add_text_field("compat_t", analyzed(false)),
        body: b.add_text_field("body", analyzed(false)),
        code: b.add_text_field("code", code.clone()),
        code_prefix: b.add_text_field("code_prefix", code.clone()),
        suggest: b.add_text_field("suggest", code),
        sku_key: b.add_text_field("sku_key", STRING | FAST),
        model_key: b.add_text_field("model_key", STRING | FAST),
        qty: b.add_text_field(
            "qty",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
    };
    (b.build(), fields)
}

/// Registers the analyzers an index needs.
pub fn register_tokenizers(index: &tantivy::Index) {
    index.tokenizers().register(ANALYZER, CatalogTokenizer);
    index.tokenizers().register(CODE_ANALYZER, CodeTokenizer);
}

/// Folded codes a document answers to exactly: sku and model, whole and in pieces.
pub fn doc_codes(doc: &CatalogDoc) -> Vec<String> {
    let mut out = Vec::new();
    for raw in [&doc.sku, &doc.model] {
        let whole = fold_code(raw);
        if whole.is_empty() {
            continue;
        }
        out.push(whole);
        for piece in raw.split(|c: char| c.is_whitespace() || c == '-' || c == '/') {
            let p = fold_code(piece);
            if p.len() >= 2 && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

fn edge_ngrams(out: &mut Vec<String>, word: &str, min: usize, max: usize) {
    let chars: Vec<char> = word.chars().collect();
    for n in min..=chars.len().min(max) {
        out.push(chars[..n].iter().collect());
    }
}

/// Converts a catalog document to a tantivy document.
pub fn to_tantivy(f: &Fields, doc: &CatalogDoc, vid: u32, chash: &str) -> tantivy::TantivyDocument {
    let mut d = tantivy::TantivyDocument::default();
    d.add_text(f.id, &doc.id);
    d.add_u64(f.vid, vid as u64);
    d.add_text(f.chash, chash);
    d.add_text(f.kind, doc.kind.as_str());
    if !doc.category.is_empty() {
        d.add_text(f.category, &doc.category);
    }
    if !doc.brand.is_empty() {
        d.add_text(f.brand, &doc.brand);
    }
    for m in &doc.compatible_models {
        d.add_text(f.compat, fold_code(m));
    }
    d.add_i64(f.in_stock, doc.in_stock);
    d.add_text(f.sku_key, fold_code(&doc.sku));
    d.add_text(f.model_key, fold_code(&doc.model));
    if let Some(p) = doc.price_rub {
        d.add_f64(f.price, p);
    }
    d.add_text(f.doc_json, serde_json::to_string(doc).unwrap_or_default());
    d.add_text(f.name, &doc.name);
    d.add_text(f.description, &doc.description);
    d.add_text(f.model_t, &doc.model);
    d.add_text(f.brand_t, &doc.brand);
    d.add_text(f.category_t, &doc.category);
    d.add_text(f.compat_t, doc.compatible_models.join(" ; "));
    let body = format!(
        "{} ; {} ; {} ; {} ; {} ; {} ; {} ; {}",
        doc.name,
        doc.sku,
        doc.brand,
        doc.model,
        doc.category,
        doc.description,
        doc.attributes_text(),
        doc.compatible_models.join(" ; ")
    );
    d.add_text(f.body, &body);
    let codes = doc_codes(doc);
    let mut prefixes = Vec::new();
    for c in &codes {
        edge_ngrams(&mut prefixes, c, 3, 24);
    }
    prefixes.sort();
    prefixes.dedup();
    d.add_text(f.code, codes.join(" "));
    d.add_text(f.code_prefix, prefixes.join(" "));
    let mut sugg = Vec::new();
    for w in analysis::split_words(&doc.name) {
        edge_ngrams(&mut sugg, &normalize(w.2), 1, 20);
    }
    for c in &codes {
        edge_ngrams(&mut sugg, c, 1, 24);
    }
    sugg.sort();
    sugg.dedup();
    d.add_text(f.suggest, sugg.join(" "));
    for q in doc_quantities(doc) {
        d.add_text(f.qty, q);
    }
    d
}

/// Quantities a card states: in its name and description, and in its attributes, whose keys
/// name the unit (`power_kw: 2.2` is `2200w`).
pub fn doc_quantities(doc: &CatalogDoc) -> Vec<String> {
    let mut out = analysis::quantities(&doc.name);
    out.extend(analysis::quantities(&doc.description));
    for text in [&doc.name, &doc.description] {
        out.extend(analysis::sizes(text));
        out.extend(analysis::tapers(text, true));
    }
    if let Some(map) = doc.attributes.as_object() {
        for (key, value) in map {
            if let serde_json::Value::String(s) = value {
                out.extend(analysis::sizes(s));
                out.extend(analysis::tapers(s, true));
            }
            // `morse_taper: 3`
            if key.contains("morse") {
                if let Some(n) = value.as_u64() {
                    out.push(format!("taperkm{n}"));
                }
            }
            let unit = analysis::attribute_unit(key);
            let numbers: Vec<f64> = match value {
                serde_json::Value::Number(n) => n.as_f64().into_iter().collect(),
                serde_json::Value::Array(items) => {
                    items.iter().filter_map(|v| v.as_f64()).collect()
                }
                serde_json::Value::String(s) => {
                    out.extend(analysis::quantities(s));
                    Vec::new()
                }
                _ => Vec::new(),
            };
            if let Some((canon, factor)) = unit {
                out.extend(
                    numbers
                        .into_iter()
                        .filter_map(|n| analysis::quantity_token(n * factor, canon)),
                );
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Structured filters, applied to both sides before ranking.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub kind: Option<Kind>,
    pub category: Option<String>,
    pub brand: Option<String>,
    /// A machine model; matched after code folding (`16К20` = `16k20`).
    pub compatible_with: Option<String>,
    pub in_stock: Option<bool>,
    pub price_min: Option<f64>,
    pub price_max: Option<f64>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }

    /// Filter clauses as score-free queries.
    pub fn clauses(&self, f: &Fields) -> Vec<Box<dyn Query>> {
        let mut out = self.term_clauses(f);
        match self.in_stock {
            Some(true) => out.push(Box::new(RangeQuery::new(
                std::ops::Bound::Included(Term::from_field_i64(f.in_stock, 1)),
                std::ops::Bound::Unbounded,
            ))),
            Some(false) => out.push(term_i64(f.in_stock, 0)),
            None => {}
        }
        if self.price_min.is_some() || self.price_max.is_some() {
            let lo = self.price_min.map_or(std::ops::Bound::Unbounded, |p| {
                std::ops::Bound::Included(Term::from_field_f64(f.price, p))
            });
            let hi = self.price_max.map_or(std::ops::Bound::Unbounded, |p| {
                std::ops::Bound::Included(Term::from_field_f64(f.price, p))
            });
            out.push(Box::new(RangeQuery::new(lo, hi)));
        }
        out
    }

    /// The filters on indexed terms (kind, category, brand, compatible machine) as score-free
    /// queries; the numeric ones are [`Filters::numeric`].
    pub fn term_clauses(&self, f: &Fields) -> Vec<Box<dyn Query>> {
        let mut out: Vec<Box<dyn Query>> = Vec::new();
        let term = |field: Field, v: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, v),
                IndexRecordOption::Basic,
            ))
        };
        if let Some(k) = self.kind {
            out.push(term(f.kind, k.as_str()));
        }
        if let Some(c) = &self.category {
            out.push(term(f.category, c));
        }
        if let Some(b) = &self.brand {
            out.push(term(f.brand, b));
        }
        if let Some(m) = &self.compatible_with {
            out.push(term(f.compat, &fold_code(m)));
        }
        out
    }

    /// The stock and price filters, checked per document against the segment tables' dense
    /// columns: as range queries over the fast fields they scanned the whole column per
    /// query, a third of the cost of a filtered search.
    pub fn numeric(&self) -> Option<NumericFilter> {
        let n = NumericFilter {
            in_stock: self.in_stock,
            price_min: self.price_min,
            price_max: self.price_max,
        };
        (n != NumericFilter::default()).then_some(n)
    }
}

/// The numeric filters of a request: what [`Filters::clauses`] asks of `in_stock` and
/// `price` as range and term queries, as a predicate on a segment table's row.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NumericFilter {
    in_stock: Option<bool>,
    price_min: Option<f64>,
    price_max: Option<f64>,
}

impl NumericFilter {
    /// True when `doc` of the segment `table` describes passes every numeric filter. A
    /// document without a price fails any price bound, as it has no term in the range.
    #[inline]
    pub fn passes(&self, table: &SegmentTable, doc: DocId) -> bool {
        let i = doc as usize;
        let stock_ok = match self.in_stock {
            None => true,
            // `in_stock=true` is the range [1, ∞), `false` the term 0; `NO_STOCK` is in neither.
            Some(true) => table.stock.get(i).is_some_and(|&s| s >= 1),
            Some(false) => table.stock.get(i).is_some_and(|&s| s == 0),
        };
        if !stock_ok {
            return false;
        }
        if self.price_min.is_none() && self.price_max.is_none() {
            return true;
        }
        let Some(&p) = table.price.get(i) else {
            return false;
        };
        // NaN (no price) fails both comparisons.
        self.price_min.is_none_or(|lo| p >= lo) && self.price_max.is_none_or(|hi| p <= hi)
    }
}

fn term_i64(field: Field, v: i64) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_i64(field, v),
        IndexRecordOption::Basic,
    ))
}

/// A lexical query ready to run, with what it knows about exact code matches.
pub struct LexicalQuery {
    pub query: Box<dyn Query>,
    /// The `Should` clauses whose sum `query` is, as the accumulating executor runs them
    /// ([`crate::accumulate`]). Empty for a browse request.
    pub clauses: Vec<Exec>,
    /// Folded codes that, matched exactly by a document's sku or model, pin it to the top.
    pub pin_codes: HashSet<String>,
    /// True when the query text produced no clause (browse request).
    pub is_browse: bool,
    /// Added to the lexical score of every matching spare part (the query asks for a part of a
    /// machine). The collector adds it from the kind column: as a query clause it would be a
    /// second, optional scorer seeking through every spare part of the catalog for each match.
    pub part_boost: f32,
}

/// Field weights of the lexical side.
type FieldOf = fn(&Fields) -> Field;
const FIELD_BOOSTS: &[(FieldOf, f32)] = &[
    (|f| f.name, 3.0),
    (|f| f.category_t, 2.0),
    (|f| f.brand_t, 2.0),
    (|f| f.model_t, 2.5),
    (|f| f.compat_t, 1.5),
    (|f| f.body, 1.0),
];
const CODE_EXACT_BOOST: f32 = 12.0;
const CODE_PREFIX_BOOST: f32 = 4.0;
const SYNONYM_BOOST: f32 = 0.9;
/// A quantity the query states, met in the card's text or attributes. Dev set, hybrid nDCG@10 by
/// boost: 1.5 → 0.751, 3 → 0.747, 6 → 0.758, 10 → 0.764, 16 → 0.765, 25 → 0.765, 40 → 0.765.
const QTY_BOOST: f32 = 20.0;
/// Added once for every query word a document matches. Dev set, lexical / hybrid nDCG@10 by
/// value (with the quantities): 0 → 0.735 / 0.765, 15 → 0.763 / 0.777, 30 → 0.781 / 0.786,
/// 45 → 0.784 / 0.790, 80 → 0.778 / 0.789.
const COORD_BOOST: f32 = 40.0;
const COMPAT_BOOST: f32 = 8.0;
/// Far above anything BM25 and coordination reach without it: a query of the longest accepted
/// length (512 characters, so at most 256 words at `COORD_BOOST` and their BM25 each) stays
/// well below, so only a met constraint crosses `CONSTRAINT_SCORE`.
const COMPAT_NEED_BOOST: f32 = 100_000.0;
/// Lexical scores at or above this met a hard constraint of the query (see `COMPAT_NEED_BOOST`).
pub const CONSTRAINT_SCORE: f32 = COMPAT_NEED_BOOST;
const PART_INTENT_BOOST: f32 = 3.0;
const REPAIRED_BOOST: f32 = 0.8;
/// Weight of machine words that only say which machine a part is for (`для листогиба`).
const CONTEXT_BOOST: f32 = 0.3;

/// Answers whether a term exists in the index (all segments of one snapshot).
pub trait Vocabulary {
    fn knows(&self, field: Field, term: &str) -> bool;

    /// The indexed terms of `field` within `distance` edits of `term` (transpositions count as
    /// one), nearest first, the most frequent first among equally near ones.
    fn within(&self, _field: Field, _term: &str, _distance: u8) -> Vec<String> {
        Vec::new()
    }

    /// The indexed term of `field` nearest to `term` within `distance` edits.
    fn nearest(&self, field: Field, term: &str, distance: u8) -> Option<String> {
        self.within(field, term, distance).into_iter().next()
    }
}

/// A snapshot's dictionary with its near-term lookups kept in the snapshot's [`WordCache`]
/// (they depend on the dictionary alone, so they are never stale within the snapshot).
pub struct CachedVocab<'a> {
    pub searcher: &'a Searcher,
    pub cache: Option<&'a crate::accumulate::WordCache>,
}

impl Vocabulary for CachedVocab<'_> {
    fn knows(&self, field: Field, term: &str) -> bool {
        self.searcher.knows(field, term)
    }

    fn within(&self, field: Field, term: &str, distance: u8) -> Vec<String> {
        match self.cache {
            Some(cache) => cache.near(field, term, distance, || {
                self.searcher.within(field, term, distance)
            }),
            None => self.searcher.within(field, term, distance),
        }
    }
}

/// tantivy-fst automaton over a Levenshtein DFA (as in tantivy's fuzzy query).
struct Dfa<'a>(&'a levenshtein_automata::DFA);

impl tantivy_fst::Automaton for Dfa<'_> {
    type State = u32;
    fn start(&self) -> u32 {
        self.0.initial_state()
    }
    fn is_match(&self, state: &u32) -> bool {
        matches!(
            self.0.distance(*state),
            levenshtein_automata::Distance::Exact(_)
        )
    }
    fn can_match(&self, state: &u32) -> bool {
        *state != levenshtein_automata::SINK_STATE
    }
    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

impl Vocabulary for tantivy::Searcher {
    fn knows(&self, field: Field, term: &str) -> bool {
        let t = Term::from_field_text(field, term);
        self.segment_readers().iter().any(|r| {
            r.inverted_index(field)
                .ok()
                .and_then(|ii| ii.get_term_info(&t).ok().flatten())
                .is_some()
        })
    }

    fn within(&self, field: Field, term: &str, distance: u8) -> Vec<String> {
        let dfa = lev_builder(distance).build_dfa(term);
        // Term → (distance, document frequency summed over segments).
        let mut found: HashMap<String, (u8, u32)> = HashMap::new();
        for reader in self.segment_readers() {
            let Ok(ii) = reader.inverted_index(field) else {
                continue;
            };
            let Ok(mut stream) = ii.terms().search(Dfa(&dfa)).into_stream() else {
                continue;
            };
            while stream.advance() {
                let Ok(candidate) = std::str::from_utf8(stream.key()) else {
                    continue;
                };
                let d = match dfa.eval(candidate) {
                    levenshtein_automata::Distance::Exact(d) => d,
                    levenshtein_automata::Distance::AtLeast(_) => continue,
                };
                let entry = found.entry(candidate.to_string()).or_insert((d, 0));
                entry.1 += stream.value().doc_freq;
            }
        }
        let mut terms: Vec<(String, (u8, u32))> = found.into_iter().collect();
        terms.sort_by(|a, b| {
            a.1 .0
                .cmp(&b.1 .0)
                .then(b.1 .1.cmp(&a.1 .1))
                .then(a.0.cmp(&b.0))
        });
        terms.into_iter().map(|t| t.0).collect()
    }
}

/// The Levenshtein automaton builder for `distance` (transpositions cost one), built once:
/// building one precomputes a parametric automaton, which costs far more than the DFA of one
/// word it then builds.
fn lev_builder(distance: u8) -> &'static levenshtein_automata::LevenshteinAutomatonBuilder {
    static BUILDERS: [std::sync::OnceLock<levenshtein_automata::LevenshteinAutomatonBuilder>; 3] =
        [const { std::sync::OnceLock::new() }; 3];
    let d = distance.min(2);
    BUILDERS[d as usize]
        .get_or_init(|| levenshtein_automata::LevenshteinAutomatonBuilder::new(d, true))
}

/// A term of `field` whose BM25 score is multiplied by `boost`.
fn boosted_term(field: Field, text: &str, boost: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(
        Box::new(TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::WithFreqs,
        )),
        boost,
    ))
}

/// A match-only term query (no frequencies read).
fn match_term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

/// Adds `score` to every document `query` matches. Unlike tantivy's `ConstScoreQuery`, which
/// scores its inner query and throws the score away, the inner query runs with scoring
/// disabled: no term frequencies or field norms are decoded and unions skip the score sums.
/// Coordination and filters are such clauses, about half the postings a query walks.
pub struct MatchBoost {
    query: Box<dyn Query>,
    score: Score,
}

impl MatchBoost {
    pub fn boxed(query: Box<dyn Query>, score: Score) -> Box<dyn Query> {
        Box::new(MatchBoost { query, score })
    }
}

impl Clone for MatchBoost {
    fn clone(&self) -> Self {
        MatchBoost {
            query: self.query.box_clone(),
            score: self.score,
        }
    }
}

impl std::fmt::Debug for MatchBoost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MatchBoost(score={}, query={:?})",
            self.score, self.query
        )
    }
}

impl Query for MatchBoost {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let unscored = match enable_scoring.searcher() {
            Some(searcher) => EnableScoring::disabled_from_searcher(searcher),
            None => EnableScoring::disabled_from_schema(enable_scoring.schema()),
        };
        let inner = self.query.weight(unscored)?;
        Ok(if enable_scoring.is_scoring_enabled() {
            Box::new(MatchBoostWeight {
                inner,
                score: self.score,
            })
        } else {
            inner
        })
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.query.query_terms(visitor);
    }
}

struct MatchBoostWeight {
    inner: Box<dyn Weight>,
    score: Score,
}

impl Weight for MatchBoostWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inner = self.inner.scorer(reader, 1.0)?;
        Ok(Box::new(ConstScorer::new(inner, boost * self.score)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.inner.scorer(reader, 1.0)?;
        if scorer.doc() > doc || scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new("MatchBoost", self.score))
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.inner.count(reader)
    }
}

/// Every term in every weighted field, as flat boosted term queries: summed by one union, the
/// same score as a union of per-term unions, without the nesting (see [`Clause`]). For the
/// accumulating executor each term is one [`Exec::Word`], carried by its first field's clause.
fn term_fields(f: &Fields, terms: &[String]) -> Vec<Clause> {
    terms
        .iter()
        .flat_map(|t| {
            FIELD_BOOSTS
                .iter()
                .enumerate()
                .map(move |(i, (field, boost))| Clause {
                    term: true,
                    q: boosted_term(field(f), t, *boost),
                    exec: (i == 0).then(|| Exec::Word(Word::new(f, t, 1.0))),
                })
        })
        .collect()
}

/// One analysed word in every weighted field: its score in a document is the BM25 of each
/// field's term times the field's weight, summed, times `boost`.
#[derive(Clone)]
pub struct Word {
    pub text: String,
    /// The word's term in each weighted field, with the field's weight.
    pub terms: Vec<(Term, Score)>,
    pub boost: Score,
}

impl Word {
    fn new(f: &Fields, text: &str, boost: Score) -> Word {
        Word {
            text: text.to_string(),
            terms: FIELD_BOOSTS
                .iter()
                .map(|(field, b)| (Term::from_field_text(field(f), text), *b))
                .collect(),
            boost,
        }
    }

    fn boosted(self, by: Score) -> Word {
        Word {
            boost: self.boost * by,
            ..self
        }
    }
}

/// One term in any weighted field, as one query (an operand of a `Must`).
fn term_any_field(f: &Fields, term: &str) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        FIELD_BOOSTS
            .iter()
            .map(|(field, boost)| (Occur::Should, boosted_term(field(f), term, *boost)))
            .collect(),
    ))
}

/// A `Should` clause of the lexical query. `term` marks a single (boosted) term query: tantivy
/// unions a boolean query made only of term scorers without dynamic dispatch, so the terms are
/// gathered into one such query and the few compound clauses sit beside it.
struct Clause {
    term: bool,
    q: Box<dyn Query>,
    /// The same clause as the accumulating executor runs it. A word's clauses in its weighted
    /// fields are one [`Exec::Word`], carried by the first of them (see [`term_fields`]).
    exec: Option<Exec>,
}

impl Clause {
    /// The BM25 score of `text` in `field`, times `boost`.
    fn term(field: Field, text: &str, boost: f32) -> Clause {
        Clause {
            term: true,
            q: boosted_term(field, text, boost),
            exec: Some(Exec::Term {
                term: Term::from_field_text(field, text),
                boost,
            }),
        }
    }
    /// `score` for every document the match-only `query` matches.
    fn constant(query: Box<dyn Query>, score: Score) -> Clause {
        Clause {
            term: false,
            q: MatchBoost::boxed(query.box_clone(), score),
            exec: Some(Exec::Const { query, score }),
        }
    }
    /// Documents holding every one of `terms` (each in any weighted field) score the BM25 of
    /// every term in every field, times the field's weight and `boost`; others nothing.
    fn all_terms(f: &Fields, terms: &[String], boost: f32) -> Clause {
        let must: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|t| (Occur::Must, term_any_field(f, t)))
            .collect();
        let groups = terms.iter().map(|t| Word::new(f, t, boost)).collect();
        Clause {
            term: false,
            q: Box::new(BoostQuery::new(Box::new(BooleanQuery::new(must)), boost)),
            exec: Some(Exec::AllOf {
                groups,
                body: terms
                    .iter()
                    .map(|t| Term::from_field_text(f.body, t))
                    .collect(),
            }),
        }
    }
    /// The clause with its score multiplied by `by`.
    fn boosted(self, by: Score) -> Clause {
        Clause {
            term: self.term,
            q: Box::new(BoostQuery::new(self.q, by)),
            exec: self.exec.map(|exec| match exec {
                Exec::Term { term, boost } => Exec::Term {
                    term,
                    boost: boost * by,
                },
                Exec::Word(w) => Exec::Word(w.boosted(by)),
                Exec::Const { query, score } => Exec::Const {
                    query,
                    score: score * by,
                },
                Exec::AllOf { groups, body } => Exec::AllOf {
                    groups: groups.into_iter().map(|w| w.boosted(by)).collect(),
                    body,
                },
            }),
        }
    }
}

/// One `Should` clause of the lexical query as [`crate::accumulate`] runs it: the sum of these
/// over the clauses a document matches is its score under [`LexicalQuery::query`].
pub enum Exec {
    /// The BM25 score of one term times `boost`, read straight from its block postings.
    Term { term: Term, boost: Score },
    /// One word in every weighted field.
    Word(Word),
    /// `score` for every document the match-only `query` matches (its postings are walked
    /// unscored; term queries and boolean queries of all-`Should` or all-`Must` clauses are
    /// evaluated as bitsets, anything else by tantivy).
    Const { query: Box<dyn Query>, score: Score },
    /// Documents holding every word score the sum of the words' scores: an intersection of
    /// per-word unions over fields (synonym expansions, power in the other unit).
    AllOf {
        groups: Vec<Word>,
        /// Each group's word as a `body` term: `body` holds the text of every weighted field,
        /// so a document holds a term of the group exactly when it holds this one, and the
        /// intersection is computed over these alone.
        body: Vec<Term>,
    },
}

impl Clone for Exec {
    fn clone(&self) -> Exec {
        match self {
            Exec::Term { term, boost } => Exec::Term {
                term: term.clone(),
                boost: *boost,
            },
            Exec::Word(w) => Exec::Word(w.clone()),
            Exec::Const { query, score } => Exec::Const {
                query: query.box_clone(),
                score: *score,
            },
            Exec::AllOf { groups, body } => Exec::AllOf {
                groups: groups.clone(),
                body: body.clone(),
            },
        }
    }
}

impl std::fmt::Debug for Exec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exec::Term { term, boost } => write!(f, "Term({term:?} x {boost})"),
            Exec::Word(w) => write!(f, "Word({:?} x {})", w.text, w.boost),
            Exec::Const { query, score } => write!(f, "Const({score}, {query:?})"),
            Exec::AllOf { groups, .. } => {
                let words: Vec<(&str, Score)> =
                    groups.iter().map(|w| (w.text.as_str(), w.boost)).collect();
                write!(f, "AllOf({words:?})")
            }
        }
    }
}

/// The union of `clauses`: the term clauses in one boolean query, the others beside it.
fn union_of(clauses: Vec<Clause>) -> Box<dyn Query> {
    let (terms, others): (Vec<Clause>, Vec<Clause>) = clauses.into_iter().partition(|c| c.term);
    let should = |v: Vec<Clause>| -> Vec<(Occur, Box<dyn Query>)> {
        v.into_iter().map(|c| (Occur::Should, c.q)).collect()
    };
    let mut all = should(others);
    if !terms.is_empty() {
        all.push((Occur::Should, Box::new(BooleanQuery::new(should(terms)))));
    }
    if all.len() == 1 {
        if let Some((_, q)) = all.pop() {
            return q;
        }
    }
    Box::new(BooleanQuery::new(all))
}

fn is_layout_word(word: &str) -> bool {
    word.chars()
        .all(|c| c.is_ascii_alphabetic() || "[];',.`".contains(c))
        && word.chars().any(|c| c.is_ascii_alphabetic())
}

/// Most words are Latin letters that spell nothing the index knows: the query was typed on the
/// Latin layout meaning Russian, codes included (`ktrnhjldbufntkm 6n12` for `электродвигатель
/// 6т12`).
fn is_layout_query(f: &Fields, vocab: &dyn Vocabulary, words: &[&str]) -> bool {
    let layout = words
        .iter()
        .filter(|w| is_layout_word(w) && !vocab.knows(f.body, &analysis::term_for_word(w)))
        .count();
    layout >= 2 && layout * 2 > words.len()
}

/// Builds the lexical query for `text` against one snapshot's vocabulary.
pub fn build_query(
    f: &Fields,
    vocab: &dyn Vocabulary,
    synonyms: &Synonyms,
    text: &str,
) -> LexicalQuery {
    let raw_words: Vec<&str> = text.split_whitespace().collect();
    let mut clauses: Vec<Clause> = Vec::new();
    let mut normalized_words: Vec<String> = Vec::new();

    // Codes: runs of up to three adjacent words, folded; Latin-typed Cyrillic model codes
    // (`1V62G` for `1В62Г`) are tried transliterated too.
    let mut pin_codes = HashSet::new();
    let content_words: Vec<&str> = raw_words
        .iter()
        .copied()
        .filter(|w| !analysis::is_stopword(&normalize(w)))
        .collect();
    let mut seen = HashSet::new();
    let layout_query = is_layout_query(f, vocab, &raw_words);
    // Words covered by a machine model that parts declare compatibility with.
    let mut machine_words: HashSet<usize> = HashSet::new();
    let mut machine_codes: Vec<String> = Vec::new();
    let mut code_clauses: Vec<(String, usize, usize)> = Vec::new();
    // Windows of up to three words, and the whole query (long designations such as grinding
    // wheels, `1 450x80x203 64С F46 K 6 V`).
    let mut sizes: Vec<usize> = (1..=3usize.min(content_words.len())).collect();
    if content_words.len() > 3 && content_words.len() <= 10 {
        sizes.push(content_words.len());
    }
    for n in sizes {
        for (start, window) in content_words.windows(n).enumerate() {
            let joined = window.join("");
            // `380В` in a query is a voltage, even where a card's code holds it; a machine model
            // that looks like one (`2620В`) stays a model.
            let folded = fold_code(&joined);
            if analysis::is_quantity(&joined)
                && !vocab.knows(f.compat, &folded)
                && !vocab.knows(f.model_key, &folded)
            {
                continue;
            }
            let mut variants = vec![
                folded.clone(),
                fold_code(&analysis::translit_lat_to_cyr(&joined)),
                // A Latin code typed in Cyrillic (`сфу 2005` for `SFU2005`).
                fold_code(&analysis::translit_cyr_to_lat(&joined)),
            ];
            // A code typed on the Latin layout in a query typed so (`6n12` for `6Т12`).
            if layout_query && joined.chars().any(|c| c.is_ascii_alphabetic()) {
                variants.push(fold_code(&analysis::layout_en_to_ru(&joined)));
            }
            // A model whose name the dictionary spells another way (`эксперт 150` for
            // `Xpert 150`): each word by its first one-word synonym.
            if n > 1 {
                let mut any = false;
                let spelled: String = window
                    .iter()
                    .map(|w| {
                        let norm = normalize(w);
                        match synonyms
                            .expansions(&[norm.as_str()])
                            .into_iter()
                            .find(|e| !e.contains(char::is_whitespace))
                        {
                            Some(e) => {
                                any = true;
                                e.to_string()
                            }
                            None => w.to_string(),
                        }
                    })
                    .collect();
                if any {
                    variants.push(fold_code(&spelled));
                }
            }
            variants.extend(analysis::code_equivalents(&folded));
            for code in variants {
                // Codes carry a digit, except machine models known by name (`Mini Mill`).
                if code.len() < 3
                    || !(analysis::is_code_like(&code) || (n > 1 && vocab.knows(f.compat, &code)))
                    || !seen.insert(code.clone())
                {
                    continue;
                }
                if !vocab.knows(f.code_prefix, &code) && !vocab.knows(f.code, &code) {
                    continue;
                }
                if vocab.knows(f.compat, &code) {
                    machine_words.extend(start..start + n);
                    machine_codes.push(code.clone());
                }
                code_clauses.push((code, start, n));
            }
        }
    }
    // A query naming a machine model plus a need ("ШВП для VF-2", "6Р82 муфта") asks for parts
    // of that machine, not for the machine: boost declared compatibility and parts.
    // A brand, also when typed in Cyrillic and known through the synonyms (сименс = siemens).
    let is_brand = |norm: &str| {
        vocab.knows(f.brand_t, &analysis::term_for_word(norm))
            || (norm.chars().count() >= 3
                && vocab.knows(
                    f.brand_t,
                    &analysis::term_for_word(&analysis::translit_cyr_to_lat(norm)),
                ))
            || synonyms.expansions(&[norm]).iter().any(|e| {
                analysis::analyze(e)
                    .iter()
                    .all(|(_, _, t)| vocab.knows(f.brand_t, t))
            })
    };
    let is_need_word = |w: &str| {
        let norm = normalize(w);
        !analysis::is_stopword(&norm)
            && !machine_codes.contains(&fold_code(w))
            && !is_brand(&norm)
            && !analysis::is_machine_word(&norm)
            && !analysis::is_generic_parts_word(&norm)
    };
    let need_words = content_words
        .iter()
        .enumerate()
        .filter(|(i, w)| !machine_words.contains(i) && is_need_word(w))
        .count();
    // "станок 6Р82", "токарный станок" ask for a machine; "ремень на станок 1К62" and
    // "belt for 1K62 lathe" ask for a part of one: a preposition before the machine word.
    let asks_for_machine = {
        let mut seen_preposition = false;
        let mut machine = false;
        for w in &raw_words {
            let norm = normalize(w);
            if matches!(norm.as_str(), "на" | "для" | "к" | "for" | "on" | "to") {
                seen_preposition = true;
            } else if analysis::is_machine_word(&norm) && !seen_preposition {
                machine = true;
            }
        }
        machine
    };
    let generic_parts = content_words
        .iter()
        .any(|w| analysis::is_generic_parts_word(&normalize(w)));
    let part_intent =
        !machine_codes.is_empty() && (need_words > 0 || generic_parts) && !asks_for_machine;
    for (code, _start, n) in code_clauses {
        let machine_code = machine_codes.contains(&code);
        let exact_boost = if part_intent && machine_code {
            CODE_EXACT_BOOST / 4.0
        } else {
            CODE_EXACT_BOOST
        };
        clauses.push(Clause::term(f.code, &code, exact_boost));
        if code.len() >= 4 {
            clauses.push(Clause::term(f.code_prefix, &code, CODE_PREFIX_BOOST));
        }
        if part_intent && machine_code {
            // A query that names the machine and only says "parts" (`4Г721М расходники`,
            // `запчасти для 16К20`) is met by any part declared for it.
            let boost = if need_words == 0 {
                COMPAT_NEED_BOOST
            } else {
                COMPAT_BOOST
            };
            clauses.push(Clause::constant(match_term(f.compat, &code), boost));
        }
        // A code that covers the query but for at most one word is what the user is after.
        if !part_intent && content_words.len() - n <= 1 {
            pin_codes.insert(code);
        }
    }
    // Boosts that rank what matched but do not match on their own: "a spare part" is no
    // reason to return every part of the catalog.
    let mut part_boost = if part_intent { PART_INTENT_BOOST } else { 0.0 };

    let mut need_clauses: Vec<Box<dyn Query>> = Vec::new();
    let skip_words: HashSet<&str> = if part_intent {
        let mut skip: HashSet<&str> = machine_words.iter().map(|&i| content_words[i]).collect();
        // The brand right before the machine's model is the machine's (`для Hurco VMX30i`,
        // `Sodick AQ600L`), not the part's: a servo drive by Yaskawa declared for the VMX30i
        // meets the query as well as one that says Hurco.
        for &i in &machine_words {
            if i > 0
                && !machine_words.contains(&(i - 1))
                && is_brand(&normalize(content_words[i - 1]))
            {
                skip.insert(content_words[i - 1]);
            }
        }
        skip
    } else {
        HashSet::new()
    };

    // "педаль управления для листогиба": what follows "для" after a need names the machine the
    // part is for. Such machine words are context: they weigh less than the need, and the query
    // is after a part.
    let mut context = vec![false; raw_words.len()];
    {
        let mut seen_need = false;
        let mut after_preposition = false;
        for (i, w) in raw_words.iter().enumerate() {
            let norm = normalize(w);
            if matches!(norm.as_str(), "для" | "на" | "к" | "for" | "to" | "on") {
                after_preposition |= seen_need;
            } else if after_preposition {
                context[i] =
                    analysis::is_machine_word(&norm) || analysis::is_machine_type_word(&norm);
            } else if is_need_word(w) && !analysis::is_machine_type_word(&norm) {
                seen_need = true;
            }
        }
    }
    if !part_intent && context.iter().any(|c| *c) {
        part_boost = PART_INTENT_BOOST;
    }
    let mut normalized_context: Vec<bool> = Vec::new();
    let mut coord: Vec<Clause> = Vec::new();
    let mut groups: Vec<Vec<Box<dyn Query>>> = Vec::new();

    for (wi, word) in raw_words.iter().enumerate() {
        if skip_words.contains(word) {
            // The machine model is matched through declared compatibility instead.
            normalized_words.extend(
                analysis::split_words(word)
                    .into_iter()
                    .map(|x| normalize(x.2)),
            );
            normalized_context.resize(normalized_words.len(), context[wi]);
            continue;
        }
        let before = clauses.len();
        let nstart = normalized_words.len();
        // What the word matches, as match-only queries on `body`, which holds the text of every
        // weighted field: the word's coordination group and its share of the need.
        let mut matched: Vec<Box<dyn Query>> = Vec::new();
        'word: {
            let pieces = analysis::split_words(word);
            let mut direct: Vec<String> = Vec::new();
            let mut unknown: Vec<String> = Vec::new();
            for (_, _, w) in &pieces {
                let norm = normalize(w);
                normalized_words.push(norm.clone());
                if analysis::is_stopword(&norm) {
                    continue;
                }
                let term = analysis::term_for_word(w);
                if vocab.knows(f.body, &term) {
                    direct.push(term);
                } else {
                    unknown.push(norm);
                }
            }
            clauses.extend(term_fields(f, &direct));
            matched.extend(direct.iter().map(|t| match_term(f.body, t)));
            if unknown.is_empty() {
                break 'word;
            }
            // Repairs for words the index does not know, cheapest first.
            let mut repaired: Vec<String> = Vec::new();
            if is_layout_word(word) {
                let fixed = analysis::layout_en_to_ru(word);
                let terms: Vec<String> =
                    analysis::analyze(&fixed).into_iter().map(|x| x.2).collect();
                if !terms.is_empty() && terms.iter().all(|t| vocab.knows(f.body, t)) {
                    repaired.extend(terms);
                }
            }
            for norm in &unknown {
                if !repaired.is_empty() {
                    break;
                }
                let is_latin = norm.chars().all(|c| c.is_ascii_alphanumeric());
                let alt = if is_latin {
                    analysis::translit_lat_to_cyr(norm)
                } else {
                    analysis::translit_cyr_to_lat(norm)
                };
                let alt_term = analysis::term_for_word(&alt);
                if !alt_term.is_empty() && vocab.knows(f.body, &alt_term) {
                    repaired.push(alt_term);
                } else if !is_latin && analysis::fuzzy_distance(&alt) > 0 {
                    // Brands typed in Cyrillic rarely transliterate letter for letter
                    // (бистроник → bystronic): match the transliteration loosely, a constant
                    // where any stem within reach occurs, as a fuzzy term query would (the
                    // stems come from the snapshot's cached automaton walk).
                    let near = vocab.within(f.body, &alt_term, analysis::fuzzy_distance(&alt));
                    if near.is_empty() {
                        matched.push(Box::new(EmptyQuery));
                    } else {
                        let any: Box<dyn Query> = Box::new(BooleanQuery::new(
                            near.iter()
                                .map(|t| (Occur::Should, match_term(f.body, t)))
                                .collect(),
                        ));
                        matched.push(any.box_clone());
                        clauses.push(Clause::constant(any, REPAIRED_BOOST));
                    }
                } else if is_latin {
                    // Russian typed in Latin may also be a known synonym key (shvp -> швп).
                    let expansions = synonyms.expansions(&[alt.as_str()]);
                    for e in expansions {
                        repaired.extend(analysis::analyze(e).into_iter().map(|x| x.2));
                    }
                }
            }
            if !repaired.is_empty() {
                matched.extend(repaired.iter().map(|t| match_term(f.body, t)));
                clauses.extend(
                    term_fields(f, &repaired)
                        .into_iter()
                        .map(|c| c.boosted(REPAIRED_BOOST)),
                );
                break 'word;
            }
            for norm in &unknown {
                let dist = analysis::fuzzy_distance(norm);
                if dist == 0 {
                    continue;
                }
                let term = analysis::term_for_word(norm);
                // Every indexed stem within reach, from one pass of a Levenshtein automaton over
                // the `body` dictionary (which holds every weighted field's terms, so it serves
                // `name` too): each adds a constant where it occurs, 1 in any field and 2 more
                // in the name, as fuzzy term queries would, for recall.
                let near = vocab.within(f.body, &term, dist);
                // A misspelt Russian word: the nearest stem (`потрон` → `патрон`) also scores as
                // the word would have, BM25 in every weighted field. Not for Latin words: in this
                // Russian catalog the stem nearest to an unknown English word is mostly another
                // word (`components` for `OEM components`: dev set english 0.804 → 0.796 with it).
                let cyrillic = norm.chars().any(|c| matches!(c, 'а'..='я' | 'ё'));
                if let Some(first) = near.first().filter(|_| cyrillic) {
                    clauses.extend(
                        term_fields(f, std::slice::from_ref(first))
                            .into_iter()
                            .map(|c| c.boosted(REPAIRED_BOOST)),
                    );
                }
                let any_of = |field: Field| -> Box<dyn Query> {
                    if near.is_empty() {
                        return Box::new(EmptyQuery);
                    }
                    Box::new(BooleanQuery::new(
                        near.iter()
                            .map(|t| (Occur::Should, match_term(field, t)))
                            .collect(),
                    ))
                };
                matched.push(any_of(f.body));
                if !near.is_empty() {
                    clauses.push(Clause::constant(any_of(f.body), 1.0));
                    clauses.push(Clause::constant(any_of(f.name), 2.0));
                }
            }
        }
        if part_intent && is_need_word(word) {
            need_clauses.extend(matched.iter().map(|q| q.box_clone()));
        }
        if !matched.is_empty() && !analysis::is_stopword(&normalize(word)) {
            groups.resize_with(normalized_words.len().max(nstart + 1), Vec::new);
            groups[nstart].extend(matched);
        }
        normalized_context.resize(normalized_words.len(), context[wi]);
        if context[wi] {
            let boosted: Vec<Clause> = clauses
                .drain(before..)
                .map(|c| c.boosted(CONTEXT_BOOST))
                .collect();
            clauses.extend(boosted);
        }
    }

    // Power in the other unit (`370 Вт` also finds `0,37 кВт`).
    for (_, alt) in analysis::power_alternatives(text) {
        let terms: Vec<String> = analysis::analyze(&alt).into_iter().map(|x| x.2).collect();
        if !terms.is_empty() {
            clauses.push(Clause::all_terms(f, &terms, SYNONYM_BOOST));
        }
    }

    // Quantities in canonical units (`2,2 кВт` meets `power_kw: 2.2` and `2200 W`).
    // Sizes (`стол 1250 на 320` meets `table_size_mm: 1250x320`) and tool tapers (`SK 40`
    // meets `7:24 №40 (ISO 40)`), in the same canonical tokens.
    for q in analysis::quantities(text) {
        clauses.push(Clause::term(f.qty, &q, QTY_BOOST));
    }
    // A size or taper is one requirement of the query however many words it is written in
    // (`1250 на 320`, `SK 40`): it also counts once in coordination.
    for q in analysis::sizes(text)
        .into_iter()
        .chain(analysis::tapers(text, false))
    {
        clauses.push(Clause::term(f.qty, &q, QTY_BOOST));
        groups.push(vec![match_term(f.qty, &q)]);
    }

    // Synonyms and abbreviations over word n-grams (up to three words).
    let content: Vec<&str> = normalized_words.iter().map(String::as_str).collect();
    for n in (1..=3).rev() {
        for (start, window) in content.windows(n).enumerate() {
            let boost = if normalized_context[start..start + n].iter().all(|c| *c) {
                SYNONYM_BOOST * CONTEXT_BOOST
            } else {
                SYNONYM_BOOST
            };
            for exp in synonyms.expansions(window) {
                let terms: Vec<String> = analysis::analyze(exp).into_iter().map(|x| x.2).collect();
                if !terms.is_empty() {
                    // The same match on `body` alone, for the match-only uses.
                    let matched: Box<dyn Query> = if terms.len() == 1 {
                        match_term(f.body, &terms[0])
                    } else {
                        Box::new(BooleanQuery::new(
                            terms
                                .iter()
                                .map(|t| (Occur::Must, match_term(f.body, t)))
                                .collect(),
                        ))
                    };
                    if part_intent && window.iter().all(|w| is_need_word(w)) {
                        need_clauses.push(matched.box_clone());
                    }
                    groups.resize_with(groups.len().max(start + n), Vec::new);
                    for g in &mut groups[start..start + n] {
                        g.push(matched.box_clone());
                    }
                    clauses.push(Clause::all_terms(f, &terms, boost));
                }
            }
        }
    }

    if part_intent && !need_clauses.is_empty() {
        // Parts declared for the named machine that also match the need come first.
        let need: Box<dyn Query> = Box::new(BooleanQuery::new(
            need_clauses
                .into_iter()
                .map(|q| (Occur::Should, q))
                .collect(),
        ));
        for code in &machine_codes {
            let both = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.compat, code),
                        IndexRecordOption::Basic,
                    )) as Box<dyn Query>,
                ),
                (Occur::Must, need.box_clone()),
            ]);
            clauses.push(Clause::constant(Box::new(both), COMPAT_NEED_BOOST));
        }
    }
    // Coordination: a constant for every query word a document matches (directly, repaired or
    // through a synonym), so a card that meets all of the query outranks one that meets a single
    // word in every field (`ножной выключатель пресса`: the foot switch of a press before a
    // limit switch whose name, brand, model and category all say `выключатель`).
    // Each group matches only documents the clauses match (it is the word's own match on `body`,
    // which holds every weighted field), so the groups sit in the clauses' union: one flat
    // union to walk, and the match set is the clauses'.
    let groups: Vec<Box<dyn Query>> = groups
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(|mut g| -> Box<dyn Query> {
            if g.len() == 1 {
                g.remove(0)
            } else {
                Box::new(BooleanQuery::new(
                    g.into_iter().map(|q| (Occur::Should, q)).collect(),
                ))
            }
        })
        .collect();
    if groups.len() > 1 {
        for any in groups {
            coord.push(Clause::constant(any, COORD_BOOST));
        }
    }
    // Only a query without words browses. One whose words the index does not know (a part
    // number nobody stocks) matches nothing lexically: as a browse request it listed the
    // whole catalog.
    let is_browse = clauses.is_empty() && part_boost == 0.0 && content_words.is_empty();
    let mut execs: Vec<Exec> = Vec::new();
    let query: Box<dyn Query> = if is_browse {
        Box::new(AllQuery)
    } else if clauses.is_empty() && part_boost == 0.0 {
        execs.push(Exec::Const {
            query: Box::new(EmptyQuery),
            score: 0.0,
        });
        Box::new(EmptyQuery)
    } else if clauses.is_empty() {
        // Nothing but context matched the index: what the query asks for is a part.
        let c = Clause::constant(match_term(f.kind, Kind::SparePart.as_str()), part_boost);
        part_boost = 0.0;
        execs.extend(c.exec);
        c.q
    } else {
        clauses.extend(coord);
        execs.extend(clauses.iter_mut().filter_map(|c| c.exec.take()));
        union_of(clauses)
    };
    LexicalQuery {
        query,
        clauses: execs,
        pin_codes,
        is_browse,
        part_boost,
    }
}

/// The query as the embedding model should read it: words typed on the Latin keyboard layout
/// or transliterated from Russian are written in Cyrillic when the index knows them that way,
/// and Latin phrases the synonym dictionary maps to Russian are replaced by the Russian member.
/// The model was trained mostly on natural text and reads `podshipnik` or `yfcjc` as noise;
/// the lexical side repairs such words itself, this gives the vector side the same repair.
pub fn semantic_text(
    f: &Fields,
    vocab: &dyn Vocabulary,
    synonyms: &Synonyms,
    text: &str,
) -> String {
    let is_latin_word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic());
    // Watts as the catalog writes them, in kilowatts.
    let mut text = text.to_string();
    for (written, alt) in analysis::power_alternatives(&text) {
        if alt.ends_with("кВт") {
            text = text.replacen(&written, &alt, 1);
        }
    }
    let known = |w: &str| {
        let terms: Vec<String> = analysis::analyze(w).into_iter().map(|x| x.2).collect();
        !terms.is_empty() && terms.iter().all(|t| vocab.knows(f.body, t))
    };
    let mut words: Vec<String> = Vec::new();
    let raw: Vec<&str> = text.split_whitespace().collect();
    let layout_query = is_layout_query(f, vocab, &raw);
    for word in raw {
        if known(word) {
            words.push(word.to_string());
            continue;
        }
        if is_layout_word(word) {
            let fixed = analysis::layout_en_to_ru(word);
            if known(&fixed) {
                words.push(fixed);
                continue;
            }
        }
        if layout_query && analysis::is_code_like(word) {
            let fixed = analysis::layout_en_to_ru(word);
            if vocab.knows(f.code, &fold_code(&fixed)) {
                words.push(fixed);
                continue;
            }
        }
        let norm = normalize(word);
        if is_latin_word(&norm) {
            let cyr = analysis::translit_lat_to_cyr(&norm);
            if known(&cyr) {
                words.push(cyr);
                continue;
            }
        }
        // A misspelt Russian word: the nearest indexed stem (`потрон` → `патрон`).
        let dist = analysis::fuzzy_distance(&norm);
        if dist > 0 && norm.chars().all(|c| c.is_alphabetic() && !c.is_ascii()) {
            if let Some(stem) = vocab.nearest(f.body, &analysis::term_for_word(&norm), dist) {
                words.push(stem);
                continue;
            }
        }
        words.push(word.to_string());
    }
    // Latin phrases with a Cyrillic member in the dictionary, longest first.
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    'next: while i < words.len() {
        for n in (1..=3usize.min(words.len() - i)).rev() {
            let window: Vec<String> = words[i..i + n].iter().map(|w| normalize(w)).collect();
            if !window.iter().all(|w| is_latin_word(w)) {
                continue;
            }
            let refs: Vec<&str> = window.iter().map(String::as_str).collect();
            if let Some(ru) = synonyms
                .expansions(&refs)
                .into_iter()
                .find(|e| e.chars().any(analysis::is_cyrillic))
            {
                out.push(ru.to_string());
                i += n;
                continue 'next;
            }
        }
        out.push(words[i].clone());
        i += 1;
    }
    out.join(" ")
}

/// Combines a scoring query with score-free filters.
pub fn with_filters(query: Box<dyn Query>, filters: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if filters.is_empty() {
        return query;
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, query)];
    for fq in filters {
        clauses.push((Occur::Must, MatchBoost::boxed(fq, 0.0)));
    }
    Box::new(BooleanQuery::new(clauses))
}

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
        self.vids
            .get(vid as usize / 64)
            .is_some_and(|w| w & (1 << (vid % 64)) != 0)
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
    stock: Vec<i64>,
    /// Per doc id: the price in roubles; NaN if absent.
    price: Vec<f64>,
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
                bits[doc / 64] |= 1 << (doc % 64);
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
        Ok(SegmentTable {
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

/// The positions of the set bits of `word`, lowest first.
#[inline]
pub(crate) fn ones(word: u64) -> impl Iterator<Item = usize> {
    let mut rest = word;
    std::iter::from_fn(move || {
        (rest != 0).then(|| {
            let bit = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            bit
        })
    })
}

/// Sets bit `vid` in `vids`, growing it if need be.
#[inline]
fn set_vid(vids: &mut Vec<u64>, vid: u32) {
    let v = vid as usize;
    if vids.len() <= v / 64 {
        vids.resize(v / 64 + 1, 0);
    }
    vids[v / 64] |= 1 << (v % 64);
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
            for bit in ones(live) {
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
            for bit in ones(live) {
                if let Some(vid) = table.vid((base + bit) as DocId) {
                    set_vid(vids, vid);
                }
            }
        }
        if *with_facets {
            let [_, categories, brands] = counts;
            for bit in ones(live) {
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
            set_vid(&mut self.vids, vid);
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

/// Tries to take (and at once release) the writer lock of the text index in `dir`: fails when
/// another process, such as a running server, is the writer.
pub fn try_lock_writer(dir: &std::path::Path) -> crate::error::Result<()> {
    let index = tantivy::Index::open_in_dir(dir)?;
    register_tokenizers(&index);
    let writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
    drop(writer);
    Ok(())
}
