//! Fresh PostgreSQL databases, one per cluster (or test server), created on a server
//! given by its admin URL and dropped after. Databases left behind by runs that died
//! more than an hour ago are dropped when the next one is created.

use crate::LaunchError;
use sqlx::Connection;

/// `admin_url` (`postgres://user@host:port/postgres`) with its database replaced.
pub fn with_database(admin_url: &str, database: &str) -> String {
    match admin_url.rfind('/') {
        Some(at) if admin_url[..at].contains("@") || admin_url[..at].ends_with(':') || at > 12 => {
            format!("{}/{}", &admin_url[..at], database)
        }
        _ => format!("{admin_url}/{database}"),
    }
}

/// Creates a fresh database on the server of `admin_url`; returns its name and URL.
pub async fn create_database(admin_url: &str) -> Result<(String, String), LaunchError> {
    let mut admin = sqlx::PgConnection::connect(admin_url).await.map_err(|e| {
        LaunchError::PostgresUnreachable {
            url: admin_url.to_string(),
            reason: e.to_string(),
        }
    })?;
    let now = chorus_model::now_millis() / 1000;
    let stale: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'chorus_test_%'")
            .fetch_all(&mut admin)
            .await
            .map_err(|e| LaunchError::Database(format!("cannot list databases: {e}")))?;
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
        .map_err(|e| LaunchError::Database(e.to_string()))?;
    Ok((name.clone(), with_database(admin_url, &name)))
}

/// Drops database `name` on the server of `admin_url`, if it can be reached.
pub async fn drop_database(admin_url: &str, name: &str) {
    if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await;
    }
}
