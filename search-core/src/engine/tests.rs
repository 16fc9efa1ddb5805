use super::*;
use crate::doc::CatalogDoc;
use crate::doc::Kind;
use crate::embed::CachedEmbedder;
use crate::error::Result;
use crate::synonyms::Synonyms;
use crate::text::Filters;
use crate::text::{self, MatchSetCollector};
use crate::Embedder;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::DocAddress;

fn doc(id: &str, name: &str) -> CatalogDoc {
    serde_json::from_value(serde_json::json!({"id": id, "kind": "spare_part", "name": name}))
        .expect("a valid document")
}

/// An in-memory engine (no vectors) with the synonym dictionary `synonyms`, holding `docs`
/// in one commit.
pub(crate) fn engine_with(synonyms: &str, docs: Vec<CatalogDoc>) -> Engine {
    let mut config = EngineConfig::new("t", 8);
    config.synonyms = Arc::new(Synonyms::parse(synonyms).expect("synonyms parse"));
    let engine = Engine::in_memory(config).unwrap();
    let changes = docs
        .into_iter()
        .map(|doc| Change::Upsert { doc, vector: None })
        .collect();
    engine.apply(changes, 1).unwrap();
    engine
}

/// Applies one upsert (without a vector) as change `seq`.
fn upsert(engine: &Engine, doc: CatalogDoc, seq: i64) {
    let change = Change::Upsert { doc, vector: None };
    engine.apply(vec![change], seq).unwrap();
}

/// Spare parts named `names`, with ids `d0`, `d1`, …
fn named(names: &[&str]) -> Vec<CatalogDoc> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| doc(&format!("d{i}"), n))
        .collect()
}

/// The lexical answer to `q`, past the result cache.
fn lexical(snap: &Snapshot, q: &str) -> SearchResults {
    snap.search_with_vector(&SearchRequest::new(q, Mode::Lexical), None)
        .unwrap()
}

/// A lexical search through tantivy's union (`true`) or the accumulating executor.
fn lexical_union(snap: &Snapshot, q: &str, union: bool) -> SearchResults {
    let req = SearchRequest::new(q, Mode::Lexical);
    snap.search_with_executors(&req, None, Executors::lexical_union(union))
        .unwrap()
}

/// A brand typed in Cyrillic that does not transliterate letter for letter (`трумф` for
/// Trumpf) finds the brand's cards through the near stems of its transliteration, and
/// only them; the executor and tantivy's union agree on it.
#[test]
fn a_loosely_transliterated_brand_finds_its_cards() {
    let engine = engine_with(
        "",
        named(&[
            "Лазерный станок Trumpf TruLaser",
            "Сопло Trumpf 1.5 мм",
            "Сопло Bystronic 1.5 мм",
            "Насос смазки",
        ]),
    );
    let snap = engine.snapshot();
    let ids = |r: &SearchResults| -> HashSet<String> {
        r.hits.iter().map(|h| h.doc.id.clone()).collect()
    };
    let res = lexical(&snap, "трумф");
    assert_eq!(ids(&res), HashSet::from(["d0".into(), "d1".into()]));
    let union = lexical_union(&snap, "трумф", true);
    assert_eq!(ids(&union), ids(&res));
    let res = lexical(&snap, "сопло трумф");
    assert_eq!(res.hits[0].doc.id, "d1", "both words beat one");
    assert_eq!(lexical(&snap, "тромбон").total, 0, "out of reach");
}

/// An axis travel in a query (`X400`) meets a machine's `travel_x_mm` attribute and the
/// travels its description lists; a machine with other travels does not come first.
#[test]
fn an_axis_travel_meets_the_machines_with_it() {
    let machine = |id: &str, x: u64, description: &str| -> CatalogDoc {
        serde_json::from_value(serde_json::json!({
            "id": id, "kind": "product", "name": "Электроэрозионный станок",
            "description": description, "attributes": {"travel_x_mm": x},
        }))
        .unwrap()
    };
    let engine = engine_with(
        "",
        vec![
            machine("wide", 600, "Ходы X/Y/Z 600/400/310 мм"),
            machine("attr", 400, ""),
            machine("text", 350, "Ходы X/Y/Z 400/300/250 мм"),
        ],
    );
    let snap = engine.snapshot();
    let res = lexical(&snap, "электроэрозионный станок X400");
    let ids: Vec<&str> = res.hits.iter().map(|h| h.doc.id.as_str()).collect();
    assert_eq!(ids[2], "wide", "{ids:?}");
    assert_eq!(lexical(&snap, "станок Y 300").hits[0].doc.id, "text");
}

