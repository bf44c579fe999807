"""The child process that draws an evidence PDF's first page: `python -m
lms.equivalency.render_preview` reads the PDF on stdin and writes the PNG on stdout (nothing
when the PDF has no page to draw).

An uploaded PDF is untrusted input to a C library: it is parsed here, in a process of its own
with bounded memory and CPU time and no environment (no secret), never in the web process.
"""

from __future__ import annotations

import resource
import sys

MEMORY_BYTES = 768 * 1024 * 1024  # address space: a large page's bitmap fits, a bomb does not
CPU_SECONDS = 10


def main() -> int:
    """Bound this process, then draw the first page of the PDF on stdin."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    from lms.equivalency.preview import render_first_page

    png = render_first_page(sys.stdin.buffer.read())
    if png:
        sys.stdout.buffer.write(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
