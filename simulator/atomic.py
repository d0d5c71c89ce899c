"""Output folders: checked before the work, claimed by a lock, written all at once, and never
replacing what segur did not write.

Every command that writes a folder (run, compare, calibrate, sweep, sensitivity, demo, network)
goes through this module:

- ``check_output`` refuses, with one line, a target that cannot be written (a file on the
  way, a read-only or system folder, the current folder, a full disk) or that holds anything
  this kind of command did not write; it is called before the simulation starts;
- ``claim_output`` holds a lock (``flock`` on ``.<name>.lock`` beside the folder) from that
  check to the end, so a second command writing the same folder stops at once;
- ``atomic_folder`` fills a temporary folder ``.<name>.xxxxxxxx`` beside the target (with a
  marker naming its owner process) and swaps it in at the end; stale temporary folders of a
  killed command are removed by the next command writing into that parent.

Each finished folder holds ``.segur-output.json``: its kind and the files written, which is
what allows a later command of the same kind to replace it.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from simulator import __version__
from simulator.core.errors import UsageError
from simulator.interrupts import uninterrupted

OUTPUT_MARKER = ".segur-output.json"  # in every finished output folder: kind and files written
TMP_MARKER = ".segur-partial.json"  # in every temporary folder: the owner process
MARKERS = (OUTPUT_MARKER, TMP_MARKER)
KINDS = ("run", "compare", "calibrate", "sweep", "sensitivity", "network", "demo", "report")
MIN_FREE_BYTES = 32 * 2**20  # a results folder at the default scale is a few MB
SYSTEM_ROOTS = ("/proc", "/sys", "/dev")
_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES, errno.EPERM)
_TMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}$")  # tempfile.mkdtemp(prefix=".<name>.")


# -- what a folder holds ----------------------------------------------------------------------
def _iter_entries(folder: Path) -> Iterator[str]:
    """Every file and folder below ``folder``, relative, POSIX style, markers left out (lazily:
    a check stops at the first entry that matters, even in a huge folder)."""
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        for name in sorted(dirs) + sorted(files):
            p = (rel / name).as_posix()
            if p not in MARKERS:
                yield p


def _entries(folder: Path) -> list[str]:
    """Every file and folder below ``folder`` (see ``_iter_entries``), sorted."""
    return sorted(_iter_entries(folder))


def read_marker(folder: Path) -> dict | None:
    """The ``.segur-output.json`` of a folder, or None when it has none (or an unreadable one)."""
    try:
        data = json.loads((Path(folder) / OUTPUT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), list) else None


def _write_marker(folder: Path, kind: str) -> None:
    marker = {"kind": kind, "written_by": f"segur-testbed {__version__}", "files": _entries(folder)}
    (folder / OUTPUT_MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")


def adopt_files(folder: str | Path, paths: list[str | Path]) -> None:
    """Record files a later command wrote into an output folder (``segur report`` into a results
    folder), so that the next replacement of the folder knows them as its own."""
    folder = Path(folder)
    marker = read_marker(folder)
    if marker is None:
        return
    known = set(marker["files"])
    for p in paths:
        p = Path(p)
        try:
            rel = p.resolve().relative_to(folder.resolve())
        except ValueError:
            continue
        if p.is_dir():
            known.update((rel / e).as_posix() for e in _entries(p))
        for i in range(1, len(rel.parts) + 1):
            known.add(Path(*rel.parts[:i]).as_posix())
    marker["files"] = sorted(known)
    tmp = folder / f"{OUTPUT_MARKER}.{os.getpid()}"
    tmp.write_text(json.dumps(marker, indent=1), encoding="utf-8")
    os.replace(tmp, folder / OUTPUT_MARKER)


def _legacy_kind(folder: Path) -> str | None:
    """The manifest kind of a folder written before output markers existed (None: not ours)."""
    for name in ("manifest.json", "calibration.json", "demo.json"):
        try:
            kind = json.loads((folder / name).read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(kind, str) and kind.startswith("segur-testbed"):
            return kind
    return None


LABELS = {"run": "results", "compare": "comparison", "calibrate": "calibration", "sweep": "sweep results",
          "sensitivity": "sensitivity results", "network": "network", "demo": "demo output", "report": "report"}


def why_not_replaceable(folder: Path, kind: str) -> str | None:
    """Why ``segur <kind>`` may not replace ``folder`` (None: it may: empty, or only its own files)."""
    first = next(_iter_entries(folder), None)
    if first is None:
        return None
    marker = read_marker(folder)
    label = f"is not a {LABELS[kind]} folder"
    if marker is None:
        if _legacy_kind(folder):
            return f"was written by an older segur-testbed (it has no {OUTPUT_MARKER})"
        return f"{label}: it holds {first.split('/')[0]}, which segur did not write"
    if marker.get("kind") != kind:
        return f"{label}: it was written by `segur {marker.get('kind')}`"
    known = set(marker["files"])
    foreign = next((e for e in _iter_entries(folder) if e not in known), None)
    if foreign:
        top = foreign.split("/")[0]
        sub = read_marker(folder / top) if (folder / top).is_dir() else None
        what = f"{top}/ (written by `segur {sub.get('kind')}`)" if sub else (top + ("/" if (folder / top).is_dir() else ""))
        return f"holds {what}, which `segur {kind}` did not write"
    return None


# -- checks before the work ---------------------------------------------------------------------
def _under(path: Path, root: str) -> bool:
    return path == Path(root) or Path(root) in path.parents


def _refuse_system(out: Path, target: Path, real: Path, option: str, what: str) -> None:
    """/proc, /sys and /dev (but /dev/shm, a plain memory file system) are not for outputs."""
    for root in SYSTEM_ROOTS:
        for p in (real, target):
            if _under(p, root) and not _under(p, "/dev/shm"):
                raise UsageError(f"{option} {out}: a system folder ({root}); choose a {what} of your own")


def check_output(out: str | Path, kind: str, overwrite: bool = False,
                 need_bytes: int = MIN_FREE_BYTES, option: str = "--out") -> Path:
    """Refuse, with one line (a UsageError), an output folder that cannot or may not be written.

    Checked: a system folder (/proc, /sys, /dev), the current folder or one holding it, a file
    on the way, a folder that cannot be written (read-only, no permission, a name too long),
    too little free space, and an existing folder holding anything ``segur <kind>`` did not
    write (unless ``overwrite``). Returns the absolute path.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown output kind {kind!r}")
    held = _claims.get(str(Path(os.path.abspath(out)).resolve())) if str(out).strip() else None
    if held is not None:  # inside the command's own claim: its --overwrite holds
        overwrite = overwrite or held.overwrite
    if str(out).strip() == "":
        raise UsageError(f"{option}: give a folder name")
    out = Path(out)
    target = Path(os.path.abspath(out))
    real = target.resolve()
    _refuse_system(out, target, real, option, "folder")
    cwd = Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise UsageError(f"{option} {out}: is the current folder or holds it; give a folder of its own (e.g. results/x)")
    if target.is_symlink() and not overwrite:
        raise UsageError(f"{option} {out}: is a symbolic link; give a real folder, or add --overwrite to replace the link")
    base = real
    while not base.exists() and not base.is_symlink():
        base = base.parent
    if not base.is_dir():
        if base == real:
            raise UsageError(f"{option} {out}: exists and is not a folder; choose another {option}")
        raise UsageError(f"{option} {out}: {base} is a file, not a folder")
    _probe(base, out, real.name, option)
    free = _free_bytes(base)
    if free is not None and free < need_bytes:
        raise UsageError(f"{option} {out}: only {free / 2**20:.1f} MB free on {base}; the output needs about "
                         f"{need_bytes / 2**20:.0f} MB")
    if base == real and not overwrite:
        why = why_not_replaceable(real, kind)
        if why:
            raise UsageError(f"{option} {out}: {why}; choose another {option}, or add --overwrite to replace it")
    return target


