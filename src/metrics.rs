//! Prometheus metrics of `trmctl serve` for `GET /metrics` (SPEC §5): webhook deliveries by
//! integration and outcome, queue depth, worker latency and outcomes, dead letters, deliveries
//! per inbox commit, the scheduler's poll runs by integration and outcome, and log lines
//! dropped.

use std::collections::HashSet;

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

    /// Every metric in the exposition format asked for.
    pub fn encode(&self, format: Exposition) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        match format {
            Exposition::OpenMetrics => text,
            Exposition::PrometheusText => prometheus_text(&text),
        }
    }
}

/// The two text formats of `GET /metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposition {
    /// OpenMetrics 1.0, which Prometheus asks for first.
    OpenMetrics,
    /// The Prometheus text format 0.0.4: what curl and scrapers that name no format get.
    PrometheusText,
}

impl Exposition {
    /// The format an `Accept` header asks for: OpenMetrics when it ranks
    /// `application/openmetrics-text` above zero and no lower than anything else it accepts,
    /// else the Prometheus text format.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let (mut openmetrics, mut other) = (0.0_f32, 0.0_f32);
        for range in accept.unwrap_or("").split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            if media.is_empty() {
                continue;
            }
            let q = parts
                .find_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .map_or(Some(1.0), |q| q.parse::<f32>().ok())
                .unwrap_or(0.0);
            let best = if media == "application/openmetrics-text" {
                &mut openmetrics
            } else {
                &mut other
            };
            *best = best.max(q);
        }
        if openmetrics > 0.0 && openmetrics >= other {
            Exposition::OpenMetrics
        } else {
            Exposition::PrometheusText
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Exposition::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// OpenMetrics text rewritten as Prometheus text 0.0.4: a counter's HELP and TYPE lines name
/// its samples (`…_total`), and there is no `# UNIT` or `# EOF` line. Samples are the same.
fn prometheus_text(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let counter_line = ["# HELP ", "# TYPE "].into_iter().find_map(|prefix| {
            let (name, rest) = line.strip_prefix(prefix)?.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {rest}"))
        });
        text.push_str(counter_line.as_deref().unwrap_or(line));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_asks_for_openmetrics_and_everyone_else_gets_prometheus_text() {
        // What Prometheus 3 sends by default.
        let prometheus = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
            application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;q=0.3,\
            text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        let cases = [
            (Some(prometheus), Exposition::OpenMetrics),
            (
                Some("application/openmetrics-text"),
                Exposition::OpenMetrics,
            ),
            (
                Some("Application/OpenMetrics-Text; Q=0.9, */*; q=0.8"),
                Exposition::OpenMetrics,
            ),
            (None, Exposition::PrometheusText),
            (Some("*/*"), Exposition::PrometheusText),
            (Some(""), Exposition::PrometheusText),
            (Some("text/plain;version=0.0.4"), Exposition::PrometheusText),
            (
                Some("application/openmetrics-text;q=0"),
                Exposition::PrometheusText,
            ),
            (
                Some("application/openmetrics-text;q=0.2, text/plain;q=0.9"),
                Exposition::PrometheusText,
            ),
            (
                Some("application/openmetrics-text;q=nonsense"),
                Exposition::PrometheusText,
            ),
        ];
        for (accept, expected) in cases {
            assert_eq!(Exposition::negotiate(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn prometheus_text_names_counters_by_their_samples_and_has_no_eof() {
        let metrics = Metrics::default();
        metrics.delivery("gh", "accepted");
        metrics.queue_depth.set(3);
        let openmetrics = metrics.encode(Exposition::OpenMetrics);
        assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
        assert!(openmetrics.contains("# TYPE trmctl_webhook_deliveries counter\n"));

        let text = metrics.encode(Exposition::PrometheusText);
        assert!(!text.contains("# EOF"), "{text}");
        assert!(
            text.contains("# TYPE trmctl_webhook_deliveries_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP trmctl_webhook_deliveries_total Webhook requests"),
            "{text}"
        );
        assert!(text.contains(
            "\ntrmctl_webhook_deliveries_total{integration=\"gh\",outcome=\"accepted\"} 1\n"
        ));
        assert!(
            text.contains("# TYPE trmctl_queue_depth gauge\ntrmctl_queue_depth 3\n"),
            "{text}"
        );
        // Every sample line is kept as it was.
        let samples = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(samples(&text), samples(&openmetrics));
    }
}
