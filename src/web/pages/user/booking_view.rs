//! A booking's edit form on `/users/{id}`: what its fields carry, also
//! after a refused change. When the booking changed after the editor's page
//! was served, the fields carry its current values and version and what
//! they typed is only shown beside them, so a stale form never overwrites.

use super::BookingForm;
use crate::domain::booking::BookingStatus;
use crate::store::bookings::BookingRow;
use crate::store::streams::Registered;
use crate::web::words::Label;
use crate::web::words::pages as words;

/// A stream a booking may be put in: code and name.
pub struct StreamChoice {
    pub code: String,
    pub name: String,
}

/// A booking with what its form offers.
pub struct BookingView {
    pub row: BookingRow,
    pub status: BookingStatus,
    pub targets: Vec<BookingStatus>,
    pub streams: Vec<StreamChoice>,
    /// The current stream when the registry does not offer it.
    pub unregistered_stream: Option<String>,
    /// What the form's fields carry.
    pub referral_code: String,
    pub discount_percent: String,
    /// The status option chosen: empty for «Не менять», else a raw status.
    pub confirmed: String,
    pub stream: Option<String>,
    /// The booking changed after the page the editor sent from was served:
    /// the fields carry its current values (and its current version), and
    /// what the editor typed is only shown beside them, so nothing is
    /// written that they have not seen.
    pub changed_meanwhile: bool,
    /// What the editor typed where it differs from the current values.
    pub typed: Vec<Typed>,
    /// Intake routing moved it into its stream.
    pub auto_moved: bool,
}

/// A value an editor typed that is not in the form any more, in words.
pub struct Typed {
    /// The form field's name.
    pub field: &'static str,
    pub shown: String,
}

/// An editor's input for a booking whose form was refused.
pub struct Sent<'a> {
    pub form: &'a BookingForm,
    /// Refused because the booking changed (a stale version).
    pub stale: bool,
}

impl BookingView {
    pub(super) fn new(row: BookingRow, registry: &[Registered], sent: Option<Sent<'_>>) -> Self {
        let status = BookingStatus::from_raw(row.confirmed);
        let streams: Vec<StreamChoice> = registry
            .iter()
            .filter(|r| Some(r.entry.course_id) == row.course_id && !r.entry.archived)
            .map(|r| StreamChoice {
                code: r.entry.code.clone(),
                name: r.entry.display_name.clone(),
            })
            .collect();
        let unregistered_stream = row
            .course_stream
            .clone()
            .filter(|code| !streams.iter().any(|s| &s.code == code));
        let current_referral = row.referral_code.clone().unwrap_or_default();
        let current_discount = row
            .discount_percent
            .map(|d| d.to_string())
            .unwrap_or_default();
        let text = |field: &Option<String>| field.as_deref().unwrap_or_default().trim().to_owned();
        let mut view = Self {
            targets: status.allowed_targets(),
            status,
            unregistered_stream,
            referral_code: current_referral,
            discount_percent: current_discount,
            confirmed: String::new(),
            stream: row.course_stream.clone(),
            changed_meanwhile: false,
            auto_moved: false,
            typed: Vec::new(),
            streams,
            row,
        };
        let Some(Sent { form, stale }) = sent else {
            return view;
        };
        let typed_stream = Some(text(&form.course_stream)).filter(|code| !code.is_empty());
        if !stale && form.version.as_deref() == Some(view.row.version.as_str()) {
            // Refused as it stands (bad input, a rule): the booking is as the
            // editor saw it, so their input goes back into the fields.
            view.referral_code = form.referral_code.clone().unwrap_or_default();
            view.discount_percent = form.discount_percent.clone().unwrap_or_default();
            view.confirmed = text(&form.confirmed);
            // A stream the list does not offer would select nothing (the
            // browser then sends the first option): the current one stays.
            let offered = |code: &String| {
                view.streams.iter().any(|s| &s.code == code)
                    || view.unregistered_stream.as_ref() == Some(code)
            };
            if typed_stream.as_ref().is_none_or(offered) {
                view.stream = typed_stream;
            }
            return view;
        }
        view.changed_meanwhile = true;
        let empty = |value: String| {
            if value.is_empty() {
                words::users::EMPTY_VALUE.to_owned()
            } else {
                value
            }
        };
        let confirmed = text(&form.confirmed);
        if !confirmed.is_empty() {
            let typed = BookingStatus::parse_raw_param(&confirmed);
            if typed != Some(view.status) {
                let shown = typed.map_or(confirmed, |s| s.label().to_owned());
                view.typed.push(Typed {
                    field: "confirmed",
                    shown,
                });
            }
        }
        if typed_stream != view.row.course_stream {
            let shown = match &typed_stream {
                None => words::users::NO_STREAM.to_owned(),
                Some(code) => view
                    .streams
                    .iter()
                    .find(|s| &s.code == code)
                    .map_or_else(|| code.clone(), |s| s.name.clone()),
            };
            view.typed.push(Typed {
                field: "course_stream",
                shown,
            });
        }
        let referral = text(&form.referral_code);
        if referral != view.referral_code {
            view.typed.push(Typed {
                field: "referral_code",
                shown: empty(referral),
            });
        }
        let discount = text(&form.discount_percent);
        if discount != view.discount_percent {
            view.typed.push(Typed {
                field: "discount_percent",
                shown: empty(discount),
            });
        }
        view
    }

