from django.apps import AppConfig


class HydroSparkConfig(AppConfig):
    """The project package is an app only to host project-wide commands (seed_demo) and templates tags."""

    name = "hydrospark"
    verbose_name = "HydroSpark"
