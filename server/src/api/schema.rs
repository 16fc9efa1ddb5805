//! Field schemas for the OpenAPI document, one per validated field, built from the very
//! constants the handlers validate with (modes, kinds, limits, roles…), so the document and
//! the validation cannot drift apart. Handlers name these in `schema_with`; only
//! [`super::openapi`] knows all handlers.

use super::limits::{
    MAX_FILTER_CHARS, MAX_LIMIT, MAX_LIST_LIMIT, MAX_OFFSET, SUGGEST_DEFAULT_LIMIT,
    SUGGEST_MAX_CHARS, SUGGEST_MAX_LIMIT,
};
use search_core::{Kind, Mode};
use serde_json::Value;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

/// One field's schema; built once as a query parameter and once as a nullable body field.
struct Field {
    ty: Type,
    values: Vec<&'static str>,
    max_length: Option<usize>,
    min: Option<f64>,
    max: Option<f64>,
    default: Option<Value>,
    empty_ok: bool,
    description: Option<&'static str>,
}

impl Field {
    fn new(ty: Type) -> Field {
        Field {
            ty,
            values: Vec::new(),
            max_length: None,
            min: None,
            max: None,
            default: None,
            empty_ok: false,
            description: None,
        }
    }

    fn text(max_length: usize) -> Field {
        Field {
            max_length: Some(max_length),
            ..Field::new(Type::String)
        }
    }

    fn one_of(values: Vec<&'static str>) -> Field {
        Field {
            values,
            ..Field::new(Type::String)
        }
    }

    fn range(ty: Type, min: f64, max: Option<f64>) -> Field {
        Field {
            min: Some(min),
            max,
            ..Field::new(ty)
        }
    }

    /// `schema_with` replaces the field's doc comment, so the description goes here.
    fn describe(mut self, text: &'static str) -> Field {
        self.description = Some(text);
        self
    }

    /// Also accepts the empty string, which means absent (an HTML form's unset field).
    fn or_empty(mut self) -> Field {
        self.empty_ok = true;
        self
    }

    fn default(mut self, v: impl Into<Value>) -> Field {
        self.default = Some(v.into());
        self
    }

    /// In a JSON body `null` means absent, so body fields also accept it.
    fn build(self, nullable: bool) -> Object {
        let ty = if nullable {
            SchemaType::from_iter([self.ty, Type::Null])
        } else {
            SchemaType::Type(self.ty)
        };
        let mut b = ObjectBuilder::new()
            .schema_type(ty)
            .max_length(self.max_length)
            .minimum(self.min)
            .maximum(self.max)
            .default(self.default)
            .description(self.description);
        if !self.values.is_empty() {
            let mut values: Vec<Value> = self.values.into_iter().map(Value::from).collect();
            if self.empty_ok {
                values.push(Value::from(""));
            }
            if nullable {
                values.push(Value::Null);
            }
            b = b.enum_values(Some(values));
        }
        b.build()
    }
}

fn modes() -> Vec<&'static str> {
    [Mode::Hybrid, Mode::Lexical, Mode::Semantic]
        .map(Mode::as_str)
        .to_vec()
}

fn kinds() -> Vec<&'static str> {
    [Kind::Product, Kind::SparePart].map(Kind::as_str).to_vec()
}

/// Schema functions for `#[schema(schema_with)]` / `#[param(schema_with)]`, one per field, in a
/// `param` (query string) and a `body` (JSON, nullable) flavour.
macro_rules! field_schemas {
    ($($name:ident => $field:expr),* $(,)?) => {
        #[allow(dead_code)] // both flavours of every field, whichever the handlers use
        pub mod param {
            use super::*;
            $(pub fn $name() -> Object { ($field).build(false) })*
        }
        #[allow(dead_code)]
        pub mod body {
            use super::*;
            $(pub fn $name() -> Object { ($field).build(true) })*
        }
    };
}

field_schemas! {
    q => Field::text(search_core::MAX_QUERY_CHARS)
        .describe("The query; empty with filters is a browse request."),
    mode => Field::one_of(modes()).or_empty().default(Mode::Hybrid.as_str()),
    kind => Field::one_of(kinds()).or_empty(),
    filter => Field::text(MAX_FILTER_CHARS).describe("Exact value, as in the facets."),
    compatible_with => Field::text(MAX_FILTER_CHARS)
        .describe("A machine model the parts must fit (16К20 = 16K20 = 16k20)."),
    in_stock => Field::new(Type::Boolean),
    price_min => Field::range(Type::Number, 0.0, None).describe("Roubles."),
    price_max => Field::range(Type::Number, 0.0, None)
        .describe("Roubles; not below price_min (400 otherwise)."),
    limit => Field::range(Type::Integer, 1.0, Some(MAX_LIMIT as f64)).default(10),
    offset => Field::range(Type::Integer, 0.0, Some(MAX_OFFSET as f64)).default(0),
    suggest_q => Field::text(SUGGEST_MAX_CHARS).describe("The prefix typed so far."),
    suggest_limit => Field::range(Type::Integer, 1.0, Some(SUGGEST_MAX_LIMIT as f64)).default(SUGGEST_DEFAULT_LIMIT),
    lead_status => Field::one_of(leads::intake::SYNC_STATES.to_vec()).default("failed"),
    list_limit => Field::range(Type::Integer, 1.0, Some(MAX_LIST_LIMIT as f64)).default(100),
    spend_period => Field::one_of(leads::account::PERIODS.to_vec()).default("month"),
    doc_type => Field::one_of(leads::portal::DOC_TYPES.to_vec()).default("manual"),
}

/// A file, sent or received as the raw body.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // a schema stand-in: the handlers read the raw body
pub struct FileBytes(pub Vec<u8>);

/// The search hit's and response's fixed vocabularies.
pub fn hit_kind() -> Object {
    leads::schema::string_enum(&kinds())
}

pub fn response_mode() -> Object {
    leads::schema::string_enum(&modes())
}
