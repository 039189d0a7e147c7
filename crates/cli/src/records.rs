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
    /// Delete a record set with all its rows.
    Rm { set: String },
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
