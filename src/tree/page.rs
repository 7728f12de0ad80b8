//! Leaf and branch pages: zero-copy accessors over mapped bytes, the one-time
//! validation that makes those accessors safe to use on anything read from
//! disk, and the encoder that writes a dirty node into a page.
//!
//! Both are slotted pages. After the 32-byte header (`count` = entries, `aux`
//! = bytes used) comes an array of `count` u16 entry offsets in key order,
//! then the entries packed back to back in the same order:
//!
//! ```text
//! leaf entry                         branch entry
//!   0  1 kind: 0 inline, 1 overflow    0  8 child page
//!   1  2 key length                    8  2 key length (0 for entry 0)
//!   3  4 value length                 10  - key
//!   7  - key
//!   -  - inline: the value
//!        overflow: u64 first page, u32 CRC32 of the value
//! ```
//!
//! Invariants `validate` enforces (and `check()` re-verifies): checksum, type,
//! page id; entries packed exactly from the end of the slot array to `aux`;
//! keys non-empty and strictly increasing, except a branch's first key, which
//! is empty and stands for "everything below the second key"; no key longer
//! than `max_key_len` (splits rely on it); at least one entry in a leaf and
//! two in a branch.

use crate::error::Corruption;
use crate::storage::{checksums, seal, Header, PageType, HEADER_LEN};
use crate::tree::order;
use crate::types::{le, PageId, TxId};

pub const LEAF_ENTRY_HEAD: usize = 7;
pub const BRANCH_ENTRY_HEAD: usize = 10;
pub const OVERFLOW_REF_LEN: usize = 12;
pub const SLOT_LEN: usize = 2;

const KIND_INLINE: u8 = 0;
const KIND_OVERFLOW: u8 = 1;

/// A value stored outside the leaf: a contiguous run of overflow pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OverflowRef {
    pub page: PageId,
    pub len: u32,
    pub crc: u32,
}

/// A leaf value as stored: inline bytes, or a reference to an overflow run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Inline(&'a [u8]),
    Overflow(OverflowRef),
}

/// Bytes a leaf entry takes in a page, slot included; `stored` is the inline
/// value's length, or `OVERFLOW_REF_LEN` for an overflow reference.
pub fn leaf_entry_size(key_len: usize, stored: usize) -> usize {
    SLOT_LEN + LEAF_ENTRY_HEAD + key_len + stored
}

/// Bytes a branch entry takes in a page, slot included.
pub fn branch_entry_size(key_len: usize) -> usize {
    SLOT_LEN + BRANCH_ENTRY_HEAD + key_len
}

/// The longest key a page of `page_size` accepts: four maximal branch entries
/// must fit one page, so every branch can split into halves of two entries.
pub fn max_key_len(page_size: usize) -> usize {
    (page_size - HEADER_LEN) / 4 - SLOT_LEN - BRANCH_ENTRY_HEAD
}

/// A validated leaf page.
#[derive(Copy, Clone, Debug)]
pub struct LeafPage<'a> {
    b: &'a [u8],
    n: usize,
}

/// A validated branch page.
#[derive(Copy, Clone, Debug)]
pub struct BranchPage<'a> {
    b: &'a [u8],
    n: usize,
}

#[inline]
fn slot(b: &[u8], i: usize) -> usize {
    le::u16_at(b, HEADER_LEN + i * SLOT_LEN) as usize
}

impl<'a> LeafPage<'a> {
    /// Wraps a page that `validate` accepted as a leaf.
    pub fn new(b: &'a [u8]) -> LeafPage<'a> {
        LeafPage { b, n: Header::count_of(b) as usize }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.n
    }

    #[inline]
    pub fn key(&self, i: usize) -> &'a [u8] {
        let o = slot(self.b, i);
        let klen = le::u16_at(self.b, o + 1) as usize;
        &self.b[o + LEAF_ENTRY_HEAD..o + LEAF_ENTRY_HEAD + klen]
    }

    /// Key and value of entry i, decoded together.
    #[inline]
    pub fn entry(&self, i: usize) -> (&'a [u8], Value<'a>) {
        let o = slot(self.b, i);
        let klen = le::u16_at(self.b, o + 1) as usize;
        (&self.b[o + LEAF_ENTRY_HEAD..o + LEAF_ENTRY_HEAD + klen], self.value_at(o, klen))
    }

