//! Local receivers for notification tests: an HTTP endpoint that verifies templar's signature
//! (and can be told to fail), and a minimal SMTP server that keeps what it is sent.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// What an HTTP receiver got.
#[derive(Default)]
pub struct Inbox {
    /// Bodies of requests answered 200 (signature checked when a secret is set).
    pub accepted: Vec<serde_json::Value>,
    /// Requests refused on purpose (to simulate an outage).
    pub refused: u32,
    /// Requests whose signature did not verify.
    pub bad_signatures: u32,
    /// Fail this many requests before accepting.
    pub fail_next: u32,
}

#[derive(Clone)]
struct Receiver {
    inbox: Arc<Mutex<Inbox>>,
    secret: Option<String>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut inbox = r.inbox.lock().unwrap();
    if let Some(secret) = &r.secret {
        let sig = headers
            .get("x-templar-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let ok = sig
            .strip_prefix("sha256=")
            .is_some_and(|s| templar::signing::verify(secret.as_bytes(), &body, s));
        if !ok {
            inbox.bad_signatures += 1;
            return StatusCode::UNAUTHORIZED;
        }
    }
    if inbox.fail_next > 0 {
        inbox.fail_next -= 1;
        inbox.refused += 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    inbox.accepted.push(serde_json::from_slice(&body).unwrap());
    StatusCode::OK
}

/// Starts an HTTP receiver; returns its URL and inbox.
pub async fn http(secret: Option<&str>) -> (String, Arc<Mutex<Inbox>>) {
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(Receiver {
            inbox: inbox.clone(),
            secret: secret.map(str::to_string),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

/// A mail as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// Starts a minimal SMTP server (no TLS, no auth); returns its port and mailbox.
pub async fn smtp() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mailbox = Arc::new(Mutex::new(Vec::new()));
    let boxed = mailbox.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let boxed = boxed.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write
                    .write_all(b"220 localhost ESMTP test\r\n")
                    .await
                    .unwrap();
                let (mut from, mut to, mut data, mut in_data) =
                    (String::new(), Vec::new(), String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            boxed.lock().unwrap().push(Mail {
                                from: from.clone(),
                                to: to.clone(),
                                data: std::mem::take(&mut data),
                            });
                            write.write_all(b"250 OK queued\r\n").await.unwrap();
                        } else {
                            data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            data.push('\n');
                        }
                        continue;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-localhost\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        from = line[10..].trim().to_string();
                        b"250 OK\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        to.push(line[8..].trim().to_string());
                        b"250 OK\r\n"
                    } else if upper == "DATA" {
                        in_data = true;
                        b"354 end with .\r\n"
                    } else if upper == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mailbox)
}
