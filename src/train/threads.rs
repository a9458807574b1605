//! Choosing, while `fit` runs, between all of rayon's threads and one.
//!
//! A training step splits its work over threads dozens of times, and each
//! split waits for its slowest part. When another program keeps a core
//! busy, the operating system deschedules one of the threads now and then,
//! the other waits, and two threads become slower than one. So `fit` runs
//! its steps in chunks of about [`CHUNK`], times a chunk on each side now
//! and then, and keeps the faster. Every kernel gives the same bits on any
//! number of threads, so the choice changes the speed only.

use std::time::{Duration, Instant};

use rayon::{ThreadPool, ThreadPoolBuilder};

/// The length of a chunk of training steps run on one choice.
pub(crate) const CHUNK: Duration = Duration::from_millis(25);

/// Chunks run on the chosen side before both are timed again, at first.
/// Each time the same side wins again the wait doubles, up to
/// [`KEEP_AT_MOST`]: a timing of one thread costs a chunk run slowly (a
/// CNN step takes about twice as long on one of two cores), which a steady
/// machine need not pay often. A change of side, or all threads becoming
/// much slower, starts again from here.
const KEEP_FOR: u32 = 16;

/// The longest wait between timings, in chunks (about three seconds).
const KEEP_AT_MOST: u32 = 128;

/// How much slower than when they were chosen all threads may get before
/// one thread is timed against them at once.
const SLOWER: f64 = 1.25;

/// Where a chunk runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// On the pool `fit` was called in (all of rayon's threads).
    All,
    /// On a pool of one thread.
    One,
}

/// What the next chunk is for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// The first chunk: buffers are sized, so it is not timed.
    WarmUp,
    /// Timing all threads.
    TimeAll,
    /// Timing one thread, all threads having taken `all` seconds a step.
    TimeOne { all: f64 },
    /// Running on the faster side, timed at `per_step` seconds a step, for
    /// `left` more chunks.
    Keep {
        side: Side,
        per_step: f64,
        left: u32,
    },
}

/// The decision alone, fed with the seconds per step each chunk took.
#[derive(Debug)]
struct Schedule {
    phase: Phase,
    /// The side the last timing chose, and for how many chunks.
    last: Option<(Side, u32)>,
}

impl Schedule {
    fn new() -> Self {
        Self {
            phase: Phase::WarmUp,
            last: None,
        }
    }

    /// How long to keep `side`: twice as long as last time if it won then
    /// too.
    fn keep(&mut self, side: Side) -> u32 {
        let chunks = match self.last {
            Some((last, chunks)) if last == side => (2 * chunks).min(KEEP_AT_MOST),
            _ => KEEP_FOR,
        };
        self.last = Some((side, chunks));
        chunks
    }

    /// The side the next chunk runs on.
    fn side(&self) -> Side {
        match self.phase {
            Phase::WarmUp | Phase::TimeAll => Side::All,
            Phase::TimeOne { .. } => Side::One,
            Phase::Keep { side, .. } => side,
        }
    }

    /// Takes note that the chunk just run took `per_step` seconds a step
    /// (`None`: too short to tell).
    fn record(&mut self, per_step: Option<f64>) {
        self.phase = match (self.phase, per_step) {
            (Phase::WarmUp, _) => Phase::TimeAll,
            (Phase::TimeAll, Some(all)) => Phase::TimeOne { all },
            (Phase::TimeOne { all }, Some(one)) => {
                // Ties go to all threads.
                let side = if one < all { Side::One } else { Side::All };
                Phase::Keep {
                    side,
                    per_step: one.min(all),
                    left: self.keep(side),
                }
            }
            // All threads have become much slower (another program took a
            // core): time one thread now. (One thread slower means the whole
            // machine is; the scheduled timing will tell.)
            (
                Phase::Keep {
                    side: Side::All,
                    per_step,
                    ..
                },
                Some(now),
            ) if now > SLOWER * per_step => {
                self.last = None;
                Phase::TimeOne { all: now }
            }
            (Phase::Keep { left: 0, .. }, _) => Phase::TimeAll,
            (
                Phase::Keep {
                    side,
                    per_step,
                    left,
                },
                _,
            ) => Phase::Keep {
                side,
                per_step,
                left: left - 1,
            },
            (phase, None) => phase,
        };
    }
}

/// Runs chunks of training on the faster side.
pub(crate) struct Threads {
    /// The one-thread pool; `None` when rayon has one thread anyway.
    one: Option<ThreadPool>,
    schedule: Schedule,
}

impl Threads {
    pub fn new() -> Self {
        let one = (rayon::current_num_threads() > 1)
            .then(|| ThreadPoolBuilder::new().num_threads(1).build().ok())
            .flatten();
        Self {
            one,
            schedule: Schedule::new(),
        }
    }

