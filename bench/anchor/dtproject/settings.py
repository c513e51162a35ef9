"""A minimal django-tenants project: the anchor of the controller benchmarks."""

import os

SECRET_KEY = "bench-only"  # noqa: S105 - a throwaway project on loopback
DEBUG = False
USE_TZ = True
DATABASES = {
    "default": {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": os.environ["ANCHOR_DB"],
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
    }
}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
SHARED_APPS = ["django_tenants", "dtproject.customers", "django.contrib.contenttypes"]
TENANT_APPS = ["django.contrib.contenttypes", "dtproject.notes"]
INSTALLED_APPS = list(SHARED_APPS) + [a for a in TENANT_APPS if a not in SHARED_APPS]
TENANT_MODEL = "customers.Client"
TENANT_DOMAIN_MODEL = "customers.Domain"
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "dtproject.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(os.environ.get("ANCHOR_PROCESSES", "2"))
