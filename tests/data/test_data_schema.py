"""Schema validation: AWS's published example schemas pass, every rule refuses what it should."""
from __future__ import annotations

import json

import pytest
from data_helpers import INTERACTIONS_FIELDS, avro, field

from personalize_mock.data import (
    SchemaError,
    camel_case,
    canonical_dataset_type,
    check_schema_update,
    parse_schema,
)

# --- AWS's own examples (developer guide), as published ---------------------------------------

CUSTOM_INTERACTIONS = """{
  "type": "record",
  "name": "Interactions",
  "namespace": "com.amazonaws.personalize.schema",
  "fields": [
      {"name": "USER_ID", "type": "string"},
      {"name": "ITEM_ID", "type": "string"},
      {"name": "EVENT_TYPE", "type": "string"},
      {"name": "EVENT_VALUE", "type": ["float", "null"]},
      {"name": "LOCATION", "type": "string", "categorical": true},
      {"name": "DEVICE", "type": ["string", "null"], "categorical": true},
      {"name": "TIMESTAMP", "type": "long"},
      {"name": "IMPRESSION", "type": "string"}
  ],
  "version": "1.0"
}"""

CUSTOM_ITEMS = """{
  "type": "record",
  "name": "Items",
  "namespace": "com.amazonaws.personalize.schema",
  "fields": [
    {"name": "ITEM_ID", "type": "string"},
    {"name": "GENRES", "type": ["null", "string"], "categorical": true},
    {"name": "CREATION_TIMESTAMP", "type": "long"},
    {"name": "DESCRIPTION", "type": ["null", "string"], "textual": true}
  ],
  "version": "1.0"
}"""

CUSTOM_USERS = """{
  "type": "record",
  "name": "Users",
  "namespace": "com.amazonaws.personalize.schema",
  "fields": [
      {"name": "USER_ID", "type": "string"},
      {"name": "AGE", "type": "int"},
      {"name": "GENDER", "type": "string", "categorical": true}
  ],
  "version": "1.0"
}"""

DOMAIN_INTERACTIONS = """{
  "type": "record",
  "name": "Interactions",
  "namespace": "com.amazonaws.personalize.schema",
  "fields": [
      {"name": "USER_ID", "type": "string"},
      {"name": "ITEM_ID", "type": "string"},
      {"name": "EVENT_TYPE", "type": "string"},
      {"name": "TIMESTAMP", "type": "long"}
  ],
  "version": "1.0"
}"""

ECOMMERCE_ITEMS = """{
  "type": "record",
  "name": "Items",
  "namespace": "com.amazonaws.personalize.schema",
  "fields": [
    {"name": "ITEM_ID", "type": "string"},
    {"name": "PRICE", "type": "float"},
    {"name": "CATEGORY_L1", "type": ["string"], "categorical": true}
  ],
  "version": "1.0"
}"""

ECOMMERCE_USERS = """{
  "type": "record",
  "name": "Users",
  "namespace": "com.amazonaws.personalize.schema",
  "fields": [
      {"name": "USER_ID", "type": "string"},
      {"name": "MEMBERSHIP_STATUS", "type": "string", "categorical": true}
  ],
  "version": "1.0"
}"""

VOD_ITEMS = """{
  "type": "record",
  "name": "Items",
  "namespace": "com.amazonaws.personalize.schema",
  "fields": [
    {"name": "ITEM_ID", "type": "string"},
    {"name": "GENRES_L1", "type": ["string"], "categorical": true},
    {"name": "CREATION_TIMESTAMP", "type": "long"}
  ],
  "version": "1.0"
}"""

VOD_USERS = """{
  "type": "record",
  "name": "Users",
  "namespace": "com.amazonaws.personalize.schema",
  "fields": [
      {"name": "USER_ID", "type": "string"},
      {"name": "SUBSCRIPTION_MODEL", "type": "string", "categorical": true}
  ],
  "version": "1.0"
}"""