/// A query whose words the index does not know (a part number nobody stocks) finds
/// nothing lexically; only a query without words browses the catalog.
#[test]
fn an_unknown_part_number_matches_nothing_instead_of_browsing() {
    let engine = engine_with(
        "",
        named(&[
            "Подшипник 6205-2RS",
            "Ремень клиновой A-1250",
            "Насос смазки",
        ]),
    );
    let snap = engine.snapshot();
    for q in ["NN3018K", "qqzx 99x77"] {
        let res = lexical(&snap, q);
        assert_eq!((res.total, res.hits.len()), (0, 0), "{q}");
        assert_eq!(lexical_union(&snap, q, true).total, 0, "{q} under tantivy");
    }
    assert_eq!(lexical(&snap, "").total, 3, "an empty query browses");
    assert_eq!(
        lexical(&snap, "для").total,
        3,
        "so does one of stopwords only"
    );
    assert_eq!(lexical(&snap, "6205-2RS").total, 1);
}

/// A hashing embedder that counts the texts it embeds.
struct Counting {
    inner: crate::HashingEmbedder,
    texts: std::sync::atomic::AtomicUsize,
}

impl Embedder for Counting {
    fn model_id(&self) -> &str {
        "counting"
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn embed(&self, texts: &[&str], kind: crate::TextKind) -> Result<Vec<Vec<f32>>> {
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        self.inner.embed(texts, kind)
    }
}

/// The match-set collector's own top-k (which replaced a second `TopDocs` collector) ranks
/// as `TopDocs` does, ties by address included, across segments and for any depth; the part
/// boost lifts spare parts by exactly its amount.
#[test]
fn the_collector_top_ranks_as_top_docs() {
    let engine = Engine::in_memory(EngineConfig::new("t", 8)).unwrap();
    let words = ["подшипник", "шпиндель", "ремень", "насос", "фильтр"];
    for batch in 0..3 {
        let changes = (0..60)
            .map(|i| {
                let n = batch * 60 + i;
                // Repeated names give many equal scores.
                let name = format!("{} {}", words[n % 5], words[(n / 5) % 5]);
                let mut d = doc(&format!("d{n}"), &name);
                if n % 3 == 0 {
                    d.kind = Kind::Product;
                }
                Change::Upsert {
                    doc: d,
                    vector: None,
                }
            })
            .collect();
        engine.apply(changes, batch as i64 + 1).unwrap();
    }
    let snap = engine.snapshot();
    assert!(snap.text.segment_readers().len() > 1, "several segments");
    for q in ["подшипник шпиндель", "ремень", "насос фильтр подшипник"]
    {
        let lex = text::build_query(&snap.fields, &snap.text, &snap.config.synonyms, q);
        for k in [1, 3, 7, 50, 500] {
            let expected = snap
                .text
                .search(&*lex.query(), &TopDocs::with_limit(k))
                .unwrap();
            let collector = |part_boost| MatchSetCollector {
                with_facets: false,
                with_vids: false,
                vid_words: snap.vid_words(),
                tables: snap.cols.clone(),
                top: k,
                part_boost,
            };
            let got = snap.text.search(&*lex.query(), &collector(0.0)).unwrap();
            assert_eq!(got.top, expected, "{q} k={k}");
            if k == 500 {
                assert_eq!(
                    got.top.len() as u64,
                    got.count,
                    "{q}: every match is ranked"
                );
                let boosted = snap.text.search(&*lex.query(), &collector(2.5)).unwrap();
                let score_of = |top: &[(f32, DocAddress)], a: DocAddress| {
                    top.iter().find(|x| x.1 == a).map(|x| x.0).unwrap()
                };
                for (score, addr) in &got.top {
                    let part = snap.load(*addr).unwrap().kind == Kind::SparePart;
                    let lift = score_of(&boosted.top, *addr) - score;
                    assert!((lift - if part { 2.5 } else { 0.0 }).abs() < 1e-4, "{q}");
                }
            }
        }
    }
}

/// An exact part-number query ranks by the pinned document's own vector and embeds
/// nothing; a descriptive query is embedded once.
#[test]
fn an_exact_code_hybrid_query_embeds_nothing() {
    let counting = Arc::new(Counting {
        inner: crate::HashingEmbedder::new(16),
        texts: Default::default(),
    });
    let engine = Engine::in_memory(EngineConfig::new("counting", 16)).unwrap();
    engine.set_embedder(Some(Arc::new(CachedEmbedder::new(counting.clone(), 8))));
    let docs: Vec<CatalogDoc> = [
        ("P-1", "6205-2RS", "Подшипник шариковый 6205-2RS"),
        ("P-2", "B-1600", "Ремень клиновой B-1600"),
        ("P-3", "6206-ZZ", "Подшипник шариковый 6206-ZZ"),
    ]
    .iter()
    .map(|(id, sku, name)| {
        serde_json::from_value(serde_json::json!(
            {"id": id, "kind": "spare_part", "sku": sku, "name": name}))
        .unwrap()
    })
    .collect();
    let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
    let vectors = counting
        .inner
        .embed(&names, crate::TextKind::Passage)
        .unwrap();
    let changes = docs
        .into_iter()
        .zip(vectors)
        .map(|(doc, v)| Change::Upsert {
            doc,
            vector: Some(v),
        })
        .collect();
    engine.apply(changes, 1).unwrap();
    let embedded = || counting.texts.load(Ordering::SeqCst);
    let res = engine
        .snapshot()
        .search(&SearchRequest::new("6205-2RS", Mode::Hybrid))
        .unwrap();
    assert_eq!(res.mode, Mode::Hybrid);
    assert_eq!(res.hits[0].doc.id, "P-1");
    assert!(res.hits[0].exact);
    assert_eq!(embedded(), 0, "the code query was embedded");
    let res = engine
        .snapshot()
        .search(&SearchRequest::new("ремень для станка", Mode::Hybrid))
        .unwrap();
    assert_eq!(res.mode, Mode::Hybrid);
    assert_eq!(embedded(), 1);
}

/// Embeds every query as the first axis.
struct AxisQuery;

impl Embedder for AxisQuery {
    fn model_id(&self) -> &str {
        "axis"
    }
    fn dim(&self) -> usize {
        4
    }
    fn embed(&self, texts: &[&str], _kind: crate::TextKind) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|_| vec![1.0, 0.0, 0.0, 0.0]).collect())
    }
}

