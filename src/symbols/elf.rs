//! What the parent reads of a worker's ELF file besides its debug info: the GNU build id, the
//! `.text` section's place (for a heap profile's maps line) and the functions' start
//! addresses (the first frame of a heap profile's stack). Read through `object`'s
//! [`object::ReadCache`], which reads only the headers and the sections asked for: the file is
//! never read whole (it was, for the build id alone: 93 MB per run for the release binary).

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

/// Where `.text` lies in the file and in the binary's stated addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSection {
    /// Its virtual address (relative to the load address).
    pub address: u64,
    pub size: u64,
    /// Its offset in the file.
    pub file_offset: u64,
}

/// The GNU build id (lower-case hex) and `.text` of an ELF file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElfInfo {
    pub build_id: Option<String>,
    pub text: Option<TextSection>,
}

fn open(path: &str) -> Option<object::ReadCache<std::fs::File>> {
    std::fs::File::open(path).ok().map(object::ReadCache::new)
}

/// The build id and `.text` of the ELF file at `path`; `None` when it cannot be read as one.
pub fn elf_info(path: &str) -> Option<ElfInfo> {
    let cache = open(path)?;
    let file = object::File::parse(&cache).ok()?;
    let build_id = file
        .section_by_name(".note.gnu.build-id")
        .and_then(|s| s.data().ok())
        .and_then(crate::alloc::module::gnu_build_id)
        .map(hex::encode);
    let text = file.section_by_name(".text").and_then(|s| {
        let (file_offset, _) = s.file_range()?;
        Some(TextSection {
            address: s.address(),
            size: s.size(),
            file_offset,
        })
    });
    Some(ElfInfo { build_id, text })
}

/// The start addresses of the file's defined functions, sorted (empty without a symbol table).
pub fn function_starts(path: &str) -> Vec<u64> {
    let Some(cache) = open(path) else {
        return Vec::new();
    };
    let Ok(file) = object::File::parse(&cache) else {
        return Vec::new();
    };
    let mut starts: Vec<u64> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.is_definition() && s.size() > 0)
        .map(|s| s.address())
        .collect();
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// The start of the function holding `address` in sorted `starts` (`None` before the first).
pub fn function_start(starts: &[u64], address: u64) -> Option<u64> {
    match starts.binary_search(&address) {
        Ok(i) => Some(starts[i]),
        Err(0) => None,
        Err(i) => Some(starts[i - 1]),
    }
}

/// The `[start, end)` of the function holding `address` (its end: the next function's start).
pub fn function_range(starts: &[u64], address: u64) -> Option<(u64, u64)> {
    let i = match starts.binary_search(&address) {
        Ok(i) => i,
        Err(0) => return None,
        Err(i) => i - 1,
    };
    Some((
        starts[i],
        starts.get(i + 1).copied().unwrap_or(starts[i] + 1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_binary_has_its_build_id_text_and_functions() {
        let main = crate::alloc::module::main_binary();
        let path = main.path.as_deref().expect("/proc/self/exe");
        let info = elf_info(path).expect("an ELF file");
        assert_eq!(info.build_id, main.build_id);
        let text = info.text.expect(".text");
        let f = this_binary_has_its_build_id_text_and_functions as *const () as usize;
        let rel = main.relative(f);
        assert!(
            (text.address..text.address + text.size).contains(&rel),
            "{rel:#x} {text:?}"
        );
        let starts = function_starts(path);
        assert_eq!(
            function_start(&starts, rel),
            Some(rel),
            "a function's own start"
        );
        assert_eq!(function_start(&starts, rel + 1), Some(rel));
        assert_eq!(function_start(&starts, 0), None);
        let (start, end) = function_range(&starts, rel + 1).expect("a range");
        assert!(start == rel && end > rel, "{start:#x}-{end:#x}");
        assert!(elf_info("/proc/self/status").is_none());
    }
}
