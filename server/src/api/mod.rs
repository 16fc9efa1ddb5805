//! HTTP routes, DTOs and middleware.

pub mod attributes;
mod auth_routes;
pub mod error;
pub mod lead_routes;
pub mod limits;
pub mod metrics;
mod notify_routes;
pub mod openapi;
mod portal_routes;
mod schema;
pub mod site;

use crate::api::error::{invalid, ApiError, ErrorBody};
use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use search_core::{Engine, Filters, Kind, Mode, SearchRequest};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use limits::{
    MAX_BODY_BYTES, MAX_FILTER_CHARS, MAX_LIMIT, MAX_OFFSET, SUGGEST_DEFAULT_LIMIT,
    SUGGEST_MAX_CHARS, SUGGEST_MAX_LIMIT,
};

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    /// The serving engine and its indexer; swapped as one by a reindex.
    pub live: Arc<indexer::Live>,
    pub metrics: Arc<metrics::Metrics>,
    /// Bearer token of the operator routes (`ADMIN_TOKEN`); `None` turns them off.
    pub admin_token: Option<Arc<str>>,
    /// Lead, webhook and park routes (`None`: those routes answer 404).
    pub leads: Option<Arc<lead_routes::LeadsState>>,
    /// Permits to compute a search. Searches are CPU-bound: many more of them at once than
    /// there are cores only adds blocking threads that preempt each other (one holding a lock
    /// stalls the rest; p99 at 64 connections was 330–534 ms), so the rest wait here, on the
    /// async side, in arrival order.
    search_slots: Arc<tokio::sync::Semaphore>,
    /// The web site: rendered pages and the built app (none until [`AppState::with_site`]).
    pub site: Arc<site::Site>,
    /// CMS content (SEO, filters, journal, product extras); `None`: generated texts and the
    /// default filters only.
    pub content: Option<Arc<crate::content::Content>>,
    /// Set on SIGTERM: `/readyz` answers 503 so the proxy takes this replica out of the pool
    /// while it still serves what reaches it.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Query embeddings in batches, off the search slots (`None`: the engine embeds inside the
    /// search, one query at a time).
    pub query_batcher: Option<crate::query_embed::QueryBatcher>,
}

/// Searches computed at once unless configured: twice the cores. Side by side at 16 and 64
/// connections on 2 cores, 4 permits served 10–25 % more than 2 (a permit holder's thread is
/// sometimes off-CPU in HTTP work or preempted by the load generator) and no permit limit
/// collapsed at 64 connections (640 req/s, p99 534 ms).
pub fn default_search_concurrency() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl AppState {
    pub fn new(live: Arc<indexer::Live>, admin_token: Option<String>) -> AppState {
        AppState {
            live,
            metrics: Arc::new(metrics::Metrics::default()),
            admin_token: admin_token.filter(|t| !t.is_empty()).map(Arc::from),
            leads: None,
            search_slots: Arc::new(tokio::sync::Semaphore::new(default_search_concurrency())),
            site: Arc::new(site::Site::load(None, "")),
            content: None,
            draining: Arc::default(),
            query_batcher: None,
        }
    }

    /// Serves CMS content.
    pub fn with_content(mut self, content: Arc<crate::content::Content>) -> AppState {
        self.content = Some(content);
        self
    }

    /// The cached CMS content, or the defaults without a CMS.
    pub(crate) fn content_snapshot(&self) -> Arc<crate::content::ContentSnapshot> {
        match &self.content {
            Some(c) => c.snapshot(),
            None => Arc::new(crate::content::ContentSnapshot {
                filters: crate::content::default_filters(),
                ..Default::default()
            }),
        }
    }

    /// Serves the web site (the rendered pages and, when built, the app).
    pub fn with_site(mut self, site: site::Site) -> AppState {
        self.site = Arc::new(site);
        self
    }

    /// Embeds the queries of hybrid and semantic searches in batches (see `query_embed`).
    pub fn with_query_batcher(
        mut self,
        batcher: Option<crate::query_embed::QueryBatcher>,
    ) -> AppState {
        self.query_batcher = batcher;
        self
    }

    /// Computes at most `n` searches at once (at least one).
    pub fn with_search_concurrency(mut self, n: usize) -> AppState {
        self.search_slots = Arc::new(tokio::sync::Semaphore::new(n.max(1)));
        self
    }

    /// Turns on the lead, webhook and park routes.
    pub fn with_leads(mut self, leads: lead_routes::LeadsState) -> AppState {
        self.leads = Some(Arc::new(leads));
        self
    }

    fn engine(&self) -> Arc<Engine> {
        self.live.engine()
    }
}

