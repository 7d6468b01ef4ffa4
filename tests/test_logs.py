"""Log lines on stdout and in rotating files."""

import io
import logging
import logging.config

import pytest

from batoshelf.logs import PERFORMANCE_LOGGER, KeyValueFormatter, logging_config


def test_lines_are_key_value_with_the_extra_fields_quoted_where_needed():
    record = logging.makeLogRecord(
        {
            "name": "scraping.checking.pipeline",
            "levelname": "WARNING",
            "msg": 'title "X" failed',
            "title_id": 7,
            "reason": "HTTP 429",
            "created": 0,
            "msecs": 5,
        }
    )
    assert KeyValueFormatter().format(record) == (
        'time=1970-01-01T00:00:00.005Z level=warning logger=scraping.checking.pipeline msg="title \\"X\\" failed" '
        'title_id=7 reason="HTTP 429"'
    )


@pytest.fixture
def configured(tmp_path):
    saved = logging.root.handlers[:], logging.root.level
    logging.config.dictConfig(logging_config("INFO", tmp_path / "logs"))
    yield tmp_path / "logs"
    for handler in logging.root.handlers + logging.getLogger(PERFORMANCE_LOGGER).handlers:
        handler.close()
    logging.getLogger(PERFORMANCE_LOGGER).handlers = []
    logging.root.handlers, logging.root.level = saved


def test_with_a_log_directory_general_errors_and_performance_go_to_their_files(configured):
    stdout = io.StringIO()
    for logger in (logging.root, logging.getLogger(PERFORMANCE_LOGGER)):
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:  # not the file handlers, which subclass it
                handler.setStream(stdout)
    logging.getLogger("scraping.checking.tasks").info("dispatched 3 due check(s)")
    logging.getLogger("scraping.checking.jobs").error("job prune_history failed")
    logging.getLogger(PERFORMANCE_LOGGER).info("check", extra={"title_id": 1, "duration_ms": 250})

    general = (configured / "general.log").read_text()
    errors = (configured / "errors.log").read_text()
    performance = (configured / "performance.log").read_text()
    assert "dispatched 3" in general and "prune_history failed" in general and "duration_ms" not in general
    assert "prune_history failed" in errors and "dispatched" not in errors
    assert "msg=check title_id=1 duration_ms=250" in performance and "dispatched" not in performance
    out = stdout.getvalue()
    assert out.count("\n") == 3 and "level=error" in out


def test_without_a_log_directory_only_stdout():
    config = logging_config("INFO")
    assert set(config["handlers"]) == {"stdout"}
