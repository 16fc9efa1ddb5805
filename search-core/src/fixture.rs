//! Seeded synthetic catalog of a Russian machine-tool seller: machines and spare parts with
//! real-style part numbers, Russian descriptions and compatibility lists.
//!
//! Shared by the demo catalog (`stanok demo-catalog`), the benches and tests, behind the
//! `fixture` feature so production builds of other crates do not carry it.

use crate::doc::{CatalogDoc, Kind};
use serde_json::json;

/// Small deterministic PRNG (xorshift64*), so the fixture does not depend on `rand` versions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// (model, brand, category, Russian machine type, spindle/extra description)
const MACHINES: &[(&str, &str, &str, &str)] = &[
    (
        "16К20",
        "Красный пролетарий",
        "Токарные станки",
        "Токарно-винторезный станок",
    ),
    (
        "1К62",
        "Красный пролетарий",
        "Токарные станки",
        "Токарно-винторезный станок",
    ),
    (
        "16К20Ф3",
        "Красный пролетарий",
        "Токарные станки с ЧПУ",
        "Токарный станок с ЧПУ",
    ),
    (
        "1М63Н",
        "РСЗ",
        "Токарные станки",
        "Токарно-винторезный станок",
    ),
    (
        "ИЖ250ИТВМ",
        "Ижмаш",
        "Токарные станки",
        "Токарно-винторезный станок повышенной точности",
    ),
    (
        "6Р82",
        "Горьковский завод фрезерных станков",
        "Фрезерные станки",
        "Горизонтально-фрезерный станок",
    ),
    (
        "6Р12",
        "Горьковский завод фрезерных станков",
        "Фрезерные станки",
        "Вертикально-фрезерный станок",
    ),
    (
        "2Н135",
        "Стерлитамакский станкозавод",
        "Сверлильные станки",
        "Вертикально-сверлильный станок",
    ),
    (
        "3М151",
        "ХСЗ",
        "Шлифовальные станки",
        "Круглошлифовальный станок",
    ),
    (
        "3Г71",
        "ОЗШС",
        "Шлифовальные станки",
        "Плоскошлифовальный станок",
    ),
    (
        "VF-2",
        "Haas",
        "Обрабатывающие центры",
        "Вертикальный обрабатывающий центр",
    ),
    (
        "VF-3",
        "Haas",
        "Обрабатывающие центры",
        "Вертикальный обрабатывающий центр",
    ),
    (
        "ST-20",
        "Haas",
        "Токарные станки с ЧПУ",
        "Токарный станок с ЧПУ",
    ),
    (
        "DMU 50",
        "DMG MORI",
        "Обрабатывающие центры",
        "Пятиосевой обрабатывающий центр",
    ),
    (
        "CTX 510",
        "DMG MORI",
        "Токарные станки с ЧПУ",
        "Токарный обрабатывающий центр",
    ),
    (
        "QTN-200",
        "Mazak",
        "Токарные станки с ЧПУ",
        "Токарный станок с ЧПУ",
    ),
    (
        "VCN-530C",
        "Mazak",
        "Обрабатывающие центры",
        "Вертикальный обрабатывающий центр",
    ),
    (
        "LB3000",
        "Okuma",
        "Токарные станки с ЧПУ",
        "Токарный станок с ЧПУ",
    ),
    (
        "GH1440A",
        "JET",
        "Токарные станки",
        "Токарно-винторезный станок",
    ),
    (
        "C6246",
        "STALEX",
        "Токарные станки",
        "Токарно-винторезный станок",
    ),
    (
        "TruBend 5130",
        "Trumpf",
        "Листогибочные прессы",
        "Листогибочный пресс",
    ),
    (
        "HFE 100-3",
        "Amada",
        "Листогибочные прессы",
        "Листогибочный пресс",
    ),
    (
        "ByStar Fiber 3015",
        "Bystronic",
        "Станки лазерной резки",
        "Станок лазерной резки",
    ),
    (
        "AQ360L",
        "Sodick",
        "Электроэрозионные станки",
        "Электроэрозионный проволочно-вырезной станок",
    ),
    (
        "HBP 310A",
        "Behringer",
        "Пильные станки",
        "Ленточнопильный станок",
    ),
];

struct PartKind {
    category: &'static str,
    noun: &'static str,
    brands: &'static [&'static str],
    skus: &'static [&'static str],
    describe: &'static str,
    /// Typical price range in roubles.
    price: (usize, usize),
}

