"""thread site key: every thread belongs to a site the database knows

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


# A thread of a site that has no row (written before sites had rows, or by hand) gets its site,
# with the install's settings, so that no thread is lost to the key. threads.site becomes as
# long as sites.name. SQLite rebuilds threads in batch mode (env.py turns foreign keys off for
# it, or dropping the old table would delete every comment); PostgreSQL alters it in place.


def upgrade():
    conn = op.get_bind()
    too_long = conn.execute(sa.text(
        "SELECT DISTINCT site FROM threads WHERE length(site) > 40 "
        "AND site NOT IN (SELECT name FROM sites)"
    )).scalars().all()
    if too_long:
        raise RuntimeError(
            "Threads of sites whose names are longer than 40 characters: "
            + ", ".join(too_long) + ". Rename them (UPDATE threads SET site = ...) and upgrade again."
        )
    op.execute(
        "INSERT INTO sites (name, created) SELECT DISTINCT site, CURRENT_TIMESTAMP FROM threads "
        "WHERE site NOT IN (SELECT name FROM sites)"
    )
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.alter_column('site', existing_type=sa.String(length=64),
                              type_=sa.String(length=40), existing_nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_threads_site_sites'), 'sites', ['site'],
                                    ['name'])


def downgrade():
    # The sites added for threads that had none stay: 0011 knows sites, and they are harmless.
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_threads_site_sites'), type_='foreignkey')
        batch_op.alter_column('site', existing_type=sa.String(length=40),
                              type_=sa.String(length=64), existing_nullable=False)
