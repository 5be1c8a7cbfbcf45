//! Per-client-address throttling of the routes that cost a password hash (login and
//! sign-up): a GCRA bucket per address (`governor`), `RateLimitSettings.LoginMaxBurst`
//! attempts at once, refilled at `LoginPerMinute`. The table of addresses is bounded
//! by `MemoryStoreSize`: when it is full, addresses whose buckets are full again are
//! forgotten, and if that is not enough the table starts afresh.

use crate::config::RateLimitSettings;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub struct LoginThrottle {
    quota: Option<Quota>,
    capacity: usize,
    limiter: RwLock<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
}

impl LoginThrottle {
    pub fn new(settings: &RateLimitSettings) -> LoginThrottle {
        let quota = NonZeroU32::new(settings.login_per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(settings.login_max_burst).unwrap_or(NonZeroU32::MIN);
            Quota::per_minute(per_minute).allow_burst(burst)
        });
        // With the limit off the limiter is never consulted; any quota will do.
        let limiter = RateLimiter::keyed(quota.unwrap_or(Quota::per_second(NonZeroU32::MIN)));
        LoginThrottle {
            quota,
            capacity: settings.memory_store_size.max(1),
            limiter: RwLock::new(Arc::new(limiter)),
        }
    }

    /// Counts one attempt from `address`: `Err(wait)` when it must wait that long.
    pub fn check(&self, address: IpAddr) -> Result<(), Duration> {
        let Some(quota) = self.quota else {
            return Ok(());
        };
        let limiter = self.limiter.read().expect("throttle lock").clone();
        if limiter.len() >= self.capacity {
            limiter.retain_recent();
            if limiter.len() >= self.capacity {
                *self.limiter.write().expect("throttle lock") = Arc::new(RateLimiter::keyed(quota));
            }
        }
        let limiter = self.limiter.read().expect("throttle lock").clone();
        limiter
            .check_key(&address)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(per_minute: u32, burst: u32, size: usize) -> RateLimitSettings {
        RateLimitSettings {
            login_per_minute: per_minute,
            login_max_burst: burst,
            memory_store_size: size,
        }
    }

    #[test]
    fn a_burst_is_allowed_then_each_address_waits() {
        let throttle = LoginThrottle::new(&settings(1, 3, 100));
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        for _ in 0..3 {
            assert!(throttle.check(a).is_ok());
        }
        let wait = throttle.check(a).unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(
            throttle.check(b).is_ok(),
            "another address has its own bucket"
        );
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let throttle = LoginThrottle::new(&settings(0, 1, 100));
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..100 {
            assert!(throttle.check(a).is_ok());
        }
    }

    #[test]
    fn the_address_table_stays_bounded() {
        let throttle = LoginThrottle::new(&settings(1, 1, 50));
        for i in 0..1000u32 {
            let address = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            let _ = throttle.check(address);
            assert!(throttle.limiter.read().unwrap().len() <= 50);
        }
    }
}
