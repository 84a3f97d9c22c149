//! The item sizes of a large collection's write, listed before it makes room.

/// Item sizes of one write's parts, computed before it makes room (which may move items,
/// so the sizes cannot be read from memory while it runs). The first
/// [`SIZES_EXACT_MAX`] are exact; the rest are summed, and counted as items of the
/// largest of their sizes, twice their total over that size plus one, but never more
/// than they are: asking for more room than they need but not for a multiple of it (a
/// thousand parts of one or two KiB would otherwise count as a thousand of the largest).
/// Twice, because packing items of various sizes into segments may waste up to one item a
/// segment, which holds whenever an item is at most half a segment; a larger one needs
/// its own segment, which twice its size over the largest also covers.
#[derive(Debug, Clone)]
pub(in crate::store) struct SizeList {
    exact: [usize; SIZES_EXACT_MAX],
    exact_count: usize,
    rest_count: usize,
    rest_max: usize,
    rest_sum: usize,
}

/// Part sizes a [`SizeList`] keeps exactly.
const SIZES_EXACT_MAX: usize = 64;

impl SizeList {
    pub(in crate::store) fn new(sizes: impl Iterator<Item = usize>) -> Self {
        let mut list = Self {
            exact: [0; SIZES_EXACT_MAX],
            exact_count: 0,
            rest_count: 0,
            rest_max: 0,
            rest_sum: 0,
        };
        for size in sizes {
            list.push(size);
        }
        list
    }

    /// Adds one more size.
    pub(in crate::store) fn push(&mut self, size: usize) {
        if self.exact_count < SIZES_EXACT_MAX {
            self.exact[self.exact_count] = size;
            self.exact_count += 1;
        } else {
            self.rest_count += 1;
            self.rest_max = self.rest_max.max(size);
            self.rest_sum = self.rest_sum.saturating_add(size);
        }
    }

    /// Adds the sizes of `other`.
    pub(in crate::store) fn extend(&mut self, other: &Self) {
        for size in other.iter() {
            self.push(size);
        }
    }

    /// The sizes with the rest counted at their average, their total kept: an estimate
    /// of the room a write needs, not a promise (for an admission check whose steps each
    /// make their own room).
    pub(in crate::store) fn iter_average(&self) -> impl Iterator<Item = usize> + Clone + '_ {
        let average = self.rest_sum.div_ceil(self.rest_count.max(1));
        self.exact[..self.exact_count]
            .iter()
            .copied()
            .chain(core::iter::repeat_n(average, self.rest_count))
    }

    pub(in crate::store) fn iter(&self) -> impl Iterator<Item = usize> + Clone + '_ {
        let rest = if self.rest_max == 0 {
            self.rest_count
        } else {
            (2 * self.rest_sum)
                .div_ceil(self.rest_max)
                .saturating_add(1)
                .min(self.rest_count)
        };
        self.exact[..self.exact_count]
            .iter()
            .copied()
            .chain(core::iter::repeat_n(self.rest_max, rest))
    }
}
