from django import template

register = template.Library()


@register.filter
def change_lines(changes) -> list[tuple[str, str]]:
    """An audit event's `changes` as (field, "old → new") lines, whatever shape a service recorded."""
    if not isinstance(changes, dict):
        return [("", str(changes))] if changes else []
    lines = []
    for field, value in changes.items():
        if isinstance(value, list | tuple) and len(value) == 2:
            old, new = (_text(v) for v in value)
            lines.append((field.replace("_", " "), f"{old} → {new}"))
        else:
            lines.append((field.replace("_", " "), _text(value)))
    return lines


def _text(value) -> str:
    if value in (None, ""):
        return "(empty)"
    return str(value)
