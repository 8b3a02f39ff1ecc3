"""Log files as the deployment guide lists them: monitoring_system.log for everything, and one
file per component under logs/. WatchedFileHandler reopens files that logrotate moved away.
Files are owner-only (0600, logs/ 0700) and every handler, uvicorn's too, redacts credentials."""

from __future__ import annotations

import io
import logging
import logging.handlers
from pathlib import Path

from techscaniq.observability.redaction import RedactingFilter
from techscaniq.private_files import private_directory, private_opener
from techscaniq.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"

# Component log file -> the logger namespaces that write to it.
COMPONENT_LOGS: dict[str, tuple[str, ...]] = {
    "pipeline.log": ("techscaniq.pipeline", "techscaniq.scanning", "techscaniq.bus"),
    "change_detector.log": ("techscaniq.changes",),
    "alert_engine.log": ("techscaniq.alerts",),
    "websocket.log": ("techscaniq.realtime",),
    "api.log": ("techscaniq.api",),
}

_installed: list[logging.Handler] = []
_REDACTION = RedactingFilter()
# Loggers that may hold handlers of their own (uvicorn's when it configures logging itself).
_FOREIGN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "websockets")


class PrivateWatchedFileHandler(logging.handlers.WatchedFileHandler):
    """Creates (and re-creates after logrotate) its file as 0600."""

    def _open(self) -> io.TextIOWrapper:
        stream = open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors,  # noqa: SIM115
                      opener=private_opener)
        assert isinstance(stream, io.TextIOWrapper)  # text mode: always a TextIOWrapper
        return stream


def configure_logging(settings: Settings, console: bool = True) -> None:
    """Idempotent: calling it again (a second system in one process, tests) replaces our handlers."""
    root = logging.getLogger()
    for handler in _installed:
        for name in ("", *[n for names in COMPONENT_LOGS.values() for n in names]):
            logging.getLogger(name).removeHandler(handler)
        handler.close()
    _installed.clear()

    level = logging.getLevelName(settings.log_level.upper())
    root.setLevel(level if isinstance(level, int) else logging.INFO)
    formatter = logging.Formatter(FORMAT)

    private_directory(settings.log_dir)
    if settings.log_file.parent != Path(""):
        private_directory(settings.log_file.parent)
    main = PrivateWatchedFileHandler(settings.log_file, encoding="utf-8")
    main.setFormatter(formatter)
    root.addHandler(main)
    _installed.append(main)

    for filename, namespaces in COMPONENT_LOGS.items():
        handler = PrivateWatchedFileHandler(settings.log_dir / filename, encoding="utf-8")
        handler.setFormatter(formatter)
        for namespace in namespaces:
            logging.getLogger(namespace).addHandler(handler)
        _installed.append(handler)

    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(formatter)
        stream.setLevel(logging.WARNING)
        root.addHandler(stream)
        _installed.append(stream)
    for handler in _installed:
        handler.addFilter(_REDACTION)
    for name in _FOREIGN_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(_REDACTION)
    # Third-party chatter stays out of our files; aiosqlite's DEBUG lines would even carry secrets.
    for noisy in ("httpx", "httpcore", "aiokafka", "uvicorn.access", "sqlalchemy.engine", "aiosqlite", "asyncpg"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
