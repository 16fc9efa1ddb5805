//! Query planning: from the query text and the index vocabulary to the lexical query
//! and the executor's clause list.

use super::match_boost::MatchBoost;
use super::schema::Fields;
use super::vocab::Vocabulary;
use crate::analysis::{self, fold_code, normalize};
use crate::doc::Kind;
use crate::synonyms::Synonyms;
use std::collections::HashSet;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, EmptyQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Score, Term};

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

pub(super) fn is_layout_word(word: &str) -> bool {
    word.chars()
        .all(|c| c.is_ascii_alphabetic() || "[];',.`".contains(c))
        && word.chars().any(|c| c.is_ascii_alphabetic())
}

/// Most words are Latin letters that spell nothing the index knows: the query was typed on the
/// Latin layout meaning Russian, codes included (`ktrnhjldbufntkm 6n12` for `электродвигатель
/// 6т12`).
pub(super) fn is_layout_query(f: &Fields, vocab: &dyn Vocabulary, words: &[&str]) -> bool {
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
