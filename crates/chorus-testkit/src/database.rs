//! Fresh PostgreSQL databases, one per test server or cluster, so tests never share
//! state. PostgreSQL runs on 127.0.0.1:5432 (user `postgres`, trust auth) unless
//! `CHORUS_TEST_POSTGRES_URL` names another server; outside CI an unreachable server
//! skips the test loudly, under `CI` it fails it.

use sqlx::Connection;

pub fn postgres_admin_url() -> String {
    std::env::var("CHORUS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn with_database(admin_url: &str, database: &str) -> String {
    match admin_url.rfind('/') {
        Some(at) if admin_url[..at].contains("@") || admin_url[..at].ends_with(':') || at > 12 => {
            format!("{}/{}", &admin_url[..at], database)
        }
        _ => format!("{admin_url}/{database}"),
    }
}

/// Creates a fresh database, first dropping test databases left over by runs that died
/// more than an hour ago. `None` when PostgreSQL is unreachable outside CI.
pub async fn fresh_postgres_database() -> Option<(String, String)> {
    fresh_database_on(&postgres_admin_url()).await
}

/// [`fresh_postgres_database`] on the server of `admin_url`.
pub async fn fresh_database_on(admin_url: &str) -> Option<(String, String)> {
    let admin_url = admin_url.to_string();
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(err) => {
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL is required under CI but {admin_url} is unreachable: {err}");
            }
            eprintln!("SKIPPED (PostgreSQL unreachable at {admin_url}: {err})");
            return None;
        }
    };
    let now = chorus_model::now_millis() / 1000;
    let stale: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'chorus_test_%'")
            .fetch_all(&mut admin)
            .await
            .expect("list databases");
    for name in stale {
        let started: i64 = name
            .split('_')
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(now);
        if now - started > 3600 {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
    let name = format!("chorus_test_{now}_{}", chorus_model::new_id());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create test database");
    Some((name.clone(), with_database(&admin_url, &name)))
}

pub async fn drop_postgres_database(name: &str) {
    drop_database_on(&postgres_admin_url(), name).await
}

/// [`drop_postgres_database`] on the server of `admin_url`.
pub async fn drop_database_on(admin_url: &str, name: &str) {
    if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await;
    }
}
