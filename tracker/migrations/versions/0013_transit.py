"""transit: incoming register, packages and seals, dispatches with their courier hops, 亲启 proxies

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 14:00:00

Issue 20: items received are registered (收文登记) before anyone opens them; carriers travel between registries,
sealed in packages, hand to hand through couriers, each hop signed by both sides and its seals read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'packages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('seal', sa.String(length=64), nullable=True),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.String(length=40), nullable=False),
        sa.Column('created_at', _TZ, nullable=False),
        sa.Column('sealed_at', _TZ, nullable=True),
        sa.Column('opened_at', _TZ, nullable=True),
        sa.Column('opened_by', sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(['parent_id'], ['packages.id'], name=op.f('fk_packages_parent_id_packages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_packages')),
        sa.UniqueConstraint('code', name=op.f('uq_packages_code')),
    )
    op.create_index(op.f('ix_packages_parent_id'), 'packages', ['parent_id'], unique=False)
    op.create_table(
        'package_items',
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('carrier_id', sa.Integer(), nullable=False),
        sa.Column('packed_at', _TZ, nullable=False),
        sa.Column('open_carrier_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_package_items_carrier_id_carriers')),
        sa.ForeignKeyConstraint(['package_id'], ['packages.id'], name=op.f('fk_package_items_package_id_packages')),
        sa.PrimaryKeyConstraint('package_id', 'carrier_id', name=op.f('pk_package_items')),
        sa.UniqueConstraint('open_carrier_id', name=op.f('uq_package_items_open_carrier_id')),
    )
    op.create_index(op.f('ix_package_items_carrier_id'), 'package_items', ['carrier_id'], unique=False)
    op.create_table(
        'transits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('from_location_id', sa.Integer(), nullable=False),
        sa.Column('to_location_id', sa.Integer(), nullable=False),
        sa.Column('to_site', sa.String(length=4), nullable=False),
        sa.Column('holder_id', sa.Integer(), nullable=True),
        sa.Column('companion_id', sa.Integer(), nullable=True),
        sa.Column('personal_to', sa.String(length=40), nullable=True),
        sa.Column('level', sa.String(length=20), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('due_at', _TZ, nullable=False),
        sa.Column('dispatched_at', _TZ, nullable=False),
        sa.Column('dispatched_by', sa.String(length=40), nullable=False),
        sa.Column('received_at', _TZ, nullable=True),
        sa.Column('received_by', sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(['companion_id'], ['people.id'], name=op.f('fk_transits_companion_id_people')),
        sa.ForeignKeyConstraint(['from_location_id'], ['locations.id'],
                                name=op.f('fk_transits_from_location_id_locations')),
        sa.ForeignKeyConstraint(['holder_id'], ['people.id'], name=op.f('fk_transits_holder_id_people')),
        sa.ForeignKeyConstraint(['to_location_id'], ['locations.id'],
                                name=op.f('fk_transits_to_location_id_locations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transits')),
    )
    op.create_index(op.f('ix_transits_status'), 'transits', ['status'], unique=False)
    op.create_index(op.f('ix_transits_to_location_id'), 'transits', ['to_location_id'], unique=False)
    op.create_index(op.f('ix_transits_to_site'), 'transits', ['to_site'], unique=False)
    op.create_table(
        'transit_items',
        sa.Column('transit_id', sa.Integer(), nullable=False),
        sa.Column('carrier_id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=True),
        sa.Column('open_carrier_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_transit_items_carrier_id_carriers')),
        sa.ForeignKeyConstraint(['package_id'], ['packages.id'], name=op.f('fk_transit_items_package_id_packages')),
        sa.ForeignKeyConstraint(['transit_id'], ['transits.id'], name=op.f('fk_transit_items_transit_id_transits')),
        sa.PrimaryKeyConstraint('transit_id', 'carrier_id', name=op.f('pk_transit_items')),
        sa.UniqueConstraint('open_carrier_id', name=op.f('uq_transit_items_open_carrier_id')),
    )
    op.create_index(op.f('ix_transit_items_carrier_id'), 'transit_items', ['carrier_id'], unique=False)
    op.create_table(
        'transit_hops',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('transit_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('giver', sa.String(length=40), nullable=False),
        sa.Column('taker', sa.String(length=40), nullable=False),
        sa.Column('companion', sa.String(length=40), nullable=True),
        sa.Column('place', sa.String(length=40), nullable=True),
        sa.Column('at', _TZ, nullable=False),
        sa.Column('seals', sa.Text(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('head_seq', sa.BigInteger(), nullable=False),
        sa.Column('head_hash', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['transit_id'], ['transits.id'], name=op.f('fk_transit_hops_transit_id_transits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transit_hops')),
    )
    op.create_index(op.f('ix_transit_hops_transit_id'), 'transit_hops', ['transit_id'], unique=False)
    op.create_table(
        'incoming',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('carrier_id', sa.Integer(), nullable=False),
        sa.Column('sender', sa.String(length=200), nullable=False),
        sa.Column('sender_doc', sa.String(length=100), nullable=True),
        sa.Column('seal_intact', sa.Boolean(), nullable=False),
        sa.Column('personal_to', sa.String(length=40), nullable=True),
        sa.Column('transit_id', sa.Integer(), nullable=True),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('received_by', sa.String(length=40), nullable=False),
        sa.Column('received_at', _TZ, nullable=False),
        sa.Column('delivered_to', sa.String(length=40), nullable=True),
        sa.Column('delivered_at', _TZ, nullable=True),
        sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_incoming_carrier_id_carriers')),
        sa.ForeignKeyConstraint(['transit_id'], ['transits.id'], name=op.f('fk_incoming_transit_id_transits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incoming')),
    )
    op.create_index(op.f('ix_incoming_carrier_id'), 'incoming', ['carrier_id'], unique=False)
    op.create_index(op.f('ix_incoming_received_at'), 'incoming', ['received_at'], unique=False)
    op.create_table(
        'proxies',
        sa.Column('principal', sa.String(length=40), nullable=False),
        sa.Column('proxy', sa.String(length=40), nullable=False),
        sa.Column('designated_at', _TZ, nullable=False),
        sa.PrimaryKeyConstraint('principal', 'proxy', name=op.f('pk_proxies')),
    )


def downgrade() -> None:
    op.drop_table('proxies')
    op.drop_index(op.f('ix_incoming_received_at'), table_name='incoming')
    op.drop_index(op.f('ix_incoming_carrier_id'), table_name='incoming')
    op.drop_table('incoming')
    op.drop_index(op.f('ix_transit_hops_transit_id'), table_name='transit_hops')
    op.drop_table('transit_hops')
    op.drop_index(op.f('ix_transit_items_carrier_id'), table_name='transit_items')
    op.drop_table('transit_items')
    op.drop_index(op.f('ix_transits_to_site'), table_name='transits')
    op.drop_index(op.f('ix_transits_to_location_id'), table_name='transits')
    op.drop_index(op.f('ix_transits_status'), table_name='transits')
    op.drop_table('transits')
    op.drop_index(op.f('ix_package_items_carrier_id'), table_name='package_items')
    op.drop_table('package_items')
    op.drop_index(op.f('ix_packages_parent_id'), table_name='packages')
    op.drop_table('packages')
