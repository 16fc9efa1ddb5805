//! Query planning: from the query text and the index vocabulary to the lexical plan, a
//! crate-owned list of scored clauses ([`Exec`]) over match conditions ([`Match`]) with no
//! tantivy query inside. The accumulating executor runs the plan; [`LexicalQuery::query`]
//! states the same plan as a tantivy query, for the snippet generators and the reference
//! executor.

use super::match_boost::MatchBoost;
use super::repair::{is_layout_query, is_russian, repair_word, Repair};
use super::schema::Fields;
use super::vocab::Vocabulary;
use crate::analysis::{self, fold_code, normalize};
use crate::doc::Kind;
use crate::synonyms::Synonyms;
use std::collections::HashSet;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, EmptyQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Score, Term};

/// The lexical plan of a query, with what it knows about exact code matches.
#[derive(Debug, Clone)]
pub struct LexicalQuery {
    /// The `Should` clauses whose sum is a document's lexical score, as the accumulating
    /// executor runs them ([`crate::accumulate`]). Empty for a browse request.
    pub clauses: Vec<Exec>,
    /// Folded codes that, matched exactly by a document's sku or model, pin it to the top.
    pub pin_codes: HashSet<String>,
    /// True when the query text produced no clause (browse request).
    pub is_browse: bool,
    /// Folded models of the machines the query names (as declared compatible), when the query
    /// asks for parts of them.
    pub machine_codes: HashSet<String>,
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

/// A match-only term (no frequencies read).
fn match_term(field: Field, text: &str) -> Match {
    Match::Term(Term::from_field_text(field, text))
}

/// Every term in every weighted field: one [`Exec::Word`] per term.
fn term_fields(f: &Fields, terms: &[String]) -> Vec<Exec> {
    terms
        .iter()
        .map(|t| Exec::Word(Word::new(f, t, 1.0)))
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

/// A word's terms in its weighted fields as flat boosted term queries, the word's boost
/// folded into each: summed by one union, the same score as a union of per-word unions,
/// without the nesting.
fn word_queries(w: &Word) -> impl Iterator<Item = Box<dyn Query>> + '_ {
    w.terms
        .iter()
        .map(|(term, weight)| boosted_query(term, weight * w.boost))
}

fn boosted_query(term: &Term, boost: Score) -> Box<dyn Query> {
    Box::new(BoostQuery::new(
        Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
        boost,
    ))
}

impl Exec {
    /// The BM25 score of `text` in `field`, times `boost`.
    fn term(field: Field, text: &str, boost: f32) -> Exec {
        Exec::Term {
            term: Term::from_field_text(field, text),
            boost,
        }
    }
    /// `score` for every document `matches` admits.
    fn constant(matches: Match, score: Score) -> Exec {
        Exec::Const { matches, score }
    }
    /// Documents holding every one of `terms` (each in any weighted field) score the BM25 of
    /// every term in every field, times the field's weight and `boost`; others nothing.
    fn all_terms(f: &Fields, terms: &[String], boost: f32) -> Exec {
        Exec::AllOf {
            groups: terms.iter().map(|t| Word::new(f, t, boost)).collect(),
            body: terms
                .iter()
                .map(|t| Term::from_field_text(f.body, t))
                .collect(),
        }
    }
    /// The clause with its score multiplied by `by`.
    fn boosted(self, by: Score) -> Exec {
        match self {
            Exec::Term { term, boost } => Exec::Term {
                term,
                boost: boost * by,
            },
            Exec::Word(w) => Exec::Word(w.boosted(by)),
            Exec::Const { matches, score } => Exec::Const {
                matches,
                score: score * by,
            },
            Exec::AllOf { groups, body } => Exec::AllOf {
                groups: groups.into_iter().map(|w| w.boosted(by)).collect(),
                body,
            },
        }
    }
}

/// One `Should` clause of the lexical query as [`crate::accumulate`] runs it: the sum of these
/// over the clauses a document matches is its score under [`LexicalQuery::query`].
#[derive(Clone)]
pub enum Exec {
    /// The BM25 score of one term times `boost`, read straight from its block postings.
    Term { term: Term, boost: Score },
    /// One word in every weighted field.
    Word(Word),
    /// `score` for every document `matches` admits (evaluated as bitsets over the terms'
    /// postings, walked unscored).
    Const { matches: Match, score: Score },
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

impl std::fmt::Debug for Exec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exec::Term { term, boost } => write!(f, "Term({term:?} x {boost})"),
            Exec::Word(w) => write!(f, "Word({:?} x {})", w.text, w.boost),
            Exec::Const { matches, score } => write!(f, "Const({score}, {matches:?})"),
            Exec::AllOf { groups, .. } => {
                let words: Vec<(&str, Score)> =
                    groups.iter().map(|w| (w.text.as_str(), w.boost)).collect();
                write!(f, "AllOf({words:?})")
            }
        }
    }
}

/// A match-only condition on indexed terms: which documents, with no score.
#[derive(Clone, PartialEq)]
pub enum Match {
    /// Documents holding the term.
    Term(Term),
    /// Documents meeting any of the conditions; none: no document.
    Any(Vec<Match>),
    /// Documents meeting every one of the conditions.
    All(Vec<Match>),
}

impl Match {
    /// The condition no document meets.
    fn nothing() -> Match {
        Match::Any(Vec::new())
    }

    /// The same condition with every term of `from` looked up in any of `to` instead.
    fn in_fields(&self, from: Field, to: &[Field]) -> Match {
        match self {
            Match::Term(t) if t.field() == from => {
                let value = t.value();
                let text = value.as_str().unwrap_or_default();
                Match::Any(to.iter().map(|f| match_term(*f, text)).collect())
            }
            Match::Term(t) => Match::Term(t.clone()),
            Match::Any(v) => Match::Any(v.iter().map(|m| m.in_fields(from, to)).collect()),
            Match::All(v) => Match::All(v.iter().map(|m| m.in_fields(from, to)).collect()),
        }
    }

