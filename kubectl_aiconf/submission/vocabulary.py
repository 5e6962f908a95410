"""The words of a CNCF PRODUCT.yaml, in one place for the writer (`-o product-yaml`, `-o markdown`) and the checker
(`validate`).

CNCF's validator compares these strings exactly, so a spelling that drifts between the module that writes a file
and the one that checks it would produce drafts the tool itself rejects. Nothing here does I/O or imports anything
heavy: the output formats import it at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubectl_aiconf.result import RequirementResult, Status

# Requirement statuses CNCF accepts. An empty status leaves a requirement unanswered (allowed for a SHOULD only).
IMPLEMENTED = "Implemented"
PARTIALLY_IMPLEMENTED = "Partially Implemented"
NOT_IMPLEMENTED = "Not Implemented"
NOT_APPLICABLE = "N/A"
UNANSWERED = ""
# In the order CNCF's validator lists them in its own messages, which `validate` repeats.
STATUSES: tuple[str, ...] = (IMPLEMENTED, NOT_IMPLEMENTED, PARTIALLY_IMPLEMENTED, NOT_APPLICABLE)

# The fields of one requirement entry under spec.<category>, in the order of CNCF's templates (and of its Go struct).
REQUIREMENT_FIELDS: tuple[str, ...] = ("id", "description", "level", "status", "evidence", "notes")

_BY_CHECK = {
    Status.PASS: IMPLEMENTED,
    Status.WARN: PARTIALLY_IMPLEMENTED,
    Status.FAIL: NOT_IMPLEMENTED,
    Status.NA: NOT_APPLICABLE,
    Status.UNKNOWN: UNANSWERED,  # the tool could not tell, so it does not answer for the vendor
}


def status_of(result: RequirementResult) -> str:
    """The PRODUCT.yaml status of a check result ("" when the tool cannot answer)."""
    if result.should_not_met:
        # Reported WARN because SHOULDs never block, but CNCF would read "Partially" as "partly done".
        return NOT_IMPLEMENTED
    return _BY_CHECK[result.status]


def snake_case(name: str) -> str:
    """camelCase -> snake_case the way CNCF's validator derives the alternative spelling of a metadata key."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


@dataclass(frozen=True)
class MetadataField:
    name: str  # camelCase, as CNCF's templates spell it
    required: bool  # CNCF's validator rejects a file without it
    placeholder: str  # what a draft holds until the vendor fills it in; "{version}" is the checklist version

    @property
    def snake(self) -> str:
        """The snake_case spelling CNCF accepts as well."""
        return snake_case(self.name)


# In template order. A placeholder "[...]" is rejected by CNCF's validator, so an unfilled draft cannot be
# submitted by accident; fields that may legitimately be empty default to "".
METADATA_FIELDS: tuple[MetadataField, ...] = (
    MetadataField("kubernetesVersion", True, ""),  # the writer fills in v<checklist version>
    MetadataField("platformName", True, "[Platform Name]"),
    MetadataField("platformVersion", True, "[Platform Version]"),
    MetadataField("vendorName", True, "[Vendor Name]"),
    MetadataField("websiteUrl", True, "[Website URL]"),
    MetadataField("repoUrl", False, ""),  # closed-source products have none
    MetadataField("documentationUrl", True, "[Documentation URL]"),
    MetadataField("productLogoUrl", True, "[Product Logo URL]"),
    MetadataField("description", True, "[Description]"),
    MetadataField("contactEmailAddress", True, "[Contact Email Address]"),
    MetadataField(
        "k8sConformanceUrl",
        True,
        "[k8s-conformance submission URL, "
        "e.g. https://github.com/cncf/k8s-conformance/tree/master/v{version}/<product>]",
    ),
)
METADATA_NAMES: tuple[str, ...] = tuple(f.name for f in METADATA_FIELDS)


def is_placeholder(value: str) -> bool:
    """A template placeholder such as "[Vendor Name]", which CNCF's validator rejects as a value."""
    return value.startswith("[") and value.endswith("]")
