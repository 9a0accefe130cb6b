"""Command-line composition root (placeholder until the register lands)."""

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def status() -> None:
    """Summary of the register."""
    typer.echo("empty")


def main() -> None:
    app()
