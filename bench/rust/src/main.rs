//! The Rust driver of `make bench`: redb and libmdbx, each behind the
//! Backend trait, running the groups of bench/c/driver.c.
//!
//!   usage: bench-rust ENGINE VARIANT GROUP DIR N     ENGINE: redb | mdbx
//!          bench-rust selftest
//!          bench-rust engines                        the engines built in

mod backend;
mod driver;
#[cfg(feature = "mdbx")]
mod mdbx_backend;
#[cfg(feature = "redb")]
mod redb_backend;
mod stream;

use backend::Backend;
use std::path::Path;
use stream::{digest, make_key, make_value, Rng, Zipf, KEY_LEN, LOAD_SEED, VAL_LEN};

fn opener(engine: &str, dir: &Path, variant: &str) -> Option<Box<dyn Backend>> {
    match engine {
        #[cfg(feature = "redb")]
        "redb" => Some(Box::new(redb_backend::open(dir, variant))),
        #[cfg(feature = "mdbx")]
        "mdbx" => Some(Box::new(mdbx_backend::open(dir, variant))),
        _ => {
            let _ = (dir, variant);
            None
        }
    }
}

const ENGINES: &[&str] = &[
    #[cfg(feature = "redb")]
    "redb",
    #[cfg(feature = "mdbx")]
    "mdbx",
];

fn selftest() {
    let (mut k, mut v) = ([0u8; KEY_LEN], [0u8; VAL_LEN]);
    for i in 0..3u64 {
        make_key(i, &mut k);
        make_value(LOAD_SEED + i, &mut v);
        let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
        println!("key {i} {hex} value {:016x}", digest(&v));
    }
    let mut g = Rng(1);
    let below: Vec<String> = (0..8).map(|_| g.below(1_000_000).to_string()).collect();
    println!("below {}", below.join(" "));
    let z = Zipf::new(100_000);
    println!("zeta {:016x} eta {:016x}", z.zetan.to_bits(), z.eta.to_bits());
    let mut h = Rng(100);
    let (mut sum, mut zeros, mut first) = (0u64, 0u64, Vec::new());
    for i in 0..200_000 {
        let r = z.next(&mut h);
        if i < 12 {
            first.push(r.to_string());
        }
        sum = sum.wrapping_mul(31).wrapping_add(r);
        zeros += (r == 0) as u64;
    }
    println!("zipf {}", first.join(" "));
    println!("zipf 200000 draws: hash {sum:016x}, rank 0 drawn {zeros} times");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 2 && args[1] == "selftest" {
        return selftest();
    }
    if args.len() == 2 && args[1] == "engines" {
        return println!("{}", ENGINES.join(" "));
    }
    if args.len() != 6 {
        eprintln!(
            "usage: {0} ENGINE VARIANT core|ycsb|w1|w2|w3|w4-1|w4-4|load DIR N\n       {0} selftest | engines",
            args[0]
        );
        std::process::exit(2);
    }
    let (engine, variant, group, dir) = (&args[1], &args[2], &args[3], Path::new(&args[4]));
    let n: u64 = args[5].parse().ok().filter(|&n| n >= 16).unwrap_or_else(|| {
        eprintln!("{engine} {variant}: N must be at least 16: {}", args[5]);
        std::process::exit(2)
    });
    if !ENGINES.contains(&engine.as_str()) {
        eprintln!("{engine}: not built into this driver (built: {})", ENGINES.join(" "));
        std::process::exit(2);
    }
    let open = || opener(engine, dir, variant).expect("engine checked above");
    let run = driver::Run { engine, variant, dir, n };
    match group.as_str() {
        "core" => driver::group_core(&run, &open),
        "ycsb" => driver::group_ycsb(&run, &open),
        "load" => driver::group_load(&run, &open),
        wl => driver::group_writes(&run, &open, wl),
    }
}
