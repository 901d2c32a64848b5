//! The real binary, as a newcomer runs it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{http_client, migrated_database, post_login, scratch_dir, set_cookie};

const BIN: &str = env!("CARGO_BIN_EXE_hsl-dashboard");

/// The binary with a clean environment: none of the developer's settings leak in.
pub(crate) fn command(cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

pub(crate) struct Running {
    pub(crate) child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    pub(crate) fn start(cwd: &Path) -> Self {
        let mut cmd = command(cwd);
        cmd.stderr(Stdio::inherit());
        Self::spawn(cmd)
    }

    /// Like [`Running::start`], its log (stderr) written to `log`.
    pub(crate) fn start_logging_to(cwd: &Path, log: &Path) -> Self {
        let mut cmd = command(cwd);
        cmd.env("RUST_LOG", "info")
            .stderr(std::fs::File::create(log).unwrap());
        Self::spawn(cmd)
    }

    /// Runs `serve` from `cmd` on a free port, stdout read line by line.
    pub(crate) fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .env("BIND_ADDR", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for the "running at http://…" line and returns the base URL.
    pub(crate) fn base_url(&mut self) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(90))
                .unwrap_or_else(|_| panic!("no start-up line; output so far: {:?}", self.seen));
            self.seen.push(line.clone());
            if let Some(rest) = line.split("running at ").nth(1) {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
    }

    /// Waits for a line containing `needle` and returns it.
    pub(crate) fn line_with(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(90))
                .unwrap_or_else(|_| panic!("no line with {needle:?}; output: {:?}", self.seen));
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// SIGINT, as Ctrl-C in a terminal; returns the rest of the output.
    pub(crate) fn interrupt(mut self) -> (std::process::ExitStatus, Vec<String>) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT).unwrap();
        let status = self.child.wait().unwrap();
        // The reader thread may still be delivering the last lines (under
        // load it lags): read until stdout closes, with a bound.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.seen.push(line);
        }
        (status, std::mem::take(&mut self.seen))
    }
}

