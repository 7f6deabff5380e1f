"""The python-terraform adapter sends exactly the Terraform 1.x command lines it promises.

A stand-in executable (fake_terraform.py) records each command line; the real terraform runs
the same adapter in tests/terraform against moto.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from estat_aws_mcp.deploy.terraform import PlanResult, Terraform, TerraformError, write_cli_config

FAKE = Path(__file__).with_name("fake_terraform.py")


@pytest.fixture
def fake_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    launcher = tmp_path / "bin" / "terraform"
    launcher.parent.mkdir()
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n', encoding="utf-8")
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_TF_LOG", str(log))
    workdir = tmp_path / "root"
    workdir.mkdir()

    def calls() -> list[dict]:
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []

    tf = Terraform(workdir, terraform_bin=str(launcher), env={"TF_CLI_CONFIG_FILE": "/cfg/tfrc"}, parallelism=10)
    return tf, calls, workdir


def _argv_without_var_files(argv: list[str]) -> list[str]:
    return [arg for arg in argv if not arg.startswith("-var-file=")]


def test_init_sends_no_reconfigure_no_var_file_no_parallelism(fake_terraform) -> None:
    tf, calls, workdir = fake_terraform
    tf.init()
    (call,) = calls()
    assert call["argv"] == ["init", "-no-color", "-input=false", "-backend=true"]
    assert call["cwd"] == str(workdir)


def test_init_with_plugin_dir_and_explicit_reconfigure(fake_terraform, tmp_path: Path) -> None:
    tf, calls, _ = fake_terraform
    Terraform(tf.working_dir, terraform_bin=tf._tf.terraform_bin_path, plugin_dir=tmp_path / "plugins").init(
        reconfigure=True
    )
    (call,) = calls()
    assert call["argv"] == [
        "init",
        "-no-color",
        "-input=false",
        f"-plugin-dir={tmp_path / 'plugins'}",
        "-reconfigure",
        "-backend=true",
    ]


def test_plan_passes_no_folder_and_reads_exit_code_two_as_changes(fake_terraform, monkeypatch) -> None:
    tf, calls, _ = fake_terraform
    monkeypatch.setenv("FAKE_TF_EXIT_PLAN", "2")
    result = tf.plan({"image_uri": "r/x@sha256:" + "a" * 64}, targets=["module.m.aws_ecr_repository.this"])
    assert result == PlanResult(changes=True, stdout=result.stdout)
    (call,) = calls()
    assert _argv_without_var_files(call["argv"]) == [
        "plan",
        "-target=module.m.aws_ecr_repository.this",
        "-parallelism=10",
        "-no-color",
        "-input=false",
        "-detailed-exitcode",
    ]
    # Variables travel in a temporary .tfvars.json file, never on the command line.
    assert call["var_files"] == [{"image_uri": "r/x@sha256:" + "a" * 64}]

    monkeypatch.setenv("FAKE_TF_EXIT_PLAN", "0")
    assert tf.plan().changes is False


def test_plan_error_exit_code_raises_with_stderr(fake_terraform, monkeypatch) -> None:
    tf, _, _ = fake_terraform
    monkeypatch.setenv("FAKE_TF_EXIT_PLAN", "1")
    with pytest.raises(TerraformError, match="terraform plan failed with exit code 1:\nError: fake plan failure"):
        tf.plan()


def test_apply_always_auto_approves(fake_terraform) -> None:
    tf, calls, _ = fake_terraform
    tf.apply({"authorization_type": "NONE"}, targets=["a.b"])
    (call,) = calls()
    assert _argv_without_var_files(call["argv"]) == [
        "apply",
        "-target=a.b",
        "-parallelism=10",
        "-no-color",
        "-input=false",
        "-auto-approve=true",
    ]
    assert call["var_files"] == [{"authorization_type": "NONE"}]


def test_apply_of_a_saved_plan_passes_the_plan_file_only(fake_terraform) -> None:
    tf, calls, _ = fake_terraform
    tf.apply(plan_file="tfplan")
    (call,) = calls()
    assert call["argv"] == ["apply", "-parallelism=10", "-no-color", "-input=false", "-auto-approve=false", "tfplan"]


def test_destroy_sends_auto_approve_never_force(fake_terraform) -> None:
    tf, calls, _ = fake_terraform
    tf.destroy({"image_uri": None})
    (call,) = calls()
    assert "-force" not in call["argv"]
    assert _argv_without_var_files(call["argv"]) == [
        "destroy",
        "-parallelism=10",
        "-no-color",
        "-input=false",
        "-auto-approve",
    ]
    assert call["var_files"] == [{"image_uri": None}]


def test_outputs_are_values_by_name(fake_terraform, monkeypatch) -> None:
    tf, calls, _ = fake_terraform
    monkeypatch.setenv(
        "FAKE_TF_OUTPUTS", json.dumps({"function_url": {"value": "https://x.lambda-url.on.aws/", "type": "string"}})
    )
    assert tf.outputs() == {"function_url": "https://x.lambda-url.on.aws/"}
    assert calls()[0]["argv"] == ["output", "-json"]


def test_environment_is_set_for_the_call_only(fake_terraform) -> None:
    tf, calls, _ = fake_terraform
    before = os.environ.get("TF_CLI_CONFIG_FILE")
    tf.init()
    assert calls()[0]["env"] == {"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_CLI_CONFIG_FILE": "/cfg/tfrc"}
    assert os.environ.get("TF_CLI_CONFIG_FILE") == before


def test_failed_command_names_itself(fake_terraform, monkeypatch) -> None:
    tf, _, _ = fake_terraform
    monkeypatch.setenv("FAKE_TF_EXIT_DESTROY", "1")
    with pytest.raises(TerraformError) as caught:
        tf.destroy()
    assert caught.value.command == "destroy"
    assert caught.value.returncode == 1


def test_cli_config_points_at_the_filesystem_mirror(tmp_path: Path) -> None:
    path = write_cli_config(tmp_path / "tfrc", tmp_path / "plugins")
    text = path.read_text(encoding="utf-8")
    assert "disable_checkpoint = true" in text
    assert f'path    = "{tmp_path / "plugins"}"' in text
    assert 'include = ["registry.terraform.io/*/*"]' in text


def test_destroy_after_a_deploy_stopped_at_stage_two_needs_no_image(tmp_path, monkeypatch) -> None:
    """Stage 2 failed (say docker died): the state holds the repository only and no image_uri output;
    `make destroy` passes no image (the module's destroy-only placeholder satisfies the provider)
    and removes the recorded variables with the stack."""
    from estat_aws_mcp.deploy import flow

    launcher = tmp_path / "bin" / "terraform"
    launcher.parent.mkdir()
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n', encoding="utf-8")
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{launcher.parent}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_TF_LOG", str(log))
    repository = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/estat-aws-mcp"
    monkeypatch.setenv("FAKE_TF_OUTPUTS", json.dumps({"repository_url": {"value": repository}}))
    root = tmp_path / "root"
    root.mkdir()
    recorded = flow.record_variables(root, {"region": "us-east-1", "image_uri": None})

    flow.destroy(flow.DeployOptions(root=root), echo=lambda _: None, skip_preflight=True, stream_output=False)

    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [c["argv"][0] for c in calls] == ["init", "output", "destroy"]
    (variables,) = calls[-1]["var_files"]
    assert variables["image_uri"] is None
    assert "-auto-approve" in calls[-1]["argv"]
    assert not recorded.exists()


def test_recorded_variables_are_what_stage_three_applies_without_nulls(tmp_path) -> None:
    from estat_aws_mcp.deploy import flow

    options = flow.DeployOptions(
        root=tmp_path, region="us-east-1", auth_token_parameter="/t", extra_variables={"subnet_ids": ["a", "b"]}
    )
    path = flow.record_variables(tmp_path, options.variables(image_uri="r/x@sha256:" + "a" * 64))
    assert path.name == "deploy.auto.tfvars.json"  # Terraform loads *.auto.tfvars.json by itself
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "app_id_ssm_parameter_name": "/estat-aws-mcp/estat-app-id",
        "architecture": "arm64",
        "auth_token_ssm_parameter_name": "/t",
        "image_uri": "r/x@sha256:" + "a" * 64,
        "region": "us-east-1",
        "subnet_ids": ["a", "b"],
    }
