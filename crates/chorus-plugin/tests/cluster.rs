//! `ClusterMutex` and `ClusterJob` against the in-memory test server, with several
//! `Api` clients on one server standing for copies of a plugin on several nodes:
//! mutual exclusion under contention, the owner token, holders that die or lose the
//! lock, and a job several copies schedule.
//!
//! No test asserts how long anything took. Expiry is driven by the test server's clock
//! (`advance_time`) where possible; where a test must wait for a background task, it
//! waits for a condition with a generous cap that only turns a hang into a failure.

use chorus_plugin::testing::TestServer;
use chorus_plugin::{Api, ClusterJob, ClusterMutex, KvSetOptions};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Only turns a hang into a failure; never reached when things work.
const HANG: Duration = Duration::from_secs(60);

/// Another copy of the plugin: its own connection to the same server.
fn another_copy(server: &TestServer) -> Api {
    Api::connect_lazy(server.socket_path())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Waits until `condition` holds, checking every few milliseconds.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    tokio::time::timeout(HANG, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("still waiting for: {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_under_contention_never_hold_the_mutex_at_once() {
    let server = TestServer::start().await;
    let copies = [server.api().clone(), another_copy(&server)];
    let inside = Arc::new(AtomicBool::new(false));
    let sections = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            // Two tasks per copy, each with its own handle on the same mutex.
            let mutex = ClusterMutex::new(copies[i % 2].clone(), "contended")
                .with_ttl(Duration::from_secs(2))
                .with_poll_interval(Duration::from_millis(5));
            let (inside, sections) = (inside.clone(), sections.clone());
            tokio::spawn(async move {
                for _ in 0..20 {
                    let guard = mutex.lock().await.unwrap();
                    assert!(
                        !inside.swap(true, Ordering::SeqCst),
                        "two holders in the critical section"
                    );
                    // Give the others a chance to try while this one is inside.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    tokio::task::yield_now().await;
                    assert!(!guard.is_lost());
                    inside.store(false, Ordering::SeqCst);
                    assert!(guard.unlock().await.unwrap(), "released its own lock");
                    sections.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for task in tasks {
        tokio::time::timeout(HANG, task).await.unwrap().unwrap();
    }
    assert_eq!(sections.load(Ordering::SeqCst), 80);
    assert_eq!(
        server.kv_value("mutex_contended"),
        None,
        "released at the end"
    );
}

#[tokio::test]
async fn only_the_holder_can_refresh_or_release_the_mutex() {
    let server = TestServer::start().await;
    let (api_a, api_b) = (server.api().clone(), another_copy(&server));
    // A long TTL: nothing in this test depends on the refresher's timing.
    let ttl = Duration::from_secs(60);
    let a = ClusterMutex::new(api_a.clone(), "owned").with_ttl(ttl);
    let b = ClusterMutex::new(api_b.clone(), "owned").with_ttl(ttl);

    let guard = a.try_lock().await.unwrap().expect("free at first");
    assert_eq!(guard.key(), "mutex_owned");
    assert_eq!(
        server.kv_value("mutex_owned").as_deref(),
        Some(guard.token().as_bytes())
    );
    assert!(b.try_lock().await.unwrap().is_none(), "held by copy A");
    assert!(
        a.try_lock().await.unwrap().is_none(),
        "not reentrant: a second acquisition by the same copy waits too"
    );
    assert!(b
        .lock_timeout(Duration::from_millis(50))
        .await
        .unwrap()
        .is_none());

    // Anyone without the token can neither release nor refresh it.
    assert!(!api_b
        .kv_compare_and_delete("mutex_owned", b"not-the-token")
        .await
        .unwrap());
    let wrong_refresh = KvSetOptions {
        atomic: true,
        old_value: Some(b"not-the-token".to_vec()),
        expire_in: Some(ttl),
    };
    assert!(!api_b
        .kv_set_with_options(
            "mutex_owned",
            Some(b"not-the-token".to_vec()),
            wrong_refresh
        )
        .await
        .unwrap());
    assert_eq!(
        server.kv_value("mutex_owned").as_deref(),
        Some(guard.token().as_bytes())
    );

    // A's lock expires (as if A had stalled past its TTL) and B takes it.
    server.advance_time(ttl + Duration::from_secs(1));
    let b_guard = b
        .try_lock()
        .await
        .unwrap()
        .expect("free once A's TTL ran out");
    assert_ne!(b_guard.token(), guard.token(), "a token per acquisition");
    // A's release does not free B's lock: its token is no longer there.
    assert!(!guard.unlock().await.unwrap());
    assert_eq!(
        server.kv_value("mutex_owned").as_deref(),
        Some(b_guard.token().as_bytes())
    );
    assert!(a.try_lock().await.unwrap().is_none(), "still B's");
    assert!(b_guard.unlock().await.unwrap());
    assert_eq!(server.kv_value("mutex_owned"), None);
    let again = a.try_lock().await.unwrap().expect("free after B's release");
    drop(again);
    // Dropping a guard releases it in the background.
    eventually("the dropped guard's release", || {
        server.kv_value("mutex_owned").is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_refreshes_keeps_the_mutex_past_its_ttl() {
    let server = TestServer::start().await;
    let ttl = Duration::from_secs(2);
    let a = ClusterMutex::new(server.api().clone(), "kept").with_ttl(ttl);
    let b = ClusterMutex::new(another_copy(&server), "kept").with_ttl(ttl);
    let guard = a.lock().await.unwrap();
    // Two and a half TTLs: without its refresher the key would have expired twice.
    tokio::time::sleep(ttl * 5 / 2).await;
    assert!(!guard.is_lost());
    assert!(b.try_lock().await.unwrap().is_none(), "still A's");
    assert!(guard.unlock().await.unwrap());
    assert!(b.try_lock().await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_died_loses_the_mutex_after_its_ttl() {
    let server = TestServer::start().await;
    let ttl = Duration::from_secs(30);

    // Copy A runs in a runtime of its own that goes away with it, refresher
    // included, and never releases the lock: a process that died holding it.
    let socket = server.socket_path().to_path_buf();
    let dead_token = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let token = runtime.block_on(async move {
            let mutex = ClusterMutex::new(Api::connect_lazy(socket), "orphan").with_ttl(ttl);
            let guard = mutex.lock().await.unwrap();
            let token = guard.token().to_string();
            std::mem::forget(guard);
            token
        });
        drop(runtime);
        token
    })
    .await
    .unwrap();
    assert_eq!(
        server.kv_value("mutex_orphan").as_deref(),
        Some(dead_token.as_bytes()),
        "A died holding the lock"
    );

    let b = ClusterMutex::new(another_copy(&server), "orphan").with_ttl(Duration::from_secs(2));
    assert!(
        b.try_lock().await.unwrap().is_none(),
        "A's TTL has not run out"
    );
    let waiting = tokio::spawn(async move { b.lock().await });
    tokio::task::yield_now().await;
    server.advance_time(ttl + Duration::from_secs(1));
    let guard = tokio::time::timeout(HANG, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_ne!(guard.token(), dead_token);
    assert_eq!(
        server.kv_value("mutex_orphan").as_deref(),
        Some(guard.token().as_bytes())
    );
    assert!(guard.unlock().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_lock_expired_finds_out_and_stops_refreshing() {
    let server = TestServer::start().await;
    let a = ClusterMutex::new(server.api().clone(), "stolen").with_ttl(Duration::from_secs(1));
    let b = ClusterMutex::new(another_copy(&server), "stolen").with_ttl(Duration::from_secs(60));
    let guard = a.lock().await.unwrap();
    assert!(!guard.is_lost());

    // The server's clock jumps past A's TTL, as if A's refreshes had not got through.
    server.advance_time(Duration::from_secs(5));
    let b_guard = b.try_lock().await.unwrap().expect("A's lock expired");
    // A's next refresh compares with A's token, finds B's, and gives up.
    eventually("A noticing it lost the lock", || guard.is_lost()).await;
    assert_eq!(
        server.kv_value("mutex_stolen").as_deref(),
        Some(b_guard.token().as_bytes()),
        "A's refresher did not overwrite B's token"
    );
    assert!(!guard.unlock().await.unwrap(), "nothing of A's to release");
    assert!(b_guard.unlock().await.unwrap());
}

#[derive(Debug, Clone, Copy)]
struct Run {
    started: i64,
    finished: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_scheduled_by_three_copies_runs_once_per_interval() {
    let server = TestServer::start().await;
    let interval = Duration::from_millis(1000);
    let runs: Arc<Mutex<Vec<Run>>> = Arc::default();
    let inside = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let (runs, inside) = (runs.clone(), inside.clone());
            ClusterJob::new(another_copy(&server), "sweep", interval)
                .with_poll_interval(Duration::from_millis(50))
                .start(move |_api| {
                    let (runs, inside) = (runs.clone(), inside.clone());
                    async move {
                        assert!(!inside.swap(true, Ordering::SeqCst), "two runs at once");
                        let started = now_ms();
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        let finished = now_ms();
                        inside.store(false, Ordering::SeqCst);
                        runs.lock().unwrap().push(Run { started, finished });
                    }
                })
        })
        .collect();

    eventually("three runs", || runs.lock().unwrap().len() >= 3).await;
    for handle in handles {
        handle.close().await;
    }
    let recorded = runs.lock().unwrap().clone();
    assert!(!inside.load(Ordering::SeqCst), "close let the run finish");
    // Each run starts only once `interval` has passed since the previous one
    // finished, whichever copy ran which: once per interval across the cluster.
    for pair in recorded.windows(2) {
        let (previous, next) = (pair[0], pair[1]);
        assert!(
            next.started - previous.finished >= interval.as_millis() as i64,
            "a run came too early: {recorded:?}"
        );
    }
    let metadata = server.kv_json("job_sweep").expect("job metadata");
    assert!(metadata["last_finished"].as_i64().unwrap() >= recorded.last().unwrap().finished);
    assert_eq!(server.kv_value("mutex_job_sweep"), None, "lock released");

    // Closed everywhere: even a due job no longer runs.
    server
        .api()
        .kv_set_json("job_sweep", &serde_json::json!({"last_finished": 0}))
        .await
        .unwrap();
    // Several poll periods of every copy.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(runs.lock().unwrap().len(), recorded.len());
}
