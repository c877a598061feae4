"""sites: several blogs in one install, each with its own origins, policy, rules and moderators

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


# The site "default" owns everything there is: its settings are left unset, so the install's
# settings (COMMENTSVC_*) keep deciding exactly as before; bans and blocked words become its
# own; moderators (not admins, who see every site) moderate it. Bans and blocked words are
# rebuilt in batch mode on SQLite to change their unique constraints: nothing points at them.


def upgrade():
    op.create_table(
        'sites',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=True),
        sa.Column('origins', sa.Text(), nullable=True),
        sa.Column('moderation', sa.String(length=16), nullable=True),
        sa.Column('max_links', sa.Integer(), nullable=True),
        sa.Column('alert_emails', sa.Text(), nullable=True),
        sa.Column('sender_name', sa.String(length=80), nullable=True),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_sites')),
    )
    op.execute("INSERT INTO sites (name, created) VALUES ('default', CURRENT_TIMESTAMP)")
    op.create_table(
        'moderator_sites',
        sa.Column('moderator_id', sa.Integer(), nullable=False),
        sa.Column('site', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['moderator_id'], ['moderators.id'],
                                name=op.f('fk_moderator_sites_moderator_id_moderators'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['site'], ['sites.name'],
                                name=op.f('fk_moderator_sites_site_sites'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('moderator_id', 'site', name=op.f('pk_moderator_sites')),
    )
    op.execute("INSERT INTO moderator_sites (moderator_id, site) "
                "SELECT id, 'default' FROM moderators WHERE role = 'moderator'")
    op.add_column('outbox', sa.Column('sender_name', sa.String(length=80), nullable=True))
    with op.batch_alter_table('bans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site', sa.String(length=40), server_default='default',
                                      nullable=False))
        batch_op.drop_constraint('uq_bans_kind_value', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_bans_site_kind_value'),
                                          ['site', 'kind', 'value'])
        batch_op.create_foreign_key(batch_op.f('fk_bans_site_sites'), 'sites', ['site'],
                                    ['name'], ondelete='CASCADE')
    with op.batch_alter_table('blocked_words', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site', sa.String(length=40), server_default='default',
                                      nullable=False))
        batch_op.drop_constraint('uq_blocked_words_word', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_blocked_words_site_word'),
                                          ['site', 'word'])
        batch_op.create_foreign_key(batch_op.f('fk_blocked_words_site_sites'), 'sites',
                                    ['site'], ['name'], ondelete='CASCADE')


def downgrade():
    # Back to one set of rules: the default site's (other sites' rules cannot be kept apart).
    op.execute("DELETE FROM bans WHERE site <> 'default'")
    op.execute("DELETE FROM blocked_words WHERE site <> 'default'")
    with op.batch_alter_table('blocked_words', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_blocked_words_site_sites'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_blocked_words_site_word'), type_='unique')
        batch_op.create_unique_constraint('uq_blocked_words_word', ['word'])
        batch_op.drop_column('site')
    with op.batch_alter_table('bans', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bans_site_sites'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_bans_site_kind_value'), type_='unique')
        batch_op.create_unique_constraint('uq_bans_kind_value', ['kind', 'value'])
        batch_op.drop_column('site')
    op.drop_column('outbox', 'sender_name')
    op.drop_table('moderator_sites')
    op.drop_table('sites')
