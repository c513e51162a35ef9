"""The django-tenants side of the controller benchmarks; prints one JSON document.

Usage (inside bench/.venv-anchor): ``python run.py create N | noop | real``.
"""

import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtproject.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from dtproject.customers.models import Client, Domain  # noqa: E402


def create(count: int) -> dict[str, list[float]]:
    call_command("migrate_schemas", "--shared", verbosity=0)
    if not Client.objects.filter(schema_name="public").exists():
        Client.objects.create(schema_name="public", name="public")
    times = []
    for i in range(count):
        start = time.perf_counter()
        tenant = Client.objects.create(schema_name=f"dt_{i}", name=f"Tenant {i}")
        Domain.objects.create(domain=f"t{i}.example.test", tenant=tenant, is_primary=True)
        times.append(time.perf_counter() - start)
    return {"times": times}  # in creation order; the benchmark takes its statistics


def migrate() -> float:
    start = time.perf_counter()
    call_command("migrate_schemas", "--executor=multiprocessing", verbosity=0)
    return time.perf_counter() - start


def main() -> None:
    command = sys.argv[1]
    if command == "create":
        print(json.dumps(create(int(sys.argv[2]))))
    elif command == "noop":
        print(json.dumps({"seconds": migrate()}))
    elif command == "real":
        target = HERE / "dtproject" / "notes" / "migrations" / "0002_priority.py"
        shutil.copy(HERE / "dtproject" / "notes" / "next" / "0002_priority.py", target)
        try:
            print(json.dumps({"seconds": migrate()}))
        finally:
            target.unlink()


main()
