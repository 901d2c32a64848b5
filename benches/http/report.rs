//! The results table and the machine-readable `BENCH {json}` line.

use serde_json::{Value, json};

use super::routes::Measured;
use super::{Args, Target};

/// The floor ratio is not meaningful for the server's own ceiling.
fn ratio(m: &Measured, floor: f64) -> Option<f64> {
    let wrk = m.wrk.as_ref()?;
    (m.route != "/healthz" && floor > 0.0).then(|| wrk.rps / floor)
}

fn show_ratio(m: &Measured, floor: f64) -> String {
    match ratio(m, floor) {
        None => "—".to_owned(),
        Some(r) if r < 10.0 => format!("{r:.2}×"),
        Some(r) => format!("{r:.1}×"),
    }
}

/// One line per measurement while the bench runs (stderr).
pub fn progress(name: &str, m: &Measured, floor: f64) -> String {
    match &m.wrk {
        Some(w) => format!(
            "[{name}] {:<40} {:>9.1} req/s {:>7} p50 {:>8.2} ms p99 {:>8.2} ms errors {} rss {:.0} MiB",
            m.route,
            w.rps,
            show_ratio(m, floor),
            w.p50_ms,
            w.p99_ms,
            w.errors(),
            m.peak_rss_mib.unwrap_or(0.0)
        ),
        None => format!(
            "[{name}] {:<40} not measured: {}",
            m.route,
            m.problem.as_deref().unwrap_or("?")
        ),
    }
}

pub fn cells(m: &Measured, floor: f64) -> String {
    match &m.wrk {
        Some(w) if w.requests > 0 => format!(
            "{:>9.1} {:>7} {:>8.2} {:>8.2} {:>7} {:>6} {:>8.1}",
            w.rps,
            show_ratio(m, floor),
            w.p50_ms,
            w.p99_ms,
            w.errors(),
            w.requests,
            m.peak_rss_mib.unwrap_or(0.0)
        ),
        Some(_) => format!("{:>60}", "no answer within the run"),
        None => format!("{:>60}", "not measured"),
    }
}

pub const HEADER: &str = "    req/s  ×floor  p50 ms   p99 ms  errors  reqs  RSS MiB";

/// The table: one row per route, one column group per binary.
pub fn table(floor: f64, targets: &[Target], measured: &[Vec<Measured>], overall_mib: &[f64]) {
    let width = measured[0]
        .iter()
        .map(|m| m.route.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    println!();
    let mut head = format!("{:<width$}", "route");
    for target in targets {
        head.push_str(&format!(" | {:<3}{HEADER}", target.name));
    }
    if targets.len() == 2 {
        head.push_str(" | new/old");
    }
    println!("{head}");
    println!("{}", "-".repeat(head.chars().count()));
    for (i, m) in measured[0].iter().enumerate() {
        let mut row = format!("{:<width$}", m.route);
        for column in measured {
            row.push_str(&format!(" |    {}", cells(&column[i], floor)));
        }
        if let [new, old] = measured
            && let (Some(n), Some(o)) = (&new[i].wrk, &old[i].wrk)
            && o.rps > 0.0
        {
            row.push_str(&format!(" | {:>6.1}×", n.rps / o.rps));
        }
        println!("{row}");
    }
    println!();
    println!("floor (pgbench, 8 clients): {floor:.1} tps");
    for (target, peak) in targets.iter().zip(overall_mib) {
        println!(
            "[{}] server peak RSS over the whole run: {peak:.1} MiB; seed-demo took {:.1} s",
            target.name, target.seed_secs
        );
    }
}

/// The last line: everything, as JSON.
pub fn bench_line(
    args: &Args,
    floor: f64,
    targets: &[Target],
    measured: &[Vec<Measured>],
    overall_mib: &[f64],
    scale_out: Option<&Value>,
) {
    let mut servers = serde_json::Map::new();
    for ((target, routes), peak) in targets.iter().zip(measured).zip(overall_mib) {
        let routes: Vec<Value> = routes
            .iter()
            .map(|m| {
                let mut value = serde_json::to_value(m).unwrap_or(Value::Null);
                value["ratio_to_floor"] = json!(ratio(m, floor));
                value["errors"] = json!(m.wrk.as_ref().map(|w| w.errors()));
                value
            })
            .collect();
        servers.insert(
            target.name.to_owned(),
            json!({
                "binary": target.binary.path.display().to_string(),
                "seed_seconds": target.seed_secs,
                "peak_rss_mib": peak,
                "routes": routes,
            }),
        );
    }
    let line = json!({
        "users": args.users,
        "seconds": args.seconds,
        "connections": args.connections,
        "floor_tps": floor,
        "servers": servers,
        "scale_out": scale_out,
    });
    println!("BENCH {line}");
}
