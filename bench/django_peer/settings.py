"""Settings of the django-lti peer: Django's project template trimmed to what the launch uses, plus django-lti's
and django-lti-authentication's documented setup. Sessions are Django's default (database-backed); pylti1p3's login
state, nonce and launches go to Django's default cache, here the database cache so every worker sees the same
entries; the login initiation runs pylti1p3's cookie check, as `OIDCLoginInitView` does.

Configured by environment (bench/launch.py sets it): DJANGO_PEER_DATABASE (SQLite file), DJANGO_PEER_SECRET_KEY.
"""
import os

SECRET_KEY = os.environ["DJANGO_PEER_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "django_peer.urls"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "lti_tool",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lti_tool.middleware.LtiLaunchMiddleware",
    "lti_authentication.middleware.LtiLaunchAuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "lti_authentication.backends.LtiLaunchAuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# SQLite set up for concurrent workers as Django's notes on SQLite advise (and as Courseport runs it): WAL, a busy
# timeout, and write transactions that take the lock when they begin rather than fail to upgrade it.
DATABASES = {"default": {
    "ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DJANGO_PEER_DATABASE"],
    "OPTIONS": {"timeout": 15, "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"}}}
# Room for every login in flight: past MAX_ENTRIES the database cache culls a third of its entries, nonces included.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "peer_cache",
                      "OPTIONS": {"MAX_ENTRIES": 1_000_000}}}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Server errors to stderr (bench/launch.py keeps it in its run folder).
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}}}
