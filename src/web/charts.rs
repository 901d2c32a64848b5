//! Charts drawn on the server as inline SVG (no script, no CDN, nothing the
//! CSP would block: geometry in attributes, colours from `app.css`). Each
//! has a `<title>` and `<desc>` for screen readers, a tooltip (`<title>`) per
//! bar or point, and the same numbers as a table under `<details>`.

use askama::Template;
use chrono::NaiveDate;

use crate::web::words::pages as words;

/// The drawing's coordinate system; CSS scales it to the card's width (on
/// a phone it keeps a minimum width and scrolls sideways, so labels stay
/// readable).
const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 30.0;

pub struct Text {
    pub x: String,
    pub y: String,
    /// `start`, `middle` or `end`.
    pub anchor: &'static str,
    pub class: &'static str,
    pub content: String,
}

pub struct Rect {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    pub class: &'static str,
    pub tooltip: String,
}

pub struct Dot {
    pub x: String,
    pub y: String,
    pub tooltip: String,
}

pub struct Line {
    /// `x,y x,y …` for a polyline.
    pub points: String,
    pub class: &'static str,
    pub dots: Vec<Dot>,
}

/// One line of a chart: (CSS class, label, a value per day).
pub type Series<'a> = (&'static str, &'a str, &'a [(NaiveDate, i64)]);

/// A horizontal grid line at `y`.
pub struct Grid {
    pub y: String,
}

#[derive(Template)]
#[template(path = "partials/chart.html")]
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    /// One sentence with what the chart shows (the SVG's `<desc>`).
    pub summary: String,
    pub width: String,
    pub height: String,
    pub axis_y: String,
    pub axis_left: String,
    pub axis_right: String,
    pub grid: Vec<Grid>,
    pub texts: Vec<Text>,
    pub rects: Vec<Rect>,
    pub lines: Vec<Line>,
    /// (CSS class, label) of each series, when there are several.
    pub legend: Vec<(&'static str, String)>,
    pub table_head: Vec<String>,
    pub table: Vec<Vec<String>>,
}

/// A coordinate with one decimal, as SVG attributes take it.
fn at(value: f64) -> String {
    format!("{value:.1}")
}

fn dd_mm(day: NaiveDate) -> String {
    day.format("%d.%m").to_string()
}

fn full_date(day: NaiveDate) -> String {
    day.format("%d.%m.%Y").to_string()
}

/// A count with thin spaces between thousands, as Russian text writes it.
pub fn grouped(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if value < 0 { format!("−{out}") } else { out }
}

/// Round steps (1, 2, 5 × 10ⁿ) covering `low..=high` in at most 5 intervals;
/// the axis starts at 0 unless `low` is far above it (a cumulative line).
fn ticks(low: i64, high: i64) -> Vec<i64> {
    let low = if low > high / 2 { low } else { 0 };
    let span = (high - low).max(1);
    let step = (0..19)
        .map(|e| 10_i64.pow(e))
        .flat_map(|magnitude| [1, 2, 5].map(|factor| factor * magnitude))
        .find(|step| step * 4 >= span)
        .unwrap_or(i64::MAX / 8);
    let first = low / step * step;
    let mut ticks = vec![first];
    while *ticks.last().unwrap() < high || ticks.len() < 2 {
        ticks.push(ticks.last().unwrap() + step);
    }
    ticks
}

/// The empty frame: grid lines and y labels for `ticks`.
fn frame(id: &'static str, title: String, summary: String, ticks: &[i64]) -> Chart {
    let (lo, hi) = (ticks[0] as f64, *ticks.last().unwrap() as f64);
    let plot = HEIGHT - TOP - BOTTOM;
    let mut chart = Chart {
        id,
        title,
        summary,
        width: at(WIDTH),
        height: at(HEIGHT),
        axis_y: at(HEIGHT - BOTTOM),
        axis_left: at(LEFT),
        axis_right: at(WIDTH - RIGHT),
        grid: Vec::new(),
        texts: Vec::new(),
        rects: Vec::new(),
        lines: Vec::new(),
        legend: Vec::new(),
        table_head: Vec::new(),
        table: Vec::new(),
    };
    for &tick in ticks {
        let y = TOP + plot - (tick as f64 - lo) / (hi - lo) * plot;
        chart.grid.push(Grid { y: at(y) });
        chart.texts.push(Text {
            x: at(LEFT - 6.0),
            y: at(y + 4.0),
            anchor: "end",
            class: "tick",
            content: grouped(tick),
        });
    }
    chart
}

