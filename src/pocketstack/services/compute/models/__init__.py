"""The compute service's tables, one module per resource family; import from here."""

from .consoles import ConsoleAuthToken
from .flavors import Flavor, FlavorExtraSpec, FlavorProject, KeyPair
from .groups import Aggregate, AggregateHost, AggregateMetadata, Quota, ServerGroup, ServerGroupMember
from .hosts import Allocation, ComputeNode, ComputeServiceRecord
from .servers import (
    InstanceAction,
    InstanceActionEvent,
    Server,
    ServerMetadata,
    ServerTag,
)

__all__ = [
    "Aggregate",
    "AggregateHost",
    "AggregateMetadata",
    "Allocation",
    "ComputeNode",
    "ComputeServiceRecord",
    "ConsoleAuthToken",
    "Flavor",
    "FlavorExtraSpec",
    "FlavorProject",
    "InstanceAction",
    "InstanceActionEvent",
    "KeyPair",
    "Quota",
    "Server",
    "ServerGroup",
    "ServerGroupMember",
    "ServerMetadata",
    "ServerTag",
]
