//! Reading a lane directory: every `*.toml` and `*.sql` file directly inside
//! it, in file-name (byte) order, which is the order that breaks ties in the
//! graph (as in Alembic).
//!
//! Decisions: the directory is not searched recursively; other files
//! (`README.md`, `.gitkeep`) and every dotfile (editor lock and swap files
//! such as `.#x.sql`) are ignored; a lane directory that does not exist is an
//! empty lane, so that a fresh project (or one without data revisions) loads,
//! and `retort revision` creates the directory when it writes the first file.

use std::path::{Path, PathBuf};

use super::parse::{parse_bytes, ParseError};
use super::{FileFormat, Revision};

/// The revision files of a lane directory, in file-name order.
///
/// # Errors
/// An unreadable directory (a missing one is an empty lane).
pub fn lane_files(dir: &Path) -> Result<Vec<PathBuf>, ParseError> {
    let io = |source| ParseError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        if !is_revision_file(&path) {
            continue;
        }
        // The directory entry's type costs no extra system call; only a
        // symlink needs a `stat` to know what it points to.
        let is_file = match entry.file_type() {
            Ok(t) if t.is_symlink() => path.is_file(),
            Ok(t) => t.is_file(),
            Err(_) => path.is_file(),
        };
        if is_file {
            files.push((entry.file_name(), path));
        }
    }
    // File names are `OsString`s, which compare bytewise on Unix.
    files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(files.into_iter().map(|(_, path)| path).collect())
}

/// Whether a path names a revision file: `.toml` or `.sql`, not a dotfile.
pub fn is_revision_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.')
        && path
            .extension()
            .and_then(|ext| ext.to_str())
            .and_then(FileFormat::from_extension)
            .is_some()
}

/// Parses every revision file of a lane directory, in file-name order.
///
/// # Errors
/// The first file that does not parse (file and line), or an unreadable
/// directory.
pub fn read_lane(dir: &Path, lane: &str) -> Result<Vec<Revision>, ParseError> {
    let files = lane_files(dir)?;
    let reader = DirReader::open(dir);
    // One read buffer per thread, zeroed once (zeroing 8 KiB per file was an
    // eighth of the instructions of `heads` at 5,000 files).
    let parse_file = |path: &PathBuf, buf: &mut [u8]| {
        let bytes = reader.read(path, buf).map_err(|source| ParseError::Io {
            path: path.clone(),
            source,
        })?;
        parse_bytes(bytes, path, lane)
    };
    let parse_all = |paths: &[PathBuf]| {
        let mut buf = vec![0u8; READ_CHUNK];
        paths
            .iter()
            .map(|path| parse_file(path, &mut buf))
            .collect::<Result<Vec<_>, _>>()
    };
    // Every command reads every file (as Alembic imports every module), so
    // start-up time is reading and parsing. The files are independent:
    // parse them on all cores, in contiguous chunks so the order is kept.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || files.len() < PARALLEL_THRESHOLD {
        return parse_all(&files);
    }
    let chunk = files.len().div_ceil(threads);
    let parsed: Vec<Result<Vec<Revision>, ParseError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|paths| {
                let parse_all = &parse_all;
                scope.spawn(move || parse_all(paths))
            })
            .collect();
        workers
            .into_iter()
            .zip(files.chunks(chunk))
            .map(|(worker, paths)| {
                worker.join().unwrap_or_else(|_| {
                    // A parser panic is a bug; report it against the chunk
                    // instead of taking the process down.
                    Err(ParseError::Io {
                        path: paths.first().cloned().unwrap_or_default(),
                        source: std::io::Error::other(
                            "the revision parser panicked (a bug in retort; please report it)",
                        ),
                    })
                })
            })
            .collect()
    });
    let mut revisions = Vec::with_capacity(files.len());
    for chunk in parsed {
        revisions.extend(chunk?);
    }
    Ok(revisions)
}

/// Reads the files of one directory.
///
/// On Unix through a handle on the directory (`openat`): each open resolves
/// one name instead of walking the whole absolute path again, and there is no
/// `stat` to size the buffer (`std::fs::read` does one; revision files are
/// small). At 5,000 files this is a third of the system time of `heads`.
/// Anything unusual (the directory cannot be opened as a handle) falls back
/// to `std::fs::read` on the full path.
struct DirReader {
    #[cfg(unix)]
    dir: Option<rustix::fd::OwnedFd>,
}

impl DirReader {
    fn open(dir: &Path) -> DirReader {
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            DirReader {
                dir: rustix::fs::open(dir, flags, Mode::empty()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = dir;
            DirReader {}
        }
    }

    fn read(&self, path: &Path, buf: &mut [u8]) -> std::io::Result<Vec<u8>> {
        #[cfg(unix)]
        if let (Some(dir), Some(name)) = (&self.dir, path.file_name()) {
            use rustix::fs::{Mode, OFlags};
            let fd =
                rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
            return read_all(std::fs::File::from(fd), buf);
        }
        #[cfg(not(unix))]
        let _ = buf;
        std::fs::read(path)
    }
}

/// Reads a whole file through the caller's buffer into a `Vec` of exactly
/// its size. Not `File::read_to_end`: that sizes its buffer with a `statx` and an
/// `lseek` per file, and a page-sized buffer per file makes the allocator of
/// each parsing thread grow its heap (an `mprotect`) every few files.
#[cfg(unix)]
fn read_all(mut file: std::fs::File, chunk: &mut [u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    loop {
        match file.read(chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The size of each thread's read buffer.
const READ_CHUNK: usize = 8192;

/// Below this many files a lane is parsed on the calling thread: spawning
/// costs more than it saves.
const PARALLEL_THRESHOLD: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_revision_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, body: &str| std::fs::write(dir.path().join(name), body).unwrap();
        write("b_second.sql", "-- revision: b\n-- migrate:upgrade\n");
        write("a_first.toml", "revision = \"a\"\n");
        write("README.md", "not a revision");
        write(".#a_first.toml", "lock file");
        write(".gitkeep", "");
        std::fs::create_dir(dir.path().join("sub.sql")).unwrap();
        std::fs::create_dir(dir.path().join("nested")).unwrap();
        std::fs::write(dir.path().join("nested/c.toml"), "revision = \"c\"\n").unwrap();
        let revs = read_lane(dir.path(), "schema").unwrap();
        let ids: Vec<&str> = revs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(revs.iter().all(|r| r.lane == "schema"));
    }

    #[test]
    fn missing_directory_is_an_empty_lane() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_lane(&dir.path().join("nope"), "data")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_bad_file_fails_the_lane() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "revision = \"a\"\nbogus = 1\n").unwrap();
        let err = read_lane(dir.path(), "schema").unwrap_err();
        assert!(
            err.to_string().contains("a.toml:2: unknown key `bogus`"),
            "{err}"
        );
    }
}
