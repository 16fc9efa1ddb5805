//! `cluster-check`: the production shape on loopback. Real Traefik (from PyPI) in front of real
//! `stanok serve` replicas on one real PostgreSQL, under a steady mixed load, while replicas
//! die, restart, join and leave. Run by `scripts/cluster-test.sh` (part of the test suite), which
//! passes the programs and files through the environment:
//!
//! `STANOK_BIN`, `TRAEFIK_BIN`, `COMPOSE_JSON` (deploy/compose.yaml rendered by
//! `docker compose config --format json`: Traefik's static flags are taken from it),
//! `DYNAMIC_DIR` (deploy/traefik/dynamic), `TLS_CERT`/`TLS_KEY` (a self-signed pair for
//! 127.0.0.1), `DATABASE_URL` (an empty database), `WEB_DIR`, `WORK_DIR`, `CLUSTER_DOCS`
//! (catalog size, default 2000).
//!
//! `cluster-check` checks; `cluster-check bench` measures (throughput through Traefik with one
//! and two replicas, and the catch-up time of a new replica) and asserts nothing.

use e2e::amocrm_standin::AmoStandIn;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set")))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Setup {
    stanok: PathBuf,
    work: PathBuf,
    database_url: String,
    web_dir: PathBuf,
    amo_url: String,
}

/// One `stanok serve` process with its own data directory.
struct Replica {
    name: &'static str,
    port: u16,
    data: PathBuf,
    child: Option<Child>,
    started: Option<Instant>,
}

impl Replica {
    fn new(setup: &Setup, name: &'static str) -> Replica {
        let data = setup.work.join(name);
        std::fs::create_dir_all(&data).unwrap();
        Replica {
            name,
            port: free_port(),
            data,
            child: None,
            started: None,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self, setup: &Setup) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(setup.work.join(format!("{}.log", self.name)))
            .unwrap();
        let child = Command::new(&setup.stanok)
            .arg("serve")
            .env("DATABASE_URL", &setup.database_url)
            .env("DATA_DIR", &self.data)
            .env("LISTEN_ADDR", format!("127.0.0.1:{}", self.port))
            .env("WEB_DIR", &setup.web_dir)
            .env("MODEL_DIR", setup.work.join("no-model"))
            .env("REPLICA_ID", self.name)
            .env("TRUSTED_PROXY_HOPS", "1")
            .env("SHUTDOWN_DRAIN_MS", "1500")
            .env("AMOCRM_BASE_URL", &setup.amo_url)
            .env("AMOCRM_SUBDOMAIN", "standin")
            .env("AMOCRM_LONG_LIVED_TOKEN", "cluster-token")
            .env("LIMIT_LEADS_PER_CALLER", "1000000")
            .env("LIMIT_LEADS_PER_PHONE", "1000")
            .env(
                "RUST_LOG",
                "info,tower_http=warn,indexer=debug,search_core::engine::writer=debug",
            )
            .env_remove("ADMIN_TOKEN")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting stanok serve");
        self.child = Some(child);
        self.started = Some(Instant::now());
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM; returns the exit status once the process has left.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        c.wait().unwrap()
    }

