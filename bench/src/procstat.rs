//! A server process's CPU time and memory, read from `/proc` (Linux).

use std::fs;

/// CPU seconds (user + system, all threads) and memory of one process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// User + system CPU seconds since the process started.
    pub cpu_seconds: f64,
    /// Resident set size now, MiB.
    pub rss_mib: f64,
    /// Peak resident set size since start or the last [`reset_peak`], MiB.
    pub peak_rss_mib: f64,
}

/// Reads the process's counters.
pub fn sample(pid: u32) -> anyhow::Result<Sample> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or(&stat);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok(Sample {
        // USER_HZ is 100 on every Linux we run on.
        cpu_seconds: ticks / 100.0,
        rss_mib: kib("VmRSS:") / 1024.0,
        peak_rss_mib: kib("VmHWM:") / 1024.0,
    })
}

/// Resets the peak RSS to the current RSS (`clear_refs` 5), so a flow's peak is its own.
pub fn reset_peak(pid: u32) {
    // Best effort: without permission the peak is since process start, which only overstates.
    let _ = fs::write(format!("/proc/{pid}/clear_refs"), "5");
}
