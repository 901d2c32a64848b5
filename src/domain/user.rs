//! Finding users: what a search box means, the list's status filter and sort.

use super::booking::BookingStatus;

/// A search as staff type it: a Telegram id (digits only) or text matched as
/// a case-insensitive substring of the first name, last name or username.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Search {
    Id(i64),
    /// The text without a leading `@`, as typed otherwise.
    Text(String),
}

impl Search {
    /// `None` for a blank search (show everyone). Surrounding spaces are
    /// dropped; one leading `@` too, so `@anna` finds the username `anna`.
    pub fn parse(raw: &str) -> Option<Self> {
        let trimmed = raw.trim();
        if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            // Too long for an id: nobody has it, but it is still a search.
            return Some(trimmed.parse().map_or(Self::Id(0), Self::Id));
        }
        let text = trimmed.strip_prefix('@').unwrap_or(trimmed).trim();
        (!text.is_empty()).then(|| Self::Text(text.chars().take(100).collect()))
    }

    /// The `LIKE` pattern for a text search (matched against lowercased names): the text with `\`, `%` and `_`
    /// escaped (backslash is `LIKE`'s default escape), between `%`s.
    pub fn like_pattern(&self) -> Option<String> {
        let Self::Text(text) = self else {
            return None;
        };
        let mut pattern = String::with_capacity(text.len() + 2);
        pattern.push('%');
        for c in text.chars() {
            if matches!(c, '\\' | '%' | '_') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        Some(pattern)
    }

    pub fn id(&self) -> Option<i64> {
        match self {
            Self::Id(id) => Some(*id),
            Self::Text(_) => None,
        }
    }

    /// As it goes back into the search box.
    pub fn as_typed(&self) -> String {
        match self {
            Self::Id(id) => id.to_string(),
            Self::Text(text) => text.clone(),
        }
    }
}

/// The list's filter on a user's latest booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusFilter {
    /// The latest booking (in the chosen stream, if any) has this status.
    Latest(BookingStatus),
    /// No bookings at all.
    NoBookings,
}

impl StatusFilter {
    /// `-1`, `0`, `1`, `2` or `none`.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw == "none" {
            return Some(Self::NoBookings);
        }
        BookingStatus::parse_raw_param(raw).map(Self::Latest)
    }

    /// The value in links and forms.
    pub fn param(self) -> String {
        match self {
            Self::Latest(status) => status.raw().map_or_else(String::new, |raw| raw.to_string()),
            Self::NoBookings => "none".to_owned(),
        }
    }

    /// The choices a filter offers, in order.
    pub fn choices() -> Vec<Self> {
        BookingStatus::FILTERABLE
            .into_iter()
            .map(Self::Latest)
            .chain([Self::NoBookings])
            .collect()
    }
}

/// The list's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Sort {
    /// Most recently active first, then by id.
    #[default]
    Activity,
    /// By Telegram id, ascending.
    Id,
}

impl Sort {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "activity" => Some(Self::Activity),
            "id" => Some(Self::Id),
            _ => None,
        }
    }

    pub fn param(self) -> &'static str {
        match self {
            Self::Activity => "activity",
            Self::Id => "id",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_parse() {
        assert_eq!(Search::parse(""), None);
        assert_eq!(Search::parse("  @ "), None);
        assert_eq!(Search::parse("42"), Some(Search::Id(42)));
        assert_eq!(Search::parse(" 42 "), Some(Search::Id(42)));
        assert_eq!(
            Search::parse("99999999999999999999999"),
            Some(Search::Id(0))
        );
        assert_eq!(Search::parse("@anna"), Some(Search::Text("anna".into())));
        assert_eq!(Search::parse("Анна"), Some(Search::Text("Анна".into())));
        assert_eq!(Search::parse("-1"), Some(Search::Text("-1".into())));
        assert_eq!(Search::parse("@12"), Some(Search::Text("12".into())));
    }

    #[test]
    fn like_wildcards_are_escaped() {
        let pattern = |raw: &str| Search::parse(raw).unwrap().like_pattern().unwrap();
        assert_eq!(pattern("an"), "%an%");
        assert_eq!(pattern("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
        assert_eq!(Search::Id(1).like_pattern(), None);
    }

    #[test]
    fn status_filters_parse_strictly() {
        assert_eq!(StatusFilter::parse("none"), Some(StatusFilter::NoBookings));
        assert_eq!(
            StatusFilter::parse("-1"),
            Some(StatusFilter::Latest(BookingStatus::Cancelled))
        );
        for bad in ["", "3", "None", " 2", "confirmed"] {
            assert_eq!(StatusFilter::parse(bad), None, "{bad:?}");
        }
        for choice in StatusFilter::choices() {
            assert_eq!(StatusFilter::parse(&choice.param()), Some(choice));
        }
    }

    #[test]
    fn sorts_parse() {
        assert_eq!(Sort::parse("id"), Some(Sort::Id));
        assert_eq!(Sort::parse("activity"), Some(Sort::Activity));
        assert_eq!(Sort::parse("name"), None);
    }
}