    #[inline]
    pub fn value(&self, i: usize) -> Value<'a> {
        let o = slot(self.b, i);
        let klen = le::u16_at(self.b, o + 1) as usize;
        self.value_at(o, klen)
    }

    /// The value of the entry at offset `o` whose key is `klen` bytes.
    #[inline]
    fn value_at(&self, o: usize, klen: usize) -> Value<'a> {
        let vlen = le::u32_at(self.b, o + 3);
        let at = o + LEAF_ENTRY_HEAD + klen;
        if self.b[o] == KIND_OVERFLOW {
            Value::Overflow(OverflowRef {
                page: PageId(le::u64_at(self.b, at)),
                len: vlen,
                crc: le::u32_at(self.b, at + 8),
            })
        } else {
            Value::Inline(&self.b[at..at + vlen as usize])
        }
    }

    /// The entry region (slots and entries), for copying into a dirty node.
    pub fn used(&self) -> usize {
        Header::read(self.b).aux as usize
    }
}

impl<'a> BranchPage<'a> {
    /// Wraps a page that `validate` accepted as a branch.
    pub fn new(b: &'a [u8]) -> BranchPage<'a> {
        BranchPage { b, n: Header::count_of(b) as usize }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.n
    }

    #[inline]
    pub fn key(&self, i: usize) -> &'a [u8] {
        let o = slot(self.b, i);
        let klen = le::u16_at(self.b, o + 8) as usize;
        &self.b[o + BRANCH_ENTRY_HEAD..o + BRANCH_ENTRY_HEAD + klen]
    }

    /// The entry region (slots and entries), as for leaves.
    pub fn used(&self) -> usize {
        Header::read(self.b).aux as usize
    }

    #[inline]
    pub fn child(&self, i: usize) -> PageId {
        PageId(le::u64_at(self.b, slot(self.b, i)))
    }
}

/// Checks everything the accessors rely on; returns the page type on success.
/// `page` is exactly one page read at `id`.
pub fn validate(page: &[u8], id: PageId) -> Result<PageType, Corruption> {
    let h = Header::read(page);
    let ty = match PageType::from_u8(h.ty) {
        Some(t @ (PageType::Leaf | PageType::Branch)) => t,
        _ => return Err(Corruption::PageType { found: h.ty, expected: "a leaf or branch page" }),
    };
    let (stored, computed) = checksums(page);
    if stored != computed {
        return Err(Corruption::Checksum { stored, computed });
    }
    if h.id != id {
        return Err(Corruption::PageId { found: h.id.0 });
    }
    if h.overflow != 0 {
        return Err(layout(format!("{} page with overflow count {}", ty.name(), h.overflow)));
    }
    let n = h.count as usize;
    let min = if ty == PageType::Leaf { 1 } else { 2 };
    if n < min {
        return Err(layout(format!("{} page with {n} entries (at least {min})", ty.name())));
    }
    let used = h.aux as usize;
    let mut at = HEADER_LEN + n * SLOT_LEN;
    if used > page.len() || at > used {
        return Err(layout(format!("{n} entries and {used} used bytes do not fit a {}-byte page", page.len())));
    }
    let max_key = max_key_len(page.len());
    let mut prev: Option<&[u8]> = None;
    for i in 0..n {
        if slot(page, i) != at {
            return Err(layout(format!("entry {i} at offset {} (expected {at})", slot(page, i))));
        }
        let (key, end) = if ty == PageType::Leaf { leaf_entry(page, at, used)? } else { branch_entry(page, at, used)? };
        let key_ok = match prev {
            None if ty == PageType::Branch => key.is_empty(),
            None => !key.is_empty(),
            // By `order::compare`: the slice comparison called memcmp for
            // each entry, 30% of validating a branch page.
            Some(p) => !key.is_empty() && order::compare(key, p) == std::cmp::Ordering::Greater,
        };
        if !key_ok {
            return Err(Corruption::KeyOrder { entry: i });
        }
        if key.len() > max_key {
            return Err(layout(format!("entry {i}: key of {} bytes (at most {max_key} at this page size)", key.len())));
        }
        prev = Some(key);
        at = end;
    }
    if at != used {
        return Err(layout(format!("entries end at {at}, header says {used}")));
    }
    Ok(ty)
}

fn layout(what: String) -> Corruption {
    Corruption::Layout { what }
}

