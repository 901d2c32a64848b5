//! Where a problem with a broadcast request is: the API's three parts and
//! the composer's finer fields.

use crate::domain::audience::Audience;

/// The three parts of a request, in the order of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Audience,
    Content,
    ScheduledAt,
}

impl Part {
    pub const ALL: [Self; 3] = [Self::Audience, Self::Content, Self::ScheduledAt];

    /// The name in the API's body (`audience`, `content`, `scheduled_at`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audience => "audience",
            Self::Content => "content",
            Self::ScheduledAt => "scheduled_at",
        }
    }
}

/// Where a problem is, as finely as the composer's form tells fields apart;
/// in the order the form shows them. Each lies in one [`Part`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// The kind of audience.
    Audience,
    UserIds,
    Streams,
    Statuses,
    Segment,
    ContentType,
    FileId,
    /// The text or the caption.
    Text,
    Buttons,
    ScheduledAt,
}

impl Field {
    /// The composer's name of the field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audience => "audience",
            Self::UserIds => "user_ids",
            Self::Streams => "streams",
            Self::Statuses => "statuses",
            Self::Segment => "segment",
            Self::ContentType => "content_type",
            Self::FileId => "file_id",
            Self::Text => "text",
            Self::Buttons => "buttons",
            Self::ScheduledAt => "scheduled_at",
        }
    }

    pub fn part(self) -> Part {
        match self {
            Self::Audience | Self::UserIds | Self::Streams | Self::Statuses | Self::Segment => {
                Part::Audience
            }
            Self::ContentType | Self::FileId | Self::Text | Self::Buttons => Part::Content,
            Self::ScheduledAt => Part::ScheduledAt,
        }
    }

    /// The field an audience's own problems (unknown, empty) belong to.
    pub fn of_audience(audience: &Audience) -> Self {
        match audience {
            Audience::Users { .. } => Self::UserIds,
            Audience::Stream { .. } => Self::Streams,
            Audience::Segment { .. } => Self::Segment,
        }
    }
}
