//! The flows, in order, against one started system: magic-link verify (fresh tokens; the
//! answers give the sessions the later flows use), magic-link request (existing users),
//! refresh (each worker follows its own rotation chain, so every refresh token is fresh),
//! `/me`, login, and `/me` latency while logins saturate the hashing pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::load::{self, OneShot, Outcome, Repeat, Req, Resp, Shape, Workload};
use crate::procstat;
use crate::systems::{Credentials, Flows};
use crate::target::Target;

/// A flow measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// `POST /auth/magic-link` for existing users.
    MagicLinkRequest,
    /// `POST /auth/magic-link/verify` with never-used tokens.
    MagicLinkVerify,
    /// `POST /auth/refresh` with fresh refresh tokens.
    Refresh,
    /// `GET /auth/me` with a bearer token.
    Me,
    /// `POST /auth/login`.
    Login,
    /// `GET /auth/me` (one client) while 32 clients log in.
    MeDuringLogins,
}

impl Flow {
    /// Its name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Flow::MagicLinkRequest => "magic-link request",
            Flow::MagicLinkVerify => "magic-link verify",
            Flow::Refresh => "refresh",
            Flow::Me => "/me (bearer)",
            Flow::Login => "login",
            Flow::MeDuringLogins => "/me during login storm",
        }
    }
}

/// One measured run of a flow.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The flow.
    pub flow: Flow,
    /// Clients.
    pub concurrency: usize,
    /// What the load generator saw.
    pub outcome: Outcome,
    /// Server CPU seconds during the recorded window.
    pub cpu_seconds: f64,
    /// Server peak RSS during the run, MiB.
    pub peak_rss_mib: f64,
}

/// Everything measured of one system on one database.
#[derive(Debug, Clone)]
pub struct SystemResult {
    /// Which system.
    pub system: crate::target::System,
    /// Which database.
    pub db: crate::systems::Db,
    /// RSS after start, before any request, MiB.
    pub idle_rss_mib: f64,
    /// RSS after all flows, MiB.
    pub after_rss_mib: f64,
    /// The runs.
    pub runs: Vec<Measured>,
}

/// How long and how many.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Unrecorded warm-up per run.
    pub warmup: Duration,
    /// Recorded window at concurrency 1.
    pub latency_window: Duration,
    /// Recorded window at concurrency 32.
    pub throughput_window: Duration,
    /// Tokens minted for the c=1 and c=32 verify runs.
    pub verify_tokens: (usize, usize),
}

/// The concurrency of the throughput runs.
pub const HIGH: usize = 32;
const PASSWORD: &str = "correct horse battery staple";

struct Collect {
    inner: OneShot,
    creds: Mutex<Vec<Credentials>>,
    flows: Arc<dyn Flows>,
}

impl Workload for Collect {
    fn next(&self, w: usize) -> Option<Req> {
        self.inner.next(w)
    }
    fn seen(&self, _w: usize, resp: &Resp<'_>) {
        if let Some(c) = self.flows.credentials(resp) {
            self.creds.lock().unwrap().push(c);
        }
    }
}

struct Cycle {
    reqs: Vec<Req>,
    next: AtomicUsize,
}

impl Workload for Cycle {
    fn next(&self, _w: usize) -> Option<Req> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        Some(self.reqs[i % self.reqs.len()].clone())
    }
}

/// Each worker refreshes its own session, always with the token the last refresh returned.
struct Chains {
    current: Vec<Mutex<Option<String>>>,
    flows: Arc<dyn Flows>,
}

impl Workload for Chains {
    fn next(&self, w: usize) -> Option<Req> {
        let token = self.current[w].lock().unwrap().take()?;
        self.flows.refresh(&token)
    }
    fn seen(&self, w: usize, resp: &Resp<'_>) {
        if let Some(refresh) = self.flows.credentials(resp).and_then(|c| c.refresh) {
            *self.current[w].lock().unwrap() = Some(refresh);
        }
    }
}