/// An in-memory engine under `cfg` (result cache off) whose queries all embed as the first
/// axis, holding spare parts `(id, name, vector)`.
fn axis_engine(mut cfg: EngineConfig, cards: &[(&str, &str, [f32; 4])]) -> Engine {
    cfg.result_cache = 0;
    let engine = Engine::in_memory(cfg).unwrap();
    engine.set_embedder(Some(Arc::new(CachedEmbedder::new(Arc::new(AxisQuery), 8))));
    let changes = cards
        .iter()
        .map(|(id, name, v)| Change::Upsert {
            doc: doc(id, name),
            vector: Some(v.to_vec()),
        })
        .collect();
    engine.apply(changes, 1).unwrap();
    engine
}

/// With feedback, the semantic side of hybrid brings a card like the lexical hit (and
/// sharing no word with the query) before a card that is only like the query's embedding.
#[test]
fn feedback_brings_what_is_like_the_first_lexical_hits() {
    let order = |feedback_docs: usize| -> Vec<String> {
        let mut cfg = EngineConfig::new("axis", 4);
        cfg.feedback_docs = feedback_docs;
        let engine = axis_engine(
            cfg,
            &[
                ("X", "Винт шариковый SFU1605", [0.0, 1.0, 0.0, 0.0]),
                ("Y", "Пара качения HIWIN R16", [0.0, 0.96, 0.28, 0.0]),
                ("Z", "Ремень клиновой A-1250", [0.8, 0.0, 0.0, 0.6]),
            ],
        );
        let res = engine
            .snapshot()
            .search(&SearchRequest::new("винт", Mode::Hybrid))
            .unwrap();
        res.hits.iter().map(|h| h.doc.id.clone()).collect()
    };
    assert_eq!(order(2), ["X", "Y", "Z"]);
    // Without feedback the semantic side is the query's own embedding: Z, close to it, comes
    // before Y (and, its cosine far above X's, before the lexical hit too).
    let plain = order(0);
    let at = |id: &str| plain.iter().position(|x| x == id).unwrap();
    assert!(at("Z") < at("Y"), "{plain:?}");
}

