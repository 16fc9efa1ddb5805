//! Embedders: the `Embedder` trait, the ONNX implementation (ort + tokenizers) for
//! multilingual-e5-small, an LRU cache for query embeddings and a small hashing embedder.

use crate::error::{Error, Result};
use lru::LruCache;
use ndarray::Array2;
use ort::session::{builder::GraphOptimizationLevel, Session};
use ort::value::TensorRef;
use parking_lot::Mutex;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Whether a text is a search query or a catalog document (e5 uses different prefixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Query,
    Passage,
}

/// Turns texts into L2-normalised vectors of `dim()` floats.
pub trait Embedder: Send + Sync {
    /// Identifies the model and its variant; cached vectors are keyed by it.
    fn model_id(&self) -> &str;
    fn dim(&self) -> usize;
    fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>>;
}

/// Scales a vector to unit length in place (no-op for the zero vector).
pub fn l2_normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// Which ONNX file to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Fp32,
    Int8,
}

impl Precision {
    pub fn parse(s: &str) -> Option<Precision> {
        match s {
            "fp32" => Some(Precision::Fp32),
            "int8" => Some(Precision::Int8),
            _ => None,
        }
    }
}

/// Settings of the ONNX embedder.
#[derive(Debug, Clone)]
pub struct OnnxConfig {
    pub model_dir: PathBuf,
    /// Path of `libonnxruntime.so`.
    pub runtime_lib: PathBuf,
    pub precision: Precision,
    /// Parallel sessions (each serves one batch at a time).
    pub sessions: usize,
    /// Intra-op threads per session.
    pub threads: usize,
    /// Tokens per text after truncation.
    pub max_tokens: usize,
    /// Texts per model call.
    pub batch_size: usize,
    /// ONNX Runtime's CPU arena and memory-pattern planning. On, a session keeps the largest
    /// activations it ever needed (a 32 × 256-token document batch) for its whole life; off,
    /// activations are allocated per run and returned (see benches/results/memory.md).
    pub arena: bool,
}

static ORT_ENV: OnceLock<std::result::Result<ort::environment::Environment, String>> =
    OnceLock::new();

fn ort_env(lib: &Path) -> Result<&'static ort::environment::Environment> {
    let env = ORT_ENV.get_or_init(|| {
        ort::init_from(lib)
            .map_err(|e| format!("loading {}: {e}", lib.display()))?
            .with_name("stanok")
            .build()
            .map_err(|e| e.to_string())
    });
    env.as_ref().map_err(|e| Error::Embedding(e.clone()))
}

/// multilingual-e5-small through ONNX Runtime: mean pooling over the attention mask, then L2.
pub struct OnnxEmbedder {
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
    tokenizer: crate::unigram::CompactTokenizer,
    model_id: String,
    dim: usize,
    batch_size: usize,
}

#[derive(serde::Deserialize)]
struct ModelMeta {
    model_id: String,
    dim: usize,
    query_prefix: String,
    passage_prefix: String,
}

