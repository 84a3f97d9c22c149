//! `floe serve`.
