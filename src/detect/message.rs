//! Risk messages: `$name$` tokens replaced by the event's values.

use std::borrow::Cow;

use crate::detect::Detection;
use crate::event::{Event, F};

/// Replaces `$name$` tokens. Our own fields first (`risk_object`,
/// `target_host`, `process_name`, `parent_process_name`, `threat_object`,
/// `user`, `dest`), then any source field name a logical field reads
/// (`$Computer$`, `$User$`, `$CommandLine$` …). Unknown tokens stay as they are.
pub fn substitute(template: &str, ev: &dyn Event, det: &Detection) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    substitute_into(&mut out, template, ev, det);
    out
}

/// [`substitute`] into an existing buffer.
pub fn substitute_into(out: &mut String, template: &str, ev: &dyn Event, det: &Detection) {
    let mut rest = template;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('$') {
            Some(end)
                if end > 0
                    && after[..end]
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_') =>
            {
                let name = &after[..end];
                match token(name, ev, det) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('$');
                        out.push_str(name);
                        out.push('$');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

fn token<'e>(name: &str, ev: &'e dyn Event, det: &Detection) -> Option<Cow<'e, str>> {
    let threat = |kind: &str| {
        det.threats
            .iter()
            .find(|(_, t)| *t == kind)
            .map(|(v, _)| Cow::Owned(v.clone()))
    };
    let owned = |s: String| Some(Cow::Owned(s));
    match name {
        "risk_object" | "dest" => owned(det.risk_object.clone()),
        "target_host" => owned(if det.targets.is_empty() {
            "an unnamed host".into()
        } else {
            det.targets.join(", ")
        }),
        "process_name" => threat("process_name"),
        "parent_process_name" => threat("parent_process_name"),
        "threat_object" => det.threats.first().map(|(v, _)| Cow::Owned(v.clone())),
        "user" => match ev.get(F::User) {
            crate::event::Field::Value(v) => Some(v),
            crate::event::Field::Missing => None,
        },
        _ => {
            let f = F::ALL.iter().find(|f| f.sources().first() == Some(&name))?;
            match ev.get(*f) {
                crate::event::Field::Value(v) => Some(v),
                crate::event::Field::Missing => None,
            }
        }
    }
}
