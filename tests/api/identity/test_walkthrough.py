"""The issue's "done when" walk-through, with the stock `openstack` CLI and keystonerc_admin."""

from __future__ import annotations

import json

from tests.conftest import unique


def test_operator_walkthrough(cloud, osc) -> None:
    project = unique("p1")
    user = unique("u1")
    token = json.loads(osc("token", "issue", "-f", "json").stdout)
    assert token["id"] and token["expires"]

    created = json.loads(osc("project", "create", project, "-f", "json").stdout)
    assert created["name"] == project
    made = json.loads(osc("user", "create", "--project", project, "--password", "x", user, "-f", "json").stdout)
    assert made["default_project_id"] == created["id"]
    osc("role", "add", "--user", user, "--project", project, "member")

    assignments = json.loads(osc("role", "assignment", "list", "--names", "-f", "json").stdout)
    assert {"Role": "member", "User": f"{user}@Default", "Project": f"{project}@Default"}.items() <= next(
        a for a in assignments if a["User"] == f"{user}@Default"
    ).items()

    catalog = json.loads(osc("catalog", "list", "-f", "json").stdout)
    assert any(c["Type"] == "identity" for c in catalog)

    credential = json.loads(osc("application", "credential", "create", unique("ac1"), "-f", "json").stdout)
    assert credential["Secret"] and credential["Project ID"] == token["project_id"]

    # u1 can now authenticate, scoped to p1, with only what the stock client is given
    as_u1 = {
        **cloud.env("admin"),
        "OS_USERNAME": user,
        "OS_PASSWORD": "x",
        "OS_PROJECT_NAME": project,
    }
    u1_token = json.loads(osc("token", "issue", "-f", "json", env=as_u1).stdout)
    assert u1_token["project_id"] == created["id"] and u1_token["user_id"] == made["id"]

    # and the application credential authenticates too
    as_app = {
        "OS_AUTH_URL": cloud.env("admin")["OS_AUTH_URL"],
        "OS_AUTH_TYPE": "v3applicationcredential",
        "OS_APPLICATION_CREDENTIAL_ID": credential["ID"],
        "OS_APPLICATION_CREDENTIAL_SECRET": credential["Secret"],
        "OS_IDENTITY_API_VERSION": "3",
    }
    app_token = json.loads(osc("token", "issue", "-f", "json", env=as_app).stdout)
    assert app_token["project_id"] == token["project_id"]
