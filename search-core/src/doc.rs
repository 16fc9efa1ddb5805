//! The catalog document as the search core sees it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Machine (`product`) or spare part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Product,
    SparePart,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Product => "product",
            Kind::SparePart => "spare_part",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "product" => Some(Kind::Product),
            "spare_part" => Some(Kind::SparePart),
            _ => None,
        }
    }
}

/// One catalog record: the import format and the stored form are the same fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogDoc {
    pub id: String,
    pub kind: Kind,
    #[serde(default)]
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub brand: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "empty_object")]
    pub attributes: serde_json::Value,
    #[serde(default)]
    pub compatible_models: Vec<String>,
    #[serde(default)]
    pub price_rub: Option<f64>,
    #[serde(default)]
    pub in_stock: i64,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

impl CatalogDoc {
    /// Checks the invariants every indexed document holds.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.trim().is_empty() {
            return Err("id is empty".into());
        }
        if self.id.len() > 128 {
            return Err("id is longer than 128 bytes".into());
        }
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        if !self.attributes.is_object() {
            return Err("attributes must be an object".into());
        }
        if let Some(p) = self.price_rub {
            if !p.is_finite() || p < 0.0 {
                return Err(format!("price_rub must be a non-negative number, got {p}"));
            }
        }
        if self.in_stock < 0 {
            return Err(format!("in_stock must be >= 0, got {}", self.in_stock));
        }
        Ok(())
    }

    /// The text the embedding model sees: name, category, brand, model and description.
    pub fn embedding_text(&self) -> String {
        let mut s = String::with_capacity(self.name.len() + self.description.len() + 64);
        for part in [&self.name, &self.category, &self.brand, &self.model] {
            if !part.is_empty() {
                s.push_str(part);
                s.push_str(". ");
            }
        }
        s.push_str(&self.description);
        s
    }

    /// Hash of the embedding text: equal hashes never need a second embedding.
    pub fn content_hash(&self) -> String {
        hex::encode(Sha256::digest(self.embedding_text().as_bytes()))
    }

    /// Attribute values flattened to text for lexical matching (`"400 мм КМ5 новый"`).
    pub fn attributes_text(&self) -> String {
        let mut out = String::new();
        if let Some(map) = self.attributes.as_object() {
            for (k, v) in map {
                let val = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    other => other.to_string(),
                };
                out.push_str(&k.replace('_', " "));
                out.push(' ');
                out.push_str(&val);
                out.push_str(" ; ");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> CatalogDoc {
        serde_json::from_str(
            r#"{"id":"P-1","kind":"spare_part","sku":"6205-2RS","name":"Подшипник","brand":"SKF",
                "model":"","category":"Подшипники","description":"Шариковый","attributes":{"d_mm":25},
                "compatible_models":["16К20"],"price_rub":450.5,"in_stock":3}"#,
        )
        .unwrap()
    }

    #[test]
    fn content_hash_follows_embedding_text_only() {
        let a = doc();
        let mut b = doc();
        b.price_rub = Some(1.0);
        b.in_stock = 0;
        assert_eq!(a.content_hash(), b.content_hash());
        b.description.push('!');
        assert_ne!(a.content_hash(), b.content_hash());
    }

    #[test]
    fn validation_rejects_bad_values() {
        assert!(doc().validate().is_ok());
        let mut d = doc();
        d.price_rub = Some(-1.0);
        assert!(d.validate().is_err());
        let mut d = doc();
        d.name = " ".into();
        assert!(d.validate().is_err());
        assert!(
            serde_json::from_str::<CatalogDoc>(r#"{"id":"x","kind":"tool","name":"n"}"#).is_err()
        );
    }
}
