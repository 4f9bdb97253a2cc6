"""Item-attribute queries of Item-Attribute-Affinity batch segment jobs (spec recipes-runtime.md §3.10).

One input line carries one expression, e.g. ``ITEMS.genres = "Comedy" AND ITEMS.genres = "Action"``:

    expression := condition ( "AND" condition )*
    condition  := "ITEMS" "." FIELD "=" value
    FIELD      := [A-Za-z_][A-Za-z0-9_]*
    value      := '"' characters '"'      (\\" and \\\\ escape a quote and a backslash)
                | NUMBER                   (accepted by the grammar; see resolve_conditions)

Only ``=`` and ``AND`` exist (the docs: "batch segment input expressions support only the = symbol
for equality", no IN, no OR). ``AND`` asks for items that have every listed attribute value.
Keywords, the ``ITEMS`` dataset and field names are matched case-insensitively (the filter spec's
reading of AWS samples, §3.1); values are case-sensitive, as filter values are.

resolve_conditions() maps the conditions onto TrainingData.item_features columns, which the data
layer names ``FIELD=value`` (categorical strings, one column per value, multi-values split on
``|``), ``FIELD`` (numeric and boolean fields, standardised) and ``FIELD#j`` (textual fields).
Textual fields are refused (the docs: "You can't use unstructured textual item metadata"). Numeric
and boolean fields are refused too: the training view holds them standardised, so an equality with
the raw value the user writes cannot be evaluated (a limitation of this emulator, not of AWS).

Every error is an InvalidItemAttributes (a ValueError) whose text says what is wrong; a batch
segment job writes it as the line's error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

__all__ = [
    "Condition",
    "InvalidItemAttributes",
    "parse_item_attributes",
    "resolve_conditions",
    "format_condition",
    "non_textual_columns",
    "categorical_columns",
]

MAX_EXPRESSION_LENGTH = 2500  # the filter-expression limit (spec §0); no separate one is documented


class InvalidItemAttributes(ValueError):
    """An itemAttributes expression that is malformed or does not fit the trained data."""


@dataclass(frozen=True)
class Condition:
    field: str  # as written after "ITEMS."
    value: str  # the literal, unquoted and unescaped


_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<unterminated>"(?:[^"\\]|\\.)*\\?$)
    | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![A-Za-z0-9_.]))
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><=|>=|!=|<>|==|=|<|>)
    | (?P<dot>\.)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_UNSUPPORTED_WORDS = {"OR", "NOT", "IN", "LIKE", "BETWEEN", "IS", "WHERE", "INCLUDE", "EXCLUDE"}


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "space":
            continue
        if kind == "unterminated":
            raise InvalidItemAttributes(f"unterminated string starting at position {match.start() + 1} "
                                        f"of itemAttributes {text!r}")
        out.append((kind, match.group(), match.start()))
    return out


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1], flags=re.DOTALL)


def parse_item_attributes(expression: str) -> list[Condition]:
    """The conditions of an itemAttributes expression, in the order written."""
    if not isinstance(expression, str):
        raise InvalidItemAttributes("itemAttributes must be a string such as "
                                    "'ITEMS.genres = \"Comedy\" AND ITEMS.genres = \"Action\"'")
    if not expression.strip():
        raise InvalidItemAttributes("itemAttributes is empty; write conditions such as ITEMS.genres = \"Comedy\"")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise InvalidItemAttributes(f"itemAttributes is longer than {MAX_EXPRESSION_LENGTH} characters")
    tokens = _tokens(expression)
    conditions: list[Condition] = []
    pos = 0

    def fail(message: str, at: int | None = None) -> InvalidItemAttributes:
        where = f" at position {at + 1}" if at is not None else " at the end"
        return InvalidItemAttributes(f"invalid itemAttributes {expression!r}: {message}{where}. "
                                     "Write ITEMS.<field> = \"<value>\" conditions joined by AND "
                                     "(only = and AND are supported)")

    def take(kind: str, what: str, check=None):
        nonlocal pos
        if pos >= len(tokens):
            raise fail(f"expected {what}")
        tkind, text, at = tokens[pos]
        if tkind != kind or (check is not None and not check(text)):
            if tkind == "word" and text.upper() in _UNSUPPORTED_WORDS:
                raise fail(f"{text.upper()} is not supported, expected {what}", at)
            if tkind == "op" and text != "=":
                raise fail(f"operator {text} is not supported, expected {what}", at)
            raise fail(f"expected {what}, found {text!r}", at)
        pos += 1
        return text, at

    while True:
        take("word", "ITEMS", lambda t: t.upper() == "ITEMS")
        take("dot", "'.' after ITEMS")
        field, _ = take("word", "a field name")
        take("op", "'='", lambda t: t == "=")
        if pos < len(tokens) and tokens[pos][0] == "number":
            value = tokens[pos][1]
            pos += 1
        else:
            literal, _ = take("string", 'a double-quoted value such as "Comedy"')
            value = _unquote(literal)
        conditions.append(Condition(field, value))
        if pos == len(tokens):
            return conditions
        take("word", "AND or the end of the expression", lambda t: t.upper() == "AND")


def format_condition(field: str, value: str) -> str:
    """The expression text of one condition (quotes and backslashes escaped)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'ITEMS.{field} = "{escaped}"'


