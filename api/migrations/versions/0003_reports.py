"""report_subscriptions and digests_sent: who gets which digest, and which digests went out

Revision ID: 0003_reports
Revises: 0002
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.db.models

revision = '0003_reports'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_subscriptions_email'), ['email'], unique=False)
    op.create_table('digests_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('team_key', sa.String(length=100), nullable=False),
    sa.Column('period_start', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('sent_at', api.db.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['report_subscriptions.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('digests_sent', schema=None) as batch_op:
        batch_op.create_index('ux_digests_sent_once', ['email', 'period', 'team_key', 'period_start'], unique=True)
        batch_op.create_index(batch_op.f('ix_digests_sent_subscription_id'), ['subscription_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('digests_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digests_sent_subscription_id'))
        batch_op.drop_index('ux_digests_sent_once')
    op.drop_table('digests_sent')
    with op.batch_alter_table('report_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_subscriptions_email'))
    op.drop_table('report_subscriptions')
