//! The administration commands: `authfort user …`, `authfort sessions …` and
//! `authfort cleanup`.
//!
//! Each command opens the same database with the same configuration as `serve` (but with no
//! mail transport, so no delivery worker starts), does one thing, prints the result to stdout
//! and exits. Errors go to stderr with a failing exit code (see [`crate::cli::Cli::run`]).

use std::fmt::{self, Write as _};
use std::io::BufRead;

use anyhow::{anyhow, bail, Context};
use authfort_core::model::format_time;
use authfort_core::{AuthError, AuthFort, CreateUser, SessionInfo, UserQuery, UserResponse};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::{open_engine, prepare, ConfigArgs};

/// The longest role name accepted, in characters.
pub use authfort_core::validation::MAX_ROLE_CHARS;

/// How many characters of a user agent the session table shows (`--json` shows all).
const USER_AGENT_COLUMN_CHARS: usize = 60;

/// `authfort user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user with a password read from standard input.
    ///
    /// The password is the first line of standard input (the trailing newline is removed):
    /// `printf '%s\n' "$PASSWORD" | authfort user create alice@example.com --password-stdin`.
    /// Passwords are never accepted as arguments, where they would end up in shell history
    /// and process listings.
    Create(CreateArgs),
    /// List users, newest first, as a table (or `--json`).
    List(ListArgs),
    /// Show one user.
    Show(ShowArgs),
    /// Ban a user: their sessions are revoked and their access tokens stop working.
    Ban(EmailArgs),
    /// Lift a ban (tokens revoked by the ban stay dead; the user signs in again).
    Unban(EmailArgs),
    /// Turn a user's TOTP MFA off (lost device): the secret and backup codes are deleted and
    /// outstanding access tokens stop working.
    MfaDisable(EmailArgs),
    /// Give a user a role. Takes effect immediately: outstanding access tokens stop working.
    AddRole(RoleArgs),
    /// Take a role away. Takes effect immediately: outstanding access tokens stop working.
    RemoveRole(RoleArgs),
    /// Delete a user: anonymise the row and remove their sessions (or `--hard`: remove the row).
    Delete(DeleteArgs),
    /// Queue an email-verification link for a user (delivered by the running server; earlier
    /// links stop working).
    SendVerification(EmailArgs),
}

/// `authfort sessions …`.
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List all of a user's sessions (active, expired and revoked), newest first.
    List(ShowArgs),
    /// Revoke every session of a user: their refresh tokens stop working (access tokens
    /// already issued stay valid until they expire).
    RevokeAll(EmailArgs),
}

/// Arguments of `user create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The user's email address.
    pub email: String,
    /// Read the password from the first line of standard input (required).
    #[arg(long)]
    pub password_stdin: bool,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Create the account with its email address already verified.
    #[arg(long)]
    pub verified: bool,
    /// Give the user this role (repeatable).
    #[arg(long = "role", value_name = "ROLE", value_parser = parse_role)]
    pub roles: Vec<String>,
    /// Print the user as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArgs,
}

/// Arguments of `user list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only users whose email or name contains this (case-insensitive).
    #[arg(long, short = 'q')]
    pub query: Option<String>,
    /// Only users holding this role.
    #[arg(long, value_parser = parse_role)]
    pub role: Option<String>,
    /// Only banned users.
    #[arg(long, conflicts_with = "not_banned")]
    pub banned: bool,
    /// Only users who are not banned.
    #[arg(long)]
    pub not_banned: bool,
    /// At most this many users (1 to 500).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub limit: u32,
    /// Skip this many users.
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// Print `{"users": [...], "total": N}` instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArgs,
}

/// An email address and `--json`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The user's email address.
    pub email: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArgs,
}

/// An email address.
#[derive(Debug, Args)]
pub struct EmailArgs {
    /// The user's email address.
    pub email: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArgs,
}

