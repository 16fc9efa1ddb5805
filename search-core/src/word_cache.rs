//! The per-snapshot word cache: words' impacts and match-only terms' bitsets for the
//! accumulating executor, and typo neighbours for query repair. A leaf: it holds data for
//! both and knows neither.

use tantivy::schema::Field;
use tantivy::{DocId, Score, Term};

/// A word's score in every document of one segment holding it (ascending doc ids): the BM25
/// of its term in each weighted field times the field's weight, summed (the word's boost not
/// applied). What six postings lists and six BM25 computations per document give, read as one
/// array.
pub struct Impacts {
    pub(crate) docs: Vec<DocId>,
    pub(crate) scores: Vec<Score>,
    /// The docs as a bitset, kept where the word is common (at least one document per 64):
    /// OR-ing its words into the touched set beats marking each document, whose
    /// read-modify-write of one bitset word waits for the previous one.
    pub(crate) bits: Option<Vec<u64>>,
}

impl Impacts {
    pub(crate) fn bytes(&self) -> usize {
        self.docs.len() * 8 + self.bits.as_ref().map_or(0, |b| b.len() * 8) + 64
    }
}

/// Words' impacts and match-only terms' bitsets per segment, for one snapshot: BM25
/// depends on the searcher's statistics, so a new snapshot starts with an empty cache and an
/// entry is never stale. Bounded by bytes, least recently used out first.
pub struct WordCache {
    budget: usize,
    inner: parking_lot::Mutex<WordLru>,
}

/// What the cache holds, per segment ordinal.
#[derive(PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Word(usize, String),
    Bits(usize, Term),
    /// A term's near neighbours in a field's dictionary (all segments), at most so many edits.
    Near(Field, String, u8),
    /// The terms of a field's dictionary extending a prefix by at most so many characters.
    Extending(Field, String, usize),
}

#[derive(Clone)]
pub(crate) enum Cached {
    Impacts(std::sync::Arc<Impacts>),
    /// A term's documents, a bit each.
    Bits(std::sync::Arc<Vec<u64>>),
    Near(std::sync::Arc<Vec<String>>),
}

impl Cached {
    /// Bytes held, with the entry's bookkeeping.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Cached::Impacts(i) => i.bytes(),
            Cached::Bits(b) => b.len() * 8 + 64,
            Cached::Near(terms) => terms.iter().map(|t| t.len() + 24).sum::<usize>() + 64,
        }
    }
}

struct WordLru {
    map: lru::LruCache<Key, Cached>,
    bytes: usize,
}

