//! The composer's templates: the form, its live side panel (also swapped in
//! alone while typing), and the confirmation step.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use chrono::{DateTime, Offset, Utc};
use chrono_tz::Tz;

use super::form::{ButtonField, ComposerForm};
use super::review::{self, Review};
use crate::app::broadcasts::Problem;
use crate::domain::audience::{Audience, Segment};
use crate::domain::content::ContentType;
use crate::store::audience::{Named, StreamMembers};
use crate::store::drafts::Draft;
use crate::store::streams::Course;
use crate::web::pages::messages::audience::{STATUS_CHOICES, describe};
use crate::web::pages::messages::detail::{ButtonView, buttons};
use crate::web::pages::messages::render::{excerpt, telegram_to_html};
use crate::web::pages::{Layout, local_time, person_name, stream_label};
use crate::web::words::{self, Label};

/// A problem as the form shows it: next to its field, in Russian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mistake {
    pub field: &'static str,
    pub label: String,
}

impl From<&Problem> for Mistake {
    fn from(problem: &Problem) -> Self {
        Self {
            field: problem.field().as_str(),
            label: words::problems::label(problem),
        }
    }
}

/// A segment with the number of people it reaches now.
pub struct SegmentChoice {
    pub segment: Segment,
    pub recipients: i64,
}

/// A person in the users field, as a removable chip.
pub struct Chip {
    pub user_id: i64,
    pub label: String,
    pub unknown: bool,
}

impl From<&Named> for Chip {
    fn from(named: &Named) -> Self {
        let name = person_name(&named.first_name, &named.last_name);
        let label = match &named.username {
            Some(username) if !username.is_empty() => format!("{name} @{username}"),
            _ => name,
        };
        Self {
            user_id: named.user_id,
            label,
            unknown: named.unknown,
        }
    }
}

/// The side panel: the count, the length, the preview and what is wrong.
pub struct Live {
    pub recipients: Option<i64>,
    pub blocked: i64,
    pub length: Option<usize>,
    pub max_length: usize,
    /// The message as Telegram shows it, as safe HTML.
    pub preview: Option<String>,
    pub media: Option<&'static str>,
    pub buttons: Vec<Vec<ButtonView>>,
    pub link_preview: bool,
    pub mistakes: Vec<Mistake>,
}

impl Live {
    pub fn new(form: &ComposerForm, review: &Review) -> Self {
        let content = review.content();
        let buttons = content
            .map(|content| {
                buttons(&serde_json::to_value(&content.buttons).expect("buttons serialise"))
            })
            .unwrap_or_default();
        Self {
            recipients: review.recipients(),
            blocked: review.estimate.map_or(0, |estimate| estimate.blocked),
            length: content.map(|content| content.html.visible_len()),
            max_length: review::max_length(&form.content_type),
            preview: content.map(|content| telegram_to_html(content.html.as_str())),
            media: content
                .filter(|content| content.kind != ContentType::Text)
                .map(|content| content.kind.label()),
            buttons,
            link_preview: content.is_some_and(|content| content.link_preview),
            mistakes: review.problems.iter().map(Mistake::from).collect(),
        }
    }

    pub fn over_limit(&self) -> bool {
        self.length.is_some_and(|length| length > self.max_length)
    }
}

/// The panel alone, for the script that refreshes it while typing.
#[derive(Template, WebTemplate)]
#[template(path = "partials/compose_live.html")]
pub struct LiveFragment {
    pub live: Live,
}

#[derive(Template, WebTemplate)]
#[template(path = "compose.html")]
pub struct ComposePage {
    pub layout: Layout,
    pub form: ComposerForm,
    pub key: String,
    pub draft: Option<i64>,
    /// The scheduled broadcast being changed.
    pub edit: Option<i32>,
    pub notice: Option<String>,
    /// A problem that is not about one field (e.g. the Telegram test send).
    pub banner: Option<String>,
    pub streams: Vec<StreamMembers>,
    pub courses: Vec<Course>,
    pub segments: Vec<SegmentChoice>,
    pub chips: Vec<Chip>,
    pub drafts: Vec<DraftRow>,
    pub live: Live,
    pub zone: String,
    /// Empty button slots to offer below the filled ones.
    pub blank_buttons: usize,
}

/// A saved draft in the composer's list.
pub struct DraftRow {
    pub id: i64,
    pub excerpt: String,
    pub updated: String,
    pub updated_by: String,
}