    /// Waits until `/readyz` answers 200; returns when that was first seen.
    async fn wait_ready(&mut self, http: &reqwest::Client, limit: Duration) -> Res<Instant> {
        let until = Instant::now() + limit;
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", self.url())).send().await {
                if r.status() == 200 {
                    return Ok(Instant::now());
                }
            }
            if let Some(Some(status)) = self.child.as_mut().map(|c| c.try_wait().unwrap()) {
                return Err(format!("{} exited: {status}", self.name).into());
            }
            if Instant::now() > until {
                return Err(format!("{} not ready after {limit:?}", self.name).into());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Traefik with the static flags of deploy/compose.yaml (addresses on loopback, no ACME) and the
/// committed dynamic configuration plus the test's certificate.
struct Traefik {
    child: Child,
    https: u16,
    http: u16,
    internal: u16,
}

impl Traefik {
    fn start(work: &Path, upstreams: &[String], bot_url: &str) -> Res<Traefik> {
        let compose: Value = serde_json::from_slice(&std::fs::read(env_path("COMPOSE_JSON"))?)?;
        let command = compose["services"]["traefik"]["command"]
            .as_array()
            .ok_or("compose.yaml: traefik has no command")?;
        let dynamic = work.join("traefik-dynamic");
        std::fs::create_dir_all(&dynamic)?;
        for entry in std::fs::read_dir(env_path("DYNAMIC_DIR"))? {
            let entry = entry?;
            std::fs::copy(entry.path(), dynamic.join(entry.file_name()))?;
        }
        std::fs::write(
            dynamic.join("test-tls.yml"),
            format!(
                "tls:\n  certificates:\n    - certFile: {}\n      keyFile: {}\n  stores:\n    default:\n      defaultCertificate:\n        certFile: {}\n        keyFile: {}\n",
                env_path("TLS_CERT").display(),
                env_path("TLS_KEY").display(),
                env_path("TLS_CERT").display(),
                env_path("TLS_KEY").display()
            ),
        )?;
        let (https, http, internal) = (free_port(), free_port(), free_port());
        let mut args = Vec::new();
        for flag in command {
            let flag = flag.as_str().ok_or("traefik command: not a string")?;
            let (key, _) = flag.split_once('=').unwrap_or((flag, ""));
            let arg = match key {
                "--entryPoints.web.address" => format!("{key}=127.0.0.1:{http}"),
                "--entryPoints.websecure.address" => format!("{key}=127.0.0.1:{https}"),
                "--entryPoints.internal.address" => format!("{key}=127.0.0.1:{internal}"),
                "--providers.file.directory" => format!("{key}={}", dynamic.display()),
                k if k.starts_with("--certificatesResolvers.") => continue,
                "--log.level" => format!(
                    "{key}={}",
                    std::env::var("TRAEFIK_LOG_LEVEL").unwrap_or_else(|_| "WARN".into())
                ),
                _ => flag.to_string(),
            };
            args.push(arg);
        }
        let log = std::fs::File::create(work.join("traefik.log"))?;
        let child = Command::new(env_path("TRAEFIK_BIN"))
            .args(&args)
            .env("STANOK_UPSTREAMS", upstreams.join(","))
            .env("STANOK_BOT_URL", bot_url)
            .env("STANOK_HEALTH_INTERVAL", "500ms")
            .env_remove("STANOK_CERT_RESOLVER")
            .env_remove("STANOK_CMS_URL")
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        Ok(Traefik {
            child,
            https,
            http,
            internal,
        })
    }

    fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.https)
    }
}

impl Drop for Traefik {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answered (or failed) request of the load.
#[derive(Clone)]
struct Outcome {
    phase: usize,
    kind: &'static str,
    ok: bool,
    replica: Option<String>,
    at: Instant,
    latency: Duration,
    /// Sends beyond the first: a lead's (same Idempotency-Key), a read's after a proxy 502.
    client_retries: u32,
    detail: String,
}

struct Load {
    phase: AtomicUsize,
    stop: AtomicBool,
    outcomes: Mutex<Vec<Outcome>>,
    lead_keys: Mutex<Vec<String>>,
}

#[derive(Clone)]
struct Doc {
    id: String,
    sku: String,
    name: String,
}

fn catalog(setup: &Setup, count: usize) -> Res<(PathBuf, Vec<Doc>)> {
    let path = setup.work.join("catalog.jsonl");
    let out = Command::new(&setup.stanok)
        .args([
            "demo-catalog",
            "--count",
            &count.to_string(),
            "--seed",
            "33",
        ])
        .output()?;
    if !out.status.success() {
        return Err("demo-catalog failed".into());
    }
    std::fs::write(&path, &out.stdout)?;
    let docs = String::from_utf8(out.stdout)?
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Doc {
                id: v["id"].as_str().unwrap().to_string(),
                sku: v["sku"].as_str().unwrap_or("").to_string(),
                name: v["name"].as_str().unwrap().to_string(),
            }
        })
        .collect();
    Ok((path, docs))
}

fn import(setup: &Setup, file: &Path) -> Res<Duration> {
    let started = Instant::now();
    let status = Command::new(&setup.stanok)
        .arg("import")
        .arg(file)
        .env("DATABASE_URL", &setup.database_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err("import failed".into());
    }
    Ok(started.elapsed())
}