/// The lists `fusion_inputs` reports are what the search fused: pins first, then the lists
/// replayed through `RrfParams::fuse_hybrid` with the engine's parameters, give the search's
/// own order.
#[test]
fn fusion_inputs_replay_to_the_searchs_order() {
    let cfg = EngineConfig::new("axis", 4);
    let params = cfg.rrf;
    let engine = axis_engine(
        cfg,
        &[
            ("A", "Винт шариковый SFU1605", [0.2, 1.0, 0.0, 0.0]),
            ("B", "Винт трапецеидальный Tr20x4", [0.9, 0.1, 0.0, 0.0]),
            ("C", "Гайка винта шарикового", [0.6, 0.0, 0.8, 0.0]),
            ("D", "Ремень клиновой A-1250", [0.8, 0.0, 0.0, 0.6]),
            ("E", "Подшипник 6205", [0.0, 0.0, 0.0, 1.0]),
        ],
    );
    let snap = engine.snapshot();
    let req = SearchRequest::new("винт шариковый", Mode::Hybrid);
    let searched: Vec<String> = snap
        .search(&req)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.doc.id.clone())
        .collect();
    let lists = snap.fusion_inputs(&req, None).unwrap();
    assert_eq!(lists.mode, Mode::Hybrid);
    assert!(
        lists.lexical.len() >= 2 && lists.semantic.len() == 5,
        "{lists:?}"
    );
    let fused = params.fuse_hybrid(&lists.lexical, &lists.semantic, lists.semantic_weight);
    let mut replayed = lists.pinned.clone();
    replayed.extend(
        fused
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| !lists.pinned.contains(id)),
    );
    assert_eq!(replayed, searched);
}

#[test]
fn cached_results_never_outlive_their_snapshot() {
    let engine = Engine::in_memory(EngineConfig::new("none", 8)).unwrap();
    let upsert = |d: CatalogDoc| Change::Upsert {
        doc: d,
        vector: None,
    };
    engine
        .apply(vec![upsert(doc("A", "Подшипник 6205"))], 1)
        .unwrap();
    let req = SearchRequest::new("подшипник", Mode::Lexical);
    let first = engine.snapshot().search(&req).unwrap();
    assert_eq!(first.total, 1);
    // Served from the cache: same answer.
    assert_eq!(engine.snapshot().search(&req).unwrap().total, 1);
    engine
        .apply(vec![upsert(doc("A", "Ремень клиновой"))], 2)
        .unwrap();
    let after = engine.snapshot().search(&req).unwrap();
    assert_eq!(
        after.total, 0,
        "a new snapshot does not reuse the old answers"
    );
}

/// The accumulating executor answers as tantivy's union of the same query: the same total
/// and facets, and the same ranked scores up to float rounding (the union sums clauses in
/// an order that shifts as its scorers run out), across segments, deletes and filters, for
/// queries that take every kind of clause (terms, codes, constants, synonyms, typo and
/// transliteration repairs, quantities, layout repair); with words read from their
/// impacts and, without the word cache, from their six postings lists.
#[test]
fn the_accumulating_executor_answers_as_tantivys_union() {
    executor_answers_as_tantivys_union(EngineConfig::new("t", 8).word_cache_bytes);
    executor_answers_as_tantivys_union(0);
}

