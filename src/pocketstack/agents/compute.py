"""The compute agent: makes the guests on this host match the servers the database
places here.

Each pass (agents/reconcile.py):
1. heartbeats the host's service record (os-services shows it up);
2. reads the servers of this host and asks the driver which guests exist;
3. hands every server with a task_state (spawning, deleting, powering-off, ...) to a
   worker that does it on the driver and records the outcome in one transaction;
4. notices what changed outside the API (a guest that shut itself down is SHUTOFF);
5. hot-plugs NICs into running guests, and unplugs them, until each guest has one per
   port bound to its server (os-interface attach/detach only change the ports);
6. removes guests no server wants any more (orphans of deleted servers).

The agent keeps nothing in memory that matters: killed mid-operation, the task_state
is still in the database and the next agent repeats the operation (drivers are
idempotent), so a server never stays stuck in BUILD or deleting. An operation whose
server changed its mind meanwhile (deleted while spawning) records nothing; the next
pass sees the new task."""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.config import Settings
from pocketstack.core.db import Database, utcnow
from pocketstack.drivers.compute.base import BootImage, ComputeDriver, DriverError, GuestSpec, Nic, PowerState
from pocketstack.services.compute import images, metadata, networking, states
from pocketstack.services.compute.backend import instance_actions, scheduler
from pocketstack.services.compute.backend.hosts import heartbeat, register_host
from pocketstack.services.compute.backend.servers import finish_delete, set_error
from pocketstack.services.compute.models import Server

from .reconcile import ReconcileLoop

log = logging.getLogger("pocketstack.agents.compute")
S = states

# Nova's event names, shown by `openstack server event show`
EVENT_NAMES = {
    S.SPAWNING: "compute__do_build_and_run_instance",
    S.DELETING: "compute_terminate_instance",
    S.POWERING_OFF: "compute_stop_instance",
    S.POWERING_ON: "compute_start_instance",
    S.REBOOTING: "compute_reboot_instance",
    S.REBOOTING_HARD: "compute_reboot_instance",
    S.PAUSING: "compute_pause_instance",
    S.UNPAUSING: "compute_unpause_instance",
    S.SUSPENDING: "compute_suspend_instance",
    S.RESUMING: "compute_resume_instance",
    S.IMAGE_SNAPSHOT: "compute_snapshot_instance",
    S.REBUILDING: "compute_rebuild_instance",
    S.RESIZE_PREP: "compute_resize_instance",
    S.RESIZE_CONFIRMING: "compute_confirm_resize",
    S.RESIZE_REVERTING: "compute_revert_resize",
    S.RESCUING: "compute_rescue_instance",
    S.UNRESCUING: "compute_unrescue_instance",
    S.SHELVING: "compute_shelve_instance",
    S.SHELVING_OFFLOADING: "compute_shelve_offload_instance",
    S.UNSHELVING: "compute_unshelve_instance",
}

Outcome = Callable[[Session, Server], None]  # records an operation's result on the fresh row


def default_host_name(settings: Settings) -> str:
    return settings.compute.host or socket.gethostname()