/// An email address and a role.
#[derive(Debug, Args)]
pub struct RoleArgs {
    /// The user's email address.
    pub email: String,
    /// The role: 1 to 50 characters, no whitespace or control characters.
    #[arg(value_parser = parse_role)]
    pub role: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArgs,
}

/// Arguments of `user delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The user's email address.
    pub email: String,
    /// Remove the row entirely instead of anonymising it (rows in your own tables that refer
    /// to the user id are left dangling).
    #[arg(long)]
    pub hard: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArgs,
}

/// Checks a role name with the core's rule ([`authfort_core::validation::validate_role`]).
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_role(role: &str) -> Result<String, String> {
    authfort_core::validation::validate_role(role)
        .map(|()| role.to_owned())
        .map_err(|e| e.message)
}

/// Runs `authfort user …`.
///
/// # Errors
/// Whatever went wrong, worded for the operator.
pub async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create(args) => create(args).await,
        UserCommand::List(args) => list(args).await,
        UserCommand::Show(args) => {
            let auth = engine(&args.config).await?;
            let user = find(&auth, &args.email).await?;
            print_user(&user, args.json)
        }
        UserCommand::Ban(args) => {
            let (auth, user) = engine_and_user(&args).await?;
            auth.ban_user(user.id).await.map_err(|e| lookup_error(e, &args.email))?;
            println!("banned {} (sessions revoked, access tokens invalidated)", user.email);
            Ok(())
        }
        UserCommand::Unban(args) => {
            let (auth, user) = engine_and_user(&args).await?;
            auth.unban_user(user.id)
                .await
                .map_err(|e| lookup_error(e, &args.email))?;
            println!("unbanned {}", user.email);
            Ok(())
        }
        UserCommand::MfaDisable(args) => {
            let (auth, user) = engine_and_user(&args).await?;
            auth.admin_disable_mfa(user.id)
                .await
                .map_err(|e| lookup_error(e, &args.email))?;
            println!("MFA disabled for {}", user.email);
            Ok(())
        }
        UserCommand::AddRole(args) => {
            let auth = engine(&args.config).await?;
            let user = find(&auth, &args.email).await?;
            auth.add_role(user.id, &args.role, true)
                .await
                .map_err(|e| lookup_error(e, &args.email))?;
            println!("added role {} to {}", args.role, user.email);
            Ok(())
        }
        UserCommand::RemoveRole(args) => {
            let auth = engine(&args.config).await?;
            let user = find(&auth, &args.email).await?;
            let had = user.roles.contains(&args.role);
            auth.remove_role(user.id, &args.role, true)
                .await
                .map_err(|e| lookup_error(e, &args.email))?;
            if had {
                println!("removed role {} from {}", args.role, user.email);
            } else {
                println!("{} did not have role {} (nothing to remove)", user.email, args.role);
            }
            Ok(())
        }
        UserCommand::Delete(args) => {
            let auth = engine(&args.config).await?;
            let user = find(&auth, &args.email).await?;
            auth.delete_user(user.id, args.hard)
                .await
                .map_err(|e| lookup_error(e, &args.email))?;
            if args.hard {
                println!("deleted {} permanently (id {})", user.email, user.id);
            } else {
                println!("deleted {} (id {}; the row is kept, anonymised)", user.email, user.id);
            }
            Ok(())
        }
        UserCommand::SendVerification(args) => {
            let (auth, user) = engine_and_user(&args).await?;
            if user.email_verified {
                bail!("{} is already verified: no mail sent", user.email);
            }
            auth.create_email_verification_token(user.id).await.map_err(describe)?;
            if auth.config().email.transport == "none" {
                println!(
                    "verification token created for {} (email.transport = none: deliver it from your \
                     email_verification_requested hook)",
                    user.email
                );
            } else {
                println!(
                    "verification email queued for {} (the server delivers it; earlier links no longer work)",
                    user.email
                );
            }
            Ok(())
        }
    }
}

