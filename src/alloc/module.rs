//! The running binary as the sampled-sites tracker needs it: where it is loaded, which
//! address ranges are its own, and its GNU build id (read from the loaded `PT_NOTE` segments,
//! never from the file, so no debug info and no section data is read into the process).
//!
//! A return address inside the binary is recorded relative to its load address (the "stated
//! virtual address" the ELF file and its DWARF use); the parent symbolises those offsets from
//! the file named by the build id ([`crate::symbols`]).

use std::sync::OnceLock;

/// Loaded `PT_LOAD` ranges kept (a Rust binary has four or five).
const MAX_RANGES: usize = 16;

/// The main binary of this process.
#[derive(Debug, Clone)]
pub struct MainBinary {
    /// The load bias (`dlpi_addr`): runtime address minus file virtual address.
    pub base: usize,
    ranges: [(usize, usize); MAX_RANGES],
    n_ranges: usize,
    /// GNU build id, lower-case hex.
    pub build_id: Option<String>,
    /// `/proc/self/exe`.
    pub path: Option<String>,
}

impl MainBinary {
    /// `ip` relative to the load address when it lies in the binary's loaded segments; 0
    /// otherwise (a frame of libc or the vDSO).
    #[inline]
    pub fn relative(&self, ip: usize) -> u64 {
        let inside = self.ranges[..self.n_ranges]
            .iter()
            .any(|&(start, end)| ip >= start && ip < end);
        if inside {
            (ip - self.base) as u64
        } else {
            0
        }
    }
}

static MAIN: OnceLock<MainBinary> = OnceLock::new();

/// The main binary, read once (the first call walks the loaded objects' program headers).
pub fn main_binary() -> &'static MainBinary {
    MAIN.get_or_init(read_main_binary)
}

struct Found {
    base: usize,
    ranges: [(usize, usize); MAX_RANGES],
    n_ranges: usize,
    build_id: Option<Vec<u8>>,
    done: bool,
}

unsafe extern "C" fn visit(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: `data` is the `&mut Found` that `read_main_binary` passed to dl_iterate_phdr,
    // alive for the whole call; `info` points to a valid dl_phdr_info for this callback.
    let (found, info) = unsafe { (&mut *data.cast::<Found>(), &*info) };
    if found.done {
        return 1;
    }
    // The first object dl_iterate_phdr reports is the main program.
    found.done = true;
    found.base = info.dlpi_addr as usize;
    for i in 0..info.dlpi_phnum as usize {
        // SAFETY: dlpi_phdr points to dlpi_phnum program headers of the loaded object.
        let phdr = unsafe { &*info.dlpi_phdr.add(i) };
        let start = found.base + phdr.p_vaddr as usize;
        let len = phdr.p_memsz as usize;
        if phdr.p_type == libc::PT_LOAD && found.n_ranges < MAX_RANGES {
            found.ranges[found.n_ranges] = (start, start + len);
            found.n_ranges += 1;
        } else if phdr.p_type == libc::PT_NOTE && found.build_id.is_none() {
            // SAFETY: a PT_NOTE segment of a loaded object is mapped readable at
            // base + p_vaddr for p_memsz bytes.
            let notes = unsafe { std::slice::from_raw_parts(start as *const u8, len) };
            found.build_id = gnu_build_id(notes);
        }
    }
    1
}

/// The `NT_GNU_BUILD_ID` descriptor in a run of ELF notes.
pub fn gnu_build_id(mut notes: &[u8]) -> Option<Vec<u8>> {
    const NT_GNU_BUILD_ID: u32 = 3;
    let word = |b: &[u8]| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    let align4 = |n: usize| (n + 3) & !3;
    while notes.len() >= 12 {
        let (namesz, descsz, kind) = (
            word(&notes[0..]) as usize,
            word(&notes[4..]) as usize,
            word(&notes[8..]),
        );
        let name_end = 12 + align4(namesz);
        let desc_end = name_end + align4(descsz);
        if desc_end > notes.len() + 3 {
            return None;
        }
        if kind == NT_GNU_BUILD_ID && notes.get(12..12 + namesz) == Some(b"GNU\0") {
            return notes.get(name_end..name_end + descsz).map(<[u8]>::to_vec);
        }
        notes = notes.get(desc_end..)?;
    }
    None
}

fn read_main_binary() -> MainBinary {
    let mut found = Found {
        base: 0,
        ranges: [(0, 0); MAX_RANGES],
        n_ranges: 0,
        build_id: None,
        done: false,
    };
    // SAFETY: `visit` matches the callback type and only uses `data` as the `Found` passed
    // here, which outlives the call.
    unsafe {
        libc::dl_iterate_phdr(Some(visit), (&mut found as *mut Found).cast());
    }
    MainBinary {
        base: found.base,
        ranges: found.ranges,
        n_ranges: found.n_ranges,
        build_id: found.build_id.map(hex::encode),
        path: std::fs::read_link("/proc/self/exe")
            .ok()
            .map(|p| p.display().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_binary_is_found_with_its_build_id() {
        let main = main_binary();
        let ip = this_binary_is_found_with_its_build_id as *const () as usize;
        let rel = main.relative(ip);
        assert!(rel > 0 && (rel as usize) < ip, "{rel:#x} of {ip:#x}");
        assert!(main.build_id.as_ref().is_some_and(|id| id.len() >= 16));
    }
}