/// The y coordinate of `value` on the frame of `ticks`.
fn y_of(value: i64, ticks: &[i64]) -> f64 {
    let (lo, hi) = (ticks[0] as f64, *ticks.last().unwrap() as f64);
    let plot = HEIGHT - TOP - BOTTOM;
    TOP + plot - (value as f64 - lo) / (hi - lo) * plot
}

/// Date labels under the plot: all of them for a week, else about six,
/// always the last.
fn date_labels(chart: &mut Chart, days: &[NaiveDate]) {
    let Some(last) = days.len().checked_sub(1) else {
        return;
    };
    let slot = (WIDTH - LEFT - RIGHT) / days.len() as f64;
    let every = if days.len() <= 8 {
        1
    } else {
        days.len().div_ceil(6)
    };
    for (i, day) in days.iter().enumerate() {
        // Regular steps, but none crowding the last day's label.
        let regular = i % every == 0 && last - i >= every.div_ceil(2);
        if regular || i == last {
            chart.texts.push(Text {
                x: at(LEFT + slot * (i as f64 + 0.5)),
                y: at(HEIGHT - BOTTOM + 18.0),
                anchor: "middle",
                class: "tick",
                content: dd_mm(*day),
            });
        }
    }
}

impl Chart {
    /// One bar per day.
    pub fn daily_bars(
        id: &'static str,
        title: &str,
        label: &str,
        points: &[(NaiveDate, i64)],
        summary: String,
    ) -> Chart {
        let high = points.iter().map(|p| p.1).max().unwrap_or(0);
        let ticks = ticks(0, high);
        let mut chart = frame(id, title.to_owned(), summary, &ticks);
        let slot = (WIDTH - LEFT - RIGHT) / points.len().max(1) as f64;
        let width = (slot * 0.72).max(1.0);
        for (i, &(day, value)) in points.iter().enumerate() {
            let top = y_of(value, &ticks);
            chart.rects.push(Rect {
                x: at(LEFT + slot * i as f64 + (slot - width) / 2.0),
                y: at(top),
                width: at(width),
                height: at(HEIGHT - BOTTOM - top),
                class: "bar",
                tooltip: format!("{}: {}", full_date(day), grouped(value)),
            });
        }
        let days: Vec<NaiveDate> = points.iter().map(|p| p.0).collect();
        date_labels(&mut chart, &days);
        chart.table_head = vec![words::analytics::DATE_COLUMN.to_owned(), label.to_owned()];
        chart.table = points
            .iter()
            .map(|&(day, value)| vec![full_date(day), grouped(value)])
            .collect();
        chart
    }

