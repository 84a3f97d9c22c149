//! A virtual clock: time moves only when the simulation says so.
//!
//! [`SimClock`] implements [`Clock`] for the simulator. Nothing reads the host's clocks, so
//! expiry, everysec syncs and snapshot schedules replay exactly from a seed.
//!
//! Two views of one timeline, because the log writer is a real thread:
//!
//! ```text
//!  driver thread (the workload)       device threads (the log writer, ...)
//!  reads `driver_ns`                  reads `device_ns`
//!  advance(), settle()                every disk operation they make: latch_device()
//!                                        device_ns = max(device_ns, driver_ns) + latency
//! ```
//!
//! The driver thread is the one that made the clock (or called [`SimClock::drive_here`]); it
//! runs the workload and moves time between operations. Any other thread sees *device time*:
//! the driver's time as of that thread's last disk operation, plus the virtual latency of the
//! operations it made since. A device thread's view therefore depends only on the order of
//! its own disk operations, never on how far the driver got meanwhile, which is what makes a
//! background writer's timing decisions (is an everysec sync due?) reproducible. A device
//! thread that waits idle sees time stand still until its next disk operation; the simulator
//! documents the consequence (an idle log is not synced by its timer) in `docs/fault-model.md`.
//!
//! Invariants:
//! - Both views only move forward, and `device_ns <= driver_ns` after [`SimClock::settle`]
//!   (the driver folds device latency into its own time when it catches up).
//! - `now_ms` is `wall_origin_ms` plus the same view's monotonic time: the wall clock never
//!   jumps in the simulation (clock jumps are not in the fault model yet).
//!
//! Fault assumptions: none of its own; slow I/O is modelled by the disk adding latency here.

use std::fmt;
use std::sync::Mutex;
use std::thread::{self, ThreadId};

use crate::io::Clock;

/// Nanoseconds per millisecond.
const NS_PER_MS: u64 = 1_000_000;

/// The simulator's virtual clock; see the module documentation.
pub struct SimClock {
    state: Mutex<ClockState>,
    /// Milliseconds since the Unix epoch at monotonic time 0.
    wall_origin_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct ClockState {
    driver: ThreadId,
    driver_ns: u64,
    device_ns: u64,
    /// Virtual latency of the driver's own disk operations, folded in at the next settle.
    driver_latency_ns: u64,
}

impl SimClock {
    /// A clock at monotonic time 0 whose wall clock reads `wall_origin_ms`, driven by the
    /// calling thread.
    #[must_use]
    pub fn new(wall_origin_ms: u64) -> Self {
        Self {
            state: Mutex::new(ClockState {
                driver: thread::current().id(),
                driver_ns: 0,
                device_ns: 0,
                driver_latency_ns: 0,
            }),
            wall_origin_ms,
        }
    }

    /// Makes the calling thread the driver.
    pub fn drive_here(&self) {
        self.lock().driver = thread::current().id();
    }

    /// Moves the driver's time forward by `delta_ns`.
    pub fn advance(&self, delta_ns: u64) {
        let mut state = self.lock();
        state.driver_ns = state.driver_ns.saturating_add(delta_ns);
    }

    /// The driver's time, whichever thread asks.
    #[must_use]
    pub fn driver_ns(&self) -> u64 {
        self.lock().driver_ns
    }

    /// The device threads' time, whichever thread asks.
    #[must_use]
    pub fn device_ns(&self) -> u64 {
        self.lock().device_ns
    }

    /// Catches the driver up: adds the latency of its own disk operations, and moves it to
    /// the device time if a device thread's operations took it further. Call only while no
    /// device thread is making disk operations (the simulator settles after each step).
    pub fn settle(&self) {
        let mut state = self.lock();
        let latency_ns = std::mem::take(&mut state.driver_latency_ns);
        state.driver_ns = state
            .driver_ns
            .saturating_add(latency_ns)
            .max(state.device_ns);
        assert!(state.device_ns <= state.driver_ns);
    }

    /// Accounts one disk operation taking `latency_ns` of virtual time on the calling thread:
    /// the driver owes it until the next settle; a device thread latches the driver's time
    /// and adds it. Returns the calling thread's time after the operation.
    pub fn on_io(&self, latency_ns: u64) -> u64 {
        let mut state = self.lock();
        if thread::current().id() == state.driver {
            state.driver_latency_ns = state.driver_latency_ns.saturating_add(latency_ns);
            state.driver_ns
        } else {
            state.device_ns = state
                .device_ns
                .max(state.driver_ns)
                .saturating_add(latency_ns);
            state.device_ns
        }
    }

    fn view_ns(&self) -> u64 {
        let state = self.lock();
        if thread::current().id() == state.driver {
            state.driver_ns
        } else {
            state.device_ns
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        // The state is two integers and a thread id: a panic elsewhere cannot leave it torn.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.wall_origin_ms
            .saturating_add(self.view_ns() / NS_PER_MS)
    }

    fn monotonic_ns(&self) -> u64 {
        self.view_ns()
    }

    /// Virtual sleep: the driver's time jumps to the deadline; a device thread's view does
    /// (time it waits idle is time nobody else can observe it using).
    fn sleep_until(&self, deadline_ns: u64) {
        let mut state = self.lock();
        if thread::current().id() == state.driver {
            state.driver_ns = state.driver_ns.max(deadline_ns);
        } else {
            state.device_ns = state.device_ns.max(deadline_ns);
        }
    }
}

impl fmt::Debug for SimClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = *self.lock();
        f.debug_struct("SimClock")
            .field("driver_ns", &state.driver_ns)
            .field("device_ns", &state.device_ns)
            .field("wall_origin_ms", &self.wall_origin_ms)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_moves_only_when_told() {
        let clock = SimClock::new(1_000);
        assert_eq!(clock.monotonic_ns(), 0);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(5 * NS_PER_MS);
        assert_eq!(clock.monotonic_ns(), 5 * NS_PER_MS);
        assert_eq!(clock.now_ms(), 1_005);
        clock.sleep_until(7 * NS_PER_MS);
        assert_eq!(clock.monotonic_ns(), 7 * NS_PER_MS);
        clock.sleep_until(1); // In the past: no change.
        assert_eq!(clock.monotonic_ns(), 7 * NS_PER_MS);
    }

    #[test]
    fn device_threads_see_latched_time_and_the_driver_catches_up() {
        let clock = std::sync::Arc::new(SimClock::new(0));
        clock.advance(100);
        let device = std::sync::Arc::clone(&clock);
        let seen = thread::spawn(move || {
            let before = device.monotonic_ns(); // No disk operation yet: device time 0.
            let after_io = device.on_io(10);
            (before, after_io, device.monotonic_ns())
        })
        .join()
        .unwrap_or((0, 0, 0));
        assert_eq!(seen, (0, 110, 110));
        // The driver's own operation is owed until it settles.
        assert_eq!(clock.on_io(3), 100);
        assert_eq!(clock.monotonic_ns(), 100);
        clock.settle();
        assert_eq!(clock.monotonic_ns(), 110); // max(100 + 3, 110)
        assert_eq!(clock.device_ns(), 110);
    }
}
