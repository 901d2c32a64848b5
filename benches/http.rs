//! HTTP benchmark (not a test): the real server binary, as a process of its
//! own, on a fresh local PostgreSQL seeded with `seed-demo --users N`,
//! against the raw-SQL floor of the previous dashboard's two queries
//! (pgbench), each hot route under `wrk` (see README, "Performance").
//!
//!     cargo bench --bench http -- --users 200000 --seconds 10
//!     cargo bench --bench http -- --compare-with /path/to/old/hsl-dashboard
//!     cargo bench --bench http -- --scale-out --only course-streams
//!
//! Prints a table and, last, one line `BENCH {json}` with every number.

#[path = "http/report.rs"]
mod report;
#[path = "http/routes.rs"]
mod routes;
#[path = "http/scale_out.rs"]
mod scale_out;
#[path = "http/sender.rs"]
mod sender;
#[path = "http/server.rs"]
mod server;
#[path = "http/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use hsl_dashboard::local_pg::{Durability, LocalPg, home};
use sqlx::Connection;

use server::{Binary, Server};

const USAGE: &str = "\
usage: cargo bench --bench http -- [options]

  --users N            people seeded with `seed-demo --users N` (default 200000)
  --seconds S          wrk run per route, after a 1 s warm-up (default 10)
  --connections C      wrk connections, at least 2 (default 16)
  --compare-with PATH  a second server binary (e.g. built from an older commit):
                       every route is measured for both, alternating route by route
  --scale-out          also run two servers behind haproxy and check sessions,
                       freshness and the single delivery sender across them
  --only SUBSTRING     measure only the routes whose path contains SUBSTRING
  --help               this text";

#[derive(Debug)]
pub struct Args {
    pub users: u32,
    pub seconds: u32,
    pub connections: u32,
    pub compare_with: Option<PathBuf>,
    pub scale_out: bool,
    pub only: Option<String>,
}

