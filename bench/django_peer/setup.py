"""Create the peer's database: migrations, the cache table, a tool key, and the platform's registration with its
deployment activated. Prints the registration's UUID last (its login initiation URL is /init/<uuid>/).

    DJANGO_PEER_DATABASE=… DJANGO_PEER_SECRET_KEY=… python -m django_peer.setup ISSUER CLIENT_ID AUTH_URL JWKS_URL
    DEPLOYMENT_ID
"""
import os
import sys

import django
from django.core.management import call_command

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_peer.settings")


def main() -> None:
    issuer, client_id, auth_url, jwks_url, deployment_id = sys.argv[1:6]
    django.setup()
    from lti_tool.models import LtiDeployment, LtiRegistration

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("rotate_keys", verbosity=0)
    registration = LtiRegistration.objects.create(name="Bench LMS", issuer=issuer, client_id=client_id,
                                                  auth_url=auth_url, token_url=auth_url, keyset_url=jwks_url)
    LtiDeployment.objects.create(registration=registration, deployment_id=deployment_id, is_active=True)
    print(registration.uuid)


if __name__ == "__main__":
    main()
