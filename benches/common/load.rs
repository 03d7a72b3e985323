//! A small HTTP/1.1 load generator for the benchmarks: raw requests, prepared in advance, over
//! keep-alive connections, one request in flight per connection. It does next to nothing per
//! request (a write, a read, a header scan), so on a machine the server shares it takes little
//! CPU from it, and both phases of a comparison pay exactly the same client cost. The clock
//! starts once every connection is open and every request is built, and stops at the deadline:
//! nothing done before the start counts.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a run measured.
pub struct Figures {
    /// Responses per second.
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Responses that were not 2xx.
    pub non_2xx: u64,
    /// The run used every prepared request before its deadline (prepare more).
    pub exhausted: bool,
    /// Every latency, in microseconds, sorted.
    pub latencies: Vec<u32>,
    pub elapsed: Duration,
}

impl Figures {
    pub fn new(mut latencies: Vec<u32>, elapsed: Duration, non_2xx: u64, exhausted: bool) -> Self {
        latencies.sort_unstable();
        let pct = |p: f64| {
            latencies
                .get(((latencies.len().max(1) - 1) as f64 * p).round() as usize)
                .map_or(f64::NAN, |us| f64::from(*us) / 1000.0)
        };
        Figures {
            rate: latencies.len() as f64 / elapsed.as_secs_f64(),
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            non_2xx,
            exhausted,
            latencies,
            elapsed,
        }
    }

    /// Several runs as one: their responses over their summed time.
    pub fn combine(runs: Vec<Figures>) -> Figures {
        let elapsed = runs.iter().map(|r| r.elapsed).sum();
        let non_2xx = runs.iter().map(|r| r.non_2xx).sum();
        let exhausted = runs.iter().any(|r| r.exhausted);
        let latencies = runs.into_iter().flat_map(|r| r.latencies).collect();
        Figures::new(latencies, elapsed, non_2xx, exhausted)
    }
}

/// `method path` with `headers` and `body`, as bytes on the wire.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Where the headers end, and the status and `Content-Length` they give.
fn head(buf: &[u8]) -> Option<(usize, u16, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = std::str::from_utf8(&buf[..end]).expect("response headers are UTF-8");
    let status = text.get(9..12)?.parse().expect("status code");
    let length = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().expect("Content-Length"))
        })
        .expect("the server answers with a Content-Length");
    Some((end, status, length))
}

/// Sends `requests` in order (the first one over and over with `repeat`) through `connections`
/// connections for `duration`, on `threads` client threads. With `from`, starts at that index
/// and moves it past what was taken.
pub fn run(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    from: &AtomicUsize,
    repeat: bool,
    connections: usize,
    threads: usize,
    duration: Duration,
) -> Figures {
    let next = Arc::new(AtomicUsize::new(from.load(Ordering::Relaxed)));
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(std::sync::Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (requests, next, stop, ready) =
                (requests.clone(), next.clone(), stop.clone(), ready.clone());
            let share = connections / threads + usize::from(t < connections % threads);
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("client runtime");
                rt.block_on(async move {
                    let mut streams = Vec::new();
                    for _ in 0..share {
                        let s = TcpStream::connect(addr)
                            .await
                            .expect("connect to the server");
                        s.set_nodelay(true).expect("nodelay");
                        streams.push(s);
                    }
                    ready.wait();
                    let tasks: Vec<_> = streams
                        .into_iter()
                        .map(|s| {
                            let (requests, next, stop) =
                                (requests.clone(), next.clone(), stop.clone());
                            tokio::spawn(connection(s, requests, repeat, next, stop))
                        })
                        .collect();
                    let mut all = (Vec::new(), 0u64);
                    for t in tasks {
                        let (lat, bad) = t.await.expect("client task");
                        all.0.extend(lat);
                        all.1 += bad;
                    }
                    all
                })
            })
        })
        .collect();
    ready.wait();
    let started = Instant::now();
    // Stop at the deadline, or earlier when the prepared requests run out.
    while started.elapsed() < duration && (repeat || next.load(Ordering::Relaxed) < requests.len())
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let deadline = Instant::now();
    let elapsed = deadline - started;
    let exhausted = !repeat && next.load(Ordering::Relaxed) >= requests.len();
    from.store(
        next.load(Ordering::Relaxed).min(requests.len()),
        Ordering::Relaxed,
    );
    let mut latencies = Vec::new();
    let mut non_2xx = 0;
    for w in workers {
        let (lat, bad) = w.join().expect("client thread");
        latencies.extend(lat);
        non_2xx += bad;
    }
    // Only responses that arrived between the start and the deadline count.
    let micros: Vec<u32> = latencies
        .iter()
        .filter(|(done, _)| (started..=deadline).contains(done))
        .map(|(_, l)| *l)
        .collect();
    Figures::new(micros, elapsed, non_2xx, exhausted)
}

/// One connection's loop: its latencies (with when each response arrived) and how many
/// answers were not 2xx.
async fn connection(
    mut s: TcpStream,
    requests: Arc<Vec<Vec<u8>>>,
    repeat: bool,
    next: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> (Vec<(Instant, u32)>, u64) {
    let mut latencies = Vec::new();
    let mut bad = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let req = if repeat {
            &requests[0]
        } else {
            match requests.get(next.fetch_add(1, Ordering::Relaxed)) {
                Some(r) => r,
                None => break,
            }
        };
        let sent = Instant::now();
        s.write_all(req).await.expect("send a request");
        let mut have = 0;
        let (end, status, length) = loop {
            let n = s.read(&mut buf[have..]).await.expect("read a response");
            assert!(n > 0, "the server closed the connection");
            have += n;
            if let Some(h) = head(&buf[..have]) {
                break h;
            }
        };
        while have < end + length {
            let n = s
                .read(&mut buf[have..])
                .await
                .expect("read a response body");
            assert!(n > 0, "the server closed the connection mid-body");
            have += n;
        }
        assert_eq!(have, end + length, "one response per request");
        let done = Instant::now();
        latencies.push((
            done,
            u32::try_from((done - sent).as_micros()).unwrap_or(u32::MAX),
        ));
        if !(200..300).contains(&status) {
            bad += 1;
        }
    }
    (latencies, bad)
}
