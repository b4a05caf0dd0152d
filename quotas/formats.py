"""django-import-export's file formats, read in the bounded child process like every upload.

The flat quota import hands the file to tablib, which reads a whole workbook with openpyxl's
full loader; the portal's guards (`quotas.forms.check_readable`) bound what a file declares,
and here the reading itself runs under `core.sandbox` limits, so the web worker only receives
the finished dataset.
"""

from __future__ import annotations

from importlib import import_module

from import_export.formats import base_formats

from core.sandbox import SandboxError, run_bounded


def _read_dataset(module: str, name: str, encoding: str | None, data):
    """In the child: the library's own reading of the file."""
    format_class = getattr(import_module(module), name)
    return format_class(encoding=encoding).create_dataset(data)


def bounded(format_class):
    """`format_class` with `create_dataset` run in the bounded child process."""

    class Bounded(format_class):
        def create_dataset(self, in_stream, **kwargs):
            try:
                return run_bounded(
                    _read_dataset, format_class.__module__, format_class.__name__, self.encoding, in_stream
                )
            except SandboxError as exc:
                raise ValueError(str(exc)) from exc

    Bounded.__name__ = Bounded.__qualname__ = f"Bounded{format_class.__name__}"
    return Bounded


# Same order as the library's defaults, so the import form's format numbers stay the same.
IMPORT_FORMATS = [bounded(f) for f in base_formats.DEFAULT_FORMATS]
