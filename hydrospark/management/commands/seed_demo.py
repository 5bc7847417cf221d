from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Customer
from hydrospark.demo.seed import seed_demo


class Command(BaseCommand):
    help = "Load the demo data (SPEC §6 logins, Noah's real reads, generated customers). Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=240, help="generated customers (default 240)")
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off (never in production)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when customers already exist")

    def handle(self, *args, customers, force, if_empty, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load demo data with DEBUG off; pass --force if you really mean it.", returncode=2
            )
        if if_empty and Customer.objects.exists():
            self.stdout.write("Customers exist already: demo data not loaded (drop --if-empty to top it up).")
            return
        seed_demo(customers=customers, today=timezone.localdate(), log=self.stdout.write)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins use the password 'password123'."))
