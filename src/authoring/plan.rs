//! `templates apply`: compares a folder of definitions with what an account has upstream and
//! brings the account in step: creates what is missing, edits what differs where Meta allows
//! edits (APPROVED, REJECTED, PAUSED), reports what differs where it does not, and deletes what
//! the folder lacks only when asked to prune. Whatever it changes is written to the database
//! at once (new templates appear as PENDING), with events like any other change.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::Definition;
use crate::db::models::accounts;
use crate::db::models::templates::TemplateState;
use crate::db::Db;
use crate::domain::{EventSource, RemoteTemplate};
use crate::ledger;
use crate::sources::{Graph, SourceError};

/// One step of a plan.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Step {
    /// In the folder, not upstream.
    Create {
        name: String,
        language: String,
        file: String,
    },
    /// Differs, and Meta allows editing it in its status.
    Edit {
        name: String,
        language: String,
        id: String,
        status: String,
        differences: Vec<String>,
        file: String,
    },
    /// Differs, but cannot be edited now (or not in the way it differs).
    Differs {
        name: String,
        language: String,
        id: String,
        status: String,
        differences: Vec<String>,
        why: String,
    },
    Unchanged {
        name: String,
        language: String,
    },
    /// Upstream, not in the folder; deleted with `--prune`.
    Extra {
        name: String,
        language: String,
        id: String,
        status: String,
        delete: bool,
    },
}

/// Statuses in which Meta accepts an edit.
pub const EDITABLE: &[&str] = &["APPROVED", "REJECTED", "PAUSED"];

