//! Test harness: a throwaway PostgreSQL per test process (or the server in
//! `DATABASE_URL`), a migrated template database, a fresh copy of it per
//! test, and the app started on port 0 and driven over HTTP.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use hsl_dashboard::config::Config;
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::domain::staff::{Login, TokenName};
use hsl_dashboard::local_pg::{Durability, LocalPg, home};
use hsl_dashboard::store::audit::Actor;
use hsl_dashboard::store::{self, cluster, sessions, staff, tokens};
use hsl_dashboard::{App, secrets};
use reqwest::StatusCode;
use secrecy::SecretString;
use sqlx::{Connection, PgPool};
use tokio::sync::OnceCell;
use url::Url;

struct TestServer {
    /// URL of the server's maintenance database; per-test URLs swap the path.
    admin_url: Url,
    template: String,
    /// Keeps the throwaway server alive for the whole process. It is never
    /// dropped: the parent-death signal stops it when the process exits.
    _local: Option<LocalPg>,
}

static SERVER: OnceCell<TestServer> = OnceCell::const_new();
static DATABASE_COUNTER: AtomicU32 = AtomicU32::new(0);

async fn server() -> &'static TestServer {
    SERVER
        .get_or_init(|| async {
            let (admin_url, local) =
                match std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()) {
                    Some(url) => (Url::parse(&url).expect("DATABASE_URL is a URL"), None),
                    None => {
                        let root = scratch_dir("pg");
                        let pg = LocalPg::start(&root, Durability::Throwaway)
                            .await
                            .expect("starting the throwaway PostgreSQL");
                        (Url::parse(&pg.url("postgres")).unwrap(), Some(pg))
                    }
                };
            let template = format!("hsl_test_template_{}", std::process::id());
            let mut admin = store::maintenance_connection(admin_url.as_str())
                .await
                .expect("connecting to the test server");
            cluster::drop_database(&mut admin, &template).await.unwrap();
            cluster::create_database(&mut admin, &template, None)
                .await
                .unwrap();
            admin.close().await.unwrap();
            store::migrate(with_database(&admin_url, &template).as_str())
                .await
                .expect("migrating the template database");
            TestServer {
                admin_url,
                template,
                _local: local,
            }
        })
        .await
}

fn with_database(url: &Url, database: &str) -> Url {
    let mut url = url.clone();
    url.set_path(&format!("/{database}"));
    url
}