/// Search parameters as they arrive (query string or JSON), before validation.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[schema(
    as = SearchRequest,
    description = "Every field is optional; null means absent. price_min must not exceed price_max (400 otherwise)."
)]
#[into_params(parameter_in = Query)]
pub struct RawSearch {
    #[schema(schema_with = schema::body::q)]
    #[param(schema_with = schema::param::q)]
    pub q: Option<String>,
    #[schema(schema_with = schema::body::mode)]
    #[param(schema_with = schema::param::mode)]
    pub mode: Option<String>,
    #[schema(schema_with = schema::body::kind)]
    #[param(schema_with = schema::param::kind)]
    pub kind: Option<String>,
    #[schema(schema_with = schema::body::filter)]
    #[param(schema_with = schema::param::filter)]
    pub category: Option<String>,
    #[schema(schema_with = schema::body::filter)]
    #[param(schema_with = schema::param::filter)]
    pub brand: Option<String>,
    #[schema(schema_with = schema::body::compatible_with)]
    #[param(schema_with = schema::param::compatible_with)]
    pub compatible_with: Option<String>,
    #[schema(schema_with = schema::body::in_stock)]
    #[param(schema_with = schema::param::in_stock)]
    pub in_stock: Option<serde_json::Value>,
    #[schema(schema_with = schema::body::price_min)]
    #[param(schema_with = schema::param::price_min)]
    pub price_min: Option<serde_json::Value>,
    #[schema(schema_with = schema::body::price_max)]
    #[param(schema_with = schema::param::price_max)]
    pub price_max: Option<serde_json::Value>,
    #[schema(schema_with = schema::body::limit)]
    #[param(schema_with = schema::param::limit)]
    pub limit: Option<serde_json::Value>,
    #[schema(schema_with = schema::body::offset)]
    #[param(schema_with = schema::param::offset)]
    pub offset: Option<serde_json::Value>,
}

fn num(field: &str, v: &Option<serde_json::Value>) -> Result<Option<f64>, ApiError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_f64()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| invalid(field, "ожидается число")),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| invalid(field, format!("ожидается число, получено «{s}»"))),
        Some(_) => Err(invalid(field, "ожидается число")),
    }
}

fn uint(field: &str, v: &Option<serde_json::Value>, max: usize) -> Result<Option<usize>, ApiError> {
    match num(field, v)? {
        None => Ok(None),
        Some(x) if x.fract() != 0.0 || x < 0.0 => {
            Err(invalid(field, "ожидается целое неотрицательное число"))
        }
        Some(x) if x > max as f64 => Err(invalid(field, format!("не больше {max}"))),
        Some(x) => Ok(Some(x as usize)),
    }
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl RawSearch {
    /// In a JSON body, numbers and booleans must be JSON numbers and booleans: only the query
    /// string, which has nothing but text, has them parsed from strings.
    pub fn check_json_types(&self) -> Result<(), ApiError> {
        use serde_json::Value;
        for (field, v) in [
            ("price_min", &self.price_min),
            ("price_max", &self.price_max),
            ("limit", &self.limit),
            ("offset", &self.offset),
        ] {
            if matches!(v, Some(Value::String(_))) {
                return Err(invalid(field, "ожидается число, а не строка"));
            }
        }
        if matches!(self.in_stock, Some(Value::String(_))) {
            return Err(invalid("in_stock", "ожидается true или false, а не строка"));
        }
        Ok(())
    }

    /// Validates into an engine request.
    pub fn validate(&self) -> Result<SearchRequest, ApiError> {
        let text = self.q.clone().unwrap_or_default();
        if text.chars().count() > search_core::MAX_QUERY_CHARS {
            return Err(invalid(
                "q",
                format!("не длиннее {} символов", search_core::MAX_QUERY_CHARS),
            ));
        }
        let mode = match nonempty(&self.mode) {
            None => Mode::Hybrid,
            Some(m) => Mode::parse(&m)
                .ok_or_else(|| invalid("mode", "допустимо hybrid, lexical или semantic"))?,
        };
        let kind = match nonempty(&self.kind) {
            None => None,
            Some(k) => Some(
                Kind::parse(&k)
                    .ok_or_else(|| invalid("kind", "допустимо product или spare_part"))?,
            ),
        };
        let in_stock = match &self.in_stock {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Bool(b)) => Some(*b),
            Some(serde_json::Value::String(s)) => match s.trim() {
                "" => None,
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => return Err(invalid("in_stock", "допустимо true или false")),
            },
            Some(_) => return Err(invalid("in_stock", "допустимо true или false")),
        };
        let price_min = num("price_min", &self.price_min)?;
        let price_max = num("price_max", &self.price_max)?;
        for (f, p) in [("price_min", price_min), ("price_max", price_max)] {
            if p.is_some_and(|p| p < 0.0) {
                return Err(invalid(f, "цена не может быть отрицательной"));
            }
        }
        if let (Some(lo), Some(hi)) = (price_min, price_max) {
            if lo > hi {
                return Err(invalid("price_min", "больше, чем price_max"));
            }
        }
        let limit = uint("limit", &self.limit, MAX_LIMIT)?.unwrap_or(10);
        if limit == 0 {
            return Err(invalid("limit", "от 1 до 100"));
        }
        let offset = uint("offset", &self.offset, MAX_OFFSET)?.unwrap_or(0);
        for (f, v) in [
            ("category", &self.category),
            ("brand", &self.brand),
            ("compatible_with", &self.compatible_with),
        ] {
            if v.as_ref().is_some_and(|s| s.len() > MAX_FILTER_CHARS) {
                return Err(invalid(
                    f,
                    format!("не длиннее {MAX_FILTER_CHARS} символов"),
                ));
            }
        }
        Ok(SearchRequest {
            text,
            mode,
            filters: Filters {
                kind,
                category: nonempty(&self.category),
                brand: nonempty(&self.brand),
                compatible_with: nonempty(&self.compatible_with),
                in_stock,
                price_min,
                price_max,
            },
            limit,
            offset,
            highlight: true,
        })
    }
}

/// Query-string extractor that rejects with our error shape.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        let RawQuery(q) = RawQuery::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::InvalidBody(e.to_string()))?;
        let q = q.unwrap_or_default();
        serde_urlencoded_from_str(&q).map(ApiQuery)
    }
}

