//! Markup of the server-rendered pages. The classes are Tailwind's: the web build scans this
//! file (`@source` in `web/src/index.css`), so these pages and the React app share one style.

use super::{article_path, category_path, product_path, rub};
use crate::api::CatalogItemDto;
use crate::content::{media_path, Article, ArticleSummary, ContentSnapshot, ItemExtras};
use maud::{html, Markup, PreEscaped, DOCTYPE};

pub(super) const SITE_NAME: &str = "Станок";

/// What a page tells search engines and link previews about itself.
struct Meta<'a> {
    title: String,
    description: String,
    /// Absolute URL; `None` for pages that are not to be indexed (errors).
    canonical: Option<String>,
    og_type: &'a str,
    json_ld: Option<serde_json::Value>,
    /// Absolute URL of the preview picture.
    image: Option<String>,
    keywords: String,
    /// Kept out of search engines although it has a canonical URL (set in the CMS).
    noindex: bool,
}

impl<'a> Meta<'a> {
    fn new(
        title: String,
        description: String,
        canonical: Option<String>,
        og_type: &'a str,
    ) -> Meta<'a> {
        Meta {
            title,
            description,
            canonical,
            og_type,
            json_ld: None,
            image: None,
            keywords: String::new(),
            noindex: false,
        }
    }

    /// The page's own SEO texts (set on the item or article in the CMS), where not empty.
    fn set_own(&mut self, title: &str, description: &str) {
        if !title.trim().is_empty() {
            self.title = title.trim().to_string();
        }
        if !description.trim().is_empty() {
            self.description = description.trim().to_string();
        }
    }

    /// Applies what the CMS says of this page (`path`): its own meta, else the page type's
    /// template (filled with `vars`), else the generated text already in `self`.
    fn with_cms(
        mut self,
        content: &ContentSnapshot,
        base: &str,
        path: &str,
        page_type: &str,
        vars: &[(&str, &str)],
    ) -> Meta<'a> {
        let (title, description, own) = content.page_meta(
            path,
            page_type,
            vars,
            (
                std::mem::take(&mut self.title),
                std::mem::take(&mut self.description),
            ),
        );
        self.title = title;
        self.description = description;
        if let Some(own) = own {
            if let Some(c) = &own.canonical {
                self.canonical = Some(if c.starts_with('/') {
                    format!("{base}{c}")
                } else {
                    c.clone()
                });
            }
            if let Some(img) = &own.image {
                self.image = Some(format!("{base}{}?w=1280", media_path(img)));
            }
            self.keywords = own.keywords.clone();
            self.noindex = own.noindex;
        }
        self
    }
}

/// JSON inside `<script>`: `<`, `>` and `&` as escapes, so no text of the catalog can close
/// the element.
fn script_json(v: &serde_json::Value) -> PreEscaped<String> {
    PreEscaped(
        v.to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026"),
    )
}

fn layout(
    meta: Meta<'_>,
    head_tags: &str,
    data: Option<&serde_json::Value>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ru" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (meta.title) }
                meta name="description" content=(meta.description);
                @if !meta.keywords.trim().is_empty() {
                    meta name="keywords" content=(meta.keywords.trim());
                }
                @if let Some(url) = &meta.canonical {
                    link rel="canonical" href=(url);
                    meta property="og:url" content=(url);
                }
                @if meta.canonical.is_none() || meta.noindex {
                    meta name="robots" content="noindex";
                }
                @if let Some(img) = &meta.image {
                    meta property="og:image" content=(img);
                }
                meta property="og:type" content=(meta.og_type);
                meta property="og:site_name" content=(SITE_NAME);
                meta property="og:locale" content="ru_RU";
                meta property="og:title" content=(meta.title);
                meta property="og:description" content=(meta.description);
                link rel="icon" href="/favicon.svg" type="image/svg+xml";
                @if let Some(ld) = &meta.json_ld {
                    script type="application/ld+json" { (script_json(ld)) }
                }
                @if let Some(d) = data {
                    script type="application/json" id="ssr-data" { (script_json(d)) }
                }
                (PreEscaped(head_tags))
            }
            body class="bg-bg text-fg antialiased" {
                div id="root" {
                    header class="border-b border-line bg-surface" {
                        div class="mx-auto flex max-w-6xl items-center gap-4 px-4 py-3" {
                            a href="/" class="text-xl font-bold text-accent" { (SITE_NAME) }
                            form action="/" method="get" class="flex-1" role="search" {
                                input type="search" name="q" placeholder="Станок, запчасть, артикул или модель"
                                    aria-label="Поиск по каталогу"
                                    class="w-full rounded-lg border border-line bg-bg px-3 py-2";
                            }
                            a href="/journal" class="text-sm text-muted hover:text-fg" { "Журнал" }
                            a href="/cart" class="text-sm text-muted hover:text-fg" { "Корзина" }
                        }
                    }
                    main class="mx-auto max-w-6xl px-4 py-6" { (body) }
                }
            }
        }
    }
}

