//! The repair cascade: what the index knows a query word as when it does not know the word as
//! typed. One cascade serves both sides: the lexical plan turns its repairs into clauses
//! (`plan::match_word`), the semantic side into the words the embedding model reads
//! (`semantic::semantic_text`).
//!
//! Cheapest repair first, per word: the keyboard layout (the whole word), then per unknown piece
//! the other script (transliteration), a synonym key typed in Latin, and last the indexed stems
//! within the piece's edit distance.

use super::schema::Fields;
use super::vocab::Vocabulary;
use crate::analysis::{self, normalize};
use crate::synonyms::Synonyms;

/// One word as the cascade found it.
pub(crate) struct WordRepair {
    /// The word's pieces (`analysis::split_words`): byte range in the word and normalised text.
    pub pieces: Vec<Piece>,
    /// Terms of the pieces the index knows as typed (stopwords left out).
    pub known: Vec<String>,
    /// Repairs of the unknown pieces, in cascade order. Empty when every piece is known.
    pub repairs: Vec<Repair>,
}

pub(crate) struct Piece {
    pub start: usize,
    pub end: usize,
    pub norm: String,
    /// Neither a stopword nor known as typed.
    pub unknown: bool,
}

/// How the cascade repaired a word or one of its pieces.
pub(crate) enum Repair {
    /// The whole word typed on the Latin keyboard layout meaning Russian (`yfcjc` → `насос`):
    /// its Cyrillic text, whose terms the index all knows. Exact: ends the cascade.
    Layout { text: String, terms: Vec<String> },
    /// The piece in the other script (`podshipnik` → `подшипник`), a term the index knows.
    /// Exact: ends the cascade.
    Translit {
        piece: usize,
        text: String,
        term: String,
    },
    /// Russian typed in Latin that is a synonym key (`shvp` → `швп`): the key and the terms of
    /// its expansions. Exact: ends the cascade.
    SynonymKey {
        piece: usize,
        key: String,
        terms: Vec<String>,
    },
    /// A Cyrillic piece whose Latin transliteration is near indexed stems (`бистроник` →
    /// `bystronic`; brands rarely transliterate letter for letter). Loose: the cascade goes on.
    LooseTranslit { stems: Vec<String> },
    /// The indexed stems within the piece's edit distance, nearest first (only when no exact
    /// repair was found for any piece of the word). For a Russian word the nearest stands in
    /// for the word (`потрон` → `патрон`); in this Russian catalog the stem nearest an unknown
    /// English word is mostly another word (`components` for `OEM components`).
    Misspelt {
        piece: usize,
        near: Vec<String>,
        stands_in: bool,
    },
}

impl Repair {
    pub fn is_exact(&self) -> bool {
        matches!(
            self,
            Repair::Layout { .. } | Repair::Translit { .. } | Repair::SynonymKey { .. }
        )
    }
}

/// A word that could be Latin letters typed on the Russian keyboard layout.
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

/// A piece written in Russian: it has a Cyrillic letter.
pub(super) fn is_russian(norm: &str) -> bool {
    norm.chars().any(|c| matches!(c, 'а'..='я' | 'ё'))
}

/// Runs the cascade over one whitespace-separated query word.
pub(crate) fn repair_word(
    f: &Fields,
    vocab: &dyn Vocabulary,
    synonyms: &Synonyms,
    word: &str,
) -> WordRepair {
    let mut out = WordRepair {
        pieces: Vec::new(),
        known: Vec::new(),
        repairs: Vec::new(),
    };
    for (start, end, w) in analysis::split_words(word) {
        let norm = normalize(w);
        let mut unknown = false;
        if !analysis::is_stopword(&norm) {
            let term = analysis::term_for_word(w);
            if vocab.knows(f.body, &term) {
                out.known.push(term);
            } else {
                unknown = true;
            }
        }
        out.pieces.push(Piece {
            start,
            end,
            norm,
            unknown,
        });
    }
    if !out.pieces.iter().any(|p| p.unknown) {
        return out;
    }
    if is_layout_word(word) {
        let text = analysis::layout_en_to_ru(word);
        let terms: Vec<String> = analysis::analyze(&text).into_iter().map(|x| x.2).collect();
        if !terms.is_empty() && terms.iter().all(|t| vocab.knows(f.body, t)) {
            out.repairs.push(Repair::Layout { text, terms });
            return out;
        }
    }
    let unknown: Vec<usize> = (0..out.pieces.len())
        .filter(|&i| out.pieces[i].unknown)
        .collect();
    for &piece in &unknown {
        if let Some(repair) = other_script(f, vocab, synonyms, piece, &out.pieces[piece].norm) {
            let exact = repair.is_exact();
            out.repairs.push(repair);
            if exact {
                return out;
            }
        }
    }
    for &piece in &unknown {
        let norm = &out.pieces[piece].norm;
        let dist = analysis::fuzzy_distance(norm);
        if dist == 0 {
            continue;
        }
        let near = vocab.within(f.body, &analysis::term_for_word(norm), dist);
        let stands_in = is_russian(norm);
        out.repairs.push(Repair::Misspelt {
            piece,
            near,
            stands_in,
        });
    }
    out
}

