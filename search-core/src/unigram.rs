//! A compact Unigram (SentencePiece) model for `tokenizers`, loaded from a `tokenizer.json`.
//!
//! `tokenizers`' own `Unigram` keeps a byte trie with a hash map in every node: for
//! multilingual-e5's 250,002-piece vocabulary that is ~280 MiB resident, more than the ONNX
//! session itself (benches/results/memory.md). This model keeps the pieces in one hash map
//! (piece → id) and the scores in a vector, ~20 MiB, and finds the pieces starting at a
//! position by looking up each prefix up to the longest piece's length in characters. The
//! Viterbi pass is `tokenizers`' `Unigram::encode_optimized` step for step (the same candidate
//! order, the same strict comparison, unknown characters scored `min_score - 10` and fused),
//! so the token ids are identical; `tests/e2e/embed.rs` checks that against `tokenizers` on
//! the catalog. The normaliser, pre-tokeniser, post-processor and special tokens come from the
//! same file through `tokenizers`' own types.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{AddedToken, DecoderWrapper, Model, Token, TokenizerImpl};

/// The tokenizer the embedder runs: `tokenizers`' pipeline around [`CompactUnigram`].
pub type CompactTokenizer = TokenizerImpl<
    CompactUnigram,
    NormalizerWrapper,
    PreTokenizerWrapper,
    PostProcessorWrapper,
    DecoderWrapper,
>;

/// `tokenizers` scores an unknown character this far below the lowest piece.
const UNK_PENALTY: f64 = 10.0;

/// Unigram pieces with their log-probabilities; see the module documentation.
#[derive(Debug, Clone)]
pub struct CompactUnigram {
    ids: HashMap<Box<str>, u32>,
    pieces: Vec<(Box<str>, f64)>,
    unk_id: u32,
    min_score: f64,
    /// Longest piece, in characters.
    max_chars: usize,
}

impl CompactUnigram {
    pub fn new(vocab: Vec<(String, f64)>, unk_id: usize) -> Result<CompactUnigram> {
        if unk_id >= vocab.len() {
            return Err(Error::Embedding(format!(
                "tokenizer: unk_id {unk_id} outside a vocabulary of {}",
                vocab.len()
            )));
        }
        let mut ids = HashMap::with_capacity(vocab.len());
        let mut min_score = f64::INFINITY;
        let mut max_chars = 1;
        let pieces: Vec<(Box<str>, f64)> = vocab
            .into_iter()
            .map(|(p, s)| (p.into_boxed_str(), s))
            .collect();
        for (id, (piece, score)) in pieces.iter().enumerate() {
            // A repeated piece keeps its last id, as `tokenizers` does.
            ids.insert(piece.clone(), id as u32);
            min_score = min_score.min(*score);
            max_chars = max_chars.max(piece.chars().count());
        }
        Ok(CompactUnigram {
            ids,
            pieces,
            unk_id: unk_id as u32,
            min_score,
            max_chars,
        })
    }

    /// The best segmentation of `sentence` as (start, end, id) byte ranges, unknown runs fused.
    fn segment(&self, sentence: &str) -> Vec<(usize, usize, u32)> {
        #[derive(Clone, Copy)]
        struct Best {
            id: u32,
            score: f64,
            start: Option<usize>,
        }
        let size = sentence.len();
        let unk_score = self.min_score - UNK_PENALTY;
        let mut best = vec![
            Best {
                id: 0,
                score: 0.0,
                start: None,
            };
            size + 1
        ];
        let mut start = 0;
        while start < size {
            let here = best[start].score;
            let rest = &sentence[start..];
            let first_len = rest.chars().next().map_or(1, char::len_utf8);
            let mut single = false;
            // Prefixes in increasing length, as the trie walk yields them.
            for (offset, c) in rest.char_indices().take(self.max_chars) {
                let end = offset + c.len_utf8();
                let Some(&id) = self.ids.get(&rest[..end]) else {
                    continue;
                };
                let candidate = self.pieces[id as usize].1 + here;
                let target = &mut best[start + end];
                if target.start.is_none() || candidate > target.score {
                    *target = Best {
                        id,
                        score: candidate,
                        start: Some(start),
                    };
                }
                single |= end == first_len;
            }
            if !single {
                let candidate = unk_score + here;
                let target = &mut best[start + first_len];
                if target.start.is_none() || candidate > target.score {
                    *target = Best {
                        id: self.unk_id,
                        score: candidate,
                        start: Some(start),
                    };
                }
            }
            start += first_len;
        }
        let mut out = Vec::new();
        let mut end = size;
        let mut unk_end: Option<usize> = None;
        while end > 0 {
            let node = best[end];
            let start = node.start.expect("every char boundary is reached");
            if node.id == self.unk_id {
                unk_end.get_or_insert(end);
            } else {
                if let Some(e) = unk_end.take() {
                    out.push((end, e, self.unk_id));
                }
                out.push((start, end, node.id));
            }
            end = start;
        }
        if let Some(e) = unk_end {
            out.push((0, e, self.unk_id));
        }
        out.reverse();
        out
    }
}

