"""CSV exports safe to open in a spreadsheet: a text cell that starts with `=`, `+`, `-`, `@`,
a tab or a carriage return would be read as a formula, so it is prefixed with a single quote
(OWASP's CSV injection rule). The rule is applied inside the COPY, so exports still stream;
numbers, dates and arrays are left as they are (a negative number is a number)."""

from __future__ import annotations

from psycopg import sql

# PostgreSQL's text-like types, by OID: text, varchar, bpchar, name.
TEXT_TYPES = frozenset({25, 1043, 1042, 19})
_NEUTRALISED = sql.SQL(
    "CASE WHEN left({cell}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || {cell} ELSE {cell} END AS {name}"
)


def describe(select: sql.Composable) -> sql.Composed:
    """The statement whose result's description names `select`'s columns and types, reading no row."""
    return sql.SQL("SELECT * FROM ({}) AS d LIMIT 0").format(select)


def safe_csv_copy(select: sql.Composable, columns: list[tuple[str, int]]) -> sql.Composed:
    """COPY … TO STDOUT of `select` as CSV with a header, its text columns neutralised.
    `columns` is (name, type OID) per column, as a cursor's description after `describe`."""
    cells = [
        _NEUTRALISED.format(cell=sql.SQL("d.{}").format(sql.Identifier(name)), name=sql.Identifier(name))
        if type_oid in TEXT_TYPES
        else sql.SQL("d.{}").format(sql.Identifier(name))
        for name, type_oid in columns
    ]
    return sql.SQL("COPY (SELECT {} FROM ({}) AS d) TO STDOUT WITH (FORMAT csv, HEADER)").format(
        sql.SQL(", ").join(cells), select
    )
