//! Query embeddings for concurrent searches, computed in batches on one model thread.
//!
//! One query at a time, the model runs at batch size 1 inside a search slot: on 2 cores that
//! capped hybrid search with new queries at ~450 req/s while lexical-only requests waited
//! behind model runs for the same slots. Here every search that needs a vector hands its text
//! to a queue and awaits the answer on the async side, holding no search slot. The model thread
//! takes everything queued (up to `max_batch`), runs it as one batch, answers each waiter, and
//! goes again: under load batches grow by themselves, at rest a query runs alone at once (no
//! timer adds latency). Identical texts queued together are computed once, and every vector
//! lands in the shared query cache.

use search_core::{CachedEmbedder, Error, TextKind};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

type Reply = tokio::sync::oneshot::Sender<Result<Arc<Vec<f32>>, Error>>;

struct Job {
    text: String,
    reply: Reply,
}

/// Counters of the model thread (for `/metrics` and the batch-size curve).
#[derive(Debug, Default)]
pub struct BatchStats {
    /// Model runs.
    pub batches: AtomicU64,
    /// Distinct texts embedded.
    pub texts: AtomicU64,
    /// Requests answered (identical texts queued together share one computation).
    pub requests: AtomicU64,
}

/// The queue in front of the model thread. Cheap to clone; the thread ends with the last clone.
#[derive(Clone)]
pub struct QueryBatcher {
    tx: mpsc::Sender<Job>,
    embedder: Arc<CachedEmbedder>,
    pub stats: Arc<BatchStats>,
}

impl QueryBatcher {
    /// Starts the model thread. `max_batch` bounds one run (larger batches pad more and wait
    /// longer for the slowest text).
    pub fn spawn(embedder: Arc<CachedEmbedder>, max_batch: usize) -> QueryBatcher {
        let (tx, rx) = mpsc::channel::<Job>();
        let stats = Arc::new(BatchStats::default());
        let worker = (embedder.clone(), stats.clone());
        std::thread::Builder::new()
            .name("query-embed".into())
            .spawn(move || run(rx, worker.0, worker.1, max_batch.max(1)))
            .expect("spawning the query embedding thread");
        QueryBatcher {
            tx,
            embedder,
            stats,
        }
    }