    /// The condition as a tantivy query (match-only term queries, no frequencies read).
    pub fn to_query(&self) -> Box<dyn Query> {
        match self {
            Match::Term(t) => Box::new(TermQuery::new(t.clone(), IndexRecordOption::Basic)),
            Match::Any(v) if v.is_empty() => Box::new(EmptyQuery),
            Match::Any(v) => Box::new(BooleanQuery::new(
                v.iter().map(|m| (Occur::Should, m.to_query())).collect(),
            )),
            Match::All(v) => Box::new(BooleanQuery::new(
                v.iter().map(|m| (Occur::Must, m.to_query())).collect(),
            )),
        }
    }
}

impl std::fmt::Debug for Match {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Match::Term(t) => write!(f, "{t:?}"),
            Match::Any(v) => {
                write!(f, "any")?;
                f.debug_list().entries(v).finish()
            }
            Match::All(v) => {
                write!(f, "all")?;
                f.debug_list().entries(v).finish()
            }
        }
    }
}

impl LexicalQuery {
    /// The plan as one tantivy query with the same matches and, up to rounding, the same
    /// scores: the terms in one boolean union (tantivy unions term scorers without dynamic
    /// dispatch), the compound clauses beside it. The snippet generators read its terms.
    pub fn query(&self) -> Box<dyn Query> {
        if self.is_browse {
            return Box::new(AllQuery);
        }
        let mut terms: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut all: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for c in &self.clauses {
            match c {
                Exec::Term { term, boost } => {
                    terms.push((Occur::Should, boosted_query(term, *boost)))
                }
                Exec::Word(w) => terms.extend(word_queries(w).map(|q| (Occur::Should, q))),
                Exec::Const { matches, score } => {
                    all.push((Occur::Should, MatchBoost::boxed(matches.to_query(), *score)))
                }
                Exec::AllOf { groups, .. } => {
                    let must = groups
                        .iter()
                        .map(|w| {
                            let any = word_queries(w).map(|q| (Occur::Should, q)).collect();
                            (
                                Occur::Must,
                                Box::new(BooleanQuery::new(any)) as Box<dyn Query>,
                            )
                        })
                        .collect();
                    all.push((Occur::Should, Box::new(BooleanQuery::new(must))));
                }
            }
        }
        if !terms.is_empty() {
            all.push((Occur::Should, Box::new(BooleanQuery::new(terms))));
        }
        match all.len() {
            0 => Box::new(EmptyQuery),
            1 => all.pop().map(|(_, q)| q).expect("one clause"),
            _ => Box::new(BooleanQuery::new(all)),
        }
    }
}

