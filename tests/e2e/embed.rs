//! The real ONNX model (multilingual-e5-small rebuilt by scripts/setup.sh).

use search_core::{Embedder, OnnxConfig, OnnxEmbedder, Precision, TextKind};

fn config(precision: Precision) -> OnnxConfig {
    let cfg = server::Config::from_env().unwrap();
    OnnxConfig {
        precision,
        ..cfg.onnx()
    }
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn e5_embeds_cross_lingually_and_batches_like_singles() {
    let e =
        OnnxEmbedder::load(&config(Precision::Int8)).expect("model installed by scripts/setup.sh");
    assert_eq!(e.dim(), 384);
    let texts = [
        "подшипник шпинделя 6205-2RS",
        "spindle bearing 6205-2RS",
        "клиновой ремень B-1600 для главного привода токарного станка",
    ];
    let batch = e.embed(&texts, TextKind::Passage).unwrap();
    for v in &batch {
        assert!((cos(v, v) - 1.0).abs() < 1e-4);
    }
    assert!(cos(&batch[0], &batch[1]) > cos(&batch[0], &batch[2]));
    // Padding in a batch must not change a vector.
    for (i, t) in texts.iter().enumerate() {
        let single = e.embed(&[t], TextKind::Passage).unwrap().pop().unwrap();
        assert!(
            cos(&single, &batch[i]) > 0.995,
            "text {i}: {}",
            cos(&single, &batch[i])
        );
    }
    // Queries and passages use different prefixes.
    let q = e
        .embed(&[texts[0]], TextKind::Query)
        .unwrap()
        .pop()
        .unwrap();
    assert!(cos(&q, &batch[0]) < 0.9999);
}

#[test]
fn fp32_and_int8_agree() {
    let a = OnnxEmbedder::load(&config(Precision::Fp32)).unwrap();
    let b = OnnxEmbedder::load(&config(Precision::Int8)).unwrap();
    assert_ne!(a.model_id(), b.model_id());
    let t = ["шарико-винтовая пара SFU1605 для оси X"];
    let va = a.embed(&t, TextKind::Passage).unwrap().pop().unwrap();
    let vb = b.embed(&t, TextKind::Passage).unwrap().pop().unwrap();
    assert!(cos(&va, &vb) > 0.98, "cosine {}", cos(&va, &vb));
}

#[test]
fn the_arena_setting_changes_memory_not_vectors() {
    let with = OnnxEmbedder::load(&OnnxConfig {
        arena: true,
        ..config(Precision::Int8)
    })
    .unwrap();
    let without = OnnxEmbedder::load(&OnnxConfig {
        arena: false,
        ..config(Precision::Int8)
    })
    .unwrap();
    // The vectors are cached by model id, so both settings must share it.
    assert_eq!(with.model_id(), without.model_id());
    let texts = [
        "подшипник шпинделя для 16К20",
        "патрон трёхкулачковый 250 мм с длинным описанием, чтобы пакет выровнялся по длине",
    ];
    for kind in [TextKind::Query, TextKind::Passage] {
        let a = with.embed(&texts, kind).unwrap();
        let b = without.embed(&texts, kind).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!(cos(x, y) > 0.9999, "cosine {}", cos(x, y));
        }
    }
}

/// The embedder's compact Unigram gives exactly the ids of `tokenizers`' own model, on the
/// fixture catalog, the development catalog when present (../shared/data), and odd inputs.
#[test]
fn the_compact_tokenizer_matches_tokenizers_id_for_id() {
    let cfg = config(Precision::Int8);
    let path = cfg.model_dir.join("tokenizer.json");
    let reference = tokenizers::Tokenizer::from_file(&path).unwrap();
    let compact = search_core::load_tokenizer(&path).unwrap();
    let mut texts: Vec<String> = search_core::fixture::catalog(2000, 5)
        .iter()
        .map(|d| format!("passage: {}", d.embedding_text()))
        .collect();
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    for file in ["catalog.jsonl", "queries_dev.jsonl"] {
        if let Ok(body) = std::fs::read_to_string(shared.join(file)) {
            for line in body.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                for key in ["name", "description", "query"] {
                    if let Some(t) = v[key].as_str() {
                        texts.push(format!("query: {t}"));
                    }
                }
            }
        }
    }
    let n_fixture_and_shared = texts.len();
    texts.extend(
        [
            "",
            " ",
            "query:   двойные   пробелы\tи\nпереводы",
            "ПОДШИПНИК 6205-2RS ＳＫＦ ①②",
            "漢字とかな 🚀🔧 emoji ЖЖЖ",
            "\u{0}\u{7f}\u{200b}control",
            "<s> <mask> </s> <unk> спецсимволы",
            "ǅ ﬁ ﬀ Ⅻ ㎏ ½",
            "аааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааа",
        ]
        .map(String::from),
    );
    let mut differ = Vec::new();
    for t in &texts {
        let a = reference.encode(t.as_str(), true).unwrap();
        let b = compact.encode(t.as_str(), true).unwrap();
        if a.get_ids() != b.get_ids() {
            differ.push(t.clone());
        }
    }
    assert!(n_fixture_and_shared >= 2000);
    assert!(
        differ.is_empty(),
        "{} of {} differ: {:?}",
        differ.len(),
        texts.len(),
        &differ[..differ.len().min(5)]
    );
}