/// The piece in the other script: transliterated exactly, loosely (Cyrillic to Latin brands),
/// or as a synonym key (Latin to Russian).
fn other_script(
    f: &Fields,
    vocab: &dyn Vocabulary,
    synonyms: &Synonyms,
    piece: usize,
    norm: &str,
) -> Option<Repair> {
    let is_latin = norm.chars().all(|c| c.is_ascii_alphanumeric());
    // Russian typed in Latin letter for letter; Latin words written in Cyrillic letter for
    // letter, and with `кс` as the `x` it usually stands for (`эксперт` → `expert` as well as
    // `ekspert`).
    let mut alts = Vec::new();
    if is_latin {
        let cyr = analysis::translit_lat_to_cyr(norm);
        // Latin has no soft sign: `remen` is `ремень`, `shpindel` is `шпиндель`. The stemmer
        // drops a final soft sign, so mostly both spellings are one term and the letter-for-
        // letter one is kept; where they differ (`ремен` stems to `ремн`, as `ремни` does) the
        // soft one is tried first.
        let soft = format!("{cyr}ь");
        if cyr.ends_with(|c: char| "бвгдзклмнпрстфхцч".contains(c))
            && analysis::term_for_word(&soft) != analysis::term_for_word(&cyr)
        {
            alts.push(soft);
        }
        alts.push(cyr);
    } else {
        alts.push(analysis::translit_cyr_to_lat(norm));
        if norm.contains("кс") {
            alts.push(analysis::translit_cyr_to_lat(&norm.replace("кс", "x")));
        }
    }
    for alt in &alts {
        let term = analysis::term_for_word(alt);
        if !term.is_empty() && vocab.knows(f.body, &term) {
            return Some(Repair::Translit {
                piece,
                text: alt.clone(),
                term,
            });
        }
    }
    if !is_latin && analysis::fuzzy_distance(&alts[0]) > 0 {
        let mut stems: Vec<String> = Vec::new();
        for alt in &alts {
            let term = analysis::term_for_word(alt);
            for stem in vocab.within(f.body, &term, analysis::fuzzy_distance(alt)) {
                if !stems.contains(&stem) {
                    stems.push(stem);
                }
            }
        }
        return Some(Repair::LooseTranslit { stems });
    }
    if is_latin {
        // The synonym key is the word letter for letter, without an added soft sign.
        let key = alts.pop().unwrap_or_default();
        let terms: Vec<String> = synonyms
            .expansions(&[key.as_str()])
            .into_iter()
            .flat_map(|e| analysis::analyze(e).into_iter().map(|x| x.2))
            .collect();
        if !terms.is_empty() {
            return Some(Repair::SynonymKey { piece, key, terms });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::fixture::vocabulary;

    /// The cascade's verdict on `word`, one repair per item.
    fn repairs(word: &str, synonyms: &str) -> Vec<String> {
        let (_, f, searcher) = vocabulary();
        let synonyms = Synonyms::parse(synonyms).unwrap();
        let found = repair_word(&f, &searcher, &synonyms, word);
        let piece = |i: usize| found.pieces[i].norm.clone();
        found
            .repairs
            .iter()
            .map(|r| match r {
                Repair::Layout { text, terms } => format!("layout {text} {terms:?}"),
                Repair::Translit { piece: i, text, .. } => format!("translit {} {text}", piece(*i)),
                Repair::SynonymKey {
                    piece: i,
                    key,
                    terms,
                } => format!("synonym-key {} {key} {terms:?}", piece(*i)),
                Repair::LooseTranslit { stems } => format!("loose {stems:?}"),
                Repair::Misspelt {
                    piece: i,
                    near,
                    stands_in,
                } => format!("misspelt {} {near:?} {stands_in}", piece(*i)),
            })
            .collect()
    }

    #[test]
    fn known_words_need_no_repair() {
        assert!(repairs("подшипника", "").is_empty());
        assert!(repairs("16К20", "").is_empty());
        // Stopwords are neither known nor repaired.
        assert!(repairs("для", "").is_empty());
    }

    #[test]
    fn the_cheapest_exact_repair_ends_the_cascade() {
        assert_eq!(
            repairs("gjlibgybr", ""),
            ["layout подшипник [\"подшипник\"]"]
        );
        assert_eq!(repairs("podshipnik", ""), ["translit podshipnik подшипник"]);
        // Latin has no soft sign: `remen` is `ремень` (whose stem is not that of `ремен`,
        // which is the stem of `ремня`); `shpindel`'s two spellings are one term, the letter-
        // for-letter one is kept.
        assert_eq!(repairs("remen", ""), ["translit remen ремень"]);
        assert_eq!(repairs("shpindelya", ""), ["translit shpindelya шпинделя"]);
        // Not in the index, but a synonym key once transliterated.
        assert_eq!(
            repairs("valik", "валик = вал шпинделя\n"),
            ["synonym-key valik валик [\"вал\", \"шпиндел\"]"]
        );
    }

    #[test]
    fn misspelt_pieces_get_every_stem_in_reach_and_a_russian_one_a_stand_in() {
        // A Cyrillic word is first tried as a loosely transliterated Latin brand (none here).
        assert_eq!(
            repairs("подшибник", ""),
            ["loose []", "misspelt подшибник [\"подшипник\"] true"]
        );
        // Only the unknown piece of a compound word is repaired.
        assert_eq!(
            repairs("токарно-винторезнык", ""),
            ["loose []", "misspelt винторезнык [\"винторезн\"] true"]
        );
        // A brand written in Cyrillic, `кс` for `x`, meets its Latin spelling loosely.
        assert_eq!(
            repairs("рексрот", ""),
            ["loose [\"rexroth\"]", "misspelt рексрот [] true"]
        );
        // A Latin word's nearest stem does not stand in for it.
        assert_eq!(repairs("spindel", ""), ["misspelt spindel [] false"]);
    }
}