/// `Ok(None)`: `--help` was asked for.
fn parse_args(args: impl Iterator<Item = String>) -> anyhow::Result<Option<Args>> {
    let mut out = Args {
        users: 200_000,
        seconds: 10,
        connections: 16,
        compare_with: None,
        scale_out: false,
        only: None,
    };
    let mut it = args;
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{arg} needs a value\n\n{USAGE}"))
        };
        let number = |flag: &str, text: String, min: u32| -> anyhow::Result<u32> {
            match text.parse::<u32>() {
                Ok(n) if n >= min => Ok(n),
                _ => bail!("{flag} must be an integer ≥ {min}, not {text:?}"),
            }
        };
        match arg.as_str() {
            "--users" => out.users = number("--users", value()?, 1)?,
            "--seconds" => out.seconds = number("--seconds", value()?, 1)?,
            // wrk runs two threads, each needs a connection.
            "--connections" => out.connections = number("--connections", value()?, 2)?,
            "--compare-with" => out.compare_with = Some(PathBuf::from(value()?)),
            "--scale-out" => out.scale_out = true,
            "--only" => out.only = Some(value()?),
            "--help" | "-h" => return Ok(None),
            // cargo bench passes --bench.
            "--bench" => {}
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(Some(out))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("bench http: {err:#}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("bench http: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// What a measured binary needs: its database, credentials, server.
pub struct Target {
    /// "new" (this build) or "old" (`--compare-with`).
    pub name: &'static str,
    pub binary: Binary,
    pub seed_secs: f64,
    pub login: String,
    pub password: String,
    pub admin_token: String,
    pub editor_token: String,
}

/// A database of its own for `binary`, migrated and seeded by it, with a
/// staff account and two API tokens made with its CLI.
async fn prepare(
    name: &'static str,
    path: &Path,
    pg: &LocalPg,
    dir: &Path,
    users: u32,
) -> anyhow::Result<Target> {
    let database = format!("bench_{name}");
    let mut admin = sqlx::PgConnection::connect(&pg.url("postgres"))
        .await
        .context("connecting to the bench's PostgreSQL")?;
    // `name` is one of two constants.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await?;
    admin.close().await.ok();
    let binary = Binary {
        path: path.to_owned(),
        database_url: pg.url(&database),
        dir: dir.to_owned(),
    };
    let b = binary.clone();
    let users_arg = users.to_string();
    let (seed_secs, seeded) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        b.cli(&["migrate"], None)?;
        let started = Instant::now();
        let out = b.cli(&["seed-demo", "--users", &users_arg], None)?;
        Ok((started.elapsed().as_secs_f64(), out))
    })
    .await??;
    println!(
        "[{name}] seed-demo --users {users}: {seed_secs:.1} s ({})",
        seeded.trim()
    );
    let login = "bench".to_owned();
    let password = format!("bench-password-{}", std::process::id());
    binary.cli(
        &[
            "staff",
            "add",
            &login,
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    )?;
    let token = |token_name: &str, role: &str| -> anyhow::Result<String> {
        let out = binary.cli(&["token", "create", token_name, "--role", role], None)?;
        let token = out.trim().to_owned();
        anyhow::ensure!(!token.is_empty(), "`token create` printed no token");
        Ok(token)
    };
    Ok(Target {
        name,
        admin_token: token("bench-admin", "admin")?,
        editor_token: token("bench-editor", "editor")?,
        binary,
        seed_secs,
        login,
        password,
    })
}

/// The floor: the previous dashboard's two queries, one
/// transaction = one request.
const FLOOR_SQL: &str = "\
SELECT course_id, course_stream, COUNT(*) AS total,
  SUM(CASE WHEN confirmed = 2 THEN 1 ELSE 0 END) AS confirmed,
  SUM(CASE WHEN confirmed = 1 THEN 1 ELSE 0 END) AS pending,
  SUM(CASE WHEN confirmed = -1 THEN 1 ELSE 0 END) AS cancelled
FROM bookings WHERE course_stream IS NOT NULL
GROUP BY course_id, course_stream ORDER BY course_id, course_stream;
SELECT id, user_id, username, first_name, course_id, course_stream, confirmed,
  created_at, referral_code, discount_percent
FROM bookings ORDER BY created_at DESC, id DESC LIMIT 50;
";

fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()?)
}

/// The cluster a root run keeps outside the scratch folder goes with it.
fn remove_linked_cluster(root: &Path) {
    if let Ok(target) = std::fs::read_link(root.join("pg"))
        && let Some(parent) = target.parent()
        && parent.parent() == Some(Path::new(home::OUTSIDE_BASE))
    {
        let _ = std::fs::remove_dir_all(parent);
    }
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let wrk = tools::ensure("wrk", "wrk")?;
    let pgbench = tools::pgbench()?;
    let haproxy = if args.scale_out {
        Some(tools::ensure("haproxy", "haproxy")?)
    } else {
        None
    };
    let new_binary = PathBuf::from(env!("CARGO_BIN_EXE_hsl-dashboard"));
    let old_binary = match &args.compare_with {
        Some(path) => {
            let path = std::fs::canonicalize(path)
                .with_context(|| format!("--compare-with {}: no such file", path.display()))?;
            anyhow::ensure!(
                path.is_file(),
                "--compare-with {}: not a file",
                path.display()
            );
            Some(path)
        }
        None => None,
    };

    let scratch = tempfile::Builder::new()
        .prefix("hsl-bench-http-")
        .tempdir()?;
    let root = scratch.path().to_owned();
    let result = async {
        let pg = LocalPg::start(&root.join("db"), Durability::Durable).await?;
        let outcome = bench(
            &args,
            &pg,
            &root,
            &new_binary,
            old_binary.as_deref(),
            &wrk,
            &pgbench,
            haproxy.as_deref(),
        )
        .await;
        pg.stop()?;
        outcome
    }
    .await;
    remove_linked_cluster(&root.join("db"));
    result
}

