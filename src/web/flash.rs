//! What a form did, shown once on the page it returns to (POST, redirect, GET): "Synced acme:
//! 3 changes", each change a link. Kept in memory, at most [`CAPACITY`] for [`TTL`]; an
//! unknown or expired id shows nothing, so a reload or a shared link is harmless.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Messages kept at most; the oldest goes first.
const CAPACITY: usize = 256;
/// How long a message waits for its page.
const TTL: Duration = Duration::from_secs(600);

/// One message: a tone (`ok`, `warn`, `bad`), a title, and lines that may link somewhere.
#[derive(Debug, Clone, Serialize)]
pub struct Flash {
    pub tone: &'static str,
    pub title: String,
    pub items: Vec<FlashItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlashItem {
    pub text: String,
    pub href: Option<String>,
}

/// The messages waiting to be shown; cheap to clone.
#[derive(Clone, Default)]
pub struct Flashes(Arc<Mutex<HashMap<String, (Instant, Flash)>>>);

impl Flashes {
    /// Keeps `flash`; returns the id to put in the next page's address.
    pub fn put(&self, flash: Flash) -> String {
        use rand::Rng;
        let id = format!("{:016x}", rand::rng().random::<u64>());
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < TTL);
        if map.len() >= CAPACITY {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), (Instant::now(), flash));
        id
    }

    /// The message `id`, once.
    pub fn take(&self, id: &str) -> Option<Flash> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, f)| f)
    }
}

/// A path on this site to return to: `/…` only, never `//host`, a backslash or a control
/// character (browsers read those as another host). Anything else returns to `/`.
pub fn local_path(back: Option<&str>) -> String {
    back.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.chars().any(|c| c == '\\' || c.is_control())
    })
    .unwrap_or("/")
    .to_string()
}

/// 303 to `back` with the message's id added to its query.
pub fn redirect(back: &str, id: &str) -> Response {
    let sep = if back.contains('?') { '&' } else { '?' };
    let to = format!("{back}{sep}flash={id}");
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_shows_once_and_only_local_paths_are_returned_to() {
        let f = Flashes::default();
        let id = f.put(Flash {
            tone: "ok",
            title: "done".into(),
            items: vec![],
        });
        assert_eq!(f.take(&id).map(|m| m.title), Some("done".into()));
        assert!(f.take(&id).is_none());
        for bad in ["//evil.example", "/\\evil", "https://evil", "/\tx", ""] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(
            local_path(Some("/accounts/acme?days=7")),
            "/accounts/acme?days=7"
        );
    }

    #[test]
    fn the_store_is_bounded() {
        let f = Flashes::default();
        for _ in 0..CAPACITY + 50 {
            f.put(Flash {
                tone: "ok",
                title: String::new(),
                items: vec![],
            });
        }
        assert_eq!(f.0.lock().unwrap().len(), CAPACITY);
    }
}
