//! The engine's public request and response types.

use crate::doc::CatalogDoc;
use crate::text::Filters;
use crate::vector::GraphWalk;
use std::sync::Arc;

/// Search mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Hybrid,
    Lexical,
    Semantic,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "hybrid" => Some(Mode::Hybrid),
            "lexical" => Some(Mode::Lexical),
            "semantic" => Some(Mode::Semantic),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Hybrid => "hybrid",
            Mode::Lexical => "lexical",
            Mode::Semantic => "semantic",
        }
    }
}

/// One search request.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub text: String,
    pub mode: Mode,
    pub filters: Filters,
    pub limit: usize,
    pub offset: usize,
    pub highlight: bool,
}

impl SearchRequest {
    pub fn new(text: impl Into<String>, mode: Mode) -> SearchRequest {
        SearchRequest {
            text: text.into(),
            mode,
            filters: Filters::default(),
            limit: 10,
            offset: 0,
            highlight: false,
        }
    }
}

/// One ranked hit.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Shared with the doc cache: a hit costs no copy of the card's text.
    pub doc: Arc<CatalogDoc>,
    pub score: f32,
    /// Matched a part number or model exactly (pinned above fusion).
    pub exact: bool,
    /// `(field, html)` with `<em>` around matched words.
    pub highlights: Vec<(&'static str, String)>,
}

/// Facet counts over the whole filtered match set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facets {
    pub kind: Vec<(String, u64)>,
    pub category: Vec<(String, u64)>,
    pub brand: Vec<(String, u64)>,
}

/// Results of one search.
#[derive(Debug, Clone)]
pub struct SearchResults {
    pub total: u64,
    pub hits: Vec<Hit>,
    pub facets: Facets,
    /// The mode that ran: hybrid degrades to lexical when no query vector can be had.
    pub mode: Mode,
}

/// Search-as-you-type completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub id: String,
    pub name: String,
    pub sku: String,
    pub model: String,
}

/// Which implementation runs each side of a search. Production always runs the default; the
/// others are the reference implementations that differential tests and benchmarks compare
/// with (reachable through the `oracle` feature).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Executors {
    pub lexical: LexicalExecutor,
    pub graph: GraphWalk,
}

impl Executors {
    /// The production executors, but tantivy's union on the lexical side when `union`.
    #[cfg(any(test, feature = "oracle"))]
    pub fn lexical_union(union: bool) -> Executors {
        Executors {
            lexical: if union {
                LexicalExecutor::TantivyUnion
            } else {
                LexicalExecutor::Accumulate
            },
            ..Executors::default()
        }
    }
}

/// How the lexical side computes its match set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(not(any(test, feature = "oracle")), allow(dead_code))]
pub enum LexicalExecutor {
    /// The accumulating executor ([`crate::accumulate`]).
    #[default]
    Accumulate,
    /// tantivy's own union of the same query.
    TantivyUnion,
}
