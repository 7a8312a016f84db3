from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from ..models.alarms import DeviceKind
from .core import CLOSING_CAUSES, ArmingAction
from .labels import ARMING_LABELS, CAUSE_LABELS, KIND_LABELS


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


class DeviceForm(FlaskForm):
    code = StringField(_l("Device code"), validators=[
        DataRequired(), Length(max=64),
        Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
               message=_l("Letters, digits and _.:- only."))])
    kind = SelectField(_l("Kind"), validators=[DataRequired()],
                       choices=[(k.value, KIND_LABELS[k]) for k in DeviceKind])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    place = StringField(_l("Where"), validators=[Optional(), Length(max=200)])
    unit = StringField(_l("Unit of an in-home panel (building-number, e.g. 1号楼-101)"),
                       validators=[Optional(), Length(max=80)])
    map_x = DecimalField(_l("Across the site map (%)"),
                         validators=[Optional(), NumberRange(min=0, max=100)])
    map_y = DecimalField(_l("Down the site map (%)"),
                         validators=[Optional(), NumberRange(min=0, max=100)])
    heartbeat_minutes = IntegerField(_l("Heartbeat at least every (minutes)"), default=5,
                                     validators=[DataRequired(),
                                                 NumberRange(min=1, max=7 * 24 * 60)])
    sia_account = StringField(_l("SIA account (panels reporting by SIA DC-09)"),
                              validators=[Optional(), Regexp(r"^[A-Fa-f0-9]{3,16}$",
                                          message=_l("3 to 16 hexadecimal digits."))])


class SiteMapForm(FlaskForm):
    image = FileField(_l("Site map (PNG or JPEG)"), validators=[FileRequired()])
