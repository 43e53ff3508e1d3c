//! Throughput check for streaming pseudonymisation.
//!
//! Builds a police-style extract in memory (default 2,000,000 rows, 6 columns, one NHS
//! number column with valid check digits, spaced on every third row) and times
//! `pseudonymise_csv` over it, writing to a sink so only our work is measured.
//!
//! ```text
//! cargo run --release -p svna-pseudonymise --example pseudonymise_bench [ROWS]
//! cargo run --release -p svna-pseudonymise --example pseudonymise_bench -- --stream ROWS
//! ```
//!
//! `--stream` generates the rows lazily instead, so the process's peak memory (e.g. under
//! `/usr/bin/time -v`) shows what pseudonymisation itself needs for an arbitrarily large file.

use std::io::{self, Write};
use std::time::Instant;

use svna_pseudonymise::{KEY_LEN, LinkageKey, TokenSpec, nhs_check_digit, pseudonymise_csv};

/// Counts bytes written, then drops them.
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A deterministic valid NHS number for row `i` (skipping prefixes with check value 10).
fn nhs_for(mut seed: u64) -> [u8; 10] {
    loop {
        let mut digits = [0u8; 10];
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
        for d in digits[..9].iter_mut().rev() {
            *d = b'0' + (x % 10) as u8;
            x /= 10;
        }
        let nine: &[u8; 9] = digits[..9].try_into().unwrap();
        if let Some(check) = nhs_check_digit(nine) {
            digits[9] = b'0' + check;
            return digits;
        }
        seed += 1 << 40;
    }
}

/// Writes row `i` of the synthetic extract.
fn write_row(out: &mut Vec<u8>, i: usize) {
    let nhs = nhs_for(i as u64 % 500_000);
    let nhs = std::str::from_utf8(&nhs).unwrap();
    let nhs_field = if i.is_multiple_of(3) {
        format!("{} {} {}", &nhs[..3], &nhs[3..6], &nhs[6..])
    } else {
        nhs.to_string()
    };
    writeln!(
        out,
        "CR/{:07}/24,{},2024-{:02}-{:02},{},E0100{:04},\"knife, street\"",
        i,
        nhs_field,
        1 + i % 12,
        1 + i % 28,
        ["8N", "5D", "34A", "105A"][i % 4],
        i % 5000,
    )
    .unwrap();
}

const HEADER: &[u8] = b"offence_ref,nhs_number,recorded_date,ho_code,home_lsoa,notes\n";

/// Generates the extract on demand, one row at a time.
struct Generator {
    next: usize,
    rows: usize,
    pending: Vec<u8>,
    at: usize,
}

impl io::Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.pending.len() {
            if self.next == self.rows {
                return Ok(0);
            }
            self.pending.clear();
            self.at = 0;
            while self.pending.len() < 64 * 1024 && self.next < self.rows {
                write_row(&mut self.pending, self.next);
                self.next += 1;
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stream = args.iter().any(|a| a == "--stream");
    let rows: usize = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(|s| s.parse().expect("ROWS must be a number"))
        .unwrap_or(2_000_000);

    if stream {
        let key = LinkageKey::from_bytes([7; KEY_LEN]);
        let spec: TokenSpec = "nhs_number=person_id:nhs:person".parse().unwrap();
        let generator = Generator {
            next: 0,
            rows,
            pending: HEADER.to_vec(),
            at: 0,
        };
        let mut sink = CountingSink(0);
        let started = Instant::now();
        let stats = pseudonymise_csv(generator, &mut sink, &key, &[spec]).expect("pseudonymise");
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "streamed {} rows ({:.1} MB in, {:.1} MB out) in {elapsed:.2}s: {:.0} rows/s \
             (including generation)",
            stats.rows,
            stats.bytes_read as f64 / 1e6,
            sink.0 as f64 / 1e6,
            stats.rows as f64 / elapsed,
        );
        return;
    }

    let started = Instant::now();
    let mut input = Vec::with_capacity(rows * 90);
    input.extend_from_slice(HEADER);
    for i in 0..rows {
        write_row(&mut input, i);
    }
    let build = started.elapsed();

    let key = LinkageKey::from_bytes([7; KEY_LEN]);
    let specs: Vec<TokenSpec> = ["nhs_number=person_id:nhs:person"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let mut sink = CountingSink(0);
    let started = Instant::now();
    let stats = pseudonymise_csv(&input[..], &mut sink, &key, &specs).expect("pseudonymise");
    let elapsed = started.elapsed().as_secs_f64();

    let mb = input.len() as f64 / 1e6;
    println!(
        "built {rows} rows ({mb:.1} MB) in {:.2}s",
        build.as_secs_f64()
    );
    println!(
        "pseudonymised {} rows, {} tokens in {elapsed:.3}s: {:.0} rows/s, {:.1} MB/s in, {:.1} MB out",
        stats.rows,
        stats.tokens,
        stats.rows as f64 / elapsed,
        mb / elapsed,
        sink.0 as f64 / 1e6,
    );

    // Same again with two identifier columns, the police offence/person case.
    let specs: Vec<TokenSpec> = [
        "nhs_number=person_id:nhs:person",
        "offence_ref=offence_id:local:offence",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let mut sink = CountingSink(0);
    let started = Instant::now();
    let stats = pseudonymise_csv(&input[..], &mut sink, &key, &specs).expect("pseudonymise");
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "two token columns: {} tokens in {elapsed:.3}s: {:.0} rows/s, {:.1} MB/s in",
        stats.tokens,
        stats.rows as f64 / elapsed,
        mb / elapsed,
    );
}
