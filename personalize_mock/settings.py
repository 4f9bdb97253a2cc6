"""User-facing settings of personalize-mock, read from the environment.

PERSONALIZE_MOCK_TRAINING_MINIMUMS
    How much data training and imports demand.

    ``aws`` (default): Amazon Personalize's documented minimums. Training (a solution version or a
    recommender) needs at least 1000 interactions, counted after eventType / eventValueThreshold
    filtering, and at least 25 users with at least 2 interactions each; every import job into an
    Interactions or Action interactions dataset needs at least 1000 records; HRNN-Coldstart needs
    at least 100 cold items (and at most 80,000 in both modes).

    ``relaxed``: for tiny test data sets. Training needs at least 10 interactions and 2 users with
    at least 2 interactions each; imports have no minimum; HRNN-Coldstart needs 1 cold item.

    The value is read each time a minimum is checked (not at import time), so
    ``monkeypatch.setenv("PERSONALIZE_MOCK_TRAINING_MINIMUMS", "relaxed")`` in a test, or exporting
    the variable before starting the server, both take effect. Case and surrounding blanks are
    ignored; any other value raises ValueError naming the variable.

PERSONALIZE_MOCK_JOB_WAIT_SECONDS
    How long a describe may wait (default 30 s) for the work of a resource (an import, a training,
    a batch job) once moto's state manager says the resource is finished. With the default
    "immediate" progression the first describe therefore shows the outcome; past this bound it
    answers the in-progress status instead of blocking longer.

PERSONALIZE_MOCK_REALTIME_SCORING
    How GetRecommendations scores the catalogue of an aws-user-personalization (HRNN) campaign
    or recommender.

    ``projected`` (default): where the item table is large (32 MiB and more: about 56,000 items at
    the default hidden_dimension of 149), a request reads a projection of the table and the few
    rows that can matter (personalize_mock.recipes.engines.projected_table): the same items in the
    same order as ``exact``, with the scores' shared softmax denominator estimated. A campaign
    (created or updated) or a recommender builds the projection before it is ACTIVE (0.7 s at
    179,000 items); a campaign that follows a newer solution version builds it on the first
    request (syncWithLatestSolutionVersion). At 179,000 items (bench/scale.py) a
    GetRecommendations through boto3 takes 4.5-5.7 ms instead of 6.5-8.6 ms, and the scores are
    0.6 % off at the median, 3 % at the 99th percentile. Smaller tables are read whole, as under
    ``exact``.

    ``exact``: every request reads the whole item table, as batch inference and the solution
    version's metrics always do: the scores are the exact softmax.

    Read at each request; case and surrounding blanks are ignored; any other value raises
    ValueError naming the variable.

PERSONALIZE_MOCK_IN_PROCESS_CALLS
    How boto3 calls to personalize, personalize-runtime and personalize-events are answered under
    moto's mock (``@mock_personalize``, ``mock_aws``) in the same process.

    ``direct`` (default): at botocore's before-call event, by the same code as every route, without
    the HTTP round trip moto's stubber emulates (personalize_mock.protocol.inprocess): results,
    errors and exceptions are the same, 1.3 to 2 ms sooner a call. Hooks on the events between
    before-call and after-call (before-send, before-sign, needs-retry, ...) see no request, and a
    5xx answer is not retried. Calls moto would not answer itself (a custom endpoint_url, a
    passthrough or non-whitelisted service, moto's recorder on) go the usual way.

    ``moto``: as moto answers its own services, through its stubber at before-send.

    Read at each call; case and surrounding blanks are ignored; any other value raises ValueError
    naming the variable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

TRAINING_MINIMUMS_ENV = "PERSONALIZE_MOCK_TRAINING_MINIMUMS"
JOB_WAIT_ENV = "PERSONALIZE_MOCK_JOB_WAIT_SECONDS"
REALTIME_SCORING_ENV = "PERSONALIZE_MOCK_REALTIME_SCORING"
REALTIME_SCORING_MODES = ("projected", "exact")
IN_PROCESS_CALLS_ENV = "PERSONALIZE_MOCK_IN_PROCESS_CALLS"
IN_PROCESS_CALLS_MODES = ("direct", "moto")


@dataclass(frozen=True)
class Minimums:
    """The data minimums in force."""

    mode: str  # "aws" or "relaxed"
    interactions: int  # interactions needed to train (after event filtering)
    users_with_two_interactions: int  # users that need at least 2 interactions each
    interactions_per_import: int  # records each interactions import job needs (0: no minimum)
    cold_items: int  # cold items an HRNN-Coldstart training needs


AWS_MINIMUMS = Minimums("aws", interactions=1000, users_with_two_interactions=25,
                        interactions_per_import=1000, cold_items=100)
RELAXED_MINIMUMS = Minimums("relaxed", interactions=10, users_with_two_interactions=2,
                            interactions_per_import=0, cold_items=1)
_MODES = {"aws": AWS_MINIMUMS, "relaxed": RELAXED_MINIMUMS}


def _choice(env: str, choices, default: str) -> str:
    """The value of a setting that names one of `choices` (case and blanks ignored)."""
    raw = os.environ.get(env, "")
    value = raw.strip().lower() or default
    if value not in choices:
        raise ValueError(f"{env}={raw!r} is not a valid setting; use one of: " + ", ".join(choices))
    return value


def training_minimums() -> Minimums:
    """The minimums selected by PERSONALIZE_MOCK_TRAINING_MINIMUMS right now."""
    return _MODES[_choice(TRAINING_MINIMUMS_ENV, _MODES, "aws")]


def realtime_scoring() -> str:
    """"exact" or "projected": PERSONALIZE_MOCK_REALTIME_SCORING right now."""
    return _choice(REALTIME_SCORING_ENV, REALTIME_SCORING_MODES, "projected")


def in_process_calls() -> str:
    """"direct" or "moto": PERSONALIZE_MOCK_IN_PROCESS_CALLS right now."""
    return _choice(IN_PROCESS_CALLS_ENV, IN_PROCESS_CALLS_MODES, "direct")


def job_wait_seconds() -> float:
    raw = os.environ.get(JOB_WAIT_ENV, "").strip()
    try:
        return float(raw) if raw else 30.0
    except ValueError:
        raise ValueError(f"{JOB_WAIT_ENV}={raw!r} is not a number of seconds") from None
