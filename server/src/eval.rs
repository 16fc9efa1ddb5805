//! `stanok eval`: relevance of the indexed catalog on graded queries (nDCG@10, MRR, recall@10),
//! overall and per query type, for one mode or all three side by side.

use search_core::eval::{ndcg_at, recall_at, reciprocal_rank, Judgments};
use search_core::{CachedEmbedder, Mode, SearchRequest, Snapshot};
use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::Path;

#[derive(Clone, serde::Deserialize)]
struct QueryLine {
    qid: String,
    query: String,
    #[serde(rename = "type", default)]
    kind: String,
}

/// Metrics of one group of queries.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub n: usize,
    pub ndcg10: f64,
    pub mrr: f64,
    pub recall10: f64,
}

/// Per-type and overall metrics for one mode.
pub type Report = BTreeMap<String, Metrics>;

/// Loaded queries and judgments.
pub struct EvalSet {
    queries: Vec<QueryLine>,
    qrels: HashMap<String, Judgments>,
}

impl EvalSet {
    pub fn load(queries: &Path, qrels: &Path) -> anyhow::Result<EvalSet> {
        let mut qs = Vec::new();
        for (i, line) in std::fs::read_to_string(queries)?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            qs.push(
                serde_json::from_str::<QueryLine>(line)
                    .map_err(|e| anyhow::anyhow!("{}:{}: {e}", queries.display(), i + 1))?,
            );
        }
        let mut judged: HashMap<String, Judgments> = HashMap::new();
        for (i, line) in std::fs::read_to_string(qrels)?.lines().enumerate() {
            let parts: Vec<&str> = line.split('\t').collect();
            if parts.len() != 3 {
                if line.trim().is_empty() {
                    continue;
                }
                anyhow::bail!(
                    "{}:{}: expected qid<TAB>doc<TAB>grade",
                    qrels.display(),
                    i + 1
                );
            }
            let grade: u8 = parts[2]
                .trim()
                .parse()
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", qrels.display(), i + 1))?;
            judged
                .entry(parts[0].to_string())
                .or_default()
                .insert(parts[1].to_string(), grade);
        }
        Ok(EvalSet {
            queries: qs,
            qrels: judged,
        })
    }

    /// Every query as (id, text, type, judgments), for harnesses that rank by other means.
    pub fn cases(&self) -> Vec<(String, String, String, Judgments)> {
        self.queries
            .iter()
            .map(|q| {
                (
                    q.qid.clone(),
                    q.query.clone(),
                    q.kind.clone(),
                    self.qrels.get(&q.qid).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// The queries of fold `k` of `n` (1-based): within each query type, in id order, every
    /// `n`-th query starting at the `k`-th, so each fold holds every type in proportion and a
    /// query belongs to exactly one fold. Tune on one fold, report the other.
    pub fn fold(&self, k: usize, n: usize) -> anyhow::Result<EvalSet> {
        anyhow::ensure!(
            n >= 2 && (1..=n).contains(&k),
            "--fold K/N needs 1 <= K <= N and N >= 2"
        );
        let mut by_type: BTreeMap<&str, Vec<&QueryLine>> = BTreeMap::new();
        for q in &self.queries {
            by_type.entry(q.kind.as_str()).or_default().push(q);
        }
        let mut keep: Vec<QueryLine> = Vec::new();
        for qs in by_type.values_mut() {
            qs.sort_by(|a, b| a.qid.cmp(&b.qid));
            keep.extend(qs.iter().skip(k - 1).step_by(n).map(|q| (*q).clone()));
        }
        // The file's order, so verbose output reads as before.
        let order: HashMap<&str, usize> = self
            .queries
            .iter()
            .enumerate()
            .map(|(i, q)| (q.qid.as_str(), i))
            .collect();
        keep.sort_by_key(|q| order[q.qid.as_str()]);
        Ok(EvalSet {
            queries: keep,
            qrels: self.qrels.clone(),
        })
    }

    /// Runs every query in `mode`; `embedder` computes query vectors. One result per query,
    /// in the file's order.
    pub fn run(
        &self,
        snap: &Snapshot,
        embedder: Option<&CachedEmbedder>,
        mode: Mode,
        verbose: bool,
        mut dump: Option<&mut dyn std::io::Write>,
    ) -> anyhow::Result<Vec<QueryResult>> {
        let mut out = Vec::with_capacity(self.queries.len());
        for q in &self.queries {
            let empty = Judgments::new();
            let judged = self.qrels.get(&q.qid).unwrap_or(&empty);
            let embedded = snap.semantic_text(&q.query);
            let vec = match (mode, embedder) {
                (Mode::Lexical, _) | (_, None) => None,
                (_, Some(e)) => Some(e.embed_query(&embedded)?),
            };
            let mut req = SearchRequest::new(q.query.clone(), mode);
            req.limit = 10;
            let res = snap.search_with_vector(&req, vec.as_deref().map(|v| v.as_slice()))?;
            if let Some(w) = dump.as_mut() {
                let lists = snap.fusion_inputs(&req, vec.as_deref().map(|v| v.as_slice()))?;
                let line = serde_json::json!({
                    "qid": q.qid,
                    "type": q.kind,
                    "query": q.query,
                    "semantic_text": embedded,
                    "mode": lists.mode.as_str(),
                    "lexical": lists.lexical,
                    "semantic": lists.semantic,
                    "pinned": lists.pinned,
                    "semantic_weight": lists.semantic_weight,
                });
                writeln!(w, "{line}")?;
            }
            let ranked: Vec<String> = res.hits.iter().map(|h| h.doc.id.clone()).collect();
            let r = QueryResult {
                qid: q.qid.clone(),
                kind: q.kind.clone(),
                ndcg10: ndcg_at(&ranked, judged, 10),
                mrr: reciprocal_rank(&ranked, judged, 2),
                recall10: recall_at(&ranked, judged, 10, 2),
            };
            if verbose {
                let top: Vec<String> = ranked
                    .iter()
                    .take(3)
                    .map(|id| format!("{id}({})", judged.get(id).copied().unwrap_or(0)))
                    .collect();
                // Sorted, so that two runs of one build print the same bytes.
                let mut best: Vec<&String> = judged
                    .iter()
                    .filter(|(_, g)| **g == 3)
                    .map(|(d, _)| d)
                    .collect();
                best.sort();
                best.truncate(3);
                println!(
                    "{}\t{}\t{:.3}\t{}\t{}\ttop={}\twant={:?}\tembedded={}",
                    mode.as_str(),
                    q.qid,
                    r.ndcg10,
                    q.kind,
                    q.query,
                    top.join(","),
                    best,
                    embedded
                );
            }
            out.push(r);
        }
        Ok(out)
    }
}

/// One query's metrics in one mode.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub qid: String,
    pub kind: String,
    pub ndcg10: f64,
    pub mrr: f64,
    pub recall10: f64,
}

/// Averages per query type and overall (`ALL`).
pub fn aggregate(results: &[QueryResult]) -> Report {
    let mut groups: BTreeMap<String, Vec<&QueryResult>> = BTreeMap::new();
    for r in results {
        groups.entry(r.kind.clone()).or_default().push(r);
        groups.entry("ALL".into()).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(k, v)| {
            let n = v.len();
            let avg = |f: fn(&QueryResult) -> f64| v.iter().map(|r| f(r)).sum::<f64>() / n as f64;
            (
                k,
                Metrics {
                    n,
                    ndcg10: avg(|r| r.ndcg10),
                    mrr: avg(|r| r.mrr),
                    recall10: avg(|r| r.recall10),
                },
            )
        })
        .collect()
}

/// Queries where hybrid's nDCG@10 falls more than `margin` below the better of lexical and
/// semantic on the same query: the ones where fusion hid a side's good answer.
pub fn hybrid_shortfalls(
    lexical: &[QueryResult],
    semantic: &[QueryResult],
    hybrid: &[QueryResult],
    margin: f64,
) -> Vec<String> {
    let best: HashMap<&str, f64> =
        lexical
            .iter()
            .chain(semantic)
            .fold(HashMap::new(), |mut m, r| {
                let e = m.entry(r.qid.as_str()).or_insert(0.0f64);
                *e = e.max(r.ndcg10);
                m
            });
    hybrid
        .iter()
        .filter(|h| h.ndcg10 < best.get(h.qid.as_str()).copied().unwrap_or(0.0) - margin)
        .map(|h| h.qid.clone())
        .collect()
}

/// Formats reports of several modes as one Markdown table.
pub fn format_table(reports: &[(Mode, Report)]) -> String {
    let mut out = String::from("| type | n |");
    for (m, _) in reports {
        out.push_str(&format!(" {0} nDCG@10 | {0} MRR | {0} R@10 |", m.as_str()));
    }
    out.push_str("\n|---|---|");
    for _ in reports {
        out.push_str("---|---|---|");
    }
    out.push('\n');
    let Some((_, first)) = reports.first() else {
        return out;
    };
    let mut types: Vec<&String> = first.keys().filter(|k| *k != "ALL").collect();
    let all = "ALL".to_string();
    types.push(&all);
    for t in types {
        let n = first.get(t).map_or(0, |m| m.n);
        out.push_str(&format!("| {t} | {n} |"));
        for (_, r) in reports {
            let m = r.get(t).cloned().unwrap_or_default();
            out.push_str(&format!(
                " {:.3} | {:.3} | {:.3} |",
                m.ndcg10, m.mrr, m.recall10
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(kinds: &[(&str, usize)]) -> EvalSet {
        let mut queries = Vec::new();
        for (kind, n) in kinds {
            for i in 0..*n {
                queries.push(QueryLine {
                    qid: format!("q{kind}{i:02}"),
                    query: format!("{kind} {i}"),
                    kind: kind.to_string(),
                });
            }
        }
        // Not in id order, as a real file need not be.
        queries.reverse();
        EvalSet {
            queries,
            qrels: HashMap::new(),
        }
    }

    fn ids(s: &EvalSet) -> Vec<String> {
        s.queries.iter().map(|q| q.qid.clone()).collect()
    }

    #[test]
    fn folds_split_every_type_and_hold_each_query_once() {
        let all = set(&[("sku", 7), ("typo", 4), ("compat", 1)]);
        let one = all.fold(1, 2).unwrap();
        let two = all.fold(2, 2).unwrap();
        let (a, b) = (ids(&one), ids(&two));
        assert!(a.iter().all(|q| !b.contains(q)), "a query in both folds");
        assert_eq!(a.len() + b.len(), all.queries.len());
        for kind in ["sku", "typo"] {
            let count = |s: &EvalSet| s.queries.iter().filter(|q| q.kind == kind).count();
            assert!(
                count(&one).abs_diff(count(&two)) <= 1,
                "{kind} unevenly split"
            );
            assert!(count(&two) > 0);
        }
        // The same split every time, and the file's order kept inside a fold.
        assert_eq!(a, ids(&all.fold(1, 2).unwrap()));
        let pos = |q: &String| all.queries.iter().position(|x| &x.qid == q).unwrap();
        assert!(a.windows(2).all(|w| pos(&w[0]) < pos(&w[1])));
        assert!(all.fold(3, 2).is_err());
        assert!(all.fold(1, 1).is_err());
    }

    #[test]
    fn shortfalls_are_queries_where_hybrid_loses_to_the_better_side() {
        let r = |qid: &str, ndcg10: f64| QueryResult {
            qid: qid.into(),
            kind: "t".into(),
            ndcg10,
            mrr: 0.0,
            recall10: 0.0,
        };
        let lexical = [r("a", 0.9), r("b", 0.2), r("c", 0.5)];
        let semantic = [r("a", 0.1), r("b", 0.8), r("c", 0.5)];
        let hybrid = [r("a", 0.86), r("b", 0.7), r("c", 0.0)];
        assert_eq!(
            hybrid_shortfalls(&lexical, &semantic, &hybrid, 0.05),
            vec!["b".to_string(), "c".to_string()]
        );
        let report = aggregate(&hybrid);
        assert_eq!(report["ALL"].n, 3);
        assert!((report["t"].ndcg10 - (0.86 + 0.7) / 3.0).abs() < 1e-9);
    }
}
