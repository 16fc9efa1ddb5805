//! Catalog attributes as people read them: a Russian label from `server/attributes.tsv` and
//! the unit from the name's suffix (`outer_diameter_mm: 52` → «Наружный диаметр: 52 мм»).

use serde::Serialize;
use std::collections::HashMap;
use std::sync::LazyLock;

/// One attribute of a catalog item, ready to show.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AttributeRow {
    /// The attribute's name as imported, e.g. `outer_diameter_mm`.
    pub name: String,
    /// Russian label, e.g. `Наружный диаметр`.
    pub label: String,
    /// The value with its unit, e.g. `52 мм`.
    pub value: String,
}

/// Label and rank (line order) per base name.
static LABELS: LazyLock<HashMap<&'static str, (usize, &'static str)>> = LazyLock::new(|| {
    include_str!("../../attributes.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .enumerate()
        .map(|(i, (k, v))| (k.trim(), (i, v.trim())))
        .collect()
});

/// Name suffixes that carry a unit, longest first within a shared ending.
const UNITS: &[(&str, &str)] = &[
    ("_mm", "мм"),
    ("_um", "мкм"),
    ("_m", "м"),
    ("_kw", "кВт"),
    ("_kva", "кВА"),
    ("_v", "В"),
    ("_a", "А"),
    ("_rpm", "об/мин"),
    ("_ms", "м/с"),
    ("_kg", "кг"),
    ("_t", "т"),
    ("_nm", "Н·м"),
    ("_deg", "°"),
    ("_lpm", "л/мин"),
    ("_mpa", "МПа"),
    ("_bar", "бар"),
    ("_l", "л"),
    ("_cm3", "см³"),
    ("_ppr", "имп/об"),
    ("_inch", "″"),
    ("_gsm", "г/м²"),
    ("_months", "мес."),
];

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(true) => "да".into(),
        serde_json::Value::Bool(false) => "нет".into(),
        serde_json::Value::Number(n) => n.to_string().replace('.', ","),
        serde_json::Value::Array(a) => a.iter().map(value_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The rows of an attributes object: named attributes in the order of `attributes.tsv` (the
/// file lists the telling ones first; stored JSON keeps no order of its own), then the rest
/// by name.
pub fn rows(attributes: &serde_json::Value) -> Vec<AttributeRow> {
    let Some(map) = attributes.as_object() else {
        return Vec::new();
    };
    let mut ranked: Vec<(usize, AttributeRow)> = map
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(name, v)| {
            let (base, unit) = UNITS
                .iter()
                .find_map(|(suffix, unit)| name.strip_suffix(suffix).map(|b| (b, Some(*unit))))
                .filter(|(b, _)| !b.is_empty())
                .unwrap_or((name.as_str(), None));
            let (rank, label) = match LABELS.get(base) {
                Some((rank, l)) => (*rank, (*l).to_string()),
                None => (usize::MAX, {
                    let t = base.replace('_', " ");
                    let mut c = t.chars();
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default()
                }),
            };
            let mut value = value_text(v);
            // A number gets its unit; text (`M12x1,5`, `ISO 40`) is shown as written.
            if let (Some(u), true) = (unit, v.is_number()) {
                value = if u == "°" || u == "″" {
                    format!("{value}{u}")
                } else {
                    format!("{value}\u{a0}{u}")
                };
            }
            (
                rank,
                AttributeRow {
                    name: name.clone(),
                    label,
                    value,
                },
            )
        })
        .collect();
    ranked.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    ranked.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_labels_with_units() {
        let r = rows(&serde_json::json!({
            "outer_diameter_mm": 52, "power_kw": 2.2, "thread": "M12x1,5", "cnc": true,
            "contact_angle_deg": 15, "unknown_thing_mm": 3, "warranty_months": 12,
            "drawing_number": "16К20.02.001", "a": 1, "note": null
        }));
        let pairs: Vec<(&str, &str)> = r
            .iter()
            .map(|r| (r.label.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("Наружный диаметр", "52\u{a0}мм"),
                ("Мощность", "2,2\u{a0}кВт"),
                ("Номер чертежа", "16К20.02.001"),
                ("ЧПУ", "да"),
                ("Резьба", "M12x1,5"),
                ("Угол контакта", "15°"),
                ("Гарантия", "12\u{a0}мес."),
                ("A", "1"),
                ("Unknown thing", "3\u{a0}мм"),
            ]
        );
        assert!(rows(&serde_json::json!([1, 2])).is_empty());
    }

    #[test]
    fn every_label_line_parses() {
        let raw = include_str!("../../attributes.tsv");
        let lines = raw
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(
            LABELS.len(),
            lines,
            "a label line without a tab, or a duplicate name"
        );
    }
}