class ComputeAgent:
    def __init__(self, settings: Settings, db: Database, driver: ComputeDriver, host: str | None = None) -> None:
        self.settings = settings
        self.options = settings.compute
        self.db = db
        self.driver = driver
        self.host = host or default_host_name(settings)
        self.base_images = images.BaseImageCache(settings)
        self.loop = ReconcileLoop(f"compute-agent-{self.host}", self.reconcile, self.options.agent_interval)
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="compute-op")
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._nic_errors: dict[str, str] = {}  # server -> the last NIC problem logged
        self._unplugging: dict[str, set[str]] = {}  # server -> taps whose unplug the guest has not finished

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        with self.db.write() as db:
            register_host(db, self.host, self.driver.host_resources(), self.options)
        self.loop.start()
        log.info("compute agent for host %s started", self.host)

    def wake(self) -> None:
        self.loop.wake()

    def stop(self) -> None:
        self.loop.stop()
        self._workers.shutdown(wait=True, cancel_futures=True)

    # -- one pass -----------------------------------------------------------------------
    def reconcile(self) -> None:
        with self.db.write() as db:
            heartbeat(db, self.host)
        with self.db.read() as db:
            servers = list(db.scalars(select(Server).where(Server.host == self.host, Server.deleted.is_(False))))
            nics = networking.wanted_nics(db, [s.uuid for s in servers])
        guests = self.driver.list_guests()
        for server in servers:
            if server.task_state in EVENT_NAMES:
                self._submit(server.uuid, self._run_task)
            elif server.task_state is None:
                power = guests.get(server.uuid, PowerState.NOSTATE)
                self._observe(server, power)
                if power in (PowerState.RUNNING, PowerState.PAUSED):
                    self._check_nics(server.uuid, nics.get(server.uuid, ()))
        wanted = {s.uuid for s in servers}
        for gone in [uuid for uuid in list(self._nic_errors) + list(self._unplugging) if uuid not in wanted]:
            self._nic_errors.pop(gone, None)
            self._unplugging.pop(gone, None)
        for orphan in set(guests) - wanted:
            if not self._is_busy(orphan):
                log.info("removing guest %s: no server on this host wants it", orphan)
                self.driver.destroy(orphan)

    def _submit(self, server_uuid: str, work: Callable[[str], None]) -> None:
        """Run `work` for the server on a worker, unless one works on that server already."""
        with self._busy_lock:
            if server_uuid in self._busy:
                return
            self._busy.add(server_uuid)
        self._workers.submit(self._work_on, server_uuid, work)

    def _work_on(self, server_uuid: str, work: Callable[[str], None]) -> None:
        try:
            work(server_uuid)
        except Exception:  # a worker's failure must not pass unseen; the next pass retries
            log.exception("server %s: %s failed", server_uuid, getattr(work, "__name__", work))
        finally:
            with self._busy_lock:
                self._busy.discard(server_uuid)

    def _is_busy(self, server_uuid: str) -> bool:
        with self._busy_lock:
            return server_uuid in self._busy

    def _observe(self, server: Server, power: PowerState) -> None:
        """Record what happened outside the API: an ACTIVE server whose guest stopped
        (it shut itself down, or the host rebooted) becomes SHUTOFF, as Nova's
        power-state sync makes it."""
        if power == server.power_state and not (server.vm_state == S.ACTIVE and power in (PowerState.SHUTDOWN, PowerState.NOSTATE)):
            return
        with self.db.write() as db:
            row = db.scalars(select(Server).where(Server.uuid == server.uuid)).first()
            if row is None or row.task_state is not None or row.deleted:
                return
            row.power_state = int(power)
            if row.vm_state == S.ACTIVE and power in (PowerState.SHUTDOWN, PowerState.NOSTATE, PowerState.CRASHED):
                log.info("server %s stopped outside the API: now SHUTOFF", row.uuid)
                row.vm_state = S.STOPPED
                row.power_state = int(PowerState.SHUTDOWN)
            row.updated_at = utcnow()

    # -- NICs ---------------------------------------------------------------------------
    def _check_nics(self, server_uuid: str, wanted: tuple[Nic, ...]) -> None:
        """Cheap (the driver answers from its record): hand the guest to a worker only when
        its NICs differ from its server's ports."""
        if self._is_busy(server_uuid):
            return
        if self._unplugging.get(server_uuid) or _nic_keys(self.driver.attached_nics(server_uuid)) != _nic_keys(wanted):
            self._submit(server_uuid, self._replug_nics)

    def _replug_nics(self, server_uuid: str) -> None:
        """Unplug the NICs no port wants (a guest may take a few passes to release one), then
        plug the missing ones. Failures wait for the next pass: a tap another guest has not
        released yet (a port moved between servers) frees itself."""
        with self.db.read() as db:
            wanted = networking.guest_nics(db, server_uuid)
        keys = _nic_keys(wanted)
        # an unplug once asked for is seen through even if the port is wanted back meanwhile: the
        # guest lets go of the device whatever happens, so the NIC is plugged in anew afterwards
        unplugging = self._unplugging.setdefault(server_uuid, set())
        try:
            for nic in self.driver.attached_nics(server_uuid):
                if (nic.tap, nic.mac.lower()) in keys and nic.tap not in unplugging:
                    continue
                if self.driver.detach_nic(server_uuid, nic.tap):
                    unplugging.discard(nic.tap)
                else:
                    unplugging.add(nic.tap)
                    log.info("server %s: the guest has not released NIC %s yet", server_uuid, nic.tap)
            have = _nic_keys(self.driver.attached_nics(server_uuid))
            for nic in wanted:
                if (nic.tap, nic.mac.lower()) not in have:
                    self.driver.attach_nic(server_uuid, nic)
                    log.info("server %s: NIC %s (%s) plugged in", server_uuid, nic.tap, nic.mac)
            self._nic_errors.pop(server_uuid, None)
            if not unplugging:
                self._unplugging.pop(server_uuid, None)
        except DriverError as error:
            if self._nic_errors.get(server_uuid) != str(error):  # once per new problem, not every pass
                log.warning("server %s: changing its NICs failed (retrying): %s", server_uuid, error)
            self._nic_errors[server_uuid] = str(error)

    # -- one operation ------------------------------------------------------------------
    def _run_task(self, server_uuid: str) -> None:
        try:
            with self.db.read() as db:
                server = db.scalars(select(Server).where(Server.uuid == server_uuid)).first()
            if server is None or server.task_state not in EVENT_NAMES:
                return
            task = server.task_state
            with self.db.write() as db:
                event = instance_actions.start_event(db, server_uuid, EVENT_NAMES[task], self.host)
                event_id = event.id if event else None
            try:
                outcome = self._operation(task)(server)
            except Exception as exc:
                log.warning("server %s: %s failed: %s", server_uuid, task, exc, exc_info=not isinstance(exc, (OSError, ValueError)))
                self._record_failure(server_uuid, task, exc, event_id)
                return
            self._record(server_uuid, task, outcome, event_id)
        except Exception:
            log.exception("server %s: recording an operation failed; the next pass retries", server_uuid)

    def _record(self, server_uuid: str, task: str, outcome: Outcome, event_id: int | None) -> None:
        with self.db.write() as db:
            row = db.scalars(select(Server).where(Server.uuid == server_uuid)).first()
            if row is None or row.task_state != task:
                return  # asked for something else meanwhile: the next pass does that
            outcome(db, row)
            if not row.deleted:
                row.task_state = None
                row.task_args = None
            row.updated_at = utcnow()
            instance_actions.finish_event(db, event_id)
        self.wake()

    def _record_failure(self, server_uuid: str, task: str, error: Exception, event_id: int | None) -> None:
        with self.db.write() as db:
            row = db.scalars(select(Server).where(Server.uuid == server_uuid)).first()
            instance_actions.finish_event(db, event_id, error)
            if row is None or row.task_state != task:
                return
            if task in (S.IMAGE_SNAPSHOT, S.SHELVING) and row.task_args:
                images.fail_snapshot_image(db, row.task_args.get("image_id", ""))
            if task == S.DELETING:
                row.task_state = None  # Nova keeps the server, in its state, for a retry
                row.updated_at = utcnow()
                return
            if task == S.RESIZE_PREP:
                scheduler.release(db, row.uuid, "resize-target")
            if task in S.ERROR_ON_FAILURE:
                set_error(row, str(error) or type(error).__name__, details=type(error).__name__)
            else:
                row.task_state = None
                row.task_args = None
                row.updated_at = utcnow()

    def _operation(self, task: str) -> Callable[[Server], Outcome]:
        return {
            S.SPAWNING: self._spawn,
            S.DELETING: self._delete,
            S.POWERING_OFF: self._power_off,
            S.POWERING_ON: self._power_on,
            S.REBOOTING: self._reboot,
            S.REBOOTING_HARD: self._reboot,
            S.PAUSING: self._pause,
            S.UNPAUSING: self._unpause,
            S.SUSPENDING: self._suspend,
            S.RESUMING: self._resume,
            S.IMAGE_SNAPSHOT: self._snapshot,
            S.REBUILDING: self._rebuild,
            S.RESIZE_PREP: self._resize,
            S.RESIZE_CONFIRMING: self._confirm_resize,
            S.RESIZE_REVERTING: self._revert_resize,
            S.RESCUING: self._rescue,
            S.UNRESCUING: self._unrescue,
            S.SHELVING: self._shelve,
            S.SHELVING_OFFLOADING: self._shelve,
            S.UNSHELVING: self._unshelve,
        }[task]

    # -- the operations: driver work, then an Outcome to record -----------------------
    def _spawn(self, server: Server) -> Outcome:
        self.driver.spawn(self.guest_spec(server))
        return _now(S.ACTIVE, PowerState.RUNNING, launched=True)

    def _delete(self, server: Server) -> Outcome:
        self.driver.destroy(server.uuid)
        return lambda db, row: finish_delete(db, row)

    def _power_off(self, server: Server) -> Outcome:
        self.driver.power_off(server.uuid, self.options.shutdown_timeout)
        return _now(S.STOPPED, PowerState.SHUTDOWN)

    def _power_on(self, server: Server) -> Outcome:
        self.driver.power_on(self.guest_spec(server))
        return _now(S.ACTIVE, PowerState.RUNNING)

    def _reboot(self, server: Server) -> Outcome:
        self.driver.reboot(self.guest_spec(server), hard=server.task_state == S.REBOOTING_HARD)
        return _now(S.ACTIVE, PowerState.RUNNING)

    def _pause(self, server: Server) -> Outcome:
        self.driver.pause(server.uuid)
        return _now(S.PAUSED, PowerState.PAUSED)

    def _unpause(self, server: Server) -> Outcome:
        self.driver.unpause(server.uuid)
        return _now(S.ACTIVE, PowerState.RUNNING)

    def _suspend(self, server: Server) -> Outcome:
        self.driver.suspend(server.uuid)
        return _now(S.SUSPENDED, PowerState.SUSPENDED)

    def _resume(self, server: Server) -> Outcome:
        self.driver.resume(self.guest_spec(server))
        return _now(S.ACTIVE, PowerState.RUNNING)

    def _snapshot(self, server: Server) -> Outcome:
        image_id = (server.task_args or {}).get("image_id", "")
        self._snapshot_into(server, image_id)
        return lambda db, row: None  # the server stays as it was

    def _snapshot_into(self, server: Server, image_id: str) -> None:
        scratch = self.settings.data_dir / "compute" / "snapshots"
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=scratch) as tmp:
            path = Path(tmp) / "snapshot.qcow2"
            self.driver.snapshot(server.uuid, path)
            with self.db.write() as db:
                if not images.fill_snapshot_image(db, self.settings, image_id, path):
                    log.info("snapshot image %s was deleted before its data arrived", image_id)

    def _rebuild(self, server: Server) -> Outcome:
        args = server.task_args or {}
        self.driver.destroy(server.uuid)
        self.driver.spawn(self.guest_spec(server))
        if args.get("was_stopped"):
            self.driver.power_off(server.uuid, 0)
            return _now(S.STOPPED, PowerState.SHUTDOWN, launched=True)
        return _now(S.ACTIVE, PowerState.RUNNING, launched=True)

    def _resize(self, server: Server) -> Outcome:
        args = server.task_args or {}
        new_flavor = server.new_flavor or server.flavor
        self.driver.power_off(server.uuid, self.options.shutdown_timeout)
        spec = self.guest_spec(server, flavor=new_flavor)
        self.driver.resize(spec)
        if not args.get("was_stopped"):
            self.driver.power_on(spec)

        def outcome(db: Session, row: Server) -> None:
            scheduler.rename_allocation(db, row.uuid, "instance", "resize-source")
            scheduler.rename_allocation(db, row.uuid, "resize-target", "instance")
            row.old_flavor, row.flavor, row.new_flavor = row.flavor, new_flavor, None
            _apply_flavor_sizes(row, new_flavor)
            row.system_metadata = {**row.system_metadata, "old_vm_state": S.STOPPED if args.get("was_stopped") else S.ACTIVE}
            row.vm_state = S.RESIZED
            row.power_state = int(PowerState.SHUTDOWN if args.get("was_stopped") else PowerState.RUNNING)

        return outcome

    def _confirm_resize(self, server: Server) -> Outcome:
        self.driver.confirm_resize(server.uuid)

        def outcome(db: Session, row: Server) -> None:
            scheduler.release(db, row.uuid, "resize-source")
            row.old_flavor = None
            back_to = row.system_metadata.get("old_vm_state", S.ACTIVE)
            row.vm_state = back_to
            row.power_state = int(PowerState.RUNNING if back_to == S.ACTIVE else PowerState.SHUTDOWN)

        return outcome

    def _revert_resize(self, server: Server) -> Outcome:
        old_flavor = server.old_flavor or server.flavor
        spec = self.guest_spec(server, flavor=old_flavor)
        self.driver.power_off(server.uuid, 0)
        self.driver.revert_resize(spec)
        back_to = server.system_metadata.get("old_vm_state", S.ACTIVE)
        if back_to == S.ACTIVE:
            self.driver.power_on(spec)

        def outcome(db: Session, row: Server) -> None:
            scheduler.release(db, row.uuid, "instance")
            scheduler.rename_allocation(db, row.uuid, "resize-source", "instance")
            row.flavor, row.old_flavor = old_flavor, None
            _apply_flavor_sizes(row, old_flavor)
            row.vm_state = back_to
            row.power_state = int(PowerState.RUNNING if back_to == S.ACTIVE else PowerState.SHUTDOWN)

        return outcome

    def _rescue(self, server: Server) -> Outcome:
        image_id = (server.task_args or {}).get("image_id") or server.image_ref
        path, fmt = self._base_image(image_id)
        self.driver.rescue(self.guest_spec(server), BootImage(image_id, path, fmt))
        return _now(S.RESCUED, PowerState.RUNNING)

    def _unrescue(self, server: Server) -> Outcome:
        self.driver.unrescue(self.guest_spec(server))
        return _now(S.ACTIVE, PowerState.RUNNING)

    def _shelve(self, server: Server) -> Outcome:
        image_id = (server.task_args or {}).get("image_id", "")
        if server.task_state == S.SHELVING:
            self.driver.power_off(server.uuid, self.options.shutdown_timeout)
            self._snapshot_into(server, image_id)
        self.driver.destroy(server.uuid)

        def outcome(db: Session, row: Server) -> None:
            scheduler.release(db, row.uuid)
            row.host = row.node = None
            row.vm_state = S.SHELVED_OFFLOADED
            row.power_state = int(PowerState.SHUTDOWN)
            if image_id:
                row.system_metadata = {**row.system_metadata, "shelved_image_id": image_id, "shelved_at": utcnow().isoformat()}

        return outcome

    def _unshelve(self, server: Server) -> Outcome:
        image_id = server.system_metadata.get("shelved_image_id") or server.image_ref
        self.driver.spawn(self.guest_spec(server, image_id=image_id))

        def outcome(db: Session, row: Server) -> None:
            shelved = row.system_metadata.get("shelved_image_id")
            if shelved:
                images.delete_image(db, self.settings, shelved)  # as Nova does once the server is back
            row.system_metadata = {k: v for k, v in row.system_metadata.items() if k not in ("shelved_image_id", "shelved_at")}
            row.vm_state = S.ACTIVE
            row.power_state = int(PowerState.RUNNING)

        return outcome

    # -- what a guest is made of ------------------------------------------------------
    def _base_image(self, image_id: str) -> tuple[Path, str]:
        with self.db.read() as db:
            return self.base_images.path_for(db, image_id)

    def guest_spec(self, server: Server, *, flavor: dict[str, Any] | None = None, image_id: str | None = None) -> GuestSpec:
        flavor = flavor or server.flavor
        image_id = image_id or server.image_ref
        path, fmt = self._base_image(image_id)
        with self.db.read() as db:
            info = images.image_info(db, image_id)
            nics = networking.guest_nics(db, server.uuid)
        properties = info.properties if info else {}
        return GuestSpec(
            server_id=server.uuid,
            name=server.name,
            vcpus=int(flavor["vcpus"]),
            memory_mb=int(flavor["ram"]),
            root_gb=int(flavor["disk"]),
            ephemeral_gb=int(flavor.get("ephemeral") or 0),
            swap_mb=int(flavor.get("swap") or 0),
            image=BootImage(
                image_id,
                path,
                fmt,
                kernel=self._optional_image(properties.get("kernel_id")),
                ramdisk=self._optional_image(properties.get("ramdisk_id")),
                kernel_cmdline=properties.get("os_command_line"),
            ),
            config_drive=self._config_drive(server) if server.config_drive else None,
            nics=nics,
            extra={
                **{str(k): str(v) for k, v in (flavor.get("extra_specs") or {}).items()},
                **{k: str(v) for k, v in properties.items() if k.startswith("hw_")},
            },
        )

    def _optional_image(self, image_id: str | None) -> Path | None:
        return self._base_image(image_id)[0] if image_id else None

    def _config_drive(self, server: Server) -> dict[str, bytes]:
        # the same files the metadata service serves (services/compute/metadata.py)
        with self.db.read() as db:
            network_data = networking.network_data(db, server.uuid)
        return metadata.instance_files(server, network_data=network_data if network_data["links"] else None)


def _now(vm_state: str, power: PowerState, *, launched: bool = False) -> Outcome:
    def outcome(db: Session, row: Server) -> None:
        row.vm_state = vm_state
        row.power_state = int(power)
        row.fault = None if vm_state == S.ACTIVE and launched else row.fault
        if launched:
            row.launched_at = utcnow()
            row.progress = 0

    return outcome


def _nic_keys(nics: tuple[Nic, ...]) -> set[tuple[str, str]]:
    return {(nic.tap, nic.mac.lower()) for nic in nics}


def _apply_flavor_sizes(row: Server, flavor: dict[str, Any]) -> None:
    row.flavor_id = str(flavor["id"])
    row.vcpus = int(flavor["vcpus"])
    row.memory_mb = int(flavor["ram"])
    row.root_gb = int(flavor["disk"])
    row.ephemeral_gb = int(flavor.get("ephemeral") or 0)
