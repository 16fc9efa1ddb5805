//! `stanok eval`: relevance of the indexed catalog on graded queries (nDCG@10, MRR, recall@10),
//! overall and per query type, for one mode or all three side by side.

use search_core::eval::{ndcg_at, recall_at, reciprocal_rank, Judgments};
use search_core::{CachedEmbedder, Mode, SearchRequest, Snapshot};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

#[derive(serde::Deserialize)]
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

    /// Runs every query in `mode` and aggregates; `embedder` computes query vectors.
    pub fn run(
        &self,
        snap: &Snapshot,
        embedder: Option<&CachedEmbedder>,
        mode: Mode,
        verbose: bool,
    ) -> anyhow::Result<Report> {
        let mut groups: BTreeMap<String, Vec<(f64, f64, f64)>> = BTreeMap::new();
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
            let ranked: Vec<String> = res.hits.iter().map(|h| h.doc.id.clone()).collect();
            let m = (
                ndcg_at(&ranked, judged, 10),
                reciprocal_rank(&ranked, judged, 2),
                recall_at(&ranked, judged, 10, 2),
            );
            if verbose {
                let top: Vec<String> = ranked
                    .iter()
                    .take(3)
                    .map(|id| format!("{id}({})", judged.get(id).copied().unwrap_or(0)))
                    .collect();
                let best: Vec<&String> = judged
                    .iter()
                    .filter(|(_, g)| **g == 3)
                    .map(|(d, _)| d)
                    .take(3)
                    .collect();
                println!(
                    "{}\t{}\t{:.3}\t{}\t{}\ttop={}\twant={:?}\tembedded={}",
                    mode.as_str(),
                    q.qid,
                    m.0,
                    q.kind,
                    q.query,
                    top.join(","),
                    best,
                    embedded
                );
            }
            groups.entry(q.kind.clone()).or_default().push(m);
            groups.entry("ALL".into()).or_default().push(m);
        }
        Ok(groups
            .into_iter()
            .map(|(k, v)| {
                let n = v.len();
                let avg = |f: fn(&(f64, f64, f64)) -> f64| v.iter().map(f).sum::<f64>() / n as f64;
                (
                    k,
                    Metrics {
                        n,
                        ndcg10: avg(|x| x.0),
                        mrr: avg(|x| x.1),
                        recall10: avg(|x| x.2),
                    },
                )
            })
            .collect())
    }
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