    /// Lines over the same days, one per `(class, label, points)`.
    pub fn daily_lines(
        id: &'static str,
        title: &str,
        series: &[Series<'_>],
        summary: String,
    ) -> Chart {
        let values = || series.iter().flat_map(|s| s.2.iter().map(|p| p.1));
        let ticks = ticks(values().min().unwrap_or(0), values().max().unwrap_or(0));
        let mut chart = frame(id, title.to_owned(), summary, &ticks);
        let days: Vec<NaiveDate> = series
            .first()
            .map(|s| s.2.iter().map(|p| p.0).collect())
            .unwrap_or_default();
        let slot = (WIDTH - LEFT - RIGHT) / days.len().max(1) as f64;
        for &(class, label, points) in series {
            let coords: Vec<(f64, f64, NaiveDate, i64)> = points
                .iter()
                .enumerate()
                .map(|(i, &(day, value))| {
                    (
                        LEFT + slot * (i as f64 + 0.5),
                        y_of(value, &ticks),
                        day,
                        value,
                    )
                })
                .collect();
            chart.lines.push(Line {
                points: coords
                    .iter()
                    .map(|(x, y, ..)| format!("{},{}", at(*x), at(*y)))
                    .collect::<Vec<_>>()
                    .join(" "),
                class,
                dots: coords
                    .iter()
                    .map(|&(x, y, day, value)| Dot {
                        x: at(x),
                        y: at(y),
                        tooltip: format!("{label}, {}: {}", full_date(day), grouped(value)),
                    })
                    .collect(),
            });
            if series.len() > 1 {
                chart.legend.push((class, label.to_owned()));
            }
        }
        date_labels(&mut chart, &days);
        chart.table_head = std::iter::once(words::analytics::DATE_COLUMN.to_owned())
            .chain(series.iter().map(|s| s.1.to_owned()))
            .collect();
        chart.table = days
            .iter()
            .enumerate()
            .map(|(i, day)| {
                std::iter::once(full_date(*day))
                    .chain(series.iter().map(|s| grouped(s.2[i].1)))
                    .collect()
            })
            .collect();
        chart
    }

    /// Categories as horizontal bars, largest first, each with its label
    /// above and «count (share %)» at its end: `(label, count, share)`.
    pub fn ranking(
        id: &'static str,
        title: &str,
        rows: &[(String, i64, f64)],
        summary: String,
    ) -> Chart {
        let row_height = 40.0;
        let height = TOP + row_height * rows.len().max(1) as f64;
        let mut chart = frame(id, title.to_owned(), summary, &[0, 1]);
        chart.grid.clear();
        chart.texts.clear();
        chart.height = at(height);
        chart.axis_y = at(height);
        chart.axis_left = at(0.0);
        chart.axis_right = at(0.0);
        let high = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
        // Room at the end of the longest bar for «1 234 (56.7 %)».
        let full = WIDTH - 175.0;
        for (i, (label, count, share)) in rows.iter().enumerate() {
            let top = TOP + row_height * i as f64;
            let width = (*count as f64 / high * full).max(1.0);
            let value = format!("{} ({share:.1} %)", grouped(*count));
            chart.texts.push(Text {
                x: at(0.0),
                y: at(top + 4.0),
                anchor: "start",
                class: "label",
                content: label.clone(),
            });
            chart.rects.push(Rect {
                x: at(0.0),
                y: at(top + 10.0),
                width: at(width),
                height: at(14.0),
                class: "bar",
                tooltip: format!("{label}: {value}"),
            });
            chart.texts.push(Text {
                x: at(width + 6.0),
                y: at(top + 22.0),
                anchor: "start",
                class: "value",
                content: value,
            });
        }
        chart.table_head = vec![
            words::analytics::TYPE_COLUMN.to_owned(),
            words::analytics::EVENTS.to_owned(),
            words::analytics::SHARE_COLUMN.to_owned(),
        ];
        chart.table = rows
            .iter()
            .map(|(label, count, share)| {
                vec![label.clone(), grouped(*count), format!("{share:.1} %")]
            })
            .collect();
        chart
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_values() {
        assert_eq!(ticks(0, 0), [0, 1]);
        assert_eq!(ticks(0, 3), [0, 1, 2, 3]);
        assert_eq!(ticks(0, 7), [0, 2, 4, 6, 8]);
        assert_eq!(ticks(0, 10), [0, 5, 10]);
        assert_eq!(ticks(0, 53_672), [0, 20_000, 40_000, 60_000]);
        // A cumulative line far from zero keeps its detail.
        assert_eq!(
            ticks(150_000, 200_000),
            [140_000, 160_000, 180_000, 200_000]
        );
    }

    #[test]
    fn numbers_group_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(grouped(-1500), "−1\u{202f}500");
    }

    #[test]
    fn bars_stand_on_the_axis_and_label_every_day_of_a_week() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let points: Vec<_> = (15..=21).map(|d| (day(d), i64::from(d) - 15)).collect();
        let chart = Chart::daily_bars("x", "Заявки", "Заявок", &points, String::new());
        assert_eq!(chart.rects.len(), 7);
        assert!(chart.rects.iter().all(|r| {
            let bottom: f64 = r.y.parse::<f64>().unwrap() + r.height.parse::<f64>().unwrap();
            (bottom - (HEIGHT - BOTTOM)).abs() < 0.11
        }));
        let dates: Vec<_> = chart
            .texts
            .iter()
            .filter(|t| t.content.contains('.'))
            .collect();
        assert_eq!(dates.len(), 7);
        assert_eq!(chart.rects[6].tooltip, "21.11.2026: 6");
        let month: Vec<_> = (1..=30).map(|d| (day(d), 1)).collect();
        let chart = Chart::daily_bars("y", "t", "n", &month, String::new());
        let labels: Vec<_> = chart
            .texts
            .iter()
            .filter(|t| t.content.contains('.'))
            .map(|t| t.content.clone())
            .collect();
        assert!(
            labels.len() <= 7 && labels.last().unwrap() == "30.11",
            "{labels:?}"
        );
    }
}
