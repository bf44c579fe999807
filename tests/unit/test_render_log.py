"""WeasyPrint's per-render font warning is logged once per process, other warnings always."""

import logging

from lms.certificates.render import SayOnce


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("weasyprint", logging.WARNING, __file__, 1, message, None, None)


def test_the_repeated_font_warning_passes_once_per_message():
    say_once = SayOnce(("Using fontTools instead of HarfBuzz",))
    sans = 'Using fontTools instead of HarfBuzz-Subset for font "DejaVu Sans".'
    mono = 'Using fontTools instead of HarfBuzz-Subset for font "DejaVu Sans Mono".'
    assert say_once.filter(record(sans))
    assert not say_once.filter(record(sans))
    assert say_once.filter(record(mono))
    assert not say_once.filter(record(mono))


def test_other_warnings_always_pass():
    say_once = SayOnce(("Using fontTools instead of HarfBuzz",))
    assert all(say_once.filter(record("Ignored `foo: bar` at 3:1")) for _ in range(3))


def test_the_filter_sits_on_weasyprints_logger():
    assert any(isinstance(f, SayOnce) for f in logging.getLogger("weasyprint").filters)