/// Builds the lexical query for `text` against one snapshot's vocabulary.
pub fn build_query(
    f: &Fields,
    vocab: &dyn Vocabulary,
    synonyms: &Synonyms,
    text: &str,
) -> LexicalQuery {
    let raw_words: Vec<&str> = text.split_whitespace().collect();
    let mut clauses: Vec<Exec> = Vec::new();
    let mut normalized_words: Vec<String> = Vec::new();

    let mut pin_codes = HashSet::new();
    let content_words: Vec<&str> = raw_words
        .iter()
        .copied()
        .filter(|w| !analysis::is_stopword(&normalize(w)))
        .collect();
    let layout_query = is_layout_query(f, vocab, &raw_words);
    let Codes {
        found: code_clauses,
        machine_codes,
        machine_words,
    } = find_codes(f, vocab, synonyms, &content_words, layout_query);
    // A query naming a machine model plus a need ("ШВП для VF-2", "6Р82 муфта") asks for parts
    // of that machine, not for the machine: boost declared compatibility and parts.
    let roles = Roles {
        f,
        vocab,
        synonyms,
        machine_codes: &machine_codes,
    };
    let need_words = content_words
        .iter()
        .enumerate()
        .filter(|(i, w)| !machine_words.contains(i) && roles.is_need_word(w))
        .count();
    let asks_for_machine = asks_for_machine(&raw_words);
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
        clauses.push(Exec::term(f.code, &code, exact_boost));
        if code.len() >= 4 {
            clauses.push(Exec::term(f.code_prefix, &code, CODE_PREFIX_BOOST));
        }
        if part_intent && machine_code {
            // A query that names the machine and only says "parts" (`4Г721М расходники`,
            // `запчасти для 16К20`) is met by any part declared for it.
            let boost = if need_words == 0 {
                COMPAT_NEED_BOOST
            } else {
                COMPAT_BOOST
            };
            clauses.push(Exec::constant(match_term(f.compat, &code), boost));
        }
        // A code that covers the query but for at most one word is what the user is after.
        if !part_intent && content_words.len() - n <= 1 {
            pin_codes.insert(code);
        }
    }
    // Boosts that rank what matched but do not match on their own: "a spare part" is no
    // reason to return every part of the catalog.
    let mut part_boost = if part_intent { PART_INTENT_BOOST } else { 0.0 };

    // What meets the need, with the span of normalised words it comes from.
    let mut need_clauses: Vec<(usize, usize, Match)> = Vec::new();
    let skip_words: HashSet<&str> = if part_intent {
        let mut skip: HashSet<&str> = machine_words.iter().map(|&i| content_words[i]).collect();
        // The brand right before the machine's model is the machine's (`для Hurco VMX30i`,
        // `Sodick AQ600L`), not the part's: a servo drive by Yaskawa declared for the VMX30i
        // meets the query as well as one that says Hurco.
        for &i in &machine_words {
            if i > 0
                && !machine_words.contains(&(i - 1))
                && roles.is_brand(&normalize(content_words[i - 1]))
            {
                skip.insert(content_words[i - 1]);
            }
        }
        skip
    } else {
        HashSet::new()
    };

    let context = context_words(&raw_words, &roles);
    if !part_intent && context.iter().any(|c| *c) {
        part_boost = PART_INTENT_BOOST;
    }
    let mut normalized_context: Vec<bool> = Vec::new();
    // Normalised words of skipped query words (the named machine, its brand): matched through
    // declared compatibility, so no synonym of theirs scores or counts either.
    let mut skipped: Vec<bool> = Vec::new();
    let mut groups: Vec<Vec<Match>> = Vec::new();
    // Per raw word: the Russian word it was typed in Latin letters for, and its span of
    // normalised words (none for the skipped machine words), for the need's heads below.
    let mut russian: Vec<Option<String>> = vec![None; raw_words.len()];
    let mut spans: Vec<Option<(usize, usize)>> = vec![None; raw_words.len()];

    for (wi, word) in raw_words.iter().enumerate() {
        if skip_words.contains(word) {
            // The machine model is matched through declared compatibility instead.
            normalized_words.extend(
                analysis::split_words(word)
                    .into_iter()
                    .map(|x| normalize(x.2)),
            );
            normalized_context.resize(normalized_words.len(), context[wi]);
            skipped.resize(normalized_words.len(), true);
            continue;
        }
        let before = clauses.len();
        let nstart = normalized_words.len();
        let word_match = match_word(f, vocab, synonyms, word);
        russian[wi] = word_match.translit;
        normalized_words.extend(word_match.normalized);
        clauses.extend(word_match.clauses);
        let matched = word_match.matched;
        // What follows `для` after the need names the machine (`для шлифовального`), not
        // the part: no card meets the need by it.
        if part_intent && roles.is_need_word(word) && !context[wi] {
            let end = normalized_words.len();
            need_clauses.extend(matched.iter().map(|m| (nstart, end, m.clone())));
        }
        if !matched.is_empty() && !analysis::is_stopword(&normalize(word)) {
            groups.resize_with(normalized_words.len().max(nstart + 1), Vec::new);
            groups[nstart].extend(matched);
        }
        normalized_context.resize(normalized_words.len(), context[wi]);
        skipped.resize(normalized_words.len(), false);
        spans[wi] = Some((nstart, normalized_words.len()));
        if context[wi] {
            let boosted: Vec<Exec> = clauses
                .drain(before..)
                .map(|c| c.boosted(CONTEXT_BOOST))
                .collect();
            clauses.extend(boosted);
        }
    }

    let (unit_clauses, unit_groups) = unit_clauses(f, text);
    clauses.extend(unit_clauses);
    groups.extend(unit_groups.into_iter().map(|m| vec![m]));

    clauses.extend(synonym_clauses(
        f,
        synonyms,
        NormalizedWords {
            words: &normalized_words,
            context: &normalized_context,
            skipped: &skipped,
        },
        part_intent.then_some(&roles),
        &mut groups,
        &mut need_clauses,
    ));

    whole_phrases(&mut need_clauses);
    // Heads only matter to a part query's need.
    let mut head_norm = vec![false; normalized_words.len()];
    if part_intent {
        let heads = need_heads(&raw_words, &russian, &roles, &context);
        for (head, span) in heads.iter().zip(&spans) {
            if let (true, Some((a, b))) = (*head, span) {
                head_norm[*a..*b].iter_mut().for_each(|h| *h = true);
            }
        }
    }
    // The need is met by its head nouns (`ремень` of `ремень главного привода`), not by a
    // word that only qualifies them: a motor `для главного привода` is no belt.
    if head_norm.iter().any(|h| *h) {
        need_clauses.retain(|(a, b, _)| head_norm[*a..*b].iter().any(|h| *h));
    }
    if part_intent && !need_clauses.is_empty() {
        // Parts declared for the named machine that also match the need come first.
        let need = Match::Any(need_clauses.into_iter().map(|(_, _, m)| m).collect());
        // Among them, a part is what its name or category says it is: a starter whose
        // description mentions the motor it starts is no motor. Naming the need counts as one
        // more matched word (chosen on fold 1: the smallest boost that reached its best).
        let need_named = need.in_fields(f.body, &[f.name, f.category_t]);
        for code in &machine_codes {
            let both = Match::All(vec![match_term(f.compat, code), need.clone()]);
            clauses.push(Exec::constant(both, COMPAT_NEED_BOOST));
            let named = Match::All(vec![match_term(f.compat, code), need_named.clone()]);
            clauses.push(Exec::constant(named, COORD_BOOST));
        }
    }
    let coord = coordination(groups);
    // Only a query without words browses. One whose words the index does not know (a part
    // number nobody stocks) matches nothing lexically: as a browse request it listed the
    // whole catalog.
    let is_browse = clauses.is_empty() && part_boost == 0.0 && content_words.is_empty();
    let execs: Vec<Exec> = if is_browse {
        Vec::new()
    } else if clauses.is_empty() && part_boost == 0.0 {
        vec![Exec::constant(Match::nothing(), 0.0)]
    } else if clauses.is_empty() {
        // Nothing but context matched the index: what the query asks for is a part.
        let c = Exec::constant(match_term(f.kind, Kind::SparePart.as_str()), part_boost);
        part_boost = 0.0;
        vec![c]
    } else {
        clauses.extend(coord);
        clauses
    };
    LexicalQuery {
        clauses: execs,
        pin_codes,
        is_browse,
        part_boost,
        machine_codes: if part_intent {
            machine_codes.into_iter().collect()
        } else {
            HashSet::new()
        },
    }
}

