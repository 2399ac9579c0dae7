"""The upload form of the Imports page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from coachloop.ingest.models import ImportKind, OnError, SavedMapping


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportKind.choices)
    file = forms.FileField(label=_("File (CSV, XLSX or JSON Lines; a scorecard is JSON)"))
    saved_mapping = forms.ModelChoiceField(
        label=_("Saved mapping"),
        queryset=SavedMapping.objects.none(),
        required=False,
        empty_label=_("None: the file has our column names"),
    )
    mapping_file = forms.FileField(label=_("Or a mapping file (TOML)"), required=False)
    save_mapping_as = forms.CharField(
        label=_("Save that mapping as"),
        required=False,
        max_length=100,
        help_text=_("Give it a name to reuse it for this source next time."),
    )
    source = forms.SlugField(
        label=_("Source system"),
        required=False,
        help_text=_("Defaults to the mapping's source name, else canonical."),
    )
    on_error = forms.ChoiceField(
        label=_("When a row is bad"), choices=OnError.choices, initial=OnError.REJECT
    )
    dry_run = forms.BooleanField(label=_("Check only, write nothing"), required=False)
    create_missing_agents = forms.BooleanField(
        label=_("Create agents the roster does not know yet"), required=False
    )

    def __init__(self, *args: Any, mappings: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if mappings is not None:
            self.fields["saved_mapping"].queryset = mappings  # type: ignore[attr-defined]

    def mapping_text(self) -> str:
        uploaded = self.cleaned_data.get("mapping_file")
        if uploaded:
            try:
                return str(uploaded.read().decode("utf-8"))
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The mapping file must be UTF-8 text")) from None
        saved = self.cleaned_data.get("saved_mapping")
        return saved.text if saved is not None else ""