#[allow(clippy::too_many_arguments)]
async fn bench(
    args: &Args,
    pg: &LocalPg,
    dir: &Path,
    new_binary: &Path,
    old_binary: Option<&Path>,
    wrk: &Path,
    pgbench: &Path,
    haproxy: Option<&Path>,
) -> anyhow::Result<bool> {
    let client = http_client()?;
    let mut targets = vec![prepare("new", new_binary, pg, dir, args.users).await?];
    if let Some(old) = old_binary {
        targets.push(prepare("old", old, pg, dir, args.users).await?);
    }

    let script = dir.join("floor.sql");
    std::fs::write(&script, FLOOR_SQL)?;
    let floor = tools::pgbench_tps(
        pgbench,
        &script,
        &targets[0].binary.database_url,
        args.seconds,
    )
    .await?;
    println!(
        "floor: pgbench -n -c 8 -j 2 -T {} -f floor.sql → {floor:.1} tps",
        args.seconds
    );

    let mut servers = Vec::new();
    for target in &targets {
        servers.push(Server::start(target.name, &target.binary, &[], &client).await?);
    }
    let mut sessions = Vec::new();
    for (target, server) in targets.iter().zip(&servers) {
        let cookie = server::sign_in(&client, &server.base, &target.login, &target.password)
            .await
            .with_context(|| format!("signing in to the {} server", target.name))?;
        sessions.push(cookie);
    }
    let stream_page =
        routes::current_stream_page(&client, &servers[0].base, &targets[0].admin_token).await?;
    let routes: Vec<routes::Route> = routes::all(stream_page)
        .into_iter()
        .filter(|route| {
            args.only
                .as_deref()
                .is_none_or(|only| route.label.contains(only) || route.path.contains(only))
        })
        .collect();
    if routes.is_empty() {
        bail!(
            "--only {:?} matches no route",
            args.only.as_deref().unwrap_or("")
        );
    }

    let mut measured: Vec<Vec<routes::Measured>> = vec![Vec::new(); targets.len()];
    for (i, route) in routes.iter().enumerate() {
        // Alternate which binary goes first, so neither always runs second.
        let mut order: Vec<usize> = (0..targets.len()).collect();
        if i % 2 == 1 {
            order.reverse();
        }
        for t in order {
            let creds = routes::Credentials {
                token: &targets[t].admin_token,
                cookie: &sessions[t],
            };
            let server = &servers[t];
            let result = routes::measure(
                &client,
                wrk,
                &server.base,
                &[&server.rss],
                route,
                &creds,
                args,
            )
            .await;
            eprintln!("{}", report::progress(targets[t].name, &result, floor));
            measured[t].push(result);
        }
    }

    // Errors are worth a look at what the server said (it logs warnings).
    for (server, results) in servers.iter().zip(&measured) {
        if results
            .iter()
            .any(|m| m.wrk.as_ref().is_some_and(|w| w.errors() > 0))
        {
            eprintln!(
                "[{}] some answers were errors; the server log's last lines ({}):\n{}",
                server.name,
                server.log.display(),
                server::log_tail(&server.log, 12)
            );
        }
    }
    let overall: Vec<f64> = servers.iter().map(|s| s.rss.overall_mib()).collect();
    report::table(floor, &targets, &measured, &overall);
    // The measuring servers stop first: the scale-out pair runs alone.
    drop(servers);
    let mut passed = true;
    let mut scale = None;
    if let Some(haproxy) = haproxy {
        let (value, ok) = scale_out::run(&scale_out::Context {
            target: &targets[0],
            client: &client,
            wrk,
            haproxy,
            dir,
            args,
            floor,
        })
        .await?;
        passed = ok;
        scale = Some(value);
    }
    report::bench_line(args, floor, &targets, &measured, &overall, scale.as_ref());
    Ok(passed)
}
