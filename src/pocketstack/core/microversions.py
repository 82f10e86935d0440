"""Microversions, as Nova and Cinder speak them (the API-SIG microversion specification).

A client asks for a version of a service's API per request:

    OpenStack-API-Version: compute 2.47            (the standard header; several
                                                     "service version" entries may be
                                                     comma-separated or repeated)
    X-OpenStack-Nova-API-Version: 2.47             (a service's legacy header)

No header means the service's minimum, "latest" its maximum, a version outside the
service's range 406, and anything that is not MAJOR.MINOR 400. The answer names the
version it was served at, so that clients and caches can tell the difference.

A service opts in by handing its router a `Microversions`; its routes then declare the
range each handler serves (`@api.route(..., min_version="2.47")`) and handlers read
`call.version`, a `Version` that compares with strings: `if call.version >= "2.47"`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers

from .faults import BadRequest, NotAcceptable

STANDARD_HEADER = "OpenStack-API-Version"
LATEST = "latest"
# MAJOR.MINOR, no leading zeros ("2.01" is junk), minor may be 0 (Cinder's 3.0); ASCII digits only
_VERSION_PATTERN = re.compile(r"([1-9][0-9]*)\.([1-9][0-9]*|0)")


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """One API version. Compares with another Version or with a "2.47" string."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse "2.47" into Version(2, 47); ValueError for anything else."""
        match = _VERSION_PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{text!r} is not a MAJOR.MINOR version")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, value: Version | str) -> Version:
        return value if isinstance(value, Version) else cls.parse(value)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def __repr__(self) -> str:
        return f"Version('{self}')"

    def _key(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (Version, str)):
            return NotImplemented
        try:
            return self._key() == Version.of(other)._key()
        except ValueError:
            return False  # "2.47" == "junk" is simply not equal

    def __lt__(self, other: Version | str) -> bool:
        if not isinstance(other, (Version, str)):
            return NotImplemented
        # a junk string here is a bug in our own code: let the ValueError say so
        return self._key() < Version.of(other)._key()

    # equal to its string form, so it hashes like it (a dict keyed by "2.47" finds it)
    def __hash__(self) -> int:
        return hash(str(self))


@dataclass(frozen=True, init=False)
class VersionRange:
    """Versions from `min` to `max`, both included; None leaves that end open
    (a route "since 2.47" has no upper end)."""

    min: Version | None
    max: Version | None

    def __init__(self, min: Version | str | None = None, max: Version | str | None = None) -> None:
        low = None if min is None else Version.of(min)
        high = None if max is None else Version.of(max)
        if low is not None and high is not None and low > high:
            raise ValueError(f"empty version range {low}..{high}")
        object.__setattr__(self, "min", low)
        object.__setattr__(self, "max", high)

    def __contains__(self, version: Version | str) -> bool:
        version = Version.of(version)
        return (self.min is None or self.min <= version) and (self.max is None or version <= self.max)

    def overlaps(self, other: VersionRange) -> bool:
        starts_before_other_ends = self.min is None or other.max is None or self.min <= other.max
        ends_after_other_starts = self.max is None or other.min is None or self.max >= other.min
        return starts_before_other_ends and ends_after_other_starts

    def __str__(self) -> str:
        return f"{self.min or ''}..{self.max or ''}"


@dataclass(frozen=True, init=False)
class Microversions:
    """How one service negotiates: its service type in the standard header, the range
    it serves, and the legacy header older clients send (and read back)."""

    service_type: str
    supported: VersionRange
    legacy_header: str | None

    def __init__(self, service_type: str, supported: VersionRange, legacy_header: str | None = None) -> None:
        if supported.min is None or supported.max is None:
            raise ValueError("a service's microversion range needs both ends (absent header -> min, 'latest' -> max)")
        object.__setattr__(self, "service_type", service_type)
        object.__setattr__(self, "supported", supported)
        object.__setattr__(self, "legacy_header", legacy_header)

    @property
    def minimum(self) -> Version:
        assert self.supported.min is not None
        return self.supported.min

    @property
    def maximum(self) -> Version:
        assert self.supported.max is not None
        return self.supported.max

    def requested(self, headers: Mapping[str, str]) -> str | None:
        """The raw version string the request asks this service for, or None.

        The standard header wins over the legacy one; within it the last entry naming
        our service wins, entries for other services are ignored (microversion-parse's rules)."""
        headers = headers if isinstance(headers, Headers) else Headers(headers=dict(headers))
        standard = ",".join(headers.getlist(STANDARD_HEADER))
        for entry in reversed(standard.split(",")):
            parts = entry.split(None, 1)
            if len(parts) == 2 and parts[0].lower() == self.service_type.lower():
                return parts[1].strip()
        if self.legacy_header is not None:
            legacy = headers.getlist(self.legacy_header)
            if legacy:
                return ",".join(legacy).split(",")[-1].strip()
        return None

    def negotiate(self, headers: Mapping[str, str]) -> Version:
        """The version to serve this request at; BadRequest or NotAcceptable when there is none."""
        asked = self.requested(headers)
        if asked is None:
            return self.minimum
        if asked == LATEST:  # exactly as Nova: "LATEST" is not the keyword
            return self.maximum
        try:
            version = Version.parse(asked)
        except ValueError:
            raise BadRequest(f"API Version String {asked} is of invalid format. Must be of format MajorNum.MinorNum.") from None
        if version not in self.supported:
            raise NotAcceptable(f"Version {version} is not supported by the API. Minimum is {self.minimum} and maximum is {self.maximum}.")
        return version

    def response_headers(self, version: Version) -> dict[str, str]:
        """What an answer served at `version` says about it (Nova sends these on faults too)."""
        headers = {STANDARD_HEADER: f"{self.service_type} {version}"}
        if self.legacy_header is not None:
            headers[self.legacy_header] = str(version)
        return headers

    @property
    def vary(self) -> str:
        """The request headers an answer depends on, for the Vary header."""
        return ", ".join([STANDARD_HEADER] + ([self.legacy_header] if self.legacy_header else []))


def version_entry(
    version_id: str,
    supported: VersionRange | Microversions,
    *,
    href: str,
    updated: str,
    status: str = "CURRENT",
    media_type: str | None = None,
    docs_href: str | None = None,
) -> dict[str, Any]:
    """One entry of a Nova/Cinder version discovery document:

        {"id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1",
         "updated": "2013-07-23T11:33:21Z", "links": [{"rel": "self", "href": ".../v2.1/"}]}

    `media_type` ("application/vnd.openstack.compute+json;version=2.1") adds the
    "media-types" list the single-version document shows; `docs_href` a describedby link."""
    versions = supported.supported if isinstance(supported, Microversions) else supported
    links: list[dict[str, str]] = [{"rel": "self", "href": href}]
    if docs_href is not None:
        links.append({"rel": "describedby", "type": "text/html", "href": docs_href})
    entry: dict[str, Any] = {
        "id": version_id,
        "status": status,
        # an unversioned API (Nova's v2.0) shows empty strings here
        "version": str(versions.max) if versions.max is not None else "",
        "min_version": str(versions.min) if versions.min is not None else "",
        "updated": updated,
        "links": links,
    }
    if media_type is not None:
        entry["media-types"] = [{"base": "application/json", "type": media_type}]
    return entry
