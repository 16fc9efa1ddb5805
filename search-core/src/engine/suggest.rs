//! Autocomplete suggestions on a snapshot.

use super::request::Suggestion;
use super::snapshot::Snapshot;
use crate::error::Result;
use tantivy::collector::TopDocs;
use tantivy::query::{Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

impl Snapshot {
    /// Prefix completion over names, models and part numbers.
    pub fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>> {
        let words: Vec<&str> = prefix.split_whitespace().collect();
        let Some(last) = words.last() else {
            return Ok(Vec::new());
        };
        let f = &self.fields;
        let mut clauses: Vec<(tantivy::query::Occur, Box<dyn Query>)> = Vec::new();
        for w in &words[..words.len() - 1] {
            let t = crate::analysis::normalize(w);
            clauses.push((
                tantivy::query::Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.suggest, &t),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        let last_norm = crate::analysis::normalize(last);
        let last_code = crate::analysis::fold_code(last);
        let mut alts: Vec<(tantivy::query::Occur, Box<dyn Query>)> = Vec::new();
        for t in [last_norm, last_code] {
            if !t.is_empty() {
                alts.push((
                    tantivy::query::Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.suggest, &t),
                        IndexRecordOption::WithFreqs,
                    )),
                ));
            }
        }
        if alts.is_empty() {
            return Ok(Vec::new());
        }
        clauses.push((
            tantivy::query::Occur::Must,
            Box::new(tantivy::query::BooleanQuery::new(alts)),
        ));
        let q = tantivy::query::BooleanQuery::new(clauses);
        let top = self.text.search(&q, &TopDocs::with_limit(limit * 3))?;
        let mut out: Vec<Suggestion> = Vec::new();
        for (_, addr) in top {
            let d = self.load(addr)?;
            if out.iter().any(|s| s.name == d.name) {
                continue;
            }
            out.push(Suggestion {
                id: d.id,
                name: d.name,
                sku: d.sku,
                model: d.model,
            });
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }
}
