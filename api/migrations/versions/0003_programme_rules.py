"""programme rules: contact rules and the survey log (quarantine), re-tagging jobs, quarantine_breach and a
contacts index on responses

Revision ID: 0003_programme_rules
Revises: 0002
Create Date: 2026-12-07 02:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.db.models

revision = '0003_programme_rules'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contact_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('survey_days', sa.Integer(), nullable=False),
    sa.Column('complaint_days', sa.Integer(), nullable=False),
    sa.Column('max_per_year', sa.Integer(), nullable=False),
    sa.Column('updated_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel')
    )
    op.create_table('surveys_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=True),
    sa.Column('sent_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('survey_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_surveys_sent_customer_at', 'surveys_sent', ['customer_id', 'sent_at'], unique=False)
    op.create_table('retag_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('only_other_models', sa.Boolean(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('alerts_opened', sa.Integer(), nullable=False),
    sa.Column('alerts_cleared', sa.Integer(), nullable=False),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('finished_at', api.db.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_retag_jobs_status', 'retag_jobs', ['status'], unique=False)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quarantine_breach', sa.String(length=300), nullable=True))
    op.create_index('ix_responses_customer_contacts', 'responses', ['customer_id', 'timestamp', 'score', 'channel'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_responses_customer_contacts', table_name='responses')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('quarantine_breach')
    op.drop_index('ix_retag_jobs_status', table_name='retag_jobs')
    op.drop_table('retag_jobs')
    op.drop_index('ix_surveys_sent_customer_at', table_name='surveys_sent')
    op.drop_table('surveys_sent')
    op.drop_table('contact_rules')
