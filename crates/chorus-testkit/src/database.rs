//! Fresh PostgreSQL databases, one per test server or cluster, so tests never share
//! state (created by `chorus_launcher`). PostgreSQL runs on 127.0.0.1:5432 (user
//! `postgres`, trust auth) unless `CHORUS_TEST_POSTGRES_URL` names another server;
//! outside CI an unreachable server skips the test loudly, under `CI` it fails it.

use chorus_launcher::LaunchError;

pub fn postgres_admin_url() -> String {
    std::env::var("CHORUS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Creates a fresh database, first dropping test databases left over by runs that died
/// more than an hour ago. `None` when PostgreSQL is unreachable outside CI.
pub async fn fresh_postgres_database() -> Option<(String, String)> {
    match chorus_launcher::create_database(&postgres_admin_url()).await {
        Ok(database) => Some(database),
        Err(error) => skip_or_fail(error),
    }
}

/// `None` (skip the test, loudly) when PostgreSQL is unreachable outside CI; a panic
/// for anything else, and for an unreachable PostgreSQL under `CI`.
pub(crate) fn skip_or_fail<T>(error: LaunchError) -> Option<T> {
    match error {
        LaunchError::PostgresUnreachable { url, reason } => {
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL is required under CI but {url} is unreachable: {reason}");
            }
            eprintln!("SKIPPED (PostgreSQL unreachable at {url}: {reason})");
            None
        }
        other => panic!("{other}"),
    }
}

pub async fn drop_postgres_database(name: &str) {
    chorus_launcher::drop_database(&postgres_admin_url(), name).await
}