def _free_bytes(base: Path) -> int | None:
    """Free bytes on the disk holding ``base`` (None where the system does not say)."""
    try:
        return shutil.disk_usage(base).free
    except OSError:
        return None


def check_output_file(out: str | Path, need_bytes: int = MIN_FREE_BYTES, option: str = "--out") -> Path:
    """Refuse, with one line, a file that cannot be written where it is asked (``segur report``):
    a system folder, a file on the way, an unwritable folder, too little space, or a folder."""
    out = Path(out)
    target = Path(os.path.abspath(out))
    real = target.resolve()
    _refuse_system(out, target, real, option, "file")
    if real.is_dir():
        raise UsageError(f"{option} {out}: is a folder; give the file to write")
    base = real.parent
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        raise UsageError(f"{option} {out}: {base} is a file, not a folder")
    _probe(base, out, real.name, option)
    free = _free_bytes(base)
    if free is not None and free < need_bytes:
        raise UsageError(f"{option} {out}: only {free / 2**20:.1f} MB free on {base}; about {need_bytes / 2**20:.0f} MB needed")
    return target


def _probe(base: Path, out: Path, name: str, option: str) -> None:
    """Create and remove a temporary folder where ours would go: the surest writability test."""
    try:
        probe = tempfile.mkdtemp(prefix=f".{name}.", dir=base)
        os.rmdir(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno in (errno.EROFS,):
            reason = "read-only file system"
        raise UsageError(f"{option} {out}: cannot write in {base} ({reason})") from None


# -- the lock -----------------------------------------------------------------------------------
@dataclass
class _Claim:
    kind: str
    overwrite: bool
    depth: int = 1


_claims: dict[str, _Claim] = {}


def _pid_start(pid: int) -> str | None:
    """The start time of a process (field 22 of /proc/PID/stat), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _pid_start(pid)
    return start is None or now is None or now == start


@contextmanager
def _lock(parent: Path, name: str, out: Path) -> Iterator[None]:
    path = parent / f".{name}.lock"
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write in {parent} ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 64).decode(errors="replace").split()[0]
            except (OSError, IndexError):
                holder = "?"
            os.close(fd)
            raise UsageError(f"--out {out}: another segur command (pid {holder}) is writing this folder; "
                             f"wait for it to end or choose another --out") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file as we opened it: take the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {_pid_start(os.getpid()) or ''}\n".encode())
        yield
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


_LOCK_TEXT = re.compile(rb"^(\d+ \d*\n)?$")


def _drop_free_lock(path: Path) -> bool:
    """Remove a lock file of ours that nobody holds (its command was killed)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not _LOCK_TEXT.match(os.read(fd, 64)):
            return False  # not one of ours
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # held: its command is running
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def clean_stale(parent: Path) -> list[Path]:
    """Remove the temporary folders of killed commands in ``parent``: hidden folders named like
    ours whose marker names a process that is gone (or empty ones, killed before the marker)."""
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for e in entries:
        if e.name.startswith(".") and e.name.endswith(".lock") and e.is_file(follow_symlinks=False):
            if _drop_free_lock(Path(e.path)):
                removed.append(Path(e.path))
            continue
        if not (e.name.startswith(".") and e.is_dir(follow_symlinks=False) and _TMP_NAME.match(e.name)):
            continue
        p = Path(e.path)
        try:
            info = json.loads((p / TMP_MARKER).read_text(encoding="utf-8"))
        except FileNotFoundError:
            try:
                p.rmdir()  # killed between its creation and its marker: empty
                removed.append(p)
            except OSError:
                pass
            continue
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or info.get("name") != e.name or not isinstance(info.get("pid"), int):
            continue
        if _alive(info["pid"], info.get("start")):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


@contextmanager
def claim_output(out: str | Path, kind: str, overwrite: bool = False,
                 need_bytes: int = MIN_FREE_BYTES) -> Iterator[Path]:
    """Check ``out`` (``check_output``) and hold its lock for the block: call it before the work,
    so a bad or busy target fails at once. Re-entrant within a process (``atomic_folder`` inside
    takes the claim's kind and ``overwrite``). Parent folders it creates and leaves empty are removed."""
    target = check_output(out, kind, overwrite, need_bytes)
    key = str(target.resolve())
    held = _claims.get(key)
    if held is not None:
        held.depth += 1
        try:
            yield target
        finally:
            held.depth -= 1
        return
    parent = Path(key).parent
    created = []
    for p in reversed([parent, *parent.parents]):
        if not p.exists():
            created.append(p)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create {parent} ({exc.strerror})") from None
    try:
        with _lock(parent, Path(key).name, Path(out)):
            _claims[key] = _Claim(kind, overwrite)
            try:
                clean_stale(parent)
                yield target
            finally:
                _claims.pop(key, None)
    finally:
        for p in reversed(created):
            try:
                p.rmdir()
            except OSError:
                break


# -- the swap -------------------------------------------------------------------------------------
def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _mark_partial(folder: Path, name: str) -> None:
    info = {"pid": os.getpid(), "start": _pid_start(os.getpid()), "name": name}
    (folder / TMP_MARKER).write_text(json.dumps(info), encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_folder(out: str | Path, kind: str = "run", overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; when the block ends normally it replaces ``out``,
    when it raises (or is interrupted) the temporary folder is removed and ``out`` is untouched.

    ``out`` may be replaced only when it is empty or holds only what an earlier ``segur <kind>``
    wrote (``overwrite`` forces it); a claim held by the caller (``claim_output``) gives the
    kind and ``overwrite``.
    """
    out = Path(out)
    held = _claims.get(str(Path(os.path.abspath(out)).resolve()))
    if held is not None:
        kind, overwrite = held.kind, held.overwrite
    with claim_output(out, kind, overwrite) as target:
        real = target.resolve()
        parent = real.parent
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}.", dir=parent))
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write in {parent} ({exc.strerror})") from None
        try:
            _mark_partial(tmp, tmp.name)
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the folder is a normal output
            yield tmp
            why = None if overwrite or not real.is_dir() else why_not_replaceable(real, kind)
            if why:  # written meanwhile by something else
                raise UsageError(f"--out {out}: {why}; choose another --out, or add --overwrite to replace it")
            _write_marker(tmp, kind)
            with uninterrupted():
                if target.is_symlink() or real.exists() and not real.is_dir():
                    target.unlink()
                if real.is_dir():
                    _mark_partial(real, tmp.name)  # after the swap the old folder is the stale one
                    if not _exchange(tmp, real):
                        old = parent / f".{real.name}.old{os.getpid() % 100:02d}"
                        os.replace(real, old)
                        os.replace(tmp, real)
                        os.replace(old, tmp)
                else:
                    os.replace(tmp, real)
            try:
                (real / TMP_MARKER).unlink()
            except FileNotFoundError:
                pass
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if exc.errno in _WRITE_ERRNOS:  # a full disk, a quota, a file system gone read-only
                raise UsageError(f"--out {out}: cannot write ({exc.strerror}); nothing was written") from None
            raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # the old folder, swapped out
