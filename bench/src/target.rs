//! One system on one database, running: its server, its minting, its wire format.

use std::path::PathBuf;

use crate::systems::better_auth::{BetterAuth, BetterAuthWire};
use crate::systems::ours::{AuthFortWire, Ours};
use crate::systems::reference::Reference;
use crate::systems::{free_port, Ctx, Db, Flows, Server};

/// Which system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// This project's `authfort` server.
    Ours,
    /// AuthFort 0.0.31 (Python).
    Reference,
    /// Better Auth (Node).
    BetterAuth,
}

impl System {
    /// Its name in reports.
    pub fn label(self) -> &'static str {
        match self {
            System::Ours => "ours",
            System::Reference => "reference",
            System::BetterAuth => "Better Auth",
        }
    }
}

enum Minter {
    Ours(Ours),
    Reference(Reference),
    BetterAuth(BetterAuth),
}

/// A started system.
pub struct Target {
    /// Which one.
    pub system: System,
    /// On which database.
    pub db: Db,
    /// Its server process.
    pub server: Server,
    /// How it spells the flows.
    pub flows: std::sync::Arc<dyn Flows>,
    minter: Minter,
    work: PathBuf,
}

impl Target {
    /// Starts `system` on a fresh `db`.
    pub async fn start(ctx: &Ctx, system: System, db: Db, venv: Option<&std::path::Path>) -> anyhow::Result<Target> {
        let port = free_port()?;
        let (minter, server, flows): (Minter, Server, std::sync::Arc<dyn Flows>) = match system {
            System::Ours => {
                let (o, s) = Ours::start(ctx, db, port)?;
                (Minter::Ours(o), s, std::sync::Arc::new(AuthFortWire))
            }
            System::Reference => {
                let venv = venv.ok_or_else(|| anyhow::anyhow!("the reference needs its virtualenv"))?;
                let (r, s) = Reference::start(ctx, venv, db, port).await?;
                (Minter::Reference(r), s, std::sync::Arc::new(AuthFortWire))
            }
            System::BetterAuth => {
                anyhow::ensure!(db == Db::Sqlite, "Better Auth runs on SQLite only here");
                let (b, s) = BetterAuth::start(ctx, port)?;
                let origin = format!("http://127.0.0.1:{port}");
                (Minter::BetterAuth(b), s, std::sync::Arc::new(BetterAuthWire { origin }))
            }
        };
        Ok(Target {
            system,
            db,
            server,
            flows,
            minter,
            work: ctx.work.clone(),
        })
    }

    /// One fresh magic-link token per address, minted through the system's own library.
    pub async fn mint_tokens(&self, emails: &[String]) -> anyhow::Result<Vec<String>> {
        match &self.minter {
            Minter::Ours(o) => o.mint_tokens(emails).await,
            Minter::Reference(r) => r.mint_tokens(&self.work, emails).await,
            Minter::BetterAuth(b) => b.mint_tokens(&self.work, emails).await,
        }
    }

    /// A user with a password, for the login flow.
    pub async fn signup(&self, email: &str, password: &str) -> anyhow::Result<()> {
        match &self.minter {
            Minter::Ours(o) => o.signup(email, password).await,
            Minter::Reference(r) => r.signup(email, password).await,
            Minter::BetterAuth(b) => b.signup(email, password).await,
        }
    }
}
