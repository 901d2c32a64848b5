//! Test harness: a throwaway PostgreSQL per test process (or the server in
//! `DATABASE_URL`), a migrated template database, a fresh copy of it per
//! test, and the app started on port 0 and driven over HTTP.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use hsl_dashboard::App;
use hsl_dashboard::config::Config;
use hsl_dashboard::local_pg::{Durability, LocalPg};
use hsl_dashboard::store::{self, cluster};
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
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let n = DATABASE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = base.join(format!("{}-{purpose}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

pub async fn spawn_app_on(db: TestDatabase) -> TestApp {
    let app = App::build(test_config(&db.url))
        .await
        .expect("building the app");
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
