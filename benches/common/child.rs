//! Runs the `templar` binary as a user would, as a child process, and measures it: wall time
//! and peak RSS (`VmHWM`, sampled every millisecond until it exits), so the allocator and
//! start-up count.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What one run of the binary took.
pub struct Measured {
    pub seconds: f64,
    pub peak_rss_mb: f64,
    pub output: Output,
}

/// The peak resident set of process `pid` so far (`VmHWM`), in KiB.
pub fn vm_hwm_kb(pid: u32) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs `templar ARGS` with `config`, its stdout captured; panics if it fails.
pub fn templar(config: &std::path::Path, args: &[&str]) -> Measured {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_templar"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start templar");
    let pid = child.id();
    // stdout is read on a thread so a large output cannot fill the pipe and stall the child.
    let mut out = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut buf).map(|_| buf)
    });
    let mut peak_kb = 0f64;
    let status = loop {
        if let Some(kb) = vm_hwm_kb(pid) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("wait for templar") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let seconds = started.elapsed().as_secs_f64();
    let stdout = reader.join().expect("reader").expect("stdout");
    assert!(status.success(), "templar {args:?} failed: {status}");
    Measured {
        seconds,
        peak_rss_mb: peak_kb / 1024.0,
        output: Output {
            status,
            stdout,
            stderr: Vec::new(),
        },
    }
}