/// A per-process scratch directory under the system temp dir; directories of
/// earlier test processes that are no longer running are removed.
pub fn scratch_dir(purpose: &str) -> PathBuf {
    let base = std::env::temp_dir().join("hsl-dashboard-tests");
    std::fs::create_dir_all(&base).unwrap();
    if let Ok(entries) = std::fs::read_dir(&base) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.split('-').next())
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid
                && pid != std::process::id()
                && !PathBuf::from(format!("/proc/{pid}")).exists()
            {
                remove_linked_cluster(&entry.path());
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let n = DATABASE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = base.join(format!("{}-{purpose}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A cluster that a data folder in `dir` (itself, or `dir/.data`) keeps
/// outside, in `/var/lib/hsl-dashboard`, when run as root from a folder the
/// `postgres` user cannot enter.
fn remove_linked_cluster(dir: &std::path::Path) {
    for link in [dir.join("pg"), dir.join(".data/pg")] {
        if let Ok(target) = std::fs::read_link(&link)
            && let Some(home) = target.parent()
            && home.parent() == Some(std::path::Path::new(home::OUTSIDE_BASE))
        {
            let _ = std::fs::remove_dir_all(home);
        }
    }
}

/// A database for one test, created on the test server.
pub struct TestDatabase {
    pub url: String,
    pub name: String,
}

impl TestDatabase {
    pub async fn pool(&self) -> PgPool {
        PgPool::connect(&self.url)
            .await
            .expect("connecting to the test database")
    }
}

/// A fresh copy of the migrated template.
pub async fn migrated_database() -> TestDatabase {
    new_database(true).await
}

/// A fresh, completely empty database (no migrations).
pub async fn empty_database() -> TestDatabase {
    new_database(false).await
}

async fn new_database(migrated: bool) -> TestDatabase {
    let server = server().await;
    let name = format!(
        "hsl_test_{}_{}",
        std::process::id(),
        DATABASE_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = store::maintenance_connection(server.admin_url.as_str())
        .await
        .unwrap();
    let template = migrated.then_some(server.template.as_str());
    cluster::create_database(&mut admin, &name, template)
        .await
        .unwrap();
    admin.close().await.unwrap();
    TestDatabase {
        url: with_database(&server.admin_url, &name).to_string(),
        name,
    }
}

/// The app, running in the background on an ephemeral port.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    pub db: TestDatabase,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }
}

/// Default configuration for tests: port 0, nothing external.
pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::from_vars(&HashMap::new()).unwrap();
    config.bind_addr = "127.0.0.1:0".parse().unwrap();
    config.database_url = Some(SecretString::from(database_url.to_owned()));
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(migrated_database().await).await
}

/// The app with a changed configuration, e.g. a bot token and the fake
/// Bot API server's URL.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let db = migrated_database().await;
    let mut config = test_config(&db.url);
    configure(&mut config);
    spawn_configured(db, config).await
}

pub async fn spawn_app_on(db: TestDatabase) -> TestApp {
    let config = test_config(&db.url);
    spawn_configured(db, config).await
}

async fn spawn_configured(db: TestDatabase, config: Config) -> TestApp {
    let app = App::build(config).await.expect("building the app");
    let address = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        client: http_client(),
        pool: db.pool().await,
        db,
    }
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// A signed-in browser: its session cookie and the CSRF token its pages carry.
#[derive(Debug, Clone)]
pub struct Session {
    /// `hsl_session=…`, ready for a `Cookie` header.
    pub cookie: String,
    pub csrf: String,
}

/// The value of `<input … name="{name}" value="…">` in a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// `name=value` of the `Set-Cookie` header for cookie `name`.
pub fn set_cookie<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
}

