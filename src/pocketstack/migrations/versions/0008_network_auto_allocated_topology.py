"""network_auto_allocated_topology: the default external network (is_default on networks)
and each project's auto-allocated topology ("get me a network"). Written by hand: it holds
these networking changes and nothing else.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # existing networks are not the default: false fills them, then the default goes (the
    # models set the value on every insert)
    with op.batch_alter_table("network_networks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("network_networks", schema=None) as batch_op:
        batch_op.alter_column("is_default", server_default=None)

    op.create_table(
        "network_auto_allocated_topologies",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("router_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network_networks.id"],
            name=op.f("fk_network_auto_allocated_topologies_network_id_network_networks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["router_id"],
            ["network_routers.id"],
            name=op.f("fk_network_auto_allocated_topologies_router_id_network_routers"),
            ondelete="SET NULL",
        ),
        # one topology per project, whoever asks and however many ask at once
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_network_auto_allocated_topologies")),
    )
    with op.batch_alter_table("network_auto_allocated_topologies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_network_auto_allocated_topologies_network_id"), ["network_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_network_auto_allocated_topologies_router_id"), ["router_id"], unique=False)


def downgrade() -> None:
    # dropping the table drops its indexes
    op.drop_table("network_auto_allocated_topologies")
    with op.batch_alter_table("network_networks", schema=None) as batch_op:
        batch_op.drop_column("is_default")
