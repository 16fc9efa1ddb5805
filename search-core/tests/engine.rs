//! Engine tests on temp dirs with a fixed small catalog: visibility of writes in the next
//! snapshot, filters, facets, pagination, persistence, corrupt-index recovery, the query repairs
//! the embedding side reads, and snapshots of ranked lists (`tests/snapshots/ranked.txt`;
//! regenerate with `UPDATE_SNAPSHOTS=1` and review the diff).

use search_core::{
    CatalogDoc, Change, Embedder, Engine, EngineConfig, Filters, HashingEmbedder, Kind, Mode,
    OpenOutcome, SearchRequest, Synonyms, TextKind,
};
use std::collections::HashSet;
use std::sync::Arc;

const DIM: usize = 64;

#[allow(clippy::too_many_arguments)]
fn doc(
    id: &str,
    kind: &str,
    sku: &str,
    name: &str,
    brand: &str,
    model: &str,
    category: &str,
    description: &str,
    compat: &[&str],
    price: f64,
    stock: i64,
) -> CatalogDoc {
    serde_json::from_value(serde_json::json!({
        "id": id, "kind": kind, "sku": sku, "name": name, "brand": brand, "model": model,
        "category": category, "description": description, "compatible_models": compat,
        "price_rub": price, "in_stock": stock,
    }))
    .expect("a valid document")
}

/// A small catalog with the hard cases of the real one: codes typed several ways, parts for a
/// named machine, a press-brake pedal next to press-brake tooling, English-only needs.
fn catalog() -> Vec<CatalogDoc> {
    vec![
        doc(
            "M-1",
            "product",
            "16K20-1000",
            "Токарно-винторезный станок 16К20 РМЦ 1000 мм",
            "Россия",
            "16К20",
            "Токарные станки",
            "Универсальный токарно-винторезный станок для точения и нарезания резьбы.",
            &[],
            1_850_000.0,
            1,
        ),
        doc(
            "M-2",
            "product",
            "VF-2",
            "Вертикальный обрабатывающий центр Haas VF-2",
            "Haas",
            "VF-2",
            "Обрабатывающие центры",
            "Вертикальный обрабатывающий центр с ЧПУ, стол 914x356 мм.",
            &[],
            9_500_000.0,
            0,
        ),
        doc(
            "M-3",
            "product",
            "WC67K-100/3200",
            "Гидравлический листогибочный пресс STALEX WC67K-100/3200",
            "STALEX",
            "WC67K-100/3200",
            "Листогибочные прессы",
            "Листогибочный пресс усилием 100 т, длина гиба 3200 мм.",
            &[],
            2_400_000.0,
            2,
        ),
        doc(
            "M-4",
            "product",
            "6Р82Г",
            "Горизонтально-фрезерный станок 6Р82Г",
            "Россия",
            "6Р82Г",
            "Фрезерные станки",
            "Консольно-фрезерный станок с горизонтальным шпинделем.",
            &[],
            1_200_000.0,
            0,
        ),
        doc(
            "P-1",
            "spare_part",
            "6205-2RS",
            "Подшипник 6205-2RS SKF",
            "SKF",
            "6205",
            "Подшипники",
            "Шариковый радиальный подшипник 25x52x15 мм с двумя уплотнениями.",
            &[],
            450.0,
            40,
        ),
        doc(
            "P-2",
            "spare_part",
            "6205-2Z",
            "Подшипник 6205-2Z FAG",
            "FAG",
            "6205",
            "Подшипники",
            "Шариковый радиальный подшипник 25x52x15 мм с металлическими шайбами.",
            &[],
            420.0,
            12,
        ),
        doc(
            "P-3",
            "spare_part",
            "6206-2RS",
            "Подшипник 6206-2RS SKF",
            "SKF",
            "6206",
            "Подшипники",
            "Шариковый радиальный подшипник 30x62x16 мм.",
            &[],
            520.0,
            0,
        ),
        doc(
            "P-4",
            "spare_part",
            "3182120",
            "Подшипник шпинделя 3182120 для 16К20",
            "ГПЗ",
            "3182120",
            "Подшипники",
            "Роликовый двухрядный подшипник передней опоры шпинделя токарного станка.",
            &["16К20"],
            14_000.0,
            3,
        ),
        doc(
            "P-5",
            "spare_part",
            "SFU1605-1000",
            "ШВП SFU1605 длина 1000 мм",
            "HIWIN",
            "SFU1605",
            "ШВП и винтовые пары",
            "Шарико-винтовая пара, диаметр 16 мм, шаг 5 мм, с гайкой.",
            &[],
            6_900.0,
            7,
        ),
        doc(
            "P-6",
            "spare_part",
            "SFU1610-1000",
            "ШВП SFU1610 длина 1000 мм",
            "HIWIN",
            "SFU1610",
            "ШВП и винтовые пары",
            "Шарико-винтовая пара, диаметр 16 мм, шаг 10 мм.",
            &[],
            7_400.0,
            0,
        ),
        doc(
            "P-7",
            "spare_part",
            "25-1633",
            "Шарико-винтовая пара оси X для Haas VF-2",
            "Haas",
            "VF-2",
            "ШВП и винтовые пары",
            "Оригинальная шарико-винтовая передача привода подачи по оси X.",
            &["VF-2"],
            98_000.0,
            1,
        ),
        doc(
            "P-8",
            "spare_part",
            "HRF-FS2",
            "Педаль управления Kacon HRF-FS2 (ножной выключатель)",
            "Kacon",
            "HRF",
            "Концевые выключатели и датчики",
            "Ножной выключатель для управления ходом траверсы пресса.",
            &[],
            2_870.0,
            15,
        ),
        doc(
            "P-9",
            "spare_part",
            "ROL-D88-V40",
            "Матрица листогиба Wila V40, 88°",
            "Rolleri",
            "Wila",
            "Инструмент для листогибов",
            "Нижний гибочный инструмент для листогибочного пресса.",
            &[],
            31_000.0,
            4,
        ),
        doc(
            "P-10",
            "spare_part",
            "ROL-D88-V16",
            "Матрица листогиба Promecam V16, 88°",
            "Rolleri",
            "Promecam",
            "Инструмент для листогибов",
            "Нижний гибочный инструмент, раскрытие 16 мм.",
            &[],
            19_000.0,
            0,
        ),
        doc(
            "P-11",
            "spare_part",
            "1FK7042-5AF71",
            "Серводвигатель Siemens 1FK7042-5AF71",
            "Siemens",
            "1FK7",
            "Серводвигатели",
            "Синхронный серводвигатель 0,82 кВт, 3000 об/мин, без тормоза.",
            &["VF-2"],
            120_000.0,
            2,
        ),
        doc(
            "P-12",
            "spare_part",
            "ПА-22",
            "Насос охлаждения ПА-22",
            "Россия",
            "ПА-22",
            "Насосы СОЖ",
            "Погружной электронасос для подачи смазочно-охлаждающей жидкости, 22 л/мин.",
            &["6Р82Г", "16К20"],
            5_300.0,
            9,
        ),
        doc(
            "P-13",
            "spare_part",
            "A-1250",
            "Ремень клиновой A-1250",
            "Gates",
            "A",
            "Приводные ремни",
            "Клиновой приводной ремень профиля A длиной 1250 мм.",
            &["16К20"],
            390.0,
            30,
        ),
        doc(
            "P-14",
            "spare_part",
            "3-1202",
            "Патрон токарный трехкулачковый 250 мм",
            "Bison",
            "3-1202",
            "Патроны и оснастка",
            "Самоцентрирующий патрон 250 мм для токарного станка.",
            &["16К20"],
            28_000.0,
            5,
        ),
        doc(
            "P-15",
            "spare_part",
            "MUF-6R82",
            "Муфта обгонная 6Р82Г",
            "Россия",
            "6Р82Г",
            "Зубчатые передачи и муфты",
            "Муфта привода подачи консольно-фрезерного станка.",
            &["6Р82Г"],
            8_200.0,
            2,
        ),
    ]
}

