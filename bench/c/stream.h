/*
 * stream.h: the deterministic inputs of `make bench`, written identically in
 * bench/go/src/thunderbench/stream.go and bench/rust/src/stream.rs (make
 * bench-selftest compares what the three print).
 *
 * - splitmix64: mix(z) is the output of the splitmix64 generator whose state
 *   has just become z + GOLDEN, so mix(k * GOLDEN) is element k of the stream
 *   seeded at 0.
 * - Key i (24 bytes): elements 3i, 3i+1, 3i+2 of that stream, big-endian.
 *   The first is a bijection of i, so keys are distinct.
 * - A value (150 bytes) is made from a seed s: word w is mix(s * GOLDEN + w),
 *   big-endian. The value loaded for key i has seed i + 2^63.
 * - digest(bytes): a 64-bit hash of what was read; the drivers add digests up
 *   (mod 2^64, so thread order does not matter) into the checksum a workload
 *   prints, which must be equal across engines.
 * - rng: the splitmix64 sequence from a seed; below(n) = next() % n.
 * - zipf: YCSB's zipfian generator (Gray et al., "Quickly generating
 *   billion-record synthetic databases", SIGMOD 1994) with theta 0.99 over
 *   ranks [0, n), rank 0 the most popular. Its powers come from det_pow,
 *   made of + - * / and floor alone: libm's pow differs between C, Go and
 *   Rust in the last place, and raising to the power 100 magnifies that into
 *   other ranks.
 */
#ifndef BENCH_STREAM_H
#define BENCH_STREAM_H
#include <math.h> /* floor */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KEY_LEN 24
#define VAL_LEN 150
#define GOLDEN 0x9e3779b97f4a7c15ULL
#define LOAD_SEED (1ULL << 63)
#define ZIPF_THETA 0.99

static inline uint64_t mix(uint64_t z)
{
    z += GOLDEN;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Word loads and stores go through memcpy and one byte swap, so they compile
 * to single instructions as Go's encoding/binary and Rust's to_be_bytes /
 * from_le_bytes do: a byte-at-a-time loop (which gcc -O2 does not merge)
 * made the C drivers' digest several times dearer than the Go and Rust
 * drivers', a handicap on every C engine's read lines. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_TO_BE64(v) (v)
#define HOST_TO_LE64(v) __builtin_bswap64(v)
#else
#define HOST_TO_BE64(v) __builtin_bswap64(v)
#define HOST_TO_LE64(v) (v)
#endif

static inline void put64be(uint8_t *p, uint64_t v)
{
    v = HOST_TO_BE64(v);
    memcpy(p, &v, 8);
}

static inline void make_key(uint64_t i, uint8_t out[KEY_LEN])
{
    for (uint64_t w = 0; w < 3; w++) put64be(out + 8 * w, mix((3 * i + w) * GOLDEN));
}

static inline void make_value(uint64_t seed, uint8_t out[VAL_LEN])
{
    uint8_t tmp[152];
    for (uint64_t w = 0; w < 19; w++) put64be(tmp + 8 * w, mix(seed * GOLDEN + w));
    memcpy(out, tmp, VAL_LEN);
}

/* The first word of the value made from `seed`: what a read checks at once. */
static inline uint64_t value_head(uint64_t seed) { return mix(seed * GOLDEN); }

static inline uint64_t get64be(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return HOST_TO_BE64(v);
}

static inline uint64_t get64le(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return HOST_TO_LE64(v);
}

static inline uint64_t digest(const uint8_t *p, size_t n)
{
    uint64_t h = 0x6a09e667f3bcc908ULL ^ (uint64_t)n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        h = (h ^ get64le(p + i)) * 0x100000001b3ULL;
    }
    if (i < n) {
        uint64_t w = 0;
        for (size_t b = n; b > i; b--) w = w << 8 | p[b - 1];
        h = (h ^ w) * 0x100000001b3ULL;
    }
    return mix(h);
}

typedef struct rng {
    uint64_t state;
} rng;

static inline uint64_t rng_next(rng *r)
{
    uint64_t out = mix(r->state);
    r->state += GOLDEN;
    return out;
}

static inline uint64_t rng_below(rng *r, uint64_t n) { return rng_next(r) % n; }

/* Uniform in [0, 1) from the top 53 bits. */
static inline double rng_unit(rng *r) { return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

#define LN2 0.6931471805599453

static inline double det_log(double x) /* x > 0, normal */
{
    uint64_t bits;
    memcpy(&bits, &x, 8);
    int64_t e = (int64_t)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & 0xfffffffffffffULL) | (1023ULL << 52);
    double m;
    memcpy(&m, &bits, 8); /* x = m * 2^e, m in [1, 2) */
    if (m > 1.4142135623730951) m *= 0.5, e += 1;
    double s = (m - 1.0) / (m + 1.0), s2 = s * s, term = s, sum = 0.0;
    for (int k = 1; k < 40; k += 2) {
        sum += term / (double)k;
        term *= s2;
    }
    return (double)e * LN2 + 2.0 * sum;
}

static inline double det_exp(double y) /* y <= 709 */
{
    if (y < -700.0) return 0.0;
    double k = floor(y / LN2 + 0.5), r = y - k * LN2, term = 1.0, sum = 1.0;
    for (int i = 1; i < 24; i++) {
        term = term * r / (double)i;
        sum += term;
    }
    uint64_t bits = (uint64_t)((int64_t)k + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, 8);
    return sum * scale;
}

static inline double det_pow(double x, double y) { return det_exp(y * det_log(x)); }

typedef struct zipf {
    uint64_t n;
    double alpha, zetan, eta, two_cut;
} zipf;

static inline void zipf_init(zipf *z, uint64_t n)
{
    double zeta2 = 0, zetan = 0;
    for (uint64_t i = 1; i <= n; i++) {
        double t = 1.0 / det_pow((double)i, ZIPF_THETA);
        zetan += t;
        if (i <= 2) zeta2 = zetan;
    }
    z->n = n;
    z->alpha = 1.0 / (1.0 - ZIPF_THETA);
    z->zetan = zetan;
    z->eta = (1.0 - det_pow(2.0 / (double)n, 1.0 - ZIPF_THETA)) / (1.0 - zeta2 / zetan);
    z->two_cut = 1.0 + det_pow(0.5, ZIPF_THETA);
}

/* A rank in [0, n): one uniform draw from r. */
static inline uint64_t zipf_next(const zipf *z, rng *r)
{
    double u = rng_unit(r), uz = u * z->zetan;
    if (uz < 1.0) return 0;
    if (uz < z->two_cut) return 1;
    uint64_t k = (uint64_t)((double)z->n * det_pow(z->eta * u - z->eta + 1.0, z->alpha));
    return k < z->n ? k : z->n - 1;
}
#endif
