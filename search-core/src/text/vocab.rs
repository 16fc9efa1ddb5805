//! What the index knows: term look-ups and bounded-distance neighbours for typo repair.

use std::collections::HashMap;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

/// Answers whether a term exists in the index (all segments of one snapshot).
pub trait Vocabulary {
    fn knows(&self, field: Field, term: &str) -> bool;

    /// The indexed terms of `field` within `distance` edits of `term` (transpositions count as
    /// one), nearest first, the most frequent first among equally near ones.
    fn within(&self, _field: Field, _term: &str, _distance: u8) -> Vec<String> {
        Vec::new()
    }

    /// The indexed terms of `field` that begin with `prefix` and are at most `extra`
    /// characters longer than it (`prefix` itself excluded), the most frequent first.
    fn extending(&self, _field: Field, _prefix: &str, _extra: usize) -> Vec<String> {
        Vec::new()
    }
}

/// A snapshot's dictionary with its near-term lookups kept in the snapshot's [`WordCache`]
/// (they depend on the dictionary alone, so they are never stale within the snapshot).
pub struct CachedVocab<'a> {
    pub searcher: &'a Searcher,
    pub cache: Option<&'a crate::word_cache::WordCache>,
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

    fn extending(&self, field: Field, prefix: &str, extra: usize) -> Vec<String> {
        match self.cache {
            Some(cache) => cache.extending(field, prefix, extra, || {
                self.searcher.extending(field, prefix, extra)
            }),
            None => self.searcher.extending(field, prefix, extra),
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

    fn extending(&self, field: Field, prefix: &str, extra: usize) -> Vec<String> {
        let longest = prefix.chars().count() + extra;
        let mut found: HashMap<String, u32> = HashMap::new();
        for reader in self.segment_readers() {
            let Ok(ii) = reader.inverted_index(field) else {
                continue;
            };
            let Ok(mut stream) = ii.terms().range().ge(prefix.as_bytes()).into_stream() else {
                continue;
            };
            while stream.advance() {
                let key = stream.key();
                if !key.starts_with(prefix.as_bytes()) {
                    break;
                }
                let Ok(candidate) = std::str::from_utf8(key) else {
                    continue;
                };
                if candidate.len() == prefix.len() || candidate.chars().count() > longest {
                    continue;
                }
                *found.entry(candidate.to_string()).or_insert(0) += stream.value().doc_freq;
            }
        }
        let mut terms: Vec<(String, u32)> = found.into_iter().collect();
        terms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        terms.into_iter().map(|t| t.0).collect()
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