impl OnnxEmbedder {
    pub fn load(cfg: &OnnxConfig) -> Result<OnnxEmbedder> {
        let meta_path = cfg.model_dir.join("model.json");
        let meta: ModelMeta = serde_json::from_slice(
            &std::fs::read(&meta_path)
                .map_err(|e| Error::Embedding(format!("{}: {e}", meta_path.display())))?,
        )
        .map_err(|e| Error::Embedding(format!("{}: {e}", meta_path.display())))?;
        debug_assert_eq!(meta.query_prefix, "query: ");
        debug_assert_eq!(meta.passage_prefix, "passage: ");
        let file = match cfg.precision {
            Precision::Fp32 => "model.onnx",
            Precision::Int8 => "model_int8.onnx",
        };
        let env = ort_env(&cfg.runtime_lib)?;
        let mut sessions = Vec::new();
        for _ in 0..cfg.sessions.max(1) {
            let mut builder = Session::builder(env).map_err(|e| Error::Embedding(e.to_string()))?;
            if !cfg.arena {
                builder = builder
                    .with_execution_providers([ort::ep::CPU::default()
                        .with_arena_allocator(false)
                        .build()])
                    .map_err(|e| Error::Embedding(e.to_string()))?
                    .with_memory_pattern(false)
                    .map_err(|e| Error::Embedding(e.to_string()))?;
            }
            let session = builder
                .with_optimization_level(GraphOptimizationLevel::Level3)
                .map_err(|e| Error::Embedding(e.to_string()))?
                .with_intra_threads(cfg.threads.max(1))
                .map_err(|e| Error::Embedding(e.to_string()))?
                .commit_from_file(cfg.model_dir.join(file))
                .map_err(|e| Error::Embedding(e.to_string()))?;
            sessions.push(Mutex::new(session));
        }
        // Not `tokenizers::Tokenizer::from_file`: its Unigram trie alone is ~280 MiB resident.
        let mut tokenizer = crate::unigram::load_tokenizer(&cfg.model_dir.join("tokenizer.json"))?;
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: cfg.max_tokens.clamp(8, 512),
                ..Default::default()
            }))
            .map_err(|e| Error::Embedding(format!("tokenizer: {e}")))?;
        tokenizer.with_padding(None);
        let variant = match cfg.precision {
            Precision::Fp32 => "fp32",
            Precision::Int8 => "int8",
        };
        Ok(OnnxEmbedder {
            sessions,
            next: AtomicUsize::new(0),
            tokenizer,
            model_id: format!("{}-{variant}", meta.model_id),
            dim: meta.dim,
            batch_size: cfg.batch_size.max(1),
        })
    }

    fn run_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::Embedding(format!("tokenize: {e}")))?;
        let b = encodings.len();
        let s = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut ids = Array2::<i64>::from_elem((b, s), 1); // 1 = <pad>
        let mut mask = Array2::<i64>::zeros((b, s));
        for (i, enc) in encodings.iter().enumerate() {
            for (j, &id) in enc.get_ids().iter().enumerate() {
                ids[[i, j]] = id as i64;
                mask[[i, j]] = 1;
            }
        }
        let types = Array2::<i64>::zeros((b, s));
        let idx = self.next.fetch_add(1, Ordering::Relaxed) % self.sessions.len();
        let mut session = self.sessions[idx].lock();
        let inputs = ort::inputs![
            "input_ids" => TensorRef::from_array_view(&ids).map_err(|e| Error::Embedding(e.to_string()))?,
            "attention_mask" => TensorRef::from_array_view(&mask).map_err(|e| Error::Embedding(e.to_string()))?,
            "token_type_ids" => TensorRef::from_array_view(&types).map_err(|e| Error::Embedding(e.to_string()))?,
        ];
        let outputs = session
            .run(inputs)
            .map_err(|e| Error::Embedding(e.to_string()))?;
        let hidden = outputs["last_hidden_state"]
            .try_extract_array::<f32>()
            .map_err(|e| Error::Embedding(e.to_string()))?;
        let mut out = Vec::with_capacity(b);
        for i in 0..b {
            let mut v = vec![0f32; self.dim];
            let mut n = 0f32;
            for j in 0..s {
                if mask[[i, j]] == 1 {
                    n += 1.0;
                    for (d, slot) in v.iter_mut().enumerate() {
                        *slot += hidden[[i, j, d]];
                    }
                }
            }
            v.iter_mut().for_each(|x| *x /= n.max(1.0));
            l2_normalize(&mut v);
            out.push(v);
        }
        Ok(out)
    }
}

impl Embedder for OnnxEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>> {
        use rayon::prelude::*;
        let prefix = match kind {
            TextKind::Query => "query: ",
            TextKind::Passage => "passage: ",
        };
        // Sort by length so batches pad little; restore the caller's order at the end.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let prefixed: Vec<String> = order
            .iter()
            .map(|&i| format!("{prefix}{}", texts[i]))
            .collect();
        let chunks: Vec<&[String]> = prefixed.chunks(self.batch_size).collect();
        let results: Vec<Result<Vec<Vec<f32>>>> = if chunks.len() > 1 && self.sessions.len() > 1 {
            chunks.par_iter().map(|c| self.run_batch(c)).collect()
        } else {
            chunks.iter().map(|c| self.run_batch(c)).collect()
        };
        let mut sorted = Vec::with_capacity(texts.len());
        for r in results {
            sorted.extend(r?);
        }
        let mut out = vec![Vec::new(); texts.len()];
        for (pos, &i) in order.iter().enumerate() {
            out[i] = std::mem::take(&mut sorted[pos]);
        }
        Ok(out)
    }
}