/// The codes a query names: part numbers and machine models the index knows, found in runs of
/// up to three adjacent words and in the whole query, folded (`6205-2RS` = `62052rs`), also
/// typed transliterated (`1V62G` for `1В62Г`), on the Latin layout or through a one-word synonym.
#[derive(Default)]
struct Codes {
    /// Each code with the first word of its run and the run's length.
    found: Vec<(String, usize, usize)>,
    /// The codes that name a machine model parts declare compatibility with.
    machine_codes: Vec<String>,
    /// Positions (in the content words) of the words those models cover.
    machine_words: HashSet<usize>,
}

fn find_codes(
    f: &Fields,
    vocab: &dyn Vocabulary,
    synonyms: &Synonyms,
    content_words: &[&str],
    layout_query: bool,
) -> Codes {
    let mut seen = HashSet::new();
    let mut codes = Codes::default();
    // Code-like windows that name no model whole, with their word span.
    let mut partial: Vec<(String, usize, usize)> = Vec::new();
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
            // A code read aloud letter by letter (`аку 400` for `AQ400`).
            variants.extend(
                analysis::letter_names_to_latin(&joined)
                    .iter()
                    .map(|c| fold_code(c)),
            );
            for code in variants {
                // Codes carry a digit, except machine models known by name (`Mini Mill`).
                if code.len() < 3
                    || !(analysis::is_code_like(&code) || (n > 1 && vocab.knows(f.compat, &code)))
                    || !seen.insert(code.clone())
                {
                    continue;
                }
                if !vocab.knows(f.code_prefix, &code) && !vocab.knows(f.code, &code) {
                    // Perhaps a machine model that only compatibility lists name, short of
                    // its last letters.
                    partial.push((code, start, n));
                    continue;
                }
                if vocab.knows(f.compat, &code) {
                    codes.machine_words.extend(start..start + n);
                    codes.machine_codes.push(code.clone());
                } else {
                    partial.push((code.clone(), start, n));
                }
                codes.found.push((code, start, n));
            }
        }
    }
    // A machine model named without its last letters (`AQ400` for `AQ400L`, `VCN 530` for
    // `VCN-530C`) is that model, where few models complete it and no window naming a model
    // whole overlaps it.
    for (code, start, n) in partial {
        if (start..start + n).any(|i| codes.machine_words.contains(&i)) {
            continue;
        }
        for model in completed_models(f, vocab, &code) {
            if seen.insert(model.clone()) {
                codes.machine_words.extend(start..start + n);
                codes.machine_codes.push(model.clone());
                codes.found.push((model, start, n));
            }
        }
    }
    codes
}

/// Machine models (as declared compatible) that `code` begins, at most two characters longer,
/// when there are one to three of them; none for a code shorter than four characters.
fn completed_models(f: &Fields, vocab: &dyn Vocabulary, code: &str) -> Vec<String> {
    if code.chars().count() < 4 {
        return Vec::new();
    }
    let models = vocab.extending(f.compat, code, 2);
    if models.len() > 3 {
        return Vec::new();
    }
    models
}

/// What a query word is to the query: a brand, a machine, or part of the need.
struct Roles<'a> {
    f: &'a Fields,
    vocab: &'a dyn Vocabulary,
    synonyms: &'a Synonyms,
    /// The machine models the query names (see [`Codes::machine_codes`]).
    machine_codes: &'a [String],
}

impl Roles<'_> {
    /// A brand, also when typed in Cyrillic and known through the synonyms (сименс = siemens).
    fn is_brand(&self, norm: &str) -> bool {
        let (f, vocab) = (self.f, self.vocab);
        vocab.knows(f.brand_t, &analysis::term_for_word(norm))
            || (norm.chars().count() >= 3
                && vocab.knows(
                    f.brand_t,
                    &analysis::term_for_word(&analysis::translit_cyr_to_lat(norm)),
                ))
            || self.synonyms.expansions(&[norm]).iter().any(|e| {
                analysis::analyze(e)
                    .iter()
                    .all(|(_, _, t)| vocab.knows(f.brand_t, t))
            })
    }

    /// A word saying what is needed: not a stopword, the machine's model or brand, a machine
    /// word (`станок`) or a generic parts word (`запчасти`).
    fn is_need_word(&self, w: &str) -> bool {
        let norm = normalize(w);
        !analysis::is_stopword(&norm)
            && !self.machine_codes.contains(&fold_code(w))
            && !self.is_brand(&norm)
            && !analysis::is_machine_word(&norm)
            && !analysis::is_generic_parts_word(&norm)
    }
}

/// "станок 6Р82", "токарный станок" ask for a machine; "ремень на станок 1К62" and
/// "belt for 1K62 lathe" ask for a part of one: a preposition before the machine word.
fn asks_for_machine(raw_words: &[&str]) -> bool {
    let mut seen_preposition = false;
    let mut machine = false;
    for w in raw_words {
        let norm = normalize(w);
        if matches!(norm.as_str(), "на" | "для" | "к" | "for" | "on" | "to") {
            seen_preposition = true;
        } else if analysis::is_machine_word(&norm) && !seen_preposition {
            machine = true;
        }
    }
    machine
}

