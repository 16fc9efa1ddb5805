//! The index schema and how a catalog document becomes a tantivy document.

use super::tokenizer::CatalogTokenizer;
use super::tokenizer::CodeTokenizer;
use super::tokenizer::ANALYZER;
use super::tokenizer::CODE_ANALYZER;
use crate::analysis::{self, fold_code, normalize};
use crate::doc::CatalogDoc;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};

/// Field handles of the catalog schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub vid: Field,
    pub chash: Field,
    pub kind: Field,
    pub category: Field,
    pub brand: Field,
    pub compat: Field,
    pub in_stock: Field,
    pub price: Field,
    pub doc_json: Field,
    pub name: Field,
    pub description: Field,
    pub model_t: Field,
    pub brand_t: Field,
    pub category_t: Field,
    pub compat_t: Field,
    pub body: Field,
    pub code: Field,
    pub code_prefix: Field,
    pub suggest: Field,
    /// Folded sku and model, as fast fields for exact-code pinning.
    pub sku_key: Field,
    pub model_key: Field,
    /// Quantities of the card in canonical units (`2200w`, `15mm`; [`analysis::quantities`]).
    pub qty: Field,
}

/// Builds the schema and returns it with its field handles.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let analyzed = |stored: bool| {
        let idx = TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let o = TextOptions::default().set_indexing_options(idx);
        if stored {
            o.set_stored()
        } else {
            o
        }
    };
    let code = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(CODE_ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        vid: b.add_u64_field("vid", INDEXED | FAST | STORED),
        chash: b.add_text_field("chash", STRING | STORED),
        kind: b.add_text_field("kind", STRING | FAST),
        category: b.add_text_field("category", STRING | FAST),
        brand: b.add_text_field("brand", STRING | FAST),
        compat: b.add_text_field("compat", STRING | FAST),
        in_stock: b.add_i64_field("in_stock", INDEXED | FAST),
        price: b.add_f64_field("price", INDEXED | FAST),
        doc_json: b.add_text_field("doc_json", STORED),
        name: b.add_text_field("name", analyzed(true)),
        description: b.add_text_field("description", analyzed(true)),
        model_t: b.add_text_field("model_t", analyzed(false)),
        brand_t: b.add_text_field("brand_t", analyzed(false)),
        category_t: b.add_text_field("category_t", analyzed(false)),
        compat_t: b.add_text_field("compat_t", analyzed(false)),
        body: b.add_text_field("body", analyzed(false)),
        code: b.add_text_field("code", code.clone()),
        code_prefix: b.add_text_field("code_prefix", code.clone()),
        suggest: b.add_text_field("suggest", code),
        sku_key: b.add_text_field("sku_key", STRING | FAST),
        model_key: b.add_text_field("model_key", STRING | FAST),
        qty: b.add_text_field(
            "qty",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
    };
    (b.build(), fields)
}

/// Registers the analyzers an index needs.
pub fn register_tokenizers(index: &tantivy::Index) {
    index.tokenizers().register(ANALYZER, CatalogTokenizer);
    index.tokenizers().register(CODE_ANALYZER, CodeTokenizer);
}