# ---- meaning against the trained item features ---------------------------------------------

def _kind(column: str) -> tuple[str, str, str | None]:
    """(kind, field, value) of a feature column name: categorical / textual / numeric."""
    if "=" in column:
        field, value = column.split("=", 1)
        return "categorical", field, value
    textual = re.fullmatch(r"(.+)#\d+", column)
    if textual:
        return "textual", textual.group(1), None
    return "numeric", column, None


def non_textual_columns(columns: Sequence[str]) -> list[int]:
    """Indices of the feature columns that come from categorical, numeric or boolean fields."""
    return [j for j, c in enumerate(columns) if _kind(c)[0] != "textual"]


def categorical_columns(columns: Sequence[str]) -> list[tuple[int, str, str]]:
    """(index, field, value) of every categorical one-hot column."""
    out = []
    for j, c in enumerate(columns):
        kind, field, value = _kind(c)
        if kind == "categorical":
            out.append((j, field, value))
    return out


def resolve_conditions(conditions: Sequence[Condition], columns: Sequence[str]) -> list[int]:
    """Feature-column indices, one per condition (duplicates removed, order kept).

    A field is found by exact name, else by a case-insensitive match; a value must equal one of
    the field's values exactly. Raises InvalidItemAttributes for unknown fields and values and for
    textual, numeric and boolean fields.
    """
    fields: dict[str, str] = {}  # field name -> kind
    values: dict[tuple[str, str], int] = {}
    for j, column in enumerate(columns):
        kind, field, value = _kind(column)
        fields.setdefault(field, kind)
        if kind == "categorical":
            values[(field, value)] = j
    picked: list[int] = []
    for condition in conditions:
        field = condition.field
        if field not in fields:
            folded = [f for f in fields if f.lower() == field.lower()]
            if not folded:
                known = ", ".join(sorted(f for f, k in fields.items() if k != "textual")) or "none"
                raise InvalidItemAttributes(f"ITEMS.{field} is not an item metadata field of the "
                                            f"training data (fields that can be queried: {known})")
            if len(folded) > 1:
                raise InvalidItemAttributes(f"ITEMS.{field} is ambiguous: the Items schema has "
                                            f"fields {', '.join(sorted(folded))}")
            field = folded[0]
        kind = fields[field]
        if kind == "textual":
            raise InvalidItemAttributes(f"ITEMS.{field} is a textual field; textual item metadata "
                                        "cannot be used as an item attribute")
        if kind == "numeric":
            raise InvalidItemAttributes(f"ITEMS.{field} is a numeric or boolean field; this "
                                        "emulator answers item-attribute queries on categorical "
                                        "string fields only")
        column = values.get((field, condition.value))
        if column is None:
            raise InvalidItemAttributes(f"no item in the training data has {format_condition(field, condition.value)}")
        if column not in picked:
            picked.append(column)
    return picked