/// The head nouns of a part query's need, per raw word: in each conjunct (split by `и`,
/// `или` and commas) the first Russian need word that is no adjective (Russian noun phrases
/// put adjectives before the head and the words qualifying it after: `клиновой ремень
/// главного привода`), and after a short word the index does not know the next noun too; a
/// collective noun (`комплект`, `набор`) only when no noun follows it. Latin need words are all
/// heads (English puts the head last), except after a Russian head.
fn need_heads(
    raw_words: &[&str],
    russian: &[Option<String>],
    roles: &Roles,
    context: &[bool],
) -> Vec<bool> {
    let mut heads = vec![false; raw_words.len()];
    let mut found = false;
    // A collective noun (`комплект`, `набор`) heading the conjunct so far: the head only when
    // no noun follows to say what it collects (`комплект для техобслуживания` is a service kit,
    // not any set; a set of jaws is `комплект` too).
    let mut collective: Option<usize> = None;
    let settle = |heads: &mut Vec<bool>, collective: &mut Option<usize>, found: bool| {
        if let Some(c) = collective.take() {
            heads[c] = !found;
        }
    };
    for (i, w) in raw_words.iter().enumerate() {
        let norm = normalize(w);
        let norm = norm.trim_end_matches([',', ';']);
        // Russian typed in Latin letters is read as the Russian it stands for
        // (`privodnoy remen`: the adjective is no head).
        let norm = russian[i].as_deref().unwrap_or(norm);
        if matches!(norm, "и" | "или") {
            settle(&mut heads, &mut collective, found);
            found = false;
            continue;
        }
        if !context[i] && roles.is_need_word(w) {
            if !found && collective.is_none() && analysis::is_collective_noun(norm) {
                collective = Some(i);
            } else if !is_russian(norm) {
                // A Latin word is a head in its own right (English word order puts the head
                // last), except in a Russian need that has its head already: there it is a
                // designation (`мотор подачи по оси X`), not the thing wanted.
                heads[i] = !found;
            } else if !found && !analysis::is_adjective(norm) {
                heads[i] = true;
                // A short word the index does not know as typed (`вит` for `винт`) may be a
                // typo of anything: the next noun is a head too.
                found = norm.chars().count() >= 5
                    || roles
                        .vocab
                        .knows(roles.f.body, &analysis::term_for_word(norm));
            }
        }
        if w.ends_with([',', ';']) {
            settle(&mut heads, &mut collective, found);
            found = false;
        }
    }
    settle(&mut heads, &mut collective, found);
    heads
}

/// "педаль управления для листогиба": what follows "для" after a need names the machine the
/// part is for. Such machine words are context (true at their positions): they weigh less than
/// the need, and the query is after a part.
fn context_words(raw_words: &[&str], roles: &Roles) -> Vec<bool> {
    let mut context = vec![false; raw_words.len()];
    let mut seen_need = false;
    let mut after_preposition = false;
    for (i, w) in raw_words.iter().enumerate() {
        let norm = normalize(w);
        if matches!(norm.as_str(), "для" | "на" | "к" | "for" | "to" | "on") {
            after_preposition |= seen_need;
        } else if after_preposition {
            context[i] = analysis::is_machine_word(&norm) || analysis::is_machine_type_word(&norm);
        } else if roles.is_need_word(w) && !analysis::is_machine_type_word(&norm) {
            seen_need = true;
        }
    }
    context
}

/// A need phrase the dictionary knows as a whole (`ball screw`, `drive belt`) is met by the
/// phrase, not by one of its words alone (`screw` in `fixed with screws`): drops the clauses
/// whose span of words lies inside a longer span that has clauses of its own.
fn whole_phrases(need_clauses: &mut Vec<(usize, usize, Match)>) {
    let phrases: Vec<(usize, usize)> = need_clauses
        .iter()
        .filter(|(a, b, _)| b - a >= 2)
        .map(|(a, b, _)| (*a, *b))
        .collect();
    need_clauses.retain(|(a, b, _)| {
        !phrases
            .iter()
            .any(|(pa, pb)| pa <= a && b <= pb && (pb - pa) > (b - a))
    });
}

/// Clauses of the attribute expressions the query states, in canonical units: power in the
/// other unit, quantities, sizes and tool tapers; with the coordination group of each size and
/// taper (one requirement however many words it is written in).
fn unit_clauses(f: &Fields, text: &str) -> (Vec<Exec>, Vec<Match>) {
    let mut out: Vec<Exec> = Vec::new();
    let mut groups: Vec<Match> = Vec::new();
    // Power in the other unit (`370 Вт` also finds `0,37 кВт`).
    for (_, alt) in analysis::power_alternatives(text) {
        let terms: Vec<String> = analysis::analyze(&alt).into_iter().map(|x| x.2).collect();
        if !terms.is_empty() {
            out.push(Exec::all_terms(f, &terms, SYNONYM_BOOST));
        }
    }

    // Quantities in canonical units (`2,2 кВт` meets `power_kw: 2.2` and `2200 W`).
    // Sizes (`стол 1250 на 320` meets `table_size_mm: 1250x320`) and tool tapers (`SK 40`
    // meets `7:24 №40 (ISO 40)`), in the same canonical tokens.
    for q in analysis::quantities(text) {
        out.push(Exec::term(f.qty, &q, QTY_BOOST));
    }
    // A size, taper or axis travel is one requirement of the query however many words it is
    // written in (`1250 на 320`, `SK 40`, `X 400`): it also counts once in coordination.
    for q in analysis::sizes(text)
        .into_iter()
        .chain(analysis::tapers(text, false))
        .chain(analysis::travels(text))
    {
        out.push(Exec::term(f.qty, &q, QTY_BOOST));
        groups.push(match_term(f.qty, &q));
    }
    (out, groups)
}

/// The query's normalised words, each with whether it is context (`для листогиба`) and
/// whether it was skipped (the named machine and its brand).
struct NormalizedWords<'a> {
    words: &'a [String],
    context: &'a [bool],
    skipped: &'a [bool],
}

