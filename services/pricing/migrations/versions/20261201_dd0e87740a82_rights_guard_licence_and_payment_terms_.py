"""rights guard, licence and payment terms, anonymous objections, challenge fields and search

Revision ID: dd0e87740a82
Revises: 031f5e5859be
Create Date: 2026-12-01 21:38:21.882385
"""
from alembic import op
import sqlalchemy as sa


revision = 'dd0e87740a82'
down_revision = '031f5e5859be'
branch_labels = None
depends_on = None

# PRC-10 search: SQLite FTS5 with the trigram tokenizer (substrings of 3+ characters from the index,
# shorter ones by scanning it), external content kept in step by triggers; PostgreSQL pg_trgm.
SQLITE_SEARCH = [
    # Its own copy of the text keyed by challenge_id (not rowid), so rebuilding `challenges` cannot misalign it.
    "CREATE VIRTUAL TABLE challenges_search USING fts5(challenge_id UNINDEXED, title, description, tokenize='trigram')",
    "INSERT INTO challenges_search (challenge_id, title, description) SELECT id, title, description FROM challenges",
    "CREATE TRIGGER challenges_search_insert AFTER INSERT ON challenges BEGIN "
    "INSERT INTO challenges_search (challenge_id, title, description) VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER challenges_search_delete AFTER DELETE ON challenges BEGIN "
    "DELETE FROM challenges_search WHERE challenge_id = old.id; END",
    "CREATE TRIGGER challenges_search_update AFTER UPDATE OF title, description ON challenges BEGIN "
    "UPDATE challenges_search SET title = new.title, description = new.description WHERE challenge_id = old.id; END",
]
POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_challenges_search_trgm ON challenges USING gin ((title || ' ' || description) gin_trgm_ops)",
]


def upgrade() -> None:
    op.create_table('achievement_guards',
    sa.Column('achievement_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('achievement_id', name=op.f('pk_achievement_guards'))
    )
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('region', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('closes_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_challenges_field'), ['field'], unique=False)
        batch_op.create_index(batch_op.f('ix_challenges_region'), ['region'], unique=False)

    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.alter_column('contact', new_column_name='contact_name', existing_type=sa.String(length=300))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('client_address', sa.String(length=100), nullable=True))
        batch_op.create_index('ix_objections_client_address_received_at', ['client_address', 'received_at'], unique=False)
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.alter_column('anonymous', server_default=None, existing_type=sa.Boolean(), existing_nullable=False)

    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('licence', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('payment', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('technology_manager_ids', sa.JSON(), nullable=True))

    dialect = op.get_bind().dialect.name
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRES_SEARCH:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("challenges_search_insert", "challenges_search_delete", "challenges_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS challenges_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_challenges_search_trgm")
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_column('technology_manager_ids')
        batch_op.drop_column('payment')
        batch_op.drop_column('licence')

    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_index('ix_objections_client_address_received_at')
        batch_op.drop_column('client_address')
        batch_op.drop_column('anonymous')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_phone')
        batch_op.alter_column('contact_name', new_column_name='contact', existing_type=sa.String(length=300))

    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenges_region'))
        batch_op.drop_index(batch_op.f('ix_challenges_field'))
        batch_op.drop_column('closes_on')
        batch_op.drop_column('region')
        batch_op.drop_column('field')

    op.drop_table('achievement_guards')
