//! Reciprocal-rank fusion as a pure function over ranked lists.

use std::collections::HashMap;
use std::hash::Hash;

/// Fusion parameters: weighted reciprocal-rank fusion, `Σ_i weight_i / (k + rank_i(d))` with
/// ranks starting at 1, plus a term per list that reads the list's scores (see [`fuse`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RrfParams {
    pub k: f32,
    pub lexical_weight: f32,
    pub semantic_weight: f32,
    /// Multiplies the semantic weight for queries written in Latin words (English): 0.5 lifts
    /// English nDCG@10 on the dev set from 0.645 to 0.676 (0.25: 0.661).
    pub latin_semantic_factor: f32,
    /// Multiplies the semantic weight when the query matched a part number or model exactly:
    /// 0.5 lifts sku nDCG@10 on the dev set from 0.863 to 0.874 (model 0.935 → 0.928).
    pub code_semantic_factor: f32,
    /// Weight of a lexical match's score relative to the best one's, raised to
    /// `lexical_score_power` ([`ScoreTerm::Ratio`]): matches the lexical side scores (almost)
    /// alike get (almost) the same share however their ranks fall, so the semantic list
    /// orders them, while a match far below the best keeps only its rank's share.
    pub lexical_score_weight: f32,
    pub lexical_score_power: f32,
    /// Weight, times the semantic list's weight, of a neighbour's cosine minus the best
    /// one's ([`ScoreTerm::Gap`]): neighbours much further than the first lose a little more
    /// than their rank says.
    pub semantic_cosine_weight: f32,
}

impl Default for RrfParams {
    /// Chosen by cross-validation: tuned on fold 1 of the development queries (`stanok eval
    /// --fold 1/2`), reported on fold 2; see benches/results/relevance-folds.md ("Stop 43").
    /// The grid: k 2/3/5, semantic weight 0.6/0.8/1.0, lexical score weight 0/0.05/0.1/0.2/0.3,
    /// power 1/2/4, cosine weight 0/0.5/1/2. The best on fold 1 (k 3, semantic 1.0, score
    /// 0.2, power 4, cosine 0.5) sits on a plateau (score 0.2–0.3, power 2–4 within 0.002);
    /// hybrid nDCG@10 fold 1 0.858 → 0.862, fold 2 0.843 → 0.846, queries where hybrid falls
    /// more than 0.05 below the better single mode 13 → 8 of 180. Rank-only RRF has no better
    /// point on that grid (k 3 / semantic 0.8 was its best; notes in the same file).
    fn default() -> Self {
        RrfParams {
            k: 3.0,
            lexical_weight: 1.0,
            semantic_weight: 1.0,
            latin_semantic_factor: 0.5,
            code_semantic_factor: 0.5,
            lexical_score_weight: 0.2,
            lexical_score_power: 4.0,
            semantic_cosine_weight: 0.5,
        }
    }
}

impl RrfParams {
    /// Hybrid fusion under these parameters: the lexical list (scores, best first) by rank
    /// and score ratio, the semantic list (cosines, best first) by rank and cosine gap, the
    /// semantic list weighing `semantic_weight` (this query's: the parameter times the
    /// factors that apply).
    pub fn fuse_hybrid<K: Clone + Eq + Hash>(
        &self,
        lexical: &[(K, f32)],
        semantic: &[(K, f32)],
        semantic_weight: f32,
    ) -> Vec<(K, f32)> {
        fuse(
            &[
                Ranked {
                    items: lexical,
                    weight: self.lexical_weight,
                    term: ScoreTerm::Ratio {
                        weight: self.lexical_score_weight,
                        power: self.lexical_score_power,
                    },
                },
                Ranked {
                    items: semantic,
                    weight: semantic_weight,
                    term: ScoreTerm::Gap {
                        weight: self.semantic_cosine_weight * semantic_weight,
                    },
                },
            ],
            self.k,
        )
    }
}

