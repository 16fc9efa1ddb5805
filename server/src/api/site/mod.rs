//! The customer-facing site: the pages search engines read, rendered here (`/p/{id}`,
//! `/c/{category}`, `/sitemap.xml`, `/robots.txt`), and the built React app (`web/dist`) for
//! everything else, which takes over in the browser.
//!
//! **Architecture Invariant:** a server-rendered page needs no JavaScript to be read: its
//! title, meta description, canonical URL, Open Graph and schema.org JSON-LD are in the HTML
//! this module sends. The React bundle is found through Vite's manifest at start-up; without a
//! build, the rendered pages still work and only the app shell says it is missing.

mod media;
mod pages;
mod sitemap;

use super::error::ApiError;
use super::{catalog_item_of, ensure_ready, AppState};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use search_core::{Filters, Mode, SearchRequest};
use std::path::{Path as FsPath, PathBuf};
use tower::ServiceExt;

/// Most URLs in one sitemap file (the sitemaps.org limit); past it `/sitemap.xml` is an index.
pub const SITEMAP_MAX_URLS: usize = 50_000;
/// Cards per category page.
pub const CATEGORY_PAGE_SIZE: usize = 24;

/// The built web app and what the rendered pages need to load it.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// `web/dist`, when it holds a build.
    dist: Option<PathBuf>,
    /// `index.html` of the build: the app shell of the client-side routes.
    shell: Option<String>,
    /// `<script>` and `<link>` tags of the entry chunk, for the rendered pages.
    head_tags: String,
    /// Only the stylesheet tags: pages the app does not take over (the journal).
    style_tags: String,
    /// `PUBLIC_BASE_URL` without a trailing slash; else taken from the request's `Host`.
    base_url: Option<String>,
    /// URLs per sitemap file (tests lower it to see the index).
    sitemap_chunk: usize,
}

