"""response_events: the audit trail of corrected responses

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 00:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.db.models

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('response_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('response_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_events_response_id'), ['response_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('response_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_events_response_id'))
    op.drop_table('response_events')
