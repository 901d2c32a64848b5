//! `--scale-out`: two server processes on one database behind haproxy
//! (round robin, `option httpchk GET /readyz`). Measures the combined
//! throughput and checks, with PASS/FAIL lines: a session made through
//! haproxy works on both; a booking changed through A shows in B within 1 s;
//! exactly one delivery engine holds the sender's advisory lock.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use super::routes::{self, Auth, Credentials, Measured, Route};
use super::sender::{self, FAKE_BOT_TOKEN};
use super::server::{self, Server, free_port, log_tail};
use super::{Args, Target, report};

pub struct Context<'a> {
    pub target: &'a Target,
    pub client: &'a reqwest::Client,
    pub wrk: &'a Path,
    pub haproxy: &'a Path,
    pub dir: &'a Path,
    pub args: &'a Args,
    /// pgbench's tps of the floor, for the ratio.
    pub floor: f64,
}

/// The haproxy configuration the bench runs (README, "Running several copies").
pub fn haproxy_config(port: u16, a: &str, b: &str) -> String {
    format!(
        "global
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend dashboard
    bind 127.0.0.1:{port}
    default_backend dashboards

backend dashboards
    balance roundrobin
    option forwardfor
    option httpchk GET /readyz
    http-check expect status 200
    server a {a} check inter 1s
    server b {b} check inter 1s
"
    )
}

/// haproxy in the foreground, killed on drop.
struct Haproxy(Child);

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Checks {
    lines: Vec<Value>,
    passed: bool,
}

impl Checks {
    pub fn check(&mut self, name: &str, ok: bool, detail: String) {
        println!("{} {name}: {detail}", if ok { "PASS" } else { "FAIL" });
        self.passed &= ok;
        self.lines
            .push(json!({"check": name, "pass": ok, "detail": detail}));
    }
}

pub async fn run(cx: &Context<'_>) -> anyhow::Result<(Value, bool)> {
    println!("\nscale-out: two servers on one database behind haproxy");
    let telegram_api = format!("http://127.0.0.1:{}", free_port()?);
    let env = [
        ("TELEGRAM_BOT_TOKEN", FAKE_BOT_TOKEN),
        ("TELEGRAM_API_URL", telegram_api.as_str()),
        ("RUST_LOG", "warn,hsl_dashboard::delivery=info"),
    ];
    let mut a = Server::start("a", &cx.target.binary, &env, cx.client).await?;
    let mut b = Server::start("b", &cx.target.binary, &env, cx.client).await?;
    let port = free_port()?;
    let config = cx.dir.join("haproxy.cfg");
    let hostport = |s: &Server| s.base.trim_start_matches("http://").to_owned();
    std::fs::write(&config, haproxy_config(port, &hostport(&a), &hostport(&b)))?;
    let log = cx.dir.join("haproxy.log");
    let out = File::create(&log)?;
    let mut haproxy = Haproxy(
        Command::new(cx.haproxy)
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting haproxy")?,
    );
    let front = format!("http://127.0.0.1:{port}");
    wait_for_proxy(cx.client, &front, &mut haproxy, &log).await?;
    println!(
        "haproxy on {front} → a {} (pid {}), b {} (pid {}); config {}",
        a.base,
        a.pid(),
        b.base,
        b.pid(),
        config.display()
    );

    let mut checks = Checks {
        lines: Vec::new(),
        passed: true,
    };
    let session = sessions(cx, &front, &a, &b, &mut checks).await?;
    freshness(cx, &a, &b, &mut checks).await?;

    let creds = Credentials {
        token: &cx.target.admin_token,
        cookie: &session,
    };
    let mut measured = Vec::new();
    for (path, auth) in [
        ("/api/course-streams", Auth::Token),
        ("/workshops", Auth::Session),
    ] {
        if let Some(only) = &cx.args.only
            && !path.contains(only.as_str())
        {
            continue;
        }
        for (label, base, samplers) in [
            (
                format!("{path} (haproxy → a+b)"),
                front.as_str(),
                vec![&a.rss, &b.rss],
            ),
            (format!("{path} (a alone)"), a.base.as_str(), vec![&a.rss]),
        ] {
            let route = Route {
                label,
                path: path.to_owned(),
                auth,
            };
            let m =
                routes::measure(cx.client, cx.wrk, base, &samplers, &route, &creds, cx.args).await;
            eprintln!("{}", report::progress("scale-out", &m, cx.floor));
            measured.push(m);
        }
    }
    sender::single_sender(cx, &mut a, &mut b, &mut checks).await?;

    if !measured.is_empty() {
        println!(
            "\n{:<40} |    {}",
            "route (scale-out)",
            report::HEADER.trim_start()
        );
        for m in &measured {
            println!("{:<40} |    {}", m.route, report::cells(m, cx.floor));
        }
    }
    let routes: Vec<Value> = measured
        .iter()
        .map(|m: &Measured| serde_json::to_value(m).unwrap_or(Value::Null))
        .collect();
    let value = json!({
        "routes": routes,
        "checks": checks.lines,
        "peak_rss_mib": {"a": a.rss.overall_mib(), "b": b.rss.overall_mib()},
    });
    Ok((value, checks.passed))
}