fn leaf_entry(p: &[u8], at: usize, used: usize) -> Result<(&[u8], usize), Corruption> {
    if at + LEAF_ENTRY_HEAD > used {
        return Err(layout(format!("leaf entry at {at} runs past the used area")));
    }
    let kind = p[at];
    let klen = le::u16_at(p, at + 1) as usize;
    let vlen = le::u32_at(p, at + 3) as usize;
    let vbytes = match kind {
        KIND_INLINE => vlen,
        KIND_OVERFLOW if vlen > 0 => OVERFLOW_REF_LEN,
        _ => return Err(layout(format!("leaf entry at {at}: kind {kind} with value length {vlen}"))),
    };
    let end = at + LEAF_ENTRY_HEAD + klen + vbytes;
    if end > used {
        return Err(layout(format!("leaf entry at {at} ({klen}-byte key, {vlen}-byte value) runs past the used area")));
    }
    if kind == KIND_OVERFLOW && le::u64_at(p, at + LEAF_ENTRY_HEAD + klen) < 2 {
        return Err(layout(format!("leaf entry at {at}: overflow value on a meta page")));
    }
    Ok((&p[at + LEAF_ENTRY_HEAD..at + LEAF_ENTRY_HEAD + klen], end))
}

fn branch_entry(p: &[u8], at: usize, used: usize) -> Result<(&[u8], usize), Corruption> {
    if at + BRANCH_ENTRY_HEAD > used {
        return Err(layout(format!("branch entry at {at} runs past the used area")));
    }
    let child = le::u64_at(p, at);
    let klen = le::u16_at(p, at + 8) as usize;
    let end = at + BRANCH_ENTRY_HEAD + klen;
    if end > used {
        return Err(layout(format!("branch entry at {at} runs past the used area")));
    }
    if child < 2 {
        return Err(layout(format!("branch entry at {at}: child page {child}")));
    }
    Ok((&p[at + BRANCH_ENTRY_HEAD..end], end))
}

/// Writes a page from entries given in order. `entries(i)` yields entry i's
/// key and encoded body writer; used by `Node::encode`.
pub struct PageWriter<'b> {
    buf: &'b mut [u8],
    n: usize,
    at: usize,
    i: usize,
}

