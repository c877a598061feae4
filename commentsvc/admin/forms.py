"""The moderator pages' forms (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; stubs 3.2
from wtforms.validators import (
    AnyOf,
    DataRequired,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from ..comments import DEFAULT_SITE
from ..import_formats import IMPORT_FORMATS, IMPORT_STATUSES
from ..models import BanKind, Role, RuleAction
from ..validation import EMAIL

email_address = Regexp(EMAIL, message="Enter a valid e-mail address.")
RULE_ACTIONS = [
    SelectChoice(RuleAction.hold.value, "hold for review"),
    SelectChoice(RuleAction.spam.value, "mark as spam"),
    SelectChoice(RuleAction.refuse.value, "refuse"),
]


class LoginForm(FlaskForm):
    name = StringField("Name or e-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password", validators=[DataRequired(), Length(min=10, max=200)])
    repeat = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new", "The passwords differ.")],
    )


class DisplayNameForm(FlaskForm):
    # Checked again once invisible characters are dropped (accounts.clean_display_name).
    display_name = StringField("Name on your replies", validators=[Optional(), Length(max=200)])


class ActionForm(FlaskForm):
    """Carries only the CSRF token: the buttons' URLs say which action on which comment."""

    next = HiddenField()


class TextForm(FlaskForm):
    text = TextAreaField("Text (Markdown)", validators=[DataRequired(), Length(max=10000)])
    next = HiddenField()


class RenameForm(FlaskForm):
    title = StringField("Title", validators=[Optional(), Length(max=200)])


class BanForm(FlaskForm):
    site = SelectField("Site", choices=[], validate_choice=True)
    kind = SelectField("Ban by", choices=[SelectChoice(k.value, k.value) for k in BanKind])
    value = StringField("E-mail or address hash", validators=[DataRequired(), Length(max=254)])
    action = SelectField("Then", choices=RULE_ACTIONS)
    reason = StringField("Reason", validators=[Optional(), Length(max=200)])


class WordForm(FlaskForm):
    site = SelectField("Site", choices=[], validate_choice=True)
    word = StringField("Word or phrase", validators=[DataRequired(), Length(max=100)])
    action = SelectField("Then", choices=RULE_ACTIONS)


class ModeratorForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    email = StringField("E-mail", validators=[DataRequired(), email_address, Length(max=254)])
    role = SelectField("Role", choices=[SelectChoice(r.value, r.value) for r in Role])
    display_name = StringField("Display name", validators=[Optional(), Length(max=200)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=10, max=200)])
    active = BooleanField("Active", default=True)
    # The choices are the install's sites, set by the view.
    sites = SelectMultipleField("Sites they moderate", choices=[], default=[DEFAULT_SITE])

    def validate_sites(self, field: SelectMultipleField) -> None:
        if self.role.data != Role.admin.value and not field.data:
            raise ValidationError("Choose at least one site for a moderator.")


class ModeratorSitesForm(FlaskForm):
    sites = SelectMultipleField(
        "Sites they moderate",
        choices=[],
        validators=[DataRequired("Choose at least one site.")],
    )


# Where each format's file comes from, shown beside the choice.
FORMAT_HINTS = {
    "blogger": "the .xml file from Settings → Back up content",
    "disqus": "the .xml file of its export (unpack the .xml.gz it mails you)",
    "wordpress": "the .xml file from Tools → Export",
    "isso": "its database file (comments.db) or its JSON import file",
    "commentsvc": "a file written by the commentsvc export command",
}
IMPORT_STATUS_CHOICES = {
    "approved": "approved: shown at once",
    "pending": "pending: held in the queue for review",
}


class ImportForm(FlaskForm):
    upload = FileField("Export file", validators=[FileRequired("Choose the file to import.")])
    # Checked against the list with a message of our own, not WTForms' "Not a valid choice".
    fmt = SelectField(
        "Format",
        choices=[SelectChoice(*item) for item in IMPORT_FORMATS.items()],
        validate_choice=False,
        validators=[AnyOf(list(IMPORT_FORMATS), "Choose one of the formats listed.")],
    )
    site = StringField(
        "Site",
        default=DEFAULT_SITE,
        filters=[lambda s: s.strip() if s else s],
        validators=[Optional(), Length(max=64)],
    )
    status = SelectField(
        "Comments the old blog showed are",
        choices=[SelectChoice(s, IMPORT_STATUS_CHOICES[s]) for s in IMPORT_STATUSES],
        validate_choice=False,
        validators=[AnyOf(IMPORT_STATUSES, "Choose approved or pending.")],
    )
    dry_run = SubmitField("Dry run")
    save = SubmitField("Import")
