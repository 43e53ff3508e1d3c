//! ONS small-area population estimates in their published layout (one row per LSOA, one
//! column per single year of age, `90+` last), turned into the `population` contract's
//! rows (LSOA × age band × sex) before loading, so a partnership can load the file it
//! downloads.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// What a conversion did, for the message beside the load.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Converted {
    pub lsoas: usize,
    pub rows_written: usize,
    /// Rows whose code is not an LSOA (district or national totals in the same sheet).
    pub rows_skipped: usize,
}

/// The columns of an ONS layout: where the LSOA code, the sex (if any) and each age are.
struct Layout {
    lsoa: usize,
    sex: Option<usize>,
    ages: Vec<(usize, u32)>,
}

fn simplified(name: &str) -> String {
    name.trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace(['_', '-'], " ")
}

/// A single year of age in a header: `0`, `Age 0`, `90+`, `90 plus`.
fn age_of(name: &str) -> Option<u32> {
    let name = simplified(name);
    let name = name.strip_prefix("age ").unwrap_or(&name);
    let digits = name
        .strip_suffix('+')
        .or_else(|| name.strip_suffix(" plus"))
        .unwrap_or(name);
    digits.trim().parse().ok().filter(|age| *age <= 120)
}

fn layout(header: &csv::StringRecord) -> Option<Layout> {
    let lsoa = header.iter().position(|h| {
        let h = simplified(h);
        h == "lsoa11cd" || (h.starts_with("lsoa") && h.ends_with("code"))
    })?;
    let sex = header.iter().position(|h| simplified(h) == "sex");
    let ages: Vec<(usize, u32)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| age_of(h).map(|a| (i, a)))
        .collect();
    (ages.len() >= 20).then_some(Layout { lsoa, sex, ages })
}

/// Whether the file is in the ONS layout (its header alone decides).
pub fn is_ons_layout(path: &Path) -> Result<bool> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let header = reader.headers()?.clone();
    Ok(layout(&header).is_some())
}

/// `M`, `F`, or `U` for an estimate of all persons (no sex column, or `Persons`).
fn sex_of(text: &str) -> Option<&'static str> {
    match simplified(text).as_str() {
        "m" | "male" | "males" | "1" => Some("M"),
        "f" | "female" | "females" | "2" => Some("F"),
        "persons" | "all persons" | "all" | "0" => Some("U"),
        _ => None,
    }
}

fn is_lsoa_code(code: &str) -> bool {
    (code.starts_with("E01") || code.starts_with("W01"))
        && code.len() == 9
        && code[3..].bytes().all(|b| b.is_ascii_digit())
}

