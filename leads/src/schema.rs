//! OpenAPI schemas for fields whose allowed values are this crate's constants, so the API
//! document and the validation share one list.

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

/// A string that is one of `values`.
pub fn string_enum(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

pub fn lead_source() -> Object {
    string_enum(crate::intake::SOURCES)
}

pub fn lead_kind() -> Object {
    string_enum(crate::intake::KINDS)
}

pub fn sync_state() -> Object {
    string_enum(crate::intake::SYNC_STATES)
}

pub fn role() -> Object {
    string_enum(crate::portal::ROLES)
}

pub fn ticket_status() -> Object {
    string_enum(crate::portal::TICKET_STATUSES)
}

pub fn doc_type() -> Object {
    string_enum(crate::portal::DOC_TYPES)
}

pub fn shipment_status() -> Object {
    string_enum(crate::tracking::SHIPMENT_STATUSES)
}