fn clip(text: &str, max: usize) -> String {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() <= max {
        return t;
    }
    let mut out: String = t.chars().take(max - 1).collect();
    if let Some(i) = out.rfind(' ') {
        out.truncate(i);
    }
    out.push('…');
    out
}

/// The Russian plural form for `n`: `plural(5, ["позиция", "позиции", "позиций"])`.
fn plural(n: u64, forms: [&'static str; 3]) -> &'static str {
    let (a, b) = (n % 100, n % 10);
    if (11..=19).contains(&a) {
        forms[2]
    } else if (2..=4).contains(&b) {
        forms[1]
    } else if b == 1 {
        forms[0]
    } else {
        forms[2]
    }
}

const POSITIONS: [&str; 3] = ["позиция", "позиции", "позиций"];

fn stock_text(n: i64) -> String {
    if n > 0 {
        format!("В наличии: {n} шт.")
    } else {
        "Под заказ".to_string()
    }
}

fn kind_label(kind: &str) -> &'static str {
    if kind == "product" {
        "Станок"
    } else {
        "Запчасть"
    }
}

/// A product page: schema.org `Product` with its offer, the attributes, compatibility.
pub(super) fn product(
    item: &CatalogItemDto,
    extras: &ItemExtras,
    content: &ContentSnapshot,
    base: &str,
    head_tags: &str,
) -> Markup {
    let path = product_path(&item.id);
    let url = format!("{base}{path}");
    let price = item.price_rub.map(rub);
    let title = match &price {
        Some(p) => format!("{} — {p} | {SITE_NAME}", item.name),
        None => format!("{} — цена по запросу | {SITE_NAME}", item.name),
    };
    let description = if item.description.trim().is_empty() {
        let mut d = format!("{}: {}", kind_label(item.kind), item.name);
        if !item.sku.is_empty() {
            d.push_str(&format!(", артикул {}", item.sku));
        }
        if !item.brand.is_empty() {
            d.push_str(&format!(", {}", item.brand));
        }
        d.push_str(&format!(
            ". {}. {}.",
            price.clone().unwrap_or_else(|| "Цена по запросу".into()),
            stock_text(item.in_stock)
        ));
        d
    } else {
        clip(&item.description, 160)
    };
    let mut ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": item.name,
        "sku": item.sku,
        "url": url,
        "category": item.category,
    });
    if !item.description.is_empty() {
        ld["description"] = clip(&item.description, 500).into();
    }
    if !item.brand.is_empty() {
        ld["brand"] = serde_json::json!({"@type": "Brand", "name": item.brand});
    }
    if !item.model.is_empty() {
        ld["model"] = item.model.clone().into();
    }
    let image = extras.image.as_deref().map(media_path);
    if let Some(img) = &image {
        ld["image"] = format!("{base}{img}?w=1280").into();
    }
    if let Some(p) = item.price_rub {
        ld["offers"] = serde_json::json!({
            "@type": "Offer",
            "url": url,
            "price": format!("{p:.2}"),
            "priceCurrency": "RUB",
            "availability": if item.in_stock > 0 { "https://schema.org/InStock" } else { "https://schema.org/BackOrder" },
        });
    }
    let data = serde_json::json!({ "page": "product", "item": item });
    let body = html! {
        nav class="mb-4 text-sm text-muted" aria-label="Навигация" {
            a href="/" class="hover:underline" { "Каталог" }
            @if !item.category.is_empty() {
                " › "
                a href=(category_path(&item.category)) class="hover:underline" { (item.category) }
            }
        }
        article class="grid gap-6 md:grid-cols-3" {
            div class="md:col-span-2" {
                @if let Some(img) = &image {
                    img src=(format!("{img}?w=640")) srcset=(format!("{img}?w=640 640w, {img}?w=1280 1280w"))
                        sizes="(min-width: 768px) 40rem, 100vw" alt=(item.name) data-testid="product-image"
                        class="mb-4 max-h-96 w-full rounded-xl border border-line bg-surface object-contain";
                }
                p class="text-sm text-muted" { (kind_label(item.kind)) @if !item.brand.is_empty() { " · " (item.brand) } }
                h1 class="mt-1 text-2xl font-semibold" { (item.name) }
                p class="mt-1 text-sm text-muted" {
                    @if !item.sku.is_empty() { "Артикул: " span class="font-mono" { (item.sku) } }
                    @if !item.model.is_empty() { " · Модель: " span class="font-mono" { (item.model) } }
                }
                @if !item.description.is_empty() {
                    p class="mt-4 leading-relaxed" { (item.description) }
                }
                @if !item.attribute_list.is_empty() {
                    h2 class="mt-6 text-lg font-semibold" { "Характеристики" }
                    table class="mt-2 w-full text-sm" {
                        tbody {
                            @for a in &item.attribute_list {
                                tr class="border-b border-line" {
                                    th class="w-1/2 py-1.5 pr-4 text-left font-normal text-muted" { (a.label) }
                                    td class="py-1.5" { (a.value) }
                                }
                            }
                        }
                    }
                }
                @if !item.compatible_machines.is_empty() || !item.compatible_models.is_empty() {
                    h2 class="mt-6 text-lg font-semibold" { "Подходит к станкам" }
                    ul class="mt-2 flex flex-wrap gap-2" {
                        @for m in &item.compatible_machines {
                            li { a href=(product_path(&m.id)) class="inline-block rounded-full border border-accent/40 px-3 py-1 text-sm text-accent hover:bg-accent hover:text-accent-fg" { (m.name) } }
                        }
                        @for m in item.compatible_models.iter().filter(|m| !item.compatible_machines.iter().any(|x| &x.model == *m)) {
                            li class="rounded-full border border-line px-3 py-1 text-sm text-muted" { (m) }
                        }
                    }
                }
                @if !item.compatible_parts.is_empty() {
                    h2 class="mt-6 text-lg font-semibold" { "Запчасти к этому станку" }
                    ul class="mt-2 grid gap-1 sm:grid-cols-2" {
                        @for p in &item.compatible_parts {
                            li { a href=(product_path(&p.id)) class="text-accent hover:underline" { (p.name) } @if !p.sku.is_empty() { span class="ml-1 text-sm text-muted" { (p.sku) } } }
                        }
                    }
                }
            }
            aside class="h-fit rounded-xl border border-line bg-surface p-4" {
                p class="text-2xl font-semibold" data-testid="price" { (price.clone().unwrap_or_else(|| "Цена по запросу".into())) }
                p class="mt-1 text-sm" { (stock_text(item.in_stock)) }
                button type="button" disabled class="mt-4 w-full rounded-lg bg-accent px-4 py-2 text-accent-fg opacity-60" { "В корзину" }
            }
        }
    };
    let price_text = price.clone().unwrap_or_default();
    let vars = [
        ("name", item.name.as_str()),
        ("sku", item.sku.as_str()),
        ("brand", item.brand.as_str()),
        ("model", item.model.as_str()),
        ("category", item.category.as_str()),
        ("price", price_text.as_str()),
    ];
    let mut meta = Meta {
        json_ld: Some(ld),
        image: image.as_ref().map(|i| format!("{base}{i}?w=1280")),
        ..Meta::new(title, description, Some(url.clone()), "product")
    }
    .with_cms(content, base, &path, item.kind, &vars);
    // The item's own SEO texts in the CMS win over everything else.
    meta.set_own(&extras.seo_title, &extras.seo_description);
    layout(meta, head_tags, Some(&data), body)
}

