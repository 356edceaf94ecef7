//! Single-threaded parse speed of a CSV's lines (a development aid): `cargo run --release -p dataset --example parse_speed FILE`.
fn main() {
    let path = std::env::args().nth(1).expect("a CSV file");
    let text = std::fs::read(&path).expect("readable");
    let body = &text[text.iter().position(|&b| b == b'\n').expect("a header") + 1..];
    let lines: Vec<&[u8]> = body
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .take(2_000_000)
        .collect();
    let n = lines[0].split(|&b| b == b',').count();
    let used = vec![true; n];
    let mut raw = vec![0.0; n];
    let mut sum = 0.0;
    let start = std::time::Instant::now();
    for l in &lines {
        dataset::parse_line(l, &used, &mut raw).expect("parses");
        sum += raw[0];
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "{} lines, {:.1} ns/line, {:.2} GB/s ({sum})",
        lines.len(),
        t * 1e9 / lines.len() as f64,
        lines.iter().map(|l| l.len() + 1).sum::<usize>() as f64 / t / 1e9
    );
}