/// Runs every flow against `target`.
pub async fn run_all(target: &Target, plan: Plan, log: &mut dyn FnMut(&str)) -> anyhow::Result<SystemResult> {
    let pid = target.server.pid();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss_mib = procstat::sample(pid)?.rss_mib;
    let flows: Arc<dyn Flows> = target.flows.clone();
    let mut runs = Vec::new();
    let tag = format!("{} on {}", target.system.label(), target.db.label());

    // Magic-link verify: tokens for new addresses, minted through the system's library.
    let (n1, n32) = plan.verify_tokens;
    let emails: Vec<String> = (0..n1 + n32).map(|i| format!("bench-{i}@example.com")).collect();
    log(&format!("{tag}: minting {} magic-link tokens", emails.len()));
    let tokens = target.mint_tokens(&emails).await?;
    let mut sessions = Vec::new();
    for (concurrency, range) in [(1, 0..n1), (HIGH, n1..n1 + n32)] {
        let reqs = tokens[range].iter().map(|t| flows.magic_link_verify(t)).collect();
        let collect = Arc::new(Collect {
            inner: OneShot::new(reqs),
            creds: Mutex::new(Vec::new()),
            flows: flows.clone(),
        });
        let m = measure(target, Flow::MagicLinkVerify, concurrency, collect.clone(), plan, log).await?;
        runs.push(m);
        sessions.extend(collect.creds.lock().unwrap().drain(..));
    }
    anyhow::ensure!(
        sessions.len() > HIGH,
        "{tag}: verify gave only {} sessions",
        sessions.len()
    );

    // Magic-link request for the users the verify runs created.
    let reqs: Vec<Req> = emails.iter().take(2_000).map(|e| flows.magic_link_request(e)).collect();
    for concurrency in [1, HIGH] {
        let w = Arc::new(Cycle {
            reqs: reqs.clone(),
            next: AtomicUsize::new(0),
        });
        runs.push(measure(target, Flow::MagicLinkRequest, concurrency, w, plan, log).await?);
    }

    // Refresh: one rotation chain per worker, each starting from its own session.
    if sessions
        .first()
        .and_then(|c| c.refresh.as_deref())
        .and_then(|r| flows.refresh(r))
        .is_some()
    {
        let mut spare = sessions.iter().rev().filter_map(|c| c.refresh.clone());
        for concurrency in [1, HIGH] {
            let current = (0..concurrency).map(|_| Mutex::new(spare.next())).collect();
            let w = Arc::new(Chains {
                current,
                flows: flows.clone(),
            });
            runs.push(measure(target, Flow::Refresh, concurrency, w, plan, log).await?);
        }
    }

    // /me with one signed-in user's credentials.
    let me = Arc::new(Repeat {
        req: flows.me(&sessions[0]),
        must_contain: Some(b"bench-".to_vec()),
    });
    for concurrency in [1, HIGH] {
        runs.push(measure(target, Flow::Me, concurrency, me.clone(), plan, log).await?);
    }

    // Login, then /me latency during a login storm.
    let email = "bench-password-user@example.com";
    target.signup(email, PASSWORD).await?;
    let login = Arc::new(Repeat {
        req: flows.login(email, PASSWORD),
        must_contain: None,
    });
    for concurrency in [1, HIGH] {
        runs.push(measure(target, Flow::Login, concurrency, login.clone(), plan, log).await?);
    }
    let mut quiet = |_: &str| {};
    let (storm, during) = tokio::join!(
        measure(target, Flow::Login, HIGH, login.clone(), plan, &mut quiet),
        async {
            // Start measuring /me once the storm has filled the pool.
            tokio::time::sleep(plan.warmup.min(Duration::from_millis(500))).await;
            let shape = Shape {
                concurrency: 1,
                warmup: plan.warmup,
                duration: plan
                    .throughput_window
                    .saturating_sub(Duration::from_secs(1))
                    .max(Duration::from_millis(200)),
            };
            load::run(target.server.addr, "127.0.0.1", me.clone(), shape).await
        }
    );
    let storm = storm?;
    let during = during?;
    log(&format!(
        "{tag}: /me during login storm: p50 {:.2} ms, p99 {:.2} ms ({} requests, {} non-2xx); logins {:.1}/s",
        during.ms(0.5),
        during.ms(0.99),
        during.requests,
        during.non_2xx + during.errors,
        storm.outcome.rps()
    ));
    runs.push(Measured {
        flow: Flow::MeDuringLogins,
        concurrency: 1,
        outcome: during,
        cpu_seconds: storm.cpu_seconds,
        peak_rss_mib: storm.peak_rss_mib,
    });

    let after_rss_mib = procstat::sample(pid)?.rss_mib;
    Ok(SystemResult {
        system: target.system,
        db: target.db,
        idle_rss_mib,
        after_rss_mib,
        runs,
    })
}

async fn measure(
    target: &Target,
    flow: Flow,
    concurrency: usize,
    workload: Arc<dyn Workload>,
    plan: Plan,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<Measured> {
    let pid = target.server.pid();
    let duration = if concurrency == 1 {
        plan.latency_window
    } else {
        plan.throughput_window
    };
    let shape = Shape {
        concurrency,
        warmup: plan.warmup,
        duration,
    };
    procstat::reset_peak(pid);
    // CPU is read when the recorded window opens, so warm-up does not count.
    let at_window = tokio::spawn(async move {
        tokio::time::sleep(shape.warmup).await;
        procstat::sample(pid)
    });
    let profiler = crate::profile::start(pid, target, flow, concurrency)?;
    let outcome = load::run(target.server.addr, "127.0.0.1", workload, shape).await?;
    crate::profile::stop(profiler);
    let after = procstat::sample(pid)?;
    let before = at_window.await??;
    let m = Measured {
        flow,
        concurrency,
        cpu_seconds: after.cpu_seconds - before.cpu_seconds,
        peak_rss_mib: after.peak_rss_mib,
        outcome,
    };
    log(&format!(
        "{} on {}: {} c={}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} requests in {:.1} s, {} non-2xx, {} errors, CPU {:.1} s, peak RSS {:.1} MiB{}",
        target.system.label(),
        target.db.label(),
        flow.label(),
        concurrency,
        m.outcome.rps(),
        m.outcome.ms(0.5),
        m.outcome.ms(0.99),
        m.outcome.requests,
        m.outcome.elapsed.as_secs_f64(),
        m.outcome.non_2xx,
        m.outcome.errors,
        m.cpu_seconds,
        m.peak_rss_mib,
        if m.outcome.samples.is_empty() {
            String::new()
        } else {
            format!("\n    e.g. {}", m.outcome.samples.join("\n    e.g. "))
        }
    ));
    Ok(m)
}
