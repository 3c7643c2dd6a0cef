"""Read by gunicorn when it starts in this folder (`gunicorn wsgi:app`): the access log leaves out the secret
tokens that cartridge, LTI 2 registration, dynamic registration and handoff URLs carry (app/access_log.py)."""
logger_class = "app.access_log.RedactingLogger"
