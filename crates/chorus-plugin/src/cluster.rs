//! Coordination between the copies of one plugin across a cluster, built only on the
//! KV store's atomic calls: [`ClusterMutex`], a cluster-wide lock with an owner token,
//! and [`ClusterJob`], a periodic job that exactly one copy runs per interval.
//!
//! Every app server runs its own copy of a plugin, and the copies share nothing but
//! the plugin's KV store, whose compare-and-set the server executes atomically on the
//! shared database. So a lock is a KV key written with insert-if-absent and an expiry
//! (an expired key counts as absent): whoever writes it holds the lock until it
//! deletes the key or stops refreshing the expiry.
//!
//! Unlike Mattermost's `pluginapi` mutex, the value is a token unique to each
//! acquisition and every refresh and release is a compare-and-set on it. A copy that
//! stalled past the TTL and lost the lock therefore cannot extend or delete the lock
//! its successor now holds; it finds out instead ([`ClusterMutexGuard::is_lost`]).
//!
//! Keys used (in the plugin's own KV namespace):
//!
//! | key | value |
//! | --- | --- |
//! | `mutex_<name>` | the holder's token, expiring after the mutex's TTL |
//! | `job_<name>` | `{"last_finished": <ms since the epoch>}` of a [`ClusterJob`] |
//! | `mutex_job_<name>` | the lock of a [`ClusterJob`]'s check-and-run |

use crate::api::{Api, ApiResult, KvSetOptions};
use crate::LogLevel;
use serde::{Deserialize, Serialize};
use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The TTL of a [`ClusterMutex`] unless [`ClusterMutex::with_ttl`] says otherwise.
pub const DEFAULT_MUTEX_TTL: Duration = Duration::from_secs(15);

/// The server keeps expiry in whole seconds, so a shorter TTL would be rounded up
/// anyway; clamping here keeps the refresh and poll periods derived from it sane.
const MIN_TTL: Duration = Duration::from_secs(1);

/// Polling faster than this only loads the server.
const MIN_POLL: Duration = Duration::from_millis(10);

/// How long a [`ClusterJob`] sleeps at most between two looks at its metadata.
const MAX_JOB_POLL: Duration = Duration::from_secs(60);

/// 64 unpredictable bits from the standard library alone. Each `RandomState` carries
/// keys seeded from the OS once per thread and stepped on every `new()`, so two calls
/// never hash alike; the process id, the time and a counter are mixed in so that two
/// processes differ even if their seeds collided. Good for uniqueness and jitter, not
/// for secrets (the copies of a plugin trust each other anyway).
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.finish()
}

/// A fresh 128-bit owner token, as 32 hex digits.
fn new_token() -> String {
    format!("{:016x}{:016x}", random_u64(), random_u64())
}

/// `period` spread uniformly over [3/4, 5/4) of itself, so that copies started
/// together do not poll in lockstep.
fn jittered(period: Duration) -> Duration {
    let fraction = (random_u64() >> 11) as f64 / (1u64 << 53) as f64;
    period.mul_f64(0.75 + fraction / 2.0)
}

fn now_ms() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// A mutex shared by every copy of the plugin on every node, stored under the KV key
/// `mutex_<name>`.
///
/// [`lock`](ClusterMutex::lock) returns a [`ClusterMutexGuard`]; while the guard
/// lives, a background task extends the key's expiry every TTL/2. When the holder dies
/// (or stalls longer than the TTL) the key expires and another copy acquires it. The
/// handle itself holds nothing and may be shared or cloned freely; each successful
/// acquisition gets its own token.
///
/// ```no_run
/// # async fn example(api: chorus_plugin::Api) -> chorus_plugin::ApiResult<()> {
/// use chorus_plugin::ClusterMutex;
///
/// let mutex = ClusterMutex::new(api, "reindex");
/// let guard = mutex.lock().await?;
/// // ... work that no other copy of the plugin may do at the same time ...
/// if guard.is_lost() {
///     // The TTL ran out before a refresh got through: another copy may be in here.
/// }
/// guard.unlock().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ClusterMutex {
    api: Api,
    key: String,
    ttl: Duration,
    /// `None`: derived from the TTL.
    poll: Option<Duration>,
}

impl ClusterMutex {
    /// The mutex `name` (key `mutex_<name>`), with a TTL of 15 s.
    pub fn new(api: Api, name: &str) -> ClusterMutex {
        ClusterMutex {
            api,
            key: format!("mutex_{name}"),
            ttl: DEFAULT_MUTEX_TTL,
            poll: None,
        }
    }

