//! A real Chorus server inside the calling process, on a port-0 listener, on a fresh
//! SQLite file or a fresh PostgreSQL database, with its `AppState` at hand: for tests
//! that look inside the server and for benchmarks that call it directly (the plugin
//! hook round trip). Clusters of separate processes are in `cluster`.
//!
//! Each PostgreSQL server gets its own database, dropped when the server is stopped.
//! When PostgreSQL is unreachable `start` answers `None` (skip), except under `CI`,
//! where it fails.

use crate::client::Endpoint;
use crate::database::{drop_postgres_database, fresh_postgres_database};
use chorus_server::{AppState, Config};
use std::sync::Arc;
use std::time::Duration;

/// Which database a [`TestServer`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestServer {
    pub url: String,
    pub state: Arc<AppState>,
    pub backend: Backend,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    pg_database: Option<String>,
}

impl TestServer {
    /// A server on `backend` with default settings; `None` means "skip this test".
    pub async fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(
        backend: Backend,
        adjust: impl FnOnce(&mut Config),
    ) -> Option<TestServer> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::load(None, Vec::new()).expect("default config");
        let mut pg_database = None;
        match backend {
            Backend::Sqlite => {
                config.sql_settings.data_source =
                    dir.path().join("chorus.db").to_string_lossy().into_owned();
            }
            Backend::Postgres => {
                let (name, url) = fresh_postgres_database().await?;
                config.sql_settings.driver_name = "postgres".into();
                config.sql_settings.data_source = url;
                config.sql_settings.max_open_conns = 5;
                pg_database = Some(name);
            }
        }
        config.service_settings.listen_address = "127.0.0.1:0".into();
        config.rate_limit_settings.login_per_minute = chorus_launcher::LOGINS_PER_MINUTE;
        config.rate_limit_settings.login_max_burst = chorus_launcher::LOGINS_PER_MINUTE;
        config.plugin_settings.directory =
            dir.path().join("plugins").to_string_lossy().into_owned();
        config.file_settings.directory = dir.path().join("files").to_string_lossy().into_owned();
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = chorus_server::build_state(config)
            .await
            .expect("server state");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        let task = tokio::spawn(async move {
            chorus_server::serve(listener, serve_state, async move {
                let _ = rx.await;
            })
            .await
            .expect("server ran");
        });
        Some(TestServer {
            url,
            state,
            backend,
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
            pg_database,
        })
    }

    /// `PluginSettings.Directory` of this server.
    pub fn plugin_dir(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(&self.state.config.plugin_settings.directory)
    }

    /// `FileSettings.Directory` of this server (the `local` file driver's folder).
    pub fn files_dir(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(&self.state.config.file_settings.directory)
    }

    /// Rows in `table`, read straight from the database, to show that a refused request
    /// wrote nothing.
    pub async fn count(&self, table: &str) -> i64 {
        self.state
            .store
            .scalar_raw(&format!("SELECT COUNT(*) FROM {table}"))
            .await
            .expect("count rows")
    }

    /// Stops the server, and drops its PostgreSQL database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        if let Some(name) = self.pg_database.take() {
            drop_postgres_database(&name).await;
        }
    }
}

impl Endpoint for TestServer {
    fn base_url(&self) -> String {
        self.url.clone()
    }
}
