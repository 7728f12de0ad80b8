//! Helpers shared by the adversarial test files (`tests/adversarial_*.rs`):
//! the `THUNDER_ADVERSARIAL_SCALE` multiplier for longer runs, options at a
//! given page size, and random byte strings of random length.

use thunder::Options;

use super::Rng;

/// `THUNDER_ADVERSARIAL_SCALE` (default 1) times `n`: the default keeps the
/// files within the time `make check` allows; longer runs raise it.
pub fn scaled(n: u64) -> u64 {
    let scale: u64 = std::env::var("THUNDER_ADVERSARIAL_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    n * scale.max(1)
}

/// Default options with page size `ps`.
pub fn opts_ps(ps: u32) -> Options {
    Options::new().page_size(ps).unwrap()
}

/// Up to `max - 1` random bytes.
pub fn rbytes(rng: &mut Rng, max: u64) -> Vec<u8> {
    let n = rng.below(max) as usize;
    rng.bytes(n)
}
