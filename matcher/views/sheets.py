"""Spreadsheets as the pages hand them out: one sheet (``table_xlsx``), several
(``workbook_bytes``), the whole store (``xlsx_bytes``) or one table as CSV lines that Excel opens.
Written by ``matcher.exchange.export`` (the file formats), reached by the web layer from here."""

from matcher.exchange.export import csv_lines, table_xlsx, workbook_bytes, xlsx_bytes

__all__ = ["csv_lines", "table_xlsx", "workbook_bytes", "xlsx_bytes"]
