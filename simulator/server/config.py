"""Settings of one simulated DMP server: where its store is, where its signing key is, how
big a body may be, which scenario seeds it. One frozen object, passed to every part."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from simulator.core.errors import UsageError

DEFAULT_DB = "dmp.sqlite"
DEFAULT_SCENARIO = "demo"  # scenarios/demo.toml, found from any folder
DEFAULT_MAX_BODY = 10 * 1024 * 1024
KEY_ENV = "SEGUR_DMP_KEY"  # path of the signing key, when not given by --key


def database_url(db: str) -> str:
    """A SQLAlchemy URL from ``--db``: a PostgreSQL URL (driver psycopg 3), a sqlite URL, or a
    file path (SQLite)."""
    db = db.strip()
    if not db:
        raise UsageError("--db: empty; give a SQLite file path or a postgresql://… URL")
    for prefix in ("postgresql://", "postgres://"):
        if db.startswith(prefix):
            return "postgresql+psycopg://" + db[len(prefix):]
    if db.startswith(("postgresql+", "sqlite:")):
        return db
    if "://" in db:
        raise UsageError(f"--db: {db.split('://')[0]}:// is not supported (a SQLite file path or postgresql://…)")
    path = Path(db).expanduser().resolve()
    if path.is_dir():
        raise UsageError(f"--db: {db} is a folder; give a file name such as {DEFAULT_DB}")
    return f"sqlite:///{path}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, None for other databases (or an in-memory SQLite)."""
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///"):]
    return Path(rest) if rest and rest != ":memory:" else None


def default_key_path(url: str) -> Path:
    """Where the server keeps its signing key when none is given: beside the SQLite file
    (``dmp.sqlite.key``), or ``<database>.key`` in the current folder for PostgreSQL."""
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env).expanduser()
    path = sqlite_path(url)
    if path is not None:
        return path.with_name(path.name + ".key")
    name = url.rsplit("/", 1)[-1].split("?")[0] or "segur-dmp"
    return Path.cwd() / f"{name}.key"


@dataclass(frozen=True)
class ServerConfig:
    """Everything one server process needs."""

    db_url: str
    key_path: Path
    max_body: int = DEFAULT_MAX_BODY
    scenario: str | None = DEFAULT_SCENARIO  # None: no seeding
    patients: int | None = None  # as `segur demo --patients`
    days: int | None = None
    seed: int | None = None
    sqlite_sync: str = "normal"  # normal (survives a crash of the server) | full (power loss too)

    @classmethod
    def build(cls, db: str = DEFAULT_DB, key: str | None = None, **kw: object) -> ServerConfig:
        url = database_url(db)
        return cls(db_url=url, key_path=Path(key).expanduser() if key else default_key_path(url), **kw)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The settings as environment variables (for uvicorn worker processes)."""
        import json

        return {"SEGUR_SERVER_CONFIG": json.dumps({**self.__dict__, "key_path": str(self.key_path)})}

    @classmethod
    def from_env(cls) -> ServerConfig:
        import json

        raw = os.environ.get("SEGUR_SERVER_CONFIG")
        if not raw:
            raise UsageError("SEGUR_SERVER_CONFIG is not set (start the server with `segur serve`)")
        data = json.loads(raw)
        data["key_path"] = Path(data["key_path"])
        return cls(**data)