fn http_client() -> reqwest::Client {
    let pem = std::fs::read(env_path("TLS_CERT")).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

/// One client of the steady mixed load: searches, suggestions, product pages, catalog items and
/// lead posts (retried by the client with the same Idempotency-Key when they fail).
async fn client_loop(
    load: Arc<Load>,
    http: reqwest::Client,
    base: String,
    docs: Arc<Vec<Doc>>,
    worker: usize,
) {
    let mut seq = 0u64;
    while !load.stop.load(Ordering::Relaxed) {
        let (doc, roll) = {
            let mut rng = rand::rng();
            (
                docs[rng.random_range(0..docs.len())].clone(),
                rng.random_range(0..100),
            )
        };
        let phase = load.phase.load(Ordering::Relaxed);
        let started = Instant::now();
        let words: Vec<&str> = doc.name.split_whitespace().take(2).collect();
        let (kind, outcome) = match roll {
            0..=44 => {
                let url = format!("{base}/api/v1/search?mode=lexical&q={}", words.join("+"));
                ("search", get_retrying(&http, &url).await)
            }
            45..=64 => {
                let prefix: String = doc.sku.chars().take(4).collect();
                let url = format!("{base}/api/v1/suggest?q={prefix}");
                ("suggest", get_retrying(&http, &url).await)
            }
            65..=79 => (
                "page",
                get_retrying(&http, &format!("{base}/p/{}", doc.id)).await,
            ),
            80..=89 => (
                "item",
                get_retrying(&http, &format!("{base}/api/v1/catalog/{}", doc.id)).await,
            ),
            _ => {
                seq += 1;
                let key = format!("cluster-{worker}-{seq}");
                load.lead_keys.lock().unwrap().push(key.clone());
                ("lead", post_lead(&http, &base, &key, worker, seq).await)
            }
        };
        let (ok, replica, client_retries, detail) = outcome;
        load.outcomes.lock().unwrap().push(Outcome {
            phase,
            kind,
            ok,
            replica,
            at: started,
            latency: started.elapsed(),
            client_retries,
            detail,
        });
    }
}

type Answer = (bool, Option<String>, u32, String);

fn replica_of(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("x-stanok-replica")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn get(http: &reqwest::Client, url: &str) -> Answer {
    match http.get(url).send().await {
        Ok(r) => {
            let status = r.status();
            let replica = replica_of(&r);
            let body = r.bytes().await;
            match body {
                Ok(_) if status.is_success() => (true, replica, 0, String::new()),
                Ok(b) => (
                    false,
                    replica,
                    0,
                    format!(
                        "{status} {}",
                        String::from_utf8_lossy(&b[..b.len().min(200)])
                    ),
                ),
                Err(e) => (false, replica, 0, format!("body: {e}")),
            }
        }
        Err(e) => (false, None, 0, format!("send: {e}")),
    }
}

/// A read as the web app sends it: once more when the proxy itself answered 502 — the one case
/// Traefik cannot retry, a request already written to a replica that then died (Traefik stops
/// retrying once anything reached a backend). Such retries are counted and allowed only where
/// a replica was killed.
async fn get_retrying(http: &reqwest::Client, url: &str) -> Answer {
    let mut answer = get(http, url).await;
    let mut resends = 0;
    while !answer.0 && answer.1.is_none() && answer.3.starts_with("502") && resends < 3 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        resends += 1;
        answer = get(http, url).await;
    }
    answer.2 = resends;
    answer
}

async fn post_lead(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    worker: usize,
    seq: u64,
) -> Answer {
    let body = json!({
        "source": "site",
        "kind": "callback",
        "contact": {"name": "Нагрузка", "phone": format!("+7 912 {:03} {:04}", worker, seq % 10_000)},
    });
    let mut last = String::new();
    for attempt in 0..8u32 {
        match http
            .post(format!("{base}/api/v1/leads"))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => return (true, replica_of(&r), attempt, last),
            Ok(r) if r.status().is_server_error() => {
                last = format!("{}", r.status());
            }
            Ok(r) => {
                let s = r.status();
                return (
                    false,
                    replica_of(&r),
                    attempt,
                    format!("{s} {}", r.text().await.unwrap_or_default()),
                );
            }
            Err(e) => last = format!("send: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    (false, None, 7, last)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

struct Cluster {
    setup: Setup,
    replicas: Vec<Replica>,
    traefik: Traefik,
    amo: AmoStandIn,
    http: reqwest::Client,
    docs: Arc<Vec<Doc>>,
    pool: sqlx::PgPool,
    _bot: tokio::task::JoinHandle<()>,
    bot_seen: Arc<Mutex<Vec<(String, String)>>>,
}

async fn start_cluster(replica_count: usize, docs: usize) -> Res<Cluster> {
    let work = env_path("WORK_DIR");
    let amo = AmoStandIn::start("cluster-token", "cluster-refresh").await;
    let setup = Setup {
        stanok: env_path("STANOK_BIN"),
        work: work.clone(),
        database_url: std::env::var("DATABASE_URL")?,
        web_dir: env_path("WEB_DIR"),
        amo_url: amo.base_url.clone(),
    };
    // The bot's webhook listener: records what Traefik forwards to it.
    let bot_seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let seen = bot_seen.clone();
    let bot_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bot_url = format!("http://{}", bot_listener.local_addr()?);
    let bot = tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/telegram/webhook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let seen = seen.clone();
                async move {
                    let secret = headers
                        .get("x-telegram-bot-api-secret-token")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    seen.lock().unwrap().push((secret, body));
                    "ok"
                }
            }),
        );
        let _ = axum::serve(bot_listener, app).await;
    });
    let mut replicas: Vec<Replica> = ["r1", "r2", "r3"]
        .into_iter()
        .map(|n| Replica::new(&setup, n))
        .collect();
    let upstreams: Vec<String> = replicas.iter().map(Replica::url).collect();
    // The first replicas start together on an empty database: migrations take PostgreSQL's
    // advisory lock, so both come up.
    for r in replicas.iter_mut().take(replica_count) {
        r.start(&setup);
    }
    let http = http_client();
    for r in replicas.iter_mut().take(replica_count) {
        r.wait_ready(&http, Duration::from_secs(60)).await?;
    }
    let (file, docs) = catalog(&setup, docs)?;
    let took = import(&setup, &file)?;
    eprintln!(
        "[cluster] imported {} documents in {:.1}s",
        docs.len(),
        took.as_secs_f64()
    );
    // Every running replica follows the change log to the whole catalog.
    for r in replicas.iter().take(replica_count) {
        let until = Instant::now() + Duration::from_secs(120);
        loop {
            let v: Value = http
                .get(format!("{}/api/v1/index/status", r.url()))
                .send()
                .await?
                .json()
                .await?;
            if v["documents"].as_u64() == Some(docs.len() as u64) {
                break;
            }
            if Instant::now() > until {
                return Err(format!("{} did not index the catalog: {v}", r.name).into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let traefik = Traefik::start(&work, &upstreams, &bot_url)?;
    // Traefik answers, and its health checks have seen every slot (the third is not running).
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http.get(format!("{}/readyz", traefik.base())).send().await {
            if r.status() == 200 {
                break;
            }
        }
        if Instant::now() > until {
            return Err("Traefik did not route /readyz in 20 s (see traefik.log)".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&setup.database_url)
        .await?;
    Ok(Cluster {
        setup,
        replicas,
        traefik,
        amo,
        http,
        docs: Arc::new(docs),
        pool,
        _bot: bot,
        bot_seen,
    })
}

fn start_load(c: &Cluster, clients: usize) -> (Arc<Load>, Vec<tokio::task::JoinHandle<()>>) {
    let load = Arc::new(Load {
        phase: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        outcomes: Mutex::default(),
        lead_keys: Mutex::default(),
    });
    let tasks = (0..clients)
        .map(|w| {
            tokio::spawn(client_loop(
                load.clone(),
                c.http.clone(),
                c.traefik.base(),
                c.docs.clone(),
                w,
            ))
        })
        .collect();
    (load, tasks)
}

const PHASES: [&str; 6] = [
    "steady, 2 replicas",
    "kill -9 r1",
    "r1 restarts and catches up",
    "r3 joins (empty data dir)",
    "catalog change",
    "SIGTERM r2",
];

async fn check() -> Res<bool> {
    let docs: usize = std::env::var("CLUSTER_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut c = start_cluster(2, docs).await?;
    let mut problems: Vec<String> = Vec::new();
    let mut facts: Vec<String> = Vec::new();

    // Routing that is not load: the bot's webhook, body limits, the HTTP→HTTPS redirect.
    let r = c
        .http
        .post(format!("{}/telegram/webhook", c.traefik.base()))
        .header("X-Telegram-Bot-Api-Secret-Token", "s3cret")
        .body(r#"{"update_id":1}"#)
        .send()
        .await?;
    let seen = c.bot_seen.lock().unwrap().clone();
    if r.status() != 200 || seen != vec![("s3cret".to_string(), r#"{"update_id":1}"#.to_string())] {
        problems.push(format!(
            "bot webhook not forwarded as sent: {} {seen:?}",
            r.status()
        ));
    }
    let big = "x".repeat(100 * 1024);
    let r = c
        .http
        .post(format!("{}/api/v1/leads", c.traefik.base()))
        .header("content-type", "application/json")
        .body(format!(r#"{{"comment":"{big}"}}"#))
        .send()
        .await?;
    if r.status() != 413 || r.headers().contains_key("x-stanok-replica") {
        problems.push(format!(
            "a 100 KiB lead body got {} (want 413 from the proxy)",
            r.status()
        ));
    }
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let r = plain
        .get(format!("http://127.0.0.1:{}/catalog", c.traefik.http))
        .send()
        .await?;
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !r.status().is_redirection() || !location.starts_with("https://") {
        problems.push(format!(
            "plain HTTP not redirected to HTTPS: {} {location}",
            r.status()
        ));
    }
    let r = plain
        .get(format!("http://127.0.0.1:{}/readyz", c.traefik.internal))
        .send()
        .await?;
    if r.status() != 200 {
        problems.push(format!(
            "internal entry point: /readyz answered {}",
            r.status()
        ));
    }

    let (load, tasks) = start_load(&c, 8);
    let phase = |load: &Load, p: usize| {
        load.phase.store(p, Ordering::Relaxed);
        eprintln!("[cluster] phase {p}: {}", PHASES[p]);
    };
    phase(&load, 0);
    tokio::time::sleep(Duration::from_secs(5)).await;

    phase(&load, 1);
    c.replicas[0].kill9();
    let killed = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;

    phase(&load, 2);
    c.replicas[0].start(&c.setup);
    let t = Instant::now();
    c.replicas[0]
        .wait_ready(&c.http, Duration::from_secs(60))
        .await?;
    facts.push(format!(
        "r1 restart → ready: {:.2} s",
        t.elapsed().as_secs_f64()
    ));
    tokio::time::sleep(Duration::from_secs(3)).await;

    phase(&load, 3);
    c.replicas[2].start(&c.setup);
    let t = Instant::now();
    let r3_ready = c.replicas[2]
        .wait_ready(&c.http, Duration::from_secs(120))
        .await?;
    facts.push(format!(
        "r3 (empty data dir, {docs} documents) start → ready: {:.2} s",
        (r3_ready - t).as_secs_f64()
    ));
    tokio::time::sleep(Duration::from_secs(4)).await;

    phase(&load, 4);
    let target = c.docs[c.docs.len() / 2].id.clone();
    let token = format!("кластерметка{}", rand::rng().random_range(100_000..999_999));
    sqlx::query("UPDATE catalog_items SET name = name || ' ' || $1 WHERE id = $2")
        .bind(&token)
        .bind(&target)
        .execute(&c.pool)
        .await?;
    let changed = Instant::now();
    let mut visible = Vec::new();
    for r in c.replicas.iter().filter(|r| r.child.is_some()) {
        let url = format!("{}/api/v1/search?mode=lexical&q={token}", r.url());
        loop {
            let v: Value = c.http.get(&url).send().await?.json().await?;
            if v["hits"][0]["id"].as_str() == Some(target.as_str()) {
                visible.push((r.name, changed.elapsed()));
                break;
            }
            if changed.elapsed() > Duration::from_secs(5) {
                problems.push(format!(
                    "{}: the catalog change is not visible after 5 s",
                    r.name
                ));
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    for (name, after) in &visible {
        facts.push(format!(
            "catalog change visible on {name} after {} ms",
            after.as_millis()
        ));
        if *after > Duration::from_secs(1) {
            problems.push(format!(
                "{name}: catalog change took {} ms (> 1 s)",
                after.as_millis()
            ));
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    phase(&load, 5);
    let t = Instant::now();
    let status = c.replicas[1].terminate();
    facts.push(format!(
        "r2 SIGTERM → exit {:?} after {:.2} s",
        status.code(),
        t.elapsed().as_secs_f64()
    ));
    if !status.success() {
        problems.push(format!("r2 did not exit cleanly on SIGTERM: {status}"));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    load.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }

    // Per phase: requests sent and failed.
    let outcomes = load.outcomes.lock().unwrap().clone();
    println!("\n| phase | requests | failed | leads | client resends | by replica |");
    println!("|---|---|---|---|---|---|");
    for (p, name) in PHASES.iter().enumerate() {
        let ps: Vec<&Outcome> = outcomes.iter().filter(|o| o.phase == p).collect();
        let failed = ps.iter().filter(|o| !o.ok).count();
        let leads = ps.iter().filter(|o| o.kind == "lead").count();
        let retries: u32 = ps.iter().map(|o| o.client_retries).sum();
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for o in &ps {
            *by.entry(o.replica.clone().unwrap_or("-".into()))
                .or_default() += 1;
        }
        let by: Vec<String> = by.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "| {name} | {} | {failed} | {leads} | {retries} | {} |",
            ps.len(),
            by.join(", ")
        );
        for o in ps.iter().filter(|o| !o.ok).take(5) {
            problems.push(format!("phase '{name}': {} failed: {}", o.kind, o.detail));
        }

        if ps.is_empty() {
            problems.push(format!("phase '{name}' sent no requests"));
        }
    }
    // A client resends only what the proxy had already written to the replica killed with -9:
    // requests in flight at the kill, and requests the proxy wrote onto its kept-alive
    // connections to r1 before it noticed they were gone (within one health-check interval,
    // 500 ms). Everywhere else the proxy alone keeps every request whole.
    let resent: Vec<&Outcome> = outcomes.iter().filter(|o| o.client_retries > 0).collect();
    let stray = resent
        .iter()
        .filter(|o| {
            o.at > killed + Duration::from_millis(500) || o.at + Duration::from_secs(1) < killed
        })
        .count();
    facts.push(format!(
        "client resends after a proxy 502: {} (all begun within 1 s before to 0.5 s after the kill), {stray} elsewhere",
        resent.len()
    ));
    for o in &resent {
        let offset = o.at.saturating_duration_since(killed).as_millis() as i128
            - killed.saturating_duration_since(o.at).as_millis() as i128;
        eprintln!(
            "[cluster] resent {} begun {offset} ms from the kill, answered after {} ms",
            o.kind,
            o.latency.as_millis()
        );
    }
    if resent.len() > 24 || stray > 0 {
        problems.push(format!(
            "{} requests needed a client resend, {stray} not at the kill",
            resent.len()
        ));
    }
    let mut lat: Vec<Duration> = outcomes
        .iter()
        .filter(|o| o.kind != "lead")
        .map(|o| o.latency)
        .collect();
    lat.sort();
    facts.push(format!(
        "reads: {} requests, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    ));

    // r3 answered nothing before it was ready, and something after.
    let r3: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.replica.as_deref() == Some("r3"))
        .collect();
    let early = r3
        .iter()
        .filter(|o| o.at + o.latency + Duration::from_millis(100) < r3_ready)
        .count();
    if r3.is_empty() || early > 0 {
        problems.push(format!(
            "r3 served {} requests, {early} before it was ready",
            r3.len()
        ));
    }

    // Each lead key is one lead, whatever the retries.
    let keys = load.lead_keys.lock().unwrap().clone();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT idempotency_key, count(*) FROM leads WHERE idempotency_key LIKE '%cluster-%' GROUP BY 1",
    )
    .fetch_all(&c.pool)
    .await?;
    let dup = rows.iter().filter(|(_, n)| *n != 1).count();
    facts.push(format!(
        "leads posted {}, rows {}, keys with ≠ 1 row: {dup}",
        keys.len(),
        rows.len()
    ));
    if rows.len() != keys.len() || dup > 0 {
        problems.push(format!(
            "{} lead keys sent, {} stored, {dup} duplicated",
            keys.len(),
            rows.len()
        ));
    }

    // Two replicas' outbox workers share one amoCRM budget.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let amo_requests = c.amo.requests().len();
    let peak = c.amo.max_per_second();
    facts.push(format!(
        "amoCRM stand-in: {amo_requests} requests, peak {peak} in one second, {} throttled",
        c.amo.throttled()
    ));
    if amo_requests == 0 || peak > 7 || c.amo.throttled() > 0 {
        problems.push(format!(
            "amoCRM budget: {amo_requests} requests, peak {peak}/s, {} throttled",
            c.amo.throttled()
        ));
    }

    for f in &facts {
        println!("- {f}");
    }
    if !problems.is_empty() {
        eprintln!("\n[cluster] FAILED (logs in {}):", c.setup.work.display());
        for p in &problems {
            eprintln!("  - {p}");
        }
        return Ok(false);
    }
    println!("[cluster] zero failed requests through kill -9, restart, scale-out and SIGTERM");
    Ok(true)
}

/// Closed-loop lexical searches from `clients` tasks for `secs`: req/s, p50, p99.
async fn measure(
    http: &reqwest::Client,
    base: &str,
    docs: &Arc<Vec<Doc>>,
    clients: usize,
    secs: u64,
) -> (f64, f64, f64, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let lat = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (http, base, docs, stop, lat, failed) = (
                http.clone(),
                base.to_string(),
                docs.clone(),
                stop.clone(),
                lat.clone(),
                failed.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let doc = docs[rand::rng().random_range(0..docs.len())].clone();
                    let words: Vec<&str> = doc.name.split_whitespace().take(2).collect();
                    let t = Instant::now();
                    let (ok, ..) = get(
                        &http,
                        &format!("{base}/api/v1/search?mode=lexical&q={}", words.join("+")),
                    )
                    .await;
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    lat.lock().unwrap().push(t.elapsed());
                }
            })
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat = lat.lock().unwrap().clone();
    lat.sort();
    (
        lat.len() as f64 / elapsed,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        failed.load(Ordering::Relaxed),
    )
}

async fn bench() -> Res<()> {
    let docs: usize = std::env::var("CLUSTER_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6300);
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let mut c = start_cluster(2, docs).await?;
    // Measure the steady state: the freshly loaded segments merged on both replicas.
    for r in c.replicas.iter().take(2) {
        let until = Instant::now() + Duration::from_secs(300);
        while Instant::now() < until {
            let v: Value = c
                .http
                .get(format!("{}/api/v1/index/status", r.url()))
                .send()
                .await?
                .json()
                .await?;
            if v["text_segments"].as_u64().is_some_and(|n| n <= 2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("| setup (lexical search, 16 connections, {secs} s each) | req/s | p50 ms | p99 ms | failed |");
    println!("|---|---|---|---|---|");
    let internal = format!("http://127.0.0.1:{}", c.traefik.internal);
    let rows: Vec<(&str, String)> = vec![
        ("r1 directly (HTTP, no proxy)", c.replicas[0].url()),
        ("Traefik HTTPS, 2 replicas", c.traefik.base()),
        (
            "Traefik HTTP (internal entry point), 2 replicas",
            internal.clone(),
        ),
    ];
    for (name, base) in rows {
        let (rps, p50, p99, failed) = measure(&c.http, &base, &c.docs, 16, secs).await;
        println!("| {name} | {rps:.0} | {p50:.1} | {p99:.1} | {failed} |");
    }
    c.replicas[1].terminate();
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (name, base) in [
        ("Traefik HTTPS, 1 replica", c.traefik.base()),
        ("Traefik HTTP (internal entry point), 1 replica", internal),
    ] {
        let (rps, p50, p99, failed) = measure(&c.http, &base, &c.docs, 16, secs).await;
        println!("| {name} | {rps:.0} | {p50:.1} | {p99:.1} | {failed} |");
    }
    // Catch-up of a new replica: an empty data directory, the whole catalog from Postgres.
    c.replicas[2].start(&c.setup);
    let t = Instant::now();
    c.replicas[2]
        .wait_ready(&c.http, Duration::from_secs(1800))
        .await?;
    println!(
        "\nnew replica (empty data dir, {docs} documents, lexical only) start → ready: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // And a restart: the index on disk, the changes since.
    c.replicas[0].kill9();
    c.replicas[0].start(&c.setup);
    let t = Instant::now();
    c.replicas[0]
        .wait_ready(&c.http, Duration::from_secs(600))
        .await?;
    println!(
        "restarted replica (index on disk) start → ready: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let result = if mode == "bench" {
        bench().await.map(|()| true)
    } else {
        check().await
    };
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("[cluster] error: {e}");
            std::process::exit(1);
        }
    }
}