fn serde_urlencoded_from_str<T: serde::de::DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    // Parse pairs ourselves so every value arrives as a string and our validation words the
    // error; repeated keys are rejected rather than silently overwritten.
    let mut map = serde_json::Map::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode(k).ok_or_else(|| invalid(k, "неверная кодировка"))?;
        let v = decode(v).ok_or_else(|| invalid(&k, "неверная кодировка"))?;
        if map
            .insert(k.clone(), serde_json::Value::String(v))
            .is_some()
        {
            return Err(invalid(&k, "параметр указан несколько раз"));
        }
    }
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| {
        let msg = e.to_string();
        match msg.split('`').nth(1) {
            Some(field) if msg.starts_with("unknown field") => {
                invalid(field, "неизвестный параметр")
            }
            _ => ApiError::InvalidBody(msg),
        }
    })
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let h = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// JSON body extractor that rejects with our error shape.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct.starts_with("application/json") {
            return Err(ApiError::InvalidBody(
                "ожидается Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge
            } else {
                ApiError::InvalidBody(e.body_text())
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError::InvalidBody(e.to_string()))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Hit)]
pub struct HitDto {
    pub id: String,
    #[schema(schema_with = schema::hit_kind)]
    pub kind: &'static str,
    pub sku: String,
    pub name: String,
    pub brand: String,
    pub model: String,
    pub category: String,
    pub price_rub: Option<f64>,
    pub in_stock: i64,
    pub score: f32,
    /// The hit matched a part number or model code exactly (pinned above fusion).
    pub exact: bool,
    /// `name` and `description` fragments with matched words in `<em>`.
    pub highlights: HashMap<&'static str, String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    pub query: String,
    #[schema(schema_with = schema::response_mode)]
    pub mode: &'static str,
    pub total: u64,
    pub took_ms: f64,
    pub hits: Vec<HitDto>,
    /// Counts over the whole filtered match set: `kind`, `category`, `brand` (those of them
    /// the filter configuration shows).
    pub facets: HashMap<&'static str, Vec<FacetValue>>,
    /// The filters to offer, in order, with their labels (configured in the CMS).
    pub filters: Vec<crate::content::FilterConf>,
}

fn facet_list(v: Vec<(String, u64)>) -> Vec<FacetValue> {
    v.into_iter()
        .take(50)
        .map(|(value, count)| FacetValue { value, count })
        .collect()
}

fn ensure_ready(state: &AppState) -> Result<(), ApiError> {
    if state.live.status().ready.load(Ordering::Relaxed) {
        Ok(())
    } else {
        Err(ApiError::NotReady)
    }
}

/// Runs `search` on a blocking thread holding a search slot.
async fn search_in_slot<T: Send + 'static>(
    state: &AppState,
    snap: &Arc<search_core::Snapshot>,
    search: impl FnOnce(&search_core::Snapshot) -> search_core::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = state
        .search_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("search slots: {e}")))?;
    let snap = snap.clone();
    Ok(tokio::task::spawn_blocking(move || {
        let _permit = permit;
        search(&snap)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("search task: {e}")))??)
}

async fn run_search(state: AppState, raw: RawSearch) -> Result<Json<SearchResponse>, ApiError> {
    ensure_ready(&state)?;
    let req = raw.validate()?;
    let started = Instant::now();
    let snap = state.engine().snapshot();
    let res = match &state.query_batcher {
        // The model runs on its own thread: a search that needs a query vector gives up its
        // slot, awaits the vector (batched with other queries) and searches again with it, so
        // lexical searches never wait behind a model run.
        Some(batcher) => {
            let r = req.clone();
            match search_in_slot(&state, &snap, move |s| s.search_unless_embedding(&r)).await? {
                Some(res) => res,
                None => {
                    let vector = match batcher.embed(snap.semantic_text(&req.text)).await {
                        Ok(v) => Some(v),
                        Err(e) if req.mode == Mode::Semantic => return Err(e.into()),
                        // The engine tries the model itself and degrades as it always has.
                        Err(e) => {
                            tracing::warn!(error = %e, "batched query embedding failed");
                            None
                        }
                    };
                    let r = req.clone();
                    search_in_slot(&state, &snap, move |s| {
                        s.search_embedded(&r, vector.as_ref().map(|v| v.as_slice()))
                    })
                    .await?
                }
            }
        }
        None => {
            let r = req.clone();
            search_in_slot(&state, &snap, move |s| s.search(&r)).await?
        }
    };
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    let content = state.content_snapshot();
    let mut facets = HashMap::new();
    for (field, values) in [
        ("kind", res.facets.kind),
        ("category", res.facets.category),
        ("brand", res.facets.brand),
    ] {
        if content.shows(field) {
            facets.insert(field, facet_list(values));
        }
    }
    Ok(Json(SearchResponse {
        query: req.text,
        mode: res.mode.as_str(),
        total: res.total,
        took_ms: (took_ms * 1000.0).round() / 1000.0,
        hits: res
            .hits
            .into_iter()
            .map(|h| HitDto {
                id: h.doc.id.clone(),
                kind: h.doc.kind.as_str(),
                sku: h.doc.sku.clone(),
                name: h.doc.name.clone(),
                brand: h.doc.brand.clone(),
                model: h.doc.model.clone(),
                category: h.doc.category.clone(),
                price_rub: h.doc.price_rub,
                in_stock: h.doc.in_stock,
                score: h.score,
                exact: h.exact,
                highlights: h.highlights.into_iter().collect(),
            })
            .collect(),
        facets,
        filters: content.filters(),
    }))
}

