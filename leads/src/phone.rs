//! Phone numbers in E.164 form: parsed once at the edge, compared as strings after.

use serde::{Deserialize, Serialize};

use crate::Error;

/// A phone number in E.164 form (`+79123456789`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses the formats people type in Russia: `8 (912) 345-67-89`, `+7 912 345 67 89`,
    /// `79123456789`, `9123456789`, and other countries with a leading `+`.
    pub fn parse(input: &str) -> Result<Phone, Error> {
        let trimmed = input.trim();
        let allowed = |c: char| c.is_ascii_digit() || " -()+.".contains(c);
        if trimmed.is_empty() || !trimmed.chars().all(allowed) {
            return Err(Error::InvalidPhone(input.to_string()));
        }
        let plus = trimmed.starts_with('+');
        if trimmed.chars().skip(1).any(|c| c == '+') {
            return Err(Error::InvalidPhone(input.to_string()));
        }
        let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
        let e164 = match (plus, digits.len()) {
            (false, 11) if digits.starts_with('8') || digits.starts_with('7') => {
                format!("+7{}", &digits[1..])
            }
            (false, 10)
                if digits.starts_with('9')
                    || digits.starts_with('4')
                    || digits.starts_with('3')
                    || digits.starts_with('8') =>
            {
                format!("+7{digits}")
            }
            (true, 8..=15) if !digits.starts_with('0') => format!("+{digits}"),
            _ => return Err(Error::InvalidPhone(input.to_string())),
        };
        if e164.starts_with("+7") && e164.len() != 12 {
            return Err(Error::InvalidPhone(input.to_string()));
        }
        Ok(Phone(e164))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Phone {
    type Error = Error;
    fn try_from(s: String) -> Result<Phone, Error> {
        Phone::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn russian_formats_normalise_to_e164() {
        for s in [
            "8 (912) 345-67-89",
            "+7 912 345 67 89",
            "79123456789",
            "89123456789",
            "9123456789",
            " +7(912)345-67-89 ",
        ] {
            assert_eq!(Phone::parse(s).unwrap().as_str(), "+79123456789", "{s}");
        }
        assert_eq!(
            Phone::parse("+375 29 123-45-67").unwrap().as_str(),
            "+375291234567"
        );
    }

    #[test]
    fn garbage_is_rejected() {
        for s in [
            "",
            "abc",
            "12345",
            "+7 912 345",
            "8 912 345 67 89 0",
            "++79123456789",
            "+0123456789",
            "7912345678a",
        ] {
            assert!(Phone::parse(s).is_err(), "{s}");
        }
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(d in "9[0-9]{9}") {
            let p = Phone::parse(&format!("8{d}")).unwrap();
            prop_assert_eq!(Phone::parse(p.as_str()).unwrap(), p.clone());
            prop_assert_eq!(p.as_str().len(), 12);
        }
    }
}