fn embedder() -> HashingEmbedder {
    HashingEmbedder::new(DIM)
}

fn upsert(d: CatalogDoc) -> Change {
    let v = embedder()
        .embed(&[d.embedding_text().as_str()], TextKind::Passage)
        .expect("hashing embedder")
        .remove(0);
    Change::Upsert {
        doc: d,
        vector: Some(v),
    }
}

fn config() -> EngineConfig {
    let mut cfg = EngineConfig::new(embedder().model_id().to_string(), DIM);
    cfg.synonyms = Arc::new(
        Synonyms::parse(
            "швп = шарико-винтовая пара = ball screw\nлистогиб = листогибочный пресс = press brake\n\
             подшипник = bearing\nпатрон = chuck\nнасос = pump\nхаас = haas\n",
        )
        .expect("valid synonyms"),
    );
    cfg.result_cache = 0;
    cfg
}

fn loaded(dir: &std::path::Path) -> Engine {
    let (engine, outcome) = Engine::open(dir, config()).expect("open");
    assert!(matches!(outcome, OpenOutcome::Created), "{outcome:?}");
    engine.set_embedder(Some(Arc::new(search_core::CachedEmbedder::new(
        Arc::new(embedder()),
        64,
    ))));
    engine
        .apply(catalog().into_iter().map(upsert).collect(), 1)
        .expect("apply");
    engine
}

fn ids(engine: &Engine, req: &SearchRequest) -> Vec<String> {
    engine
        .snapshot()
        .search(req)
        .expect("search")
        .hits
        .into_iter()
        .map(|h| h.doc.id.clone())
        .collect()
}

fn req(text: &str, mode: Mode) -> SearchRequest {
    SearchRequest::new(text, mode)
}

#[test]
fn writes_show_in_the_next_snapshot_and_never_in_an_open_one() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    let before = engine.snapshot();
    let mut renamed = catalog()
        .into_iter()
        .find(|d| d.id == "P-13")
        .expect("the belt");
    renamed.name = "Ремень зубчатый HTD 8M-1200".into();
    renamed.description = "Зубчатый ремень привода шпинделя.".into();
    let new = doc(
        "P-99",
        "spare_part",
        "NEW-1",
        "Фильтр гидравлический напорный",
        "Hydac",
        "HF",
        "Гидравлика",
        "Напорный фильтр гидросистемы.",
        &[],
        3_000.0,
        1,
    );
    engine
        .apply(
            vec![
                upsert(renamed),
                upsert(new),
                Change::Delete { id: "P-3".into() },
            ],
            2,
        )
        .unwrap();
    let after = engine.snapshot();
    let lex = |s: &search_core::Snapshot, q: &str| -> Vec<String> {
        s.search(&req(q, Mode::Lexical))
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.doc.id.clone())
            .collect()
    };
    // The open snapshot still answers as before.
    assert!(lex(&before, "клиновой ремень").contains(&"P-13".to_string()));
    assert!(lex(&before, "6206").contains(&"P-3".to_string()));
    assert!(!lex(&before, "фильтр гидравлический Hydac").contains(&"P-99".to_string()));
    // The next one sees the update, the insert and the delete, on both sides.
    assert!(!lex(&after, "клиновой").contains(&"P-13".to_string()));
    assert_eq!(
        lex(&after, "HTD 8M").first().map(String::as_str),
        Some("P-13")
    );
    assert_eq!(
        lex(&after, "фильтр гидравлический Hydac")
            .first()
            .map(String::as_str),
        Some("P-99")
    );
    assert!(!lex(&after, "6206").contains(&"P-3".to_string()));
    assert!(after.get("P-3").unwrap().is_none());
    let sem = after
        .search(&req("подшипник 6206-2RS", Mode::Semantic))
        .unwrap();
    assert!(
        sem.hits.iter().all(|h| h.doc.id != "P-3"),
        "deleted doc left the vector side"
    );
    assert_eq!(after.applied_seq(), 2);
    assert_eq!(before.applied_seq(), 1);
}

