//! Optional CPU profiles of the server, one per run: with `AUTHFORT_BENCH_PERF=DIR` set,
//! each run is recorded by `perf record` (software clock, so it works in VMs without
//! hardware counters) into `DIR/<system>-<db>-<flow>-c<n>.data`; read them with
//! `perf report -i FILE --no-children`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::scenario::Flow;
use crate::target::Target;

/// Starts `perf record` on `pid` when profiling is asked for.
pub fn start(pid: u32, target: &Target, flow: Flow, concurrency: usize) -> anyhow::Result<Option<Child>> {
    let Some(dir) = std::env::var_os("AUTHFORT_BENCH_PERF") else {
        return Ok(None);
    };
    std::fs::create_dir_all(&dir)?;
    let name: String = format!(
        "{}-{}-{}-c{concurrency}.data",
        target.system.label(),
        target.db.label(),
        flow.label()
    )
    .chars()
    .map(|c| {
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            c
        } else {
            '_'
        }
    })
    .collect();
    let child = Command::new("perf")
        .args([
            "record",
            "-q",
            "-e",
            "cpu-clock",
            "-F",
            "999",
            "-g",
            "-p",
            &pid.to_string(),
            "-o",
        ])
        .arg(std::path::Path::new(&dir).join(name))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // Let perf attach before the load starts.
    std::thread::sleep(Duration::from_millis(300));
    Ok(Some(child))
}

/// Stops a recording (SIGINT, so perf writes its file) and waits for it.
pub fn stop(child: Option<Child>) {
    if let Some(mut child) = child {
        let _ = Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
        let _ = child.wait();
    }
}