@pytest.mark.parametrize("source, domain, dataset_type", [
    (CUSTOM_INTERACTIONS, None, "INTERACTIONS"),
    (CUSTOM_ITEMS, None, "ITEMS"),
    (CUSTOM_USERS, None, "USERS"),
    (avro("Interactions", INTERACTIONS_FIELDS[:3]), None, "INTERACTIONS"),
    (DOMAIN_INTERACTIONS, "ECOMMERCE", "INTERACTIONS"),
    (ECOMMERCE_ITEMS, "ECOMMERCE", "ITEMS"),
    (ECOMMERCE_USERS, "ECOMMERCE", "USERS"),
    (DOMAIN_INTERACTIONS, "VIDEO_ON_DEMAND", "INTERACTIONS"),
    (VOD_ITEMS, "VIDEO_ON_DEMAND", "ITEMS"),
    (VOD_USERS, "VIDEO_ON_DEMAND", "USERS"),
])
def test_aws_example_schemas_are_accepted(source, domain, dataset_type):
    schema = parse_schema(source, domain)
    assert schema.dataset_type == dataset_type
    assert schema.domain == domain
    assert schema.source == source
    assert schema.namespace == "com.amazonaws.personalize.schema"
    schema.check_dataset_type(dataset_type.title(), domain)


def test_fields_expose_type_nullability_and_attributes():
    schema = parse_schema(CUSTOM_INTERACTIONS)
    by_name = {f.name: f for f in schema.fields}
    assert schema.field_names[:3] == ["USER_ID", "ITEM_ID", "EVENT_TYPE"]
    assert by_name["EVENT_VALUE"].type == "float" and by_name["EVENT_VALUE"].nullable
    assert by_name["DEVICE"].categorical and by_name["DEVICE"].nullable
    assert by_name["TIMESTAMP"].type == "long" and not by_name["TIMESTAMP"].nullable
    items = parse_schema(CUSTOM_ITEMS)
    assert items.field("DESCRIPTION").textual and not items.field("DESCRIPTION").categorical
    assert items.text_fields == ["DESCRIPTION"] and not any(f.item_name for f in items.fields)
    titled = parse_schema(avro("Items", [field("ITEM_ID", "string"), field("DESCRIPTION", "string", textual=True),
                                         field("TITLE", "string", itemName="true")]))
    assert titled.field("TITLE").item_name and titled.text_fields == ["TITLE", "DESCRIPTION"]
    assert items.id_field == "ITEM_ID"
    ecommerce = parse_schema(ECOMMERCE_ITEMS, "ECOMMERCE")
    one_element_union = ecommerce.field("CATEGORY_L1")
    assert one_element_union.type == "string" and not one_element_union.nullable
    assert one_element_union.categorical


@pytest.mark.parametrize("spelling", ["Interactions", "INTERACTIONS", "interactions"])
def test_dataset_type_is_case_insensitive(spelling):
    parse_schema(DOMAIN_INTERACTIONS).check_dataset_type(spelling, None)


def test_action_interactions_spellings():
    assert canonical_dataset_type("Action_Interactions") == "ACTION_INTERACTIONS"
    assert canonical_dataset_type("ACTION_INTERACTIONS") == "ACTION_INTERACTIONS"
    schema = parse_schema(avro("ActionInteractions", [
        field("USER_ID", "string"), field("ACTION_ID", "string"), field("TIMESTAMP", "long"),
        field("EVENT_TYPE", "string"),
    ]))
    assert schema.dataset_type == "ACTION_INTERACTIONS"
    schema.check_dataset_type("Action_Interactions", None)
    with pytest.raises(SchemaError, match="Invalid dataset type"):
        canonical_dataset_type("Clicks")


def test_actions_schema():
    schema = parse_schema(avro("Actions", [
        field("ACTION_ID", "string"), field("VALUE", ["null", "int"]),
        field("ACTION_EXPIRATION_TIMESTAMP", ["null", "long"]),
    ]))
    assert schema.dataset_type == "ACTIONS" and schema.id_field == "ACTION_ID"
    with pytest.raises(SchemaError, match="domain dataset group"):
        schema.check_dataset_type("Actions", "ECOMMERCE")
    too_many = [field("ACTION_ID", "string")] + [field(f"M{i}", "int") for i in range(10)]
    with pytest.raises(SchemaError, match="maximum is 10"):
        parse_schema(avro("Actions", too_many))
    with pytest.raises(SchemaError, match="cannot have a domain"):
        parse_schema(avro("Actions", too_many[:3]), "ECOMMERCE")


