//! Keyed, domain-separated identifier tokens.
//!
//! # Token layout
//!
//! ```text
//! token = lowercase_hex( HMAC-SHA256( key, domain_tag ‖ 0x00 ‖ normalised_value ) )
//! ```
//!
//! * `domain_tag` is the ASCII name of the [`Domain`] (`person`, `offence`). Tags contain no
//!   0x00 byte, so the first 0x00 in a message marks where the tag ends and the mapping from
//!   `(domain, value)` to message is injective: a person token can never equal an offence
//!   token, even for the same value, and nobody can use one domain's tokens in another.
//! * `normalised_value` is the UTF-8 output of [`crate::normalise()`], so spelling differences
//!   between partners ("943 476 5919" vs "9434765919") do not change the token.
//! * HMAC rather than a plain hash: without the key a token cannot be recomputed from a
//!   guessed identifier, and a different partnership's key gives unrelated tokens.
//!
//! Changing any of this changes every token and breaks linkage with earlier extracts, so the
//! layout is pinned by a known-answer test.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::key::LinkageKey;
use crate::normalise::{IdKind, NormaliseError, normalise};

/// Length of a token in hex characters (SHA-256 output, 32 bytes).
pub const TOKEN_HEX_LEN: usize = 64;

/// What a token identifies. Separate domains keep different kinds of entity from ever sharing
/// a token, and stop a token from one role being replayed in another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Domain {
    /// A person (victim, suspect, offender, patient, pupil): the `person_id` columns.
    Person,
    /// An offence or crime record: the `offence_id` columns.
    Offence,
}

impl Domain {
    /// Every domain, in tag order.
    pub const ALL: [Domain; 2] = [Domain::Person, Domain::Offence];

    /// The domain tag as written in the CLI and hashed into the token.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Person => "person",
            Domain::Offence => "offence",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Domain {
    type Err = ParseDomainError;

    /// Case-insensitive `person` or `offence`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Domain::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseDomainError(s.to_string()))
    }
}

/// An unknown domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown token domain `{0}` (expected `person` or `offence`)")]
pub struct ParseDomainError(pub String);

/// Computes tokens for one key, fast.
///
/// HMAC's key schedule (hashing the padded key into the inner and outer SHA-256 states) and
/// the domain prefix are done once in [`Tokeniser::new`]; each token then clones a
/// ready-made state and hashes only the value. This is what makes a million rows a second
/// possible.
#[derive(Clone)]
pub struct Tokeniser {
    /// Per domain (indexed by `Domain::index`): HMAC state with `tag ‖ 0x00` already absorbed.
    prefixed: [Hmac<Sha256>; Domain::ALL.len()],
}

impl Tokeniser {
    /// Precomputes the HMAC states for `key`.
    pub fn new(key: &LinkageKey) -> Self {
        let base = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
            .expect("HMAC accepts keys of any length");
        let prefixed = Domain::ALL.map(|domain| {
            let mut mac = base.clone();
            mac.update(domain.as_str().as_bytes());
            mac.update(&[0x00]);
            mac
        });
        Self { prefixed }
    }

    /// Writes the token of an already-normalised value into `out` as lowercase hex, without
    /// allocating (the streaming path calls this once per identifier).
    pub fn token_into(&self, domain: Domain, normalised: &[u8], out: &mut [u8; TOKEN_HEX_LEN]) {
        let mut mac = self.prefixed[domain.index()].clone();
        mac.update(normalised);
        let digest = mac.finalize().into_bytes();
        hex::encode_to_slice(digest, out).expect("32 bytes encode to 64 hex characters");
    }

    /// The token of an already-normalised value.
    pub fn token(&self, domain: Domain, normalised: &str) -> String {
        let mut out = [0u8; TOKEN_HEX_LEN];
        self.token_into(domain, normalised.as_bytes(), &mut out);
        String::from_utf8(out.to_vec()).expect("hex is ASCII")
    }