/// Synonyms and abbreviations over word n-grams (up to three normalised words, none of them
/// skipped): each expansion scores as all of its words, counts for the n-gram's words in
/// coordination (`groups`) and, where `need` says the n-gram is the need of a part query, in
/// the need.
fn synonym_clauses(
    f: &Fields,
    synonyms: &Synonyms,
    normalized: NormalizedWords,
    need: Option<&Roles>,
    groups: &mut Vec<Vec<Match>>,
    need_clauses: &mut Vec<(usize, usize, Match)>,
) -> Vec<Exec> {
    let NormalizedWords {
        words,
        context,
        skipped,
    } = normalized;
    let mut out: Vec<Exec> = Vec::new();
    let content: Vec<&str> = words.iter().map(String::as_str).collect();
    for n in (1..=3).rev() {
        for (start, window) in content.windows(n).enumerate() {
            if skipped[start..start + n].iter().any(|s| *s) {
                continue;
            }
            let boost = if context[start..start + n].iter().all(|c| *c) {
                SYNONYM_BOOST * CONTEXT_BOOST
            } else {
                SYNONYM_BOOST
            };
            for exp in synonyms.expansions(window) {
                let terms: Vec<String> = analysis::analyze(exp).into_iter().map(|x| x.2).collect();
                if !terms.is_empty() {
                    // The same match on `body` alone, for the match-only uses.
                    let matched = if terms.len() == 1 {
                        match_term(f.body, &terms[0])
                    } else {
                        Match::All(terms.iter().map(|t| match_term(f.body, t)).collect())
                    };
                    if need.is_some_and(|roles| window.iter().all(|w| roles.is_need_word(w)))
                        && !context[start..start + n].iter().any(|c| *c)
                    {
                        need_clauses.push((start, start + n, matched.clone()));
                    }
                    groups.resize_with(groups.len().max(start + n), Vec::new);
                    for g in &mut groups[start..start + n] {
                        g.push(matched.clone());
                    }
                    out.push(Exec::all_terms(f, &terms, boost));
                }
            }
        }
    }
    out
}

/// Coordination: a constant for every query word a document matches (directly, repaired or
/// through a synonym), so a card that meets all of the query outranks one that meets a single
/// word in every field (`ножной выключатель пресса`: the foot switch of a press before a limit
/// switch whose name, brand, model and category all say `выключатель`). Each group matches
/// only documents the clauses match (it is the word's own match on `body`, which holds every
/// weighted field), so the groups sit in the clauses' union: one flat union to walk, and the
/// match set is the clauses'. A single group adds nothing.
fn coordination(groups: Vec<Vec<Match>>) -> Vec<Exec> {
    let groups: Vec<Match> = groups
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(|mut g| {
            if g.len() == 1 {
                g.remove(0)
            } else {
                Match::Any(g)
            }
        })
        .collect();
    if groups.len() < 2 {
        return Vec::new();
    }
    groups
        .into_iter()
        .map(|any| Exec::constant(any, COORD_BOOST))
        .collect()
}

/// What one query word matches, and the clauses it adds: the word as the index knows it, or
/// else repaired, cheapest repair first (the keyboard layout, transliteration, a synonym of
/// the transliteration, then every stem within its edit distance).
struct WordMatch {
    /// Scored clauses of the word (BM25 of the word or its repair, repair constants).
    clauses: Vec<Exec>,
    /// What the word matches, as conditions on `body` (which holds the text of every weighted
    /// field): the word's coordination group and its share of the need.
    matched: Vec<Match>,
    /// The word's pieces, normalised (for the synonym n-grams).
    normalized: Vec<String>,
    /// The Russian word a word typed in Latin letters stands for (its first piece's exact
    /// transliteration, normalised): the need's heads read it (see [`need_heads`]).
    translit: Option<String>,
}

impl WordMatch {
    /// Stems near the word (within its edit distance, or of its root): all of them are one
    /// more way to meet the word's coordination group (none: it cannot be met this way), and
    /// each adds a constant where it occurs, 1 in any field (`body` holds every weighted
    /// field's terms) and 2 more in the name.
    fn add_near(&mut self, f: &Fields, terms: &[String]) {
        let any_of =
            |field: Field| Match::Any(terms.iter().map(|t| match_term(field, t)).collect());
        self.matched.push(any_of(f.body));
        if !terms.is_empty() {
            self.clauses.push(Exec::constant(any_of(f.body), 1.0));
            self.clauses.push(Exec::constant(any_of(f.name), 2.0));
        }
    }
}

fn match_word(f: &Fields, vocab: &dyn Vocabulary, synonyms: &Synonyms, word: &str) -> WordMatch {
    let found = repair_word(f, vocab, synonyms, word);
    let mut out = WordMatch {
        clauses: term_fields(f, &found.known),
        matched: found.known.iter().map(|t| match_term(f.body, t)).collect(),
        normalized: found.pieces.iter().map(|p| p.norm.clone()).collect(),
        translit: None,
    };
    // Words of one root: the stemmer keeps derivational suffixes, so a noun and the adjective
    // made from it get different stems (`электроэрозия` → `электроэроз`, `электроэрозионный`
    // → `электроэрозион`). A known stem also meets the indexed stems it begins (at most
    // DERIVATION_CHARS letters longer): they join its coordination group and add constants
    // where they occur, as a misspelt word's near stems do. Not their BM25: a card holding
    // both stems would count the word twice (fold 1 of the dev set: `мотор шпинделя …` put
    // an amplifier whose model says `шпиндельный` first). Not the stems that begin it
    // either: `контактор` is no `контакт`, `инструментальная оснастка` no `инструмент`.
    let derived = derived_terms(f, vocab, &found.known);
    if !derived.is_empty() {
        out.add_near(f, &derived);
    }
    let mut exact: Vec<String> = Vec::new();
    for repair in found.repairs {
        match repair {
            Repair::Layout { terms, .. } | Repair::SynonymKey { terms, .. } => exact.extend(terms),
            Repair::Translit { piece, text, term } => {
                if piece == 0 && out.normalized.first().is_some_and(|n| !is_russian(n)) {
                    out.translit = Some(normalize(&text));
                }
                exact.push(term);
            }
            Repair::LooseTranslit { stems, .. } => {
                if stems.is_empty() {
                    out.matched.push(Match::nothing());
                } else {
                    let any = Match::Any(stems.iter().map(|t| match_term(f.body, t)).collect());
                    out.matched.push(any.clone());
                    out.clauses.push(Exec::constant(any, REPAIRED_BOOST));
                }
            }
            Repair::Misspelt {
                near, stands_in, ..
            } => {
                // Every indexed stem within reach (one pass of a Levenshtein automaton over
                // the `body` dictionary) is a near stem; the nearest standing in for a Russian
                // word also scores as the word.
                if let Some(first) = near.first().filter(|_| stands_in) {
                    out.clauses.extend(
                        term_fields(f, std::slice::from_ref(first))
                            .into_iter()
                            .map(|c| c.boosted(REPAIRED_BOOST)),
                    );
                }
                out.add_near(f, &near);
            }
        }
    }
    if !exact.is_empty() {
        out.matched
            .extend(exact.iter().map(|t| match_term(f.body, t)));
        out.clauses.extend(
            term_fields(f, &exact)
                .into_iter()
                .map(|c| c.boosted(REPAIRED_BOOST)),
        );
    }
    out
}

