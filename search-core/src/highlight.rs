//! Highlights of a hit's name and description, as tantivy's `SnippetGenerator` makes them,
//! from a document's analysed tokens kept with it in the doc cache.
//!
//! tantivy's generator analyses the text again for every snippet (our analyser allocates a
//! normalised word, a stem and a token per word) and lowercases every token once more: a tenth
//! of the CPU of a lexical search went there. The output is the same: the best fragment of at
//! most [`MAX_FRAGMENT_BYTES`] (tantivy counts the 150 "chars" in bytes of the offsets), each
//! query term weighted `1 / (1 + doc_freq)`, ties to the earliest fragment, matched words in
//! `<em>…</em>` and the rest HTML-escaped. A test compares the two on the fixture catalog.

use crate::analysis;
use std::collections::HashMap;
use std::ops::Range;
use tantivy::query::Query;
use tantivy::schema::Field;
use tantivy::{Score, Searcher};

/// tantivy's `DEFAULT_MAX_NUM_CHARS`, which its fragmenter compares with byte offsets.
pub const MAX_FRAGMENT_BYTES: usize = 150;

/// A text's tokens as the catalog analyser produces them: byte range and term.
pub type Tokens = Vec<(usize, usize, String)>;

/// Analyses `text` into the tokens [`Highlighter::highlight`] reads.
pub fn tokens(text: &str) -> Tokens {
    analysis::analyze(text)
}

/// The query terms of one field, weighted, for highlighting.
pub struct Highlighter {
    terms: HashMap<String, Score>,
}

impl Highlighter {
    /// The terms of `query` in `field` that occur in the index, each weighted
    /// `1 / (1 + doc_freq)` (as `SnippetGenerator::create`).
    pub fn create(
        searcher: &Searcher,
        query: &dyn Query,
        field: Field,
    ) -> tantivy::Result<Highlighter> {
        let mut found: Vec<tantivy::Term> = Vec::new();
        query.query_terms(&mut |term, _| {
            if term.field() == field {
                found.push(term.clone());
            }
        });
        let mut terms = HashMap::new();
        for term in found {
            let Some(text) = term.value().as_str().map(str::to_string) else {
                continue;
            };
            if terms.contains_key(&text) {
                continue;
            }
            let doc_freq = searcher.doc_freq(&term)?;
            if doc_freq > 0 {
                terms.insert(text, 1.0 / (1.0 + doc_freq as Score));
            }
        }
        Ok(Highlighter { terms })
    }

    /// True when no query term can be highlighted in this field.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The best fragment of `text` (analysed as `tokens`) as HTML with the query's words in
    /// `<em>`, or `None` if no token of `text` is a query term.
    pub fn highlight(&self, text: &str, tokens: &[(usize, usize, String)]) -> Option<String> {
        if self.terms.is_empty() {
            return None;
        }
        let weight = |term: &str| -> Option<Score> {
            if term.chars().any(char::is_uppercase) {
                self.terms.get(&term.to_lowercase()).copied()
            } else {
                self.terms.get(term).copied()
            }
        };
        // tantivy's `search_fragments`: a fragment grows token by token until the next token
        // would end more than MAX_FRAGMENT_BYTES past its start; fragments with no query term
        // are dropped.
        struct Fragment {
            score: Score,
            start: usize,
            stop: usize,
            highlighted: Vec<Range<usize>>,
        }
        let new = |start: usize| Fragment {
            score: 0.0,
            start,
            stop: start,
            highlighted: Vec::new(),
        };
        let mut best: Option<Fragment> = None;
        let mut keep = |f: Fragment| {
            // Highest score; among equal scores the first fragment (the smallest start).
            if f.score > 0.0 && best.as_ref().is_none_or(|b| f.score > b.score) {
                best = Some(f);
            }
        };
        let mut fragment = new(0);
        for (from, to, term) in tokens {
            if to - fragment.start > MAX_FRAGMENT_BYTES {
                keep(std::mem::replace(&mut fragment, new(*from)));
            }
            fragment.stop = *to;
            if let Some(w) = weight(term) {
                fragment.score += w;
                fragment.highlighted.push(*from..*to);
            }
        }
        keep(fragment);
        let f = best?;
        let mut ranges = f.highlighted;
        ranges.sort_by_key(|r| (r.start, r.end));
        ranges.dedup();
        let mut html = String::with_capacity(f.stop - f.start + 16);
        let mut at = f.start;
        let mut i = 0;
        while i < ranges.len() {
            // Overlapping ranges merge (adjacent ones stay apart), as tantivy's
            // `collapse_overlapped_ranges`.
            let start = ranges[i].start;
            let mut end = ranges[i].end;
            i += 1;
            while i < ranges.len() && end > ranges[i].start {
                end = end.max(ranges[i].end);
                i += 1;
            }
            html.push_str(&htmlescape::encode_minimal(&text[at..start]));
            html.push_str("<em>");
            html.push_str(&htmlescape::encode_minimal(&text[start..end]));
            html.push_str("</em>");
            at = end;
        }
        html.push_str(&htmlescape::encode_minimal(&text[at..f.stop]));
        Some(html)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::engine_with;
    use tantivy::snippet::SnippetGenerator;

    /// On the fixture catalog, for queries of every kind (words, stems, codes, typos, English,
    /// synonyms, markup-like text), the highlights equal tantivy's snippets of the same query.
    #[test]
    fn highlights_are_tantivys_snippets() {
        let mut docs = crate::fixture::catalog(600, 3);
        // Markup and entities must come out escaped, long texts cut to a fragment.
        docs[0].name = "Подшипник <6205> & \"уплотнение\" 'RS'".into();
        // Equal fragments: the first wins. (The lexical query has no description terms today,
        // so only names are highlighted; the description is compared all the same.)
        docs[1].name = (1..=40)
            .map(|i| format!("подшипник {i:02}"))
            .collect::<Vec<_>>()
            .join(" ")
            + " шпиндель в конце";
        docs[2].description = docs[1].name.clone();
        let engine = engine_with(include_str!("../../server/synonyms.txt"), docs.clone());
        let snap = engine.snapshot();
        let searcher = snap.searcher();
        let fields = snap.fields();
        let queries: Vec<&str> = crate::fixture::QUERIES
            .iter()
            .copied()
            .chain([
                "подшипник",
                "подшибник шпинделя",
                "уплотнение RS",
                "шпиндель",
                "ball screw",
                "швп",
                "6205",
            ])
            .collect();
        let mut compared = 0;
        for q in queries {
            let lex = crate::text::build_query(fields, searcher, &snap.config().synonyms, q);
            for field in [fields.name, fields.description] {
                let ours = Highlighter::create(searcher, &*lex.query(), field).unwrap();
                let theirs = SnippetGenerator::create(searcher, &*lex.query(), field).unwrap();
                for d in &docs {
                    let text = if field == fields.name {
                        &d.name
                    } else {
                        &d.description
                    };
                    let mut sn = theirs.snippet(text);
                    let expected = (!sn.highlighted().is_empty()).then(|| {
                        sn.set_snippet_prefix_postfix("<em>", "</em>");
                        sn.to_html()
                    });
                    let got = ours.highlight(text, &tokens(text));
                    assert_eq!(got, expected, "{q:?} on {text:?}");
                    compared += usize::from(got.is_some());
                }
            }
        }
        assert!(compared > 300, "many texts are highlighted ({compared})");
    }
}
