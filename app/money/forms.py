"""Forms of the money pages. Amounts are read as text and parsed exactly (never floats)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..models import DisclosureKind
from .disclosure import KIND_LABELS
from .fund import CATEGORIES, EMERGENCIES, SPLITS


class EntryForm(FlaskForm):
    entry_date = DateField(_l("Date"), validators=[DataRequired()])
    memo = StringField(_l("Description"), validators=[DataRequired(), Length(max=200)])
    debit = SelectField(_l("Debit account"), validators=[DataRequired()])
    credit = SelectField(_l("Credit account"), validators=[DataRequired()])
    amount = StringField(_l("Amount (yuan)"), validators=[DataRequired(), Length(max=20)])


class ReverseForm(FlaskForm):
    reason = StringField(_l("Why it is reversed"), validators=[DataRequired(), Length(max=150)])


class StatementImportForm(FlaskForm):
    file = FileField(_l("Statement (.xlsx)"),
                     validators=[FileRequired(_l("Choose the statement to upload."))])


class DepositForm(FlaskForm):
    entry_date = DateField(_l("Date"), validators=[DataRequired()])
    memo = StringField(_l("Description"), validators=[DataRequired(), Length(max=200)])
    rate = StringField(_l("Yuan per m² of exclusive area"),
                       validators=[DataRequired(), Length(max=20)])
    motion = SelectField(_l("Adopted motion to raise the fund (item 6), for a top-up"),
                         coerce=int, validators=[Optional()])


class InterestForm(FlaskForm):
    entry_date = DateField(_l("Date"), validators=[DataRequired()])
    memo = StringField(_l("Description"), validators=[DataRequired(), Length(max=200)])
    amount = StringField(_l("Interest received (yuan)"),
                         validators=[DataRequired(), Length(max=20)])


class SpendForm(FlaskForm):
    title = StringField(_l("Work"), validators=[DataRequired(), Length(max=200)])
    category = SelectField(_l("Category"), validators=[DataRequired()])
    budget = StringField(_l("Budget (yuan)"), validators=[DataRequired(), Length(max=20)])
    description = TextAreaField(_l("Details"), validators=[Optional(), Length(max=5000)])
    motion = SelectField(_l("Adopted motion to use the fund (item 5)"), coerce=int,
                         validators=[Optional()])
    emergency_kind = SelectField(_l("Or: emergency under the emergency-use rule"),
                                 validators=[Optional()])
    buildings = SelectMultipleField(_l("Buildings whose units share the cost"),
                                    coerce=int, validators=[Optional()])
    split = SelectField(_l("How the cost is shared"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [(k, str(v)) for k, v in CATEGORIES.items()]
        self.split.choices = [(k, str(v)) for k, v in SPLITS.items()]
        self.emergency_kind.choices = [("", "—")] + [(k, str(v)) for k, v in
                                                     EMERGENCIES.items()]


class PayForm(FlaskForm):
    entry_date = DateField(_l("Date"), validators=[DataRequired()])
    amount = StringField(_l("Amount paid (yuan)"), validators=[DataRequired(), Length(max=20)])
    memo = StringField(_l("Description"), validators=[Optional(), Length(max=200)])


class PublishForm(FlaskForm):
    kind = SelectField(_l("Statement"), validators=[DataRequired()])
    starts_on = DateField(_l("First day of the period"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k.value, str(KIND_LABELS[k])) for k in DisclosureKind]


class ReviewForm(FlaskForm):
    unit = SelectField(_l("Unit"), coerce=int, validators=[DataRequired()])
    question = TextAreaField(_l("Which figure do you question, and why?"),
                             validators=[DataRequired(), Length(max=2000)])


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(), Length(max=4000)])


class ScheduleForm(FlaskForm):
    effective_from = DateField(_l("In force from (first day of a month)"),
                               validators=[DataRequired()])
    residential = StringField(_l("Homes: yuan per m² a month"),
                              validators=[DataRequired(), Length(max=20)])
    commercial = StringField(_l("Shops: yuan per m² a month"),
                             validators=[DataRequired(), Length(max=20)])
    parking = StringField(_l("Parking: yuan per space a month"),
                          validators=[DataRequired(), Length(max=20)])
    other = StringField(_l("Other units: yuan per m² a month"),
                        validators=[DataRequired(), Length(max=20)])
    other_charges = TextAreaField(_l("Other charges (one a line)"),
                                  validators=[Optional(), Length(max=2000)])


class BillsForm(FlaskForm):
    period = DateField(_l("Month (its first day)"), validators=[DataRequired()])


class PaymentForm(FlaskForm):
    unit = StringField(_l("Unit (building-number, e.g. 1号楼-101)"),
                       validators=[DataRequired(), Length(max=60)])
    paid_on = DateField(_l("Paid on"), validators=[DataRequired()])
    amount = StringField(_l("Amount (yuan)"), validators=[DataRequired(), Length(max=20)])
    reference = StringField(_l("Reference"), validators=[Optional(), Length(max=200)])


class FollowUpForm(FlaskForm):
    note = TextAreaField(_l("What was said"), validators=[DataRequired(), Length(max=2000)])


class ClosePeriodForm(FlaskForm):
    starts_on = DateField(_l("First day"), validators=[DataRequired()])
    ends_on = DateField(_l("Last day"), validators=[DataRequired()])
