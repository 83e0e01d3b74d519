//! The physical floors, measured on this machine in the same run: RS256 signatures per
//! second with the key parsed once (what a verify or refresh must do at least once), and
//! argon2id hashes per second at our parameters on our hashing pool's width (what a login
//! must do once).

use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rsa::pkcs8::EncodePrivateKey as _;

/// Floors measured.
#[derive(Debug, Clone, Copy)]
pub struct Floors {
    /// RS256 (2048-bit) signatures per second over `threads` threads.
    pub rs256_per_s: f64,
    /// argon2id hashes per second over `threads` threads.
    pub argon2_per_s: f64,
    /// Threads used for both (the machine's cores; also our hashing pool's width).
    pub threads: usize,
    /// The argon2 parameters, as `m=…,t=…,p=…`.
    pub argon2_params: (u32, u32, u32),
    /// Each measurement that went into the figures above (RS256/s, argon2id/s).
    pub samples: [(f64, f64); 2],
}

impl Floors {
    /// The mean of a measurement before the runs and one after them: the machine's speed
    /// drifts by several per cent over a full run, and a floor taken once can land on a slow
    /// or a fast stretch.
    pub fn mean(before: Floors, after: Floors) -> Floors {
        Floors {
            rs256_per_s: (before.rs256_per_s + after.rs256_per_s) / 2.0,
            argon2_per_s: (before.argon2_per_s + after.argon2_per_s) / 2.0,
            samples: [
                (before.rs256_per_s, before.argon2_per_s),
                (after.rs256_per_s, after.argon2_per_s),
            ],
            ..before
        }
    }
}

/// Measures both floors, each for about `window`.
pub fn measure(window: Duration, argon2_params: (u32, u32, u32)) -> anyhow::Result<Floors> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut rng = rand::thread_rng();
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048)?;
    let der = private.to_pkcs8_der()?;
    let pair = std::sync::Arc::new(RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?);
    // A signing input the size of one of our access tokens' header + claims.
    let input = std::sync::Arc::new(vec![b'x'; 560]);
    let rs256_per_s = parallel(threads, window, move || {
        let rng = SystemRandom::new();
        let mut sig = vec![0u8; pair.public_modulus_len()];
        pair.sign(&RSA_PKCS1_SHA256, &rng, &input, &mut sig).expect("sign");
    });
    let (m, t, p) = argon2_params;
    let params = Params::new(m, t, p, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    // About 7 hashes per thread per second: a longer window, so a run's last partial hash
    // weighs less.
    let argon2_per_s = parallel(threads, (window * 2).max(Duration::from_secs(1)), move || {
        let salt = SaltString::generate(&mut rand::thread_rng());
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password(b"correct horse battery staple", &salt)
            .expect("hash");
    });
    Ok(Floors {
        rs256_per_s,
        argon2_per_s,
        threads,
        argon2_params,
        samples: [(rs256_per_s, argon2_per_s); 2],
    })
}

/// Runs `op` in a loop on `threads` threads for `window`; operations per second.
fn parallel(threads: usize, window: Duration, op: impl Fn() + Send + Sync + Clone + 'static) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let op = op.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while start.elapsed() < window {
                    op();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    total as f64 / start.elapsed().as_secs_f64()
}