    /// Runs a chunk: `chunk` returns how many steps it took, and whatever
    /// else it has to say.
    pub fn run_chunk<R: Send>(&mut self, chunk: impl FnOnce() -> (usize, R) + Send) -> R {
        let started = Instant::now();
        let (steps, result) = match (&self.one, self.schedule.side()) {
            (Some(one), Side::One) => one.install(chunk),
            _ => on_a_worker(chunk),
        };
        let elapsed = started.elapsed();
        // A chunk cut short by the end of an epoch is too short to tell.
        let per_step =
            (steps > 0 && elapsed >= CHUNK / 2).then(|| elapsed.as_secs_f64() / steps as f64);
        if self.one.is_some() {
            self.schedule.record(per_step);
        }
        result
    }

    /// Runs `f` (an evaluation) on the side chosen for training.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match (&self.one, self.schedule.side()) {
            (Some(one), Side::One) => one.install(f),
            _ => on_a_worker(f),
        }
    }
}

/// `f()` run on one of rayon's threads (the calling thread waits): the
/// work it splits is then shared by the threads of the pool alone,
/// instead of being handed over from a thread outside it, which sleeps
/// through every split and must be woken after each one.
fn on_a_worker<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(timings: &[Option<f64>]) -> Schedule {
        let mut schedule = Schedule::new();
        for &t in timings {
            schedule.record(t);
        }
        schedule
    }

    #[test]
    fn starts_on_all_threads_and_times_both_sides() {
        assert_eq!(after(&[]).side(), Side::All);
        assert_eq!(after(&[None]).side(), Side::All);
        assert_eq!(after(&[None, Some(1.0)]).side(), Side::One);
    }

    #[test]
    fn keeps_the_faster_side_then_times_again() {
        let slower_one = after(&[None, Some(1.0), Some(1.5)]);
        assert_eq!(slower_one.side(), Side::All);
        let mut faster_one = after(&[None, Some(1.0), Some(0.8)]);
        assert_eq!(faster_one.side(), Side::One);
        for _ in 0..KEEP_FOR {
            faster_one.record(Some(0.8));
            assert_eq!(faster_one.side(), Side::One);
        }
        faster_one.record(Some(0.8));
        assert_eq!(faster_one.side(), Side::All);
        assert_eq!(faster_one.phase, Phase::TimeAll);
    }

    /// Chunks on the chosen side until both are timed again.
    fn kept_for(schedule: &mut Schedule, per_step: f64) -> u32 {
        let side = schedule.side();
        let mut chunks = 0;
        while schedule.side() == side && schedule.phase != Phase::TimeAll {
            schedule.record(Some(per_step));
            chunks += 1;
        }
        chunks
    }

    #[test]
    fn the_same_side_winning_again_is_kept_longer() {
        let mut schedule = after(&[None, Some(1.0), Some(1.5)]);
        let mut waits = Vec::new();
        for _ in 0..5 {
            waits.push(kept_for(&mut schedule, 1.0));
            // Timed again: all threads, then one thread, slower again.
            schedule.record(Some(1.0));
            schedule.record(Some(1.5));
        }
        let long = KEEP_AT_MOST + 1;
        assert_eq!(
            waits,
            [KEEP_FOR + 1, 2 * KEEP_FOR + 1, 4 * KEEP_FOR + 1, long, long]
        );
        // One thread winning starts again from the shortest wait.
        kept_for(&mut schedule, 1.0);
        schedule.record(Some(1.0));
        schedule.record(Some(0.5));
        assert_eq!(schedule.side(), Side::One);
        assert_eq!(kept_for(&mut schedule, 0.5), KEEP_FOR + 1);
        // So does all threads becoming much slower.
        let mut schedule = after(&[None, Some(1.0), Some(1.5)]);
        kept_for(&mut schedule, 1.0);
        schedule.record(Some(1.0));
        schedule.record(Some(1.5));
        schedule.record(Some(2.0));
        assert_eq!(schedule.phase, Phase::TimeOne { all: 2.0 });
        schedule.record(Some(2.5));
        assert_eq!(kept_for(&mut schedule, 2.0), KEEP_FOR + 1);
    }

    #[test]
    fn all_threads_becoming_much_slower_are_timed_against_one_at_once() {
        let mut all = after(&[None, Some(1.0), Some(1.2)]);
        all.record(Some(1.2));
        assert_eq!(all.side(), Side::All);
        all.record(Some(1.3));
        assert_eq!(all.phase, Phase::TimeOne { all: 1.3 });
        let mut one = after(&[None, Some(1.0), Some(0.5)]);
        one.record(Some(0.7));
        assert_eq!(one.side(), Side::One);
    }

    #[test]
    fn ties_go_to_all_threads_and_short_chunks_are_not_timed() {
        assert_eq!(after(&[None, Some(1.0), Some(1.0)]).side(), Side::All);
        let waiting = after(&[None, Some(1.0), None, None]);
        assert_eq!(waiting.phase, Phase::TimeOne { all: 1.0 });
    }
}
