"""The benchmark's django-lti peer: a small Django project wired as django-lti and django-lti-authentication
describe, with the packages' defaults (see settings.py). bench/launch.py runs it under gunicorn with the packages of
bench/requirements.txt first on its path."""
