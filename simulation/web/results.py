"""A finished job's results as the page shows them, built by the report's own code.

The results page is the board report's content (:func:`simulation.report.content.build_report`
over the job's results folder): the summary sentences, the headline tables with their
95% intervals, the monthly charts, the comparison's paired differences and forest plot,
the ledger and the equity view by home place. Nothing is computed here. A folder's
report content is built once and kept while the server runs (results folders never
change); the HTML and PDF report files are written by ``pathways report``'s own
function into the results folder's ``report/``, as the command would, and the zip of
the folder is made as it is downloaded.
"""

from __future__ import annotations

import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from simulation.report.content import REPORT_FOLDER, Report, build_report
from simulation.report.publish import ReportFiles, write_report
from simulation.store.reader import read_results_folder

KEEP = 8
"""How many results' report contents are kept in memory."""


class ResultsViews:
    """Report contents and report files of results folders, made once each."""

    def __init__(self) -> None:
        self._contents: OrderedDict[Path, Report] = OrderedDict()
        self._lock = threading.Lock()
        self._writing: dict[Path, threading.Lock] = {}
        self._building = threading.Lock()
        """One report is built at a time: the figures are drawn with matplotlib."""

    def content(self, folder: Path) -> Report:
        """The report content of a results folder (built on first use)."""
        with self._lock:
            if folder in self._contents:
                self._contents.move_to_end(folder)
                return self._contents[folder]
        with self._building:
            with self._lock:
                if folder in self._contents:  # built while this request waited
                    return self._contents[folder]
            report = build_report(read_results_folder(folder))
        with self._lock:
            self._contents[folder] = report
            while len(self._contents) > KEEP:
                self._contents.popitem(last=False)
        return report

    def report_files(self, folder: Path) -> ReportFiles:
        """The HTML and PDF report in ``<folder>/report/``, written on first request."""
        with self._lock:
            lock = self._writing.setdefault(folder, threading.Lock())
        with lock:
            target = folder / REPORT_FOLDER
            html, pdf = target / "report.html", target / "report.pdf"
            if html.is_file() and pdf.is_file():
                return ReportFiles(target, html, pdf)
            with self._building:
                return write_report(folder, pdf=True)


class _Sink:
    """A write-only file that hands what is written to a generator."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the chunks are taken by the reader."""

    def close(self) -> None:
        """Nothing to close: the chunks are taken by the reader."""

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def zip_folder(folder: Path) -> Iterator[bytes]:
    """A zip of a results folder, made as it is sent (never held whole in memory).

    Entries are named ``<scenario>/<timestamp>/...`` so the folder unzips as it was.
    Symbolic links are not followed.
    """
    sink = _Sink()
    prefix = Path(folder.parent.name) / folder.name
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            archive.write(path, (prefix / path.relative_to(folder)).as_posix())
            yield sink.take()
    yield sink.take()
