import click


@click.group("sync")
def sync() -> None:
    """Run a synchronisation sweep."""


@click.command("worker")
def worker() -> None:
    """Run the job worker."""


@click.group("jobs")
def jobs() -> None:
    """Sync jobs."""