impl WordCache {
    /// A cache of at most `budget` bytes.
    pub fn new(budget: usize) -> WordCache {
        WordCache {
            budget,
            inner: parking_lot::Mutex::new(WordLru {
                map: lru::LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    /// Bytes held.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.inner.lock().bytes
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Cached> {
        self.inner.lock().map.get(key).cloned()
    }

    pub(crate) fn impacts(&self, ord: usize, word: &str) -> Option<std::sync::Arc<Impacts>> {
        match self.get(&Key::Word(ord, word.to_string())) {
            Some(Cached::Impacts(i)) => Some(i),
            _ => None,
        }
    }

    pub(crate) fn bits(&self, ord: usize, term: &Term) -> Option<std::sync::Arc<Vec<u64>>> {
        match self.get(&Key::Bits(ord, term.clone())) {
            Some(Cached::Bits(b)) => Some(b),
            _ => None,
        }
    }

    /// The indexed terms of `field` within `distance` edits of `term` (see
    /// [`crate::text::Vocabulary::within`]), from the cache or computed by `within` and kept:
    /// a typo's Levenshtein automaton and dictionary walk cost more than the rest of the query.
    pub fn near(
        &self,
        field: Field,
        term: &str,
        distance: u8,
        within: impl FnOnce() -> Vec<String>,
    ) -> Vec<String> {
        self.terms(Key::Near(field, term.to_string(), distance), within)
    }

    /// The indexed terms of `field` extending `prefix` by at most `extra` characters (see
    /// [`crate::text::Vocabulary::extending`]), from the cache or computed by `extending` and
    /// kept: a dictionary range scan per segment for every long Russian query word and every
    /// code-like window, the same on every search of a snapshot.
    pub fn extending(
        &self,
        field: Field,
        prefix: &str,
        extra: usize,
        extending: impl FnOnce() -> Vec<String>,
    ) -> Vec<String> {
        self.terms(Key::Extending(field, prefix.to_string(), extra), extending)
    }

    /// A list of dictionary terms under `key`, from the cache or computed and kept.
    fn terms(&self, key: Key, compute: impl FnOnce() -> Vec<String>) -> Vec<String> {
        if let Some(Cached::Near(terms)) = self.get(&key) {
            return terms.as_ref().clone();
        }
        let terms = compute();
        self.put(key, Cached::Near(std::sync::Arc::new(terms.clone())));
        terms
    }

    pub(crate) fn put(&self, key: Key, value: Cached) {
        let size = value.bytes();
        if size > self.budget {
            return;
        }
        let mut lru = self.inner.lock();
        if let Some(old) = lru.map.put(key, value) {
            lru.bytes -= old.bytes();
        }
        lru.bytes += size;
        while lru.bytes > self.budget {
            match lru.map.pop_lru() {
                Some((_, old)) => lru.bytes -= old.bytes(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word cache keeps to its byte budget, dropping the least recently used words.
    #[test]
    fn the_word_cache_keeps_to_its_budget() {
        let impacts = |n: u32| {
            std::sync::Arc::new(Impacts {
                docs: (0..n).collect(),
                scores: vec![1.0; n as usize],
                bits: None,
            })
        };
        let word = |w: &str| Key::Word(0, w.to_string());
        let one = impacts(100).bytes();
        let cache = WordCache::new(3 * one);
        for w in ["a", "b", "c"] {
            cache.put(word(w), Cached::Impacts(impacts(100)));
        }
        assert_eq!(cache.bytes(), 3 * one);
        assert!(
            cache.impacts(0, "a").is_some(),
            "a used: b is now the oldest"
        );
        cache.put(word("d"), Cached::Impacts(impacts(100)));
        assert_eq!(cache.bytes(), 3 * one);
        assert!(
            cache.impacts(0, "b").is_none(),
            "the least recently used went"
        );
        assert!(cache.impacts(0, "a").is_some() && cache.impacts(0, "d").is_some());
        assert!(cache.impacts(1, "a").is_none(), "entries are per segment");
        cache.put(word("huge"), Cached::Impacts(impacts(1000)));
        assert!(
            cache.impacts(0, "huge").is_none(),
            "larger than the budget: not kept"
        );
        assert_eq!(cache.bytes(), 3 * one);
        // Term bitsets share the budget: one evicts the oldest word.
        let term = tantivy::Term::from_field_text(tantivy::schema::Field::from_field_id(0), "x");
        let bits = std::sync::Arc::new(vec![0u64; (one - 64) / 8]);
        cache.put(Key::Bits(0, term.clone()), Cached::Bits(bits));
        assert!(cache.bits(0, &term).is_some() && cache.impacts(0, "c").is_none());
        assert_eq!(cache.bytes(), 3 * one);
    }

    /// A prefix's extending terms are computed once per field, prefix and reach; the near
    /// terms of the same text are another entry.
    #[test]
    fn extending_terms_are_computed_once() {
        let cache = WordCache::new(1 << 20);
        let field = tantivy::schema::Field::from_field_id(3);
        let calls = std::cell::Cell::new(0);
        let compute = || {
            calls.set(calls.get() + 1);
            vec!["aq400l".to_string()]
        };
        assert_eq!(cache.extending(field, "aq400", 2, compute), ["aq400l"]);
        assert_eq!(cache.extending(field, "aq400", 2, compute), ["aq400l"]);
        assert_eq!(calls.get(), 1);
        cache.extending(field, "aq400", 3, compute);
        assert_eq!(calls.get(), 2, "another reach is another entry");
        assert!(cache.near(field, "aq400", 2, Vec::new).is_empty());
    }
}
