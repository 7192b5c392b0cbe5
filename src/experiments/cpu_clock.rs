//! The CPU time of the calling thread: what `gd_cpu_seconds` and `spectra_cpu_seconds` sum.
//!
//! A wall-clock duration measured around a unit of work counts the time its thread spends
//! waiting for a core too, so under load (other processes, more rayon threads than free cores)
//! it overstates the CPU the work used several times over. The thread's own CPU clock
//! (POSIX `CLOCK_THREAD_CPUTIME_ID`: user plus system time of this thread only) does not: read
//! it before and after the work, on the thread that does it. Every unit of [`super::work`] runs
//! on one thread from start to end (its linear algebra is sequential, `faer::Par::Seq`), so the
//! per-unit differences summed over units are the experiment's CPU time.

/// Seconds of CPU time the calling thread has used so far (user + system). On a platform
/// without a per-thread CPU clock (not unix) this falls back to a monotonic wall clock, which
/// overstates CPU time under load.
pub fn thread_cpu_seconds() -> f64 {
    imp::now()
}

/// A stopwatch on the calling thread's CPU clock.
#[derive(Clone, Copy, Debug)]
pub struct CpuClock {
    start: f64,
}

impl CpuClock {
    /// Starts measuring the calling thread's CPU time.
    pub fn start() -> Self {
        CpuClock { start: thread_cpu_seconds() }
    }
    /// CPU seconds the calling thread used since [`CpuClock::start`] (never negative). Read it
    /// on the thread that started the clock: another thread's clock is another clock.
    pub fn seconds(&self) -> f64 {
        (thread_cpu_seconds() - self.start).max(0.0)
    }
}

#[cfg(unix)]
mod imp {
    pub fn now() -> f64 {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes into it.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc != 0 {
            return 0.0;
        }
        ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
    }
}

#[cfg(not(unix))]
mod imp {
    use std::sync::OnceLock;
    use std::time::Instant;
    pub fn now() -> f64 {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64()
    }
}
