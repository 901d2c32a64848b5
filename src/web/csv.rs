//! CSV downloads that open cleanly in a spreadsheet: UTF-8 with a byte-order
//! mark (without it Excel reads Cyrillic as Windows-1251), cells separated by
//! `;` (the list separator of Excel in a Russian locale, where a comma is the
//! decimal mark, so a double-click opens it in columns; Google Sheets and
//! LibreOffice detect it), RFC 4180 quoting with CRLF line ends, and cells a
//! spreadsheet would run as a formula defused with a leading `'` (CSV
//! injection).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The UTF-8 byte-order mark every file starts with.
pub const BOM: &str = "\u{feff}";

/// The cell separator.
pub const SEPARATOR: char = ';';

/// A CSV file being written, row by row, and served as an attachment.
#[derive(Debug, Clone)]
pub struct Csv {
    filename: String,
    body: String,
}

impl Csv {
    /// A file offered for download as `filename` (characters other than
    /// latin letters, digits, `.`, `_` and `-` become `_`, so the header can
    /// never break), starting with the `header` row.
    pub fn new(filename: &str, header: &[&str]) -> Self {
        let filename = filename
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut csv = Self {
            filename,
            body: BOM.to_owned(),
        };
        csv.row(header);
        csv
    }

    /// Appends one row.
    pub fn row<I>(&mut self, cells: I)
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        for (i, cell) in cells.into_iter().enumerate() {
            if i > 0 {
                self.body.push(SEPARATOR);
            }
            write_cell(&mut self.body, cell.as_ref());
        }
        self.body.push_str("\r\n");
    }

    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The file so far, BOM included.
    pub fn body(&self) -> &str {
        &self.body
    }
}

/// `-?[0-9]+(\.[0-9]+)?`: a spreadsheet reads it as a number, never a formula.
fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let mut parts = digits.splitn(2, '.');
    parts.all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a spreadsheet would take the cell for a formula (OWASP's list).
fn is_formula_like(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_number(cell)
}

fn write_cell(out: &mut String, cell: &str) {
    let guard = if is_formula_like(cell) { "'" } else { "" };
    if cell.contains([SEPARATOR, ',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(guard);
        out.push_str(&cell.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(guard);
        out.push_str(cell);
    }
}

impl IntoResponse for Csv {
    fn into_response(self) -> Response {
        let disposition = format!("attachment; filename=\"{}\"", self.filename);
        let disposition = HeaderValue::try_from(disposition)
            .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            self.body,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    fn lines(csv: &Csv) -> Vec<&str> {
        let body = csv.body().strip_prefix(BOM).expect("starts with the BOM");
        let body = body.strip_suffix("\r\n").expect("ends with CRLF");
        body.split("\r\n").collect()
    }

    #[test]
    fn starts_with_the_bom_and_the_header() {
        let csv = Csv::new("x.csv", &["Имя", "Статус"]);
        assert!(csv.body().as_bytes().starts_with(&[0xEF, 0xBB, 0xBF]));
        assert_eq!(lines(&csv), ["Имя;Статус"]);
    }

    #[test]
    fn quotes_as_rfc_4180_says() {
        let mut csv = Csv::new("x.csv", &["a", "b", "c", "d", "e"]);
        csv.row(["plain", "a,b", "say \"hi\"", "two\nlines", ""]);
        csv.row(["cr\rhere", "Анна", " spaced ", "'", ";"]);
        assert_eq!(
            lines(&csv),
            [
                "a;b;c;d;e",
                "plain;\"a,b\";\"say \"\"hi\"\"\";\"two\nlines\";",
                "\"cr\rhere\";Анна; spaced ;';\";\"",
            ]
        );
    }

    #[test]
    fn formula_like_cells_get_a_leading_quote() {
        let mut csv = Csv::new("x.csv", &["cell"]);
        for cell in [
            "=1+2",
            "+7 999",
            "-cmd",
            "@SUM(A1)",
            "\tx",
            "=HYPERLINK(\"http://x\",\"y\")",
            "\rx",
        ] {
            csv.row([cell]);
        }
        assert_eq!(
            lines(&csv)[1..6],
            ["'=1+2", "'+7 999", "'-cmd", "'@SUM(A1)", "'\tx"]
        );
        assert_eq!(
            lines(&csv)[6],
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        // Quoted because of the CR, defused inside the quotes.
        assert!(csv.body().ends_with("\"'\rx\"\r\n"));
    }

    #[test]
    fn plain_numbers_and_harmless_text_are_left_alone() {
        let mut csv = Csv::new("x.csv", &["cell"]);
        for cell in [
            "-1", "-12.5", "42", "a=b", "x-y", "mail@x", "-", "-1.", "-.5",
        ] {
            csv.row([cell]);
        }
        assert_eq!(
            lines(&csv)[1..],
            [
                "-1", "-12.5", "42", "a=b", "x-y", "mail@x", "'-", "'-1.", "'-.5"
            ]
        );
    }

    #[tokio::test]
    async fn the_response_is_an_attachment_with_a_safe_name() {
        let mut csv = Csv::new("stream-8th_stream-all.csv", &["a"]);
        csv.row(["1"]);
        let response = csv.into_response();
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"stream-8th_stream-all.csv\""
        );
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        assert_eq!(&body[..], "\u{feff}a\r\n1\r\n".as_bytes());

        let odd = Csv::new("a\"b\r\n;ж/.csv", &["a"]);
        assert_eq!(odd.filename(), "a_b_____.csv");
    }
}
