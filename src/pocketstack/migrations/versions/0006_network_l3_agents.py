"""network_l3_agents: Neutron's L3 tables (routers, their static routes, floating IPs),
the network agents' heartbeats, and subnet pools (with the pool a subnet came from).
Written by hand: it holds these networking tables and nothing else.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 15:00:00
"""

import sqlalchemy as sa
from alembic import op

import pocketstack.core.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _standard_columns() -> list[sa.Column]:
    """Neutron's standard attributes, as on every resource table of 0005."""
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", pocketstack.core.db.UtcDateTime(), nullable=False),
        sa.Column("updated_at", pocketstack.core.db.UtcDateTime(), nullable=False),
    ]


def _index(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "network_routers",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enable_snat", sa.Boolean(), nullable=False),
        sa.Column("availability_zone_hints", pocketstack.core.db.JsonText(), nullable=False),
        *_standard_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_routers")),
    )
    _index("network_routers", "project_id")

    op.create_table(
        "network_router_routes",
        sa.Column("router_id", sa.String(length=36), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("nexthop", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["router_id"], ["network_routers.id"], name=op.f("fk_network_router_routes_router_id_network_routers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("router_id", "destination", "nexthop", name=op.f("pk_network_router_routes")),
    )

    op.create_table(
        "network_floating_ips",
        sa.Column("floating_network_id", sa.String(length=36), nullable=False),
        sa.Column("floating_port_id", sa.String(length=36), nullable=False),
        sa.Column("floating_ip_address", sa.String(length=64), nullable=False),
        sa.Column("fixed_port_id", sa.String(length=36), nullable=True),
        sa.Column("fixed_ip_address", sa.String(length=64), nullable=True),
        sa.Column("router_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        *_standard_columns(),
        sa.ForeignKeyConstraint(
            ["fixed_port_id"], ["network_ports.id"], name=op.f("fk_network_floating_ips_fixed_port_id_network_ports"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["floating_network_id"], ["network_networks.id"], name=op.f("fk_network_floating_ips_floating_network_id_network_networks")
        ),
        sa.ForeignKeyConstraint(
            ["floating_port_id"],
            ["network_ports.id"],
            name=op.f("fk_network_floating_ips_floating_port_id_network_ports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["router_id"], ["network_routers.id"], name=op.f("fk_network_floating_ips_router_id_network_routers"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_floating_ips")),
        sa.UniqueConstraint("floating_port_id", name=op.f("uq_network_floating_ips_floating_port_id")),
        sa.UniqueConstraint(
            "floating_network_id",
            "fixed_port_id",
            "fixed_ip_address",
            name=op.f("uq_network_floating_ips_floating_network_id_fixed_port_id_fixed_ip_address"),
        ),
    )
    _index("network_floating_ips", "fixed_port_id", "floating_network_id", "project_id", "router_id")

    op.create_table(
        "network_agents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agent_type", sa.String(length=255), nullable=False),
        sa.Column("binary", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("configurations", pocketstack.core.db.JsonText(), nullable=False),
        sa.Column("created_at", pocketstack.core.db.UtcDateTime(), nullable=False),
        sa.Column("started_at", pocketstack.core.db.UtcDateTime(), nullable=False),
        sa.Column("heartbeat_timestamp", pocketstack.core.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_agents")),
        sa.UniqueConstraint("agent_type", "host", name=op.f("uq_network_agents_agent_type_host")),
    )
    _index("network_agents", "host")

    op.create_table(
        "network_subnetpools",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("prefixes", pocketstack.core.db.JsonText(), nullable=False),
        sa.Column("default_prefixlen", sa.Integer(), nullable=False),
        sa.Column("min_prefixlen", sa.Integer(), nullable=False),
        sa.Column("max_prefixlen", sa.Integer(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("default_quota", sa.Integer(), nullable=True),
        *_standard_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_subnetpools")),
    )
    _index("network_subnetpools", "project_id")
    with op.batch_alter_table("network_subnets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subnetpool_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_network_subnets_subnetpool_id"), ["subnetpool_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_network_subnets_subnetpool_id_network_subnetpools"), "network_subnetpools", ["subnetpool_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("network_subnets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_network_subnets_subnetpool_id_network_subnetpools"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_network_subnets_subnetpool_id"))
        batch_op.drop_column("subnetpool_id")
    # children before parents; dropping a table drops its indexes
    for table in ("network_subnetpools", "network_agents", "network_floating_ips", "network_router_routes", "network_routers"):
        op.drop_table(table)
