//! A bound on the memory that webhook bodies take while they are received. A body must be read
//! whole before its signature can be checked, so without a bound anyone who can reach the port
//! could make the process hold `max_body_bytes` for every connection they open. Bodies being
//! received share a budget of [`BODIES`] maximum-size bodies; a request that finds it spent is
//! answered `503` with `Retry-After` at once, which providers retry, and holds nothing.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many bodies of `max_body_bytes` may be held at once.
pub const BODIES: u64 = 64;

/// The budget is counted in KiB, so one reservation fits the semaphore's `u32`.
const UNIT: u64 = 1024;

pub struct BodyBudget {
    units: Arc<Semaphore>,
    max_body: u64,
}

impl BodyBudget {
    pub fn new(max_body: u64) -> BodyBudget {
        let total = units(max_body).saturating_mul(BODIES as u32) as usize;
        BodyBudget {
            units: Arc::new(Semaphore::new(total.min(Semaphore::MAX_PERMITS))),
            max_body,
        }
    }

    /// Reserves room for a body of the declared length (the maximum when none is declared),
    /// held until the permit is dropped; `None` when the budget is spent.
    pub fn reserve(&self, declared: Option<u64>) -> Option<OwnedSemaphorePermit> {
        let bytes = declared.map_or(self.max_body, |d| d.min(self.max_body));
        self.units.clone().try_acquire_many_owned(units(bytes)).ok()
    }
}

/// `bytes` in whole units, at least one: an empty body still holds a request's buffers.
fn units(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT))
        .unwrap_or(u32::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_sixty_four_bodies_of_the_maximum_size() {
        let budget = BodyBudget::new(1024 * 1024);
        let held: Vec<_> = (0..BODIES)
            .map(|_| budget.reserve(Some(1024 * 1024)).expect("room"))
            .collect();
        assert!(budget.reserve(Some(1)).is_none(), "spent");
        drop(held);
        assert!(budget.reserve(None).is_some(), "given back when dropped");
    }

    #[test]
    fn small_bodies_take_only_their_size_and_undeclared_ones_the_maximum() {
        let budget = BodyBudget::new(64 * 1024);
        let small: Vec<_> = (0..BODIES * 64 - 1)
            .map(|_| budget.reserve(Some(100)).expect("a KiB each"))
            .collect();
        assert!(
            budget.reserve(None).is_none(),
            "an undeclared length counts as the maximum"
        );
        assert!(
            budget.reserve(Some(10 * 1024 * 1024)).is_none(),
            "so does one over it"
        );
        assert!(budget.reserve(Some(0)).is_some(), "the last unit");
        drop(small);
    }

    #[test]
    fn a_huge_maximum_does_not_overflow() {
        let budget = BodyBudget::new(u64::MAX);
        assert!(budget.reserve(None).is_some());
    }
}
