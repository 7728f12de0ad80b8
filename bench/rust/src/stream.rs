//! The deterministic inputs, written identically to bench/c/stream.h (see
//! there for what each is); make bench-selftest compares the outputs.

pub const KEY_LEN: usize = 24;
pub const VAL_LEN: usize = 150;
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
pub const LOAD_SEED: u64 = 1 << 63;
const ZIPF_THETA: f64 = 0.99;
// The same doubles as the literals 0.6931471805599453 and 1.4142135623730951 in C and Go.
const LN2: f64 = std::f64::consts::LN_2;

pub fn mix(z: u64) -> u64 {
    let mut z = z.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub fn make_key(i: u64, out: &mut [u8; KEY_LEN]) {
    for w in 0..3u64 {
        let word = mix((3u64.wrapping_mul(i).wrapping_add(w)).wrapping_mul(GOLDEN));
        out[8 * w as usize..8 * w as usize + 8].copy_from_slice(&word.to_be_bytes());
    }
}

pub fn make_value(seed: u64, out: &mut [u8; VAL_LEN]) {
    let mut tmp = [0u8; 152];
    for w in 0..19u64 {
        let word = mix(seed.wrapping_mul(GOLDEN).wrapping_add(w));
        tmp[8 * w as usize..8 * w as usize + 8].copy_from_slice(&word.to_be_bytes());
    }
    out.copy_from_slice(&tmp[..VAL_LEN]);
}

pub fn value_head(seed: u64) -> u64 {
    mix(seed.wrapping_mul(GOLDEN))
}

pub fn digest(p: &[u8]) -> u64 {
    let n = p.len();
    let mut h = 0x6a09_e667_f3bc_c908u64 ^ n as u64;
    let mut i = 0;
    while i + 8 <= n {
        let w = u64::from_le_bytes(p[i..i + 8].try_into().expect("8 bytes"));
        h = (h ^ w).wrapping_mul(0x100_0000_01b3);
        i += 8;
    }
    if i < n {
        let mut w = 0u64;
        for b in (i..n).rev() {
            w = (w << 8) | p[b] as u64;
        }
        h = (h ^ w).wrapping_mul(0x100_0000_01b3);
    }
    mix(h)
}

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let out = mix(self.0);
        self.0 = self.0.wrapping_add(GOLDEN);
        out
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// det_log, det_exp, det_pow of bench/c/stream.h: + - * / and floor alone,
/// so that the three languages agree to the bit.
fn det_log(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0xf_ffff_ffff_ffff) | (1023 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let (s2, mut term, mut sum) = (s * s, s, 0.0);
    for k in (1..40).step_by(2) {
        sum += term / k as f64;
        term *= s2;
    }
    e as f64 * LN2 + 2.0 * sum
}

fn det_exp(y: f64) -> f64 {
    if y < -700.0 {
        return 0.0;
    }
    let k = (y / LN2 + 0.5).floor();
    let r = y - k * LN2;
    let (mut term, mut sum) = (1.0, 1.0);
    for i in 1..24 {
        term = term * r / i as f64;
        sum += term;
    }
    sum * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

fn det_pow(x: f64, y: f64) -> f64 {
    det_exp(y * det_log(x))
}

pub struct Zipf {
    n: u64,
    alpha: f64,
    pub zetan: f64,
    pub eta: f64,
    two_cut: f64,
}

impl Zipf {
    pub fn new(n: u64) -> Zipf {
        let (mut zeta2, mut zetan) = (0.0, 0.0);
        for i in 1..=n {
            zetan += 1.0 / det_pow(i as f64, ZIPF_THETA);
            if i <= 2 {
                zeta2 = zetan;
            }
        }
        Zipf {
            n,
            alpha: 1.0 / (1.0 - ZIPF_THETA),
            zetan,
            eta: (1.0 - det_pow(2.0 / n as f64, 1.0 - ZIPF_THETA)) / (1.0 - zeta2 / zetan),
            two_cut: 1.0 + det_pow(0.5, ZIPF_THETA),
        }
    }

    /// A rank in [0, n): one uniform draw from r.
    pub fn next(&self, r: &mut Rng) -> u64 {
        let u = r.unit();
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < self.two_cut {
            return 1;
        }
        let k = (self.n as f64 * det_pow(self.eta * u - self.eta + 1.0, self.alpha)) as u64;
        k.min(self.n - 1)
    }
}