/// Components as compared: types upper case, examples left out (they are review aids and
/// Meta rewrites media handles).
fn canonical(components: &Value) -> Vec<Value> {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .filter(|(k, _)| k.as_str() != "example")
                    .map(|(k, v)| {
                        let v = match (k.as_str(), v) {
                            ("type" | "format", Value::String(s)) => {
                                Value::String(s.to_ascii_uppercase())
                            }
                            _ => strip(v),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    components
        .as_array()
        .map(|a| a.iter().map(strip).collect())
        .unwrap_or_default()
}

fn kind_of(c: &Value) -> String {
    c.get("type")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

/// What differs between a definition and the template upstream, in words.
pub fn differences(def: &Definition, remote: &RemoteTemplate) -> Vec<String> {
    let mut out = Vec::new();
    if remote.category.as_str() != def.category {
        out.push(format!(
            "category {} upstream, {} in the file",
            remote.category.as_str(),
            def.category
        ));
    }
    let ours = canonical(&def.components);
    let theirs = canonical(&remote.components);
    let by_kind = |v: &[Value]| -> HashMap<String, Value> {
        v.iter().map(|c| (kind_of(c), c.clone())).collect()
    };
    let (ours, theirs) = (by_kind(&ours), by_kind(&theirs));
    for kind in ["HEADER", "BODY", "FOOTER", "BUTTONS"] {
        match (ours.get(kind), theirs.get(kind)) {
            (Some(_), None) => out.push(format!("{kind} added")),
            (None, Some(_)) => out.push(format!("{kind} removed")),
            (Some(a), Some(b)) if a != b => {
                let what = if a.get("text") != b.get("text") {
                    " text"
                } else {
                    ""
                };
                out.push(format!("{kind}{what} differs"));
            }
            _ => {}
        }
    }
    out
}

/// The steps for one account.
pub fn plan(defs: &[Definition], remote: &[RemoteTemplate], prune: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    let key = |n: &str, l: &str| (n.to_string(), l.to_ascii_lowercase());
    let upstream: HashMap<(String, String), &RemoteTemplate> = remote
        .iter()
        .map(|t| (key(&t.name, &t.language), t))
        .collect();
    for d in defs {
        let file = d.file.display().to_string();
        match upstream.get(&key(&d.name, &d.language)) {
            None => steps.push(Step::Create {
                name: d.name.clone(),
                language: d.language.clone(),
                file,
            }),
            Some(t) => {
                let diffs = differences(d, t);
                let status = t.status.as_str().to_string();
                if diffs.is_empty() {
                    steps.push(Step::Unchanged {
                        name: d.name.clone(),
                        language: d.language.clone(),
                    });
                } else if !EDITABLE.contains(&status.as_str()) {
                    steps.push(Step::Differs {
                        name: d.name.clone(),
                        language: d.language.clone(),
                        id: t.id.clone(),
                        why: format!(
                            "{status} templates cannot be edited (only {})",
                            EDITABLE.join(", ")
                        ),
                        status,
                        differences: diffs,
                    });
                } else if t.category.as_str() != d.category && status != "REJECTED" {
                    steps.push(Step::Differs {
                        name: d.name.clone(),
                        language: d.language.clone(),
                        id: t.id.clone(),
                        why: format!(
                            "the category of an {status} template cannot be changed; delete it \
                             and create it again, or change the file back"
                        ),
                        status,
                        differences: diffs,
                    });
                } else {
                    steps.push(Step::Edit {
                        name: d.name.clone(),
                        language: d.language.clone(),
                        id: t.id.clone(),
                        status,
                        differences: diffs,
                        file,
                    });
                }
            }
        }
    }
    let ours: std::collections::HashSet<(String, String)> =
        defs.iter().map(|d| key(&d.name, &d.language)).collect();
    let mut extra: Vec<&RemoteTemplate> = remote
        .iter()
        .filter(|t| !ours.contains(&key(&t.name, &t.language)))
        .collect();
    extra.sort_by(|a, b| (&a.name, &a.language).cmp(&(&b.name, &b.language)));
    for t in extra {
        steps.push(Step::Extra {
            name: t.name.clone(),
            language: t.language.clone(),
            id: t.id.clone(),
            status: t.status.as_str().to_string(),
            delete: prune,
        });
    }
    steps
}

/// One line per step that does something, and a count of the unchanged.
pub fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    let mut unchanged = 0;
    let mut extra_kept = 0;
    for s in steps {
        match s {
            Step::Create {
                name,
                language,
                file,
            } => out.push_str(&format!("  + create   {name} ({language})  from {file}\n")),
            Step::Edit {
                name,
                language,
                status,
                differences,
                ..
            } => out.push_str(&format!(
                "  ~ edit     {name} ({language}, {status}): {}\n",
                differences.join("; ")
            )),
            Step::Differs {
                name,
                language,
                differences,
                why,
                ..
            } => out.push_str(&format!(
                "  ! differs  {name} ({language}): {}; not edited: {why}\n",
                differences.join("; ")
            )),
            Step::Unchanged { .. } => unchanged += 1,
            Step::Extra {
                name,
                language,
                status,
                delete: true,
                ..
            } => out.push_str(&format!("  - delete   {name} ({language}, {status})\n")),
            Step::Extra {
                name,
                language,
                status,
                delete: false,
                ..
            } => {
                extra_kept += 1;
                out.push_str(&format!(
                    "    extra    {name} ({language}, {status}): not in the folder\n"
                ))
            }
        }
    }
    out.push_str(&format!("  = {unchanged} unchanged"));
    if extra_kept > 0 {
        out.push_str(&format!(
            "; {extra_kept} not in the folder (kept; --prune deletes them)"
        ));
    }
    out.push('\n');
    out
}

/// What carrying out a step did.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    pub name: String,
    pub language: String,
    pub action: &'static str,
    /// `None` when it worked.
    pub error: Option<String>,
    /// The template id (new for creations).
    pub id: Option<String>,
    pub status: Option<String>,
}

/// A definition as a stored template, before upstream has said more than its id and status.
fn state_of(waba: &str, d: &Definition, id: &str, status: &str) -> TemplateState {
    TemplateState {
        waba_id: waba.to_string(),
        template_id: id.to_string(),
        name: d.name.clone(),
        language: d.language.clone(),
        category: d.category.clone(),
        previous_category: None,
        correct_category: None,
        sub_category: None,
        status: status.to_string(),
        quality: None,
        rejected_reason: None,
        parameter_format: Some(d.parameter_format.clone()),
        components: d.components.to_string(),
    }
}

/// Writes what upstream now says of one template (or that it is gone) to the database.
async fn record(
    db: &Db,
    account: (&str, &str),
    template_id: &str,
    now_state: Option<TemplateState>,
    now: i64,
) -> Result<(), String> {
    let (name, source) = (account.0.to_string(), account.1.to_string());
    let template_id = template_id.to_string();
    db.write(move |c| {
        let account_id = accounts::ensure(c, &name, &source, now)?;
        ledger::record_one(
            c,
            account_id,
            &template_id,
            now_state,
            now,
            EventSource::Manual,
        )
    })
    .await
    .map(|_| ())
    .map_err(|e| format!("changed upstream but not recorded: {e}"))
}

fn failed(e: &SourceError) -> String {
    match e {
        SourceError::Upstream(u) => format!("upstream refused: {u}"),
        other => other.to_string(),
    }
}

/// Carries out `steps` for one account, one at a time; a failed step does not stop the rest.
/// `progress` hears of each step as it finishes.
#[expect(
    clippy::too_many_arguments,
    reason = "the account, its upstream, its definitions and the plan are all distinct"
)]
pub async fn execute(
    manage: &Graph,
    db: &Db,
    account: (&str, &str),
    waba: &str,
    defs: &[Definition],
    steps: &[Step],
    now: i64,
    mut progress: impl FnMut(&Done),
) -> Vec<Done> {
    let find = |n: &str, l: &str| {
        defs.iter()
            .find(|d| d.name == n && d.language.eq_ignore_ascii_case(l))
    };
    let mut out = Vec::new();
    for s in steps {
        let done = match s {
            Step::Create { name, language, .. } => {
                let Some(d) = find(name, language) else {
                    continue;
                };
                match manage.create_template(waba, &d.body).await {
                    Ok(created) => {
                        let status = created.status.unwrap_or_else(|| "PENDING".into());
                        let state = state_of(waba, d, &created.id, &status);
                        let error = record(db, account, &created.id, Some(state), now)
                            .await
                            .err();
                        Done {
                            name: name.clone(),
                            language: language.clone(),
                            action: "created",
                            error,
                            id: Some(created.id),
                            status: Some(status),
                        }
                    }
                    Err(e) => Done {
                        name: name.clone(),
                        language: language.clone(),
                        action: "create",
                        error: Some(failed(&e)),
                        id: None,
                        status: None,
                    },
                }
            }
            Step::Edit {
                name,
                language,
                id,
                status,
                ..
            } => {
                let Some(d) = find(name, language) else {
                    continue;
                };
                let mut body = serde_json::json!({"components": d.components});
                if status == "REJECTED" {
                    body["category"] = Value::String(d.category.clone());
                }
                match manage.edit_template(waba, id, &body).await {
                    Ok(()) => {
                        // An edit sends the template back to review; read what it is now.
                        let fetched = manage.get_template(waba, id).await;
                        let (state, status) = match fetched {
                            Ok(Some(t)) => {
                                let s = t.status.as_str().to_string();
                                (Some(TemplateState::from(&t)), s)
                            }
                            _ => (Some(state_of(waba, d, id, "PENDING")), "PENDING".into()),
                        };
                        let error = record(db, account, id, state, now).await.err();
                        Done {
                            name: name.clone(),
                            language: language.clone(),
                            action: "edited",
                            error,
                            id: Some(id.clone()),
                            status: Some(status),
                        }
                    }
                    Err(e) => Done {
                        name: name.clone(),
                        language: language.clone(),
                        action: "edit",
                        error: Some(failed(&e)),
                        id: Some(id.clone()),
                        status: None,
                    },
                }
            }
            Step::Extra {
                name,
                language,
                id,
                delete: true,
                ..
            } => match manage.delete_template(waba, name, id).await {
                Ok(()) => Done {
                    name: name.clone(),
                    language: language.clone(),
                    action: "deleted",
                    error: record(db, account, id, None, now).await.err(),
                    id: Some(id.clone()),
                    status: Some("DELETED".into()),
                },
                Err(e) => Done {
                    name: name.clone(),
                    language: language.clone(),
                    action: "delete",
                    error: Some(failed(&e)),
                    id: Some(id.clone()),
                    status: None,
                },
            },
            _ => continue,
        };
        progress(&done);
        out.push(done);
    }
    out
}
