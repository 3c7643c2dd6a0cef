"""`flask --app wsgi lti …`: assembled from one module per area so each stays small."""
from flask.cli import AppGroup

from app.cli.lti_launches import launches
from app.cli.lti_legacy import consumers
from app.cli.lti_publishing import publish, published
from app.cli.lti_registrations import deployments, keys, registrations
from app.cli.lti_settings import defaults, settings
from app.cli.lti_sync import jobs, sync, worker

lti_cli = AppGroup("lti", help="LTI registration, publishing and synchronisation.")
for command in (registrations, deployments, keys, publish, published, defaults, settings, sync, worker, jobs,
                launches, consumers):
    lti_cli.add_command(command)
