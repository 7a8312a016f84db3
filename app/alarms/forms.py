from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .core import CLOSING_CAUSES
from .labels import CAUSE_LABELS


class DispatchForm(FlaskForm):
    assignee = SelectField(_l("Send"), coerce=int, validators=[DataRequired()])
    note = TextAreaField(_l("Instructions"), validators=[Optional(), Length(max=2000)])


class CloseForm(FlaskForm):
    cause = SelectField(_l("Cause"), validators=[DataRequired()],
                        choices=[(c.value, CAUSE_LABELS[c]) for c in CLOSING_CAUSES])
    note = TextAreaField(_l("What was found"), validators=[Optional(), Length(max=2000)])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])