impl Model for CompactUnigram {
    type Trainer = tokenizers::models::unigram::UnigramTrainer;

    fn tokenize(&self, sentence: &str) -> tokenizers::Result<Vec<Token>> {
        if sentence.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .segment(sentence)
            .into_iter()
            .map(|(s, e, id)| {
                let piece = &sentence[s..e];
                // A fused run of unknown characters is looked up as a whole, as `tokenizers`
                // does (it is practically never a piece).
                let id = if id == self.unk_id {
                    self.ids.get(piece).copied().unwrap_or(self.unk_id)
                } else {
                    id
                };
                Token::new(id, piece.to_string(), (s, e))
            })
            .collect())
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.ids.get(token).copied()
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        self.pieces.get(id as usize).map(|(p, _)| p.to_string())
    }

    fn get_vocab(&self) -> std::collections::HashMap<String, u32> {
        self.ids
            .iter()
            .map(|(p, id)| (p.to_string(), *id))
            .collect()
    }

    fn get_vocab_size(&self) -> usize {
        self.pieces.len()
    }

    fn save(
        &self,
        _folder: &Path,
        _prefix: Option<&str>,
    ) -> tokenizers::Result<Vec<std::path::PathBuf>> {
        Err("CompactUnigram is read from tokenizer.json and never saved".into())
    }

    fn get_trainer(&self) -> Self::Trainer {
        Self::Trainer::default()
    }
}

#[derive(serde::Deserialize)]
struct File {
    normalizer: Option<NormalizerWrapper>,
    pre_tokenizer: Option<PreTokenizerWrapper>,
    post_processor: Option<PostProcessorWrapper>,
    decoder: Option<DecoderWrapper>,
    #[serde(default)]
    added_tokens: Vec<Added>,
    model: UnigramFile,
}

#[derive(serde::Deserialize)]
struct Added {
    #[serde(flatten)]
    token: AddedToken,
}

#[derive(serde::Deserialize)]
struct UnigramFile {
    #[serde(rename = "type")]
    kind: String,
    unk_id: Option<usize>,
    vocab: Vec<(String, f64)>,
    #[serde(default)]
    byte_fallback: bool,
}

/// Reads a Unigram `tokenizer.json` into the compact model with the file's pipeline.
pub fn load_tokenizer(path: &Path) -> Result<CompactTokenizer> {
    let bad = |e: String| Error::Embedding(format!("{}: {e}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let file: File = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    drop(bytes);
    if file.model.kind != "Unigram" || file.model.byte_fallback {
        return Err(bad(format!(
            "expected a Unigram model without byte fallback, got {}",
            file.model.kind
        )));
    }
    let unk = file
        .model
        .unk_id
        .ok_or_else(|| bad("the Unigram model has no unk_id".into()))?;
    let mut tokenizer = TokenizerImpl::new(CompactUnigram::new(file.model.vocab, unk)?);
    tokenizer
        .with_normalizer(file.normalizer)
        .with_pre_tokenizer(file.pre_tokenizer)
        .with_post_processor(file.post_processor)
        .with_decoder(file.decoder);
    // As `tokenizers` reads them: one call, in the file's order (each token's `special` flag
    // is its own).
    let added: Vec<AddedToken> = file.added_tokens.into_iter().map(|a| a.token).collect();
    tokenizer.add_tokens(&added);
    Ok(tokenizer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> CompactUnigram {
        let vocab = [
            ("<unk>", 0.0),
            ("▁", -2.0),
            ("▁под", -3.0),
            ("шип", -4.0),
            ("ник", -3.5),
            ("▁подшипник", -6.0),
            ("п", -5.0),
            ("о", -5.0),
            ("д", -5.0),
        ];
        CompactUnigram::new(vocab.iter().map(|(p, s)| (p.to_string(), *s)).collect(), 0).unwrap()
    }

    fn pieces(m: &CompactUnigram, s: &str) -> Vec<String> {
        m.tokenize(s)
            .unwrap()
            .into_iter()
            .map(|t| t.value)
            .collect()
    }

    #[test]
    fn picks_the_best_scoring_segmentation() {
        let m = model();
        // One piece (-6) beats ▁под + шип + ник (-10.5).
        assert_eq!(pieces(&m, "▁подшипник"), ["▁подшипник"]);
        assert_eq!(pieces(&m, "▁подшип"), ["▁под", "шип"]);
    }

    #[test]
    fn fuses_unknown_characters_and_keeps_offsets() {
        let m = model();
        let t = m.tokenize("▁подЖЖшип").unwrap();
        let got: Vec<(&str, u32, (usize, usize))> = t
            .iter()
            .map(|t| (t.value.as_str(), t.id, t.offsets))
            .collect();
        let under = "▁под".len();
        assert_eq!(
            got,
            [
                ("▁под", 2, (0, under)),
                ("ЖЖ", 0, (under, under + 4)),
                ("шип", 3, (under + 4, under + 10)),
            ]
        );
        assert!(m.tokenize("").unwrap().is_empty());
        assert!(CompactUnigram::new(vec![("a".into(), -1.0)], 3).is_err());
    }
}
