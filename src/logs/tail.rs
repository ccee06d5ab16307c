//! Following a log file as a worker writes it (`tail -F`): the lines written since the last
//! poll go to the one [`super::LogParser`]. A rotated file (the path now names another file:
//! logrotate's rename, Kubernetes' log rotation) is read to its end, then the new file is
//! opened and read from its start; a truncated file (`copytruncate`, `> worker.log`) is read
//! again from its start. A line still being written (no `\n` yet) waits for the next poll.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::feed::LogParser;
use super::limits::LogError;
use crate::bounded::{open_input, BoundedError, InputKinds, Line};

/// The most bytes read in one poll (the rest waits for the next one), so a watcher that
/// starts on a long log still samples the process between chunks.
const MAX_BYTES_PER_POLL: usize = 8 * 1024 * 1024;

/// A log followed by name.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    file: Option<File>,
    /// (device, inode) of the open file.
    id: (u64, u64),
    /// Bytes of the open file read so far.
    offset: u64,
    /// The start of a line whose `\n` has not come yet (at most `max_line_bytes`).
    partial: Vec<u8>,
    partial_len: u64,
    partial_offset: u64,
    /// Lines given to the parser, over every file the path named.
    lines: u64,
    max_line_bytes: usize,
    /// Times the path was found naming a new file.
    pub rotations: u32,
    /// Times the open file was found shorter than what had been read.
    pub truncations: u32,
}

impl LogTail {
    /// Follow `path` from its start. The file must exist and be a regular file (a directory, a
    /// device or a FIFO is refused with the path named).
    pub fn open(path: &Path, max_line_bytes: usize) -> Result<LogTail, BoundedError> {
        let file = open_input(path, InputKinds::RegularOnly)?;
        let id = file_id(&file, path)?;
        Ok(LogTail {
            path: path.to_path_buf(),
            file: Some(file),
            id,
            offset: 0,
            partial: Vec::new(),
            partial_len: 0,
            partial_offset: 0,
            lines: 0,
            max_line_bytes: max_line_bytes.max(1),
            rotations: 0,
            truncations: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read what was written since the last poll into `parser`; returns the lines fed.
    pub fn poll(&mut self, parser: &mut LogParser) -> Result<u64, LogError> {
        let before = self.lines;
        self.check_truncated()?;
        self.drain(parser)?;
        // A rotation: the old file was read to its end above; now the new one.
        if let Ok(meta) = std::fs::metadata(&self.path) {
            if meta.is_file() && (meta.dev(), meta.ino()) != self.id {
                match open_input(&self.path, InputKinds::RegularOnly) {
                    Ok(file) => {
                        self.flush_partial(parser)?;
                        self.id = file_id(&file, &self.path)?;
                        self.file = Some(file);
                        self.offset = 0;
                        self.rotations += 1;
                        self.drain(parser)?;
                    }
                    // Renamed away and not yet created again: keep the old one.
                    Err(BoundedError::Open { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(self.lines - before)
    }

    /// The end of the watch: a last line without its `\n` is a line too.
    pub fn finish(&mut self, parser: &mut LogParser) -> Result<(), LogError> {
        self.poll(parser)?;
        self.flush_partial(parser)
    }

    fn check_truncated(&mut self) -> Result<(), LogError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let len = file
            .metadata()
            .map_err(|source| read_error(&self.path, self.offset, source))?
            .len();
        if len < self.offset {
            file.seek(SeekFrom::Start(0))
                .map_err(|source| read_error(&self.path, 0, source))?;
            self.offset = 0;
            self.partial.clear();
            self.partial_len = 0;
            self.truncations += 1;
        }
        Ok(())
    }

    fn drain(&mut self, parser: &mut LogParser) -> Result<(), LogError> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut read_now = 0usize;
        while read_now < MAX_BYTES_PER_POLL {
            let Some(file) = self.file.as_mut() else {
                return Ok(());
            };
            let n = match file.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(source) => return Err(read_error(&self.path, self.offset, source).into()),
            };
            read_now += n;
            self.split(&buf[..n], parser)?;
        }
        Ok(())
    }

    fn split(&mut self, mut chunk: &[u8], parser: &mut LogParser) -> Result<(), LogError> {
        while !chunk.is_empty() {
            let (piece, ends_line) = match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => (&chunk[..at], true),
                None => (chunk, false),
            };
            if self.partial_len == 0 {
                self.partial_offset = self.offset;
            }
            let room = self.max_line_bytes.saturating_sub(self.partial.len());
            self.partial
                .extend_from_slice(&piece[..piece.len().min(room)]);
            self.partial_len += piece.len() as u64;
            let used = piece.len() + usize::from(ends_line);
            self.offset += used as u64;
            chunk = &chunk[used..];
            if ends_line {
                self.emit(parser)?;
            }
        }
        Ok(())
    }

    fn flush_partial(&mut self, parser: &mut LogParser) -> Result<(), LogError> {
        if self.partial_len > 0 {
            self.emit(parser)?;
        }
        Ok(())
    }

    fn emit(&mut self, parser: &mut LogParser) -> Result<(), LogError> {
        self.lines += 1;
        let line = Line {
            number: self.lines,
            offset: self.partial_offset,
            bytes: std::mem::take(&mut self.partial),
            full_len: self.partial_len,
        };
        self.partial_len = 0;
        parser.feed(&line)
    }
}

fn file_id(file: &File, path: &Path) -> Result<(u64, u64), BoundedError> {
    let meta = file.metadata().map_err(|source| BoundedError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((meta.dev(), meta.ino()))
}

fn read_error(path: &Path, offset: u64, source: std::io::Error) -> BoundedError {
    BoundedError::Read {
        path: path.to_path_buf(),
        offset,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogLimits;
    use std::io::Write;

    const JOB: &str = "INFO:docling_serve.rq_worker_instrumented:[JOB START] job_id=a | task_id=t\nINFO:docling_serve.rq_worker_instrumented:[MEMORY] job_id=a | rss=100MB | jobs_total=1\n";

    #[test]
    fn follows_partial_lines_rotation_and_truncation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.log");
        let mut f = File::create(&path).expect("create");
        let mut parser = LogParser::new("w.log", LogLimits::default());
        let mut tail = LogTail::open(&path, 1024).expect("open");
        // Half a line, then the rest.
        f.write_all(&JOB.as_bytes()[..40]).expect("write");
        tail.poll(&mut parser).expect("poll");
        assert_eq!(parser.parsed().lines_total, 0);
        f.write_all(&JOB.as_bytes()[40..]).expect("write");
        tail.poll(&mut parser).expect("poll");
        assert_eq!(parser.parsed().jobs.len(), 1);
        // Rotation: renamed away, a new file at the path.
        std::fs::rename(&path, dir.path().join("w.log.1")).expect("rename");
        let mut g = File::create(&path).expect("create new");
        g.write_all(JOB.as_bytes()).expect("write");
        tail.poll(&mut parser).expect("poll");
        assert_eq!(tail.rotations, 1);
        assert_eq!(parser.parsed().jobs.len(), 2);
        // Truncation: emptied in place, then written again.
        g.set_len(0).expect("truncate");
        let mut g = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("reopen");
        g.write_all(&JOB.as_bytes()[..JOB.len() / 2])
            .expect("write");
        tail.poll(&mut parser).expect("poll");
        assert_eq!(tail.truncations, 1);
        g.write_all(&JOB.as_bytes()[JOB.len() / 2..])
            .expect("write");
        tail.poll(&mut parser).expect("poll");
        assert_eq!(parser.parsed().jobs.len(), 3);
    }
}
