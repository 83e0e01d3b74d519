//! `authfort-bench`: load benchmarks of AuthFort's flows against a running server over
//! loopback, side by side in one run with the reference (AuthFort 0.0.31) and Better Auth,
//! and the machine's floors (RS256 signatures/s, argon2id hashes/s). Writes
//! `docs/benchmarks.md` and `docs/benchmarks.svg`. Run it through `bench/run`.
#![forbid(unsafe_code)]

mod chart;
mod floors;
mod load;
mod procstat;
mod profile;
mod report;
mod report_env;
mod scenario;
mod systems;
mod target;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::scenario::Plan;
use crate::systems::{Ctx, Db};
use crate::target::{System, Target};

/// Load benchmarks of every flow, ours beside the reference and Better Auth.
#[derive(Debug, Parser)]
struct Args {
    /// A quick run (about a second of load per flow) that checks the harness works and
    /// every answer is 2xx; writes its report under target/bench instead of docs/.
    #[arg(long)]
    smoke: bool,
    /// Only these systems (ours, reference, better-auth); default all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Only these databases (sqlite, postgres); default both.
    #[arg(long, value_delimiter = ',')]
    db: Vec<String>,
    /// Where to write the report (default docs/benchmarks.md, or target/bench/smoke.md).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The PostgreSQL server (no database part).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize()?;
    let exe_dir = std::env::current_exe()?.parent().map(PathBuf::from).unwrap_or_default();
    let ctx = Ctx {
        work: root.join("target/bench"),
        server_bin: exe_dir.join("authfort"),
        pg_base: args.pg.clone(),
        root: root.clone(),
    };
    anyhow::ensure!(
        ctx.server_bin.is_file(),
        "{} is missing: build it with the same profile (bench/run does)",
        ctx.server_bin.display()
    );
    std::fs::create_dir_all(&ctx.work)?;
    let want = |name: &str, list: &[String]| list.is_empty() || list.iter().any(|x| x == name);
    let systems: Vec<System> = [
        (System::Ours, "ours"),
        (System::Reference, "reference"),
        (System::BetterAuth, "better-auth"),
    ]
    .into_iter()
    .filter(|(_, n)| want(n, &args.only))
    .map(|(s, _)| s)
    .collect();
    let dbs: Vec<Db> = [(Db::Sqlite, "sqlite"), (Db::Postgres, "postgres")]
        .into_iter()
        .filter(|(_, n)| want(n, &args.db))
        .map(|(d, _)| d)
        .collect();

    let plan = if args.smoke {
        Plan {
            warmup: Duration::ZERO,
            latency_window: Duration::from_secs(1),
            throughput_window: Duration::from_secs(1),
            verify_tokens: (150, 600),
        }
    } else {
        Plan {
            warmup: Duration::from_secs(1),
            latency_window: Duration::from_secs(4),
            throughput_window: Duration::from_secs(8),
            verify_tokens: (8_000, 40_000),
        }
    };

    let venv = if systems.contains(&System::Reference) {
        Some(systems::reference::setup(&ctx)?)
    } else {
        None
    };
    if systems.contains(&System::BetterAuth) {
        systems::better_auth::setup(&ctx)?;
    }

    let hashing = authfort_core::config::PasswordHashingConfig::default();
    let measure_floors = || -> anyhow::Result<floors::Floors> {
        eprintln!("measuring the floors (RS256 signatures/s, argon2id hashes/s)…");
        let window = if args.smoke {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(3)
        };
        let floors = floors::measure(window, (hashing.memory_kib, hashing.iterations, hashing.parallelism))?;
        eprintln!(
            "floors: {:.0} RS256 signatures/s, {:.1} argon2id hashes/s ({} threads)",
            floors.rs256_per_s, floors.argon2_per_s, floors.threads
        );
        Ok(floors)
    };
    let floors_before = measure_floors()?;

    let mut results = Vec::new();
    let mut log = |line: &str| eprintln!("{line}");
    for &db in &dbs {
        for &system in &systems {
            if system == System::BetterAuth && db != Db::Sqlite {
                continue;
            }
            let plan = scale_for(system, plan, args.smoke);
            let target = Target::start(&ctx, system, db, venv.as_deref()).await?;
            results.push(scenario::run_all(&target, plan, &mut log).await?);
        }
    }

    let floors = floors::Floors::mean(floors_before, measure_floors()?);
    let report = report::Report {
        smoke: args.smoke,
        floors,
        results,
        plan,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        hashing_pool: hashing.max_concurrent,
    };
    let out = args.out.unwrap_or_else(|| {
        if args.smoke {
            ctx.work.join("smoke.md")
        } else {
            root.join("docs/benchmarks.md")
        }
    });
    let svg = out.with_extension("svg");
    std::fs::create_dir_all(out.parent().unwrap_or(&root))?;
    // The report first: it reads `git describe --dirty`, which must see the tree as it was
    // measured, before this run's chart overwrites a tracked file.
    let markdown = report.markdown(&ctx, svg.file_name().and_then(|n| n.to_str()).unwrap_or(""));
    std::fs::write(&svg, chart::svg(&report))?;
    std::fs::write(&out, markdown)?;
    eprintln!("wrote {} and {}", out.display(), svg.display());
    let invalid = report.invalid_runs();
    anyhow::ensure!(
        invalid.is_empty(),
        "runs with non-2xx answers or errors (not valid results): {}",
        invalid.join("; ")
    );
    Ok(())
}

/// The peers are one to two orders of magnitude slower: mint fewer tokens for them.
fn scale_for(system: System, plan: Plan, smoke: bool) -> Plan {
    let (a, b) = plan.verify_tokens;
    let verify_tokens = match (system, smoke) {
        (System::Ours, _) => (a, b),
        (System::Reference, false) => (800, 2_500),
        (System::BetterAuth, false) => (3_000, 8_000),
        (_, true) => (60, 200),
    };
    Plan { verify_tokens, ..plan }
}
