//! `svna init`: a partnership's own project directory, with its districts resolved from the
//! ONS lookup built into svna.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::Outcome;
use crate::project::{BUILTIN_FILES, BUILTIN_LSOA_LOOKUP};

#[derive(Args)]
#[command(
    after_help = "Example (Lancashire's Community Safety Partnership area):
  svna init --dir lancashire --districts \"Preston, Lancaster, Blackpool, E07000117\"
  cd lancashire
  svna load --store store --dataset police_open_data 2024-*-lancashire-street.csv
  svna run --store store --pipeline pipelines/open_data.toml
  svna publish --store store"
)]
pub struct InitArgs {
    /// Directory to create (must not exist, or be empty).
    #[arg(long)]
    pub dir: PathBuf,
    /// The partnership's local authority districts: names or ONS codes (E07…, E06…, E08…,
    /// E09…, W06…), comma-separated, as in the ONS 2019 lookup.
    #[arg(long)]
    pub districts: String,
}

/// A district of the built-in ONS lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct District {
    pub code: String,
    pub name: String,
}

/// Every district of the built-in lookup, by code.
fn districts() -> Result<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(BUILTIN_LSOA_LOOKUP.as_bytes());
    let header = reader.headers()?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("built-in lookup lacks column {name}"))
    };
    let (code, name) = (column("LAD19CD")?, column("LAD19NM")?);
    let mut out = BTreeMap::new();
    for record in reader.records() {
        let record = record?;
        out.insert(record[code].to_string(), record[name].to_string());
    }
    Ok(out)
}

/// Lowercase, `&` as `and`, punctuation and spaces dropped: "Kingston upon Hull, City of"
/// and "kingston-upon-hull city of" are one name.
fn simplify(name: &str) -> String {
    name.to_lowercase()
        .replace('&', "and")
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// Resolves names or codes to districts; an unknown one is refused with the closest.
pub fn resolve_districts(wanted: &str) -> Result<Vec<District>> {
    let all = districts()?;
    let by_name: BTreeMap<String, &String> = all
        .iter()
        .map(|(code, name)| (simplify(name), code))
        .collect();
    let mut found: Vec<District> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for item in wanted.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let code = all
            .contains_key(&item.to_uppercase())
            .then(|| item.to_uppercase())
            .or_else(|| by_name.get(&simplify(item)).map(|c| (*c).clone()));
        match code {
            Some(code) => {
                let district = District {
                    name: all[&code].clone(),
                    code,
                };
                if !found.contains(&district) {
                    found.push(district);
                }
            }
            None => {
                let key = simplify(item);
                let mut near: Vec<(usize, String)> = all
                    .iter()
                    .map(|(code, name)| {
                        (
                            edit_distance(&key, &simplify(name)),
                            format!("{name} ({code})"),
                        )
                    })
                    .collect();
                near.sort();
                let near: Vec<String> = near.into_iter().take(3).map(|(_, n)| n).collect();
                unknown.push(format!("`{item}`: closest are {}", near.join(", ")));
            }
        }
    }
    if !unknown.is_empty() {
        bail!(
            "not a district of the ONS 2019 lookup: {}. Give names as the lookup spells them, or ONS codes",
            unknown.join("; ")
        );
    }
    if found.is_empty() {
        bail!("--districts names no district; give at least one name or ONS code");
    }
    Ok(found)
}

fn partnership_districts_csv(districts: &[District]) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["lad_code", "lad_name"])?;
    for d in districts {
        writer.write_record([&d.code, &d.name])?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

fn project_readme(districts: &[District]) -> String {
    let names: Vec<String> = districts
        .iter()
        .map(|d| format!("{} ({})", d.name, d.code))
        .collect();
    format!(
        "# A Serious Violence needs-assessment project\n\n\
         Made by `svna init` for the districts: {}.\n\n\
         ## What is here\n\
         - `pipelines/`: the pipelines (`sna.toml`, partner data; `open_data.toml`, police open data).\n\
         - `sql/`: each stage's SQL. Edit freely: `svna run` in this directory uses these copies.\n\
         - `definitions/`: reference lists (serious-violence offence codes, age bands, crime types,\n\
           and `partnership_districts.csv`: your districts, from the ONS 2019 lookup).\n\n\
         The ONS LSOA lookup and IMD 2019 ranks are built into svna; `svna run` stages them (and\n\
         the definitions here) when the store has none.\n\n\
         ## Next steps: police open data\n\
         1. Download street-level crime CSVs for your force from https://data.police.uk/data/.\n\
         2. `svna load --store store --dataset police_open_data PATH/*-street.csv`\n\
         3. Optional: population estimates (`svna load --store store --dataset population FILE`);\n\
            without them counts are published and rates stay empty.\n\
         4. `svna run --store store --pipeline pipelines/open_data.toml`\n\
         5. `svna publish --store store`, then `svna report --store store`.\n\n\
         ## Partner data\n\
         Partners pseudonymise and upload (`svna pseudonymise`, `svna upload`); the hub takes\n\
         them in (`svna intake`) and runs `svna run --store store` (the `sna` pipeline).\n",
        names.join(", ")
    )
}

/// Refuses a directory that exists and is not empty: init never overwrites a project.
fn check_empty(dir: &Path) -> Result<()> {
    if let Ok(mut entries) = std::fs::read_dir(dir)
        && entries.next().is_some()
    {
        bail!(
            "{} exists and is not empty; choose a new directory (svna init never overwrites a project)",
            dir.display()
        );
    }
    Ok(())
}

pub fn run(args: InitArgs) -> Result<Outcome> {
    check_empty(&args.dir)?;
    let districts = resolve_districts(&args.districts)?;
    let mut written = 0usize;
    for (relative, text) in BUILTIN_FILES {
        let text = if *relative == "definitions/partnership_districts.csv" {
            partnership_districts_csv(&districts)?
        } else {
            (*text).to_string()
        };
        write_file(&args.dir.join(relative), &text)?;
        written += 1;
    }
    write_file(&args.dir.join("README.md"), &project_readme(&districts))?;
    println!(
        "Created {} ({} files) for {} district(s):",
        args.dir.display(),
        written + 1,
        districts.len()
    );
    for d in &districts {
        println!("  {}  {}", d.code, d.name);
    }
    println!("Next: see {}", args.dir.join("README.md").display());
    Ok(Outcome::Ok)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_resolve_to_ons_districts() {
        let found = resolve_districts("preston, E07000121 ,Blackpool,preston").unwrap();
        let codes: Vec<&str> = found.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, ["E07000123", "E07000121", "E06000009"]);
        assert_eq!(found[1].name, "Lancaster");
    }

    #[test]
    fn an_unknown_district_is_refused_with_the_closest() {
        let message = resolve_districts("Prestn").unwrap_err().to_string();
        assert!(message.contains("`Prestn`"), "{message}");
        assert!(message.contains("Preston (E07000123)"), "{message}");
    }

    #[test]
    fn a_mistyped_code_is_refused_not_placed_outside_the_area() {
        assert!(resolve_districts("E08000O13").is_err());
    }
}