#[test]
fn filters_apply_before_ranking_on_both_sides_and_facets_cover_the_match_set() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    for mode in [Mode::Lexical, Mode::Semantic, Mode::Hybrid] {
        let mut r = req("подшипник", mode);
        r.filters = Filters {
            in_stock: Some(true),
            brand: Some("SKF".into()),
            ..Filters::default()
        };
        let res = engine.snapshot().search(&r).unwrap();
        let got: Vec<&str> = res.hits.iter().map(|h| h.doc.id.as_str()).collect();
        assert_eq!(got, vec!["P-1"], "{mode:?}: only the SKF bearing in stock");
        assert!(res.hits.iter().all(|h| h.doc.in_stock > 0));
    }
    // A filter that leaves few documents still fills `limit` from them (semantic side).
    let mut r = req("станок", Mode::Semantic);
    r.filters.kind = Some(Kind::SparePart);
    r.filters.compatible_with = Some("16K20".into()); // Latin K
    r.limit = 10;
    let res = engine.snapshot().search(&r).unwrap();
    let got: HashSet<String> = res.hits.iter().map(|h| h.doc.id.clone()).collect();
    let want: HashSet<String> = ["P-4", "P-12", "P-13", "P-14"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got, want);
    // Price range and facets over the whole filtered match set, not the page.
    let mut r = req("подшипник", Mode::Lexical);
    r.filters.price_max = Some(500.0);
    r.limit = 1;
    let res = engine.snapshot().search(&r).unwrap();
    assert_eq!(res.total, 2, "6205-2RS and 6205-2Z cost at most 500");
    assert_eq!(res.hits.len(), 1);
    let brands: HashSet<(String, u64)> = res.facets.brand.iter().cloned().collect();
    assert_eq!(
        brands,
        [("SKF".to_string(), 1), ("FAG".to_string(), 1)]
            .into_iter()
            .collect()
    );
    assert_eq!(res.facets.category, vec![("Подшипники".to_string(), 2)]);
}

#[test]
fn pages_are_disjoint_and_total_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    for mode in [Mode::Lexical, Mode::Hybrid, Mode::Semantic] {
        let mut all = Vec::new();
        let mut totals = HashSet::new();
        for page in 0..5 {
            let mut r = req("станок подшипник ремень", mode);
            r.limit = 3;
            r.offset = page * 3;
            let res = engine.snapshot().search(&r).unwrap();
            totals.insert(res.total);
            all.extend(res.hits.iter().map(|h| h.doc.id.clone()));
        }
        let mut whole = req("станок подшипник ремень", mode);
        whole.limit = 15;
        assert_eq!(totals.len(), 1, "{mode:?}: total changed between pages");
        assert_eq!(
            all,
            ids(&engine, &whole),
            "{mode:?}: pages differ from one long page"
        );
        let unique: HashSet<&String> = all.iter().collect();
        assert_eq!(unique.len(), all.len(), "{mode:?}: a document on two pages");
    }
}

#[test]
fn a_reopened_index_answers_the_same_and_a_corrupt_one_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let queries = [
        "6205 2RS",
        "ШВП для VF-2",
        "педаль для листогиба",
        "насос сож",
    ];
    let before: Vec<Vec<String>> = {
        let engine = loaded(dir.path());
        engine
            .apply(vec![Change::Delete { id: "P-2".into() }], 7)
            .unwrap();
        queries
            .iter()
            .map(|q| ids(&engine, &req(q, Mode::Hybrid)))
            .collect()
    };
    let (engine, outcome) = Engine::open(dir.path(), config()).unwrap();
    assert!(matches!(outcome, OpenOutcome::Loaded), "{outcome:?}");
    engine.set_embedder(Some(Arc::new(search_core::CachedEmbedder::new(
        Arc::new(embedder()),
        64,
    ))));
    assert_eq!(engine.snapshot().applied_seq(), 7);
    assert_eq!(engine.snapshot().num_docs(), catalog().len() as u64 - 1);
    let after: Vec<Vec<String>> = queries
        .iter()
        .map(|q| ids(&engine, &req(q, Mode::Hybrid)))
        .collect();
    assert_eq!(before, after);
    drop(engine);

    // Damage the text index's metadata: the engine must not serve it.
    std::fs::write(dir.path().join("text").join("meta.json"), b"{ not json").unwrap();
    let (engine, outcome) = Engine::open(dir.path(), config()).unwrap();
    assert!(matches!(outcome, OpenOutcome::Recreated(_)), "{outcome:?}");
    assert_eq!(engine.snapshot().num_docs(), 0);
    assert_eq!(
        engine.snapshot().applied_seq(),
        0,
        "rebuilt from the change log start"
    );

    // An index built for another model is rebuilt too.
    drop(engine);
    let mut other = config();
    other.model_id = "another-model".into();
    let (_, outcome) = Engine::open(dir.path(), other).unwrap();
    assert!(
        matches!(outcome, OpenOutcome::Created | OpenOutcome::Recreated(_)),
        "{outcome:?}"
    );
}

