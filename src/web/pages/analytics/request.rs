//! What `/analytics` and its CSV are asked for: the range, the lead tier
//! and the page, checked in that order, with Russian messages.

use chrono::NaiveDate;
use serde::Deserialize;

use super::MAX_PAGE;
use crate::app::analytics::{AnalyticsError, RangeQuery};
use crate::domain::analytics::{DateRange, RangeError, Tier};
use crate::domain::input::Bounded;
use crate::web::error::AppError;
use crate::web::extract::FormQuery;
use crate::web::words::pages as words;

/// What the query string asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub range: DateRange,
    /// Whether the range is a preset (`days=`) rather than `from`/`to`.
    pub preset: bool,
    pub tier: Option<Tier>,
    pub page: i64,
}

/// The page's form: the range and the lead tier, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filters {
    days: Option<String>,
    from: Option<String>,
    to: Option<String>,
    tier: Option<String>,
}

/// The lead list's page number.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct PageNumber {
    page: Option<Bounded<1, MAX_PAGE>>,
}

impl Request {
    /// The range, then the tier, then the page (a form's blank fields are
    /// "not given").
    pub fn parse(
        filters: Filters,
        page: Result<FormQuery<PageNumber>, AppError>,
        today: NaiveDate,
    ) -> Result<Self, AppError> {
        let range = RangeQuery {
            days: filters.days,
            from: filters.from,
            to: filters.to,
        };
        let preset = range.is_preset();
        let range = range
            .range(today)
            .map_err(|err| AppError::BadRequest(range_message(err).to_owned()))?;
        let tier = filters
            .tier
            .map(|raw| {
                Tier::parse(&raw)
                    .ok_or_else(|| AppError::BadRequest(words::analytics::BAD_TIER.to_owned()))
            })
            .transpose()?;
        let FormQuery(page) = page?;
        Ok(Self {
            range,
            preset,
            tier,
            page: page.page.map_or(1, Bounded::get),
        })
    }

    /// The range part of links: `days=N` or `from=…&to=…`.
    pub fn range_query(&self) -> String {
        if self.preset {
            format!("days={}", self.range.days())
        } else {
            format!("from={}&to={}", self.range.from(), self.range.to())
        }
    }

    /// A link to this page with `tier` and `page`.
    pub(super) fn link(&self, path: &str, tier: Option<Tier>, page: i64) -> String {
        let mut href = format!("{path}?{}", self.range_query());
        if let Some(tier) = tier {
            href.push_str("&tier=");
            href.push_str(tier.api_name());
        }
        if page > 1 {
            href.push_str(&format!("&page={page}"));
        }
        href
    }
}

/// The use case's refusal in Russian.
pub fn refused(err: AnalyticsError) -> AppError {
    match err {
        AnalyticsError::Range(err) => AppError::BadRequest(range_message(err).to_owned()),
        AnalyticsError::Db(err) => err.into(),
    }
}

/// Russian for staff: which field is wrong and what it takes.
fn range_message(err: RangeError) -> &'static str {
    match err {
        RangeError::Days => words::analytics::RANGE_DAYS,
        RangeError::Date => words::analytics::RANGE_DATE,
        RangeError::Incomplete => words::analytics::RANGE_INCOMPLETE,
        RangeError::Both => words::analytics::RANGE_BOTH,
        RangeError::Reversed => words::analytics::RANGE_REVERSED,
        RangeError::Future => words::analytics::RANGE_FUTURE,
        RangeError::TooLong => words::analytics::RANGE_TOO_LONG,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::extract::text_values::from_query;

    impl Request {
        /// As the handler reads `query`.
        fn from_query(query: Option<&str>, today: NaiveDate) -> Result<Self, AppError> {
            let query = query.unwrap_or_default();
            let page = from_query(query, true)
                .map(FormQuery)
                .map_err(|problem| AppError::BadRequest(problem.russian()));
            Request::parse(from_query(query, true).unwrap(), page, today)
        }
    }

    #[test]
    fn links_keep_the_range_kind() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let preset = Request::from_query(Some("days=7&tier=hot&page=2"), today).unwrap();
        assert_eq!(
            preset.link("/analytics", preset.tier, 3),
            "/analytics?days=7&tier=hot&page=3"
        );
        let blank = Request::from_query(Some("days=&from=&to=&tier=&page="), today).unwrap();
        assert_eq!(
            (blank.range.days(), blank.preset, blank.tier, blank.page),
            (30, true, None, 1)
        );
        let custom = Request::from_query(Some("from=2026-11-01&to=2026-11-10"), today).unwrap();
        assert!(!custom.preset);
        assert_eq!(
            custom.link("/analytics/leads.csv", Some(Tier::Cold), 1),
            "/analytics/leads.csv?from=2026-11-01&to=2026-11-10&tier=cold"
        );
    }
}