/// A category page: its cards with prices, and links to the other pages of it.
#[allow(clippy::too_many_arguments)]
pub(super) fn category(
    name: &str,
    docs: &[&search_core::CatalogDoc],
    total: u64,
    page: usize,
    content: &ContentSnapshot,
    base: &str,
    head_tags: &str,
) -> Markup {
    let pages = (total as usize).div_ceil(super::CATEGORY_PAGE_SIZE).max(1);
    let path = category_path(name);
    let page_url = |p: usize| {
        if p <= 1 {
            path.clone()
        } else {
            format!("{path}?page={p}")
        }
    };
    let title = if page > 1 {
        format!("{name} — страница {page} | {SITE_NAME}")
    } else {
        format!("{name} — купить, цены | {SITE_NAME}")
    };
    let ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "ItemList",
        "name": name,
        "numberOfItems": total,
        "itemListElement": docs.iter().enumerate().map(|(i, d)| serde_json::json!({
            "@type": "ListItem",
            "position": (page - 1) * super::CATEGORY_PAGE_SIZE + i + 1,
            "url": format!("{base}{}", product_path(&d.id)),
            "name": d.name,
        })).collect::<Vec<_>>(),
    });
    let body = html! {
        nav class="mb-4 text-sm text-muted" aria-label="Навигация" {
            a href="/" class="hover:underline" { "Каталог" } " › " (name)
        }
        h1 class="text-2xl font-semibold" { (name) }
        p class="mt-1 text-sm text-muted" { (total) " " (plural(total, POSITIONS)) @if pages > 1 { " · страница " (page) " из " (pages) } }
        ul class="mt-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-3" {
            @for d in docs {
                li class="rounded-xl border border-line bg-surface p-4" {
                    a href=(product_path(&d.id)) class="font-medium text-accent hover:underline" { (d.name) }
                    p class="mt-1 text-sm text-muted" { (d.brand) @if !d.sku.is_empty() { " · " (d.sku) } }
                    p class="mt-2 font-semibold" { (d.price_rub.map(rub).unwrap_or_else(|| "Цена по запросу".into())) }
                    p class="text-sm" { (stock_text(d.in_stock)) }
                }
            }
        }
        @if pages > 1 {
            nav class="mt-6 flex gap-4" aria-label="Страницы" {
                @if page > 1 { a rel="prev" href=(page_url(page - 1)) class="text-accent" { "← Назад" } }
                @if page < pages { a rel="next" href=(page_url(page + 1)) class="text-accent" { "Дальше →" } }
            }
        }
    };
    let description = clip(
        &format!(
            "{name}: {total} {} в каталоге станков и запчастей — цены, наличие, совместимость.",
            plural(total, POSITIONS)
        ),
        160,
    );
    let mut meta = Meta {
        json_ld: Some(ld),
        ..Meta::new(
            title,
            description,
            Some(format!("{base}{}", page_url(page))),
            "website",
        )
    };
    if page == 1 {
        let count = total.to_string();
        meta = meta.with_cms(
            content,
            base,
            &path,
            "category",
            &[("category", name), ("name", name), ("count", &count)],
        );
    }
    layout(
        meta,
        head_tags,
        Some(&serde_json::json!({ "page": "category", "category": name })),
        body,
    )
}

