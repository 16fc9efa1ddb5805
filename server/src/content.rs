//! Content managers edit in the CMS (Directus on the same database, see `scripts/cms.sh`):
//! SEO meta, the catalog's filter configuration, search synonyms, journal articles, product
//! texts and pictures. The server reads the tables directly; Directus need not run.
//!
//! Small, hot content (SEO meta, filters) is cached in memory and reloaded when a trigger
//! notifies channel `cms_changes` (migration 0008), with a periodic reload as the safety net
//! for a notification lost while the listening connection was down. Synonyms reloaded this way
//! are handed to the serving engine, so an edit takes effect without a restart. Articles and a
//! product's CMS extras are read per request: they are one indexed row each.
//!
//! **Ownership:** `catalog_items` is the import's; `catalog_item_content` is the CMS's. The
//! product texts the index holds come from the `catalog_documents` view that merges them, so
//! this module only adds what the index does not carry (picture, SEO texts).

use parking_lot::RwLock;
use serde::Serialize;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Channel the content tables' triggers notify (payload: the table's name).
pub const CHANNEL: &str = "cms_changes";

/// How often content is reloaded even without a notification.
pub const POLL_EVERY: Duration = Duration::from_secs(30);

/// SEO meta of one exact path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeoMeta {
    pub title: String,
    pub description: String,
    pub keywords: String,
    pub canonical: Option<String>,
    /// A Directus file id (see [`media_path`]).
    pub image: Option<String>,
    pub noindex: bool,
}

/// Title and description templates of one page type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeoTemplate {
    pub title: String,
    pub description: String,
}

/// One filter of the catalog, in the order the site shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FilterConf {
    /// `kind`, `category`, `brand`, `compatible_with`, `in_stock` or `price`.
    pub field: String,
    pub label: String,
}

/// The filters shown while the CMS has configured none.
pub fn default_filters() -> Vec<FilterConf> {
    [
        ("kind", "Тип"),
        ("in_stock", "Только в наличии"),
        ("price", "Цена, ₽"),
        ("compatible_with", "Для станка"),
        ("category", "Категория"),
        ("brand", "Производитель"),
    ]
    .into_iter()
    .map(|(field, label)| FilterConf {
        field: field.into(),
        label: label.into(),
    })
    .collect()
}

/// The cached content, replaced as a whole on reload.
#[derive(Debug, Clone, Default)]
pub struct ContentSnapshot {
    pub seo: HashMap<String, SeoMeta>,
    /// Pictures and SEO texts of the catalog items that have any (rows a manager filled in).
    pub items: HashMap<String, ItemExtras>,
    pub templates: HashMap<String, SeoTemplate>,
    /// Enabled filters in order.
    pub filters: Vec<FilterConf>,
}

impl ContentSnapshot {
    /// The filters to show: the configured ones, or the defaults when none are configured.
    pub fn filters(&self) -> Vec<FilterConf> {
        self.filters.clone()
    }

    pub fn shows(&self, field: &str) -> bool {
        self.filters.iter().any(|f| f.field == field)
    }

    /// Title and description for a page: the path's own meta, else the page type's template
    /// filled with `vars`, else `fallback`. Returns the meta row too (canonical, image,
    /// noindex).
    pub fn page_meta(
        &self,
        path: &str,
        page_type: &str,
        vars: &[(&str, &str)],
        fallback: (String, String),
    ) -> (String, String, Option<&SeoMeta>) {
        let own = self.seo.get(path);
        let tpl = self.templates.get(page_type);
        let pick = |own: Option<&str>, tpl: Option<&str>, fb: String| {
            own.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .or_else(|| {
                    tpl.map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|t| fill(t, vars))
                })
                .unwrap_or(fb)
        };
        let title = pick(
            own.map(|m| m.title.as_str()),
            tpl.map(|t| t.title.as_str()),
            fallback.0,
        );
        let description = pick(
            own.map(|m| m.description.as_str()),
            tpl.map(|t| t.description.as_str()),
            fallback.1,
        );
        (title, description, own)
    }
}