impl<'b> PageWriter<'b> {
    pub fn new(buf: &'b mut [u8], n: usize) -> PageWriter<'b> {
        PageWriter { buf, n, at: HEADER_LEN + n * SLOT_LEN, i: 0 }
    }

    fn slot(&mut self) {
        le::put_u16(self.buf, HEADER_LEN + self.i * SLOT_LEN, self.at as u16);
        self.i += 1;
    }

    pub fn leaf(&mut self, key: &[u8], value: &Value<'_>) {
        self.slot();
        let at = self.at;
        le::put_u16(self.buf, at + 1, key.len() as u16);
        let kend = at + LEAF_ENTRY_HEAD + key.len();
        self.buf[at + LEAF_ENTRY_HEAD..kend].copy_from_slice(key);
        match value {
            Value::Inline(v) => {
                self.buf[at] = KIND_INLINE;
                le::put_u32(self.buf, at + 3, v.len() as u32);
                self.buf[kend..kend + v.len()].copy_from_slice(v);
                self.at = kend + v.len();
            }
            Value::Overflow(r) => {
                self.buf[at] = KIND_OVERFLOW;
                le::put_u32(self.buf, at + 3, r.len);
                le::put_u64(self.buf, kend, r.page.0);
                le::put_u32(self.buf, kend + 8, r.crc);
                self.at = kend + OVERFLOW_REF_LEN;
            }
        }
    }

    pub fn branch(&mut self, key: &[u8], child: PageId) {
        self.slot();
        let at = self.at;
        le::put_u64(self.buf, at, child.0);
        le::put_u16(self.buf, at + 8, key.len() as u16);
        self.buf[at + BRANCH_ENTRY_HEAD..at + BRANCH_ENTRY_HEAD + key.len()].copy_from_slice(key);
        self.at = at + BRANCH_ENTRY_HEAD + key.len();
    }

    /// Writes the header and checksum; every entry must have been written.
    pub fn finish(self, ty: PageType, id: PageId, txid: TxId) {
        assert_eq!(self.i, self.n, "page writer got fewer entries than announced");
        let mut h = Header::new(ty, id, txid);
        h.count = self.n as u16;
        h.aux = self.at as u32;
        h.write(self.buf);
        self.buf[self.at..].fill(0);
        seal(self.buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf_page(entries: &[(&[u8], Value<'_>)], ps: usize) -> Vec<u8> {
        let mut buf = vec![0u8; ps];
        let mut w = PageWriter::new(&mut buf, entries.len());
        for (k, v) in entries {
            w.leaf(k, v);
        }
        w.finish(PageType::Leaf, PageId(3), TxId(1));
        buf
    }

    #[test]
    fn leaf_round_trip_with_inline_and_overflow() {
        let r = OverflowRef { page: PageId(9), len: 5000, crc: 0xdead };
        let buf =
            leaf_page(&[(b"a", Value::Inline(b"")), (b"b", Value::Overflow(r)), (b"c", Value::Inline(b"xyz"))], 4096);
        assert_eq!(validate(&buf, PageId(3)), Ok(PageType::Leaf));
        let l = LeafPage::new(&buf);
        assert_eq!(l.len(), 3);
        assert_eq!(l.key(1), b"b");
        assert_eq!(l.value(0), Value::Inline(b""));
        assert_eq!(l.value(1), Value::Overflow(r));
        assert_eq!(l.value(2), Value::Inline(b"xyz"));
    }

    #[test]
    fn a_page_filled_to_the_last_byte_validates_at_every_size() {
        for ps in [4096usize, 8192, 16384, 65536] {
            let small = leaf_entry_size(1, 0);
            let big = vec![7u8; ps - HEADER_LEN - 2 * small];
            let buf = leaf_page(&[(b"a", Value::Inline(&big)), (b"b", Value::Inline(b""))], ps);
            assert_eq!(Header::read(&buf).aux as usize, ps, "page size {ps}");
            assert_eq!(validate(&buf, PageId(3)), Ok(PageType::Leaf), "page size {ps}");
        }
    }

    #[test]
    fn branch_round_trip_and_first_key_rule() {
        let mut buf = vec![0u8; 4096];
        let mut w = PageWriter::new(&mut buf, 2);
        w.branch(b"", PageId(4));
        w.branch(b"m", PageId(5));
        w.finish(PageType::Branch, PageId(3), TxId(1));
        assert_eq!(validate(&buf, PageId(3)), Ok(PageType::Branch));
        let b = BranchPage::new(&buf);
        assert_eq!((b.child(0), b.key(1), b.child(1)), (PageId(4), &b"m"[..], PageId(5)));

        let mut bad = vec![0u8; 4096];
        let mut w = PageWriter::new(&mut bad, 2);
        w.branch(b"a", PageId(4));
        w.branch(b"m", PageId(5));
        w.finish(PageType::Branch, PageId(3), TxId(1));
        assert_eq!(validate(&bad, PageId(3)), Err(Corruption::KeyOrder { entry: 0 }));
        assert!(validate(&bad, PageId(3)).unwrap_err().to_string().contains("key"));
    }

    #[test]
    fn validation_rejects_damage_without_panicking() {
        let buf = leaf_page(&[(b"k1", Value::Inline(b"v1")), (b"k2", Value::Inline(b"v2"))], 4096);
        // every single-byte change of the used area, with the checksum fixed up
        // so the structural checks are what must catch it
        let used = Header::read(&buf).aux as usize;
        for i in 4..used {
            for flip in [1u8, 0x80, 0xff] {
                let mut p = buf.clone();
                p[i] ^= flip;
                seal(&mut p);
                if let Ok(PageType::Leaf) = validate(&p, PageId(3)) {
                    // still a well-formed leaf: reading it must not panic
                    let l = LeafPage::new(&p);
                    for j in 0..l.len() {
                        let _ = (l.key(j), l.value(j));
                    }
                }
            }
        }
        let mut p = buf.clone();
        p[100] ^= 1;
        assert!(matches!(validate(&p, PageId(3)), Err(Corruption::Checksum { .. })));
        assert!(validate(&p, PageId(3)).unwrap_err().to_string().contains("checksum"));
        assert_eq!(validate(&buf, PageId(4)), Err(Corruption::PageId { found: 3 }));
        assert!(validate(&buf, PageId(4)).unwrap_err().to_string().contains("page id"));
    }

    #[test]
    fn max_key_fits_four_branch_entries() {
        for ps in [4096usize, 8192, 16384, 65536] {
            let k = max_key_len(ps);
            assert!(4 * branch_entry_size(k) <= ps - HEADER_LEN);
            assert!(k >= 1000);
        }
        assert_eq!(max_key_len(4096), 1004);
    }
}
