//! Placeholder: filled in by the codec issue.
