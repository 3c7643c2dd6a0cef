import click


@click.group("registrations")
def registrations() -> None:
    """Platform registrations."""


@click.group("deployments")
def deployments() -> None:
    """Deployments of a registration."""


@click.group("keys")
def keys() -> None:
    """Tool signing keys."""
