//! What WhatsApp's error codes mean and what to do about each: one table, read by the template
//! page, `send`, notifications and exports alike.

/// One error code's meaning and the action that fixes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorInfo {
    /// What happened, in words a person can act on (no trailing full stop).
    pub meaning: &'static str,
    /// What to do about it.
    pub action: &'static str,
}

const fn info(meaning: &'static str, action: &'static str) -> Option<ErrorInfo> {
    Some(ErrorInfo { meaning, action })
}

impl ErrorInfo {
    /// The meaning as a sentence of its own: capitalised, with a full stop.
    pub fn headline(&self) -> String {
        let mut chars = self.meaning.chars();
        match chars.next() {
            Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
            None => String::new(),
        }
    }
}

/// The meaning of a code Meta documents; `None` for one templar does not know.
pub fn known(code: i64) -> Option<ErrorInfo> {
    match code {
        131047 => info(
            "more than 24 hours have passed since the customer last wrote (re-engagement message): outside that window WhatsApp delivers only approved templates",
            "Send an approved template instead of free-form text.",
        ),
        131026 => info(
            "the message could not be delivered: the number may not be on WhatsApp, or has not accepted the latest terms",
            "Check the number; remove it if it keeps failing.",
        ),
        131049 => info(
            "Meta held back this marketing message to keep the customer's engagement healthy (per-user marketing limit)",
            "Send fewer marketing messages to this person; do not retry within 24 hours.",
        ),
        131050 => info(
            "the customer has stopped marketing messages from this business",
            "Do not send this person marketing templates; utility ones still arrive.",
        ),
        131051 => info("this message type is not supported", "Check the message payload."),
        131056 => info(
            "too many messages to the same customer in a short time (pair rate limit)",
            "Slow down; retry with backoff.",
        ),
        130429 => info(
            "the phone number's throughput limit was reached",
            "Slow down; retry with backoff.",
        ),
        130472 => info(
            "the recipient's number is part of a Meta experiment",
            "Nothing to fix; try again later or another channel.",
        ),
        131048 => info(
            "the phone number is spam rate limited: too many of its messages were blocked or reported",
            "Lower your sending rate and improve content quality.",
        ),
        131042 => info(
            "a payment problem on the WhatsApp Business Account",
            "Check the account's payment method in WhatsApp Manager.",
        ),
        131031 => info(
            "the WhatsApp Business Account is locked",
            "See the account's notices in WhatsApp Manager.",
        ),
        131030 => info(
            "the recipient is not in the test number's allowed list",
            "Add the recipient to the test number's list, or send from a production number.",
        ),
        133010 => info(
            "the sending phone number is not registered with the Cloud API",
            "Register the phone number, then send again.",
        ),
        132000 => info(
            "the number of parameters does not match the template's placeholders",
            "Check the template's parameters.",
        ),
        132001 => info(
            "the template does not exist in that language, or is not approved",
            "Check the template's name, language and status.",
        ),
        132005 => info(
            "the text with its parameters filled in is too long",
            "Shorten the parameters.",
        ),
        132007 => info(
            "the content breaks WhatsApp's policies",
            "Review the template's content and parameters.",
        ),
        132012 => info(
            "a parameter has the wrong format for its placeholder",
            "Check each parameter's format (text, currency, date, media).",
        ),
        132015 => info(
            "the template is paused for low quality",
            "Wait for it to resume; review its content and audience before sending more.",
        ),
        132016 => info(
            "the template is disabled for low quality",
            "Create a new template with improved content.",
        ),
        132018 => info(
            "a parameter holds text WhatsApp refuses: newlines, tabs or more than four spaces in a row",
            "Remove newlines, tabs and runs of spaces from the parameters.",
        ),
        135000 => info(
            "a generic user error (often a message held for quality assessment and then dropped)",
            "Review the template's quality before sending more.",
        ),
        190 => info(
            "the access token has expired or was revoked",
            "Create a new token and update the account's configuration.",
        ),
        _ => None,
    }
}

/// The meaning of any code, known or not: 0 stands for a failure without a code.
pub fn explain(code: i64) -> ErrorInfo {
    if let Some(i) = known(code) {
        return i;
    }
    match code {
        0 => ErrorInfo {
            meaning: "failed without an error code",
            action: "Check the message in WhatsApp Manager.",
        },
        132_000..=132_999 => ErrorInfo {
            meaning: "a template problem: parameters, format, paused or disabled template",
            action: "Check the template's status and its parameters.",
        },
        _ => ErrorInfo {
            meaning: "another WhatsApp error",
            action: "Look the code up in Meta's error reference.",
        },
    }
}

/// A sentence for one code, with the code and what to do: what `send` prints on a refusal.
pub fn sentence(code: i64) -> Option<String> {
    let i = known(code)?;
    let action = i.action.trim_end_matches('.');
    let mut chars = action.chars();
    let action = match chars.next() {
        Some(first) => format!("{}{}", first.to_lowercase(), chars.as_str()),
        None => String::new(),
    };
    Some(format!("{} ({code}): {action}", i.meaning))
}

#[cfg(test)]
mod tests;