const PARTS: &[PartKind] = &[
    PartKind { category: "Подшипники", noun: "Подшипник шариковый радиальный", brands: &["SKF", "FAG", "NSK", "NTN", "ГПЗ"],
        skus: &["6205-2RS", "6206-2RS", "6204-2Z", "6305-2RS", "6207", "180205", "6208-2RS1"],
        describe: "Радиальный шарикоподшипник для шпиндельных узлов и редукторов. Уплотнения с двух сторон, смазка на весь срок службы.", price: (250, 4500) },
    PartKind { category: "Подшипники", noun: "Подшипник роликовый двухрядный", brands: &["SKF", "FAG", "ГПЗ"],
        skus: &["NN3020K", "3182120", "NN3016K", "3182116"],
        describe: "Двухрядный цилиндрический роликоподшипник с коническим отверстием для передней опоры шпинделя. Высокая радиальная жёсткость.", price: (18000, 160000) },
    PartKind { category: "ШВП и винтовые пары", noun: "Шарико-винтовая пара", brands: &["HIWIN", "TBI", "THK"],
        skus: &["SFU1605", "SFU1610", "SFU2005", "SFU2505", "SFU3210"],
        describe: "Шарико-винтовая передача с гайкой и опорами для привода подачи по оси. Класс точности C7, шлифованный винт.", price: (9000, 85000) },
    PartKind { category: "Линейные направляющие", noun: "Каретка линейной направляющей", brands: &["HIWIN", "THK", "Rexroth"],
        skus: &["HGH20CA", "HGW20CC", "HGH25CA", "HGW25CC", "HGH15CA"],
        describe: "Каретка рельсовой направляющей с шариковой циркуляцией. Устанавливается на рельс соответствующего размера.", price: (2500, 19000) },
    PartKind { category: "Серводвигатели", noun: "Серводвигатель", brands: &["Siemens", "Fanuc", "Yaskawa"],
        skus: &["1FK7042-5AF71", "1FK7063-5AF71", "A06B-0075-B103", "SGM7J-08AFC6S"],
        describe: "Синхронный серводвигатель привода подачи с энкодером. Номинальный момент и частота вращения по паспорту.", price: (45000, 380000) },
    PartKind { category: "Приводные ремни", noun: "Ремень клиновой", brands: &["Gates", "Optibelt", "Contitech"],
        skus: &["B-1600", "B-1800", "SPB-1600", "A-1250", "C-2240"],
        describe: "Клиновой ремень главного привода. Профиль и расчётная длина указаны в артикуле.", price: (350, 4200) },
    PartKind { category: "Электрооборудование", noun: "Контактор", brands: &["Schneider Electric", "ABB", "IEK"],
        skus: &["LC1D25M7", "LC1D18M7", "AF26-30-00", "КМИ-22510"],
        describe: "Контактор для коммутации цепей электродвигателей. Катушка управления 220 В переменного тока.", price: (900, 9500) },
    PartKind { category: "Патроны и оснастка", noun: "Патрон токарный трёхкулачковый", brands: &["Bison", "Беларусь", "Kitagawa"],
        skus: &["7-100-250", "3-250", "B-210", "7-100-200"],
        describe: "Самоцентрирующий токарный патрон с закалёнными кулачками. Крепление на фланец шпинделя.", price: (12000, 95000) },
    PartKind { category: "Уплотнения", noun: "Манжета армированная", brands: &["SKF", "Corteco", "Элром"],
        skus: &["50x70x10", "40x62x8", "35x52x7", "60x80x10"],
        describe: "Резиновая армированная манжета (сальник) для уплотнения валов коробки скоростей и шпиндельной бабки.", price: (150, 2400) },
    PartKind { category: "Энкодеры и датчики положения", noun: "Энкодер инкрементальный", brands: &["Heidenhain", "Omron", "Autonics"],
        skus: &["ERN 1387", "E6B2-CWZ6C", "E40S6-1024"],
        describe: "Инкрементальный датчик углового положения вала для обратной связи привода.", price: (6500, 68000) },
    PartKind { category: "ЧПУ и электроника", noun: "Панель оператора ЧПУ", brands: &["Siemens", "Fanuc", "Heidenhain"],
        skus: &["6FC5370-8AA30-0AA0", "A02B-0309-C001", "TNC 640"],
        describe: "Блок управления системы ЧПУ с клавиатурой и дисплеем. Поставляется восстановленным или новым.", price: (85000, 950000) },
    PartKind { category: "Насосы СОЖ", noun: "Насос охлаждающей жидкости", brands: &["Pumpe", "ПА", "Grundfos"],
        skus: &["ПА-22", "ПА-45", "MTH2-60"],
        describe: "Электронасос подачи смазочно-охлаждающей жидкости в зону резания.", price: (7000, 42000) },
];

