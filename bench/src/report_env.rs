//! The machine and the versions, for the report's header.

use std::process::Command;

use crate::systems::Ctx;

fn cmd(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// The time now, UTC, from `date`.
pub fn now() -> String {
    cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
}

fn package_version(ctx: &Ctx, package: &str) -> String {
    let path = ctx
        .root
        .join("bench/peers/better-auth/node_modules")
        .join(package)
        .join("package.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("version").and_then(|v| v.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "not installed".into())
}

/// The "Machine" and "Versions" sections.
pub fn environment(ctx: &Ctx) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|k| k.parse::<f64>().ok())
        .map(|k| format!("{:.0} GiB", k / 1024.0 / 1024.0))
        .unwrap_or_default();
    let rev = cmd(
        "git",
        &["-C", &ctx.root.to_string_lossy(), "describe", "--always", "--dirty"],
    );
    let venv_python = ctx.work.join("venv-reference/bin/python");
    let requirements =
        std::fs::read_to_string(ctx.root.join("bench/peers/reference/requirements.txt")).unwrap_or_default();
    let pinned = |name: &str| {
        requirements
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix("==")))
            .unwrap_or("?")
            .to_owned()
    };
    // bench/run builds the server with the profile it builds this driver with.
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    format!(
        "## Machine\n\n- {model}, {cores} cores, {mem} RAM; Linux {}\n- PostgreSQL: {}\n\n## Versions\n\n\
         - ours: `authfort` at `{rev}`, {build} build ({})\n\
         - reference: AuthFort {} (PyPI) on FastAPI {} under uvicorn {} (uvloop {}, httptools {}), one worker; {}; SQLAlchemy {}, aiosqlite {}, asyncpg {}\n\
         - Better Auth {} with its magic-link plugin, better-sqlite3 {}, on Node.js {}\n",
        cmd("uname", &["-r"]),
        cmd("psql", &["-V"]),
        cmd("rustc", &["-V"]),
        pinned("authfort[sqlite,fastapi]"),
        pinned("fastapi"),
        pinned("uvicorn[standard]"),
        pinned("uvloop"),
        pinned("httptools"),
        cmd(&venv_python.to_string_lossy(), &["-V"]),
        pinned("SQLAlchemy"),
        pinned("aiosqlite"),
        pinned("asyncpg"),
        package_version(ctx, "better-auth"),
        package_version(ctx, "better-sqlite3"),
        cmd("node", &["-v"]),
    )
}
