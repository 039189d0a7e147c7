//! `confidant records ...`

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use confidant_core::{DataCategory, Label, parse_column_categories};
use confidant_server::wire;
use confidant_vault::ColumnMapping;
use confidant_vault::columns::{ColumnSuggestion, DEFAULT_SAMPLE, columns_argument};
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
        /// Give every column that --columns and --mapping do not name the
        /// category suggested from a sample of its values (see `records
        /// suggest`).
        #[arg(long)]
        suggested: bool,
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
            suggested,
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
            // Suggested from a sample of the file's values, shown with the
            // import; with --suggested they fill the columns not named.
            let suggestions = suggestions_of(&file, DEFAULT_SAMPLE)?;
            if suggested {
                for s in &suggestions {
                    if !spec.categories.iter().any(|(c, _)| *c == s.column) {
                        spec.categories.push((s.column.clone(), s.category));
                    }
                }
            }
            if spec.categories.is_empty() {
                print_suggestions(&suggestions)?;
                bail!(
                    "no column categories: pass --suggested to import with the categories suggested above, \
                     or --columns {} (edited as needed), or --mapping FILE",
                    columns_argument(&suggestions)
                );
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
            for s in &suggestions {
                let chosen = meta.columns.iter().find(|c| c.name == s.column);
                match chosen {
                    Some(c) if c.category != s.category && s.category != DataCategory::Other => {
                        println!(
                            "note: {}; imported as {} (check it)",
                            s.describe(),
                            c.category
                        );
                    }
                    _ => println!("{}", s.describe()),
                }
            }
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

fn suggestions_of(file: &std::path::Path, sample: usize) -> anyhow::Result<Vec<ColumnSuggestion>> {
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    confidant_vault::columns::suggest_columns(std::io::BufReader::new(input), sample)
        .with_context(|| format!("cannot suggest categories for {}", file.display()))
}

fn print_suggestions(suggestions: &[ColumnSuggestion]) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = suggestions
        .iter()
        .map(|s| {
            let share = match (s.matched * 100).checked_div(s.values) {
                Some(percent) => format!("{percent}% of {} values", s.values),
                None => "no values".to_owned(),
            };
            vec![
                s.position.to_string(),
                s.column.clone(),
                s.category.to_string(),
                share,
            ]
        })
        .collect();
    output::table(&["#", "COLUMN", "SUGGESTED", "EVIDENCE"], &rows)
}

/// `records suggest`: the categories suggested for each column (see
/// `confidant_vault::columns`), and a `--columns` argument to start from.
fn suggest(file: &std::path::Path, sample: usize, format: Format) -> anyhow::Result<()> {
    let suggestions = suggestions_of(file, sample)?;
    let columns = columns_argument(&suggestions);
    match format {
        Format::Json => {
            output::json(&serde_json::json!({ "columns": suggestions, "argument": columns }))?
        }
        Format::Text => {
            print_suggestions(&suggestions)?;
            println!();
            println!("check the suggestions, then: --columns {columns} (or --suggested)");
        }
    }
    Ok(())
}
