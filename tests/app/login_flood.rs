//! A flood of wrong logins must not take the dashboard down: the in-process
//! app and the real binary, whose memory is measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;

use crate::helpers::{form_body, http_client, login_form, set_cookie};
use crate::login_defence::{message_in, spawn_with};

/// What the flood got back.
struct Flood {
    statuses: Vec<StatusCode>,
    /// (Retry-After, the form's message, time taken) of every 429.
    refusals: Vec<(String, String, Duration)>,
    /// Staff page views made while the flood ran.
    probes: usize,
    slowest_probe: Duration,
}

const FLOOD_REQUESTS: usize = 250;
const FLOOD_CONCURRENCY: usize = 80;
/// Nine refusals in ten must come within this, and every one within five
/// times it: a refusal that waited for a hashing slot would take the hashes
/// queued before it (tens of seconds at this concurrency), while a few
/// stragglers on a machine busy with other builds are only scheduling.
const REFUSAL_BUDGET: Duration = Duration::from_secs(2);
/// A signed-in page must answer 200 within this during the flood (or within
/// four times its time without the flood, on a machine busy with more). A
/// starved pool shows as 503s after its 2 s acquire timeout; the rest of
/// the margin is the flood's own clients sharing the test machine's cores
/// with a debug build of the server.
const PAGE_BUDGET: Duration = Duration::from_secs(5);

/// Page loads that must happen while the flood goes on.
const MIN_PROBES: usize = 2;

/// 250 wrong logins (more if needed, see below), 80 at a time, all
/// replaying one login form, each claiming another client address;
/// meanwhile a signed-in staff member keeps loading the home page, which
/// must answer 200 within two seconds. Refusals are fast, so the flood
/// goes on past 250 until [`MIN_PROBES`] page loads have overlapped it
/// (at most ten times as many requests), whatever the machine's speed.
async fn flood_while_browsing(base: &str, staff_cookie: &str) -> Flood {
    let client = http_client();
    // What the page costs on this machine right now, without the flood: a
    // busy test machine may take longer than the budget for reasons that
    // have nothing to do with logins; the flood may not make it 4× slower.
    let mut quiet = Duration::ZERO;
    for _ in 0..3 {
        let started = Instant::now();
        let page = client
            .get(format!("{base}/"))
            .header("cookie", staff_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "before the flood");
        quiet = quiet.max(started.elapsed());
    }
    let page_budget = PAGE_BUDGET.max(4 * quiet);
    let (cookie, csrf) = login_form(&client, base).await;
    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let probed = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..FLOOD_CONCURRENCY {
        let (client, next, answered, probed) = (
            client.clone(),
            next.clone(),
            answered.clone(),
            probed.clone(),
        );
        let (url, cookie, csrf) = (format!("{base}/login"), cookie.clone(), csrf.clone());
        workers.spawn(async move {
            let mut answers = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let enough = i >= FLOOD_REQUESTS && probed.load(Ordering::Relaxed) >= MIN_PROBES;
                if enough || i >= 10 * FLOOD_REQUESTS {
                    return answers;
                }
                let started = Instant::now();
                let response = client
                    .post(&url)
                    .header("cookie", &cookie)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("x-forwarded-for", format!("10.{}.{}.7", i / 200, i % 200))
                    .body(form_body(&[
                        ("login", &format!("guess-{i}")),
                        ("password", "wrong password"),
                        ("csrf", &csrf),
                    ]))
                    .send()
                    .await
                    .expect("the server answers every flood request");
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .map(|value| value.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                let html = response.text().await.unwrap();
                let took = started.elapsed();
                answered.fetch_add(1, Ordering::Relaxed);
                answers.push((status, retry_after, message_in(&html).unwrap_or(html), took));
            }
        });
    }

    let mut probes = 0;
    let mut slowest_probe = Duration::ZERO;
    while probes < MIN_PROBES || answered.load(Ordering::Relaxed) < FLOOD_REQUESTS {
        let started = Instant::now();
        let page = tokio::time::timeout(
            Duration::from_secs(10),
            client
                .get(format!("{base}/"))
                .header("cookie", staff_cookie)
                .send(),
        )
        .await
        .expect("the home page answers during the flood")
        .unwrap();
        let took = started.elapsed();
        assert_eq!(page.status(), StatusCode::OK, "during the flood");
        assert!(
            took < page_budget,
            "the home page took {took:?} (without the flood: {quiet:?})"
        );
        slowest_probe = slowest_probe.max(took);
        probes += 1;
        probed.store(probes, Ordering::Relaxed);
    }
    let mut flood = Flood {
        statuses: Vec::new(),
        refusals: Vec::new(),
        probes,
        slowest_probe,
    };
    while let Some(answers) = workers.join_next().await {
        for (status, retry_after, message, took) in answers.unwrap() {
            flood.statuses.push(status);
            if status == StatusCode::TOO_MANY_REQUESTS {
                flood.refusals.push((retry_after, message, took));
            }
        }
    }
    assert!(flood.statuses.len() >= FLOOD_REQUESTS);
    flood
}

