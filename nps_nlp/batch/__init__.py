"""Batch tagging of survey exports (``nps-nlp tag``): streaming, resumable, locally or on Ray.

Every answer goes through :class:`nps_nlp.pipeline.FeedbackPipeline`, one ``analyze`` call per chunk,
and comes out as the input row plus the tag columns of :data:`TAG_FIELDS` (schema
:data:`SCHEMA_VERSION`). See ``docs/batch-tagging.md``.

Example:
    >>> from nps_nlp.batch import ColumnMap, summarize_output, tag_file        # doctest: +SKIP
    >>> report = tag_file("export.csv", "tagged.parquet", columns=ColumnMap(text="comment"))  # doctest: +SKIP
    >>> summarize_output(report.output, report.columns).nps                    # doctest: +SKIP
"""

from nps_nlp.batch._io import FORMATS, detect_format, open_reader
from nps_nlp.batch._local import TagReport, tag_file
from nps_nlp.batch._rows import ColumnMap, Reject, parse_score, tag_rows
from nps_nlp.batch._schema import SCHEMA_VERSION, TAG_COLUMNS, TAG_FIELDS, rejected_values, tag_values
from nps_nlp.batch._summary import SummaryBuilder, TagSummary, iter_output_rows, summarize_output

__all__ = [
    "FORMATS",
    "SCHEMA_VERSION",
    "TAG_COLUMNS",
    "TAG_FIELDS",
    "ColumnMap",
    "Reject",
    "SummaryBuilder",
    "TagReport",
    "TagSummary",
    "detect_format",
    "iter_output_rows",
    "open_reader",
    "parse_score",
    "rejected_values",
    "summarize_output",
    "tag_file",
    "tag_rows",
    "tag_values",
]
