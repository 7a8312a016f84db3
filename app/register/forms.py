"""Forms of the register pages. Confirm and discard are plain POST buttons (CSRF-checked)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class ImportForm(FlaskForm):
    #: The type and content are checked by ``importer.parse_register``, which names every
    #: problem; a FileAllowed validator here would only say less.
    file = FileField(
        _l("Register file (.xlsx or .csv)"),
        validators=[FileRequired(_l("Choose the register file to upload."))],
    )
