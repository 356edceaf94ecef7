//! The reader's parts on their own, single-threaded: `cargo bench -p cali-reg-dataset --bench reader`.
//! The whole reader (threads, hashing, derivation) is measured by `cargo xtask bench`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// Lines as `cargo xtask gen-data` writes them: nine signed decimals of five places.
fn lines(n: usize) -> Vec<u8> {
    let mut z = 0x9E37_79B9_7F4A_7C15_u64;
    let mut out = Vec::new();
    for _ in 0..n {
        let cells: Vec<String> = (0..9)
            .map(|_| {
                z ^= z << 13;
                z ^= z >> 7;
                z ^= z << 17;
                format!(
                    "{:.5}",
                    (z >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 100.0
                )
            })
            .collect();
        out.extend_from_slice(cells.join(",").as_bytes());
        out.push(b'\n');
    }
    out
}

fn parse(c: &mut Criterion) {
    let text = lines(100_000);
    let mut group = c.benchmark_group("parse_line");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("100k lines of 9 decimals", |b| {
        let used = [true; 9];
        let mut raw = [0.0; 9];
        b.iter(|| {
            for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                dataset::parse_line(black_box(line), &used, &mut raw).expect("clean lines");
            }
            raw[0]
        });
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