/// Converts `path` into a `population` CSV at `out`, banding single years of age with the
/// `age,age_band` rows of `age_bands` (the definitions' file).
pub fn convert(path: &Path, age_bands: &str, out: &Path) -> Result<Converted> {
    let bands: BTreeMap<u32, String> = csv::Reader::from_reader(age_bands.as_bytes())
        .records()
        .map(|r| {
            let r = r?;
            Ok((r[0].trim().parse::<u32>()?, r[1].trim().to_string()))
        })
        .collect::<Result<_>>()
        .context("reading the age bands")?;
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let header = reader.headers()?.clone();
    let Some(layout) = layout(&header) else {
        bail!(
            "{} is not in the ONS single-year-of-age layout",
            path.display()
        );
    };
    let mut cells: BTreeMap<(String, String, &'static str), u64> = BTreeMap::new();
    let mut converted = Converted::default();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.with_context(|| format!("{}: line {line}", path.display()))?;
        let code = record.get(layout.lsoa).unwrap_or("").trim();
        if !is_lsoa_code(code) {
            converted.rows_skipped += 1;
            continue;
        }
        let sex = match layout.sex {
            Some(column) => {
                let text = record.get(column).unwrap_or("");
                sex_of(text).with_context(|| {
                    format!(
                        "{}: line {line}: sex `{text}` is not M, F, Male, Female, 1, 2 or Persons",
                        path.display()
                    )
                })?
            }
            None => "U",
        };
        for &(column, age) in &layout.ages {
            let text = record.get(column).unwrap_or("").trim().replace(',', "");
            let residents: u64 = text.parse().with_context(|| {
                format!(
                    "{}: line {line}, column `{}`: `{text}` is not a whole number of residents",
                    path.display(),
                    &header[column]
                )
            })?;
            let band = bands
                .get(&age)
                .with_context(|| format!("age {age} has no band in the age bands"))?;
            *cells
                .entry((code.to_string(), band.clone(), sex))
                .or_insert(0) += residents;
        }
        converted.lsoas += 1;
    }
    let mut writer = csv::Writer::from_path(out)?;
    writer.write_record(["lsoa_code", "age_band", "sex", "residents"])?;
    for ((code, band, sex), residents) in &cells {
        writer.write_record([code.as_str(), band, sex, &residents.to_string()])?;
        converted.rows_written += 1;
    }
    writer.flush()?;
    Ok(converted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BANDS: &str =
        "age,age_band,under_25\n0,0-9,true\n1,0-9,true\n2,10-17,true\n3,65+,false\n";

    fn ons_file(dir: &Path, text: &str) -> std::path::PathBuf {
        let path = dir.join("sape.csv");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn header(ages: &[&str]) -> String {
        let mut cols = vec!["LSOA Code", "LSOA Name", "All Ages"];
        cols.extend(ages);
        cols.join(",")
    }

    #[test]
    fn single_years_are_banded_and_totals_rows_skipped() {
        let dir = tempfile::tempdir().unwrap();
        // 20+ age columns make the layout; ages above 3 fall in 65+ here.
        let ages: Vec<String> = (0..22)
            .map(|a| a.to_string())
            .chain(["90+".into()])
            .collect();
        let ages: Vec<&str> = ages.iter().map(String::as_str).collect();
        let mut bands = String::from("age,age_band,under_25\n");
        for age in 0..=120 {
            let band = match age {
                0..=1 => "0-9",
                2 => "10-17",
                _ => "65+",
            };
            bands.push_str(&format!("{age},{band},true\n"));
        }
        let values: Vec<String> = (0..23).map(|i| (i + 1).to_string()).collect();
        let text = format!(
            "{}\nE01000001,A 001A,\"1,000\",{}\nE07000001,District,9,{}\n",
            header(&ages),
            values.join(","),
            values.join(",")
        );
        let path = ons_file(dir.path(), &text);
        assert!(is_ons_layout(&path).unwrap());
        let out = dir.path().join("population.csv");
        let converted = convert(&path, &bands, &out).unwrap();
        assert_eq!(
            converted,
            Converted {
                lsoas: 1,
                rows_written: 3,
                rows_skipped: 1
            }
        );
        let written = std::fs::read_to_string(&out).unwrap();
        // 0-9: ages 0 and 1 (1 + 2); 10-17: age 2 (3); 65+: the other 20 columns.
        let rest: u32 = (4..=23).sum();
        assert_eq!(
            written,
            format!(
                "lsoa_code,age_band,sex,residents\nE01000001,0-9,U,3\nE01000001,10-17,U,3\nE01000001,65+,U,{rest}\n"
            )
        );
    }

    #[test]
    fn a_contract_file_is_not_taken_for_the_ons_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = ons_file(
            dir.path(),
            "lsoa_code,age_band,sex,residents\nE01000001,0-9,F,10\n",
        );
        assert!(!is_ons_layout(&path).unwrap());
        assert!(convert(&path, BANDS, &dir.path().join("out.csv")).is_err());
    }

    #[test]
    fn a_sex_column_splits_the_estimate() {
        assert_eq!(sex_of("Males"), Some("M"));
        assert_eq!(sex_of("2"), Some("F"));
        assert_eq!(sex_of("Persons"), Some("U"));
        assert_eq!(sex_of("X"), None);
    }
}
