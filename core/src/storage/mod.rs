//! Item storage: keys and values in append-only segments of arena memory.
//!
//! The shape is Pelikan Segcache's (NSDI'21): memory is cut into equal segments; items are
//! appended to the head segment with a header of a few bytes; an overwrite or delete only
//! leaves a hole. Space comes back a segment at a time: *cleaning* copies a segment's live
//! items to the head and frees it, *eviction* drops the items a policy chooses from a whole
//! segment and moves the survivors. The [`crate::store`] drives both; this module owns the
//! byte layout ([`item`]), the segments' bookkeeping ([`segment`]), the policies
//! ([`policy`]) and the filter of recently evicted keys ([`ghost`]).

pub mod ghost;
pub mod item;
pub mod policy;
pub mod segment;