    /// How long the lock survives a holder that stops refreshing it (at least 1 s:
    /// the server stores expiry in whole seconds and rounds up). The holder refreshes
    /// every `ttl / 2`.
    pub fn with_ttl(mut self, ttl: Duration) -> ClusterMutex {
        self.ttl = ttl.max(MIN_TTL);
        self
    }

    /// How often [`lock`](ClusterMutex::lock) retries while another copy holds the
    /// lock, before ±25 % jitter. Defaults to `min(1 s, ttl / 4)`.
    pub fn with_poll_interval(mut self, poll: Duration) -> ClusterMutex {
        self.poll = Some(poll.max(MIN_POLL));
        self
    }

    /// The KV key of the lock, `mutex_<name>`.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn poll_interval(&self) -> Duration {
        self.poll
            .unwrap_or_else(|| (self.ttl / 4).min(Duration::from_secs(1)))
            .max(MIN_POLL)
    }

    /// Acquires the lock if nobody holds it, without waiting. `Ok(None)` when another
    /// acquisition (of any copy, this one included) holds it.
    ///
    /// If this future is dropped while the write is in flight, the lock may end up
    /// held by nobody's guard; it then frees itself after the TTL.
    pub async fn try_lock(&self) -> ApiResult<Option<ClusterMutexGuard>> {
        let token = new_token();
        // Taken before the call: the server starts the TTL when it receives the write,
        // so `sent + ttl` never overestimates how long the lock is ours.
        let sent = Instant::now();
        let written = self
            .api
            .kv_set_with_options(
                &self.key,
                Some(token.clone().into_bytes()),
                KvSetOptions {
                    atomic: true,
                    old_value: None,
                    expire_in: Some(self.ttl),
                },
            )
            .await?;
        if !written {
            return Ok(None);
        }
        Ok(Some(ClusterMutexGuard::start(
            self.api.clone(),
            self.key.clone(),
            token,
            self.ttl,
            sent,
        )))
    }

    /// Waits until the lock is acquired, retrying every
    /// [`poll_interval`](ClusterMutex::poll_interval) with jitter. An API error (the
    /// server unreachable, ...) ends the wait and is returned.
    pub async fn lock(&self) -> ApiResult<ClusterMutexGuard> {
        loop {
            if let Some(guard) = self.try_lock().await? {
                return Ok(guard);
            }
            tokio::time::sleep(jittered(self.poll_interval())).await;
        }
    }

    /// Like [`lock`](ClusterMutex::lock), but gives up with `Ok(None)` once `timeout`
    /// has passed without acquiring the lock.
    pub async fn lock_timeout(&self, timeout: Duration) -> ApiResult<Option<ClusterMutexGuard>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(guard) = self.try_lock().await? {
                return Ok(Some(guard));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            tokio::time::sleep(jittered(self.poll_interval()).min(left)).await;
        }
    }
}

/// What the guard and its refresher share about one acquisition.
#[derive(Debug)]
struct Lease {
    /// Sticky: once the lock may have been lost, callers must not rely on it again,
    /// even if a late refresh shows that nobody took it in the meantime.
    lost: AtomicBool,
    /// The earliest moment the server may let the key expire, from the last write
    /// known to have succeeded.
    valid_until: Mutex<Instant>,
}

impl Lease {
    fn valid_until(&self) -> Instant {
        *self.valid_until.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn extend(&self, until: Instant) {
        *self.valid_until.lock().unwrap_or_else(|e| e.into_inner()) = until;
    }

    /// Whether the lock is (or may be) gone, recording it when the TTL has run out
    /// since the last successful write: a refresh that cannot reach the server does
    /// not keep the key alive there.
    fn is_lost(&self) -> bool {
        if self.lost.load(Ordering::Acquire) {
            return true;
        }
        if Instant::now() >= self.valid_until() {
            self.lost.store(true, Ordering::Release);
            return true;
        }
        false
    }
}

/// A held [`ClusterMutex`]. Release it with [`unlock`](ClusterMutexGuard::unlock);
/// dropping it also releases it, in a background task, if a tokio runtime is running.
///
/// Forgetting the guard (`std::mem::forget`) keeps refreshing the lock for as long as
/// the process lives; only a process that dies lets it expire.
#[derive(Debug)]
pub struct ClusterMutexGuard {
    api: Api,
    key: String,
    token: String,
    lease: Arc<Lease>,
    refresher: Option<JoinHandle<()>>,
    released: bool,
}

impl ClusterMutexGuard {
    fn start(api: Api, key: String, token: String, ttl: Duration, sent: Instant) -> Self {
        let lease = Arc::new(Lease {
            lost: AtomicBool::new(false),
            valid_until: Mutex::new(sent + ttl),
        });
        let refresher = tokio::spawn(refresh(
            api.clone(),
            key.clone(),
            token.clone(),
            ttl,
            lease.clone(),
        ));
        ClusterMutexGuard {
            api,
            key,
            token,
            lease,
            refresher: Some(refresher),
            released: false,
        }
    }

