//! User administration: listing, profile updates, deletion, sessions.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{AuthError, AuthResult, RejectKind};
use crate::events::{Event, SessionRevoked, UserDeleted, UserEmail, UserUpdated};
use crate::model::{format_time, Session, User, UserResponse};
use crate::service::signup::field;
use crate::store::{UserQuery, UserUpdate};
use crate::validation;
use crate::AuthFort;

/// One page of users.
#[derive(Debug, Clone, Serialize)]
pub struct ListUsersResponse {
    /// The users of this page.
    pub users: Vec<UserResponse>,
    /// How many users match, before paging.
    pub total: u64,
    /// Page size used.
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
}

/// A session as shown to users and admins (`id` is the session id, the JWT `sid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// Session id.
    pub id: Uuid,
    /// User agent at sign-in.
    pub user_agent: Option<String>,
    /// Client IP at sign-in.
    pub ip_address: Option<String>,
    /// Sign-in time.
    #[serde(serialize_with = "ser_time")]
    pub created_at: OffsetDateTime,
    /// When the session ends unless refreshed.
    #[serde(serialize_with = "ser_time")]
    pub expires_at: OffsetDateTime,
    /// Whether it was revoked.
    pub revoked: bool,
}

fn ser_time<S: serde::Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(t))
}

impl From<Session> for SessionInfo {
    fn from(s: Session) -> SessionInfo {
        SessionInfo {
            id: s.id,
            user_agent: s.user_agent,
            ip_address: s.ip_address,
            created_at: s.created_at,
            expires_at: s.expires_at,
            revoked: s.revoked_at.is_some(),
        }
    }
}

/// Profile changes for [`AuthFort::update_user`]: `None` leaves a field alone, `Some(None)`
/// clears it. Values are validated and sanitised as at signup.
#[derive(Debug, Clone, Default)]
pub struct UpdateUser {
    /// Display name.
    pub name: Option<Option<String>>,
    /// Avatar URL.
    pub avatar_url: Option<Option<String>>,
    /// Phone.
    pub phone: Option<Option<String>>,
    /// Verified flag.
    pub email_verified: Option<bool>,
}

impl AuthFort {
    async fn response_for(&self, user: &User) -> AuthResult<UserResponse> {
        let roles = self.inner.store.roles(user.id).await?;
        Ok(UserResponse::new(user, roles, None, self.mfa_enabled(user.id).await?))
    }

    /// A live user by email (any spelling of it).
    ///
    /// # Errors
    /// 400 `invalid_email`, 404 `user_not_found`.
    pub async fn get_user_by_email(&self, email: &str) -> AuthResult<UserResponse> {
        let email = validation::normalize_email(email).map_err(field)?;
        let user = self
            .inner
            .store
            .user_by_email(&email)
            .await?
            .filter(|u| !u.is_deleted)
            .ok_or_else(AuthError::user_not_found)?;
        self.response_for(&user).await
    }

