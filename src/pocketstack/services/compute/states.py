"""Nova's server states: vm_state (where a server is), task_state (what is being done to
it), how the pair shows as the API's `status`, and which states each action accepts.

The strings are Nova's own (clients and Tempest compare them)."""

from __future__ import annotations

from pocketstack.core.faults import Conflict

# -- vm_state ---------------------------------------------------------------------------
ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

# -- task_state -------------------------------------------------------------------------
SCHEDULING = "scheduling"
SPAWNING = "spawning"
IMAGE_SNAPSHOT = "image_snapshot"
IMAGE_UPLOADING = "image_uploading"
RESIZE_PREP = "resize_prep"
RESIZE_FINISH = "resize_finish"
RESIZE_REVERTING = "resize_reverting"
RESIZE_CONFIRMING = "resize_confirming"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting_hard"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"
REBUILDING = "rebuilding"
DELETING = "deleting"
SHELVING = "shelving"
SHELVING_OFFLOADING = "shelving_offloading"
UNSHELVING = "unshelving"

# the vm_state a server is left in when an operation of this task_state fails after it
# started (Nova sets ERROR for builds and rebuilds, and keeps the state otherwise)
ERROR_ON_FAILURE = {SPAWNING, REBUILDING, RESIZE_PREP, RESIZE_FINISH, RESIZE_REVERTING, UNSHELVING, RESCUING}

# (vm_state, task_state) -> status; task_state None is the vm_state's own status
_STATUS = {
    BUILDING: "BUILD",
    ACTIVE: "ACTIVE",
    STOPPED: "SHUTOFF",
    RESIZED: "VERIFY_RESIZE",
    PAUSED: "PAUSED",
    SUSPENDED: "SUSPENDED",
    RESCUED: "RESCUE",
    ERROR: "ERROR",
    DELETED: "DELETED",
    SOFT_DELETED: "SOFT_DELETED",
    SHELVED: "SHELVED",
    SHELVED_OFFLOADED: "SHELVED_OFFLOADED",
}
_TASK_STATUS = {
    REBOOTING: "REBOOT",
    REBOOTING_HARD: "HARD_REBOOT",
    REBUILDING: "REBUILD",
    RESIZE_PREP: "RESIZE",
    RESIZE_FINISH: "RESIZE",
    RESIZE_REVERTING: "REVERT_RESIZE",
}
# vm_states whose status a task does not change (Nova's map: VERIFY_RESIZE stays while confirming)
_TASK_STATUS_APPLIES = {
    ACTIVE: {REBOOTING, REBOOTING_HARD, REBUILDING, RESIZE_PREP, RESIZE_FINISH},
    STOPPED: {REBUILDING, RESIZE_PREP, RESIZE_FINISH, REBOOTING_HARD},
    RESIZED: {RESIZE_REVERTING},
    ERROR: {REBUILDING},
    PAUSED: {REBOOTING_HARD},
    SUSPENDED: {REBOOTING_HARD},
}


def status_of(vm_state: str, task_state: str | None) -> str:
    if task_state in _TASK_STATUS_APPLIES.get(vm_state, ()):
        return _TASK_STATUS[task_state]  # type: ignore[index]
    return _STATUS.get(vm_state, "UNKNOWN")


# Nova's API status filter -> the vm_states it means
def vm_states_for_status(status: str) -> list[str]:
    wanted = status.upper()
    states = [vm for vm, shown in _STATUS.items() if shown == wanted]
    if wanted in ("REBOOT", "HARD_REBOOT", "REBUILD", "RESIZE", "REVERT_RESIZE"):
        states = [vm for vm, tasks in _TASK_STATUS_APPLIES.items() if any(_TASK_STATUS[t] == wanted for t in tasks)]
    return states


def task_states_for_status(status: str) -> list[str] | None:
    """The task states a task-made status needs (None: the status is a vm_state's own)."""
    wanted = status.upper()
    tasks = [task for task, shown in _TASK_STATUS.items() if shown == wanted]
    return tasks or None


def check_state(server: object, action: str, vm_states: set[str] | None, task_states: set[str | None] | None = frozenset({None})) -> None:
    """Nova's check_instance_state: 409 unless the server is in one of the states."""
    vm_state = server.vm_state  # type: ignore[attr-defined]
    task_state = server.task_state  # type: ignore[attr-defined]
    uuid = server.uuid  # type: ignore[attr-defined]
    if vm_states is not None and vm_state not in vm_states:
        raise Conflict(f"Cannot '{action}' instance {uuid} while it is in vm_state {vm_state}")
    if task_states is not None and task_state not in task_states:
        raise Conflict(f"Cannot '{action}' instance {uuid} while it is in task_state {task_state}")
