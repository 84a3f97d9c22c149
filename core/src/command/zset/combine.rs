//! The multi-key forms: ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD, and
//! ZRANGESTORE's write.

use super::range::Request;
use super::{Context, Door};

/// ZRANGESTORE's write of the range `request` selects.
pub(super) fn range_store<D: Door>(context: &mut Context<'_, '_, D>, _request: &Request<'_>) {
    context.error("ERR not built yet");
}
