//! Partner-side pseudonymisation for svna.
//!
//! Partners (police, health, probation, youth justice, schools) run this *before* an extract
//! leaves their network. Each direct identifier (NHS number, PNC ID, local case reference) is
//! normalised and replaced by a keyed token, `HMAC-SHA256(key, domain ‖ 0x00 ‖ value)`, written
//! as 64 lowercase hex characters. Every partner in a partnership holds the same
//! [`LinkageKey`], so the same person gets the same `person_id` in every extract and the
//! records can be linked centrally without anyone at the centre seeing an identifier. Without
//! the key a token cannot be reversed or recomputed from a guessed NHS number, which a plain
//! hash would allow (there are only about 10⁹ NHS numbers).
//!
//! The modules follow the flow of a run:
//!
//! * [`key`]: create, load and fingerprint the partnership linkage key;
//! * [`normalise`](mod@normalise): turn the many spellings of one identifier into one canonical string, so
//!   that formatting differences between partners do not break linkage;
//! * [`token`](mod@token): the keyed, domain-separated token itself;
//! * [`matchkey`]: match keys, keyed tokens of normalised identifier combinations (names,
//!   date of birth, sex, postcode, national ids) for linking partners that share no identifier;
//! * [`csv_stream`]: stream a CSV extract of any size, replacing identifier columns by tokens;
//! * [`identifiers`]: spot direct identifiers that are still present, so the validator can
//!   refuse a file that was not pseudonymised.
//!
//! Errors never echo an identifier's value, only its line and column: error messages end up
//! in terminals, logs and support tickets, which are not cleared to hold personal data.

pub mod csv_stream;
pub mod identifiers;
pub mod key;
pub mod matchkey;
pub mod normalise;
pub mod token;

pub use csv_stream::{
    EmptyPolicy, Options, PseudonymiseError, Stats, TokenSpec, TokenSpecError, pseudonymise_csv,
    pseudonymise_csv_with, pseudonymise_file,
};
pub use identifiers::{
    IdentifierFinding, IdentifierKind, is_valid_nhs_number, looks_like_token,
    looks_like_uk_postcode, scan_column, suspicious_column_name,
};
pub use key::{
    KEY_LEN, KeyError, LinkageKey, fingerprint, generate_key_file, insecure_permissions, load_key,
};
pub use matchkey::{
    Identifier, Identity, MatchKey, MatchKeyError, MatchKeySpec, MatchKeySpecError,
    MatchKeyTokeniser,
};
pub use normalise::{
    IdKind, NormaliseError, ParseIdKindError, nhs_check_digit, normalise, normalise_into,
};
pub use token::{Domain, ParseDomainError, TOKEN_HEX_LEN, Tokeniser, token};
