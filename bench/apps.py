from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmark commands and the scale data generator: development and measurement only.

    In INSTALLED_APPS of the development settings (config/settings.py), never of the production
    settings (config/settings_production.py). Sits above every portal app: it may import any of
    them, none imports it (tests/test_layers.py).
    """

    name = "bench"
    verbose_name = "Benchmarks"
