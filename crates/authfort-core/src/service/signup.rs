//! Signup and programmatic user creation.

use authfort_verifier::Amr;
use uuid::Uuid;

use crate::error::{AuthError, AuthResult, RejectKind};
use crate::events::{Event, Login, UserCreated, UserEmail};
use crate::model::{AuthResponse, ClientInfo, NewUser, User};
use crate::store::StoreError;
use crate::validation::{self, FieldError};
use crate::AuthFort;

/// Input of [`AuthFort::create_user`] and [`AuthFort::signup`].
#[derive(Clone, Default)]
pub struct CreateUser {
    /// Email address (validated and canonicalised).
    pub email: String,
    /// Password (length-checked, then hashed with argon2id).
    pub password: String,
    /// Display name (HTML stripped).
    pub name: Option<String>,
    /// Avatar URL (http/https only).
    pub avatar_url: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Create the account as already verified (admin use).
    pub email_verified: bool,
}

impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUser")
            .field("email", &self.email)
            .field("password", &"***")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CreateUser {
    /// Email and password; everything else unset.
    pub fn new(email: impl Into<String>, password: impl Into<String>) -> CreateUser {
        CreateUser {
            email: email.into(),
            password: password.into(),
            ..CreateUser::default()
        }
    }
}

pub(crate) fn field(e: FieldError) -> AuthError {
    AuthError::rejected(RejectKind::BadRequest, e.code, e.message)
}

impl AuthFort {
    /// Creates a user with a password and signs them in (a new session). Ignores
    /// `allow_signup`. Emits `user_created` then `login` (and `email_verified` when created
    /// verified). With `email_verification.send_on_signup`, an unverified user is also sent
    /// a verification email (see [`AuthFort::create_email_verification_token`]).
    ///
    /// # Errors
    /// `invalid_email`, `password_too_short`, `password_too_long`, `invalid_name`,
    /// `invalid_phone`, `invalid_avatar_url`, `password_pwned` (400), `user_exists` (409).
    pub async fn create_user(&self, input: CreateUser) -> AuthResult<AuthResponse> {
        self.create_user_from(input, &ClientInfo::default()).await
    }

    /// `POST /auth/signup`: like [`AuthFort::create_user`] but refused with 403
    /// `signup_disabled` when `allow_signup` is off, and records the client on the session.
    ///
    /// # Errors
    /// As [`AuthFort::create_user`], plus `signup_disabled`.
    pub async fn signup(&self, input: CreateUser, client: &ClientInfo) -> AuthResult<AuthResponse> {
        if !self.inner.config.allow_signup {
            return Err(AuthError::signup_disabled());
        }
        self.create_user_from(input, client).await
    }

    /// Creates a user with a password without signing them in (admin and CLI use). Emits
    /// `user_created` (and `email_verified` when created verified).
    ///
    /// # Errors
    /// As [`AuthFort::create_user`].
    pub async fn admin_create_user(&self, input: CreateUser) -> AuthResult<crate::model::UserResponse> {
        let user = self.insert_password_user(input, None).await?;
        let now = self.inner.clock.now();
        let mut events = vec![Event::UserCreated(UserCreated {
            timestamp: now,
            user_id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            provider: "email".into(),
        })];
        if user.email_verified {
            events.push(Event::EmailVerified(UserEmail {
                timestamp: now,
                user_id: user.id,
                email: user.email.clone(),
            }));
        }
        self.emit(events);
        Ok(crate::model::UserResponse::new(&user, Vec::new(), None, false))
    }

    async fn create_user_from(&self, input: CreateUser, client: &ClientInfo) -> AuthResult<AuthResponse> {
        let user = self.insert_password_user(input, client.ip_address.as_deref()).await?;
        let now = self.inner.clock.now();
        let response = self.start_session(&user, vec![Amr::Pwd], client).await?;
        let mut events = vec![
            Event::UserCreated(UserCreated {
                timestamp: now,
                user_id: user.id,
                email: user.email.clone(),
                name: user.name.clone(),
                provider: "email".into(),
            }),
            Event::Login(Login {
                timestamp: now,
                user_id: user.id,
                email: user.email.clone(),
                provider: "email".into(),
                ip_address: client.ip_address.clone(),
                user_agent: client.user_agent.clone(),
            }),
        ];
        if user.email_verified {
            events.push(Event::EmailVerified(UserEmail {
                timestamp: now,
                user_id: user.id,
                email: user.email.clone(),
            }));
        }
        self.emit(events);
        if self.inner.config.email_verification.send_on_signup && !user.email_verified {
            // The account exists whatever happens to the mail; a failure here is logged, and
            // the user can ask for another one.
            if let Err(e) = self.create_email_verification_token(user.id).await {
                tracing::error!(user_id = %user.id, error = %e, "could not queue the verification email");
            }
        }
        Ok(response)
    }

    async fn insert_password_user(&self, input: CreateUser, ip_address: Option<&str>) -> AuthResult<User> {
        let cfg = &self.inner.config;
        let email = validation::normalize_email(&input.email).map_err(field)?;
        validation::check_password(&input.password, cfg.min_password_length, cfg.max_password_length).map_err(field)?;
        let name = validation::sanitize_name(input.name.as_deref()).map_err(field)?;
        let phone = validation::sanitize_phone(input.phone.as_deref()).map_err(field)?;
        let avatar_url = validation::validate_avatar_url(input.avatar_url.as_deref()).map_err(field)?;
        // Cheap pre-check so an existing address does not cost a hash; the unique index
        // still decides races.
        if self.inner.store.user_by_email(&email).await?.is_some() {
            return Err(AuthError::user_exists());
        }
        // As the reference: accounts an administrator creates verified skip the check.
        if !input.email_verified {
            self.check_not_pwned(Some(&email), &input.password, ip_address).await?;
        }
        let password_hash = self.inner.hasher.hash(&input.password).await?;
        let now = self.inner.clock.now();
        let user = User {
            id: Uuid::new_v4(),
            email: email.clone(),
            email_verified: input.email_verified,
            name,
            avatar_url,
            phone,
            password_hash: Some(password_hash),
            token_version: 0,
            banned: false,
            is_deleted: false,
            deleted_at: None,
            created_at: now,
            updated_at: now,
        };
        let new = NewUser {
            user: user.clone(),
            account: Some(("email".into(), email)),
        };
        match self.inner.store.insert_user(&new).await {
            Ok(()) => {
                let keep = cfg.password_history_count;
                if let (Some(hash), true) = (&user.password_hash, keep > 0) {
                    self.inner.store.record_password(user.id, hash, keep, now).await?;
                }
                Ok(user)
            }
            Err(StoreError::Conflict(_)) => Err(AuthError::user_exists()),
            Err(e) => Err(e.into()),
        }
    }
}
