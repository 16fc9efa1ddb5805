//! `/sitemap.xml`: the home page, every category, the journal and its published articles,
//! and every product, from PostgreSQL (the catalog's source of truth). Past one file's limit
//! it is a sitemap index of `/sitemap-N.xml`.
//!
//! The URLs form one list in a fixed order — home, categories by name, the journal, articles
//! newest first, products by id — and part N holds its N-th slice, so parts never overlap and
//! together hold every URL.

use super::{category_path, not_found, page_error, product_path, AppState};
use crate::api::error::ApiError;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use sqlx::Row;

fn xml(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

struct Counts {
    /// Paths before the products, with their last change (`YYYY-MM-DD`) where known.
    pages: Vec<(String, Option<String>)>,
    products: usize,
}

impl Counts {
    fn urls(&self) -> usize {
        self.pages.len() + self.products
    }
}

async fn counts(pool: &sqlx::PgPool) -> Result<Counts, ApiError> {
    let categories = sqlx::query_scalar::<_, String>(
        "SELECT DISTINCT category FROM catalog_items WHERE category <> '' ORDER BY category",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let products: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog_items")
        .fetch_one(pool)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let articles: Vec<(String, String)> = sqlx::query_as(
        "SELECT slug, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
         FROM articles
         WHERE status = 'published' AND published_at IS NOT NULL AND published_at <= now()
         ORDER BY published_at DESC, id DESC",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let mut pages = vec![("/".to_string(), None)];
    pages.extend(categories.iter().map(|c| (category_path(c), None)));
    if let Some((_, newest)) = articles.first() {
        pages.push(("/journal".to_string(), Some(newest.clone())));
    }
    pages.extend(
        articles
            .into_iter()
            .map(|(slug, day)| (super::article_path(&slug), Some(day))),
    );
    Ok(Counts {
        pages,
        products: products as usize,
    })
}

/// The `<urlset>` of URLs `start..start + len` of the list.
async fn urlset(
    pool: &sqlx::PgPool,
    counts: &Counts,
    base: &str,
    start: usize,
    len: usize,
) -> Result<String, ApiError> {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let end = start + len;
    let url = |out: &mut String, loc: String, lastmod: Option<String>| {
        out.push_str("<url><loc>");
        out.push_str(&escape(&loc));
        out.push_str("</loc>");
        if let Some(d) = lastmod {
            out.push_str(&format!("<lastmod>{d}</lastmod>"));
        }
        out.push_str("</url>\n");
    };
    let pages_to = end.min(counts.pages.len());
    for (path, day) in counts
        .pages
        .get(start.min(pages_to)..pages_to)
        .unwrap_or(&[])
    {
        url(&mut out, format!("{base}{path}"), day.clone());
    }
    let first_product = counts.pages.len();
    if end > first_product {
        let offset = start.saturating_sub(first_product);
        let limit = end - first_product.max(start);
        let rows = sqlx::query(
            "SELECT id, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day
             FROM catalog_items ORDER BY id LIMIT $1 OFFSET $2",
        )
        .bind(limit as i64)
        .bind(offset as i64)
        .fetch_all(pool)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
        for r in rows {
            let id: String = r.get("id");
            url(
                &mut out,
                format!("{base}{}", product_path(&id)),
                r.get("day"),
            );
        }
    }
    out.push_str("</urlset>\n");
    Ok(out)
}

pub(super) async fn sitemap(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let site = state.site.clone();
    let Some(leads) = state.leads.as_deref() else {
        return not_found(&site);
    };
    let base = site.base(&headers);
    let result = async {
        let counts = counts(&leads.pool).await?;
        let chunk = site.sitemap_chunk;
        if counts.urls() <= chunk {
            return urlset(&leads.pool, &counts, &base, 0, chunk).await;
        }
        let mut out = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
        );
        for n in 1..=counts.urls().div_ceil(chunk) {
            out.push_str(&format!(
                "<sitemap><loc>{}/sitemap-{n}.xml</loc></sitemap>\n",
                escape(&base)
            ));
        }
        out.push_str("</sitemapindex>\n");
        Ok(out)
    }
    .await;
    match result {
        Ok(body) => xml(body),
        Err(e) => page_error(&site, e),
    }
}

/// `/sitemap-N.xml`, part N (from 1) of a sitemap index.
pub(super) async fn sitemap_part(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    let site = state.site.clone();
    let (Some(leads), Some(n)) = (
        state.leads.as_deref(),
        file.strip_suffix(".xml")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n >= 1),
    ) else {
        return not_found(&site);
    };
    let base = site.base(&headers);
    let chunk = site.sitemap_chunk;
    let result = async {
        let counts = counts(&leads.pool).await?;
        if (n - 1) * chunk >= counts.urls() {
            return Ok(None);
        }
        urlset(&leads.pool, &counts, &base, (n - 1) * chunk, chunk)
            .await
            .map(Some)
    }
    .await;
    match result {
        Ok(Some(body)) => xml(body),
        Ok(None) => not_found(&site),
        Err(e) => page_error(&site, e),
    }
}