/// A date as people read it: `4 декабря 2026`.
fn ru_date(d: &chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Datelike;
    const MONTHS: [&str; 12] = [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ];
    format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

/// An article's Markdown as HTML. Raw HTML in the source is shown as text, and links and
/// pictures keep only web, mail and phone addresses and paths of this site, so nothing an
/// editor pastes can run script on the page.
pub(crate) fn markdown(src: &str) -> String {
    use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
    fn safe(url: &str) -> bool {
        let u = url.trim().to_ascii_lowercase();
        u.starts_with("https://")
            || u.starts_with("http://")
            || u.starts_with("mailto:")
            || u.starts_with("tel:")
            || u.starts_with('#')
            || (u.starts_with('/') && !u.starts_with("//"))
    }
    let clean = |url: CowStr<'static>| -> CowStr<'static> {
        if safe(&url) {
            url
        } else {
            CowStr::Borrowed("#")
        }
    };
    let parser = Parser::new_ext(src, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH)
        .map(|e| e.into_static())
        .map(|e| match e {
            Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type,
                dest_url: clean(dest_url),
                title,
                id,
            }),
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Image {
                link_type,
                dest_url: clean(dest_url),
                title,
                id,
            }),
            other => other,
        });
    let mut out = String::with_capacity(src.len() * 2);
    pulldown_cmark::html::push_html(&mut out, parser);
    out
}

