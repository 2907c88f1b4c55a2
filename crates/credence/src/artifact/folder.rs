//! Model folders replaced whole: a save writes a hidden sibling folder and swaps it into place
//! (one `renameat2(RENAME_EXCHANGE)` on Linux), so a reader of the folder sees the old model or
//! the new one, never a mix; a lock file next to the folder lets one writer at a time claim it;
//! and an interrupted process can remove what it was writing ([`abandon`]).

use crate::error::{Error, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// What this process is writing that an interruption must remove.
#[derive(Debug)]
pub struct Pending {
    /// Half-written (or, after a swap, replaced) model folders.
    staging: Vec<PathBuf>,
    /// Lock files this process holds.
    locks: Vec<PathBuf>,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    staging: Vec::new(),
    locks: Vec::new(),
});

/// Numbers the staging folders of one process.
static NEXT: AtomicU64 = AtomicU64::new(0);

fn pending() -> MutexGuard<'static, Pending> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

fn art_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Artifact {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The hidden sibling `.NAME.TAG` of `out`.
fn sibling(out: &Path, tag: &str) -> Result<PathBuf> {
    let name = out.file_name().ok_or_else(|| {
        art_err(
            out,
            "a model folder is replaced as a whole, so it needs a name (e.g. models/boston)",
        )
    })?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok(parent.join(format!(".{}.{tag}", name.to_string_lossy())))
}

/// Whether process `pid` is running (true where that cannot be told).
fn alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

/// A claim on a model folder: the file `.NAME.lock` beside it, created only if absent and
/// holding this process's id; removed when dropped. A lock left by a process that no longer
/// runs is taken over.
#[derive(Debug)]
pub struct OutLock {
    path: PathBuf,
}

impl OutLock {
    /// Claims `out` for this process, or says which process is writing it.
    pub fn acquire(out: &Path) -> Result<OutLock> {
        let path = sibling(out, "lock")?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        for attempt in 0..2 {
            // Created and registered under one guard: an interruption between the two would
            // leave the file behind.
            let mut p = pending();
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    p.locks.push(path.clone());
                    drop(p);
                    let lock = OutLock { path };
                    f.write_all(std::process::id().to_string().as_bytes())
                        .map_err(|e| Error::io(&lock.path, e))?;
                    return Ok(lock);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    drop(p);
                    let holder = fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok());
                    if attempt == 0 && holder.is_some_and(|pid| !alive(pid)) {
                        // Left by a process that was killed: take it over.
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    let who =
                        holder.map_or("another process".to_string(), |p| format!("process {p}"));
                    return Err(art_err(
                        out,
                        format!(
                            "another fit is writing this folder ({who} holds {}); wait for it to finish or choose another --out",
                            path.display()
                        ),
                    ));
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(art_err(
            out,
            format!("cannot take the lock {}", path.display()),
        ))
    }
}

impl Drop for OutLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        pending().locks.retain(|p| p != &self.path);
    }
}

/// Whether `out` may be replaced: absent, an empty folder, or a model folder.
fn check_replaceable(out: &Path) -> Result<()> {
    match fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(out, e)),
        Ok(m) if !m.is_dir() => Err(art_err(out, "exists and is not a folder")),
        Ok(_) => {
            let mut entries = fs::read_dir(out).map_err(|e| Error::io(out, e))?;
            if entries.next().is_none() || out.join(super::RECORD_FILE).exists() {
                Ok(())
            } else {
                Err(art_err(
                    out,
                    format!(
                        "exists and is not a model folder (no {}); a save replaces the folder whole, so choose a new or empty folder",
                        super::RECORD_FILE
                    ),
                ))
            }
        }
    }
}

/// Swaps the folders `a` and `b` atomically (Linux), or `Ok(false)` where the file system
/// cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: two valid NUL-terminated paths, relative to the working directory.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(e),
    }
}

/// Elsewhere there is no atomic exchange.
#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Puts the folder `staging` at `out`; afterwards `staging` holds the old folder, if any.
fn swap_in(staging: &Path, out: &Path) -> Result<()> {
    if fs::symlink_metadata(out).is_err() {
        return fs::rename(staging, out).map_err(|e| {
            art_err(
                out,
                format!("another process wrote this folder at the same time ({e})"),
            )
        });
    }
    if exchange(staging, out).map_err(|e| Error::io(out, e))? {
        return Ok(());
    }
    // No atomic exchange: the old folder aside, the new one in (an interruption waits for
    // both renames, see `abandon`), the old one where the caller removes it.
    let aside = sibling(out, &format!("old-{}", std::process::id()))?;
    fs::rename(out, &aside).map_err(|e| Error::io(out, e))?;
    if let Err(e) = fs::rename(staging, out) {
        let _ = fs::rename(&aside, out);
        return Err(Error::io(out, e));
    }
    fs::rename(&aside, staging).map_err(|e| Error::io(staging, e))
}

/// Writes a folder with `write` into a hidden sibling of `out`, then swaps it into place:
/// `out` is at all times absent, the old folder or the new one, whole. `out` must be absent,
/// empty or a model folder (a folder with other contents is refused, not replaced).
pub fn replace_dir(out: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    check_replaceable(out)?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let staging = sibling(out, &format!("tmp-{}-{n}", std::process::id()))?;
    {
        let mut p = pending();
        if let Some(parent) = staging.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
        p.staging.push(staging.clone());
    }
    let result = write(&staging).and_then(|()| {
        let _p = pending();
        swap_in(&staging, out)
    });
    // The staging folder now holds nothing, a half-written folder or the replaced model.
    let _ = fs::remove_dir_all(&staging);
    pending().staging.retain(|s| s != &staging);
    if result.is_ok() {
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Best effort: make the rename durable.
            let _ = fs::File::open(parent).and_then(|f| f.sync_all());
        }
    }
    result
}

/// Removes what this process was writing (staging folders, lock files) and returns a guard
/// under which no save can swap a folder in: hold it until the process exits (for a signal
/// handler that ends the process).
pub fn abandon() -> MutexGuard<'static, Pending> {
    let p = pending();
    for s in &p.staging {
        // The writing thread may still add files: try a few times.
        for _ in 0..5 {
            if fs::remove_dir_all(s).is_ok() || !s.exists() {
                break;
            }
        }
    }
    for l in &p.locks {
        let _ = fs::remove_file(l);
    }
    p
}
