"""Unbound extension objects, initialised in create_app()."""

from typing import TYPE_CHECKING

from flask import Flask
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names: Alembic and SQLite batch migrations need them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# db.Model is made at run time, so type checkers cannot take it as a base class: they get a
# class with the same bases (our Base and Flask-SQLAlchemy's mixin) instead.
if TYPE_CHECKING:
    from flask_sqlalchemy.model import Model as _FlaskModel

    class Model(Base, _FlaskModel):
        pass
else:
    Model = db.Model
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
login_manager = LoginManager()
babel = Babel()


def init_migrations(app: Flask) -> None:
    """Alembic is for the command line and tests only: app processes never import it."""
    from flask_migrate import Migrate

    Migrate(
        app,
        db,
        directory=app.config["MIGRATIONS_DIRECTORY"],
        render_as_batch=True,
        compare_type=True,
    )
