"""compute_console_tokens: Nova's console_auth_tokens, so a console URL's token outlives the
API process that issued it and every API process of the cloud honours it. Written by hand:
it holds this one table and nothing else.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 18:00:00
"""

import sqlalchemy as sa
from alembic import op

import pocketstack.core.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compute_console_auth_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("console_type", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("internal_access_path", sa.String(length=255), nullable=False),
        sa.Column("expires", pocketstack.core.db.UtcDateTime(), nullable=False),
        sa.Column("created_at", pocketstack.core.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_console_auth_tokens")),
    )
    with op.batch_alter_table("compute_console_auth_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compute_console_auth_tokens_instance_uuid"), ["instance_uuid"], unique=False)
        # a token is looked up by its hash, and two grants never share one
        batch_op.create_index(batch_op.f("ix_compute_console_auth_tokens_token_hash"), ["token_hash"], unique=True)


def downgrade() -> None:
    # dropping the table drops its indexes
    op.drop_table("compute_console_auth_tokens")
