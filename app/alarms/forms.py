from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .core import CLOSING_CAUSES, ArmingAction
from .labels import ARMING_LABELS, CAUSE_LABELS


class DispatchForm(FlaskForm):
    assignee = SelectField(_l("Send"), coerce=int, validators=[DataRequired()])
    note = TextAreaField(_l("Instructions"), validators=[Optional(), Length(max=2000)])


class CloseForm(FlaskForm):
    cause = SelectField(_l("Cause"), validators=[DataRequired()],
                        choices=[(c.value, CAUSE_LABELS[c]) for c in CLOSING_CAUSES])
    note = TextAreaField(_l("What was found"), validators=[Optional(), Length(max=2000)])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])


class ArmingForm(FlaskForm):
    action = SelectField(_l("Action"), validators=[DataRequired()],
                         choices=[(a.value, ARMING_LABELS[a]) for a in ArmingAction])
    zone = StringField(_l("Zone (to bypass)"), validators=[Optional(), Length(max=64)])