/// Search the catalog.
#[utoipa::path(get, path = "/api/v1/search", operation_id = "searchGet", tag = "catalog", params(RawSearch),
    responses((status = 200, description = "Результаты поиска", body = SearchResponse),
              (status = 400, description = "Неверный параметр", body = ErrorBody),
              (status = 503, description = "Индекс не готов", body = ErrorBody)))]
async fn search_get(
    State(state): State<AppState>,
    ApiQuery(raw): ApiQuery<RawSearch>,
) -> Result<Json<SearchResponse>, ApiError> {
    run_search(state, raw).await
}

/// Search the catalog (JSON body).
#[utoipa::path(post, path = "/api/v1/search", operation_id = "searchPost", tag = "catalog", request_body = RawSearch,
    responses((status = 200, description = "Результаты поиска", body = SearchResponse),
              (status = 400, description = "Неверный запрос", body = ErrorBody),
              (status = 413, description = "Тело больше 64 KiB", body = ErrorBody),
              (status = 503, description = "Индекс не готов", body = ErrorBody)))]
async fn search_post(
    State(state): State<AppState>,
    ApiJson(raw): ApiJson<RawSearch>,
) -> Result<Json<SearchResponse>, ApiError> {
    raw.check_json_types()?;
    run_search(state, raw).await
}

/// One catalog document with all its fields and its compatibility links.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CatalogItem)]
pub(crate) struct CatalogItemDto {
    pub(crate) id: String,
    #[schema(schema_with = schema::hit_kind)]
    pub(crate) kind: &'static str,
    pub(crate) sku: String,
    pub(crate) name: String,
    pub(crate) brand: String,
    pub(crate) model: String,
    pub(crate) category: String,
    pub(crate) description: String,
    /// Technical attributes as imported (an object of name → value).
    #[schema(value_type = Object)]
    pub(crate) attributes: serde_json::Value,
    /// The attributes as people read them: Russian labels and units (see `server/attributes.tsv`).
    pub(crate) attribute_list: Vec<attributes::AttributeRow>,
    /// For a part: the machine models it fits.
    pub(crate) compatible_models: Vec<String>,
    pub(crate) price_rub: Option<f64>,
    pub(crate) in_stock: i64,
    /// For a part: the machines it fits that are in the catalog.
    pub(crate) compatible_machines: Vec<LinkDto>,
    /// For a machine: parts that declare compatibility with its model.
    pub(crate) compatible_parts: Vec<LinkDto>,
    /// The picture a manager uploaded in the CMS: a path on this site (`/media/{file}`,
    /// resized with `?w=320|640|1280`).
    pub(crate) image: Option<String>,
}

impl CatalogItemDto {
    fn new(
        doc: search_core::CatalogDoc,
        compatible_machines: Vec<LinkDto>,
        compatible_parts: Vec<LinkDto>,
    ) -> CatalogItemDto {
        let search_core::CatalogDoc {
            id,
            kind,
            sku,
            name,
            brand,
            model,
            category,
            description,
            attributes,
            compatible_models,
            price_rub,
            in_stock,
        } = doc;
        CatalogItemDto {
            id,
            kind: kind.as_str(),
            sku,
            name,
            brand,
            model,
            category,
            description,
            attribute_list: attributes::rows(&attributes),
            attributes,
            compatible_models,
            price_rub,
            in_stock,
            compatible_machines,
            compatible_parts,
            image: None,
        }
    }
}

/// A short reference to another catalog document.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CatalogLink)]
pub(crate) struct LinkDto {
    pub(crate) id: String,
    pub(crate) sku: String,
    pub(crate) name: String,
    pub(crate) model: String,
}

impl From<&search_core::CatalogDoc> for LinkDto {
    fn from(d: &search_core::CatalogDoc) -> LinkDto {
        LinkDto {
            id: d.id.clone(),
            sku: d.sku.clone(),
            name: d.name.clone(),
            model: d.model.clone(),
        }
    }
}

/// One catalog item with compatibility.
#[utoipa::path(get, path = "/api/v1/catalog/{id}", operation_id = "catalogItem", tag = "catalog",
    params(("id" = String, Path, max_length = 128)),
    responses((status = 200, description = "Позиция каталога", body = CatalogItemDto),
              (status = 400, description = "Неверный id", body = ErrorBody),
              (status = 404, description = "Не найдено", body = ErrorBody),
              (status = 503, description = "Индекс не готов", body = ErrorBody)))]
async fn catalog_item(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ensure_ready(&state)?;
    if id.len() > 128 {
        return Err(invalid("id", "не длиннее 128 символов"));
    }
    let engine = state.engine();
    let out = tokio::task::spawn_blocking(move || catalog_item_of(&engine.snapshot(), &id))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("catalog task: {e}")))??;
    match out {
        Some(mut item) => {
            item.image = item_extras(&state, &item.id)
                .image
                .map(|f| crate::content::media_path(&f));
            Ok(Json(item).into_response())
        }
        None => Err(ApiError::NotFound("позиция каталога".into())),
    }
}

/// The CMS's extras of an item (none without a CMS).
pub(crate) fn item_extras(state: &AppState, id: &str) -> crate::content::ItemExtras {
    match &state.content {
        Some(c) => c.item_extras(id),
        None => Default::default(),
    }
}

