//! Bytes on disk: the page frame, the file and its lock, the mapping, the
//! per-page verified bits and the I/O backends.

pub mod file;
pub mod frame;
pub mod io;
pub mod mmap;
pub mod verified;
