//! What every request and answer passes through before the routes: the `Host` check that
//! defeats DNS rebinding, the same-origin check on state-changing browser requests (on top of
//! the CSRF token), and the security headers every answer carries.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::config::Config;

/// The host names this server answers to.
#[derive(Debug, Clone)]
pub struct Hosts {
    names: Vec<String>,
    /// Listening on every interface: any IP address literal is this machine (a rebinding
    /// attack needs a name, not an address).
    any_ip: bool,
    /// `public_url` is https: answers carry HSTS.
    pub https: bool,
}

impl Hosts {
    /// The listen address, `localhost`, and `public_url`'s host.
    pub fn from_config(config: &Config) -> Hosts {
        let mut names = vec!["localhost".to_string(), config.listen.ip().to_string()];
        let public = reqwest::Url::parse(&config.public_url).ok();
        if let Some(h) = public.as_ref().and_then(|u| u.host_str()) {
            names.push(h.trim_matches(['[', ']']).to_ascii_lowercase());
        }
        Hosts {
            names,
            any_ip: config.listen.ip().is_unspecified(),
            https: public.is_some_and(|u| u.scheme() == "https"),
        }
    }

    /// Whether `authority` (`host[:port]`, as in `Host` or an origin) names this server.
    fn allows(&self, authority: &str) -> bool {
        let host = hostname(authority).to_ascii_lowercase();
        self.names.contains(&host) || (self.any_ip && host.parse::<std::net::IpAddr>().is_ok())
    }
}

/// The host part of `host[:port]` or `[v6]:port`; a port that is not digits keeps the whole
/// (so `host:80@evil` matches nothing).
fn hostname(authority: &str) -> &str {
    match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => match authority.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => authority,
        },
    }
}

/// Requests authenticated otherwise: webhooks by their signature, API clients by a bearer
/// token that verifies (any value would do for a rebound page, which counts as same-origin),
/// and health probes, which reveal nothing.
fn exempt(state: &AppState, req: &Request) -> bool {
    let path = req.uri().path();
    path.starts_with("/webhooks/")
        || path == "/healthz"
        || path == "/livez"
        || super::auth::valid_bearer(state, req)
}

/// Whether a state-changing request comes from a page of this site: `Sec-Fetch-Site:
/// same-origin`, or an `Origin` whose host and port are the request's `Host`.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if get("sec-fetch-site") == Some("same-origin") {
        return true;
    }
    match (get("origin"), get("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

/// Refuses requests for another host (421) and cross-site state changes (403), then adds the
/// security headers to whatever the routes answer.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !exempt(&state, &req) {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        // An absolute-form target names a host too: both must be this server.
        let target = req.uri().authority().map(|a| a.as_str());
        if !host.is_some_and(|h| state.hosts.allows(h))
            || target.is_some_and(|t| !state.hosts.allows(t))
        {
            return refuse(
                StatusCode::MISDIRECTED_REQUEST,
                "this server does not answer to that host name (set `public_url` to the address \
                 you use)",
            );
        }
        // What a cross-site page could ride on: the login cookie, or an open dashboard.
        let ambient = state.config.dashboard.token.is_none() || super::auth::has_session(&req);
        let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        if changes && ambient && !same_origin(req.headers()) {
            return refuse(
                StatusCode::FORBIDDEN,
                "cross-site request refused: the request did not come from a page of this site",
            );
        }
    }
    let mut resp = next.run(req).await;
    headers(resp.headers_mut(), state.hosts.https);
    resp
}

/// Ends a request that takes longer than `server.request_timeout_secs` to send its body and be
/// answered: 408, and the connection's slot is free again.
pub async fn deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.server.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            let mut resp = refuse(
                StatusCode::REQUEST_TIMEOUT,
                "the request took too long to arrive or to answer",
            );
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
    }
}

fn refuse(status: StatusCode, why: &str) -> Response {
    let mut resp = (status, why.to_string()).into_response();
    headers(resp.headers_mut(), false);
    resp
}

/// The headers every answer carries: a strict Content-Security-Policy (this site's stylesheet
/// and one script file of its own, no inline script, no framing), no MIME sniffing, no referrer to other sites, and HSTS behind https.
fn headers(h: &mut HeaderMap, https: bool) {
    const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       script-src 'self'; connect-src 'self'; \
                       form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_and_ports() {
        assert_eq!(hostname("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(hostname("[::1]:8080"), "::1");
        assert_eq!(hostname("example.com"), "example.com");
        let hosts = Hosts {
            names: vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "templar.example".into(),
            ],
            any_ip: false,
            https: false,
        };
        assert!(hosts.allows("127.0.0.1:8080"));
        assert!(hosts.allows("LOCALHOST:8080"));
        assert!(hosts.allows("templar.example"));
        assert!(!hosts.allows("rebind.attacker.example:8080"));
        assert!(!hosts.allows("10.0.0.1:8080"));
        assert!(!hosts.allows("127.0.0.1:8080@evil.example"));
    }
}
