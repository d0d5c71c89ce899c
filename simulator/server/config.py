"""Settings of one simulated DMP server: where its store is, where its signing key is, how
big a body may be, which scenario seeds it. One frozen object, passed to every part.

The store and the key live in a per-user data folder unless told otherwise (``--data DIR``,
``--db``, ``--key``): never in the current folder unasked."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from simulator.core.errors import UsageError

DEFAULT_DB = "dmp.sqlite"  # the SQLite file's name inside the data folder
APP_FOLDER = "segur-testbed"
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


def default_data_dir() -> Path:
    """The per-user data folder: ``$XDG_DATA_HOME/segur-testbed``, else
    ``~/.local/share/segur-testbed`` (a relative XDG_DATA_HOME is ignored, as the XDG spec says)."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    root = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return root / APP_FOLDER


def data_folder(data: str | Path | None, create: bool = False) -> Path:
    """``--data DIR`` (or the per-user default); with ``create``, made if missing (its parent
    must exist when DIR was given)."""
    path = Path(data).expanduser().resolve() if data else default_data_dir()
    if path.exists() and not path.is_dir():
        raise UsageError(f"--data: {path} exists and is not a folder")
    if create and not path.is_dir():
        if data and not path.parent.is_dir():
            raise UsageError(f"--data: folder {path.parent} does not exist")
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--data: {path}: cannot be created ({exc.strerror or exc})") from None
    return path


def default_key_path(url: str, data: str | Path | None = None) -> Path:
    """Where the server keeps its signing key when none is given: beside the SQLite file
    (``dmp.sqlite.key``), or ``<database>.key`` in the data folder for PostgreSQL."""
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env).expanduser()
    path = sqlite_path(url)
    if path is not None:
        return path.with_name(path.name + ".key")
    name = url.rsplit("/", 1)[-1].split("?")[0] or "segur-dmp"
    return data_folder(data) / f"{name}.key"


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
    def build(cls, db: str | None = None, key: str | None = None, data: str | Path | None = None,
              create: bool = False, **kw: object) -> ServerConfig:
        """The settings from the options: ``db`` (default ``DATA/dmp.sqlite``), ``key`` (default
        beside the SQLite file), ``data`` (default the per-user folder; made when ``create``)."""
        if db is None:
            db = str(data_folder(data, create=create) / DEFAULT_DB)
        url = database_url(db)
        if not key and create and sqlite_path(url) is None and not os.environ.get(KEY_ENV):
            data_folder(data, create=True)  # PostgreSQL: the key goes to the data folder
        return cls(db_url=url, key_path=Path(key).expanduser() if key else default_key_path(url, data), **kw)  # type: ignore[arg-type]

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
