//! Pretty JSON of a long log's analysis, written as it is made, with the elements of its
//! largest array (the trajectory's points) made on two threads.
//!
//! The bytes are those of `serde_json::to_writer_pretty` (tests compare them): [`Pretty`] is
//! serde_json's `PrettyFormatter` (two-space indent) that can start at any depth, so an
//! element made apart can be written in place. The value is serialised with that array
//! taken out; when the formatter reaches the array (by its path of keys) it writes the
//! elements there, made in blocks: a helper thread makes every other block while this one
//! makes the others and writes them all in order. At most a few blocks are held at once.

use std::cell::Cell;
use std::io::{self, Write};
use std::sync::mpsc;

use serde::Serialize;
use serde_json::ser::Formatter;

/// Elements made per block.
const BLOCK_ELEMENTS: usize = 2048;
/// Blocks the helper may make ahead of the writer.
const BLOCKS_AHEAD: usize = 2;

/// serde_json's `PrettyFormatter` with two spaces, starting at depth `depth`.
#[derive(Debug, Clone, Default)]
pub struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    /// A formatter for a value written at `depth` (its first line is not indented: it follows
    /// a key or a `[`).
    pub fn at_depth(depth: usize) -> Self {
        Pretty {
            depth,
            has_value: false,
        }
    }
}

fn indent<W: ?Sized + Write>(w: &mut W, depth: usize) -> io::Result<()> {
    for _ in 0..depth {
        w.write_all(b"  ")?;
    }
    Ok(())
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.depth)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.depth)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.depth)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.depth)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Where the formatter is: one entry per open object or array, with the object's current
/// key (kept only while the path so far is a prefix of the target's).
#[derive(Debug)]
struct Level {
    key: Option<String>,
}

/// [`Pretty`] that writes `elements` into the (empty) array at `path` when it closes it.
struct Splice<'a, T: Serialize + Sync> {
    pretty: Pretty,
    path: &'a [&'a str],
    levels: Vec<Level>,
    /// The key being read (between `begin_object_key` and `begin_object_value`).
    reading_key: Option<String>,
    /// The depth of the target array once begun.
    target_depth: Option<usize>,
    elements: &'a [T],
    spliced: &'a Cell<bool>,
}

impl<T: Serialize + Sync> Splice<'_, T> {
    /// Whether the levels open now (with their current keys) are the target's path.
    fn at_target(&self) -> bool {
        self.levels.len() == self.path.len()
            && self
                .levels
                .iter()
                .zip(self.path)
                .all(|(level, key)| level.key.as_deref() == Some(*key))
    }
}

impl<T: Serialize + Sync> Formatter for Splice<'_, T> {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if !self.spliced.get() && self.target_depth.is_none() && self.at_target() {
            self.target_depth = Some(self.levels.len());
        }
        self.levels.push(Level { key: None });
        self.pretty.begin_array(w)
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.levels.pop();
        if self.target_depth == Some(self.levels.len()) && !self.spliced.get() {
            self.spliced.set(true);
            self.target_depth = None;
            if !self.elements.is_empty() {
                write_elements(w, self.elements, self.pretty.depth)?;
                self.pretty.has_value = true;
            }
        }
        self.pretty.end_array(w)
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.levels.push(Level { key: None });
        self.pretty.begin_object(w)
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.levels.pop();
        self.pretty.end_object(w)
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        // Keys are only followed as deep as the target's path.
        if self.levels.len() <= self.path.len() {
            self.reading_key = Some(String::new());
        }
        self.pretty.begin_object_key(w, first)
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if let Some(key) = self.reading_key.as_mut() {
            key.push_str(fragment);
        }
        w.write_all(fragment.as_bytes())
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if let Some(key) = self.reading_key.take() {
            if let Some(level) = self.levels.last_mut() {
                level.key = Some(key);
            }
        }
        self.pretty.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// The elements of an array at `depth` (the array's own), as `begin_array_value`, the
