//! The Redis rate-limit store against a real Redis: the same sliding window as the memory
//! store, atomic across processes, fail closed while Redis is down, and self-healing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authfort_core::rate_limit::{RateLimit, RateLimitStore, RedisRateLimitStore};
use authfort_test_support::redis::{shared_redis, unique_prefix, PrivateRedis};

fn limit(s: &str) -> RateLimit {
    RateLimit::parse(s).unwrap()
}

#[tokio::test]
async fn redis_store_counts_a_sliding_window() {
    let Some(url) = shared_redis() else { return };
    let store = RedisRateLimitStore::with_prefix(&url, &unique_prefix()).unwrap();
    let l = limit("3/min");
    let first = store.hit("ip:1.2.3.4:login", l).await.unwrap();
    assert!(first.allowed);
    assert_eq!(first.remaining, 2);
    assert!(store.hit("ip:1.2.3.4:login", l).await.unwrap().allowed);
    assert_eq!(store.hit("ip:1.2.3.4:login", l).await.unwrap().remaining, 0);
    for _ in 0..5 {
        let refused = store.hit("ip:1.2.3.4:login", l).await.unwrap();
        assert!(!refused.allowed);
        assert!(refused.retry_after <= Duration::from_secs(60));
        assert!(refused.retry_after > Duration::from_secs(55));
        assert_eq!(refused.retry_after_header(), refused.retry_after.as_secs() + 1);
    }
    assert!(store.hit("ip:5.6.7.8:login", l).await.unwrap().allowed);
    store.reset(Some("ip:1.2.3.4:login")).await.unwrap();
    assert!(store.hit("ip:1.2.3.4:login", l).await.unwrap().allowed);
    store.reset(None).await.unwrap();
}

#[tokio::test]
async fn redis_window_expires_and_refused_hits_are_not_recorded() {
    let Some(url) = shared_redis() else { return };
    let store = RedisRateLimitStore::with_prefix(&url, &unique_prefix()).unwrap();
    let l = limit("2/sec");
    assert!(store.hit("k", l).await.unwrap().allowed);
    assert!(store.hit("k", l).await.unwrap().allowed);
    for _ in 0..20 {
        assert!(!store.hit("k", l).await.unwrap().allowed);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(store.hit("k", l).await.unwrap().allowed, "refused hits took no slot");
    store.reset(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_redis_share_one_exact_limit() {
    let Some(url) = shared_redis() else { return };
    let prefix = unique_prefix();
    let a = Arc::new(RedisRateLimitStore::with_prefix(&url, &prefix).unwrap());
    let b = Arc::new(RedisRateLimitStore::with_prefix(&url, &prefix).unwrap());
    let l = limit("25/min");
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { store.hit("shared", l).await.unwrap().allowed })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        allowed += usize::from(t.await.unwrap());
    }
    assert_eq!(allowed, 25);
    a.reset(None).await.unwrap();
}

#[tokio::test]
async fn redis_down_fails_closed_and_recovers() {
    let Some(mut redis) = PrivateRedis::start() else { return };
    let store = RedisRateLimitStore::with_prefix(&redis.url(), &unique_prefix()).unwrap();
    let l = limit("100/min");
    assert!(store.hit("k", l).await.unwrap().allowed);
    redis.stop();
    for _ in 0..3 {
        let started = Instant::now();
        assert!(store.hit("k", l).await.is_err(), "fail closed");
        assert!(started.elapsed() < Duration::from_secs(3), "errors promptly");
    }
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(hit) = store.hit("k", l).await {
            assert!(hit.allowed);
            break;
        }
        assert!(Instant::now() < deadline, "did not reconnect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn redis_not_running_at_start_fails_closed() {
    let Some(mut redis) = PrivateRedis::start() else { return };
    let url = redis.url();
    redis.stop();
    let store = RedisRateLimitStore::with_prefix(&url, &unique_prefix()).unwrap();
    assert!(store.hit("k", limit("1/min")).await.is_err());
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.hit("k", limit("1/min")).await.is_err() {
        assert!(Instant::now() < deadline, "did not connect once Redis was up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Added latency per hit; run with `cargo test -p authfort-core --release --test store -- --ignored --nocapture latency`.
#[tokio::test]
#[ignore = "measurement, not a check"]
async fn latency_per_hit() {
    use authfort_core::clock::SystemClock;
    use authfort_core::rate_limit::MemoryRateLimitStore;
    let memory = MemoryRateLimitStore::new(Arc::new(SystemClock));
    let l = limit("1000000/min");
    let n = 10_000;
    let started = Instant::now();
    for i in 0..n {
        memory
            .hit(&format!("ip:10.0.{}.{}:login", i / 256 % 256, i % 256), l)
            .await
            .unwrap();
    }
    let mean = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("memory store: {n} hits, mean {mean:.2} µs/hit");
    let Some(url) = shared_redis() else { return };
    let redis = RedisRateLimitStore::with_prefix(&url, &unique_prefix()).unwrap();
    redis.hit("warmup", l).await.unwrap();
    let n = 2_000;
    let started = Instant::now();
    for i in 0..n {
        redis.hit(&format!("ip:10.0.0.{}:login", i % 256), l).await.unwrap();
    }
    let mean = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("redis store (loopback): {n} hits, mean {mean:.2} µs/hit");
    redis.reset(None).await.unwrap();
}
