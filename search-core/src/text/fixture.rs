//! A small in-memory index for the planning, repair and semantic-text tests.

use super::schema::{register_tokenizers, schema, to_tantivy, Fields};
use crate::doc::CatalogDoc;
use tantivy::schema::Schema;

/// A small in-memory index: its dictionary is the vocabulary the planner consults.
pub(super) fn vocabulary() -> (Schema, Fields, tantivy::Searcher) {
    let (schema, f) = schema();
    let index = tantivy::Index::create_in_ram(schema.clone());
    register_tokenizers(&index);
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    let cards = [
        (
            "M-1",
            "product",
            "16K20-1000",
            "Токарно-винторезный станок 16К20",
            "16К20",
            "Токарные станки",
            vec![],
        ),
        (
            "P-1",
            "spare_part",
            "6205-2RS",
            "Подшипник шпинделя 6205-2RS",
            "6205-2RS",
            "Подшипники",
            vec!["16К20"],
        ),
        (
            "P-2",
            "spare_part",
            "ШВП-2510",
            "Винтовая пара ШВП 25x10 для станка",
            "ШВП-2510",
            "ШВП",
            vec!["VF-2"],
        ),
        (
            "P-3",
            "spare_part",
            "4WE6D",
            "Гидрораспределитель Rexroth 4WE6D Ду6",
            "4WE6D",
            "Гидрораспределители",
            vec![],
        ),
        (
            "M-2",
            "product",
            "6Р12",
            "Вертикально-фрезерный станок 6Р12, стол 1250x320, конус ISO 50",
            "6Р12",
            "Фрезерные станки",
            vec![],
        ),
        (
            "P-4",
            "spare_part",
            "CUZN37-025",
            "Проволока латунная 0,25 мм для электроэрозии",
            "CuZn37",
            "Электроэрозионные станки",
            vec!["AQ400L"],
        ),
        (
            "P-5",
            "spare_part",
            "A-1600",
            "Ремень клиновой A-1600 (комплект 2 ремня)",
            "A",
            "Ремни",
            vec!["16К20"],
        ),
    ];
    for (i, (id, kind, sku, name, model, category, compat)) in cards.into_iter().enumerate() {
        let doc: CatalogDoc = serde_json::from_value(serde_json::json!({
            "id": id, "kind": kind, "sku": sku, "name": name, "brand": "Россия",
            "model": model, "category": category, "compatible_models": compat,
        }))
        .unwrap();
        writer
            .add_document(to_tantivy(&f, &doc, i as u32, "h"))
            .unwrap();
    }
    writer.commit().unwrap();
    let searcher = index.reader().unwrap().searcher();
    (schema, f, searcher)
}
