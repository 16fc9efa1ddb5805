//! Request filters (kind, category, brand, price, stock) as tantivy queries and as
//! checks on the collector's segment tables.

use super::collect::SegmentTable;
use super::match_boost::MatchBoost;
use super::schema::Fields;
use crate::analysis::fold_code;
use crate::doc::Kind;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Term};

/// Structured filters, applied to both sides before ranking.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub kind: Option<Kind>,
    pub category: Option<String>,
    pub brand: Option<String>,
    /// A machine model; matched after code folding (`16К20` = `16k20`).
    pub compatible_with: Option<String>,
    pub in_stock: Option<bool>,
    pub price_min: Option<f64>,
    pub price_max: Option<f64>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }

    /// Filter clauses as score-free queries.
    pub fn clauses(&self, f: &Fields) -> Vec<Box<dyn Query>> {
        let mut out = self.term_clauses(f);
        match self.in_stock {
            Some(true) => out.push(Box::new(RangeQuery::new(
                std::ops::Bound::Included(Term::from_field_i64(f.in_stock, 1)),
                std::ops::Bound::Unbounded,
            ))),
            Some(false) => out.push(term_i64(f.in_stock, 0)),
            None => {}
        }
        if self.price_min.is_some() || self.price_max.is_some() {
            let lo = self.price_min.map_or(std::ops::Bound::Unbounded, |p| {
                std::ops::Bound::Included(Term::from_field_f64(f.price, p))
            });
            let hi = self.price_max.map_or(std::ops::Bound::Unbounded, |p| {
                std::ops::Bound::Included(Term::from_field_f64(f.price, p))
            });
            out.push(Box::new(RangeQuery::new(lo, hi)));
        }
        out
    }

    /// The filters on indexed terms (kind, category, brand, compatible machine) as score-free
    /// queries; the numeric ones are [`Filters::numeric`].
    pub fn term_clauses(&self, f: &Fields) -> Vec<Box<dyn Query>> {
        let mut out: Vec<Box<dyn Query>> = Vec::new();
        let term = |field: Field, v: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, v),
                IndexRecordOption::Basic,
            ))
        };
        if let Some(k) = self.kind {
            out.push(term(f.kind, k.as_str()));
        }
        if let Some(c) = &self.category {
            out.push(term(f.category, c));
        }
        if let Some(b) = &self.brand {
            out.push(term(f.brand, b));
        }
        if let Some(m) = &self.compatible_with {
            out.push(term(f.compat, &fold_code(m)));
        }
        out
    }

    /// The stock and price filters, checked per document against the segment tables' dense
    /// columns: as range queries over the fast fields they scanned the whole column per
    /// query, a third of the cost of a filtered search.
    pub fn numeric(&self) -> Option<NumericFilter> {
        let n = NumericFilter {
            in_stock: self.in_stock,
            price_min: self.price_min,
            price_max: self.price_max,
        };
        (n != NumericFilter::default()).then_some(n)
    }
}

/// The numeric filters of a request: what [`Filters::clauses`] asks of `in_stock` and
/// `price` as range and term queries, as a predicate on a segment table's row.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NumericFilter {
    in_stock: Option<bool>,
    price_min: Option<f64>,
    price_max: Option<f64>,
}

impl NumericFilter {
    /// True when `doc` of the segment `table` describes passes every numeric filter. A
    /// document without a price fails any price bound, as it has no term in the range.
    #[inline]
    pub fn passes(&self, table: &SegmentTable, doc: DocId) -> bool {
        let i = doc as usize;
        let stock_ok = match self.in_stock {
            None => true,
            // `in_stock=true` is the range [1, ∞), `false` the term 0; `NO_STOCK` is in neither.
            Some(true) => table.stock.get(i).is_some_and(|&s| s >= 1),
            Some(false) => table.stock.get(i).is_some_and(|&s| s == 0),
        };
        if !stock_ok {
            return false;
        }
        if self.price_min.is_none() && self.price_max.is_none() {
            return true;
        }
        let Some(&p) = table.price.get(i) else {
            return false;
        };
        // NaN (no price) fails both comparisons.
        self.price_min.is_none_or(|lo| p >= lo) && self.price_max.is_none_or(|hi| p <= hi)
    }
}

fn term_i64(field: Field, v: i64) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_i64(field, v),
        IndexRecordOption::Basic,
    ))
}

/// Combines a scoring query with score-free filters.
pub fn with_filters(query: Box<dyn Query>, filters: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if filters.is_empty() {
        return query;
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, query)];
    for fq in filters {
        clauses.push((Occur::Must, MatchBoost::boxed(fq, 0.0)));
    }
    Box::new(BooleanQuery::new(clauses))
}
