"""merge the four feature branches of 0002 (workspace, reports, accounts and routing, programme rules) into one head

Revision ID: 0004
Revises: 0003_workspace, 0003_reports, 0003_accounts_routing, 0003_programme_rules
Create Date: 2026-12-07 04:50:00
"""

from __future__ import annotations

revision = '0004'
down_revision = ('0003_workspace', '0003_reports', '0003_accounts_routing', '0003_programme_rules')
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the branches touch different tables."""


def downgrade() -> None:
    """Nothing to undo."""