impl Site {
    /// The site served from a Vite build in `dist` (`None` or a folder without a build: the
    /// rendered pages only).
    pub fn load(dist: Option<&FsPath>, base_url: &str) -> Site {
        let mut site = Site {
            base_url: Some(base_url.trim_end_matches('/').to_string()).filter(|b| !b.is_empty()),
            sitemap_chunk: SITEMAP_MAX_URLS,
            ..Site::default()
        };
        let Some(dist) = dist else { return site };
        match std::fs::read_to_string(dist.join("index.html")) {
            Ok(shell) => {
                (site.style_tags, site.head_tags) = entry_tags(dist)
                    .map(|(css, js)| (css.clone(), css + &js))
                    .unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "web build without a usable .vite/manifest.json");
                        Default::default()
                    });
                site.shell = Some(shell);
                site.dist = Some(dist.to_path_buf());
            }
            Err(e) => tracing::warn!(
                dir = %dist.display(),
                error = %e,
                "no web build (run scripts/run.sh or npm run build in web/): serving the rendered pages only"
            ),
        }
        site
    }

    /// URLs per sitemap file; at least 2 (the home page and one more).
    pub fn with_sitemap_chunk(mut self, n: usize) -> Site {
        self.sitemap_chunk = n.max(2);
        self
    }

    /// Whether the configured public address is https (session cookies are then `Secure`).
    pub(crate) fn is_https(&self) -> bool {
        self.base_url
            .as_deref()
            .is_some_and(|b| b.starts_with("https://"))
    }

    /// The site's absolute base URL: `PUBLIC_BASE_URL`, else `http://` and the request's `Host`.
    pub(crate) fn base(&self, headers: &HeaderMap) -> String {
        if let Some(b) = &self.base_url {
            return b.clone();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| {
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or("localhost");
        format!("http://{host}")
    }
}

/// The entry chunk's style and script tags from Vite's manifest.
fn entry_tags(dist: &FsPath) -> anyhow::Result<(String, String)> {
    let raw = std::fs::read(dist.join(".vite/manifest.json"))?;
    let manifest: serde_json::Value = serde_json::from_slice(&raw)?;
    let entry = manifest
        .as_object()
        .and_then(|m| m.values().find(|c| c["isEntry"] == true))
        .ok_or_else(|| anyhow::anyhow!("no entry chunk"))?;
    let file = entry["file"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("entry without a file"))?;
    let mut tags = String::new();
    for css in entry["css"].as_array().into_iter().flatten() {
        if let Some(css) = css.as_str() {
            tags.push_str(&format!(
                r#"<link rel="stylesheet" crossorigin href="/{css}">"#
            ));
        }
    }
    let script = format!(r#"<script type="module" crossorigin src="/{file}"></script>"#);
    Ok((tags, script))
}

/// The site's routes; the router adds [`fallback`] after them.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/cart", get(shell))
        .route("/tma", get(shell))
        .route("/tma/", get(shell))
        .route("/tma/{*rest}", get(shell))
        .route("/app", get(shell))
        .route("/app/", get(shell))
        .route("/app/{*rest}", get(shell))
        .route("/p/{id}", get(product_page))
        .route("/c/{category}", get(category_page))
        .route("/journal", get(journal_page))
        .route("/journal/{slug}", get(article_page))
        .route("/media/{file}", get(media::media))
        .route("/robots.txt", get(robots))
        .route("/sitemap.xml", get(sitemap::sitemap))
        .route("/sitemap-{n}", get(sitemap::sitemap_part))
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// The app shell: the client-side routes (search, cart, Mini App) render in the browser.
async fn shell(State(state): State<AppState>) -> Response {
    match &state.site.shell {
        Some(s) => html(StatusCode::OK, s.clone()),
        None => html(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::no_build().into_string(),
        ),
    }
}

/// `/`: the app shell with the home page's title and description from the CMS, if it set
/// them (the search page itself renders in the browser).
async fn home(State(state): State<AppState>) -> Response {
    let Some(shell) = &state.site.shell else {
        return shell(State(state)).await;
    };
    let content = state.content_snapshot();
    let (title, description, _) =
        content.page_meta("/", "home", &[], (String::new(), String::new()));
    let mut page = shell.clone();
    if !title.is_empty() {
        page = replace_between(
            &page,
            "<title>",
            "</title>",
            &maud::html!((title)).into_string(),
        );
    }
    if !description.is_empty() {
        page = replace_between(
            &page,
            r#"<meta name="description" content=""#,
            "\"",
            &maud::html!((description))
                .into_string()
                .replace('"', "&quot;"),
        );
    }
    html(StatusCode::OK, page)
}

/// `text` with what lies between the first `start` and the next `end` replaced.
fn replace_between(text: &str, start: &str, end: &str, with: &str) -> String {
    let Some(a) = text.find(start).map(|i| i + start.len()) else {
        return text.to_string();
    };
    let Some(b) = text[a..].find(end).map(|i| a + i) else {
        return text.to_string();
    };
    format!("{}{with}{}", &text[..a], &text[b..])
}

/// Unmatched paths: API paths get the JSON error, files of the web build are served (hashed
/// assets cached for a year), anything else is the site's 404 page.
pub(super) async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::NoRoute.into_response();
    }
    if let Some(dist) = &state.site.dist {
        let immutable = path.starts_with("/assets/");
        let is_file = !path.ends_with('/');
        // The service worker and the manifest must be re-read on every check for an update.
        let revalidate =
            path == "/sw.js" || path == "/index.html" || path.ends_with(".webmanifest");
        if is_file {
            let Ok(res) = tower_http::services::ServeDir::new(dist).oneshot(req).await;
            if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
                let mut res = res.map(axum::body::Body::new);
                res.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(if immutable {
                        "public, max-age=31536000, immutable"
                    } else if revalidate {
                        "no-cache"
                    } else {
                        "public, max-age=300"
                    }),
                );
                return res;
            }
        }
    }
    not_found(&state.site)
}

fn not_found(site: &Site) -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::not_found(&site.head_tags).into_string(),
    )
}

