//! Staff accounts and API tokens from the command line.

use std::process::{Command, Output};

use crate::helpers::{TestDatabase, migrated_database, run_with_stdin, scratch_dir};

const BIN: &str = env!("CARGO_BIN_EXE_hsl-dashboard");

fn run(db: &TestDatabase, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(scratch_dir("accounts"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .args(args);
    run_with_stdin(cmd, stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn staff_accounts_are_managed_and_audited() {
    let db = migrated_database().await;
    let pool = db.pool().await;

    let added = run(
        &db,
        &[
            "staff",
            "add",
            "Anna",
            "--role",
            "editor",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(added.status.success(), "{added:?}");
    assert!(text(&added.stdout).contains("Created staff account anna (editor)"));
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM staff WHERE login = 'anna'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains("correct horse"));

    let cases: &[(&[&str], &str, &str)] = &[
        (
            &[
                "staff",
                "add",
                "anna",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            "another long one\n",
            "already exists",
        ),
        (
            &[
                "staff",
                "add",
                "boris",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            "short\n",
            "at least 10",
        ),
        (
            &[
                "staff",
                "add",
                "бор ис",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            "long enough pw\n",
            "login must be",
        ),
        (&["staff", "disable", "nobody"], "", "no staff account"),
    ];
    for (args, stdin, message) in cases {
        let output = run(&db, args, stdin);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            text(&output.stderr).contains(message),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    for args in [
        &["staff", "add", "x1", "--role", "root"][..],
        &["staff", "set-telegram", "anna", "-5"],
    ] {
        assert_eq!(run(&db, args, "").status.code(), Some(2), "{args:?}");
    }

    assert!(
        run(&db, &["staff", "set-telegram", "anna", "123456789"], "")
            .status
            .success()
    );
    assert!(
        run(&db, &["staff", "set-role", "anna", "--role", "admin"], "")
            .status
            .success()
    );
    assert!(run(&db, &["staff", "disable", "anna"], "").status.success());
    let (role, telegram, disabled): (String, Option<i64>, bool) =
        sqlx::query_as("SELECT role, telegram_user_id, disabled FROM staff WHERE login = 'anna'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (role.as_str(), telegram, disabled),
        ("admin", Some(123456789), true)
    );

    let listed = text(&run(&db, &["staff", "list"], "").stdout);
    assert!(
        listed.contains("anna") && listed.contains("disabled"),
        "{listed}"
    );

    let audit: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT actor, action, entity_id FROM audit_log WHERE entity_type = 'staff' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let actions: Vec<&str> = audit.iter().map(|(_, action, _)| action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "staff.create",
            "staff.set_telegram",
            "staff.set_role",
            "staff.disable"
        ]
    );
    assert!(
        audit
            .iter()
            .all(|(actor, _, id)| actor == "cli" && id == "anna")
    );
    let leaked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE before::text LIKE '%argon2%' OR after::text LIKE '%argon2%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(leaked, 0, "password hashes stay out of the audit log");
}

#[tokio::test]
async fn api_tokens_are_printed_once_and_stored_hashed() {
    let db = migrated_database().await;
    let pool = db.pool().await;

    let created = run(
        &db,
        &["token", "create", "crm-sync", "--role", "viewer"],
        "",
    );
    assert!(created.status.success(), "{created:?}");
    let token = text(&created.stdout).trim().to_owned();
    assert!(
        token.starts_with("hsl_") && token.len() > 40,
        "stdout is just the token: {token}"
    );
    assert!(text(&created.stderr).contains("shown only now"));

    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT token_hash FROM api_tokens WHERE name = 'crm-sync'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, hsl_dashboard::secrets::sha256(&token));
    let plain: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM api_tokens WHERE encode(token_hash, 'escape') LIKE '%hsl_%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(plain, 0);

    let duplicate = run(&db, &["token", "create", "crm-sync", "--role", "admin"], "");
    assert_eq!(duplicate.status.code(), Some(1));
    assert!(text(&duplicate.stderr).contains("already exists"));
    assert_eq!(
        run(&db, &["token", "create", "bad/name", "--role", "admin"], "")
            .status
            .code(),
        Some(1)
    );

    assert!(
        run(&db, &["token", "revoke", "crm-sync"], "")
            .status
            .success()
    );
    let again = run(&db, &["token", "revoke", "crm-sync"], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("no active token"));
    // The name can be reused once the old token is revoked.
    assert!(
        run(
            &db,
            &["token", "create", "crm-sync", "--role", "editor"],
            ""
        )
        .status
        .success()
    );

    let listed = text(&run(&db, &["token", "list"], "").stdout);
    assert!(
        listed.contains("revoked") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains(&token));

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity_type = 'api_token' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(actions, ["token.create", "token.revoke", "token.create"]);
}
