"""The ``baton`` command: serve, migrate, worker, deploy-processes, users, roles."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import click

from app.config import Settings


def _context(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    from app.services.bootstrap import build_context

    return build_context(settings or Settings.from_env())


def _fail(error: Exception) -> None:
    message = getattr(error, "message", None) or str(error)
    raise click.ClickException(message)


@click.group()
def main() -> None:
    """Baton: a BPMN process engine service."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from app.store.migrate import upgrade

    settings = Settings.from_env()
    upgrade(settings.database_url)
    click.echo("database is up to date")


def deploy_directory(ctx, directory: Path) -> list[str]:  # type: ignore[no-untyped-def]
    """Deploy every BPMN file of ``directory`` (duplicate filtering: unchanged files deploy nothing)."""
    from app.services.deployments import NewDeployment, create_deployment

    deployed = []
    for path in sorted(directory.glob("*.bpmn")):
        result = create_deployment(ctx, NewDeployment(
            name=path.stem, source="baton processes", tenant_id=None,
            resources={path.name: path.read_bytes()}, duplicate_filtering=True))
        for definition in result.definitions or []:
            deployed.append(definition.id)
    return deployed


def _processes_dir(settings: Settings) -> Path:
    return Path(settings.processes_dir or Path.cwd() / "processes")


@main.command("deploy-processes")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
def deploy_processes(directory: Path | None) -> None:
    """Deploy the BPMN files shipped in processes/ (or DIRECTORY)."""
    settings = Settings.from_env()
    ctx = _context(settings)
    try:
        deployed = deploy_directory(ctx, directory or _processes_dir(settings))
    except Exception as error:  # noqa: BLE001 - shown to the operator as a CLI error
        _fail(error)
    click.echo(f"deployed {len(deployed)} new definition(s)" + (": " + ", ".join(deployed) if deployed else ""))


@main.command()
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
@click.option("--threads", default=4, show_default=True, help="threads per worker")
def serve(workers: int, threads: int) -> None:
    """Migrate, deploy processes/, create the admin, and serve with gunicorn."""
    from app.services.identity import ensure_admin
    from app.store.migrate import upgrade

    settings = Settings.from_env()
    upgrade(settings.database_url)
    ctx = _context(settings)
    if ensure_admin(ctx, settings.admin_user, settings.admin_password):
        click.echo(f"created admin user '{settings.admin_user}'")
    directory = _processes_dir(settings)
    if directory.is_dir():
        deployed = deploy_directory(ctx, directory)
        click.echo(f"deployed {len(deployed)} new definition(s) from {directory}")
    ctx.db.dispose()
    bind = f"{settings.host}:{settings.port}"
    click.echo(f"serving Baton on http://{bind}/engine-rest and http://{bind}/KeyfactorAPI")
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "app.wsgi:app", "--bind", bind,
                               "--workers", str(workers), "--threads", str(threads), "--timeout", "120"])


@main.command()
def worker() -> None:
    """Run jobs (timers, retries, batch restarts) until stopped. Use with BATON_JOB_EXECUTOR=off on servers."""
    from app.jobs.executor import run_worker

    ctx = _context()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_worker(ctx, stop)


@main.group()
def users() -> None:
    """Manage users."""


@users.command("add")
@click.argument("user_id")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="grant every permission")
@click.option("--email")
def users_add(user_id: str, password: str, admin: bool, email: str | None) -> None:
    from app.services import identity

    try:
        identity.create_user(_context(), user_id, password, is_admin=admin, email=email)
    except Exception as error:  # noqa: BLE001
        _fail(error)
    click.echo(f"created user '{user_id}'")


@users.command("list")
def users_list() -> None:
    from app.services import identity

    for user in identity.list_users(_context()):
        click.echo(f"{user.id}\t{'admin' if user.is_admin else ''}")


@users.command("passwd")
@click.argument("user_id")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_passwd(user_id: str, password: str) -> None:
    from app.services import identity

    try:
        identity.set_password(_context(), user_id, password)
    except Exception as error:  # noqa: BLE001
        _fail(error)
    click.echo(f"password of '{user_id}' changed")


@users.command("delete")
@click.argument("user_id")
def users_delete(user_id: str) -> None:
    from app.services import identity

    try:
        identity.delete_user(_context(), user_id)
    except Exception as error:  # noqa: BLE001
        _fail(error)
    click.echo(f"deleted user '{user_id}'")


@main.group()
def roles() -> None:
    """Manage roles, their members and permission claims."""


@roles.command("add")
@click.argument("name")
@click.option("--id", "role_id", type=int, help="the integer id workflow steps name in RoleIds")
@click.option("--description")
def roles_add(name: str, role_id: int | None, description: str | None) -> None:
    from app.services import identity

    try:
        role = identity.create_role(_context(), name, description, role_id)
    except Exception as error:  # noqa: BLE001
        _fail(error)
    click.echo(f"created role '{role.name}' with id {role.id}")


@roles.command("grant")
@click.argument("role")
@click.argument("claim")
def roles_grant(role: str, claim: str) -> None:
    from app.services import identity

    try:
        identity.grant(_context(), role, claim)
    except Exception as error:  # noqa: BLE001
        _fail(error)
    click.echo(f"granted {claim} to '{role}'")


@roles.command("add-member")
@click.argument("role")
@click.argument("user_id")
def roles_add_member(role: str, user_id: str) -> None:
    from app.services import identity

    try:
        identity.add_member(_context(), role, user_id)
    except Exception as error:  # noqa: BLE001
        _fail(error)
    click.echo(f"added '{user_id}' to '{role}'")


@roles.command("list")
def roles_list() -> None:
    from app.services import identity

    for role, members, claims in identity.list_roles(_context()):
        click.echo(f"{role.id}\t{role.name}\tmembers: {', '.join(members) or '-'}\tclaims: {', '.join(claims) or '-'}")


if __name__ == "__main__":
    main()