/// A page's failure as HTML for people: not ready is 503, anything else 500 (logged).
fn page_error(site: &Site, e: ApiError) -> Response {
    match e {
        ApiError::NotReady => html(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::not_ready(&site.head_tags).into_string(),
        ),
        other => {
            tracing::error!(error = %other, "page failed");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::failed(&site.head_tags).into_string(),
            )
        }
    }
}

/// `/p/{id}`: a machine or spare part with its attributes, price, stock and compatibility.
async fn product_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let site = state.site.clone();
    if let Err(e) = ensure_ready(&state) {
        return page_error(&site, e);
    }
    if id.is_empty() || id.len() > 128 {
        return not_found(&site);
    }
    let engine = state.engine();
    let item = tokio::task::spawn_blocking(move || catalog_item_of(&engine.snapshot(), &id))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("product page task: {e}")));
    match item {
        Ok(Ok(Some(mut item))) => {
            let extras = super::item_extras(&state, &item.id);
            item.image = extras.image.as_deref().map(crate::content::media_path);
            html(
                StatusCode::OK,
                pages::product(
                    &item,
                    &extras,
                    &state.content_snapshot(),
                    &site.base(&headers),
                    &site.head_tags,
                )
                .into_string(),
            )
        }
        Ok(Ok(None)) => not_found(&site),
        Ok(Err(e)) | Err(e) => page_error(&site, e),
    }
}

/// `/c/{category}?page=N`: the category's cards, in pages of [`CATEGORY_PAGE_SIZE`].
async fn category_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(category): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let site = state.site.clone();
    if let Err(e) = ensure_ready(&state) {
        return page_error(&site, e);
    }
    let Some(page) = page_param(query.as_deref()) else {
        return not_found(&site);
    };
    let offset = (page - 1) * CATEGORY_PAGE_SIZE;
    if category.is_empty() || category.len() > super::MAX_FILTER_CHARS || offset > super::MAX_OFFSET
    {
        return not_found(&site);
    }
    let engine = state.engine();
    let cat = category.clone();
    let res = tokio::task::spawn_blocking(move || {
        engine.snapshot().search(&SearchRequest {
            filters: Filters {
                category: Some(cat),
                ..Filters::default()
            },
            limit: CATEGORY_PAGE_SIZE,
            offset,
            ..SearchRequest::new(String::new(), Mode::Lexical)
        })
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("category page task: {e}")));
    match res {
        Ok(Ok(res)) if res.total == 0 || res.hits.is_empty() => not_found(&site),
        Ok(Ok(res)) => {
            let docs: Vec<&search_core::CatalogDoc> = res.hits.iter().map(|h| &*h.doc).collect();
            html(
                StatusCode::OK,
                pages::category(
                    &category,
                    &docs,
                    res.total,
                    page,
                    &state.content_snapshot(),
                    &site.base(&headers),
                    &site.head_tags,
                )
                .into_string(),
            )
        }
        Ok(Err(e)) => page_error(&site, e.into()),
        Err(e) => page_error(&site, e),
    }
}

/// The `page` query parameter (1 when absent; `None` when not a positive number).
fn page_param(query: Option<&str>) -> Option<usize> {
    query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("page="))
        .map(|p| p.parse::<usize>().ok().filter(|p| *p >= 1))
        .unwrap_or(Some(1))
}

/// `/journal?page=N`: published articles, newest first.
async fn journal_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let site = state.site.clone();
    let (Some(content), Some(page)) = (state.content.clone(), page_param(query.as_deref())) else {
        return not_found(&site);
    };
    let size = pages::JOURNAL_PAGE_SIZE;
    if page > 10_000 {
        return not_found(&site);
    }
    match content
        .articles(size as i64, ((page - 1) * size) as i64)
        .await
    {
        Ok((list, total)) if page > 1 && list.is_empty() => {
            let _ = total;
            not_found(&site)
        }
        Ok((list, total)) => html(
            StatusCode::OK,
            pages::journal(
                &list,
                total,
                page,
                &state.content_snapshot(),
                &site.base(&headers),
                &site.style_tags,
            )
            .into_string(),
        ),
        Err(e) => page_error(&site, ApiError::Internal(e)),
    }
}

