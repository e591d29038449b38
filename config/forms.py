from django.forms.renderers import TemplatesSetting


class RapportFormRenderer(TemplatesSetting):
    """Every form renders with Bootstrap markup and inline, per-field error messages."""

    form_template_name = "forms/div.html"
    field_template_name = "forms/field.html"
