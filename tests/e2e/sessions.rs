//! Sign-in outside Telegram: one-time links from the bot, sessions in a cookie, revocation.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sqlx::PgPool;
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    cookie: Option<String>,
    body: serde_json::Value,
}

async fn call(app: &TestApp, req: Request<Body>) -> Reply {
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let cookie = res
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        cookie,
        body: serde_json::from_slice(&bytes).unwrap_or_default(),
    }
}

async fn link(app: &TestApp, user: i64) -> Reply {
    call(
        app,
        Request::post("/api/v1/auth/login-links")
            .header("host", "field.test")
            .header("authorization", format!("Bearer {BOT_SERVICE_TOKEN}"))
            .header("x-telegram-user-id", user.to_string())
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn token_of(r: &Reply) -> String {
    r.body["url"]
        .as_str()
        .unwrap()
        .split("#token=")
        .nth(1)
        .unwrap()
        .to_string()
}

async fn exchange(app: &TestApp, token: &str) -> Reply {
    call(
        app,
        Request::post("/api/v1/auth/session")
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::json!({ "token": token }).to_string(),
            ))
            .unwrap(),
    )
    .await
}

async fn with_cookie(app: &TestApp, uri: &str, cookie: &str) -> StatusCode {
    call(
        app,
        Request::get(uri)
            .header("cookie", format!("theme=dark; {cookie}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .status
}

async fn seed(pool: &PgPool) -> (i64, i64) {
    let own: i64 = sqlx::query_scalar(
        "INSERT INTO clients (company, phone) VALUES ('ООО Ромашка', '+79123456789') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let other: i64 = sqlx::query_scalar(
        "INSERT INTO clients (company, phone) VALUES ('АО Другое', '+79990001122') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO telegram_users (telegram_id, client_id, role, first_name) VALUES
         (501, $1, 'engineer', 'Инженер'), (502, NULL, NULL, 'Гость')",
    )
    .bind(own)
    .execute(pool)
    .await
    .unwrap();
    (own, other)
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_login_link_opens_one_session_for_its_own_client_only(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (own, other) = seed(&pool).await;
    let l = link(&app, 501).await;
    assert_eq!(l.status, StatusCode::CREATED, "{:?}", l.body);
    assert!(l.body["url"]
        .as_str()
        .unwrap()
        .starts_with("http://field.test/app/login#token="));
    let token = token_of(&l);
    // Nothing usable is stored: only the hash.
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM web_login_links WHERE token_hash = $1")
            .bind(&token)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);

    let s = exchange(&app, &token).await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
    assert_eq!(s.body["client_id"], own);
    let set = s.cookie.unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    assert_eq!(
        with_cookie(&app, &format!("/api/v1/clients/{own}/park"), &cookie).await,
        StatusCode::OK
    );
    assert_eq!(
        with_cookie(&app, &format!("/api/v1/clients/{own}/tickets"), &cookie).await,
        StatusCode::OK
    );
    assert_eq!(
        with_cookie(&app, &format!("/api/v1/clients/{other}/park"), &cookie).await,
        StatusCode::FORBIDDEN
    );

    // The link worked once.
    let again = exchange(&app, &token).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.cookie.is_none());

    // A session cannot mint links for more devices.
    let minted = call(
        &app,
        Request::post("/api/v1/auth/login-links")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(minted.status, StatusCode::UNAUTHORIZED);

    // Sign-out ends it.
    let out = call(
        &app,
        Request::post("/api/v1/auth/logout")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.cookie.unwrap().contains("Max-Age=0"));
    assert_eq!(
        with_cookie(&app, "/api/v1/telegram/me", &cookie).await,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn expired_and_unlinked_and_revoked_are_refused(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    seed(&pool).await;
    assert_eq!(link(&app, 502).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        exchange(&app, &"0".repeat(64)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        exchange(&app, "short").await.status,
        StatusCode::UNAUTHORIZED
    );

    let expired = token_of(&link(&app, 501).await);
    sqlx::query("UPDATE web_login_links SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        exchange(&app, &expired).await.status,
        StatusCode::UNAUTHORIZED
    );

    // A lost phone: the operator revokes every session of the user.
    let s = exchange(&app, &token_of(&link(&app, 501).await)).await;
    let cookie = s.cookie.unwrap().split(';').next().unwrap().to_string();
    assert_eq!(
        with_cookie(&app, "/api/v1/telegram/me", &cookie).await,
        StatusCode::OK
    );
    let unused = token_of(&link(&app, 501).await);
    let r = call(
        &app,
        Request::post("/api/v1/admin/telegram-users/501/sessions/revoke")
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["revoked"], 1);
    assert_eq!(
        with_cookie(&app, "/api/v1/telegram/me", &cookie).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        exchange(&app, &unused).await.status,
        StatusCode::UNAUTHORIZED
    );
}
