"""Log lines people and machines can both read: `key=value` on stdout, rotating files when LOG_DIR is set."""

import logging
import time
from pathlib import Path

# Attributes every LogRecord has; anything else on a record came in through `extra=` and is printed.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
PERFORMANCE_LOGGER = "batoshelf.performance"


def _quote(value):
    text = str(value)
    if not text or any(c in text for c in ' "=\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    """time=… level=… logger=… msg="…" plus every `extra` field, one line per record."""

    converter = time.gmtime  # the Z in the time says UTC

    def format(self, record):
        fields = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        return " ".join(f"{key}={_quote(value)}" for key, value in fields.items())


def logging_config(level, log_dir=None):
    """Django's LOGGING: stdout always; with `log_dir`, general, errors and performance files rotating at 10 MB."""
    handlers = {"stdout": {"class": "logging.StreamHandler", "formatter": "key_value", "stream": "ext://sys.stdout"}}
    root, performance = ["stdout"], ["stdout"]
    if log_dir:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        for name, file_level in (("general", "INFO"), ("errors", "ERROR"), ("performance", "INFO")):
            handlers[name] = {
                "class": "logging.handlers.RotatingFileHandler",
                "formatter": "key_value",
                "level": file_level,
                "filename": str(Path(log_dir) / f"{name}.log"),
                "maxBytes": 10 * 1024 * 1024,
                "backupCount": 5,
                "encoding": "utf-8",
            }
        root += ["general", "errors"]
        performance += ["performance"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"key_value": {"()": "batoshelf.logs.KeyValueFormatter"}},
        "handlers": handlers,
        "root": {"handlers": root, "level": level},
        "loggers": {
            "django": {"level": "INFO"},
            # Apprise's and urllib3's debug lines carry channel URLs, the tokens in their paths too.
            "apprise": {"level": "WARNING"},
            "urllib3": {"level": "INFO"},
            # Timings go to their own file, not the general one.
            PERFORMANCE_LOGGER: {"handlers": performance, "level": "INFO", "propagate": False},
        },
    }
