//! A real SMTP server on `127.0.0.1` that records what it receives.
//!
//! It speaks enough ESMTP for lettre: `EHLO`/`HELO` (advertising `8BITMIME` and
//! `AUTH PLAIN LOGIN`, never `STARTTLS`), `AUTH PLAIN` / `AUTH LOGIN` (any credentials are
//! accepted and recorded), `MAIL FROM`, `RCPT TO`, `DATA` (with dot-unstuffing), `RSET`,
//! `NOOP` and `QUIT`. Failures can be injected: [`SmtpSink::refuse_next`] (transient `451`),
//! [`SmtpSink::reject_next`] (permanent `550`) and [`SmtpSink::stall`] (a late greeting).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message accepted by the sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// Envelope sender (`MAIL FROM`), without the angle brackets.
    pub from: String,
    /// Envelope recipients (`RCPT TO`), without the angle brackets.
    pub to: Vec<String>,
    /// The raw message (`DATA`, dot-unstuffed, CRLF line ends, without the final `.`).
    pub data: String,
    /// `(user, password)` the client authenticated with on this connection, if it did.
    pub auth: Option<(String, String)>,
}

/// A MIME entity: unfolded headers and the raw body.
struct Entity<'a> {
    headers: Vec<(String, String)>,
    body: &'a str,
}

impl<'a> Entity<'a> {
    fn parse(raw: &'a str) -> Entity<'a> {
        let (head, body) = match raw.find("\r\n\r\n") {
            Some(i) => (&raw[..i], &raw[i + 4..]),
            None => match raw.find("\n\n") {
                Some(i) => (&raw[..i], &raw[i + 2..]),
                None => (raw, ""),
            },
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Entity { headers, body }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The lower-cased media type (`text/plain`); `text/plain` when absent.
    fn media_type(&self) -> String {
        self.header("Content-Type")
            .and_then(|v| v.split(';').next())
            .unwrap_or("text/plain")
            .trim()
            .to_ascii_lowercase()
    }

    fn param(&self, header: &str, param: &str) -> Option<String> {
        let value = self.header(header)?;
        value.split(';').skip(1).find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(param)
                .then(|| v.trim().trim_matches('"').to_owned())
        })
    }

    /// The first part of `media_type`, searching multiparts depth-first, decoded.
    fn find(&self, media_type: &str) -> Option<String> {
        let own = self.media_type();
        if own.starts_with("multipart/") {
            let boundary = self.param("Content-Type", "boundary")?;
            let delimiter = format!("--{boundary}");
            return self
                .body
                .split(delimiter.as_str())
                .skip(1)
                .take_while(|part| !part.starts_with("--"))
                .find_map(|part| {
                    let part = part
                        .strip_prefix("\r\n")
                        .or_else(|| part.strip_prefix('\n'))
                        .unwrap_or(part);
                    Entity::parse(part).find(media_type)
                });
        }
        (own == media_type).then(|| self.decoded_body())
    }

    fn decoded_body(&self) -> String {
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "quoted-printable" => decode_quoted_printable(self.body),
            "base64" => {
                let compact: String = self.body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("valid base64 body")
            }
            _ => self.body.as_bytes().to_vec(),
        };
        let text = String::from_utf8(bytes).expect("UTF-8 body");
        // The CRLF before the next boundary belongs to the delimiter.
        text.strip_suffix("\r\n").map(str::to_owned).unwrap_or(text)
    }
}

