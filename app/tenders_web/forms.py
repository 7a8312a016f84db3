from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from tenders import PriceFormulaKind

CRITERIA_EXAMPLE = (
    "plan | 服务方案 | 40 | 物业服务方案的完整性与可行性\n"
    "staff | 人员配置 | 20 | 项目经理资历、人员数量\n"
    "record | 业绩信誉 | 10 | 近三年同类项目"
)


class TenderForm(FlaskForm):
    motion_id = SelectField(_l("Adopting motion of the owners' meeting"), coerce=int,
                            validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    scope = TextAreaField(_l("Service scope"), validators=[DataRequired(), Length(max=20000)])
    term_months = IntegerField(_l("Contract term (months)"), default=36,
                               validators=[DataRequired(), NumberRange(min=1, max=120)])
    criteria = TextAreaField(_l("Criteria, one a line: code | name | weight | guidance"),
                             default=CRITERIA_EXAMPLE, validators=[DataRequired()])
    price_weight = StringField(_l("Price weight"), default="30", validators=[DataRequired()])
    formula = SelectField(_l("Price formula"), default=PriceFormulaKind.LOWEST_PRICE.value)
    n_above = StringField(_l("Factor above the benchmark"), default="2",
                          validators=[Optional()])
    n_below = StringField(_l("Factor below the benchmark"), default="1",
                          validators=[Optional()])
    minimum_bidders = IntegerField(_l("Minimum number of bidders"), default=5,
                                   validators=[DataRequired(), NumberRange(min=1, max=99)])
    panel_size = IntegerField(_l("Evaluation panel size"), default=7,
                              validators=[DataRequired(), NumberRange(min=1, max=99)])
    drop_extremes = BooleanField(_l("Drop the highest and lowest score with five or more "
                                    "evaluators"), default=True)
    shortlist_size = SelectField(_l("Shortlist for the owners' meeting"), coerce=int,
                                 choices=[(3, "3"), (2, "2")], default=3)
    notice_days = IntegerField(_l("Notice period (days)"), default=20,
                               validators=[DataRequired(), NumberRange(min=1, max=90)])
    deadline = DateTimeLocalField(_l("Deadline for bids"), format="%Y-%m-%dT%H:%M",
                                  validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.formula.choices = [
            (PriceFormulaKind.LOWEST_PRICE.value,
             _l("Lowest valid price as benchmark: benchmark / bid × price weight")),
            (PriceFormulaKind.TRIMMED_MEAN.value,
             _l("Average price as benchmark (without highest and lowest from 7 bids): "
                "weight × (1 − n × deviation)")),
        ]
