"""structlog to a readable console (warnings up) and to batch_run.log as JSON lines (everything)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure(log_file: Path | None, console_level: int = logging.WARNING) -> None:
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )

    def fmt(*tail):
        return structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED, processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail]
        )

    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(console_level)
    console.setFormatter(fmt(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())))
    root.addHandler(console)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        jsonl = logging.FileHandler(log_file, encoding="utf-8")
        jsonl.setLevel(logging.DEBUG)
        jsonl.setFormatter(fmt(structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()))
        root.addHandler(jsonl)
    root.setLevel(logging.DEBUG)
    for noisy in ("httpx", "httpcore", "httpx2", "httpcore2", "openai", "urllib3", "langsmith"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get(name: str = "agent"):
    return structlog.get_logger(name)
