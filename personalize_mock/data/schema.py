"""Avro schemas as Amazon Personalize accepts them (control-plane spec §7).

parse_schema() is CreateSchema's validator: it parses the JSON with fastavro and then applies
Personalize's own rules (one flat record, primitive field types, required and reserved fields per
dataset type and domain, metadata limits). PersonalizeSchema.check_dataset_type() is CreateDataset's
cross-check between a schema, the dataset type and the dataset group's domain, and
check_schema_update() is UpdateDataset's rule for replacing a schema.

When the type-specific rules run: the Avro record name is the dataset type ("Interactions",
"Items", "Users", "Actions", "ActionInteractions"), so a schema whose record name is one of those
gets its type's required/reserved-field and metadata checks at CreateSchema already (spec §7.5
calls this plausible, and it reports a broken schema at the first call that can know). A schema
whose record name is none of them only gets the general Avro rules at CreateSchema; it is refused
at CreateDataset, whose dataset type it can then never match. check_dataset_type() runs the
type-specific rules again for the type and domain of the dataset, so nothing slips through.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import fastavro

from personalize_mock.data.errors import SchemaError

MAX_SCHEMA_CHARS = 20_000

DATASET_TYPES = ("INTERACTIONS", "ITEMS", "USERS", "ACTIONS", "ACTION_INTERACTIONS")
# The Avro record name each dataset type's schema must carry.
RECORD_NAMES = {
    "INTERACTIONS": "Interactions",
    "ITEMS": "Items",
    "USERS": "Users",
    "ACTIONS": "Actions",
    "ACTION_INTERACTIONS": "ActionInteractions",
}
# How failure reasons and messages name each dataset type.
DATASET_LABELS = {
    "INTERACTIONS": "Interactions",
    "ITEMS": "Items",
    "USERS": "Users",
    "ACTIONS": "Actions",
    "ACTION_INTERACTIONS": "Action interactions",
}
DOMAINS = ("ECOMMERCE", "VIDEO_ON_DEMAND")
# The column holding each dataset type's record id (Items/Users/Actions replace records by it).
ID_FIELDS = {"ITEMS": "ITEM_ID", "USERS": "USER_ID", "ACTIONS": "ACTION_ID"}

PRIMITIVE_TYPES = ("float", "double", "int", "long", "string", "boolean")
NUMERIC_TYPES = frozenset({"float", "double", "int", "long"})
_COMPLEX_TYPES = {"record", "array", "map", "enum", "fixed", "error"}
_AVRO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_TYPE_KEYS = {re.sub(r"[^A-Z]", "", t): t for t in DATASET_TYPES}  # "ACTIONINTERACTIONS" -> ...

INTERACTIONS_METADATA_LIMIT = 5
USERS_METADATA_LIMIT = 5
ITEMS_METADATA_LIMIT = 50
ACTIONS_COLUMN_LIMIT = 10


def canonical_dataset_type(value: str) -> str:
    """"Interactions", "INTERACTIONS", "Action_Interactions", "action-interactions"... -> canonical."""
    key = re.sub(r"[^A-Z]", "", str(value).upper())
    try:
        return _TYPE_KEYS[key]
    except KeyError:
        raise SchemaError(
            f"Invalid dataset type '{value}'. Valid dataset types are Interactions, Items, Users, "
            "Actions and Action_Interactions."
        ) from None


def dataset_label(dataset_type: str) -> str:
    """The human name of a dataset type ("Interactions", ..., "Action interactions")."""
    try:
        return DATASET_LABELS[canonical_dataset_type(dataset_type)]
    except SchemaError:
        return str(dataset_type)


def canonical_domain(domain: str | None) -> str | None:
    if domain is None or domain == "":
        return None
    if domain not in DOMAINS:
        raise SchemaError(f"Invalid domain '{domain}'. Valid domains are ECOMMERCE and VIDEO_ON_DEMAND.")
    return domain


def normalized_name(name: str) -> str:
    """A field name with non-alphanumerics removed and lower-cased: how names are compared for
    uniqueness, and how streamed property keys (camelCase) are matched to columns."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def camel_case(column: str) -> str:
    """The key a streamed record uses for a column: NUM_RATINGS -> numRatings, DEVICE -> device."""
    parts = [p for p in column.split("_") if p]
    if not parts:
        return column
    return parts[0].lower() + "".join(p[:1].upper() + p[1:].lower() for p in parts[1:])