/// Runs `authfort sessions …`.
///
/// # Errors
/// Whatever went wrong, worded for the operator.
pub async fn sessions(command: SessionsCommand) -> anyhow::Result<()> {
    match command {
        SessionsCommand::List(args) => {
            let auth = engine(&args.config).await?;
            let user = find(&auth, &args.email).await?;
            let sessions = auth.get_sessions(user.id, false).await.map_err(describe)?;
            if args.json {
                print_json(&SessionList { sessions: &sessions })
            } else {
                print!("{}", session_table(&sessions));
                Ok(())
            }
        }
        SessionsCommand::RevokeAll(args) => {
            let (auth, user) = engine_and_user(&args).await?;
            let active = auth.get_sessions(user.id, true).await.map_err(describe)?.len();
            auth.revoke_all_sessions(user.id, None).await.map_err(describe)?;
            println!(
                "revoked {} of {}",
                plural(active as u64, "active session", "active sessions"),
                user.email
            );
            Ok(())
        }
    }
}

/// Runs `authfort cleanup`: expired sessions (revoked refresh tokens are kept until their
/// session expires, so reuse is still detected), retired signing keys past expiry, used or
/// expired one-time tokens, delivered or dropped mail older than a day, and expired or used
/// OAuth sign-in states.
///
/// # Errors
/// If the database cannot be opened or written.
pub async fn cleanup(args: &ConfigArgs) -> anyhow::Result<()> {
    let auth = engine(args).await?;
    let sessions = auth.cleanup_expired_sessions().await.map_err(describe)?;
    let keys = auth.cleanup_expired_keys().await.map_err(describe)?;
    let (tokens, mail) = auth.cleanup_expired_tokens().await.map_err(describe)?;
    let oauth_states = auth.cleanup_expired_oauth_states().await.map_err(describe)?;
    println!("deleted {}", plural(sessions, "expired session", "expired sessions"));
    println!(
        "deleted {}",
        plural(keys, "expired signing key", "expired signing keys")
    );
    println!(
        "deleted {}",
        plural(tokens, "spent one-time token", "spent one-time tokens")
    );
    println!("deleted {}", plural(mail, "old mail message", "old mail messages"));
    println!(
        "deleted {}",
        plural(oauth_states, "spent OAuth sign-in state", "spent OAuth sign-in states")
    );
    Ok(())
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    if !args.password_stdin {
        bail!(
            "a password is required: pipe it in and pass --password-stdin, e.g. \
             `printf '%s\\n' \"$PASSWORD\" | authfort user create {} --password-stdin` \
             (passwords are never taken as arguments)",
            args.email
        );
    }
    let password = read_password(std::io::stdin().lock())?;
    let auth = engine(&args.config).await?;
    let created = auth
        .admin_create_user(CreateUser {
            email: args.email.clone(),
            password,
            name: args.name,
            email_verified: args.verified,
            ..CreateUser::default()
        })
        .await
        .map_err(describe)?;
    for role in &args.roles {
        auth.add_role(created.id, role, true)
            .await
            .map_err(describe)
            .with_context(|| format!("user {} was created, but adding role {role} failed", created.email))?;
    }
    let user = auth.get_user(created.id).await.map_err(describe)?;
    print_user(&user, args.json)
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let auth = engine(&args.config).await?;
    let banned = match (args.banned, args.not_banned) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let query = UserQuery {
        query: args.query,
        role: args.role,
        banned,
        limit: args.limit,
        offset: args.offset,
        ..UserQuery::default()
    };
    let page = auth.list_users(&query).await.map_err(describe)?;
    if args.json {
        return print_json(&UserList {
            users: &page.users,
            total: page.total,
        });
    }
    print!("{}", user_table(&page.users));
    let mut footer = format!(
        "showing {} of {}",
        page.users.len(),
        plural(page.total, "user", "users")
    );
    if page.offset > 0 {
        let _ = write!(footer, " (offset {})", page.offset);
    }
    println!("{footer}");
    Ok(())
}

