//! The SQL both backends share, instantiated once per backend by [`impl_sql_store!`].

use authfort_verifier::Amr;
use uuid::Uuid;

use super::time_column::Ts;
use crate::model::{EmailOtp, OutboxMessage, RefreshToken, Session, SigningKey, User, VerificationToken};

pub(crate) const USER_COLUMNS: &str = "id, email, email_verified, name, avatar_url, phone, password_hash, \
     token_version, banned, is_deleted, deleted_at, created_at, updated_at";

/// A user row with its roles as a JSON array (`user_with_roles`).
#[derive(sqlx::FromRow)]
pub(crate) struct UserRolesRow {
    #[sqlx(flatten)]
    pub(crate) user: UserRow,
    pub(crate) roles: String,
}

/// A user's roles (a JSON array) and whether MFA is on, read in one statement.
#[derive(sqlx::FromRow)]
pub(crate) struct AccessRow {
    pub(crate) roles: String,
    pub(crate) mfa_enabled: Option<bool>,
}

/// A user row with its roles and MFA state (what an access token describes).
#[derive(sqlx::FromRow)]
pub(crate) struct UserAccessRow {
    #[sqlx(flatten)]
    pub(crate) user: UserRow,
    #[sqlx(flatten)]
    pub(crate) access: AccessRow,
}

/// Inserts a pending outbox message whose ten values are bound from `$first` on.
pub(crate) fn insert_outbox_sql(first: usize) -> String {
    let p: Vec<String> = (first..first + 10).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO authfort_outbox (id, kind, recipient, subject, body_text, body_html, token_id, \
         expires_at, status, attempts, next_attempt_at, created_at) \
         VALUES ({}, 'pending', 0, {})",
        p[..8].join(", "),
        p[8..].join(", ")
    )
}

/// A scalar subquery giving the roles of the user `user` names (a parameter such as `$1`,
/// or a column of the row a statement returns) as a JSON array of strings, oldest grant
/// first: one statement instead of a second round trip for the roles.
pub(crate) fn roles_json_sql(backend: super::Backend, user: &str) -> String {
    match backend {
        super::Backend::Sqlite => format!(
            "(SELECT json_group_array(role) FROM (SELECT role FROM authfort_user_roles \
             WHERE user_id = {user} ORDER BY created_at, role))"
        ),
        super::Backend::Postgres => format!(
            "(SELECT COALESCE(json_agg(role ORDER BY created_at, role), '[]'::json)::text \
             FROM authfort_user_roles WHERE user_id = {user})"
        ),
    }
}

/// Parses what [`roles_json_sql`] gives.
pub(crate) fn parse_roles(json: &str) -> super::StoreResult<Vec<String>> {
    serde_json::from_str(json).map_err(|e| super::StoreError::Backend(format!("roles column: {e}")))
}

/// The roles and MFA state of user `$1` (columns `roles`, `mfa_enabled`).
pub(crate) fn access_sql(backend: super::Backend) -> String {
    format!("SELECT {}", access_columns(backend))
}

/// User `$1` with its roles and MFA state, in one statement.
pub(crate) fn user_access_sql(backend: super::Backend) -> String {
    format!(
        "SELECT {USER_COLUMNS}, {} FROM authfort_users WHERE id = $1",
        access_columns(backend)
    )
}

/// The `roles` and `mfa_enabled` columns of user `$1`.
fn access_columns(backend: super::Backend) -> String {
    access_columns_of(backend, "$1")
}

/// The `roles` and `mfa_enabled` columns of the user `user` names (a parameter, or a column
/// of the row a statement returns).
pub(crate) fn access_columns_of(backend: super::Backend, user: &str) -> String {
    format!(
        "{} AS roles, (SELECT enabled FROM authfort_user_mfa WHERE user_id = {user}) AS mfa_enabled",
        roles_json_sql(backend, user)
    )
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    email_verified: bool,
    name: Option<String>,
    avatar_url: Option<String>,
    phone: Option<String>,
    password_hash: Option<String>,
    token_version: i64,
    banned: bool,
    is_deleted: bool,
    deleted_at: Option<Ts>,
    created_at: Ts,
    updated_at: Ts,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> User {
        User {
            id: r.id,
            email: r.email,
            email_verified: r.email_verified,
            name: r.name,
            avatar_url: r.avatar_url,
            phone: r.phone,
            password_hash: r.password_hash,
            token_version: r.token_version,
            banned: r.banned,
            is_deleted: r.is_deleted,
            deleted_at: r.deleted_at.map(Into::into),
            created_at: r.created_at.into(),
            updated_at: r.updated_at.into(),
        }
    }
}

pub(crate) const SESSION_COLUMNS: &str = "id, user_id, created_at, ip_address, user_agent, amr, expires_at, revoked_at";

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: Uuid,
    user_id: Uuid,
    created_at: Ts,
    ip_address: Option<String>,
    user_agent: Option<String>,
    amr: String,
    expires_at: Ts,
    revoked_at: Option<Ts>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Session {
        Session {
            id: r.id,
            user_id: r.user_id,
            created_at: r.created_at.into(),
            ip_address: r.ip_address,
            user_agent: r.user_agent,
            amr: r.amr.split_whitespace().filter_map(Amr::parse).collect(),
            expires_at: r.expires_at.into(),
            revoked_at: r.revoked_at.map(Into::into),
        }
    }
}

pub(crate) fn amr_column(amr: &[Amr]) -> String {
    amr.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(" ")
}

pub(crate) const REFRESH_COLUMNS: &str =
    "id, user_id, session_id, token_hash, expires_at, created_at, revoked, revoked_at, replaced_by";

#[derive(sqlx::FromRow)]
pub(crate) struct RefreshRow {
    id: Uuid,
    user_id: Uuid,
    session_id: Uuid,
    token_hash: String,
    expires_at: Ts,
    created_at: Ts,
    revoked: bool,
    revoked_at: Option<Ts>,
    replaced_by: Option<Uuid>,
}

impl From<RefreshRow> for RefreshToken {
    fn from(r: RefreshRow) -> RefreshToken {
        RefreshToken {
            id: r.id,
            user_id: r.user_id,
            session_id: r.session_id,
            token_hash: r.token_hash,
            expires_at: r.expires_at.into(),
            created_at: r.created_at.into(),
            revoked: r.revoked,
            revoked_at: r.revoked_at.map(Into::into),
            replaced_by: r.replaced_by,
        }
    }
}

pub(crate) const KEY_COLUMNS: &str =
    "id, kid, private_key, public_key, algorithm, is_current, created_at, expires_at, activated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    id: Uuid,
    kid: String,
    private_key: String,
    public_key: String,
    algorithm: String,
    is_current: bool,
    created_at: Ts,
    expires_at: Option<Ts>,
    activated_at: Option<Ts>,
}

impl From<KeyRow> for SigningKey {
    fn from(r: KeyRow) -> SigningKey {
        SigningKey {
            id: r.id,
            kid: r.kid,
            private_key_pem: r.private_key,
            public_key_pem: r.public_key,
            algorithm: r.algorithm,
            is_current: r.is_current,
            created_at: r.created_at.into(),
            expires_at: r.expires_at.map(Into::into),
            activated_at: r.activated_at.map(Into::into),
        }
    }
}

pub(crate) const TOKEN_COLUMNS: &str =
    "id, user_id, email, purpose, token_hash, redirect_to, expires_at, created_at, consumed_at";

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: Uuid,
    user_id: Option<Uuid>,
    email: String,
    purpose: String,
    token_hash: String,
    redirect_to: Option<String>,
    expires_at: Ts,
    created_at: Ts,
    consumed_at: Option<Ts>,
}

impl From<TokenRow> for VerificationToken {
    fn from(r: TokenRow) -> VerificationToken {
        VerificationToken {
            id: r.id,
            user_id: r.user_id,
            email: r.email,
            purpose: r.purpose,
            token_hash: r.token_hash,
            redirect_to: r.redirect_to,
            expires_at: r.expires_at.into(),
            created_at: r.created_at.into(),
            consumed_at: r.consumed_at.map(Into::into),
        }
    }
}

pub(crate) const OTP_COLUMNS: &str = "id, user_id, email, code_hmac, attempts, expires_at, created_at, consumed_at";

#[derive(sqlx::FromRow)]
pub(crate) struct OtpRow {
    id: Uuid,
    user_id: Option<Uuid>,
    email: String,
    code_hmac: String,
    attempts: i32,
    expires_at: Ts,
    created_at: Ts,
    consumed_at: Option<Ts>,
}

impl From<OtpRow> for EmailOtp {
    fn from(r: OtpRow) -> EmailOtp {
        EmailOtp {
            id: r.id,
            user_id: r.user_id,
            email: r.email,
            code_hmac: r.code_hmac,
            attempts: r.attempts,
            expires_at: r.expires_at.into(),
            created_at: r.created_at.into(),
            consumed_at: r.consumed_at.map(Into::into),
        }
    }
}

pub(crate) const MFA_COLUMNS: &str =
    "user_id, secret_enc, enabled, last_step, failed_attempts, locked_until, created_at, enabled_at";

#[derive(sqlx::FromRow)]
pub(crate) struct MfaRow {
    user_id: Uuid,
    secret_enc: String,
    enabled: bool,
    last_step: i64,
    failed_attempts: i32,
    locked_until: Option<Ts>,
    created_at: Ts,
    enabled_at: Option<Ts>,
}