#[test]
fn machine_words_after_dlya_are_context_not_the_need() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    let top = ids(
        &engine,
        &req("педаль управления для листогиба", Mode::Lexical),
    );
    assert_eq!(top.first().map(String::as_str), Some("P-8"), "{top:?}");
    // Without a need before "для" the machine itself is asked for.
    let top = ids(&engine, &req("листогиб", Mode::Lexical));
    assert_eq!(top.first().map(String::as_str), Some("M-3"), "{top:?}");
}

#[test]
fn the_embedding_reads_a_repaired_query() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    let snap = engine.snapshot();
    // Latin keyboard layout, transliteration, a typo, an English phrase from the dictionary.
    assert_eq!(snap.semantic_text("gjlibgybr 6205"), "подшипник 6205");
    assert_eq!(snap.semantic_text("podshipnik 6205"), "подшипник 6205");
    assert_eq!(snap.semantic_text("подшибник 6205"), "подшипник 6205");
    assert_eq!(snap.semantic_text("ball screw for VF-2"), "швп for VF-2");
    // Known words and codes stay as typed.
    assert_eq!(
        snap.semantic_text("Подшипник 6205-2RS SKF"),
        "Подшипник 6205-2RS SKF"
    );
}

#[test]
fn an_exact_code_is_first_in_every_form_and_mode_that_has_words() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    for q in [
        "6205-2RS",
        "6205 2RS",
        "62052rs",
        "1FK7042-5AF71",
        "1FK70425AF71",
    ] {
        for mode in [Mode::Lexical, Mode::Hybrid] {
            let top = ids(&engine, &req(q, mode));
            let want = if q.starts_with("6205") { "P-1" } else { "P-11" };
            assert_eq!(
                top.first().map(String::as_str),
                Some(want),
                "{q} {mode:?}: {top:?}"
            );
        }
    }
    // A model typed with a Latin K finds the machine first.
    let top = ids(&engine, &req("станок 16K20", Mode::Hybrid));
    assert_eq!(top.first().map(String::as_str), Some("M-1"), "{top:?}");
}

/// Ranked lists for a fixed query set; any ranking change shows up as a diff of this file.
#[test]
fn ranked_lists_match_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    let queries = [
        "6205-2RS",
        "6205",
        "SFU1605",
        "16K20",
        "подшипник шпинделя для 16К20",
        "ШВП для VF-2",
        "ball screw 16 mm pitch 5",
        "подшибник 6206",
        "хаас",
        "насос сож для 6Р82Г",
        "педаль для листогиба",
        "ремень",
        "chuck for 16K20 lathe",
    ];
    let mut out = String::new();
    for q in queries {
        for mode in [Mode::Lexical, Mode::Semantic, Mode::Hybrid] {
            let mut r = req(q, mode);
            r.limit = 5;
            out.push_str(&format!(
                "{q} | {} | {}\n",
                mode.as_str(),
                ids(&engine, &r).join(" ")
            ));
        }
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/ranked.txt");
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &out).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .expect("tests/snapshots/ranked.txt (create it with UPDATE_SNAPSHOTS=1)");
    let diff: Vec<String> = want
        .lines()
        .zip(out.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("- {a}\n+ {b}"))
        .collect();
    assert!(
        diff.is_empty() && want.lines().count() == out.lines().count(),
        "ranking changed (UPDATE_SNAPSHOTS=1 to accept):\n{}",
        diff.join("\n")
    );
}

/// Regression: in lexical mode the pin tiers were looked up among the first `offset + limit`
/// candidates only, so an exact part-number match ranked below page 1 by BM25 jumped to the
/// head of a later page, and the pages no longer tiled one long list.
#[test]
fn a_pinned_match_below_the_first_page_leads_every_page_in_lexical_mode() {
    let engine = Engine::in_memory(EngineConfig::new("none", DIM)).unwrap();
    let mut docs: Vec<CatalogDoc> = (0..12)
        .map(|i| {
            doc(
                &format!("S-{i:02}"),
                "spare_part",
                &format!("SFU1605-{}", 300 + i * 100),
                &format!("ШВП SFU1605 длина {} мм", 300 + i * 100),
                "HIWIN",
                "SFU1605",
                "ШВП и винтовые пары",
                "Винт SFU1605 с гайкой SFU1605.",
                &[],
                5_000.0,
                1,
            )
        })
        .collect();
    docs.push(doc(
        "S-PIN",
        "spare_part",
        "SFU1605",
        "Комплект ремонтный",
        "TBI",
        "KIT",
        "Узлы и детали станков",
        "Набор уплотнений, смазки и крепежа для обслуживания винтовой передачи в сборе с \
         опорами, кожухами и деталями крепления на станке.",
        &[],
        900.0,
        1,
    ));
    engine
        .apply(docs.into_iter().map(upsert).collect(), 1)
        .unwrap();
    let page = |offset: usize, limit: usize| {
        let mut r = req("SFU1605", Mode::Lexical);
        r.offset = offset;
        r.limit = limit;
        ids(&engine, &r)
    };
    assert_eq!(
        page(0, 3)[0],
        "S-PIN",
        "the part-number match is pinned on page 1"
    );
    let pages: Vec<String> = (0..5).flat_map(|p| page(p * 3, 3)).collect();
    assert_eq!(pages, page(0, 15), "pages tile one long page");
}

