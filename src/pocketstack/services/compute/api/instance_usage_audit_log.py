"""os-instance_usage_audit_log (admins): how far each compute host got with the usage
audit of the last completed period (Nova's monthly instance_usage_audit_period).

    GET /v2.1/os-instance_usage_audit_log              the period before now
    GET /v2.1/os-instance_usage_audit_log/{before}     the period before that time
                                                       ("YYYY-MM-DD hh:mm:ss[.ffffff]")

Nova's compute hosts write these task logs only with instance_usage_audit switched on
(off by default); pocketstack's never run the audit, so every compute host is listed
as not run, exactly as a default Nova answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, nova_fault

from ..backend.hosts import COMPUTE_BINARY
from ..models import ComputeServiceRecord

api = ApiRouter(nova_fault)


def last_completed_month(before: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Nova's last_completed_audit_period for "month": the month that ended last at or
    before `before` (a period ending exactly at `before` is not completed yet)."""
    end = dt.datetime(before.year, before.month, 1)
    if end >= before:
        end = _month_before(end)
    return _month_before(end), end


def _month_before(first: dt.datetime) -> dt.datetime:
    return dt.datetime(first.year - 1, 12, 1) if first.month == 1 else dt.datetime(first.year, first.month - 1, 1)


def _parse_before(raw: str) -> dt.datetime:
    layout = "%Y-%m-%d %H:%M:%S.%f" if "." in raw else "%Y-%m-%d %H:%M:%S"
    try:
        return dt.datetime.strptime(raw, layout)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {raw[:60]}") from None


def _audit_log(call: Call, before: dt.datetime) -> dict[str, Any]:
    begin, end = last_completed_month(before)
    # every compute host, disabled ones too: they may have servers to audit
    hosts = sorted(set(call.db.scalars(select(ComputeServiceRecord.host).where(ComputeServiceRecord.binary == COMPUTE_BINARY))))
    done = 0  # no host has audited the period (the audit does not run here)
    return {
        "period_beginning": str(begin),
        "period_ending": str(end),
        "num_hosts": len(hosts),
        "num_hosts_done": done,
        "num_hosts_running": 0,
        "num_hosts_not_run": len(hosts),
        "hosts_not_run": hosts,
        "total_instances": 0,
        "total_errors": 0,
        "overall_status": f"{'ALL' if done == len(hosts) else f'{done} of {len(hosts)}'} hosts done. 0 errors.",
        "log": {},
    }


@api.route("GET", "/v2.1/os-instance_usage_audit_log")
def list_audit_logs(call: Call) -> dict[str, Any]:
    call.authorize("os_compute_api:os-instance-usage-audit-log:list", {})
    return {"instance_usage_audit_logs": _audit_log(call, utcnow().replace(tzinfo=None))}


@api.route("GET", "/v2.1/os-instance_usage_audit_log/{before}")
def show_audit_log(call: Call) -> dict[str, Any]:
    call.authorize("os_compute_api:os-instance-usage-audit-log:show", {})
    return {"instance_usage_audit_log": _audit_log(call, _parse_before(call.params["before"]))}
