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
