import click


@click.group("defaults")
def defaults() -> None:
    """User default values."""


@click.group("settings")
def settings() -> None:
    """LTI settings."""
