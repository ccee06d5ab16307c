//! Bounded reading of input files: a leaf module (std, libc and memchr only, nothing of the
//! project).
//!
//! - [`open_input`] opens a path for reading and refuses what is not a regular file
//!   (directories, FIFOs, sockets, character and block devices such as `/dev/zero`) with a
//!   message naming the path; a FIFO never blocks the open (it is opened non-blocking and
//!   checked on the open descriptor), and [`InputKinds`] lets a caller accept pipes.
//! - [`read_to_end`] / [`read_file`] read at most `max_bytes` *while reading*: one byte past the
//!   bound stops the read with an error naming the path and the bound.
//! - [`LineReader`] reads lines of at most `max_line_bytes` (the rest of a longer line is
//!   skipped without being kept) and at most `max_total_bytes` in all, with 1-based line
//!   numbers and byte offsets.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What went wrong reading a bounded input; every variant names the path.
#[derive(Debug, thiserror::Error)]
pub enum BoundedError {
    #[error("{path}: cannot open: {source}", path = .path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: is {kind}, not a regular file", path = .path.display())]
    NotAFile { path: PathBuf, kind: FileKind },
    #[error("{path}: larger than the {max_bytes}-byte bound ({what})", path = .path.display())]
    TooLarge {
        path: PathBuf,
        max_bytes: u64,
        /// Which bound (the setting a user can raise).
        what: String,
    },
    #[error("{path}: cannot read at byte {offset}: {source}", path = .path.display())]
    Read {
        path: PathBuf,
        offset: u64,
        #[source]
        source: io::Error,
    },
}

impl BoundedError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            BoundedError::Open { path, .. }
            | BoundedError::NotAFile { path, .. }
            | BoundedError::TooLarge { path, .. }
            | BoundedError::Read { path, .. } => path,
        }
    }
}

/// What a path turned out to be, when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Directory,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Other,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "a directory",
            FileKind::Fifo => "a FIFO (named pipe)",
            FileKind::Socket => "a socket",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Other => "not a regular file",
        })
    }
}

/// Which kinds of file an input may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputKinds {
    /// Regular files only.
    #[default]
    RegularOnly,
    /// Regular files and pipes (`<(kubectl logs ...)`, `/dev/stdin` from a pipe): the caller
    /// must bound the total bytes, as a pipe may never end.
    RegularOrPipe,
}

fn kind_of(file_type: std::fs::FileType) -> Option<FileKind> {
    if file_type.is_file() {
        None
    } else if file_type.is_dir() {
        Some(FileKind::Directory)
    } else if file_type.is_fifo() {
        Some(FileKind::Fifo)
    } else if file_type.is_socket() {
        Some(FileKind::Socket)
    } else if file_type.is_char_device() {
        Some(FileKind::CharDevice)
    } else if file_type.is_block_device() {
        Some(FileKind::BlockDevice)
    } else {
        Some(FileKind::Other)
    }
}

fn refused(kind: FileKind, kinds: InputKinds) -> bool {
    !(kinds == InputKinds::RegularOrPipe && kind == FileKind::Fifo)
}

/// Opens `path` for reading; refuses directories, devices, sockets and (unless `kinds` allows
/// them) FIFOs. Symlinks are followed; a symlink loop is an open error naming the path.
pub fn open_input(path: &Path, kinds: InputKinds) -> Result<File, BoundedError> {
    // Checked before opening, as opening a FIFO for reading blocks until a writer comes.
    let metadata = std::fs::metadata(path).map_err(|source| BoundedError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(kind) = kind_of(metadata.file_type()).filter(|k| refused(*k, kinds)) {
        return Err(BoundedError::NotAFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    // Non-blocking, so a FIFO swapped in after the check cannot block the open either; the
    // open descriptor is checked again below.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| BoundedError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    let metadata = file.metadata().map_err(|source| BoundedError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    match kind_of(metadata.file_type()) {
        Some(kind) if refused(kind, kinds) => Err(BoundedError::NotAFile {
            path: path.to_path_buf(),
            kind,
        }),
        // An accepted pipe: opened again blocking, which waits for its writer as `cat`
        // would (non-blocking, a FIFO without a writer yet reads as empty).
        Some(_) => {
            drop(file);
            File::open(path).map_err(|source| BoundedError::Open {
                path: path.to_path_buf(),
                source,
            })
        }
        None => Ok(file),
    }
}

/// Reads all of `reader`, but never more than `max_bytes`: the read stops one byte past the
/// bound with [`BoundedError::TooLarge`] (`what` names the setting).
pub fn read_to_end(
    reader: impl Read,
    path: &Path,
    max_bytes: u64,
    what: &str,
) -> Result<Vec<u8>, BoundedError> {
    let mut out = Vec::new();
    let mut limited = reader.take(max_bytes.saturating_add(1));
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match limited.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(BoundedError::Read {
                    path: path.to_path_buf(),
                    offset: out.len() as u64,
                    source,
                })
            }
        };
        if (out.len() + n) as u64 > max_bytes {
            return Err(BoundedError::TooLarge {
                path: path.to_path_buf(),
                max_bytes,
                what: what.to_string(),
            });
        }
        out.extend_from_slice(&chunk[..n]);
    }
    Ok(out)
}

/// Opens (regular files only) and reads a whole file of at most `max_bytes`. The size the file
/// system reports is checked first, and the bound holds while reading too (a file that grows).
pub fn read_file(path: &Path, max_bytes: u64, what: &str) -> Result<Vec<u8>, BoundedError> {
    let file = open_input(path, InputKinds::RegularOnly)?;
    if let Ok(metadata) = file.metadata() {
        if metadata.len() > max_bytes {
            return Err(BoundedError::TooLarge {
                path: path.to_path_buf(),
                max_bytes,
                what: what.to_string(),
            });
        }
    }
    read_to_end(file, path, max_bytes, what)
}

