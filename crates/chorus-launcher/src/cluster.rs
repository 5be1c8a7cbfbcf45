//! Clusters: N `chorus server` processes on one fresh PostgreSQL database (or one
//! process on its own SQLite file, for comparisons), each with its own port (chosen
//! free), folder and plugin directory, started with `ClusterSettings.Enable` and short
//! heartbeats, and waited for until healthy. Nodes can be killed (`SIGKILL`), stopped
//! (`SIGTERM`) and restarted on the same port. Dropping a [`Cluster`] kills what is
//! left and drops the database.

use crate::database::{create_database, drop_database};
use crate::LaunchError;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The login throttle of launched nodes: high enough never to matter to a scripted run
/// (tests, `check-ha`) that is not about it.
pub const LOGINS_PER_MINUTE: u32 = 100_000;

/// How long a node may take to answer its first ping.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct ClusterBuilder {
    nodes: usize,
    sqlite: bool,
    admin_url: String,
    binary: PathBuf,
    env: Vec<(String, String)>,
}

impl ClusterBuilder {
    pub fn nodes(mut self, nodes: usize) -> Self {
        self.nodes = nodes;
        self
    }

    /// One node on its own SQLite file instead of a cluster on PostgreSQL.
    pub fn sqlite(mut self) -> Self {
        self.sqlite = true;
        self.nodes = 1;
        self
    }

    /// An extra `CHORUS_<SECTION>_<KEY>` setting for every node.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Starts the nodes one after the other (the first one migrates the database) and
    /// waits until each answers.
    pub async fn start(self) -> Result<Cluster, LaunchError> {
        let (database, url) = if self.sqlite {
            (None, String::new())
        } else {
            let (database, url) = create_database(&self.admin_url).await?;
            (Some(database), url)
        };
        let dir = tempfile::Builder::new()
            .prefix("chorus-cluster-")
            .tempdir()
            .map_err(|source| LaunchError::Io {
                what: "cannot create the cluster folder",
                source,
            })?;
        let mut cluster = Cluster {
            nodes: Vec::new(),
            admin_url: self.admin_url,
            database,
            database_url: url,
            binary: self.binary,
            env: self.env,
            dir,
        };
        for _ in 0..self.nodes {
            cluster.add_node().await?;
        }
        Ok(cluster)
    }
}

pub struct Cluster {
    nodes: Vec<Node>,
    admin_url: String,
    database: Option<String>,
    database_url: String,
    binary: PathBuf,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

/// One `chorus server` process of a cluster.
pub struct Node {
    pub index: usize,
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// This node's `PluginSettings.Directory`.
    pub fn plugin_dir(&self) -> PathBuf {
        self.dir.join("plugins")
    }

