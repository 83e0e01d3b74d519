/// Why a token was refused. The `Display` texts are the messages AuthFort sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// Bad signature, algorithm other than RS256, wrong issuer, or a required claim missing.
    #[error("Invalid access token")]
    Invalid,
}

impl VerifyError {
    /// The AuthFort error code for this failure (`token_expired` or `token_invalid`).
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Expired => "token_expired",
            _ => "token_invalid",
        }
    }
}
