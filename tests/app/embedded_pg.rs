//! The real binary's embedded PostgreSQL: a first run from a folder only its
//! owner may enter, and a postmaster killed under a running dashboard.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, Uid, User};
use reqwest::StatusCode;

use crate::binary::Running;
use crate::helpers::{http_client, post_login, scratch_dir, set_cookie};

/// Removes a cluster kept outside the project (as root) when the test ends.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_first_run_works_from_a_folder_only_its_owner_can_enter() {
    let cwd = scratch_dir("private");
    std::fs::set_permissions(&cwd, std::fs::Permissions::from_mode(0o700)).unwrap();
    let pg = cwd.join(".data/pg");
    let client = http_client();

    let mut first = Running::start(&cwd);
    let base = first.base_url();
    let outside = std::fs::symlink_metadata(&pg)
        .is_ok_and(|meta| meta.file_type().is_symlink())
        .then(|| std::fs::read_link(&pg).unwrap());
    let _cleanup = RemoveOnDrop(outside.as_ref().map(|link| link.parent().unwrap().into()));
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let (status, output) = first.interrupt();
    assert!(status.success(), "{status:?} {output:?}");
    let output = output.join("\n");
    assert!(output.contains("Embedded PostgreSQL stopped."), "{output}");
    assert!(
        pg.join("PG_VERSION").is_file(),
        "./.data/pg leads to the cluster"
    );
    assert!(!pg.join("postmaster.pid").exists(), "PostgreSQL stopped");
    assert_eq!(mode(&cwd), 0o700, "the project folder was left as it was");

    if Uid::effective().is_root() {
        // The `postgres` user cannot enter the folder: the cluster lives
        // where it can, in a folder named after the project, linked from ./.data.
        let outside = outside.expect("./.data/pg is a link to the cluster");
        let home = outside.parent().unwrap();
        assert!(home.starts_with("/var/lib/hsl-dashboard"), "{home:?}");
        let project = cwd.file_name().unwrap().to_str().unwrap();
        assert!(
            home.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{project}-")),
            "{home:?}"
        );
        let postgres = User::from_name("postgres").unwrap().unwrap();
        assert_eq!(
            std::fs::metadata(home).unwrap().uid(),
            postgres.uid.as_raw()
        );
        assert_eq!(mode(home), 0o700);
        assert!(
            output.contains(home.to_str().unwrap()),
            "says where: {output}"
        );
    } else {
        assert!(outside.is_none(), "as its owner the server reaches ./.data");
        assert!(std::fs::metadata(&pg).unwrap().is_dir());
    }

    // The next run finds the same cluster.
    let mut second = Running::start(&cwd);
    let base = second.base_url();
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let (status, output) = second.interrupt();
    assert!(status.success(), "{status:?} {output:?}");
    let output = output.join("\n");
    assert!(
        !output.contains("Created a new PostgreSQL cluster"),
        "{output}"
    );
    assert!(!output.contains("Seeding"), "{output}");
}

fn postmaster_pid(cwd: &Path) -> Option<i32> {
    std::fs::read_to_string(cwd.join(".data/pg/postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

#[tokio::test]
async fn a_killed_postmaster_is_restarted_and_the_dashboard_keeps_serving() {
    let cwd = scratch_dir("pg-restart");
    let log = scratch_dir("pg-restart-log").join("stderr.log");
    let client = http_client();

    let mut running = Running::start_logging_to(&cwd, &log);
    let base = running.base_url();
    let line = running.line_with("with password «");
    let password = line
        .split("with password «")
        .nth(1)
        .and_then(|rest| rest.split('»').next())
        .unwrap();
    let login = post_login(&client, &base, "admin", password).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&login, "hsl_session")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let home_page = async || {
        client
            .get(format!("{base}/"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(home_page().await, StatusCode::OK);

    let killed = postmaster_pid(&cwd).expect("a running postmaster");
    kill(Pid::from_raw(killed), Signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let restarted = postmaster_pid(&cwd).filter(|pid| *pid != killed);
        if restarted.is_some() {
            let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
            if ready.status() == StatusCode::OK && home_page().await == StatusCode::OK {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the dashboard did not recover from a killed postmaster (pid file: {:?})",
            postmaster_pid(&cwd)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Ctrl-C still stops everything, and the database is not restarted then.
    let (status, output) = running.interrupt();
    assert!(status.success(), "{status:?} {output:?}");
    assert!(
        output.join("\n").contains("Embedded PostgreSQL stopped."),
        "{output:?}"
    );
    assert_eq!(postmaster_pid(&cwd), None, "PostgreSQL stopped");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("PostgreSQL exited unexpectedly") && log.contains("restarted"),
        "the restart is logged: {log}"
    );
}
