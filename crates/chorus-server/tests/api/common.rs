//! Test harness: a real Chorus server in this process (`chorus_testkit::server`), on a
//! fresh SQLite file or a fresh PostgreSQL database, run for each test on both
//! (`both_backends!`); the HTTP and websocket clients come from `chorus-testkit` too.
//!
//! PostgreSQL runs on 127.0.0.1:5432 (user `postgres`, trust auth) unless
//! `CHORUS_TEST_POSTGRES_URL` says otherwise. Each server gets its own database, dropped
//! when the test stops the server. When PostgreSQL is unreachable the PostgreSQL variant
//! of a test is skipped with a loud message, except under `CI`, where it fails.

#![allow(
    dead_code,
    unused_imports,
    reason = "each test module uses a different part of these shared helpers"
)]

pub use chorus_testkit::client::{
    assert_error, assert_error_shape, event_post, id, ids, strings, Api, Endpoint,
};
pub use chorus_testkit::database::{drop_postgres_database, fresh_postgres_database};
pub use chorus_testkit::plugins::{plugin_bundle, process_alive};
pub use chorus_testkit::server::{Backend, TestServer};
pub use chorus_testkit::ws::Ws;

/// Generates `mod name { sqlite(), postgres() }` tests from `async fn name(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )*};
}
