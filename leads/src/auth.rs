//! Telegram Mini App `initData` validation (HMAC-SHA256 with the bot token), per
//! `../shared/protocols/telegram.md`: remove only `hash`, sort the rest by key, join with
//! `\n`, `secret = HMAC("WebAppData", bot_token)`, compare `HMAC(secret, data)` in constant
//! time, and reject a stale `auth_date`.

use crate::{Error, Result};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// `HMAC(HMAC("WebAppData", bot_token), data_check_string)`, ready to finalize or verify.
fn signer(bot_token: &str, check: &str) -> HmacSha256 {
    let mut secret = HmacSha256::new_from_slice(b"WebAppData").expect("any key length");
    secret.update(bot_token.as_bytes());
    let secret = secret.finalize().into_bytes();
    let mut mac = HmacSha256::new_from_slice(&secret).expect("any key length");
    mac.update(check.as_bytes());
    mac
}

/// The Telegram user an `initData` vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramUser {
    pub id: crate::TelegramId,
    pub first_name: String,
    pub username: Option<String>,
    pub auth_date: i64,
}

/// Validates `init_data` (the raw query string the Mini App gets) for `bot_token` at time
/// `now` (unix seconds), accepting it for `max_age_secs` after `auth_date`.
pub fn validate_init_data(
    init_data: &str,
    bot_token: &str,
    now: i64,
    max_age_secs: i64,
) -> Result<TelegramUser> {
    let bad = |why: &str| Error::Unauthenticated(why.to_string());
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(init_data).map_err(|_| bad("initData is not a query string"))?;
    let mut hash = None;
    let mut rest = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        if k == "hash" {
            if hash.replace(v).is_some() {
                return Err(bad("two hash fields"));
            }
        } else {
            rest.push((k, v));
        }
    }
    let hash = hash.ok_or_else(|| bad("no hash"))?;
    let expected = hex::decode(&hash).map_err(|_| bad("hash is not hex"))?;
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    let check = rest
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n");
    signer(bot_token, &check)
        .verify_slice(&expected)
        .map_err(|_| bad("signature mismatch"))?;

    let get = |key: &str| rest.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let auth_date: i64 = get("auth_date")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("no auth_date"))?;
    if now - auth_date > max_age_secs || auth_date - now > 60 {
        return Err(bad("initData is stale"));
    }
    let user: serde_json::Value = get("user")
        .and_then(|u| serde_json::from_str(u).ok())
        .ok_or_else(|| bad("no user"))?;
    Ok(TelegramUser {
        id: crate::TelegramId(user["id"].as_i64().ok_or_else(|| bad("user without id"))?),
        first_name: user["first_name"].as_str().unwrap_or_default().to_string(),
        username: user["username"].as_str().map(str::to_string),
        auth_date,
    })
}

/// Builds a signed `initData` for `user_json` (what Telegram does), for tests and the local
/// stand-ins.
pub fn sign_init_data(bot_token: &str, auth_date: i64, user_json: &str, query_id: &str) -> String {
    let mut pairs = vec![
        ("auth_date".to_string(), auth_date.to_string()),
        ("query_id".to_string(), query_id.to_string()),
        ("user".to_string(), user_json.to_string()),
    ];
    pairs.sort();
    let check = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let hash = hex::encode(signer(bot_token, &check).finalize().into_bytes());
    pairs.push(("hash".to_string(), hash));
    serde_urlencoded::to_string(&pairs).expect("pairs encode")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known-answer vector of the Go validator (telegram-mini-apps/init-data-golang,
    // validate_test.go); its auth_date is old, so the clock is injected.
    const TOKEN: &str = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8";
    const INIT: &str = "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%7D&auth_date=1662771648&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2";

    #[test]
    fn known_answer_vector_validates_and_tampering_does_not() {
        let u = validate_init_data(INIT, TOKEN, 1662771648 + 10, 86400).unwrap();
        assert_eq!(u.id, crate::TelegramId(279058397));
        assert_eq!(u.username.as_deref(), Some("vdkfrost"));
        assert!(validate_init_data(INIT, "123:other-token", 1662771648 + 10, 86400).is_err());
        let tampered = INIT.replace("279058397", "279058398");
        assert!(validate_init_data(&tampered, TOKEN, 1662771648 + 10, 86400).is_err());
    }

    #[test]
    fn stale_auth_date_is_refused() {
        assert!(matches!(
            validate_init_data(INIT, TOKEN, 1662771648 + 86401, 86400),
            Err(Error::Unauthenticated(m)) if m.contains("stale")
        ));
    }

    #[test]
    fn signed_data_round_trips() {
        let s = sign_init_data(
            "1:abc",
            1_700_000_000,
            r#"{"id":42,"first_name":"Анна"}"#,
            "q1",
        );
        let u = validate_init_data(&s, "1:abc", 1_700_000_100, 3600).unwrap();
        assert_eq!(
            (u.id, u.first_name.as_str()),
            (crate::TelegramId(42), "Анна")
        );
    }
}
