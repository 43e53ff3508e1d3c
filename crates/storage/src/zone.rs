/// The zones of a store. Row-level data (landing, staged, work, quarantine) and publishable
/// aggregates (outputs after checks, published releases) live under different prefixes so a
/// partnership can give each role access to its own zones only (see README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Zone {
    /// Partner uploads as sent (row-level, pseudonymised).
    Landing,
    /// Typed, validated Parquet per dataset (row-level).
    Staged,
    /// Intermediate stage results of a run (row-level).
    Work,
    /// Aggregate stage results of a run, before disclosure control.
    Outputs,
    /// Disclosure-controlled releases: the only zone meant to leave the partnership.
    Published,
    /// Uploads or rows that failed checks, kept with the reason; nothing is deleted.
    Quarantine,
    /// Run records.
    Runs,
}

impl Zone {
    pub const ALL: [Zone; 7] = [
        Zone::Landing,
        Zone::Staged,
        Zone::Work,
        Zone::Outputs,
        Zone::Published,
        Zone::Quarantine,
        Zone::Runs,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Zone::Landing => "landing",
            Zone::Staged => "staged",
            Zone::Work => "work",
            Zone::Outputs => "outputs",
            Zone::Published => "published",
            Zone::Quarantine => "quarantine",
            Zone::Runs => "runs",
        }
    }

    /// A path inside this zone, relative to the store root.
    pub fn join(self, rest: &str) -> String {
        format!("{}/{}", self.prefix(), rest.trim_start_matches('/'))
    }

    /// Whether the zone may hold person tokens or row-level records.
    pub fn holds_row_level_data(self) -> bool {
        matches!(
            self,
            Zone::Landing | Zone::Staged | Zone::Work | Zone::Quarantine
        )
    }
}