/// A card with the given attributes (the fixed catalog has none).
fn with_attributes(mut d: CatalogDoc, attributes: serde_json::Value) -> CatalogDoc {
    d.attributes = attributes;
    d
}

/// Quantities meet in canonical units (`2200 W` = `power_kw: 2.2`, `40 Вт` is not `40 л/мин`),
/// and a card that meets every word of the query outranks one that meets a single word many
/// times.
#[test]
fn stated_quantities_and_the_whole_query_decide_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    let extra = vec![
        with_attributes(
            doc(
                "P-20",
                "spare_part",
                "АИР90L4",
                "Двигатель АИР90L4",
                "ВЭМЗ",
                "АИР90L4",
                "Электродвигатели",
                "Трехфазный асинхронный.",
                &[],
                9_000.0,
                3,
            ),
            serde_json::json!({"power_kw": 2.2}),
        ),
        with_attributes(
            doc(
                "P-21",
                "spare_part",
                "АИР180S4",
                "Электродвигатель АИР180S4 22 кВт",
                "ВЭМЗ",
                "АИР180S4",
                "Электродвигатели",
                "Трехфазный асинхронный двигатель 22 кВт.",
                &[],
                60_000.0,
                1,
            ),
            serde_json::json!({"power_kw": 22}),
        ),
        // One word of the query in every field.
        doc(
            "P-22",
            "spare_part",
            "ВК-300",
            "Выключатель концевой ВК-300, выключатель",
            "Выключатель-Пром",
            "Выключатель ВК",
            "Концевые выключатели и датчики",
            "Выключатель концевой. Выключатель ВК.",
            &[],
            900.0,
            10,
        ),
        // A voltage in a code: `380В` in a query is a voltage, not this part number.
        doc(
            "P-26",
            "spare_part",
            "КМИ-11210 380В",
            "Контактор КМИ-11210 380В",
            "IEK",
            "КМИ-11210 380В",
            "Электрооборудование",
            "Контактор 380 В, катушка 380 В.",
            &[],
            900.0,
            10,
        ),
        with_attributes(
            doc(
                "P-27",
                "spare_part",
                "1FK7103-5AF71",
                "Сервомотор Siemens 1FK7103",
                "Siemens",
                "1FK7",
                "Серводвигатели",
                "Синхронный двигатель привода подачи.",
                &[],
                150_000.0,
                1,
            ),
            serde_json::json!({"power_kw": 5.0, "voltage_v": 400}),
        ),
        doc(
            "P-24",
            "spare_part",
            "AB-12",
            "Насос СОЖ AB-12",
            "Китай",
            "AB-12",
            "Насосы СОЖ",
            "Насос 40 Вт, 380 В.",
            &[],
            5_000.0,
            2,
        ),
        doc(
            "P-25",
            "spare_part",
            "AB-45",
            "Насос СОЖ AB-45 380 Вт",
            "Китай",
            "AB-45",
            "Насосы СОЖ",
            "Насос 380 Вт, подача 40 л/мин; насос СОЖ 380 Вт.",
            &[],
            9_000.0,
            2,
        ),
    ];
    engine
        .apply(extra.into_iter().map(upsert).collect(), 2)
        .expect("apply");
    for mode in [Mode::Lexical, Mode::Hybrid] {
        for (q, want) in [
            ("двигатель 2200 W", "P-20"),
            ("насос 40 Вт 380 В", "P-24"),
            ("ножной выключатель пресса", "P-8"),
            ("сервомотор 5 кВт 380В", "P-27"),
        ] {
            let top = ids(&engine, &req(q, mode));
            assert_eq!(
                top.first().map(String::as_str),
                Some(want),
                "{q} {mode:?}: {top:?}"
            );
        }
    }
}

/// A machine described by its table size and spindle taper, written however the buyer writes
/// them (`320 х 1250`, `1250 на 320`, `SK 40`), is found by its attributes, and the numbers of
/// a size are not lengths of their own (a 1600 mm belt does not answer `стол 400 x 1600 мм`).
#[test]
fn sizes_and_tapers_meet_in_any_notation() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    let mill = |id: &str, model: &str, table: &str, taper: &str| {
        with_attributes(
            doc(
                id,
                "product",
                model,
                &format!("Вертикально-фрезерный станок {model}"),
                "Россия",
                model,
                "Фрезерные станки",
                "Консольный фрезерный станок с поворотной головой.",
                &[],
                900_000.0,
                1,
            ),
            serde_json::json!({"table_size_mm": table, "spindle_taper": taper}),
        )
    };
    let extra = vec![
        mill("M-40", "6Р12", "1250x320", "7:24 №50 (ISO 50)"),
        mill("M-41", "6Р13", "1600x400", "7:24 №50 (ISO 50)"),
        mill("M-42", "ФСС-40", "1250x320", "SK40"),
        mill("M-43", "ФСС-41", "1600x400", "BT40"),
        doc(
            "P-40",
            "spare_part",
            "B-1600",
            "Ремень клиновой B 1600 мм для фрезерного станка",
            "Optibelt",
            "B",
            "Приводные ремни",
            "Клиновой ремень длиной 1600 мм, стол привода фрезерного станка.",
            &[],
            900.0,
            10,
        ),
    ];
    engine
        .apply(extra.into_iter().map(upsert).collect(), 2)
        .expect("apply");
    for mode in [Mode::Lexical, Mode::Hybrid] {
        for (q, want) in [
            ("фрезерный станок стол 320 х 1250 конус 50", "M-40"),
            ("фрезерный станок стол 1250 на 320 ISO 50", "M-40"),
            ("фрезерный станок стол 1250x320 SK 40", "M-42"),
            ("фрезерный стол 400 x 1600 мм ISO-50", "M-41"),
            ("фрезерный станок 1600х400 BT 40", "M-43"),
        ] {
            let top = ids(&engine, &req(q, mode));
            assert_eq!(
                top.first().map(String::as_str),
                Some(want),
                "{q} {mode:?}: {top:?}"
            );
        }
    }
}