    /// Everything the process printed (its log), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }
}

impl Cluster {
    /// Three nodes of the `chorus` executable `binary`, on a fresh database of the
    /// PostgreSQL server of `postgres_admin_url` (unused with [`ClusterBuilder::sqlite`]).
    pub fn builder(binary: impl Into<PathBuf>, postgres_admin_url: &str) -> ClusterBuilder {
        ClusterBuilder {
            nodes: 3,
            sqlite: false,
            admin_url: postgres_admin_url.to_string(),
            binary: binary.into(),
            env: Vec::new(),
        }
    }

    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index]
    }

    pub fn node_mut(&mut self, index: usize) -> &mut Node {
        &mut self.nodes[index]
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    fn launch(&mut self, index: usize) -> Result<(), LaunchError> {
        let node = &self.nodes[index];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join("node.log"))
            .map_err(|source| LaunchError::Io {
                what: "cannot open the node's log",
                source,
            })?;
        let log_for_stdout = log.try_clone().map_err(|source| LaunchError::Io {
            what: "cannot share the node's log",
            source,
        })?;
        let mut command = Command::new(&self.binary);
        for (key, _) in std::env::vars() {
            if key.starts_with("CHORUS_") {
                command.env_remove(key);
            }
        }
        let sqlite = self.database.is_none();
        let (driver, data_source) = if sqlite {
            (
                "sqlite",
                node.dir.join("chorus.db").to_string_lossy().into_owned(),
            )
        } else {
            ("postgres", self.database_url.clone())
        };
        let settings = [
            ("CHORUS_SQLSETTINGS_DRIVERNAME", driver.to_string()),
            ("CHORUS_SQLSETTINGS_DATASOURCE", data_source),
            ("CHORUS_SQLSETTINGS_MAXOPENCONNS", "10".into()),
            (
                "CHORUS_SERVICESETTINGS_LISTENADDRESS",
                format!("127.0.0.1:{}", node.port),
            ),
            ("CHORUS_CLUSTERSETTINGS_ENABLE", (!sqlite).to_string()),
            ("CHORUS_CLUSTERSETTINGS_HEARTBEATSECONDS", "1".into()),
            ("CHORUS_CLUSTERSETTINGS_NODETIMEOUTSECONDS", "4".into()),
            (
                "CHORUS_PLUGINSETTINGS_DIRECTORY",
                node.plugin_dir().to_string_lossy().into_owned(),
            ),
            ("CHORUS_PLUGINSETTINGS_ENABLEUPLOADS", "true".into()),
            // Scripted runs log in far more often from 127.0.0.1 than any person; the
            // tests of the limit itself set it back (RateLimitSettings).
            (
                "CHORUS_RATELIMITSETTINGS_LOGINPERMINUTE",
                LOGINS_PER_MINUTE.to_string(),
            ),
            (
                "CHORUS_RATELIMITSETTINGS_LOGINMAXBURST",
                LOGINS_PER_MINUTE.to_string(),
            ),
        ];
        command
            .arg("server")
            .current_dir(&node.dir)
            .envs(settings)
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log_for_stdout)
            .stderr(log);
        let child = command.spawn().map_err(|e| LaunchError::Spawn {
            binary: self.binary.display().to_string(),
            reason: e.to_string(),
        })?;
        self.nodes[index].child = Some(child);
        Ok(())
    }

    async fn wait_ready(&mut self, index: usize) -> Result<(), LaunchError> {
        let deadline = Instant::now() + START_TIMEOUT;
        let client = chorus_client::Client::new(self.nodes[index].base_url());
        loop {
            if client.ping().await.is_ok() {
                return Ok(());
            }
            let node = &mut self.nodes[index];
            if !node.is_running() || Instant::now() > deadline {
                return Err(LaunchError::NotReady {
                    index,
                    log: node.log(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills node `index` with `SIGKILL`, as a crash would.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops node `index` with `SIGTERM` and waits until it has exited.
    pub async fn stop(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            // SAFETY: signalling our own child by its pid.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `index` again, on the same port and folder, and waits until ready.
    pub async fn restart(&mut self, index: usize) -> Result<(), LaunchError> {
        self.kill(index);
        self.launch(index)?;
        self.wait_ready(index).await
    }

    /// Adds a node (a late joiner) and waits until it is ready; returns its index.
    pub async fn add_node(&mut self) -> Result<usize, LaunchError> {
        let index = self.nodes.len();
        let node = Node {
            index,
            port: free_port(),
            dir: self.dir.path().join(format!("node{index}")),
            child: None,
        };
        std::fs::create_dir_all(node.plugin_dir()).map_err(|source| LaunchError::Io {
            what: "cannot create the node's folder",
            source,
        })?;
        self.nodes.push(node);
        self.launch(index)?;
        self.wait_ready(index).await?;
        Ok(index)
    }

    /// Stops every node politely and drops the database.
    pub async fn shutdown(mut self) {
        for index in 0..self.nodes.len() {
            self.stop(index).await;
        }
        if let Some(database) = self.database.take() {
            drop_database(&self.admin_url, &database).await;
        }
    }

    /// The folder holding the nodes' folders.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            self.kill(index);
        }
        if let Some(database) = self.database.take() {
            let admin_url = self.admin_url.clone();
            // Drop may run inside a runtime, where blocking on another is not allowed.
            let _ = std::thread::spawn(move || {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    runtime.block_on(drop_database(&admin_url, &database));
                }
            })
            .join();
        }
    }
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
