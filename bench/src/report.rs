//! `docs/benchmarks.md`: the machine, the versions, the command, every run, the ratios and
//! the targets.

use std::fmt::Write as _;

use crate::floors::Floors;
use crate::scenario::{Flow, Measured, Plan, SystemResult, HIGH};
use crate::systems::{Ctx, Db};
use crate::target::System;

/// Everything one invocation measured.
pub struct Report {
    /// A smoke run (figures meaningless).
    pub smoke: bool,
    /// The floors.
    pub floors: Floors,
    /// Per system and database.
    pub results: Vec<SystemResult>,
    /// Windows and token counts (ours).
    pub plan: Plan,
    /// The command line.
    pub command: String,
    /// Our hashing pool's width.
    pub hashing_pool: usize,
}

/// A target check.
pub struct Check {
    /// What is asked.
    pub what: String,
    /// The database it was measured on.
    pub db: Db,
    /// Measured value.
    pub value: f64,
    /// Threshold.
    pub threshold: f64,
    /// Higher is better (else lower is).
    pub at_least: bool,
    /// Unit for display (`×`, `%`, `ms`, `MiB`).
    pub unit: &'static str,
}

impl Check {
    /// Whether it is met.
    pub fn met(&self) -> bool {
        if self.at_least {
            self.value >= self.threshold
        } else {
            self.value <= self.threshold
        }
    }
    fn show(&self, v: f64) -> String {
        match self.unit {
            "%" => format!("{:.0}%", v * 100.0),
            "×" => format!("{v:.1}×"),
            u => format!("{v:.1} {u}"),
        }
    }
}

impl Report {
    /// The result of `system` on `db`.
    pub fn result(&self, system: System, db: Db) -> Option<&SystemResult> {
        self.results.iter().find(|r| r.system == system && r.db == db)
    }

    /// A run of `flow` at `concurrency`.
    pub fn run(&self, system: System, db: Db, flow: Flow, concurrency: usize) -> Option<&Measured> {
        self.result(system, db)?
            .runs
            .iter()
            .find(|m| m.flow == flow && m.concurrency == concurrency)
    }

    fn rps(&self, system: System, db: Db, flow: Flow) -> Option<f64> {
        self.run(system, db, flow, HIGH).map(|m| m.outcome.rps())
    }

    /// Our runs that are not valid results (non-2xx or errors).
    pub fn invalid_runs(&self) -> Vec<String> {
        self.invalid(|s| s == System::Ours)
    }

    fn invalid(&self, which: impl Fn(System) -> bool) -> Vec<String> {
        self.results
            .iter()
            .filter(|r| which(r.system))
            .flat_map(|r| {
                r.runs.iter().filter(|m| !m.outcome.clean()).map(move |m| {
                    let what = if m.outcome.requests == 0 {
                        "no answer inside the window".to_owned()
                    } else {
                        format!("{} non-2xx, {} errors", m.outcome.non_2xx, m.outcome.errors)
                    };
                    format!(
                        "{} on {}: {} c={} ({what})",
                        r.system.label(),
                        r.db.label(),
                        m.flow.label(),
                        m.concurrency
                    )
                })
            })
            .collect()
    }

    /// Ratio targets this machine cannot meet whatever our server does: every verify and
    /// refresh signs one access token, so neither can outrun the RS256 floor, and a target
    /// asking for more than the floor is out of reach.
    pub fn bounds(&self) -> Vec<String> {
        let mut out = Vec::new();
        let floor = self.floors.rs256_per_s;
        for db in [Db::Sqlite, Db::Postgres] {
            if self.result(System::Ours, db).is_none() {
                continue;
            }
            for (flow, peer, factor) in [
                (Flow::MagicLinkVerify, System::Reference, 100.0),
                (Flow::MagicLinkVerify, System::BetterAuth, 10.0),
                (Flow::Refresh, System::Reference, 100.0),
            ] {
                let Some(theirs) = self.rps(peer, db, flow) else {
                    continue;
                };
                let needed = factor * theirs;
                if needed > floor {
                    out.push(format!(
                        "{} ≥ {factor:.0}× {} on {} needs {needed:.0}/s, above the RS256 floor of {floor:.0} signatures/s \
                         (each answer signs one access token)",
                        flow.label(),
                        peer.label(),
                        db.label()
                    ));
                }
            }
        }
        out
    }

