use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use svna_records::{DisclosureSpec, Sensitivity};

/// A parsed and checked pipeline: sources, stages in dependency order, their SQL.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub description: String,
    /// SHA-256 of the pipeline file, recorded in run records.
    pub file_sha256: String,
    pub file: String,
    pub sources: Vec<Source>,
    /// Stages in an order where every stage comes after what it needs.
    pub stages: Vec<Stage>,
}

/// A staged contract dataset made available to stages under a table name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub name: String,
    pub dataset: String,
    #[serde(default)]
    pub description: String,
    /// A source the pipeline can run without (e.g. population: without it rates stay
    /// empty): when nothing is staged its stages read an empty table, and the run record
    /// says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// A test that runs after a stage: a query that must return no rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageTest {
    pub name: String,
    pub sql: String,
    /// A warning, not a failure: when the query returns rows the run goes on and its
    /// record (and `svna run`'s output) carries the test's name as a warning.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warn: bool,
}

/// One SQL stage.
#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub description: String,
    pub sql_file: PathBuf,
    pub sql: String,
    pub sql_sha256: String,
    pub needs: Vec<String>,
    pub sensitivity: Sensitivity,
    pub disclosure: Option<DisclosureSpec>,
    pub tests: Vec<StageTest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "source")]
    sources: Vec<Source>,
    #[serde(default, rename = "stage")]
    stages: Vec<StageFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageFile {
    name: String,
    #[serde(default)]
    description: String,
    sql: PathBuf,
    #[serde(default)]
    needs: Vec<String>,
    sensitivity: Sensitivity,
    /// Read as a value and parsed once the stage's name is known, so that an error in it
    /// (a misspelt policy above all) names the stage; the span gives its line.
    #[serde(default)]
    disclosure: Option<toml::Spanned<toml::Value>>,
    #[serde(default, rename = "test")]
    tests: Vec<StageTest>,
}

/// A stage's `disclosure` table as a typed spec; an error names the file, stage and line.
fn disclosure_spec(
    spec: toml::Spanned<toml::Value>,
    text: &str,
    file: &str,
    stage: &str,
) -> Result<DisclosureSpec, EngineError> {
    let line = line_of(text, spec.span().start);
    let mut unknown = Vec::new();
    let parsed: DisclosureSpec =
        serde_ignored::deserialize(spec.into_inner(), |path| unknown.push(path.to_string()))
            .map_err(|source| EngineError::Disclosure {
                file: file.to_string(),
                stage: stage.to_string(),
                line,
                source: Box::new(source),
            })?;
    if !unknown.is_empty() {
        return Err(EngineError::DisclosureUnknownKeys {
            file: file.to_string(),
            stage: stage.to_string(),
            line,
            keys: unknown.join("`, `"),
        });
    }
    Ok(parsed)
}

/// The 1-based line of a byte offset in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

impl Pipeline {
    /// Reads a pipeline file; stage SQL paths are relative to the file's directory.
    pub fn load(path: &Path) -> Result<Pipeline, EngineError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| EngineError::PipelineRead {
            file: file.clone(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, &file, &|sql: &Path| {
            let full = base.join(sql);
            std::fs::read_to_string(&full).map(|text| (full, text))
        })
    }

    /// Parses pipeline text; `read_sql` loads a stage's SQL file (injected so tests can
    /// supply SQL without files).
    pub fn from_toml(
        text: &str,
        file: &str,
        read_sql: &dyn Fn(&Path) -> std::io::Result<(PathBuf, String)>,
    ) -> Result<Pipeline, EngineError> {
        let parsed: PipelineFile =
            toml::from_str(text).map_err(|source| EngineError::PipelineToml {
                file: file.to_string(),
                source: Box::new(source),
            })?;
        let mut stages = Vec::new();
        for s in parsed.stages {
            // A stage's name becomes an object path (`work/<run>/<stage>.parquet`), read back
            // by the stages that need it: `../../x` would read and write outside the store.
            svna_contracts::check_name(svna_contracts::NameKind::Stage, &s.name).map_err(
                |source| EngineError::StageName {
                    file: file.to_string(),
                    source,
                },
            )?;
            let (sql_file, sql) = read_sql(&s.sql).map_err(|source| EngineError::SqlFile {
                file: file.to_string(),
                stage: s.name.clone(),
                sql_file: s.sql.clone(),
                source,
            })?;
            let disclosure = s
                .disclosure
                .map(|spec| disclosure_spec(spec, text, file, &s.name))
                .transpose()?;
            if s.sensitivity == Sensitivity::Aggregate && disclosure.is_none() {
                return Err(EngineError::NoDisclosure {
                    file: file.to_string(),
                    stage: s.name,
                });
            }
            stages.push(Stage {
                sql_sha256: svna_storage::sha256_hex(sql.as_bytes()),
                name: s.name,
                description: s.description,
                sql_file,
                sql,
                needs: s.needs,
                sensitivity: s.sensitivity,
                disclosure,
                tests: s.tests,
            });
        }
        let pipeline = Pipeline {
            name: parsed.name,
            description: parsed.description,
            file_sha256: svna_storage::sha256_hex(text.as_bytes()),
            file: file.to_string(),
            sources: parsed.sources,
            stages,
        };
        pipeline.check_names()?;
        let ordered = pipeline.dependency_order()?;
        Ok(Pipeline {
            stages: ordered,
            ..pipeline
        })
    }

