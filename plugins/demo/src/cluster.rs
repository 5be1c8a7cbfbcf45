//! The `/cluster` routes the server's cluster tests call on several nodes at once: a
//! compare-and-set counter and a critical section under the SDK's `ClusterMutex`.

use crate::http::api_error_response;
use chorus_plugin::{Api, ApiError, ClusterMutex, HttpRequest, HttpResponse};
use serde_json::json;
use std::time::Duration;

/// A counter that stays right when several copies of the plugin increment it at
/// once: read, then write only if nobody wrote in between (compare-and-set), else
/// retry. `kv_get_json` / `kv_set_json` would read nicer, but compare-and-set compares
/// bytes, so the bytes read are the bytes compared.
pub(crate) async fn increment(api: &Api, key: &str) -> Result<u64, ApiError> {
    loop {
        let current = api.kv_get(key).await?;
        let value = match &current {
            Some(bytes) => serde_json::from_slice::<u64>(bytes)?,
            None => 0,
        };
        if api
            .kv_compare_and_set(key, current.as_deref(), (value + 1).to_string())
            .await?
        {
            return Ok(value + 1);
        }
    }
}

/// The KV keys of the `/cluster` routes.
pub(crate) const COUNTER_KEY: &str = "counter";
pub(crate) const VIOLATIONS_KEY: &str = "violations";
pub(crate) const INSIDE_KEY: &str = "inside";
/// The name of the [`ClusterMutex`] around the critical section (KV key `mutex_demo`).
pub(crate) const MUTEX_NAME: &str = "demo";

/// Bounds on the `/cluster/critical` parameters, so that a typo cannot park a request
/// (and the lock) for hours.
pub(crate) const MAX_HOLD_MS: u64 = 60_000;
pub(crate) const MAX_TTL_S: u64 = 600;

/// The routes under `/cluster`, for the server's cluster tests, which run a copy of the
/// demo on each of several nodes and call these on all of them at once. No sign-in
/// needed; every answer is JSON.
///
/// - `POST /cluster/increment`: adds 1 to the KV counter `counter` by compare-and-set
///   (see [`increment`]); `{"value": <the new value>}`.
/// - `GET /cluster/counter`: `{"value": <counter>}`, 0 when never incremented.
/// - `POST /cluster/critical?hold_ms=<n>&ttl_s=<n>`: a critical section under the
///   [`ClusterMutex`] `demo` with a TTL of `ttl_s` seconds (default 2, 1 to 600),
///   held for `hold_ms` milliseconds (default 0, at most 60000); `{"ok": true}`.
///   Finding another copy's marker inside counts a violation (see [`critical_section`]).
/// - `GET /cluster/violations`: `{"value": <violations>}`, 0 when none.
///
/// A malformed parameter answers 400, a known path with the wrong method 405, an API
/// failure the status that means the same (see [`api_error_response`]).
pub(crate) async fn serve_cluster(api: &Api, request: &HttpRequest) -> HttpResponse {
    let result = match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/cluster/increment") => increment(api, COUNTER_KEY).await,
        ("GET", "/cluster/counter") => read_counter(api, COUNTER_KEY).await,
        ("GET", "/cluster/violations") => read_counter(api, VIOLATIONS_KEY).await,
        ("POST", "/cluster/critical") => {
            let hold_ms = match query_number(request, "hold_ms", 0, 0..=MAX_HOLD_MS) {
                Ok(n) => n,
                Err(response) => return response,
            };
            let ttl_s = match query_number(request, "ttl_s", 2, 1..=MAX_TTL_S) {
                Ok(n) => n,
                Err(response) => return response,
            };
            let hold = Duration::from_millis(hold_ms);
            return match critical_section(api, hold, ttl_s).await {
                Ok(()) => HttpResponse::json(200, &json!({ "ok": true })),
                Err(error) => api_error_response(&error),
            };
        }
        (_, "/cluster/increment" | "/cluster/critical") => {
            return HttpResponse::json(405, &json!({ "error": "use POST" }))
                .with_header("Allow", "POST")
        }
        (_, "/cluster/counter" | "/cluster/violations") => {
            return HttpResponse::json(405, &json!({ "error": "use GET" }))
                .with_header("Allow", "GET")
        }
        _ => return HttpResponse::not_found(),
    };
    match result {
        Ok(value) => HttpResponse::json(200, &json!({ "value": value })),
        Err(error) => api_error_response(&error),
    }
}

/// The query parameter `name` as a number in `range`, `default` when absent; a 400
/// answer otherwise.
pub(crate) fn query_number(
    request: &HttpRequest,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, HttpResponse> {
    let Some(text) = request.query_param(name) else {
        return Ok(default);
    };
    match text.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(HttpResponse::json(
            400,
            &json!({ "error": format!(
                "{name} must be a whole number from {} to {}, not {text:?}",
                range.start(),
                range.end()
            ) }),
        )),
    }
}

/// The value of a counter [`increment`] keeps, 0 when absent.
pub(crate) async fn read_counter(api: &Api, key: &str) -> Result<u64, ApiError> {
    match api.kv_get(key).await? {
        Some(bytes) => Ok(serde_json::from_slice::<u64>(&bytes)?),
        None => Ok(0),
    }
}

/// A critical section that reports its own failures: while a copy holds the cluster
/// mutex, the KV key `inside` holds its token. Finding the key already set on entry
/// means two copies were inside at once, and counts in `violations`.
pub(crate) async fn critical_section(
    api: &Api,
    hold: Duration,
    ttl_s: u64,
) -> Result<(), ApiError> {
    let mutex = ClusterMutex::new(api.clone(), MUTEX_NAME).with_ttl(Duration::from_secs(ttl_s));
    let guard = mutex.lock().await?;
    if api.kv_get(INSIDE_KEY).await?.is_some() {
        increment(api, VIOLATIONS_KEY).await?;
    }
    // The marker expires after half the lock's TTL: a copy that dies in here leaves
    // its lock for one TTL, and the marker must be gone by the time the next copy
    // gets in, or that copy would count a violation that never happened. (So keep
    // `hold_ms` below that, or the marker disappears while its holder is inside.)
    let marker_ttl = Duration::from_secs(ttl_s.div_ceil(2));
    api.kv_set_with_expiry(INSIDE_KEY, guard.token(), marker_ttl)
        .await?;
    tokio::time::sleep(hold).await;
    // Only our own marker: should the mutex have failed, another copy's stays put
    // for the next one to find.
    api.kv_compare_and_delete(INSIDE_KEY, guard.token().as_bytes())
        .await?;
    // An early return above drops the guard, which releases the lock in the
    // background.
    guard.unlock().await?;
    Ok(())
}