def test_dataset_type_mismatch_and_domain_mismatch():
    items = parse_schema(CUSTOM_ITEMS)
    with pytest.raises(SchemaError, match="record name 'Items' does not match the dataset type "
                                          "INTERACTIONS"):
        items.check_dataset_type("Interactions", None)
    with pytest.raises(SchemaError, match="domain"):
        items.check_dataset_type("Items", "ECOMMERCE")
    with pytest.raises(SchemaError, match="domain"):
        parse_schema(ECOMMERCE_USERS, "ECOMMERCE").check_dataset_type("Users", None)


def test_unknown_record_name_passes_create_schema_but_fits_no_dataset():
    schema = parse_schema(avro("UserInteraction", INTERACTIONS_FIELDS[:3]))
    assert schema.dataset_type is None
    with pytest.raises(SchemaError, match="must be named 'Interactions'"):
        schema.check_dataset_type("INTERACTIONS", None)


def _interactions(*extra, base=INTERACTIONS_FIELDS[:3]):
    return avro("Interactions", list(base) + list(extra))


@pytest.mark.parametrize("source, domain, message", [
    ("{not json", None, "not valid JSON"),
    (json.dumps([{"type": "record"}]), None, "single Avro record"),
    (json.dumps({"type": "enum", "name": "Interactions", "symbols": ["A"]}), None,
     "single Avro record"),
    (json.dumps({"type": "record", "name": "Interactions", "fields": []}), None, "non-empty"),
    (_interactions(field("X", {"type": "record", "name": "N", "fields": []})), None, "X is a nested"),
    (_interactions(field("X", {"type": "array", "items": "string"})), None, "X is a nested array"),
    (_interactions(field("X", "map")), None, "X has the complex type map"),
    (_interactions(field("X", ["string", "int"])), None, "X has the union"),
    (_interactions(field("X", ["null", "string", "null"])), None, "X has the union"),
    (_interactions(field("X", "null")), None, "X has type null only"),
    (_interactions(field("X", "bytes")), None, "X has the unsupported type 'bytes'"),
    (_interactions(field("X", {"type": "long", "logicalType": "timestamp-millis"})), None,
     "X uses a logical type"),
    (_interactions(field("BAD-NAME", "int")), None, "invalid name 'BAD-NAME'"),
    (_interactions(field("GENRES_FIELD_1", "int"), field("GENRESFIELD1", "int")), None,
     "GENRES_FIELD_1 and GENRESFIELD1 conflict"),
    (_interactions(field("X", "int", categorical=True)), None, "X is categorical, so its type must"),
    (_interactions(field("X", "string", categorical=True, textual=True)), None,
     "both categorical and textual"),
    (_interactions(field("X", "string", categorical="yes")), None, "must be true or false"),
    (avro("Interactions", INTERACTIONS_FIELDS[:2]), None, "requires a field named TIMESTAMP"),
    (avro("Interactions", [field("USER_ID", "string"), field("ITEM_ID", "string"),
                           field("TIMESTAMP", "string")]), None, "TIMESTAMP .* must be of type long"),
    (avro("Interactions", [field("USER_ID", ["null", "string"]), field("ITEM_ID", "string"),
                           field("TIMESTAMP", "long")]), None, "USER_ID is required .* cannot be nullable"),
    (_interactions(field("EVENT_TYPE", "string", categorical=True)), None,
     "EVENT_TYPE is a reserved field .* cannot be categorical"),
    (_interactions(field("EVENT_VALUE", "string")), None, "EVENT_VALUE .* must be of type float"),
    (_interactions(*[field(f"CTX{i}", "string", categorical=True) for i in range(6)]), None,
     "6 metadata fields .* maximum is 5"),
    (_interactions(field("NOTE", "string", textual=True)), None,
     "NOTE is textual; textual fields are only allowed in Items"),
    (avro("Users", [field("USER_ID", "string"), field("BIO", "string", textual=True)]), None,
     "BIO is textual"),
    (avro("Users", [field("USER_ID", "string"), field("AGE", "int"), field("NAME", "string", itemName=True)]), None,
     "an itemName field is only allowed in Items"),
    (avro("Items", [field("ITEM_ID", "string"), field("TITLE", "int", itemName=True)]), None,
     "TITLE is itemName, so its type must be string"),
    (avro("Items", [field("ITEM_ID", "string"), field("TITLE", "string", itemName=True),
                    field("NAME", "string", itemName=True)]), None, "TITLE and NAME both do"),
    (avro("Users", [field("USER_ID", "string")] + [field(f"M{i}", "int") for i in range(6)]), None,
     "6 metadata fields; the maximum is 5"),
    (avro("Users", [field("USER_ID", "string")]), None, "at least one metadata field"),
    (avro("Users", [field("USER_ID", "string"), field("NAME", "string")]), None,
     "at least one metadata field"),
    (avro("Items", [field("ITEM_ID", "string"), field("CREATION_TIMESTAMP", "long")]), None,
     "at least one metadata field"),
    (avro("Items", [field("ITEM_ID", "string")] + [field(f"M{i}", "int") for i in range(51)]), None,
     "51 metadata fields; the maximum is 50"),
    (avro("Items", [field("ITEM_ID", "string"), field("CATEGORY_L1", "string", categorical=True)]),
     "ECOMMERCE", "requires a field named PRICE"),
    (avro("Items", [field("ITEM_ID", "string"), field("PRICE", "float"),
                    field("CATEGORY_L1", "string")]), "ECOMMERCE",
     "CATEGORY_L1 is a reserved categorical field"),
    (avro("Items", [field("ITEM_ID", "string"), field("CREATION_TIMESTAMP", "long"),
                    field("PRICE", "float")]), "VIDEO_ON_DEMAND", "GENRES"),
    (avro("Items", [field("ITEM_ID", "string"), field("GENRES", "string", categorical=True)]),
     "VIDEO_ON_DEMAND", "requires a field named CREATION_TIMESTAMP"),
    (avro("Interactions", INTERACTIONS_FIELDS[:3]), "ECOMMERCE", "requires a field named EVENT_TYPE"),
    (avro("Users", [field("USER_ID", "string"), field("SUBSCRIPTION_MODEL", "string")]),
     "VIDEO_ON_DEMAND", "SUBSCRIPTION_MODEL is a reserved categorical field"),
    (avro("Interactions", INTERACTIONS_FIELDS[:3]), "RETAIL", "Invalid domain"),
])
def test_invalid_schemas_are_refused_with_a_message_naming_the_rule(source, domain, message):
    with pytest.raises(SchemaError, match=message):
        parse_schema(source, domain)