/// The first line of `input` without its line ending.
fn read_password(mut input: impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    let read = input
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    if read == 0 {
        bail!("no password on standard input (--password-stdin reads its first line)");
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    if line.is_empty() {
        bail!("the password on standard input is empty");
    }
    Ok(line)
}

/// The engine on the configured database, with mail delivery off.
async fn engine(args: &ConfigArgs) -> anyhow::Result<AuthFort> {
    let config = prepare(args)?;
    open_engine(&config).await
}

async fn engine_and_user(args: &EmailArgs) -> anyhow::Result<(AuthFort, UserResponse)> {
    let auth = engine(&args.config).await?;
    let user = find(&auth, &args.email).await?;
    Ok((auth, user))
}

/// A live user by email, or "no user with email …".
async fn find(auth: &AuthFort, email: &str) -> anyhow::Result<UserResponse> {
    auth.get_user_by_email(email).await.map_err(|e| lookup_error(e, email))
}

fn lookup_error(e: AuthError, email: &str) -> anyhow::Error {
    if e.is("user_not_found") {
        anyhow!("no user with email {email}")
    } else {
        describe(e)
    }
}

/// A core error in the operator's words: the message of a refusal (with its code), the
/// full text otherwise.
fn describe(e: AuthError) -> anyhow::Error {
    match e {
        AuthError::Rejected { code, message, .. } => anyhow!("{message} ({code})"),
        other => anyhow::Error::new(other),
    }
}

#[derive(Serialize)]
struct UserList<'a> {
    users: &'a [UserResponse],
    total: u64,
}

#[derive(Serialize)]
struct SessionList<'a> {
    sessions: &'a [SessionInfo],
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("cannot serialise the output")?;
    println!("{text}");
    Ok(())
}

fn print_user(user: &UserResponse, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(user);
    }
    print!("{}", user_details(user));
    Ok(())
}

/// One user, one `field  value` line per field.
fn user_details(user: &UserResponse) -> String {
    let mut table = Table::new(&["field", "value"]);
    table.headless = true;
    table.row(["id".into(), user.id.to_string()]);
    table.row(["email".into(), cell(&user.email)]);
    table.row(["name".into(), optional(user.name.as_deref())]);
    table.row(["verified".into(), yes_no(user.email_verified)]);
    table.row(["banned".into(), yes_no(user.banned)]);
    table.row(["roles".into(), roles(&user.roles)]);
    if let Some(phone) = &user.phone {
        table.row(["phone".into(), cell(phone)]);
    }
    if let Some(avatar) = &user.avatar_url {
        table.row(["avatar_url".into(), cell(avatar)]);
    }
    table.row(["created".into(), timestamp(format_time(&user.created_at))]);
    table.to_string()
}

fn user_table(users: &[UserResponse]) -> String {
    let mut table = Table::new(&["ID", "EMAIL", "NAME", "VERIFIED", "BANNED", "ROLES", "CREATED"]);
    for user in users {
        table.row([
            user.id.to_string(),
            cell(&user.email),
            optional(user.name.as_deref()),
            yes_no(user.email_verified),
            yes_no(user.banned),
            roles(&user.roles),
            timestamp(format_time(&user.created_at)),
        ]);
    }
    table.to_string()
}

fn session_table(sessions: &[SessionInfo]) -> String {
    let mut table = Table::new(&["ID", "CREATED", "EXPIRES", "IP", "USER AGENT", "REVOKED"]);
    for s in sessions {
        let agent = optional(s.user_agent.as_deref());
        let agent = if agent.chars().count() > USER_AGENT_COLUMN_CHARS {
            let mut short: String = agent.chars().take(USER_AGENT_COLUMN_CHARS - 1).collect();
            short.push('…');
            short
        } else {
            agent
        };
        table.row([
            s.id.to_string(),
            timestamp(format_time(&s.created_at)),
            timestamp(format_time(&s.expires_at)),
            optional(s.ip_address.as_deref()),
            agent,
            yes_no(s.revoked),
        ]);
    }
    let mut out = table.to_string();
    let _ = writeln!(out, "{}", plural(sessions.len() as u64, "session", "sessions"));
    out
}