/// The longest derivational suffix [`derived_terms`] bridges, in letters.
const DERIVATION_CHARS: usize = 4;
/// The shortest stem [`derived_terms`] relates to another: shorter ones share their first
/// letters with unrelated words.
const DERIVATION_MIN_STEM: usize = 6;
/// At most this many related stems per word, the most frequent first.
const DERIVATIONS_PER_WORD: usize = 4;

/// Indexed Cyrillic stems that extend one of `known` by a suffix of at most
/// `DERIVATION_CHARS` letters (see [`match_word`]).
fn derived_terms(f: &Fields, vocab: &dyn Vocabulary, known: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for stem in known {
        if stem.chars().count() < DERIVATION_MIN_STEM
            || !stem.chars().all(crate::analysis::is_cyrillic)
        {
            continue;
        }
        let related = vocab.extending(f.body, stem, DERIVATION_CHARS);
        for t in related.into_iter().take(DERIVATIONS_PER_WORD) {
            if !known.contains(&t) && !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// Plans as snapshots (`expect-test`): a change to planning shows here as a diff of the
/// clauses; after checking it, `UPDATE_EXPECT=1 cargo test -p search-core text::plan` rewrites
/// the expectations.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::fixture::vocabulary;
    use expect_test::{expect, Expect};

    /// The plan of `text`, one clause per line, fields by name.
    fn plan(text: &str, synonyms: &str) -> String {
        let (schema, f, searcher) = vocabulary();
        let synonyms = Synonyms::parse(synonyms).unwrap();
        let lex = build_query(&f, &searcher, &synonyms, text);
        let term = |t: &Term| {
            let value = t.value();
            let text = value.as_str().unwrap_or("?").to_string();
            format!("{}:{text}", schema.get_field_name(t.field()))
        };
        fn matches(m: &Match, term: &dyn Fn(&Term) -> String) -> String {
            let list = |v: &[Match]| -> String {
                v.iter()
                    .map(|m| matches(m, term))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            match m {
                Match::Term(t) => term(t),
                Match::Any(v) => format!("any({})", list(v)),
                Match::All(v) => format!("all({})", list(v)),
            }
        }
        let mut out: Vec<String> = lex
            .clauses
            .iter()
            .map(|c| match c {
                Exec::Term { term: t, boost } => format!("term {} x{boost}", term(t)),
                Exec::Word(w) => format!("word {} x{}", w.text, w.boost),
                Exec::Const { matches: m, score } => {
                    format!("const {score} {}", matches(m, &term))
                }
                Exec::AllOf { groups, .. } => {
                    let words: Vec<String> = groups
                        .iter()
                        .map(|w| format!("{} x{}", w.text, w.boost))
                        .collect();
                    format!("all-of {}", words.join(", "))
                }
            })
            .collect();
        let mut pins: Vec<&String> = lex.pin_codes.iter().collect();
        pins.sort();
        out.push(format!(
            "pin {pins:?} part_boost {} browse {}",
            lex.part_boost, lex.is_browse
        ));
        out.join("\n")
    }

    fn check(text: &str, synonyms: &str, expected: Expect) {
        expected.assert_eq(&plan(text, synonyms));
    }

    #[test]
    fn a_part_for_a_named_machine_is_constrained_by_declared_compatibility() {
        check(
            "подшипник для 16К20",
            "",
            expect![[r#"
                term code:16k20 x3
                term code_prefix:16k20 x4
                const 8 compat:16k20
                word подшипник x1
                const 100000 all(compat:16k20 any(body:подшипник))
                const 40 all(compat:16k20 any(any(name:подшипник category_t:подшипник)))
                pin [] part_boost 3 browse false"#]],
        );
    }

    /// `для токарно-винторезного` after the need names the machine: it scores (a little) but
    /// meets no need, so a part declared for 16К20 that only says `токарный` is not pinned.
    #[test]
    fn the_machine_type_after_the_need_is_no_part_of_the_need() {
        let plan = plan("подшипник для токарного 16К20", "");
        let need = plan
            .lines()
            .find(|l| l.starts_with("const 100000"))
            .expect("a constraint");
        assert!(need.contains("подшипник"), "{need}");
        assert!(!need.contains("токарн"), "{need}");
    }

    /// The need is met by its head noun: `подшипник` of `радиальный подшипник шпинделя`, not
    /// the adjective before it or the noun qualifying it after; each conjunct has its own
    /// head (`подшипник и ремень`).
    #[test]
    fn the_need_is_met_by_its_head_nouns() {
        let constraint = |q: &str| -> String {
            plan(q, "")
                .lines()
                .find(|l| l.starts_with("const 100000"))
                .expect("a constraint")
                .to_string()
        };
        let need = constraint("радиальный подшипник шпинделя для 16К20");
        assert!(need.contains("подшипник"), "{need}");
        assert!(!need.contains("шпиндел"), "{need}");
        assert!(!need.contains("радиальн"), "{need}");
        let need = constraint("подшипник и ремень для 16К20");
        assert!(
            need.contains("подшипник") && need.contains("ремен"),
            "{need}"
        );
        // Russian typed in Latin letters has its heads as typed in Cyrillic.
        let need = constraint("podshipnik shpindelya dlya 16К20");
        assert!(need.contains("подшипник"), "{need}");
        assert!(!need.contains("шпиндел"), "{need}");
        // A collective noun is the need only when nothing follows to say what it collects.
        let need = constraint("комплект подшипников для 16К20");
        assert!(need.contains("подшипник"), "{need}");
        assert!(!need.contains("комплект"), "{need}");
        let need = constraint("комплект для 16К20");
        assert!(need.contains("комплект"), "{need}");
        // A Latin word after the Russian head designates (`по оси X`, `под конус ISO`): it
        // still scores, but it is not what is wanted.
        let need = constraint("подшипник шпинделя под конус ISO для 16К20");
        assert!(need.contains("подшипник"), "{need}");
        assert!(!need.contains("iso"), "{need}");
    }

    /// `AQ400` names the machine `AQ400L` (the one model it begins), read aloud too (`аку
    /// 400`); the brand before it is the machine's, so neither it nor its synonym scores.
    #[test]
    fn a_model_named_short_of_its_last_letter_is_that_machine() {
        let synonyms = "россия = отечественный\n";
        let typed = plan("проволока россия AQ400", synonyms);
        expect![[r#"
            term code:aq400l x3
            term code_prefix:aq400l x4
            const 8 compat:aq400l
            word проволок x1
            const 100000 all(compat:aq400l any(body:проволок))
            const 40 all(compat:aq400l any(any(name:проволок category_t:проволок)))
            pin [] part_boost 3 browse false"#]]
        .assert_eq(&typed);
        assert_eq!(plan("проволока россия аку 400", synonyms), typed);
    }

    #[test]
    fn a_need_phrase_the_dictionary_knows_is_met_as_a_whole() {
        // `screw` alone (винт: "fixed with screws") does not meet the need `ball screw`; it
        // still scores.
        check(
            "ball screw for 16К20",
            "швп = ball screw\nвинт = screw\n",
            expect![[r#"
                term code:16k20 x3
                term code_prefix:16k20 x4
                const 8 compat:16k20
                all-of швп x0.9
                all-of винт x0.9
                const 100000 all(compat:16k20 any(body:швп))
                const 40 all(compat:16k20 any(any(name:швп category_t:швп)))
                const 40 body:швп
                const 40 any(any() body:швп body:винт)
                pin [] part_boost 3 browse false"#]],
        );
    }

    /// The noun's stem also meets the adjective's (`электроэрозия` → `электроэрозион`, from
    /// the category `Электроэрозионные станки`): one coordination group, and a constant where
    /// the derived stem occurs.
    #[test]
    fn a_stem_meets_the_longer_stems_of_its_root() {
        check(
            "электроэрозия проволока",
            "",
            expect![[r#"
                word электроэроз x1
                const 1 any(body:электроэрозион)
                const 2 any(name:электроэрозион)
                word проволок x1
                const 40 any(body:электроэроз any(body:электроэрозион))
                const 40 body:проволок
                pin [] part_boost 0 browse false"#]],
        );
    }

    #[test]
    fn a_code_alone_is_pinned() {
        check(
            "6205-2RS",
            "",
            expect![[r#"
            term code:62052rs x12
            term code_prefix:62052rs x4
            word 6205 x1
            word 2rs x1
            pin ["62052rs"] part_boost 0 browse false"#]],
        );
    }

    #[test]
    fn unknown_words_are_repaired_by_layout_translit_and_distance() {
        check(
            "gjlibgybr",
            "",
            expect![[r#"
            word подшипник x0.8
            pin [] part_boost 0 browse false"#]],
        );
        check(
            "podshipnik",
            "",
            expect![[r#"
            word подшипник x0.8
            pin [] part_boost 0 browse false"#]],
        );
        check(
            "подшибник шпинделя",
            "",
            expect![[r#"
            word подшипник x0.8
            const 1 any(body:подшипник)
            const 2 any(name:подшипник)
            word шпиндел x1
            const 40 any(any() any(body:подшипник))
            const 40 body:шпиндел
            pin [] part_boost 0 browse false"#]],
        );
    }

    #[test]
    fn synonyms_expand_over_word_ngrams() {
        check(
            "шарико-винтовая пара",
            "шарико-винтовая пара = швп\n",
            expect![[r#"
                word винтов x1
                word пар x1
                all-of швп x0.9
                const 40 any(body:винтов any() any() body:швп)
                const 40 body:швп
                const 40 any(body:пар body:швп)
                pin [] part_boost 0 browse false"#]],
        );
    }

    #[test]
    fn sizes_and_tapers_are_one_requirement_each() {
        check(
            "фрезерный станок 320 на 1250 SK 50",
            "",
            expect![[r#"
            word фрезерн x1
            word станок x1
            word 50 x1
            term qty:size1250x320 x20
            term qty:taperiso50 x20
            const 40 body:фрезерн
            const 40 body:станок
            const 40 body:50
            const 40 qty:size1250x320
            const 40 qty:taperiso50
            pin [] part_boost 0 browse false"#]],
        );
    }

    #[test]
    fn nothing_known_matches_nothing_and_no_words_browse() {
        check(
            "qqzx",
            "",
            expect![[r#"
            const 0 any()
            pin [] part_boost 0 browse false"#]],
        );
        check("для", "", expect!["pin [] part_boost 0 browse true"]);
    }
}
