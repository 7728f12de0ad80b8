//! The C API (see include/thunder.h).
