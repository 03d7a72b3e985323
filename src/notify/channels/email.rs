//! Email over SMTP (STARTTLS, TLS, or plain for a local relay), HTML and plain text rendered by
//! askama.

use askama::Template;
use lettre::message::{header, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::EmailConfig;
use crate::notify::Payload;

#[derive(Template)]
#[template(path = "email/notification.html")]
struct Html<'a> {
    p: &'a Payload,
}

#[derive(Template)]
#[template(path = "email/notification.txt")]
struct Text<'a> {
    p: &'a Payload,
}

/// The subject line.
pub fn subject(p: &Payload) -> String {
    format!("[templar] {}", p.title)
}

/// `<templar.event-12.d-345@example.com>`: the payload's id and the delivery's, so a retry after
/// a send the relay did accept has the same id and mail clients show it once.
fn message_id(payload_id: &str, delivery: &str, domain: &str) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    };
    format!(
        "<templar.{}.d-{}@{domain}>",
        safe(payload_id),
        safe(delivery)
    )
}

pub async fn send(cfg: &EmailConfig, p: &Payload, delivery: &str) -> Result<(), String> {
    let from: Mailbox = cfg
        .from
        .parse()
        .map_err(|e| format!("`from` {}: {e}", cfg.from))?;
    let domain = from.email.domain().to_string();
    // `Date` is added by lettre; relays and spam filters also want a `Message-ID` in the
    // sender's domain, and `Auto-Submitted` keeps vacation replies from answering a robot.
    let mut builder = Message::builder()
        .from(from)
        .subject(subject(p))
        .message_id(Some(message_id(&p.id, delivery, &domain)))
        .raw_header(header::HeaderValue::new(
            header::HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
    for to in &cfg.to {
        builder = builder.to(to.parse().map_err(|e| format!("`to` {to}: {e}"))?);
    }
    let html = Html { p }.render().map_err(|e| e.to_string())?;
    let text = Text { p }.render().map_err(|e| e.to_string())?;
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(header::ContentType::TEXT_PLAIN)
                .body(text),
        )
        .singlepart(
            SinglePart::builder()
                .header(header::ContentType::TEXT_HTML)
                .body(html),
        );
    let message = match &p.file {
        None => builder.multipart(body),
        Some(path) => {
            let data = std::fs::read(path).map_err(|e| format!("cannot attach {path}: {e}"))?;
            let name = std::path::Path::new(path)
                .file_name()
                .map_or("report".into(), |n| n.to_string_lossy().into_owned());
            let kind = if name.ends_with(".csv") {
                "text/csv"
            } else {
                "application/json"
            };
            let attachment = lettre::message::Attachment::new(name).body(
                data,
                header::ContentType::parse(kind).map_err(|e| e.to_string())?,
            );
            builder.multipart(MultiPart::mixed().multipart(body).singlepart(attachment))
        }
    }
    .map_err(|e| e.to_string())?;
    let transport = match cfg.tls.as_str() {
        "tls" => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host).map_err(|e| e.to_string())?
        }
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
            .map_err(|e| e.to_string())?,
        _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
    };
    let mut transport = transport.port(cfg.port).timeout(Some(super::TIMEOUT));
    if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
        transport =
            transport.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
    }
    transport
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP {}:{}: {e}", cfg.host, cfg.port))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_retried_delivery_keeps_its_message_id() {
        let a = super::message_id("event:12", "345", "example.com");
        assert_eq!(a, "<templar.event-12.d-345@example.com>");
        assert_eq!(a, super::message_id("event:12", "345", "example.com"));
        assert_ne!(a, super::message_id("event:12", "346", "example.com"));
    }
}
