"""configuration version: one row the database raises on every change to settings, registrations, deployments
and published resources, so each process may keep them in memory

Revision ID: hppost_0001
Revises: trustid_0001
Create Date: 2026-12-03 21:00:00

"""
from alembic import op
import sqlalchemy as sa

from app.models import config_version


revision = 'hppost_0001'
down_revision = 'trustid_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('config_version',
                    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('version', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    config_version.install(op.get_bind())


def downgrade():
    bind = op.get_bind()
    for statement in config_version.drop_statements(bind.dialect.name):
        op.execute(statement)
    op.drop_table('config_version')
