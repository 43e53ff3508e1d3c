//! Intake's view of extract validation. The checks themselves live in
//! [`svna_contracts::read_extract`], so `svna validate` on a partner's machine, `svna upload`
//! and the hub's intake cannot drift apart; this module only maps a refusal onto intake's
//! errors, whose variants `load` records as refusals.

use std::io::Read;

use arrow_array::RecordBatch;
use svna_contracts::ExtractError;
pub use svna_contracts::{ExtractReader, Rejection, RowCounts};

use crate::error::IntakeError;

/// Reads a CSV extract against its contract, streaming: see [`svna_contracts::read_extract`].
/// Valid rows go to `on_batch` as typed Arrow batches; each invalid row goes to `on_reject`
/// once per broken rule; a file the contract refuses whole is an error naming file and line.
pub fn read_extract(
    reader: impl Read,
    options: &ExtractReader<'_>,
    on_batch: impl FnMut(RecordBatch) -> Result<(), IntakeError>,
    on_reject: impl FnMut(Rejection),
) -> Result<RowCounts, IntakeError> {
    svna_contracts::read_extract(reader, options, on_batch, on_reject)
}

/// Keeps intake's error variants (and so `load`'s choice of what is recorded as a refused
/// file) while the wording, file and line come from the shared validator.
impl From<ExtractError> for IntakeError {
    fn from(error: ExtractError) -> Self {
        let message = error.to_string();
        match error {
            ExtractError::Empty { file } => IntakeError::Empty { file },
            ExtractError::Header {
                file,
                dataset,
                problems,
            } => IntakeError::Header {
                problems: format!(
                    "{}; use the column names of `svna contracts {dataset}`",
                    svna_contracts::describe_header_problems(&problems)
                ),
                file,
                dataset,
            },
            ExtractError::DirectIdentifier {
                file,
                line,
                column,
                what,
            } => IntakeError::DirectIdentifier {
                file,
                column,
                // Intake's message gives the advice itself: say it once.
                reason: format!(
                    "line {line}: {}",
                    what.trim_end_matches(svna_contracts::PSEUDONYMISE_ADVICE)
                        .trim_end_matches([',', ' '])
                ),
            },
            ExtractError::Arrow { file, source } => IntakeError::Arrow {
                file,
                action: "write",
                source,
            },
            ExtractError::Csv { file, line, source } => IntakeError::Csv { file, line, source },
            // Files that cannot be read as text lines (wrong encoding, a runaway line) are
            // refused as CSV errors too: the message is the validator's, the line its line.
            ExtractError::Encoding { ref file, .. }
            | ExtractError::LineTooLong { ref file, .. } => IntakeError::Unreadable {
                file: file.clone(),
                line: error.line().unwrap_or(1),
                reason: strip_location(&message, file),
            },
        }
    }
}

/// The validator's message without its `file:line: ` prefix, which intake's own
/// `file: cannot read CSV at line N:` wording repeats.
fn strip_location(message: &str, file: &str) -> String {
    let rest = message.strip_prefix(file).unwrap_or(message);
    let rest = rest.trim_start_matches(':');
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.trim_start_matches(':').trim_start().to_string()
}
