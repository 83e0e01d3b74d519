use serde::{Deserialize, Serialize};

/// How the user proved who they are (RFC 8176 `amr` values as used by AuthFort).
///
/// Serialised as the lower-case strings `pwd`, `email_link`, `email_otp`, `oauth`, `mfa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Amr {
    /// Email and password.
    Pwd,
    /// A magic link sent by email.
    EmailLink,
    /// A one-time code sent by email.
    EmailOtp,
    /// An external OAuth / OpenID Connect provider.
    Oauth,
    /// A second factor (TOTP or backup code).
    Mfa,
}

impl Amr {
    /// The wire string for this method.
    pub fn as_str(self) -> &'static str {
        match self {
            Amr::Pwd => "pwd",
            Amr::EmailLink => "email_link",
            Amr::EmailOtp => "email_otp",
            Amr::Oauth => "oauth",
            Amr::Mfa => "mfa",
        }
    }

    /// Parses a wire string; unknown values give `None`.
    pub fn parse(s: &str) -> Option<Amr> {
        Some(match s {
            "pwd" => Amr::Pwd,
            "email_link" => Amr::EmailLink,
            "email_otp" => Amr::EmailOtp,
            "oauth" => Amr::Oauth,
            "mfa" => Amr::Mfa,
            _ => return None,
        })
    }
}

/// The claims of an AuthFort access token, in the order the reference emits them.
///
/// `name` is always present (possibly `null`); times are integer seconds; there is no
/// `aud`, `jti` or `nbf` (AuthFort's Python verifier rejects any `aud` it was not told about).
/// `amr` is this implementation's addition; verifiers that do not know it ignore it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id (lower-case hyphenated UUID).
    pub sub: String,
    /// The user's canonical email address at issue time.
    pub email: String,
    /// Display name (`null` when unset).
    pub name: Option<String>,
    /// Roles at issue time.
    pub roles: Vec<String>,
    /// The user's token version at issue time.
    pub ver: i64,
    /// The stable session id.
    pub sid: Option<String>,
    /// Whether TOTP MFA is enabled for the account.
    #[serde(default)]
    pub mfa_enabled: bool,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Issuer.
    pub iss: String,
    /// Authentication methods used for the session. Values this version does not know are
    /// dropped rather than failing the token, so a newer server does not lock out older
    /// services.
    #[serde(default, deserialize_with = "known_amr")]
    pub amr: Vec<Amr>,
}

impl AccessClaims {
    /// Whether the token carries at least one of `roles` (any-of; an empty list never matches).
    ///
    /// ```
    /// # let claims: authfort_verifier::AccessClaims = serde_json::from_value(serde_json::json!({
    /// #     "sub": "u", "email": "a@example.com", "name": null, "roles": ["editor"], "ver": 0,
    /// #     "sid": null, "iat": 0, "exp": 1, "iss": "authfort"})).unwrap();
    /// assert!(claims.has_any_role(&["admin", "editor"]));
    /// assert!(!claims.has_any_role(&["admin"]));
    /// ```
    pub fn has_any_role<S: AsRef<str>>(&self, roles: &[S]) -> bool {
        roles.iter().any(|r| self.roles.iter().any(|have| have == r.as_ref()))
    }
}

fn known_amr<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Amr>, D::Error> {
    let raw = Option::<Vec<String>>::deserialize(d)?;
    Ok(raw.unwrap_or_default().iter().filter_map(|s| Amr::parse(s)).collect())
}