/// Articles per journal page.
pub(super) const JOURNAL_PAGE_SIZE: usize = 12;

/// `/journal`: published articles, newest first.
pub(super) fn journal(
    articles: &[ArticleSummary],
    total: i64,
    page: usize,
    content: &ContentSnapshot,
    base: &str,
    head_tags: &str,
) -> Markup {
    let pages = (total.max(0) as usize).div_ceil(JOURNAL_PAGE_SIZE).max(1);
    let page_url = |p: usize| {
        if p <= 1 {
            "/journal".to_string()
        } else {
            format!("/journal?page={p}")
        }
    };
    let title = if page > 1 {
        format!("Журнал — страница {page} | {SITE_NAME}")
    } else {
        format!("Журнал: статьи о станках и запчастях | {SITE_NAME}")
    };
    let description = "Статьи о выборе, обслуживании и ремонте станков: советы инженеров, разборы неисправностей, новости каталога.".to_string();
    let ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Blog",
        "name": format!("Журнал {SITE_NAME}"),
        "url": format!("{base}/journal"),
        "blogPost": articles.iter().map(|a| serde_json::json!({
            "@type": "BlogPosting",
            "headline": a.title,
            "url": format!("{base}{}", article_path(&a.slug)),
            "datePublished": a.published_at.to_rfc3339(),
        })).collect::<Vec<_>>(),
    });
    let body = html! {
        nav class="mb-4 text-sm text-muted" aria-label="Навигация" {
            a href="/" class="hover:underline" { "Каталог" } " › Журнал"
        }
        h1 class="text-2xl font-semibold" { "Журнал" }
        @if articles.is_empty() {
            p class="mt-4 text-muted" { "Статей пока нет — загляните позже." }
        }
        ul class="mt-4 grid gap-4 sm:grid-cols-2 lg:grid-cols-3" data-testid="journal-list" {
            @for a in articles {
                li class="overflow-hidden rounded-xl border border-line bg-surface" {
                    a href=(article_path(&a.slug)) class="block h-full hover:bg-bg" {
                        @if let Some(cover) = &a.cover {
                            img src=(format!("{cover}?w=640")) alt="" loading="lazy" class="aspect-[16/9] w-full object-cover";
                        }
                        div class="p-4" {
                            p class="text-xs text-muted" { time datetime=(a.published_at.to_rfc3339()) { (ru_date(&a.published_at)) } }
                            h2 class="mt-1 font-semibold text-accent" { (a.title) }
                            @if !a.summary.is_empty() { p class="mt-2 text-sm text-muted" { (clip(&a.summary, 220)) } }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav class="mt-6 flex gap-4" aria-label="Страницы" {
                @if page > 1 { a rel="prev" href=(page_url(page - 1)) class="text-accent" { "← Новее" } }
                @if page < pages { a rel="next" href=(page_url(page + 1)) class="text-accent" { "Раньше →" } }
            }
        }
    };
    let mut meta = Meta {
        json_ld: Some(ld),
        ..Meta::new(
            title,
            description,
            Some(format!("{base}{}", page_url(page))),
            "website",
        )
    };
    if page == 1 {
        meta = meta.with_cms(content, base, "/journal", "journal", &[]);
    }
    layout(meta, head_tags, None, body)
}

/// `/journal/{slug}`: one article.
pub(super) fn article(
    a: &Article,
    content: &ContentSnapshot,
    base: &str,
    head_tags: &str,
) -> Markup {
    let s = &a.summary;
    let path = article_path(&s.slug);
    let url = format!("{base}{path}");
    let description = if !s.summary.trim().is_empty() {
        clip(&s.summary, 160)
    } else {
        clip(&a.body.replace(['#', '*', '_', '>', '`'], " "), 160)
    };
    let cover_abs = s.cover.as_ref().map(|c| format!("{base}{c}?w=1280"));
    let mut ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": s.title,
        "url": url,
        "datePublished": s.published_at.to_rfc3339(),
        "dateModified": s.updated_at.to_rfc3339(),
        "publisher": {"@type": "Organization", "name": SITE_NAME},
    });
    if let Some(c) = &cover_abs {
        ld["image"] = c.clone().into();
    }
    let body = html! {
        nav class="mb-4 text-sm text-muted" aria-label="Навигация" {
            a href="/" class="hover:underline" { "Каталог" } " › "
            a href="/journal" class="hover:underline" { "Журнал" }
        }
        article class="mx-auto max-w-3xl" {
            h1 class="text-3xl font-semibold leading-tight" { (s.title) }
            p class="mt-2 text-sm text-muted" { time datetime=(s.published_at.to_rfc3339()) { (ru_date(&s.published_at)) } }
            @if let Some(cover) = &s.cover {
                img src=(format!("{cover}?w=1280")) srcset=(format!("{cover}?w=640 640w, {cover}?w=1280 1280w"))
                    sizes="(min-width: 768px) 48rem, 100vw" alt="" class="mt-4 w-full rounded-xl border border-line";
            }
            @if !s.summary.is_empty() { p class="mt-4 text-lg text-muted" { (s.summary) } }
            div class="article-body mt-6" data-testid="article-body" { (PreEscaped(markdown(&a.body))) }
        }
    };
    let mut meta = Meta {
        json_ld: Some(ld),
        image: cover_abs,
        ..Meta::new(
            format!("{} | {SITE_NAME}", s.title),
            description,
            Some(url.clone()),
            "article",
        )
    }
    .with_cms(
        content,
        base,
        &path,
        "article",
        &[("title", s.title.as_str())],
    );
    meta.set_own(&a.seo_title, &a.seo_description);
    layout(meta, head_tags, None, body)
}

fn message_page(head_tags: &str, title: &str, text: &str) -> Markup {
    layout(
        Meta::new(
            format!("{title} | {SITE_NAME}"),
            text.to_string(),
            None,
            "website",
        ),
        head_tags,
        None,
        html! {
            div class="py-16 text-center" {
                h1 class="text-2xl font-semibold" { (title) }
                p class="mt-2 text-muted" { (text) }
                a href="/" class="mt-6 inline-block rounded-lg bg-accent px-4 py-2 text-accent-fg" { "Перейти в каталог" }
            }
        },
    )
}

pub(super) fn not_found(head_tags: &str) -> Markup {
    message_page(
        head_tags,
        "Страница не найдена",
        "Такой страницы нет: возможно, позицию убрали из каталога. Найдите нужное через поиск.",
    )
}

pub(super) fn not_ready(head_tags: &str) -> Markup {
    message_page(
        head_tags,
        "Каталог обновляется",
        "Каталог загружается после обновления. Обновите страницу через минуту.",
    )
}

pub(super) fn failed(head_tags: &str) -> Markup {
    message_page(
        head_tags,
        "Ошибка на сервере",
        "Не удалось показать страницу. Попробуйте ещё раз через минуту.",
    )
}

pub(super) fn no_build() -> Markup {
    message_page(
        "",
        "Веб-интерфейс не собран",
        "Соберите его: bash scripts/run.sh (или npm ci && npm run build в web/). Страницы товаров /p/… работают и без сборки.",
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn markdown_shows_raw_html_as_text_and_drops_script_links() {
        let html = super::markdown(
            "## Смазка\n\n<script>alert(1)</script>\n\n[ok](/p/1) [bad](javascript:alert(1)) ![x](data:image/png;base64,AA)\n\n- раз\n- два",
        );
        assert!(html.contains("<h2>Смазка</h2>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains(r#"<a href="/p/1">ok</a>"#), "{html}");
        assert!(
            !html.contains("javascript:") && !html.contains("data:image"),
            "{html}"
        );
        assert!(html.contains("<li>два</li>"), "{html}");
    }

    #[test]
    fn dates_read_in_russian() {
        use chrono::TimeZone;
        let d = chrono::Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap();
        assert_eq!(super::ru_date(&d), "4 декабря 2026");
    }

    #[test]
    fn plural_forms_follow_the_last_digits() {
        let forms: Vec<&str> = [1, 2, 5, 11, 12, 21, 22, 25, 111, 101]
            .iter()
            .map(|n| super::plural(*n, super::POSITIONS))
            .collect();
        assert_eq!(
            forms,
            [
                "позиция",
                "позиции",
                "позиций",
                "позиций",
                "позиций",
                "позиция",
                "позиции",
                "позиций",
                "позиций",
                "позиция"
            ]
        );
    }
}
