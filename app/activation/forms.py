"""Forms of the letters page and of the two steps of the activation page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

from .services import MAX_DAYS, Scope, ScopeKind


class IssueForm(FlaskForm):
    """Which letters to print. The per-unit reissue buttons post the same form."""

    scope = RadioField(
        _l("Letters for"),
        choices=[
            (ScopeKind.NEW.value, _l("Owners without an account who have no valid code yet "
                                     "(new owners)")),
            (ScopeKind.ALL.value, _l("Every owner without an account (earlier unused codes "
                                     "stop working)")),
            (ScopeKind.BUILDING.value, _l("Owners without an account in one building")),
            (ScopeKind.UNIT.value, _l("One unit (reissue)")),
        ],
        default=ScopeKind.NEW.value,
        validators=[InputRequired()],
    )
    building = SelectField(_l("Building"), coerce=int, choices=[], validate_choice=False,
                           validators=[Optional()])
    #: Set by the reissue button of a unit's row; the 404 for a foreign unit comes from the
    #: service, which checks the unit belongs to the community.
    unit = IntegerField(validators=[Optional()])
    days = IntegerField(_l("Valid for (days)"),
                        validators=[InputRequired(), NumberRange(min=1, max=MAX_DAYS)])

    def __init__(self, *args, buildings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.building.choices = [(0, "—"), *buildings]

    def validate_building(self, field) -> None:
        if self.scope.data == ScopeKind.BUILDING.value and not field.data:
            raise ValueError(_l("Choose the building."))

    def validate_unit(self, field) -> None:
        if self.scope.data == ScopeKind.UNIT.value and not field.data:
            raise ValueError(_l("Choose the unit to reissue in the list below."))

    def chosen_scope(self) -> Scope:
        kind = ScopeKind(self.scope.data)
        return Scope(
            kind,
            building_id=self.building.data if kind is ScopeKind.BUILDING else None,
            unit_id=self.unit.data if kind is ScopeKind.UNIT else None,
        )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Activation code"), validators=[DataRequired(), Length(max=40)],
        # Phones would otherwise start the code in lower case and "correct" it as a word.
        render_kw={"autocapitalize": "characters", "spellcheck": "false", "class": "code"},
    )


class AccountForm(FlaskForm):
    #: The second step carries the code along; every check runs again on submit.
    code = HiddenField(validators=[DataRequired(), Length(max=40)])
    step = HiddenField(default="account")
    identity = StringField(_l("ID number"), validators=[DataRequired(), Length(max=40)])
    phone = StringField(_l("Mobile phone number (your login)"),
                        validators=[DataRequired(), Length(max=20)])
    username = StringField(_l("Username (optional)"), validators=[Optional(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
