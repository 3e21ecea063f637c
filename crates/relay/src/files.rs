//! Files the relay keeps on disk are its own: the data directory is 0700
//! and every file in it (the SQLite database and its `-wal`/`-shm`, the
//! secret key file, the setup code, the development outbox, local blobs)
//! is 0600, whatever the process's umask.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// Mode of every file the relay writes.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every directory the relay creates for its data.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` (and its parents) if missing, and makes it 0700.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)?;
    set_mode(dir, DIR_MODE)
}

/// Makes an existing `path` 0600; a missing one is fine.
pub fn restrict(path: &Path) -> std::io::Result<()> {
    match set_mode(path, FILE_MODE) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Creates `path` (which must not exist) 0600 with `bytes`.
pub fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = options().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Creates or truncates `path` 0600 with `bytes` (an existing file is made 0600 first).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    restrict(path)?;
    let mut file = options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.write_all(bytes)
}

/// Opens `path` for appending, creating it 0600 (an existing file is made 0600).
pub fn append_private(path: &Path) -> std::io::Result<File> {
    restrict(path)?;
    options().create(true).append(true).open(path)
}

/// Creates `path` 0600 if it does not exist yet; makes it 0600 if it does.
pub fn touch_private(path: &Path) -> std::io::Result<()> {
    restrict(path)?;
    options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    Ok(())
}

/// The bytes of the key file at `path`; when it is missing and `create`
/// (the data directory's default file, never a configured one), a new one
/// made 0600 with the bytes `fresh` gives. Also says whether it was made.
pub fn read_or_create_key<E>(
    path: &Path,
    create: bool,
    fresh: impl FnOnce() -> Result<zeroize::Zeroizing<Vec<u8>>, E>,
    file_error: impl Fn(std::io::Error) -> E,
) -> Result<(zeroize::Zeroizing<Vec<u8>>, bool), E> {
    use std::io::Read;
    match File::open(path) {
        Ok(mut file) => {
            let mut bytes = zeroize::Zeroizing::new(Vec::new());
            file.read_to_end(&mut bytes).map_err(&file_error)?;
            Ok((bytes, false))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && create => {
            let bytes = fresh()?;
            create_private(path, &bytes).map_err(&file_error)?;
            Ok((bytes, true))
        }
        Err(error) => Err(file_error(error)),
    }
}

fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_directories_are_the_owners_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let loose = dir.join("loose");
        std::fs::write(&loose, "x").unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        append_private(&loose).unwrap();
        assert_eq!(mode(&loose), 0o600);
        let new = dir.join("new");
        create_private(&new, b"k").unwrap();
        assert_eq!(mode(&new), 0o600);
        assert!(create_private(&new, b"k").is_err(), "never replaces a file");
        write_private(&dir.join("w"), b"w").unwrap();
        assert_eq!(mode(&dir.join("w")), 0o600);
        touch_private(&dir.join("t")).unwrap();
        assert_eq!(mode(&dir.join("t")), 0o600);
        restrict(&dir.join("missing")).unwrap();
    }
}