/// `/journal/{slug}`: a published article (drafts and future dates are 404).
async fn article_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    let site = state.site.clone();
    let Some(content) = state.content.clone() else {
        return not_found(&site);
    };
    if slug.is_empty()
        || slug.len() > 200
        || !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return not_found(&site);
    }
    match content.article(&slug).await {
        Ok(Some(a)) => html(
            StatusCode::OK,
            pages::article(
                &a,
                &state.content_snapshot(),
                &site.base(&headers),
                &site.style_tags,
            )
            .into_string(),
        ),
        Ok(None) => not_found(&site),
        Err(e) => page_error(&site, ApiError::Internal(e)),
    }
}

async fn robots(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = state.site.base(&headers);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        format!(
            "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /cart\nDisallow: /tma\n\nSitemap: {base}/sitemap.xml\n"
        ),
    )
        .into_response()
}

/// The URL path of a category page (`/c/` and the percent-encoded name).
pub fn category_path(category: &str) -> String {
    format!("/c/{}", percent_encode(category))
}

/// The URL path of a journal article.
pub fn article_path(slug: &str) -> String {
    format!("/journal/{}", percent_encode(slug))
}

/// The URL path of a product page.
pub fn product_path(id: &str) -> String {
    format!("/p/{}", percent_encode(id))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A price in roubles as people read it: groups of three split by a narrow no-break space,
/// kopecks after a comma only when there are any, `₽` after a no-break space.
pub fn rub(price: f64) -> String {
    let kopecks = (price * 100.0).round() as i64;
    let (whole, frac) = (kopecks / 100, kopecks % 100);
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202F}');
        }
        out.push(c);
    }
    if frac != 0 {
        out.push_str(&format!(",{frac:02}"));
    }
    out.push_str("\u{00A0}₽");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_group_thousands_with_thin_spaces() {
        assert_eq!(rub(0.0), "0\u{a0}₽");
        assert_eq!(rub(950.0), "950\u{a0}₽");
        assert_eq!(rub(1234.0), "1\u{202f}234\u{a0}₽");
        assert_eq!(rub(1234567.5), "1\u{202f}234\u{202f}567,50\u{a0}₽");
        assert_eq!(rub(100000.004), "100\u{202f}000\u{a0}₽");
    }

    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(
            category_path("Подшипники"),
            "/c/%D0%9F%D0%BE%D0%B4%D1%88%D0%B8%D0%BF%D0%BD%D0%B8%D0%BA%D0%B8"
        );
        assert_eq!(product_path("a/b c"), "/p/a%2Fb%20c");
    }

    #[test]
    fn the_manifest_gives_the_entry_tags() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".vite")).unwrap();
        std::fs::write(
            dir.path().join(".vite/manifest.json"),
            r#"{"src/tma.tsx":{"file":"assets/tma-1.js","isDynamicEntry":true},
                "index.html":{"file":"assets/index-abc.js","isEntry":true,"css":["assets/index-def.css"]}}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
        let site = Site::load(Some(dir.path()), "https://shop.example.ru/");
        assert_eq!(
            site.head_tags,
            r#"<link rel="stylesheet" crossorigin href="/assets/index-def.css"><script type="module" crossorigin src="/assets/index-abc.js"></script>"#
        );
        // The journal's pages take the style only: the app does not take them over.
        assert_eq!(
            site.style_tags,
            r#"<link rel="stylesheet" crossorigin href="/assets/index-def.css">"#
        );
        assert_eq!(site.base(&HeaderMap::new()), "https://shop.example.ru");
        let bare = Site::load(Some(&dir.path().join("missing")), "");
        assert!(bare.shell.is_none() && bare.head_tags.is_empty());
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert_eq!(bare.base(&h), "http://127.0.0.1:8080");
        h.insert(header::HOST, HeaderValue::from_static("evil\"><script>"));
        assert_eq!(bare.base(&h), "http://localhost");
    }
}
