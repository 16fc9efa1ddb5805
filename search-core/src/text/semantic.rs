//! The text the embedding model reads for a query: the query with its words repaired.

use super::plan::is_layout_query;
use super::plan::is_layout_word;
use super::schema::Fields;
use super::vocab::Vocabulary;
use crate::analysis::{self, fold_code, normalize};
use crate::synonyms::Synonyms;

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
