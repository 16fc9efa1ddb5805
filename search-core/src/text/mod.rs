//! The text side: tantivy schema, the catalog analyzer, query construction and the facet
//! collector.
//!
//! Queries are built here from analysed terms rather than by tantivy's query parser, because
//! what a query word becomes depends on the index vocabulary: a word the index knows is used as
//! is; an unknown one is tried through keyboard-layout repair, transliteration and, last,
//! fuzzy matching. That keeps typo handling off the hot path of ordinary queries.

mod collect;
mod filters;
#[cfg(test)]
mod fixture;
mod match_boost;
mod plan;
mod repair;
mod schema;
mod semantic;
mod tokenizer;
mod vocab;

pub use collect::{MatchSet, MatchSetCollector, MatchSetSegment, SegmentCodes, SegmentTable};
pub use filters::{with_filters, Filters, NumericFilter};
pub use plan::{build_query, Exec, LexicalQuery, Match, Word, CONSTRAINT_SCORE};
pub use schema::{register_tokenizers, schema, to_tantivy, Fields};
pub use semantic::semantic_text;
pub use vocab::CachedVocab;

/// Tries to take (and at once release) the writer lock of the text index in `dir`: fails when
/// another process, such as a running server, is the writer.
pub fn try_lock_writer(dir: &std::path::Path) -> crate::error::Result<()> {
    let index = tantivy::Index::open_in_dir(dir)?;
    register_tokenizers(&index);
    let writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
    drop(writer);
    Ok(())
}