/// One catalog item with its compatibility links, as the API and the server-rendered product
/// page show it (`None`: no such id in this snapshot).
pub(crate) fn catalog_item_of(
    snap: &search_core::Snapshot,
    id: &str,
) -> Result<Option<CatalogItemDto>, ApiError> {
    let Some(doc) = snap.get(id)? else {
        return Ok(None);
    };
    let mut machines = Vec::new();
    let mut parts = Vec::new();
    match doc.kind {
        Kind::SparePart => {
            for m in &doc.compatible_models {
                let mut f = Filters {
                    kind: Some(Kind::Product),
                    ..Filters::default()
                };
                f.compatible_with = None;
                for d in snap
                    .search(&SearchRequest {
                        filters: f,
                        limit: 5,
                        ..SearchRequest::new(m.clone(), Mode::Lexical)
                    })?
                    .hits
                {
                    if search_core::fold_code(&d.doc.model) == search_core::fold_code(m)
                        && !machines.iter().any(|x: &LinkDto| x.id == d.doc.id)
                    {
                        machines.push(LinkDto::from(&*d.doc));
                    }
                }
            }
        }
        Kind::Product => {
            let f = Filters {
                kind: Some(Kind::SparePart),
                compatible_with: Some(doc.model.clone()),
                ..Filters::default()
            };
            parts = snap.browse(&f, 50)?.iter().map(LinkDto::from).collect();
        }
    }
    Ok(Some(CatalogItemDto::new(doc, machines, parts)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SuggestParams {
    #[param(schema_with = schema::param::suggest_q)]
    q: Option<String>,
    #[param(schema_with = schema::param::suggest_limit)]
    limit: Option<serde_json::Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct SuggestResponse {
    query: String,
    suggestions: Vec<SuggestionDto>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Suggestion)]
struct SuggestionDto {
    id: String,
    name: String,
    sku: String,
    model: String,
}

/// Search-as-you-type completion over names, models and part numbers.
#[utoipa::path(get, path = "/api/v1/suggest", operation_id = "suggest", tag = "catalog", params(SuggestParams),
    responses((status = 200, description = "Подсказки", body = SuggestResponse),
              (status = 400, description = "Неверный параметр", body = ErrorBody),
              (status = 503, description = "Индекс не готов", body = ErrorBody)))]
async fn suggest(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<SuggestParams>,
) -> Result<Json<SuggestResponse>, ApiError> {
    ensure_ready(&state)?;
    let q = p.q.unwrap_or_default();
    if q.chars().count() > SUGGEST_MAX_CHARS {
        return Err(invalid(
            "q",
            format!("не длиннее {SUGGEST_MAX_CHARS} символов"),
        ));
    }
    let limit = uint("limit", &p.limit, SUGGEST_MAX_LIMIT)?.unwrap_or(SUGGEST_DEFAULT_LIMIT);
    if limit == 0 {
        return Err(invalid("limit", format!("от 1 до {SUGGEST_MAX_LIMIT}")));
    }
    let engine = state.engine();
    let q2 = q.clone();
    let list = tokio::task::spawn_blocking(move || engine.snapshot().suggest(&q2, limit))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("suggest task: {e}")))??;
    Ok(Json(SuggestResponse {
        query: q,
        suggestions: list
            .into_iter()
            .map(|s| SuggestionDto {
                id: s.id,
                name: s.name,
                sku: s.sku,
                model: s.model,
            })
            .collect(),
    }))
}

/// The indexer's status as JSON.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = IndexStatus)]
pub struct IndexStatusDto {
    pub ready: bool,
    pub documents: u64,
    pub last_applied_change: i64,
    pub pending_changes: i64,
    pub documents_without_vector: u64,
    pub model: String,
    pub lag_ms: i64,
    pub last_batch_ms: u64,
    /// Segments of the text index; the indexer merges them when idle.
    pub text_segments: u64,
    /// The last reindex in this process: `idle`, `running`, `done` or `failed`.
    pub reindex: indexer::live::ReindexState,
}

/// Indexer status.
#[utoipa::path(get, path = "/api/v1/index/status", operation_id = "indexStatus", tag = "ops",
    responses((status = 200, description = "Состояние индекса", body = IndexStatusDto)))]
