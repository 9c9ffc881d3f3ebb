"""keyfactor workflow tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00.000000

Written by hand (app/store/keyfactor_models.py is the model side).
"""
from alembic import op
import sqlalchemy as sa

import app.store.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('workflow_definition',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('workflow_type', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('key_display_name', sa.String(length=255), nullable=True),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('published_version', sa.Integer(), nullable=True),
    sa.Column('created', app.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('workflow_definition', schema=None) as batch_op:
        batch_op.create_index('ux_workflow_definition_type_key', ['workflow_type', 'key'], unique=True,
                              sqlite_where=sa.text('NOT deleted'), postgresql_where=sa.text('NOT deleted'))

    op.create_table('workflow_definition_version',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('definition_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('compiled_bpmn', sa.LargeBinary(), nullable=True),
    sa.Column('process_definition_id', sa.String(length=512), nullable=True),
    sa.Column('created', app.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated', app.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['workflow_definition.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('definition_id', 'version', name='uq_workflow_definition_version')
    )
    with op.batch_alter_table('workflow_definition_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_definition_version_definition_id'), ['definition_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_definition_version_process_definition_id'),
                              ['process_definition_id'], unique=False)

    op.create_table('keyfactor_approval_role',
    sa.Column('process_definition_id', sa.String(length=512), nullable=False),
    sa.Column('activity_id', sa.String(length=255), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('process_definition_id', 'activity_id', 'role_id')
    )

    op.create_table('keyfactor_instance',
    sa.Column('reference_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('process_instance_id', sa.String(length=64), nullable=False),
    sa.Column('definition_id', sa.String(length=36), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('definition_version', sa.Integer(), nullable=False),
    sa.Column('definition_display_name', sa.String(length=255), nullable=False),
    sa.Column('workflow_type', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('initiator', sa.String(length=255), nullable=True),
    sa.Column('initial_data', sa.JSON(), nullable=False),
    sa.Column('last_modified', app.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('final_status', sa.String(length=32), nullable=True),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('restarted_as', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('reference_id'),
    sa.UniqueConstraint('process_instance_id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('keyfactor_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_keyfactor_instance_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_keyfactor_instance_initiator'), ['initiator'], unique=False)
        batch_op.create_index(batch_op.f('ix_keyfactor_instance_last_modified'), ['last_modified'], unique=False)
        batch_op.create_index(batch_op.f('ix_keyfactor_instance_workflow_type'), ['workflow_type'], unique=False)

    op.create_table('signal_record',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('process_instance_id', sa.String(length=64), nullable=False),
    sa.Column('activity_id', sa.String(length=255), nullable=True),
    sa.Column('step_unique_name', sa.String(length=255), nullable=True),
    sa.Column('signal_name', sa.String(length=255), nullable=True),
    sa.Column('signal_key', sa.String(length=512), nullable=True),
    sa.Column('user_id', sa.String(length=255), nullable=True),
    sa.Column('created', app.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved', sa.Boolean(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('refusal_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('signal_record', schema=None) as batch_op:
        batch_op.create_index('ix_signal_record_instance_step', ['process_instance_id', 'activity_id', 'user_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signal_record', schema=None) as batch_op:
        batch_op.drop_index('ix_signal_record_instance_step')
    op.drop_table('signal_record')
    with op.batch_alter_table('keyfactor_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_keyfactor_instance_workflow_type'))
        batch_op.drop_index(batch_op.f('ix_keyfactor_instance_last_modified'))
        batch_op.drop_index(batch_op.f('ix_keyfactor_instance_initiator'))
        batch_op.drop_index(batch_op.f('ix_keyfactor_instance_definition_id'))
    op.drop_table('keyfactor_instance')
    op.drop_table('keyfactor_approval_role')
    with op.batch_alter_table('workflow_definition_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workflow_definition_version_process_definition_id'))
        batch_op.drop_index(batch_op.f('ix_workflow_definition_version_definition_id'))
    op.drop_table('workflow_definition_version')
    with op.batch_alter_table('workflow_definition', schema=None) as batch_op:
        batch_op.drop_index('ux_workflow_definition_type_key')
    op.drop_table('workflow_definition')