    /// The vector of `text` (an already repaired query text, see `Snapshot::semantic_text`):
    /// from the cache, or computed in the next batch.
    pub async fn embed(&self, text: String) -> Result<Arc<Vec<f32>>, Error> {
        if let Some(v) = self.embedder.cached(&text) {
            return Ok(v);
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tx
            .send(Job { text, reply })
            .map_err(|_| Error::Embedding("the query embedding thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Embedding("the query embedding thread dropped a query".into()))?
    }
}

fn run(rx: mpsc::Receiver<Job>, embedder: Arc<CachedEmbedder>, stats: Arc<BatchStats>, max: usize) {
    while let Ok(first) = rx.recv() {
        // Everything queued while the last batch ran, up to `max` distinct texts.
        let mut waiting: HashMap<String, Vec<Reply>> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut add = |job: Job, order: &mut Vec<String>| {
            let entry = waiting.entry(job.text).or_insert_with_key(|t| {
                order.push(t.clone());
                Vec::new()
            });
            entry.push(job.reply);
        };
        add(first, &mut order);
        while order.len() < max {
            match rx.try_recv() {
                Ok(job) => add(job, &mut order),
                Err(_) => break,
            }
        }
        // A text computed by the previous batch while it waited needs no model run.
        let mut todo: Vec<String> = Vec::with_capacity(order.len());
        for text in order {
            match embedder.cached(&text) {
                Some(v) => answer(&stats, waiting.remove(&text), Ok(v)),
                None => todo.push(text),
            }
        }
        if todo.is_empty() {
            continue;
        }
        let refs: Vec<&str> = todo.iter().map(String::as_str).collect();
        let result = embedder.inner().embed(&refs, TextKind::Query);
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.texts.fetch_add(todo.len() as u64, Ordering::Relaxed);
        match result {
            Ok(vectors) if vectors.len() == todo.len() => {
                for (text, v) in todo.iter().zip(vectors) {
                    let v = Arc::new(v);
                    embedder.remember(text, v.clone());
                    answer(&stats, waiting.remove(text), Ok(v));
                }
            }
            Ok(vectors) => {
                let msg = format!(
                    "model returned {} vectors for {}",
                    vectors.len(),
                    todo.len()
                );
                for text in &todo {
                    answer(
                        &stats,
                        waiting.remove(text),
                        Err(Error::Embedding(msg.clone())),
                    );
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for text in &todo {
                    answer(
                        &stats,
                        waiting.remove(text),
                        Err(Error::Embedding(msg.clone())),
                    );
                }
            }
        }
    }
}

fn answer(stats: &BatchStats, replies: Option<Vec<Reply>>, result: Result<Arc<Vec<f32>>, Error>) {
    for reply in replies.unwrap_or_default() {
        stats.requests.fetch_add(1, Ordering::Relaxed);
        // A waiter that gave up (its request timed out) is simply not there any more.
        let _ = reply.send(match &result {
            Ok(v) => Ok(v.clone()),
            Err(e) => Err(Error::Embedding(e.to_string())),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use search_core::{Embedder, HashingEmbedder};
    use std::sync::Mutex;

    /// Records the batches it is given, slowly, so concurrent queries pile up behind a run.
    struct Recording {
        inner: HashingEmbedder,
        batches: Mutex<Vec<Vec<String>>>,
    }

    impl Embedder for Recording {
        fn model_id(&self) -> &str {
            "recording"
        }
        fn dim(&self) -> usize {
            self.inner.dim()
        }
        fn embed(&self, texts: &[&str], kind: TextKind) -> search_core::Result<Vec<Vec<f32>>> {
            std::thread::sleep(std::time::Duration::from_millis(30));
            self.batches
                .lock()
                .unwrap()
                .push(texts.iter().map(|t| t.to_string()).collect());
            self.inner.embed(texts, kind)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_queries_share_batches_and_identical_ones_one_computation() {
        let rec = Arc::new(Recording {
            inner: HashingEmbedder::new(32),
            batches: Mutex::default(),
        });
        let cached = Arc::new(CachedEmbedder::new(rec.clone(), 64));
        let b = QueryBatcher::spawn(cached.clone(), 8);
        let texts: Vec<String> = (0..20).map(|i| format!("подшипник {}", i % 10)).collect();
        let answers = futures::future::join_all(texts.iter().map(|t| b.embed(t.clone()))).await;
        let direct = HashingEmbedder::new(32);
        for (t, v) in texts.iter().zip(&answers) {
            let want = direct.embed(&[t], TextKind::Query).unwrap().pop().unwrap();
            assert_eq!(
                **v.as_ref().unwrap(),
                want,
                "{t}: the batch answers each waiter with its own vector"
            );
        }
        let batches = rec.batches.lock().unwrap().clone();
        let computed: usize = batches.iter().map(Vec::len).sum();
        assert_eq!(
            computed, 10,
            "10 distinct texts computed once each: {batches:?}"
        );
        assert!(
            batches.len() < 10,
            "queries queued behind a run share the next one: {batches:?}"
        );
        assert!(
            batches.iter().all(|b| b.len() <= 8),
            "no batch above the limit: {batches:?}"
        );
        assert_eq!(b.stats.requests.load(Ordering::Relaxed), 20);
        // Cached now: no model run.
        let before = rec.batches.lock().unwrap().len();
        b.embed("подшипник 3".into()).await.unwrap();
        assert_eq!(rec.batches.lock().unwrap().len(), before);
    }

    #[tokio::test]
    async fn a_model_error_reaches_every_waiter() {
        struct Failing;
        impl Embedder for Failing {
            fn model_id(&self) -> &str {
                "failing"
            }
            fn dim(&self) -> usize {
                4
            }
            fn embed(&self, _: &[&str], _: TextKind) -> search_core::Result<Vec<Vec<f32>>> {
                Err(Error::Embedding("boom".into()))
            }
        }
        let b = QueryBatcher::spawn(Arc::new(CachedEmbedder::new(Arc::new(Failing), 4)), 4);
        let (x, y) = tokio::join!(b.embed("a".into()), b.embed("a".into()));
        assert!(matches!(x, Err(Error::Embedding(m)) if m.contains("boom")));
        assert!(y.is_err());
    }
}