/// Wraps an embedder with an LRU cache for query vectors (documents are cached in Postgres).
pub struct CachedEmbedder {
    inner: Arc<dyn Embedder>,
    cache: Mutex<LruCache<String, Arc<Vec<f32>>>>,
}

impl CachedEmbedder {
    pub fn new(inner: Arc<dyn Embedder>, capacity: usize) -> CachedEmbedder {
        CachedEmbedder {
            inner,
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity.max(1)).expect("capacity >= 1"),
            )),
        }
    }

    /// Embeds a query, from the cache when it was seen recently.
    pub fn embed_query(&self, query: &str) -> Result<Arc<Vec<f32>>> {
        if let Some(v) = self.cache.lock().get(query) {
            return Ok(v.clone());
        }
        let v = Arc::new(
            self.inner
                .embed(&[query], TextKind::Query)?
                .pop()
                .ok_or_else(|| Error::Embedding("model returned no vector".into()))?,
        );
        self.cache.lock().put(query.to_string(), v.clone());
        Ok(v)
    }

    /// The cached vector of `query`, if any (nothing is computed).
    pub fn cached(&self, query: &str) -> Option<Arc<Vec<f32>>> {
        self.cache.lock().get(query).cloned()
    }

    /// Keeps a vector computed elsewhere (by a batch of queries) for `query`.
    pub fn remember(&self, query: &str, vector: Arc<Vec<f32>>) {
        self.cache.lock().put(query.to_string(), vector);
    }

    pub fn inner(&self) -> &Arc<dyn Embedder> {
        &self.inner
    }
}

/// Character-trigram hashing embedder: deterministic, model-free, and weak. It is what tests
/// run on when the ONNX model is not the subject, and it is never chosen silently in
/// production (the server reports the model id in its status).
#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dim: usize,
}

impl HashingEmbedder {
    pub fn new(dim: usize) -> HashingEmbedder {
        HashingEmbedder { dim: dim.max(8) }
    }
}

impl Embedder for HashingEmbedder {
    fn model_id(&self) -> &str {
        "hash-trigram-v1"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str], _kind: TextKind) -> Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; self.dim];
                for (_, _, term) in crate::analysis::analyze(t) {
                    let padded: Vec<char> = format!(" {term} ").chars().collect();
                    for w in padded.windows(3) {
                        let mut h: u64 = 0xcbf29ce484222325;
                        for c in w {
                            h ^= *c as u64;
                            h = h.wrapping_mul(0x100000001b3);
                        }
                        v[(h % self.dim as u64) as usize] += 1.0;
                    }
                }
                l2_normalize(&mut v);
                v
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_embedder_is_normalised_and_similarity_follows_overlap() {
        let e = HashingEmbedder::new(64);
        let v = e
            .embed(
                &["подшипник 6205", "подшипники 6205", "ремень клиновой"],
                TextKind::Passage,
            )
            .unwrap();
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        assert!((dot(&v[0], &v[0]) - 1.0).abs() < 1e-5);
        assert!(dot(&v[0], &v[1]) > dot(&v[0], &v[2]));
    }

    #[test]
    fn cached_embedder_returns_the_same_vector() {
        let c = CachedEmbedder::new(Arc::new(HashingEmbedder::new(32)), 2);
        let a = c.embed_query("шпиндель").unwrap();
        let b = c.embed_query("шпиндель").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn missing_model_is_an_embedding_error() {
        let cfg = OnnxConfig {
            model_dir: PathBuf::from("/nonexistent-model-dir"),
            runtime_lib: PathBuf::from("/nonexistent/libonnxruntime.so"),
            precision: Precision::Int8,
            sessions: 1,
            threads: 1,
            max_tokens: 128,
            batch_size: 8,
            arena: false,
        };
        assert!(matches!(OnnxEmbedder::load(&cfg), Err(Error::Embedding(_))));
    }
}
