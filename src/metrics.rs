//! Prometheus metrics of `trmctl serve` for `GET /metrics` (SPEC §5): webhook deliveries by
//! integration and outcome, queue depth, worker latency and outcomes, dead letters, deliveries
//! per inbox commit, the scheduler's poll runs by integration and outcome, and log lines
//! dropped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub integration: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationLabels {
    pub integration: String,
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    pub deliveries: Family<OutcomeLabels, Counter>,
    pub processed: Family<OutcomeLabels, Counter>,
    pub worker_seconds: Family<IntegrationLabels, Histogram>,
    pub queue_depth: Gauge,
    pub dead_letters: Gauge,
    /// Deliveries per inbox commit: how well group commit shares its fsyncs.
    pub inbox_commit_deliveries: Histogram,
    pub log_lines_dropped: Gauge,
    poll_runs: Family<OutcomeLabels, Counter>,
    poll_events: Family<IntegrationLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("trmctl");
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook requests by integration and outcome (accepted, duplicate, unauthorized, …)",
            deliveries.clone(),
        );
        let processed = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "worker_deliveries",
            "Deliveries processed into events, by outcome (done, retry, dead): by the workers, or at once by the inbox writer",
            processed.clone(),
        );
        let worker_seconds = Family::<IntegrationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0])
        });
        registry.register(
            "worker_seconds",
            "Time to turn one delivery into events",
            worker_seconds.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Deliveries waiting to be processed",
            queue_depth.clone(),
        );
        let dead_letters = Gauge::default();
        registry.register(
            "dead_letters",
            "Deliveries parked as dead letters",
            dead_letters.clone(),
        );
        let inbox_commit_deliveries = Histogram::new([
            1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
        ]);
        registry.register(
            "inbox_commit_deliveries",
            "Deliveries stored by one inbox commit (group commit: one fsync for all of them)",
            inbox_commit_deliveries.clone(),
        );
        let log_lines_dropped = Gauge::default();
        registry.register(
            "log_lines_dropped",
            "Log lines dropped because stderr was not read fast enough",
            log_lines_dropped.clone(),
        );
        let poll_runs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "poll_runs",
            "Scheduled polls by integration and outcome (ok, error)",
            poll_runs.clone(),
        );
        let poll_events = Family::<IntegrationLabels, Counter>::default();
        registry.register(
            "poll_events",
            "Events stored by scheduled polls",
            poll_events.clone(),
        );
        Metrics {
            registry,
            poll_runs,
            poll_events,
            deliveries,
            processed,
            worker_seconds,
            queue_depth,
            dead_letters,
            inbox_commit_deliveries,
            log_lines_dropped,
        }
    }
}

impl Metrics {
    /// Counts one webhook request.
    pub fn delivery(&self, integration: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&OutcomeLabels {
                integration: integration.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Counts one worker attempt and its duration.
    pub fn processed(&self, integration: &str, outcome: &str, seconds: f64) {
        self.processed
            .get_or_create(&OutcomeLabels {
                integration: integration.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
        self.worker_seconds
            .get_or_create(&IntegrationLabels {
                integration: integration.to_string(),
            })
            .observe(seconds);
    }

    /// Counts one scheduled poll: its outcome and the events it stored.
    pub fn poll(&self, integration: &str, ok: bool, events: u64) {
        let labels = IntegrationLabels {
            integration: integration.to_string(),
        };
        self.poll_runs
            .get_or_create(&OutcomeLabels {
                integration: labels.integration.clone(),
                outcome: if ok { "ok" } else { "error" }.to_string(),
            })
            .inc();
        self.poll_events.get_or_create(&labels).inc_by(events);
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
