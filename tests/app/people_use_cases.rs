//! The people area's use cases (`hsl_dashboard::app::{users, analytics,
//! staff}`) called directly, as both adapters call them, against real
//! PostgreSQL: users queries catch the people directory up themselves (the
//! store no longer does), analytics refresh their cache first, and staff
//! changes refuse the actor's own account, unknown accounts and tokens, and
//! a second active token with one name.

use chrono_tz::Europe::Moscow;
use hsl_dashboard::app::Context;
use hsl_dashboard::app::analytics;
use hsl_dashboard::app::staff::{self, StaffError};
use hsl_dashboard::app::users::{self, UsersError};
use hsl_dashboard::delivery::Wake;
use hsl_dashboard::domain::input::{TokenId, UserId};
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::domain::staff::{Login, TokenName};
use hsl_dashboard::domain::user::Search;
use hsl_dashboard::store::audit::Actor;
use hsl_dashboard::store::staff as accounts;
use hsl_dashboard::store::users::ListQuery;
use sqlx::PgPool;

use crate::helpers::migrated_database;

/// Someone the bot has just written to `users`, not yet in the directory.
async fn new_bot_user(pool: &PgPool, id: i64, name: &str) {
    sqlx::query(
        "INSERT INTO users (user_id, username, first_name, first_seen_at, updated_at) \
         VALUES ($1, $2, $2, now(), now())",
    )
    .bind(id)
    .bind(name)
    .execute(pool)
    .await
    .unwrap();
}

fn by_name(name: &str) -> ListQuery {
    ListQuery {
        search: Search::parse(name),
        ..ListQuery::default()
    }
}

#[tokio::test]
async fn users_queries_catch_the_directory_up_themselves() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    new_bot_user(&pool, 7001, "fresh_one").await;

    // The store reads the directory as it is: the rule is not there.
    let (rows, total) = hsl_dashboard::store::users::list(&pool, &by_name("fresh_one"), None, 0)
        .await
        .unwrap();
    assert_eq!((rows.len(), total), (0, 0), "the store does not catch up");

    let reads = hsl_dashboard::app::reads::Reads::default();
    let listed = users::list(&pool, &reads, &by_name("fresh_one"), 10, 0)
        .await
        .unwrap();
    assert_eq!(listed.1, 1);
    assert_eq!(listed.0[0].user_id, 7001);
    let exported = users::export(&pool, &by_name("fresh_one")).await.unwrap();
    assert_eq!(exported.len(), 1);

    new_bot_user(&pool, 7002, "fresh_two").await;
    let user = users::find(&pool, UserId(7002)).await.unwrap();
    assert_eq!(user.username.as_deref(), Some("fresh_two"));
    assert!(matches!(
        users::find(&pool, UserId(7999)).await,
        Err(UsersError::NotFound)
    ));
}

#[tokio::test]
async fn analytics_refresh_their_cache_before_reading_it() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let before = analytics::headline(&pool, Moscow)
        .await
        .unwrap()
        .total_users;
    new_bot_user(&pool, 7101, "counted").await;
    let after = analytics::headline(&pool, Moscow)
        .await
        .unwrap()
        .total_users;
    assert_eq!(after, before + 1);
    let home = analytics::home(&pool, Moscow, analytics::today(Moscow), 20, 5)
        .await
        .unwrap();
    assert_eq!(home.headline.total_users, after);
    assert_eq!(home.growth.cumulative.points.len(), 30);
    assert_eq!(
        home.growth.cumulative.points.last().map(|(_, n)| *n),
        Some(after)
    );
}

fn context<'a>(pool: &'a PgPool, wake: &'a Wake, actor: &str) -> Context<'a> {
    Context {
        pool,
        actor: Actor {
            name: actor.to_owned(),
            client_addr: None,
            request_id: None,
        },
        wake,
        reads: crate::helpers::reads(),
    }
}

async fn audited(pool: &PgPool, action: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn staff_changes_refuse_the_own_account_and_what_does_not_exist() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let wake = Wake::default();
    let admin = Login::parse("boss").unwrap();
    let other = Login::parse("helper").unwrap();
    for (login, role) in [(&admin, Role::Admin), (&other, Role::Viewer)] {
        let mut conn = pool.acquire().await.unwrap();
        let cli = Actor {
            name: "cli".into(),
            client_addr: None,
            request_id: None,
        };
        accounts::create(&mut conn, &cli, login, "hash", role)
            .await
            .unwrap();
    }
    let ctx = context(&pool, &wake, "boss");

    assert!(matches!(
        staff::set_role(&ctx, &admin, Role::Viewer).await,
        Err(StaffError::OwnAccount)
    ));
    assert!(matches!(
        staff::set_disabled(&ctx, &admin, true).await,
        Err(StaffError::OwnAccount)
    ));
    assert_eq!(audited(&pool, "staff.set_role").await, 0);

    let changed = staff::set_role(&ctx, &other, Role::Editor).await.unwrap();
    assert_eq!(changed.role, Role::Editor);
    assert_eq!(audited(&pool, "staff.set_role").await, 1);
    assert!(
        staff::set_disabled(&ctx, &other, true)
            .await
            .unwrap()
            .disabled
    );
    assert!(matches!(
        staff::set_disabled(&ctx, &Login::parse("nobody").unwrap(), true).await,
        Err(StaffError::AccountNotFound)
    ));

    let name = TokenName::parse("ci-bot").unwrap();
    let (token, secret) = staff::issue_token(&ctx, &name, Role::Viewer).await.unwrap();
    assert!(!secret.is_empty());
    assert!(matches!(
        staff::issue_token(&ctx, &name, Role::Admin).await,
        Err(StaffError::TokenNameTaken)
    ));
    let id = TokenId(token.id);
    assert_eq!(staff::active_token(&pool, id).await.unwrap().name, "ci-bot");
    staff::revoke_token(&ctx, id).await.unwrap();
    assert!(matches!(
        staff::revoke_token(&ctx, id).await,
        Err(StaffError::TokenNotFound)
    ));
    assert!(matches!(
        staff::active_token(&pool, id).await,
        Err(StaffError::TokenNotFound)
    ));
    // The name is free again once revoked.
    staff::issue_token(&ctx, &name, Role::Viewer).await.unwrap();

    let (staff, tokens) = staff::overview(&pool).await.unwrap();
    let logins: Vec<&str> = staff.iter().map(|a| a.staff.login.as_str()).collect();
    assert_eq!(logins, ["boss", "helper"]);
    assert_eq!(tokens.len(), 2);
}
