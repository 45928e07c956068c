//! A Rust program for the VS-mode backend's guest tests (riscv64, static): std's start-up,
//! the heap, collections, formatting, a file and an exit status, compared with a native run.

use std::collections::BTreeMap;

fn main() {
    let mut words: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..20_000u32 {
        *words.entry(format!("w{}", i % 97)).or_default() += i as usize;
    }
    let big: Vec<u64> = (0..1_000_000).collect();
    let version = std::fs::read_to_string("/proc/version").unwrap_or_default();
    println!(
        "rust in VU-mode: {} words, sum {}, big {}, kernel {}",
        words.len(),
        words.values().sum::<usize>(),
        big.iter().sum::<u64>(),
        version.split_whitespace().next().unwrap_or("?"),
    );
    std::process::exit(4);
}