/// A ring (bearing, seal) asked for by its diameters, named apart or as one size, is found by
/// the diameters its attributes state, not by a card that shares only one of them.
#[test]
fn rings_are_found_by_their_two_diameters() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    let bearing = |id: &str, code: &str, inner: u32, outer: u32, width: u32| {
        with_attributes(
            doc(
                id,
                "spare_part",
                code,
                &format!("Подшипник шариковый радиальный {code}"),
                "ZWZ",
                "60xx",
                "Подшипники",
                "Радиальный однорядный шарикоподшипник открытого типа.",
                &[],
                500.0,
                10,
            ),
            serde_json::json!({"inner_diameter_mm": inner, "outer_diameter_mm": outer, "width_mm": width}),
        )
    };
    let extra = vec![
        bearing("P-60", "6007", 35, 62, 14),
        bearing("P-61", "6305", 25, 62, 17),
        bearing("P-62", "6207", 35, 72, 17),
    ];
    engine
        .apply(extra.into_iter().map(upsert).collect(), 2)
        .expect("apply");
    for mode in [Mode::Lexical, Mode::Hybrid] {
        for (q, want) in [
            ("шариковый подшипник внутренний 35 наружный 62", "P-60"),
            ("подшипник наружный диаметр 62 мм, внутренний 25 мм", "P-61"),
            ("подшипник 35x72x17", "P-62"),
            ("подшипник 62 на 35", "P-60"),
        ] {
            let top = ids(&engine, &req(q, mode));
            // Above the bearings that share one diameter; first of all in lexical mode (the
            // fixture's toy vectors, word hashes, may put another card first in hybrid).
            let at = |id: &str| top.iter().position(|x| x == id).unwrap_or(usize::MAX);
            for other in ["P-60", "P-61", "P-62"].into_iter().filter(|o| *o != want) {
                assert!(at(want) < at(other), "{q} {mode:?}: {top:?}");
            }
            if mode == Mode::Lexical {
                assert_eq!(top.first().map(String::as_str), Some(want), "{q}: {top:?}");
            }
        }
    }
}

/// Of the parts declared for a named machine that match the need, the one whose name or
/// category says it is what was asked for comes before one whose description only mentions it
/// (a service kit "with filters" is not a filter).
#[test]
fn a_part_named_as_the_need_comes_before_one_that_mentions_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    let extra = vec![
        doc(
            "M-50",
            "product",
            "2Н125",
            "Вертикально-сверлильный станок 2Н125",
            "Россия",
            "2Н125",
            "Сверлильные станки",
            "Сверлильный станок с диаметром сверления до 25 мм.",
            &[],
            400_000.0,
            1,
        ),
        doc(
            "P-50",
            "spare_part",
            "ТО-1-2Н125",
            "Комплект ТО-1 для 2Н125",
            "Россия",
            "ТО-1",
            "Комплекты для ТО",
            "В комплекте фильтры, уплотнения и скребки; фильтры оригинальные.",
            &["2Н125"],
            6_000.0,
            5,
        ),
        doc(
            "P-51",
            "spare_part",
            "HYDAC 0110 R 010",
            "Фильтроэлемент гидравлический HYDAC 0110 R 010",
            "HYDAC",
            "HYDAC 0110",
            "Фильтры",
            "Элемент гидростанции, тонкость 10 мкм.",
            &["2Н125"],
            3_000.0,
            2,
        ),
    ];
    engine
        .apply(extra.into_iter().map(upsert).collect(), 2)
        .expect("apply");
    for mode in [Mode::Lexical, Mode::Hybrid] {
        let q = "2Н125 фиильтры";
        let top = ids(&engine, &req(q, mode));
        let at = |id: &str| top.iter().position(|x| x == id).unwrap_or(usize::MAX);
        assert!(at("P-51") < at("P-50"), "{mode:?}: {top:?}");
        assert_eq!(
            top.first().map(String::as_str),
            Some("P-51"),
            "{mode:?}: {top:?}"
        );
    }
}

