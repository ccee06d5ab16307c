//! glibc's view of its heap: `mallinfo2`.
//!
//! With the system allocator, freed memory below the top of the main arena stays resident until
//! `malloc_trim`; `uordblks + hblkhd` is what the program holds, `arena + hblkhd` what glibc
//! has from the kernel. In the other modes these numbers describe only C libraries' `malloc`.

use crate::record::MallInfo;

/// Read glibc's `mallinfo2`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn mallinfo() -> MallInfo {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct by value; it only reads
    // glibc's arena state under glibc's own locks.
    let info = unsafe { libc::mallinfo2() };
    MallInfo {
        arena_bytes: info.arena as u64,
        hblkhd_bytes: info.hblkhd as u64,
        uordblks_bytes: info.uordblks as u64,
        fordblks_bytes: info.fordblks as u64,
        keepcost_bytes: info.keepcost as u64,
    }
}

/// Not glibc: no `mallinfo2`; every field reads zero.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn mallinfo() -> MallInfo {
    MallInfo::default()
}
