//! The partnership linkage key.
//!
//! One key is generated per partnership and shared out of band with every partner; whoever
//! holds it can link records (and test guesses of identifiers), so it is treated like a
//! password: generated from the operating system's CSPRNG, stored owner-only, never printed.
//! Partners compare [`fingerprint`]s, not keys, to check they hold the same one.
//!
//! # Key file format
//!
//! A key file holds the 32 key bytes as 64 hexadecimal characters on one line, followed by a
//! newline. Hex (rather than raw bytes) survives copy-paste, email-to-self mistakes being
//! caught by the length check, and text-mode transfers. [`load_key`] accepts upper- or
//! lower-case hex and ignores surrounding whitespace (so a CRLF line ending is fine).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Length of a linkage key in bytes. 256 bits matches SHA-256's output, the most strength
/// HMAC-SHA256 can deliver, and puts brute-forcing the key out of reach.
pub const KEY_LEN: usize = 32;

/// Message MACed to derive the fingerprint. It contains no 0x00 byte, whereas every token
/// message does (see [`crate::token`]), so a fingerprint can never equal the prefix of a token.
const FINGERPRINT_MESSAGE: &[u8] = b"svna key fingerprint v1";

/// Number of hex characters in a fingerprint (64 bits): enough that two different keys will
/// not share one by accident, short enough to read out over the phone.
const FINGERPRINT_HEX_LEN: usize = 16;

/// Largest key file we are willing to read. A real one is 65 or 66 bytes; the cap stops a
/// mistaken path (say, a data extract) from being slurped into memory.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// A partnership linkage key.
///
/// `Debug` shows the fingerprint, never the bytes, so keys cannot leak through logging.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkageKey([u8; KEY_LEN]);

impl LinkageKey {
    /// Draws a fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).map_err(KeyError::Random)?;
        Ok(Self(bytes))
    }

    /// Wraps known key bytes (tests, or a key held in a secrets manager).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Parses the key-file text form: 64 hex digits, surrounding whitespace ignored.
    ///
    /// Errors say how long the text was or where the first non-hex character is, but never
    /// echo the text, which may be (most of) a real key.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        parse_hex(text, None)
    }

    /// The raw key bytes, for building MACs.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key-file text form: 64 lowercase hex digits, no newline.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// See [`fingerprint`].
    pub fn fingerprint(&self) -> String {
        fingerprint(self)
    }
}

impl fmt::Debug for LinkageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkageKey(fingerprint {})", self.fingerprint())
    }
}

/// A short public identifier of a key: the first 16 hex characters of
/// `HMAC-SHA256(key, "svna key fingerprint v1")`.
///
/// Partners and the central team print and compare fingerprints to confirm they hold the same
/// key without ever showing the key. Because it is a MAC output, it reveals nothing about the
/// key, and equal keys always give equal fingerprints.
pub fn fingerprint(key: &LinkageKey) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(FINGERPRINT_MESSAGE);
    let digest = mac.finalize().into_bytes();
    let mut text = hex::encode(digest);
    text.truncate(FINGERPRINT_HEX_LEN);
    text
}

