"""The settings of an app under test, changed as COMMENTSVC_* variables would change them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Flask

from commentsvc.config import SETTINGS, Settings, settings_of

ATTRIBUTES = {setting.key: setting.attr for setting in SETTINGS}


def changed(settings: Settings, **values: Any) -> Settings:
    """These settings with some changed, each named as in the table (MODERATION="all")."""
    return replace(
        settings,
        **{ATTRIBUTES[key]: tuple(v) if isinstance(v, list) else v for key, v in values.items()},
    )


def change_settings(app: Flask, **values: Any) -> Settings:
    """Change a built app's settings (a served app's are fixed when it starts)."""
    app.extensions["commentsvc"] = changed(settings_of(app), **values)
    return settings_of(app)
