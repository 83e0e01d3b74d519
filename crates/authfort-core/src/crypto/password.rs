//! Argon2id password hashing on a bounded blocking pool.
//!
//! Hashing is deliberately expensive (64 MiB, 3 passes by default), so it never runs on an
//! async worker: each hash takes a permit from a semaphore (at most
//! `password_hashing.max_concurrent` at once) and runs on `spawn_blocking`. A burst of logins
//! therefore queues here instead of starving every other request. Unknown users are
//! verified against a dummy hash made with the same parameters, so "no such user" costs the
//! same as "wrong password".

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::PasswordHashingConfig;
use crate::error::{AuthError, AuthResult};

/// Hashes and verifies passwords with bounded concurrency.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Builds a hasher and computes its dummy hash (one hash, off the async workers).
    ///
    /// # Errors
    /// `Internal` if the parameters are invalid.
    pub async fn new(config: &PasswordHashingConfig) -> AuthResult<PasswordHasher> {
        let params =
            Params::new(config.memory_kib, config.iterations, config.parallelism, None).map_err(AuthError::internal)?;
        let p = params.clone();
        let dummy = tokio::task::spawn_blocking(move || hash_blocking(&p, "authfort-dummy-password"))
            .await
            .map_err(AuthError::internal)??;
        Ok(PasswordHasher {
            params,
            permits: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            dummy_hash: dummy.into(),
        })
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$…`).
    ///
    /// # Errors
    /// `Internal` if hashing fails.
    pub async fn hash(&self, password: &str) -> AuthResult<String> {
        let _permit = self.permits.acquire().await.map_err(AuthError::internal)?;
        let params = self.params.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_blocking(&params, &password))
            .await
            .map_err(AuthError::internal)?
    }

    /// Verifies a password. `None` (unknown user, or no password set) verifies against the
    /// dummy hash and returns false, taking the same time as a real mismatch.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let real = phc.is_some();
        let phc = phc.map(str::to_owned).unwrap_or_else(|| self.dummy_hash.to_string());
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc)
                .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        ok && real
    }
}

fn hash_blocking(params: &Params, password: &str) -> AuthResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AuthError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHashingConfig {
        PasswordHashingConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        }
    }

    #[tokio::test]
    async fn hashes_verify_and_mismatch() {
        let h = PasswordHasher::new(&cheap()).await.unwrap();
        let phc = h.hash("correct horse").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(h.verify("correct horse", Some(&phc)).await);
        assert!(!h.verify("wrong horse", Some(&phc)).await);
        assert!(
            !h.verify("authfort-dummy-password", None).await,
            "dummy never authenticates"
        );
        assert!(!h.verify("x", Some("not a phc string")).await);
    }

    #[tokio::test]
    async fn default_parameters_match_the_reference() {
        let h = PasswordHasher::new(&PasswordHashingConfig::default()).await.unwrap();
        let phc = h.hash("pw").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=65536,t=3,p=4$"), "{phc}");
    }
}
