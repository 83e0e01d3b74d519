//! The systems under test: ours, the reference (AuthFort 0.0.31) and Better Auth. Each one
//! knows how to start its server on a fresh database, mint what a run needs through its own
//! library ahead of time, and spell each flow's request.

pub mod better_auth;
pub mod ours;
pub mod reference;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::load::Req;

/// The database kind a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// A file next to the other run files.
    Sqlite,
    /// A fresh database on the local PostgreSQL.
    Postgres,
}

impl Db {
    /// Its name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL",
        }
    }
}

/// Paths and settings shared by every system.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The repository root.
    pub root: PathBuf,
    /// Scratch space (`target/bench`).
    pub work: PathBuf,
    /// Our `authfort` binary.
    pub server_bin: PathBuf,
    /// The PostgreSQL server URL without a database (`postgres://postgres@127.0.0.1:5432`).
    pub pg_base: String,
}

impl Ctx {
    /// Drops and creates database `name` on the local PostgreSQL.
    pub fn fresh_pg_database(&self, name: &str) -> anyhow::Result<String> {
        let admin = format!("{}/postgres", self.pg_base);
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            run(Command::new("psql").args(["-q", "-v", "ON_ERROR_STOP=1", &admin, "-c", &sql]))?;
        }
        Ok(format!("{}/{name}", self.pg_base))
    }

    /// A fresh SQLite file path (earlier files and their WAL removed).
    pub fn fresh_sqlite_file(&self, name: &str) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(&self.work)?;
        let path = self.work.join(format!("{name}.db"));
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        Ok(path)
    }
}

/// Runs a command to completion, failing with its output.
pub fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A running server process; killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Its address on loopback.
    pub addr: SocketAddr,
}

impl Server {
    /// Spawns `cmd` with output to `log`, then waits until `GET health_path` answers 200.
    pub fn spawn(mut cmd: Command, port: u16, health_path: &str, log: &Path) -> anyhow::Result<Server> {
        let file = std::fs::File::create(log)?;
        cmd.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
        let child = cmd.spawn().with_context(|| format!("cannot start {cmd:?}"))?;
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("server exited ({status}); see {}:\n{}", log.display(), tail(log));
            }
            if health(server.addr, health_path) {
                return Ok(server);
            }
            if Instant::now() > deadline {
                server.stop();
                bail!("server did not come up; see {}:\n{}", log.display(), tail(log));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id (for CPU and memory readings).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the process (SIGKILL; nothing of it is measured after this).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn health(addr: SocketAddr, path: &str) -> bool {
    use std::io::{Read as _, Write as _};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && &buf[9..12] == b"200")
}

/// A free TCP port on loopback.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// What a sign-in answer gives a client for the follow-up flows.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Bearer access token (AuthFort) — or the session cookie pair `name=value` (Better Auth).
    pub access: String,
    /// Refresh token (AuthFort only).
    pub refresh: Option<String>,
}

/// How one system spells the flows.
pub trait Flows: Send + Sync {
    /// `POST …/magic-link` for an existing address.
    fn magic_link_request(&self, email: &str) -> Req;
    /// Redeems a magic-link token.
    fn magic_link_verify(&self, token: &str) -> Req;
    /// Reads the credentials out of a verify or login answer.
    fn credentials(&self, resp: &crate::load::Resp<'_>) -> Option<Credentials>;
    /// Exchanges a refresh token (None: the system has no refresh flow).
    fn refresh(&self, refresh_token: &str) -> Option<Req>;
    /// The current user / session with credentials.
    fn me(&self, creds: &Credentials) -> Req;
    /// Email + password sign-in.
    fn login(&self, email: &str, password: &str) -> Req;
}

/// Reads `tokens.access_token` / `tokens.refresh_token` from an AuthFort JSON answer.
pub fn authfort_credentials(resp: &crate::load::Resp<'_>) -> Option<Credentials> {
    if !(200..300).contains(&resp.status) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(resp.body).ok()?;
    let tokens = v.get("tokens")?;
    Some(Credentials {
        access: tokens.get("access_token")?.as_str()?.to_owned(),
        refresh: tokens.get("refresh_token").and_then(|t| t.as_str()).map(str::to_owned),
    })
}

/// Runs `f` over `items` with at most `concurrency` at once, keeping their order.
pub async fn join_chunks<T, F, Fut>(items: &[String], concurrency: usize, f: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    use futures::{StreamExt as _, TryStreamExt as _};
    futures::stream::iter(items.iter().cloned().map(f))
        .buffered(concurrency)
        .try_collect()
        .await
}

/// Runs a peer's mint script (built command) to completion, failing with its stderr.
pub async fn run_script(mut cmd: tokio::process::Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().await.with_context(|| format!("cannot run {what}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
