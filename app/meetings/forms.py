from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from elections.rules import Matter

from ..models import MeetingForm as Form_
from ..models import MeetingKind
from .services import FORM_LABELS, KIND_LABELS, MATTER_LABELS


class MeetingForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind of meeting"), validators=[DataRequired()],
                       choices=[(k.value, KIND_LABELS[k]) for k in MeetingKind])
    form = SelectField(_l("How owners vote"), validators=[DataRequired()],
                       choices=[(f.value, FORM_LABELS[f]) for f in Form_])
    voting_opens_at = DateTimeLocalField(_l("Voting opens"), format="%Y-%m-%dT%H:%M",
                                         validators=[DataRequired()])
    voting_closes_at = DateTimeLocalField(_l("Voting closes"), format="%Y-%m-%dT%H:%M",
                                          validators=[DataRequired()])


class MotionForm(FlaskForm):
    title = StringField(_l("Motion"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Text of the motion"), validators=[Optional(), Length(max=20000)])
    matter = SelectField(
        _l("Item of art. 278 (fixes the bar)"), coerce=int, validators=[DataRequired()],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per request: the labels are translated into the reader's language.
        self.matter.choices = [(m.value, f"({m.value}) {MATTER_LABELS[m]}") for m in Matter]