    /// Users matching the filters, one page at a time.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn list_users(&self, query: &UserQuery) -> AuthResult<ListUsersResponse> {
        let (users, total) = self.inner.store.list_users(query).await?;
        let mut out = Vec::with_capacity(users.len());
        for u in &users {
            out.push(self.response_for(u).await?);
        }
        Ok(ListUsersResponse {
            users: out,
            total,
            limit: query.limit.min(500),
            offset: query.offset,
        })
    }

    /// How many users match the filters (paging ignored).
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn get_user_count(&self, query: &UserQuery) -> AuthResult<u64> {
        let q = UserQuery {
            limit: 0,
            offset: 0,
            ..query.clone()
        };
        Ok(self.inner.store.list_users(&q).await?.1)
    }

    /// Updates profile fields. Emits `user_updated` (with the supplied field names) and
    /// `email_verified` when the flag goes from false to true. No token-version bump.
    ///
    /// # Errors
    /// 400 `no_fields` when nothing is supplied, validation errors as at signup, 404 `user_not_found`.
    pub async fn update_user(&self, user_id: Uuid, update: UpdateUser) -> AuthResult<UserResponse> {
        let mut fields = Vec::new();
        let mut clean = UserUpdate::default();
        if let Some(name) = update.name {
            clean.name = Some(validation::sanitize_name(name.as_deref()).map_err(field)?);
            fields.push("name".to_owned());
        }
        if let Some(avatar) = update.avatar_url {
            clean.avatar_url = Some(validation::validate_avatar_url(avatar.as_deref()).map_err(field)?);
            fields.push("avatar_url".to_owned());
        }
        if let Some(phone) = update.phone {
            clean.phone = Some(validation::sanitize_phone(phone.as_deref()).map_err(field)?);
            fields.push("phone".to_owned());
        }
        if let Some(v) = update.email_verified {
            clean.email_verified = Some(v);
            fields.push("email_verified".to_owned());
        }
        if fields.is_empty() {
            return Err(AuthError::rejected(
                RejectKind::BadRequest,
                "no_fields",
                "No fields to update",
            ));
        }
        let store = &self.inner.store;
        let before = store
            .user_by_id(user_id)
            .await?
            .filter(|u| !u.is_deleted)
            .ok_or_else(AuthError::user_not_found)?;
        let now = self.inner.clock.now();
        let user = store
            .update_user(user_id, &clean, now)
            .await?
            .ok_or_else(AuthError::user_not_found)?;
        let mut events = vec![Event::UserUpdated(UserUpdated {
            timestamp: now,
            user_id,
            fields,
        })];
        if !before.email_verified && user.email_verified {
            events.push(Event::EmailVerified(UserEmail {
                timestamp: now,
                user_id,
                email: user.email.clone(),
            }));
        }
        self.emit(events);
        self.response_for(&user).await
    }

    /// Deletes a user. Soft (default): roles, sessions, tokens, links and pending mail are
    /// removed and the row is anonymised (`deleted+<id>@deleted.invalid`, name "Deleted user")
    /// but kept, so foreign keys in your tables stay valid; the address can sign up again as a
    /// new user. Hard: the row is removed too. Emits `user_deleted` with the original email.
    ///
    /// # Errors
    /// 404 `user_not_found` (also for an already soft-deleted user, unless `hard`).
    pub async fn delete_user(&self, user_id: Uuid, hard: bool) -> AuthResult<()> {
        let now = self.inner.clock.now();
        let user = self
            .inner
            .store
            .delete_user(user_id, hard, now)
            .await?
            .ok_or_else(AuthError::user_not_found)?;
        self.emit(vec![Event::UserDeleted(UserDeleted {
            timestamp: now,
            user_id,
            email: user.email,
            hard,
        })]);
        Ok(())
    }

    /// The user's sessions, newest first.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn get_sessions(&self, user_id: Uuid, active_only: bool) -> AuthResult<Vec<SessionInfo>> {
        let now = self.inner.clock.now();
        Ok(self
            .inner
            .store
            .sessions_of(user_id, active_only, now)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The owner of a session, if it exists.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn session_owner(&self, session_id: Uuid) -> AuthResult<Option<Uuid>> {
        Ok(self.inner.store.session(session_id).await?.map(|s| s.user_id))
    }

    /// Revokes every token of one session (its access tokens live until `exp`). True if
    /// anything was revoked. Emits `session_revoked` with the session's real owner.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn revoke_session(&self, session_id: Uuid) -> AuthResult<bool> {
        let store = &self.inner.store;
        let Some(session) = store.session(session_id).await? else {
            return Ok(false);
        };
        let now = self.inner.clock.now();
        let revoked = store.revoke_session(session_id, now).await? > 0;
        if revoked {
            self.emit(vec![Event::SessionRevoked(SessionRevoked {
                timestamp: now,
                user_id: session.user_id,
                session_id: Some(session_id),
                revoke_all: false,
            })]);
        }
        Ok(revoked)
    }

    /// Revokes every session of a user except `exclude` (does not bump the token version).
    /// Emits `session_revoked`. Returns the number of refresh tokens revoked.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn revoke_all_sessions(&self, user_id: Uuid, exclude: Option<Uuid>) -> AuthResult<u64> {
        let now = self.inner.clock.now();
        let n = self.inner.store.revoke_user_sessions(user_id, exclude, now).await?;
        self.emit(vec![Event::SessionRevoked(SessionRevoked {
            timestamp: now,
            user_id,
            session_id: None,
            revoke_all: true,
        })]);
        Ok(n)
    }
}