async fn index_status(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Json<IndexStatusDto> {
    let indexer = state.live.indexer();
    // The generation's path and a failure's text are for operators: anyone else sees the
    // generation's name and that it failed.
    let reindex = match (
        state.live.reindex_state(),
        require_admin(&state, &headers).is_ok(),
    ) {
        (r, true) => r,
        (indexer::live::ReindexState::Done(mut report), false) => {
            report.generation = std::path::Path::new(&report.generation)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            indexer::live::ReindexState::Done(report)
        }
        (indexer::live::ReindexState::Failed { .. }, false) => {
            indexer::live::ReindexState::Failed {
                error: "см. журнал сервера".into(),
            }
        }
        (r, false) => r,
    };
    let s = &indexer.status;
    let stats = indexer.engine().stats();
    Json(IndexStatusDto {
        ready: s.ready.load(Ordering::Relaxed),
        documents: stats.documents,
        last_applied_change: stats.applied_seq.max(0),
        pending_changes: s.pending_changes.load(Ordering::Relaxed),
        documents_without_vector: stats.without_vector,
        model: stats.model_id,
        lag_ms: s.lag_ms.load(Ordering::Relaxed),
        last_batch_ms: s.last_batch_ms.load(Ordering::Relaxed),
        text_segments: stats.text_segments,
        reindex,
    })
}

/// Constant-time comparison of a presented token with the configured one.
fn token_matches(presented: &[u8], expected: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    // Hashing first makes the comparison independent of both lengths.
    let (a, b) = (Sha256::digest(presented), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn require_admin(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    // No credentials at all is 401 whatever the configuration; credentials for routes that
    // are switched off are 403.
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    let expected = state.admin_token.as_ref().ok_or(ApiError::AdminDisabled)?;
    if token_matches(presented.trim().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// An operator route's caller, checked from the headers alone: as an extractor before the
/// body's, it refuses a request before a byte of its body is read.
pub(crate) struct Admin;

impl axum::extract::FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Admin, ApiError> {
        require_admin(state, &parts.headers).map(|()| Admin)
    }
}

/// Starts a rebuild of the index from Postgres in the background; search keeps serving the
/// live index and switches to the new one when it has caught up. Progress is in
/// `/api/v1/index/status` (`reindex`).
#[utoipa::path(post, path = "/api/v1/admin/reindex", operation_id = "adminReindex", tag = "ops",
    security(("adminToken" = [])),
    responses((status = 202, description = "Переиндексация запущена", body = StatusBody),
              (status = 401, description = "Нет или неверный токен", body = ErrorBody),
              (status = 403, description = "Администрирование отключено", body = ErrorBody),
              (status = 409, description = "Переиндексация уже идёт", body = ErrorBody)))]
async fn start_reindex(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<(StatusCode, Json<StatusBody>), ApiError> {
    require_admin(&state, &headers)?;
    let task = state
        .live
        .spawn_reindex()
        .map_err(|_| ApiError::Conflict("переиндексация".into()))?;
    tokio::spawn(async move {
        match task.await {
            Ok(Ok(report)) => tracing::info!(?report, "reindex finished"),
            Ok(Err(e)) => tracing::error!(error = %e, "reindex failed"),
            Err(e) => tracing::error!(error = %e, "reindex task panicked"),
        }
    });
    Ok((StatusCode::ACCEPTED, Json(StatusBody { status: "started" })))
}

/// A one-word answer: `ok`, `ready`, `started`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusBody {
    pub status: &'static str,
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "ops",
    responses((status = 200, description = "OK", body = StatusBody)))]
async fn healthz() -> Json<StatusBody> {
    Json(StatusBody { status: "ok" })
}

/// Readiness: the index is loaded and has caught up with the change log, and the process is
/// not shutting down. The load balancer sends traffic only while this answers 200.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "ops",
    responses((status = 200, description = "Ready", body = StatusBody),
              (status = 503, description = "Индекс не готов или сервер завершает работу", body = ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<StatusBody>, ApiError> {
    if state.draining.load(Ordering::Relaxed) {
        return Err(ApiError::ShuttingDown);
    }
    ensure_ready(&state)?;
    Ok(Json(StatusBody { status: "ready" }))
}

/// Failed attempts after which a waiting lead counts as stuck in `/metrics` (the sync worker
/// logs it at error level from the same point).
pub const LEADS_STUCK_AFTER_ATTEMPTS: i32 = 12;

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
async fn metrics_text(State(state): State<AppState>) -> Response {
    let indexer = state.live.indexer();
    let mut body = state
        .metrics
        .render(&indexer.status, &indexer.engine().stats());
    if let Some(ls) = state.leads.as_deref() {
        // The outbox as an alert sees it: waiting, stuck (still retrying), failed, oldest age.
        let row: Result<(i64, i64, i64, f64, i64, i64), sqlx::Error> = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE sync_state IN ('pending', 'lead_created')),
                    count(*) FILTER (WHERE sync_state IN ('pending', 'lead_created') AND attempts >= $1),
                    count(*) FILTER (WHERE sync_state = 'failed'),
                    coalesce(extract(epoch FROM now() - min(created_at)
                        FILTER (WHERE sync_state IN ('pending', 'lead_created'))), 0)::float8,
                    (SELECT count(*) FROM crm_webhook_events WHERE state = 'pending'),
                    (SELECT count(*) FROM crm_webhook_events WHERE state IN ('failed', 'review'))
             FROM leads",
        )
        .bind(LEADS_STUCK_AFTER_ATTEMPTS)
        .fetch_one(&ls.pool)
        .await;
        match row {
            Ok((waiting, stuck, failed, oldest, events_waiting, events_attention)) => {
                use std::fmt::Write as _;
                let _ = write!(
                    body,
                    "# HELP stanok_leads_waiting Leads not yet delivered to amoCRM.\n# TYPE stanok_leads_waiting gauge\nstanok_leads_waiting {waiting}\n\
                     # HELP stanok_leads_stuck Waiting leads that failed {LEADS_STUCK_AFTER_ATTEMPTS}+ times (still retrying).\n# TYPE stanok_leads_stuck gauge\nstanok_leads_stuck {stuck}\n\
                     # HELP stanok_leads_failed Leads amoCRM rejected for good (requeue after a fix).\n# TYPE stanok_leads_failed gauge\nstanok_leads_failed {failed}\n\
                     # HELP stanok_leads_oldest_waiting_seconds Age of the oldest waiting lead.\n# TYPE stanok_leads_oldest_waiting_seconds gauge\nstanok_leads_oldest_waiting_seconds {oldest:.0}\n\
                     # HELP stanok_crm_events_waiting Won-deal events not yet processed.\n# TYPE stanok_crm_events_waiting gauge\nstanok_crm_events_waiting {events_waiting}\n\
                     # HELP stanok_crm_events_attention Won-deal events failed or in review.\n# TYPE stanok_crm_events_attention gauge\nstanok_crm_events_attention {events_attention}\n"
                );
            }
            Err(e) => tracing::warn!(error = %e, "reading the outbox for /metrics"),
        }
    }
    if let Some(b) = &state.query_batcher {
        use std::fmt::Write as _;
        let (runs, texts, requests) = (
            b.stats.batches.load(Ordering::Relaxed),
            b.stats.texts.load(Ordering::Relaxed),
            b.stats.requests.load(Ordering::Relaxed),
        );
        let _ = write!(
            body,
            "# HELP stanok_query_embed_batches_total Model runs for query embeddings.\n# TYPE stanok_query_embed_batches_total counter\nstanok_query_embed_batches_total {runs}\n\
             # HELP stanok_query_embed_texts_total Distinct query texts embedded (texts / batches = mean batch size).\n# TYPE stanok_query_embed_texts_total counter\nstanok_query_embed_texts_total {texts}\n\
             # HELP stanok_query_embed_requests_total Searches answered by the query embedding thread.\n# TYPE stanok_query_embed_requests_total counter\nstanok_query_embed_requests_total {requests}\n"
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        body,
    )
        .into_response()
}

async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi::document())
}

