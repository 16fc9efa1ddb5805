//! The catalog analyzer and the code analyzer as tantivy tokenizers.

use crate::analysis::{self};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

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
    /// The words' terms (`analysis::analyze`), and at a compound's position also the term of
    /// its last part (`analysis::compound_tail_term`): the index answers `мотор` with
    /// `Сервомотор`. Queries are planned from `analysis` directly and get no such term, so a
    /// query for `сервомотор` still asks for the compound.
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        for (position, (from, to, term)) in analysis::analyze(text).into_iter().enumerate() {
            let tail = analysis::compound_tail_term(&text[from..to]).filter(|t| *t != term);
            let token = |text: String| Token {
                offset_from: from,
                offset_to: to,
                position,
                text,
                position_length: 1,
            };
            tokens.push(token(term));
            if let Some(t) = tail {
                tokens.push(token(t));
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(usize, String)> {
        let mut t = CatalogTokenizer;
        let mut stream = t.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push((stream.token().position, stream.token().text.clone()));
        }
        out
    }

    /// A compound's last part is indexed at the compound's own position, after its term; the
    /// positions of the words after it do not move.
    #[test]
    fn a_compound_adds_its_last_part_at_its_position() {
        let term = analysis::term_for_word;
        assert_eq!(
            tokens("Сервомотор Siemens 1FK7"),
            [
                (0, term("сервомотор")),
                (0, term("мотор")),
                (1, term("siemens")),
                (2, term("1FK7")),
            ]
        );
        assert_eq!(
            tokens("Мотор подачи"),
            [(0, term("мотор")), (1, term("подачи"))]
        );
    }
}