/// Folded codes a document answers to exactly: sku and model, whole and in pieces.
pub fn doc_codes(doc: &CatalogDoc) -> Vec<String> {
    let mut out = Vec::new();
    for raw in [&doc.sku, &doc.model] {
        let whole = fold_code(raw);
        if whole.is_empty() {
            continue;
        }
        out.push(whole);
        for piece in raw.split(|c: char| c.is_whitespace() || c == '-' || c == '/') {
            let p = fold_code(piece);
            if p.len() >= 2 && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

fn edge_ngrams(out: &mut Vec<String>, word: &str, min: usize, max: usize) {
    let chars: Vec<char> = word.chars().collect();
    for n in min..=chars.len().min(max) {
        out.push(chars[..n].iter().collect());
    }
}

/// Converts a catalog document to a tantivy document.
pub fn to_tantivy(f: &Fields, doc: &CatalogDoc, vid: u32, chash: &str) -> tantivy::TantivyDocument {
    let mut d = tantivy::TantivyDocument::default();
    d.add_text(f.id, &doc.id);
    d.add_u64(f.vid, vid as u64);
    d.add_text(f.chash, chash);
    d.add_text(f.kind, doc.kind.as_str());
    if !doc.category.is_empty() {
        d.add_text(f.category, &doc.category);
    }
    if !doc.brand.is_empty() {
        d.add_text(f.brand, &doc.brand);
    }
    for m in &doc.compatible_models {
        d.add_text(f.compat, fold_code(m));
    }
    d.add_i64(f.in_stock, doc.in_stock);
    d.add_text(f.sku_key, fold_code(&doc.sku));
    d.add_text(f.model_key, fold_code(&doc.model));
    if let Some(p) = doc.price_rub {
        d.add_f64(f.price, p);
    }
    d.add_text(f.doc_json, serde_json::to_string(doc).unwrap_or_default());
    d.add_text(f.name, &doc.name);
    d.add_text(f.description, &doc.description);
    d.add_text(f.model_t, &doc.model);
    d.add_text(f.brand_t, &doc.brand);
    d.add_text(f.category_t, &doc.category);
    d.add_text(f.compat_t, doc.compatible_models.join(" ; "));
    let body = format!(
        "{} ; {} ; {} ; {} ; {} ; {} ; {} ; {}",
        doc.name,
        doc.sku,
        doc.brand,
        doc.model,
        doc.category,
        doc.description,
        doc.attributes_text(),
        doc.compatible_models.join(" ; ")
    );
    d.add_text(f.body, &body);
    let codes = doc_codes(doc);
    let mut prefixes = Vec::new();
    for c in &codes {
        edge_ngrams(&mut prefixes, c, 3, 24);
    }
    prefixes.sort();
    prefixes.dedup();
    d.add_text(f.code, codes.join(" "));
    d.add_text(f.code_prefix, prefixes.join(" "));
    let mut sugg = Vec::new();
    for w in analysis::split_words(&doc.name) {
        edge_ngrams(&mut sugg, &normalize(w.2), 1, 20);
    }
    for c in &codes {
        edge_ngrams(&mut sugg, c, 1, 24);
    }
    sugg.sort();
    sugg.dedup();
    d.add_text(f.suggest, sugg.join(" "));
    for q in doc_quantities(doc) {
        d.add_text(f.qty, q);
    }
    d
}

/// Quantities a card states: in its name and description, and in its attributes, whose keys
/// name the unit (`power_kw: 2.2` is `2200w`).
pub fn doc_quantities(doc: &CatalogDoc) -> Vec<String> {
    let mut out = analysis::quantities(&doc.name);
    out.extend(analysis::quantities(&doc.description));
    for text in [&doc.name, &doc.description] {
        out.extend(analysis::sizes(text));
        out.extend(analysis::tapers(text, true));
        out.extend(analysis::travels(text));
    }
    if let Some(map) = doc.attributes.as_object() {
        // A ring (bearing, seal, bushing) by its diameters, with its width when known, as a
        // query writes them (`35x62`, `35x62x14`, `внутренний 35 наружный 62`).
        let mm = |k: &str| map.get(k).and_then(serde_json::Value::as_f64);
        if let (Some(d), Some(big)) = (mm("inner_diameter_mm"), mm("outer_diameter_mm")) {
            out.extend(analysis::size_token(&[big, d]));
            if let Some(width) = mm("width_mm") {
                out.extend(analysis::size_token(&[big, d, width]));
            }
        }
        for (key, value) in map {
            if let serde_json::Value::String(s) = value {
                out.extend(analysis::sizes(s));
                out.extend(analysis::tapers(s, true));
            }
            // `travel_x_mm: 400`
            let axis = key
                .strip_prefix("travel_")
                .and_then(|k| k.strip_suffix("_mm"));
            if let (Some(a @ ("x" | "y" | "z")), Some(mm)) = (axis, value.as_f64()) {
                if mm >= 1.0 && mm.fract() == 0.0 {
                    out.push(format!("travel{a}{}", mm as u64));
                }
            }
            // `morse_taper: 3`
            if key.contains("morse") {
                if let Some(n) = value.as_u64() {
                    out.push(format!("taperkm{n}"));
                }
            }
            let unit = analysis::attribute_unit(key);
            let numbers: Vec<f64> = match value {
                serde_json::Value::Number(n) => n.as_f64().into_iter().collect(),
                serde_json::Value::Array(items) => {
                    items.iter().filter_map(|v| v.as_f64()).collect()
                }
                serde_json::Value::String(s) => {
                    out.extend(analysis::quantities(s));
                    Vec::new()
                }
                _ => Vec::new(),
            };
            if let Some((canon, factor)) = unit {
                out.extend(
                    numbers
                        .into_iter()
                        .filter_map(|n| analysis::quantity_token(n * factor, canon)),
                );
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
