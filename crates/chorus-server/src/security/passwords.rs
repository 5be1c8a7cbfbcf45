//! Password hashing and checking with Argon2id, bounded: each hash takes 19 MiB for
//! tens of milliseconds, so an unbounded number at once lets a flood of logins take
//! gigabytes. Hashes run on `MaximumConcurrentPasswordHashes` threads of their own; a
//! login that cannot get one within `PasswordHashWaitMilliseconds` is refused with a
//! 503. Dedicated threads matter as much as the bound: glibc gives each thread that
//! allocates its own arena and keeps freed blocks there, so hashes spread over the
//! blocking pool's many threads would each leave 19 MiB behind. And glibc's threshold
//! for serving large blocks straight from the OS is fixed (it would otherwise rise to
//! 19 MiB after the first hash and keep every later block in the heap), so each hash's
//! memory goes back to the system when it ends.
//!
//! An unknown login id is checked against a dummy hash of the same cost, so that it
//! takes as long as a real account's (no enumeration by timing).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _};
use argon2::password_hash::{PasswordVerifier, SaltString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OnceCell, Semaphore};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("every password hashing slot stayed busy for {0:?}")]
    Busy(Duration),
    #[error("password hashing failed: {0}")]
    Failed(String),
}

type Job = Box<dyn FnOnce() + Send>;

pub struct Passwords {
    slots: Arc<Semaphore>,
    wait: Duration,
    running: Arc<AtomicUsize>,
    dummy: OnceCell<String>,
    /// Feeds the hashing threads; they end when it is dropped.
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Passwords {
    /// `concurrency` 0 means one slot per CPU core.
    pub fn new(concurrency: usize, wait: Duration) -> Passwords {
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            concurrency
        };
        fix_large_block_threshold();
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..concurrency {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("chorus-hash-{n}"))
                .spawn(move || loop {
                    let job = queue.lock().expect("hash queue").recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })
                .expect("start a password hashing thread");
        }
        Passwords {
            slots: Arc::new(Semaphore::new(concurrency)),
            wait,
            running: Arc::new(AtomicUsize::new(0)),
            dummy: OnceCell::new(),
            jobs: std::sync::Mutex::new(jobs),
        }
    }

    /// A new PHC-format Argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2::Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| HashError::Failed(e.to_string()))
        })
        .await?
    }

    /// Whether `password` matches `hash`; with no hash (an unknown or unusable
    /// account) the same work is done against a dummy and the answer is `false`.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        let (hash, real) = match hash {
            Some(hash) if PasswordHash::new(&hash).is_ok() => (hash, true),
            _ => (self.dummy_hash().await?, false),
        };
        let matches = self
            .run(move || {
                let parsed = PasswordHash::new(&hash).expect("checked above");
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .await?;
        Ok(real && matches)
    }

    async fn dummy_hash(&self) -> Result<String, HashError> {
        self.dummy
            .get_or_try_init(|| self.hash(chorus_model::new_id()))
            .await
            .cloned()
    }

    /// Runs one hashing job on a hashing thread once a slot is free.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await
        {
            Ok(Ok(permit)) => permit,
            _ => return Err(HashError::Busy(self.wait)),
        };
        let running = self.running.clone();
        running.fetch_add(1, Ordering::SeqCst);
        let (reply, answer) = tokio::sync::oneshot::channel();
        let work: Job = Box::new(move || {
            let out = job();
            if running.fetch_sub(1, Ordering::SeqCst) == 1 {
                return_free_memory();
            }
            drop(permit);
            let _ = reply.send(out);
        });
        self.jobs
            .lock()
            .expect("hash queue")
            .send(work)
            .map_err(|_| HashError::Failed("the hashing threads are gone".into()))?;
        answer
            .await
            .map_err(|_| HashError::Failed("a hashing thread failed".into()))
    }
}

/// Blocks of 1 MiB and more come from `mmap` and go back with `munmap`, always.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_large_block_threshold() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: mallopt only changes the allocator's tuning; setting M_MMAP_THRESHOLD
    // also turns off its dynamic adjustment.
    ONCE.call_once(|| unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    });
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_large_block_threshold() {}

/// Whatever freed memory glibc still keeps in its arenas after a burst of logins goes
/// back to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_free_memory() {
    // SAFETY: malloc_trim has no preconditions; it only releases free heap pages.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_free_memory() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let passwords = Passwords::new(1, Duration::from_secs(5));
        let hash = passwords.hash("correct-horse".into()).await.unwrap();
        assert!(passwords
            .verify("correct-horse".into(), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!passwords.verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!passwords.verify("anything".into(), None).await.unwrap());
        assert!(!passwords
            .verify("x".into(), Some("!not-a-hash".into()))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_after_the_wait() {
        let passwords = Arc::new(Passwords::new(1, Duration::from_millis(1)));
        let held = passwords.slots.clone().acquire_owned().await.unwrap();
        let err = passwords.hash("pw".into()).await.unwrap_err();
        assert!(matches!(err, HashError::Busy(_)), "{err}");
        drop(held);
        assert!(passwords.hash("pw".into()).await.is_ok());
    }
}
