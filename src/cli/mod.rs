//! Subcommands: serve (default), migrate, seed-demo, rebuild-analytics, staff, token.

mod accounts;

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use chrono::{DurationRound, TimeDelta, Utc};
use clap::{Parser, Subcommand};
use secrecy::SecretString;
use sqlx::{Connection, PgConnection};

use crate::App;
use crate::config::{Config, LogFormat};
use crate::local_pg::{Durability, LocalPg};
use crate::store::{self, analytics_cache, cluster, demo};

/// Tells the person at the terminal what is happening: plain lines on stdout
/// normally, log events with `LOG_FORMAT=json` so every line a collector
/// reads is one JSON object.
macro_rules! say {
    ($($arg:tt)*) => {{
        let message = format!($($arg)*);
        if CONSOLE_JSON.load(std::sync::atomic::Ordering::Relaxed) {
            tracing::info!(target: "console", "{message}");
        } else {
            println!("{message}");
        }
    }};
}

static CONSOLE_JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Where the embedded PostgreSQL keeps its cluster, relative to the working directory.
pub const DATA_DIR: &str = ".data";
/// The dashboard's database inside the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "hsl_dashboard";
/// Built under this name and renamed when complete, so an interrupted first
/// start never leaves a half-seeded database behind.
const EMBEDDED_DATABASE_INIT: &str = "hsl_dashboard_init";
/// Demo people created with a brand-new embedded database.
pub const FIRST_RUN_DEMO_USERS: u32 = 5_000;

#[derive(Debug, Parser)]
#[command(
    name = "hsl-dashboard",
    version,
    about = "Admin dashboard of the HashSlash School Telegram bot"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, then serve the dashboard (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Fill the database with deterministic, realistic demo data.
    SeedDemo {
        /// How many people to generate.
        #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(1..=i64::from(demo::MAX_USERS)))]
        users: u32,
        /// Add demo data even though the database already has bookings.
        #[arg(long)]
        force: bool,
    },
    /// Rebuild the analytics cache from the bot's tables (needed only after
    /// the bot deleted or rewrote old rows; see docs/analytics.md).
    RebuildAnalytics,
    /// Manage staff accounts.
    Staff {
        #[command(subcommand)]
        command: accounts::StaffCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: accounts::TokenCommand,
    },
}

pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    CONSOLE_JSON.store(
        config.log_format == LogFormat::Json,
        std::sync::atomic::Ordering::Relaxed,
    );
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = Database::open(&config, false).await?;
            store::migrate(&db.url).await?;
            say!("Migrations are up to date.");
            db.close().await
        }
        Command::SeedDemo { users, force } => with_maintenance_connection(&config, async |conn| {
            let started = Instant::now();
            let report = demo::seed(conn, users, demo_anchor(), force).await?;
            // So the first page view does not have to build it.
            analytics_cache::rebuild(conn, config.school_timezone).await?;
            analytics_cache::vacuum(conn).await?;
            say!(
                "Seeded demo data in {:.1} s: {} people, {} users rows, {} bookings, {} events, \
                     {} free-lesson registrations, {} hackathon registrations.",
                started.elapsed().as_secs_f64(),
                report.people,
                report.users,
                report.bookings,
                report.events,
                report.free_lesson_registrations,
                report.hackathon_registrations,
            );
            Ok(())
        })
        .await,
        Command::RebuildAnalytics => {
            with_maintenance_connection(&config, async |conn| {
                let started = Instant::now();
                analytics_cache::rebuild(conn, config.school_timezone).await?;
                analytics_cache::vacuum(conn).await?;
                say!(
                    "Rebuilt the analytics cache ({}) in {:.1} s.",
                    config.school_timezone,
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            })
            .await
        }
        Command::Staff { command } => {
            with_maintenance_connection(&config, async |conn| accounts::staff(conn, command).await)
                .await
        }
        Command::Token { command } => {
            with_maintenance_connection(&config, async |conn| accounts::token(conn, command).await)
                .await
        }
    }
}

/// Opens the command's database (migrated) and runs `work` on one
/// maintenance connection, stopping an embedded server afterwards.
async fn with_maintenance_connection(
    config: &Config,
    work: impl AsyncFnOnce(&mut PgConnection) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let db = Database::open(config, false).await?;
    store::migrate(&db.url).await?;
    let mut conn = store::maintenance_connection(&db.url).await?;
    let result = work(&mut conn).await;
    conn.close().await.ok();
    db.close().await?;
    result
}