impl From<MfaRow> for crate::model::UserMfa {
    fn from(r: MfaRow) -> crate::model::UserMfa {
        crate::model::UserMfa {
            user_id: r.user_id,
            secret_enc: r.secret_enc,
            enabled: r.enabled,
            last_step: r.last_step,
            failed_attempts: i64::from(r.failed_attempts),
            locked_until: r.locked_until.map(Into::into),
            created_at: r.created_at.into(),
            enabled_at: r.enabled_at.map(Into::into),
        }
    }
}

/// What [`sign_in_in`] needs besides the proven address (shared by magic links and codes).
pub(crate) struct SignInArgs<'a> {
    pub(crate) now: time::OffsetDateTime,
    pub(crate) allow_signup: bool,
    pub(crate) new_user_id: Uuid,
    pub(crate) session: &'a crate::model::Session,
    pub(crate) refresh: &'a crate::store::NewRefreshToken,
}

pub(crate) const OUTBOX_COLUMNS: &str = "id, kind, recipient, subject, body_text, body_html, token_id, expires_at, \
     status, attempts, next_attempt_at, locked_until, last_error, created_at, sent_at";

#[derive(sqlx::FromRow)]
pub(crate) struct OutboxRow {
    id: Uuid,
    kind: String,
    recipient: String,
    subject: Option<String>,
    body_text: Option<String>,
    body_html: Option<String>,
    token_id: Option<Uuid>,
    expires_at: Option<Ts>,
    status: String,
    attempts: i32,
    next_attempt_at: Ts,
    locked_until: Option<Ts>,
    last_error: Option<String>,
    created_at: Ts,
    sent_at: Option<Ts>,
}