fn decode_quoted_printable(body: &str) -> Vec<u8> {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if bytes[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            if i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

impl ReceivedMail {
    /// The first value of a top-level header (unfolded), e.g. `Subject` or `Message-ID`.
    pub fn header(&self, name: &str) -> Option<String> {
        Entity::parse(&self.data).header(name).map(str::to_owned)
    }

    /// The `text/plain` part, with its quoted-printable or base64 transfer encoding undone.
    ///
    /// # Panics
    /// When the message has no `text/plain` part or it is not valid UTF-8.
    pub fn decoded_text(&self) -> String {
        Entity::parse(&self.data).find("text/plain").expect("a text/plain part")
    }

    /// The `text/html` part, decoded like [`ReceivedMail::decoded_text`]; `None` if absent.
    pub fn decoded_html(&self) -> Option<String> {
        Entity::parse(&self.data).find("text/html")
    }
}

#[derive(Default)]
struct State {
    messages: Mutex<Vec<ReceivedMail>>,
    refuse: AtomicUsize,
    reject: AtomicUsize,
    refused: AtomicUsize,
    stall_ms: AtomicU64,
    connections: AtomicUsize,
}

/// The SMTP server. Stops accepting connections when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<State>,
    accept: tokio::task::AbortHandle,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl SmtpSink {
    /// Binds `127.0.0.1:0` and starts serving on the current runtime.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP sink");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State::default());
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(session(stream, shared.clone()));
            }
        })
        .abort_handle();
        SmtpSink { addr, state, accept }
    }

    /// `smtp+plain://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp+plain://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every message accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.state.messages.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many `MAIL FROM` commands were refused or rejected so far.
    pub fn refused(&self) -> usize {
        self.state.refused.load(Ordering::SeqCst)
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// The messages, once at least `n` have arrived.
    ///
    /// # Panics
    /// When fewer than `n` arrive within `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "SMTP sink: expected {n} message(s) within {timeout:?}, got {}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Answers `451 4.3.0 try again later` to the next `n` `MAIL FROM` commands.
    pub fn refuse_next(&self, n: usize) {
        self.state.refuse.store(n, Ordering::SeqCst);
    }

    /// Answers `550 5.7.1 rejected` (permanent) to the next `n` `MAIL FROM` commands.
    pub fn reject_next(&self, n: usize) {
        self.state.reject.store(n, Ordering::SeqCst);
    }

    /// Delays the greeting of every later connection by `delay` (zero: no delay).
    pub fn stall(&self, delay: Duration) {
        self.state
            .stall_ms
            .store(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }
}

/// Takes one from `counter` if it is positive.
fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// The address inside `<…>` of a `FROM:`/`TO:` argument (parameters after it ignored).
fn path(arg: &str) -> String {
    match (arg.find('<'), arg.find('>')) {
        (Some(a), Some(b)) if a < b => arg[a + 1..b].to_owned(),
        _ => arg.split_once(':').map_or(arg, |(_, v)| v).trim().to_owned(),
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}

async fn session(stream: TcpStream, state: Arc<State>) {
    let stall = state.stall_ms.load(Ordering::SeqCst);
    if stall > 0 {
        tokio::time::sleep(Duration::from_millis(stall)).await;
    }
    let _ = serve(stream, &state).await;
}

async fn serve(stream: TcpStream, state: &State) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = String::new();
    macro_rules! reply {
        ($s:expr) => {
            write.write_all($s.as_bytes()).await?;
            write.flush().await?;
        };
    }
    macro_rules! next_line {
        () => {{
            line.clear();
            if read.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            line.trim_end_matches(['\r', '\n']).to_owned()
        }};
    }

    reply!("220 authfort-test-sink ESMTP ready\r\n");
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut auth: Option<(String, String)> = None;
    loop {
        let command = next_line!();
        let (verb, arg) = command.split_once(' ').unwrap_or((command.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                reply!("250-authfort-test-sink\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n");
            }
            "HELO" => {
                reply!("250 authfort-test-sink\r\n");
            }
            "AUTH" => {
                let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
                match mechanism.to_ascii_uppercase().as_str() {
                    "PLAIN" => {
                        let response = if initial.is_empty() {
                            reply!("334 \r\n");
                            next_line!()
                        } else {
                            initial.to_owned()
                        };
                        let decoded = b64(&response);
                        let mut fields = decoded.split('\0').skip(1);
                        let user = fields.next().unwrap_or_default().to_owned();
                        let password = fields.next().unwrap_or_default().to_owned();
                        auth = Some((user, password));
                        reply!("235 2.7.0 Authentication successful\r\n");
                    }
                    "LOGIN" => {
                        let user = if initial.is_empty() {
                            reply!("334 VXNlcm5hbWU6\r\n");
                            b64(&next_line!())
                        } else {
                            b64(initial)
                        };
                        reply!("334 UGFzc3dvcmQ6\r\n");
                        let password = b64(&next_line!());
                        auth = Some((user, password));
                        reply!("235 2.7.0 Authentication successful\r\n");
                    }
                    _ => {
                        reply!("504 5.5.4 unrecognized authentication type\r\n");
                    }
                }
            }
            "MAIL" => {
                if take(&state.refuse) {
                    state.refused.fetch_add(1, Ordering::SeqCst);
                    reply!("451 4.3.0 try again later\r\n");
                } else if take(&state.reject) {
                    state.refused.fetch_add(1, Ordering::SeqCst);
                    reply!("550 5.7.1 rejected\r\n");
                } else {
                    from = Some(path(arg));
                    to.clear();
                    reply!("250 2.1.0 OK\r\n");
                }
            }
            "RCPT" => {
                if from.is_none() {
                    reply!("503 5.5.1 MAIL first\r\n");
                } else {
                    to.push(path(arg));
                    reply!("250 2.1.5 OK\r\n");
                }
            }
            "DATA" => {
                if from.is_none() || to.is_empty() {
                    reply!("503 5.5.1 RCPT first\r\n");
                    continue;
                }
                reply!("354 end data with <CR><LF>.<CR><LF>\r\n");
                let mut data = String::new();
                loop {
                    line.clear();
                    if read.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let mail = ReceivedMail {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    data,
                    auth: auth.clone(),
                };
                state.messages.lock().unwrap_or_else(|p| p.into_inner()).push(mail);
                reply!("250 2.0.0 queued\r\n");
            }
            "RSET" => {
                from = None;
                to.clear();
                reply!("250 2.0.0 OK\r\n");
            }
            "NOOP" => {
                reply!("250 2.0.0 OK\r\n");
            }
            "QUIT" => {
                reply!("221 2.0.0 bye\r\n");
                return Ok(());
            }
            _ => {
                reply!("502 5.5.2 command not implemented\r\n");
            }
        }
    }
}
