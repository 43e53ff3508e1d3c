//! The project files svna runs with: a project directory's own copies where they exist
//! (`pipelines/`, `sql/`, `definitions/` under the current directory), else the ones built
//! into the binary, so that an installed `svna` works from any directory.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use svna_engine::Pipeline;

include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));

/// The standard needs-assessment pipeline, relative to a project directory.
pub const DEFAULT_PIPELINE: &str = "pipelines/sna.toml";

/// The text of a built-in project file, by its path relative to the project directory.
pub fn builtin(path: &str) -> Option<&'static str> {
    BUILTIN_FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, text)| *text)
}

/// Built-in files under a directory of the project (`definitions`, `sql`, `pipelines`).
pub fn builtin_under(dir: &str) -> impl Iterator<Item = (&'static str, &'static str)> {
    let prefix = format!("{dir}/");
    BUILTIN_FILES
        .iter()
        .filter(move |(name, _)| name.starts_with(&prefix))
        .copied()
}

/// Where a pipeline comes from: a file the user named or the project directory holds, or
/// the copy built into the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineSource {
    File(PathBuf),
    Builtin(&'static str),
}

impl std::fmt::Display for PipelineSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PipelineSource::File(path) => write!(f, "{}", path.display()),
            PipelineSource::Builtin(path) => write!(f, "{path} (built into svna)"),
        }
    }
}

/// `--pipeline` if given; else `pipelines/sna.toml` of the current directory if it has one;
/// else the built-in standard pipeline.
pub fn pipeline_source(arg: Option<&Path>) -> PipelineSource {
    match arg {
        Some(path) => PipelineSource::File(path.to_path_buf()),
        None if Path::new(DEFAULT_PIPELINE).is_file() => {
            PipelineSource::File(PathBuf::from(DEFAULT_PIPELINE))
        }
        None => PipelineSource::Builtin(DEFAULT_PIPELINE),
    }
}

/// Reads a pipeline from its source; a built-in pipeline reads built-in SQL.
pub fn load_pipeline(source: &PipelineSource) -> Result<Pipeline> {
    match source {
        PipelineSource::File(path) => Ok(Pipeline::load(path)?),
        PipelineSource::Builtin(path) => {
            let text = builtin(path).with_context(|| format!("no built-in pipeline {path}"))?;
            let base = Path::new(path).parent().unwrap_or(Path::new(""));
            let pipeline = Pipeline::from_toml(text, &source.to_string(), &|sql: &Path| {
                let relative = normalise(&base.join(sql));
                builtin(&relative)
                    .map(|text| (PathBuf::from(&relative), text.to_string()))
                    .ok_or_else(|| {
                        std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            format!("{relative} is not built into svna"),
                        )
                    })
            })?;
            Ok(pipeline)
        }
    }
}