pub fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// The login page's CSRF cookie (`hsl_login=…`) and hidden field.
pub async fn login_form(client: &reqwest::Client, base: &str) -> (String, String) {
    let page = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = set_cookie(&page, "hsl_login")
        .expect("the login page sets its CSRF cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let csrf = hidden_field(&html, "csrf").expect("the login form has a CSRF field");
    (cookie, csrf)
}

/// Posts the login form as a browser would.
pub async fn post_login(
    client: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
) -> reqwest::Response {
    post_login_with(client, base, login, password, &[]).await
}

/// [`post_login`] with extra request headers (e.g. `X-Forwarded-For`).
pub async fn post_login_with(
    client: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let (cookie, csrf) = login_form(client, base).await;
    let mut request = client
        .post(format!("{base}/login"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .body(form_body(&[
            ("login", login),
            ("password", password),
            ("csrf", &csrf),
        ]))
        .send()
        .await
        .unwrap()
}

/// Runs a prepared command with `stdin` written to it; returns its output.
pub fn run_with_stdin(mut cmd: std::process::Command, stdin: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

static STAFF_COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestApp {
    /// A new staff account with this role; returns (login, password).
    pub async fn add_staff(&self, role: Role) -> (String, String) {
        let n = STAFF_COUNTER.fetch_add(1, Ordering::Relaxed);
        let login = format!("{}-{n}", role.as_str());
        let password = format!("password-of-{login}");
        let hash = secrets::hash_password(password.clone()).await.unwrap();
        let mut conn = self.pool.acquire().await.unwrap();
        staff::create(
            &mut conn,
            &Actor::cli(),
            &Login::parse(&login).unwrap(),
            &hash,
            role,
        )
        .await
        .unwrap();
        (login, password)
    }

    pub async fn post_login(&self, login: &str, password: &str) -> reqwest::Response {
        post_login(&self.client, &self.address, login, password).await
    }

    /// Signs in through `/login` and reads the CSRF token off a page.
    pub async fn login(&self, login: &str, password: &str) -> Session {
        let response = self.post_login(login, password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login as {login}");
        let cookie = set_cookie(&response, "hsl_session")
            .expect("a session cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let home = self
            .client
            .get(self.url("/logout"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(home.status(), StatusCode::OK);
        let csrf = hidden_field(&home.text().await.unwrap(), "csrf").expect("a CSRF field");
        Session { cookie, csrf }
    }

    /// A new account with `role`, signed in.
    pub async fn login_as(&self, role: Role) -> Session {
        let (login, password) = self.add_staff(role).await;
        self.login(&login, &password).await
    }

    /// A signed-in session for a new account with `role`, opened directly in
    /// the store (no argon2): for tests that need many sessions.
    pub async fn quick_session(&self, role: Role) -> Session {
        let n = STAFF_COUNTER.fetch_add(1, Ordering::Relaxed);
        let login = format!("quick-{}-{n}", role.as_str());
        let mut conn = self.pool.acquire().await.unwrap();
        let account = staff::create(
            &mut conn,
            &Actor::cli(),
            &Login::parse(&login).unwrap(),
            "not-a-password-hash",
            role,
        )
        .await
        .unwrap();
        let (id, csrf) = (secrets::random_secret(), secrets::random_secret());
        sessions::open(
            &mut conn,
            &Actor::cli(),
            sessions::NewSession {
                id_hash: &secrets::sha256(&id),
                staff_id: account.id,
                csrf_token: &csrf,
                client_addr: None,
                user_agent: None,
                lifetime_secs: 3600,
            },
            3600,
        )
        .await
        .unwrap();
        Session {
            cookie: format!("hsl_session={id}"),
            csrf,
        }
    }

    /// A new API token with `role`.
    pub async fn token(&self, role: Role) -> String {
        let n = STAFF_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = TokenName::parse(&format!("test-{}-{n}", role.as_str())).unwrap();
        let mut conn = self.pool.acquire().await.unwrap();
        tokens::issue(&mut conn, &Actor::cli(), &name, role)
            .await
            .unwrap()
            .1
    }

    /// GET with a session.
    pub async fn get_as(&self, session: &Session, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("cookie", &session.cookie)
            .send()
            .await
            .unwrap()
    }

    /// A form POST with a session and its CSRF token.
    pub async fn post_form_as(
        &self,
        session: &Session,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut all = vec![("csrf", session.csrf.as_str())];
        all.extend_from_slice(fields);
        self.client
            .post(self.url(path))
            .header("cookie", &session.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&all))
            .send()
            .await
            .unwrap()
    }
}

/// The app on a throwaway PostgreSQL server of its own (with one migrated
/// database), for tests that stop or kill the server under it; with the
/// server's folder, to start it again there.
pub async fn app_on_its_own_server(purpose: &str) -> (PathBuf, LocalPg, TestApp) {
    let root = scratch_dir(purpose);
    let pg = LocalPg::start(&root, Durability::Throwaway).await.unwrap();
    let mut admin = store::maintenance_connection(&pg.url("postgres"))
        .await
        .unwrap();
    cluster::create_database(&mut admin, "outage", None)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let db = TestDatabase {
        url: pg.url("outage"),
        name: "outage".into(),
    };
    store::migrate(&db.url).await.unwrap();
    let app = spawn_app_on(db).await;
    (root, pg, app)
}

/// Shared reads for use-case contexts built by hand: the use cases only
/// tell them about changes (never read through these: tests have databases
/// of their own).
pub fn reads() -> &'static hsl_dashboard::app::reads::Reads {
    static READS: std::sync::LazyLock<hsl_dashboard::app::reads::Reads> =
        std::sync::LazyLock::new(Default::default);
    &READS
}
