"""Owner-only files: what the tracker writes (keys, databases, queue, mail, evidence) is 0600.

Folders are 0700 and files 0600 whatever the umask: each file is created with an explicit
mode, the standalone app and its CLI run under umask 077, and at start the files an older
run left wider are narrowed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def restrict_umask() -> None:
    """Make every file this process creates from now on owner-only (the standalone app)."""
    os.umask(PRIVATE_UMASK)


def private_folder(path: str | Path) -> Path:
    """Create the folder (and missing parents) owner-only, or narrow it when it exists."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    _narrow(folder, FOLDER_MODE)
    return folder


def create_private_file(path: str | Path) -> None:
    """Make sure the file exists with mode 0600 before another library opens it.

    SQLite gives a database's -wal and -shm files the mode of the database file, so an
    owner-only database keeps its journal owner-only too.
    """
    target = Path(path)
    os.close(os.open(target, os.O_CREAT | os.O_WRONLY, FILE_MODE))
    _narrow(target, FILE_MODE)


def write_private_bytes(path: str | Path, data: bytes) -> None:
    """Write the file atomically with mode 0600 (a reader never sees half of it)."""
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    _narrow(partial, FILE_MODE)  # a leftover .part from an older run kept its old mode
    partial.replace(target)


def narrow_tree(path: str | Path) -> None:
    """Narrow a folder to 0700 and everything under it to 0700/0600 (files an older run left).

    Symbolic links are neither followed nor changed, nor is anything another user owns, and
    a sticky folder such as /tmp is not walked at all.
    """
    root = Path(path)
    if not root.is_dir() or root.is_symlink() or root.stat().st_mode & stat.S_ISVTX:
        return
    _narrow(root, FOLDER_MODE)
    for folder, subfolders, files in os.walk(root):
        for name in subfolders:
            _narrow(Path(folder, name), FOLDER_MODE)
        for name in files:
            _narrow(Path(folder, name), FILE_MODE)


def _narrow(path: Path, mode: int) -> None:
    """chmod to `mode` when the path is ours, not a link, and allows anyone else anything.

    A sticky folder (such as /tmp, named by mistake) is shared by design and left alone.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
        return
    if stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX:
        return
    if stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(mode)
