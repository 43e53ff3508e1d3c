//! Randomness: per-dataset streams, hash-derived tokens and a few samplers.
//!
//! Samplers are written here rather than pulled from `rand_distr` because the generator needs
//! only four, and owning them keeps the output stable across dependency upgrades.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// The random stream of one dataset.
pub(crate) type Stream = ChaCha8Rng;

/// An independent stream per (seed, name): datasets never share or perturb each other's draws.
pub(crate) fn stream(seed: u64, name: &str) -> Stream {
    let mut h = Sha256::new();
    h.update(b"svna-synth/stream\0");
    h.update(seed.to_le_bytes());
    h.update(name.as_bytes());
    ChaCha8Rng::from_seed(h.finalize().into())
}

/// A 32-byte digest standing in for an HMAC token: SHA-256(seed, domain, parts). Domains keep
/// person and offence tokens apart, as partners' real HMAC domains do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Token(pub [u8; 32]);

impl Token {
    pub(crate) fn derive(seed: u64, domain: &str, parts: &[u64]) -> Token {
        let mut h = Sha256::new();
        h.update(b"svna-synth/token\0");
        h.update(seed.to_le_bytes());
        h.update(domain.as_bytes());
        h.update([0u8]);
        for p in parts {
            h.update(p.to_le_bytes());
        }
        Token(h.finalize().into())
    }

    /// 64 lowercase hex characters.
    pub(crate) fn hex(&self) -> TokenHex {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = DIGITS[(b >> 4) as usize];
            out[2 * i + 1] = DIGITS[(b & 15) as usize];
        }
        TokenHex(out)
    }

    /// A uniform number in [0, 1) from the `k`-th 8 bytes of the digest (k < 4): attributes
    /// of a person derived from their token are stable wherever the person appears.
    pub(crate) fn unit(&self, k: usize) -> f64 {
        let bytes: [u8; 8] = self.0[8 * k..8 * k + 8].try_into().expect("8 bytes");
        (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A token rendered as hex, on the stack.
pub(crate) struct TokenHex([u8; 64]);

impl std::fmt::Display for TokenHex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TokenHex {
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex is ASCII")
    }
}

/// Cumulative weights for sampling an index in proportion to its weight.
#[derive(Debug, Clone)]
pub(crate) struct Weighted {
    cum: Vec<f64>,
}

impl Weighted {
    /// Panics on an empty or all-zero table: tables are built by the generator, not users.
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cum: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        assert!(total > 0.0, "a weight table needs a positive total");
        Weighted { cum }
    }

    /// The index whose cumulative band holds `u` in [0, 1).
    pub(crate) fn pick_unit(&self, u: f64) -> usize {
        let target = u * self.cum[self.cum.len() - 1];
        self.cum
            .partition_point(|&c| c <= target)
            .min(self.cum.len() - 1)
    }

    pub(crate) fn sample(&self, rng: &mut Stream) -> usize {
        self.pick_unit(rng.random::<f64>())
    }
}

/// Picks from a small literal table of (value, weight); a linear scan beats building a table.
pub(crate) fn pick<T: Copy>(rng: &mut Stream, table: &[(T, f64)]) -> T {
    let total: f64 = table.iter().map(|(_, w)| w).sum();
    let mut target = rng.random::<f64>() * total;
    for (value, weight) in table {
        if target < *weight {
            return *value;
        }
        target -= weight;
    }
    table[table.len() - 1].0
}

/// A standard normal draw (Box-Muller).
pub(crate) fn normal(rng: &mut Stream) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// exp(sigma * N(0,1)): the multiplicative noise of most area-level counts.
pub(crate) fn lognormal(rng: &mut Stream, sigma: f64) -> f64 {
    (sigma * normal(rng)).exp()
}

/// A Poisson count: Knuth's method for small means, a rounded normal above (the error is
/// invisible at those means and it keeps every draw O(1)).
pub(crate) fn poisson(rng: &mut Stream, lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = rng.random::<f64>();
        while p > limit {
            k += 1;
            p *= rng.random::<f64>();
        }
        return k;
    }
    (lambda + lambda.sqrt() * normal(rng) + 0.5)
        .floor()
        .max(0.0) as u64
}

/// An index in [0, n) skewed to the low end: P(index < x n) = x^(1/power). With power > 1 a
/// few low indices are drawn again and again, which is how repeat victims, prolific suspects
/// and the cross-agency cohort arise without storing anyone.
pub(crate) fn skewed_index(rng: &mut Stream, n: u64, power: f64) -> u64 {
    let x = rng.random::<f64>().powf(power);
    ((n as f64 * x) as u64).min(n.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hex_and_domain_separated() {
        let a = Token::derive(1, "person", &[1, 2]);
        let b = Token::derive(1, "offence", &[1, 2]);
        assert_ne!(a, b);
        let hex = a.hex();
        assert_eq!(hex.as_str().len(), 64);
        assert!(
            hex.as_str()
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
    }

    #[test]
    fn poisson_mean_is_close() {
        let mut rng = stream(7, "t");
        for lambda in [0.5, 5.0, 80.0] {
            let n = 20_000;
            let mean = (0..n).map(|_| poisson(&mut rng, lambda)).sum::<u64>() as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < lambda * 0.05 + 0.05,
                "{lambda}: {mean}"
            );
        }
    }

    #[test]
    fn weighted_respects_zero_weights() {
        let w = Weighted::new([0.0, 1.0, 0.0, 3.0]);
        let mut rng = stream(3, "w");
        for _ in 0..1000 {
            let i = w.sample(&mut rng);
            assert!(i == 1 || i == 3);
        }
    }
}
