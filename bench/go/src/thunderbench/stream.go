// stream.go: the deterministic inputs, written identically to bench/c/stream.h
// (see there for what each is); make bench-selftest compares the outputs.

package main

import (
	"encoding/binary"
	"math"
)

const (
	keyLen   = 24
	valLen   = 150
	golden   = 0x9e3779b97f4a7c15
	loadSeed = uint64(1) << 63
)

// A variable, not a constant: Go evaluates constant expressions exactly, C
// and Rust in float64 (1 - 0.99 must round as theirs does).
var zipfTheta = 0.99

func mix(z uint64) uint64 {
	z += golden
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func makeKey(i uint64, out []byte) {
	for w := uint64(0); w < 3; w++ {
		binary.BigEndian.PutUint64(out[8*w:], mix((3*i+w)*golden))
	}
}

func makeValue(seed uint64, out []byte) {
	var tmp [152]byte
	for w := uint64(0); w < 19; w++ {
		binary.BigEndian.PutUint64(tmp[8*w:], mix(seed*golden+w))
	}
	copy(out, tmp[:valLen])
}

func valueHead(seed uint64) uint64 { return mix(seed * golden) }

func digest(p []byte) uint64 {
	n := len(p)
	h := uint64(0x6a09e667f3bcc908) ^ uint64(n)
	i := 0
	for ; i+8 <= n; i += 8 {
		h = (h ^ binary.LittleEndian.Uint64(p[i:])) * 0x100000001b3
	}
	if i < n {
		var w uint64
		for b := n; b > i; b-- {
			w = w<<8 | uint64(p[b-1])
		}
		h = (h ^ w) * 0x100000001b3
	}
	return mix(h)
}

type rng struct{ state uint64 }

func (r *rng) next() uint64 {
	out := mix(r.state)
	r.state += golden
	return out
}

func (r *rng) below(n uint64) uint64 { return r.next() % n }

func (r *rng) unit() float64 { return float64(r.next()>>11) * (1.0 / 9007199254740992.0) }

const ln2 = 0.6931471805599453

// detLog, detExp, detPow: det_log, det_exp, det_pow of bench/c/stream.h
// (+ - * / and floor alone, so that the three languages agree to the bit).
func detLog(x float64) float64 {
	bits := math.Float64bits(x)
	e := int64((bits>>52)&0x7ff) - 1023
	m := math.Float64frombits((bits & 0xfffffffffffff) | (1023 << 52))
	if m > 1.4142135623730951 {
		m *= 0.5
		e++
	}
	s := (m - 1.0) / (m + 1.0)
	s2, term, sum := s*s, s, 0.0
	for k := 1; k < 40; k += 2 {
		sum += term / float64(k)
		term *= s2
	}
	return float64(e)*ln2 + 2.0*sum
}

func detExp(y float64) float64 {
	if y < -700.0 {
		return 0.0
	}
	k := math.Floor(y/ln2 + 0.5)
	r := y - k*ln2
	term, sum := 1.0, 1.0
	for i := 1; i < 24; i++ {
		term = term * r / float64(i)
		sum += term
	}
	return sum * math.Float64frombits(uint64(int64(k)+1023)<<52)
}

func detPow(x, y float64) float64 { return detExp(y * detLog(x)) }

type zipf struct {
	n                         uint64
	alpha, zetan, eta, twoCut float64
}

func newZipf(n uint64) *zipf {
	var zeta2, zetan float64
	for i := uint64(1); i <= n; i++ {
		zetan += 1.0 / detPow(float64(i), zipfTheta)
		if i <= 2 {
			zeta2 = zetan
		}
	}
	return &zipf{
		n:      n,
		alpha:  1.0 / (1.0 - zipfTheta),
		zetan:  zetan,
		eta:    (1.0 - detPow(2.0/float64(n), 1.0-zipfTheta)) / (1.0 - zeta2/zetan),
		twoCut: 1.0 + detPow(0.5, zipfTheta),
	}
}

func (z *zipf) next(r *rng) uint64 {
	u := r.unit()
	uz := u * z.zetan
	if uz < 1.0 {
		return 0
	}
	if uz < z.twoCut {
		return 1
	}
	k := uint64(float64(z.n) * detPow(z.eta*u-z.eta+1.0, z.alpha))
	if k < z.n {
		return k
	}
	return z.n - 1
}