async fn api_page() -> Html<&'static str> {
    Html(openapi::HTML_PAGE)
}

/// What request logs show of a path: the route's pattern once matched; before routing (the
/// outer trace span), the path with the parts that carry secrets or people's data replaced by
/// their parameter names (the webhook's path secret, login tokens, ids of clients, users and
/// leads).
fn route_of<B>(req: &axum::http::Request<B>) -> String {
    if let Some(p) = req.extensions().get::<MatchedPath>() {
        return p.as_str().to_string();
    }
    redact_path(req.uri().path())
}

fn redact_path(path: &str) -> String {
    const SECRET_AFTER: [(&str, &str); 5] = [
        ("/api/v1/webhooks/amocrm/", "{secret}"),
        ("/api/v1/leads/", "{id}"),
        ("/api/v1/clients/", "{id}"),
        ("/api/v1/admin/telegram-users/", "{telegram_id}"),
        ("/api/v1/orders/", "{id}"),
    ];
    for (prefix, name) in SECRET_AFTER {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
            return format!("{prefix}{name}{}", redact_path_tail(tail));
        }
    }
    path.to_string()
}

/// Hex digests further down a path (attachment hashes) are not worth logging either.
fn redact_path_tail(tail: &str) -> String {
    tail.split('/')
        .map(|seg| {
            if seg.len() >= 32 && seg.bytes().all(|b| b.is_ascii_hexdigit()) {
                "{sha256}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let mut res = next.run(req).await;
    // Rejections by tower layers (body limit, method) get our shape too.
    if res.status() == StatusCode::METHOD_NOT_ALLOWED && !is_json(&res) {
        res = ApiError::MethodNotAllowed.into_response();
    } else if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json(&res) {
        res = ApiError::BodyTooLarge.into_response();
    } else if res.status() == StatusCode::REQUEST_TIMEOUT && !is_json(&res) {
        res = ApiError::Timeout.into_response();
    }
    state
        .metrics
        .observe(&route, res.status().as_u16(), started.elapsed());
    res
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Options of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub cors_origin: String,
    pub request_timeout: Duration,
    /// Sent as `X-Stanok-Replica` on every answer (which replica behind the proxy answered).
    pub replica_id: Option<String>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            cors_origin: "*".into(),
            request_timeout: Duration::from_secs(10),
            replica_id: None,
        }
    }
}

/// Largest knowledge-base document an operator may upload (drawings and manuals are big).
pub const DOCUMENT_MAX_BYTES: usize = 50 * 1024 * 1024;

/// The application router.
pub fn router(state: AppState, opts: &HttpOptions) -> Router {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let cors = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .allow_origin(if opts.cors_origin == "*" {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                opts.cors_origin
                    .split(',')
                    .filter_map(|o| HeaderValue::from_str(o.trim()).ok()),
            )
        });
    let request_id = header::HeaderName::from_static("x-request-id");
    // Room for the largest file plus nothing else: the body *is* the file.
    let attachment_limit = state
        .leads
        .as_ref()
        .map_or(leads::attachments::DEFAULT_MAX_BYTES, |l| {
            l.max_attachment_bytes
        })
        + 1;
    Router::new()
        .route("/api/v1/search", get(search_get).post(search_post))
        .route("/api/v1/catalog/{id}", get(catalog_item))
        .route("/api/v1/suggest", get(suggest))
        .route("/api/v1/index/status", get(index_status))
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/docs", get(api_page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/api/v1/admin/reindex", axum::routing::post(start_reindex))
        .route(
            "/api/v1/admin/leads/requeue",
            axum::routing::post(lead_routes::requeue_leads),
        )
        .route(
            "/api/v1/admin/crm-events/requeue",
            axum::routing::post(lead_routes::requeue_crm_events),
        )
        .route(
            "/api/v1/leads",
            axum::routing::post(lead_routes::create_lead).get(lead_routes::list_leads),
        )
        .route(
            "/api/v1/leads/{id}/attachments",
            axum::routing::post(lead_routes::add_attachment)
                .layer(axum::extract::DefaultBodyLimit::max(attachment_limit)),
        )
        .route(
            "/api/v1/leads/{id}/attachments/{sha256}",
            get(lead_routes::get_attachment),
        )
        .route(
            "/api/v1/webhooks/amocrm/{secret}",
            axum::routing::post(lead_routes::amocrm_webhook),
        )
        .route("/api/v1/clients/{id}/park", get(lead_routes::client_park))
        .route("/api/v1/clients/{id}/spend", get(lead_routes::client_spend))
        .route(
            "/api/v1/telegram/link",
            axum::routing::post(lead_routes::link_telegram),
        )
        .route("/api/v1/telegram/me", get(portal_routes::telegram_me))
        .route(
            "/api/v1/telegram/notifications",
            get(notify_routes::get_settings).put(notify_routes::put_settings),
        )
        .route(
            "/api/v1/admin/shipments",
            axum::routing::post(notify_routes::add_shipment),
        )
        .route(
            "/api/v1/admin/shipments/{id}/events",
            axum::routing::post(notify_routes::add_shipment_event),
        )
        .route(
            "/api/v1/auth/login-links",
            axum::routing::post(auth_routes::create_login_link),
        )
        .route(
            "/api/v1/auth/session",
            axum::routing::post(auth_routes::create_session),
        )
        .route("/api/v1/auth/logout", axum::routing::post(auth_routes::logout))
        .route(
            "/api/v1/admin/telegram-users/{telegram_id}/sessions/revoke",
            axum::routing::post(auth_routes::revoke_sessions),
        )
        .route(
            "/api/v1/admin/telegram-users/{telegram_id}/role",
            axum::routing::post(portal_routes::set_role),
        )
        .route(
            "/api/v1/admin/tickets/{id}/status",
            axum::routing::post(portal_routes::set_ticket_status),
        )
        .route(
            "/api/v1/admin/documents",
            axum::routing::post(portal_routes::add_document)
                .layer(axum::extract::DefaultBodyLimit::max(DOCUMENT_MAX_BYTES + 1)),
        )
        .route(
            "/api/v1/clients/{id}/tickets",
            get(portal_routes::client_tickets),
        )
        .route(
            "/api/v1/clients/{id}/projects",
            get(portal_routes::client_projects),
        )
        .route("/api/v1/clients/{id}/offers", get(portal_routes::client_offers))
        .route(
            "/api/v1/clients/{id}/orders/{number}/shipments",
            get(portal_routes::order_shipments),
        )
        .route(
            "/api/v1/clients/{id}/documents",
            get(portal_routes::client_documents),
        )
        .route(
            "/api/v1/clients/{id}/documents/{document_id}/file",
            get(portal_routes::document_file),
        )
        .merge(site::routes())
        .fallback(site::fallback)
        // Inside `track`, so a timed-out request is counted and answered in the JSON shape.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            opts.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .layer(
            tower::ServiceBuilder::new()
                .layer(tower_http::request_id::SetRequestIdLayer::new(
                    request_id.clone(),
                    tower_http::request_id::MakeRequestUuid,
                ))
                .layer(
                    tower_http::trace::TraceLayer::new_for_http().make_span_with(
                        |req: &axum::http::Request<_>| {
                            let id = req
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            tracing::info_span!("http", method = %req.method(), route = %route_of(req), request_id = %id)
                        },
                    )
                    // 5xx are logged once, by `ApiError`, at the level they deserve.
                    .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG)),
                )
                .layer(tower_http::request_id::PropagateRequestIdLayer::new(request_id))
                .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                    header::HeaderName::from_static("x-stanok-replica"),
                    opts.replica_id
                        .as_deref()
                        .and_then(|id| HeaderValue::from_str(id).ok()),
                ))
                .layer(tower_http::compression::CompressionLayer::new())
                .layer(cors)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .with_state(state)
}

