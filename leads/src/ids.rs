//! Ids at the domain's edges, each its own type: a Telegram user id, our client id and our lead
//! id are all `bigint` in Postgres, and a function taking one of them cannot be handed another
//! (nor amoCRM's own lead ids, which stay bare `i64` in `amocrm`).
//!
//! Each is transparent on the wire (a JSON number), in Postgres (`bigint`) and in OpenAPI (an
//! `int64`).

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
            sqlx::Type,
            utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        #[schema(value_type = i64, format = Int64)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

id_type! {
    /// A Telegram user (`telegram_users.telegram_id`, Telegram's `from.id`).
    TelegramId
}

id_type! {
    /// One of our clients (`clients.id`): a company, found by its phone numbers.
    ClientId
}

id_type! {
    /// One of our leads (`leads.id`); amoCRM's id of the deal it became is `crm_lead_id`.
    LeadId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_numbers_on_the_wire_and_in_text() {
        let id: LeadId = serde_json::from_str("42").unwrap();
        assert_eq!(id, LeadId(42));
        assert_eq!(serde_json::to_string(&ClientId(7)).unwrap(), "7");
        assert_eq!("-100".parse::<TelegramId>().unwrap(), TelegramId(-100));
        assert!("7a".parse::<TelegramId>().is_err());
        assert_eq!(TelegramId(5).to_string(), "5");
    }
}