/// How a list's own scores add to its documents' fused scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreTerm {
    /// Ranks only.
    None,
    /// `weight · (score / best score)^power`, for lists of positive scores (BM25 sums); no
    /// term when the best score is not positive.
    Ratio { weight: f32, power: f32 },
    /// `weight · (score − best score)` (≤ 0), for lists of similarities (cosines).
    Gap { weight: f32 },
}

/// One ranked list for [`fuse`]: keys best first with their scores, the weight of a rank,
/// and the term its scores add.
pub struct Ranked<'a, K> {
    pub items: &'a [(K, f32)],
    pub weight: f32,
    pub term: ScoreTerm,
}

/// Fuses ranked lists (best first): a key's score sums, over the lists holding it,
/// `weight / (k + rank)` (ranks from 1) and the list's [`ScoreTerm`]. Ties keep the order of
/// first appearance, so the output is deterministic.
pub fn fuse<K: Clone + Eq + Hash>(lists: &[Ranked<K>], k: f32) -> Vec<(K, f32)> {
    let mut scores: HashMap<K, (f32, usize)> =
        HashMap::with_capacity(lists.iter().map(|l| l.items.len()).sum());
    let mut order = 0usize;
    for list in lists {
        let best = list.items.first().map_or(0.0, |x| x.1);
        let term = |s: f32| -> f32 {
            match list.term {
                ScoreTerm::None => 0.0,
                ScoreTerm::Ratio { weight, power } if best > 0.0 && best.is_finite() => {
                    weight * (s / best).clamp(0.0, 1.0).powf(power)
                }
                ScoreTerm::Ratio { .. } => 0.0,
                ScoreTerm::Gap { weight } => weight * (s - best).min(0.0),
            }
        };
        for (rank, (key, score)) in list.items.iter().enumerate() {
            let add = list.weight / (k + rank as f32 + 1.0) + term(*score);
            scores
                .entry(key.clone())
                .and_modify(|e| e.0 += add)
                .or_insert_with(|| {
                    order += 1;
                    (add, order)
                });
        }
    }
    let mut out: Vec<(K, f32, usize)> = scores.into_iter().map(|(k, (s, o))| (k, s, o)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    out.into_iter().map(|(k, s, _)| (k, s)).collect()
}

/// Rank-only fusion of ranked lists (best first) with weights: [`fuse`] without score terms.
pub fn rrf<K: Copy + Eq + Hash>(lists: &[(&[K], f32)], k: f32) -> Vec<(K, f32)> {
    let scored: Vec<(Vec<(K, f32)>, f32)> = lists
        .iter()
        .map(|(l, w)| (l.iter().map(|x| (*x, 0.0)).collect(), *w))
        .collect();
    let ranked: Vec<Ranked<K>> = scored
        .iter()
        .map(|(items, weight)| Ranked {
            items,
            weight: *weight,
            term: ScoreTerm::None,
        })
        .collect();
    fuse(&ranked, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn agreement_wins() {
        let a = [1, 2, 3];
        let b = [3, 4, 1];
        let fused = rrf(&[(&a, 1.0), (&b, 1.0)], 60.0);
        assert_eq!(fused[0].0, 1);
        assert_eq!(fused[1].0, 3);
        let expected = 1.0 / 61.0 + 1.0 / 63.0;
        assert!((fused[0].1 - expected).abs() < 1e-6);
    }

    #[test]
    fn weights_shift_the_order() {
        let a = [1, 2];
        let b = [2, 1];
        assert_eq!(rrf(&[(&a, 2.0), (&b, 1.0)], 60.0)[0].0, 1);
        assert_eq!(rrf(&[(&a, 1.0), (&b, 2.0)], 60.0)[0].0, 2);
    }

    fn lists<'a>(
        lex: &'a [(char, f32)],
        sem: &'a [(char, f32)],
        ratio: f32,
        gap: f32,
    ) -> [Ranked<'a, char>; 2] {
        [
            Ranked {
                items: lex,
                weight: 1.0,
                term: ScoreTerm::Ratio {
                    weight: ratio,
                    power: 4.0,
                },
            },
            Ranked {
                items: sem,
                weight: 1.0,
                term: ScoreTerm::Gap { weight: gap },
            },
        ]
    }

    fn keys(fused: &[(char, f32)]) -> String {
        fused.iter().map(|x| x.0).collect()
    }

    /// The lexical side scores a and b alike and c far below; the semantic side ranks c first.
    /// By ranks alone c ties a; with the score term c falls behind both.
    #[test]
    fn a_match_scored_far_below_the_best_does_not_climb_by_rank() {
        let lex = [('a', 10.0), ('b', 10.0), ('c', 1.0)];
        let sem = [('c', 0.90), ('b', 0.89), ('a', 0.88)];
        let ranks_only = fuse(&lists(&lex, &sem, 0.0, 0.0), 3.0);
        assert!(
            (ranks_only[0].1 - ranks_only[1].1).abs() < 1e-6,
            "{ranks_only:?}"
        );
        let scored = fuse(&lists(&lex, &sem, 0.2, 0.0), 3.0);
        assert_eq!(keys(&scored), "abc");
        let c = scored.iter().find(|x| x.0 == 'c').unwrap().1;
        assert!((c - (1.0 / 6.0 + 0.25 + 0.2 * 1e-4)).abs() < 1e-5, "{c}");
    }

    /// A neighbour much further than the first loses what its cosine gap says; the term is
    /// never positive.
    #[test]
    fn a_far_neighbour_loses_its_cosine_gap() {
        let lex = [('a', 10.0), ('b', 9.0)];
        let sem = [('b', 0.9), ('a', 0.5)];
        // Ranks alone: a = 1/4 + 1/5 = b.
        assert_eq!(keys(&fuse(&lists(&lex, &sem, 0.0, 0.0), 3.0)), "ab");
        let fused = fuse(&lists(&lex, &sem, 0.0, 0.5), 3.0);
        assert_eq!(keys(&fused), "ba");
        assert!((fused[1].1 - (0.25 + 0.2 - 0.5 * 0.4)).abs() < 1e-6);
        assert!(
            (fused[0].1 - 0.45).abs() < 1e-6,
            "the first neighbour loses nothing"
        );
    }

    /// A list whose best score is not positive adds no ratio term (no division by zero).
    #[test]
    fn ratio_term_needs_a_positive_best() {
        let lex = [('a', 0.0), ('b', 0.0)];
        let fused = fuse(&lists(&lex, &[], 0.2, 0.0), 3.0);
        assert_eq!(keys(&fused), "ab");
        assert!(fused.iter().all(|x| x.1.is_finite() && x.1 < 0.26));
    }

    proptest! {
        #[test]
        fn output_is_a_sorted_union(a in proptest::collection::vec(0u32..50, 0..30),
                                    b in proptest::collection::vec(0u32..50, 0..30),
                                    k in 1.0f32..100.0) {
            let mut a = a; a.dedup();
            let mut b = b; b.dedup();
            let fused = rrf(&[(&a, 1.0), (&b, 0.5)], k);
            let mut keys: Vec<u32> = fused.iter().map(|x| x.0).collect();
            for w in fused.windows(2) { prop_assert!(w[0].1 >= w[1].1); }
            keys.sort();
            let before = keys.len();
            keys.dedup();
            prop_assert_eq!(before, keys.len());
            let mut union: Vec<u32> = a.iter().chain(b.iter()).copied().collect();
            union.sort(); union.dedup();
            prop_assert_eq!(keys, union);
        }

        #[test]
        fn single_list_keeps_its_order(a in proptest::collection::hash_set(0u32..1000, 0..50)) {
            let a: Vec<u32> = a.into_iter().collect();
            let fused: Vec<u32> = rrf(&[(&a, 1.0)], 60.0).into_iter().map(|x| x.0).collect();
            prop_assert_eq!(fused, a);
        }
    }
}