#[cfg(test)]
mod redaction_tests {
    #[test]
    fn logged_paths_carry_no_secrets() {
        assert_eq!(
            super::redact_path("/api/v1/webhooks/amocrm/s3cr3t-hook"),
            "/api/v1/webhooks/amocrm/{secret}"
        );
        assert_eq!(
            super::redact_path(&format!("/api/v1/leads/42/attachments/{}", "ab".repeat(32))),
            "/api/v1/leads/{id}/attachments/{sha256}"
        );
        assert_eq!(super::redact_path("/api/v1/search"), "/api/v1/search");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(q: &str) -> Result<SearchRequest, ApiError> {
        serde_urlencoded_from_str::<RawSearch>(q)?.validate()
    }

    #[test]
    fn query_strings_validate() {
        let r = raw("q=%D0%BF%D0%BE%D0%B4%D1%88%D0%B8%D0%BF%D0%BD%D0%B8%D0%BA+6205&limit=5&in_stock=true&kind=spare_part").unwrap();
        assert_eq!(r.text, "подшипник 6205");
        assert_eq!(r.limit, 5);
        assert_eq!(r.filters.in_stock, Some(true));
        assert_eq!(r.filters.kind, Some(Kind::SparePart));
        assert_eq!(r.mode, Mode::Hybrid);
    }

    #[test]
    fn bad_parameters_name_the_field() {
        for (q, field) in [
            ("limit=abc", "limit"),
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("offset=-1", "offset"),
            ("mode=fast", "mode"),
            ("kind=tool", "kind"),
            ("in_stock=maybe", "in_stock"),
            ("price_min=10&price_max=5", "price_min"),
            ("price_min=-1", "price_min"),
            ("color=red", "color"),
            ("q=a&q=b", "q"),
        ] {
            match raw(q) {
                Err(ApiError::InvalidParameter { field: f, .. }) => assert_eq!(f, field, "{q}"),
                other => panic!("{q}: {other:?}"),
            }
        }
        let long = format!("q={}", "а".repeat(600));
        assert!(matches!(raw(&long), Err(ApiError::InvalidParameter { .. })));
    }
}
