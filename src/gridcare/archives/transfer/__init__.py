"""Import and export of archives (customers, meters, 台区, metering points) as CSV or Excel .xlsx.

Files name objects by business keys, never by database ids; see docs/archives-import.md for the columns.
An import checks every row and writes all of them in one transaction, or nothing.
"""

from gridcare.archives.transfer.exporter import (
    CONTENT_TYPES,
    ExportTable,
    export_archive,
    export_columns,
    export_table,
    write_table,
)
from gridcare.archives.transfer.importer import import_archive
from gridcare.archives.transfer.readers import FORMATS, Format, parse_format
from gridcare.archives.transfer.report import ImportReport, RowError
from gridcare.archives.transfer.schemas import KINDS, ArchiveKind, KindSpec, parse_kind, spec_of

__all__ = [
    "CONTENT_TYPES",
    "FORMATS",
    "KINDS",
    "ArchiveKind",
    "ExportTable",
    "Format",
    "ImportReport",
    "KindSpec",
    "RowError",
    "export_archive",
    "export_columns",
    "export_table",
    "import_archive",
    "parse_format",
    "parse_kind",
    "spec_of",
    "write_table",
]