    /// The targets of the benchmark issue, measured.
    pub fn checks(&self) -> Vec<Check> {
        let mut out = Vec::new();
        let ratio = |what: &str, db: Db, num: Option<f64>, den: Option<f64>, threshold: f64, unit| {
            let (n, d) = (num?, den?);
            (d > 0.0).then(|| Check {
                what: what.into(),
                db,
                value: n / d,
                threshold,
                at_least: true,
                unit,
            })
        };
        let limit = |what: &str, db: Db, value: Option<f64>, threshold: f64, unit| {
            Some(Check {
                what: what.into(),
                db,
                value: value?,
                threshold,
                at_least: false,
                unit,
            })
        };
        for db in [Db::Sqlite, Db::Postgres] {
            let ours = |f| self.rps(System::Ours, db, f);
            let reference = |f| self.rps(System::Reference, db, f);
            let ba = |f| self.rps(System::BetterAuth, db, f);
            use Flow::*;
            out.extend(ratio(
                "magic-link verify ÷ reference",
                db,
                ours(MagicLinkVerify),
                reference(MagicLinkVerify),
                100.0,
                "×",
            ));
            out.extend(ratio(
                "magic-link verify ÷ Better Auth",
                db,
                ours(MagicLinkVerify),
                ba(MagicLinkVerify),
                10.0,
                "×",
            ));
            out.extend(ratio(
                "magic-link verify ÷ RS256 floor",
                db,
                ours(MagicLinkVerify),
                Some(self.floors.rs256_per_s),
                0.4,
                "%",
            ));
            out.extend(ratio(
                "refresh ÷ reference",
                db,
                ours(Refresh),
                reference(Refresh),
                100.0,
                "×",
            ));
            out.extend(ratio("/me ÷ reference", db, ours(Me), reference(Me), 30.0, "×"));
            out.extend(ratio("/me ÷ Better Auth get-session", db, ours(Me), ba(Me), 10.0, "×"));
            out.extend(ratio(
                "magic-link request ÷ reference",
                db,
                ours(MagicLinkRequest),
                reference(MagicLinkRequest),
                25.0,
                "×",
            ));
            out.extend(ratio(
                "magic-link request ÷ Better Auth",
                db,
                ours(MagicLinkRequest),
                ba(MagicLinkRequest),
                5.0,
                "×",
            ));
            out.extend(ratio(
                "login ÷ argon2id floor",
                db,
                ours(Login),
                Some(self.floors.argon2_per_s),
                0.9,
                "%",
            ));
            let run = |f, c| self.run(System::Ours, db, f, c);
            let p99 = |f, c| run(f, c).map(|m: &Measured| m.outcome.ms(0.99));
            out.extend(limit(
                "magic-link request p99 at c=32",
                db,
                p99(MagicLinkRequest, HIGH),
                20.0,
                "ms",
            ));
            out.extend(limit(
                "/me p99 during the login storm",
                db,
                p99(MeDuringLogins, 1),
                50.0,
                "ms",
            ));
            let idle = self.result(System::Ours, db).map(|r| r.idle_rss_mib);
            out.extend(limit("server RSS idle", db, idle, 30.0, "MiB"));
            let memory_kib = authfort_core::config::PasswordHashingConfig::default().memory_kib;
            let budget = 30.0 + (self.hashing_pool as f64) * f64::from(memory_kib) / 1024.0;
            let storm_peak = run(MeDuringLogins, 1).map(|m| m.peak_rss_mib);
            out.extend(limit(
                "server peak RSS in the login storm (30 MiB + pool × argon2 memory)",
                db,
                storm_peak,
                budget,
                "MiB",
            ));
        }
        out
    }