/// Replaces `{name}`-style placeholders with `vars`; unknown placeholders stay as written,
/// and a placeholder whose value is empty disappears with the separator space before it.
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let key = &after[..end];
                match vars.iter().find(|(k, _)| *k == key) {
                    Some((_, "")) => {
                        while out.ends_with(' ') {
                            out.pop();
                        }
                    }
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    // Collapse the spaces a dropped placeholder leaves (not the no-break ones of prices).
    out.split([' ', '\t', '\n'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A journal article as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ArticleSummary {
    pub slug: String,
    pub title: String,
    pub summary: String,
    /// Path of the cover picture (`/media/…`), if any.
    pub cover: Option<String>,
    pub published_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A published article, whole.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Article {
    #[serde(flatten)]
    pub summary: ArticleSummary,
    /// Markdown.
    pub body: String,
    pub seo_title: String,
    pub seo_description: String,
}

/// What the CMS adds to a catalog item beyond the texts the index holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemExtras {
    pub image: Option<String>,
    pub seo_title: String,
    pub seo_description: String,
}

/// The URL path the site serves an uploaded file at.
pub fn media_path(file_id: &str) -> String {
    format!("/media/{file_id}")
}

/// Visible articles: published, and their date has come.
const VISIBLE: &str = "status = 'published' AND published_at IS NOT NULL AND published_at <= now()";

/// Content read from Postgres, cached where hot.
pub struct Content {
    pool: PgPool,
    /// Where Directus stores uploads (its `STORAGE_LOCAL_ROOT`).
    pub files_dir: std::path::PathBuf,
    /// Resized variants of uploaded pictures, made on first request.
    pub variants_dir: std::path::PathBuf,
    snap: RwLock<Arc<ContentSnapshot>>,
    /// The synonym rows last handed to the engine (to hand over only a change).
    synonyms_seen: parking_lot::Mutex<Option<Vec<(String, String)>>>,
}

impl Content {
    /// Loads the cached content once. Uploaded files are read from `files_dir`; their resized
    /// variants are kept in `variants_dir`.
    pub async fn load(
        pool: PgPool,
        files_dir: std::path::PathBuf,
        variants_dir: std::path::PathBuf,
    ) -> anyhow::Result<Arc<Content>> {
        let c = Arc::new(Content {
            pool,
            files_dir,
            variants_dir,
            snap: RwLock::new(Arc::new(ContentSnapshot {
                filters: default_filters(),
                ..Default::default()
            })),
            synonyms_seen: parking_lot::Mutex::new(None),
        });
        c.reload().await?;
        Ok(c)
    }

    pub fn snapshot(&self) -> Arc<ContentSnapshot> {
        self.snap.read().clone()
    }

    /// Re-reads SEO meta, templates and filters.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let seo = sqlx::query_as::<_, SeoRow>(
            "SELECT path, title, description, keywords, canonical, image, noindex FROM seo_meta",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            (
                r.path,
                SeoMeta {
                    title: r.title,
                    description: r.description,
                    keywords: r.keywords,
                    canonical: r.canonical.filter(|c| !c.trim().is_empty()),
                    image: r.image.map(|u| u.to_string()),
                    noindex: r.noindex,
                },
            )
        })
        .collect();
        let templates = sqlx::query_as::<_, (String, String, String)>(
            "SELECT page_type, title, description FROM seo_templates",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|(t, title, description)| (t, SeoTemplate { title, description }))
        .collect();
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT field, label, enabled FROM catalog_filters ORDER BY position, id",
        )
        .fetch_all(&self.pool)
        .await?;
        let filters = if rows.is_empty() {
            default_filters()
        } else {
            let defaults = default_filters();
            rows.into_iter()
                .filter(|(_, _, enabled)| *enabled)
                .map(|(field, label, _)| {
                    let label = if label.trim().is_empty() {
                        defaults
                            .iter()
                            .find(|d| d.field == field)
                            .map(|d| d.label.clone())
                            .unwrap_or_else(|| field.clone())
                    } else {
                        label.trim().to_string()
                    };
                    FilterConf { field, label }
                })
                .collect()
        };
        let items = sqlx::query_as::<_, (String, Option<uuid::Uuid>, String, String)>(
            "SELECT item_id, image, seo_title, seo_description FROM catalog_item_content
             WHERE image IS NOT NULL OR btrim(seo_title) <> '' OR btrim(seo_description) <> ''",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|(id, image, seo_title, seo_description)| {
            (
                id,
                ItemExtras {
                    image: image.map(|u| u.to_string()),
                    seo_title,
                    seo_description,
                },
            )
        })
        .collect();
        *self.snap.write() = Arc::new(ContentSnapshot {
            seo,
            items,
            templates,
            filters,
        });
        Ok(())
    }

    /// Hands the engine the synonyms when their rows changed since the last call (or on the
    /// first call). Returns whether it did.
    pub async fn sync_synonyms(&self, live: &indexer::Live) -> anyhow::Result<bool> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT term, synonyms FROM search_synonyms ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        {
            let seen = self.synonyms_seen.lock();
            if seen.as_ref() == Some(&rows) {
                return Ok(false);
            }
        }
        let syn = crate::synonyms_with(&rows)?;
        live.engine().set_synonyms(Arc::new(syn));
        tracing::info!(groups = rows.len(), "search synonyms reloaded");
        *self.synonyms_seen.lock() = Some(rows);
        Ok(true)
    }

    /// Keeps the cache and the engine's synonyms current until `shutdown`: reloads on every
    /// notification and every [`POLL_EVERY`].
    pub async fn run(
        self: Arc<Self>,
        live: Arc<indexer::Live>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&self.pool).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN cms_changes failed; polling only");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "content listener unavailable; polling only");
                None
            }
        };
        // Listening first, then reading: an edit committed before LISTEN is in this read, one
        // after it is notified, so none waits for the poll.
        if let Err(e) = self.reload().await {
            tracing::warn!(error = %e, "reloading content");
        }
        // The engine was opened with the synonyms of its start; remember them as seen.
        if let Err(e) = self.sync_synonyms(&live).await {
            tracing::warn!(error = %e, "reading synonyms");
        }
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.tick().await;
        loop {
            let notified = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await.map(|n| n.payload().to_string()),
                    None => std::future::pending().await,
                }
            };
            let mut synonyms_too = tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => true,
                n = notified => match n {
                    Ok(table) => table == "search_synonyms",
                    Err(e) => {
                        tracing::warn!(error = %e, "content listener error; it reconnects");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        true
                    }
                },
            };
            // Coalesce a burst of edits (a Directus batch save notifies once per statement).
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Some(l) = listener.as_mut() {
                while let Some(n) = l.next_buffered() {
                    synonyms_too |= n.payload() == "search_synonyms";
                }
            }
            if let Err(e) = self.reload().await {
                tracing::warn!(error = %e, "reloading content");
            }
            if synonyms_too {
                if let Err(e) = self.sync_synonyms(&live).await {
                    tracing::warn!(error = %e, "reloading synonyms");
                }
            }
        }
    }

    /// Visible articles, newest first.
    pub async fn articles(
        &self,
        limit: i64,
        offset: i64,
    ) -> anyhow::Result<(Vec<ArticleSummary>, i64)> {
        let rows = sqlx::query_as::<_, ArticleRow>(&format!(
            "SELECT slug, title, summary, cover, published_at, updated_at, '' AS body,
                    '' AS seo_title, '' AS seo_description
             FROM articles WHERE {VISIBLE} ORDER BY published_at DESC, id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM articles WHERE {VISIBLE}"))
                .fetch_one(&self.pool)
                .await?;
        Ok((
            rows.into_iter().map(|r| r.into_article().summary).collect(),
            total,
        ))
    }

    /// A visible article by slug.
    pub async fn article(&self, slug: &str) -> anyhow::Result<Option<Article>> {
        let row = sqlx::query_as::<_, ArticleRow>(&format!(
            "SELECT slug, title, summary, cover, published_at, updated_at, body, seo_title,
                    seo_description
             FROM articles WHERE slug = $1 AND {VISIBLE}"
        ))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(ArticleRow::into_article))
    }

    /// Slugs and dates of every visible article (the sitemap).
    pub async fn article_dates(
        &self,
    ) -> anyhow::Result<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
        Ok(sqlx::query_as(&format!(
            "SELECT slug, updated_at FROM articles WHERE {VISIBLE} ORDER BY published_at DESC"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    /// The CMS's picture and SEO texts of a catalog item (from the cache: a product page
    /// costs no database query).
    pub fn item_extras(&self, id: &str) -> ItemExtras {
        self.snapshot().items.get(id).cloned().unwrap_or_default()
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[derive(sqlx::FromRow)]
struct SeoRow {
    path: String,
    title: String,
    description: String,
    keywords: String,
    canonical: Option<String>,
    image: Option<uuid::Uuid>,
    noindex: bool,
}

#[derive(sqlx::FromRow)]
struct ArticleRow {
    slug: String,
    title: String,
    summary: String,
    cover: Option<uuid::Uuid>,
    published_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    body: String,
    seo_title: String,
    seo_description: String,
}

impl ArticleRow {
    fn into_article(self) -> Article {
        Article {
            summary: ArticleSummary {
                slug: self.slug,
                title: self.title,
                summary: self.summary,
                cover: self.cover.map(|u| media_path(&u.to_string())),
                published_at: self.published_at,
                updated_at: self.updated_at,
            },
            body: self.body,
            seo_title: self.seo_title,
            seo_description: self.seo_description,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_known_placeholders_and_drop_empty_ones() {
        let vars = [
            ("name", "Подшипник 6205"),
            ("brand", ""),
            ("price", "450 ₽"),
        ];
        assert_eq!(
            fill("Купить {name} {brand} — {price} | {site}", &vars),
            "Купить Подшипник 6205 — 450 ₽ | {site}"
        );
        assert_eq!(fill("{name", &vars), "{name");
        assert_eq!(fill("", &vars), "");
    }

    #[test]
    fn page_meta_prefers_the_path_then_the_template_then_the_fallback() {
        let mut c = ContentSnapshot::default();
        let fb = || ("Сгенерировано".to_string(), "Описание".to_string());
        assert_eq!(c.page_meta("/p/1", "product", &[], fb()).0, "Сгенерировано");
        c.templates.insert(
            "product".into(),
            SeoTemplate {
                title: "{name} в наличии".into(),
                description: " ".into(),
            },
        );
        let (t, d, _) = c.page_meta("/p/1", "product", &[("name", "Вал")], fb());
        assert_eq!((t.as_str(), d.as_str()), ("Вал в наличии", "Описание"));
        c.seo.insert(
            "/p/1".into(),
            SeoMeta {
                title: "Свой заголовок".into(),
                ..Default::default()
            },
        );
        let (t, d, own) = c.page_meta("/p/1", "product", &[("name", "Вал")], fb());
        assert_eq!((t.as_str(), d.as_str()), ("Свой заголовок", "Описание"));
        assert!(own.is_some());
        assert_eq!(
            c.page_meta("/p/2", "product", &[("name", "Ось")], fb()).0,
            "Ось в наличии"
        );
    }
}