    /// Normalises a raw identifier of `kind` and returns its token.
    pub fn token_for(
        &self,
        kind: IdKind,
        domain: Domain,
        raw: &str,
    ) -> Result<String, NormaliseError> {
        Ok(self.token(domain, &normalise(kind, raw)?))
    }
}

impl fmt::Debug for Tokeniser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The HMAC states are key material.
        f.write_str("Tokeniser { .. }")
    }
}

/// One-off token of an already-normalised value. For many values build a [`Tokeniser`].
pub fn token(key: &LinkageKey, domain: Domain, normalised: &str) -> String {
    Tokeniser::new(key).token(domain, normalised)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KEY_LEN;

    fn key(byte: u8) -> LinkageKey {
        LinkageKey::from_bytes([byte; KEY_LEN])
    }

    fn counting_key() -> LinkageKey {
        let mut bytes = [0u8; KEY_LEN];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        LinkageKey::from_bytes(bytes)
    }

    #[test]
    fn known_answer_matches_independent_hmac() {
        let key = counting_key();
        let got = token(&key, Domain::Person, "9434765919");

        // Recomputed here from the documented layout with the hmac crate directly.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(b"person\x009434765919");
        assert_eq!(got, hex::encode(mac.finalize().into_bytes()));

        // And pinned to a value computed outside Rust (Python's hmac module), so a change of
        // layout or library is caught even if both sides above changed together.
        assert_eq!(
            got,
            "d073d0213d77a36c6e9422f8523982795fe6f4e40062bb7056828ea2d67735dc"
        );
        assert_eq!(
            token(&key, Domain::Offence, "CR/123/24"),
            "a042513677e4b9aa1021edae1883a221de19aa8619d8f3843284266879a8b2c5"
        );
    }

    #[test]
    fn tokens_are_stable_and_keyed() {
        let a = Tokeniser::new(&key(7));
        let a_again = Tokeniser::new(&key(7));
        let b = Tokeniser::new(&key(8));
        let t = a.token(Domain::Person, "9434765919");
        assert_eq!(t, a.token(Domain::Person, "9434765919"));
        assert_eq!(t, a_again.token(Domain::Person, "9434765919"));
        assert_ne!(t, b.token(Domain::Person, "9434765919"));
        assert_ne!(t, a.token(Domain::Person, "9434765927"));
    }

    #[test]
    fn domains_are_separated() {
        let t = Tokeniser::new(&key(3));
        assert_ne!(
            t.token(Domain::Person, "ABC123"),
            t.token(Domain::Offence, "ABC123")
        );
        // The 0x00 separator stops "person" + "x" colliding with a tag/value split elsewhere.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key(3).as_bytes()).unwrap();
        mac.update(b"personABC123");
        assert_ne!(
            t.token(Domain::Person, "ABC123"),
            hex::encode(mac.finalize().into_bytes())
        );
    }

    #[test]
    fn token_for_normalises_first() {
        let t = Tokeniser::new(&key(1));
        assert_eq!(
            t.token_for(IdKind::Nhs, Domain::Person, "943 476 5919")
                .unwrap(),
            t.token(Domain::Person, "9434765919")
        );
        assert!(
            t.token_for(IdKind::Nhs, Domain::Person, "9434765918")
                .is_err()
        );
    }

    #[test]
    fn domain_parses_case_insensitively() {
        assert_eq!("person".parse::<Domain>().unwrap(), Domain::Person);
        assert_eq!("OFFENCE".parse::<Domain>().unwrap(), Domain::Offence);
        assert!("household".parse::<Domain>().is_err());
        for d in Domain::ALL {
            assert_eq!(d.to_string().parse::<Domain>().unwrap(), d);
        }
    }

    #[test]
    fn debug_hides_key_material() {
        assert_eq!(format!("{:?}", Tokeniser::new(&key(9))), "Tokeniser { .. }");
    }
}