/// `pipelines/../sql/x.sql` -> `sql/x.sql`, with `/` separators on every platform.
fn normalise(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

/// The ONS LSOA → ward → district lookup and IMD 2019 ranks (`data/reference/`, OGL v3.0),
/// built in so that a partnership's project needs no reference files of its own.
pub const BUILTIN_LSOA_LOOKUP: &str = include_str!("../data/reference/lsoa11_ward19_lad19.csv");
pub const BUILTIN_IMD: &str = include_str!("../data/reference/lsoa11_imd19_rank.csv");

/// Where a reference dataset comes from when the store has none: the project's
/// `definitions/<dataset>.csv`, else the built-in copy.
fn reference_text(dataset: &str) -> Option<(String, std::borrow::Cow<'static, str>)> {
    let local = Path::new("definitions").join(format!("{dataset}.csv"));
    if let Ok(text) = std::fs::read_to_string(&local) {
        return Some((local.display().to_string(), text.into()));
    }
    let builtin_path = format!("definitions/{dataset}.csv");
    if let Some(text) = builtin(&builtin_path) {
        return Some((format!("{builtin_path} (built into svna)"), text.into()));
    }
    match dataset {
        "lsoa_lookup" => Some((
            "data/reference/lsoa11_ward19_lad19.csv (built into svna)".into(),
            BUILTIN_LSOA_LOOKUP.into(),
        )),
        "imd" => Some((
            "data/reference/lsoa11_imd19_rank.csv (built into svna)".into(),
            BUILTIN_IMD.into(),
        )),
        _ => None,
    }
}

/// Whether runs would read anything of the dataset (its staged manifest's active files).
async fn has_staged_data(store: &svna_storage::Store, dataset: &str) -> Result<bool> {
    let manifest =
        svna_intake::StagedManifest::read(store, dataset, svna_contracts::v1().version).await?;
    Ok(!manifest.active_files().is_empty())
}

/// Stages every reference dataset the pipeline reads that the store has no data for, from
/// the project's `definitions/` or the copies built into svna (each an ordinary load,
/// listed by `svna status`). Returns one line per dataset staged.
pub async fn stage_missing_references(
    store_location: &str,
    pipeline: &Pipeline,
) -> Result<Vec<String>> {
    use svna_storage::{Store, Zone};
    let store = Store::open(store_location)?.restricted_to(&[
        Zone::Landing,
        Zone::Staged,
        Zone::Quarantine,
    ]);
    let contracts = svna_contracts::v1();
    // Nothing is staged for a pipeline that cannot run anyway (its partner or open data is
    // missing): the run's own error says what to load, and the store is left as it was.
    for source in pipeline.sources.iter().filter(|s| !s.optional) {
        let kind = contracts.dataset(&source.dataset).map(|c| c.kind);
        if matches!(
            kind,
            Ok(svna_contracts::DatasetKind::Reference | svna_contracts::DatasetKind::Metadata)
        ) {
            continue;
        }
        if !has_staged_data(&store, &source.dataset).await? {
            return Ok(Vec::new());
        }
    }
    let mut staged = Vec::new();
    for source in &pipeline.sources {
        let Ok(contract) = contracts.dataset(&source.dataset) else {
            continue;
        };
        if contract.kind != svna_contracts::DatasetKind::Reference {
            continue;
        }
        if has_staged_data(&store, &source.dataset).await? {
            continue;
        }
        let Some((origin, text)) = reference_text(&source.dataset) else {
            continue;
        };
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let path = dir.path().join(format!("{}.csv", source.dataset));
        std::fs::write(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        let outcome = crate::cli::load_one(&store, &source.dataset, &path, &Default::default())
            .await
            .with_context(|| {
                format!(
                    "staging reference dataset `{}` from {origin}",
                    source.dataset
                )
            })?;
        crate::cli::ensure_clean(std::slice::from_ref(&outcome))?;
        staged.push(format!(
            "staged reference dataset `{}` from {origin} ({} rows)",
            source.dataset, outcome.record.rows_staged
        ));
    }
    Ok(staged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_pipeline_and_its_sql_are_built_in() {
        let pipeline = load_pipeline(&PipelineSource::Builtin(DEFAULT_PIPELINE)).unwrap();
        assert!(
            pipeline.stages.len() > 10,
            "{} stages",
            pipeline.stages.len()
        );
        let from_file =
            Pipeline::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_PIPELINE)).unwrap();
        assert_eq!(pipeline.file_sha256, from_file.file_sha256);
        for (built_in, on_disk) in pipeline.stages.iter().zip(&from_file.stages) {
            assert_eq!(built_in.sql_sha256, on_disk.sql_sha256, "{}", built_in.name);
        }
    }

    #[test]
    fn the_definitions_are_built_in() {
        let names: Vec<&str> = builtin_under("definitions").map(|(n, _)| n).collect();
        assert!(
            names.contains(&"definitions/sv_offence_codes.csv"),
            "{names:?}"
        );
        assert!(names.contains(&"definitions/age_bands.csv"), "{names:?}");
    }

    #[test]
    fn paths_are_normalised_relative_to_the_project() {
        assert_eq!(normalise(Path::new("pipelines/../sql/x.sql")), "sql/x.sql");
        assert_eq!(normalise(Path::new("./sql/x.sql")), "sql/x.sql");
    }
}
