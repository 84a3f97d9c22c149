//! Sorted set tests.
