//! Ours: the `authfort` binary, configured by a generated `authfort.toml`; tokens minted
//! ahead through the library (`AuthFort::create_magic_link_token`) on the same database.

use std::path::PathBuf;
use std::process::Command;

use authfort_core::AuthFort;

use super::{authfort_credentials, join_chunks, Credentials, Ctx, Db, Flows, Server};
use crate::load::{Req, Resp};

/// The secret every run uses (a benchmark database holds nothing of value).
const SECRET: &str = "authfort-benchmark-secret-key-0123456789abcdef";

/// A running `authfort serve` and the config file it was started with.
pub struct Ours {
    config_file: PathBuf,
    database_url: String,
}

impl Ours {
    /// Writes the config for `db`, starts the server on `port`.
    pub fn start(ctx: &Ctx, db: Db, port: u16) -> anyhow::Result<(Ours, Server)> {
        let database_url = match db {
            Db::Sqlite => format!("sqlite://{}", ctx.fresh_sqlite_file("ours")?.display()),
            Db::Postgres => ctx.fresh_pg_database("authfort_bench_ours")?,
        };
        let config_file = ctx.work.join("ours.toml");
        std::fs::write(&config_file, config_toml(&database_url, port))?;
        let mut cmd = Command::new(&ctx.server_bin);
        cmd.arg("serve").arg("--config").arg(&config_file);
        // Nothing from the caller's environment may change what is measured.
        for (key, _) in std::env::vars() {
            if key.starts_with("AUTHFORT_") {
                cmd.env_remove(key);
            }
        }
        let server = Server::spawn(cmd, port, "/healthz", &ctx.work.join("ours.log"))?;
        Ok((
            Ours {
                config_file,
                database_url,
            },
            server,
        ))
    }

    async fn library(&self) -> anyhow::Result<AuthFort> {
        let loaded = authfort_server::config::load(Some(&self.config_file)).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut config = loaded.config.auth_config();
        // Minting must not queue mail for the server's worker to send during a run.
        config.email.transport = "none".into();
        Ok(AuthFort::builder(&self.database_url)
            .config(config)
            .mail_worker(false)
            .build()
            .await?)
    }

    /// One magic-link token per address, through the library.
    pub async fn mint_tokens(&self, emails: &[String]) -> anyhow::Result<Vec<String>> {
        let auth = self.library().await?;
        let tokens = join_chunks(emails, 16, |email| {
            let auth = auth.clone();
            async move {
                auth.create_magic_link_token(&email)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no token for {email}"))
            }
        })
        .await?;
        auth.flush_events().await;
        Ok(tokens)
    }

    /// A password user for the login flow.
    pub async fn signup(&self, email: &str, password: &str) -> anyhow::Result<()> {
        let auth = self.library().await?;
        auth.admin_create_user(authfort_core::CreateUser {
            email: email.into(),
            password: password.into(),
            ..Default::default()
        })
        .await?;
        Ok(())
    }
}

fn config_toml(database_url: &str, port: u16) -> String {
    format!(
        r#"# Written by authfort-bench: the benchmark's server configuration.
bind = "127.0.0.1:{port}"
database_url = "{database_url}"
log = "warn"
secret_key = "{SECRET}"
allow_passwordless_signup = true
magic_link_ttl_seconds = 3600

# Bearer mode: tokens in JSON bodies, no cookies.
[cookie]
enabled = false

[rate_limit]
enabled = false

# Like the peers, no delivery: the embedding app's hook (or mail worker) is not measured.
[email]
transport = "none"
"#
    )
}

/// AuthFort's wire format: ours and the reference's (we are wire-compatible).
pub struct AuthFortWire;

impl Flows for AuthFortWire {
    fn magic_link_request(&self, email: &str) -> Req {
        Req::post_json("/auth/magic-link", &serde_json::json!({ "email": email }))
    }
    fn magic_link_verify(&self, token: &str) -> Req {
        Req::post_json("/auth/magic-link/verify", &serde_json::json!({ "token": token }))
    }
    fn credentials(&self, resp: &Resp<'_>) -> Option<Credentials> {
        authfort_credentials(resp)
    }
    fn refresh(&self, refresh_token: &str) -> Option<Req> {
        Some(Req::post_json(
            "/auth/refresh",
            &serde_json::json!({ "refresh_token": refresh_token }),
        ))
    }
    fn me(&self, creds: &Credentials) -> Req {
        Req::get("/auth/me", vec![]).with(hyper::header::AUTHORIZATION, &format!("Bearer {}", creds.access))
    }
    fn login(&self, email: &str, password: &str) -> Req {
        Req::post_json(
            "/auth/login",
            &serde_json::json!({ "email": email, "password": password }),
        )
    }
}
