//! Catalog import from JSON Lines: streaming, batched, idempotent by `id`.

use search_core::CatalogDoc;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Row, Transaction};
use std::collections::HashSet;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

const BATCH: usize = 500;
/// Longest accepted line (a catalog record is a few kilobytes).
const MAX_LINE_BYTES: usize = 1 << 20;

/// A rejected line and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub line: usize,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportSummary {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: Vec<Rejected>,
    /// True when `--strict` found bad lines and nothing was written.
    pub aborted: bool,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "inserted {} / updated {} / unchanged {} / rejected {}",
            self.inserted,
            self.updated,
            self.unchanged,
            self.rejected.len()
        )
    }
}

/// Parses one import line into a validated document.
pub fn parse_line(line: &str) -> Result<CatalogDoc, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = value.as_object().ok_or("line is not a JSON object")?;
    for required in [
        "id",
        "kind",
        "sku",
        "name",
        "brand",
        "model",
        "category",
        "description",
        "attributes",
        "compatible_models",
        "price_rub",
        "in_stock",
    ] {
        if !obj.contains_key(required) {
            return Err(format!("missing field `{required}`"));
        }
    }
    let doc: CatalogDoc = serde_json::from_value(value).map_err(|e| e.to_string())?;
    doc.validate()?;
    Ok(doc)
}

fn record_hash(doc: &CatalogDoc) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(doc).unwrap_or_default().as_slice(),
    ))
}

async fn write_batch(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[CatalogDoc],
    summary: &mut ImportSummary,
) -> Result<(), sqlx::Error> {
    if batch.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&CatalogDoc) -> String| batch.iter().map(f).collect::<Vec<String>>();
    let rows = sqlx::query(
        "INSERT INTO catalog_items (id, kind, sku, name, brand, model, category, description,
                                    attributes, compatible_models, price_rub, in_stock, record_hash)
         SELECT t.id, t.kind::catalog_kind, t.sku, t.name, t.brand, t.model, t.category, t.description,
                t.attributes, ARRAY(SELECT jsonb_array_elements_text(t.compat)), t.price, t.stock, t.hash
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::jsonb[], $10::jsonb[], $11::float8[], $12::int4[], $13::text[])
              AS t(id, kind, sku, name, brand, model, category, description, attributes, compat, price, stock, hash)
         ON CONFLICT (id) DO UPDATE SET
             kind = EXCLUDED.kind, sku = EXCLUDED.sku, name = EXCLUDED.name, brand = EXCLUDED.brand,
             model = EXCLUDED.model, category = EXCLUDED.category, description = EXCLUDED.description,
             attributes = EXCLUDED.attributes, compatible_models = EXCLUDED.compatible_models,
             price_rub = EXCLUDED.price_rub, in_stock = EXCLUDED.in_stock,
             record_hash = EXCLUDED.record_hash, updated_at = now()
           WHERE catalog_items.record_hash IS DISTINCT FROM EXCLUDED.record_hash
         RETURNING (xmax = 0) AS inserted",
    )
    .bind(col(|d| d.id.clone()))
    .bind(col(|d| d.kind.as_str().to_string()))
    .bind(col(|d| d.sku.clone()))
    .bind(col(|d| d.name.clone()))
    .bind(col(|d| d.brand.clone()))
    .bind(col(|d| d.model.clone()))
    .bind(col(|d| d.category.clone()))
    .bind(col(|d| d.description.clone()))
    .bind(batch.iter().map(|d| d.attributes.clone()).collect::<Vec<_>>())
    .bind(
        batch
            .iter()
            .map(|d| serde_json::json!(d.compatible_models))
            .collect::<Vec<_>>(),
    )
    .bind(batch.iter().map(|d| d.price_rub).collect::<Vec<Option<f64>>>())
    .bind(batch.iter().map(|d| d.in_stock as i32).collect::<Vec<i32>>())
    .bind(col(record_hash))
    .fetch_all(&mut **tx)
    .await?;
    let inserted = rows
        .iter()
        .filter(|r| r.try_get::<bool, _>("inserted").unwrap_or(false))
        .count() as u64;
    summary.inserted += inserted;
    summary.updated += rows.len() as u64 - inserted;
    summary.unchanged += (batch.len() - rows.len()) as u64;
    Ok(())
}

/// Imports JSON Lines from `input`. Without `strict`, bad lines are reported and skipped and
/// each batch commits on its own; with `strict`, everything runs in one transaction that is
/// rolled back at the first bad line (all bad lines are still reported).
pub async fn import<R: AsyncBufRead + Unpin>(
    pool: &PgPool,
    input: R,
    strict: bool,
) -> anyhow::Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    let mut lines = input.lines();
    let mut batch: Vec<CatalogDoc> = Vec::with_capacity(BATCH);
    let mut in_batch: HashSet<String> = HashSet::new();
    let mut line_no = 0usize;
    let mut tx = pool.begin().await?;
    while let Some(line) = lines.next_line().await? {
        line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > MAX_LINE_BYTES {
            summary.rejected.push(Rejected {
                line: line_no,
                reason: format!("line longer than {MAX_LINE_BYTES} bytes"),
            });
            continue;
        }
        match parse_line(&line) {
            Ok(doc) => {
                if strict && !summary.rejected.is_empty() {
                    continue; // Nothing will be written; keep scanning for the report.
                }
                // The same id twice in one statement is not allowed: flush first.
                if in_batch.contains(&doc.id) || batch.len() >= BATCH {
                    write_batch(&mut tx, &batch, &mut summary).await?;
                    batch.clear();
                    in_batch.clear();
                    if !strict {
                        tx.commit().await?;
                        tx = pool.begin().await?;
                    }
                }
                in_batch.insert(doc.id.clone());
                batch.push(doc);
            }
            Err(reason) => summary.rejected.push(Rejected {
                line: line_no,
                reason,
            }),
        }
    }
    if strict && !summary.rejected.is_empty() {
        tx.rollback().await?;
        summary.aborted = true;
        summary.inserted = 0;
        summary.updated = 0;
        summary.unchanged = 0;
        return Ok(summary);
    }
    write_batch(&mut tx, &batch, &mut summary).await?;
    tx.commit().await?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"id":"P-1","kind":"spare_part","sku":"6205-2RS","name":"Подшипник","brand":"SKF","model":"6205","category":"Подшипники","description":"","attributes":{},"compatible_models":["16К20"],"price_rub":450,"in_stock":3}"#;

    #[test]
    fn parse_line_accepts_the_import_format() {
        let d = parse_line(GOOD).unwrap();
        assert_eq!(d.sku, "6205-2RS");
        assert_eq!(d.compatible_models, vec!["16К20"]);
    }

    #[test]
    fn parse_line_explains_rejections() {
        assert!(parse_line("{").unwrap_err().contains("invalid JSON"));
        assert!(parse_line("[1]").unwrap_err().contains("not a JSON object"));
        let missing = GOOD.replace(r#""in_stock":3"#, r#""x":1"#);
        assert!(parse_line(&missing).unwrap_err().contains("in_stock"));
        let bad_kind = GOOD.replace("spare_part", "tool");
        assert!(parse_line(&bad_kind)
            .unwrap_err()
            .contains("unknown variant"));
        let negative = GOOD.replace(r#""price_rub":450"#, r#""price_rub":-5"#);
        assert!(parse_line(&negative).unwrap_err().contains("price_rub"));
    }
}