/// Generates a new key and writes it to `path` (see the module docs for the format).
///
/// The file is created with `create_new`, so an existing key (which partners may already be
/// using) is never overwritten, and on unix with mode 0600 from the start, so there is no
/// window in which it is readable by others. If writing fails the partial file is removed.
/// Returns the key so the caller can print its fingerprint.
pub fn generate_key_file(path: impl AsRef<Path>) -> Result<LinkageKey, KeyError> {
    let path = path.as_ref();
    let key = LinkageKey::generate()?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => KeyError::AlreadyExists {
            path: path.to_path_buf(),
        },
        _ => KeyError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    let written = writeln!(file, "{}", key.to_hex()).and_then(|()| file.sync_all());
    if let Err(source) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(KeyError::Io {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(key)
}

/// Loads a key written by [`generate_key_file`] (or by hand in the same format).
pub fn load_key(path: impl AsRef<Path>) -> Result<LinkageKey, KeyError> {
    let path = path.as_ref();
    let io_err = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => KeyError::NotFound {
            path: path.to_path_buf(),
        },
        _ => KeyError::Io {
            path: path.to_path_buf(),
            source,
        },
    };
    let file = File::open(path).map_err(io_err)?;
    let mut bytes = Vec::with_capacity(80);
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(KeyError::WrongLength {
            path: Some(path.to_path_buf()),
            found: None,
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| KeyError::NotHex {
        path: Some(path.to_path_buf()),
        position: e.valid_up_to() + 1,
    })?;
    parse_hex(text, Some(path))
}

/// On unix, returns the file's permission bits if group or others can access it, so the CLI
/// can warn (as ssh does) about a key that was copied somewhere with loose permissions.
/// Always `Ok(None)` elsewhere.
pub fn insecure_permissions(path: impl AsRef<Path>) -> Result<Option<u32>, KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = path.as_ref();
        let meta = fs::metadata(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        Ok((mode & 0o077 != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(None)
    }
}

fn parse_hex(text: &str, path: Option<&Path>) -> Result<LinkageKey, KeyError> {
    let trimmed = text.trim();
    // Report the first non-hex character before the length: "wrong length" would mislead if
    // the real problem is, say, a pasted base64 key.
    if let Some(index) = trimmed.chars().position(|c| !c.is_ascii_hexdigit()) {
        let leading = text.len() - text.trim_start().len();
        return Err(KeyError::NotHex {
            path: path.map(Path::to_path_buf),
            position: leading + index + 1,
        });
    }
    if trimmed.len() != 2 * KEY_LEN {
        return Err(KeyError::WrongLength {
            path: path.map(Path::to_path_buf),
            found: Some(trimmed.len()),
        });
    }
    let mut bytes = [0u8; KEY_LEN];
    hex::decode_to_slice(trimmed, &mut bytes).expect("64 hex digits decode to 32 bytes");
    Ok(LinkageKey(bytes))
}

fn describe(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!("key file {}", p.display()),
        None => "key".to_string(),
    }
}

fn describe_found(found: &Option<usize>) -> String {
    match found {
        Some(n) => format!("found {n}"),
        None => format!("file is over {MAX_KEY_FILE_BYTES} bytes"),
    }
}

/// Why a key could not be created or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The OS random source failed; we never fall back to a weaker generator.
    #[error("could not draw random bytes from the operating system: {0}")]
    Random(#[source] getrandom::Error),
    /// `generate_key_file` refuses to replace an existing key.
    #[error("{} already exists; refusing to overwrite an existing key", .path.display())]
    AlreadyExists { path: PathBuf },
    /// The key file does not exist.
    #[error("key file {} not found", .path.display())]
    NotFound { path: PathBuf },
    /// Any other I/O failure.
    #[error("key file {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    /// Not 64 hex characters.
    #[error("{}: expected {} hex characters ({KEY_LEN} bytes), {}", describe(.path), 2 * KEY_LEN, describe_found(.found))]
    WrongLength {
        path: Option<PathBuf>,
        found: Option<usize>,
    },
    /// A character that is not a hex digit, at a 1-based character position.
    #[error("{}: character {position} is not a hex digit", describe(.path))]
    NotHex {
        path: Option<PathBuf>,
        position: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_differ_and_round_trip_through_hex() {
        let a = LinkageKey::generate().unwrap();
        let b = LinkageKey::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(LinkageKey::from_hex(&a.to_hex()).unwrap(), a);
        assert_eq!(LinkageKey::from_hex(&a.to_hex().to_uppercase()).unwrap(), a);
    }

    #[test]
    fn key_file_is_owner_only_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("partnership.key");
        let key = generate_key_file(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", key.to_hex()));
        assert_eq!(load_key(&path).unwrap(), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            assert_eq!(insecure_permissions(&path).unwrap(), None);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(insecure_permissions(&path).unwrap(), Some(0o644));
        }
    }

    #[test]
    fn generate_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("partnership.key");
        let first = generate_key_file(&path).unwrap();
        let err = generate_key_file(&path).unwrap_err();
        assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err}");
        assert!(err.to_string().contains("refusing to overwrite"));
        // The original key is untouched.
        assert_eq!(load_key(&path).unwrap(), first);
    }

    #[test]
    fn load_errors_are_specific() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.key");
        assert!(matches!(
            load_key(&missing).unwrap_err(),
            KeyError::NotFound { .. }
        ));

        let short = dir.path().join("short.key");
        fs::write(&short, "abcd\n").unwrap();
        let err = load_key(&short).unwrap_err();
        assert!(
            matches!(err, KeyError::WrongLength { found: Some(4), .. }),
            "{err}"
        );
        assert!(err.to_string().contains("expected 64 hex characters"));

        let bad = dir.path().join("bad.key");
        let mut text = "a".repeat(64);
        text.replace_range(10..11, "g");
        fs::write(&bad, format!("{text}\r\n")).unwrap();
        let err = load_key(&bad).unwrap_err();
        assert!(
            matches!(err, KeyError::NotHex { position: 11, .. }),
            "{err}"
        );
        // The message never contains the key text.
        assert!(!err.to_string().contains("aaaa"));

        let crlf = dir.path().join("crlf.key");
        fs::write(&crlf, format!("{}\r\n", "0f".repeat(32))).unwrap();
        assert_eq!(load_key(&crlf).unwrap().as_bytes(), &[0x0f; 32]);

        let huge = dir.path().join("huge.key");
        fs::write(&huge, vec![b'a'; 10_000]).unwrap();
        assert!(matches!(
            load_key(&huge).unwrap_err(),
            KeyError::WrongLength { found: None, .. }
        ));
    }

    #[test]
    fn fingerprint_is_stable_short_and_keyed() {
        let a = LinkageKey::from_bytes([1; KEY_LEN]);
        let a2 = LinkageKey::from_bytes([1; KEY_LEN]);
        let b = LinkageKey::from_bytes([2; KEY_LEN]);
        assert_eq!(fingerprint(&a), fingerprint(&a2));
        assert_ne!(fingerprint(&a), fingerprint(&b));
        let fp = fingerprint(&a);
        assert_eq!(fp.len(), 16);
        assert!(fp.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        // Independently computed: first 8 bytes of HMAC-SHA256(key, message).
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[1; KEY_LEN]).unwrap();
        mac.update(b"svna key fingerprint v1");
        assert_eq!(fp, hex::encode(&mac.finalize().into_bytes()[..8]));
        // The fingerprint does not contain the key.
        assert!(!a.to_hex().contains(&fp));
        // Pinned to a value computed outside Rust (Python's hmac module), for the key
        // 00 01 02 … 1f, so the fingerprint partners compare cannot drift between releases.
        let counting: [u8; KEY_LEN] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            fingerprint(&LinkageKey::from_bytes(counting)),
            "8915ab0d69c1e402"
        );
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = LinkageKey::from_bytes([0xab; KEY_LEN]);
        let shown = format!("{key:?}");
        assert!(!shown.contains("abab"), "{shown}");
        assert!(shown.contains(&key.fingerprint()));
    }
}
