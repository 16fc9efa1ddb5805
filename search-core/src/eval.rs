//! Relevance metrics over graded judgments: nDCG@k, MRR and recall@k.

use std::collections::HashMap;

/// Graded judgments of one query: document id → grade (0–3).
pub type Judgments = HashMap<String, u8>;

/// nDCG@k with gain `2^grade - 1` and log2 discount.
pub fn ndcg_at(ranked: &[String], judged: &Judgments, k: usize) -> f64 {
    let gain = |g: u8| (2f64.powi(g as i32)) - 1.0;
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, id)| gain(*judged.get(id).unwrap_or(&0)) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<u8> = judged.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| gain(*g) / ((i + 2) as f64).log2())
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

/// Reciprocal rank of the first document with grade >= `min_grade`.
pub fn reciprocal_rank(ranked: &[String], judged: &Judgments, min_grade: u8) -> f64 {
    ranked
        .iter()
        .position(|id| judged.get(id).is_some_and(|g| *g >= min_grade))
        .map_or(0.0, |p| 1.0 / (p + 1) as f64)
}

/// Share of documents with grade >= `min_grade` found in the top k.
pub fn recall_at(ranked: &[String], judged: &Judgments, k: usize, min_grade: u8) -> f64 {
    let relevant = judged.values().filter(|g| **g >= min_grade).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|id| judged.get(*id).is_some_and(|g| *g >= min_grade))
        .count();
    found as f64 / relevant as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(pairs: &[(&str, u8)]) -> Judgments {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn perfect_ranking_scores_one_and_reversal_less() {
        let judged = j(&[("a", 3), ("b", 2), ("c", 1)]);
        assert!((ndcg_at(&ids(&["a", "b", "c"]), &judged, 10) - 1.0).abs() < 1e-12);
        let rev = ndcg_at(&ids(&["c", "b", "a"]), &judged, 10);
        assert!(rev < 1.0 && rev > 0.0);
        assert_eq!(ndcg_at(&ids(&["x"]), &judged, 10), 0.0);
    }

    #[test]
    fn mrr_and_recall() {
        let judged = j(&[("a", 3), ("b", 1)]);
        assert_eq!(
            reciprocal_rank(&ids(&["x", "b", "a"]), &judged, 2),
            1.0 / 3.0
        );
        assert_eq!(recall_at(&ids(&["a", "b"]), &judged, 10, 1), 1.0);
        assert_eq!(recall_at(&ids(&["b"]), &judged, 10, 2), 0.0);
    }
}
