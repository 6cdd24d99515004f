"""ES's document version types (``version_type`` with a ``version`` on index, delete, bulk and get).

- ``internal`` (the default): the shard numbers versions itself (1, then +1 per write). A write may not name
  a version (ES 8 refuses it: ``if_seq_no``/``if_primary_term`` are the compare-and-set); a read may, and
  gets a 409 when the document has another version.
- ``external``: the caller's version is stored as it is; a write conflicts unless it is strictly higher
  than the current version (of the document, or of its delete while the shard still remembers the delete).
- ``external_gte``: as ``external``, but an equal version is accepted too.

The conflict messages are ES's ``VersionType`` explanations, behind ``[<id>]: version conflict, ``.
"""

from __future__ import annotations

from native.errors import ActionRequestValidation, IllegalArgument

INTERNAL = "internal"
EXTERNAL = "external"
EXTERNAL_GTE = "external_gte"
VERSION_TYPES = (INTERNAL, EXTERNAL, EXTERNAL_GTE)

# ES's sentinel versions (``Versions.MATCH_ANY``/``MATCH_DELETED``).
MATCH_ANY = -3
MATCH_DELETED = -4


def parse_version_type(value: str | None) -> str:
    """The ``version_type`` parameter (``None``: internal); an unknown name is ES's 400."""
    if value is None:
        return INTERNAL
    if value not in VERSION_TYPES:
        raise IllegalArgument(f"No version type match [{value}]")
    return value


def parse_version(value: object) -> int:
    """The ``version`` parameter or bulk metadata field, a Java long."""
    if isinstance(value, bool):
        raise IllegalArgument(f"Failed to parse long parameter [version] with value [{value}]")
    try:
        version = int(str(value))
    except ValueError:
        raise IllegalArgument(f"Failed to parse long parameter [version] with value [{value}]") from None
    if not -(2**63) <= version < 2**63:
        raise IllegalArgument(f"Failed to parse long parameter [version] with value [{value}]")
    return version


def write_validation_errors(version_type: str, version: int | None, *, create: bool, has_id: bool,
                            if_seq_no: bool) -> list[str]:  # fmt: skip
    """ES's validation of an index/create/delete request's versioning (``IndexRequest.validate`` and
    ``DocWriteRequest.validateSeqNoBasedCASParams``), as its numbered messages."""
    expected = MATCH_ANY if version is None else version
    if create and version_type != INTERNAL:
        return ["create operations only support internal versioning. use index instead"]
    errors: list[str] = []
    if not has_id and (version_type != INTERNAL or expected not in (MATCH_ANY, MATCH_DELETED)):
        errors.append("an id must be provided if version type or value are set")
    if not _valid_for_writes(version_type, expected):
        errors.append(f"illegal version value [{expected}] for version type [{version_type.upper()}]")
    if version_type == INTERNAL and expected not in (MATCH_ANY, MATCH_DELETED):
        errors.append("internal versioning can not be used for optimistic concurrency control. Please use "
                      "`if_seq_no` and `if_primary_term` instead")  # fmt: skip
    if if_seq_no and (version_type != INTERNAL or expected != MATCH_ANY):
        errors.append("compare and write operations can not use versioning")
    return errors


def validation_error(errors: list[str]) -> ActionRequestValidation:
    numbered = "".join(f"{i}: {msg};" for i, msg in enumerate(errors, 1))
    return ActionRequestValidation(f"Validation Failed: {numbered}")


def check_read_version(version_type: str, version: int | None) -> None:
    """A get's ``version``: ES refuses negative ones (``GetRequest.validate``)."""
    if version is not None and version < 0:
        raise validation_error([f"illegal version value [{version}] for version type [{version_type.upper()}]"])


def _valid_for_writes(version_type: str, version: int) -> bool:
    if version_type == INTERNAL:
        return version > 0 or version in (MATCH_ANY, MATCH_DELETED)
    return version >= 0


def write_conflict(version_type: str, current: int | None, expected: int) -> str | None:
    """Why an external write of version ``expected`` conflicts with ``current`` (None: no document and
    no remembered delete), or None when it does not."""
    if version_type == INTERNAL or current is None:
        return None
    if version_type == EXTERNAL and current >= expected:
        return f"current version [{current}] is higher or equal to the one provided [{expected}]"
    if version_type == EXTERNAL_GTE and current > expected:
        return f"current version [{current}] is higher than the one provided [{expected}]"
    return None


def read_conflict(current: int, expected: int | None) -> str | None:
    """Why a read naming version ``expected`` conflicts with the document's ``current`` one (every type
    compares for equality on reads)."""
    if expected is None or expected == MATCH_ANY or current == expected:
        return None
    return f"current version [{current}] is different than the one provided [{expected}]"
