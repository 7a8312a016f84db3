from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class CommunityForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    district = StringField(_l("District"), validators=[Optional(), Length(max=80)])
    office = StringField(_l("Community office"), validators=[Optional(), Length(max=200)])


class GrantForm(FlaskForm):
    login = StringField(_l("Existing account (username or phone)"),
                        validators=[Optional(), Length(max=60)])
    username = StringField(
        _l("Or a new account: username"), validators=[Optional(), Length(max=40)]
    )
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=80)])
    phone = StringField(_l("Mobile phone"), validators=[Optional(), Length(max=20)])
    password = PasswordField(_l("First password"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[], validators=[DataRequired()])

    def __init__(self, *args, role_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = list(role_choices)