/// A part of the same series as one declared for the named machine (another maker's V-belt
/// of the same profile) follows the declared part, before parts that only share the words.
#[test]
fn a_declared_parts_series_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    let belt = |id: &str, name: &str, series: &str, compat: &[&str]| {
        doc(
            id,
            "spare_part",
            &format!("{series}-{id}"),
            name,
            "Optibelt",
            series,
            "Приводные ремни",
            "Клиновой ремень.",
            compat,
            900.0,
            4,
        )
    };
    let extra = vec![
        doc(
            "M-70",
            "product",
            "1К62",
            "Токарно-винторезный станок 1К62",
            "Россия",
            "1К62",
            "Токарные станки",
            "Универсальный токарный станок.",
            &[],
            500_000.0,
            1,
        ),
        belt("P-70", "Ремень клиновой SPB-1400", "SPB", &["1К62"]),
        belt("P-71", "Ремень SPB-1400 ContiTech", "SPB", &[]),
        belt(
            "P-72",
            "Ремень клиновой приводной ремень A-1600, ремень для станков",
            "A",
            &[],
        ),
    ];
    engine
        .apply(extra.into_iter().map(upsert).collect(), 2)
        .expect("apply");
    for mode in [Mode::Lexical, Mode::Hybrid] {
        let top = ids(&engine, &req("ремень для 1К62", mode));
        let at = |id: &str| top.iter().position(|x| x == id).unwrap_or(usize::MAX);
        assert_eq!(
            top.first().map(String::as_str),
            Some("P-70"),
            "{mode:?}: {top:?}"
        );
        assert!(at("P-71") < at("P-72"), "{mode:?}: {top:?}");
    }
}

/// A part whose model is the named machine itself (a maintenance kit modelled `VCN-530C`) has
/// no series to follow: the other parts modelled after the machine are not pinned with it,
/// whatever they are.
#[test]
fn a_part_modelled_after_the_named_machine_has_no_series() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    let part = |id: &str, name: &str, model: &str, compat: &[&str]| {
        doc(
            id,
            "spare_part",
            &format!("SKU-{id}"),
            name,
            "Mazak",
            model,
            "Запчасти",
            "Деталь обрабатывающего центра.",
            compat,
            1000.0,
            2,
        )
    };
    let extra = vec![
        part(
            "P-80",
            "Комплект ТО-1 для VCN-530C (фильтры, уплотнения)",
            "VCN-530C",
            &["VCN-530C"],
        ),
        part(
            "P-81",
            "Телескопическая защита оси X VCN-530C",
            "VCN-530C",
            &["VCN-530C"],
        ),
        part("P-82", "Фильтр гидравлический 0110 R 010", "0110R010", &[]),
    ];
    engine
        .apply(extra.into_iter().map(upsert).collect(), 2)
        .expect("apply");
    for mode in [Mode::Lexical, Mode::Hybrid] {
        let res = engine
            .snapshot()
            .search(&req("VCN-530C фильтры", mode))
            .unwrap();
        let hit = |id: &str| res.hits.iter().find(|h| h.doc.id == id);
        assert!(
            hit("P-80").is_some_and(|h| h.exact),
            "{mode:?}: the kit meets the need"
        );
        assert!(
            hit("P-81").is_none_or(|h| !h.exact),
            "{mode:?}: a guard is no filter, pinned as the kit's series"
        );
    }
}

/// A Latin code typed in Cyrillic, and a code typed on the Latin layout inside a query typed so.
#[test]
fn codes_typed_in_the_other_alphabet_or_layout_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    for mode in [Mode::Lexical, Mode::Hybrid] {
        let top = ids(&engine, &req("швп сфу 1605", mode));
        assert_eq!(
            top.first().map(String::as_str),
            Some("P-5"),
            "{mode:?}: {top:?}"
        );
        // "насос охлаждения 6р82г" on the Latin layout.
        let top = ids(&engine, &req("yfcjc j[kf;ltybz 6h82u", mode));
        assert_eq!(
            top.first().map(String::as_str),
            Some("P-12"),
            "{mode:?}: {top:?}"
        );
    }
    let snap = engine.snapshot();
    assert_eq!(
        snap.semantic_text("yfcjc j[kf;ltybz 6h82u"),
        "насос охлаждения 6р82г"
    );
}

/// Coordination adds up per query word, but however long the query, only a met constraint or
/// an exact code pins a document above the fused list.
#[test]
fn a_long_query_pins_nothing_without_a_code_or_constraint() {
    let dir = tempfile::tempdir().unwrap();
    let engine = loaded(dir.path());
    let q = "подшипник шариковый радиальный уплотнениями ".repeat(10);
    assert!(q.chars().count() <= search_core::MAX_QUERY_CHARS);
    for mode in [Mode::Lexical, Mode::Hybrid] {
        let res = engine
            .snapshot()
            .search(&req(q.trim(), mode))
            .expect("search");
        assert!(!res.hits.is_empty(), "{mode:?}");
        let pinned: Vec<&str> = res
            .hits
            .iter()
            .filter(|h| h.exact)
            .map(|h| h.doc.id.as_str())
            .collect();
        assert!(pinned.is_empty(), "{mode:?}: pinned {pinned:?}");
    }
}

