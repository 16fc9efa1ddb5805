//! A match-only query: a constant score for every document its inner query matches.

use tantivy::query::{ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, Score, SegmentReader, Term};

/// Adds `score` to every document `query` matches. Unlike tantivy's `ConstScoreQuery`, which
/// scores its inner query and throws the score away, the inner query runs with scoring
/// disabled: no term frequencies or field norms are decoded and unions skip the score sums.
/// Coordination and filters are such clauses, about half the postings a query walks.
pub struct MatchBoost {
    query: Box<dyn Query>,
    score: Score,
}

impl MatchBoost {
    pub fn boxed(query: Box<dyn Query>, score: Score) -> Box<dyn Query> {
        Box::new(MatchBoost { query, score })
    }
}

impl Clone for MatchBoost {
    fn clone(&self) -> Self {
        MatchBoost {
            query: self.query.box_clone(),
            score: self.score,
        }
    }
}

impl std::fmt::Debug for MatchBoost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MatchBoost(score={}, query={:?})",
            self.score, self.query
        )
    }
}

impl Query for MatchBoost {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let unscored = match enable_scoring.searcher() {
            Some(searcher) => EnableScoring::disabled_from_searcher(searcher),
            None => EnableScoring::disabled_from_schema(enable_scoring.schema()),
        };
        let inner = self.query.weight(unscored)?;
        Ok(if enable_scoring.is_scoring_enabled() {
            Box::new(MatchBoostWeight {
                inner,
                score: self.score,
            })
        } else {
            inner
        })
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.query.query_terms(visitor);
    }
}

struct MatchBoostWeight {
    inner: Box<dyn Weight>,
    score: Score,
}

impl Weight for MatchBoostWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inner = self.inner.scorer(reader, 1.0)?;
        Ok(Box::new(ConstScorer::new(inner, boost * self.score)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.inner.scorer(reader, 1.0)?;
        if scorer.doc() > doc || scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new("MatchBoost", self.score))
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.inner.count(reader)
    }
}