fn executor_answers_as_tantivys_union(word_cache_bytes: usize) {
    let mut config = EngineConfig::new("t", 8);
    config.word_cache_bytes = word_cache_bytes;
    config.synonyms = Arc::new(
        Synonyms::parse(include_str!("../../../server/synonyms.txt")).expect("synonyms parse"),
    );
    let engine = Engine::in_memory(config).unwrap();
    let docs = crate::fixture::catalog(3000, 5);
    for (i, chunk) in docs.chunks(1000).enumerate() {
        let changes = chunk
            .iter()
            .map(|d| Change::Upsert {
                doc: d.clone(),
                vector: None,
            })
            .collect();
        engine.apply(changes, i as i64 + 1).unwrap();
    }
    let deletes = docs
        .iter()
        .step_by(7)
        .map(|d| Change::Delete { id: d.id.clone() })
        .collect();
    engine.apply(deletes, 10).unwrap();
    let snap = engine.snapshot();
    assert!(snap.text.segment_readers().len() > 1, "several segments");
    let deleted: u32 = snap
        .text
        .segment_readers()
        .iter()
        .map(|r| r.num_deleted_docs())
        .sum();
    assert!(
        deleted > 400,
        "deletes are in the alive bitsets ({deleted})"
    );
    let queries: Vec<&str> = crate::fixture::QUERIES
        .iter()
        .copied()
        .chain([
            "подшибник шпинделя",
            "хаас",
            "сименс серводвигатель",
            "насос 370 Вт",
            "ремень на станок 16К20",
            "ghjdjl",
            "ball screw 16 mm",
            // Browsing: every document passing the filters (the semantic side's filter
            // set is computed the same way).
            "",
        ])
        .collect();
    let brand = docs[0].brand.clone();
    let mut prices: Vec<f64> = docs.iter().filter_map(|d| d.price_rub).collect();
    prices.sort_by(f64::total_cmp);
    assert!(
        docs.iter().any(|d| d.price_rub.is_none()) && docs.iter().any(|d| d.in_stock == 0),
        "the fixture has unpriced and out-of-stock cards"
    );
    let filter_sets = [
        Filters::default(),
        Filters {
            kind: Some(Kind::SparePart),
            ..Filters::default()
        },
        Filters {
            in_stock: Some(true),
            brand: Some(brand),
            ..Filters::default()
        },
        // The numeric filters run on the segment tables here, as range queries there.
        Filters {
            in_stock: Some(false),
            price_min: Some(prices[prices.len() / 4]),
            ..Filters::default()
        },
        Filters {
            kind: Some(Kind::SparePart),
            price_min: Some(prices[prices.len() / 4]),
            price_max: Some(prices[prices.len() / 2]),
            ..Filters::default()
        },
    ];
    let mut compared = 0;
    for q in &queries {
        for filters in &filter_sets {
            let mut req = SearchRequest::new(*q, Mode::Lexical);
            req.filters = filters.clone();
            req.limit = 60;
            // Past the result cache, which would answer the second from the first.
            let union = snap
                .search_with_executors(&req, None, Executors::lexical_union(true))
                .unwrap();
            let accum = snap.search_with_vector(&req, None).unwrap();
            assert_eq!(union.total, accum.total, "total of {q} {filters:?}");
            assert_eq!(union.facets, accum.facets, "facets of {q} {filters:?}");
            assert_eq!(union.hits.len(), accum.hits.len(), "hits of {q}");
            let close = |a: f32, b: f32| (a - b).abs() <= 1e-4 * a.abs().max(1.0);
            for (u, a) in union.hits.iter().zip(&accum.hits) {
                assert!(close(u.score, a.score), "{q}: {} vs {}", u.score, a.score);
            }
            // Documents scored clearly above the last one returned are the same documents.
            if let Some(last) = accum.hits.last().map(|h| h.score) {
                let above = |r: &SearchResults| -> HashSet<String> {
                    r.hits
                        .iter()
                        .filter(|h| h.score > last && !close(h.score, last))
                        .map(|h| h.doc.id.clone())
                        .collect()
                };
                assert_eq!(above(&union), above(&accum), "{q} {filters:?}");
            }
            compared += usize::from(union.total > 0);
        }
    }
    assert!(compared >= 50, "most queries match something ({compared})");
    let cached = snap.words.as_ref().map_or(0, |w| w.bytes());
    assert_eq!(
        cached > 0,
        word_cache_bytes > 0,
        "impacts cached: {cached} bytes"
    );
}

