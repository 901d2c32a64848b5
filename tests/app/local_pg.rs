//! The embedded PostgreSQL survives what a killed previous run leaves behind.

use std::process::Stdio;

use hsl_dashboard::local_pg::{Durability, LocalPg, PgBinaries};
use hsl_dashboard::store;
use sqlx::Connection;

use crate::helpers::scratch_dir;

async fn answers(pg: &LocalPg) -> bool {
    let mut conn = store::maintenance_connection(&pg.url("postgres"))
        .await
        .unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    one == 1
}

async fn stop(pg: LocalPg) {
    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn creates_once_then_reuses_the_cluster() {
    let root = scratch_dir("reuse");
    let first = LocalPg::start(&root, Durability::Throwaway).await.unwrap();
    assert!(first.cluster_created());
    assert!(answers(&first).await);
    stop(first).await;
    assert!(!root.join("pg/postmaster.pid").exists(), "stopped cleanly");

    let second = LocalPg::start(&root, Durability::Throwaway).await.unwrap();
    assert!(!second.cluster_created());
    assert!(answers(&second).await);
    stop(second).await;
}

#[tokio::test]
async fn survives_a_stale_pid_file() {
    let root = scratch_dir("stale");
    stop(LocalPg::start(&root, Durability::Throwaway).await.unwrap()).await;
    // A pid file naming a process that is gone, as after a power cut.
    let finished = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = finished.id();
    let mut finished = finished;
    finished.wait().unwrap();
    std::fs::write(
        root.join("pg/postmaster.pid"),
        format!("{dead_pid}\n{}\n0\n5432\n", root.join("pg").display()),
    )
    .unwrap();

    let pg = LocalPg::start(&root, Durability::Throwaway).await.unwrap();
    assert!(answers(&pg).await);
    stop(pg).await;
}

#[tokio::test]
async fn takes_over_a_cluster_left_running() {
    let root = scratch_dir("orphan");
    stop(LocalPg::start(&root, Durability::Throwaway).await.unwrap()).await;

    // Start the cluster behind our back, daemonised, as a killed run that
    // used pg_ctl would have left it.
    let bins = PgBinaries::locate().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let status = bins
        .command("pg_ctl")
        .arg("start")
        .arg("-D")
        .arg(root.join("pg"))
        .arg("-w")
        .arg("-l")
        .arg(root.join("run/orphan.log"))
        .arg("-o")
        .arg(format!(
            "-p {port} -c listen_addresses='' -k {}",
            root.join("run").display()
        ))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let orphan_pid: i32 = std::fs::read_to_string(root.join("pg/postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let pg = LocalPg::start(&root, Durability::Throwaway).await.unwrap();
    assert!(answers(&pg).await);
    assert!(
        !std::path::Path::new(&format!("/proc/{orphan_pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{orphan_pid}/stat"))
                .is_ok_and(|stat| stat.contains(") Z ")),
        "the orphan was stopped"
    );
    stop(pg).await;
}

/// Another local account gets in neither over TCP nor through the socket.
#[tokio::test]
async fn other_os_users_cannot_connect() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    let root = scratch_dir("closed");
    let pg = LocalPg::start(&root, Durability::Throwaway).await.unwrap();
    let port = pg.port().to_string();
    let socket_dir = pg.socket_dir().to_owned();
    assert!(answers(&pg).await, "we get in");

    if nix::unistd::Uid::effective().is_root() {
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        for (host, reason) in [
            ("127.0.0.1", "refused"),
            ("localhost", "refused"),
            (socket_dir.to_str().unwrap(), "Permission denied"),
        ] {
            let output = std::process::Command::new(PgBinaries::locate().unwrap().program("psql"))
                .uid(nobody.uid.as_raw())
                .gid(nobody.gid.as_raw())
                .current_dir("/")
                .env_clear()
                .env("PGCONNECT_TIMEOUT", "10")
                .args(["-X", "-w", "-At", "-h", host, "-p", &port])
                .args(["-U", "postgres", "-d", "postgres", "-c", "SELECT 1"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                !output.status.success(),
                "nobody got in via {host}: {}",
                String::from_utf8_lossy(&output.stdout)
            );
            assert!(stderr.contains(reason), "via {host}: {stderr}");
        }
    } else {
        // The server runs as ourselves; nobody else can even reach it.
        assert!(std::net::TcpStream::connect(("127.0.0.1", pg.port())).is_err());
    }
    let socket_dir_mode = std::fs::metadata(&socket_dir).unwrap().permissions().mode();
    assert_eq!(socket_dir_mode & 0o777, 0o700);
    stop(pg).await;
}
