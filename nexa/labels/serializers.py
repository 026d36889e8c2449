from __future__ import annotations

from nexa.labels.models import Label
from nexa.labels.schemas import LabelOut


def label_out(label: Label) -> LabelOut:
    return LabelOut(
        id=label.id,
        title=label.title,
        description=label.description,
        color=label.color,
        show_on_sidebar=label.show_on_sidebar,
    )