impl From<OutboxRow> for OutboxMessage {
    fn from(r: OutboxRow) -> OutboxMessage {
        OutboxMessage {
            id: r.id,
            kind: r.kind,
            recipient: r.recipient,
            subject: r.subject,
            body_text: r.body_text,
            body_html: r.body_html,
            token_id: r.token_id,
            expires_at: r.expires_at.map(Into::into),
            status: r.status,
            attempts: i64::from(r.attempts),
            next_attempt_at: r.next_attempt_at.into(),
            locked_until: r.locked_until.map(Into::into),
            last_error: r.last_error,
            created_at: r.created_at.into(),
            sent_at: r.sent_at.map(Into::into),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OAuthStateRow {
    id: Uuid,
    state_hash: String,
    binding_hash: String,
    provider: String,
    pkce_verifier: String,
    nonce: String,
    redirect_to: Option<String>,
    mode: Option<String>,
    expires_at: Ts,
    created_at: Ts,
}

impl From<OAuthStateRow> for crate::store::OAuthState {
    fn from(r: OAuthStateRow) -> crate::store::OAuthState {
        crate::store::OAuthState {
            id: r.id,
            state_hash: r.state_hash,
            binding_hash: r.binding_hash,
            provider: r.provider,
            pkce_verifier: r.pkce_verifier,
            nonce: r.nonce,
            redirect_to: r.redirect_to,
            mode: r.mode,
            expires_at: r.expires_at.into(),
            created_at: r.created_at.into(),
        }
    }
}

/// Implements [`super::Store`] for a backend type that has a `pool: sqlx::Pool<$db>` field
/// for reads, a `writer()` method giving the pool every write goes through, a
/// `begin_write()` method and a `run_migrations()` method.
macro_rules! impl_sql_store {
    ($store:ty, $db:ty, $backend:expr) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> $crate::store::Backend {
                $backend
            }

            async fn migrate(&self) -> $crate::store::StoreResult<()> {
                self.run_migrations().await
            }

            async fn ping(&self) -> $crate::store::StoreResult<()> {
                // Reachable is not enough: the schema must be there and a key must sign.
                sqlx::query("SELECT 1 FROM authfort_users LIMIT 1").execute(&self.pool).await?;
                let current: Option<String> =
                    sqlx::query_scalar("SELECT kid FROM authfort_signing_keys WHERE is_current = TRUE")
                        .fetch_optional(&self.pool)
                        .await?;
                current.map(|_| ()).ok_or_else(|| $crate::store::StoreError::Backend("no current signing key".into()))
            }

            async fn insert_user(&self, new: &$crate::model::NewUser) -> $crate::store::StoreResult<()> {
                let u = &new.user;
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO authfort_users (id, email, email_verified, name, avatar_url, phone, password_hash, \
                     token_version, banned, is_deleted, deleted_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(u.id)
                .bind(&u.email)
                .bind(u.email_verified)
                .bind(&u.name)
                .bind(&u.avatar_url)
                .bind(&u.phone)
                .bind(&u.password_hash)
                .bind(u.token_version)
                .bind(u.banned)
                .bind(u.is_deleted)
                .bind(u.deleted_at.map(Ts))
                .bind(Ts(u.created_at))
                .bind(Ts(u.updated_at))
                .execute(&mut *tx)
                .await?;
                if let Some((provider, account_id)) = &new.account {
                    sqlx::query(
                        "INSERT INTO authfort_accounts (id, user_id, provider, provider_account_id, created_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(uuid::Uuid::new_v4())
                    .bind(u.id)
                    .bind(provider)
                    .bind(account_id)
                    .bind(Ts(u.created_at))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn user_by_id(&self, id: uuid::Uuid) -> $crate::store::StoreResult<Option<$crate::model::User>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM authfort_users WHERE id = $1");
                let row: Option<UserRow> = sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            async fn user_with_roles(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<($crate::model::User, Vec<String>)>> {
                // One statement: the roles come back as a JSON array beside the user's columns.
                let sql = format!(
                    "SELECT {USER_COLUMNS}, {} AS roles FROM authfort_users WHERE id = $1",
                    roles_json_sql($backend, "$1")
                );
                let row: Option<UserRolesRow> = sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?;
                row.map(|r| Ok((r.user.into(), parse_roles(&r.roles)?)))
                .transpose()
            }

            async fn user_by_email(&self, email: &str) -> $crate::store::StoreResult<Option<$crate::model::User>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM authfort_users WHERE email = $1");
                let row: Option<UserRow> = sqlx::query_as(&sql).bind(email).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            async fn roles(&self, user_id: uuid::Uuid) -> $crate::store::StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT role FROM authfort_user_roles WHERE user_id = $1 ORDER BY created_at, role",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn providers(&self, user_id: uuid::Uuid) -> $crate::store::StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT provider FROM authfort_accounts WHERE user_id = $1 ORDER BY created_at, provider",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn add_role(
                &self,
                user_id: uuid::Uuid,
                role: &str,
                bump: bool,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                if !bump_or_touch(&mut tx, user_id, bump, now).await? {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO authfort_user_roles (id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(uuid::Uuid::new_v4())
                .bind(user_id)
                .bind(role)
                .bind(Ts(now))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn remove_role(
                &self,
                user_id: uuid::Uuid,
                role: &str,
                bump: bool,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                if !bump_or_touch(&mut tx, user_id, bump, now).await? {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM authfort_user_roles WHERE user_id = $1 AND role = $2")
                    .bind(user_id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn set_banned(
                &self,
                user_id: uuid::Uuid,
                banned: bool,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let bump: i64 = if banned { 1 } else { 0 };
                let updated = sqlx::query(
                    "UPDATE authfort_users SET banned = $1, token_version = token_version + $2, updated_at = $3 \
                     WHERE id = $4 AND is_deleted = FALSE",
                )
                .bind(banned)
                .bind(bump)
                .bind(Ts(now))
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    return Ok(false);
                }
                if banned {
                    revoke_user_sessions_in(&mut tx, user_id, now).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn bump_token_version(
                &self,
                user_id: uuid::Uuid,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let ok = bump_or_touch(&mut tx, user_id, true, now).await?;
                tx.commit().await?;
                Ok(ok)
            }

            async fn create_session(
                &self,
                session: &$crate::model::Session,
                token: &$crate::store::NewRefreshToken,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                insert_session_in(&mut tx, session, token).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session(&self, id: uuid::Uuid) -> $crate::store::StoreResult<Option<$crate::model::Session>> {
                let sql = format!("SELECT {SESSION_COLUMNS} FROM authfort_sessions WHERE id = $1");
                let row: Option<SessionRow> = sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            async fn refresh_token_by_hash(
                &self,
                token_hash: &str,
            ) -> $crate::store::StoreResult<Option<$crate::model::RefreshToken>> {
                let sql = format!("SELECT {REFRESH_COLUMNS} FROM authfort_refresh_tokens WHERE token_hash = $1");
                let row: Option<RefreshRow> = sqlx::query_as(&sql).bind(token_hash).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            async fn rotate_refresh_token(
                &self,
                old_id: uuid::Uuid,
                new: &$crate::store::NewRefreshToken,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<Option<$crate::store::Rotated>> {
                // The claim (the single conditional write that picks the one winner of a race),
                // the new token and the session's new expiry, in one round trip; the session
                // row comes back only when the claim succeeded, and nothing is written otherwise.
                const CLAIM: &str = "UPDATE authfort_refresh_tokens SET revoked = TRUE, revoked_at = $1, replaced_by = $2 \
                     WHERE id = $3 AND revoked = FALSE AND expires_at > $1 \
                     AND EXISTS (SELECT 1 FROM authfort_users u WHERE u.id = authfort_refresh_tokens.user_id \
                                 AND u.banned = FALSE AND u.is_deleted = FALSE)";
                const INSERT: &str = "INSERT INTO authfort_refresh_tokens \
                     (id, user_id, session_id, token_hash, expires_at, created_at, revoked) \
                     SELECT $2, $4, $5, $6, $7, $8, FALSE";
                const EXTEND: &str =
                    "UPDATE authfort_sessions SET expires_at = CASE WHEN expires_at < $7 THEN $7 ELSE expires_at END";
                let sql = match $backend {
                    // One statement, atomic on its own. A racing rotation waits on the row
                    // lock, then finds the token revoked and claims nothing.
                    $crate::store::Backend::Postgres => format!(
                        "WITH claimed AS ({CLAIM} RETURNING id), inserted AS ({INSERT} FROM claimed RETURNING session_id) \
                         {EXTEND} WHERE id IN (SELECT session_id FROM inserted) RETURNING {SESSION_COLUMNS}"
                    ),
                    // Three statements sent together inside the write transaction: the insert
                    // runs only if the claim changed a row, the extension only if the new token
                    // exists.
                    $crate::store::Backend::Sqlite => format!(
                        "{CLAIM}; {INSERT} WHERE changes() = 1; \
                         {EXTEND} WHERE id = $5 AND EXISTS (SELECT 1 FROM authfort_refresh_tokens WHERE id = $2) \
                         RETURNING {SESSION_COLUMNS}"
                    ),
                };
                let q = sqlx::query_as::<_, SessionRow>(&sql)
                    .bind(Ts(now))
                    .bind(new.id)
                    .bind(old_id)
                    .bind(new.user_id)
                    .bind(new.session_id)
                    .bind(&new.token_hash)
                    .bind(Ts(new.expires_at))
                    .bind(Ts(new.created_at));
                let session = if matches!($backend, $crate::store::Backend::Postgres) {
                    q.fetch_optional(self.writer()).await?
                } else {
                    let mut tx = self.begin_write().await?;
                    let session = q.fetch_optional(&mut *tx).await?;
                    tx.commit().await?;
                    session
                };
                let Some(session) = session else {
                    return Ok(None);
                };
                // Read after the commit, on the read pool: the writer (SQLite has one) is free
                // for the next request one statement sooner.
                let user: Option<UserAccessRow> =
                    sqlx::query_as(&user_access_sql($backend)).bind(new.user_id).fetch_optional(&self.pool).await?;
                let Some(row) = user else {
                    return Ok(None);
                };
                let roles = parse_roles(&row.access.roles)?;
                let mfa_enabled = row.access.mfa_enabled == Some(true);
                let user: $crate::model::User = row.user.into();
                // Banned or deleted since the commit: no access token for them.
                if user.banned || user.is_deleted {
                    return Ok(None);
                }
                Ok(Some($crate::store::Rotated {
                    session: session.into(),
                    user,
                    roles,
                    mfa_enabled,
                }))
            }

            async fn revoke_refresh_token(
                &self,
                id: uuid::Uuid,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<bool> {
                let n = sqlx::query(
                    "UPDATE authfort_refresh_tokens SET revoked = TRUE, revoked_at = $1 WHERE id = $2 AND revoked = FALSE",
                )
                .bind(Ts(now))
                .bind(id)
                .execute(self.writer())
                .await?
                .rows_affected();
                Ok(n == 1)
            }

            async fn revoke_session(
                &self,
                session_id: uuid::Uuid,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE authfort_refresh_tokens SET revoked = TRUE, revoked_at = $1 \
                     WHERE session_id = $2 AND revoked = FALSE",
                )
                .bind(Ts(now))
                .bind(session_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query("UPDATE authfort_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(Ts(now))
                    .bind(session_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(n)
            }

            async fn revoke_user_sessions(
                &self,
                user_id: uuid::Uuid,
                except: Option<uuid::Uuid>,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                let n = revoke_user_sessions_except_in(&mut tx, user_id, except, now).await?;
                tx.commit().await?;
                Ok(n)
            }

            async fn sessions_of(
                &self,
                user_id: uuid::Uuid,
                active_only: bool,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<Vec<$crate::model::Session>> {
                let filter = if active_only { "AND revoked_at IS NULL AND expires_at > $2" } else { "AND $2 = $2" };
                let sql = format!(
                    "SELECT {SESSION_COLUMNS} FROM authfort_sessions WHERE user_id = $1 {filter} \
                     ORDER BY created_at DESC, id"
                );
                let rows: Vec<SessionRow> =
                    sqlx::query_as(&sql).bind(user_id).bind(Ts(now)).fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn list_users(
                &self,
                q: &$crate::store::UserQuery,
            ) -> $crate::store::StoreResult<(Vec<$crate::model::User>, u64)> {
                fn filters<'a>(b: &mut sqlx::QueryBuilder<'a, $db>, q: &'a $crate::store::UserQuery, pattern: &'a Option<String>) {
                    b.push(" WHERE 1 = 1");
                    if !q.include_deleted {
                        b.push(" AND u.is_deleted = FALSE");
                    }
                    if let Some(banned) = q.banned {
                        b.push(" AND u.banned = ").push_bind(banned);
                    }
                    if let Some(p) = pattern {
                        b.push(" AND (LOWER(u.email) LIKE ")
                            .push_bind(p.as_str())
                            .push(" ESCAPE '\\' OR LOWER(COALESCE(u.name, '')) LIKE ")
                            .push_bind(p.as_str())
                            .push(" ESCAPE '\\')");
                    }
                    if let Some(role) = &q.role {
                        b.push(" AND EXISTS (SELECT 1 FROM authfort_user_roles r WHERE r.user_id = u.id AND r.role = ")
                            .push_bind(role.as_str())
                            .push(")");
                    }
                }
                let pattern = q.query.as_ref().map(|s| {
                    let escaped = s.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    format!("%{escaped}%")
                });
                let mut count = sqlx::QueryBuilder::<$db>::new("SELECT COUNT(*) FROM authfort_users u");
                filters(&mut count, q, &pattern);
                let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
                let columns = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
                let mut page = sqlx::QueryBuilder::<$db>::new(format!("SELECT {columns} FROM authfort_users u"));
                filters(&mut page, q, &pattern);
                let order = match q.sort_by {
                    $crate::store::UserSort::CreatedAt => "u.created_at",
                    $crate::store::UserSort::Email => "u.email",
                    $crate::store::UserSort::Name => "COALESCE(u.name, '')",
                };
                let dir = if q.ascending { "ASC" } else { "DESC" };
                page.push(format!(" ORDER BY {order} {dir}, u.id {dir} LIMIT "))
                    .push_bind(i64::from(q.limit.min(500)))
                    .push(" OFFSET ")
                    .push_bind(i64::try_from(q.offset).unwrap_or(i64::MAX));
                let rows: Vec<UserRow> = page.build_query_as().fetch_all(&self.pool).await?;
                Ok((rows.into_iter().map(Into::into).collect(), u64::try_from(total).unwrap_or(0)))
            }

            async fn update_user(
                &self,
                user_id: uuid::Uuid,
                u: &$crate::store::UserUpdate,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<Option<$crate::model::User>> {
                let mut b = sqlx::QueryBuilder::<$db>::new("UPDATE authfort_users SET updated_at = ");
                b.push_bind(Ts(now));
                if let Some(name) = &u.name {
                    b.push(", name = ").push_bind(name.clone());
                }
                if let Some(avatar) = &u.avatar_url {
                    b.push(", avatar_url = ").push_bind(avatar.clone());
                }
                if let Some(phone) = &u.phone {
                    b.push(", phone = ").push_bind(phone.clone());
                }
                if let Some(v) = u.email_verified {
                    b.push(", email_verified = ").push_bind(v);
                }
                b.push(" WHERE id = ").push_bind(user_id);
                b.push(format!(" RETURNING {USER_COLUMNS}"));
                let row: Option<UserRow> = b.build_query_as().fetch_optional(self.writer()).await?;
                Ok(row.map(Into::into))
            }

            async fn delete_user(
                &self,
                user_id: uuid::Uuid,
                hard: bool,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<Option<$crate::model::User>> {
                let mut tx = self.begin_write().await?;
                let lock = format!("UPDATE authfort_users SET updated_at = updated_at WHERE id = $1 RETURNING {USER_COLUMNS}");
                let user: Option<$crate::model::User> =
                    sqlx::query_as::<_, UserRow>(&lock).bind(user_id).fetch_optional(&mut *tx).await?.map(Into::into);
                let Some(user) = user else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                if user.is_deleted && !hard {
                    tx.rollback().await?;
                    return Ok(None);
                }
                for sql in [
                    "DELETE FROM authfort_user_roles WHERE user_id = $1",
                    "DELETE FROM authfort_refresh_tokens WHERE user_id = $1",
                    "DELETE FROM authfort_sessions WHERE user_id = $1",
                    "DELETE FROM authfort_accounts WHERE user_id = $1",
                    "DELETE FROM authfort_verification_tokens WHERE user_id = $1",
                    "DELETE FROM authfort_email_otps WHERE user_id = $1",
                    "DELETE FROM authfort_password_history WHERE user_id = $1",
                    "DELETE FROM authfort_mfa_backup_codes WHERE user_id = $1",
                    "DELETE FROM authfort_user_mfa WHERE user_id = $1",
                ] {
                    sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
                }
                for sql in [
                    "DELETE FROM authfort_verification_tokens WHERE email = $1",
                    "DELETE FROM authfort_email_otps WHERE email = $1",
                ] {
                    sqlx::query(sql).bind(&user.email).execute(&mut *tx).await?;
                }
                sqlx::query(
                    "UPDATE authfort_outbox SET status = 'dropped', body_text = NULL, body_html = NULL, \
                     last_error = 'user deleted' WHERE recipient = $1 AND status = 'pending'",
                )
                .bind(&user.email)
                .execute(&mut *tx)
                .await?;
                if hard {
                    sqlx::query("DELETE FROM authfort_users WHERE id = $1").bind(user_id).execute(&mut *tx).await?;
                } else {
                    sqlx::query(
                        "UPDATE authfort_users SET name = 'Deleted user', avatar_url = NULL, phone = NULL, email = $1, \
                         password_hash = NULL, token_version = token_version + 1, is_deleted = TRUE, deleted_at = $2, \
                         updated_at = $2 WHERE id = $3",
                    )
                    .bind(format!("deleted+{user_id}@deleted.invalid"))
                    .bind(Ts(now))
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(Some(user))
            }

            async fn delete_expired_sessions(&self, now: time::OffsetDateTime) -> $crate::store::StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "DELETE FROM authfort_refresh_tokens WHERE session_id IN \
                     (SELECT id FROM authfort_sessions WHERE expires_at <= $1)",
                )
                .bind(Ts(now))
                .execute(&mut *tx)
                .await?;
                let n = sqlx::query("DELETE FROM authfort_sessions WHERE expires_at <= $1")
                    .bind(Ts(now))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n)
            }

            async fn create_verification_token(
                &self,
                token: &$crate::model::VerificationToken,
                message: Option<&$crate::model::OutboxMessage>,
            ) -> $crate::store::StoreResult<()> {
                // Earlier unused tokens of this purpose for the address go, with their pending
                // mail; the new token (and its mail) comes in. All in one round trip:
                // PostgreSQL runs it as one statement (atomic on its own), SQLite as
                // statements sent together inside a write transaction.
                let unused = "SELECT id FROM authfort_verification_tokens \
                              WHERE purpose = $4 AND email = $3 AND consumed_at IS NULL";
                let mut steps = vec![
                    format!(
                        "UPDATE authfort_outbox SET status = 'dropped', body_text = NULL, body_html = NULL, \
                         last_error = 'superseded by a newer token' WHERE status = 'pending' AND token_id IN ({unused})"
                    ),
                    "DELETE FROM authfort_verification_tokens WHERE purpose = $4 AND email = $3 AND consumed_at IS NULL"
                        .to_owned(),
                ];
                if message.is_some() {
                    steps.push(insert_outbox_sql(9));
                }
                let insert = "INSERT INTO authfort_verification_tokens (id, user_id, email, purpose, token_hash, \
                              redirect_to, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
                let postgres = matches!($backend, $crate::store::Backend::Postgres);
                let sql = if postgres {
                    let ctes: Vec<String> = steps.iter().enumerate().map(|(i, st)| format!("s{i} AS ({st})")).collect();
                    format!("WITH {} {insert}", ctes.join(", "))
                } else {
                    format!("{}; {insert}", steps.join("; "))
                };
                let mut q = sqlx::query(&sql)
                    .bind(token.id)
                    .bind(token.user_id)
                    .bind(&token.email)
                    .bind(&token.purpose)
                    .bind(&token.token_hash)
                    .bind(&token.redirect_to)
                    .bind(Ts(token.expires_at))
                    .bind(Ts(token.created_at));
                if let Some(m) = message {
                    q = bind_outbox(q, m);
                }
                if postgres {
                    q.execute(self.writer()).await?;
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                q.execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn invalidate_verification_tokens(&self, purpose: &str, email: &str) -> $crate::store::StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                let n = invalidate_tokens_in(&mut tx, purpose, email).await?.len() as u64;
                tx.commit().await?;
                Ok(n)
            }

            async fn verification_token_by_hash(
                &self,
                token_hash: &str,
            ) -> $crate::store::StoreResult<Option<$crate::model::VerificationToken>> {
                let sql = format!("SELECT {TOKEN_COLUMNS} FROM authfort_verification_tokens WHERE token_hash = $1");
                let row: Option<TokenRow> = sqlx::query_as(&sql).bind(token_hash).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            async fn redeem_magic_link(
                &self,
                r: &$crate::store::RedeemMagicLink,
            ) -> $crate::store::StoreResult<$crate::store::RedeemOutcome> {
                use $crate::store::RedeemOutcome;
                let mut tx = self.begin_write().await?;
                // The single conditional write: of N concurrent redeems exactly one sees a row.
                let sql = format!(
                    "UPDATE authfort_verification_tokens SET consumed_at = $1 \
                     WHERE token_hash = $2 AND purpose = 'magic_link' AND consumed_at IS NULL AND expires_at > $1 \
                     RETURNING {TOKEN_COLUMNS}"
                );
                let token: Option<TokenRow> =
                    sqlx::query_as(&sql).bind(Ts(r.now)).bind(&r.token_hash).fetch_optional(&mut *tx).await?;
                let Some(token) = token.map($crate::model::VerificationToken::from) else {
                    tx.rollback().await?;
                    return Ok(RedeemOutcome::Invalid);
                };
                let step = sign_in_in(
                    &mut tx,
                    token.user_id,
                    &token.email,
                    SignInArgs {
                        now: r.now,
                        allow_signup: r.allow_signup,
                        new_user_id: r.new_user_id,
                        session: &r.session,
                        refresh: &r.refresh,
                    },
                )
                .await?;
                match step {
                    RedeemOutcome::SignedIn(mut redeemed) => {
                        tx.commit().await?;
                        redeemed.redirect_to = token.redirect_to;
                        Ok(RedeemOutcome::SignedIn(redeemed))
                    }
                    // The link proved the address and is spent; the session waits for MFA.
                    RedeemOutcome::MfaRequired(mut redeemed) => {
                        tx.commit().await?;
                        redeemed.redirect_to = token.redirect_to;
                        Ok(RedeemOutcome::MfaRequired(redeemed))
                    }
                    refused => {
                        tx.rollback().await?;
                        Ok(refused)
                    }
                }
            }

            async fn redeem_email_verification(
                &self,
                token_hash: &str,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<Option<($crate::model::User, bool)>> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "UPDATE authfort_verification_tokens SET consumed_at = $1 \
                     WHERE token_hash = $2 AND purpose = 'email_verify' AND consumed_at IS NULL AND expires_at > $1 \
                     RETURNING {TOKEN_COLUMNS}"
                );
                let token: Option<TokenRow> =
                    sqlx::query_as(&sql).bind(Ts(now)).bind(token_hash).fetch_optional(&mut *tx).await?;
                let token = token.map($crate::model::VerificationToken::from);
                let Some((user_id, email)) = token.and_then(|t| t.user_id.map(|id| (id, t.email))) else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                let user = lock_user_in(&mut tx, user_id).await?;
                // The token proves the address it was sent to, and only that one.
                let Some(mut user) = user.filter(|u| !u.is_deleted && u.email == email) else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                let verified_now = !user.email_verified;
                if verified_now {
                    sqlx::query("UPDATE authfort_users SET email_verified = TRUE, updated_at = $1 WHERE id = $2")
                        .bind(Ts(now))
                        .bind(user.id)
                        .execute(&mut *tx)
                        .await?;
                    user.email_verified = true;
                    user.updated_at = now;
                }
                tx.commit().await?;
                Ok(Some((user, verified_now)))
            }

            async fn create_email_otp(
                &self,
                otp: &$crate::model::EmailOtp,
                message: Option<&$crate::model::OutboxMessage>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let dead = invalidate_otps_in(&mut tx, &otp.email).await?;
                drop_mail_in(&mut tx, &dead, "superseded by a newer code").await?;
                sqlx::query(
                    "INSERT INTO authfort_email_otps (id, user_id, email, code_hmac, attempts, expires_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(otp.id)
                .bind(otp.user_id)
                .bind(&otp.email)
                .bind(&otp.code_hmac)
                .bind(otp.attempts)
                .bind(Ts(otp.expires_at))
                .bind(Ts(otp.created_at))
                .execute(&mut *tx)
                .await?;
                if let Some(m) = message {
                    insert_outbox_in(&mut tx, m).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn invalidate_email_otps(&self, email: &str) -> $crate::store::StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                let n = invalidate_otps_in(&mut tx, email).await?.len() as u64;
                tx.commit().await?;
                Ok(n)
            }

            async fn latest_email_otp(
                &self,
                email: &str,
            ) -> $crate::store::StoreResult<Option<$crate::model::EmailOtp>> {
                let sql = format!(
                    "SELECT {OTP_COLUMNS} FROM authfort_email_otps WHERE email = $1 ORDER BY created_at DESC, id LIMIT 1"
                );
                let row: Option<OtpRow> = sqlx::query_as(&sql).bind(email).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            async fn redeem_email_otp(
                &self,
                r: &$crate::store::RedeemEmailOtp,
            ) -> $crate::store::StoreResult<$crate::store::RedeemOutcome> {
                use $crate::store::RedeemOutcome;
                let mut tx = self.begin_write().await?;
                // The single conditional write: it counts the attempt and, on a match, consumes
                // the code. Dead codes (used, expired, out of attempts) match no row, so of N
                // concurrent tries at most `max_attempts` are ever compared and one can win.
                let sql = format!(
                    "UPDATE authfort_email_otps SET attempts = attempts + 1, \
                     consumed_at = CASE WHEN code_hmac = $2 THEN $1 ELSE NULL END \
                     WHERE id = (SELECT id FROM authfort_email_otps WHERE email = $3 AND consumed_at IS NULL \
                                 ORDER BY created_at DESC, id LIMIT 1) \
                     AND consumed_at IS NULL AND attempts < $4 AND expires_at > $1 \
                     RETURNING {OTP_COLUMNS}"
                );
                let row: Option<OtpRow> = sqlx::query_as(&sql)
                    .bind(Ts(r.now))
                    .bind(&r.code_hmac)
                    .bind(&r.email)
                    .bind(r.max_attempts)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(otp) = row.map($crate::model::EmailOtp::from) else {
                    tx.rollback().await?;
                    return Ok(RedeemOutcome::Invalid);
                };
                if otp.consumed_at.is_none() {
                    tx.commit().await?;
                    return Ok(RedeemOutcome::Invalid);
                }
                let step = sign_in_in(
                    &mut tx,
                    otp.user_id,
                    &otp.email,
                    SignInArgs {
                        now: r.now,
                        allow_signup: r.allow_signup,
                        new_user_id: r.new_user_id,
                        session: &r.session,
                        refresh: &r.refresh,
                    },
                )
                .await?;
                // Whatever the outcome, the matched code is spent.
                tx.commit().await?;
                Ok(step)
            }

            async fn write_password(
                &self,
                w: &$crate::store::PasswordWrite,
            ) -> $crate::store::StoreResult<Option<$crate::model::User>> {
                use $crate::store::PasswordCondition;
                let mut tx = self.begin_write().await?;
                let Some(user) = lock_user_in(&mut tx, w.user_id).await?.filter(|u| !u.is_deleted) else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                let holds = match &w.condition {
                    PasswordCondition::NoPassword => user.password_hash.is_none(),
                    PasswordCondition::CurrentHash(h) => user.password_hash.as_deref() == Some(h.as_str()),
                    PasswordCondition::ResetToken(token_hash) => {
                        sqlx::query(
                            "UPDATE authfort_verification_tokens SET consumed_at = $1 \
                             WHERE token_hash = $2 AND purpose = 'password_reset' AND user_id = $3 \
                             AND consumed_at IS NULL AND expires_at > $1",
                        )
                        .bind(Ts(w.now))
                        .bind(token_hash)
                        .bind(user.id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                            == 1
                    }
                };
                if !holds {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let sql = format!(
                    "UPDATE authfort_users SET password_hash = $1, token_version = token_version + 1, updated_at = $2 \
                     WHERE id = $3 RETURNING {USER_COLUMNS}"
                );
                let updated: UserRow = sqlx::query_as(&sql)
                    .bind(&w.password_hash)
                    .bind(Ts(w.now))
                    .bind(user.id)
                    .fetch_one(&mut *tx)
                    .await?;
                revoke_user_sessions_except_in(&mut tx, user.id, w.keep_session, w.now).await?;
                if w.history_keep > 0 {
                    record_password_in(&mut tx, user.id, &w.password_hash, w.history_keep, w.now).await?;
                }
                sqlx::query(
                    "INSERT INTO authfort_accounts (id, user_id, provider, provider_account_id, created_at) \
                     SELECT $1, $2, 'email', $3, $4 WHERE NOT EXISTS \
                     (SELECT 1 FROM authfort_accounts WHERE user_id = $2 AND provider = 'email') \
                     ON CONFLICT DO NOTHING",
                )
                .bind(uuid::Uuid::new_v4())
                .bind(user.id)
                .bind(&user.email)
                .bind(Ts(w.now))
                .execute(&mut *tx)
                .await?;
                // A new password retires every outstanding reset link of the account.
                let dead: Vec<uuid::Uuid> = sqlx::query_scalar(
                    "DELETE FROM authfort_verification_tokens WHERE purpose = 'password_reset' AND user_id = $1 \
                     AND consumed_at IS NULL RETURNING id",
                )
                .bind(user.id)
                .fetch_all(&mut *tx)
                .await?;
                drop_mail_in(&mut tx, &dead, "password already changed").await?;
                tx.commit().await?;
                Ok(Some(updated.into()))
            }

            async fn password_history(
                &self,
                user_id: uuid::Uuid,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT password_hash FROM authfort_password_history WHERE user_id = $1 \
                     ORDER BY created_at DESC, id LIMIT $2",
                )
                .bind(user_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn record_password(
                &self,
                user_id: uuid::Uuid,
                hash: &str,
                keep: u32,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                record_password_in(&mut tx, user_id, hash, keep, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn claim_outbox_message(
                &self,
                now: time::OffsetDateTime,
                lease_until: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<Option<$crate::model::OutboxMessage>> {
                let sql = format!(
                    "UPDATE authfort_outbox SET locked_until = $2, attempts = attempts + 1 \
                     WHERE id = (SELECT id FROM authfort_outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
                                 AND (locked_until IS NULL OR locked_until <= $1) \
                                 ORDER BY next_attempt_at, created_at LIMIT 1) \
                     AND status = 'pending' AND (locked_until IS NULL OR locked_until <= $1) \
                     RETURNING {OUTBOX_COLUMNS}"
                );
                let row: Option<OutboxRow> =
                    sqlx::query_as(&sql).bind(Ts(now)).bind(Ts(lease_until)).fetch_optional(self.writer()).await?;
                Ok(row.map(Into::into))
            }

            async fn complete_outbox_message(
                &self,
                id: uuid::Uuid,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE authfort_outbox SET status = 'sent', sent_at = $1, locked_until = NULL, \
                     body_text = NULL, body_html = NULL, last_error = NULL WHERE id = $2 AND status = 'pending'",
                )
                .bind(Ts(now))
                .bind(id)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn fail_outbox_message(
                &self,
                id: uuid::Uuid,
                error: &str,
                retry_at: Option<time::OffsetDateTime>,
            ) -> $crate::store::StoreResult<()> {
                let error: String = error.chars().take(500).collect();
                match retry_at {
                    Some(at) => sqlx::query(
                        "UPDATE authfort_outbox SET next_attempt_at = $1, locked_until = NULL, last_error = $2 \
                         WHERE id = $3 AND status = 'pending'",
                    )
                    .bind(Ts(at))
                    .bind(error)
                    .bind(id),
                    None => sqlx::query(
                        "UPDATE authfort_outbox SET status = 'dropped', locked_until = NULL, body_text = NULL, \
                         body_html = NULL, last_error = $1 WHERE id = $2 AND status = 'pending'",
                    )
                    .bind(error)
                    .bind(id),
                }
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn delete_spent_tokens(
                &self,
                tokens_before: time::OffsetDateTime,
                messages_before: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<(u64, u64)> {
                let mut tx = self.begin_write().await?;
                let tokens = sqlx::query(
                    "DELETE FROM authfort_verification_tokens WHERE expires_at <= $1 OR consumed_at <= $1",
                )
                .bind(Ts(tokens_before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let codes = sqlx::query(
                    "DELETE FROM authfort_email_otps WHERE expires_at <= $1 OR consumed_at <= $1 \
                     OR (attempts >= $2 AND created_at <= $1)",
                )
                .bind(Ts(tokens_before))
                .bind($crate::model::EmailOtp::MAX_ATTEMPTS)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let tokens = tokens + codes;
                let messages = sqlx::query(
                    "DELETE FROM authfort_outbox WHERE status IN ('sent', 'dropped') AND created_at <= $1",
                )
                .bind(Ts(messages_before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok((tokens, messages))
            }

            async fn outbox_message(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::model::OutboxMessage>> {
                let sql = format!("SELECT {OUTBOX_COLUMNS} FROM authfort_outbox WHERE id = $1");
                let row: Option<OutboxRow> = sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            async fn outbox_for(
                &self,
                recipient: &str,
            ) -> $crate::store::StoreResult<Vec<$crate::model::OutboxMessage>> {
                let sql = format!("SELECT {OUTBOX_COLUMNS} FROM authfort_outbox WHERE recipient = $1 ORDER BY created_at, id");
                let rows: Vec<OutboxRow> = sqlx::query_as(&sql).bind(recipient).fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn mfa(&self, user_id: uuid::Uuid) -> $crate::store::StoreResult<Option<$crate::model::UserMfa>> {
                let sql = format!("SELECT {MFA_COLUMNS} FROM authfort_user_mfa WHERE user_id = $1");
                let row: Option<MfaRow> = sqlx::query_as(&sql).bind(user_id).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            async fn begin_mfa_setup(
                &self,
                user_id: uuid::Uuid,
                secret_enc: &str,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<bool> {
                let n = sqlx::query(
                    "INSERT INTO authfort_user_mfa (user_id, secret_enc, enabled, last_step, failed_attempts, created_at) \
                     SELECT id, $2, FALSE, -1, 0, $3 FROM authfort_users WHERE id = $1 AND is_deleted = FALSE \
                     ON CONFLICT (user_id) DO UPDATE SET secret_enc = excluded.secret_enc, last_step = -1, \
                     created_at = excluded.created_at WHERE authfort_user_mfa.enabled = FALSE",
                )
                .bind(user_id)
                .bind(secret_enc)
                .bind(Ts(now))
                .execute(self.writer())
                .await?
                .rows_affected();
                Ok(n == 1)
            }

            async fn enable_mfa(
                &self,
                user_id: uuid::Uuid,
                secret_enc: &str,
                step: i64,
                code_hmacs: &[String],
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE authfort_user_mfa SET enabled = TRUE, last_step = $3, failed_attempts = 0, \
                     locked_until = NULL, enabled_at = $4 WHERE user_id = $1 AND secret_enc = $2 AND enabled = FALSE",
                )
                .bind(user_id)
                .bind(secret_enc)
                .bind(step)
                .bind(Ts(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                insert_backup_codes_in(&mut tx, user_id, code_hmacs, now).await?;
                bump_or_touch(&mut tx, user_id, true, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn accept_totp_step(
                &self,
                user_id: uuid::Uuid,
                step: i64,
                reset_failures: bool,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<bool> {
                let q = if reset_failures {
                    sqlx::query(
                        "UPDATE authfort_user_mfa SET last_step = $2, failed_attempts = 0, locked_until = NULL \
                         WHERE user_id = $1 AND enabled = TRUE AND last_step < $2 \
                         AND (locked_until IS NULL OR locked_until <= $3)",
                    )
                    .bind(user_id)
                    .bind(step)
                    .bind(Ts(now))
                } else {
                    sqlx::query(
                        "UPDATE authfort_user_mfa SET last_step = $2 WHERE user_id = $1 AND enabled = TRUE AND last_step < $2",
                    )
                    .bind(user_id)
                    .bind(step)
                };
                let n = q.execute(self.writer()).await?.rows_affected();
                Ok(n == 1)
            }

            async fn use_backup_code(
                &self,
                user_id: uuid::Uuid,
                code_hmac: &str,
                reset_failures: bool,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE authfort_mfa_backup_codes SET used_at = $3 \
                     WHERE user_id = $1 AND code_hmac = $2 AND used_at IS NULL",
                )
                .bind(user_id)
                .bind(code_hmac)
                .bind(Ts(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                if reset_failures {
                    sqlx::query("UPDATE authfort_user_mfa SET failed_attempts = 0, locked_until = NULL WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn count_mfa_attempt(
                &self,
                user_id: uuid::Uuid,
                max_attempts: u32,
                lock_until: time::OffsetDateTime,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<$crate::store::MfaAttemptCount> {
                // One conditional write: count, and at the threshold lock and restart the count.
                let max = i64::from(max_attempts);
                let row: Option<(i32, Option<Ts>)> = sqlx::query_as(
                    "UPDATE authfort_user_mfa SET \
                     locked_until = CASE WHEN $2 > 0 AND failed_attempts + 1 >= $2 THEN $3 ELSE NULL END, \
                     failed_attempts = CASE WHEN $2 > 0 AND failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END \
                     WHERE user_id = $1 AND enabled = TRUE AND (locked_until IS NULL OR locked_until <= $4) \
                     RETURNING failed_attempts, locked_until",
                )
                .bind(user_id)
                .bind(max)
                .bind(Ts(lock_until))
                .bind(Ts(now))
                .fetch_optional(self.writer())
                .await?;
                Ok(match row {
                    None => $crate::store::MfaAttemptCount::Refused,
                    Some((_, locked)) => $crate::store::MfaAttemptCount::Counted {
                        locked_until: locked.map(Into::into),
                    },
                })
            }

            async fn reset_mfa_failures(&self, user_id: uuid::Uuid) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE authfort_user_mfa SET failed_attempts = 0, locked_until = NULL WHERE user_id = $1")
                    .bind(user_id)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn disable_mfa(&self, user_id: uuid::Uuid, now: time::OffsetDateTime) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM authfort_user_mfa WHERE user_id = $1 AND enabled = TRUE")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                sqlx::query("DELETE FROM authfort_mfa_backup_codes WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                bump_or_touch(&mut tx, user_id, true, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn replace_backup_codes(
                &self,
                user_id: uuid::Uuid,
                code_hmacs: &[String],
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                // Locks the MFA row, so a concurrent disable waits for us.
                let n = sqlx::query("UPDATE authfort_user_mfa SET enabled = enabled WHERE user_id = $1 AND enabled = TRUE")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                insert_backup_codes_in(&mut tx, user_id, code_hmacs, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn backup_codes_remaining(&self, user_id: uuid::Uuid) -> $crate::store::StoreResult<u64> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM authfort_mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL",
                )
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn signing_keys(&self) -> $crate::store::StoreResult<Vec<$crate::model::SigningKey>> {
                let sql = format!("SELECT {KEY_COLUMNS} FROM authfort_signing_keys ORDER BY is_current DESC, (expires_at IS NULL) DESC, created_at DESC, kid DESC");
                let rows: Vec<KeyRow> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn insert_first_signing_key(
                &self,
                key: &$crate::model::SigningKey,
            ) -> $crate::store::StoreResult<bool> {
                // The partial unique index on is_current makes a second current key a conflict,
                // so processes starting together on one database agree on one key.
                let n = sqlx::query(
                    "INSERT INTO authfort_signing_keys (id, kid, private_key, public_key, algorithm, is_current, \
                     created_at, expires_at, activated_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6, NULL, $6) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(key.id)
                .bind(&key.kid)
                .bind(&key.private_key_pem)
                .bind(&key.public_key_pem)
                .bind(&key.algorithm)
                .bind(Ts(key.created_at))
                .execute(self.writer())
                .await?
                .rows_affected();
                Ok(n == 1)
            }

            async fn insert_next_signing_key(
                &self,
                key: &$crate::model::SigningKey,
            ) -> $crate::store::StoreResult<bool> {
                // A partial unique index allows one next key, so racing processes agree on one.
                let n = sqlx::query(
                    "INSERT INTO authfort_signing_keys (id, kid, private_key, public_key, algorithm, is_current, \
                     created_at, expires_at, activated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, NULL, NULL) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(key.id)
                .bind(&key.kid)
                .bind(&key.private_key_pem)
                .bind(&key.public_key_pem)
                .bind(&key.algorithm)
                .bind(Ts(key.created_at))
                .execute(self.writer())
                .await?
                .rows_affected();
                Ok(n == 1)
            }

            async fn rotate_signing_key(
                &self,
                expected_current: &str,
                now: time::OffsetDateTime,
                retire_until: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<$crate::store::KeyRotation> {
                let mut tx = self.begin_write().await?;
                // Conditional on the key the caller saw: of racing rotations exactly one wins
                // (on PostgreSQL the losers wait for the row lock, then match nothing).
                let retired = sqlx::query(
                    "UPDATE authfort_signing_keys SET is_current = FALSE, expires_at = $1 \
                     WHERE is_current = TRUE AND kid = $2",
                )
                .bind(Ts(retire_until))
                .bind(expected_current)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if retired != 1 {
                    return Ok($crate::store::KeyRotation::CurrentChanged);
                }
                let next: Option<String> = sqlx::query_scalar(
                    "UPDATE authfort_signing_keys SET is_current = TRUE, activated_at = $1 \
                     WHERE is_current = FALSE AND expires_at IS NULL RETURNING kid",
                )
                .bind(Ts(now))
                .fetch_optional(&mut *tx)
                .await?;
                // Without a next key the retirement above is rolled back with the transaction.
                let Some(next) = next else {
                    return Ok($crate::store::KeyRotation::NoNextKey);
                };
                tx.commit().await?;
                Ok($crate::store::KeyRotation::Rotated {
                    old_kid: expected_current.to_owned(),
                    new_kid: next,
                })
            }

            async fn delete_expired_signing_keys(
                &self,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<u64> {
                Ok(sqlx::query(
                    "DELETE FROM authfort_signing_keys WHERE is_current = FALSE AND expires_at IS NOT NULL \
                     AND expires_at <= $1",
                )
                .bind(Ts(now))
                .execute(self.writer())
                .await?
                .rows_affected())
            }

            async fn create_oauth_state(&self, st: &$crate::store::OAuthState) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM authfort_oauth_states WHERE expires_at <= $1")
                    .bind(Ts(st.created_at))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO authfort_oauth_states (id, state_hash, binding_hash, provider, pkce_verifier, nonce, \
                     redirect_to, mode, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(st.id)
                .bind(&st.state_hash)
                .bind(&st.binding_hash)
                .bind(&st.provider)
                .bind(&st.pkce_verifier)
                .bind(&st.nonce)
                .bind(&st.redirect_to)
                .bind(&st.mode)
                .bind(Ts(st.expires_at))
                .bind(Ts(st.created_at))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_expired_oauth_states(
                &self,
                before: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<u64> {
                Ok(sqlx::query("DELETE FROM authfort_oauth_states WHERE expires_at <= $1 OR consumed_at <= $1")
                    .bind(Ts(before))
                    .execute(self.writer())
                    .await?
                    .rows_affected())
            }

            async fn consume_oauth_state(
                &self,
                state_hash: &str,
                binding_hash: &str,
                now: time::OffsetDateTime,
            ) -> $crate::store::StoreResult<Option<$crate::store::OAuthState>> {
                // The single conditional write: of N concurrent callbacks exactly one sees the row.
                let row: Option<OAuthStateRow> = sqlx::query_as(
                    "UPDATE authfort_oauth_states SET consumed_at = $1 \
                     WHERE state_hash = $2 AND binding_hash = $3 AND consumed_at IS NULL \
                     RETURNING id, state_hash, binding_hash, provider, pkce_verifier, nonce, redirect_to, mode, \
                     expires_at, created_at",
                )
                .bind(Ts(now))
                .bind(state_hash)
                .bind(binding_hash)
                .fetch_optional(self.writer())
                .await?;
                Ok(row.map(Into::into))
            }

            async fn resolve_oauth_account(
                &self,
                r: &$crate::store::ResolveOAuth,
            ) -> $crate::store::StoreResult<$crate::store::OAuthResolution> {
                use $crate::store::{OAuthResolution, OAuthResolved};
                let mut tx = self.begin_write().await?;
                let linked: Option<uuid::Uuid> = sqlx::query_scalar(
                    "SELECT user_id FROM authfort_accounts WHERE provider = $1 AND provider_account_id = $2",
                )
                .bind(&r.provider)
                .bind(&r.provider_account_id)
                .fetch_optional(&mut *tx)
                .await?;
                let refuse = |outcome| Ok::<_, $crate::store::StoreError>(outcome);
                let (mut user, created, linked_now) = match linked {
                    Some(user_id) => {
                        let user = match lock_user_in(&mut tx, user_id).await? {
                            None => return refuse(OAuthResolution::Gone),
                            Some(u) if u.is_deleted => return refuse(OAuthResolution::Gone),
                            Some(u) if u.banned => return refuse(OAuthResolution::Banned),
                            Some(u) => u,
                        };
                        // The newest provider tokens replace the old ones (refresh may become null).
                        sqlx::query(
                            "UPDATE authfort_accounts SET access_token = $1, refresh_token = $2 \
                             WHERE provider = $3 AND provider_account_id = $4",
                        )
                        .bind(&r.access_token)
                        .bind(&r.refresh_token)
                        .bind(&r.provider)
                        .bind(&r.provider_account_id)
                        .execute(&mut *tx)
                        .await?;
                        (user, false, None)
                    }
                    None => {
                        let lock = format!(
                            "UPDATE authfort_users SET updated_at = updated_at WHERE email = $1 RETURNING {USER_COLUMNS}"
                        );
                        let existing: Option<$crate::model::User> = sqlx::query_as::<_, UserRow>(&lock)
                            .bind(&r.email)
                            .fetch_optional(&mut *tx)
                            .await?
                            .map(Into::into);
                        let (user, created) = match existing {
                            Some(u) if u.is_deleted => return refuse(OAuthResolution::Gone),
                            Some(u) if u.banned => return refuse(OAuthResolution::Banned),
                            // Linking by email only on the provider's word that it verified it.
                            Some(_) if !r.email_verified => return refuse(OAuthResolution::EmailNotVerified),
                            Some(u) => (u, false),
                            None => {
                                let u = $crate::model::User {
                                    id: r.new_user_id,
                                    email: r.email.clone(),
                                    email_verified: r.email_verified,
                                    name: r.name.clone(),
                                    avatar_url: r.avatar_url.clone(),
                                    phone: None,
                                    password_hash: None,
                                    token_version: 0,
                                    banned: false,
                                    is_deleted: false,
                                    deleted_at: None,
                                    created_at: r.now,
                                    updated_at: r.now,
                                };
                                sqlx::query(
                                    "INSERT INTO authfort_users (id, email, email_verified, name, avatar_url, \
                                     token_version, banned, is_deleted, created_at, updated_at) \
                                     VALUES ($1, $2, $3, $4, $5, 0, FALSE, FALSE, $6, $6)",
                                )
                                .bind(u.id)
                                .bind(&u.email)
                                .bind(u.email_verified)
                                .bind(&u.name)
                                .bind(&u.avatar_url)
                                .bind(Ts(r.now))
                                .execute(&mut *tx)
                                .await?;
                                (u, true)
                            }
                        };
                        let account_id = uuid::Uuid::new_v4();
                        sqlx::query(
                            "INSERT INTO authfort_accounts (id, user_id, provider, provider_account_id, access_token, \
                             refresh_token, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(account_id)
                        .bind(user.id)
                        .bind(&r.provider)
                        .bind(&r.provider_account_id)
                        .bind(&r.access_token)
                        .bind(&r.refresh_token)
                        .bind(Ts(r.now))
                        .execute(&mut *tx)
                        .await?;
                        let linked_now = (!created).then_some(account_id);
                        (user, created, linked_now)
                    }
                };
                let mut verified_now = false;
                let mut claimed = $crate::store::Claimed::default();
                if r.email_verified && !user.email_verified && user.email == r.email {
                    verified_now = true;
                    if linked_now.is_some() {
                        // A verified provider email is the first proof of this address: the
                        // same clean-up as a first magic link (the proving identity stays).
                        claimed = claim_unverified_in(&mut tx, &mut user, linked_now, r.now).await?;
                    } else {
                        sqlx::query("UPDATE authfort_users SET email_verified = TRUE, updated_at = $1 WHERE id = $2")
                            .bind(Ts(r.now))
                            .bind(user.id)
                            .execute(&mut *tx)
                            .await?;
                        user.email_verified = true;
                    }
                }
                if !created && (user.name.is_none() && r.name.is_some() || user.avatar_url.is_none() && r.avatar_url.is_some()) {
                    // Fill only what is empty; existing values are never overwritten.
                    sqlx::query(
                        "UPDATE authfort_users SET name = COALESCE(name, $1), avatar_url = COALESCE(avatar_url, $2) \
                         WHERE id = $3",
                    )
                    .bind(&r.name)
                    .bind(&r.avatar_url)
                    .bind(user.id)
                    .execute(&mut *tx)
                    .await?;
                    user.name = user.name.or_else(|| r.name.clone());
                    user.avatar_url = user.avatar_url.or_else(|| r.avatar_url.clone());
                }
                tx.commit().await?;
                Ok(OAuthResolution::Resolved(Box::new(OAuthResolved {
                    user,
                    created,
                    linked: linked_now.is_some(),
                    verified_now,
                    claimed,
                })))
            }

            async fn provider_tokens(
                &self,
                user_id: uuid::Uuid,
                provider: &str,
            ) -> $crate::store::StoreResult<Option<(Option<String>, Option<String>)>> {
                Ok(sqlx::query_as(
                    "SELECT access_token, refresh_token FROM authfort_accounts WHERE user_id = $1 AND provider = $2",
                )
                .bind(user_id)
                .bind(provider)
                .fetch_optional(&self.pool)
                .await?)
            }
        }

        /// The first proof of an unverified address: revokes every session, clears a password
        /// set before the proof, unlinks the provider identities attached while it was
        /// unverified (all but `keep`, the identity doing the proving, if any; the local
        /// `email` row stays), bumps the token version and marks the address verified.
        async fn claim_unverified_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            user: &mut $crate::model::User,
            keep: Option<uuid::Uuid>,
            now: time::OffsetDateTime,
        ) -> $crate::store::StoreResult<$crate::store::Claimed> {
            let sessions_revoked = revoke_user_sessions_in(tx, user.id, now).await?;
            let password_cleared = user.password_hash.is_some();
            let mut identities_unlinked: Vec<String> = sqlx::query_scalar(
                "DELETE FROM authfort_accounts WHERE user_id = $1 AND provider <> 'email' AND id <> $2 \
                 RETURNING provider",
            )
            .bind(user.id)
            .bind(keep.unwrap_or_else(uuid::Uuid::nil))
            .fetch_all(&mut **tx)
            .await?;
            identities_unlinked.sort();
            let bump = password_cleared || sessions_revoked > 0 || !identities_unlinked.is_empty();
            sqlx::query(
                "UPDATE authfort_users SET email_verified = TRUE, password_hash = NULL, \
                 token_version = token_version + $1, updated_at = $2 WHERE id = $3",
            )
            .bind(if bump { 1_i64 } else { 0 })
            .bind(Ts(now))
            .bind(user.id)
            .execute(&mut **tx)
            .await?;
            user.email_verified = true;
            user.password_hash = None;
            if bump {
                user.token_version += 1;
            }
            user.updated_at = now;
            Ok($crate::store::Claimed {
                sessions_revoked,
                password_cleared,
                identities_unlinked,
            })
        }

        /// Inserts a session and its first refresh token.
        async fn insert_session_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            session: &$crate::model::Session,
            token: &$crate::store::NewRefreshToken,
        ) -> $crate::store::StoreResult<()> {
            const SESSION: &str = "INSERT INTO authfort_sessions (id, user_id, created_at, ip_address, user_agent, amr, \
                                   expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
            const REFRESH: &str = "INSERT INTO authfort_refresh_tokens \
                                   (id, user_id, session_id, token_hash, expires_at, created_at, revoked)";
            // Both rows in one round trip. PostgreSQL: one statement, the refresh token's
            // foreign key checked at its end, when the session row exists. SQLite: two
            // statements sent together, run in order by the connection's thread.
            let sql = match $backend {
                $crate::store::Backend::Postgres => format!(
                    "WITH s AS ({SESSION} RETURNING id) {REFRESH} SELECT $8, $9, $10, $11, $12, $13, FALSE FROM s"
                ),
                $crate::store::Backend::Sqlite => {
                    format!("{SESSION}; {REFRESH} VALUES ($8, $9, $10, $11, $12, $13, FALSE)")
                }
            };
            sqlx::query(&sql)
                .bind(session.id)
                .bind(session.user_id)
                .bind(Ts(session.created_at))
                .bind(&session.ip_address)
                .bind(&session.user_agent)
                .bind(amr_column(&session.amr))
                .bind(Ts(session.expires_at))
                .bind(token.id)
                .bind(token.user_id)
                .bind(token.session_id)
                .bind(&token.token_hash)
                .bind(Ts(token.expires_at))
                .bind(Ts(token.created_at))
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Locks a user row (a no-op UPDATE) for the rest of the transaction, so a concurrent
        /// ban or password write waits for us instead of missing what we write.
        async fn lock_user_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            user_id: uuid::Uuid,
        ) -> $crate::store::StoreResult<Option<$crate::model::User>> {
            let sql = format!("UPDATE authfort_users SET updated_at = updated_at WHERE id = $1 RETURNING {USER_COLUMNS}");
            let row: Option<UserRow> = sqlx::query_as(&sql).bind(user_id).fetch_optional(&mut **tx).await?;
            Ok(row.map(Into::into))
        }

        /// After a one-time secret proved `email` (and consumed): the ban and deletion checks
        /// with the user row locked, account creation for passwordless signup, the verified flag
        /// and the clean-up of a previously unverified account, and the new session. The caller
        /// commits or rolls back.
        async fn sign_in_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            user_id: Option<uuid::Uuid>,
            email: &str,
            a: SignInArgs<'_>,
        ) -> $crate::store::StoreResult<$crate::store::RedeemOutcome> {
            use $crate::store::{RedeemOutcome, Redeemed};
            // With signup on and no account named by the secret, one upsert finds the account
            // for the address (row-locked) or creates it, proven: the secret just proved the
            // address, and a brand-new account has no sessions, password, links or MFA to
            // clean up or check. Otherwise the account is locked by id or address.
            let signup = user_id.is_none() && a.allow_signup;
            // On SQLite the lock (or upsert) also returns the account's roles and MFA state,
            // sparing a round trip: the write transaction holds the whole database, so what
            // it reads is current. Not on PostgreSQL: a statement that waited for the row lock
            // still reads other tables as of its own start, and would miss MFA enabled by the
            // transaction it waited for; a separate read after the lock sees it.
            let access_in_lock = matches!($backend, $crate::store::Backend::Sqlite);
            let returning = if access_in_lock {
                format!("{USER_COLUMNS}, {}", access_columns_of($backend, "authfort_users.id"))
            } else {
                USER_COLUMNS.to_string()
            };
            let existing = if signup {
                let upsert = format!(
                    "INSERT INTO authfort_users (id, email, email_verified, token_version, banned, is_deleted, \
                     created_at, updated_at) VALUES ($1, $2, TRUE, 0, FALSE, FALSE, $3, $3) \
                     ON CONFLICT (email) DO UPDATE SET updated_at = authfort_users.updated_at RETURNING {returning}"
                );
                let row = sqlx::query(&upsert)
                    .bind(a.new_user_id)
                    .bind(email)
                    .bind(Ts(a.now))
                    .fetch_one(&mut **tx)
                    .await?;
                Some(row)
            } else {
                let lock = format!(
                    "UPDATE authfort_users SET updated_at = updated_at WHERE {} RETURNING {returning}",
                    if user_id.is_some() { "id = $1" } else { "email = $1" }
                );
                let mut q = sqlx::query(&lock);
                q = match user_id {
                    Some(id) => q.bind(id),
                    None => q.bind(email.to_owned()),
                };
                q.fetch_optional(&mut **tx).await?
            };
            let Some(row) = existing else {
                return Ok(RedeemOutcome::Invalid);
            };
            let user: $crate::model::User = <UserRow as sqlx::FromRow<_>>::from_row(&row)?.into();
            let locked_access = if access_in_lock { Some(<AccessRow as sqlx::FromRow<_>>::from_row(&row)?) } else { None };
            let (user, created) = match user {
                u if signup && u.id == a.new_user_id => (u, true),
                // The secret proves the address it was sent to, and only that one.
                u if u.is_deleted || u.email != email => return Ok(RedeemOutcome::Invalid),
                u if u.banned => return Ok(RedeemOutcome::Banned),
                u => (u, false),
            };
            let mut user = user;
            let verified_now = created || !user.email_verified;
            let mut claimed = $crate::store::Claimed::default();
            if verified_now && !created {
                // First proof of the address: whatever was attached to the account before it
                // was proven (sessions, a password, provider identities) may belong to someone else.
                claimed = claim_unverified_in(tx, &mut user, None, a.now).await?;
            }
            let mut session = a.session.clone();
            session.user_id = user.id;
            let mut refresh = a.refresh.clone();
            refresh.user_id = user.id;
            let (roles, mfa_required) = match locked_access {
                Some(access) => (parse_roles(&access.roles)?, access.mfa_enabled == Some(true)),
                // A brand-new account has no roles and no MFA.
                None if created => (Vec::new(), false),
                None => {
                    let access: AccessRow =
                        sqlx::query_as(&access_sql($backend)).bind(user.id).fetch_one(&mut **tx).await?;
                    (parse_roles(&access.roles)?, access.mfa_enabled == Some(true))
                }
            };
            if !mfa_required {
                insert_session_in(tx, &session, &refresh).await?;
            }
            let redeemed = Box::new(Redeemed {
                user,
                session,
                created,
                verified_now,
                claimed,
                redirect_to: None,
                roles,
                mfa_enabled: mfa_required,
            });
            Ok(if mfa_required {
                RedeemOutcome::MfaRequired(redeemed)
            } else {
                RedeemOutcome::SignedIn(redeemed)
            })
        }

        /// Deletes the unused codes for an address; returns their ids.
        async fn invalidate_otps_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            email: &str,
        ) -> $crate::store::StoreResult<Vec<uuid::Uuid>> {
            Ok(sqlx::query_scalar("DELETE FROM authfort_email_otps WHERE email = $1 AND consumed_at IS NULL RETURNING id")
                .bind(email)
                .fetch_all(&mut **tx)
                .await?)
        }

        /// Drops (and scrubs) the pending mail carrying any of these tokens or codes.
        async fn drop_mail_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            token_ids: &[uuid::Uuid],
            why: &str,
        ) -> $crate::store::StoreResult<()> {
            for id in token_ids {
                sqlx::query(
                    "UPDATE authfort_outbox SET status = 'dropped', body_text = NULL, body_html = NULL, \
                     last_error = $1 WHERE token_id = $2 AND status = 'pending'",
                )
                .bind(why)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }

        async fn insert_outbox_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            m: &$crate::model::OutboxMessage,
        ) -> $crate::store::StoreResult<()> {
            bind_outbox(sqlx::query(&insert_outbox_sql(1)), m).execute(&mut **tx).await?;
            Ok(())
        }

        /// Binds a message's ten values, in the order of [`insert_outbox_sql`].
        fn bind_outbox<'q>(
            q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
            m: &'q $crate::model::OutboxMessage,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
            q.bind(m.id)
                .bind(&m.kind)
                .bind(&m.recipient)
                .bind(&m.subject)
                .bind(&m.body_text)
                .bind(&m.body_html)
                .bind(m.token_id)
                .bind(m.expires_at.map(Ts))
                .bind(Ts(m.next_attempt_at))
                .bind(Ts(m.created_at))
        }

        /// Appends a hash to the history and keeps only the newest `keep` rows.
        async fn record_password_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            user_id: uuid::Uuid,
            hash: &str,
            keep: u32,
            now: time::OffsetDateTime,
        ) -> $crate::store::StoreResult<()> {
            sqlx::query(
                "INSERT INTO authfort_password_history (id, user_id, password_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(uuid::Uuid::new_v4())
            .bind(user_id)
            .bind(hash)
            .bind(Ts(now))
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "DELETE FROM authfort_password_history WHERE user_id = $1 AND id NOT IN \
                 (SELECT id FROM authfort_password_history WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2)",
            )
            .bind(user_id)
            .bind(i64::from(keep))
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Revokes every session of a user, or every one but `keep`. Returns tokens revoked.
        async fn revoke_user_sessions_except_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            user_id: uuid::Uuid,
            keep: Option<uuid::Uuid>,
            now: time::OffsetDateTime,
        ) -> $crate::store::StoreResult<u64> {
            let Some(keep) = keep else {
                return revoke_user_sessions_in(tx, user_id, now).await;
            };
            let n = sqlx::query(
                "UPDATE authfort_refresh_tokens SET revoked = TRUE, revoked_at = $1 \
                 WHERE user_id = $2 AND revoked = FALSE AND session_id <> $3",
            )
            .bind(Ts(now))
            .bind(user_id)
            .bind(keep)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            sqlx::query(
                "UPDATE authfort_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3",
            )
            .bind(Ts(now))
            .bind(user_id)
            .bind(keep)
            .execute(&mut **tx)
            .await?;
            Ok(n)
        }

        /// Deletes the unused tokens of a purpose for an address; returns their ids.
        async fn invalidate_tokens_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            purpose: &str,
            email: &str,
        ) -> $crate::store::StoreResult<Vec<uuid::Uuid>> {
            Ok(sqlx::query_scalar(
                "DELETE FROM authfort_verification_tokens WHERE purpose = $1 AND email = $2 AND consumed_at IS NULL \
                 RETURNING id",
            )
            .bind(purpose)
            .bind(email)
            .fetch_all(&mut **tx)
            .await?)
        }

        async fn revoke_user_sessions_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            user_id: uuid::Uuid,
            now: time::OffsetDateTime,
        ) -> $crate::store::StoreResult<u64> {
            let n = sqlx::query(
                "UPDATE authfort_refresh_tokens SET revoked = TRUE, revoked_at = $1 WHERE user_id = $2 AND revoked = FALSE",
            )
            .bind(Ts(now))
            .bind(user_id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            sqlx::query("UPDATE authfort_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(Ts(now))
                .bind(user_id)
                .execute(&mut **tx)
                .await?;
            Ok(n)
        }

        /// Deletes the user's backup codes and inserts `code_hmacs`.
        async fn insert_backup_codes_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            user_id: uuid::Uuid,
            code_hmacs: &[String],
            now: time::OffsetDateTime,
        ) -> $crate::store::StoreResult<()> {
            sqlx::query("DELETE FROM authfort_mfa_backup_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut **tx)
                .await?;
            for code_hmac in code_hmacs {
                sqlx::query(
                    "INSERT INTO authfort_mfa_backup_codes (id, user_id, code_hmac, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(uuid::Uuid::new_v4())
                .bind(user_id)
                .bind(code_hmac)
                .bind(Ts(now))
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }

        /// Bumps the token version (or just `updated_at`); false if the user does not exist.
        async fn bump_or_touch(
            tx: &mut sqlx::Transaction<'_, $db>,
            user_id: uuid::Uuid,
            bump: bool,
            now: time::OffsetDateTime,
        ) -> $crate::store::StoreResult<bool> {
            let inc: i64 = if bump { 1 } else { 0 };
            let n = sqlx::query(
                "UPDATE authfort_users SET token_version = token_version + $1, updated_at = $2 \
                 WHERE id = $3 AND is_deleted = FALSE",
            )
            .bind(inc)
            .bind(Ts(now))
            .bind(user_id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            Ok(n == 1)
        }
    };
}

pub(crate) use impl_sql_store;
