//! Prometheus metrics of this node (`prometheus-client`), served in the text format at
//! `/metrics` on a listener of its own when `MetricsSettings.Enable` is on, as in
//! Mattermost. Counters are bumped where things happen; the hub's gauges (open sockets,
//! resume-backlog bytes) are read at each scrape.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HookLabels {
    pub plugin_id: String,
    pub hook: String,
}

pub struct Metrics {
    registry: Registry,
    pub login_failed: Counter,
    pub login_locked: Counter,
    pub login_throttled: Counter,
    pub password_hash_busy: Counter,
    pub websockets_refused: Counter,
    pub resume_states_dropped: Counter,
    websockets_open: Gauge,
    resume_backlog_bytes: Gauge,
    /// Seconds from a cluster message's sending on one node to its arrival here.
    pub bus_lag: Histogram,
    pub hook_seconds: Family<HookLabels, Histogram>,
    pub hook_failures: Family<HookLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("chorus");
        let login_failed = Counter::default();
        let login_locked = Counter::default();
        let login_throttled = Counter::default();
        let password_hash_busy = Counter::default();
        let websockets_refused = Counter::default();
        let resume_states_dropped = Counter::default();
        let websockets_open = Gauge::default();
        let resume_backlog_bytes = Gauge::default();
        // 1 ms to about 16 s.
        let bus_lag = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        let hook_seconds = Family::<HookLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let hook_failures = Family::<HookLabels, Counter>::default();
        registry.register(
            "login_failures",
            "Logins refused for a wrong login id or password",
            login_failed.clone(),
        );
        registry.register(
            "login_locked",
            "Logins refused because the account is locked (ServiceSettings.MaximumLoginAttempts)",
            login_locked.clone(),
        );
        registry.register(
            "login_throttled",
            "Logins and sign-ups refused by the per-address limit (RateLimitSettings)",
            login_throttled.clone(),
        );
        registry.register(
            "password_hash_busy",
            "Logins refused because every password hashing slot stayed busy",
            password_hash_busy.clone(),
        );
        registry.register(
            "websockets_refused",
            "Websocket connections refused by a per-user, per-session or unauthenticated cap",
            websockets_refused.clone(),
        );
        registry.register(
            "websocket_resume_states_dropped",
            "Resume states of dropped websockets forgotten early to keep within WebsocketHubResumeBytes",
            resume_states_dropped.clone(),
        );
        registry.register(
            "websockets_open",
            "Websockets open on this node",
            websockets_open.clone(),
        );
        registry.register(
            "websocket_resume_backlog_bytes",
            "Bytes of events this node keeps for resuming websockets",
            resume_backlog_bytes.clone(),
        );
        registry.register(
            "cluster_bus_lag_seconds",
            "Time from a cluster message's sending on another node to its arrival on this one",
            bus_lag.clone(),
        );
        registry.register(
            "plugin_hook_duration_seconds",
            "Time plugin hooks took, per plugin and hook",
            hook_seconds.clone(),
        );
        registry.register(
            "plugin_hook_failures",
            "Plugin hook calls that failed or missed their deadline",
            hook_failures.clone(),
        );
        Metrics {
            registry,
            login_failed,
            login_locked,
            login_throttled,
            password_hash_busy,
            websockets_refused,
            resume_states_dropped,
            websockets_open,
            resume_backlog_bytes,
            bus_lag,
            hook_seconds,
            hook_failures,
        }
    }

    /// Records one hook call of `plugin_id`.
    pub fn observe_hook(&self, plugin_id: &str, hook: &str, seconds: f64, failed: bool) {
        let labels = HookLabels {
            plugin_id: plugin_id.to_string(),
            hook: hook.to_string(),
        };
        self.hook_seconds.get_or_create(&labels).observe(seconds);
        if failed {
            self.hook_failures.get_or_create(&labels).inc();
        }
    }

    /// The text exposition, with the gauges read now.
    pub fn render(&self, open_sockets: usize, backlog_bytes: usize) -> String {
        self.websockets_open.set(open_sockets as i64);
        self.resume_backlog_bytes.set(backlog_bytes as i64);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The metrics listener's routes.
pub fn router(state: Arc<crate::AppState>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<Arc<crate::AppState>>) -> impl IntoResponse {
    let (open, backlog) = state.hub.gauges();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(open, backlog),
    )
}
