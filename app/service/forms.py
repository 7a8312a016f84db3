"""Forms of the service desk. Choices that depend on the reader (their units, the community's
teams and staff) are filled by the view; labels are translated per request."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..models import RequestKind, Urgency
from .labels import KIND_LABELS, STATUS_LABELS, URGENCY_LABELS
from .workflow import RequestStatus

#: The unit select's "not a unit" choice: then the place is required.
NO_UNIT = 0


class RequestForm(FlaskForm):
    kind = SelectField(_l("What kind of request"), validators=[DataRequired()])
    urgency = SelectField(_l("Urgency"), default=Urgency.NORMAL.value,
                          validators=[DataRequired()])
    unit = SelectField(_l("Unit"), coerce=int, default=NO_UNIT)
    place = StringField(_l("Place (when it is not a unit)"),
                        validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("What is wrong"),
                                validators=[DataRequired(), Length(max=4000)])
    preferred_time = StringField(_l("Preferred time"), validators=[Optional(), Length(max=80)])
    photos = MultipleFileField(_l("Photos (JPEG, PNG or WebP, up to 5 MB each)"))
    caller_name = StringField(_l("Caller's name"), validators=[Optional(), Length(max=80)])
    caller_phone = StringField(_l("Caller's phone"), validators=[Optional(), Length(max=20)])

    def __init__(self, *args, units=(), any_unit_label=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k.value, KIND_LABELS[k]) for k in RequestKind]
        self.urgency.choices = [(u.value, URGENCY_LABELS[u]) for u in Urgency]
        self.unit.choices = [(NO_UNIT, any_unit_label or _l("Not a unit: a common area"))] + [
            (u.id, u.label) for u in units]


class DispatchForm(FlaskForm):
    team = SelectField(_l("Team"), coerce=int, default=0)
    assignee = SelectField(_l("Technician"), coerce=int, default=0)
    note = StringField(_l("Note for the work order"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, teams=(), staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.team.choices = [(0, "—")] + [(t.id, t.name) for t in teams]
        self.assignee.choices = [(0, "—")] + [
            (u.id, u.display_name or u.username) for u in staff]


class MoveForm(FlaskForm):
    to = SelectField(_l("New status"), validators=[DataRequired()],
                     choices=[(s.value, STATUS_LABELS[s]) for s in RequestStatus])
    note = StringField(_l("Note (the resident sees it)"),
                       validators=[Optional(), Length(max=500)])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=4000)])
    public = BooleanField(_l("The resident may read it"), default=True)
    ask_resident = BooleanField(_l("Ask the resident (pauses the clocks until they reply)"))


class PostponeForm(FlaskForm):
    days = IntegerField(_l("Working days more"),
                        validators=[InputRequired(), NumberRange(min=1, max=14)])
    reason = StringField(_l("Reason (the resident is told)"),
                         validators=[DataRequired(), Length(max=500)])


_STARS = [(str(n), str(n)) for n in range(5, 0, -1)]


class RatingForm(FlaskForm):
    overall = SelectField(_l("Overall"), choices=_STARS, validators=[DataRequired()])
    speed = SelectField(_l("Speed"), choices=_STARS, validators=[DataRequired()])
    attitude = SelectField(_l("Attitude"), choices=_STARS, validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[DataRequired(), Length(max=80)])
    supervisor = SelectField(_l("Supervisor (hears of breaches and bad ratings)"), coerce=int,
                             default=0)

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.supervisor.choices = [(0, "—")] + [
            (u.id, u.display_name or u.username) for u in staff]