    fn check_names(&self) -> Result<(), EngineError> {
        let mut seen = BTreeSet::new();
        let names = self
            .sources
            .iter()
            .map(|s| &s.name)
            .chain(self.stages.iter().map(|s| &s.name));
        for name in names {
            if !seen.insert(name.as_str()) {
                return Err(EngineError::DuplicateName {
                    pipeline: self.name.clone(),
                    name: name.clone(),
                });
            }
        }
        for stage in &self.stages {
            for need in &stage.needs {
                if !seen.contains(need.as_str()) {
                    return Err(EngineError::UnknownNeed {
                        pipeline: self.name.clone(),
                        stage: stage.name.clone(),
                        need: need.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Depth-first topological order; a cycle is reported as the path that closes it.
    fn dependency_order(&self) -> Result<Vec<Stage>, EngineError> {
        let by_name: BTreeMap<&str, &Stage> =
            self.stages.iter().map(|s| (s.name.as_str(), s)).collect();
        let mut state: BTreeMap<&str, bool> = BTreeMap::new(); // false = on the path, true = done
        let mut order = Vec::new();
        fn visit<'a>(
            name: &'a str,
            by_name: &BTreeMap<&'a str, &'a Stage>,
            state: &mut BTreeMap<&'a str, bool>,
            path: &mut Vec<&'a str>,
            order: &mut Vec<Stage>,
        ) -> Result<(), String> {
            match state.get(name) {
                Some(true) => return Ok(()),
                Some(false) => {
                    let start = path.iter().position(|n| *n == name).unwrap_or(0);
                    let mut cycle: Vec<&str> = path[start..].to_vec();
                    cycle.push(name);
                    return Err(cycle.join(" -> "));
                }
                None => {}
            }
            let Some(stage) = by_name.get(name) else {
                return Ok(());
            }; // a source
            state.insert(name, false);
            path.push(name);
            for need in &stage.needs {
                visit(need, by_name, state, path, order)?;
            }
            path.pop();
            state.insert(name, true);
            order.push((*stage).clone());
            Ok(())
        }
        for stage in &self.stages {
            visit(
                &stage.name,
                &by_name,
                &mut state,
                &mut Vec::new(),
                &mut order,
            )
            .map_err(|cycle| EngineError::Cycle {
                pipeline: self.name.clone(),
                cycle,
            })?;
        }
        Ok(order)
    }

    pub fn stage(&self, name: &str) -> Result<&Stage, EngineError> {
        self.stages
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| EngineError::UnknownStage {
                pipeline: self.name.clone(),
                stage: name.to_string(),
            })
    }

    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The stages to run for `target` (it and everything it needs), in dependency order;
    /// all stages when no target is given.
    pub fn plan(&self, target: Option<&str>) -> Result<Vec<&Stage>, EngineError> {
        let Some(target) = target else {
            return Ok(self.stages.iter().collect());
        };
        self.stage(target)?;
        let mut wanted = BTreeSet::from([target.to_string()]);
        for stage in self.stages.iter().rev() {
            if wanted.contains(&stage.name) {
                wanted.extend(stage.needs.iter().cloned());
            }
        }
        Ok(self
            .stages
            .iter()
            .filter(|s| wanted.contains(&s.name))
            .collect())
    }
}
