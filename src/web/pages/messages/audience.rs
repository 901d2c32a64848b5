//! Who a broadcast went to, in a few Russian words: «8-й поток ·
//! подтверждённые», «3 пользователя», «ни разу не оплатившие»; legacy
//! broadcasts say what the old dashboard recorded.

use std::collections::HashMap;

use crate::domain::audience::{RawAudience, STREAM_STATUSES};
use crate::store::broadcasts::Broadcast;
use crate::web::words::{self, Label};

/// A stream audience's booking statuses as the composer offers them and
/// summaries name them: raw value and words, confirmed first.
pub const STATUS_CHOICES: [(i32, &str); 4] = [
    (2, words::messages::STATUS_CONFIRMED),
    (1, words::messages::STATUS_PENDING),
    (0, words::messages::STATUS_NEW),
    (-1, words::messages::STATUS_CANCELLED),
];

/// The booking statuses of a stream audience, as a group of people.
fn statuses_label(statuses: &[i32]) -> String {
    if STREAM_STATUSES.iter().all(|s| statuses.contains(s)) {
        return words::messages::ALL_STATUSES.to_owned();
    }
    let mut sorted = statuses.to_vec();
    // Confirmed first: the usual choice reads first.
    sorted.sort_by_key(|s| std::cmp::Reverse(*s));
    sorted
        .iter()
        .map(|status| {
            STATUS_CHOICES
                .iter()
                .find(|(value, _)| value == status)
                .map_or_else(
                    || words::messages::other_status(*status),
                    |(_, words)| (*words).to_owned(),
                )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `names`: stream code → display name (codes missing from it show as is).
pub fn summary(broadcast: &Broadcast, names: &HashMap<String, String>) -> String {
    let name = |code: &str| names.get(code).cloned().unwrap_or_else(|| code.to_owned());
    match &broadcast.audience {
        Some(audience) => describe(audience, &name),
        None => legacy(broadcast, &name),
    }
}

/// An audience definition (API.md JSON) in words; `name` names a stream code.
pub fn describe(audience: &serde_json::Value, name: &dyn Fn(&str) -> String) -> String {
    match serde_json::from_value::<RawAudience>(audience.clone()) {
        Ok(RawAudience::Users { user_ids }) => words::messages::users(user_ids.len() as i64),
        Ok(RawAudience::Stream { streams, statuses }) => {
            let streams: Vec<String> = streams.iter().map(|code| name(code)).collect();
            let statuses = statuses.unwrap_or_else(|| vec![2]);
            format!("{} · {}", streams.join(", "), statuses_label(&statuses))
        }
        Ok(RawAudience::Segment { segment }) => capitalised(segment.label()),
        Err(_) => words::messages::UNKNOWN_AUDIENCE.to_owned(),
    }
}

fn legacy(broadcast: &Broadcast, name: &dyn Fn(&str) -> String) -> String {
    let kind = broadcast
        .recipient_type
        .as_deref()
        .map(str::trim)
        .filter(|kind| !kind.is_empty())
        .map(|kind| match kind {
            "group" => words::messages::LEGACY_GROUP.to_owned(),
            "individual" => words::messages::LEGACY_INDIVIDUAL.to_owned(),
            "all" => words::messages::LEGACY_ALL.to_owned(),
            other => other.to_owned(),
        });
    let group = broadcast
        .recipient_group
        .as_deref()
        .map(str::trim)
        .filter(|group| !group.is_empty())
        .map(name);
    let parts: Vec<String> = kind.into_iter().chain(group).collect();
    if parts.is_empty() {
        words::messages::LEGACY_UNKNOWN.to_owned()
    } else {
        capitalised(&parts.join(" · "))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::broadcast::BroadcastStatus;
    use crate::store::broadcasts::Counts;

    fn broadcast(
        audience: Option<serde_json::Value>,
        kind: Option<&str>,
        group: Option<&str>,
    ) -> Broadcast {
        Broadcast {
            id: 1,
            legacy: audience.is_none(),
            status: BroadcastStatus::Done,
            content_type: "text".into(),
            text: "x".into(),
            file_id: None,
            buttons: json!([]),
            link_preview: false,
            audience,
            recipient_type: kind.map(str::to_owned),
            recipient_group: group.map(str::to_owned),
            created_at: None,
            scheduled_at: None,
            started_at: None,
            finished_at: None,
            created_by: None,
            scheduled_by: None,
            cancelled_by: None,
            status_reason: None,
            delete_requested_at: None,
            counts: Counts::default(),
            recent: None,
        }
    }

    #[test]
    fn summaries_read_as_russian() {
        let names: HashMap<String, String> =
            [("8th_stream".to_owned(), "8-й поток".to_owned())].into();
        let of = |audience| summary(&broadcast(Some(audience), None, None), &names);
        assert_eq!(
            of(json!({"kind": "stream", "streams": ["8th_stream"], "statuses": [2]})),
            "8-й поток · подтверждённые"
        );
        assert_eq!(
            of(json!({"kind": "stream", "streams": ["8th_stream", "x_1"], "statuses": [1, 2]})),
            "8-й поток, x_1 · подтверждённые, в ожидании"
        );
        assert_eq!(
            of(json!({"kind": "stream", "streams": ["8th_stream"], "statuses": [-1, 0, 1, 2]})),
            "8-й поток · все статусы"
        );
        assert_eq!(
            of(json!({"kind": "users", "user_ids": [1, 2, 3]})),
            "3 пользователя"
        );
        assert_eq!(
            of(json!({"kind": "users", "user_ids": [1]})),
            "1 пользователь"
        );
        assert_eq!(
            of(json!({"kind": "segment", "segment": "never_paid"})),
            "Ни разу не оплатившие"
        );
        let legacy = |kind, group| summary(&broadcast(None, kind, group), &names);
        assert_eq!(
            legacy(Some("group"), Some("8th_stream")),
            "Группа · 8-й поток"
        );
        assert_eq!(legacy(Some("individual"), None), "Отдельные пользователи");
        assert_eq!(legacy(None, None), "неизвестно (старая рассылка)");
    }
}