@dataclass(frozen=True)
class SchemaField:
    name: str
    type: str  # the Avro primitive type: float, double, int, long, string or boolean
    nullable: bool = False  # declared as a union with "null"
    categorical: bool = False
    textual: bool = False
    item_name: bool = False  # "itemName": true, the item's title (Items schemas, one field at most)

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def is_string(self) -> bool:
        return self.type == "string"

    @property
    def type_label(self) -> str:
        label = self.type
        if self.categorical:
            label = "categorical " + label
        elif self.textual:
            label = "textual " + label
        return label + (" (nullable)" if self.nullable else "")


@dataclass(frozen=True)
class PersonalizeSchema:
    name: str  # the Avro record name (without namespace)
    namespace: str | None
    dataset_type: str | None  # canonical type named by the record name, None when it names none
    domain: str | None  # the schema's domain (CreateSchema's domain parameter)
    fields: tuple[SchemaField, ...]
    source: str  # the schema string exactly as submitted

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def has(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    @property
    def text_fields(self) -> list[str]:
        """Fields holding an item's text: the itemName field (its title), then the textual ones."""
        return [f.name for f in self.fields if f.item_name] + [f.name for f in self.fields if f.textual and not f.item_name]

    def field(self, name: str) -> SchemaField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def id_field(self) -> str | None:
        """ITEM_ID / USER_ID / ACTION_ID for Items / Users / Actions; None for interactions."""
        return ID_FIELDS.get(self.dataset_type or "")

    def check_dataset_type(self, dataset_type: str, group_domain: str | None) -> None:
        """Raise SchemaError unless this schema can back a dataset of this type in a dataset group
        of this domain (None: a custom dataset group). Used by CreateDataset."""
        wanted = canonical_dataset_type(dataset_type)
        group_domain = canonical_domain(group_domain)
        if group_domain is not None and wanted in ("ACTIONS", "ACTION_INTERACTIONS"):
            raise SchemaError(
                f"{DATASET_LABELS[wanted]} datasets cannot be created in a domain dataset group "
                f"({group_domain})."
            )
        if self.dataset_type != wanted:
            raise SchemaError(
                f"The schema's record name '{self.name}' does not match the dataset type "
                f"{wanted}: the schema of {DATASET_LABELS[wanted]} datasets must be named "
                f"'{RECORD_NAMES[wanted]}'."
            )
        if self.domain != group_domain:
            raise SchemaError(
                f"The schema's domain ({self.domain or 'none: a schema for custom dataset groups'})"
                f" does not match the dataset group's domain "
                f"({group_domain or 'none: a custom dataset group'})."
            )
        _check_type_rules(self.fields, wanted, group_domain)


def parse_schema(avro_json: str, domain: str | None = None) -> PersonalizeSchema:
    """Validate a CreateSchema request's schema string; raise SchemaError naming the broken rule."""
    if not isinstance(avro_json, str):
        raise SchemaError("The schema must be a string holding an Avro schema in JSON.")
    if len(avro_json) > MAX_SCHEMA_CHARS:
        raise SchemaError(
            f"The schema is {len(avro_json)} characters long; the maximum is {MAX_SCHEMA_CHARS}."
        )
    domain = canonical_domain(domain)
    try:
        doc = json.loads(avro_json)
    except ValueError as exc:
        raise SchemaError(f"The schema is not valid JSON: {exc}.") from None
    if not isinstance(doc, dict) or doc.get("type") != "record":
        raise SchemaError(
            'The schema must be a single Avro record: a JSON object with "type": "record", a '
            '"name" and a "fields" list.'
        )
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise SchemaError('The schema record must have a "name" (Interactions, Items, Users, '
                          'Actions or ActionInteractions).')
    namespace = doc.get("namespace")
    if "." in name:
        namespace, name = name.rsplit(".", 1)
    raw_fields = doc.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise SchemaError('The schema record must have a non-empty "fields" list.')

    fields = tuple(_parse_field(raw, i) for i, raw in enumerate(raw_fields))
    seen: dict[str, str] = {}
    for f in fields:
        key = normalized_name(f.name)
        if key in seen:
            raise SchemaError(
                f"Field names must be unique when non-alphanumeric characters (and case) are "
                f"ignored: {seen[key]} and {f.name} conflict."
            )
        seen[key] = f.name

    try:
        fastavro.parse_schema(doc)
    except Exception as exc:  # fastavro raises several exception types for invalid schemas
        raise SchemaError(f"The schema is not a valid Avro schema: {exc}") from None

    titles = [f.name for f in fields if f.item_name]
    if len(titles) > 1:
        raise SchemaError(f"Only one field may have \"itemName\": true; {' and '.join(titles)} both do.")
    dataset_type = _TYPE_KEYS.get(re.sub(r"[^A-Z]", "", name.upper()))
    if dataset_type is not None:
        _check_type_rules(fields, dataset_type, domain)
    else:
        _check_items_only_flags(fields)
    return PersonalizeSchema(
        name=name,
        namespace=namespace if isinstance(namespace, str) else None,
        dataset_type=dataset_type,
        domain=domain,
        fields=fields,
        source=avro_json,
    )


def _check_items_only_flags(fields: list[SchemaField]) -> None:
    """Textual fields and the itemName field belong to Items schemas."""
    for f in fields:
        if f.textual:
            raise SchemaError(f"Field {f.name} is textual; textual fields are only allowed in Items schemas.")
        if f.item_name:
            raise SchemaError(f"Field {f.name} has \"itemName\": true; an itemName field is only allowed in "
                              "Items schemas.")


def check_schema_update(old: PersonalizeSchema, new: PersonalizeSchema) -> None:
    """UpdateDataset's rule (spec §7.6): only Items and Users schemas can be replaced, and the new
    schema must keep every field of the old one unchanged and may only add nullable fields."""
    if old.dataset_type not in ("ITEMS", "USERS"):
        raise SchemaError(
            f"Only Items and Users datasets can have their schema replaced, not "
            f"{DATASET_LABELS.get(old.dataset_type or '', old.name)} datasets."
        )
    if new.dataset_type != old.dataset_type:
        raise SchemaError(
            f"The new schema's record name '{new.name}' does not match the dataset type "
            f"{old.dataset_type}: it must be named '{RECORD_NAMES[old.dataset_type]}'."
        )
    if new.domain != old.domain:
        raise SchemaError(
            f"The new schema's domain ({new.domain or 'none'}) differs from the current schema's "
            f"domain ({old.domain or 'none'})."
        )
    new_fields = {f.name: f for f in new.fields}
    for f in old.fields:
        g = new_fields.get(f.name)
        if g is None:
            raise SchemaError(f"The new schema must keep every field of the current schema; "
                              f"{f.name} is missing.")
        if g != f:
            raise SchemaError(
                f"Field {f.name} must keep its type and attributes ({f.type_label}); the new schema "
                f"declares it as {g.type_label}."
            )
    old_names = {f.name for f in old.fields}
    for g in new.fields:
        if g.name not in old_names and not g.nullable:
            raise SchemaError(
                f"Field {g.name} is new, so it must allow null (for example \"type\": "
                f"[\"null\", \"{g.type}\"]): existing records have no value for it."
            )


# --------------------------------------------------------------------------------------------
# fields


def _parse_field(raw: object, index: int) -> SchemaField:
    if not isinstance(raw, dict):
        raise SchemaError(f"Field #{index + 1} must be a JSON object with a name and a type.")
    name = raw.get("name")
    if not isinstance(name, str) or not _AVRO_NAME.fullmatch(name):
        raise SchemaError(
            f"Field #{index + 1} has an invalid name {name!r}: names start with a letter or "
            "underscore and contain only letters, digits and underscores."
        )
    if "type" not in raw:
        raise SchemaError(f"Field {name} has no type.")
    base, nullable = _field_type(name, raw["type"])
    categorical = _flag(name, raw, "categorical")
    textual = _flag(name, raw, "textual")
    item_name = _flag(name, raw, "itemName")
    if categorical and textual:
        raise SchemaError(f"Field {name} cannot be both categorical and textual.")
    if (categorical or textual or item_name) and base != "string":
        attr = "categorical" if categorical else "textual" if textual else "itemName"
        raise SchemaError(f"Field {name} is {attr}, so its type must be string, not {base}.")
    return SchemaField(name=name, type=base, nullable=nullable, categorical=categorical,
                       textual=textual, item_name=item_name)


def _flag(name: str, raw: dict, key: str) -> bool:
    value = raw.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise SchemaError(f"Field {name}: \"{key}\" must be true or false, not {value!r}.")


def _field_type(name: str, avro_type: object) -> tuple[str, bool]:
    """(primitive type, nullable) of a field type; SchemaError for anything Personalize refuses."""
    allowed = ", ".join(PRIMITIVE_TYPES)
    if isinstance(avro_type, str):
        if avro_type in PRIMITIVE_TYPES:
            return avro_type, False
        if avro_type == "null":
            raise SchemaError(f"Field {name} has type null only; use a union such as "
                              f"[\"null\", \"string\"] to allow blank values.")
        if avro_type in _COMPLEX_TYPES:
            raise SchemaError(f"Field {name} has the complex type {avro_type}; schemas must be flat "
                              f"and use only the types {allowed} (optionally in a union with null).")
        raise SchemaError(f"Field {name} has the unsupported type {avro_type!r}; use one of "
                          f"{allowed} (optionally in a union with null).")
    if isinstance(avro_type, dict):
        inner = avro_type.get("type")
        if inner in _COMPLEX_TYPES:
            raise SchemaError(f"Field {name} is a nested {inner}; schemas must be flat (no records, "
                              "arrays, maps, enums or fixed types).")
        if "logicalType" in avro_type:
            raise SchemaError(f"Field {name} uses a logical type ({avro_type['logicalType']}); use "
                              f"one of {allowed}.")
        if isinstance(inner, str) and inner in PRIMITIVE_TYPES:
            return inner, False
        raise SchemaError(f"Field {name} has an unsupported type {json.dumps(avro_type)}; use one of "
                          f"{allowed}.")
    if isinstance(avro_type, list):
        nulls = [t for t in avro_type if t == "null"]
        others = [t for t in avro_type if t != "null"]
        if len(others) != 1 or len(nulls) > 1:
            raise SchemaError(
                f"Field {name} has the union {json.dumps(avro_type)}; a union may only combine one "
                f"of {allowed} with null."
            )
        if isinstance(others[0], list):
            raise SchemaError(f"Field {name} nests a union inside a union.")
        base, _ = _field_type(name, others[0])
        return base, bool(nulls)
    raise SchemaError(f"Field {name} has an invalid type {avro_type!r}.")


# --------------------------------------------------------------------------------------------
# dataset-type and domain rules (spec §7.2-7.4)


@dataclass(frozen=True)
class _Rule:
    types: frozenset[str]
    type_label: str  # how the message names the expected type
    required: bool = False
    nullable: bool = True  # may be a union with null
    categorical: bool | None = None  # True: must be categorical; False: must not be; None: either
    textual: bool | None = None


def _r(types: str, label: str | None = None, **kw) -> _Rule:
    ts = frozenset(types.split())
    return _Rule(types=ts, type_label=label or types, **kw)


_ID = _r("string", required=True, nullable=False)
_TIMESTAMP = _r("long", required=True, nullable=False)
_PLAIN_STRING = _r("string", "string (not categorical)", categorical=False)
_FLOAT = _r("float double", "float")
_CATEGORICAL = _r("string", "categorical string", categorical=True)
_TEXTUAL = _r("string", "textual string", textual=True)
_EPOCH = _r("long int float double", "long")

_INTERACTIONS = {
    "USER_ID": _ID,
    "ITEM_ID": _ID,
    "TIMESTAMP": _TIMESTAMP,
    "EVENT_TYPE": _PLAIN_STRING,
    "EVENT_VALUE": _FLOAT,
    "IMPRESSION": _r("string"),
    "RECOMMENDATION_ID": _PLAIN_STRING,
    "EVENT_ATTRIBUTION_SOURCE": _PLAIN_STRING,
}
_DOMAIN_INTERACTIONS = {**_INTERACTIONS, "EVENT_TYPE": _r("string", "string (not categorical)",
                                                          required=True, categorical=False)}
_ITEMS = {"ITEM_ID": _ID, "CREATION_TIMESTAMP": _EPOCH}
_ECOMMERCE_ITEMS = {
    **_ITEMS,
    "PRICE": _r("float double", "float", required=True),
    "CATEGORY_L1": _r("string", "categorical string", required=True, categorical=True),
    "CATEGORY_L2": _CATEGORICAL,
    "CATEGORY_L3": _CATEGORICAL,
    "PRODUCT_DESCRIPTION": _TEXTUAL,
    "AGE_GROUP": _CATEGORICAL,
    "ADULT": _CATEGORICAL,
    "GENDER": _CATEGORICAL,
}
_VOD_ITEMS = {
    **_ITEMS,
    "CREATION_TIMESTAMP": _r("long int float double", "long", required=True),
    # The guide's table names the required genre field GENRES, its default schema GENRES_L1:
    # either one satisfies the requirement (checked separately below).
    "GENRES": _CATEGORICAL,
    "GENRES_L1": _CATEGORICAL,
    "GENRE_L2": _CATEGORICAL,
    "GENRE_L3": _CATEGORICAL,
    "CONTENT_OWNER": _CATEGORICAL,
    "CONTENT_CLASSIFICATION": _CATEGORICAL,
    "PRICE": _FLOAT,
    "DURATION": _FLOAT,
    "AVERAGE_RATING": _FLOAT,
    "PRODUCT_DESCRIPTION": _TEXTUAL,
}
_USERS = {"USER_ID": _ID}
_VOD_USERS = {**_USERS, "SUBSCRIPTION_MODEL": _CATEGORICAL}
_ACTIONS = {
    "ACTION_ID": _ID,
    "VALUE": _r("int long float double", "numeric"),
    "ACTION_EXPIRATION_TIMESTAMP": _r("long int", "long"),
    "REPEAT_FREQUENCY": _r("int long", "int"),
    "CREATION_TIMESTAMP": _r("long int", "long"),
}
_ACTION_INTERACTIONS = {
    "USER_ID": _ID,
    "ACTION_ID": _ID,
    "TIMESTAMP": _TIMESTAMP,
    "EVENT_TYPE": _r("string", "string (not categorical)", required=True, nullable=False,
                     categorical=False),
    "IMPRESSION": _r("string"),
    "RECOMMENDATION_ID": _PLAIN_STRING,
    "EVENT_ATTRIBUTION_SOURCE": _PLAIN_STRING,
}

_RULES: dict[tuple[str, str | None], dict[str, _Rule]] = {
    ("INTERACTIONS", None): _INTERACTIONS,
    ("INTERACTIONS", "ECOMMERCE"): _DOMAIN_INTERACTIONS,
    ("INTERACTIONS", "VIDEO_ON_DEMAND"): _DOMAIN_INTERACTIONS,
    ("ITEMS", None): _ITEMS,
    ("ITEMS", "ECOMMERCE"): _ECOMMERCE_ITEMS,
    ("ITEMS", "VIDEO_ON_DEMAND"): _VOD_ITEMS,
    ("USERS", None): _USERS,
    ("USERS", "ECOMMERCE"): _USERS,
    ("USERS", "VIDEO_ON_DEMAND"): _VOD_USERS,
    ("ACTIONS", None): _ACTIONS,
    ("ACTION_INTERACTIONS", None): _ACTION_INTERACTIONS,
}


def _usable_metadata(f: SchemaField) -> bool:
    """A metadata field that training can use: categorical, textual or itemName string, numeric, boolean."""
    return f.categorical or f.textual or f.item_name or f.type != "string"


def _check_type_rules(fields: tuple[SchemaField, ...], dataset_type: str, domain: str | None) -> None:
    label = DATASET_LABELS[dataset_type]
    where = f"{label} schema" + (f" of the {domain} domain" if domain else "")
    rules = _RULES.get((dataset_type, domain))
    if rules is None:
        raise SchemaError(f"{label} schemas cannot have a domain: {label} datasets are only "
                          "available in custom dataset groups.")
    by_name = {f.name: f for f in fields}

    for fname, rule in rules.items():
        f = by_name.get(fname)
        if f is None:
            if rule.required:
                raise SchemaError(f"The {where} requires a field named {fname} of type "
                                  f"{rule.type_label}.")
            continue
        if f.type not in rule.types:
            raise SchemaError(f"Field {fname} is a reserved field of the {where} and must be of type "
                              f"{rule.type_label}, not {f.type}.")
        if f.nullable and not rule.nullable:
            raise SchemaError(f"Field {fname} is required in the {where} and cannot be nullable.")
        if rule.categorical is True and not f.categorical:
            raise SchemaError(f"Field {fname} is a reserved categorical field of the {where}: it must "
                              "have \"categorical\": true.")
        if rule.categorical is False and f.categorical:
            raise SchemaError(f"Field {fname} is a reserved field of the {where} and cannot be "
                              "categorical.")
        if rule.textual is True and not f.textual:
            raise SchemaError(f"Field {fname} is a reserved textual field of the {where}: it must "
                              "have \"textual\": true.")

    if dataset_type == "ITEMS" and domain == "VIDEO_ON_DEMAND":
        if "GENRES" not in by_name and "GENRES_L1" not in by_name:
            raise SchemaError(f"The {where} requires a categorical string field named GENRES "
                              "(or GENRES_L1).")

    if dataset_type != "ITEMS":
        _check_items_only_flags(fields)

    if dataset_type in ("INTERACTIONS", "ACTION_INTERACTIONS"):
        custom = [f.name for f in fields if f.name not in rules]
        if len(custom) > INTERACTIONS_METADATA_LIMIT:
            raise SchemaError(
                f"The {where} has {len(custom)} metadata fields ({', '.join(custom)}); the maximum is "
                f"{INTERACTIONS_METADATA_LIMIT} (reserved fields such as EVENT_TYPE, EVENT_VALUE and "
                "IMPRESSION do not count)."
            )
    elif dataset_type in ("ITEMS", "USERS"):
        id_field = ID_FIELDS[dataset_type]
        not_metadata = {id_field, "CREATION_TIMESTAMP"} if dataset_type == "ITEMS" else {id_field}
        metadata = [f for f in fields if f.name not in not_metadata]
        limit = ITEMS_METADATA_LIMIT if dataset_type == "ITEMS" else USERS_METADATA_LIMIT
        if len(metadata) > limit:
            raise SchemaError(f"The {where} has {len(metadata)} metadata fields; the maximum is "
                              f"{limit}.")
        if not any(_usable_metadata(f) for f in metadata):
            kinds = ("a categorical or textual string field, or a numeric field"
                     if dataset_type == "ITEMS" else "a categorical string field or a numeric field")
            raise SchemaError(
                f"The {where} needs at least one metadata field besides "
                f"{' and '.join(sorted(not_metadata))}: {kinds} (a string field must have "
                "\"categorical\": true" + (" or \"textual\": true" if dataset_type == "ITEMS" else "")
                + ")."
            )
    elif dataset_type == "ACTIONS":
        if len(fields) > ACTIONS_COLUMN_LIMIT:
            raise SchemaError(f"The {where} has {len(fields)} fields; the maximum is "
                              f"{ACTIONS_COLUMN_LIMIT}.")
        if len(fields) < 2:
            raise SchemaError(f"The {where} needs at least one metadata field besides ACTION_ID.")
