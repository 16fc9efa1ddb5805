//! The text the embedding model reads for a query: the query with its words repaired.

use super::repair::{is_layout_query, repair_word, Repair, WordRepair};
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
    let mut words: Vec<String> = Vec::new();
    let raw: Vec<&str> = text.split_whitespace().collect();
    let layout_query = is_layout_query(f, vocab, &raw);
    for word in raw {
        let found = repair_word(f, vocab, synonyms, word);
        let layout_code =
            layout_query && analysis::is_code_like(word) && found.pieces.iter().any(|p| p.unknown);
        if layout_code {
            // A code typed on the Latin layout in a query typed so (`6n12` for `6т12`).
            let fixed = analysis::layout_en_to_ru(word);
            if vocab.knows(f.code, &fold_code(&fixed)) {
                words.push(fixed);
                continue;
            }
        }
        words.push(repaired_text(f, vocab, word, &found));
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

/// The word with its repairs written in: the layout-fixed word, or each repaired piece as the
/// index knows it (the transliteration, the synonym key, the stem standing in for a misspelt
/// Russian word). Loose repairs leave the piece as typed: they name no one word.
fn repaired_text(f: &Fields, vocab: &dyn Vocabulary, word: &str, found: &WordRepair) -> String {
    let mut out = String::with_capacity(word.len());
    let mut at = 0;
    for repair in &found.repairs {
        let (piece, text) = match repair {
            Repair::Layout { text, .. } => return text.clone(),
            Repair::Translit { piece, text, .. } => (*piece, text.clone()),
            Repair::SynonymKey { piece, key, .. } => (*piece, key.clone()),
            Repair::Misspelt {
                piece,
                near,
                stands_in: true,
            } => match near.first() {
                Some(stem) => (
                    *piece,
                    stand_in_word(f, vocab, &found.pieces[*piece].norm, stem),
                ),
                None => continue,
            },
            Repair::Misspelt { .. } | Repair::LooseTranslit { .. } => continue,
        };
        let p = &found.pieces[piece];
        if p.start < at {
            continue;
        }
        out.push_str(&word[at..p.start]);
        out.push_str(&text);
        at = p.end;
    }
    out.push_str(&word[at..]);
    out
}

/// The word a misspelt Russian word stands for, written out for the model, which reads a bare
/// stem (`главн`, `сопл`) as a fragment: the typed word when it only ends differently from the
/// indexed stem (`расходники` for `расходн`), otherwise the stem with as much of the typed
/// word's ending as makes a word some card's name has (`гланого` → `главн` + `ого`,
/// `радиалньая` → `радиальн` + `ая`), else the bare stem.
fn stand_in_word(f: &Fields, vocab: &dyn Vocabulary, typed: &str, stem: &str) -> String {
    if typed.starts_with(stem) {
        return typed.to_string();
    }
    let own = analysis::term_for_word(typed);
    let Some(ending) = typed.strip_prefix(own.as_str()) else {
        return stem.to_string();
    };
    ending
        .char_indices()
        .map(|(i, _)| format!("{stem}{}", &ending[i..]))
        .find(|word| vocab.knows(f.suggest, word) && analysis::term_for_word(word) == stem)
        .unwrap_or_else(|| stem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::fixture::vocabulary;

    fn semantic(text: &str, synonyms: &str) -> String {
        let (_, f, searcher) = vocabulary();
        let synonyms = Synonyms::parse(synonyms).unwrap();
        semantic_text(&f, &searcher, &synonyms, text)
    }

    #[test]
    fn the_model_reads_repaired_words() {
        // Typed on the Latin layout, the code too.
        assert_eq!(
            semantic("gjlibgybr cnfyjr 6h12", ""),
            "подшипник станок 6р12"
        );
        assert_eq!(semantic("podshipnik 6205", ""), "подшипник 6205");
        // A misspelt Russian word reads as its nearest stem; the rest as typed.
        assert_eq!(
            semantic("подшибник шпинделя для 16К20", ""),
            "подшипник шпинделя для 16К20"
        );
        assert_eq!(semantic("станок 16К20", ""), "станок 16К20");
    }

    #[test]
    fn a_misspelt_word_reads_as_a_whole_word_not_a_stem() {
        // The stem with the typed ending, when a card's name has that word.
        assert_eq!(semantic("винтавая пара", ""), "винтовая пара");
        // No name has the word with that ending: the bare stem, as before.
        assert_eq!(semantic("шпендель", ""), "шпиндел");
    }

    #[test]
    fn latin_phrases_read_as_their_russian_synonym_and_watts_as_kilowatts() {
        assert_eq!(semantic("ball screw 25", "швп = ball screw\n"), "швп 25");
        assert_eq!(semantic("двигатель 1500 Вт", ""), "двигатель 1,5 кВт");
    }
}
