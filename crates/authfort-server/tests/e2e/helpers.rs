//! Running the real `authfort` binary: one-shot commands and servers on free ports.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

/// How long a server may take to answer `/healthz` (RSA key generation, migrations).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a one-shot command or a stopping server may take.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// `authfort` with a clean environment: no inherited `AUTHFORT_*` or `RUST_LOG` (the
/// developer's shell must not change the tests) and cheap password hashing.
pub fn authfort(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authfort"));
    for (name, _) in std::env::vars_os() {
        let upper = name.to_string_lossy().to_ascii_uppercase();
        if upper.starts_with("AUTHFORT_") || upper == "RUST_LOG" {
            cmd.env_remove(&name);
        }
    }
    cmd.current_dir(dir)
        .env("AUTHFORT_PASSWORD_HASHING__MEMORY_KIB", "1024")
        .env("AUTHFORT_PASSWORD_HASHING__ITERATIONS", "1")
        .env("AUTHFORT_PASSWORD_HASHING__PARALLELISM", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A spawned process whose stdout and stderr are collected in the background.
pub struct Process {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Process {
    pub fn spawn(cmd: &mut Command) -> Process {
        let mut child = cmd.spawn().expect("spawn authfort");
        let stdout = drain(child.stdout.take().expect("piped stdout"));
        let stderr = drain(child.stderr.take().expect("piped stderr"));
        Process { child, stdout, stderr }
    }

    /// Spawns with `input` written to standard input, which is then closed.
    pub fn spawn_with_input(cmd: &mut Command, input: &str) -> Process {
        cmd.stdin(Stdio::piped());
        let mut process = Process::spawn(cmd);
        let mut stdin = process.child.stdin.take().expect("piped stdin");
        // A command that exits without reading closes the pipe; that is its answer, not ours.
        let _ = stdin.write_all(input.as_bytes());
        drop(stdin);
        process
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Waits for the exit (panicking after [`EXIT_TIMEOUT`]) and returns what was printed.
    pub fn wait(mut self) -> Finished {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        let status = loop {
            if let Some(status) = self.try_wait() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("authfort did not exit within {EXIT_TIMEOUT:?}\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Let the reader threads see end-of-file.
        std::thread::sleep(Duration::from_millis(50));
        Finished {
            status,
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let buffer = Arc::new(Mutex::new(String::new()));
    let sink = buffer.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    buffer
}

/// Runs a one-shot command to completion.
pub fn run(cmd: &mut Command) -> Finished {
    Process::spawn(cmd).wait()
}

/// Runs a one-shot command to completion with `input` on its standard input.
pub fn run_with_input(cmd: &mut Command, input: &str) -> Finished {
    Process::spawn_with_input(cmd, input).wait()
}

/// A running `authfort serve`, killed on drop.
pub struct TestServer {
    pub process: Process,
    pub base_url: String,
    pub client: reqwest::Client,
}

impl TestServer {
    /// Spawns `authfort serve` in `dir` with extra `env` on a free port (retrying if another
    /// process took the port first) and waits until `/healthz` answers.
    pub async fn start(dir: &Path, env: &[(&str, &str)]) -> TestServer {
        let mut last_output = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut cmd = authfort(dir);
            cmd.arg("serve").envs(env.iter().copied());
            cmd.env("AUTHFORT_BIND", format!("127.0.0.1:{port}"));
            let mut server = TestServer {
                process: Process::spawn(&mut cmd),
                base_url: format!("http://127.0.0.1:{port}"),
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .expect("client"),
            };
            match server.wait_healthy().await {
                Ok(()) => return server,
                Err(output) if output.contains("cannot listen") => last_output = output,
                Err(output) => panic!("authfort serve did not become healthy\n{output}"),
            }
        }
        panic!("authfort serve could not bind a free port\n{last_output}");
    }

    async fn wait_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let url = format!("{}/healthz", self.base_url);
        loop {
            if let Some(status) = self.process.try_wait() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Err(format!("exited with {status}\n{}", self.process.output()));
            }
            if let Ok(response) = self.client.get(&url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no answer within {STARTUP_TIMEOUT:?}\n{}",
                    self.process.output()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn signup(&self, email: &str, password: &str) -> Value {
        let response = self
            .post("/auth/signup", json!({"email": email, "password": password}))
            .await;
        assert_eq!(response.status(), 201, "signup");
        response.json().await.expect("signup JSON")
    }

    pub async fn me(&self, access_token: &str) -> reqwest::Response {
        self.client
            .get(self.url("/auth/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post("/auth/refresh", json!({"refresh_token": refresh_token}))
            .await
    }

    pub async fn jwks(&self) -> JwkSet {
        let response = self
            .client
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "jwks");
        response.json().await.expect("JWKS JSON")
    }
}

/// Verifies an access token the way a third party would: RS256, key picked by `kid` from
/// the JWKS, issuer `authfort`, not expired. Returns the claims.
pub fn verify_with_jwks(token: &str, jwks: &JwkSet) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("JWT header");
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.expect("kid in JWT header");
    let jwk = jwks.find(&kid).unwrap_or_else(|| panic!("kid {kid} not in JWKS"));
    let key = DecodingKey::from_jwk(jwk).expect("decoding key from JWK");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&["authfort"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("token verifies against the JWKS")
        .claims
}

/// `tokens.<field>` of an AuthResponse.
pub fn token(body: &Value, field: &str) -> String {
    body["tokens"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no tokens.{field} in {body}"))
        .to_owned()
}
