//! Lead tiers: how warm a free-lesson registrant is by their week's events
//! (docs/analytics.md, «Leads»).

/// How warm a free-lesson registrant is, from their events over the last
/// [`LEAD_WINDOW_DAYS`] days. Ordered hottest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Hot,
    Warm,
    Cool,
    Cold,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Hot, Tier::Warm, Tier::Cool, Tier::Cold];

    /// Hot: ≥ 20 events on ≥ 5 days; warm: ≥ 10 on ≥ 3; cool: ≥ 5; else
    /// cold (the SQL of `store::leads` binds these same thresholds).
    pub fn of(events: i64, active_days: i64) -> Tier {
        let [hot, warm, cool] = Self::THRESHOLDS;
        if events >= hot.0 && active_days >= hot.1 {
            Tier::Hot
        } else if events >= warm.0 && active_days >= warm.1 {
            Tier::Warm
        } else if events >= cool.0 {
            Tier::Cool
        } else {
            Tier::Cold
        }
    }

    /// (events, active days) that hot, warm and cool need.
    pub const THRESHOLDS: [(i64, i64); 3] = [(20, 5), (10, 3), (5, 0)];

    pub fn parse(raw: &str) -> Option<Tier> {
        Self::ALL.into_iter().find(|tier| tier.api_name() == raw)
    }

    pub fn api_name(self) -> &'static str {
        match self {
            Tier::Hot => "hot",
            Tier::Warm => "warm",
            Tier::Cool => "cool",
            Tier::Cold => "cold",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_the_thresholds() {
        assert_eq!(Tier::of(20, 5), Tier::Hot);
        assert_eq!(Tier::of(40, 4), Tier::Warm);
        assert_eq!(Tier::of(19, 7), Tier::Warm);
        assert_eq!(Tier::of(10, 3), Tier::Warm);
        assert_eq!(Tier::of(10, 2), Tier::Cool);
        assert_eq!(Tier::of(9, 7), Tier::Cool);
        assert_eq!(Tier::of(5, 1), Tier::Cool);
        assert_eq!(Tier::of(4, 4), Tier::Cold);
        assert_eq!(Tier::of(0, 0), Tier::Cold);
        assert!(Tier::Hot < Tier::Warm && Tier::Cool < Tier::Cold);
        for tier in Tier::ALL {
            assert_eq!(Tier::parse(tier.api_name()), Some(tier));
        }
        assert_eq!(Tier::parse("HOT"), None);
    }
}
