//! A set of page numbers kept as maximal runs (extents), so that freeing a
//! whole bucket or an overflow value costs one entry, and a contiguous run for
//! an overflow value can be found without scanning single pages.

use std::collections::BTreeMap;

/// Disjoint, non-adjacent runs `start -> len` (adjacent runs are merged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtentSet {
    runs: BTreeMap<u64, u64>,
    pages: u64,
}

/// A run that overlaps pages already in the set (a double free, or a page
/// listed twice in damaged metadata).
#[derive(Debug, PartialEq, Eq)]
pub struct Overlap {
    pub page: u64,
}

impl ExtentSet {
    pub fn new() -> ExtentSet {
        ExtentSet::default()
    }

    /// Number of pages in the set.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Number of runs.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub fn runs(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.runs.iter().map(|(&s, &l)| (s, l))
    }

    /// The run containing `page`, if any.
    fn run_of(&self, page: u64) -> Option<(u64, u64)> {
        let (&s, &l) = self.runs.range(..=page).next_back()?;
        (page < s + l).then_some((s, l))
    }

    #[cfg(test)]
    pub fn contains(&self, page: u64) -> bool {
        self.run_of(page).is_some()
    }

    /// Whether every page of `start..start + len` is in the set.
    pub fn contains_run(&self, start: u64, len: u64) -> bool {
        matches!(self.run_of(start), Some((s, l)) if start + len <= s + l)
    }

    /// Whether any page of `start..start + len` is in the set.
    pub fn overlaps(&self, start: u64, len: u64) -> bool {
        len > 0 && matches!(self.runs.range(..start + len).next_back(), Some((&s, &l)) if s + l > start)
    }

    /// Adds `start..start + len`; fails without changing anything if any page
    /// of it is already present.
    pub fn insert(&mut self, start: u64, len: u64) -> Result<(), Overlap> {
        if len == 0 {
            return Ok(());
        }
        // One lookup finds the last run starting before the end: it overlaps,
        // or it is the run before `start`, which may touch it. (Five map
        // operations here, two of them range searches, were 10% of a one-put
        // commit's instructions.)
        let before = self.runs.range(..start + len).next_back().map(|(&s, &l)| (s, l));
        if let Some((s, l)) = before {
            if s + l > start {
                return Err(Overlap { page: s.max(start) });
            }
        }
        let after = self.runs.remove(&(start + len)).unwrap_or(0);
        match before {
            // The run before `start` grows over it (and the run after it).
            Some((s, l)) if s + l == start => *self.runs.get_mut(&s).expect("the run before") += len + after,
            _ => {
                self.runs.insert(start, len + after);
            }
        }
        self.pages += len;
        Ok(())
    }

    /// Removes `start..start + len`, which must lie inside one run; returns
    /// false (and changes nothing) otherwise.
    pub fn remove(&mut self, start: u64, len: u64) -> bool {
        if len == 0 {
            return true;
        }
        let Some((s, l)) = self.run_of(start) else { return false };
        if start + len > s + l {
            return false;
        }
        self.runs.remove(&s);
        if start > s {
            self.runs.insert(s, start - s);
        }
        if start + len < s + l {
            self.runs.insert(start + len, s + l - start - len);
        }
        self.pages -= len;
        true
    }

    /// Removes whatever part of `start..start + len` is present and returns the
    /// parts that were not present.
    pub fn subtract(&mut self, start: u64, len: u64) -> Vec<(u64, u64)> {
        let mut absent = Vec::new();
        let end = start + len;
        let mut at = start;
        while at < end {
            match self.run_of(at) {
                Some((s, l)) => {
                    let stop = (s + l).min(end);
                    self.remove(at, stop - at);
                    at = stop;
                }
                None => {
                    let next = self.runs.range(at..end).next().map_or(end, |(&s, _)| s);
                    absent.push((at, next - at));
                    at = next;
                }
            }
        }
        absent
    }

    /// Takes the lowest run of `n` contiguous pages (first fit).
    pub fn take(&mut self, n: u64) -> Option<u64> {
        self.take_within(n, usize::MAX)
    }

    /// `take`, looking at the lowest `runs` runs only (a bounded search).
    pub fn take_within(&mut self, n: u64, runs: usize) -> Option<u64> {
        let start = self.runs.iter().take(runs).find(|(_, &l)| l >= n).map(|(&s, _)| s)?;
        self.remove(start, n);
        Some(start)
    }

    /// Adds every run of `other`.
    pub fn insert_all(&mut self, other: &ExtentSet) -> Result<(), Overlap> {
        for (s, l) in other.runs() {
            self.insert(s, l)?;
        }
        Ok(())
    }

    /// The union of disjoint sets, by one merge of their sorted runs: linear
    /// in the runs, where inserting one set's runs into another costs a tree
    /// search each. Fails if any two sets share a page.
    pub fn union(sets: &[&ExtentSet]) -> Result<ExtentSet, Overlap> {
        let mut iters: Vec<_> = sets.iter().map(|s| s.runs().peekable()).collect();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(sets.iter().map(|s| s.runs.len()).sum());
        let mut pages = 0;
        loop {
            let next = iters.iter_mut().enumerate().filter_map(|(i, it)| it.peek().map(|&(s, _)| (s, i))).min();
            let Some((_, i)) = next else { break };
            let (s, l) = iters[i].next().expect("peeked");
            pages += l;
            match merged.last_mut() {
                Some((ps, pl)) if *ps + *pl > s => return Err(Overlap { page: s }),
                Some((ps, pl)) if *ps + *pl == s => *pl += l,
                _ => merged.push((s, l)),
            }
        }
        Ok(ExtentSet { runs: merged.into_iter().collect(), pages })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(set: &ExtentSet) -> Vec<u64> {
        set.runs().flat_map(|(s, l)| s..s + l).collect()
    }

    #[test]
    fn insert_merges_neighbours_and_rejects_overlap() {
        let mut s = ExtentSet::new();
        s.insert(10, 2).unwrap();
        s.insert(14, 2).unwrap();
        s.insert(12, 2).unwrap();
        assert_eq!(s.runs().collect::<Vec<_>>(), vec![(10, 6)]);
        assert_eq!(s.insert(15, 3), Err(Overlap { page: 15 }));
        assert_eq!(s.insert(5, 6), Err(Overlap { page: 10 }));
        assert_eq!(s.pages(), 6);
    }

    #[test]
    fn remove_splits_and_take_is_first_fit() {
        let mut s = ExtentSet::new();
        s.insert(2, 3).unwrap();
        s.insert(20, 10).unwrap();
        assert!(s.remove(22, 2));
        assert_eq!(naive(&s), vec![2, 3, 4, 20, 21, 24, 25, 26, 27, 28, 29]);
        assert!(!s.remove(21, 3), "spans a hole");
        assert_eq!(s.take(4), Some(24));
        assert_eq!(s.take(1), Some(2));
        assert_eq!(s.take(5), None);
        assert_eq!(s.pages(), 6);
    }

    #[test]
    fn union_merges_runs_and_rejects_shared_pages() {
        let mut a = ExtentSet::new();
        let mut b = ExtentSet::new();
        let mut c = ExtentSet::new();
        a.insert(1, 2).unwrap();
        a.insert(10, 1).unwrap();
        b.insert(3, 4).unwrap();
        b.insert(20, 5).unwrap();
        c.insert(11, 1).unwrap();
        let u = ExtentSet::union(&[&a, &b, &c]).unwrap();
        assert_eq!(u.runs().collect::<Vec<_>>(), vec![(1, 6), (10, 2), (20, 5)]);
        assert_eq!(u.pages(), 13);
        let mut clash = ExtentSet::new();
        clash.insert(24, 3).unwrap();
        assert_eq!(ExtentSet::union(&[&a, &b, &clash]), Err(Overlap { page: 24 }));
        let mut inside = ExtentSet::new();
        inside.insert(4, 1).unwrap();
        assert_eq!(ExtentSet::union(&[&inside, &b]), Err(Overlap { page: 4 }));
    }

    #[test]
    fn subtract_returns_the_absent_parts() {
        let mut s = ExtentSet::new();
        s.insert(10, 5).unwrap();
        s.insert(20, 5).unwrap();
        let absent = s.subtract(12, 10);
        assert_eq!(absent, vec![(15, 5)]);
        assert_eq!(naive(&s), vec![10, 11, 22, 23, 24]);
    }

    #[test]
    fn random_ops_match_a_btreeset() {
        use std::collections::BTreeSet;
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut rnd = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let mut s = ExtentSet::new();
        let mut m = BTreeSet::new();
        for _ in 0..20_000 {
            let start = rnd(300);
            let len = 1 + rnd(6);
            match rnd(3) {
                0 => {
                    let clash = (start..start + len).any(|p| m.contains(&p));
                    assert_eq!(s.insert(start, len).is_err(), clash);
                    if !clash {
                        m.extend(start..start + len);
                    }
                }
                1 => {
                    let all = (start..start + len).all(|p| m.contains(&p));
                    let ok = s.remove(start, len);
                    assert!(!ok || all);
                    if ok {
                        (start..start + len).for_each(|p| {
                            m.remove(&p);
                        });
                    }
                }
                _ => {
                    let absent = s.subtract(start, len);
                    let want: Vec<u64> = (start..start + len).filter(|p| !m.contains(p)).collect();
                    let got: Vec<u64> = absent.iter().flat_map(|&(a, l)| a..a + l).collect();
                    assert_eq!(got, want);
                    (start..start + len).for_each(|p| {
                        m.remove(&p);
                    });
                }
            }
            assert_eq!(s.pages(), m.len() as u64);
        }
        assert_eq!(naive(&s), m.into_iter().collect::<Vec<_>>());
    }
}
