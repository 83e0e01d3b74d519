//! Better Auth (`bench/peers/better-auth`): its magic-link plugin and email+password on
//! SQLite through better-sqlite3, served by Node's `http` module; tokens minted ahead through
//! its server API (`mint.mjs`).

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::{reference::read_tokens, run, Credentials, Ctx, Server};
use crate::load::{Req, Resp};

const SECRET: &str = "better-auth-benchmark-secret-0123456789abcdef";

/// A running Better Auth server.
pub struct BetterAuth {
    dir: PathBuf,
    env: Vec<(&'static str, String)>,
}

/// Installs (once) the pinned packages with `npm ci`.
pub fn setup(ctx: &Ctx) -> anyhow::Result<()> {
    let dir = ctx.root.join("bench/peers/better-auth");
    if !dir.join("node_modules/better-auth").is_dir() || !dir.join("node_modules/better-sqlite3").is_dir() {
        eprintln!("installing Better Auth (npm ci)…");
        run(std::process::Command::new("npm").current_dir(&dir).args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]))?;
    }
    Ok(())
}

impl BetterAuth {
    /// Fresh SQLite file, then `node server.mjs` on `port` (it migrates at start).
    pub fn start(ctx: &Ctx, port: u16) -> anyhow::Result<(BetterAuth, Server)> {
        let dir = ctx.root.join("bench/peers/better-auth");
        let db = ctx.fresh_sqlite_file("better-auth")?;
        let env = vec![
            ("BA_DB", db.display().to_string()),
            ("BA_SECRET", SECRET.to_string()),
            ("BA_URL", format!("http://127.0.0.1:{port}")),
            ("BA_PORT", port.to_string()),
            ("NODE_ENV", "production".to_string()),
            ("BETTER_AUTH_TELEMETRY", "0".to_string()),
        ];
        let mut cmd = std::process::Command::new("node");
        cmd.current_dir(&dir)
            .arg("server.mjs")
            .envs(env.iter().map(|(k, v)| (*k, v)));
        let server = Server::spawn(cmd, port, "/health", &ctx.work.join("better-auth.log"))?;
        Ok((BetterAuth { dir, env }, server))
    }

    async fn mint(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut cmd = Command::new("node");
        cmd.current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (*k, v)))
            .arg("mint.mjs")
            .args(args);
        super::run_script(cmd, &format!("mint.mjs {args:?}")).await
    }

    /// One magic-link token per address, through `auth.api.signInMagicLink`.
    pub async fn mint_tokens(&self, work: &Path, emails: &[String]) -> anyhow::Result<Vec<String>> {
        let (input, output) = (work.join("better-auth-emails.txt"), work.join("better-auth-tokens.txt"));
        std::fs::write(&input, emails.join("\n"))?;
        self.mint(&[&input.to_string_lossy(), &output.to_string_lossy()])
            .await?;
        read_tokens(&output, emails.len())
    }

    /// A password user, through `auth.api.signUpEmail`.
    pub async fn signup(&self, email: &str, password: &str) -> anyhow::Result<()> {
        self.mint(&["--signup", email, password]).await
    }
}

/// Better Auth's endpoints for the same flows.
pub struct BetterAuthWire {
    /// The `Origin` its CSRF check expects on POSTs.
    pub origin: String,
}

/// The session cookie Better Auth sets.
const SESSION_COOKIE: &str = "better-auth.session_token";

impl super::Flows for BetterAuthWire {
    fn magic_link_request(&self, email: &str) -> Req {
        Req::post_json("/api/auth/sign-in/magic-link", &serde_json::json!({ "email": email }))
            .with(hyper::header::ORIGIN, &self.origin)
    }
    fn magic_link_verify(&self, token: &str) -> Req {
        Req::get(format!("/api/auth/magic-link/verify?token={token}"), vec![])
    }
    fn credentials(&self, resp: &Resp<'_>) -> Option<Credentials> {
        if !(200..300).contains(&resp.status) {
            return None;
        }
        let cookie = resp
            .headers
            .get_all(hyper::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(SESSION_COOKIE))?;
        Some(Credentials {
            access: cookie.split(';').next()?.to_owned(),
            refresh: None,
        })
    }
    fn refresh(&self, _refresh_token: &str) -> Option<Req> {
        None
    }
    fn me(&self, creds: &Credentials) -> Req {
        Req::get("/api/auth/get-session", vec![]).with(hyper::header::COOKIE, &creds.access)
    }
    fn login(&self, email: &str, password: &str) -> Req {
        Req::post_json(
            "/api/auth/sign-in/email",
            &serde_json::json!({ "email": email, "password": password }),
        )
        .with(hyper::header::ORIGIN, &self.origin)
    }
}