    /// The owner token this acquisition wrote under [`key`](ClusterMutexGuard::key).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The KV key of the lock, `mutex_<name>`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether the lock may no longer be this guard's: a refresh found another value
    /// (or none) under the key, or no refresh got through within the TTL. Once true it
    /// stays true and the guard stops refreshing. Check it before committing work
    /// that must not overlap with another holder's.
    pub fn is_lost(&self) -> bool {
        self.lease.is_lost()
    }

    /// Releases the lock: deletes the key only if it still holds this guard's token,
    /// so a guard that lost the lock never frees its successor's. Returns whether it
    /// deleted. If the call fails, dropping the guard tries once more in the
    /// background.
    pub async fn unlock(mut self) -> ApiResult<bool> {
        if let Some(refresher) = self.refresher.take() {
            refresher.abort();
            // Wait until it has stopped, so no refresh of ours follows the delete.
            // (A refresh already in flight would fail anyway: it compares with the
            // token, and the key is gone.)
            let _ = refresher.await;
        }
        self.lease.lost.store(true, Ordering::Release);
        let deleted = self
            .api
            .kv_compare_and_delete(&self.key, self.token.as_bytes())
            .await?;
        self.released = true;
        Ok(deleted)
    }
}

impl Drop for ClusterMutexGuard {
    fn drop(&mut self) {
        if let Some(refresher) = self.refresher.take() {
            refresher.abort();
        }
        if self.released {
            return;
        }
        // Best effort: without a runtime (or if this fails) the key expires after the
        // TTL, as it would for a holder that died.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let api = self.api.clone();
            let key = std::mem::take(&mut self.key);
            let token = std::mem::take(&mut self.token);
            runtime.spawn(async move {
                let _ = api.kv_compare_and_delete(key, token.as_bytes()).await;
            });
        }
    }
}

/// The refresher of one acquisition: rewrites the token with a fresh expiry every
/// `ttl / 2`, and stops for good once the key holds anything but the token.
async fn refresh(api: Api, key: String, token: String, ttl: Duration, lease: Arc<Lease>) {
    let every = ttl / 2;
    // After a failed call, retry sooner: waiting another ttl/2 would reach the expiry.
    let retry = (ttl / 8).max(MIN_POLL);
    let mut wait = every;
    loop {
        tokio::time::sleep(wait).await;
        if lease.is_lost() {
            return;
        }
        let sent = Instant::now();
        let options = KvSetOptions {
            atomic: true,
            old_value: Some(token.clone().into_bytes()),
            expire_in: Some(ttl),
        };
        match api
            .kv_set_with_options(&key, Some(token.clone().into_bytes()), options)
            .await
        {
            Ok(true) => {
                lease.extend(sent + ttl);
                wait = every;
            }
            // The key expired and is absent or someone else's: only we ever write our
            // token, so it cannot come back. Stop, and let the holder find out.
            Ok(false) => {
                lease.lost.store(true, Ordering::Release);
                return;
            }
            // The server is unreachable for now; `is_lost` gives up once the TTL has
            // run out since the last refresh that got through.
            Err(_) => wait = retry,
        }
    }
}

/// What a [`ClusterJob`] stores under `job_<name>`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
struct JobMetadata {
    /// When the last run finished, in milliseconds since the epoch.
    last_finished: i64,
}

