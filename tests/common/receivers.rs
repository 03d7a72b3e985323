//! Local receivers for notification tests: an HTTP endpoint that verifies templar's signature
//! (and can be told to fail), and a real SMTP server that keeps what it is sent.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

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
    /// The message as sent, headers and body, for a MIME parser.
    pub data: Vec<u8>,
}

/// One SMTP session of the test server (mailin clones it per connection).
#[derive(Clone)]
struct Session {
    mailbox: Arc<Mutex<Vec<Mail>>>,
    current: Option<Mail>,
}

impl mailin_embedded::Handler for Session {
    fn data_start(
        &mut self,
        _domain: &str,
        from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.current = Some(Mail {
            from: from.to_string(),
            to: to.to_vec(),
            data: Vec::new(),
        });
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(mail) = &mut self.current {
            mail.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        if let Some(mail) = self.current.take() {
            self.mailbox.lock().unwrap().push(mail);
        }
        mailin_embedded::response::OK
    }
}

/// Starts a real SMTP server (the `mailin-embedded` crate; no TLS, no auth) on its own thread;
/// returns its port and mailbox.
pub async fn smtp() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mailbox = Arc::new(Mutex::new(Vec::new()));
    let mut server = mailin_embedded::Server::new(Session {
        mailbox: mailbox.clone(),
        current: None,
    });
    server.with_name("localhost").with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (port, mailbox)
}