fn check_flood(flood: &Flood) {
    assert!(
        flood.probes >= MIN_PROBES,
        "the page was loaded during the flood"
    );
    for status in &flood.statuses {
        assert!(
            matches!(
                *status,
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
            ),
            "a flood request got {status}"
        );
    }
    assert!(
        !flood.refusals.is_empty(),
        "with every hashing slot taken, logins are refused at once"
    );
    for (retry_after, message, took) in &flood.refusals {
        assert!(retry_after.parse::<u32>().is_ok_and(|secs| secs > 0));
        assert!(message.contains("Сервер занят"), "{message}");
        assert!(*took < REFUSAL_BUDGET * 5, "a refusal took {took:?}");
    }
    let mut times: Vec<Duration> = flood.refusals.iter().map(|(_, _, took)| *took).collect();
    times.sort();
    let ninetieth = times[(times.len() * 9).div_ceil(10) - 1];
    assert!(
        ninetieth < REFUSAL_BUDGET,
        "nine refusals in ten within {REFUSAL_BUDGET:?}; the 90th percentile took {ninetieth:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_is_refused_fast_and_staff_pages_keep_answering() {
    let app = spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let staff = app.quick_session(Role::Viewer).await;
    assert_eq!(app.get_as(&staff, "/").await.status(), StatusCode::OK);

    let flood = flood_while_browsing(&app.address, &staff.cookie).await;
    check_flood(&flood);
    eprintln!(
        "flood in process: {} refused with 429 of {}, {} page views, slowest {:?}",
        flood.refusals.len(),
        flood.statuses.len(),
        flood.probes,
        flood.slowest_probe
    );
}

/// The same flood against the real binary, whose memory must stay small.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_real_binary_stays_small_under_a_login_flood() {
    let db = crate::helpers::migrated_database().await;
    let cwd = crate::helpers::scratch_dir("login-flood");
    let mut add = crate::binary::command(&cwd);
    add.env("DATABASE_URL", &db.url)
        .args(["staff", "add", "flooded", "--role", "viewer"])
        .arg("--password-stdin");
    let added = crate::helpers::run_with_stdin(add, "flood-password-1\n");
    assert!(added.status.success(), "{added:?}");

    let mut cmd = crate::binary::command(&cwd);
    cmd.env("DATABASE_URL", &db.url)
        .env("TRUSTED_PROXIES", "127.0.0.1")
        .env("SCHEDULER_ENABLED", "false")
        .stderr(std::process::Stdio::inherit());
    let mut server = crate::binary::Running::spawn(cmd);
    let base = server.base_url();
    let pid = server.child.id();
    let signed_in =
        crate::helpers::post_login(&http_client(), &base, "flooded", "flood-password-1").await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&signed_in, "hsl_session")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let home = http_client()
        .get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let before = kib(pid, "VmRSS");

    let flood = flood_while_browsing(&base, &cookie).await;
    let (after, peak) = (kib(pid, "VmRSS"), kib(pid, "VmHWM"));
    let (status, _) = server.interrupt();
    assert!(status.success());
    eprintln!(
        "flood against the binary: RSS {} MiB before, {} MiB after, peak {} MiB; \
         {} refused with 429 of {}, {} page views, slowest {:?}",
        before / 1024,
        after / 1024,
        peak / 1024,
        flood.refusals.len(),
        flood.statuses.len(),
        flood.probes,
        flood.slowest_probe
    );
    check_flood(&flood);
    assert!(peak < 200 * 1024, "peak RSS {} MiB", peak / 1024);
}

/// A `/proc/<pid>/status` figure in KiB.
fn kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}