    pub(super) fn is_stream(&self, code: &str) -> bool {
        self.stream.as_deref() == Some(code)
    }

    pub(super) fn is_confirmed(&self, target: &BookingStatus) -> bool {
        target
            .raw()
            .is_some_and(|raw| raw.to_string() == self.confirmed)
    }

    /// What the editor typed into `field`, when it is not in the form.
    pub(super) fn typed(&self, field: &str) -> Option<&str> {
        self.typed
            .iter()
            .find(|t| t.field == field)
            .map(|t| t.shown.as_str())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::store::streams::RegistryEntry;

    fn row() -> BookingRow {
        BookingRow {
            id: 1,
            user_id: 101,
            username: None,
            first_name: None,
            course_id: Some(1),
            course_name: None,
            course_stream: Some("8th_stream".into()),
            course_stream_name: None,
            confirmed: Some(0),
            created_at: None,
            referral_code: Some("FRIEND_A".into()),
            discount_percent: Some(10),
            version: "v2".into(),
        }
    }

    fn registry() -> Vec<Registered> {
        ["7th_stream", "8th_stream"]
            .into_iter()
            .map(|code| Registered {
                entry: RegistryEntry {
                    code: code.into(),
                    course_id: 1,
                    display_name: format!("Поток {code}"),
                    starts_on: None,
                    capacity: None,
                    is_current: false,
                    archived: false,
                    enrolment_opens_on: None,
                    created_at: Utc::now(),
                    updated_at: Utc::now(),
                },
                course_name: None,
                bookings: 0,
            })
            .collect()
    }

    fn form(version: &str, stream: &str, referral: &str, discount: &str) -> BookingForm {
        BookingForm {
            version: Some(version.into()),
            confirmed: Some("2".into()),
            course_stream: Some(stream.into()),
            referral_code: Some(referral.into()),
            discount_percent: Some(discount.into()),
            force: None,
        }
    }

    /// The view of `row()` re-rendered after `sent` was refused.
    fn after(sent: &BookingForm, stale: bool) -> BookingView {
        BookingView::new(row(), &registry(), Some(Sent { form: sent, stale }))
    }

    fn typed(view: &BookingView) -> Vec<(&str, &str)> {
        view.typed
            .iter()
            .map(|t| (t.field, t.shown.as_str()))
            .collect()
    }

    #[test]
    fn a_form_refused_as_it_stands_gets_its_input_back() {
        let sent = form("v2", "7th_stream", "X", "150");
        let view = after(&sent, false);
        assert!(!view.changed_meanwhile);
        assert_eq!(
            (view.referral_code.as_str(), view.discount_percent.as_str()),
            ("X", "150")
        );
        assert_eq!(view.confirmed, "2");
        assert_eq!(view.stream.as_deref(), Some("7th_stream"));
        assert!(view.typed.is_empty());
        // A stream the list does not offer would select nothing: kept.
        let sent = form("v2", "9th_stream", "X", "150");
        let view = after(&sent, false);
        assert_eq!(view.stream.as_deref(), Some("8th_stream"));
    }

    #[test]
    fn a_form_from_before_a_change_gets_the_current_values_and_its_input_beside() {
        // Stale, or refused for bad input with an older version: the same.
        for (version, stale) in [("v2", true), ("v1", false)] {
            let sent = form(version, "7th_stream", "", "15");
            let view = after(&sent, stale);
            assert!(view.changed_meanwhile);
            assert_eq!(
                (view.referral_code.as_str(), view.discount_percent.as_str()),
                ("FRIEND_A", "10")
            );
            assert_eq!(view.confirmed, "");
            assert_eq!(view.stream.as_deref(), Some("8th_stream"));
            assert_eq!(
                typed(&view),
                [
                    ("confirmed", "Подтверждено"),
                    ("course_stream", "Поток 7th_stream"),
                    ("referral_code", "(пусто)"),
                    ("discount_percent", "15"),
                ]
            );
            assert_eq!(view.typed("discount_percent"), Some("15"));
        }
        // Typed what is there now: nothing to show beside.
        let sent = form("v1", "8th_stream", "FRIEND_A", "10");
        let view = after(&sent, true);
        assert!(view.changed_meanwhile && typed(&view)[0].0 == "confirmed");
        assert_eq!(view.typed.len(), 1);
    }
}
