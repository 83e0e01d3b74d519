/// Why a token was refused. The `Display` texts are the messages AuthFort sends.
///
/// Every variant maps to the code `token_invalid` except [`VerifyError::Expired`]
/// (`token_expired`), as in AuthFort's own verifiers. [`VerifyError::KeysUnavailable`] is
/// not about the token at all: no keyset could be loaded, so the token is refused (fail
/// closed); HTTP integrations answer it with 503 rather than 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The header cannot be decoded (not a JWT, bad base64, empty token).
    #[error("Malformed token")]
    Malformed,
    /// The header has no `kid`.
    #[error("Token missing kid header")]
    MissingKid,
    /// The `kid` is not in the keyset.
    #[error("Unknown signing key")]
    UnknownKid,
    /// The token has expired.
    #[error("Access token has expired")]
    Expired,
    /// Bad signature, algorithm other than RS256, wrong issuer, a required claim missing,
    /// `iat`/`nbf` in the future, or an `aud` claim.
    #[error("Invalid access token")]
    Invalid,
    /// No keyset is available (the JWKS endpoint could not be fetched and nothing is
    /// cached), so nothing can be verified.
    #[error("Token verification is temporarily unavailable")]
    KeysUnavailable,
}

impl VerifyError {
    /// The AuthFort error code for this failure (`token_expired` or `token_invalid`).
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Expired => "token_expired",
            _ => "token_invalid",
        }
    }

    /// Whether the failure is on the verifier's side (no keys), not the token's.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, VerifyError::KeysUnavailable)
    }
}
