//! The relay's one clock. Handlers, the waiting read, the rate limits and the sweeper read the
//! time here and nowhere else, so a test can move the time forward (an expiry, a wait's end, a
//! refilled rate limit) without sleeping.
//!
//! A clock is the system clock plus an offset that only [`Clock::advance`] changes, and only on
//! a clock made with [`Clock::movable`]: the relay's default, [`Clock::system`], cannot be moved.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// The time as the relay sees it. Cheap to clone; clones share their offset.
#[derive(Clone, Default)]
pub struct Clock {
    /// The offset added to the system time, and the news that it moved. `None`: the system
    /// clock, which never moves.
    offset: Option<Arc<watch::Sender<Duration>>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.offset {
            None => f.write_str("Clock::system"),
            Some(offset) => write!(f, "Clock::movable(+{:?})", *offset.borrow()),
        }
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { offset: None }
    }

    /// A clock that starts at the system time and that [`Clock::advance`] moves forward; for
    /// tests.
    pub fn movable() -> Self {
        Self { offset: Some(Arc::new(watch::channel(Duration::ZERO).0)) }
    }

    /// Moves the time forward by `by`, and ends every [`Clock::sleep_until`] that this reaches.
    ///
    /// # Panics
    /// On the system clock, which must never move.
    pub fn advance(&self, by: Duration) {
        let offset = self.offset.as_ref().expect("the system clock cannot be moved");
        offset.send_modify(|offset| *offset += by);
    }

    fn offset(&self) -> Duration {
        self.offset.as_ref().map_or(Duration::ZERO, |offset| *offset.borrow())
    }

    /// Seconds since the Unix epoch: what expirations are compared with.
    pub fn unix_now(&self) -> i64 {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        i64::try_from((since_epoch + self.offset()).as_secs()).unwrap_or(i64::MAX)
    }

    /// A monotonic instant: what rate limits and waits are measured with.
    pub fn instant(&self) -> Instant {
        Instant::now() + self.offset()
    }

    /// Sleeps until [`Clock::instant`] reaches `deadline`, whether real time passes or the
    /// clock is moved.
    pub async fn sleep_until(&self, deadline: Instant) {
        let Some(offset) = &self.offset else {
            return tokio::time::sleep_until(deadline.into()).await;
        };
        let mut moved = offset.subscribe();
        loop {
            let left = deadline.saturating_duration_since(self.instant());
            if left.is_zero() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(left) => {}
                // The sender lives as long as this clock does, so this only fails with it gone.
                changed = moved.changed() => if changed.is_err() { return },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_movable_clock_moves_both_times_and_its_clones() {
        let clock = Clock::movable();
        let (unix, instant) = (clock.unix_now(), clock.instant());
        clock.clone().advance(Duration::from_secs(3600));
        assert!(clock.unix_now() >= unix + 3600);
        assert!(clock.instant() >= instant + Duration::from_secs(3600));
    }

    #[test]
    #[should_panic(expected = "the system clock cannot be moved")]
    fn the_system_clock_does_not_move() {
        Clock::system().advance(Duration::from_secs(1));
    }

    #[tokio::test]
    async fn moving_the_clock_ends_a_sleep() {
        let clock = Clock::movable();
        let deadline = clock.instant() + Duration::from_secs(3600);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(deadline).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!sleeper.is_finished(), "woke before its deadline");
        clock.advance(Duration::from_secs(3600));
        tokio::time::timeout(Duration::from_secs(10), sleeper)
            .await
            .expect("the sleep ended when the clock passed its deadline")
            .unwrap();
    }
}
