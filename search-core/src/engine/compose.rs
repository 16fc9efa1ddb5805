//! How one search's lists become its order, a pure function: exact-code and constraint pins
//! first, then per mode the lexical order, the semantic order, or the fusion of the lists'
//! heads (weighted reciprocal ranks plus score terms, [`crate::fusion::fuse`]) followed by the
//! lexical matches beyond the fusion depth.

use super::request::Mode;
use super::search::LEXICAL_DEPTH;
use crate::fusion::RrfParams;
use crate::point::Vid;
use std::collections::{HashMap, HashSet};

/// A search's ranked lists, as the lexical and semantic sides produced them.
pub(super) struct Lists<'a> {
    pub mode: Mode,
    /// Lexical matches, best first, with their lexical scores.
    pub lexical: &'a [(Vid, f32)],
    /// Semantic neighbours, best first, with their cosines.
    pub semantic: &'a [(Vid, f32)],
    /// Pinned documents in tier order (all from the lexical list's first [`LEXICAL_DEPTH`]).
    pub pinned: &'a [Vid],
    /// Fusion parameters.
    pub params: RrfParams,
    /// The semantic list's weight for this query (the parameters' weight times the factors
    /// that apply).
    pub semantic_weight: f32,
}

/// The search's whole order, with each document's score: in hybrid mode pins score above
/// every fused one and lexical matches beyond the fusion depth score 0.
pub(super) fn compose(lists: &Lists) -> Vec<(Vid, f32)> {
    // Each pinned document's place among the pins (its first, should one repeat).
    let mut pin_rank: HashMap<Vid, usize> = HashMap::with_capacity(lists.pinned.len());
    for (i, v) in lists.pinned.iter().enumerate() {
        pin_rank.entry(*v).or_insert(i);
    }
    match lists.mode {
        Mode::Lexical => {
            // Pinned documents in tier order, then the rest in lexical order.
            let (mut head, tail): (Vec<_>, Vec<_>) = lists
                .lexical
                .iter()
                .partition(|(v, _)| pin_rank.contains_key(v));
            head.sort_by_key(|(v, _)| pin_rank.get(v).copied());
            head.extend(tail);
            head
        }
        Mode::Semantic => lists.semantic.to_vec(),
        Mode::Hybrid => {
            let head = &lists.lexical[..lists.lexical.len().min(LEXICAL_DEPTH)];
            let fused = lists
                .params
                .fuse_hybrid(head, lists.semantic, lists.semantic_weight);
            let max = fused.first().map_or(0.0, |x| x.1);
            let mut out: Vec<(Vid, f32)> = lists.pinned.iter().map(|v| (*v, max + 1.0)).collect();
            out.extend(fused.into_iter().filter(|(v, _)| !pin_rank.contains_key(v)));
            // Lexical matches beyond the fusion depth follow in lexical order, but for those
            // the semantic list already brought into the fusion; they score no higher than the
            // last fused one (a cosine term can take a fused score below 0).
            let floor = out.last().map_or(0.0, |x| x.1).min(0.0);
            let fused_sem: HashSet<Vid> = lists.semantic.iter().map(|x| x.0).collect();
            out.extend(
                lists
                    .lexical
                    .iter()
                    .skip(LEXICAL_DEPTH)
                    .filter(|(v, _)| !fused_sem.contains(v))
                    .map(|(v, _)| (*v, floor)),
            );
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A lexical list of up to 260 and a semantic list of up to 120 distinct vids, each best
    /// first with falling scores, overlapping anywhere (also beyond the fusion depth), and
    /// positions in the lexical list to pin.
    /// The lexical list, the semantic list, positions to pin.
    type Case = (Vec<(Vid, f32)>, Vec<(Vid, f32)>, Vec<usize>);

    fn case() -> impl Strategy<Value = Case> {
        let perm = Just((0u32..400).collect::<Vec<Vid>>()).prop_shuffle();
        (
            perm,
            0usize..260,
            0usize..120,
            0usize..280,
            proptest::collection::vec(0usize..260, 0..6),
        )
            .prop_map(|(perm, a, b, from, picks)| {
                let scored = |v: &[Vid]| -> Vec<(Vid, f32)> {
                    v.iter()
                        .enumerate()
                        .map(|(i, x)| (*x, (v.len() - i) as f32))
                        .collect()
                };
                let from = from.min(400 - b);
                (scored(&perm[..a]), scored(&perm[from..from + b]), picks)
            })
    }

    fn pins(lexical: &[(Vid, f32)], picks: &[usize]) -> Vec<Vid> {
        let head = lexical.len().min(LEXICAL_DEPTH);
        let mut seen = HashSet::new();
        picks
            .iter()
            .filter(|_| head > 0)
            .map(|i| lexical[i % head].0)
            .filter(|v| seen.insert(*v))
            .collect()
    }

    /// A lexical match beyond the fusion depth that the semantic list also found is fused
    /// once, not again in the lexical tail (deep pages showed it twice).
    #[test]
    fn a_deep_lexical_match_the_semantic_side_found_appears_once() {
        let lex: Vec<(Vid, f32)> = (0..250).map(|v| (v, 1000.0 - v as f32)).collect();
        let sem = vec![(220, 0.9), (7, 0.8)];
        let lists = Lists {
            mode: Mode::Hybrid,
            lexical: &lex,
            semantic: &sem,
            pinned: &[],
            params: RrfParams::default(),
            semantic_weight: 0.8,
        };
        let out = compose(&lists);
        assert_eq!(out.iter().filter(|x| x.0 == 220).count(), 1);
        assert_eq!(out.len(), 250);
    }

    proptest! {
        #[test]
        fn every_mode_returns_each_candidate_once_pins_first((lex, sem, picks) in case()) {
            let pinned = pins(&lex, &picks);
            for mode in [Mode::Lexical, Mode::Hybrid, Mode::Semantic] {
                let lists = Lists { mode, lexical: &lex, semantic: &sem, pinned: &pinned, params: RrfParams::default(), semantic_weight: 0.8 };
                let out = compose(&lists);
                let ids: Vec<Vid> = out.iter().map(|x| x.0).collect();
                let unique: HashSet<Vid> = ids.iter().copied().collect();
                prop_assert_eq!(unique.len(), ids.len(), "{:?}: a document twice", mode);
                let expected: HashSet<Vid> = match mode {
                    Mode::Lexical => lex.iter().map(|x| x.0).collect(),
                    Mode::Semantic => sem.iter().map(|x| x.0).collect(),
                    Mode::Hybrid => lex.iter().chain(&sem).map(|x| x.0).collect(),
                };
                prop_assert_eq!(&unique, &expected, "{:?}: not the lists' documents", mode);
                if mode != Mode::Semantic {
                    prop_assert_eq!(&ids[..pinned.len()], &pinned[..], "{:?}: pins first", mode);
                }
            }
        }

        #[test]
        fn lexical_mode_keeps_lexical_order_after_the_pins((lex, sem, picks) in case()) {
            let pinned = pins(&lex, &picks);
            let lists = Lists { mode: Mode::Lexical, lexical: &lex, semantic: &sem, pinned: &pinned, params: RrfParams::default(), semantic_weight: 0.8 };
            let rest: Vec<(Vid, f32)> = compose(&lists).split_off(pinned.len());
            let want: Vec<(Vid, f32)> = lex.iter().filter(|x| !pinned.contains(&x.0)).copied().collect();
            prop_assert_eq!(rest, want);
        }

        #[test]
        fn hybrid_scores_fall_after_the_pins_and_the_tail_keeps_lexical_order((lex, sem, picks) in case()) {
            let pinned = pins(&lex, &picks);
            let lists = Lists { mode: Mode::Hybrid, lexical: &lex, semantic: &sem, pinned: &pinned, params: RrfParams::default(), semantic_weight: 0.8 };
            let out = compose(&lists);
            let fused = &out[pinned.len()..];
            for w in fused.windows(2) {
                prop_assert!(w[0].1 >= w[1].1, "fused scores fall: {:?}", w);
            }
            if let Some(top) = fused.first() {
                prop_assert!(out[..pinned.len()].iter().all(|p| p.1 > top.1));
            }
            // The lexical matches beyond the fusion depth that nothing fused come last, in order.
            let tail: Vec<Vid> = lex
                .iter()
                .skip(LEXICAL_DEPTH)
                .map(|x| x.0)
                .filter(|v| !sem.iter().any(|s| s.0 == *v))
                .collect();
            let at_end: Vec<Vid> = out[out.len() - tail.len()..].iter().map(|x| x.0).collect();
            prop_assert_eq!(at_end, tail);
        }

        #[test]
        fn semantic_mode_is_the_semantic_list((lex, sem, picks) in case()) {
            let pinned = pins(&lex, &picks);
            let lists = Lists { mode: Mode::Semantic, lexical: &lex, semantic: &sem, pinned: &pinned, params: RrfParams::default(), semantic_weight: 0.8 };
            prop_assert_eq!(compose(&lists), sem);
        }
    }
}