/// A periodic job that runs once per interval across the whole cluster, however many
/// copies of the plugin schedule it.
///
/// Every copy schedules the job (in `OnActivate`, say). Each copy looks at the job's
/// metadata (`job_<name>`) every poll interval; when `interval` has passed since the
/// last run finished, it takes the [`ClusterMutex`] `job_<name>` without waiting,
/// reads the metadata again under the lock (another copy may have just run it), runs
/// the job, records when it finished and unlocks. The lock keeps two copies from
/// running it at once; the timestamp read under the lock keeps the next one from
/// running it again before `interval` has passed.
///
/// The timestamps come from each node's clock: clocks that disagree shift when a run
/// is due by their difference. A run that fails or panics still counts as a run (a
/// job that always fails must not run in a tight loop); handle retries inside the
/// job if it needs them.
///
/// ```no_run
/// # fn example(api: chorus_plugin::Api) {
/// use chorus_plugin::ClusterJob;
/// use std::time::Duration;
///
/// let handle = ClusterJob::schedule(api, "digest", Duration::from_secs(3600), |api| async move {
///     api.log_info("sending the hourly digest").await;
/// });
/// // ... in OnDeactivate: handle.close().await;
/// # drop(handle);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ClusterJob {
    api: Api,
    name: String,
    interval: Duration,
    poll: Option<Duration>,
    lock_ttl: Duration,
}

impl ClusterJob {
    /// The job `name`, due every `interval`; start it with [`ClusterJob::start`].
    pub fn new(api: Api, name: &str, interval: Duration) -> ClusterJob {
        ClusterJob {
            api,
            name: name.to_string(),
            interval,
            poll: None,
            lock_ttl: DEFAULT_MUTEX_TTL,
        }
    }

    /// Schedules `job` every `interval` with the default settings: shorthand for
    /// `ClusterJob::new(api, name, interval).start(job)`.
    pub fn schedule<F, Fut>(api: Api, name: &str, interval: Duration, job: F) -> JobHandle
    where
        F: Fn(Api) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        ClusterJob::new(api, name, interval).start(job)
    }

    /// How often each copy looks whether the job is due, before ±25 % jitter.
    /// Defaults to `min(interval / 4, 60 s)`; a run is late by at most about this.
    pub fn with_poll_interval(mut self, poll: Duration) -> ClusterJob {
        self.poll = Some(poll.max(MIN_POLL));
        self
    }

    /// The TTL of the job's lock (default 15 s): how soon another copy may take over
    /// after the copy running the job died. The lock is refreshed during the run, so
    /// runs may last longer than this.
    pub fn with_lock_ttl(mut self, ttl: Duration) -> ClusterJob {
        self.lock_ttl = ttl;
        self
    }

    pub fn poll_interval(&self) -> Duration {
        self.poll
            .unwrap_or_else(|| (self.interval / 4).min(MAX_JOB_POLL))
            .max(MIN_POLL)
    }

    /// Starts the schedule on this copy of the plugin in a background task (call it
    /// inside a tokio runtime). `job` gets a clone of the `Api`; it runs in a task of
    /// its own, so a panic in it is logged and does not end the schedule.
    pub fn start<F, Fut>(self, job: F) -> JobHandle
    where
        F: Fn(Api) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        let runner = JobRunner {
            mutex: ClusterMutex::new(self.api.clone(), &format!("job_{}", self.name))
                .with_ttl(self.lock_ttl),
            metadata_key: format!("job_{}", self.name),
            poll: self.poll_interval(),
            job: self,
        };
        let task = tokio::spawn(runner.run(job, stopped));
        JobHandle {
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// Stops a [`ClusterJob`] on this copy of the plugin (the other copies keep it
/// going). Dropping the handle stops it at once, abandoning a run in progress;
/// [`close`](JobHandle::close) lets a run in progress finish.
#[derive(Debug)]
pub struct JobHandle {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl JobHandle {
    /// Stops scheduling the job here and waits for a run in progress to finish.
    pub async fn close(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for JobHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            // The run's lock guard is dropped with the task and released in the
            // background.
            task.abort();
        }
    }
}

/// Aborts a task when dropped, so that stopping a schedule also stops its run.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct JobRunner {
    job: ClusterJob,
    mutex: ClusterMutex,
    metadata_key: String,
    poll: Duration,
}

