//! The reference documents list what the code declares: a column, field or metric added to the
//! code without its line in `docs/` fails here.

use models::metrics::SeriesRow;

/// The backticked names in the first cell of each row of the table under `heading`.
fn first_column_names(doc: &str, heading: &str) -> Vec<String> {
    let start = doc.find(heading).unwrap_or_else(|| panic!("the document has a section `{heading}`"));
    let section = &doc[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut names = Vec::new();
    for row in section.lines().filter(|l| l.starts_with('|')).skip(2) {
        let cell = row.split('|').nth(1).unwrap_or_default();
        names.extend(cell.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    names
}

#[test]
fn the_series_columns_documented_are_the_ones_written_in_order() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/output-format.md"))
        .expect("docs/output-format.md reads");
    let documented = first_column_names(&doc, "## `--series FILE.csv`");
    let written: Vec<String> =
        ["server", "architecture"].into_iter().chain(SeriesRow::COLUMNS.iter().copied()).map(str::to_owned).collect();
    assert_eq!(documented, written, "docs/output-format.md's series table against SeriesRow::COLUMNS");
}

#[test]
fn the_series_csv_header_is_the_declared_columns() {
    let csv = models::runner::series_csv_of([("s", "threaded", &[SeriesRow::default()][..])]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    assert_eq!(header.len(), 2 + SeriesRow::COLUMNS.len());
    assert_eq!(row.len(), header.len(), "every column has a value");
    assert_eq!(&header[2..], SeriesRow::COLUMNS);
}
