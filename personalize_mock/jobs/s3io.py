"""Read job inputs from and write job outputs to moto's S3 in the same process.

S3 errors never escape: they become a job's failureReason in AWS's words."""
from __future__ import annotations

import re

from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from ..control.lifecycle import JobFailure

_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(?P<key>.*))?$")


def parse_s3_uri(uri: str) -> tuple[str, str] | None:
    match = _S3_URI.match(uri or "")
    return (match["bucket"], match["key"] or "") if match else None


def _s3(account_id: str, region: str):
    return s3_backends[account_id][get_partition(region)]


def _bucket(account_id: str, region: str, name: str, what: str):
    try:
        return _s3(account_id, region).get_bucket(name)
    except Exception:  # moto's MissingBucket is a rest-xml error; ours is a failure reason
        raise JobFailure(f"{what} Insufficient privileges for accessing data in Amazon S3, "
                         f"or bucket {name} does not exist.") from None


def read_objects(account_id: str, region: str, location: str, what: str) -> list[tuple[str, bytes]]:
    """One object, or every object under a folder prefix ending in '/', in key order."""
    parsed = parse_s3_uri(location)
    if parsed is None:
        raise JobFailure("Invalid Data location.")
    bucket_name, key = parsed
    bucket = _bucket(account_id, region, bucket_name, what)
    if key and not key.endswith("/"):
        names = [key] if key in bucket.keys else []
    else:
        names = sorted(k for k in bucket.keys.keys() if k.startswith(key) and not k.endswith("/"))
    if not names:
        raise JobFailure(f"{what} No data found at {location}.")
    s3 = _s3(account_id, region)
    return [(f"s3://{bucket_name}/{name}", bytes(s3.get_object(bucket_name, name).value)) for name in names]


def write_object(account_id: str, region: str, location: str, body: bytes, what: str) -> None:
    parsed = parse_s3_uri(location)
    if parsed is None or not parsed[1]:
        raise JobFailure(f"Invalid S3 output path {location}")
    bucket_name, key = parsed
    _bucket(account_id, region, bucket_name, what)
    _s3(account_id, region).put_object(bucket_name, key, body)