async fn serve(mut config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config, true).await?;
    store::migrate(&db.url).await?;
    config.database_url = Some(SecretString::from(db.url.clone()));
    let app = App::build(config).await?;
    let addr = app.local_addr();
    tracing::info!(%addr, "listening");
    say!("hsl-dashboard is running at http://{addr}  (Ctrl-C to stop)");
    if let Some(password) = &db.first_admin_password {
        say!(
            "Log in at http://{addr}/login as «admin» with password «{password}». It is shown \
             only this once; change it with `cargo run --release -- staff set-password admin`."
        );
    }
    let served = app.run_until_stopped().await;
    let closed = db.close().await;
    served.and(closed)
}

/// The current hour: demo timestamps are placed relative to it.
fn demo_anchor() -> chrono::DateTime<Utc> {
    Utc::now()
        .duration_trunc(TimeDelta::hours(1))
        .unwrap_or_else(|_| Utc::now())
}

/// The database the command works on: `DATABASE_URL`, or the embedded one.
struct Database {
    url: String,
    local: Option<LocalPg>,
    /// Set when this start created the embedded demo database and its admin.
    first_admin_password: Option<String>,
}

impl Database {
    async fn open(config: &Config, seed_on_create: bool) -> anyhow::Result<Self> {
        if let Some(url) = config.database_url() {
            tracing::info!("using the database from DATABASE_URL");
            return Ok(Self {
                url: url.to_owned(),
                local: None,
                first_admin_password: None,
            });
        }
        let data_dir = Path::new(DATA_DIR);
        say!("DATABASE_URL is not set: using the embedded PostgreSQL in ./{DATA_DIR}");
        let pg = LocalPg::start(data_dir, Durability::Durable)
            .await
            .context("starting the embedded PostgreSQL")?;
        let cluster = if pg.is_linked() {
            let cluster = pg.cluster_dir();
            say!(
                "The postgres OS user cannot enter this folder, so the cluster lives in {} \
                 (./{DATA_DIR}/pg links to it).",
                cluster.display()
            );
            cluster.display().to_string()
        } else {
            format!("./{DATA_DIR}/pg")
        };
        if pg.cluster_created() {
            say!("Created a new PostgreSQL cluster in {cluster}");
        }
        let first_admin_password = ensure_embedded_database(&pg, seed_on_create).await?;
        let url = pg.url(EMBEDDED_DATABASE);
        say!("Embedded database: {url}");
        Ok(Self {
            url,
            local: Some(pg),
            first_admin_password,
        })
    }

    async fn close(self) -> anyhow::Result<()> {
        if let Some(pg) = self.local {
            tokio::task::spawn_blocking(move || pg.stop())
                .await
                .context("stopping the embedded PostgreSQL")??;
            say!("Embedded PostgreSQL stopped.");
        }
        Ok(())
    }
}

/// Creates the dashboard's database on first use (migrated; with `demo`,
/// seeded with demo data and an `admin` account whose generated password is
/// returned). Reuses it on every later start.
async fn ensure_embedded_database(pg: &LocalPg, demo: bool) -> anyhow::Result<Option<String>> {
    let mut admin = store::maintenance_connection(&pg.url("postgres")).await?;
    if cluster::database_exists(&mut admin, EMBEDDED_DATABASE).await? {
        return Ok(None);
    }
    cluster::drop_database(&mut admin, EMBEDDED_DATABASE_INIT).await?;
    cluster::create_database(&mut admin, EMBEDDED_DATABASE_INIT, None).await?;
    let init_url = pg.url(EMBEDDED_DATABASE_INIT);
    store::migrate(&init_url).await?;
    let mut first_admin_password = None;
    if demo {
        say!("Seeding demo data ({FIRST_RUN_DEMO_USERS} people)…");
        let mut conn = store::maintenance_connection(&init_url).await?;
        let report = demo::seed(&mut conn, FIRST_RUN_DEMO_USERS, demo_anchor(), false).await?;
        conn.close().await.ok();
        say!(
            "Demo data ready: {} bookings, {} events.",
            report.bookings,
            report.events
        );
        first_admin_password = Some(accounts::create_first_admin(&init_url).await?);
    }
    cluster::rename_database(&mut admin, EMBEDDED_DATABASE_INIT, EMBEDDED_DATABASE).await?;
    admin.close().await.ok();
    Ok(first_admin_password)
}