/// Word impacts carry the statistics of the snapshot they were computed on (BM25's idf and
/// average length): the next snapshot computes its own, so a card scores as tantivy scores
/// it there, not as it scored before the catalog changed.
#[test]
fn word_impacts_never_outlive_their_snapshot() {
    let engine = engine_with(
        "",
        named(&["Подшипник 6205", "Ремень клиновой", "Насос смазки"]),
    );
    let score = |snap: &Snapshot, union: bool| {
        let res = lexical_union(snap, "подшипник", union);
        let hit = res
            .hits
            .iter()
            .find(|h| h.doc.id == "d0")
            .expect("d0 matches");
        hit.score
    };
    let before = engine.snapshot();
    let first = score(&before, false);
    assert!(before.words.as_ref().is_some_and(|w| w.bytes() > 0));
    // More cards with the word: its idf falls.
    let more = (0..5)
        .map(|i| Change::Upsert {
            doc: doc(&format!("p{i}"), &format!("Подшипник {i}")),
            vector: None,
        })
        .collect();
    engine.apply(more, 2).unwrap();
    let after = engine.snapshot();
    let (accum, union) = (score(&after, false), score(&after, true));
    assert!(
        (accum - union).abs() <= 1e-4 * union.abs(),
        "{accum} vs {union}"
    );
    assert!(accum < first - 1e-3, "{accum} after, {first} before");
    assert_eq!(
        score(&before, false),
        first,
        "the old snapshot keeps its own"
    );
}

/// A typo's near terms are looked up once per snapshot and kept in its word cache; a
/// snapshot whose dictionary gained the word finds it, the old one still does not.
#[test]
fn typo_lookups_belong_to_their_snapshot() {
    let engine = engine_with("", named(&["Ремень клиновой", "Насос смазки"]));
    let before = engine.snapshot();
    assert_eq!(before.words.as_ref().map(|w| w.bytes()), Some(0));
    assert_eq!(lexical(&before, "подшибник").total, 0);
    assert!(
        before.words.as_ref().is_some_and(|w| w.bytes() > 0),
        "the empty lookup is kept"
    );
    upsert(&engine, doc("p1", "Подшипник 6205"), 2);
    let after = engine.snapshot();
    let res = lexical(&after, "подшибник");
    assert_eq!(res.total, 1);
    assert_eq!(res.hits[0].doc.id, "p1");
    assert_eq!(
        lexical(&before, "подшибник").total,
        0,
        "the old snapshot keeps its own"
    );
}

/// Multi-word synonym expansions and the compat/need constraint score only where every
/// part matches: cards holding part of an expansion (`винтовая пара`, `пара колёс`) are not
/// matched by it, as under tantivy's intersection, in both executors.
#[test]
fn partial_expansions_match_in_neither_executor() {
    let mut docs = named(&[
        "Шарико-винтовая пара SFU1605",
        "Винтовая пара трапецеидальная",
        "Пара колёс зубчатых",
        "Шарико-винтовая пара SFU2005 для 16К20",
        "Манжета армированная 25x47x7",
        "Манжета резиновая",
        "Уплотнение вала",
        "Швп в сборе",
    ]);
    docs[3].compatible_models = vec!["16К20".into()];
    let engine = engine_with(
        "швп = шарико-винтовая пара\nуплотнение = манжета армированная",
        docs,
    );
    upsert(&engine, doc("machine", "Станок токарный 16К20"), 2);
    let snap = engine.snapshot();
    let ids = |r: &SearchResults| -> Vec<String> {
        let mut v: Vec<String> = r.hits.iter().map(|h| h.doc.id.clone()).collect();
        v.sort();
        v
    };
    for (q, expected) in [
        ("швп", vec!["d0", "d3", "d7"]),
        ("уплотнение", vec!["d4", "d6"]),
        ("швп для 16К20", vec!["d0", "d3", "d7", "machine"]),
    ] {
        let mut answers = Vec::new();
        for union in [true, false] {
            let r = lexical_union(&snap, q, union);
            assert_eq!(ids(&r), expected, "{q}, tantivy union: {union}");
            answers.push(r);
        }
        for (u, a) in answers[0].hits.iter().zip(&answers[1].hits) {
            assert_eq!(u.doc.id, a.doc.id, "{q}: same order");
            assert!(
                (u.score - a.score).abs() <= 1e-4 * u.score.abs().max(1.0),
                "{q}"
            );
        }
    }
}

