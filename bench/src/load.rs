//! A closed-loop HTTP/1.1 load generator: `c` workers, each on its own keep-alive
//! connection, each sending its next request as soon as the previous answer is read.
//!
//! Why not wrk/oha: every magic-link verify must carry a token never used before, and a
//! refresh must carry the refresh token the previous refresh returned. Those are stateful
//! request streams; a small driver on hyper's client connection (no pool, no redirects, no
//! extra allocation per request beyond the body) does that with less overhead than a
//! scripted tool, and it records latency in an HDR histogram like they do.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One request to send.
#[derive(Debug, Clone)]
pub struct Req {
    /// GET or POST.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// JSON body (empty for GET).
    pub body: Bytes,
}

impl Req {
    /// A GET with headers.
    pub fn get(path: impl Into<String>, headers: Vec<(HeaderName, HeaderValue)>) -> Req {
        Req {
            method: Method::GET,
            path: path.into(),
            headers,
            body: Bytes::new(),
        }
    }

    /// A POST of a JSON value.
    pub fn post_json(path: impl Into<String>, json: &serde_json::Value) -> Req {
        Req {
            method: Method::POST,
            path: path.into(),
            headers: vec![(
                hyper::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body: Bytes::from(json.to_string()),
        }
    }

    /// Adds a header.
    pub fn with(mut self, name: HeaderName, value: &str) -> Req {
        self.headers
            .push((name, HeaderValue::from_str(value).expect("header value")));
        self
    }
}

/// A response as a workload sees it.
pub struct Resp<'a> {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: &'a hyper::HeaderMap,
    /// Body.
    pub body: &'a Bytes,
}

/// Where a worker's requests come from.
pub trait Workload: Send + Sync {
    /// The next request of worker `w`, or `None` when its inputs are spent.
    fn next(&self, w: usize) -> Option<Req>;
    /// Every response, in order per worker (for chaining and collecting).
    fn seen(&self, _w: usize, _resp: &Resp<'_>) {}
    /// Whether an answer is a success (default: any 2xx).
    fn accept(&self, resp: &Resp<'_>) -> bool {
        (200..300).contains(&resp.status)
    }
}

/// Requests from a fixed list, each used once, shared by all workers.
pub struct OneShot {
    reqs: Vec<Req>,
    next: AtomicUsize,
}

impl OneShot {
    /// Wraps the list.
    pub fn new(reqs: Vec<Req>) -> OneShot {
        OneShot {
            reqs,
            next: AtomicUsize::new(0),
        }
    }
}

impl Workload for OneShot {
    fn next(&self, _w: usize) -> Option<Req> {
        self.reqs.get(self.next.fetch_add(1, Ordering::Relaxed)).cloned()
    }
}

/// The same request again and again; an answer counts only if its body holds `must_contain`
/// (Better Auth answers `get-session` without a session with 200 `null`).
pub struct Repeat {
    /// The request.
    pub req: Req,
    /// Bytes a good answer's body contains.
    pub must_contain: Option<Vec<u8>>,
}

impl Workload for Repeat {
    fn next(&self, _w: usize) -> Option<Req> {
        Some(self.req.clone())
    }
    fn accept(&self, resp: &Resp<'_>) -> bool {
        (200..300).contains(&resp.status)
            && self
                .must_contain
                .as_deref()
                .is_none_or(|needle| resp.body.windows(needle.len()).any(|w| w == needle))
    }
}

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Requests answered inside the measured window (whenever they were sent: a closed loop
    /// at high concurrency always has requests in flight across both edges of the window).
    pub requests: u64,
    /// Answers that were not 2xx (or not a success by the workload's check).
    pub non_2xx: u64,
    /// Transport errors (connect, reset, timeout).
    pub errors: u64,
    /// The measured window (shorter than asked when inputs ran out).
    pub elapsed: Duration,
    /// Latency histogram in microseconds.
    pub latency: Histogram<u64>,
    /// The first few non-2xx answers, for the log.
    pub samples: Vec<String>,
}

impl Outcome {
    /// Requests per second over the window.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// A latency quantile in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
    /// True when every request got a 2xx.
    pub fn clean(&self) -> bool {
        self.non_2xx == 0 && self.errors == 0 && self.requests > 0
    }
}

/// How long to load and how hard.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Workers (connections).
    pub concurrency: usize,
    /// Unrecorded warm-up.
    pub warmup: Duration,
    /// Recorded window.
    pub duration: Duration,
}

struct WorkerResult {
    requests: u64,
    non_2xx: u64,
    errors: u64,
    latency: Histogram<u64>,
    last: Instant,
    samples: Vec<String>,
    /// The workload ran out of inputs (one-shot tokens) before the window ended.
    exhausted: bool,
}

/// Runs `workload` against `addr` with `shape`; stops early when every worker ran dry.
pub async fn run(
    addr: std::net::SocketAddr,
    host: &str,
    workload: Arc<dyn Workload>,
    shape: Shape,
) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    let record_from = start + shape.warmup;
    let end = record_from + shape.duration;
    let host = HeaderValue::from_str(host)?;
    let mut tasks = Vec::with_capacity(shape.concurrency);
    for w in 0..shape.concurrency {
        let workload = workload.clone();
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            worker(addr, host, w, workload, record_from, end).await
        }));
    }
    let mut out = Outcome {
        requests: 0,
        non_2xx: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        samples: Vec::new(),
    };
    let mut last = record_from;
    let mut exhausted = false;
    for task in tasks {
        let r = task.await.context("worker panicked")??;
        out.requests += r.requests;
        out.non_2xx += r.non_2xx;
        out.errors += r.errors;
        out.latency.add(&r.latency)?;
        out.samples.extend(r.samples);
        last = last.max(r.last);
        exhausted |= r.exhausted;
    }
    out.samples.truncate(5);
    // Throughput is answers inside the window over the window. Counting instead the requests
    // *sent* inside it over the time until the last of them was answered undercounts any flow
    // whose latency is a sizeable part of the window (a login queue at c=32: by a quarter).
    out.elapsed = if exhausted { last.min(end) } else { end }.saturating_duration_since(record_from);
    Ok(out)
}

