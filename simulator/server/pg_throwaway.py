"""A throwaway PostgreSQL cluster in a temporary folder (Debian's ``postgresql`` binaries), on a
free port of 127.0.0.1: for the server's tests and benchmark. Run as root, it starts the
cluster as the ``postgres`` user (initdb refuses root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bindir() -> Path | None:
    """The folder of initdb / pg_ctl, or None when PostgreSQL is not installed."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]) if
                  d.split("/")[-2].isdigit() else 0)
    if dirs and (Path(dirs[-1]) / "initdb").exists():
        return Path(dirs[-1])
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def throwaway_postgres(fsync: bool = False) -> Iterator[str]:
    """Yield the URL of a new, empty database ``dmp`` on a fresh cluster; remove it all after."""
    bindir = pg_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL binaries (initdb, pg_ctl) not found")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="segur-pg-"))
    os.chmod(folder, 0o755)
    if os.geteuid() == 0:
        import pwd

        pw = pwd.getpwnam("postgres")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_user, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120,
                              text=True)
        if done.returncode:
            raise RuntimeError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()[-300:]}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "segur", "--auth=trust", "-E", "UTF8", "--no-sync")
        opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not fsync:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", opts, "-w", "start")
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "segur", "dmp")
        yield f"postgresql://segur@127.0.0.1:{port}/dmp"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