/// `4Г721М расходники` names a machine and only says "parts": every part declared for that
/// machine meets it and comes before the machine itself and before parts that merely say
/// "consumables" for no machine (dev set q0063 found none of its parts before).
#[test]
fn a_machine_and_a_bare_parts_word_ask_for_its_declared_parts() {
    let mut machine = doc("machine", "Станок электроэрозионный 4Г721М");
    machine.kind = Kind::Product;
    machine.model = "4Г721М".into();
    let mut fluid = doc("fluid", "Жидкость диэлектрическая EDM-1, 208 л");
    fluid.compatible_models = vec!["4Г721М".into(), "AG40L".into()];
    let resin = doc(
        "resin",
        "Смола ионообменная, расходные материалы для электроэрозии",
    );
    let engine = engine_with(
        "расходники = расходные материалы",
        vec![machine, fluid, resin],
    );
    let snap = engine.snapshot();
    for q in ["4Г721М расходники", "запчасти для 4Г721М"] {
        let r = lexical(&snap, q);
        let ids: Vec<&str> = r.hits.iter().map(|h| h.doc.id.as_str()).collect();
        assert_eq!(ids.first(), Some(&"fluid"), "{q}: {ids:?}");
    }
}

/// A misspelt need word (`потрон` for `патрон`) weighs as the word it meant: its nearest
/// indexed stem scores BM25 like any word, so the chuck is not outranked by cards that
/// only match the query's other word (dev set q0254 `потрон для токарного с ЧПУ CLX 450`).
#[test]
fn a_misspelt_word_weighs_as_the_word_it_meant() {
    let docs = named(&[
        "Патрон трехкулачковый",
        "Панель ЧПУ",
        "Ремень клиновой",
        "Насос смазки",
        "Фильтр масляный",
        "Кабель энкодера",
    ]);
    let snap = engine_with("", docs).snapshot();
    for q in ["потрон ЧПУ", "патрон ЧПУ"] {
        assert_eq!(lexical(&snap, q).hits[0].doc.id, "d0", "{q}");
    }
}

/// Small segments merge (then all of them, once the tail is large enough), and searches
/// answer the same before and after.
#[test]
fn piled_up_segments_merge_without_changing_answers() {
    let mut cfg = EngineConfig::new("none", 8);
    cfg.result_cache = 0;
    let engine = Engine::in_memory(cfg).unwrap();
    let words = [
        "подшипник",
        "шпиндель",
        "ремень",
        "насос",
        "фильтр",
        "муфта",
    ];
    let upsert = |n: usize| Change::Upsert {
        doc: doc(
            &format!("d{n}"),
            &format!("{} {} {n}", words[n % 6], words[(n / 6) % 6]),
        ),
        vector: None,
    };
    engine.apply((0..100).map(upsert).collect(), 1).unwrap();
    for n in 100..102 {
        engine.apply(vec![upsert(n)], n as i64 - 98).unwrap();
    }
    let segments = |e: &Engine| e.snapshot().text_segments();
    let answers = |e: &Engine| -> Vec<(u64, Vec<(String, i64)>)> {
        ["подшипник", "ремень насос", "муфта фильтр шпиндель"]
            .iter()
            .map(|q| {
                let mut req = SearchRequest::new(*q, Mode::Lexical);
                req.limit = 100;
                let r = e.snapshot().search(&req).unwrap();
                let mut hits: Vec<(String, i64)> = r
                    .hits
                    .iter()
                    .map(|h| (h.doc.id.clone(), (h.score * 1e4).round() as i64))
                    .collect();
                hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                (r.total, hits)
            })
            .collect()
    };
    assert_eq!(segments(&engine), 3);
    let before = answers(&engine);
    assert!(engine.merge_segments_if_needed().unwrap());
    assert_eq!(segments(&engine), 2, "the two small segments merged");
    assert_eq!(answers(&engine), before);
    assert!(
        !engine.merge_segments_if_needed().unwrap(),
        "100 + 2: nothing to do"
    );
    engine.apply((102..105).map(upsert).collect(), 4).unwrap();
    let before = answers(&engine);
    assert!(engine.merge_segments_if_needed().unwrap());
    assert_eq!(
        segments(&engine),
        1,
        "a tail of 5 against 100 merges everything"
    );
    assert_eq!(answers(&engine), before);
    assert_eq!(engine.stats().applied_seq, 4);
    assert_eq!(engine.stats().documents, 105);
    // The merged index takes changes as before.
    let merged = answers(&engine);
    engine
        .apply(vec![Change::Delete { id: "d0".into() }], 5)
        .unwrap();
    let after = answers(&engine);
    assert_eq!(after[0].0, merged[0].0 - 1, "d0 (подшипник) deleted");
    assert!(after[0].1.iter().all(|(id, _)| id != "d0"));
}
