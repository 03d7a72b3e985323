//! Where Meta and Kapso differ, and only that: Kapso proxies Meta's Graph API under its own
//! root with its own key, pages a little differently, reaches one template and its edits
//! through the listing path, and finds WABAs and phone numbers through its Platform API.
//! Everything else is the same Graph call, made once by [`super::Graph`].

use super::graph::PagingStyle;
use super::http::Auth;
use crate::config::Secret;
use crate::domain::SourceKind;

/// One source's way of saying the same Graph calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect(pub SourceKind);

impl Dialect {
    /// The root that Graph paths hang from.
    pub fn graph_root(self, base: &str, version: &str) -> String {
        match self.0 {
            SourceKind::Meta => format!("{base}/{version}"),
            SourceKind::Kapso => format!("{base}/meta/whatsapp/{version}"),
        }
    }

    /// How a credential is presented.
    pub fn auth(self, credential: Secret) -> Auth {
        match self.0 {
            SourceKind::Meta => Auth::Bearer(credential),
            SourceKind::Kapso => Auth::ApiKey(credential),
        }
    }

    /// How the listing says more pages follow; `linked`: an earlier page of the listing
    /// carried a `next` link.
    pub fn paging(self, linked: bool) -> PagingStyle {
        match self.0 {
            SourceKind::Meta => PagingStyle::NextLink,
            SourceKind::Kapso => PagingStyle::AfterCursor { linked },
        }
    }

    /// The Graph path of one template.
    pub fn template_path(self, waba: &str, id: &str) -> String {
        match self.0 {
            SourceKind::Meta => id.to_string(),
            SourceKind::Kapso => format!("{waba}/message_templates/{id}"),
        }
    }

    /// Where an edit of one template is posted.
    pub fn edit_path(self, waba: &str, id: &str) -> (String, Option<(&'static str, String)>) {
        match self.0 {
            SourceKind::Meta => (id.to_string(), None),
            SourceKind::Kapso => (
                format!("{waba}/message_templates"),
                Some(("hsm_id", id.to_string())),
            ),
        }
    }

    /// Whether WABAs and phone numbers can be discovered (Kapso's Platform API), rather than
    /// only configured.
    pub fn discovers_numbers(self) -> bool {
        self.0 == SourceKind::Kapso
    }

    /// Whether the source keeps conversations (Kapso), so a customer's last message can be
    /// asked for.
    pub fn keeps_conversations(self) -> bool {
        self.0 == SourceKind::Kapso
    }
}