/// element and `end_array_value` of [`Pretty`] would write them, in blocks made on two
/// threads when there are two cores.
fn write_elements<W: ?Sized + Write, T: Serialize + Sync>(
    w: &mut W,
    elements: &[T],
    depth: usize,
) -> io::Result<()> {
    let block = |index: usize, part: &[T]| -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(part.len() * 512);
        for (i, element) in part.iter().enumerate() {
            out.extend_from_slice(if index == 0 && i == 0 { b"\n" } else { b",\n" });
            indent(&mut out, depth)?;
            let mut ser = serde_json::Serializer::with_formatter(&mut out, Pretty::at_depth(depth));
            element.serialize(&mut ser).map_err(io::Error::other)?;
        }
        Ok(out)
    };
    let blocks: Vec<&[T]> = elements.chunks(BLOCK_ELEMENTS).collect();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < 2 || blocks.len() < 2 {
        for (i, part) in blocks.iter().enumerate() {
            w.write_all(&block(i, part)?)?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let (send, made) = mpsc::sync_channel::<io::Result<Vec<u8>>>(BLOCKS_AHEAD);
        let blocks = &blocks;
        let helper = scope.spawn(move || {
            for i in (1..blocks.len()).step_by(2) {
                // The writer stopped (an error): nothing more to make.
                if send.send(block(i, blocks[i])).is_err() {
                    break;
                }
            }
        });
        let mut result = Ok(());
        for (i, part) in blocks.iter().enumerate() {
            let bytes = if i % 2 == 0 {
                block(i, part)
            } else {
                made.recv()
                    .unwrap_or_else(|_| Err(io::Error::other("the JSON helper thread stopped")))
            };
            if let Err(e) = bytes.and_then(|b| w.write_all(&b)) {
                result = Err(e);
                break;
            }
        }
        drop(made);
        // A helper that panicked (a bug) panics here, as it would on one thread.
        helper
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        result
    })
}

/// Write `value` as `serde_json::to_writer_pretty` would, where `value` has an empty array at
/// the key path `path` and `elements` are that array's elements: they are made on two
/// threads (see the module documentation). An error when `value` has no array at `path`
/// (keys with escaped characters are not followed).
pub fn write_pretty_spliced<W: Write, V: Serialize, T: Serialize + Sync>(
    w: W,
    value: &V,
    path: &[&str],
    elements: &[T],
) -> serde_json::Result<()> {
    let spliced = Cell::new(false);
    let formatter = Splice {
        pretty: Pretty::default(),
        path,
        levels: Vec::new(),
        reading_key: None,
        target_depth: None,
        elements,
        spliced: &spliced,
    };
    let mut ser = serde_json::Serializer::with_formatter(w, formatter);
    value.serialize(&mut ser)?;
    if spliced.get() {
        Ok(())
    } else {
        Err(serde::ser::Error::custom(format!(
            "no array at {} to write the elements in",
            path.join(".")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Clone)]
    struct Point {
        job: u64,
        name: String,
        tags: Vec<String>,
        empty: Vec<u8>,
        nested: Option<Box<Point>>,
    }

    #[derive(Serialize, Clone)]
    struct Inner {
        points: Vec<Point>,
        after: Vec<u32>,
    }

    #[derive(Serialize, Clone)]
    struct Outer {
        points: Vec<u32>,
        first: Inner,
        inner: Inner,
        last: &'static str,
    }

    fn point(job: u64) -> Point {
        Point {
            job,
            name: format!("p\"{job}\n"),
            tags: (0..job % 3).map(|t| format!("t{t}")).collect(),
            empty: vec![],
            nested: job.is_multiple_of(5).then(|| Box::new(point(job + 1))),
        }
    }

    #[test]
    fn spliced_output_is_serde_jsons_pretty_output() {
        for count in [0usize, 1, 2, 2047, 2048, 2049, 9000] {
            let points: Vec<Point> = (1..=count as u64).map(point).collect();
            let full = Outer {
                points: vec![1, 2],
                first: Inner {
                    points: vec![point(99)],
                    after: vec![],
                },
                inner: Inner {
                    points: points.clone(),
                    after: vec![3],
                },
                last: "end",
            };
            let want = serde_json::to_vec_pretty(&full).expect("pretty");
            let mut hollow = full.clone();
            hollow.inner.points.clear();
            let mut got = Vec::new();
            write_pretty_spliced(&mut got, &hollow, &["inner", "points"], &points)
                .expect("spliced");
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{count} elements"
            );
        }
    }

    #[test]
    fn a_path_without_an_array_is_an_error() {
        let hollow = Inner {
            points: vec![],
            after: vec![],
        };
        let err = write_pretty_spliced(Vec::new(), &hollow, &["nowhere"], &[1u8]).unwrap_err();
        assert!(err.to_string().contains("no array at nowhere"), "{err}");
    }
}