def test_schema_longer_than_20000_characters_is_refused():
    padding = " " * 20_001
    with pytest.raises(SchemaError, match="maximum is 20000"):
        parse_schema(avro("Interactions", INTERACTIONS_FIELDS[:3]) + padding)


def test_plain_string_metadata_is_accepted_next_to_a_usable_field():
    schema = parse_schema(avro("Items", [field("ITEM_ID", "string"), field("TITLE", "string"),
                                         field("PRICE", "double")]))
    assert not schema.field("TITLE").categorical


def test_schema_update_may_only_add_nullable_fields():
    old = parse_schema(CUSTOM_USERS)
    added = parse_schema(avro("Users", json.loads(CUSTOM_USERS)["fields"] +
                              [field("COUNTRY", ["null", "string"], categorical=True)]))
    check_schema_update(old, added)

    not_null = parse_schema(avro("Users", json.loads(CUSTOM_USERS)["fields"] +
                                 [field("COUNTRY", "string", categorical=True)]))
    with pytest.raises(SchemaError, match="COUNTRY is new, so it must allow null"):
        check_schema_update(old, not_null)

    dropped = parse_schema(avro("Users", [field("USER_ID", "string"), field("AGE", "int")]))
    with pytest.raises(SchemaError, match="GENDER is missing"):
        check_schema_update(old, dropped)

    retyped = parse_schema(avro("Users", [field("USER_ID", "string"), field("AGE", "long"),
                                          field("GENDER", "string", categorical=True)]))
    with pytest.raises(SchemaError, match="AGE must keep its type"):
        check_schema_update(old, retyped)

    interactions = parse_schema(CUSTOM_INTERACTIONS)
    with pytest.raises(SchemaError, match="Only Items and Users"):
        check_schema_update(interactions, interactions)


@pytest.mark.parametrize("column, key", [
    ("NUM_RATINGS", "numRatings"), ("CREATION_TIMESTAMP", "creationTimestamp"), ("DEVICE", "device"),
    ("ITEM_ID", "itemId"),
])
def test_camel_case(column, key):
    assert camel_case(column) == key