async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn worker(
    addr: std::net::SocketAddr,
    host: HeaderValue,
    w: usize,
    workload: Arc<dyn Workload>,
    record_from: Instant,
    end: Instant,
) -> anyhow::Result<WorkerResult> {
    let mut r = WorkerResult {
        requests: 0,
        non_2xx: 0,
        errors: 0,
        latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        last: record_from,
        samples: Vec::new(),
        exhausted: false,
    };
    let mut sender = connect(addr).await?;
    while Instant::now() < end {
        let Some(req) = workload.next(w) else {
            r.exhausted = true;
            break;
        };
        let mut builder = Request::builder()
            .method(req.method)
            .uri(req.path)
            .header(hyper::header::HOST, &host);
        for (name, value) in req.headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(Full::new(req.body))?;
        let t0 = Instant::now();
        let answer = async {
            sender.ready().await?;
            let resp = sender.send_request(request).await?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            anyhow::Ok((parts, body))
        };
        let result = tokio::time::timeout(Duration::from_secs(30), answer).await;
        let t1 = Instant::now();
        let recorded = (record_from..=end).contains(&t1);
        match result {
            Ok(Ok((parts, body))) => {
                let status = parts.status.as_u16();
                let resp = Resp {
                    status,
                    headers: &parts.headers,
                    body: &body,
                };
                workload.seen(w, &resp);
                let good = workload.accept(&resp);
                if recorded {
                    r.requests += 1;
                    r.last = t1;
                    r.latency.saturating_record((t1 - t0).as_micros() as u64);
                    if !good {
                        r.non_2xx += 1;
                        if r.samples.len() < 3 {
                            r.samples.push(format!(
                                "{status} {}",
                                String::from_utf8_lossy(&body[..body.len().min(200)])
                            ));
                        }
                    }
                }
            }
            _ => {
                if recorded {
                    r.errors += 1;
                    r.last = t1;
                    if r.samples.len() < 3 {
                        r.samples.push(match result {
                            Ok(Err(e)) => format!("error: {e:#}"),
                            _ => "error: timed out".into(),
                        });
                    }
                }
                sender = connect(addr).await?;
            }
        }
    }
    Ok(r)
}