/// Text safe for a terminal: control characters are escaped.
fn cell(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

fn optional(text: Option<&str>) -> String {
    match text {
        Some(t) if !t.is_empty() => cell(t),
        _ => "-".into(),
    }
}

fn roles(roles: &[String]) -> String {
    if roles.is_empty() {
        "-".into()
    } else {
        cell(&roles.join(","))
    }
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.into()
}

/// `2026-05-01T10:20:30Z`: a wire-format time ([`format_time`]) without fractional seconds.
fn timestamp(wire: String) -> String {
    match wire.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => wire,
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A plain-text table: columns padded with two spaces, no trailing whitespace.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    headless: bool,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            headless: false,
        }
    }

    fn row<const N: usize>(&mut self, cells: [String; N]) {
        self.rows.push(cells.into());
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<&Vec<String>> = if self.headless {
            self.rows.iter().collect()
        } else {
            std::iter::once(&self.header).chain(&self.rows).collect()
        };
        let mut widths = vec![0; self.header.len()];
        for line in &lines {
            for (width, text) in widths.iter_mut().zip(line.iter()) {
                *width = (*width).max(text.chars().count());
            }
        }
        for line in lines {
            let mut out = String::new();
            for (i, text) in line.iter().enumerate() {
                if i + 1 == line.len() {
                    out.push_str(text);
                } else {
                    let pad = widths[i] - text.chars().count();
                    out.push_str(text);
                    out.push_str(&" ".repeat(pad + 2));
                }
            }
            writeln!(f, "{}", out.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_1_to_50_characters_without_whitespace_or_control_characters() {
        for good in ["admin", "billing:read", "r", &"é".repeat(50), "team/ops-2"] {
            assert_eq!(parse_role(good).as_deref(), Ok(good));
        }
        for bad in [
            "",
            " admin",
            "a b",
            "a\tb",
            "a\nb",
            "a\u{7}b",
            "a\u{a0}b",
            "a\u{2003}b",
            &"r".repeat(51),
        ] {
            assert!(parse_role(bad).is_err(), "{bad:?}");
        }
        assert!(parse_role(&"r".repeat(51)).unwrap_err().contains("at most 50"));
    }

    #[test]
    fn the_password_is_the_first_line_without_its_ending() {
        let read = |input: &str| read_password(input.as_bytes()).map_err(|e| e.to_string());
        assert_eq!(read("secret words\n").unwrap(), "secret words");
        assert_eq!(read("secret\r\nsecond line\n").unwrap(), "secret");
        assert_eq!(read("no newline").unwrap(), "no newline");
        assert_eq!(read("  spaces kept  \n").unwrap(), "  spaces kept  ");
        assert!(read("").unwrap_err().contains("no password"));
        assert!(read("\n").unwrap_err().contains("empty"));
    }

    #[test]
    fn tables_pad_columns_and_escape_control_characters() {
        let mut table = Table::new(&["A", "LONGER", "C"]);
        table.row(["wide cell".into(), cell("x\u{1b}[31m"), "-".into()]);
        table.row(["b".into(), "y".into(), String::new()]);
        assert_eq!(
            table.to_string(),
            "A          LONGER       C\nwide cell  x\\u{1b}[31m  -\nb          y\n"
        );
        assert_eq!(timestamp("2026-01-02T03:04:05.123456Z".into()), "2026-01-02T03:04:05Z");
        assert_eq!(timestamp("2026-01-02T03:04:05Z".into()), "2026-01-02T03:04:05Z");
        assert_eq!(plural(1, "session", "sessions"), "1 session");
        assert_eq!(plural(0, "session", "sessions"), "0 sessions");
    }
}
