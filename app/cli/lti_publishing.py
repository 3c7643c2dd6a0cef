import click


@click.command("publish")
def publish() -> None:
    """Publish a course or activity."""


@click.group("published")
def published() -> None:
    """Published resources."""