/// One line from a [`LineReader`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of the line's first byte in the input.
    pub offset: u64,
    /// The line without its `\n` (a trailing `\r` is kept), cut to the line bound.
    pub bytes: Vec<u8>,
    /// The line's full length in bytes (without `\n`), also when it was cut.
    pub full_len: u64,
}

impl Line {
    /// Whether the line was longer than the bound (only its start is in `bytes`).
    pub fn truncated(&self) -> bool {
        self.full_len > self.bytes.len() as u64
    }
}

/// Reads lines with a bound on each line's kept bytes and on the total bytes read.
pub struct LineReader<R> {
    reader: R,
    path: PathBuf,
    max_line_bytes: usize,
    max_total_bytes: u64,
    total_what: String,
    offset: u64,
    number: u64,
}

impl LineReader<BufReader<File>> {
    /// Opens `path` (see [`open_input`]) for bounded line reading.
    pub fn open(
        path: &Path,
        kinds: InputKinds,
        max_line_bytes: usize,
        max_total_bytes: u64,
        total_what: &str,
    ) -> Result<Self, BoundedError> {
        let file = open_input(path, kinds)?;
        Ok(LineReader::new(
            BufReader::with_capacity(64 * 1024, file),
            path,
            max_line_bytes,
            max_total_bytes,
            total_what,
        ))
    }
}

impl<R: BufRead> LineReader<R> {
    /// `path` only names the input in errors; `total_what` names the total bound's setting.
    pub fn new(
        reader: R,
        path: &Path,
        max_line_bytes: usize,
        max_total_bytes: u64,
        total_what: &str,
    ) -> Self {
        LineReader {
            reader,
            path: path.to_path_buf(),
            max_line_bytes,
            max_total_bytes,
            total_what: total_what.to_string(),
            offset: 0,
            number: 0,
        }
    }

    /// The next line, `None` at the end of the input.
    pub fn next_line(&mut self) -> Result<Option<Line>, BoundedError> {
        let mut line = Line::default();
        Ok(self.read_line_into(&mut line)?.then_some(line))
    }

    /// Read the next line into `line`, reusing its buffer (no allocation per line once the
    /// buffer has grown to the longest line); `false` at the end of the input.
    pub fn read_line_into(&mut self, line: &mut Line) -> Result<bool, BoundedError> {
        let start = self.offset;
        let bytes = &mut line.bytes;
        bytes.clear();
        let mut full_len = 0u64;
        let mut saw_any = false;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(BoundedError::Read {
                        path: self.path.clone(),
                        offset: self.offset,
                        source,
                    })
                }
            };
            if buf.is_empty() {
                break;
            }
            saw_any = true;
            let (take, done) = match memchr::memchr(b'\n', buf) {
                Some(pos) => (pos, true),
                None => (buf.len(), false),
            };
            let room = self.max_line_bytes.saturating_sub(bytes.len());
            bytes.extend_from_slice(&buf[..take.min(room)]);
            full_len += take as u64;
            let consumed = take + usize::from(done);
            self.reader.consume(consumed);
            self.offset += consumed as u64;
            if self.offset > self.max_total_bytes {
                return Err(BoundedError::TooLarge {
                    path: self.path.clone(),
                    max_bytes: self.max_total_bytes,
                    what: self.total_what.clone(),
                });
            }
            if done {
                break;
            }
        }
        if !saw_any {
            return Ok(false);
        }
        self.number += 1;
        line.number = self.number;
        line.offset = start;
        line.full_len = full_len;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max_line: usize, max_total: u64) -> Result<Vec<Line>, BoundedError> {
        let mut reader = LineReader::new(input, Path::new("in"), max_line, max_total, "total");
        let mut out = Vec::new();
        while let Some(line) = reader.next_line()? {
            out.push(line);
        }
        Ok(out)
    }

    #[test]
    fn long_lines_are_cut_and_numbered() {
        let got = lines(b"ab\nlong-line\n\nlast", 4, 1000).expect("reads");
        let texts: Vec<&[u8]> = got.iter().map(|l| l.bytes.as_slice()).collect();
        assert_eq!(texts, vec![&b"ab"[..], b"long", b"", b"last"]);
        assert!(got[1].truncated() && !got[0].truncated());
        assert_eq!(got[1].full_len, 9);
        assert_eq!((got[3].number, got[3].offset), (4, 14));
    }

    #[test]
    fn the_total_bound_holds_while_reading() {
        let err = lines(&[b'x'; 5000], 10, 100).unwrap_err();
        assert!(
            matches!(err, BoundedError::TooLarge { max_bytes: 100, .. }),
            "{err}"
        );
    }

    #[test]
    fn read_to_end_stops_one_byte_past_the_bound() {
        let ok = read_to_end(&[1u8; 10][..], Path::new("f"), 10, "max").expect("fits");
        assert_eq!(ok.len(), 10);
        let err = read_to_end(&[1u8; 11][..], Path::new("f"), 10, "max").unwrap_err();
        assert_eq!(err.to_string(), "f: larger than the 10-byte bound (max)");
    }

    #[test]
    fn directories_and_devices_are_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read_file(dir.path(), 10, "max").unwrap_err();
        assert!(err
            .to_string()
            .ends_with("is a directory, not a regular file"));
        let err = open_input(Path::new("/dev/zero"), InputKinds::RegularOrPipe).unwrap_err();
        assert!(err.to_string().contains("/dev/zero: is a character device"));
    }
}
