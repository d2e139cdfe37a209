from django.core.management.base import BaseCommand

from accounts.demo import create_demo


class Command(BaseCommand):
    help = "Create the demo organization and an admin user once; print the credentials the first time."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, username, url, **options):
        organization, password = create_demo(username)
        if password:
            self.stdout.write(self.style.SUCCESS("Demo organization created. Sign in once and keep these:"))
            self.stdout.write(f"  URL:      {url}")
            self.stdout.write(f"  Username: {username}")
            self.stdout.write(f"  Password: {password}")
            self.stdout.write("  (shown only now; reset with: .venv/bin/python manage.py changepassword admin)")
        else:
            self.stdout.write(f"Demo organization '{organization.name}' exists; sign in at {url}")