impl DraftRow {
    pub fn new(draft: &Draft, tz: Tz) -> Self {
        let text = draft.form["text"].as_str().unwrap_or_default();
        Self {
            id: draft.id,
            excerpt: match excerpt(text, 80) {
                short if short.is_empty() => words::messages::DRAFT_WITHOUT_TEXT.to_owned(),
                short => short,
            },
            updated: local_time(tz, &draft.updated_at),
            updated_by: draft.updated_by.clone(),
        }
    }
}

/// The school's zone as the schedule field names it: «Europe/Moscow, UTC+03:00».
pub fn zone_label(tz: Tz, at: DateTime<Utc>) -> String {
    let offset = at.with_timezone(&tz).offset().fix().local_minus_utc();
    let sign = if offset < 0 { '-' } else { '+' };
    let minutes = offset.abs() / 60;
    format!("{tz}, UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// What the templates ask of a form.
pub trait FormView {
    fn form(&self) -> &ComposerForm;
    fn mistakes(&self) -> &[Mistake];

    fn mistake(&self, field: &str) -> Option<&str> {
        self.mistakes()
            .iter()
            .find(|mistake| mistake.field == field)
            .map(|mistake| mistake.label.as_str())
    }

    /// Whether the form chose `stream` (as `course_id:code`, or by its
    /// code alone as audiences stored before streams had courses do).
    fn has_stream(&self, stream: &StreamMembers) -> bool {
        let key = stream.key();
        self.form()
            .streams
            .iter()
            .any(|chosen| *chosen == key || *chosen == stream.code)
    }

    fn has_status(&self, status: &i32) -> bool {
        self.form()
            .statuses
            .iter()
            .any(|s| s.trim() == status.to_string())
    }
}

impl FormView for ComposePage {
    fn form(&self) -> &ComposerForm {
        &self.form
    }

    fn mistakes(&self) -> &[Mistake] {
        &self.live.mistakes
    }
}

impl ComposePage {
    /// A stream's name, with its course's when there are several.
    pub fn stream_name(&self, stream: &StreamMembers) -> String {
        stream_label(&self.courses, stream.course_id, stream.name())
    }

    pub fn status_choices(&self) -> &'static [(i32, &'static str)] {
        &STATUS_CHOICES
    }

    pub fn is_open_draft(&self, id: &i64) -> bool {
        self.draft == Some(*id)
    }

    pub fn members(&self, stream: &StreamMembers, status: &i32) -> i64 {
        stream.with_status(*status)
    }

    pub fn content_types(&self) -> [ContentType; 4] {
        ContentType::ALL
    }

    /// The filled button slots and then `blank_buttons` empty ones.
    pub fn button_slots(&self) -> Vec<ButtonField> {
        let mut slots = self.form.buttons.clone();
        let next_row = slots.len() + 1;
        slots.extend((0..self.blank_buttons).map(|i| ButtonField {
            row: (next_row + i).to_string(),
            kind: "url".into(),
            ..ButtonField::default()
        }));
        slots
    }
}

/// The confirmation step: the form's values, to be sent again as hidden
/// fields, and what it will do.
#[derive(Template, WebTemplate)]
#[template(path = "compose_confirm.html")]
pub struct ConfirmPage {
    pub layout: Layout,
    pub form: ComposerForm,
    pub key: String,
    pub draft: Option<i64>,
    /// The scheduled broadcast being changed.
    pub edit: Option<i32>,
    pub audience: AudienceSummary,
    pub when: Option<String>,
    pub zone: String,
    pub live: Live,
    pub kind: &'static str,
    pub file_id: Option<String>,
}

/// Who a broadcast goes to, in words.
pub struct AudienceSummary {
    pub title: String,
    pub details: Vec<String>,
}

impl AudienceSummary {
    /// `names`: what to call each stream an audience names
    /// ([`shared::stream_names`]).
    pub fn new(audience: &Audience, names: &HashMap<String, String>, named: &[Named]) -> Self {
        match audience {
            Audience::Users { user_ids } => Self {
                title: words::messages::chosen_users(user_ids.len()),
                details: named.iter().map(|n| Chip::from(n).label).collect(),
            },
            Audience::Stream { .. } | Audience::Segment { .. } => {
                let name = |stream: &str| {
                    names
                        .get(stream)
                        .cloned()
                        .unwrap_or_else(|| stream.to_owned())
                };
                let json = serde_json::to_value(audience).expect("audience serialises");
                Self {
                    title: describe(&json, &name),
                    details: Vec::new(),
                }
            }
        }
    }
}

impl FormView for ConfirmPage {
    fn form(&self) -> &ComposerForm {
        &self.form
    }

    fn mistakes(&self) -> &[Mistake] {
        &[]
    }
}
