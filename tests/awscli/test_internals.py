"""The awscli adapter (estat_aws_mcp.awscli.internals) against the installed awscli: what it reads is still there."""

from __future__ import annotations

import pytest

from estat_aws_mcp.awscli import internals
from estat_aws_mcp.awscli.runner import create_driver


@pytest.fixture(scope="module")
def driver():
    return create_driver()


def test_the_service_and_operation_tables_are_the_clis_own(driver) -> None:
    from awscli.clidriver import ServiceCommand, ServiceOperation

    services = internals.service_table(driver)
    assert isinstance(services["logs"], ServiceCommand)
    assert "s3" in services and "sts" in services
    operations = internals.operation_table(services["logs"])
    assert isinstance(operations["describe-log-groups"], ServiceOperation)


def test_the_global_options_are_listed_without_dashes(driver) -> None:
    assert {"region", "output", "query", "profile"} <= set(internals.global_options(driver))


def test_the_parser_actions_include_an_operations_options(driver) -> None:
    from awscli.argparser import ArgTableArgParser

    operation = internals.operation_table(internals.service_table(driver)["logs"])["describe-log-groups"]
    actions = internals.parser_actions(ArgTableArgParser(operation.arg_table))
    assert "--log-group-name-prefix" in {option for action in actions for option in action.option_strings}


@pytest.mark.parametrize(
    "call",
    [
        lambda: internals.service_table(object()),
        lambda: internals.operation_table(type("Moved", (), {"_get_command_table": lambda self: None})()),
        lambda: internals.global_options(object()),
        lambda: internals.parser_actions(object()),
    ],
)
def test_a_moved_internal_fails_loudly_naming_the_adapter(call) -> None:
    with pytest.raises(internals.AwsCliIncompatible, match=r"estat_aws_mcp\.awscli\.internals"):
        call()
