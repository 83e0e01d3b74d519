//! The reference: AuthFort 0.0.31 from PyPI (`bench/peers/reference`), a FastAPI app under
//! uvicorn with one worker, in a virtualenv this module creates. Tokens are minted ahead
//! through its library API (`mint.py`).

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::{run, Ctx, Db, Server};

/// A running reference server and how to reach its database.
pub struct Reference {
    python: PathBuf,
    app_dir: PathBuf,
    db_url: String,
}

/// Creates (once) the virtualenv with the pinned requirements; returns its directory.
pub fn setup(ctx: &Ctx) -> anyhow::Result<PathBuf> {
    let venv = ctx.work.join("venv-reference");
    let requirements = ctx.root.join("bench/peers/reference/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)?;
    let stamp = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(venv);
    }
    eprintln!("creating the reference's virtualenv (pip install authfort==0.0.31)…");
    let _ = std::fs::remove_dir_all(&venv);
    run(std::process::Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(std::process::Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--disable-pip-version-check", "-r"])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted)?;
    Ok(venv)
}

impl Reference {
    /// Fresh database, schema, then uvicorn on `port`.
    pub async fn start(ctx: &Ctx, venv: &Path, db: Db, port: u16) -> anyhow::Result<(Reference, Server)> {
        let db_url = match db {
            Db::Sqlite => format!("sqlite+aiosqlite:///{}", ctx.fresh_sqlite_file("reference")?.display()),
            Db::Postgres => {
                ctx.fresh_pg_database("authfort_bench_reference")?
                    .replacen("postgres://", "postgresql+asyncpg://", 1)
            }
        };
        let reference = Reference {
            python: venv.join("bin/python"),
            app_dir: ctx.root.join("bench/peers/reference"),
            db_url,
        };
        reference.mint(&["migrate"]).await?;
        let mut cmd = std::process::Command::new(venv.join("bin/uvicorn"));
        cmd.current_dir(&reference.app_dir)
            .env("REF_DB", &reference.db_url)
            .args([
                "app:app",
                "--host",
                "127.0.0.1",
                "--log-level",
                "warning",
                "--no-access-log",
            ])
            .arg("--port")
            .arg(port.to_string());
        let server = Server::spawn(cmd, port, "/health", &ctx.work.join("reference.log"))?;
        Ok((reference, server))
    }

    async fn mint(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut cmd = Command::new(&self.python);
        cmd.current_dir(&self.app_dir)
            .env("REF_DB", &self.db_url)
            .arg("mint.py")
            .args(args);
        super::run_script(cmd, &format!("mint.py {args:?}")).await
    }

    /// One magic-link token per address, through `AuthFort.create_magic_link_token`.
    pub async fn mint_tokens(&self, work: &Path, emails: &[String]) -> anyhow::Result<Vec<String>> {
        let (input, output) = (work.join("reference-emails.txt"), work.join("reference-tokens.txt"));
        std::fs::write(&input, emails.join("\n"))?;
        self.mint(&["tokens", &input.to_string_lossy(), &output.to_string_lossy()])
            .await?;
        read_tokens(&output, emails.len())
    }

    /// A password user, through `AuthFort.create_user`.
    pub async fn signup(&self, email: &str, password: &str) -> anyhow::Result<()> {
        self.mint(&["signup", email, password]).await
    }
}

/// Reads one token per line and checks the count.
pub fn read_tokens(path: &Path, expected: usize) -> anyhow::Result<Vec<String>> {
    let tokens: Vec<String> = std::fs::read_to_string(path)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(
        tokens.len() == expected,
        "minted {} tokens, wanted {expected}",
        tokens.len()
    );
    Ok(tokens)
}
