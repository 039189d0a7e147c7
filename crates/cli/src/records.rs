//! `confidant records ...`

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use confidant_core::{DataCategory, Label, parse_column_categories};
use confidant_server::wire;
use confidant_vault::ColumnMapping;
use serde::Deserialize;

use crate::datadir::{Global, open_as_owner};
use crate::output::{self, Format};

#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// Import a CSV file (RFC 4180, UTF-8, header row) as a new record set.
    /// Every column needs a data category.
    Import {
        file: PathBuf,
        /// The set's name, e.g. customers.
        #[arg(long)]
        name: String,
        /// COLUMN=CATEGORY,... with categories card_number, bank_account,
        /// national_id, phone, email, postal_address, date_of_birth, name,
        /// free_text, other.
        #[arg(long, value_name = "COL=CATEGORY,...")]
        columns: Option<String>,
        /// A TOML mapping file instead of (or on top of) --columns; see README.
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
        /// Columns to index for `records find`.
        #[arg(long, value_name = "COL,...", value_delimiter = ',')]
        index: Vec<String>,
        /// Each row is a customer (a data subject to notify after a leak).
        #[arg(long)]
        customers: bool,
        /// The column with the customer's e-mail address for notices.
        #[arg(long, value_name = "COL")]
        contact_column: Option<String>,
        #[arg(long, default_value = "confidential")]
        label: Label,
    },
    /// List record sets.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show the rows of a set.
    Show {
        set: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Find rows by exact value of an indexed column.
    Find {
        set: String,
        /// COLUMN=VALUE
        #[arg(long = "where", value_name = "COL=VALUE")]
        condition: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Export a set as CSV (its own action): Confidential and Restricted
    /// sets are stamped for you, with a few honey records that name this
    /// copy if it leaks.
    Export {
        set: String,
        /// Write here (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// csv or xlsx (default: xlsx when --out ends in .xlsx, else csv).
        #[arg(long = "as", value_name = "FORMAT")]
        as_format: Option<String>,
    },
    /// Delete a record set with all its rows.
    Rm { set: String },
    /// Suggest a data category for each column of a CSV file from a sample
    /// of its values, and print a `--columns` argument to start from.
    /// Reads only the file; needs no data dir.
    Suggest {
        file: PathBuf,
        /// How many rows to look at.
        #[arg(long, default_value_t = 500)]
        sample: usize,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// The mapping file:
///
/// ```toml
/// customers = true
/// contact_column = "email"
/// index = ["email", "phone"]
/// label = "confidential"
/// [columns]
/// name = "name"
/// email = "email"
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    columns: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    index: Vec<String>,
    #[serde(default)]
    customers: bool,
    contact_column: Option<String>,
    label: Option<String>,
}

pub async fn run(global: &Global, command: RecordsCommand) -> anyhow::Result<()> {
    if let RecordsCommand::Suggest {
        file,
        sample,
        format,
    } = &command
    {
        return suggest(file, *sample, *format);
    }
    let (vault, owner) = open_as_owner(global).await?;
    match command {
        RecordsCommand::Import {
            file,
            name,
            columns,
            mapping,
            index,
            customers,
            contact_column,
            label,
        } => {
            let mut spec = ColumnMapping {
                label,
                ..ColumnMapping::default()
            };
            if let Some(path) = &mapping {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read mapping file {}", path.display()))?;
                let parsed: MappingFile = toml::from_str(&text)
                    .with_context(|| format!("mapping file {} is not valid", path.display()))?;
                for (column, category) in parsed.columns {
                    let category: DataCategory = category.parse().with_context(|| {
                        format!("mapping file {}, column {column:?}", path.display())
                    })?;
                    spec.categories.push((column, category));
                }
                spec.indexed = parsed.index;
                spec.rows_are_customers = parsed.customers;
                spec.contact_column = parsed.contact_column;
                if let Some(l) = parsed.label {
                    spec.label = l
                        .parse()
                        .with_context(|| format!("mapping file {}", path.display()))?;
                }
            }
            if let Some(columns) = &columns {
                for (column, category) in parse_column_categories(columns)? {
                    spec.categories.retain(|(c, _)| *c != column);
                    spec.categories.push((column, category));
                }
            }
            if spec.categories.is_empty() {
                bail!("no column categories: pass --columns COL=CATEGORY,... or --mapping FILE");
            }
            spec.indexed.extend(
                index
                    .into_iter()
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
            );
            spec.rows_are_customers |= customers;
            if contact_column.is_some() {
                spec.contact_column = contact_column;
            }
            let input = std::fs::File::open(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let meta = vault
                .import_records(&owner, &name, std::io::BufReader::new(input), spec)
                .await?;
            println!(
                "imported {} rows into record set {:?} ({})",
                meta.row_count, meta.name, meta.id
            );
        }
        RecordsCommand::List { format } => {
            let sets = vault.record_sets(&owner).await?;
            match format {
                Format::Json => {
                    output::json(&sets.iter().map(wire::record_set_info).collect::<Vec<_>>())?
                }
                Format::Text => output::table(
                    &["NAME", "LABEL", "ROWS", "CUSTOMERS", "COLUMNS", "ID"],
                    &sets
                        .iter()
                        .map(|s| {
                            vec![
                                s.name.clone(),
                                s.label.to_string(),
                                s.row_count.to_string(),
                                if s.rows_are_customers { "yes" } else { "no" }.to_owned(),
                                s.columns
                                    .iter()
                                    .map(|c| {
                                        format!(
                                            "{}:{}{}",
                                            c.name,
                                            c.category,
                                            if c.indexed { "*" } else { "" }
                                        )
                                    })
                                    .collect::<Vec<_>>()
                                    .join(" "),
                                s.id.to_string(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )?,
            }
        }
        RecordsCommand::Show {
            set,
            format,
            limit,
            offset,
        } => {
            let page = vault.show_records(&owner, &set, offset, limit).await?;
            print_page(&page, format)?;
        }
        RecordsCommand::Export {
            set,
            out,
            as_format,
        } => {
            let format = match (&as_format, &out) {
                (Some(f), _) => confidant_vault::ExportFormat::parse(f)?,
                (None, Some(path))
                    if path
                        .extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) =>
                {
                    confidant_vault::ExportFormat::Xlsx
                }
                (None, _) => confidant_vault::ExportFormat::Csv,
            };
            let export = vault.export_records_as(&owner, &set, format).await?;
            match out {
                Some(path) => {
                    // Visible only when complete.
                    let partial = path.with_extension(format!("{}.partial", format.extension()));
                    std::fs::write(&partial, &export.bytes)
                        .with_context(|| format!("cannot write {}", partial.display()))?;
                    std::fs::rename(&partial, &path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "exported {} rows of {set} to {}{}",
                        export.rows,
                        path.display(),
                        export
                            .delivery
                            .map(|d| format!(" (stamped, delivery {d})"))
                            .unwrap_or_default()
                    );
                }
                None => std::io::Write::write_all(&mut std::io::stdout(), &export.bytes)?,
            }
        }
        RecordsCommand::Find {
            set,
            condition,
            format,
        } => {
            let (column, value) = condition
                .split_once('=')
                .with_context(|| format!("--where {condition:?} is not COLUMN=VALUE"))?;
            let page = vault
                .find_records(&owner, &set, column.trim(), value)
                .await?;
            print_page(&page, format)?;
        }
        RecordsCommand::Suggest { .. } => {}
        RecordsCommand::Rm { set } => {
            let meta = vault.delete_record_set(&owner, &set).await?;
            println!(
                "deleted record set {:?} and its {} rows",
                meta.name, meta.row_count
            );
        }
    }
    Ok(())
}

fn print_page(page: &confidant_vault::RecordPage, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => output::json(&wire::record_page_info(page)),
        Format::Text => {
            let mut header: Vec<&str> = vec!["ROW"];
            header.extend(page.set.columns.iter().map(|c| c.name.as_str()));
            let rows: Vec<Vec<String>> = page
                .rows
                .iter()
                .map(|r| {
                    let mut cells = vec![r.id.to_string()];
                    cells.extend(r.values.iter().cloned());
                    cells
                })
                .collect();
            output::table(&header, &rows)
        }
    }
}

/// The record-set category for a kind of finding.
#[derive(Debug, serde::Serialize)]
struct Suggestion {
    column: String,
    category: DataCategory,
    /// Values (of `values`) in which the category was found.
    matched: usize,
    values: usize,
}

/// Each cell is scanned as `<header>: <value>`, so the column's name acts as
/// a context word ("ssn: 274 61 7738"), as it does for a person reading it.
fn suggest(file: &std::path::Path, sample: usize, format: Format) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("{} has no header row", file.display()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let detector = confidant_detect::Detector::new();
    let mut counts: Vec<std::collections::BTreeMap<DataCategory, usize>> =
        vec![Default::default(); header.len()];
    let mut values = vec![0usize; header.len()];
    let mut long_text = vec![0usize; header.len()];
    for record in reader.records().take(sample) {
        let record = record.with_context(|| format!("{} is not valid CSV", file.display()))?;
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
                .map(|f| confidant_vault::scan::category_of(f.kind))
                .collect();
            found.sort();
            found.dedup();
            for category in found {
                *counts[i].entry(category).or_default() += 1;
            }
        }
    }
    let suggestions: Vec<Suggestion> = header
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
            Suggestion {
                column: column.clone(),
                category,
                matched,
                values: values[i],
            }
        })
        .collect();
    let columns = suggestions
        .iter()
        .map(|s| format!("{}={}", s.column, s.category))
        .collect::<Vec<_>>()
        .join(",");
    match format {
        Format::Json => {
            output::json(&serde_json::json!({ "columns": suggestions, "argument": columns }))?
        }
        Format::Text => {
            let rows: Vec<Vec<String>> = suggestions
                .iter()
                .map(|s| {
                    let share = match (s.matched * 100).checked_div(s.values) {
                        Some(percent) => format!("{percent}% of {} values", s.values),
                        None => "no values".to_owned(),
                    };
                    vec![s.column.clone(), s.category.to_string(), share]
                })
                .collect();
            output::table(&["COLUMN", "SUGGESTED", "EVIDENCE"], &rows)?;
            println!();
            println!("check the suggestions, then: --columns {columns}");
        }
    }
    Ok(())
}
