"""network_core: Neutron's core tables (networks with their segments and RBAC policies,
subnets, ports, address allocations, security groups and rules, tags, quotas). Written by hand: it holds the
networking service's tables and nothing else.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import pocketstack.core.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _standard_columns() -> list[sa.Column]:
    """Neutron's standard attributes, the same on every resource table."""
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
        "network_tags",
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("resource_id", "tag", name=op.f("pk_network_tags")),
    )
    _index("network_tags", "tag")

    op.create_table(
        "network_networks",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("external", sa.Boolean(), nullable=False),
        sa.Column("mtu", sa.Integer(), nullable=False),
        sa.Column("port_security_enabled", sa.Boolean(), nullable=False),
        sa.Column("availability_zone_hints", pocketstack.core.db.JsonText(), nullable=False),
        *_standard_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_networks")),
    )
    _index("network_networks", "project_id")

    op.create_table(
        "network_segments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("network_type", sa.String(length=32), nullable=False),
        sa.Column("physical_network", sa.String(length=64), nullable=False),
        sa.Column("segmentation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network_networks.id"], name=op.f("fk_network_segments_network_id_network_networks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_segments")),
        sa.UniqueConstraint("network_id", name=op.f("uq_network_segments_network_id")),
        sa.UniqueConstraint(
            "network_type",
            "physical_network",
            "segmentation_id",
            name=op.f("uq_network_segments_network_type_physical_network_segmentation_id"),
        ),
    )

    op.create_table(
        "network_rbac_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_project", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_id"], ["network_networks.id"], name=op.f("fk_network_rbac_policies_object_id_network_networks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_rbac_policies")),
        sa.UniqueConstraint("object_id", "action", "target_project", name=op.f("uq_network_rbac_policies_object_id_action_target_project")),
    )
    _index("network_rbac_policies", "object_id", "project_id", "target_project")

    op.create_table(
        "network_subnets",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("gateway_ip", sa.String(length=64), nullable=True),
        sa.Column("enable_dhcp", sa.Boolean(), nullable=False),
        sa.Column("ipv6_ra_mode", sa.String(length=16), nullable=True),
        sa.Column("ipv6_address_mode", sa.String(length=16), nullable=True),
        sa.Column("allocation_pools", pocketstack.core.db.JsonText(), nullable=False),
        sa.Column("dns_nameservers", pocketstack.core.db.JsonText(), nullable=False),
        sa.Column("host_routes", pocketstack.core.db.JsonText(), nullable=False),
        sa.Column("service_types", pocketstack.core.db.JsonText(), nullable=False),
        *_standard_columns(),
        sa.ForeignKeyConstraint(["network_id"], ["network_networks.id"], name=op.f("fk_network_subnets_network_id_network_networks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_subnets")),
    )
    _index("network_subnets", "network_id", "project_id")

    op.create_table(
        "network_ports",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mac_address", sa.String(length=32), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=255), nullable=False),
        sa.Column("device_owner", sa.String(length=255), nullable=False),
        sa.Column("port_security_enabled", sa.Boolean(), nullable=False),
        sa.Column("allowed_address_pairs", pocketstack.core.db.JsonText(), nullable=False),
        sa.Column("binding_host_id", sa.String(length=255), nullable=False),
        sa.Column("binding_vnic_type", sa.String(length=64), nullable=False),
        sa.Column("binding_vif_type", sa.String(length=64), nullable=False),
        sa.Column("binding_vif_details", pocketstack.core.db.JsonText(), nullable=False),
        sa.Column("binding_profile", pocketstack.core.db.JsonText(), nullable=False),
        *_standard_columns(),
        sa.ForeignKeyConstraint(["network_id"], ["network_networks.id"], name=op.f("fk_network_ports_network_id_network_networks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_ports")),
        sa.UniqueConstraint("network_id", "mac_address", name=op.f("uq_network_ports_network_id_mac_address")),
    )
    _index("network_ports", "device_id", "network_id", "project_id")

    op.create_table(
        "network_ip_allocations",
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id"], ["network_ports.id"], name=op.f("fk_network_ip_allocations_port_id_network_ports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["subnet_id"], ["network_subnets.id"], name=op.f("fk_network_ip_allocations_subnet_id_network_subnets")),
        sa.PrimaryKeyConstraint("subnet_id", "ip_address", name=op.f("pk_network_ip_allocations")),
    )
    _index("network_ip_allocations", "port_id")

    op.create_table(
        "network_security_groups",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("stateful", sa.Boolean(), nullable=False),
        *_standard_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_security_groups")),
    )
    _index("network_security_groups", "project_id")

    op.create_table(
        "network_default_security_groups",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("security_group_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["network_security_groups.id"],
            name=op.f("fk_network_default_security_groups_security_group_id_network_security_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_network_default_security_groups")),
        sa.UniqueConstraint("security_group_id", name=op.f("uq_network_default_security_groups_security_group_id")),
    )

    op.create_table(
        "network_security_group_rules",
        sa.Column("security_group_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("ethertype", sa.String(length=8), nullable=False),
        sa.Column("protocol", sa.String(length=40), nullable=True),
        sa.Column("port_range_min", sa.Integer(), nullable=True),
        sa.Column("port_range_max", sa.Integer(), nullable=True),
        sa.Column("remote_ip_prefix", sa.String(length=64), nullable=True),
        sa.Column("remote_group_id", sa.String(length=36), nullable=True),
        *_standard_columns(),
        sa.ForeignKeyConstraint(
            ["remote_group_id"],
            ["network_security_groups.id"],
            name=op.f("fk_network_security_group_rules_remote_group_id_network_security_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["network_security_groups.id"],
            name=op.f("fk_network_security_group_rules_security_group_id_network_security_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_security_group_rules")),
    )
    _index("network_security_group_rules", "project_id", "remote_group_id", "security_group_id")

    op.create_table(
        "network_port_security_groups",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("security_group_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id"], ["network_ports.id"], name=op.f("fk_network_port_security_groups_port_id_network_ports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["network_security_groups.id"],
            name=op.f("fk_network_port_security_groups_security_group_id_network_security_groups"),
        ),
        sa.PrimaryKeyConstraint("port_id", "security_group_id", name=op.f("pk_network_port_security_groups")),
    )
    _index("network_port_security_groups", "security_group_id")

    op.create_table(
        "network_quotas",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "resource", name=op.f("pk_network_quotas")),
    )


def downgrade() -> None:
    # children before parents; dropping a table drops its indexes
    for table in (
        "network_quotas",
        "network_port_security_groups",
        "network_security_group_rules",
        "network_default_security_groups",
        "network_security_groups",
        "network_ip_allocations",
        "network_ports",
        "network_subnets",
        "network_segments",
        "network_rbac_policies",
        "network_networks",
        "network_tags",
    ):
        op.drop_table(table)