    /// The Markdown report; `chart` is the image file's name beside it.
    pub fn markdown(&self, ctx: &Ctx, chart: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Benchmarks\n");
        if self.smoke {
            let _ = writeln!(
                s,
                "**Smoke run**: windows of a fraction of a second; the figures mean nothing.\n"
            );
        }
        let _ = writeln!(
            s,
            "Written by `bench/run` (`{}`), {}. Every figure below comes from this one run on this one machine: \
             ours, the reference and Better Auth were measured one after the other, each with the machine to itself, \
             and the floors just before them.\n",
            self.command,
            crate::report_env::now()
        );
        s.push_str(&crate::report_env::environment(ctx));
        let _ = writeln!(s, "\n## Method\n");
        let _ = writeln!(
            s,
            "- Load comes from `authfort-bench` (`bench/`), a closed-loop driver on hyper's HTTP/1.1 client: \
             c workers, each on its own keep-alive connection over loopback, each sending its next request as soon as \
             the answer is read. c=1 measures latency, c={HIGH} throughput. Latency is per request (HDR histogram). \
             Each run has {:.0} s of unrecorded warm-up, then a recorded window of {:.0} s (c=1) or {:.0} s (c={HIGH}); \
             throughput is the answers received inside the window over the window, and latency is that of those \
             answers; a run whose one-shot inputs run out ends early and its window is what it took.",
            self.plan.warmup.as_secs_f64(),
            self.plan.latency_window.as_secs_f64(),
            self.plan.throughput_window.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "- All three servers: bearer mode (tokens in JSON; Better Auth has only its session cookie), \
             rate limiting off, passwordless signup on, no mail delivery (the embedding app's hook would send it), \
             a fresh database per system and database kind."
        );
        let _ = writeln!(
            s,
            "- Magic-link verify: every request redeems a token never used before, minted ahead through the system's \
             own library (`AuthFort::create_magic_link_token`, the reference's `AuthFort.create_magic_link_token`, \
             Better Auth's `auth.api.signInMagicLink`) for a new address, so each verify also creates the account \
             (the reference creates it when minting). Refresh: each worker follows its own rotation chain from one \
             of those sessions, always sending the refresh token the last refresh returned. `/me`: one session's \
             bearer token (Better Auth: `get-session` with its session cookie). Magic-link request: the addresses \
             the verify runs signed in. Login: one password user. The storm: {HIGH} clients logging in while one client \
             measures `/me`."
        );
        let _ = writeln!(
            s,
            "- Server CPU is user + system seconds of the server process (all threads) over the run; peak RSS is the \
             process's high-water mark, reset before each run. A valid run has zero errors and zero non-2xx answers."
        );
        let _ = writeln!(s, "\n## Floors\n");
        let (m, t, p) = self.floors.argon2_params;
        let [(rs_before, ar_before), (rs_after, ar_after)] = self.floors.samples;
        let _ = writeln!(
            s,
            "Each floor is the mean of a measurement before the runs and one after them.\n\n\
             | floor | per second | before | after |\n|---|---:|---:|---:|\n\
             | RS256 (2048-bit) signatures, key parsed once, AWS-LC (the library our server signs with), {} threads | {:.0} | {rs_before:.0} | {rs_after:.0} |\n\
             | argon2id hashes at our parameters (m={m} KiB, t={t}, p={p}), {} threads (our hashing pool's width is {}) | {:.1} | {ar_before:.1} | {ar_after:.1} |",
            self.floors.threads, self.floors.rs256_per_s, self.floors.threads, self.hashing_pool, self.floors.argon2_per_s
        );
        for db in [Db::Sqlite, Db::Postgres] {
            if self.result(System::Ours, db).is_none() {
                continue;
            }
            let _ = writeln!(s, "\n## {}\n", db.label());
            s.push_str(&self.table(db));
            let _ = writeln!(s, "\nMemory: ours {}", self.memory_line(db));
        }
        let _ = writeln!(s, "\n## Targets\n");
        let _ = writeln!(
            s,
            "| target | database | measured | wanted | met |\n|---|---|---:|---:|:---:|"
        );
        for c in self.checks() {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} {} | {} |",
                c.what,
                c.db.label(),
                c.show(c.value),
                if c.at_least { "≥" } else { "≤" },
                c.show(c.threshold),
                if c.met() { "yes" } else { "**no**" }
            );
        }
        let bounds = self.bounds();
        if !bounds.is_empty() {
            let _ = writeln!(s, "\nOut of reach on this machine in this run: {}.", bounds.join("; "));
        }
        let peers = self.invalid(|s| s != System::Ours);
        if !peers.is_empty() {
            let _ = writeln!(
                s,
                "\nPeer runs with errors or non-2xx answers (their throughput counts only what they answered): {}.",
                peers.join("; ")
            );
        }
        let _ = writeln!(
            s,
            "\n![ours ÷ peer and ours ÷ floor, per flow, against the targets]({chart})"
        );
        s
    }

    fn memory_line(&self, db: Db) -> String {
        let Some(r) = self.result(System::Ours, db) else {
            return String::new();
        };
        let mut line = format!(
            "{:.1} MiB RSS idle after start, {:.1} MiB after all runs",
            r.idle_rss_mib, r.after_rss_mib
        );
        for other in [System::Reference, System::BetterAuth] {
            if let Some(o) = self.result(other, db) {
                let _ = write!(
                    line,
                    "; {} {:.1} MiB idle, {:.1} MiB after",
                    other.label(),
                    o.idle_rss_mib,
                    o.after_rss_mib
                );
            }
        }
        line + "."
    }

    fn table(&self, db: Db) -> String {
        let mut s = String::new();
        let peers: Vec<System> = [System::Reference, System::BetterAuth]
            .into_iter()
            .filter(|p| self.result(*p, db).is_some())
            .collect();
        s.push_str("| flow | c | system | req/s | p50 ms | p99 ms | errors + non-2xx | server CPU s | CPU ms/req | peak RSS MiB | ours ÷ this |\n");
        s.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        use Flow::*;
        for flow in [MagicLinkVerify, MagicLinkRequest, Refresh, Me, Login, MeDuringLogins] {
            for c in [1, HIGH] {
                let Some(ours) = self.run(System::Ours, db, flow, c) else {
                    continue;
                };
                for system in std::iter::once(System::Ours).chain(peers.iter().copied()) {
                    let Some(m) = self.run(system, db, flow, c) else {
                        continue;
                    };
                    let ratio = if system == System::Ours || flow == MeDuringLogins {
                        String::new()
                    } else {
                        format!("{:.1}×", ours.outcome.rps() / m.outcome.rps().max(1e-9))
                    };
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.1} | {:.2} | {:.1} | {} |",
                        flow.label(),
                        c,
                        system.label(),
                        m.outcome.rps(),
                        m.outcome.ms(0.5),
                        m.outcome.ms(0.99),
                        m.outcome.errors + m.outcome.non_2xx,
                        m.cpu_seconds,
                        1000.0 * m.cpu_seconds / (m.outcome.requests.max(1) as f64),
                        m.peak_rss_mib,
                        ratio
                    );
                }
            }
        }
        s
    }
}