/// A test that fails midway leaves no server running.
impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT);
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while let Ok(None) = self.child.try_wait() {
                if std::time::Instant::now() > deadline {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

#[tokio::test]
async fn zero_config_run_serves_stops_postgres_on_ctrl_c_and_reuses_data() {
    let cwd = scratch_dir("zero-config");
    let client = http_client();

    let mut first = Running::start(&cwd);
    let base = first.base_url();
    let response = client
        .get(format!("{base}/api/test-db"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ok");
    let home = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()["location"], "/login");
    assert!(
        cwd.join(".data/pg/PG_VERSION").is_file(),
        "data lives in ./.data"
    );

    let (status, output) = first.interrupt();
    assert!(status.success(), "{status:?} {output:?}");
    let output = output.join("\n");
    assert!(
        output.contains("Created a new PostgreSQL cluster"),
        "{output}"
    );
    assert!(output.contains("Seeding demo data"), "{output}");
    assert!(output.contains("Embedded PostgreSQL stopped."), "{output}");
    let password = output
        .split("as «admin» with password «")
        .nth(1)
        .and_then(|rest| rest.split('»').next())
        .unwrap_or_else(|| panic!("no login instructions in {output}"))
        .to_owned();
    assert!(
        !cwd.join(".data/pg/postmaster.pid").exists(),
        "PostgreSQL stopped too"
    );

    let mut second = Running::start(&cwd);
    let base = second.base_url();
    let stats: Value = client
        .get(format!("{base}/api/test-db"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["status"], "ok");
    // The printed password opens the dashboard, and the data survived.
    let login = post_login(&client, &base, "admin", &password).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&login, "hsl_session")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let home = client
        .get(format!("{base}/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let (status, output) = second.interrupt();
    assert!(status.success());
    let output = output.join("\n");
    assert!(
        !output.contains("Created a new PostgreSQL cluster"),
        "{output}"
    );
    assert!(!output.contains("Seeding"), "data is reused: {output}");
    assert!(
        !output.contains("with password"),
        "the password is shown once: {output}"
    );
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_variable() {
    let cwd = scratch_dir("bad-config");
    let output = command(&cwd)
        .env("SEND_RATE_PER_SEC", "fast")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SEND_RATE_PER_SEC"), "{stderr}");
    assert!(!cwd.join(".data").exists(), "nothing was started");
}

#[test]
fn a_password_in_a_bad_database_url_is_not_printed() {
    let cwd = scratch_dir("bad-url");
    let output = command(&cwd)
        .env("DATABASE_URL", "mysql://app:hunter2@db/school")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        all.contains("DATABASE_URL") && !all.contains("hunter2"),
        "{all}"
    );
}

#[tokio::test]
async fn migrate_and_seed_demo_commands() {
    let db = migrated_database().await;
    let cwd = scratch_dir("cli");
    let run = |args: &[&str]| {
        command(&cwd)
            .env("DATABASE_URL", &db.url)
            .args(args)
            .output()
            .unwrap()
    };

    for _ in 0..2 {
        let migrate = run(&["migrate"]);
        assert!(migrate.status.success(), "{migrate:?}");
        assert!(String::from_utf8_lossy(&migrate.stdout).contains("up to date"));
    }

    let seeded = run(&["seed-demo", "--users", "120"]);
    assert!(seeded.status.success(), "{seeded:?}");
    let stdout = String::from_utf8_lossy(&seeded.stdout);
    assert!(stdout.contains("120 people"), "{stdout}");
    let pool = db.pool().await;
    let bookings: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(stdout.contains(&format!("{bookings} bookings")), "{stdout}");

    let refused = run(&["seed-demo", "--users", "120"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));

    for bad in [
        &["seed-demo", "--users", "0"][..],
        &["seed-demo", "--users", "lots"],
        &["frobnicate"],
    ] {
        let output = run(bad);
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
    }
    assert!(!cwd.join(".data").exists(), "DATABASE_URL was honoured");
}

#[tokio::test]
async fn rebuild_analytics_recounts_the_cache_from_the_bot_tables() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    sqlx::raw_sql(
        "INSERT INTO users (user_id, first_name) VALUES (71, 'Анна'); \
         INSERT INTO events (user_id, event_type, created_at) \
             VALUES (72, 'start_command', '2026-03-01 21:30+00')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let cwd = scratch_dir("cli");
    let run = |args: &[&str]| {
        command(&cwd)
            .env("DATABASE_URL", &db.url)
            .args(args)
            .output()
            .unwrap()
    };

    let rebuilt = run(&["rebuild-analytics"]);
    assert!(rebuilt.status.success(), "{rebuilt:?}");
    let stdout = String::from_utf8_lossy(&rebuilt.stdout);
    assert!(
        stdout.contains("Rebuilt the analytics cache (Europe/Moscow)"),
        "{stdout}"
    );
    let first_seen: Vec<(i64, chrono::NaiveDate)> =
        sqlx::query_as("SELECT user_id, first_day FROM analytics_first_seen ORDER BY user_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(first_seen.len(), 2, "{first_seen:?}");
    // 21:30 UTC is the next day in Moscow.
    assert_eq!(
        first_seen[1],
        (72, chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap())
    );

    let bad = run(&["rebuild-analytics", "--now"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let zone = command(&cwd)
        .env("DATABASE_URL", &db.url)
        .env("SCHOOL_TIMEZONE", "Mars/Olympus")
        .arg("rebuild-analytics")
        .output()
        .unwrap();
    assert!(!zone.status.success());
    assert!(String::from_utf8_lossy(&zone.stderr).contains("SCHOOL_TIMEZONE"));
}

#[tokio::test]
async fn json_log_format_writes_one_json_object_per_line() {
    let db = migrated_database().await;
    let cwd = scratch_dir("json-logs");
    let output = command(&cwd)
        .env("DATABASE_URL", &db.url)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stdout.is_empty(),
        "stdout is for command output only"
    );
    let stdout = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 2, "{stdout}");
    for line in &lines {
        let event: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            event["level"].is_string() && event["timestamp"].is_string(),
            "{line}"
        );
    }
    assert!(stdout.contains("Migrations are up to date."));
    assert!(!stdout.contains(&db.url), "the database URL is not logged");
}

/// Passwords, tokens, session ids and CSRF tokens never reach the logs, even
/// at the most verbose level, whether a login fails or succeeds.
#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let db = migrated_database().await;
    let cwd = scratch_dir("log-secrets");
    let log_path = cwd.join("stderr.log");
    let verbose = |cmd: &mut Command| {
        cmd.env("DATABASE_URL", &db.url).env("RUST_LOG", "trace");
    };
    let cli = |args: &[&str], stdin: &str| {
        let mut cmd = command(&cwd);
        verbose(&mut cmd);
        cmd.args(args);
        let output = crate::helpers::run_with_stdin(cmd, stdin);
        assert!(output.status.success(), "{output:?}");
        (
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let password = "Correct-Horse-7731";
    let wrong_password = "Wrong-Pony-4412";
    let (_, add_log) = cli(
        &[
            "staff",
            "add",
            "loguser",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &format!("{password}\n"),
    );
    let (token_out, token_log) = cli(&["token", "create", "logtok", "--role", "viewer"], "");
    let token = token_out.trim().to_owned();
    assert!(token.starts_with("hsl_"), "{token_out}");

    let mut cmd = command(&cwd);
    verbose(&mut cmd);
    cmd.stderr(std::fs::File::create(&log_path).unwrap());
    let mut server = Running::spawn(cmd);
    let base = server.base_url();
    let client = http_client();

    let failed = post_login(&client, &base, "loguser", wrong_password).await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    let login = post_login(&client, &base, "loguser", password).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&login, "hsl_session")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session_id = cookie.trim_start_matches("hsl_session=").to_owned();
    let page = client
        .get(format!("{base}/settings/staff"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csrf = crate::helpers::hidden_field(&page.text().await.unwrap(), "csrf").unwrap();
    let created = client
        .post(format!("{base}/settings/staff/tokens"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(crate::helpers::form_body(&[
            ("csrf", &csrf),
            ("name", "page-token"),
            ("role", "viewer"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let html = created.text().await.unwrap();
    let page_token = html
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let metrics = client
        .get(format!("{base}/metrics"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let bad = client
        .get(format!("{base}/metrics"))
        .bearer_auth("hsl_guessed-token-value")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    let (status, _) = server.interrupt();
    assert!(status.success());
    let server_log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        server_log.contains("staff signed in") && server_log.contains("/settings/staff/tokens"),
        "the log was captured at trace level: {server_log}"
    );
    for (what, log) in [
        ("staff add", &add_log),
        ("token create", &token_log),
        ("serve", &server_log),
    ] {
        for (secret_name, secret) in [
            ("password", password),
            ("wrong password", wrong_password),
            ("token", token.as_str()),
            ("token created on the page", page_token.as_str()),
            ("guessed token", "hsl_guessed-token-value"),
            ("session id", session_id.as_str()),
            ("csrf token", csrf.as_str()),
        ] {
            assert!(
                !log.contains(secret),
                "the {secret_name} appears in the {what} log"
            );
        }
    }
}
