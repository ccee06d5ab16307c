//! The runtime-selected global allocator and the allocator readers.
