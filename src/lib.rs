//! hsl-dashboard: the admin dashboard of the HashSlash School Telegram bot.
//!
//! A request comes in through [`web`], asks [`store`] (the only place with
//! SQL) for data, uses `domain` for rules, and renders a template or JSON.
//! The [`delivery`] engine runs beside it and never talks to `web`.

pub mod app;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod local_pg;
pub mod secrets;
pub mod serve;
pub mod store;
pub mod telegram;
pub mod telemetry;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;

use config::Config;
use web::AppState;

/// A built server: the listener is already bound, so tests can use port 0
/// and ask for the port before it runs.
pub struct App {
    listener: TcpListener,
    router: Router,
    pool: PgPool,
    addr: SocketAddr,
    /// The delivery engine, unless `SCHEDULER_ENABLED=false`.
    engine: Option<delivery::Engine>,
    limits: serve::Limits,
    /// The shared reads the mover tells about its moves.
    reads: std::sync::Arc<app::reads::Reads>,
}

impl App {
    /// Binds `config.bind_addr` and prepares the router. The database URL must
    /// be resolved by now (the CLI fills it in for the embedded server).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let url = config
            .database_url()
            .context("the database URL must be resolved before building the app")?;
        let pool = store::pool(url)?;
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("binding {} (BIND_ADDR)", config.bind_addr))?;
        let addr = listener.local_addr()?;
        let telegram = telegram::Telegram::from_config(&config)?;
        let engine_config = delivery::EngineConfig::from_config(&config);
        let scheduler_enabled = config.scheduler_enabled;
        let limits = config.limits;
        let mut state = AppState::new(pool.clone(), config);
        state.telegram = telegram.clone();
        let engine = scheduler_enabled.then(|| {
            delivery::Engine::new(
                pool.clone(),
                telegram,
                engine_config,
                state.scheduler.clone(),
                state.wake.clone(),
            )
        });
        let reads = state.reads.clone();
        Ok(Self {
            listener,
            router: web::router(state),
            pool,
            addr,
            engine,
            limits,
            reads,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until SIGINT or SIGTERM, then finishes in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then drains in-flight requests
    /// and lets the delivery engine finish the sends in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_engine, engine_stopped) = tokio::sync::watch::channel(false);
        let engine = self.engine.map(|engine| {
            let mut stopped = engine_stopped.clone();
            tokio::spawn(engine.run(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }))
        });
        let directory = tokio::spawn(keep_people_directory(self.pool.clone()));
        let intake = tokio::spawn(keep_intake_routed(self.pool.clone(), self.reads.clone()));
        serve::serve(self.listener, self.router, self.limits, shutdown).await;
        let _ = stop_engine.send(true);
        if let Some(engine) = engine
            && let Err(err) = engine.await
        {
            tracing::error!(error = %err, "the delivery engine crashed");
        }
        directory.abort();
        intake.abort();
        self.pool.close().await;
        Ok(())
    }
}

/// How often the people directory is compared with the bot's tables in full
/// (a few seconds of database time at 200 000 people).
const PEOPLE_REPAIR_EVERY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Requests catch the directory up themselves; this fixes, now and then,
/// what their watermarks cannot see (see `store::people`).
async fn keep_people_directory(pool: PgPool) {
    let start = tokio::time::Instant::now() + PEOPLE_REPAIR_EVERY;
    let mut every = tokio::time::interval_at(start, PEOPLE_REPAIR_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        // Caught up first, so the comparison finds only real drift.
        let repaired = match store::people::catch_up(&pool).await {
            Ok(_) => store::people::repair(&pool).await,
            Err(err) => Err(err),
        };
        match repaired {
            Ok(0) => {}
            Ok(people) => tracing::info!(people, "people directory: repaired drift"),
            Err(err) => tracing::warn!(error = %err, "people directory: repair failed"),
        }
    }
}

/// How often the intake mover looks for bookings to move: "within seconds
/// of the bot writing it".
pub const INTAKE_MOVE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Moves the bookings the bot files under its default code into their
/// course's current intake, where a rule says so (see `store::intake`).
/// Every server process runs it; one tick at a time moves.
async fn keep_intake_routed(pool: PgPool, reads: std::sync::Arc<app::reads::Reads>) {
    let mut every = tokio::time::interval(INTAKE_MOVE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // While the database is away, one warning, not one a second.
    let mut failing = false;
    loop {
        every.tick().await;
        match store::intake::move_once(&pool).await {
            Ok(moved) => {
                if failing {
                    tracing::info!("intake routing: ticking again");
                    failing = false;
                }
                if moved > 0 {
                    reads.changed();
                    tracing::info!(moved, "intake routing: moved bookings");
                }
            }
            Err(err) if !failing => {
                tracing::warn!(error = %err, "intake routing: tick failed");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing the SIGINT handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
