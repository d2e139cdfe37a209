from django.core.management.base import BaseCommand

from accounts.demo import create_demo


class Command(BaseCommand):
    help = "Create the demo organization and an admin user once; print the credentials the first time."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, username, url, **options):
        organization, password = create_demo(username)
        self.stdout.write(f"Open {url} and sign in.")
        if password:
            self.stdout.write(f"First start: '{organization.name}' and its admin were created. Keep this password,")
            self.stdout.write("it is shown only now:")
            self.stdout.write(f"  Username: {username}")
            self.stdout.write(f"  Password: {password}")
            self.stdout.write(f"Forgot it? .venv/bin/python manage.py changepassword {username}")
