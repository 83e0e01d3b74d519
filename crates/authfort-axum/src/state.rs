//! Router state.

use std::sync::Arc;

use authfort_core::AuthFort;
use axum::extract::FromRef;

/// What the AuthFort routes share: the engine and the parsed trusted-proxy list.
#[derive(Clone)]
pub struct AuthState {
    /// The engine.
    pub auth: AuthFort,
    /// Proxies whose `X-Forwarded-For` is trusted.
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

impl AuthState {
    /// State for `auth` (its configuration was validated when it was built).
    pub fn new(auth: AuthFort) -> AuthState {
        let trusted = auth.config().trusted_proxy_networks().unwrap_or_default();
        AuthState {
            auth,
            trusted_proxies: Arc::new(trusted),
        }
    }
}

impl FromRef<AuthState> for AuthFort {
    fn from_ref(state: &AuthState) -> AuthFort {
        state.auth.clone()
    }
}
