"""accounts and routing: accounts, customer -> account map, routing rules; responses.account_id; alert escalation

Revision ID: 0003_accounts_routing
Revises: 0002
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.db.models

revision = '0003_accounts_routing'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('revenue', sa.Float(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('segment', sa.String(length=100), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', api.db.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id')
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_segment'), ['segment'], unique=False)
    op.create_table('customer_accounts',
    sa.Column('customer_id', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('customer_id')
    )
    with op.batch_alter_table('customer_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_accounts_account_id'), ['account_id'], unique=False)
    op.create_table('routing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('match', sa.JSON(), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('team_from', sa.String(length=20), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('lead', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', api.db.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_rules_priority'), ['priority'], unique=False)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_responses_account_id'), ['account_id'], unique=False)
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('overdue_at', api.db.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', api.db.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('overdue_at')
        batch_op.drop_column('rule_id')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_responses_account_id'))
        batch_op.drop_column('account_id')
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_rules_priority'))
    op.drop_table('routing_rules')
    with op.batch_alter_table('customer_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_accounts_account_id'))
    op.drop_table('customer_accounts')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_segment'))
    op.drop_table('accounts')
