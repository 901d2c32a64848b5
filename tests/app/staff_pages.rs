//! `/settings/staff` and `/audit`: admin pages, their validation, and the
//! audit rows every change leaves.

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

#[derive(Debug, sqlx::FromRow)]
struct AuditRow {
    actor: String,
    entity_type: String,
    entity_id: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
    client_addr: Option<String>,
    request_id: Option<String>,
}

async fn last_audit(app: &TestApp, action: &str) -> AuditRow {
    sqlx::query_as(
        "SELECT actor, entity_type, entity_id, before, after, \
                host(client_addr) AS client_addr, request_id \
         FROM audit_log WHERE action = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(action)
    .fetch_optional(&app.pool)
    .await
    .unwrap()
    .unwrap_or_else(|| panic!("no audit row for {action}"))
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn admins_manage_accounts_and_tokens_and_every_change_is_audited() {
    let app = spawn_app().await;
    let (admin_login, admin_password) = app.add_staff(Role::Admin).await;
    let admin = app.login(&admin_login, &admin_password).await;
    let login_row = last_audit(&app, "session.login").await;
    assert_eq!(login_row.actor, admin_login);
    assert_eq!(login_row.client_addr.as_deref(), Some("127.0.0.1"));

    let (other, _) = app.add_staff(Role::Viewer).await;
    let page = app.get_as(&admin, "/settings/staff").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("Сотрудники и API-токены"));
    assert!(html.contains(&format!("/settings/staff/{other}/role")));
    assert!(
        !html.contains(&format!("/settings/staff/{admin_login}/role")),
        "no controls to lock yourself out"
    );

    // A token made on the page is shown once and works.
    let created = app
        .post_form_as(
            &admin,
            "/settings/staff/tokens",
            &[("name", "reporting"), ("role", "viewer")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created_id = request_id(&created);
    let html = created.text().await.unwrap();
    let secret = html
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("hsl_"));
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let row = last_audit(&app, "token.create").await;
    assert_eq!(row.actor, admin_login);
    assert_eq!(row.request_id.as_deref(), Some(created_id.as_str()));
    assert_eq!(
        row.after,
        Some(json!({"name": "reporting", "role": "viewer"}))
    );
    let again = app
        .get_as(&admin, "/settings/staff")
        .await
        .text()
        .await
        .unwrap();
    assert!(!again.contains(&secret), "shown only once");

    // Bad token forms: 422 with the reason, nothing created.
    for (fields, reason) in [
        (vec![("name", "reporting"), ("role", "viewer")], "уже есть"),
        (
            vec![("name", "has space"), ("role", "viewer")],
            "Имя токена",
        ),
        (vec![("name", ""), ("role", "viewer")], "Имя токена"),
        (vec![("name", "fine"), ("role", "root")], "Выберите роль"),
        (vec![("name", "fine")], "Выберите роль"),
    ] {
        let response = app
            .post_form_as(&admin, "/settings/staff/tokens", &fields)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}"
        );
        assert!(
            response.text().await.unwrap().contains(reason),
            "{fields:?}"
        );
    }
    let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM api_tokens")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(tokens, 1);

    // Role changes, disabling and enabling: audited with before and after.
    let role_path = format!("/settings/staff/{other}/role");
    let changed = app
        .post_form_as(&admin, &role_path, &[("role", "editor")])
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let row = last_audit(&app, "staff.set_role").await;
    assert_eq!(row.actor, admin_login);
    assert_eq!(row.entity_type, "staff");
    assert_eq!(row.entity_id.as_deref(), Some(other.as_str()));
    assert_eq!(row.before.unwrap()["role"], "viewer");
    assert_eq!(row.after.unwrap()["role"], "editor");
    assert_eq!(row.request_id.unwrap(), request_id(&changed));
    let notice = app
        .get_as(&admin, "/settings/staff?notice=role-changed")
        .await
        .text()
        .await
        .unwrap();
    assert!(notice.contains("Роль изменена"));

    let disabled_path = format!("/settings/staff/{other}/disabled");
    for (value, action) in [("true", "staff.disable"), ("false", "staff.enable")] {
        let response = app
            .post_form_as(&admin, &disabled_path, &[("disabled", value)])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let row = last_audit(&app, action).await;
        assert_eq!(row.after.unwrap()["disabled"], value == "true");
    }

    // Bad input and self-lockout are refused with a reason.
    let own = format!("/settings/staff/{admin_login}/disabled");
    let response = app
        .post_form_as(&admin, &own, &[("disabled", "true")])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("собственную"));
    for (path, fields, status) in [
        (
            role_path.as_str(),
            vec![("role", "owner")],
            StatusCode::BAD_REQUEST,
        ),
        (role_path.as_str(), vec![], StatusCode::BAD_REQUEST),
        (
            disabled_path.as_str(),
            vec![("disabled", "yes")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "/settings/staff/nobody-at-all/role",
            vec![("role", "viewer")],
            StatusCode::NOT_FOUND,
        ),
        (
            "/settings/staff/%20/role",
            vec![("role", "viewer")],
            StatusCode::NOT_FOUND,
        ),
    ] {
        let response = app.post_form_as(&admin, path, &fields).await;
        assert_eq!(response.status(), status, "{path} {fields:?}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    let role: String = sqlx::query_scalar("SELECT role FROM staff WHERE login = $1")
        .bind(&other)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(role, "editor", "refused changes changed nothing");

    // Logging out is audited too.
    let out = app.post_form_as(&admin, "/logout", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(last_audit(&app, "session.logout").await.actor, admin_login);
}

fn rows_on_page(html: &str) -> usize {
    html.matches("<td class=\"nowrap\">").count()
}

fn total(html: &str) -> i64 {
    let start = html.find("Найдено записей: ").unwrap() + "Найдено записей: ".len();
    html[start..].split('.').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_audit_page_filters_and_paginates() {
    let app = spawn_app().await;
    let admin = app.quick_session(Role::Admin).await;
    // 120 booking changes by two actors, hour by hour backwards from
    // 2026-11-02 02:30 Moscow (23:30 UTC the day before).
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, entity_type, entity_id, before, after) \
         SELECT timestamptz '2026-11-01 23:30:00+00' - g * interval '1 hour', \
                CASE WHEN g % 3 = 0 THEN 'alice' ELSE 'bob' END, \
                CASE WHEN g % 2 = 0 THEN 'booking.update' ELSE 'booking.move' END, \
                'booking', (g % 7)::text, \
                jsonb_build_object('confirmed', 1), jsonb_build_object('confirmed', 2) \
         FROM generate_series(0, 119) AS g",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let pool = app.pool.clone();
    let count = |condition: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM audit_log WHERE {condition}"
            )))
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let page = |query: &str| {
        let path = format!("/audit{query}");
        let admin = admin.clone();
        let app = &app;
        async move {
            let response = app.get_as(&admin, &path).await;
            let status = response.status();
            (status, response.text().await.unwrap())
        }
    };

    let (status, html) = page("").await;
    assert_eq!(status, StatusCode::OK);
    let all = count("true").await;
    assert_eq!(total(&html), all);
    assert_eq!(rows_on_page(&html), 50);
    assert!(html.contains("Страница 1 из 3"), "{html}");
    assert!(
        html.contains("confirmed:</span> 1 → 2"),
        "changes are readable"
    );

    let (_, html) = page("?actor=alice&page=1").await;
    assert_eq!(total(&html), count("actor = 'alice'").await);
    assert_eq!(total(&html), 40);
    let (_, html) = page("?action=booking.").await;
    assert_eq!(total(&html), 120, "a trailing dot finds the family");
    let (_, html) = page("?action=booking.move&entity_type=booking&entity_id=3").await;
    assert_eq!(
        total(&html),
        count("action = 'booking.move' AND entity_id = '3'").await
    );
    // Whole days in Moscow: 2026-11-02 holds 00:00–02:30 local, 3 rows.
    let (_, html) = page("?from=2026-11-02&to=2026-11-02").await;
    assert_eq!(total(&html), 3);
    let (_, html) = page("?from=2026-11-01&to=2026-11-01").await;
    assert_eq!(total(&html), 24);

    let (_, html) = page("?action=booking.&page=3").await;
    assert_eq!(rows_on_page(&html), 20);
    assert!(html.contains("Страница 3 из 3"));
    assert!(
        html.contains("href=\"/audit?action=booking.&#38;page=2\""),
        "pagination keeps the filters: {html}"
    );
    let (status, html) = page("?page=9").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Записей не найдено"));

    for (query, reason) in [
        ("?page=0", "Номер страницы"),
        ("?page=abc", "Номер страницы"),
        ("?from=yesterday", "ГГГГ-ММ-ДД"),
        ("?from=2026-11-03&to=2026-11-01", "позже"),
    ] {
        let (status, html) = page(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(html.contains(reason), "{query}: {html}");
    }

    let viewer = app.quick_session(Role::Viewer).await;
    assert_eq!(
        app.get_as(&viewer, "/audit").await.status(),
        StatusCode::FORBIDDEN
    );
}
