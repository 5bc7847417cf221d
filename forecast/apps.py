from django.apps import AppConfig


class ForecastConfig(AppConfig):
    """The anticipated bill (SPEC §4): pure forecasting methods, their backtest and the export command."""

    name = "forecast"
    role_permissions = {}
    staff_nav = []
