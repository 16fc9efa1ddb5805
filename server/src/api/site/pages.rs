//! Markup of the server-rendered pages. The classes are Tailwind's: the web build scans this
//! file (`@source` in `web/src/index.css`), so these pages and the React app share one style.

use super::{category_path, product_path, rub};
use crate::api::CatalogItemDto;
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
                @if let Some(url) = &meta.canonical {
                    link rel="canonical" href=(url);
                    meta property="og:url" content=(url);
                } @else {
                    meta name="robots" content="noindex";
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
                            a href="/cart" class="text-sm text-muted" { "Корзина" }
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
pub(super) fn product(item: &CatalogItemDto, base: &str, head_tags: &str) -> Markup {
    let url = format!("{base}{}", product_path(&item.id));
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
    layout(
        Meta {
            title,
            description,
            canonical: Some(url.clone()),
            og_type: "product",
            json_ld: Some(ld),
        },
        head_tags,
        Some(&data),
        body,
    )
}

/// A category page: its cards with prices, and links to the other pages of it.
pub(super) fn category(
    name: &str,
    docs: &[&search_core::CatalogDoc],
    total: u64,
    page: usize,
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
    layout(
        Meta {
            title,
            description: clip(
                &format!(
                    "{name}: {total} {} в каталоге станков и запчастей — цены, наличие, совместимость.",
                    plural(total, POSITIONS)
                ),
                160,
            ),
            canonical: Some(format!("{base}{}", page_url(page))),
            og_type: "website",
            json_ld: Some(ld),
        },
        head_tags,
        Some(&serde_json::json!({ "page": "category", "category": name })),
        body,
    )
}

fn message_page(head_tags: &str, title: &str, text: &str) -> Markup {
    layout(
        Meta {
            title: format!("{title} | {SITE_NAME}"),
            description: text.to_string(),
            canonical: None,
            og_type: "website",
            json_ld: None,
        },
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