impl JobRunner {
    async fn run<F, Fut>(self, job: F, mut stopped: oneshot::Receiver<()>)
    where
        F: Fn(Api) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        loop {
            let wait = match self.check_and_run(&job).await {
                Ok(Some(due_in)) => due_in.min(self.poll),
                // Another copy holds the lock: it is running the job or about to find
                // that it is not due.
                Ok(None) => self.poll,
                Err(error) => {
                    let name = self.job.name.as_str();
                    let error = error.to_string();
                    self.job
                        .api
                        .log(
                            LogLevel::Warn,
                            "cluster job: could not check or record a run",
                            [("job", name), ("error", error.as_str())],
                        )
                        .await;
                    self.poll
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(jittered(wait).max(MIN_POLL)) => {}
                // A stop request, or the handle was dropped.
                _ = &mut stopped => return,
            }
        }
    }

    /// How long until the job is due (zero when it is), by the metadata.
    async fn due_in(&self) -> ApiResult<Duration> {
        let last_finished = match self.job.api.kv_get(&self.metadata_key).await? {
            // Unreadable metadata counts as never run: the run rewrites it.
            Some(bytes) => serde_json::from_slice::<JobMetadata>(&bytes)
                .map(|m| m.last_finished)
                .unwrap_or(0),
            None => return Ok(Duration::ZERO),
        };
        let elapsed = u64::try_from(now_ms().saturating_sub(last_finished)).unwrap_or(0);
        Ok(self
            .job
            .interval
            .saturating_sub(Duration::from_millis(elapsed)))
    }

    /// One look at the job: runs it if it is due and this copy gets the lock.
    /// Returns how long until it is due next, or `None` when another copy holds the
    /// lock.
    async fn check_and_run<F, Fut>(&self, job: &F) -> ApiResult<Option<Duration>>
    where
        F: Fn(Api) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // Reading first keeps the common case (not due) to one KV read, without
        // taking the lock.
        let due_in = self.due_in().await?;
        if !due_in.is_zero() {
            return Ok(Some(due_in));
        }
        let Some(guard) = self.mutex.try_lock().await? else {
            return Ok(None);
        };
        // Again under the lock: another copy may have run the job between our read
        // and our lock. (On an error here, dropping the guard releases the lock.)
        let due_in = self.due_in().await?;
        if !due_in.is_zero() {
            guard.unlock().await?;
            return Ok(Some(due_in));
        }

        let mut run = AbortOnDrop(tokio::spawn(job(self.job.api.clone())));
        let outcome = (&mut run.0).await;
        let name = self.job.name.as_str();
        if let Err(error) = outcome {
            if error.is_panic() {
                self.job
                    .api
                    .log(LogLevel::Error, "cluster job panicked", [("job", name)])
                    .await;
            }
        }
        if guard.is_lost() {
            // The run outlasted the lock (a stall, or the server out of reach), so
            // another copy may have run the job at the same time.
            self.job
                .api
                .log(
                    LogLevel::Warn,
                    "cluster job: lost its lock during the run",
                    [("job", name)],
                )
                .await;
        }
        let metadata = JobMetadata {
            last_finished: now_ms(),
        };
        self.job
            .api
            .kv_set_json(&self.metadata_key, &metadata)
            .await?;
        guard.unlock().await?;
        Ok(Some(self.job.interval))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_hex() {
        let tokens: std::collections::HashSet<String> = (0..1000).map(|_| new_token()).collect();
        assert_eq!(tokens.len(), 1000);
        assert!(tokens
            .iter()
            .all(|t| t.len() == 32 && t.chars().all(|c| c.is_ascii_hexdigit())));
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        let period = Duration::from_millis(1000);
        for _ in 0..1000 {
            let wait = jittered(period);
            assert!(wait >= Duration::from_millis(750) && wait < Duration::from_millis(1250));
        }
    }

    #[tokio::test]
    async fn periods_derive_from_the_ttl_and_interval() {
        let api = Api::unconnected();
        let mutex = ClusterMutex::new(api.clone(), "m");
        assert_eq!(mutex.key(), "mutex_m");
        assert_eq!(mutex.ttl(), Duration::from_secs(15));
        assert_eq!(mutex.poll_interval(), Duration::from_secs(1));
        let short = mutex.with_ttl(Duration::from_millis(100));
        assert_eq!(short.ttl(), Duration::from_secs(1), "at least one second");
        assert_eq!(short.poll_interval(), Duration::from_millis(250));

        let job = ClusterJob::new(api.clone(), "j", Duration::from_secs(2));
        assert_eq!(job.poll_interval(), Duration::from_millis(500));
        let daily = ClusterJob::new(api, "j", Duration::from_secs(86_400));
        assert_eq!(daily.poll_interval(), Duration::from_secs(60));
    }
}