async fn wait_for_proxy(
    client: &reqwest::Client,
    front: &str,
    haproxy: &mut Haproxy,
    log: &Path,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = haproxy.0.try_wait()? {
            bail!(
                "haproxy exited ({status}); its log ({}):\n{}",
                log.display(),
                log_tail(log, 15)
            );
        }
        if let Ok(r) = client.get(format!("{front}/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "haproxy did not answer /readyz within 20 s; its log ({}):\n{}",
                log.display(),
                log_tail(log, 15)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs in through haproxy (the form and its post may reach different
/// processes), then uses the cookie on each process directly.
async fn sessions(
    cx: &Context<'_>,
    front: &str,
    a: &Server,
    b: &Server,
    checks: &mut Checks,
) -> anyhow::Result<String> {
    let cookie = server::sign_in(cx.client, front, &cx.target.login, &cx.target.password)
        .await
        .context("signing in through haproxy")?;
    for s in [a, b] {
        let r = cx
            .client
            .get(format!("{}/workshops", s.base))
            .header("cookie", &cookie)
            .send()
            .await?;
        checks.check(
            &format!("session made through haproxy is valid on {}", s.name),
            r.status() == reqwest::StatusCode::OK,
            format!("GET {}/workshops → {}", s.base, r.status()),
        );
    }
    Ok(cookie)
}

/// The confirmed count of `(course, code)` in `/api/course-streams`.
async fn confirmed_in_stream(
    cx: &Context<'_>,
    base: &str,
    course: i32,
    code: &str,
) -> anyhow::Result<Option<i64>> {
    let rows: Value = cx
        .client
        .get(format!("{base}/api/course-streams"))
        .bearer_auth(&cx.target.admin_token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(rows.as_array().into_iter().flatten().find_map(|row| {
        (row["courseId"].as_i64() == Some(course.into())
            && row["courseStreamRaw"].as_str() == Some(code))
        .then(|| row["confirmed"].as_i64())
        .flatten()
    }))
}

/// Booking `id`'s `confirmed` in `/api/bookings?user_id=…`.
async fn booking_status(
    cx: &Context<'_>,
    base: &str,
    user: i64,
    id: i32,
) -> anyhow::Result<Option<i64>> {
    let rows: Value = cx
        .client
        .get(format!("{base}/api/bookings?user_id={user}&limit=200"))
        .bearer_auth(&cx.target.admin_token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(rows.as_array().into_iter().flatten().find_map(|row| {
        (row["id"].as_i64() == Some(id.into()))
            .then(|| row["confirmed"].as_i64())
            .flatten()
    }))
}

/// A pending booking confirmed through A's API: at once in A, within 1 s in B.
async fn freshness(
    cx: &Context<'_>,
    a: &Server,
    b: &Server,
    checks: &mut Checks,
) -> anyhow::Result<()> {
    let mut db = PgConnection::connect(&cx.target.binary.database_url).await?;
    // The user's only booking, so per-booking and per-person counts agree.
    let (id, user, course, code): (i32, i64, i32, String) = sqlx::query_as(
        "SELECT b.id, b.user_id, b.course_id, b.course_stream FROM bookings b \
         WHERE b.confirmed = 1 AND b.course_stream IS NOT NULL AND b.course_id IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM bookings o WHERE o.user_id = b.user_id AND o.id <> b.id) \
         ORDER BY b.id DESC LIMIT 1",
    )
    .fetch_optional(&mut db)
    .await?
    .context("the seeded data has no pending booking to confirm")?;
    db.close().await.ok();
    let before = confirmed_in_stream(cx, &b.base, course, &code).await?;
    let before_a = confirmed_in_stream(cx, &a.base, course, &code).await?;
    let response = cx
        .client
        .patch(format!("{}/api/users/{user}/bookings", a.base))
        .bearer_auth(&cx.target.editor_token)
        .json(&json!({"bookingId": id, "updates": {"confirmed": 2}}))
        .send()
        .await?;
    let changed_at = Instant::now();
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        checks.check(
            "booking changed through a",
            false,
            format!(
                "PATCH {}/api/users/{user}/bookings → {status}: {body}",
                a.base
            ),
        );
        return Ok(());
    }
    let target = |n: Option<i64>| n.map(|n| n + 1);
    let in_a = booking_status(cx, &a.base, user, id).await? == Some(2)
        && confirmed_in_stream(cx, &a.base, course, &code).await? == target(before_a);
    checks.check(
        "a change shows at once in the process that made it",
        in_a,
        format!("booking {id} (user {user}, {course}:{code}) pending → confirmed through a; a's /api/bookings and /api/course-streams right after"),
    );
    // Poll b past the 1 s limit, to report the delay even when it is late.
    let deadline = changed_at + Duration::from_secs(10);
    let (mut list_at, mut counts_at) = (None, None);
    while Instant::now() < deadline && (list_at.is_none() || counts_at.is_none()) {
        if list_at.is_none() && booking_status(cx, &b.base, user, id).await? == Some(2) {
            list_at = Some(changed_at.elapsed());
        }
        if counts_at.is_none()
            && confirmed_in_stream(cx, &b.base, course, &code).await? == target(before)
        {
            counts_at = Some(changed_at.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let show = |d: Option<Duration>| {
        d.map_or("not within 10 s".to_owned(), |d| {
            format!("{:.0} ms", d.as_secs_f64() * 1000.0)
        })
    };
    let within = |d: Option<Duration>| d.is_some_and(|d| d <= Duration::from_secs(1));
    checks.check(
        "the change shows in b's /api/bookings within 1 s",
        within(list_at),
        format!("after {}", show(list_at)),
    );
    checks.check(
        "the change shows in b's /api/course-streams within 1 s",
        within(counts_at),
        format!(
            "after {} (confirmed {:?} → {:?})",
            show(counts_at),
            before,
            target(before)
        ),
    );
    Ok(())
}
