//! The one retry schedule: exponential backoff with full jitter. Workers, polls, sinks and
//! actions all wait this way, so a crowd of failures spreads out instead of retrying in step.

use std::time::Duration;

use rand::Rng;

/// How many attempts workers, sinks and actions make unless the config says otherwise.
pub fn default_max_attempts() -> u32 {
    8
}

/// The first retry's ceiling unless the config says otherwise.
pub fn default_base() -> Duration {
    Duration::from_secs(2)
}

/// The cap on a retry's ceiling unless the config says otherwise.
pub fn default_max() -> Duration {
    Duration::from_secs(15 * 60)
}

/// A random delay between zero and [`exponential`]`(base, max, attempt)`.
pub fn full_jitter(base: Duration, max: Duration, attempt: u32) -> Duration {
    let ceiling = exponential(base, max, attempt);
    rand::thread_rng().gen_range(Duration::ZERO..=ceiling)
}

/// `base · 2^(attempt-1)`, capped at `max`. `attempt` counts from 1.
pub fn exponential(base: Duration, max: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1u32 << attempt.saturating_sub(1).min(30))
        .min(max)
}

/// How many attempts in a row at one item may get no answer before it is given up on after
/// all: with the default schedule (2 s doubling up to 15 minutes, full jitter) about half a
/// day. An outage shorter than that loses nothing; an item that is never answered (a
/// receiver crashing on that one payload, a gateway always timing out on it) does not hold
/// up everything behind it for good.
pub const MAX_UNANSWERED: u32 = 96;

/// What one more failed attempt at an item (a sink's or an action's next event) comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after the backoff of this attempt number.
    Retry(u32),
    GiveUp,
}

/// The rule sinks and actions share. `answered` failed attempts (this one included, if it got
/// an answer) count towards `max_attempts`; `unanswered` ones in a row (this one included, if
/// it got none) only pace the retries, until [`MAX_UNANSWERED`] of them, or for good while
/// `waiting_for_user` (an account to re-authorize).
pub fn verdict(
    (answered, unanswered): (u32, u32),
    got_answer: bool,
    waiting_for_user: bool,
    max_attempts: u32,
) -> Verdict {
    let (count, limit) = if got_answer {
        (answered, max_attempts)
    } else if waiting_for_user {
        (unanswered, u32::MAX)
    } else {
        (unanswered, MAX_UNANSWERED)
    };
    if count >= limit {
        Verdict::GiveUp
    } else {
        Verdict::Retry(count)
    }
}

/// The unanswered attempts in a row at an item after one more failed attempt at it: an
/// answered failure ends the run, one without an answer lengthens it, and one made while
/// `waiting_for_user` does neither (the far end was not asked).
pub fn unanswered_run(in_a_row: u32, got_answer: bool, waiting_for_user: bool) -> u32 {
    match (got_answer, waiting_for_user) {
        (true, _) => 0,
        (false, true) => in_a_row,
        (false, false) => in_a_row.saturating_add(1),
    }
}

/// A request that got no answer about what it asked: the far end down or unreachable, out of
/// time, or a gateway in front of it saying so (502, 503, 504), after the retries it had.
/// Whoever counts attempts at an item towards giving up on it does not count this one: an
/// outage is not the item's fault.
#[derive(Debug)]
pub struct Unanswered(pub String);

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unanswered {}

/// Whether an error is, or was caused by, a request that got no answer: an [`Unanswered`], or
/// a connection or timeout error of the HTTP client.
pub fn unanswered(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<Unanswered>()
            || cause
                .downcast_ref::<reqwest::Error>()
                .is_some_and(|e| e.is_connect() || e.is_timeout())
    })
}

/// Whether a status says a gateway had no answer from what is behind it, or the service is
/// down for now.
pub fn gateway_unanswered(status: reqwest::StatusCode) -> bool {
    use reqwest::StatusCode;
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The pause a loop takes after something that failed, doubling with each failure in a row up
/// to a cap and gone after a success: a broken store (a full disk) is neither hammered nor
/// logged ten times a second, and the loop resumes soon after it heals.
pub struct Pause {
    base: Duration,
    max: Duration,
    failures_in_a_row: u32,
}

impl Pause {
    pub fn new(base: Duration, max: Duration) -> Pause {
        Pause {
            base,
            max,
            failures_in_a_row: 0,
        }
    }

    /// How long to wait after one more failure.
    pub fn failed(&mut self) -> Duration {
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
        exponential(self.base, self.max, self.failures_in_a_row)
    }

    /// A success: the next failure pauses for `base` again.
    pub fn succeeded(&mut self) {
        self.failures_in_a_row = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn exponential_doubles_up_to_the_cap() {
        let (base, max) = (Duration::from_millis(100), Duration::from_secs(2));
        let delays: Vec<u128> = (0..8)
            .map(|attempt| exponential(base, max, attempt).as_millis())
            .collect();
        assert_eq!(delays, [100, 100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(exponential(base, max, u32::MAX), max);
    }

    #[test]
    fn a_pause_doubles_with_failures_in_a_row_and_a_success_ends_it() {
        let mut pause = Pause::new(Duration::from_millis(100), Duration::from_millis(500));
        let mut waits: Vec<u128> = (0..4).map(|_| pause.failed().as_millis()).collect();
        pause.succeeded();
        waits.push(pause.failed().as_millis());
        assert_eq!(waits, [100, 200, 400, 500, 100]);
    }

    #[test]
    fn answered_failures_use_up_attempts_and_unanswered_ones_only_a_long_run() {
        assert_eq!(verdict((2, 0), true, false, 3), Verdict::Retry(2));
        assert_eq!(verdict((3, 0), true, false, 3), Verdict::GiveUp);
        assert_eq!(
            verdict((9, 5), false, false, 3),
            Verdict::Retry(5),
            "no answer: no attempt"
        );
        assert_eq!(
            verdict((0, MAX_UNANSWERED), false, false, 3),
            Verdict::GiveUp
        );
        let waiting = verdict((0, MAX_UNANSWERED + 1), false, true, 3);
        assert_eq!(
            waiting,
            Verdict::Retry(MAX_UNANSWERED + 1),
            "the user is waited for"
        );
    }

    #[test]
    fn capped_and_jittered() {
        let (base, max) = (Duration::from_secs(2), Duration::from_secs(60));
        for attempt in 1..40 {
            let delay = full_jitter(base, max, attempt).as_millis();
            let ceiling = (2000u128 << (attempt - 1).min(30)).min(60_000);
            assert!(delay <= ceiling, "attempt {attempt}: {delay}");
        }
        let spread: HashSet<u128> = (0..50)
            .map(|_| full_jitter(base, max, 6).as_millis())
            .collect();
        assert!(spread.len() > 10, "full jitter spreads retries");
    }

    #[test]
    fn a_base_under_a_millisecond_still_waits() {
        let (base, max) = (Duration::from_micros(500), Duration::from_secs(1));
        let waited = (0..50).filter(|_| !full_jitter(base, max, 1).is_zero());
        assert!(waited.count() > 40, "retries would come at once");
    }
}
