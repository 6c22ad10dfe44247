"""workspace: users, team memberships, generated secrets; indexes for the workspace pages

Revision ID: 0003_workspace
Revises: 0002
Create Date: 2026-12-07 02:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.db.models

revision = '0003_workspace'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_epoch', sa.Integer(), nullable=False),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', api.db.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('user_teams',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'team')
    )
    op.create_index('ix_user_teams_team', 'user_teams', ['team'], unique=False)
    # the workspace's NPS and trend count bands per hour over a period: an index that holds both columns is read
    # instead of the (wide) rows
    op.create_index('ix_responses_timestamp_score', 'responses', ['timestamp', 'score'], unique=False)
    op.create_table('app_secrets',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('app_secrets')
    op.drop_index('ix_responses_timestamp_score', table_name='responses')
    op.drop_index('ix_user_teams_team', table_name='user_teams')
    op.drop_table('user_teams')
    op.drop_table('users')
