//! Column categories suggested from a sample of a table's values, for
//! record-set imports: the CLI's `records suggest` and `records import`
//! and the API's `POST /api/v1/record-sets/suggest` all use this.
//!
//! Each cell is scanned as `<header>: <value>`, so the column's name acts
//! as a context word ("ssn: 274 61 7738"), as it does for a person reading
//! it; a column whose values hold a category in at least half the sampled
//! cells gets that category; one of long texts gets `free_text`; anything
//! else `other`.

use std::collections::BTreeMap;
use std::io::Read;

use confidant_core::DataCategory;
use serde::Serialize;

use crate::VaultError;
use crate::scan::{category_of, detector};

/// Rows sampled when the caller does not say.
pub const DEFAULT_SAMPLE: usize = 500;

/// The category suggested for one column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ColumnSuggestion {
    /// 1-based position in the header.
    pub position: usize,
    pub column: String,
    pub category: DataCategory,
    /// Sampled values in which the category was found.
    pub matched: usize,
    /// Non-empty values sampled.
    pub values: usize,
}

impl ColumnSuggestion {
    /// "column 4 (card): card_number, 98% of 50 values valid".
    pub fn describe(&self) -> String {
        let evidence = match (self.matched * 100).checked_div(self.values) {
            None => "no values".to_owned(),
            Some(_) if self.category == DataCategory::Other => {
                format!("nothing recognised in {} values", self.values)
            }
            Some(percent) => format!("{percent}% of {} values valid", self.values),
        };
        format!(
            "column {} ({}): {}, {evidence}",
            self.position, self.column, self.category
        )
    }
}

/// The `--columns` argument (`col=category,...`) the suggestions make.
pub fn columns_argument(suggestions: &[ColumnSuggestion]) -> String {
    suggestions
        .iter()
        .map(|s| format!("{}={}", s.column, s.category))
        .collect::<Vec<_>>()
        .join(",")
}

/// Suggests a category for each column of the CSV in `input` (RFC 4180,
/// header row) from its first `sample` rows. Reads only those rows.
pub fn suggest_columns(
    input: impl Read,
    sample: usize,
) -> Result<Vec<ColumnSuggestion>, VaultError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| VaultError::InvalidInput(format!("the file has no readable header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let detector = detector();
    let mut counts: Vec<BTreeMap<DataCategory, usize>> = vec![BTreeMap::new(); header.len()];
    let mut values = vec![0usize; header.len()];
    let mut long_text = vec![0usize; header.len()];
    for (n, record) in reader.records().take(sample).enumerate() {
        let record = record.map_err(|e| {
            VaultError::InvalidInput(format!(
                "row {} is not valid CSV: {e} (fix the file and try again)",
                n + 2
            ))
        })?;
        for (i, cell) in record.iter().enumerate().take(header.len()) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            values[i] += 1;
            if cell.split_whitespace().count() > 6 {
                long_text[i] += 1;
            }
            let text = format!("{}: {cell}", header[i]);
            let offset = (header[i].len() + 2) as u64;
            let mut found: Vec<DataCategory> = detector
                .scan_text(&text)
                .into_iter()
                .filter(|f| f.start >= offset)
                .map(|f| category_of(f.kind))
                .filter(|c| *c != DataCategory::Other)
                .collect();
            found.sort();
            found.dedup();
            for category in found {
                *counts[i].entry(category).or_default() += 1;
            }
        }
    }
    Ok(header
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let best = counts[i]
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(c, n)| (*c, *n));
            let (category, matched) = match best {
                // Half the values or more: the column holds that category.
                Some((c, n)) if values[i] > 0 && n * 2 >= values[i] => (c, n),
                _ if values[i] > 0 && long_text[i] * 2 >= values[i] => {
                    (DataCategory::FreeText, long_text[i])
                }
                _ => (DataCategory::Other, 0),
            };
            ColumnSuggestion {
                position: i + 1,
                column: column.clone(),
                category,
                matched,
                values: values[i],
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_get_the_category_of_most_of_their_values() {
        let csv = "id,cardholder,card,phone,notes,joined\n\
            1,Ann Lee,4111 1111 1111 1111,+44 20 7946 0958,called twice about the late delivery of the boiler,2021-03-04\n\
            2,Bob Marsh,5555555555554444,+44 20 7946 0959,asked for a refund of the second invoice please,2022-05-06\n\
            3,Cy Park,not given,+44 20 7946 0960,,2023-07-08\n";
        let s = suggest_columns(csv.as_bytes(), 100).unwrap();
        let got: Vec<(&str, DataCategory, usize, usize)> = s
            .iter()
            .map(|s| (s.column.as_str(), s.category, s.matched, s.values))
            .collect();
        assert_eq!(
            got,
            [
                ("id", DataCategory::Other, 0, 3),
                ("cardholder", DataCategory::Name, 3, 3),
                ("card", DataCategory::CardNumber, 2, 3),
                ("phone", DataCategory::Phone, 3, 3),
                ("notes", DataCategory::FreeText, 2, 2),
                ("joined", DataCategory::Other, 0, 3),
            ]
        );
        assert_eq!(
            s[2].describe(),
            "column 3 (card): card_number, 66% of 3 values valid"
        );
        assert_eq!(
            columns_argument(&s),
            "id=other,cardholder=name,card=card_number,phone=phone,notes=free_text,joined=other"
        );
        // Only the sample is read: a broken row after it does not matter.
        let mut broken = csv.as_bytes().to_vec();
        broken.extend_from_slice(b"4,\xff\xfe not UTF-8\n");
        assert_eq!(suggest_columns(&broken[..], 3).unwrap(), s);
        let err = suggest_columns(&broken[..], 10).unwrap_err();
        assert!(err.to_string().contains("row 5"), "{err}");
    }
}