/// A machine model the dictionary spells another way (`эксперт 150` for `Xpert 150`) is still
/// the machine a part is asked for: the query is after its parts, not after the machine.
#[test]
fn a_model_named_through_a_synonym_asks_for_its_parts() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.synonyms = Arc::new(Synonyms::parse("эксперт = xpert\n").expect("valid synonyms"));
    let (engine, _) = Engine::open(dir.path(), cfg).expect("open");
    let docs = vec![
        doc(
            "M-X",
            "product",
            "XPERT150-N",
            "Листогибочный пресс с ЧПУ Bystronic Xpert 150",
            "Bystronic",
            "Xpert 150",
            "Листогибочные прессы",
            "Листогибочный пресс усилием 150 т с сервоприводом заднего упора.",
            &[],
            9_000_000.0,
            1,
        ),
        doc(
            "P-X",
            "spare_part",
            "6SL3120-2TE21-0AA3",
            "Сервопривод Siemens 6SL3120-2TE21-0AA3",
            "Siemens",
            "Sinamics S120",
            "Сервоприводы и усилители",
            "Двухосевой модуль для управления серводвигателями.",
            &["Xpert 150"],
            180_000.0,
            2,
        ),
        doc(
            "P-Y",
            "spare_part",
            "6SL3120-1TE21-0AA3",
            "Сервопривод Siemens 6SL3120-1TE21-0AA3",
            "Siemens",
            "Sinamics S120",
            "Сервоприводы и усилители",
            "Одноосевой модуль для управления серводвигателем.",
            &["DMU 50"],
            120_000.0,
            3,
        ),
        doc(
            "P-Z",
            "spare_part",
            "BYS-SRV-3015",
            "Сервопривод Bystronic оси Y листогиба Xpert 40",
            "Bystronic",
            "Xpert 40",
            "Сервоприводы и усилители",
            "Сервопривод Bystronic для листогибочного пресса Bystronic Xpert 40.",
            &["Xpert 40"],
            150_000.0,
            1,
        ),
    ];
    engine
        .apply(docs.into_iter().map(upsert).collect(), 1)
        .expect("apply");
    for mode in [Mode::Lexical, Mode::Hybrid] {
        let top = ids(&engine, &req("сервопривод эксперт 150", mode));
        assert_eq!(
            top.first().map(String::as_str),
            Some("P-X"),
            "{mode:?}: {top:?}"
        );
        // The brand before the model is the machine's, not the part's: a Siemens drive
        // declared for the Xpert 150 answers before a Bystronic drive for another machine.
        let top = ids(&engine, &req("servo drive for Bystronic Xpert 150", mode));
        let at = |id: &str| top.iter().position(|x| x == id).unwrap_or(usize::MAX);
        assert!(at("P-X") < at("P-Z"), "{mode:?}: {top:?}");
    }
}

/// A filtered semantic search scans the filtered set exactly when the filter keeps few
/// documents (at most 3,000, or under a fifth of the catalog) and walks the graph otherwise,
/// dropping what fails the filter. Both paths return only documents that pass the filter, and
/// the same best ten by cosine as a brute-force pass over them.
#[test]
fn filtered_semantic_search_scans_or_walks_by_the_filters_share() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _) = Engine::open(dir.path(), config()).expect("open");
    let words = [
        "подшипник",
        "шпиндель",
        "ремень",
        "насос",
        "двигатель",
        "муфта",
        "фреза",
        "патрон",
        "контактор",
        "энкодер",
        "винт",
        "гайка",
        "фильтр",
        "датчик",
        "привод",
        "редуктор",
    ];
    // 4,000 documents: 80 % in stock (above both thresholds), 10 % of brand Rare (below them).
    let docs: Vec<CatalogDoc> = (0..4000usize)
        .map(|i| {
            let name = format!(
                "{} {} {} серия {}",
                words[i % words.len()],
                words[(i / 7) % words.len()],
                words[(i / 53) % words.len()],
                i % 97
            );
            doc(
                &format!("F-{i}"),
                "spare_part",
                &format!("F{i:05}"),
                &name,
                if i % 10 == 3 { "Rare" } else { "Common" },
                &format!("M{}", i % 31),
                "Запчасти",
                &name,
                &[],
                1_000.0 + i as f64,
                if i % 5 == 0 { 0 } else { 1 },
            )
        })
        .collect();
    let vectors: std::collections::HashMap<String, Vec<f32>> = docs
        .iter()
        .map(|d| {
            let v = embedder()
                .embed(&[d.embedding_text().as_str()], TextKind::Passage)
                .unwrap()
                .remove(0);
            (d.id.clone(), v)
        })
        .collect();
    let by_id: std::collections::HashMap<String, CatalogDoc> =
        docs.iter().map(|d| (d.id.clone(), d.clone())).collect();
    engine
        .apply(docs.into_iter().map(upsert).collect(), 1)
        .expect("apply");
    engine.set_embedder(Some(Arc::new(search_core::CachedEmbedder::new(
        Arc::new(embedder()),
        64,
    ))));
    let text = "подшипник шпинделя насос";
    let query = embedder()
        .embed(&[text], TextKind::Query)
        .unwrap()
        .remove(0);
    let cosine = |id: &str| -> f32 { vectors[id].iter().zip(&query).map(|(a, b)| a * b).sum() };
    type Pass = fn(&CatalogDoc) -> bool;
    let cases: [(&str, Filters, Pass); 2] = [
        (
            "in stock (walked)",
            Filters {
                in_stock: Some(true),
                ..Filters::default()
            },
            |d| d.in_stock > 0,
        ),
        (
            "brand Rare (scanned)",
            Filters {
                brand: Some("Rare".into()),
                ..Filters::default()
            },
            |d| d.brand == "Rare",
        ),
    ];
    for (label, filters, pass) in cases {
        let mut r = req(text, Mode::Semantic);
        r.filters = filters;
        let got = ids(&engine, &r);
        assert_eq!(got.len(), 10, "{label}: {got:?}");
        assert!(got.iter().all(|id| pass(&by_id[id])), "{label}: {got:?}");
        let mut best: Vec<(&String, f32)> = by_id
            .iter()
            .filter(|(_, d)| pass(d))
            .map(|(id, _)| (id, cosine(id)))
            .collect();
        best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        let tenth = best[9].1;
        // Ties at the tenth place may be broken either way: every hit must score at least it.
        for id in &got {
            assert!(
                cosine(id) >= tenth - 1e-5,
                "{label}: {id} ({}) is not among the best ten (tenth {tenth})",
                cosine(id)
            );
        }
    }
}
