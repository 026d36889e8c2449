"""Operator commands: accounts, users, tokens, keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from nexa.cli.common import console, run_with_runtime
from nexa.kit.errors import NotFound
from nexa.kit.lazy_text import _

if TYPE_CHECKING:
    from nexa.runtime import Runtime


def register(app: typer.Typer) -> None:
    accounts = typer.Typer(help="Accounts (tenants).", no_args_is_help=True)
    users = typer.Typer(help="Users and their roles.", no_args_is_help=True)
    tokens = typer.Typer(help="API tokens.", no_args_is_help=True)
    keys = typer.Typer(help="Encryption keys.", no_args_is_help=True)
    app.add_typer(accounts, name="accounts")
    app.add_typer(users, name="users")
    app.add_typer(tokens, name="tokens")
    app.add_typer(keys, name="keys")

    @accounts.command("create")
    def create_account(
        name: str,
        locale: Annotated[str, typer.Option(help="pt-BR, es or en")] = "pt-BR",
        timezone: Annotated[str, typer.Option(help="IANA time zone")] = "America/Sao_Paulo",
        plan: str = "free",
    ) -> None:
        """Create an account and print its id."""
        from nexa.tenancy import service as tenancy_service

        async def work(runtime: Runtime) -> int:
            async with runtime.db.session() as session:
                account = await tenancy_service.create_account(
                    session, name=name, locale=locale, timezone=timezone, plan=plan
                )
            return account.id

        console.print(f"Account [bold]{name}[/bold] created with id {run_with_runtime(work)}.")

    def _set_status(account_id: int, status_name: str) -> None:
        from nexa.tenancy import service as tenancy_service
        from nexa.tenancy.models import Account, AccountStatus

        status = AccountStatus(status_name)

        async def work(runtime: Runtime) -> None:
            async with runtime.db.session() as session:
                account = await session.get(Account, account_id)
                if account is None:
                    raise NotFound(_("No account with id %(account_id)s", account_id=account_id))
                await tenancy_service.set_status(session, account, status, actor_user_id=None)

        run_with_runtime(work)
        console.print(f"Account {account_id} is now {status.value}.")

    @accounts.command("suspend")
    def suspend(account_id: int) -> None:
        """Suspend an account: its users and tokens get 401 until it is activated."""
        _set_status(account_id, "suspended")

    @accounts.command("activate")
    def activate(account_id: int) -> None:
        """Activate a suspended account."""
        _set_status(account_id, "active")

    @users.command("create")
    def create_user(
        email: str,
        name: Annotated[str, typer.Option(help="Full name")],
        account_id: Annotated[int, typer.Option("--account", help="Account id to join")],
        # A str parsed into a Role by _role: a Role annotation would import the ORM models for every command.
        role: Annotated[str, typer.Option(help="owner, administrator or agent", callback=_role)] = "agent",
        password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
    ) -> None:
        """Create a user (or add an existing one) in an account with a role."""
        from nexa.auth import service as auth_service
        from nexa.auth.repository import UserRepository
        from nexa.tenancy.models import Account

        async def work(runtime: Runtime) -> int:
            async with runtime.db.session() as session:
                account = await session.get(Account, account_id)
                if account is None:
                    raise NotFound(_("No account with id %(account_id)s", account_id=account_id))
                user = await UserRepository(session).get_by_email(email)
                if user is None:
                    user = await auth_service.create_user(
                        session, name=name, email=email, password=password, cipher=runtime.cipher
                    )
                await auth_service.add_member(session, account, user, role)
            return user.id

        user_id = run_with_runtime(work)
        console.print(f"User {email} (id {user_id}) is {role} of account {account_id}.")

    @tokens.command("create")
    def create_token(
        email: Annotated[str, typer.Option("--user", help="Owner's email")],
        name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
        scope: Annotated[list[str] | None, typer.Option(help="Repeat for several, e.g. conversations:write")] = None,
    ) -> None:
        """Create an API token for a user and print it once."""
        from nexa.auth import service as auth_service
        from nexa.auth.models import TokenOwner
        from nexa.auth.repository import UserRepository

        async def work(runtime: Runtime) -> str:
            async with runtime.db.session() as session:
                user = await UserRepository(session).get_by_email(email)
                if user is None:
                    raise NotFound(_("No user with email %(email)s", email=email))
                _token, plaintext = await auth_service.create_api_token(
                    session, owner_type=TokenOwner.user, owner_id=user.id, name=name, scopes=scope or None
                )
            return plaintext

        plaintext = run_with_runtime(work)
        console.print("Token created. It is shown only now; store it safely:")
        console.print(plaintext, soft_wrap=True, highlight=False)

    @keys.command("generate")
    def generate_key() -> None:
        """Print a new key for NEXA_ENCRYPTION_KEY."""
        from nexa.kit.crypto import generate_encryption_key

        console.print(generate_encryption_key(), highlight=False)


def _role(value: str) -> str:
    """The Role named `value`; annotated str (a Role is one) because Typer evaluates this signature at start-up."""
    from nexa.auth.models import Role

    try:
        return Role(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(Role)}") from None
