//! The integrity check.
//!
//! `run` verifies every invariant docs/FORMAT.md states, on one snapshot:
//! each reachable page's checksum, type, id and layout (whatever the verified
//! bits say); key order within pages and against the separators above them;
//! equal leaf depth within the depth bound; entry counts against the bucket
//! records; overflow runs against their references; the bucket count; and
//! that every page below the high-water mark is exactly one of: meta,
//! reachable, free, or freelist structure (none both, none leaked); for a
//! snapshot that deferred its freelist (`Meta::freelist_deferred`), that
//! its stored freelist is sound and no page is both reachable and holding it.
//! The tree walk it runs deep is `tree::walk`, which freelist recovery runs
//! shallow. `Database::check` first reads the meta pages back from the file
//! (`Env::check_metas`): the durable one must be intact.

use crate::alloc::{read_freelist, Meta};
use crate::error::{Corruption, Error, Result};
use crate::tree::{walk, PageReader, Seen};
use crate::types::PageId;

/// What `check` found in a sound file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Pages below the high-water mark.
    pub pages: u64,
    /// Tree and overflow pages reachable from the meta.
    pub reachable_pages: u64,
    pub free_pages: u64,
    /// Pages holding the freelist itself.
    pub freelist_pages: u64,
    pub buckets: u64,
    /// Keys in every bucket and the default keyspace.
    pub keys: u64,
    /// The meta slot that does not hold the durable meta is damaged: as a
    /// power cut during a meta write leaves it, harmless (open used the
    /// other slot), or damage at rest, which may have lost the commit it
    /// held. Rewritten by the next durable commit. A flag here;
    /// `Database::check_strict` makes it an error (the C API's
    /// `thunder_check`). Damage to the durable meta is always one.
    pub spare_meta_damaged: bool,
}

/// Verifies the snapshot `meta` (see the module doc).
pub fn run(reader: &PageReader<'_>, meta: &Meta) -> Result<Report> {
    let mut report = Report { pages: meta.page_count, ..Report::default() };
    let mut seen = Seen::new(meta.page_count);
    let counts = walk(reader, meta.root, &mut seen, true)?;
    if counts.buckets != meta.bucket_count {
        return Err(Error::Corrupted {
            page: None,
            cause: Corruption::Count { of: "buckets", recorded: meta.bucket_count, found: Some(counts.buckets) },
        });
    }
    (report.keys, report.buckets) = (counts.keys, counts.buckets);
    report.reachable_pages = seen.count();
    let fl = read_freelist(reader, meta).map_err(|(p, c)| Error::corrupted(p, c.within("freelist")))?;
    let stored = &fl.stored;
    if !stored.snapshot.is_none() {
        seen.mark(stored.snapshot.0, stored.snapshot_pages, "freelist snapshot")?;
    }
    for p in &stored.log {
        seen.mark(p.0, 1, "freelist log page")?;
    }
    report.freelist_pages = stored.snapshot_pages + stored.log.len() as u64;
    if meta.freelist_deferred {
        // The commit left its freelist to the next steady point or
        // checkpoint (the weak sync modes, a log): the one on disk, read
        // above, is an older commit's, whose pages this snapshot still
        // keeps. Every other page neither reachable nor holding it is free;
        // the file's metas never name such a snapshot.
        report.free_pages = seen.unmarked().count() as u64;
        return Ok(report);
    }
    for (s, l) in fl.pool.runs() {
        seen.mark(s, l, "free page")?;
    }
    report.free_pages = fl.pool.pages();
    let leaked: Vec<u64> = seen.unmarked().take(8).collect();
    if !leaked.is_empty() {
        let what = format!(
            "pages neither reachable nor free (leaked): {leaked:?}{}",
            if leaked.len() == 8 { "..." } else { "" }
        );
        return Err(Error::corrupted(PageId(leaked[0]), Corruption::Structure { what }));
    }
    Ok(report)
}