/// Russian descriptions for the machine's main spec.
fn machine_doc(rng: &mut Rng, n: usize, m: &(&str, &str, &str, &str)) -> CatalogDoc {
    let (model, brand, category, noun) = *m;
    let variant = 500 + 250 * rng.below(6);
    let kw = [5.5, 7.5, 11.0, 15.0, 18.5][rng.below(5)];
    let price = 900_000 + 50_000 * rng.below(60);
    CatalogDoc {
        id: format!("M-{n:06}"),
        kind: Kind::Product,
        sku: format!(
            "{}-{variant}",
            crate::analysis::fold_code(model).to_uppercase()
        ),
        name: format!("{noun} {model} {variant} мм"),
        brand: brand.to_string(),
        model: model.to_string(),
        category: category.to_string(),
        description: format!(
            "{noun} {model} для обработки деталей в единичном и серийном производстве. \
             Рабочая длина {variant} мм, мощность главного привода {kw} кВт. \
             Пусконаладка и обучение оператора включены, гарантия 12 месяцев."
        ),
        attributes: json!({"length_mm": variant, "main_motor_kw": kw, "condition": if rng.below(4) == 0 { "восстановленный" } else { "новый" }}),
        compatible_models: Vec::new(),
        price_rub: Some(price as f64),
        in_stock: rng.below(3) as i64,
    }
}

fn part_doc(rng: &mut Rng, n: usize) -> CatalogDoc {
    let p = rng.pick(PARTS);
    let brand = *rng.pick(p.brands);
    let base = *rng.pick(p.skus);
    let suffix = if rng.below(3) == 0 {
        format!("-{}", 10 + rng.below(90))
    } else {
        String::new()
    };
    let sku = format!("{base}{suffix}");
    let ncompat = 1 + rng.below(3);
    let mut compatible: Vec<String> = Vec::new();
    for _ in 0..ncompat {
        let m = rng.pick(MACHINES).0.to_string();
        if !compatible.contains(&m) {
            compatible.push(m);
        }
    }
    let (lo, hi) = p.price;
    let price = (lo + rng.below(hi - lo)) / 10 * 10;
    CatalogDoc {
        id: format!("P-{n:07}"),
        kind: Kind::SparePart,
        name: format!("{} {} {}", p.noun, sku, brand),
        sku,
        brand: brand.to_string(),
        model: base.to_string(),
        category: p.category.to_string(),
        description: format!(
            "{} Подходит для станков {}.",
            p.describe,
            compatible.join(", ")
        ),
        attributes: json!({"series": base, "warranty_months": 6 + 6 * rng.below(3)}),
        compatible_models: compatible,
        price_rub: if rng.below(20) == 0 {
            None
        } else {
            Some(price as f64)
        },
        in_stock: if rng.below(3) == 0 {
            0
        } else {
            rng.below(40) as i64
        },
    }
}

/// `n` documents, about one machine per fifteen parts; the same seed gives the same catalog.
pub fn catalog(n: usize, seed: u64) -> Vec<CatalogDoc> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            if i % 15 == 0 {
                let m = rng.pick(MACHINES);
                machine_doc(&mut rng, i, m)
            } else {
                part_doc(&mut rng, i)
            }
        })
        .collect()
}

/// Unit vectors with low intrinsic dimension, as text embeddings have: a random linear map of
/// a 24-dimensional clustered latent space plus a little noise (for vector benches without a
/// model).
pub fn vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    const LATENT: usize = 24;
    let mut rng = Rng::new(seed);
    let mut proj_rng = Rng::new(0x5EED);
    let proj: Vec<Vec<f32>> = (0..dim)
        .map(|_| (0..LATENT).map(|_| proj_rng.unit() - 0.5).collect())
        .collect();
    let centers: Vec<Vec<f32>> = (0..64)
        .map(|_| (0..LATENT).map(|_| rng.unit() - 0.5).collect())
        .collect();
    (0..n)
        .map(|_| {
            let c = &centers[rng.below(centers.len())];
            let z: Vec<f32> = c.iter().map(|x| x + (rng.unit() - 0.5) * 0.8).collect();
            let mut v: Vec<f32> = proj
                .iter()
                .map(|row| {
                    row.iter().zip(&z).map(|(a, b)| a * b).sum::<f32>() + (rng.unit() - 0.5) * 0.02
                })
                .collect();
            crate::embed::l2_normalize(&mut v);
            v
        })
        .collect()
}

/// A realistic query mix: part numbers, models, descriptions, abbreviations, typos.
pub const QUERIES: &[&str] = &[
    "6205-2RS",
    "SFU1605",
    "1FK7042-5AF71",
    "16К20",
    "VF-2",
    "подшипник шпинделя 16К20",
    "шарико-винтовая пара для VF-2",
    "ремень клиновой B-1600",
    "контактор 220 В",
    "швп",
    "подшибник",
    "серводвигатель siemens",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_deterministic_and_valid() {
        let a = catalog(300, 1);
        assert_eq!(a, catalog(300, 1));
        assert_ne!(a, catalog(300, 2));
        assert!(a.iter().all(|d| d.validate().is_ok()));
        assert!(a.iter().any(|d| d.kind == Kind::Product));
        assert!(a.iter().any(|d| !d.compatible_models.is_empty()));
        let mut ids: Vec<&str> = a.iter().map(|d| d.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 300);
    }
}
